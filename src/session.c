/*
 * session.c - finding and resolving session times in post text.
 * Placeholder until the session-times issue lands: finds nothing.
 */
#include "session.h"

#include <stdlib.h>

int
herald_sessions_scan(const struct herald_sessions_ctx *ctx, const char *text,
    size_t len, int line, struct herald_time_match **out, size_t *nout,
    struct herald_err *e)
{
	(void)ctx, (void)text, (void)len, (void)line, (void)e;
	*out = NULL;
	*nout = 0;
	return 0;
}

void
herald_time_matches_free(struct herald_time_match *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		herald_session_free(&m[i].s);
	free(m);
}

void
herald_session_copy(struct herald_session *dst, const struct herald_session *src)
{
	dst->line = src->line;
	dst->orig = xstrdup(src->orig);
	dst->utc = src->utc;
	dst->zone = xstrdup(src->zone);
}

void
herald_session_free(struct herald_session *s)
{
	free(s->orig);
	free(s->zone);
	s->orig = s->zone = NULL;
}
