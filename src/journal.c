/*
 * journal.c - the delivery journal in SQLite (see journal.h).
 *
 * Why the state is durable at the right moments:
 *
 * The database runs in WAL mode with synchronous=FULL, so every commit
 * fsyncs the write-ahead log before it returns.  With synchronous=NORMAL a
 * commit survives the death of the process (SIGKILL) but not a power cut:
 * the last transactions could be lost, an inflight mark would roll back to
 * pending, and a message that had gone out would later be resent without
 * ever having been marked unknown.  FULL costs one fsync per commit; the
 * sender amortises it by marking a batch of recipients inflight in one
 * transaction and by recording the results of one poll round in one.
 *
 * The order is what makes a kill -9 at any moment safe:
 *   1. commit "inflight" (before the SMTP transaction starts);
 *   2. run the transaction;
 *   3. commit sent / deferred / failed / unknown.
 * A row found inflight by the next run may or may not have been delivered
 * (the final dot may have been sent and the 250 lost), so it becomes
 * unknown and is resent with the same Message-ID.  A row is never marked
 * sent before its 250 arrived.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "addr.h"
#include "journal.h"

static const char *const state_names[HERALD_J_NSTATES] = {
	"pending", "inflight", "sent", "deferred", "failed", "unknown",
	"suppressed", "removed",
};

enum {
	ST_ADD, ST_GET, ST_INFLIGHT, ST_MARK, ST_COUNTS, ST_EACH, ST_LISTED, ST_N
};

static const char *const stmt_sql[ST_N] = {
	/* ST_ADD */
	"INSERT OR IGNORE INTO rcpt(addr, state, updated) VALUES (?1, 0, ?2)",
	/* ST_GET */
	"SELECT addr, state, attempts, tries, next_try, unknowns, code, "
	"  reply, message_id, updated FROM rcpt WHERE addr = ?1",
	/* ST_INFLIGHT */
	/* an upsert: a message never goes out without its row, even for an
	 * address that got into the list after the run's first walk */
	"INSERT INTO rcpt(addr, state, attempts, tries, message_id, updated)"
	"  VALUES (?1, 1, 1, 1, ?2, ?3) ON CONFLICT(addr) DO UPDATE SET"
	"  state = 1, attempts = attempts + 1, tries = tries + 1,"
	"  message_id = ?2, updated = ?3",
	/* ST_MARK */
	"UPDATE rcpt SET state = ?2, code = ?3, reply = ?4, next_try = ?5, "
	"  unknowns = unknowns + (?2 = 5), updated = ?6 WHERE addr = ?1",
	/* ST_COUNTS */
	"SELECT state, count(*) FROM rcpt GROUP BY state",
	/* ST_EACH */
	"SELECT addr, state, attempts, tries, next_try, unknowns, code, "
	"  reply, message_id, updated FROM rcpt "
	"  WHERE ((1 << state) & ?1) != 0 ORDER BY addr",
	/* ST_LISTED */
	"INSERT OR IGNORE INTO temp.listed(addr, mine) VALUES (?1, ?2)",
};

/*
 * With a list given (herald_journal_listed), counts and walks cover the
 * rows of this run's share of the list, a listed address without a row
 * counting as pending; a row whose address left the list is "removed".
 */
static const char counts_listed_sql[] =
	"SELECT coalesce(r.state, 0), count(*) FROM temp.listed l "
	"  LEFT JOIN rcpt r ON r.addr = l.addr WHERE l.mine GROUP BY 1 "
	"UNION ALL "
	"SELECT 7, count(*) FROM rcpt WHERE addr NOT IN "
	"  (SELECT addr FROM temp.listed)";
static const char each_listed_sql[] =
	"SELECT r.addr, CASE WHEN l.addr IS NULL THEN 7 ELSE r.state END AS st,"
	"  attempts, tries, next_try, unknowns, code, reply, message_id, "
	"  updated FROM rcpt r LEFT JOIN temp.listed l ON l.addr = r.addr "
	"  WHERE (l.addr IS NULL OR l.mine) AND ((1 << st) & ?1) != 0 "
	"  ORDER BY r.addr";

struct herald_journal {
	sqlite3 *db;
	sqlite3_stmt *st[ST_N];
	int lock_fd;            /* PATH.lock, flock()ed by a writer; -1 */
	char *path;
	bool has_listed;        /* temp.listed exists (a list was given) */
	bool readonly;
	bool in_batch;
	unsigned commits;       /* since the last checkpoint */
	bool post_changed;
	size_t recovered;
	char addr[512];         /* lower-cased key scratch */
	/* herald_journal_get's row, copied out so that no statement is
	 * left open: an open statement holds a read transaction, and the
	 * WAL cannot be checkpointed past it (it grew ~25 KB a recipient). */
	char row_addr[512];
	char row_reply[1024];
	char row_mid[512];
};

const char *
herald_jstate_name(enum herald_jstate s)
{
	if ((int)s < 0 || s >= HERALD_J_NSTATES)
		return NULL;
	return state_names[s];
}

static int
dberr(struct herald_journal *j, struct herald_err *e, const char *what)
{
	return herald_errf(e, EX_IOERR, j->path, 0, "journal: %s: %s", what,
	    sqlite3_errmsg(j->db));
}

static int
exec(struct herald_journal *j, const char *sql, struct herald_err *e)
{
	char *msg = NULL;

	if (sqlite3_exec(j->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		herald_errf(e, EX_IOERR, j->path, 0, "journal: %s",
		    msg ? msg : sqlite3_errmsg(j->db));
		sqlite3_free(msg);
		return EX_IOERR;
	}
	return 0;
}

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

/* addr's key (addr.h: one address however spelt, lower-cased) in
 * j->addr; false when it does not fit. */
static bool
key(struct herald_journal *j, const char *addr)
{
	size_t n = strlen(addr);

	if (herald_addr_key(addr, j->addr, sizeof(j->addr)))
		return true;
	/* Not an address (only tests pass these): lower-cased as is. */
	if (n >= sizeof(j->addr))
		return false;
	memcpy(j->addr, addr, n + 1);
	ascii_lower(j->addr);
	return true;
}

static sqlite3_stmt *
stmt(struct herald_journal *j, int which)
{
	sqlite3_stmt *s = j->st[which];

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

/* Run a statement that returns no rows. */
static int
step_done(struct herald_journal *j, sqlite3_stmt *s, struct herald_err *e,
    const char *what)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return dberr(j, e, what);
	return 0;
}

static const char *
col_text(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t ? (const char *)t : "";
}

static void
fill_row(sqlite3_stmt *s, struct herald_jrow *row)
{
	int st = sqlite3_column_int(s, 1);

	row->addr = col_text(s, 0);
	row->state = st >= 0 && st < HERALD_J_NSTATES ? st : HERALD_J_PENDING;
	row->attempts = sqlite3_column_int(s, 2);
	row->tries = sqlite3_column_int(s, 3);
	row->next_try = sqlite3_column_double(s, 4);
	row->unknowns = sqlite3_column_int(s, 5);
	row->code = sqlite3_column_int(s, 6);
	row->reply = col_text(s, 7);
	row->message_id = col_text(s, 8);
	row->updated = sqlite3_column_int64(s, 9);
}

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS campaign ("
	"  id TEXT PRIMARY KEY, list TEXT, post_path TEXT, post_hash TEXT,"
	"  created INTEGER, updated INTEGER);"
	/* state is the enum's value; next_try in epoch seconds */
	"CREATE TABLE IF NOT EXISTS rcpt ("
	"  addr TEXT PRIMARY KEY, state INTEGER NOT NULL DEFAULT 0,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  tries INTEGER NOT NULL DEFAULT 0,"
	"  next_try REAL NOT NULL DEFAULT 0,"
	"  unknowns INTEGER NOT NULL DEFAULT 0,"
	"  code INTEGER NOT NULL DEFAULT 0,"
	"  reply TEXT NOT NULL DEFAULT '',"
	"  message_id TEXT NOT NULL DEFAULT '',"
	"  updated INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
	/* No index on state: every state change rewrote two of its pages
	 * in each commit (about a third of the pages a send wrote to the
	 * WAL), for queries that scan every row anyway or run once
	 * (recovery's "WHERE state = 1", status counts). */
	"DROP INDEX IF EXISTS rcpt_state;";

/*
 * Journals of an earlier herald that kept one per shard spec
 * (PATH-without-.sqlite-shardKofN.sqlite) are taken into this one, so
 * upgrading never resends what they recorded.  For an address in both,
 * the row that says more about whether the reader has a copy wins:
 * sent, then inflight (a possible copy: recovery makes it unknown), then
 * unknown, failed or suppressed, deferred, pending.  Each absorbed file is
 * renamed to FILE.absorbed, so it is read once and kept for the record.
 */
#define RANK(x) "(CASE " x " WHEN 2 THEN 6 WHEN 1 THEN 5 WHEN 5 THEN 4 " \
	"WHEN 4 THEN 3 WHEN 6 THEN 3 WHEN 3 THEN 2 ELSE 0 END)"

static int
absorb_one(struct herald_journal *j, const char *file, struct herald_err *e)
{
	char *sql = sqlite3_mprintf("ATTACH %Q AS old", file);
	char *to;
	int rc = exec(j, sql, e);

	sqlite3_free(sql);
	if (rc != 0)
		return rc;
	if ((rc = exec(j, "BEGIN IMMEDIATE", e)) == 0 &&
	    (rc = exec(j, "UPDATE rcpt SET (state, attempts, next_try, "
	    "  unknowns, code, reply, message_id, updated) = "
	    "  (SELECT o.state, max(o.attempts, rcpt.attempts), o.next_try, "
	    "   max(o.unknowns, rcpt.unknowns), o.code, o.reply, "
	    "   o.message_id, o.updated FROM old.rcpt o "
	    "   WHERE o.addr = rcpt.addr) "
	    "WHERE EXISTS (SELECT 1 FROM old.rcpt o WHERE o.addr = rcpt.addr "
	    "  AND " RANK("o.state") " > " RANK("rcpt.state") ")", e)) == 0 &&
	    (rc = exec(j, "INSERT OR IGNORE INTO rcpt(addr, state, attempts, "
	    "  tries, next_try, unknowns, code, reply, message_id, updated) "
	    "  SELECT addr, state, attempts, 0, next_try, unknowns, code, "
	    "  reply, message_id, updated FROM old.rcpt", e)) == 0)
		rc = exec(j, "COMMIT", e);
	if (rc != 0)
		exec(j, "ROLLBACK", NULL);
	if (exec(j, "DETACH old", rc ? NULL : e) != 0 && rc == 0)
		rc = EX_IOERR;
	if (rc != 0)
		return rc;
	to = xasprintf("%s.absorbed", file);
	if (rename(file, to) != 0)
		rc = herald_errf(e, EX_CANTCREAT, file, 0, "cannot rename to "
		    "%s: %s", to, strerror(errno));
	free(to);
	return rc;
}

static int
absorb_shards(struct herald_journal *j, const char *path,
    struct herald_err *e)
{
	size_t n = strlen(path);
	char *pat;
	glob_t g;
	int rc = 0;

	if (n < 7 || strcmp(path + n - 7, ".sqlite") != 0)
		return 0;
	pat = xasprintf("%.*s-shard*of*.sqlite", (int)(n - 7), path);
	if (glob(pat, 0, NULL, &g) == 0) {
		for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++)
			rc = absorb_one(j, g.gl_pathv[i], e);
		globfree(&g);
	}
	free(pat);
	return rc;
}

/* Check (or record) the campaign row and its post hash. */
static int
campaign_row(struct herald_journal *j, const struct herald_journal_opts *o,
    struct herald_err *e)
{
	sqlite3_stmt *s;
	char hex[65];
	int rc, ret = 0;

	hex_encode(o->post_hash, 32, hex);
	if (sqlite3_prepare_v2(j->db, "SELECT post_hash FROM campaign WHERE "
	    "id = ?1", -1, &s, NULL) != SQLITE_OK)
		return dberr(j, e, "reading campaign");
	sqlite3_bind_text(s, 1, o->campaign_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		j->post_changed = strcmp(col_text(s, 0), hex) != 0;
		sqlite3_finalize(s);
		/* Whether a changed post may go on is the caller's call
		 * (nothing left to send needs no --force). */
		if (!j->post_changed || o->readonly || !o->force)
			return 0;
		if (sqlite3_prepare_v2(j->db, "UPDATE campaign SET "
		    "post_hash = ?2, updated = ?3 WHERE id = ?1", -1, &s,
		    NULL) != SQLITE_OK)
			return dberr(j, e, "updating campaign");
	} else if (rc == SQLITE_DONE) {
		sqlite3_finalize(s);
		if (o->readonly)
			return 0;
		if (sqlite3_prepare_v2(j->db, "INSERT INTO campaign(id, "
		    "post_hash, created, updated, list, post_path) VALUES "
		    "(?1, ?2, ?3, ?3, ?4, ?5)", -1, &s, NULL) != SQLITE_OK)
			return dberr(j, e, "creating campaign");
		sqlite3_bind_text(s, 4, o->list_name ? o->list_name : "", -1,
		    SQLITE_STATIC);
		sqlite3_bind_text(s, 5, o->post_path ? o->post_path : "", -1,
		    SQLITE_STATIC);
	} else {
		ret = dberr(j, e, "reading campaign");
		sqlite3_finalize(s);
		return ret;
	}
	sqlite3_bind_text(s, 1, o->campaign_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, hex, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, now_s());
	if (sqlite3_step(s) != SQLITE_DONE)
		ret = dberr(j, e, "writing campaign");
	sqlite3_finalize(s);
	return ret;
}

/* Create path 0600 (or make it so): it lists recipients' addresses.
 * SQLite gives its -wal and -shm files the database file's mode. */
static void
private_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd >= 0) {
		(void)fchmod(fd, 0600);
		close(fd);
	}
}

int
herald_journal_open(const struct herald_journal_opts *o,
    struct herald_journal **out, struct herald_err *e)
{
	struct herald_journal *j;
	int flags, rc, i;

	*out = NULL;
	if (o->readonly && access(o->path, F_OK) != 0)
		return herald_errf(e, EX_NOINPUT, o->path, 0,
		    "no journal: nothing has been sent for this campaign");
	j = xcalloc(1, sizeof(*j));
	j->lock_fd = -1;
	j->path = xstrdup(o->path);
	if (!o->readonly) {
		/*
		 * One sender per journal: a second `herald send` of the same
		 * campaign would send everything twice.  flock() is released
		 * by the kernel when a process dies, even by SIGKILL.
		 */
		char *lp = xasprintf("%s.lock", o->path);

		j->lock_fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		free(lp);
		if (j->lock_fd < 0) {
			rc = herald_errf(e, EX_CANTCREAT, o->path, 0,
			    "cannot create the journal lock: %s",
			    strerror(errno));
			herald_journal_close(j);
			return rc;
		}
		if (flock(j->lock_fd, LOCK_EX | LOCK_NB) != 0) {
			rc = herald_errf(e, EX_TEMPFAIL, o->path, 0,
			    "another herald send is running for this campaign");
			herald_journal_close(j);
			return rc;
		}
	}
	j->readonly = o->readonly;
	if (!o->readonly)
		private_file(o->path);
	flags = o->readonly ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(o->path, &j->db, flags, NULL) != SQLITE_OK) {
		rc = herald_errf(e, o->readonly ? EX_NOINPUT : EX_CANTCREAT,
		    o->path, 0, "cannot open journal: %s",
		    j->db ? sqlite3_errmsg(j->db) : "out of memory");
		herald_journal_close(j);
		return rc;
	}
	sqlite3_busy_timeout(j->db, 10000);
	/*
	 * Bounded page caches (SQLite's default is 2 MiB each for the file
	 * and for the temp table of listed addresses, per connection, and a
	 * send has two): the journal grows with the list, its cache must
	 * not.  Lookups go in list order and every commit is a few pages,
	 * so a small cache costs little; pages it drops are in the OS's.
	 */
	if ((rc = exec(j, "PRAGMA cache_size=-512;"
	    "PRAGMA temp.cache_size=-256;", e)) != 0)
		goto fail;
	if (!o->readonly) {
		/* See the comment at the top for why FULL. */
		/* The WAL is checkpointed every 1000 pages (SQLite's
		 * default, stated here because the size bound depends on
		 * it) and cut back to 1 MiB after a checkpoint. */
		if ((rc = exec(j, "PRAGMA journal_mode=WAL;"
		    "PRAGMA synchronous=FULL;"
		    "PRAGMA wal_autocheckpoint=1000;"
		    "PRAGMA journal_size_limit=1048576;", e)) != 0 ||
		    (rc = exec(j, schema, e)) != 0)
			goto fail;
	}
	if ((rc = campaign_row(j, o, e)) != 0)
		goto fail;
	for (i = 0; i < ST_N; i++) {
		if (i == ST_LISTED)
			continue;   /* prepared once temp.listed exists */
		if (sqlite3_prepare_v3(j->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &j->st[i], NULL) != SQLITE_OK) {
			rc = dberr(j, e, "preparing");
			goto fail;
		}
	}
	if (!o->readonly && (rc = absorb_shards(j, o->path, e)) != 0)
		goto fail;
	if (!o->readonly) {
		/*
		 * Recovery: an inflight row belongs to a run that died.  Its
		 * message may have been accepted (final dot sent, 250 not
		 * yet recorded), so it becomes unknown: resent with the same
		 * Message-ID and reported as a possible duplicate.
		 */
		if ((rc = exec(j, "BEGIN IMMEDIATE", e)) != 0)
			goto fail;
		if ((rc = exec(j, "UPDATE rcpt SET state = 5, "
		    "unknowns = unknowns + 1, reply = 'run interrupted while "
		    "in flight' WHERE state = 1", e)) != 0) {
			exec(j, "ROLLBACK", NULL);
			goto fail;
		}
		j->recovered = (size_t)sqlite3_changes(j->db);
		if ((rc = exec(j, "UPDATE rcpt SET tries = 0 WHERE tries != 0",
		    e)) != 0 || (rc = exec(j, "COMMIT", e)) != 0) {
			exec(j, "ROLLBACK", NULL);
			goto fail;
		}
	}
	*out = j;
	return 0;
fail:
	herald_journal_close(j);
	return rc;
}

void
herald_journal_close(struct herald_journal *j)
{
	int i;

	if (j == NULL)
		return;
	if (j->in_batch)
		exec(j, "COMMIT", NULL);
	for (i = 0; i < ST_N; i++)
		sqlite3_finalize(j->st[i]);
	sqlite3_close(j->db);
	if (j->lock_fd >= 0)
		close(j->lock_fd);
	free(j->path);
	free(j);
}

size_t
herald_journal_recovered(const struct herald_journal *j)
{
	return j->recovered;
}

bool
herald_journal_post_changed(const struct herald_journal *j)
{
	return j->post_changed;
}

int
herald_journal_begin(struct herald_journal *j, struct herald_err *e)
{
	int rc;

	if (j->in_batch)
		return 0;
	if ((rc = exec(j, j->readonly ? "BEGIN" : "BEGIN IMMEDIATE", e)) == 0)
		j->in_batch = true;
	return rc;
}

bool
herald_journal_in_batch(const struct herald_journal *j)
{
	return j->in_batch;
}

int
herald_journal_commit(struct herald_journal *j, struct herald_err *e)
{
	int rc;

	if (!j->in_batch)
		return 0;
	j->in_batch = false;
	rc = exec(j, "COMMIT", e);
	/* Besides the automatic checkpoints: every few hundred commits a
	 * full one (which restarts the WAL from its beginning when no
	 * reader is behind), so that its size follows the list, not the
	 * number of writes. */
	if (rc == 0 && !j->readonly && ++j->commits >= 256) {
		j->commits = 0;
		sqlite3_wal_checkpoint_v2(j->db, NULL,
		    SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	}
	return rc;
}

static int
too_long(struct herald_journal *j, struct herald_err *e)
{
	return herald_errf(e, EX_DATAERR, j->path, 0,
	    "journal: address too long");
}

int
herald_journal_add(struct herald_journal *j, const char *addr,
    struct herald_err *e)
{
	sqlite3_stmt *s;

	if (!key(j, addr))
		return too_long(j, e);
	s = stmt(j, ST_ADD);
	sqlite3_bind_text(s, 1, j->addr, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, now_s());
	return step_done(j, s, e, "adding recipient");
}

int
herald_journal_get(struct herald_journal *j, const char *addr,
    struct herald_jrow *row, struct herald_err *e)
{
	sqlite3_stmt *s;
	int rc;

	if (!key(j, addr))
		return too_long(j, e);
	s = stmt(j, ST_GET);
	sqlite3_bind_text(s, 1, j->addr, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		/* Copied out and reset at once (see row_addr). */
		fill_row(s, row);
		snprintf(j->row_addr, sizeof(j->row_addr), "%s", row->addr);
		snprintf(j->row_reply, sizeof(j->row_reply), "%s", row->reply);
		snprintf(j->row_mid, sizeof(j->row_mid), "%s",
		    row->message_id);
		row->addr = j->row_addr;
		row->reply = j->row_reply;
		row->message_id = j->row_mid;
		sqlite3_reset(s);
		return 0;
	}
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return -1;
	return dberr(j, e, "reading recipient");
}

bool
herald_journal_key_hash(struct herald_journal *j, const char *addr,
    uint64_t *h)
{
	if (!key(j, addr))
		return false;
	*h = hash64(j->addr, strlen(j->addr));
	return true;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int
herald_journal_hashes(struct herald_journal *j, unsigned mask,
    uint64_t **out, size_t *n, struct herald_err *e)
{
	sqlite3_stmt *s;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	/* One scan, finished (so no read transaction stays open). */
	if (sqlite3_prepare_v2(j->db, "SELECT addr FROM rcpt WHERE "
	    "((1 << state) & ?1) != 0", -1, &s, NULL) != SQLITE_OK)
		return dberr(j, e, "reading states");
	sqlite3_bind_int64(s, 1, (sqlite3_int64)mask);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const void *a = sqlite3_column_text(s, 0);

		if (*n == cap) {
			cap = cap ? 2 * cap : 1024;
			*out = xrealloc(*out, cap * sizeof(**out));
		}
		(*out)[(*n)++] = hash64(a, (size_t)sqlite3_column_bytes(s, 0));
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		free(*out);
		*out = NULL;
		*n = 0;
		return dberr(j, e, "reading states");
	}
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), cmp_u64);
	return 0;
}

bool
herald_journal_hashes_has(const uint64_t *hs, size_t n, uint64_t h)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (hs[mid] == h)
			return true;
		if (hs[mid] < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

int
herald_journal_mark_inflight(struct herald_journal *j, const char *addr,
    const char *message_id, struct herald_err *e)
{
	sqlite3_stmt *s;

	if (!key(j, addr))
		return too_long(j, e);
	s = stmt(j, ST_INFLIGHT);
	sqlite3_bind_text(s, 1, j->addr, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, message_id ? message_id : "", -1,
	    SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, now_s());
	return step_done(j, s, e, "marking in flight");
}

int
herald_journal_mark(struct herald_journal *j, const char *addr,
    enum herald_jstate state, int code, const char *reply, double next_try,
    struct herald_err *e)
{
	sqlite3_stmt *s;

	if (!key(j, addr))
		return too_long(j, e);
	s = stmt(j, ST_MARK);
	sqlite3_bind_text(s, 1, j->addr, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 2, (int)state);
	sqlite3_bind_int(s, 3, code);
	sqlite3_bind_text(s, 4, reply ? reply : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_double(s, 5, next_try);
	sqlite3_bind_int64(s, 6, now_s());
	return step_done(j, s, e, "recording result");
}

int
herald_journal_counts(struct herald_journal *j,
    size_t counts[HERALD_J_NSTATES], struct herald_err *e)
{
	sqlite3_stmt *s;
	int rc, st;

	if (j->has_listed) {
		if (sqlite3_prepare_v2(j->db, counts_listed_sql, -1, &s,
		    NULL) != SQLITE_OK)
			return dberr(j, e, "counting");
	} else
		s = stmt(j, ST_COUNTS);
	memset(counts, 0, sizeof(size_t) * HERALD_J_NSTATES);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		st = sqlite3_column_int(s, 0);
		if (st >= 0 && st < HERALD_J_NSTATES)
			counts[st] += (size_t)sqlite3_column_int64(s, 1);
	}
	if (j->has_listed)
		sqlite3_finalize(s);
	else
		sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : dberr(j, e, "counting");
}

int
herald_journal_listed(struct herald_journal *j, const char *addr, bool mine,
    struct herald_err *e)
{
	sqlite3_stmt *s;

	if (!j->has_listed) {
		/* A temporary table: private to this connection, never in
		 * the journal file or its WAL. */
		if (exec(j, "CREATE TEMP TABLE IF NOT EXISTS listed ("
		    "  addr TEXT PRIMARY KEY, mine INTEGER NOT NULL)"
		    "  WITHOUT ROWID", e) != 0)
			return EX_IOERR;
		if (sqlite3_prepare_v3(j->db, stmt_sql[ST_LISTED], -1,
		    SQLITE_PREPARE_PERSISTENT, &j->st[ST_LISTED], NULL) !=
		    SQLITE_OK)
			return dberr(j, e, "preparing");
		j->has_listed = true;
	}
	if (!key(j, addr))
		return too_long(j, e);
	s = stmt(j, ST_LISTED);
	sqlite3_bind_text(s, 1, j->addr, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 2, mine);
	return step_done(j, s, e, "listing recipient");
}

int
herald_journal_each(struct herald_journal *j, unsigned mask,
    herald_jrow_fn fn, void *arg, struct herald_err *e)
{
	sqlite3_stmt *s;
	struct herald_jrow row;
	int rc, ret = 0;

	/* ST_EACH may be in use by a caller's fn calling back in; a fresh
	 * statement keeps the walk independent of the cached ones. */
	if (sqlite3_prepare_v2(j->db, j->has_listed ? each_listed_sql :
	    stmt_sql[ST_EACH], -1, &s, NULL) != SQLITE_OK)
		return dberr(j, e, "listing");
	sqlite3_bind_int64(s, 1, (sqlite3_int64)mask);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		fill_row(s, &row);
		if ((ret = fn(arg, &row)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = dberr(j, e, "listing");
	sqlite3_finalize(s);
	return ret;
}
