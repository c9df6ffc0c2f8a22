/*
 * test_pipeline.c - the one path from a campaign to its backends
 * (pipeline.h): readers in list order, duplicates out, want() skipping and
 * stopping, each message built once and handed to every backend in turn,
 * a backend that takes the message's buffer leaving the next build whole.
 * The oracle is the list this test writes: which addresses, in which order.
 */
#include "harness.h"
#include "pipeline.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXPUT 16

struct rec {
	struct herald_backend b;
	bool take;                 /* take m->eml, as the SMTP backend does */
	size_t n;
	char *addr[MAXPUT];
	struct hbuf eml[MAXPUT];
};

static int
rec_put(struct herald_backend *b, const struct herald_recipient *r,
    struct herald_message *m, struct herald_err *e)
{
	struct rec *x = (struct rec *)b;

	(void)e;
	if (x->n == MAXPUT)
		return EX_SOFTWARE;
	x->addr[x->n] = xstrdup(r->email);
	if (x->take) {
		x->eml[x->n] = m->eml;
		memset(&m->eml, 0, sizeof(m->eml));
	} else {
		memset(&x->eml[x->n], 0, sizeof(x->eml[x->n]));
		hbuf_put(&x->eml[x->n], m->eml.data, m->eml.len);
	}
	x->n++;
	return 0;
}

static int rec_commit(struct herald_backend *b, struct herald_err *e)
{ (void)b; (void)e; return 0; }
static void rec_close(struct herald_backend *b) { (void)b; }

static const struct herald_backend_ops rec_ops = {
	.name = "rec", .put = rec_put, .commit = rec_commit, .close = rec_close,
};

struct filt {
	const char *skip, *stop;
	size_t asked, built;
	const char *last_built;
};

static int
want(void *arg, const struct herald_recipient *r)
{
	struct filt *f = arg;

	f->asked++;
	if (f->skip && strcmp(r->email, f->skip) == 0)
		return HERALD_PIPE_SKIP;
	if (f->stop && strcmp(r->email, f->stop) == 0)
		return 123;
	return 0;
}

static void
built(void *arg, const struct herald_recipient *r,
    const struct herald_message *m)
{
	struct filt *f = arg;

	f->built++;
	f->last_built = m->eml.len > 0 ? r->email : "(empty)";
}

/* The message for addr: its To: header names addr, and it has a body. */
static bool
addressed_to(const struct hbuf *eml, const char *addr)
{
	const char *s = eml->data, *end;
	char *to;
	bool ok;

	if (s == NULL || eml->len == 0)
		return false;
	end = strstr(s, "\r\n\r\n");
	to = strstr(s, "\r\nTo: ");
	if (end == NULL || to == NULL || to > end)
		return false;
	ok = strstr(to, addr) != NULL && strstr(to, addr) < strstr(to + 2,
	    "\r\n");
	return ok && eml->len > (size_t)(end - s) + 100;
}

int
main(void)
{
	static const char *want_addr[] = { "ana@example.org",
	    "bo@example.org", "dee@example.org" };
	char dir[] = "/tmp/herald-pipeline-XXXXXX";
	struct herald_campaign_opts co = {0};
	struct herald_campaign *c = NULL;
	struct herald_err e = {0};
	struct rec keep = { .b.ops = &rec_ops }, take = { .b.ops = &rec_ops,
	    .take = true };
	struct herald_backend *be[2] = { &keep.b, &take.b };
	struct filt f = { .skip = "cy@example.org", .stop = "eve@example.org" };
	struct herald_pipeline p = {0};
	char *list;
	FILE *fp;
	int rc;

	OK(mkdtemp(dir) != NULL, "mkdtemp");
	list = xasprintf("%s/readers.csv", dir);
	fp = fopen(list, "w");
	OK(fp != NULL, "open %s", list);
	fputs("email,name,timezone,locale,format\n"
	    "ana@example.org,Ana,Europe/Berlin,de-DE,html\n"
	    "bo@example.org,Bo,America/New_York,en-US,text\n"
	    "ANA@example.org,Ana again,Europe/Berlin,de-DE,html\n"
	    "cy@example.org,Cy,Asia/Tokyo,ja-JP,html\n"
	    "dee@example.org,Dee,Europe/London,en-GB,html\n"
	    "eve@example.org,Eve,Europe/Paris,fr-FR,html\n"
	    "fay@example.org,Fay,Europe/Paris,fr-FR,html\n", fp);
	fclose(fp);

	co.config_path = "herald.yml";
	co.post_path = "doc/examples/2027-11-22-async-office-hours.md";
	co.list_path = list;
	co.readonly = true;
	rc = herald_campaign_open(&co, &c, &e);
	if (rc != 0) {
		fprintf(stderr, "campaign: %s\n", e.msg);
		return 1;
	}
	keep.b.c = take.b.c = c;
	p.c = c;
	p.date = 1795000000;
	p.be = be;
	p.nbe = 2;
	p.want = want;
	p.built = built;
	p.arg = &f;

	/* stopped at eve by want(): 123 back, eve and fay never built */
	INT_EQ(herald_pipeline_run(&p, &e), 123, "the walk's stop value");
	INT_EQ((int)f.asked, 5, "asked ana bo cy dee eve (the duplicate "
	    "ANA never reaches want)");
	INT_EQ((int)f.built, 3, "built once each: ana bo dee");
	INT_EQ((int)keep.n, 3, "first backend's puts");
	INT_EQ((int)take.n, 3, "second backend's puts");
	INT_EQ((int)keep.b.count, 3, "count of the first");
	for (size_t i = 0; i < 3 && i < keep.n && i < take.n; i++) {
		STR_EQ(keep.addr[i], want_addr[i], "first backend, put %zu", i);
		STR_EQ(take.addr[i], want_addr[i], "second backend, put %zu", i);
		OK(addressed_to(&keep.eml[i], want_addr[i]),
		    "first backend's message %zu is %s's", i, want_addr[i]);
		/* the same bytes to both: one build per reader */
		OK(keep.eml[i].len == take.eml[i].len &&
		    memcmp(keep.eml[i].data, take.eml[i].data,
		    keep.eml[i].len) == 0, "both backends got one message %zu",
		    i);
	}
	/* the taker owns its buffers: each build after a take started a new
	 * one (no two puts share storage) */
	OK(take.eml[0].data != take.eml[1].data &&
	    take.eml[1].data != take.eml[2].data, "buffers taken, not shared");
	OK(p.msg.eml.data == NULL, "the pipeline's buffer is the taker's");

	/* no filter: every distinct reader, in file order */
	{
		struct rec all = { .b.ops = &rec_ops, .b.c = c, .take = true };
		struct herald_backend *one[1] = { &all.b };
		static const char *every[] = { "ana@example.org",
		    "bo@example.org", "cy@example.org", "dee@example.org",
		    "eve@example.org", "fay@example.org" };

		p.be = one;
		p.nbe = 1;
		p.want = NULL;
		INT_EQ(herald_pipeline_run(&p, &e), 0, "%s", e.msg);
		INT_EQ((int)all.n, 6, "every distinct reader");
		for (size_t i = 0; i < 6 && i < all.n; i++) {
			STR_EQ(all.addr[i], every[i], "put %zu", i);
			OK(addressed_to(&all.eml[i], every[i]),
			    "message %zu is %s's", i, every[i]);
			free(all.addr[i]);
			hbuf_free(&all.eml[i]);
		}
	}

	/* send --to: cy's row, readdressed and marked; put() still names cy */
	{
		struct rec one = { .b.ops = &rec_ops, .b.c = c, .take = true };
		struct herald_backend *be1[1] = { &one.b };
		struct filt g = { .stop = "dee@example.org" };
		const char *subj, *hdr_end;

		p.be = be1;
		p.nbe = 1;
		p.want = want;
		p.arg = &g;
		g.skip = NULL;
		p.to_addr = "tester@example.net";
		p.subject_prefix = "[TEST] ";
		INT_EQ(herald_pipeline_run(&p, &e), 123, "stopped at dee");
		INT_EQ((int)one.n, 3, "ana, bo and cy put");
		if (one.n == 3) {
			STR_EQ(one.addr[2], "cy@example.org", "put names the row");
			OK(addressed_to(&one.eml[2], "tester@example.net"),
			    "the copy is addressed to --to");
			OK(!addressed_to(&one.eml[2], "cy@example.org"),
			    "and not to the row");
			hdr_end = strstr(one.eml[2].data, "\r\n\r\n");
			subj = strstr(one.eml[2].data, "\r\nSubject: [TEST] ");
			OK(subj != NULL && subj < hdr_end, "Subject marked [TEST]");
		}
		for (size_t i = 0; i < one.n; i++) {
			free(one.addr[i]);
			hbuf_free(&one.eml[i]);
		}
		p.to_addr = NULL;
		p.subject_prefix = NULL;
	}

	for (size_t i = 0; i < keep.n; i++) {
		free(keep.addr[i]);
		hbuf_free(&keep.eml[i]);
	}
	for (size_t i = 0; i < take.n; i++) {
		free(take.addr[i]);
		hbuf_free(&take.eml[i]);
	}
	herald_pipeline_free(&p);
	herald_campaign_free(c);
	unlink(list);
	free(list);
	rmdir(dir);
	return harness_done();
}
