/*
 * campaign.c - the pipeline: post + list -> one MIME message per recipient.
 *
 * Everything that does not depend on the recipient is done once in
 * herald_campaign_open(): config, post, the cmark tree, both templates,
 * a full validation pass over the list.  What depends only on the
 * recipient's (zone, locale) - the localized session times and the two
 * rendered bodies - is done once per distinct pair and cached.  Per
 * recipient there is only template substitution and MIME encoding.
 */
#include "campaign.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dkim.h"
#include "localtime.h"
#include "mime.h"
#include "pieces.h"
#include "suggest.h"
#include "suppress.h"
#include "template.h"
#include "token.h"

/* A rendered body as pieces shared with the other variants (pieces.h),
 * each with its quoted-printable encoding. */
struct body {
	const struct herald_piece **pc;
	size_t n;
	size_t len;          /* the whole text's length */
};

struct herald_variant {
	char *zone;          /* NULL: the post's zone */
	char *locale;        /* NULL: default */
	uint64_t key;
	struct body html;    /* rendered body fragment */
	struct body text;    /* rendered plain-text body */
	char *lang_of;       /* the reader locale lang/rtl were made for */
	char lang[64];       /* herald_locale_html(lang_of) */
	bool rtl;
	char **times;        /* each session time as this pair reads it */
	size_t ntimes;
};

/* Keys the templates may use besides subscriber columns. */
static const char *const post_keys[] = { "title", "subject", "summary", "date" };
static const char *const site_keys[] = { "title", "base_url" };
static const char *const sub_fixed[] = { "email", "name", "timezone", "locale", "format" };
static const char *const root_keys[] = { "post", "site", "subscriber", "content",
	"unsubscribe_url", "lang", "dir" };

/*
 * The list file for --list ARG: ARG itself if it exists, else for a bare
 * name lists/NAME.csv.  A list that is not there is named with the closest
 * one that is ("did you mean lists/weekly.csv?").
 */
static int
find_list(const char *arg, char **out, struct herald_err *e)
{
	const char *slash = strrchr(arg, '/');
	size_t n = strlen(arg);
	bool has_ext = n > 4 && strcmp(arg + n - 4, ".csv") == 0;
	char *dir, *name, *want, near[600];

	*out = NULL;
	if (access(arg, F_OK) == 0) {
		*out = xstrdup(arg);
		return 0;
	}
	if (slash == NULL) {
		want = xasprintf("lists/%s%s", arg, has_ext ? "" : ".csv");
		if (access(want, F_OK) == 0) {
			*out = want;
			return 0;
		}
		dir = xstrdup("lists");
	} else {
		want = xstrdup(arg);
		dir = xstrndup(arg, (size_t)(slash - arg));
	}
	name = herald_suppress_list_name(want);
	if (herald_suggest_list(dir, name, near, sizeof(near)))
		herald_errf(e, EX_NOINPUT, want, 0, "no such list; did you mean "
		    "%s?", near);
	else
		herald_errf(e, EX_NOINPUT, want, 0, "no such list");
	free(dir);
	free(name);
	free(want);
	return EX_NOINPUT;
}

static int
load_template(const struct herald_campaign *c, const char *name,
    enum herald_tpl_escape esc, struct herald_tpl **out, struct herald_err *e)
{
	char *path = xasprintf("%s/%s", c->cfg.templates_dir, name);
	struct hbuf b = HBUF_INIT;
	struct stat st;
	size_t bad;
	int rc;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		rc = herald_errf(e, EX_DATAERR, path, 0,
		    "template is a directory, not a file");
		goto out;
	}
	if ((rc = read_file(path, &b, e)) != 0) {
		/* A missing template is a problem with the input, not the OS.
		 * (Copy the reason first: e->msg is the buffer written.) */
		char why[sizeof(e->msg)];

		snprintf(why, sizeof(why), "%s", e->msg);
		herald_errf(e, EX_DATAERR, path, 0, "missing template (%s)",
		    why);
		goto out;
	}
	if (!utf8_valid(b.data, b.len, &bad)) {
		rc = herald_errf(e, EX_DATAERR, path, line_of_offset(b.data, bad),
		    "invalid UTF-8");
		goto out;
	}
	rc = herald_tpl_compile(b.data, b.len, path, esc, out, e);
out:
	if (rc != 0)
		rc = EX_DATAERR;
	free(path);
	hbuf_free(&b);
	return rc;
}

static void
set_str(struct hval *v, const char *s)
{
	v->type = s ? HVAL_STR : HVAL_NULL;
	v->s = s;
}

static void
set_map(struct hval *v, const char *const *keys, const struct hval *items,
    size_t n)
{
	v->type = HVAL_MAP;
	v->keys = keys;
	v->items = items;
	v->n = n;
}

/*
 * The value tree every template sees.  Built per recipient on the stack of
 * the caller: it only points at strings owned elsewhere.
 */
struct tplctx {
	struct hval root;
	struct hval root_items[7];
	struct hval post[4];
	struct hval site[2];
	const char **sub_keys;
	struct hval *sub;
	size_t nsub;
	char **cols;          /* copies of the list's column names */
	size_t ncols;
	size_t *col_of;       /* sub[k] (k >= 5) is the value of column col_of[k] */
	char date[16];
};

static void
tplctx_init(struct tplctx *t, const struct herald_campaign *c,
    const char *const *cols, size_t ncols)
{
	memset(t, 0, sizeof(*t));
	if (c->post.year)
		snprintf(t->date, sizeof(t->date), "%04d-%02d-%02d",
		    c->post.year, c->post.month, c->post.day);
	set_str(&t->post[0], c->post.title);
	set_str(&t->post[1], c->post.subject);
	set_str(&t->post[2], c->post.summary);
	set_str(&t->post[3], c->post.year ? t->date : NULL);
	set_str(&t->site[0], c->cfg.site_title);
	set_str(&t->site[1], c->cfg.site_base_url);

	/* subscriber: the fixed names, then any other column of the list */
	t->sub_keys = xcalloc(5 + ncols, sizeof(*t->sub_keys));
	t->sub = xcalloc(5 + ncols, sizeof(*t->sub));
	t->col_of = xcalloc(5 + ncols, sizeof(*t->col_of));
	t->cols = xcalloc(ncols + 1, sizeof(*t->cols));
	t->ncols = ncols;
	for (size_t i = 0; i < 5; i++)
		t->sub_keys[t->nsub++] = sub_fixed[i];
	for (size_t i = 0; i < ncols; i++) {
		bool fixed = false;
		t->cols[i] = xstrdup(cols[i]);
		for (size_t k = 0; k < 5; k++)
			if (ascii_ieq(cols[i], sub_fixed[k]))
				fixed = true;
		if (!fixed) {
			t->col_of[t->nsub] = i;
			t->sub_keys[t->nsub++] = t->cols[i];
		}
	}
	set_map(&t->root_items[0], post_keys, t->post, 4);
	set_map(&t->root_items[1], site_keys, t->site, 2);
	set_map(&t->root_items[2], t->sub_keys, t->sub, t->nsub);
	set_map(&t->root, root_keys, t->root_items, 7);
}

static void
tplctx_free(struct tplctx *t)
{
	for (size_t i = 0; i < t->ncols; i++)
		free(t->cols[i]);
	free(t->cols);
	free(t->col_of);
	free(t->sub_keys);
	free(t->sub);
}

/* Was t built for these columns? */
static bool
tplctx_fits(const struct tplctx *t, const char *const *cols, size_t ncols)
{
	if (t->ncols != ncols)
		return false;
	for (size_t i = 0; i < ncols; i++)
		if (strcmp(t->cols[i], cols[i]) != 0)
			return false;
	return true;
}

/* Point the subscriber map at r's values. */
static void
tplctx_recipient(struct tplctx *t, const struct herald_recipient *r)
{
	set_str(&t->sub[0], r->email);
	set_str(&t->sub[1], r->name && r->name[0] ? r->name : NULL);
	set_str(&t->sub[2], r->timezone);
	set_str(&t->sub[3], r->locale);
	set_str(&t->sub[4], r->text_only ? "text" : "html");
	for (size_t k = 5; k < t->nsub; k++) {
		const char *v = r->values[t->col_of[k]];
		set_str(&t->sub[k], v[0] ? v : NULL);
	}
}

/* Every variable the templates use must be one herald provides. */
static int
check_templates(struct herald_campaign *c, const char *const *cols,
    size_t ncols, struct herald_err *e)
{
	struct tplctx t;
	int rc;

	tplctx_init(&t, c, cols, ncols);
	for (size_t i = 0; i < 4; i++)
		set_str(&t.post[i], "x");
	for (size_t i = 0; i < 2; i++)
		set_str(&t.site[i], "x");
	for (size_t i = 0; i < t.nsub; i++)
		set_str(&t.sub[i], "x");
	set_str(&t.root_items[3], "x");
	set_str(&t.root_items[4], "x");
	set_str(&t.root_items[5], "x");
	set_str(&t.root_items[6], "x");
	rc = herald_tpl_check(c->tpl_html, &t.root, e);
	if (rc == 0)
		rc = herald_tpl_check(c->tpl_text, &t.root, e);
	tplctx_free(&t);
	return rc ? EX_DATAERR : 0;
}

int
herald_campaign_open(const struct herald_campaign_opts *o,
    struct herald_campaign **out, struct herald_err *e)
{
	struct herald_campaign *c = xcalloc(1, sizeof(*c));
	const char *const *cols = NULL;
	size_t ncols = 0;
	struct herald_list *l = NULL;
	unsigned char h[32];
	struct hbuf idb = HBUF_INIT;
	int rc;

	*out = NULL;
	if ((rc = herald_config_load(o->config_path, &c->cfg, e)) != 0)
		goto fail;
	if ((rc = herald_dkim_open(&c->cfg, &c->dkim, e)) != 0)
		goto fail;
	if ((rc = herald_post_load(o->post_path, &c->cfg, o->date, &c->post, e)) != 0)
		goto fail;
	if ((rc = herald_doc_parse(&c->post, &c->cfg, &c->doc, e)) != 0)
		goto fail;
	if ((rc = load_template(c, "default.html", HERALD_TPL_HTML, &c->tpl_html, e)) != 0 ||
	    (rc = load_template(c, "default.txt", HERALD_TPL_TEXT, &c->tpl_text, e)) != 0)
		goto fail;

	if (o->list_path != NULL) {
		if ((rc = find_list(o->list_path, &c->list_path, e)) != 0)
			goto fail;
		c->list_name = herald_suppress_list_name(c->list_path);
		if ((rc = herald_list_validate_all(c->list_path, &c->stats,
		    o->warn, o->bad_row, o->warn_arg, e)) != 0)
			goto fail;
		if ((rc = herald_list_open(c->list_path, &l, e)) != 0)
			goto fail;
		cols = herald_list_columns(l, &ncols);
	}
	if ((rc = check_templates(c, cols, ncols, e)) != 0)
		goto fail;
	herald_list_close(l);
	l = NULL;

	/* Campaign id: the post's name (or its campaign: outright) and the
	 * list's name, not their contents, so that fixing a typo keeps the
	 * same Message-IDs, while two posts (two page bundles, both
	 * index.md) are never one campaign. */
	if (c->post.campaign != NULL) {
		hbuf_puts(&idb, "campaign:");
		hbuf_puts(&idb, c->post.campaign);
	} else
		hbuf_puts(&idb, c->post.slug);
	hbuf_putc(&idb, '\0');
	hbuf_puts(&idb, c->list_name ? c->list_name : "");
	sha256(idb.data, idb.len, h);
	hbuf_free(&idb);
	hex_encode(h, 8, c->id);

	if ((rc = herald_tokens_open(c->cfg.state_dir, true, &c->tokens, e)) != 0)
		goto fail;
	if (c->list_path != NULL && (rc = herald_suppress_open(c->cfg.state_dir,
	    o->readonly, &c->sup, e)) != 0)
		goto fail;
	{
		struct hbuf lid = HBUF_INIT;

		if (c->cfg.site_title) {
			/* raw: mime.c encodes the phrase (once) */
			hbuf_puts(&lid, c->cfg.site_title);
			hbuf_putc(&lid, ' ');
		}
		hbuf_printf(&lid, "<%s>", c->cfg.list_id);
		c->list_id_hdr = hbuf_detach(&lid);
	}
	*out = c;
	return 0;
fail:
	herald_list_close(l);
	herald_campaign_free(c);
	return rc;
}

static void
variant_free(struct herald_variant *v)
{
	if (v == NULL)
		return;
	free(v->zone);
	free(v->locale);
	free(v->html.pc);
	free(v->text.pc);
	free(v->lang_of);
	for (size_t i = 0; i < v->ntimes; i++)
		free(v->times[i]);
	free(v->times);
	free(v);
}

void
herald_campaign_free(struct herald_campaign *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->variants_cap; i++)
		variant_free(c->variants[i]);
	free(c->variants);
	herald_pieces_free(c->pieces);
	if (c->tctx != NULL) {
		tplctx_free(c->tctx);
		free(c->tctx);
	}
	free(c->list_id_hdr);
	herald_dkim_free(c->dkim);
	herald_tpl_free(c->tpl_html);
	herald_tpl_free(c->tpl_text);
	herald_doc_free(c->doc);
	herald_post_free(&c->post);
	herald_config_free(&c->cfg);
	herald_tokens_free(c->tokens);
	herald_suppress_close(c->sup);
	free(c->list_path);
	free(c->list_name);
	free(c);
}

static bool
streq_null(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/*
 * The rendered bodies for (zone, locale).  Kept in an open-addressing
 * table sized to a power of two, so a list with hundreds of distinct pairs
 * costs one hash per recipient.
 */
static int
get_variant(struct herald_campaign *c, const char *zone, const char *locale,
    struct herald_variant **out, struct herald_err *e)
{
	size_t ntimes = herald_doc_ntimes(c->doc);
	struct herald_variant *v;
	struct hbuf kb = HBUF_INIT;
	uint64_t key;
	size_t cap, i;

	/* Without session times every recipient reads the same body. */
	if (ntimes == 0)
		zone = locale = NULL;
	else if (zone == NULL)
		zone = c->post.timezone;
	hbuf_puts(&kb, zone ? zone : "");
	hbuf_putc(&kb, '\0');
	hbuf_puts(&kb, locale ? locale : "");
	key = hash64(kb.data, kb.len);
	hbuf_free(&kb);

	cap = c->variants_cap;
	if (c->variants) {
		for (i = key & (cap - 1); c->variants[i]; i = (i + 1) & (cap - 1)) {
			v = c->variants[i];
			if (v->key == key && streq_null(v->zone, zone) &&
			    streq_null(v->locale, locale)) {
				*out = v;
				return 0;
			}
		}
	}

	v = xcalloc(1, sizeof(*v));
	v->zone = xstrdup(zone);
	v->locale = xstrdup(locale);
	v->key = key;
	{
		struct herald_localized *loc = NULL;
		const char **hs = NULL, **ts = NULL;
		struct hbuf hb = HBUF_INIT, tb = HBUF_INIT;
		int rc;

		if (ntimes > 0) {
			struct herald_when *arr = xcalloc(ntimes, sizeof(*arr));

			for (size_t k = 0; k < ntimes; k++) {
				const struct herald_session *t =
				    herald_doc_time(c->doc, k);
				arr[k] = (struct herald_when){ t->utc, t->has_end,
				    t->utc_end, t->recurring, t->zone };
			}
			loc = xcalloc(ntimes, sizeof(*loc));
			rc = herald_localize(arr, ntimes, zone, locale,
			    c->cfg.time_skeleton, loc, e);
			free(arr);
			if (rc != 0) {
				free(loc);
				variant_free(v);
				return rc;
			}
			hs = xcalloc(ntimes, sizeof(*hs));
			ts = xcalloc(ntimes, sizeof(*ts));
			v->times = xcalloc(ntimes, sizeof(*v->times));
			v->ntimes = ntimes;
			for (size_t k = 0; k < ntimes; k++) {
				hs[k] = herald_render_time(loc[k].datetime,
				    herald_doc_time(c->doc, k)->orig, loc[k].text);
				ts[k] = loc[k].text;
				v->times[k] = xstrdup(loc[k].text);
			}
		}
		herald_render_html(c->doc, hs, &hb);
		herald_render_text(c->doc, ts, &tb);
		/* kept as pieces shared between variants: what differs
		 * is only where the times are */
		if (c->pieces == NULL)
			c->pieces = herald_pieces_new(herald_mime_qp);
		v->html.n = herald_pieces_cut(c->pieces, hb.data ? hb.data :
		    "", hb.len, &v->html.pc);
		v->html.len = hb.len;
		v->text.n = herald_pieces_cut(c->pieces, tb.data ? tb.data :
		    "", tb.len, &v->text.pc);
		v->text.len = tb.len;
		hbuf_free(&hb);
		hbuf_free(&tb);
		for (size_t k = 0; hs != NULL && k < ntimes; k++)
			free((char *)hs[k]);
		free(hs);
		free(ts);
		herald_localized_free(loc, ntimes);
		free(loc);
	}

	/* Insert, growing the table at half load. */
	if (c->nvariants + 1 > cap / 2) {
		size_t ncap = cap ? cap * 2 : 16;
		struct herald_variant **nt = xcalloc(ncap, sizeof(*nt));

		while (ncap < (c->nvariants + 1) * 2)
			ncap *= 2;
		for (size_t k = 0; k < cap; k++) {
			struct herald_variant *x = c->variants[k];
			if (x == NULL)
				continue;
			for (i = x->key & (ncap - 1); nt[i]; i = (i + 1) & (ncap - 1))
				;
			nt[i] = x;
		}
		free(c->variants);
		c->variants = nt;
		c->variants_cap = cap = ncap;
	}
	for (i = key & (cap - 1); c->variants[i]; i = (i + 1) & (cap - 1))
		;
	c->variants[i] = v;
	c->nvariants++;
	*out = v;
	return 0;
}

char *
herald_campaign_message_id(const struct herald_campaign *c, const char *addr)
{
	struct hbuf b = HBUF_INIT;
	unsigned char h[32];
	char hex[65];
	char *lower = xstrdup(addr);

	ascii_lower(lower);
	hbuf_puts(&b, c->id);
	hbuf_putc(&b, '\0');
	hbuf_puts(&b, lower);
	sha256(b.data, b.len, h);
	hex_encode(h, 16, hex);
	hbuf_reset(&b);
	hbuf_printf(&b, "%s.%s@%s", c->id, hex, c->cfg.from_domain);
	free(lower);
	return hbuf_detach(&b);
}

/*
 * A part's body as spans for herald_mime_build: the template's output
 * around {{{content}}} (raw, encoded per reader) and the variant's content
 * (encoded once).  Rendered with SENTINEL in place of the content; that is
 * only valid when each content starts and ends at a line break (quoted-
 * printable is line by line) and the template puts it in raw.
 */
#define SENTINEL "\001&\001"

/* The spans of one part: the template's own text (raw) and the body's
 * pieces (encoded, with their raw text for preview). */
struct spans {
	struct herald_mime_span *sp;
	const char **raw;               /* content spans: the unencoded text */
	size_t *rawlen;
	size_t n, cap;
	size_t len;                     /* unencoded length of the whole */
};

static void
spans_add(struct spans *s, const char *data, size_t len, bool encoded,
    const char *raw, size_t rawlen)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->sp = xrealloc(s->sp, s->cap * sizeof(*s->sp));
		s->raw = xrealloc(s->raw, s->cap * sizeof(*s->raw));
		s->rawlen = xrealloc(s->rawlen, s->cap * sizeof(*s->rawlen));
	}
	s->sp[s->n] = (struct herald_mime_span){ data, len, encoded };
	s->raw[s->n] = raw;
	s->rawlen[s->n++] = rawlen;
	s->len += encoded ? rawlen : len;
}

static void
spans_free(struct spans *s)
{
	free(s->sp);
	free(s->raw);
	free(s->rawlen);
}

/* The whole body as text (for the rare reader the spans cannot serve). */
static void
body_join(const struct body *b, struct hbuf *out)
{
	hbuf_reset(out);
	hbuf_grow(out, b->len);
	for (size_t i = 0; i < b->n; i++)
		hbuf_put(out, b->pc[i]->raw, b->pc[i]->rawlen);
}

/* Could a reader's value be taken for the sentinel? */
static bool
holds_sentinel(const struct herald_recipient *r, const char *url)
{
	if (strchr(url, '\001'))
		return true;
	for (size_t i = 0; i < r->ncols; i++)
		if (r->values[i] && strchr(r->values[i], '\001'))
			return true;
	return r->email && strchr(r->email, '\001');
}

static const char *
find_sentinel(const struct hbuf *b, size_t at)
{
	const char *p = b->data + at, *end = b->data + b->len;

	while (p && p < end && (p = memchr(p, '\001', (size_t)(end - p))) !=
	    NULL) {
		if ((size_t)(end - p) >= sizeof(SENTINEL) - 1 &&
		    memcmp(p, SENTINEL, sizeof(SENTINEL) - 1) == 0)
			return p;
		p++;
	}
	return NULL;
}

static void
render_whole(const struct herald_tpl *tpl, struct tplctx *t,
    const struct body *b, struct hbuf *out)
{
	struct hbuf content = HBUF_INIT;

	body_join(b, &content);
	hbuf_reset(out);
	set_str(&t->root_items[3], hbuf_cstr(&content));
	herald_tpl_render(tpl, &t->root, out);
	set_str(&t->root_items[3], "");
	hbuf_free(&content);
}

static bool
render_spans(const struct herald_tpl *tpl, struct tplctx *t,
    const struct body *b, struct hbuf *out, struct spans *s)
{
	size_t sl = sizeof(SENTINEL) - 1, at = 0, uses = 0;
	const struct herald_piece *last = b->n ? b->pc[b->n - 1] : NULL;
	const char *p;

	if (last == NULL || last->rawlen == 0 ||
	    last->raw[last->rawlen - 1] != '\n')
		return false;
	hbuf_reset(out);
	set_str(&t->root_items[3], SENTINEL);
	herald_tpl_render(tpl, &t->root, out);
	s->n = 0;
	s->len = 0;
	while ((p = find_sentinel(out, at)) != NULL) {
		size_t off = (size_t)(p - out->data);

		/* a template that repeats the content more than a few times
		 * is rendered whole */
		if (++uses > 3 || (off > 0 && out->data[off - 1] != '\n')) {
			s->n = 0;
			return false;
		}
		if (off > at)
			spans_add(s, out->data + at, off - at, false, NULL, 0);
		for (size_t i = 0; i < b->n; i++)
			spans_add(s, b->pc[i]->enc, b->pc[i]->enclen, true,
			    b->pc[i]->raw, b->pc[i]->rawlen);
		at = off + sl;
	}
	if (s->n == 0)
		return false;
	if (out->len > at)
		spans_add(s, out->data + at, out->len - at, false, NULL, 0);
	return true;
}

int
herald_campaign_message(struct herald_campaign *c,
    const struct herald_recipient *r, time_t date, const char *subject_prefix,
    struct herald_message *out, struct herald_err *e)
{
	struct herald_variant *v;
	struct hbuf html = HBUF_INIT, text = HBUF_INIT, url = HBUF_INIT,
	    lu = HBUF_INIT, subj = HBUF_INIT;
	struct herald_mail m = {0};
	struct tplctx *t;
	struct spans tsp = {0}, hsp = {0};
	char *token;
	bool spans_ok;
	int rc;

	free(out->to_addr);
	free(out->message_id);
	out->to_addr = xstrdup(r->email);
	if (subject_prefix != NULL) {
		/* A test copy is not the issue: a Message-ID of its own, so
		 * that a mailbox dropping repeated IDs (Gmail does) keeps
		 * the real one when the tester is also a subscriber. */
		char *mid = herald_campaign_message_id(c, r->email);
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		out->message_id = xasprintf("test.%lld.%ld.%ld.%s",
		    (long long)ts.tv_sec, ts.tv_nsec, (long)getpid(), mid);
		free(mid);
	} else
		out->message_id = herald_campaign_message_id(c, r->email);
	hbuf_reset(&out->eml);
	hbuf_reset(&out->html);

	if ((rc = get_variant(c, r->timezone, r->locale, &v, e)) != 0)
		return rc;

	/* One URL for the header and both parts' footers. */
	token = herald_token_make(c->tokens, c->list_name, r->email);
	{
		char *u = herald_token_url(c->cfg.unsubscribe_url, token);
		hbuf_puts(&url, u);
		free(u);
	}
	hbuf_printf(&lu, "<%s>", hbuf_cstr(&url));
	if (c->cfg.unsubscribe_mailto) {
		char *mt = herald_token_mailto(c->cfg.unsubscribe_mailto, token);
		hbuf_printf(&lu, ", <%s>", mt);
		free(mt);
	}
	free(token);

	/* The value tree's shape depends only on the list's columns: build it
	 * once, then point it at each row. */
	if (c->tctx == NULL || !tplctx_fits(c->tctx, r->cols, r->ncols)) {
		if (c->tctx != NULL)
			tplctx_free(c->tctx);
		else
			c->tctx = xmalloc(sizeof(*c->tctx));
		tplctx_init(c->tctx, c, r->cols, r->ncols);
	}
	t = c->tctx;
	tplctx_recipient(t, r);
	set_str(&t->root_items[4], hbuf_cstr(&url));
	/* lang= and dir= of the HTML part follow the reader's locale */
	/* (asked of ICU once per variant and locale spelling, not per reader) */
	if (v->lang_of == NULL || strcmp(v->lang_of, r->locale ? r->locale :
	    "\001") != 0) {
		free(v->lang_of);
		v->lang_of = xstrdup(r->locale ? r->locale : "\001");
		herald_locale_html(r->locale, v->lang, &v->rtl);
	}
	set_str(&t->root_items[5], v->lang);
	set_str(&t->root_items[6], v->rtl ? "rtl" : "ltr");
	/* The variant's body is encoded once (its pieces); per reader only
	 * the template around it (greeting, footer, links) is rendered and
	 * encoded. */
	spans_ok = !holds_sentinel(r, hbuf_cstr(&url));
	if (!r->text_only) {
		if (!(spans_ok && render_spans(c->tpl_html, t, &v->html,
		    &html, &hsp)))
			render_whole(c->tpl_html, t, &v->html, &html);
	}
	if (!(spans_ok && render_spans(c->tpl_text, t, &v->text, &text,
	    &tsp)))
		render_whole(c->tpl_text, t, &v->text, &text);
	if (subject_prefix)
		hbuf_puts(&subj, subject_prefix);
	hbuf_puts(&subj, c->post.subject);

	m.from_name = c->cfg.from_name;
	m.from_addr = c->cfg.from_addr;
	m.to_name = r->name;
	m.to_addr = r->email;
	m.reply_to = c->cfg.reply_to;
	m.subject = hbuf_cstr(&subj);
	m.date = date;
	m.date_gmtoff = 0;
	m.message_id = out->message_id;
	m.list_id = c->list_id_hdr;
	m.list_unsubscribe = hbuf_cstr(&lu);
	m.text = hbuf_cstr(&text);
	m.text_len = text.len;
	m.html = r->text_only ? NULL : hbuf_cstr(&html);
	m.html_len = html.len;
	m.boundary_seed = out->message_id;
	if (tsp.n) {
		m.text_spans = tsp.sp;
		m.text_nspans = tsp.n;
		m.text_len = tsp.len;
	}
	if (hsp.n) {
		m.html_spans = hsp.sp;
		m.html_nspans = hsp.n;
		m.html_len = hsp.len;
	}
	rc = herald_mime_build(&m, &out->eml, e);
	if (rc == 0 && c->dkim != NULL && !c->sign_later)
		rc = herald_dkim_sign(c->dkim, &out->eml, e);
	if (rc != 0 && e->file[0] == '\0' && c->list_path)
		/* name the row, not the field */
		herald_errf(e, rc, c->list_path, r->line, "%s", e->msg);
	if (rc == 0 && !r->text_only && hsp.n) {
		/* the whole HTML part, for preview */
		for (size_t i = 0; i < hsp.n; i++)
			if (hsp.raw[i])
				hbuf_put(&out->html, hsp.raw[i], hsp.rawlen[i]);
			else
				hbuf_put(&out->html, hsp.sp[i].data,
				    hsp.sp[i].len);
	} else if (rc == 0 && !r->text_only)
		hbuf_put(&out->html, html.data ? html.data : "", html.len);
	hbuf_reset(&out->text);
	if (rc == 0 && r->text_only) {
		/* the whole text part, for preview's view of a text-only reader */
		for (size_t i = 0; i < tsp.n; i++)
			hbuf_put(&out->text, tsp.raw[i] ? tsp.raw[i] :
			    tsp.sp[i].data, tsp.raw[i] ? tsp.rawlen[i] :
			    tsp.sp[i].len);
		if (tsp.n == 0)
			hbuf_put(&out->text, text.data ? text.data : "",
			    text.len);
	}
	out->times = (const char *const *)v->times;
	out->ntimes = v->ntimes;

	hbuf_free(&html);
	hbuf_free(&text);
	hbuf_free(&url);
	hbuf_free(&lu);
	hbuf_free(&subj);
	spans_free(&hsp);
	spans_free(&tsp);
	return rc;
}

void
herald_message_free(struct herald_message *m)
{
	free(m->to_addr);
	free(m->message_id);
	hbuf_free(&m->eml);
	hbuf_free(&m->html);
	hbuf_free(&m->text);
	m->to_addr = m->message_id = NULL;
}

int
herald_campaign_each(struct herald_campaign *c, herald_rcpt_fn fn, void *arg,
    struct herald_err *e)
{
	return herald_campaign_each_sup(c, fn, NULL, arg, e);
}

int
herald_campaign_each_sup(struct herald_campaign *c, herald_rcpt_fn fn,
    herald_rcpt_fn suppressed_fn, void *arg, struct herald_err *e)
{
	struct herald_list *l;
	struct herald_recipient r;
	struct herald_list_dups *seen;
	struct herald_supset *sup = NULL;
	int rc;

	if (c->list_path == NULL)
		return herald_errf(e, EX_USAGE, NULL, 0, "no list given (--list)");
	if ((rc = herald_list_open(c->list_path, &l, e)) != 0)
		return rc;
	c->nsuppressed = 0;
	/* the suppressions as they are when the walk starts: one query */
	if ((rc = herald_suppress_snapshot(c->sup, c->list_name, &sup, e)) != 0) {
		herald_list_close(l);
		return rc;
	}
	/* sized from the validation pass: no growing on the way; the first
	 * row's line is not needed here */
	seen = herald_list_dups_new(l, c->stats.rows, false, NULL);
	while ((rc = herald_list_next(l, &r, e)) == 0) {
		/* Duplicates are decided on the address, never on a hash
		 * alone: a collision must not cost a subscriber the mail. */
		if (herald_list_dups_add(seen, &r))
			continue;
		if (herald_supset_has(sup, r.email)) {
			c->nsuppressed++;
			if (suppressed_fn && (rc = suppressed_fn(arg, &r)) != 0)
				break;
			continue;
		}
		if ((rc = fn(arg, &r)) != 0)
			break;
	}
	if (rc == -1)
		rc = 0;
	herald_list_close(l);
	herald_list_dups_free(seen);
	herald_supset_free(sup);
	return rc;
}
