/*
 * clip.c - how close each reader's HTML part comes to the size at which
 * Gmail clips a message (clip.h says where the figure comes from).
 */
#define _GNU_SOURCE        /* memrchr */
#include "clip.h"
#include "pipeline.h"

#include <stdlib.h>
#include <string.h>

/* mime.c's boundaries start "=_herald_", which quoted-printable cannot
 * produce, and the HTML part is the last of multipart/alternative. */
#define DELIM "\r\n--=_herald_"

/* The last pat that ends at or before end, or NULL: memrchr finds each
 * candidate first byte (a CR; quoted-printable lines are at most 76
 * octets), one comparison there. */
static const char *
last_before(const char *s, const char *end, const char *pat)
{
	size_t k = strlen(pat);
	const char *p;

	if ((size_t)(end - s) < k)
		return NULL;
	for (size_t n = (size_t)(end - s) - k + 1;
	    (p = memrchr(s, pat[0], n)) != NULL; n = (size_t)(p - s))
		if (memcmp(p, pat, k) == 0)
			return p;
	return NULL;
}

size_t
herald_clip_html_size(const struct herald_message *m)
{
	const char *s = m->eml.data, *end, *start, *body;

	if (s == NULL || m->html.len == 0)
		return 0;
	end = last_before(s, s + m->eml.len, DELIM);
	start = end ? last_before(s, end, DELIM) : NULL;
	if (start == NULL)
		return 0;
	body = strstr(start + 2, "\r\n\r\n");
	if (body == NULL || body + 4 > end)
		return 0;
	return (size_t)(end - (body + 4));
}

void
herald_clip_note(struct herald_clip *k, const struct herald_recipient *r,
    const struct herald_message *m)
{
	size_t n = herald_clip_html_size(m);

	if (n > HERALD_CLIP_BYTES)
		k->over++;
	if (n > k->max) {
		k->max = n;
		free(k->addr);
		k->addr = xstrdup(r->email);
	}
}

void
herald_clip_sample(struct herald_recipient *r)
{
	static const char *const cols[] = { "email" };
	static const char *const vals[] = { "subscriber@example.org" };

	memset(r, 0, sizeof(*r));
	r->email = vals[0];
	r->name = "";
	r->ncols = 1;
	r->cols = cols;
	r->values = vals;
}

/* check's measure: the pipeline (pipeline.h) with no backend, HTML
 * readers only, each message noted as it is built. */
static int
measure_want(void *arg, const struct herald_recipient *r)
{
	(void)arg;
	return r->text_only ? HERALD_PIPE_SKIP : 0;
}

static void
measure_built(void *arg, const struct herald_recipient *r,
    const struct herald_message *m)
{
	herald_clip_note(arg, r, m);
}

int
herald_clip_measure(struct herald_campaign *c, time_t date,
    struct herald_clip *k, struct herald_err *e)
{
	struct herald_pipeline p = { .c = c, .date = date,
	    .want = measure_want, .built = measure_built, .arg = k };
	bool sign_later = c->sign_later;
	int rc;

	c->sign_later = true;	/* a signature is a header: not measured */
	if (c->list_path)
		rc = herald_pipeline_run(&p, e);
	else {
		struct herald_recipient r;

		herald_clip_sample(&r);
		rc = herald_pipeline_one(&p, &r, e);
	}
	c->sign_later = sign_later;
	herald_pipeline_free(&p);
	return rc;
}

void
herald_clip_free(struct herald_clip *k)
{
	free(k->addr);
	k->addr = NULL;
}
