/*
 * cmd_progress.c - the progress line shared by preview and send.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void
herald_progress_start(struct herald_progress *p, const char *label,
    size_t total, bool verbose)
{
	const char *nc = getenv("NO_COLOR");

	p->label = label;
	p->total = total;
	p->tty = isatty(STDERR_FILENO);
	p->verbose = verbose;
	p->color = p->tty && (nc == NULL || nc[0] == '\0');
	p->shown = false;
	p->start = p->last = now();
}

void
herald_progress_update(struct herald_progress *p, size_t done,
    size_t deferred, size_t failed)
{
	double t = now(), el = t - p->start, rate;
	char eta[32] = "";

	if (!p->tty && !p->verbose)
		return;
	/* A terminal is redrawn 10 times a second, a pipe once a second. */
	if (t - p->last < (p->tty ? 0.1 : 1.0) && !(p->total && done == p->total))
		return;
	p->last = t;
	rate = el > 0 ? done / el : 0;
	if (p->total && rate > 0 && done < p->total) {
		long s = (long)((p->total - done) / rate);
		snprintf(eta, sizeof(eta), " ETA %ld:%02ld", s / 60, s % 60);
	}
	if (p->tty) {
		char bar[31];
		size_t fill = p->total ? done * 30 / p->total : 0;

		for (size_t i = 0; i < 30; i++)
			bar[i] = i < fill ? '=' : ' ';
		bar[30] = '\0';
		fprintf(stderr, "\r%s [%s] %zu/%zu", p->label, bar, done, p->total);
	} else
		fprintf(stderr, "%s: %zu/%zu", p->label, done, p->total);
	if (deferred)
		fprintf(stderr, p->color ? " \033[33m%zu deferred\033[0m" :
		    " %zu deferred", deferred);
	if (failed)
		fprintf(stderr, p->color ? " \033[31m%zu failed\033[0m" :
		    " %zu failed", failed);
	fprintf(stderr, " %.0f/s%s%s", rate, eta, p->tty ? "\033[K" : "\n");
	p->shown = true;
}

void
herald_progress_end(struct herald_progress *p)
{
	if (p->tty && p->shown)
		fputs("\r\033[K", stderr);
	p->shown = false;
}
