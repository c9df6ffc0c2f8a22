/*
 * cmd_progress.c - the progress line shared by preview and send.  On a
 * terminal it is one line that never wraps: the bar shrinks, then goes,
 * and the line is cut to the terminal's width (asked again at each redraw,
 * so a resized window is followed), because a wrapped line is not redrawn
 * in place but adds a line at each update.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"
#include "util.h"

/* Columns of the terminal on stderr: the tty's size, else $COLUMNS. */
static size_t
term_width(void)
{
	struct winsize ws;
	const char *c = getenv("COLUMNS");

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	if (c != NULL && atoi(c) > 0)
		return (size_t)atoi(c);
	return 80;
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
	p->base = 0;
	p->start = p->last = mono();
}

void
herald_progress_update(struct herald_progress *p, size_t done,
    size_t deferred, size_t failed)
{
	double t = mono(), el = t - p->start, rate;
	char eta[32] = "";
	size_t run = done;

	if (!p->tty && !p->verbose)
		return;
	done += p->base;
	/* A terminal is redrawn 10 times a second, a pipe once a second. */
	if (t - p->last < (p->tty ? 0.1 : 1.0) && !(p->total && done == p->total))
		return;
	p->last = t;
	rate = el > 0 ? run / el : 0;
	if (p->total && rate > 0 && done < p->total) {
		long s = (long)((p->total - done) / rate);
		snprintf(eta, sizeof(eta), " ETA %ld:%02ld", s / 60, s % 60);
	}
	if (p->tty) {
		char tail[160], line[400], bar[41];
		size_t width = term_width(), room, barw = 0, fill, n;
		int len;

		len = snprintf(tail, sizeof(tail), " %zu/%zu", done, p->total);
		if (deferred)
			len += snprintf(tail + len, sizeof(tail) - (size_t)len,
			    " %zu deferred", deferred);
		if (failed)
			len += snprintf(tail + len, sizeof(tail) - (size_t)len,
			    " %zu failed", failed);
		snprintf(tail + len, sizeof(tail) - (size_t)len, " %.0f/s%s",
		    rate, eta);
		/* the last column stays free: writing there wraps on some
		 * terminals */
		n = strlen(p->label) + strlen(tail) + 3;
		room = width > n + 1 ? width - n - 1 : 0;
		if (room >= 10)
			barw = room > 40 ? 40 : room;
		fill = p->total && barw ? (done > p->total ? p->total : done) *
		    barw / p->total : 0;
		for (size_t i = 0; i < barw; i++)
			bar[i] = i < fill ? '=' : ' ';
		bar[barw] = '\0';
		if (barw)
			snprintf(line, sizeof(line), "%s [%s]%s", p->label, bar,
			    tail);
		else
			snprintf(line, sizeof(line), "%s%s", p->label, tail);
		if (width > 1 && strlen(line) > width - 1)
			line[width - 1] = '\0';
		fprintf(stderr, "\r%s\033[K", line);
	} else {
		fprintf(stderr, "%s: %zu/%zu", p->label, done, p->total);
		if (deferred)
			fprintf(stderr, " %zu deferred", deferred);
		if (failed)
			fprintf(stderr, " %zu failed", failed);
		fprintf(stderr, " %.0f/s%s\n", rate, eta);
	}
	p->shown = true;
}

void
herald_progress_end(struct herald_progress *p)
{
	if (p->tty && p->shown)
		fputs("\r\033[K", stderr);
	p->shown = false;
}
