/*
 * deliver.c - the delivery engine (see deliver.h): queue, pacing, back-off,
 * 421 slow-downs, the 5.1.1 policy, and the journal around every
 * transaction.  It is the SMTP backend of backend.h (smtp_ops), fed by
 * pipeline.c once per pass through deliver_want().
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "deliver.h"
#include "pipeline.h"
#include "signpool.h"
#include "suppress.h"

#define STOP_WALK 200     /* returned by a walk callback to stop the walk */
#define BUSY_LIMIT 10     /* 421s in a row that end a run (relay_busy) */
#define BUILD_AHEAD 4     /* built messages queued per connection */

static double
wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool
in_shard(const char *addr, unsigned k, unsigned n)
{
	char key[512];

	if (n <= 1)
		return true;
	if (!herald_addr_key(addr, key, sizeof(key))) {
		snprintf(key, sizeof(key), "%s", addr);
		ascii_lower(key);
	}
	return hash64(key, strlen(key)) % n == k - 1;
}

struct sync {
	struct herald_journal *j;
	unsigned k, n;
	bool add;
	size_t n_added;
	struct herald_err *e;
};

/*
 * Tell the journal which addresses the list holds and which of them are
 * this shard's; give each of this shard's a row (pending unless it has
 * one) when writing, committing every few thousand rows.
 */
static int
sync_one(void *arg, const struct herald_recipient *r)
{
	struct sync *y = arg;
	bool mine = in_shard(r->email, y->k, y->n);
	int rc;

	if (y->n_added % 5000 == 0 &&
	    ((rc = herald_journal_commit(y->j, y->e)) != 0 ||
	    (rc = herald_journal_begin(y->j, y->e)) != 0))
		return rc;
	y->n_added++;
	if (mine && y->add &&
	    (rc = herald_journal_add(y->j, r->email, y->e)) != 0)
		return rc;
	return herald_journal_listed(y->j, r->email, mine, y->e);
}

/* A suppressed reader (suppress.h): listed like any other, and its row, if
 * still to be sent, marked suppressed so no run ends with it pending. */
static int
sync_suppressed(void *arg, const struct herald_recipient *r)
{
	struct sync *y = arg;
	struct herald_jrow row;
	int rc;

	if ((rc = sync_one(arg, r)) != 0 || !y->add ||
	    !in_shard(r->email, y->k, y->n))
		return rc;
	if ((rc = herald_journal_get(y->j, r->email, &row, y->e)) > 0)
		return rc;
	if (rc == 0 && (row.state == HERALD_J_PENDING ||
	    row.state == HERALD_J_DEFERRED || row.state == HERALD_J_UNKNOWN))
		return herald_journal_mark(y->j, r->email, HERALD_J_SUPPRESSED,
		    0, "suppressed", 0, y->e);
	return 0;
}

struct share {
	unsigned k, n;
	size_t count;
};

static int
share_one(void *arg, const struct herald_recipient *r)
{
	struct share *sh = arg;

	sh->count += in_shard(r->email, sh->k, sh->n);
	return 0;
}

int
herald_deliver_share(struct herald_campaign *c, unsigned shard_k,
    unsigned shard_n, size_t *count, struct herald_err *e)
{
	struct share sh = { .k = shard_n > 1 ? shard_k : 1,
	    .n = shard_n > 1 ? shard_n : 1 };
	int rc = herald_campaign_each(c, share_one, &sh, e);

	*count = sh.count;
	return rc;
}

int
herald_deliver_journal_open(struct herald_campaign *c, unsigned shard_k,
    unsigned shard_n, bool readonly, bool force, struct herald_journal **out,
    struct herald_err *e)
{
	struct herald_journal_opts jo = {0};
	struct sync y = { .k = shard_n > 1 ? shard_k : 1,
	    .n = shard_n > 1 ? shard_n : 1, .add = !readonly, .e = e };
	char *jpath;
	int rc;

	*out = NULL;
	if (!readonly && (rc = mkdir_p(c->cfg.state_dir, e)) != 0)
		return rc;
	/* One journal per campaign: a shard selects rows, not a journal, so
	 * a different --shard never sends anyone a second copy. */
	jpath = xasprintf("%s/journal-%s.sqlite", c->cfg.state_dir, c->id);
	/* Suppressions are suppress.c's (c->sup, applied by the walk below),
	 * not attached to the journal: its transactions would lock them
	 * against `herald serve` and the 5.1.1 hook. */
	jo.path = jpath;
	jo.campaign_id = c->id;
	jo.list_name = c->list_name;
	jo.post_path = c->post.path;
	jo.post_hash = c->post.hash;
	jo.force = force;
	jo.readonly = readonly;
	rc = herald_journal_open(&jo, out, e);
	free(jpath);
	if (rc != 0)
		return rc;
	y.j = *out;
	if ((rc = herald_journal_begin(y.j, e)) == 0)
		rc = herald_campaign_each_sup(c, sync_one, sync_suppressed,
		    &y, e);
	if (rc == 0)
		rc = herald_journal_commit(y.j, e);
	if (rc != 0) {
		herald_journal_close(*out);
		*out = NULL;
	}
	return rc;
}

/* --- the sender --- */

struct job {
	char *addr;
	char *mid;
	struct hbuf eml;
	int tries;                 /* this run, including this one */
	bool marked;               /* its inflight mark is in the journal */
	bool durable;              /* ... and committed */
	bool signing;              /* eml is with the DKIM signer pool */
	struct herald_signjob sj;
	/* A result recorded in the open transaction, reported once durable: */
	const char *word;
	char *reply;
	struct job *next;
};

struct herald_deliver {
	struct herald_backend be;  /* first: the SMTP backend (backend.h) */
	struct herald_backend *bep[1];
	struct herald_pipeline pl; /* walks, builds, puts to be */
	int next_tries;            /* want() to put(): the row's tries + 1 */
	struct herald_campaign *c;
	struct herald_journal *j;
	struct herald_smtp *smtp;
	struct herald_deliver_opts o;
	const volatile sig_atomic_t *intr;

	unsigned shard_k, shard_n;
	int max_tries;
	double retry_base;
	double interval;           /* 1 / rate, 0 unlimited */
	double pace;               /* extra spacing after 421s */
	double next_start;         /* monotonic: not before */

	int pass;
	/* This pass's rows in other states than those it sends to without a
	 * lookup (pass 1: every state but pending; later: deferred), as
	 * sorted hashes (herald_journal_hashes): a reader not among them
	 * needs no SELECT. */
	uint64_t *hs;
	size_t nhs;
	bool have_hs;
	struct herald_signpool *pool;  /* DKIM signers (NULL: no dkim) */
	struct job **queue;        /* built, not yet started */
	size_t nq, qcap;
	struct job *done, **done_tail;   /* results not yet durable */
	struct job *cdone;         /* results in the commit in flight */

	/* The journal writer: commits run on their own thread, so that the
	 * next messages are built during the fsync.  While one is in flight
	 * this thread does not touch s->j (recipients are looked up through
	 * rj, a second, read-only connection). */
	struct herald_journal *rj;
	pthread_t writer;
	bool writer_started;
	pthread_mutex_t wmu;
	pthread_cond_t wcv;        /* commit asked for, or quit */
	pthread_cond_t dcv;        /* commit done */
	bool wreq, wdone, wquit;
	int wrc;
	struct herald_err werr;
	bool committing;           /* a commit is in flight */
	size_t ncommit;            /* queue[0..ncommit) marked in it */

	size_t sent, deferred, failed, unknown;   /* results this run */
	size_t retry_pending;      /* deferred rows due another try */
	size_t todo;
	size_t total;           /* every journal row of this campaign (shard) */
	size_t recovered;
	bool fatal;                /* the relay is unusable */
	bool stop;                 /* error or fatal: start nothing more */
	size_t busy_streak;        /* 421s in a row, no delivery between */
	bool relay_busy;           /* stopped by the streak: rerun later */
	int err_rc;
	struct herald_err err;
	struct herald_err fatal_err;
};

static bool
interrupted(const struct herald_deliver *s)
{
	return s->intr != NULL && *s->intr;
}

static void
job_free(struct job *jb)
{
	if (jb == NULL)
		return;
	free(jb->addr);
	free(jb->mid);
	free(jb->reply);
	hbuf_free(&jb->eml);
	free(jb);
}

static void
set_error(struct herald_deliver *s, int rc)
{
	if (s->err_rc == 0)
		s->err_rc = rc;
	s->stop = true;
}

static void
show_progress(struct herald_deliver *s)
{
	/* done counts every recipient dealt with in this run; deferred and
	 * failed are shown beside it. */
	if (s->o.on_progress)
		s->o.on_progress(s->o.arg, s->sent + s->failed + s->unknown +
		    s->deferred, s->deferred, s->failed);
}

static double
backoff(const struct herald_deliver *s, int tries)
{
	/* base * 2^(tries-1), with full jitter in [0.5, 1.5). */
	double d = s->retry_base * pow(2, tries - 1);

	return d * (0.5 + (double)rand() / ((double)RAND_MAX + 1));
}

/*
 * A finished transaction: its result goes into the open transaction; it
 * is reported (on_result, progress) only after the commit that makes it
 * durable (report()).
 */
static void
on_done(void *arg, const struct herald_smtp_result *r)
{
	struct herald_deliver *s = arg;
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
		s->busy_streak = 0;
		break;
	case HERALD_SMTP_FAILED:
		st = HERALD_J_FAILED;
		s->failed++;
		word = "failed";
		/* RFC 3463 5.1.1: bad destination mailbox address. */
		if (strstr(r->reply, "5.1.1") != NULL &&
		    herald_suppress_add(s->c->sup, s->c->list_name, jb->addr,
		    "send-5.1.1", jb->mid, r->reply, 0, &s->err) > 1)
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
		if (r->slow_down) {
			/* 0.25 s, doubling up to 10 s, in units of the
			 * first back-off (--retry-base, default 1 s) */
			double cap = 10 * s->retry_base;

			s->pace = s->pace == 0 ? 0.25 * s->retry_base :
			    (s->pace * 2 > cap ? cap : s->pace * 2);
			/* A relay that answers 421 to everything would have
			 * the paced retries take hours: after BUSY_LIMIT in a
			 * row with nothing delivered between, stop starting,
			 * finish what is in flight and leave the rest deferred
			 * for the next run (exit 75). */
			if (++s->busy_streak >= BUSY_LIMIT && !s->relay_busy) {
				s->relay_busy = true;
				s->stop = true;
			}
		}
		break;
	}
	rc = herald_journal_mark(s->j, jb->addr, st, r->code, r->reply, next,
	    &s->err);
	if (rc != 0)
		set_error(s, rc);
	jb->word = word;
	jb->reply = xstrdup(r->reply);
	jb->next = NULL;
	*s->done_tail = jb;
	s->done_tail = &jb->next;
}

/* The results just made durable: tell the caller. */
static void
report(struct herald_deliver *s)
{
	struct job *jb, *next;

	if (s->done == NULL)
		return;
	for (jb = s->done; jb; jb = next) {
		next = jb->next;
		if (s->o.on_result)
			s->o.on_result(s->o.arg, jb->addr, jb->word, jb->reply);
		job_free(jb);
	}
	s->done = NULL;
	s->done_tail = &s->done;
	show_progress(s);
}

/* A paced run's wait until its next start, capped at ms. */
static int
pace_wait(const struct herald_deliver *s, int ms)
{
	double left;

	if (!(s->interval > 0 || s->pace > 0) || s->nq == 0)
		return ms;
	left = s->next_start - mono();
	if (left <= 0)
		return 0;
	return left * 1000 + 1 < ms ? (int)(left * 1000) + 1 : ms;
}

/* How many may start now: paced runs start only on an idle connection. */
static size_t
start_room(const struct herald_deliver *s, bool paced)
{
	size_t room = herald_smtp_room(s->smtp), idle;

	if (paced && room > (idle = herald_smtp_idle(s->smtp)))
		room = idle;
	return room;
}

/*
 * One round of the group commit, on this (the only journal-writing)
 * thread:
 *   1. collect the transactions that finished (waiting up to wait_ms when
 *      there is nothing to start) and record their results;
 *   2. record as inflight the built messages the connections have room
 *      for (each connection takes its running transaction and the next
 *      ones, see HERALD_SMTP_DEPTH) and the pace allows;
 *   3. commit: one fsync for all of it;
 *   4. only then report the results and hand the new messages to the
 *      connections.
 * So no message is handed over (and no final dot sent) before its
 * inflight mark is durable, and nothing is reported before its result is
 * durable; the results of message k and the starts of k+1, k+2, ... share
 * one commit.  A connection's next message is already durable-inflight
 * and queued on it while it runs the current one, so it never waits for
 * this thread (doc/notes.md, "Group commit").
 */
static void *
writer_main(void *arg)
{
	struct herald_deliver *s = arg;
	int rc;

	pthread_mutex_lock(&s->wmu);
	for (;;) {
		while (!s->wreq && !s->wquit)
			pthread_cond_wait(&s->wcv, &s->wmu);
		if (s->wquit)
			break;
		s->wreq = false;
		pthread_mutex_unlock(&s->wmu);
		rc = herald_journal_commit(s->j, &s->werr);
		pthread_mutex_lock(&s->wmu);
		s->wrc = rc;
		s->wdone = true;
		pthread_cond_signal(&s->dcv);
	}
	pthread_mutex_unlock(&s->wmu);
	return NULL;
}

/* Hand the open transaction to the writer (or commit here without one). */
static void
commit_start(struct herald_deliver *s)
{
	s->cdone = s->done;
	s->done = NULL;
	s->done_tail = &s->done;
	s->committing = true;
	if (!s->writer_started) {
		s->wrc = herald_journal_commit(s->j, &s->werr);
		s->wdone = true;
		return;
	}
	pthread_mutex_lock(&s->wmu);
	s->wreq = true;
	pthread_cond_signal(&s->wcv);
	pthread_mutex_unlock(&s->wmu);
}

static bool
commit_ready(struct herald_deliver *s)
{
	bool d;

	pthread_mutex_lock(&s->wmu);
	d = s->wdone;
	pthread_mutex_unlock(&s->wmu);
	return d;
}

/*
 * Wait for the commit in flight; then (only then) report its results and
 * hand its new messages, and any durable ones still waiting, to the
 * connections.
 */
static void
commit_finish(struct herald_deliver *s)
{
	size_t k;
	int rc;

	if (s->committing) {
		pthread_mutex_lock(&s->wmu);
		while (!s->wdone)
			pthread_cond_wait(&s->dcv, &s->wmu);
		s->wdone = false;
		rc = s->wrc;
		pthread_mutex_unlock(&s->wmu);
		s->committing = false;
		/* the results of the commit go before the ones recorded
		 * since (none: this thread waited) */
		if (s->cdone) {
			struct job *t = s->cdone;

			while (t->next)
				t = t->next;
			t->next = s->done;
			if (s->done == NULL)
				s->done_tail = &t->next;
			s->done = s->cdone;
			s->cdone = NULL;
		}
		if (rc != 0) {
			s->err = s->werr;
			set_error(s, rc);
			return;
		}
		for (k = 0; k < s->ncommit; k++)
			s->queue[k]->durable = true;
		s->ncommit = 0;
		report(s);
	}
	for (k = 0; k < s->nq && s->queue[k]->durable; k++) {
		struct job *jb = s->queue[k];

		/* signed by now, or signed here (signpool.h) */
		if (jb->signing) {
			jb->signing = false;
			if ((rc = herald_signpool_finish(s->pool, &jb->sj,
			    &s->err)) != 0) {
				set_error(s, rc);
				break;
			}
		}

		rc = herald_smtp_submit_buf(s->smtp, jb->addr, &jb->eml, jb,
		    &s->err);
		if (rc == EX_SOFTWARE) {
			/* The room shrank meanwhile (a connection that just
			 * failed takes one transaction, not a queue): this one
			 * and the rest stay queued, inflight already durable,
			 * for the next round.  Never "failed": nothing was
			 * wrong with the recipient. */
			s->err.code = 0;
			break;
		}
		if (rc != 0) {
			/* Refused before anything was sent. */
			herald_journal_mark(s->j, jb->addr, HERALD_J_FAILED, 0,
			    s->err.msg, 0, NULL);
			s->failed++;
			job_free(jb);
		}
	}
	if (k > 0) {
		memmove(s->queue, s->queue + k, (s->nq - k) * sizeof(*s->queue));
		s->nq -= k;
	}
}

static void
step(struct herald_deliver *s, int wait_ms)
{
	size_t k = 0, n, room, waiting = 0;
	double now;
	bool paced = s->interval > 0 || s->pace > 0;
	bool starting;
	int rc = 0;

	/* A commit in flight: keep building unless asked to wait. */
	if (s->committing && wait_ms == 0 && !commit_ready(s))
		return;
	commit_finish(s);
	if (s->err_rc)
		return;
	starting = !s->stop && !interrupted(s) && s->nq > 0;
	room = start_room(s, paced);
	/* Wait for a result only when nothing can start now. */
	herald_smtp_run(s->smtp, starting && room > 0 ? pace_wait(s, wait_ms) :
	    wait_ms, on_done, s);
	n = s->stop || interrupted(s) ? 0 : s->nq;
	room = start_room(s, paced);
	if (n > room)
		n = room;
	now = mono();
	if (paced) {
		double gap = s->interval > s->pace ? s->interval : s->pace;

		/* Paced: one at a time, each at its slot in the schedule. */
		if (n > 1)
			n = 1;
		if (n && now < s->next_start)
			n = 0;
		if (n)
			s->next_start = (now > s->next_start + gap ? now :
			    s->next_start) + gap;
	}
	for (k = 0; k < n && s->queue[k]->durable; k++)
		waiting++;
	if (n > waiting)
		rc = herald_journal_begin(s->j, &s->err);
	for (k = 0; rc == 0 && k < n; k++)
		if (!s->queue[k]->marked) {
			rc = herald_journal_mark_inflight(s->j,
			    s->queue[k]->addr, s->queue[k]->mid, &s->err);
			s->queue[k]->marked = rc == 0;
		}
	if (rc != 0) {
		set_error(s, rc);
		return;
	}
	/* Durable before any byte of these transactions is sent, and before
	 * any of the results is reported: the commit runs on the writer
	 * while this thread builds the next messages; commit_finish() hands
	 * them over. */
	if (herald_journal_in_batch(s->j)) {
		s->ncommit = n;
		commit_start(s);
	} else if (waiting > 0) {
		commit_finish(s);
	}
}

/* Wait until the queue has room (or everything is done when all). */
static void
drain(struct herald_deliver *s, bool all)
{
	for (;;) {
		bool starting = !s->stop && !interrupted(s) && s->nq > 0;
		bool idle = !starting && herald_smtp_active(s->smtp) == 0 &&
		    !s->committing;

		if (all ? idle : s->nq < s->qcap)
			break;
		if (idle)
			break;
		step(s, 100);
	}
}

/*
 * The pipeline's filter (pipeline.h): which readers this pass sends to.
 * Pass 1: rows pending, deferred or unknown; later passes: rows deferred
 * in this run whose back-off has passed (waited out here, the transfers
 * going on meanwhile).
 */
static int
deliver_want(void *arg, const struct herald_recipient *r)
{
	struct herald_deliver *s = arg;
	struct herald_jrow row;
	uint64_t h;
	int rc;

	if (interrupted(s) || s->stop)
		return STOP_WALK;
	if (!in_shard(r->email, s->shard_k, s->shard_n))
		return HERALD_PIPE_SKIP;
	if (s->have_hs && herald_journal_key_hash(s->rj ? s->rj : s->j,
	    r->email, &h) && !herald_journal_hashes_has(s->hs, s->nhs, h)) {
		/* pass 1: pending (tries are reset at open); later passes:
		 * not deferred, nothing to do */
		if (s->pass > 1)
			return HERALD_PIPE_SKIP;
		memset(&row, 0, sizeof(row));
		row.state = HERALD_J_PENDING;
		rc = 0;
	} else
		rc = herald_journal_get(s->rj ? s->rj : s->j, r->email, &row,
		    &s->err);
	if (rc > 0) {
		set_error(s, rc);
		return STOP_WALK;
	}
	if (rc < 0)   /* not journaled: cannot happen after the sync */
		return HERALD_PIPE_SKIP;
	if (s->pass == 1) {
		if (row.state != HERALD_J_PENDING &&
		    row.state != HERALD_J_DEFERRED &&
		    row.state != HERALD_J_UNKNOWN)
			return HERALD_PIPE_SKIP;
	} else {
		double wait;

		if (row.state != HERALD_J_DEFERRED || row.tries == 0 ||
		    row.tries >= s->max_tries)
			return HERALD_PIPE_SKIP;
		/* Back off: keep the transfers going meanwhile. */
		while ((wait = row.next_try - wall()) > 0 && !interrupted(s) &&
		    !s->stop) {
			int ms = wait > 0.1 ? 100 : (int)(wait * 1000) + 1;
			step(s, ms);
		}
		if (interrupted(s) || s->stop)
			return STOP_WALK;
	}
	s->next_tries = row.tries + 1;
	return 0;
}

/*
 * The SMTP backend's put(): queue the message (its buffer taken, no copy),
 * give it to the DKIM signers, and let step() mark it inflight through
 * the group-commit writer and hand it to a connection once that row is
 * durable.
 */
static int
smtp_put(struct herald_backend *b, const struct herald_recipient *r,
    struct herald_message *m, struct herald_err *e)
{
	struct herald_deliver *s = (struct herald_deliver *)b;
	struct job *jb;

	(void)e;	/* errors are s->err, returned by herald_deliver_run */
	jb = xcalloc(1, sizeof(*jb));
	jb->addr = xstrdup(r->email);
	jb->mid = xstrdup(m->message_id);
	jb->tries = s->next_tries;
	/* The built message itself, no copy (campaign starts a new buffer). */
	jb->eml = m->eml;
	memset(&m->eml, 0, sizeof(m->eml));
	s->queue[s->nq++] = jb;
	if (s->pool != NULL) {
		/* signed on another core while the next ones are built */
		jb->sj.msg = &jb->eml;
		herald_signpool_submit(s->pool, &jb->sj);
		jb->signing = true;
	}
	/* Build ahead until the connections' free places can all be filled
	 * (one commit marks them all), or the queue is full. */
	if (s->nq >= s->qcap || s->nq >= herald_smtp_room(s->smtp) ||
	    s->interval > 0 || s->pace > 0)
		step(s, 0);
	drain(s, false);
	return interrupted(s) || s->stop ? STOP_WALK : 0;
}

/* The SMTP backend's commit(): the end of a pass, every transaction started
 * finished and its result durable. */
static int
smtp_commit(struct herald_backend *b, struct herald_err *e)
{
	(void)e;
	drain((struct herald_deliver *)b, true);
	return 0;
}

/* Freed by herald_deliver_free, which owns everything. */
static void
smtp_close(struct herald_backend *b)
{
	(void)b;
}

static const struct herald_backend_ops smtp_ops = {
	.name = "smtp",
	.put = smtp_put,
	.commit = smtp_commit,
	.close = smtp_close,
};

static int
smtp_open(struct herald_campaign *c, const struct herald_deliver_opts *o,
    int concurrency, struct herald_smtp **out, struct herald_err *e)
{
	struct herald_smtp_opts so = {
		.url = c->cfg.smtp.url,
		.user = c->cfg.smtp.user,
		.password = c->cfg.smtp.password,
		.ca_file = c->cfg.smtp.ca_file,
		.tls_required = c->cfg.smtp.tls_required,
		.helo = c->cfg.smtp.helo,
		.from = c->cfg.from_addr,
		.timeout = c->cfg.smtp.timeout,
		.concurrency = concurrency,
		.trace = o->trace,
		.trace_arg = o->arg,
	};
	int rc = herald_smtp_new(&so, out, e);

	if (rc != 0 && e->file[0] == '\0')
		snprintf(e->file, sizeof(e->file), "%s", c->cfg.path);
	return rc;
}

/* A second, read-only connection to the journal just opened (no list
 * walk: the rows are there). */
static int
read_journal_open(struct herald_campaign *c, struct herald_journal **out,
    struct herald_err *e)
{
	struct herald_journal_opts jo = {0};
	char *jpath = xasprintf("%s/journal-%s.sqlite", c->cfg.state_dir,
	    c->id);
	int rc;

	jo.path = jpath;
	jo.campaign_id = c->id;
	jo.list_name = c->list_name;
	jo.post_path = c->post.path;
	jo.post_hash = c->post.hash;
	jo.readonly = true;
	rc = herald_journal_open(&jo, out, e);
	free(jpath);
	return rc;
}

int
herald_deliver_open(struct herald_campaign *c,
    const struct herald_deliver_opts *o, struct herald_deliver **out,
    struct herald_err *e)
{
	struct herald_deliver *s = xcalloc(1, sizeof(*s));

	pthread_mutex_init(&s->wmu, NULL);
	pthread_cond_init(&s->wcv, NULL);
	pthread_cond_init(&s->dcv, NULL);
	size_t cnt[HERALD_J_NSTATES];
	int rc;

	*out = NULL;
	s->c = c;
	s->o = *o;
	s->intr = o->interrupted;
	s->shard_k = o->shard_n > 1 ? o->shard_k : 1;
	s->shard_n = o->shard_n > 1 ? o->shard_n : 1;
	s->max_tries = o->max_tries > 0 ? o->max_tries : 3;
	s->retry_base = o->retry_base;
	s->interval = o->rate > 0 ? 1 / o->rate : 0;
	/* Built and waiting for their inflight commit: 4 a connection.  As
	 * many as the connections take (8) sent 20,000 messages with 15%
	 * fewer context switches but held 1 MiB more (doc/notes.md). */
	s->qcap = (size_t)(o->concurrency > 0 ? o->concurrency : 4) *
	    BUILD_AHEAD;
	s->queue = xcalloc(s->qcap, sizeof(*s->queue));
	s->done_tail = &s->done;
	s->be.ops = &smtp_ops;
	s->be.c = c;
	s->be.where = c->cfg.smtp.url;
	s->bep[0] = &s->be;
	s->pl.c = c;
	s->pl.date = o->date;
	s->pl.be = s->bep;
	s->pl.nbe = 1;
	s->pl.want = deliver_want;
	s->pl.arg = s;

	/* Check the SMTP settings before touching the journal. */
	if ((rc = smtp_open(c, o, o->concurrency > 0 ? o->concurrency : 4,
	    &s->smtp, e)) != 0)
		goto fail;
	if ((rc = herald_deliver_journal_open(c, s->shard_k, s->shard_n,
	    false, o->force, &s->j, e)) != 0)
		goto fail;
	s->recovered = herald_journal_recovered(s->j);
	/* The writer thread and the read-only connection (see struct
	 * herald_deliver); without them commits happen on this thread. */
	if (read_journal_open(c, &s->rj, &s->werr) != 0)
		s->rj = NULL;
	else {
		sigset_t all, old;

		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		s->writer_started = pthread_create(&s->writer, NULL,
		    writer_main, s) == 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if ((rc = herald_journal_counts(s->j, cnt, e)) != 0)
		goto fail;
	s->todo = cnt[HERALD_J_PENDING] + cnt[HERALD_J_DEFERRED] +
	    cnt[HERALD_J_UNKNOWN];
	for (int k = 0; k < HERALD_J_NSTATES; k++)
		s->total += cnt[k];
	/* An edited post is the same campaign.  With nothing left to send
	 * there is nothing to decide; otherwise some recipients have the
	 * earlier text, and sending the new one to the rest is the user's
	 * call. */
	if (herald_journal_post_changed(s->j) && !o->force && s->todo > 0) {
		rc = herald_errf(e, EX_DATAERR, c->post.path, 0, "post "
		    "changed since this campaign started (%zu recipient%s "
		    "left to send); use --force to send them this version, "
		    "or give a different post its own campaign: in the front "
		    "matter", s->todo, s->todo == 1 ? "" : "s");
		goto fail;
	}
	*out = s;
	return 0;
fail:
	herald_deliver_free(s);
	return rc;
}

size_t
herald_deliver_recovered(const struct herald_deliver *d)
{
	return d->recovered;
}

size_t
herald_deliver_todo(const struct herald_deliver *d)
{
	return d->todo;
}

size_t
herald_deliver_total(const struct herald_deliver *d)
{
	return d->total;
}

/* Take back every queued message still with the signers. */
static void
sign_settle(struct herald_deliver *s)
{
	for (size_t k = 0; k < s->nq; k++)
		if (s->queue[k]->signing) {
			s->queue[k]->signing = false;
			(void)herald_signpool_finish(s->pool, &s->queue[k]->sj,
			    NULL);
		}
}

int
herald_deliver_run(struct herald_deliver *s, struct herald_deliver_stats *st,
    struct herald_err *e)
{
	int rc;

	memset(st, 0, sizeof(*st));
	if (s->c->dkim != NULL && s->pool == NULL) {
		/* DKIM is a stage of its own: built here, signed by the pool,
		 * handed to a connection in step() */
		s->pool = herald_signpool_new(s->c->dkim, 0);
		s->c->sign_later = true;
	}
	for (s->pass = 1; s->todo > 0 && s->pass <= s->max_tries; s->pass++) {
		if (s->pass > 1 && s->retry_pending == 0)
			break;
		s->retry_pending = 0;
		/* every commit of the pass before has returned (drain) */
		free(s->hs);
		s->have_hs = herald_journal_hashes(s->rj ? s->rj : s->j,
		    s->pass == 1 ? ((1u << HERALD_J_NSTATES) - 1) &
		    ~(1u << HERALD_J_PENDING) : 1u << HERALD_J_DEFERRED,
		    &s->hs, &s->nhs, &s->err) == 0;
		rc = herald_pipeline_run(&s->pl, &s->err);
		if (rc != 0 && rc != STOP_WALK)
			set_error(s, rc);
		/* after an error too: what was started finishes, recorded */
		(void)herald_backend_commit(&s->be, &s->err);
		if (s->stop || interrupted(s))
			break;
	}
	commit_finish(s);
	sign_settle(s);
	/* Anything still queued was never started; one marked inflight (the
	 * room shrank before it could be handed over) goes back to deferred:
	 * nothing of it was sent. */
	if (herald_journal_begin(s->j, &s->err) != 0)
		set_error(s, EX_IOERR);
	while (s->nq > 0) {
		struct job *jb = s->queue[--s->nq];

		if (jb->marked && herald_journal_mark(s->j, jb->addr,
		    HERALD_J_DEFERRED, 0, "not started (run stopped)", 0,
		    &s->err) != 0)
			set_error(s, EX_IOERR);
		job_free(jb);
	}
	if (herald_journal_commit(s->j, &s->err) != 0)
		set_error(s, EX_IOERR);
	else
		report(s);
	if (herald_journal_counts(s->j, st->counts, &s->err) != 0)
		set_error(s, EX_IOERR);
	s->c->sign_later = false;
	herald_signpool_free(s->pool);
	s->pool = NULL;
	st->sent = s->sent;
	st->failed = s->failed;
	st->interrupted = interrupted(s);
	st->relay_busy = s->relay_busy;
	if (s->err_rc) {
		*e = s->err;
		if (e->code == 0)
			e->code = s->err_rc;
		return s->err_rc;
	}
	if (s->fatal) {
		*e = s->fatal_err;
		return EX_UNAVAILABLE;
	}
	return 0;
}

void
herald_deliver_free(struct herald_deliver *s)
{
	if (s == NULL)
		return;
	if (s->committing) {
		pthread_mutex_lock(&s->wmu);
		while (!s->wdone)
			pthread_cond_wait(&s->dcv, &s->wmu);
		pthread_mutex_unlock(&s->wmu);
		s->committing = false;
	}
	if (s->writer_started) {
		pthread_mutex_lock(&s->wmu);
		s->wquit = true;
		pthread_cond_signal(&s->wcv);
		pthread_mutex_unlock(&s->wmu);
		pthread_join(s->writer, NULL);
	}
	pthread_mutex_destroy(&s->wmu);
	pthread_cond_destroy(&s->wcv);
	pthread_cond_destroy(&s->dcv);
	herald_journal_close(s->rj);
	while (s->cdone) {
		struct job *next = s->cdone->next;

		job_free(s->cdone);
		s->cdone = next;
	}
	sign_settle(s);
	herald_signpool_free(s->pool);
	if (s->pool != NULL)
		s->c->sign_later = false;
	while (s->nq > 0)
		job_free(s->queue[--s->nq]);
	while (s->done) {
		struct job *next = s->done->next;

		job_free(s->done);
		s->done = next;
	}
	free(s->queue);
	free(s->hs);
	herald_smtp_free(s->smtp);
	herald_journal_close(s->j);
	herald_pipeline_free(&s->pl);
	free(s);
}

/* --- one test copy, not journaled --- */

/*
 * The test copy (send --to): the pipeline takes the row asked for (or the
 * first), builds it readdressed with "[TEST] ", and puts it to a
 * one-message SMTP backend, which connects on its put() and waits for the
 * reply there.  No journal: a test copy is not a delivery.
 */
struct testcopy {
	struct herald_backend b;         /* first: the backend handle */
	struct herald_campaign *c;
	const struct herald_deliver_opts *o;
	struct herald_smtp_result *res;
	char *reply;
	size_t reply_len;
	const char *to;
	bool built;
};

static void
test_done(void *arg, const struct herald_smtp_result *r)
{
	struct testcopy *t = arg;

	*t->res = *r;
	snprintf(t->reply, t->reply_len, "%s", r->reply ? r->reply : "");
	t->res->reply = t->reply;
	t->res->rcpt = t->to;
	t->res->cookie = NULL;
}

static int
test_want(void *arg, const struct herald_recipient *r)
{
	struct testcopy *t = arg;

	if (t->built)
		return STOP_WALK;	/* one copy only */
	if (t->o->test_as != NULL && !ascii_ieq(r->email, t->o->test_as))
		return HERALD_PIPE_SKIP;	/* not the row asked for */
	return 0;
}

static int
test_put(struct herald_backend *b, const struct herald_recipient *r,
    struct herald_message *m, struct herald_err *e)
{
	struct testcopy *t = (struct testcopy *)b;
	struct herald_smtp *smtp = NULL;
	double deadline;
	int rc;

	(void)r;
	t->built = true;
	if ((rc = smtp_open(t->c, t->o, 1, &smtp, e)) == 0 &&
	    (rc = herald_smtp_submit(smtp, t->to, m->eml.data, m->eml.len,
	    NULL, e)) == 0) {
		/* Bounded: every reply has its own timeout; a backstop. */
		deadline = mono() + 3600;
		while (herald_smtp_active(smtp) > 0 && mono() < deadline)
			herald_smtp_run(smtp, 100, test_done, t);
	}
	herald_smtp_free(smtp);
	return rc;
}

static int
test_commit(struct herald_backend *b, struct herald_err *e)
{
	(void)b;
	(void)e;
	return 0;		/* put() waited for the reply */
}

static void
test_close(struct herald_backend *b)
{
	(void)b;		/* on the caller's stack */
}

static const struct herald_backend_ops test_ops = {
	.name = "smtp (one test copy)",
	.put = test_put,
	.commit = test_commit,
	.close = test_close,
};

int
herald_deliver_test(struct herald_campaign *c,
    const struct herald_deliver_opts *o, const char *to,
    struct herald_smtp_result *res, char *reply, size_t reply_len,
    struct herald_err *e)
{
	struct testcopy t = { .b = { .ops = &test_ops, .c = c, .where = to },
	    .c = c, .o = o, .to = to, .res = res, .reply = reply,
	    .reply_len = reply_len };
	struct herald_backend *be = &t.b;
	struct herald_pipeline p = { .c = c, .date = o->date, .be = &be,
	    .nbe = 1, .subject_prefix = "[TEST] ", .to_addr = to,
	    .want = test_want, .arg = &t };
	int rc;

	memset(res, 0, sizeof(*res));
	res->status = HERALD_SMTP_DEFERRED;
	res->reply = reply;
	snprintf(reply, reply_len, "no reply");
	rc = herald_pipeline_run(&p, e);
	if (rc == STOP_WALK)
		rc = 0;
	if (rc == 0 && !t.built)
		rc = o->test_as != NULL ?
		    herald_errf(e, EX_DATAERR, c->list_path, 0, "--as %s: no "
		    "such subscriber in the list", o->test_as) :
		    herald_errf(e, EX_DATAERR, c->list_path, 0, "no "
		    "subscriber in the list to personalise the copy as");
	herald_pipeline_free(&p);
	return rc;
}
