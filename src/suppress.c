/*
 * suppress.c - the suppression store (see suppress.h).
 *
 * A second SQLite user beside journal.c, for a separate concern: the
 * journal is one campaign's delivery state and lives and dies with it;
 * this store is per list, outlives every campaign, and is written by
 * `herald serve` while a send may be reading it (WAL, busy timeout).
 */
#include "suppress.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "addr.h"
#include "list.h"

enum {
	Q_HAS, Q_ADD, Q_DEL, Q_SOFT_ADD, Q_SOFT_COUNT, Q_SEEN, Q_MARK_SEEN,
	Q_EACH, Q_ADDRS, Q_N
};

static const char *const q_sql[Q_N] = {
	"SELECT 1 FROM suppressed WHERE list = ?1 AND addr = ?2",
	"INSERT INTO suppressed(list, addr, reply, at, why, message_id) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
	"DELETE FROM suppressed WHERE list = ?1 AND addr = ?2",
	"INSERT INTO soft_bounce(list, addr, campaign, at, detail) "
	"VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
	"SELECT count(*) FROM soft_bounce WHERE list = ?1 AND addr = ?2",
	"SELECT 1 FROM inbox_seen WHERE list = ?1 AND key = ?2",
	"INSERT INTO inbox_seen(list, key, at) VALUES (?1, ?2, ?3) "
	"ON CONFLICT DO NOTHING",
	"SELECT list, addr, coalesce(at, 0), coalesce(why, ''), "
	"coalesce(message_id, ''), coalesce(reply, '') FROM suppressed "
	"WHERE list = ?1 ORDER BY at, addr",
	"SELECT addr FROM suppressed WHERE list = ?1",
};

/* journal.c creates suppressed(list, addr, reply, at) when it gets there
 * first; the two columns it lacks are added below. */
static const char schema[] =
	"CREATE TABLE IF NOT EXISTS suppressed ("
	"  list TEXT NOT NULL, addr TEXT NOT NULL, reply TEXT, at INTEGER,"
	"  why TEXT, message_id TEXT,"
	"  PRIMARY KEY (list, addr)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS soft_bounce ("
	"  list TEXT NOT NULL, addr TEXT NOT NULL, campaign TEXT NOT NULL,"
	"  at INTEGER, detail TEXT,"
	"  PRIMARY KEY (list, addr, campaign)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS inbox_seen ("
	"  list TEXT NOT NULL, key TEXT NOT NULL, at INTEGER,"
	"  PRIMARY KEY (list, key)) WITHOUT ROWID;";

struct herald_suppress {
	sqlite3 *db;              /* NULL: read-only and no file yet */
	char *path;
	sqlite3_stmt *q[Q_N];
	char key[512];
};

static int
dberr(struct herald_suppress *s, struct herald_err *e, const char *what)
{
	return herald_errf(e, EX_IOERR, s->path, 0, "suppression list: %s: %s",
	    what, s->db ? sqlite3_errmsg(s->db) : "not open");
}

static int
exec(struct herald_suppress *s, const char *sql, struct herald_err *e)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int rc = herald_errf(e, EX_IOERR, s->path, 0,
		    "suppression list: %s", msg ? msg : "error");
		sqlite3_free(msg);
		return rc;
	}
	return 0;
}

static bool
has_column(struct herald_suppress *s, const char *col)
{
	sqlite3_stmt *st;
	bool found = false;

	if (sqlite3_prepare_v2(s->db, "PRAGMA table_info(suppressed)", -1, &st,
	    NULL) != SQLITE_OK)
		return false;
	while (sqlite3_step(st) == SQLITE_ROW)
		if (strcmp((const char *)sqlite3_column_text(st, 1), col) == 0)
			found = true;
	sqlite3_finalize(st);
	return found;
}

int
herald_suppress_open(const char *state_dir, bool readonly,
    struct herald_suppress **out, struct herald_err *e)
{
	struct herald_suppress *s = xcalloc(1, sizeof(*s));
	int flags = readonly ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	int rc;

	*out = NULL;
	s->path = xasprintf("%s/suppressions.sqlite", state_dir);
	if (readonly && access(s->path, F_OK) != 0) {
		*out = s;
		return 0;
	}
	if (!readonly && (rc = mkdir_private(state_dir, e)) != 0)
		goto fail;
	if (sqlite3_open_v2(s->path, &s->db, flags | SQLITE_OPEN_NOMUTEX,
	    NULL) != SQLITE_OK) {
		rc = herald_errf(e, readonly ? EX_NOINPUT : EX_CANTCREAT,
		    s->path, 0, "cannot open suppression list: %s",
		    s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 10000);
	if (!readonly) {
		/* addresses are personal data: owner only */
		chmod(s->path, 0600);
		if ((rc = exec(s, "PRAGMA journal_mode=WAL;"
		    "PRAGMA synchronous=FULL;", e)) != 0 ||
		    (rc = exec(s, schema, e)) != 0)
			goto fail;
		if (!has_column(s, "why") && (rc = exec(s, "ALTER TABLE "
		    "suppressed ADD COLUMN why TEXT", e)) != 0)
			goto fail;
		if (!has_column(s, "message_id") && (rc = exec(s, "ALTER TABLE "
		    "suppressed ADD COLUMN message_id TEXT", e)) != 0)
			goto fail;
	}
	for (int i = 0; i < Q_N; i++) {
		if (readonly && (i == Q_ADD || i == Q_DEL || i == Q_SOFT_ADD ||
		    i == Q_MARK_SEEN))
			continue;
		if (sqlite3_prepare_v3(s->db, q_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->q[i], NULL) != SQLITE_OK) {
			/* a read-only store made by an old journal */
			if (readonly)
				continue;
			rc = dberr(s, e, "preparing");
			goto fail;
		}
	}
	*out = s;
	return 0;
fail:
	herald_suppress_close(s);
	return rc;
}

void
herald_suppress_close(struct herald_suppress *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < Q_N; i++)
		sqlite3_finalize(s->q[i]);
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

/* k = addr's key (addr.h: the journal's and the list's), or the
 * lower-cased text when it is no valid address; false when too long. */
static bool
addr_key(const char *addr, char *k, size_t ksz)
{
	size_t n = strlen(addr);

	if (n == 0 || n >= ksz)
		return false;
	if (!herald_addr_key(addr, k, ksz)) {
		memcpy(k, addr, n + 1);
		ascii_lower(k);
	}
	return true;
}

static bool
key(struct herald_suppress *s, const char *addr)
{
	return addr_key(addr, s->key, sizeof(s->key));
}

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

static int
step_done(struct herald_suppress *s, sqlite3_stmt *st, struct herald_err *e,
    const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return dberr(s, e, what);
	return 0;
}

bool
herald_suppress_has(struct herald_suppress *s, const char *list,
    const char *addr)
{
	sqlite3_stmt *st;
	int rc;

	if (s == NULL || s->db == NULL || (st = s->q[Q_HAS]) == NULL)
		return false;
	if (!key(s, addr))
		return false;
	sqlite3_bind_text(st, 1, list ? list : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s->key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc != SQLITE_DONE;
}

int
herald_suppress_add(struct herald_suppress *s, const char *list,
    const char *addr, const char *why, const char *message_id,
    const char *detail, int64_t at, struct herald_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if (s->db == NULL || s->q[Q_ADD] == NULL)
		return herald_errf(e, EX_IOERR, s->path, 0,
		    "suppression list is read-only");
	if (!herald_addr_valid(addr) || !key(s, addr))
		return herald_errf(e, EX_DATAERR, NULL, 0,
		    "not an email address: \"%.200s\"", addr);
	st = s->q[Q_ADD];
	sqlite3_bind_text(st, 1, list ? list : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, detail ? detail : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, at ? at : now_s());
	sqlite3_bind_text(st, 5, why, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, message_id ? message_id : "", -1, SQLITE_STATIC);
	if ((rc = step_done(s, st, e, "adding")) != 0)
		return rc;
	return sqlite3_changes(s->db) ? 0 : 1;
}

int
herald_suppress_remove(struct herald_suppress *s, const char *list,
    const char *addr, struct herald_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if (s->db == NULL || s->q[Q_DEL] == NULL)
		return 1;
	if (!key(s, addr))
		return 1;
	st = s->q[Q_DEL];
	sqlite3_bind_text(st, 1, list ? list : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s->key, -1, SQLITE_STATIC);
	if ((rc = step_done(s, st, e, "removing")) != 0)
		return rc;
	return sqlite3_changes(s->db) ? 0 : 1;
}

int
herald_suppress_soft(struct herald_suppress *s, const char *list,
    const char *addr, const char *campaign, const char *detail,
    int *count, struct herald_err *e)
{
	sqlite3_stmt *st;
	int rc, added;

	*count = 0;
	if (s->db == NULL || s->q[Q_SOFT_ADD] == NULL)
		return herald_errf(e, EX_IOERR, s->path, 0,
		    "suppression list is read-only");
	if (!herald_addr_valid(addr) || !key(s, addr))
		return herald_errf(e, EX_DATAERR, NULL, 0,
		    "not an email address: \"%.200s\"", addr);
	st = s->q[Q_SOFT_ADD];
	sqlite3_bind_text(st, 1, list ? list : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, campaign, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now_s());
	sqlite3_bind_text(st, 5, detail ? detail : "", -1, SQLITE_STATIC);
	if ((rc = step_done(s, st, e, "counting a soft bounce")) != 0)
		return rc;
	added = sqlite3_changes(s->db) != 0;
	st = s->q[Q_SOFT_COUNT];
	sqlite3_bind_text(st, 1, list ? list : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s->key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		*count = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	if (!added)
		return 1;
	if (*count >= HERALD_SOFT_BOUNCE_LIMIT) {
		char why[64];
		snprintf(why, sizeof(why), "%d campaigns soft-bounced", *count);
		rc = herald_suppress_add(s, list, addr, "soft-bounces", NULL,
		    detail && *detail ? detail : why, 0, e);
		return rc == 0 ? 2 : rc == 1 ? 0 : rc;
	}
	return 0;
}

bool
herald_suppress_seen(struct herald_suppress *s, const char *list,
    const char *k)
{
	sqlite3_stmt *st;
	int rc;

	if (s->db == NULL || (st = s->q[Q_SEEN]) == NULL)
		return false;
	sqlite3_bind_text(st, 1, list ? list : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, k, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_ROW;
}

int
herald_suppress_mark_seen(struct herald_suppress *s, const char *list,
    const char *k, struct herald_err *e)
{
	sqlite3_stmt *st;

	if (s->db == NULL || (st = s->q[Q_MARK_SEEN]) == NULL)
		return herald_errf(e, EX_IOERR, s->path, 0,
		    "suppression list is read-only");
	sqlite3_bind_text(st, 1, list ? list : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, k, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now_s());
	return step_done(s, st, e, "recording a handled mail");
}

int
herald_suppress_each(struct herald_suppress *s, const char *list,
    herald_suppression_fn fn, void *arg, struct herald_err *e)
{
	sqlite3_stmt *st;
	int rc, ret = 0;

	if (s->db == NULL || s->q[Q_EACH] == NULL)
		return 0;
	/* a fresh statement: fn may call back into the store */
	if (sqlite3_prepare_v2(s->db, q_sql[Q_EACH], -1, &st, NULL) != SQLITE_OK)
		return dberr(s, e, "listing");
	sqlite3_bind_text(st, 1, list ? list : "", -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct herald_suppression row = {
			.list = (const char *)sqlite3_column_text(st, 0),
			.addr = (const char *)sqlite3_column_text(st, 1),
			.at = sqlite3_column_int64(st, 2),
			.why = (const char *)sqlite3_column_text(st, 3),
			.message_id = (const char *)sqlite3_column_text(st, 4),
			.detail = (const char *)sqlite3_column_text(st, 5),
		};
		/* rows journal.c wrote before this module existed */
		if (row.why[0] == '\0')
			row.why = "send-5.1.1";
		if ((ret = fn(arg, &row)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = dberr(s, e, "listing");
	sqlite3_finalize(st);
	return ret;
}

int
herald_suppress_begin(struct herald_suppress *s, struct herald_err *e)
{
	return s->db ? exec(s, "BEGIN IMMEDIATE", e) : 0;
}

int
herald_suppress_commit(struct herald_suppress *s, struct herald_err *e)
{
	return s->db ? exec(s, "COMMIT", e) : 0;
}

char *
herald_suppress_list_name(const char *arg)
{
	const char *b = strrchr(arg, '/');
	size_t n;

	b = b ? b + 1 : arg;
	n = strlen(b);
	if (n > 4 && strcmp(b + n - 4, ".csv") == 0)
		n -= 4;
	return xstrndup(b, n);
}

static void
csv_field(struct hbuf *b, const char *v)
{
	if (strpbrk(v, ",\"\r\n") == NULL) {
		hbuf_puts(b, v);
		return;
	}
	hbuf_putc(b, '"');
	for (; *v; v++) {
		if (*v == '"')
			hbuf_putc(b, '"');
		hbuf_putc(b, *v);
	}
	hbuf_putc(b, '"');
}

struct export {
	struct hbuf *out;
};

static int
export_row(void *arg, const struct herald_suppression *r)
{
	struct hbuf *b = ((struct export *)arg)->out;
	char when[32];
	time_t t = (time_t)r->at;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	csv_field(b, r->addr);
	hbuf_putc(b, ',');
	csv_field(b, r->list);
	hbuf_printf(b, ",%s,", when);
	csv_field(b, r->why);
	hbuf_putc(b, ',');
	csv_field(b, r->message_id);
	hbuf_putc(b, ',');
	csv_field(b, r->detail);
	hbuf_puts(b, "\r\n");
	return 0;
}

int
herald_suppress_export(struct herald_suppress *s, const char *list,
    struct hbuf *out, struct herald_err *e)
{
	struct export x = { out };

	hbuf_puts(out, "email,list,at,why,message_id,detail\r\n");
	return herald_suppress_each(s, list, export_row, &x, e);
}

/* "YYYY-MM-DDTHH:MM:SSZ" -> Unix seconds, or -1. */
static int64_t
parse_when(const char *v)
{
	struct tm tm = {0};
	int n = 0;

	if (*v == '\0')
		return 0;
	if (sscanf(v, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    n != 20 || v[n] != '\0' || tm.tm_year < 1970 || tm.tm_mon < 1 ||
	    tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

int
herald_suppress_import(struct herald_suppress *s, const char *list,
    const char *path, size_t *added, size_t *already, struct herald_err *e)
{
	static const char *const names[] = { "at", "why", "message_id",
	    "detail" };
	struct herald_list *l;
	struct herald_recipient r;
	long col[4] = { -1, -1, -1, -1 };
	const char *const *cols;
	size_t ncols;
	int rc;

	*added = *already = 0;
	if ((rc = herald_list_open(path, &l, e)) != 0)
		return rc;
	cols = herald_list_columns(l, &ncols);
	for (size_t i = 0; i < ncols; i++)
		for (size_t k = 0; k < 4; k++)
			if (ascii_ieq(cols[i], names[k]))
				col[k] = (long)i;
	if ((rc = herald_suppress_begin(s, e)) != 0) {
		herald_list_close(l);
		return rc;
	}
	while ((rc = herald_list_next(l, &r, e)) == 0) {
		const char *v[4];
		int64_t at;

		for (size_t k = 0; k < 4; k++)
			v[k] = col[k] >= 0 ? r.values[col[k]] : "";
		if ((at = parse_when(v[0])) < 0) {
			rc = herald_errf(e, EX_DATAERR, path, r.line,
			    "at: want YYYY-MM-DDTHH:MM:SSZ, not \"%.40s\"", v[0]);
			break;
		}
		if (has_crlf_nul(v[1], strlen(v[1])) ||
		    has_crlf_nul(v[2], strlen(v[2]))) {
			rc = herald_errf(e, EX_DATAERR, path, r.line,
			    "line break in a field");
			break;
		}
		rc = herald_suppress_add(s, list, r.email, v[1][0] ? v[1] :
		    "import", v[2], v[3], at, e);
		if (rc == 0)
			(*added)++;
		else if (rc == 1)
			(*already)++;
		else {
			char msg[sizeof(e->msg)];
			snprintf(msg, sizeof(msg), "%s", e->msg);
			herald_errf(e, rc, path, r.line, "%s", msg);
			break;
		}
	}
	herald_list_close(l);
	if (rc == -1)
		return herald_suppress_commit(s, e);
	exec(s, "ROLLBACK", NULL);
	*added = *already = 0;
	return rc;
}

/* A snapshot of a list's suppressions: their keys in an address set. */
struct herald_supset {
	struct herald_addrset *keys;
};

int
herald_suppress_snapshot(struct herald_suppress *s, const char *list,
    struct herald_supset **out, struct herald_err *e)
{
	struct herald_supset *set = xcalloc(1, sizeof(*set));
	sqlite3_stmt *st;
	int rc;

	set->keys = herald_addrset_new();
	*out = set;
	if (s == NULL || s->db == NULL || (st = s->q[Q_ADDRS]) == NULL)
		return 0;
	sqlite3_bind_text(st, 1, list ? list : "", -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		herald_addrset_add(set->keys,
		    (const char *)sqlite3_column_text(st, 0), 1);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		herald_supset_free(set);
		*out = NULL;
		return dberr(s, e, "reading");
	}
	return 0;
}

bool
herald_supset_has(const struct herald_supset *set, const char *addr)
{
	char k[512];

	return set != NULL && addr_key(addr, k, sizeof(k)) &&
	    herald_addrset_find(set->keys, k) != 0;
}

void
herald_supset_free(struct herald_supset *set)
{
	if (set == NULL)
		return;
	herald_addrset_free(set->keys);
	free(set);
}
