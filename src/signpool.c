/*
 * signpool.c - DKIM signing threads (see signpool.h).
 *
 * One mutex guards a FIFO of queued jobs and every job's state; workers
 * take from the head, sign without the lock, then mark the job done and
 * wake whoever waits.  herald_dkim_sign is safe on several threads at once
 * (dkim.c: one shared libopendkim library handle, per-signature state).
 */
#include "signpool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { QUEUED = 1, CLAIMED, DONE };

struct herald_signpool {
	struct herald_dkim *dkim;
	pthread_mutex_t mu;
	pthread_cond_t work;       /* a job was queued, or quit */
	pthread_cond_t done;       /* a job is done */
	struct herald_signjob *head, *tail;
	bool quit;
	pthread_t *th;
	size_t nth;
};

static void
sign(struct herald_signpool *p, struct herald_signjob *j)
{
	struct herald_err e = {0};
	int rc = herald_dkim_sign(p->dkim, j->msg, &e);

	pthread_mutex_lock(&p->mu);
	j->rc = rc;
	j->err = e;
	j->state = DONE;
	pthread_cond_broadcast(&p->done);
	pthread_mutex_unlock(&p->mu);
}

static void *
worker(void *arg)
{
	struct herald_signpool *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct herald_signjob *j;

		while (p->head == NULL && !p->quit)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->head == NULL)
			break;
		j = p->head;
		p->head = j->next;
		if (p->head == NULL)
			p->tail = NULL;
		j->state = CLAIMED;
		pthread_mutex_unlock(&p->mu);
		sign(p, j);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct herald_signpool *
herald_signpool_new(struct herald_dkim *d, int nthreads)
{
	struct herald_signpool *p = xcalloc(1, sizeof(*p));

	if (nthreads <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		nthreads = n < 1 ? 1 : n > 8 ? 8 : (int)n;
	}
	p->dkim = d;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	p->th = xcalloc((size_t)nthreads, sizeof(*p->th));
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&p->th[p->nth], NULL, worker, p) == 0)
			p->nth++;
	/* no thread at all: finish() signs everything on the caller */
	return p;
}

void
herald_signpool_submit(struct herald_signpool *p, struct herald_signjob *j)
{
	pthread_mutex_lock(&p->mu);
	j->state = QUEUED;
	j->rc = 0;
	j->next = NULL;
	if (p->tail)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
}

int
herald_signpool_finish(struct herald_signpool *p, struct herald_signjob *j,
    struct herald_err *e)
{
	int rc;

	pthread_mutex_lock(&p->mu);
	if (j->state == QUEUED) {
		/* not taken yet: take it out of the FIFO and sign it here */
		struct herald_signjob **pp = &p->head, *prev = NULL;

		while (*pp != j) {
			prev = *pp;
			pp = &(*pp)->next;
		}
		*pp = j->next;
		if (p->tail == j)
			p->tail = prev;
		j->state = CLAIMED;
		pthread_mutex_unlock(&p->mu);
		sign(p, j);
		pthread_mutex_lock(&p->mu);
	}
	while (j->state != DONE)
		pthread_cond_wait(&p->done, &p->mu);
	rc = j->rc;
	if (rc != 0 && e != NULL)
		*e = j->err;
	j->state = 0;
	pthread_mutex_unlock(&p->mu);
	return rc;
}

size_t
herald_signpool_threads(const struct herald_signpool *p)
{
	return p ? p->nth : 0;
}

void
herald_signpool_free(struct herald_signpool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (size_t i = 0; i < p->nth; i++)
		pthread_join(p->th[i], NULL);
	free(p->th);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
