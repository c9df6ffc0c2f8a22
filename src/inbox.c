/*
 * inbox.c - returned mail into the suppression store (see inbox.h).
 * Maildir (new/ and cur/, as Postfix and mutt write it) and mbox (From_
 * lines, mboxrd or mboxo quoting) are read here; each mail is parsed by
 * dsn.c.
 */
#include "inbox.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dsn.h"
#include "suppress.h"
#include "token.h"

struct ctx {
	const char *list;
	struct herald_tokens *t;
	struct herald_suppress *s;
	herald_inbox_fn fn;
	void *arg;
	struct herald_err *e;
};

static void
tell(struct ctx *c, const char *mail, enum herald_inbox_what what,
    const char *addr, const char *why, const char *detail, int n)
{
	struct herald_inbox_event ev = { mail, what, addr, why,
	    detail ? detail : "", n };

	c->fn(c->arg, &ev);
}

/* The campaign of an original Message-ID "CAMPAIGN.HASH@domain". */
static char *
campaign_of(const char *mid)
{
	size_t n;

	if (mid == NULL)
		return xstrdup("unknown");
	n = strcspn(mid, ".@");
	return xstrndup(mid, n ? n : strlen(mid));
}

static int
one_rcpt(struct ctx *c, const char *mail, const struct herald_inmail *m,
    const struct herald_dsn_rcpt *r, const char *tlist, const char *taddr)
{
	const char *list = tlist ? tlist : c->list;
	const char *addr = taddr ? taddr : r->addr;
	char detail[400];
	int rc, n = 0;

	if (strcmp(r->action, "delivered") == 0 ||
	    strcmp(r->action, "relayed") == 0 ||
	    strcmp(r->action, "expanded") == 0)
		return 0;
	snprintf(detail, sizeof(detail), "%s%s%s", r->status,
	    r->diag[0] ? " " : "", r->diag);
	if (strcmp(list, c->list) != 0) {
		tell(c, mail, HERALD_INBOX_OTHER_LIST, addr, NULL, detail, 0);
		return 0;
	}
	if (r->status[0] == '5' && strcmp(r->action, "failed") == 0) {
		rc = herald_suppress_add(c->s, list, addr, "bounce",
		    m->orig_message_id, detail, 0, c->e);
		if (rc == 0 || rc == 1)
			tell(c, mail, rc == 0 ? HERALD_INBOX_SUPPRESSED :
			    HERALD_INBOX_WAS_SUPPRESSED, addr, "bounce", detail, 0);
		return rc == 1 ? 0 : rc == EX_DATAERR ? 0 : rc;
	}
	if (r->status[0] == '4' || r->status[0] == '5') {
		char *camp = campaign_of(m->orig_message_id);
		rc = herald_suppress_soft(c->s, list, addr, camp, detail, &n, c->e);
		free(camp);
		if (rc == 2)
			tell(c, mail, HERALD_INBOX_SUPPRESSED, addr,
			    "soft-bounces", detail, n);
		else if (rc == 0 || rc == 1)
			tell(c, mail, HERALD_INBOX_SOFT, addr, "soft-bounce",
			    detail, n);
		return rc <= 2 ? 0 : rc == EX_DATAERR ? 0 : rc;
	}
	return 0;
}

static int
one_mail(struct ctx *c, const char *mail, const char *data, size_t len)
{
	struct herald_inmail m;
	unsigned char h[32];
	char key[65];
	char *tlist = NULL, *taddr = NULL;
	bool acted = false;
	int rc = 0;

	sha256(data, len, h);
	hex_encode(h, 32, key);
	if (herald_suppress_seen(c->s, c->list, key)) {
		tell(c, mail, HERALD_INBOX_SEEN, NULL, NULL, NULL, 0);
		return 0;
	}
	if (herald_dsn_parse(data, len, &m, NULL) != 0) {
		tell(c, mail, HERALD_INBOX_IGNORED, NULL, NULL, "not a message", 0);
		return herald_suppress_mark_seen(c->s, c->list, key, c->e);
	}
	if (m.is_dsn && m.nrcpts > 0) {
		/* the reader and list: the returned message's own link, else
		 * a VERP recipient */
		if (!(m.orig_list_unsub && herald_token_find(c->t,
		    m.orig_list_unsub, &tlist, &taddr)) &&
		    !(m.to && herald_token_find(c->t, m.to, &tlist, &taddr))) {
			tlist = NULL;
			taddr = NULL;
		}
		/* Without herald's own link the report proves nothing:
		 * anyone can mail the bounce address a report naming any
		 * subscriber as Final-Recipient.  With it, the token names the
		 * reader (herald sends one recipient per message). */
		if (tlist == NULL)
			tell(c, mail, HERALD_INBOX_UNPROVEN, NULL, NULL,
			    "a report without herald's link in the returned "
			    "headers (its Final-Recipient alone could be forged)",
			    0);
		for (size_t i = 0; tlist && rc == 0 && i < m.nrcpts; i++)
			rc = one_rcpt(c, mail, &m, &m.rcpts[i], tlist, taddr);
		acted = true;
	} else if (m.subject && strstr(m.subject, "nsubscribe") &&
	    herald_token_find(c->t, m.subject, &tlist, &taddr)) {
		if (strcmp(tlist, c->list) != 0)
			tell(c, mail, HERALD_INBOX_OTHER_LIST, taddr, "mail", "", 0);
		else {
			rc = herald_suppress_add(c->s, tlist, taddr, "mail",
			    m.message_id, "mailed request", 0, c->e);
			if (rc == 0 || rc == 1)
				tell(c, mail, rc == 0 ? HERALD_INBOX_SUPPRESSED :
				    HERALD_INBOX_WAS_SUPPRESSED, taddr, "mail",
				    "mailed request", 0);
			rc = rc == 1 ? 0 : rc;
		}
		acted = true;
	}
	if (!acted)
		tell(c, mail, HERALD_INBOX_IGNORED, NULL, NULL, m.is_dsn ?
		    "a report without recipients" : "", 0);
	free(tlist);
	free(taddr);
	herald_inmail_free(&m);
	if (rc == 0)
		rc = herald_suppress_mark_seen(c->s, c->list, key, c->e);
	return rc;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
read_maildir(struct ctx *c, const char *path)
{
	static const char *const subs[] = { "cur", "new" };
	int rc = 0;

	for (int k = 0; k < 2 && rc == 0; k++) {
		char *dpath = xasprintf("%s/%s", path, subs[k]);
		char **names = NULL;
		size_t n = 0;
		struct dirent *de;
		DIR *d = opendir(dpath);

		if (d == NULL) {
			free(dpath);
			continue;
		}
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			names = xrealloc(names, (n + 1) * sizeof(*names));
			names[n++] = xasprintf("%s/%s", dpath, de->d_name);
		}
		closedir(d);
		if (n > 1)
			qsort(names, n, sizeof(*names), cmp_str);
		for (size_t i = 0; i < n; i++) {
			struct hbuf b = HBUF_INIT;
			if (rc == 0 && read_file(names[i], &b, c->e) == 0)
				rc = one_mail(c, names[i], b.data ? b.data : "",
				    b.len);
			hbuf_free(&b);
			free(names[i]);
		}
		free(names);
		free(dpath);
	}
	return rc;
}

/* mbox: messages start at "From " lines; ">From " (mboxrd: any number of
 * '>') loses one '>'. */
static int
read_mbox(struct ctx *c, const char *path)
{
	struct hbuf f = HBUF_INIT, msg = HBUF_INIT;
	const char *p, *end;
	char name[600];
	int rc, nmsg = 0;
	bool in = false;

	if ((rc = read_file(path, &f, c->e)) != 0)
		return rc;
	p = f.data ? f.data : "";
	end = p + f.len;
	while (p < end && rc == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *next = nl ? nl + 1 : end;

		if ((size_t)(end - p) >= 5 && memcmp(p, "From ", 5) == 0) {
			if (in) {
				snprintf(name, sizeof(name), "%s:%d", path, nmsg);
				rc = one_mail(c, name, msg.data ? msg.data : "",
				    msg.len);
			}
			hbuf_reset(&msg);
			in = true;
			nmsg++;
		} else if (in) {
			const char *q = p;
			while (q < next && *q == '>')
				q++;
			if (q > p && (size_t)(next - q) >= 5 &&
			    memcmp(q, "From ", 5) == 0)
				p++;
			hbuf_put(&msg, p, (size_t)(next - p));
		}
		p = next;
	}
	if (rc == 0 && in) {
		snprintf(name, sizeof(name), "%s:%d", path, nmsg);
		rc = one_mail(c, name, msg.data ? msg.data : "", msg.len);
	}
	hbuf_free(&f);
	hbuf_free(&msg);
	return rc;
}

int
herald_inbox_read(const char *path, const char *list,
    struct herald_tokens *t, struct herald_suppress *s, herald_inbox_fn fn,
    void *arg, struct herald_err *e)
{
	struct ctx c = { list, t, s, fn, arg, e };
	struct stat st;
	int rc;

	if (stat(path, &st) != 0)
		return herald_errf(e, EX_NOINPUT, path, 0, "%s", strerror(errno));
	if ((rc = herald_suppress_begin(s, e)) != 0)
		return rc;
	rc = S_ISDIR(st.st_mode) ? read_maildir(&c, path) : read_mbox(&c, path);
	if (rc == 0)
		return herald_suppress_commit(s, e);
	herald_suppress_commit(s, NULL);
	return rc;
}
