/*
 * cmd_send.c - `herald send` (deliver a campaign over SMTP, journaled,
 * resumable) and `herald status` (what the journal says).
 *
 * send, in order:
 *   1. open the campaign: config, post, templates and every list row are
 *      validated before anything else happens; session times already past
 *      are refused unless --allow-past;
 *   2. open the journal (.herald/journal-ID.sqlite): rows a killed run
 *      left in flight become unknown; a changed post is refused without
 *      --force; every recipient of the list (of this shard) gets a row;
 *   3. pass 1 streams the list and sends to every row that is pending,
 *      deferred or unknown; later passes stream it again for the rows
 *      deferred in this run, once their back-off has passed (up to
 *      --max-tries transactions per run).  Streaming keeps memory flat: at
 *      most --concurrency messages built ahead plus those in flight.
 *
 * A row is committed "inflight" before its transaction starts and its
 * result after the reply, so a kill at any moment leaves the journal able
 * to tell who may have a copy (see journal.c).
 *
 * Exit: 0 all sent; 1 some failed (5xx); 75 some deferred, unknown or
 * pending remain (rerun to resume); 69 the relay cannot be used (TLS,
 * login); 130 interrupted (SIGINT/SIGTERM: in-flight messages are finished
 * and recorded first).
 */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "campaign.h"
#include "cmd.h"
#include "journal.h"
#include "progress.h"
#include "smtp.h"

#define STOP_WALK 200     /* returned by a walk callback to stop the walk */

static const char send_usage[] =
"usage: herald send POST --list LIST [--to ADDRESS] [--concurrency N]\n"
"                   [--rate N/s] [--shard K/N] [--allow-past] [--force]\n"
"                   [--date YYYY-MM-DD] [--config FILE] [--verbose]\n"
"\n"
"Deliver the post to every subscriber of LIST over SMTP (smtp.url in\n"
"herald.yml).  Each recipient's state is journaled in .herald/; rerunning\n"
"the same command resumes: nobody who has a copy gets another.\n"
"\n"
"  -l, --list LIST        subscriber list (CSV)\n"
"  -t, --to ADDRESS       send one test copy to ADDRESS (subject \"[TEST] \"),\n"
"                         personalised as the list's first subscriber;\n"
"                         not journaled\n"
"  -n, --concurrency N    SMTP connections (default 4)\n"
"  -r, --rate N/s         at most N messages a second\n"
"  -s, --shard K/N        send only the K-th of N deterministic shares of\n"
"                         the list (K from 1), with its own journal\n"
"      --allow-past       send even if a session time has passed\n"
"      --force            resume although the post changed\n"
"      --max-tries N      transactions per recipient per run (default 3)\n"
"      --retry-base SEC   first back-off after a 4xx (default 1)\n"
"  -d, --date DATE        post date when neither date: nor the file name\n"
"                         has one\n"
"  -c, --config FILE      configuration (default: ./herald.yml)\n"
"  -v, --verbose          progress and per-recipient results even on a\n"
"                         pipe, and the SMTP dialogue (credentials\n"
"                         redacted)\n"
"  -h, --help             this text\n"
"\n"
"Exit status: 0 all sent, 1 some failed permanently, 75 some deferred or\n"
"unknown (run again), 69 relay unusable, 130 interrupted.\n";

static const char status_usage[] =
"usage: herald status POST --list LIST [--shard K/N] [--json]\n"
"                     [--config FILE]\n"
"\n"
"Show what `herald send` has done for this post and list: how many\n"
"recipients are in each state, and every recipient that failed, is\n"
"deferred or unknown, with the server's reply.\n"
"\n"
"  -l, --list LIST     subscriber list (CSV)\n"
"  -s, --shard K/N     the journal of that shard\n"
"  -j, --json          machine-readable output\n"
"  -c, --config FILE   configuration (default: ./herald.yml)\n"
"  -h, --help          this text\n";

static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static double
wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "K/N" with 1 <= K <= N. */
static bool
parse_shard(const char *s, unsigned *k, unsigned *n)
{
	char *end;
	unsigned long a, b;

	a = strtoul(s, &end, 10);
	if (end == s || *end != '/')
		return false;
	s = end + 1;
	b = strtoul(s, &end, 10);
	if (end == s || *end != '\0' || b < 1 || b > 100000 || a < 1 || a > b)
		return false;
	*k = (unsigned)a;
	*n = (unsigned)b;
	return true;
}

/* "N", "N/s" or "N/m" messages per second. */
static bool
parse_rate(const char *s, double *rate)
{
	char *end;
	double r = strtod(s, &end);

	if (end == s || !(r > 0) || r > 1e6)
		return false;
	if (strcmp(end, "/m") == 0 || strcmp(end, "/min") == 0)
		r /= 60;
	else if (*end != '\0' && strcmp(end, "/s") != 0)
		return false;
	*rate = r;
	return true;
}

static bool
in_shard(const char *addr, unsigned k, unsigned n)
{
	char lower[512];

	if (n <= 1)
		return true;
	snprintf(lower, sizeof(lower), "%s", addr);
	ascii_lower(lower);
	return hash64(lower, strlen(lower)) % n == k - 1;
}

static char *
journal_path(const struct herald_campaign *c, unsigned k, unsigned n)
{
	if (n > 1)
		return xasprintf("%s/journal-%s-shard%uof%u.sqlite",
		    c->cfg.state_dir, c->id, k, n);
	return xasprintf("%s/journal-%s.sqlite", c->cfg.state_dir, c->id);
}

static char *
suppress_path(const struct herald_campaign *c)
{
	return xasprintf("%s/suppressions.sqlite", c->cfg.state_dir);
}

/* --- the sender --- */

struct job {
	char *addr;
	char *mid;
	struct hbuf eml;
	int tries;                 /* this run, including this one */
};

struct sender {
	struct herald_campaign *c;
	struct herald_journal *j;
	struct herald_smtp *smtp;
	struct herald_message msg;
	time_t date;

	unsigned shard_k, shard_n;
	int max_tries;
	double retry_base;
	double interval;           /* 1 / --rate, 0 unlimited */
	double pace;               /* extra spacing after 421s */
	double next_start;         /* monotonic: not before */
	bool verbose;

	int pass;
	struct job **queue;        /* built, not yet started */
	size_t nq, qcap;

	size_t sent, deferred, failed, unknown;   /* results this run */
	size_t retry_pending;      /* deferred rows due another try */
	size_t todo;
	bool fatal;                /* the relay is unusable */
	bool stop;                 /* error or fatal: start nothing more */
	int err_rc;
	struct herald_err err;
	struct herald_err fatal_err;
	struct herald_progress prog;
};

static void
job_free(struct job *jb)
{
	if (jb == NULL)
		return;
	free(jb->addr);
	free(jb->mid);
	hbuf_free(&jb->eml);
	free(jb);
}

static void
set_error(struct sender *s, int rc)
{
	if (s->err_rc == 0)
		s->err_rc = rc;
	s->stop = true;
}

static void
show_progress(struct sender *s)
{
	/* done counts every recipient dealt with in this run; deferred and
	 * failed are shown beside it. */
	herald_progress_update(&s->prog, s->sent + s->failed + s->unknown +
	    s->deferred, s->deferred, s->failed);
}

static double
backoff(const struct sender *s, int tries)
{
	/* base * 2^(tries-1), with full jitter in [0.5, 1.5). */
	double d = s->retry_base * pow(2, tries - 1);

	return d * (0.5 + (double)rand() / ((double)RAND_MAX + 1));
}

static void
on_done(void *arg, const struct herald_smtp_result *r)
{
	struct sender *s = arg;
	struct job *jb = r->cookie;
	enum herald_jstate st;
	double next = 0;
	const char *word;
	int rc;

	if (herald_journal_begin(s->j, &s->err) != 0)
		set_error(s, EX_IOERR);
	switch (r->status) {
	case HERALD_SMTP_SENT:
		st = HERALD_J_SENT;
		s->sent++;
		word = "sent";
		/* The server is keeping up again: ease the 421 pacing. */
		s->pace = s->pace < 0.01 ? 0 : s->pace * 0.9;
		break;
	case HERALD_SMTP_FAILED:
		st = HERALD_J_FAILED;
		s->failed++;
		word = "failed";
		/* RFC 3463 5.1.1: bad destination mailbox address. */
		if (strstr(r->reply, "5.1.1") != NULL &&
		    herald_journal_suppress(s->j, jb->addr, r->reply,
		    &s->err) != 0)
			set_error(s, EX_IOERR);
		break;
	case HERALD_SMTP_UNKNOWN:
		st = HERALD_J_UNKNOWN;
		s->unknown++;
		word = "unknown";
		break;
	default:
		st = HERALD_J_DEFERRED;
		word = "deferred";
		if (r->fatal || (r->unreachable && s->sent == 0)) {
			/* TLS or login failed, or the relay cannot be reached
			 * at all: every other recipient would fare the same. */
			if (!s->fatal)
				herald_errf(&s->fatal_err, EX_UNAVAILABLE, NULL, 0,
				    "SMTP relay unusable: %s", r->reply);
			s->fatal = s->stop = true;
		} else if (jb->tries < s->max_tries) {
			next = wall() + backoff(s, jb->tries);
			s->retry_pending++;
		} else {
			s->deferred++;
		}
		if (r->slow_down)
			s->pace = s->pace == 0 ? 0.25 :
			    (s->pace * 2 > 10 ? 10 : s->pace * 2);
		break;
	}
	rc = herald_journal_mark(s->j, jb->addr, st, r->code, r->reply, next,
	    &s->err);
	if (rc != 0)
		set_error(s, rc);
	if (s->verbose) {
		herald_progress_end(&s->prog);
		fprintf(stderr, "herald: %s %s (%s)\n", word, jb->addr, r->reply);
	}
	job_free(jb);
	show_progress(s);
}

/*
 * Start what the slots and the pace allow (marking them inflight in one
 * transaction first), then drive the transfers for up to wait_ms.
 */
static void
step(struct sender *s, int wait_ms)
{
	size_t k = 0, n;
	double now = mono();

	n = s->stop || interrupted ? 0 : s->nq;
	if (n > herald_smtp_idle(s->smtp))
		n = herald_smtp_idle(s->smtp);
	if (s->interval > 0 || s->pace > 0) {
		double gap = s->interval > s->pace ? s->interval : s->pace;

		/* Paced: one at a time, each at its slot in the schedule. */
		if (n > 1)
			n = 1;
		if (n && now < s->next_start) {
			int ms = (int)((s->next_start - now) * 1000) + 1;
			if (ms < wait_ms)
				wait_ms = ms;
			n = 0;
		}
		if (n)
			s->next_start = (now > s->next_start + gap ? now :
			    s->next_start) + gap;
	}
	if (n > 0) {
		int rc = herald_journal_begin(s->j, &s->err);
		for (k = 0; rc == 0 && k < n; k++)
			rc = herald_journal_mark_inflight(s->j,
			    s->queue[k]->addr, s->queue[k]->mid, &s->err);
		/* Durable before any byte of these transactions is sent. */
		if (rc == 0)
			rc = herald_journal_commit(s->j, &s->err);
		if (rc != 0) {
			set_error(s, rc);
			return;
		}
		for (k = 0; k < n; k++) {
			struct job *jb = s->queue[k];
			rc = herald_smtp_submit(s->smtp, jb->addr, jb->eml.data,
			    jb->eml.len, jb, &s->err);
			if (rc != 0) {
				/* Refused before anything was sent. */
				herald_journal_mark(s->j, jb->addr,
				    HERALD_J_FAILED, 0, s->err.msg, 0, NULL);
				s->failed++;
				job_free(jb);
				continue;
			}
			/* The slot has its own copy now. */
			hbuf_free(&jb->eml);
		}
		memmove(s->queue, s->queue + n, (s->nq - n) * sizeof(*s->queue));
		s->nq -= n;
		wait_ms = 0;
	}
	herald_smtp_run(s->smtp, wait_ms, on_done, s);
	/* The results of this round, in one transaction. */
	if (herald_journal_commit(s->j, &s->err) != 0)
		set_error(s, EX_IOERR);
}

/* Wait until the queue has room (or everything is done when all). */
static void
drain(struct sender *s, bool all)
{
	for (;;) {
		bool starting = !s->stop && !interrupted && s->nq > 0;

		if (all ? (!starting && herald_smtp_active(s->smtp) == 0) :
		    s->nq < s->qcap)
			break;
		if (!starting && herald_smtp_active(s->smtp) == 0)
			break;
		step(s, 100);
	}
}

static int
send_one(void *arg, const struct herald_recipient *r)
{
	struct sender *s = arg;
	struct herald_jrow row;
	struct job *jb;
	int rc, tries;

	if (interrupted || s->stop)
		return STOP_WALK;
	if (!in_shard(r->email, s->shard_k, s->shard_n))
		return 0;
	rc = herald_journal_get(s->j, r->email, &row, &s->err);
	if (rc > 0) {
		set_error(s, rc);
		return STOP_WALK;
	}
	if (rc < 0)
		return 0;   /* not journaled: cannot happen after the sync */
	if (s->pass == 1) {
		if (row.state != HERALD_J_PENDING &&
		    row.state != HERALD_J_DEFERRED &&
		    row.state != HERALD_J_UNKNOWN)
			return 0;
	} else {
		double wait;

		if (row.state != HERALD_J_DEFERRED || row.tries == 0 ||
		    row.tries >= s->max_tries)
			return 0;
		/* Back off: keep the transfers going meanwhile. */
		while ((wait = row.next_try - wall()) > 0 && !interrupted &&
		    !s->stop) {
			int ms = wait > 0.1 ? 100 : (int)(wait * 1000) + 1;
			step(s, ms);
		}
		if (interrupted || s->stop)
			return STOP_WALK;
	}
	tries = row.tries + 1;
	rc = herald_campaign_message(s->c, r, s->date, NULL, &s->msg, &s->err);
	if (rc != 0) {
		set_error(s, rc);
		return STOP_WALK;
	}
	jb = xcalloc(1, sizeof(*jb));
	jb->addr = xstrdup(r->email);
	jb->mid = xstrdup(s->msg.message_id);
	jb->tries = tries;
	hbuf_put(&jb->eml, s->msg.eml.data, s->msg.eml.len);
	s->queue[s->nq++] = jb;
	step(s, 0);
	drain(s, false);
	return interrupted || s->stop ? STOP_WALK : 0;
}

struct sync {
	struct sender *s;
	size_t n;
};

/* Give every recipient of this shard a journal row (pending unless it has
 * one), committing every few thousand rows. */
static int
sync_one(void *arg, const struct herald_recipient *r)
{
	struct sync *y = arg;
	int rc;

	if (!in_shard(r->email, y->s->shard_k, y->s->shard_n))
		return 0;
	if (y->n % 5000 == 0 &&
	    ((rc = herald_journal_commit(y->s->j, &y->s->err)) != 0 ||
	    (rc = herald_journal_begin(y->s->j, &y->s->err)) != 0))
		return rc;
	y->n++;
	return herald_journal_add(y->s->j, r->email, &y->s->err);
}

/* A suppressed reader: its row (if it is still to be sent) says so, so the
 * run does not end with it pending. */
static int
sync_suppressed(void *arg, const struct herald_recipient *r)
{
	struct sync *y = arg;
	struct herald_jrow row;
	int rc;

	if (!in_shard(r->email, y->s->shard_k, y->s->shard_n))
		return 0;
	if ((rc = herald_journal_add(y->s->j, r->email, &y->s->err)) != 0)
		return rc;
	rc = herald_journal_get(y->s->j, r->email, &row, &y->s->err);
	if (rc > 0)
		return rc;
	if (rc == 0 && (row.state == HERALD_J_PENDING ||
	    row.state == HERALD_J_DEFERRED || row.state == HERALD_J_UNKNOWN))
		return herald_journal_mark(y->s->j, r->email,
		    HERALD_J_SUPPRESSED, 0, "suppressed", 0, &y->s->err);
	return 0;
}

static void
trace_smtp(void *arg, int slot, char dir, const char *line)
{
	struct sender *s = arg;

	herald_progress_end(&s->prog);
	fprintf(stderr, "smtp[%d] %c %s\n", slot, dir, line);
}

static int
smtp_open(struct herald_campaign *c, int concurrency, bool verbose,
    void *trace_arg, struct herald_smtp **out, struct herald_err *e)
{
	struct herald_smtp_opts so = {
		.url = c->cfg.smtp.url,
		.user = c->cfg.smtp.user,
		.password = c->cfg.smtp.password,
		.ca_file = c->cfg.smtp.ca_file,
		.tls_required = c->cfg.smtp.tls_required,
		.from = c->cfg.from_addr,
		.timeout = c->cfg.smtp.timeout,
		.concurrency = concurrency,
		.trace = verbose ? trace_smtp : NULL,
		.trace_arg = trace_arg,
	};
	int rc = herald_smtp_new(&so, out, e);

	if (rc != 0 && e->file[0] == '\0')
		snprintf(e->file, sizeof(e->file), "%s", c->cfg.path);
	return rc;
}

/* --- send --to: one test copy, not journaled --- */

struct testcopy {
	struct sender *s;
	const char *to;
	int rc;
	bool built;
};

static void
test_done(void *arg, const struct herald_smtp_result *r)
{
	struct testcopy *t = arg;

	switch (r->status) {
	case HERALD_SMTP_SENT:
		printf("test copy sent to %s (%s)\n", t->to, r->reply);
		t->rc = 0;
		return;
	case HERALD_SMTP_FAILED:
		fprintf(stderr, "herald: test copy to %s failed: %s\n", t->to,
		    r->reply);
		t->rc = 1;
		return;
	case HERALD_SMTP_UNKNOWN:
		fprintf(stderr, "herald: test copy to %s: %s\n", t->to, r->reply);
		t->rc = EX_TEMPFAIL;
		return;
	default:
		fprintf(stderr, "herald: test copy to %s deferred: %s\n", t->to,
		    r->reply);
		t->rc = r->fatal ? EX_UNAVAILABLE : EX_TEMPFAIL;
	}
}

static int
test_build(void *arg, const struct herald_recipient *r)
{
	struct testcopy *t = arg;
	struct herald_recipient copy = *r;
	const char **vals = xcalloc(r->ncols ? r->ncols : 1, sizeof(*vals));
	int rc;

	/* The first subscriber's personalisation, addressed to --to. */
	for (size_t i = 0; i < r->ncols; i++)
		vals[i] = strcmp(r->cols[i], "email") == 0 ? t->to :
		    r->values[i];
	copy.email = t->to;
	copy.values = vals;
	rc = herald_campaign_message(t->s->c, &copy, t->s->date, "[TEST] ",
	    &t->s->msg, &t->s->err);
	free(vals);
	t->built = rc == 0;
	return rc ? rc : STOP_WALK;
}

static int
send_test(struct sender *s, const char *to)
{
	struct testcopy t = { .s = s, .to = to, .rc = EX_TEMPFAIL };
	int rc;
	double deadline;

	rc = herald_campaign_each(s->c, test_build, &t, &s->err);
	if (rc != 0 && rc != STOP_WALK)
		return herald_cmd_fail(&s->err);
	if (!t.built)
		return herald_cmd_fail(&s->err);
	if ((rc = smtp_open(s->c, 1, s->verbose, s, &s->smtp, &s->err)) != 0)
		return herald_cmd_fail(&s->err);
	if ((rc = herald_smtp_submit(s->smtp, to, s->msg.eml.data,
	    s->msg.eml.len, NULL, &s->err)) != 0)
		return herald_cmd_fail(&s->err);
	/* Bounded: every reply has its own timeout; this is a backstop. */
	deadline = mono() + 3600;
	while (herald_smtp_active(s->smtp) > 0 && mono() < deadline)
		herald_smtp_run(s->smtp, 100, test_done, &t);
	return t.rc;
}

/* --- the command --- */

static int
refuse_past(struct herald_campaign *c, struct herald_err *e)
{
	int64_t now = (int64_t)time(NULL);

	for (size_t i = 0; i < herald_doc_ntimes(c->doc); i++) {
		const struct herald_session *t = herald_doc_time(c->doc, i);

		if (t->utc < now)
			return herald_errf(e, EX_DATAERR, c->post.path, t->line,
			    "session time \"%s\" is in the past (use "
			    "--allow-past to send anyway)", t->orig);
	}
	return 0;
}

static void
summary(struct sender *s, const size_t *cnt, double secs)
{
	herald_progress_end(&s->prog);
	printf("%s: %zu sent, %zu failed, %zu deferred, %zu unknown, "
	    "%zu pending", s->c->list_name, cnt[HERALD_J_SENT],
	    cnt[HERALD_J_FAILED], cnt[HERALD_J_DEFERRED],
	    cnt[HERALD_J_UNKNOWN], cnt[HERALD_J_PENDING] +
	    cnt[HERALD_J_INFLIGHT]);
	if (cnt[HERALD_J_SUPPRESSED])
		printf(", %zu suppressed", cnt[HERALD_J_SUPPRESSED]);
	printf(" (this run: %zu sent, %zu failed in %.1fs)\n", s->sent,
	    s->failed, secs);
	fflush(stdout);
}

int
herald_cmd_send(int argc, char **argv)
{
	enum { OPT_ALLOW_PAST = 256, OPT_FORCE, OPT_MAX_TRIES, OPT_RETRY_BASE };
	static const struct option opts[] = {
		{ "list", required_argument, NULL, 'l' },
		{ "to", required_argument, NULL, 't' },
		{ "concurrency", required_argument, NULL, 'n' },
		{ "rate", required_argument, NULL, 'r' },
		{ "shard", required_argument, NULL, 's' },
		{ "allow-past", no_argument, NULL, OPT_ALLOW_PAST },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "max-tries", required_argument, NULL, OPT_MAX_TRIES },
		{ "retry-base", required_argument, NULL, OPT_RETRY_BASE },
		{ "date", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct herald_campaign_opts o = { .warn = herald_cmd_warn };
	struct sender s = { .shard_k = 1, .shard_n = 1, .max_tries = 3,
	    .retry_base = 1.0 };
	struct herald_journal_opts jo = {0};
	struct sigaction sa, old_int, old_term;
	const char *to = NULL;
	size_t cnt[HERALD_J_NSTATES];
	char *jpath = NULL, *spath = NULL, *end;
	bool allow_past = false, force = false;
	int ch, rc = 0, concurrency = 4;
	double rate = 0, t0;
	long l;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "l:t:n:r:s:d:c:vh", opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'l': o.list_path = optarg; break;
		case 't': to = optarg; break;
		case 'n':
			l = strtol(optarg, &end, 10);
			if (end == optarg || *end || l < 1 || l > 64) {
				fprintf(stderr, "herald: --concurrency: a number "
				    "from 1 to 64\n");
				return EX_USAGE;
			}
			concurrency = (int)l;
			break;
		case 'r':
			if (!parse_rate(optarg, &rate)) {
				fprintf(stderr, "herald: --rate: N or N/s "
				    "(messages a second), e.g. 10/s\n");
				return EX_USAGE;
			}
			break;
		case 's':
			if (!parse_shard(optarg, &s.shard_k, &s.shard_n)) {
				fprintf(stderr, "herald: --shard: K/N with "
				    "1 <= K <= N, e.g. 1/4\n");
				return EX_USAGE;
			}
			break;
		case OPT_ALLOW_PAST: allow_past = true; break;
		case OPT_FORCE: force = true; break;
		case OPT_MAX_TRIES:
			l = strtol(optarg, &end, 10);
			if (end == optarg || *end || l < 1 || l > 100) {
				fprintf(stderr, "herald: --max-tries: 1 to 100\n");
				return EX_USAGE;
			}
			s.max_tries = (int)l;
			break;
		case OPT_RETRY_BASE:
			s.retry_base = strtod(optarg, &end);
			if (end == optarg || *end || !(s.retry_base >= 0) ||
			    s.retry_base > 3600) {
				fprintf(stderr, "herald: --retry-base: seconds\n");
				return EX_USAGE;
			}
			break;
		case 'd': o.date = optarg; break;
		case 'c': o.config_path = optarg; break;
		case 'v': s.verbose = true; break;
		case 'h': fputs(send_usage, stdout); return 0;
		default: fputs(send_usage, stderr); return EX_USAGE;
		}
	}
	if (optind != argc - 1 || o.list_path == NULL) {
		fputs(send_usage, stderr);
		return EX_USAGE;
	}
	if (to && !(herald_addr_valid(to) && herald_smtp_addr_ok(to))) {
		fprintf(stderr, "herald: --to: invalid address \"%s\"\n", to);
		return EX_USAGE;
	}
	o.post_path = argv[optind];
	s.interval = rate > 0 ? 1 / rate : 0;
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	signal(SIGPIPE, SIG_IGN);

	/* 1. Everything is validated before anything is sent. */
	if ((rc = herald_campaign_open(&o, &s.c, &s.err)) != 0)
		return herald_cmd_fail(&s.err);
	s.date = time(NULL);
	if (to) {
		herald_progress_start(&s.prog, "send", 1, s.verbose);
		rc = send_test(&s, to);
		goto out;
	}
	if (!allow_past && (rc = refuse_past(s.c, &s.err)) != 0) {
		rc = herald_cmd_fail(&s.err);
		goto out;
	}
	/* Check the SMTP settings before touching the journal. */
	herald_progress_start(&s.prog, "send", 0, s.verbose);
	if ((rc = smtp_open(s.c, concurrency, s.verbose, &s, &s.smtp,
	    &s.err)) != 0) {
		rc = herald_cmd_fail(&s.err);
		goto out;
	}

	/* 2. The journal. */
	if ((rc = mkdir_p(s.c->cfg.state_dir, &s.err)) != 0) {
		rc = herald_cmd_fail(&s.err);
		goto out;
	}
	jpath = journal_path(s.c, s.shard_k, s.shard_n);
	spath = suppress_path(s.c);
	jo.path = jpath;
	jo.suppress_path = spath;
	jo.campaign_id = s.c->id;
	jo.list_name = s.c->list_name;
	jo.post_path = s.c->post.path;
	jo.post_hash = s.c->post.hash;
	jo.force = force;
	if ((rc = herald_journal_open(&jo, &s.j, &s.err)) != 0) {
		rc = herald_cmd_fail(&s.err);
		goto out;
	}
	if (herald_journal_recovered(s.j) > 0)
		fprintf(stderr, "herald: %zu recipient%s left in flight by an "
		    "interrupted run: marked unknown, resending with the same "
		    "Message-ID\n", herald_journal_recovered(s.j),
		    herald_journal_recovered(s.j) == 1 ? "" : "s");
	{
		struct sync y = { .s = &s };

		if ((rc = herald_journal_begin(s.j, &s.err)) == 0)
			rc = herald_campaign_each_sup(s.c, sync_one,
			    sync_suppressed, &y, &s.err);
		if (rc == 0)
			rc = herald_journal_commit(s.j, &s.err);
		if (rc == 0)
			rc = herald_journal_counts(s.j, cnt, &s.err);
		if (rc != 0) {
			rc = herald_cmd_fail(&s.err);
			goto out;
		}
	}
	s.todo = cnt[HERALD_J_PENDING] + cnt[HERALD_J_DEFERRED] +
	    cnt[HERALD_J_UNKNOWN];

	/* 3. Send.  Ctrl-C: start nothing new, finish what is in flight.
	 * SA_RESETHAND: a second Ctrl-C kills at once (the journal copes). */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	s.qcap = (size_t)concurrency;
	s.queue = xcalloc(s.qcap, sizeof(*s.queue));
	herald_progress_start(&s.prog, "send", s.todo, s.verbose);
	t0 = mono();
	for (s.pass = 1; s.todo > 0 && s.pass <= s.max_tries; s.pass++) {
		if (s.pass > 1 && s.retry_pending == 0)
			break;
		s.retry_pending = 0;
		rc = herald_campaign_each(s.c, send_one, &s, &s.err);
		if (rc != 0 && rc != STOP_WALK)
			set_error(&s, rc);
		drain(&s, true);
		if (s.stop || interrupted)
			break;
	}
	/* Anything still queued was never started or marked. */
	while (s.nq > 0)
		job_free(s.queue[--s.nq]);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (herald_journal_commit(s.j, &s.err) != 0)
		set_error(&s, EX_IOERR);
	if (herald_journal_counts(s.j, cnt, &s.err) != 0)
		set_error(&s, EX_IOERR);
	summary(&s, cnt, mono() - t0);

	if (s.err_rc)
		rc = herald_cmd_fail(&s.err);
	else if (s.fatal)
		rc = herald_cmd_fail(&s.fatal_err);
	else if (interrupted) {
		fprintf(stderr, "herald: interrupted; run the same command "
		    "again to resume\n");
		rc = 130;
	} else if (cnt[HERALD_J_DEFERRED] + cnt[HERALD_J_UNKNOWN] +
	    cnt[HERALD_J_PENDING] + cnt[HERALD_J_INFLIGHT] > 0)
		rc = EX_TEMPFAIL;
	else if (cnt[HERALD_J_FAILED] > 0)
		rc = 1;
	else
		rc = 0;
out:
	herald_progress_end(&s.prog);
	free(s.queue);
	herald_smtp_free(s.smtp);
	herald_journal_close(s.j);
	herald_message_free(&s.msg);
	herald_campaign_free(s.c);
	free(jpath);
	free(spath);
	return rc;
}

/* --- status --- */

static void
json_str(const char *p)
{
	putchar('"');
	for (; *p; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void
iso_time(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

struct status_walk {
	bool json;
	size_t n;
	struct herald_journal *j;
	size_t *cnt;
};

/* A suppressed reader the journal still has as to-be-sent: count it as
 * suppressed, as the next send will. */
static int
status_suppressed(void *arg, const struct herald_recipient *r)
{
	struct status_walk *w = arg;
	struct herald_jrow row;
	struct herald_err e = {0};

	if (w->j == NULL || herald_journal_get(w->j, r->email, &row, &e) != 0)
		return 0;
	if (row.state == HERALD_J_PENDING || row.state == HERALD_J_DEFERRED ||
	    row.state == HERALD_J_UNKNOWN) {
		w->cnt[row.state]--;
		w->cnt[HERALD_J_SUPPRESSED]++;
	}
	return 0;
}

static int
status_noop(void *arg, const struct herald_recipient *r)
{
	(void)arg;
	(void)r;
	return 0;
}

static int
status_row(void *arg, const struct herald_jrow *row)
{
	struct status_walk *w = arg;
	char when[32];

	iso_time(row->updated, when, sizeof(when));
	if (w->json) {
		printf("%s\n    {\"address\": ", w->n ? "," : "");
		json_str(row->addr);
		printf(", \"state\": \"%s\", \"attempts\": %d, \"code\": %d, "
		    "\"reply\": ", herald_jstate_name(row->state),
		    row->attempts, row->code);
		json_str(row->reply);
		printf(", \"message_id\": ");
		json_str(row->message_id);
		printf(", \"possible_duplicates\": %d, \"updated\": \"%s\"}",
		    row->unknowns, when);
	} else {
		printf("  %-9s %s (%d attempt%s, %s): %s\n",
		    herald_jstate_name(row->state), row->addr, row->attempts,
		    row->attempts == 1 ? "" : "s", when,
		    row->reply[0] ? row->reply : "-");
	}
	w->n++;
	return 0;
}

int
herald_cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "list", required_argument, NULL, 'l' },
		{ "shard", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "date", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct herald_campaign_opts o = { .warn = NULL, .readonly = true };
	struct herald_campaign *c = NULL;
	struct herald_journal *j = NULL;
	struct herald_journal_opts jo = {0};
	struct herald_err e = {0};
	struct status_walk w = {0};
	size_t cnt[HERALD_J_NSTATES] = {0};
	unsigned k = 1, n = 1;
	char *jpath = NULL, *spath = NULL;
	bool started = true;
	int ch, rc;
	unsigned mask = 1u << HERALD_J_FAILED | 1u << HERALD_J_UNKNOWN |
	    1u << HERALD_J_DEFERRED | 1u << HERALD_J_INFLIGHT;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "l:s:jd:c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'l': o.list_path = optarg; break;
		case 's':
			if (!parse_shard(optarg, &k, &n)) {
				fprintf(stderr, "herald: --shard: K/N with "
				    "1 <= K <= N\n");
				return EX_USAGE;
			}
			break;
		case 'j': w.json = true; break;
		case 'd': o.date = optarg; break;
		case 'c': o.config_path = optarg; break;
		case 'h': fputs(status_usage, stdout); return 0;
		default: fputs(status_usage, stderr); return EX_USAGE;
		}
	}
	if (optind != argc - 1 || o.list_path == NULL) {
		fputs(status_usage, stderr);
		return EX_USAGE;
	}
	o.post_path = argv[optind];
	if ((rc = herald_campaign_open(&o, &c, &e)) != 0)
		return herald_cmd_fail(&e);
	jpath = journal_path(c, k, n);
	spath = suppress_path(c);
	jo.path = jpath;
	jo.suppress_path = spath;
	jo.campaign_id = c->id;
	jo.list_name = c->list_name;
	jo.post_path = c->post.path;
	jo.post_hash = c->post.hash;
	jo.readonly = true;
	rc = herald_journal_open(&jo, &j, &e);
	if (rc == EX_NOINPUT) {
		started = false;
		rc = herald_campaign_each(c, status_noop, NULL, &e);
		cnt[HERALD_J_PENDING] = c->stats.unique - c->nsuppressed;
		cnt[HERALD_J_SUPPRESSED] = c->nsuppressed;
	} else if (rc == 0) {
		rc = herald_journal_counts(j, cnt, &e);
		w.j = j;
		w.cnt = cnt;
		if (rc == 0)
			rc = herald_campaign_each_sup(c, status_noop,
			    status_suppressed, &w, &e);
	}
	if (rc != 0) {
		rc = herald_cmd_fail(&e);
		goto out;
	}
	if (w.json) {
		printf("{\n  \"campaign\": \"%s\",\n  \"post\": ", c->id);
		json_str(c->post.path);
		printf(",\n  \"list\": ");
		json_str(c->list_name);
		printf(",\n  \"started\": %s,\n  \"post_changed\": %s,\n"
		    "  \"counts\": {", started ? "true" : "false",
		    j && herald_journal_post_changed(j) ? "true" : "false");
		for (int i = 0; i < HERALD_J_NSTATES; i++)
			printf("%s\"%s\": %zu", i ? ", " : "",
			    herald_jstate_name(i), cnt[i]);
		printf("},\n  \"recipients\": [");
		if (j)
			rc = herald_journal_each(j, mask, status_row, &w, &e);
		printf("%s]\n}\n", w.n ? "\n  " : "");
	} else {
		printf("campaign %s: %s to list %s%s\n", c->id, c->post.path,
		    c->list_name, started ? "" : " (not started)");
		if (j && herald_journal_post_changed(j))
			printf("note: the post changed since this campaign "
			    "started\n");
		for (int i = 0; i < HERALD_J_NSTATES; i++)
			if (cnt[i] || i == HERALD_J_SENT ||
			    i == HERALD_J_PENDING)
				printf("  %-10s %zu\n", herald_jstate_name(i),
				    cnt[i]);
		if (j && cnt[HERALD_J_FAILED] + cnt[HERALD_J_UNKNOWN] +
		    cnt[HERALD_J_DEFERRED] + cnt[HERALD_J_INFLIGHT] > 0) {
			printf("recipients needing attention:\n");
			rc = herald_journal_each(j, mask, status_row, &w, &e);
		}
	}
	if (rc != 0)
		rc = herald_cmd_fail(&e);
out:
	herald_journal_close(j);
	herald_campaign_free(c);
	free(jpath);
	free(spath);
	return rc;
}
