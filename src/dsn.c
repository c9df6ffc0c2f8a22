/*
 * dsn.c - RFC 3464 delivery status notifications and the headers of mailed
 * requests, parsed with libetpan (the second file that includes it, beside
 * mime.c, which builds messages; this one reads them).
 *
 * RFC 6522 multipart/report: the message/delivery-status part is a block
 * of per-message fields, then one block per recipient (Final-Recipient,
 * Action, Status, Diagnostic-Code), each parsed as header fields.  The
 * returned message (message/rfc822 or text/rfc822-headers, RFC 6522 6.2)
 * gives the original Message-ID and List-Unsubscribe, which name the list
 * and campaign even when the report says nothing else.
 */
#include "dsn.h"

#include <stdlib.h>
#include <string.h>

#include <libetpan/libetpan.h>

static char *
trim_dup(const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
	    s[n - 1] == '\n'))
		n--;
	char *r = xstrndup(s, n);
	/* unfold */
	for (char *p = r; *p; p++)
		if (*p == '\r' || *p == '\n' || *p == '\t')
			*p = ' ';
	return r;
}

/* "rfc822; a@b" -> "a@b" */
static char *
addr_of(const char *v)
{
	const char *semi = strchr(v, ';');
	const char *p = semi ? semi + 1 : v;
	char *r;
	size_t n;

	while (*p == ' ')
		p++;
	if (*p == '<')
		p++;
	n = strcspn(p, "> \t");
	r = xstrndup(p, n);
	return r;
}

static void
content_type(struct mailmime *mm, const char **type, const char **sub)
{
	struct mailmime_content *ct = mm->mm_content_type;

	*type = "text";
	*sub = "plain";
	if (ct == NULL)
		return;
	*sub = ct->ct_subtype ? ct->ct_subtype : "";
	if (ct->ct_type == NULL)
		return;
	if (ct->ct_type->tp_type == MAILMIME_TYPE_COMPOSITE_TYPE) {
		*type = ct->ct_type->tp_data.tp_composite_type->ct_type ==
		    MAILMIME_COMPOSITE_TYPE_MESSAGE ? "message" : "multipart";
	} else {
		struct mailmime_discrete_type *d =
		    ct->ct_type->tp_data.tp_discrete_type;
		switch (d->dt_type) {
		case MAILMIME_DISCRETE_TYPE_TEXT: *type = "text"; break;
		case MAILMIME_DISCRETE_TYPE_EXTENSION:
			*type = d->dt_extension ? d->dt_extension : "";
			break;
		default: *type = "other"; break;
		}
	}
}

static const char *
param(struct mailmime *mm, const char *name)
{
	clistiter *it;

	if (mm->mm_content_type == NULL ||
	    mm->mm_content_type->ct_parameters == NULL)
		return NULL;
	for (it = clist_begin(mm->mm_content_type->ct_parameters); it;
	    it = clist_next(it)) {
		struct mailmime_parameter *p = clist_content(it);
		if (p->pa_name && strcasecmp(p->pa_name, name) == 0)
			return p->pa_value;
	}
	return NULL;
}

/* A single part's body, transfer-decoded; caller frees with free(). */
static char *
body_of(struct mailmime *mm, size_t *len)
{
	struct mailmime_data *d = mm->mm_data.mm_single;
	char *out = NULL;
	size_t idx = 0, n = 0;
	int enc;

	*len = 0;
	if (d == NULL || d->dt_type != MAILMIME_DATA_TEXT)
		return NULL;
	enc = d->dt_encoded ? d->dt_encoding : MAILMIME_MECHANISM_8BIT;
	if (mailmime_part_parse(d->dt_data.dt_text.dt_data,
	    d->dt_data.dt_text.dt_length, &idx, enc, &out, &n) !=
	    MAILIMF_NO_ERROR)
		return NULL;
	{
		char *r = xstrndup(out, n);
		mmap_string_unref(out);
		*len = n;
		return r;
	}
}

/* Walk the header fields of block (RFC 5322 syntax) with fn. */
typedef void (*field_fn)(void *arg, const char *name, const char *value);

static void
each_field(struct mailimf_fields *f, field_fn fn, void *arg)
{
	clistiter *it;

	for (it = clist_begin(f->fld_list); it; it = clist_next(it)) {
		struct mailimf_field *fld = clist_content(it);
		switch (fld->fld_type) {
		case MAILIMF_FIELD_OPTIONAL_FIELD:
			fn(arg, fld->fld_data.fld_optional_field->fld_name,
			    fld->fld_data.fld_optional_field->fld_value);
			break;
		case MAILIMF_FIELD_MESSAGE_ID:
			fn(arg, "Message-ID",
			    fld->fld_data.fld_message_id->mid_value);
			break;
		case MAILIMF_FIELD_SUBJECT:
			fn(arg, "Subject", fld->fld_data.fld_subject->sbj_value);
			break;
		case MAILIMF_FIELD_TO: {
			struct mailimf_address_list *al =
			    fld->fld_data.fld_to->to_addr_list;
			clistiter *a;
			for (a = al ? clist_begin(al->ad_list) : NULL; a;
			    a = clist_next(a)) {
				struct mailimf_address *ad = clist_content(a);
				if (ad->ad_type == MAILIMF_ADDRESS_MAILBOX)
					fn(arg, "To", ad->ad_data.ad_mailbox->mb_addr_spec);
			}
			break;
		}
		default:
			break;
		}
	}
}

static void
parse_block(const char *s, size_t n, field_fn fn, void *arg)
{
	struct mailimf_fields *f = NULL;
	size_t idx = 0;

	if (mailimf_fields_parse(s, n, &idx, &f) == MAILIMF_NO_ERROR && f) {
		each_field(f, fn, arg);
		mailimf_fields_free(f);
	}
}

struct top {
	struct herald_inmail *m;
	struct hbuf to;
};

static void
top_field(void *arg, const char *name, const char *value)
{
	struct top *t = arg;

	if (strcasecmp(name, "Message-ID") == 0 && !t->m->message_id)
		t->m->message_id = xstrdup(value);
	else if (strcasecmp(name, "Subject") == 0 && !t->m->subject) {
		char *dec = NULL;
		size_t idx = 0;
		if (mailmime_encoded_phrase_parse("utf-8", value, strlen(value),
		    &idx, "utf-8", &dec) == MAILIMF_NO_ERROR && dec) {
			t->m->subject = xstrdup(dec);
			free(dec);
		} else
			t->m->subject = xstrdup(value);
	} else if (strcasecmp(name, "To") == 0 ||
	    strcasecmp(name, "Delivered-To") == 0 ||
	    strcasecmp(name, "X-Original-To") == 0) {
		hbuf_puts(&t->to, value);
		hbuf_putc(&t->to, ' ');
	}
}

static void
orig_field(void *arg, const char *name, const char *value)
{
	struct herald_inmail *m = arg;

	if (strcasecmp(name, "Message-ID") == 0 && !m->orig_message_id)
		m->orig_message_id = xstrdup(value);
	else if (strcasecmp(name, "List-Unsubscribe") == 0 &&
	    !m->orig_list_unsub)
		m->orig_list_unsub = trim_dup(value, strlen(value));
}

static void
rcpt_field(void *arg, const char *name, const char *value)
{
	struct herald_dsn_rcpt *r = arg;
	size_t n = strlen(value);

	if (strcasecmp(name, "Final-Recipient") == 0) {
		free(r->addr);
		r->addr = addr_of(value);
	} else if (strcasecmp(name, "Original-Recipient") == 0 && !r->addr)
		r->addr = addr_of(value);
	else if (strcasecmp(name, "Action") == 0 && !r->action) {
		r->action = trim_dup(value, n);
		ascii_lower(r->action);
	} else if (strcasecmp(name, "Status") == 0 && !r->status) {
		r->status = trim_dup(value, n);
		r->status[strcspn(r->status, " (")] = '\0';
	} else if (strcasecmp(name, "Diagnostic-Code") == 0 && !r->diag)
		r->diag = trim_dup(value, n > 300 ? 300 : n);
}

/* The message/delivery-status body: blocks separated by blank lines. */
static void
parse_status(struct herald_inmail *m, const char *s, size_t n)
{
	size_t i = 0, blk = 0;
	int nblock = 0;

	while (i <= n) {
		bool end = i == n;
		bool blank = !end && (s[i] == '\n' && (i + 1 == n || s[i + 1] == '\n' ||
		    (s[i + 1] == '\r' && i + 2 < n && s[i + 2] == '\n')));
		if (end || blank) {
			size_t len = (end ? n : i + 1) - blk;
			if (len > 2 && nblock++ > 0) {
				/* a per-recipient block */
				struct herald_dsn_rcpt r = {0};
				char *b = xstrndup(s + blk, len);
				/* libetpan wants the header to end with CRLF */
				struct hbuf hb = HBUF_INIT;
				hbuf_puts(&hb, b);
				hbuf_puts(&hb, "\r\n");
				parse_block(hb.data, hb.len, rcpt_field, &r);
				hbuf_free(&hb);
				free(b);
				if (r.addr && r.status) {
					m->rcpts = xrealloc(m->rcpts,
					    (m->nrcpts + 1) * sizeof(*m->rcpts));
					if (!r.action)
						r.action = xstrdup("");
					if (!r.diag)
						r.diag = xstrdup("");
					m->rcpts[m->nrcpts++] = r;
				} else {
					free(r.addr);
					free(r.action);
					free(r.status);
					free(r.diag);
				}
			}
			if (end)
				break;
			/* skip the blank line */
			i++;
			while (i < n && (s[i] == '\r' || s[i] == '\n'))
				i++;
			blk = i;
			continue;
		}
		i++;
	}
}

static void
walk(struct herald_inmail *m, struct mailmime *mm, int depth)
{
	const char *type, *sub;
	clistiter *it;

	if (mm == NULL || depth > 8)
		return;
	content_type(mm, &type, &sub);
	switch (mm->mm_type) {
	case MAILMIME_MULTIPLE:
		if (strcasecmp(sub, "report") == 0) {
			const char *rt = param(mm, "report-type");
			if (rt && strcasecmp(rt, "delivery-status") == 0)
				m->is_dsn = true;
		}
		for (it = clist_begin(mm->mm_data.mm_multipart.mm_mp_list); it;
		    it = clist_next(it))
			walk(m, clist_content(it), depth + 1);
		break;
	case MAILMIME_MESSAGE:
		if (depth > 0 && mm->mm_data.mm_message.mm_fields)
			each_field(mm->mm_data.mm_message.mm_fields, orig_field, m);
		if (depth == 0)
			walk(m, mm->mm_data.mm_message.mm_msg_mime, depth + 1);
		break;
	case MAILMIME_SINGLE: {
		size_t n;
		char *b;

		if (strcasecmp(type, "message") == 0 &&
		    (strcasecmp(sub, "delivery-status") == 0 ||
		    strcasecmp(sub, "global-delivery-status") == 0)) {
			if ((b = body_of(mm, &n)) != NULL) {
				parse_status(m, b, n);
				free(b);
			}
		} else if ((strcasecmp(type, "text") == 0 &&
		    strcasecmp(sub, "rfc822-headers") == 0) ||
		    (strcasecmp(type, "message") == 0 &&
		    strcasecmp(sub, "rfc822") == 0)) {
			if ((b = body_of(mm, &n)) != NULL) {
				parse_block(b, n, orig_field, m);
				free(b);
			}
		}
		break;
	}
	}
}

int
herald_dsn_parse(const char *data, size_t len, struct herald_inmail *m,
    struct herald_err *e)
{
	struct mailmime *mm = NULL;
	struct top t = { .m = m };
	size_t idx = 0;

	memset(m, 0, sizeof(*m));
	if (mailmime_parse(data, len, &idx, &mm) != MAILIMF_NO_ERROR || !mm)
		return herald_errf(e, EX_DATAERR, NULL, 0, "not a mail message");
	if (mm->mm_type == MAILMIME_MESSAGE && mm->mm_data.mm_message.mm_fields)
		each_field(mm->mm_data.mm_message.mm_fields, top_field, &t);
	walk(m, mm, 0);
	mailmime_free(mm);
	if (t.to.len)
		m->to = hbuf_detach(&t.to);
	hbuf_free(&t.to);
	return 0;
}

void
herald_inmail_free(struct herald_inmail *m)
{
	for (size_t i = 0; i < m->nrcpts; i++) {
		free(m->rcpts[i].addr);
		free(m->rcpts[i].action);
		free(m->rcpts[i].status);
		free(m->rcpts[i].diag);
	}
	free(m->rcpts);
	free(m->message_id);
	free(m->subject);
	free(m->to);
	free(m->orig_message_id);
	free(m->orig_list_unsub);
	memset(m, 0, sizeof(*m));
}
