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

#include "localtime.h"
#include "mime.h"
#include "suppress.h"
#include "template.h"
#include "token.h"

struct herald_variant {
	char *zone;          /* NULL: the post's zone */
	char *locale;        /* NULL: default */
	uint64_t key;
	char *html;          /* rendered body fragment */
	char *text;          /* rendered plain-text body */
};

/* Keys the templates may use besides subscriber columns. */
static const char *const post_keys[] = { "title", "subject", "summary", "date" };
static const char *const site_keys[] = { "title", "base_url" };
static const char *const sub_fixed[] = { "email", "name", "timezone", "locale", "format" };
static const char *const root_keys[] = { "post", "site", "subscriber", "content",
	"unsubscribe_url" };

static char *
basename_noext(const char *path, const char *ext)
{
	const char *b = strrchr(path, '/');
	size_t n;

	b = b ? b + 1 : path;
	n = strlen(b);
	if (n > strlen(ext) && strcmp(b + n - strlen(ext), ext) == 0)
		n -= strlen(ext);
	return xstrndup(b, n);
}

static int
load_template(const struct herald_campaign *c, const char *name,
    enum herald_tpl_escape esc, struct herald_tpl **out, struct herald_err *e)
{
	char *path = xasprintf("%s/%s", c->cfg.templates_dir, name);
	struct hbuf b = HBUF_INIT;
	size_t bad;
	int rc;

	if ((rc = read_file(path, &b, e)) != 0) {
		/* A missing template is a problem with the input, not the OS. */
		herald_errf(e, EX_DATAERR, path, 0, "missing template: %s",
		    e->msg);
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
	struct hval root_items[5];
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
	set_map(&t->root, root_keys, t->root_items, 5);
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
	if (c->cfg.dkim.selector != NULL) {
		/* Better no mail than mail that claims a signature it lacks. */
		rc = herald_errf(e, EX_CONFIG, c->cfg.path, 0,
		    "dkim: signing is not implemented yet; remove the dkim section");
		goto fail;
	}
	if ((rc = herald_post_load(o->post_path, &c->cfg, o->date, &c->post, e)) != 0)
		goto fail;
	if ((rc = herald_doc_parse(&c->post, &c->cfg, &c->doc, e)) != 0)
		goto fail;
	if ((rc = load_template(c, "default.html", HERALD_TPL_HTML, &c->tpl_html, e)) != 0 ||
	    (rc = load_template(c, "default.txt", HERALD_TPL_TEXT, &c->tpl_text, e)) != 0)
		goto fail;

	if (o->list_path != NULL) {
		c->list_path = xstrdup(o->list_path);
		c->list_name = basename_noext(o->list_path, ".csv");
		if ((rc = herald_list_validate(o->list_path, &c->stats, o->warn,
		    o->warn_arg, e)) != 0)
			goto fail;
		if ((rc = herald_list_open(o->list_path, &l, e)) != 0)
			goto fail;
		cols = herald_list_columns(l, &ncols);
	}
	if ((rc = check_templates(c, cols, ncols, e)) != 0)
		goto fail;
	herald_list_close(l);
	l = NULL;

	/* Campaign id: the post's name and the list's name, not their
	 * contents, so that fixing a typo keeps the same Message-IDs. */
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
			herald_rfc2047_phrase(&lid, c->cfg.site_title);
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
	free(v->html);
	free(v->text);
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
	if (c->tctx != NULL) {
		tplctx_free(c->tctx);
		free(c->tctx);
	}
	free(c->list_id_hdr);
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
			struct herald_session *arr = xcalloc(ntimes, sizeof(*arr));

			for (size_t k = 0; k < ntimes; k++)
				arr[k] = *herald_doc_time(c->doc, k);
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
			for (size_t k = 0; k < ntimes; k++) {
				hs[k] = loc[k].html;
				ts[k] = loc[k].text;
			}
		}
		herald_render_html(c->doc, hs, &hb);
		herald_render_text(c->doc, ts, &tb);
		v->html = hbuf_detach(&hb);
		v->text = hbuf_detach(&tb);
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
	char *token;
	int rc;

	free(out->to_addr);
	free(out->message_id);
	out->to_addr = xstrdup(r->email);
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
	if (!r->text_only) {
		set_str(&t->root_items[3], v->html);
		herald_tpl_render(c->tpl_html, &t->root, &html);
	}
	set_str(&t->root_items[3], v->text);
	herald_tpl_render(c->tpl_text, &t->root, &text);
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
	rc = herald_mime_build(&m, &out->eml, e);
	if (rc != 0 && e->file[0] == '\0' && c->list_path)
		/* name the row, not the field */
		herald_errf(e, rc, c->list_path, r->line, "%s", e->msg);
	if (rc == 0 && !r->text_only)
		hbuf_put(&out->html, html.data ? html.data : "", html.len);

	hbuf_free(&html);
	hbuf_free(&text);
	hbuf_free(&url);
	hbuf_free(&lu);
	hbuf_free(&subj);
	return rc;
}

void
herald_message_free(struct herald_message *m)
{
	free(m->to_addr);
	free(m->message_id);
	hbuf_free(&m->eml);
	hbuf_free(&m->html);
	m->to_addr = m->message_id = NULL;
}

/* A set of 64-bit address hashes: flat memory for a deduplicating pass. */
struct seen {
	uint64_t *slots;
	size_t cap, n;
};

static bool
seen_add(struct seen *s, uint64_t h)
{
	size_t i;

	if (h == 0)
		h = 1;   /* 0 marks an empty slot */
	if ((s->n + 1) * 2 > s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 1024;
		uint64_t *ns = xcalloc(ncap, sizeof(*ns));
		for (size_t k = 0; k < s->cap; k++) {
			if (s->slots[k] == 0)
				continue;
			for (i = s->slots[k] & (ncap - 1); ns[i]; i = (i + 1) & (ncap - 1))
				;
			ns[i] = s->slots[k];
		}
		free(s->slots);
		s->slots = ns;
		s->cap = ncap;
	}
	for (i = h & (s->cap - 1); s->slots[i]; i = (i + 1) & (s->cap - 1))
		if (s->slots[i] == h)
			return false;
	s->slots[i] = h;
	s->n++;
	return true;
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
	struct seen seen = {0};
	char lower[512];
	int rc;

	if (c->list_path == NULL)
		return herald_errf(e, EX_USAGE, NULL, 0, "no list given (--list)");
	if ((rc = herald_list_open(c->list_path, &l, e)) != 0)
		return rc;
	c->nsuppressed = 0;
	while ((rc = herald_list_next(l, &r, e)) == 0) {
		snprintf(lower, sizeof(lower), "%s", r.email);
		ascii_lower(lower);
		if (!seen_add(&seen, hash64(lower, strlen(lower))))
			continue;
		if (herald_suppress_has(c->sup, c->list_name, r.email)) {
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
	free(seen.slots);
	return rc;
}
