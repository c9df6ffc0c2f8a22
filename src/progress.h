/*
 * progress.h - a progress line on stderr for long runs: a live bar on a
 * terminal; on a pipe nothing, unless verbose, then a plain line now and
 * then.  Colour only on a terminal and never when NO_COLOR is set.
 */
#ifndef HERALD_PROGRESS_H
#define HERALD_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>

struct herald_progress {
	const char *label;
	size_t total;        /* 0: unknown */
	size_t base;         /* dealt with by earlier runs (a resumed send):
	                      * shown as done, not counted in the rate */
	bool tty, verbose, color, shown;
	double start, last;  /* monotonic seconds */
};

void herald_progress_start(struct herald_progress *p, const char *label,
    size_t total, bool verbose);
/* done: finished so far in this run (sent or written; base is added for
 * display); deferred/failed shown when > 0.  On a terminal the line is cut
 * to its width. */
void herald_progress_update(struct herald_progress *p, size_t done,
    size_t deferred, size_t failed);
/* Clear the live line (a terminal) so the summary starts clean. */
void herald_progress_end(struct herald_progress *p);

#endif
