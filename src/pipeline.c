/*
 * pipeline.c - walk, filter, build once, put to every backend (see
 * pipeline.h).
 */
#include "pipeline.h"

#include <stdlib.h>
#include <string.h>

static int
pipe_one(void *arg, const struct herald_recipient *r)
{
	struct herald_pipeline *p = arg;
	int rc;

	if (p->want != NULL && (rc = p->want(p->arg, r)) != 0)
		return rc == HERALD_PIPE_SKIP ? 0 : rc;
	if (p->to_addr != NULL) {
		/* that row's personalisation, addressed to to_addr */
		struct herald_recipient copy = *r;
		const char **vals = xcalloc(r->ncols ? r->ncols : 1,
		    sizeof(*vals));

		for (size_t i = 0; i < r->ncols; i++)
			vals[i] = strcmp(r->cols[i], "email") == 0 ?
			    p->to_addr : r->values[i];
		copy.email = p->to_addr;
		copy.values = vals;
		rc = herald_campaign_message(p->c, &copy, p->date,
		    p->subject_prefix, &p->msg, p->e);
		free(vals);
	} else
		rc = herald_campaign_message(p->c, r, p->date,
		    p->subject_prefix, &p->msg, p->e);
	if (rc != 0)
		return rc;
	if (p->built != NULL)
		p->built(p->arg, r, &p->msg);
	for (size_t i = 0; i < p->nbe && rc == 0; i++)
		rc = herald_backend_put(p->be[i], r, &p->msg, p->e);
	return rc;
}

int
herald_pipeline_run(struct herald_pipeline *p, struct herald_err *e)
{
	p->e = e;
	return herald_campaign_each(p->c, pipe_one, p, e);
}

int
herald_pipeline_one(struct herald_pipeline *p, const struct herald_recipient *r,
    struct herald_err *e)
{
	p->e = e;
	return pipe_one(p, r);
}

void
herald_pipeline_free(struct herald_pipeline *p)
{
	herald_message_free(&p->msg);
}
