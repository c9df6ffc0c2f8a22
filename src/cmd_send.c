/*
 * cmd_send.c - `herald send` (deliver a campaign over SMTP, journaled,
 * resumable: the engine is deliver.c) and `herald status` (what the
 * journal says).
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
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "campaign.h"
#include "cmd.h"
#include "deliver.h"
#include "progress.h"

static const char send_usage[] =
"usage: herald send POST --list LIST [--to ADDRESS [--as ROW-ADDRESS]]\n"
"                   [--concurrency N] [--rate N/s] [--shard K/N]\n"
"                   [--allow-past] [--force] [--strict]\n"
"                   [--date YYYY-MM-DD] [--config FILE] [--verbose]\n"
"\n"
"Deliver the post to every subscriber of LIST over SMTP (smtp.url in\n"
"herald.yml).  Each recipient's state is journaled in .herald/; rerunning\n"
"the same command resumes: nobody who has a copy gets another.\n"
"\n"
"  -l, --list LIST        subscriber list: lists/LIST.csv or a CSV file\n"
"  -t, --to ADDRESS       send one test copy to ADDRESS (subject \"[TEST] \"),\n"
"                         personalised as the list's first subscriber\n"
"                         (or as the row --as ROW-ADDRESS); not journaled\n"
"  -n, --concurrency N    SMTP connections (default 4)\n"
"  -r, --rate N/s         at most N messages a second\n"
"  -s, --shard K/N        send only the K-th of N deterministic shares of\n"
"                         the list (K from 1); the campaign keeps one\n"
"                         journal whatever the shard\n"
"      --allow-past       send even if a session time has passed (times\n"
"                         before the post's date are history: never refused)\n"
"      --strict           refuse while a clock-like phrase is left as\n"
"                         written (see herald check)\n"
"      --force            resume although the post changed\n"
"      --max-tries N      transactions per recipient per run (default 3)\n"
"      --retry-base SEC   first back-off after a 4xx, and the unit of the\n"
"                         pause after a 421 (default 1)\n"
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
"usage: herald status POST --list LIST [--shard K/N] [--sent] [--all]\n"
"                     [--json] [--config FILE]\n"
"\n"
"Show what `herald send` has done for this post and list: how many\n"
"recipients are in each state, and the recipients that failed, are\n"
"deferred or unknown, grouped by the server's reply (each one with\n"
"--all).  Recipients no longer in the list are counted as removed.\n"
"\n"
"  -l, --list LIST     subscriber list: lists/LIST.csv or a CSV file\n"
"  -s, --shard K/N     count only that share of the list\n"
"      --sent          also list who got the post (address, time, reply)\n"
"      --all           one line per recipient, not one per reply\n"
"  -j, --json          machine-readable output (every recipient listed)\n"
"  -c, --config FILE   configuration (default: ./herald.yml)\n"
"  -h, --help          this text\n";

static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
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

/* --- what the engine reports --- */

struct ui {
	struct herald_progress prog;
	bool verbose;
};

static void
ui_result(void *arg, const char *addr, const char *word, const char *reply)
{
	struct ui *u = arg;

	if (!u->verbose)
		return;
	herald_progress_end(&u->prog);
	fprintf(stderr, "herald: %s %s (%s)\n", word, addr, reply);
}

static void
ui_progress(void *arg, size_t done, size_t deferred, size_t failed)
{
	struct ui *u = arg;

	herald_progress_update(&u->prog, done, deferred, failed);
}

static void
trace_smtp(void *arg, int slot, char dir, const char *line)
{
	struct ui *u = arg;

	herald_progress_end(&u->prog);
	fprintf(stderr, "smtp[%d] %c %s\n", slot, dir, line);
}

static int
send_test(struct herald_campaign *c, const struct herald_deliver_opts *o,
    const char *to)
{
	struct herald_smtp_result r;
	struct herald_err e = {0};
	char reply[1024];
	int rc;

	if ((rc = herald_deliver_test(c, o, to, &r, reply, sizeof(reply),
	    &e)) != 0)
		return herald_cmd_fail(&e);
	switch (r.status) {
	case HERALD_SMTP_SENT:
		printf("test copy sent to %s (%s)\n", to, r.reply);
		return 0;
	case HERALD_SMTP_FAILED:
		fprintf(stderr, "herald: test copy to %s failed: %s\n", to,
		    r.reply);
		return 1;
	case HERALD_SMTP_UNKNOWN:
		fprintf(stderr, "herald: test copy to %s: %s\n", to, r.reply);
		return EX_TEMPFAIL;
	default:
		fprintf(stderr, "herald: test copy to %s deferred: %s\n", to,
		    r.reply);
		return r.fatal ? EX_UNAVAILABLE : EX_TEMPFAIL;
	}
}

/* --- the command --- */

static int
refuse_past(struct herald_campaign *c, struct herald_err *e)
{
	int64_t now = (int64_t)time(NULL);

	for (size_t i = 0; i < herald_doc_ntimes(c->doc); i++) {
		const struct herald_session *t = herald_doc_time(c->doc, i);

		if (t->utc < now && !t->history && !t->recurring)
			return herald_errf(e, EX_DATAERR, c->post.path, t->line,
			    "session time \"%s\" is in the past (use "
			    "--allow-past to send anyway)", t->orig);
	}
	return 0;
}

static void
summary(struct ui *u, const struct herald_campaign *c,
    const struct herald_deliver_stats *st, double secs)
{
	const size_t *cnt = st->counts;

	herald_progress_end(&u->prog);
	printf("%s: %zu sent, %zu failed, %zu deferred, %zu unknown, "
	    "%zu pending", c->list_name, cnt[HERALD_J_SENT],
	    cnt[HERALD_J_FAILED], cnt[HERALD_J_DEFERRED],
	    cnt[HERALD_J_UNKNOWN], cnt[HERALD_J_PENDING] +
	    cnt[HERALD_J_INFLIGHT]);
	if (cnt[HERALD_J_SUPPRESSED])
		printf(", %zu suppressed", cnt[HERALD_J_SUPPRESSED]);
	if (cnt[HERALD_J_REMOVED])
		printf(", %zu removed from the list", cnt[HERALD_J_REMOVED]);
	printf(" (this run: %zu sent, %zu failed in %.1fs)\n", st->sent,
	    st->failed, secs);
	fflush(stdout);
}

int
herald_cmd_send(int argc, char **argv)
{
	enum { OPT_ALLOW_PAST = 256, OPT_FORCE, OPT_MAX_TRIES, OPT_RETRY_BASE,
	    OPT_STRICT, OPT_AS };
	static const struct option opts[] = {
		{ "list", required_argument, NULL, 'l' },
		{ "to", required_argument, NULL, 't' },
		{ "concurrency", required_argument, NULL, 'n' },
		{ "rate", required_argument, NULL, 'r' },
		{ "shard", required_argument, NULL, 's' },
		{ "allow-past", no_argument, NULL, OPT_ALLOW_PAST },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "as", required_argument, NULL, OPT_AS },
		{ "strict", no_argument, NULL, OPT_STRICT },
		{ "max-tries", required_argument, NULL, OPT_MAX_TRIES },
		{ "retry-base", required_argument, NULL, OPT_RETRY_BASE },
		{ "date", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct herald_campaign_opts o = { .warn = herald_cmd_warn,
	    .bad_row = herald_cmd_error };
	struct herald_campaign *c = NULL;
	struct ui u = {0};
	struct herald_deliver_opts d = { .shard_k = 1, .shard_n = 1,
	    .concurrency = 4, .max_tries = 3, .retry_base = 1.0,
	    .interrupted = &interrupted, .on_result = ui_result,
	    .on_progress = ui_progress, .arg = &u };
	struct herald_deliver *dl = NULL;
	struct herald_deliver_stats st = {0};
	struct herald_err e = {0};
	struct sigaction sa, old_int, old_term;
	const char *to = NULL;
	const size_t *cnt = st.counts;
	char *end;
	bool allow_past = false, strict = false;
	int ch, rc = 0;
	double t0;
	long l;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":l:t:n:r:s:d:c:vh", opts,
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
			d.concurrency = (int)l;
			break;
		case 'r':
			if (!parse_rate(optarg, &d.rate)) {
				fprintf(stderr, "herald: --rate: N or N/s "
				    "(messages a second), e.g. 10/s\n");
				return EX_USAGE;
			}
			break;
		case 's':
			if (!parse_shard(optarg, &d.shard_k, &d.shard_n)) {
				fprintf(stderr, "herald: --shard: K/N with "
				    "1 <= K <= N, e.g. 1/4\n");
				return EX_USAGE;
			}
			break;
		case OPT_ALLOW_PAST: allow_past = true; break;
		case OPT_STRICT: strict = true; break;
		case OPT_FORCE: d.force = true; break;
		case OPT_AS: d.test_as = optarg; break;
		case OPT_MAX_TRIES:
			l = strtol(optarg, &end, 10);
			if (end == optarg || *end || l < 1 || l > 100) {
				fprintf(stderr, "herald: --max-tries: 1 to 100\n");
				return EX_USAGE;
			}
			d.max_tries = (int)l;
			break;
		case OPT_RETRY_BASE:
			d.retry_base = strtod(optarg, &end);
			if (end == optarg || *end || !(d.retry_base >= 0) ||
			    d.retry_base > 3600) {
				fprintf(stderr, "herald: --retry-base: seconds\n");
				return EX_USAGE;
			}
			break;
		case 'd': o.date = optarg; break;
		case 'c': o.config_path = optarg; break;
		case 'v': u.verbose = true; break;
		case 'h': fputs(send_usage, stdout); return 0;
		default: return herald_cmd_badopt("send", opts, argv, ch);
		}
	}
	if (optind >= argc)
		return herald_cmd_missing("send", "the post (herald send POST "
		    "--list LIST)");
	if (optind != argc - 1) {
		fprintf(stderr, "herald: send: one post at a time, not \"%s\"\n",
		    argv[optind + 1]);
		return EX_USAGE;
	}
	if (o.list_path == NULL)
		return herald_cmd_missing("send", "--list LIST (who to send to)");
	if (d.test_as && !to) {
		fprintf(stderr, "herald: send: --as picks whose copy --to "
		    "ADDRESS gets; --to is missing\n");
		return EX_USAGE;
	}
	if (to && !herald_addr_valid(to)) {
		fprintf(stderr, "herald: --to: invalid address \"%s\"\n", to);
		return EX_USAGE;
	}
	o.post_path = argv[optind];
	if (u.verbose)
		d.trace = trace_smtp;
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	signal(SIGPIPE, SIG_IGN);

	/* 1. Everything is validated before anything is sent. */
	if ((rc = herald_campaign_open(&o, &c, &e)) != 0)
		return herald_cmd_fail(&e);
	d.date = time(NULL);
	if ((rc = herald_cmd_unconverted(c, strict)) != 0)
		goto out;
	if (to) {
		herald_progress_start(&u.prog, "send", 1, u.verbose);
		rc = send_test(c, &d, to);
		goto out;
	}
	if (!allow_past && (rc = refuse_past(c, &e)) != 0) {
		rc = herald_cmd_fail(&e);
		goto out;
	}

	/* 2. The SMTP settings, the journal, a row for every recipient. */
	herald_progress_start(&u.prog, "send", 0, u.verbose);
	if ((rc = herald_deliver_open(c, &d, &dl, &e)) != 0) {
		rc = herald_cmd_fail(&e);
		goto out;
	}
	if (herald_deliver_recovered(dl) > 0)
		fprintf(stderr, "herald: %zu recipient%s left in flight by an "
		    "interrupted run: marked unknown, resending with the same "
		    "Message-ID\n", herald_deliver_recovered(dl),
		    herald_deliver_recovered(dl) == 1 ? "" : "s");
	if (herald_deliver_todo(dl) == 0) {
		printf("nothing left to send: every recipient of this "
		    "campaign has been dealt with\n");
		fflush(stdout);
	}

	/* 3. Send.  Ctrl-C: start nothing new, finish what is in flight.
	 * SA_RESETHAND: a second Ctrl-C kills at once (the journal copes). */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	/* a resumed run counts the whole campaign, as the summary does */
	herald_progress_start(&u.prog, "send", herald_deliver_total(dl),
	    u.verbose);
	u.prog.base = herald_deliver_total(dl) - herald_deliver_todo(dl);
	t0 = mono();
	rc = herald_deliver_run(dl, &st, &e);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	summary(&u, c, &st, mono() - t0);

	if (rc != 0)
		rc = herald_cmd_fail(&e);
	else if (st.interrupted) {
		fprintf(stderr, "herald: interrupted; run the same command "
		    "again to resume\n");
		rc = 130;
	} else if (st.relay_busy) {
		fprintf(stderr, "herald: the relay answered 421 (service not "
		    "available) to 10 transactions in a row; stopped, run the "
		    "same command again later to resume\n");
		rc = EX_TEMPFAIL;
	} else if (cnt[HERALD_J_DEFERRED] + cnt[HERALD_J_UNKNOWN] +
	    cnt[HERALD_J_PENDING] + cnt[HERALD_J_INFLIGHT] > 0)
		rc = EX_TEMPFAIL;
	else if (cnt[HERALD_J_FAILED] > 0)
		rc = 1;
	else
		rc = 0;
out:
	herald_progress_end(&u.prog);
	herald_deliver_free(dl);
	herald_campaign_free(c);
	return rc;
}

/* --- status --- */

static void
iso_time(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

struct status_group {
	int state;
	char *reply;            /* the reply, the recipient's address as ADDR */
	size_t n;
	char *some[3];          /* the first addresses */
};

struct status_walk {
	bool json;
	size_t n;
	struct herald_journal *j;
	size_t *cnt;
	struct status_group *groups;   /* identical replies, for people */
	size_t ngroups, gcap;
};

/* A reply with the recipient's own address taken out, so replies that
 * differ only in it group together. */
static char *
reply_key(const char *reply, const char *addr)
{
	struct hbuf b = HBUF_INIT;
	size_t al = strlen(addr);
	const char *p = reply;

	while (*p) {
		if (al > 0 && strncasecmp(p, addr, al) == 0) {
			hbuf_puts(&b, "ADDR");
			p += al;
		} else
			hbuf_putc(&b, *p++);
	}
	return b.data ? hbuf_detach(&b) : xstrdup("");
}

static int
status_group(void *arg, const struct herald_jrow *row)
{
	struct status_walk *w = arg;
	char *key = reply_key(row->reply, row->addr);
	struct status_group *g = NULL;

	for (size_t i = 0; i < w->ngroups; i++)
		if (w->groups[i].state == (int)row->state &&
		    strcmp(w->groups[i].reply, key) == 0) {
			g = &w->groups[i];
			break;
		}
	if (g == NULL) {
		if (w->ngroups == w->gcap) {
			w->gcap = w->gcap ? 2 * w->gcap : 16;
			w->groups = xrealloc(w->groups, w->gcap *
			    sizeof(*w->groups));
		}
		g = &w->groups[w->ngroups++];
		memset(g, 0, sizeof(*g));
		g->state = (int)row->state;
		g->reply = key;
	} else
		free(key);
	if (g->n < 3)
		g->some[g->n] = xstrdup(row->addr);
	g->n++;
	return 0;
}

static void
status_groups_print(struct status_walk *w)
{
	for (size_t i = 0; i < w->ngroups; i++) {
		struct status_group *g = &w->groups[i];

		printf("  %-9s %zu recipient%s: %s\n",
		    herald_jstate_name(g->state), g->n, g->n == 1 ? "" : "s",
		    g->reply[0] ? g->reply : "-");
		printf("            %s%s%s%s%s%s\n", g->some[0],
		    g->some[1] ? ", " : "", g->some[1] ? g->some[1] : "",
		    g->some[2] ? ", " : "", g->some[2] ? g->some[2] : "",
		    g->n > 3 ? ", ..." : "");
		for (int k = 0; k < 3; k++)
			free(g->some[k]);
		free(g->reply);
	}
	free(w->groups);
	w->groups = NULL;
	w->ngroups = w->gcap = 0;
}

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
		herald_cmd_json_str(row->addr);
		printf(", \"state\": \"%s\", \"attempts\": %d, \"code\": %d, "
		    "\"reply\": ", herald_jstate_name(row->state),
		    row->attempts, row->code);
		herald_cmd_json_str(row->reply);
		printf(", \"message_id\": ");
		herald_cmd_json_str(row->message_id);
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
		{ "sent", no_argument, NULL, 'S' },
		{ "all", no_argument, NULL, 'A' },
		{ "date", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct herald_campaign_opts o = { .warn = NULL, .readonly = true };
	struct herald_campaign *c = NULL;
	struct herald_journal *j = NULL;
	struct herald_err e = {0};
	struct status_walk w = {0};
	size_t cnt[HERALD_J_NSTATES] = {0};
	unsigned k = 1, n = 1;
	bool started = true, sent = false, all = false;
	int ch, rc;
	unsigned mask = 1u << HERALD_J_FAILED | 1u << HERALD_J_UNKNOWN |
	    1u << HERALD_J_DEFERRED | 1u << HERALD_J_INFLIGHT;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":l:s:jd:c:hSA", opts, NULL)) != -1) {
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
		case 'S': sent = true; break;
		case 'A': all = true; break;
		case 'd': o.date = optarg; break;
		case 'c': o.config_path = optarg; break;
		case 'h': fputs(status_usage, stdout); return 0;
		default: return herald_cmd_badopt("status", opts, argv, ch);
		}
	}
	if (optind >= argc)
		return herald_cmd_missing("status", "the post (herald status "
		    "POST --list LIST)");
	if (optind != argc - 1) {
		fprintf(stderr, "herald: status: one post at a time, not "
		    "\"%s\"\n", argv[optind + 1]);
		return EX_USAGE;
	}
	if (o.list_path == NULL)
		return herald_cmd_missing("status", "--list LIST");
	o.post_path = argv[optind];
	if ((rc = herald_campaign_open(&o, &c, &e)) != 0)
		return herald_cmd_fail(&e);
	rc = herald_deliver_journal_open(c, k, n, true, false, &j, &e);
	if (rc == EX_NOINPUT) {
		started = false;
		rc = herald_deliver_share(c, k, n, &cnt[HERALD_J_PENDING], &e);
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
		herald_cmd_json_str(c->post.path);
		printf(",\n  \"list\": ");
		herald_cmd_json_str(c->list_name);
		printf(",\n  \"shard\": \"%u/%u\"", k, n);
		printf(",\n  \"started\": %s,\n  \"post_changed\": %s,\n"
		    "  \"counts\": {", started ? "true" : "false",
		    j && herald_journal_post_changed(j) ? "true" : "false");
		for (int i = 0; i < HERALD_J_NSTATES; i++)
			printf("%s\"%s\": %zu", i ? ", " : "",
			    herald_jstate_name(i), cnt[i]);
		printf("},\n  \"recipients\": [");
		if (j)
			rc = herald_journal_each(j, mask | (sent ? 1u <<
			    HERALD_J_SENT : 0), status_row, &w, &e);
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
			if (all)
				rc = herald_journal_each(j, mask, status_row,
				    &w, &e);
			else {
				rc = herald_journal_each(j, mask, status_group,
				    &w, &e);
				status_groups_print(&w);
			}
		}
		if (rc == 0 && j && sent && cnt[HERALD_J_SENT] > 0) {
			printf("sent to:\n");
			rc = herald_journal_each(j, 1u << HERALD_J_SENT,
			    status_row, &w, &e);
		}
	}
	if (rc != 0)
		rc = herald_cmd_fail(&e);
out:
	herald_journal_close(j);
	herald_campaign_free(c);
	return rc;
}
