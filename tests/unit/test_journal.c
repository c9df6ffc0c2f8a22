/*
 * test_journal.c - the delivery journal: state transitions, recovery of a
 * killed run (inflight -> unknown), a changed post noticed, suppression.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "journal.h"

static char dir[] = "/tmp/herald-test-journal-XXXXXX";
static char jpath[256];
static unsigned char hash1[32], hash2[32];

static int
open_j(struct herald_journal **j, const unsigned char *hash, bool force,
    bool ro, struct herald_err *e)
{
	struct herald_journal_opts o = {
		.path = jpath, .campaign_id = "c0ffee",
		.list_name = "example", .post_path = "posts/p.md",
		.post_hash = hash, .force = force, .readonly = ro,
	};
	return herald_journal_open(&o, j, e);
}

static void
test_transitions(void)
{
	struct herald_journal *j;
	struct herald_err e = {0};
	struct herald_jrow row;
	size_t c[HERALD_J_NSTATES];

	INT_EQ(open_j(&j, hash1, false, false, &e), 0, "%s", e.msg);
	INT_EQ(herald_journal_recovered(j), 0, "fresh journal");
	INT_EQ(herald_journal_begin(j, &e), 0, "%s", e.msg);
	INT_EQ(herald_journal_add(j, "Ann@Example.ORG", &e), 0, "%s", e.msg);
	INT_EQ(herald_journal_add(j, "bob@example.org", &e), 0, "%s", e.msg);
	INT_EQ(herald_journal_add(j, "cy@example.org", &e), 0, "%s", e.msg);
	INT_EQ(herald_journal_add(j, "ANN@example.org", &e), 0, "dup ok");
	INT_EQ(herald_journal_commit(j, &e), 0, "%s", e.msg);

	INT_EQ(herald_journal_get(j, "ann@example.org", &row, &e), 0, "found");
	STR_EQ(row.addr, "ann@example.org", "lower-cased");
	INT_EQ(row.state, HERALD_J_PENDING, "new rows are pending");
	INT_EQ(herald_journal_get(j, "zed@example.org", &row, &e), -1,
	    "missing row");

	INT_EQ(herald_journal_mark_inflight(j, "ann@example.org", "id1@x", &e),
	    0, "%s", e.msg);
	INT_EQ(herald_journal_get(j, "ann@example.org", &row, &e), 0, "found");
	INT_EQ(row.state, HERALD_J_INFLIGHT, "inflight");
	INT_EQ(row.attempts, 1, "attempts");
	INT_EQ(row.tries, 1, "tries");
	STR_EQ(row.message_id, "id1@x", "message id");
	INT_EQ(herald_journal_mark(j, "ann@example.org", HERALD_J_SENT, 250,
	    "250 ok", 0, &e), 0, "%s", e.msg);
	INT_EQ(herald_journal_get(j, "ANN@example.org", &row, &e), 0, "found");
	INT_EQ(row.state, HERALD_J_SENT, "sent");
	INT_EQ(row.code, 250, "code");
	STR_EQ(row.reply, "250 ok", "reply");

	herald_journal_mark_inflight(j, "bob@example.org", "id2@x", &e);
	INT_EQ(herald_journal_mark(j, "bob@example.org", HERALD_J_DEFERRED,
	    451, "451 try later", 1234.5, &e), 0, "%s", e.msg);
	herald_journal_get(j, "bob@example.org", &row, &e);
	INT_EQ(row.state, HERALD_J_DEFERRED, "deferred");
	OK(row.next_try == 1234.5, "next_try %f", row.next_try);

	herald_journal_mark_inflight(j, "cy@example.org", "id3@x", &e);
	herald_journal_mark(j, "cy@example.org", HERALD_J_UNKNOWN, 354,
	    "connection lost after the final dot", 0, &e);
	herald_journal_get(j, "cy@example.org", &row, &e);
	INT_EQ(row.state, HERALD_J_UNKNOWN, "unknown");
	INT_EQ(row.unknowns, 1, "unknowns counted");

	INT_EQ(herald_journal_counts(j, c, &e), 0, "%s", e.msg);
	INT_EQ(c[HERALD_J_SENT], 1, "sent count");
	INT_EQ(c[HERALD_J_DEFERRED], 1, "deferred count");
	INT_EQ(c[HERALD_J_UNKNOWN], 1, "unknown count");
	INT_EQ(c[HERALD_J_PENDING], 0, "pending count");
	herald_journal_close(j);
}

static int
count_fn(void *arg, const struct herald_jrow *row)
{
	(void)row;
	(*(int *)arg)++;
	return 0;
}

/* A run killed with rows inflight: the next open turns them unknown. */
static void
test_recovery(void)
{
	struct herald_journal *j;
	struct herald_err e = {0};
	struct herald_jrow row;
	int n = 0;

	INT_EQ(open_j(&j, hash1, false, false, &e), 0, "%s", e.msg);
	herald_journal_add(j, "dan@example.org", &e);
	herald_journal_mark_inflight(j, "dan@example.org", "id4@x", &e);
	/* "kill": close without recording a result */
	herald_journal_close(j);

	INT_EQ(open_j(&j, hash1, false, false, &e), 0, "%s", e.msg);
	INT_EQ(herald_journal_recovered(j), 1, "one inflight row recovered");
	herald_journal_get(j, "dan@example.org", &row, &e);
	INT_EQ(row.state, HERALD_J_UNKNOWN, "inflight -> unknown");
	INT_EQ(row.unknowns, 1, "counted");
	INT_EQ(row.tries, 0, "tries reset per run");
	INT_EQ(row.attempts, 1, "attempts kept");
	STR_EQ(row.message_id, "id4@x", "message id kept for the resend");
	herald_journal_get(j, "ann@example.org", &row, &e);
	INT_EQ(row.state, HERALD_J_SENT, "sent rows untouched");

	INT_EQ(herald_journal_each(j, 1u << HERALD_J_UNKNOWN, count_fn, &n,
	    &e), 0, "%s", e.msg);
	INT_EQ(n, 2, "cy and dan are unknown");
	herald_journal_close(j);
}

static void
test_post_hash(void)
{
	struct herald_journal *j;
	struct herald_err e = {0};

	/* Not refused here (deliver.c refuses only when recipients are
	 * left), but said, and the old hash is kept. */
	INT_EQ(open_j(&j, hash2, false, false, &e), 0, "changed post opens");
	OK(herald_journal_post_changed(j), "and says so");
	herald_journal_close(j);

	INT_EQ(open_j(&j, hash2, false, true, &e), 0, "readonly opens");
	OK(herald_journal_post_changed(j), "but says so");
	herald_journal_close(j);

	INT_EQ(open_j(&j, hash2, true, false, &e), 0, "--force");
	herald_journal_close(j);
	INT_EQ(open_j(&j, hash2, false, false, &e), 0, "new hash recorded");
	OK(!herald_journal_post_changed(j), "same post now");
	herald_journal_close(j);
}

/* A row the caller marks suppressed (the suppression store is suppress.c's)
 * stays suppressed: a later add does not make it pending again. */
static void
test_suppression(void)
{
	struct herald_journal *j;
	struct herald_err e = {0};
	struct herald_jrow row;
	size_t c[HERALD_J_NSTATES];

	INT_EQ(open_j(&j, hash2, false, false, &e), 0, "%s", e.msg);
	INT_EQ(herald_journal_add(j, "Eve@Example.org", &e), 0, "%s", e.msg);
	INT_EQ(herald_journal_mark(j, "eve@example.ORG", HERALD_J_SUPPRESSED,
	    0, "suppressed", 0, &e), 0, "%s", e.msg);
	INT_EQ(herald_journal_add(j, "eve@example.org", &e), 0, "%s", e.msg);
	herald_journal_close(j);

	INT_EQ(open_j(&j, hash2, false, true, &e), 0, "%s", e.msg);
	INT_EQ(herald_journal_get(j, "EVE@example.org", &row, &e), 0, "found");
	INT_EQ(row.state, HERALD_J_SUPPRESSED, "still suppressed after add");
	INT_EQ(herald_journal_counts(j, c, &e), 0, "%s", e.msg);
	INT_EQ(c[HERALD_J_SUPPRESSED], 1, "counted as suppressed");
	herald_journal_close(j);
}

/* One writer at a time; readers (status) are welcome meanwhile. */
static void
test_lock(void)
{
	struct herald_journal *j, *j2;
	struct herald_err e = {0};

	INT_EQ(open_j(&j, hash2, false, false, &e), 0, "%s", e.msg);
	INT_EQ(open_j(&j2, hash2, false, false, &e), EX_TEMPFAIL,
	    "second writer refused");
	OK(strstr(e.msg, "another herald send") != NULL, "%s", e.msg);
	INT_EQ(open_j(&j2, hash2, false, true, &e), 0, "reader allowed");
	herald_journal_close(j2);
	herald_journal_close(j);
	INT_EQ(open_j(&j, hash2, false, false, &e), 0, "free again");
	herald_journal_close(j);
}

static void
test_readonly_missing(void)
{
	struct herald_journal *j;
	struct herald_err e = {0};
	struct herald_journal_opts o = {
		.path = "/nonexistent/journal.sqlite", .campaign_id = "x",
		.post_hash = hash1, .readonly = true,
	};

	INT_EQ(herald_journal_open(&o, &j, &e), EX_NOINPUT, "no journal yet");
	STR_EQ(herald_jstate_name(HERALD_J_UNKNOWN), "unknown", "names");
	OK(herald_jstate_name(HERALD_J_NSTATES) == NULL, "out of range");
}

/* With the list given: this shard's listed addresses are counted (one
 * without a row as pending), rows gone from the list are removed, other
 * shards' rows are left out; a read leaves no statement open, so a
 * TRUNCATE checkpoint can empty the WAL. */
static void
test_listed(void)
{
	struct herald_journal *j;
	struct herald_err e = {0};
	struct herald_jrow row;
	size_t c[HERALD_J_NSTATES];
	char wal[300];
	struct stat st;
	int i;

	snprintf(jpath, sizeof(jpath), "%s/journal-listed.sqlite", dir);
	INT_EQ(open_j(&j, hash1, false, false, &e), 0, "%s", e.msg);
	INT_EQ(herald_journal_add(j, "kept@example.org", &e), 0, "%s", e.msg);
	INT_EQ(herald_journal_add(j, "gone@example.org", &e), 0, "%s", e.msg);
	INT_EQ(herald_journal_add(j, "other@example.org", &e), 0, "%s", e.msg);
	INT_EQ(herald_journal_mark(j, "gone@example.org", HERALD_J_DEFERRED,
	    451, "later", 0, &e), 0, "%s", e.msg);
	INT_EQ(herald_journal_mark(j, "kept@example.org", HERALD_J_SENT,
	    250, "ok", 0, &e), 0, "%s", e.msg);
	INT_EQ(herald_journal_listed(j, "Kept@example.org", true, &e), 0,
	    "%s", e.msg);
	INT_EQ(herald_journal_listed(j, "new@example.org", true, &e), 0,
	    "%s", e.msg);
	INT_EQ(herald_journal_listed(j, "other@example.org", false, &e), 0,
	    "%s", e.msg);
	INT_EQ(herald_journal_counts(j, c, &e), 0, "%s", e.msg);
	INT_EQ(c[HERALD_J_SENT], 1, "kept counted");
	INT_EQ(c[HERALD_J_PENDING], 1, "new: listed, no row yet: pending");
	INT_EQ(c[HERALD_J_DEFERRED], 0, "gone is not deferred");
	INT_EQ(c[HERALD_J_REMOVED], 1, "gone is removed");
	STR_EQ(herald_jstate_name(HERALD_J_REMOVED), "removed", "name");

	/* Many reads and writes, then a checkpoint the reads cannot block. */
	for (i = 0; i < 300; i++) {
		INT_EQ(herald_journal_begin(j, &e), 0, "%s", e.msg);
		herald_journal_mark_inflight(j, "kept@example.org", "m", &e);
		herald_journal_commit(j, &e);
		INT_EQ(herald_journal_get(j, "kept@example.org", &row, &e), 0,
		    "get");
	}
	STR_EQ(row.message_id, "m", "row copied out");
	snprintf(wal, sizeof(wal), "%s-wal", jpath);
	/* 300 commits of 2-3 pages each would leave a WAL of ~3 MiB had
	 * the reads kept a statement open (no checkpoint gets past one). */
	OK(stat(wal, &st) == 0 && st.st_size <= 1048576 + 65536,
	    "WAL cut back (%lld bytes)", (long long)st.st_size);
	herald_journal_close(j);
	snprintf(jpath, sizeof(jpath), "%s/journal-c0ffee.sqlite", dir);
}

/* The walk's shortcut: hashes of the rows in the asked states, and an
 * inflight mark that creates a row missing from the journal. */
static void
test_hashes(void)
{
	static const char *const a[] = { "h1@example.org", "h2@example.org",
	    "h3@example.org", "h4@example.org" };
	struct herald_journal *j;
	struct herald_err e = {0};
	struct herald_jrow row;
	uint64_t *hs, h;
	size_t n;

	snprintf(jpath, sizeof(jpath), "%s/journal-hashes.sqlite", dir);
	INT_EQ(open_j(&j, hash1, false, false, &e), 0, "%s", e.msg);
	for (int i = 0; i < 4; i++)
		INT_EQ(herald_journal_add(j, a[i], &e), 0, "%s", e.msg);
	INT_EQ(herald_journal_hashes(j, 1u << HERALD_J_SENT, &hs, &n, &e), 0,
	    "%s", e.msg);
	INT_EQ(n, 0, "nothing sent yet");
	free(hs);
	herald_journal_mark(j, a[1], HERALD_J_SENT, 250, "ok", 0, &e);
	herald_journal_mark(j, a[3], HERALD_J_DEFERRED, 451, "later", 0, &e);
	INT_EQ(herald_journal_hashes(j, (1u << HERALD_J_SENT) |
	    (1u << HERALD_J_DEFERRED), &hs, &n, &e), 0, "%s", e.msg);
	INT_EQ(n, 2, "sent + deferred");
	for (int i = 0; i < 4; i++) {
		/* the key is the lower-cased address, however it is spelt */
		char up[64];

		snprintf(up, sizeof(up), "%s", a[i]);
		up[0] = 'H';
		OK(herald_journal_key_hash(j, up, &h), "key of %s", up);
		OK(herald_journal_hashes_has(hs, n, h) == (i == 1 || i == 3),
		    "%s among the sent/deferred: %d", a[i],
		    herald_journal_hashes_has(hs, n, h));
	}
	free(hs);
	INT_EQ(herald_journal_mark_inflight(j, "late@example.org", "id@x", &e),
	    0, "%s", e.msg);
	INT_EQ(herald_journal_get(j, "late@example.org", &row, &e), 0,
	    "an inflight mark makes the row");
	INT_EQ(row.state, HERALD_J_INFLIGHT, "inflight");
	INT_EQ(row.attempts, 1, "attempts");
	STR_EQ(row.message_id, "id@x", "message id");
	herald_journal_close(j);
	snprintf(jpath, sizeof(jpath), "%s/journal-c0ffee.sqlite", dir);
}

int
main(void)
{
	char cmd[400];

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(jpath, sizeof(jpath), "%s/journal-c0ffee.sqlite", dir);
	memset(hash1, 1, sizeof(hash1));
	memset(hash2, 2, sizeof(hash2));

	test_transitions();
	test_recovery();
	test_post_hash();
	test_suppression();
	test_lock();
	test_readonly_missing();
	test_listed();
	test_hashes();

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return harness_done();
}
