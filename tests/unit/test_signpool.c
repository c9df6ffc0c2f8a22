/*
 * test_signpool.c - the DKIM signer pool (signpool.c) against two oracles:
 * every message the pool signs must be byte-identical to the same message
 * signed on one thread by herald_dkim_sign (RSA PKCS#1 v1.5 and Ed25519
 * are deterministic, t= is fixed), and libopendkim (the reference
 * implementation, DKIM_QUERY_FILE standing in for DNS) must pass both
 * signatures of every one.
 *
 * Cases: pools of 1 and of 4 threads; many jobs submitted from the main
 * thread then finished in a random (seeded) order; jobs finished last
 * submitted first on a pool of 1, so the main thread signs most of them
 * itself (they are still queued); free with jobs never finished (the
 * workers drain the queue before they stop); herald_signpool_threads.
 * Meant to be run under ThreadSanitizer too (see /work/notes/tsan.md).
 * Skipped (77) without openssl.
 */
#include "dkim.h"
#include "mime.h"
#include "signpool.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dkim_keys.h"

enum { NMSG = 96 };

static char tmpdir[] = "/tmp/herald-test-signpool.XXXXXX";
static char *keys;                    /* DKIM_QUERY_FILE records */
static struct herald_dkim *dk;
static struct hbuf unsigned_msg[NMSG]; /* as built */
static struct hbuf want[NMSG];         /* signed on this thread */

/* Signatures of msg that libopendkim passes. */
static int
verified(const struct hbuf *msg)
{
	return dkim_test_verified(keys, msg, NULL);
}

static void
setup(void)
{
	struct herald_err e = {0};
	int rc;

	dk = dkim_test_keys(tmpdir, "Pool Test <news@example.org>", &keys);
	if (herald_dkim_nkeys(dk) != 2) {
		fprintf(stderr, "FAIL: want two keys\n");
		exit(1);
	}
	/* a t= in the future fails verification: now, fixed for all */
	herald_dkim_fix_time(dk, time(NULL));

	/* NMSG different messages (sizes differ too), each signed here */
	for (int i = 0; i < NMSG; i++) {
		struct herald_mail m = {0};
		struct hbuf text = HBUF_INIT;
		char to[64], subj[64], mid[64];

		snprintf(to, sizeof(to), "reader%d@example.net", i);
		snprintf(subj, sizeof(subj), "Issue %d of the weekly", i);
		snprintf(mid, sizeof(mid), "m%d.pool@example.org", i);
		for (int k = 0; k <= i % 7; k++)
			hbuf_printf(&text, "Line %d of message %d.  \r\n\r\n",
			    k, i);
		m.from_name = "Pool Test";
		m.from_addr = "news@example.org";
		m.to_name = "Reader";
		m.to_addr = to;
		m.subject = subj;
		m.date = 1900000000 + i;
		m.message_id = mid;
		m.list_id = "Weekly <weekly.example.org>";
		m.list_unsubscribe = "<https://example.org/u?token=x>";
		m.text = text.data;
		m.text_len = text.len;
		m.html = "<p>Hello</p>\n";
		m.html_len = strlen(m.html);
		rc = herald_mime_build(&m, &unsigned_msg[i], &e);
		if (rc != 0) {
			fprintf(stderr, "mime: %s\n", e.msg);
			exit(1);
		}
		hbuf_put(&want[i], unsigned_msg[i].data, unsigned_msg[i].len);
		rc = herald_dkim_sign(dk, &want[i], &e);
		if (rc != 0) {
			fprintf(stderr, "sign: %s\n", e.msg);
			exit(1);
		}
		hbuf_free(&text);
	}
	/* the reference itself must pass the independent verifier */
	INT_EQ(verified(&want[0]), 2, "single-threaded signature verifies");
	OK(want[0].len > unsigned_msg[0].len + 200, "signatures were added");

	for (size_t i = 0; i < 3; i++) {
		static const char *const made[] = { "rsa.pem", "ed.pem",
		    "herald.yml" };
		char *p = xasprintf("%s/%s", tmpdir, made[i]);

		unlink(p);
		free(p);
	}
}

struct job {
	struct herald_signjob sj;
	struct hbuf msg;
};

static struct job *
jobs_new(void)
{
	struct job *j = xcalloc(NMSG, sizeof(*j));

	for (int i = 0; i < NMSG; i++) {
		hbuf_put(&j[i].msg, unsigned_msg[i].data, unsigned_msg[i].len);
		j[i].sj.msg = &j[i].msg;
	}
	return j;
}

/* Each of the first n jobs equals the single-threaded signature. */
static void
check_jobs(const char *what, struct job *j, int n, bool verify)
{
	int same = 0, ver = 0;

	for (int i = 0; i < n; i++) {
		if (j[i].msg.len == want[i].len &&
		    memcmp(j[i].msg.data, want[i].data, want[i].len) == 0)
			same++;
		else
			fprintf(stderr, "%s: message %d differs from the "
			    "single-threaded signature\n", what, i);
		if (verify && verified(&j[i].msg) == 2)
			ver++;
	}
	INT_EQ(same, n, "%s: byte-identical to herald_dkim_sign alone", what);
	if (verify)
		INT_EQ(ver, n, "%s: libopendkim passes both signatures", what);
}

static void
jobs_free(struct job *j)
{
	for (int i = 0; i < NMSG; i++)
		hbuf_free(&j[i].msg);
	free(j);
}

/* Submit all, finish in a seeded random order. */
static void
test_random_order(int nthreads, unsigned seed)
{
	struct herald_signpool *p = herald_signpool_new(dk, nthreads);
	struct job *j = jobs_new();
	int order[NMSG], fails = 0;
	char what[64];

	snprintf(what, sizeof(what), "%d threads, random order", nthreads);
	INT_EQ(herald_signpool_threads(p), nthreads, "%s: threads", what);
	for (int i = 0; i < NMSG; i++) {
		order[i] = i;
		herald_signpool_submit(p, &j[i].sj);
	}
	srand(seed);
	for (int i = NMSG - 1; i > 0; i--) {
		int k = rand() % (i + 1), t = order[i];

		order[i] = order[k];
		order[k] = t;
	}
	for (int i = 0; i < NMSG; i++) {
		struct herald_err e = {0};

		if (herald_signpool_finish(p, &j[order[i]].sj, &e) != 0) {
			fprintf(stderr, "%s: job %d: %s\n", what, order[i],
			    e.msg);
			fails++;
		}
	}
	INT_EQ(fails, 0, "%s: every finish returns 0", what);
	herald_signpool_free(p);
	check_jobs(what, j, NMSG, true);
	jobs_free(j);
}

/*
 * Pool of 1, finished last-submitted first: the one worker takes jobs
 * from the head, so the tail jobs are still queued when finished and the
 * main thread signs them itself (unlinking from the middle and the tail
 * of the FIFO) while the worker signs from the head.
 */
static void
test_caller_signs(void)
{
	struct herald_signpool *p = herald_signpool_new(dk, 1);
	struct job *j = jobs_new();
	int fails = 0;

	for (int i = 0; i < NMSG; i++)
		herald_signpool_submit(p, &j[i].sj);
	for (int i = NMSG - 1; i >= 0; i--)
		if (herald_signpool_finish(p, &j[i].sj, NULL) != 0)
			fails++;
	INT_EQ(fails, 0, "caller signs: every finish returns 0");
	/* a job finished twice in a row is reused: submit again */
	for (int i = 0; i < 3; i++) {
		hbuf_reset(&j[i].msg);
		hbuf_put(&j[i].msg, unsigned_msg[i].data, unsigned_msg[i].len);
		herald_signpool_submit(p, &j[i].sj);
	}
	for (int i = 2; i >= 0; i--)
		if (herald_signpool_finish(p, &j[i].sj, NULL) != 0)
			fails++;
	INT_EQ(fails, 0, "caller signs: reused jobs finish with 0");
	herald_signpool_free(p);
	check_jobs("1 thread, caller signs", j, NMSG, false);
	jobs_free(j);
}

/*
 * Free with jobs pending: some finished, the rest never finished; the
 * workers sign every queued job before they stop (signpool.h: "after
 * the jobs they hold"), so after free every message is signed.
 */
static void
test_free_pending(int nthreads)
{
	struct herald_signpool *p = herald_signpool_new(dk, nthreads);
	struct job *j = jobs_new();
	char what[64];

	snprintf(what, sizeof(what), "%d threads, free with jobs pending",
	    nthreads);
	for (int i = 0; i < NMSG; i++)
		herald_signpool_submit(p, &j[i].sj);
	for (int i = 0; i < 5; i++)
		INT_EQ(herald_signpool_finish(p, &j[i * 7].sj, NULL), 0,
		    "%s: finish %d", what, i * 7);
	herald_signpool_free(p);
	check_jobs(what, j, NMSG, false);
	jobs_free(j);
}

/* No jobs at all; threads chosen by the CPU count (1..8). */
static void
test_empty(void)
{
	struct herald_signpool *p = herald_signpool_new(dk, 0);
	size_t n = herald_signpool_threads(p);

	OK(n >= 1 && n <= 8, "one thread per CPU, at most 8: %zu", n);
	herald_signpool_free(p);
	herald_signpool_free(NULL);
	INT_EQ(herald_signpool_threads(NULL), 0, "NULL pool has no threads");
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	setup();
	test_empty();
	test_random_order(1, 1);
	test_random_order(4, 2);
	test_random_order(4, 3);
	test_caller_signs();
	test_free_pending(1);
	test_free_pending(3);
	herald_dkim_free(dk);
	for (int i = 0; i < NMSG; i++) {
		hbuf_free(&unsigned_msg[i]);
		hbuf_free(&want[i]);
	}
	unlink(keys);
	free(keys);
	rmdir(tmpdir);
	return harness_done();
}
