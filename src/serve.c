/*
 * serve.c - the List-Unsubscribe endpoint on libmicrohttpd (see serve.h).
 * The only file that includes microhttpd.h.
 *
 * RFC 8058 (one-click unsubscribe: a POST carrying
 * "List-Unsubscribe=One-Click", form-urlencoded or multipart/form-data,
 * to the https URI of the List-Unsubscribe header), RFC 2369.
 *
 * libmicrohttpd runs one internal thread polling every connection
 * (non-blocking, so a slow client holds nobody up), bounds each
 * connection's memory (headers included) and its idle time; this file adds
 * a body limit, a per-client token bucket and the pages.  Every request is
 * handled on that one thread, so the suppression store and the rate table
 * need no locks.
 */
#include "serve.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "suppress.h"
#include "token.h"

#define MAX_BODY 4096
#define MAX_FIELD 800            /* a token is at most HERALD_TOKEN_MAX */
#define RATE_SLOTS 4096

struct bucket {
	char ip[INET6_ADDRSTRLEN];
	double tokens;
	double last;
};

struct herald_server {
	struct herald_serve_opts o;
	struct MHD_Daemon *d;
	unsigned port;
	struct bucket *rate;     /* RATE_SLOTS, open hashing with overwrite */
	unsigned long n_ok, n_client, n_server;
};

struct req {
	struct MHD_PostProcessor *pp;
	size_t body;
	bool too_big;
	bool one_click;          /* List-Unsubscribe=One-Click */
	char lu[16];             /* the List-Unsubscribe value, as it comes */
	size_t lu_len;
	bool confirm;            /* the page's form */
	char token[MAX_FIELD + 1];
	size_t token_len;
	bool token_long;
	int fields;
};

static void
logf_(struct herald_server *s, const char *fmt, ...)
{
	char line[600];
	va_list ap;

	if (s->o.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->o.log(s->o.log_arg, line);
}

/* --- pages --- */

static void
page_start(struct herald_server *s, struct hbuf *b, const char *title)
{
	const char *site = s->o.site_title ? s->o.site_title : "Newsletter";

	hbuf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width\">"
	    "<meta name=\"robots\" content=\"noindex\"><title>");
	hbuf_put_html(b, title, strlen(title));
	hbuf_puts(b, " - ");
	hbuf_put_html(b, site, strlen(site));
	hbuf_puts(b, "</title><style>"
	    "body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;"
	    "color:#24292f;background:#f6f8fa;margin:0;padding:2em 1em}"
	    "main{max-width:32em;margin:0 auto;background:#fff;padding:1.5em 2em;"
	    "border:1px solid #d0d7de;border-radius:6px}"
	    "h1{font-size:1.4em}"
	    "button{font-size:1em;padding:.5em 1.2em;border-radius:6px;"
	    "border:1px solid #1f2328;background:#1f2328;color:#fff;cursor:pointer}"
	    "small{color:#6e7781}</style></head><body><main>\n<p><small>");
	if (s->o.site_url) {
		hbuf_puts(b, "<a href=\"");
		hbuf_put_html(b, s->o.site_url, strlen(s->o.site_url));
		hbuf_puts(b, "\">");
		hbuf_put_html(b, site, strlen(site));
		hbuf_puts(b, "</a>");
	} else
		hbuf_put_html(b, site, strlen(site));
	hbuf_puts(b, "</small></p>\n<h1>");
	hbuf_put_html(b, title, strlen(title));
	hbuf_puts(b, "</h1>\n");
}

static void
page_end(struct hbuf *b)
{
	hbuf_puts(b, "</main></body></html>\n");
}

static void
come_back(struct herald_server *s, struct hbuf *b)
{
	hbuf_puts(b, "<p>Changed your mind? ");
	if (s->o.contact) {
		hbuf_puts(b, "Write to <a href=\"mailto:");
		hbuf_put_html(b, s->o.contact, strlen(s->o.contact));
		hbuf_puts(b, "\">");
		hbuf_put_html(b, s->o.contact, strlen(s->o.contact));
		hbuf_puts(b, "</a> and ask to be added back.</p>\n");
	} else
		hbuf_puts(b, "Reply to any of our messages and ask to be added "
		    "back.</p>\n");
}

static enum MHD_Result
respond(struct herald_server *s, struct MHD_Connection *c, unsigned status,
    struct hbuf *b)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(b->len, b->data ? b->data : (char *)"",
	    MHD_RESPMEM_MUST_COPY);
	hbuf_free(b);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/html; charset=utf-8");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "X-Robots-Tag", "noindex");
	MHD_add_response_header(r, "Content-Security-Policy",
	    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
	    "frame-ancestors 'none'; base-uri 'none'");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, "Allow", "GET, HEAD, POST");
	if (status == MHD_HTTP_TOO_MANY_REQUESTS)
		MHD_add_response_header(r, "Retry-After", "60");
	if (status >= 500)
		s->n_server++;
	else if (status >= 400)
		s->n_client++;
	else
		s->n_ok++;
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
error_page(struct herald_server *s, struct MHD_Connection *c, unsigned status,
    const char *title, const char *text)
{
	struct hbuf b = HBUF_INIT;

	page_start(s, &b, title);
	hbuf_puts(&b, "<p>");
	hbuf_put_html(&b, text, strlen(text));
	hbuf_puts(&b, "</p>\n");
	page_end(&b);
	return respond(s, c, status, &b);
}

static enum MHD_Result
bad_token(struct herald_server *s, struct MHD_Connection *c)
{
	return error_page(s, c, MHD_HTTP_BAD_REQUEST, "This link is not valid",
	    "The unsubscribe link is incomplete or was changed on the way. "
	    "Nothing was changed. Please use the link from the newsletter "
	    "itself, or reply to the newsletter to be removed.");
}

/* --- rate limit: a token bucket per client address --- */

static bool
rate_ok(struct herald_server *s, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci;
	char ip[INET6_ADDRSTRLEN] = "";
	const char *fwd;
	struct bucket *bk;
	double now, cap, per_s;
	bool loop = false;

	if (s->o.rate_per_min == 0)
		return true;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_INET) {
			const struct sockaddr_in *in = (const void *)sa;
			inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
			loop = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
		} else if (sa->sa_family == AF_INET6) {
			const struct sockaddr_in6 *in6 = (const void *)sa;
			inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
			loop = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
		}
	}
	/* Behind a reverse proxy on this host every request comes from
	 * loopback: then the proxy's X-Real-IP names the client. */
	if (loop && (fwd = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "X-Real-IP")) != NULL && strlen(fwd) < sizeof(ip))
		snprintf(ip, sizeof(ip), "%s", fwd);
	bk = &s->rate[hash64(ip, strlen(ip)) % RATE_SLOTS];
	now = mono();
	cap = s->o.rate_per_min < 10 ? 10 : s->o.rate_per_min;
	per_s = s->o.rate_per_min / 60.0;
	if (strcmp(bk->ip, ip) != 0) {
		snprintf(bk->ip, sizeof(bk->ip), "%s", ip);
		bk->tokens = cap;
		bk->last = now;
	}
	bk->tokens += (now - bk->last) * per_s;
	if (bk->tokens > cap)
		bk->tokens = cap;
	bk->last = now;
	if (bk->tokens < 1)
		return false;
	bk->tokens -= 1;
	return true;
}

/* --- requests --- */

static enum MHD_Result
post_field(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *filename, const char *content_type,
    const char *transfer_encoding, const char *data, uint64_t off,
    size_t size)
{
	struct req *q = cls;

	(void)kind; (void)filename; (void)content_type; (void)transfer_encoding;
	if (off == 0 && ++q->fields > 16)
		return MHD_NO;
	if (strcmp(key, "List-Unsubscribe") == 0) {
		/* The value may come in pieces: judge the whole of it. */
		if (off == 0)
			q->lu_len = 0;
		if (off != q->lu_len || size > sizeof(q->lu) - q->lu_len)
			q->lu_len = sizeof(q->lu);          /* too long: never */
		else {
			memcpy(q->lu + q->lu_len, data, size);
			q->lu_len += size;
		}
		q->one_click = q->lu_len == 9 && memcmp(q->lu, "One-Click", 9) == 0;
	} else if (strcmp(key, "confirm") == 0) {
		q->confirm = true;
	} else if (strcmp(key, "token") == 0) {
		if (off != q->token_len || q->token_len + size > MAX_FIELD)
			q->token_long = true;
		else {
			memcpy(q->token + q->token_len, data, size);
			q->token_len += size;
			q->token[q->token_len] = '\0';
		}
	}
	return MHD_YES;
}

static enum MHD_Result
confirm_page(struct herald_server *s, struct MHD_Connection *c,
    const char *tok, const char *list, const char *addr)
{
	struct hbuf b = HBUF_INIT;
	bool already = herald_suppress_has(s->o.sup, list, addr);

	if (already) {
		page_start(s, &b, "You are unsubscribed");
		hbuf_puts(&b, "<p><b>");
		hbuf_put_html(&b, addr, strlen(addr));
		hbuf_puts(&b, "</b> gets no more of these newsletters.</p>\n");
		come_back(s, &b);
	} else {
		page_start(s, &b, "Unsubscribe?");
		hbuf_puts(&b, "<p>Stop sending these newsletters to <b>");
		hbuf_put_html(&b, addr, strlen(addr));
		hbuf_puts(&b, "</b>?</p>\n<form method=\"post\" action=\"?token=");
		hbuf_put_html(&b, tok, strlen(tok));
		hbuf_puts(&b, "\"><input type=\"hidden\" name=\"token\" value=\"");
		hbuf_put_html(&b, tok, strlen(tok));
		hbuf_puts(&b, "\"><button type=\"submit\" name=\"confirm\" "
		    "value=\"yes\" id=\"confirm\">Unsubscribe</button></form>\n"
		    "<p><small>Nothing changes until you press the button."
		    "</small></p>\n");
	}
	page_end(&b);
	return respond(s, c, MHD_HTTP_OK, &b);
}

static enum MHD_Result
do_post(struct herald_server *s, struct MHD_Connection *c, struct req *q,
    const char *qtok)
{
	struct herald_err e = {0};
	struct hbuf b = HBUF_INIT;
	char *list = NULL, *addr = NULL;
	const char *tok = qtok;
	const char *why;
	int rc;

	if (q->too_big)
		return error_page(s, c, MHD_HTTP_CONTENT_TOO_LARGE,
		    "Request too large", "Nothing was changed.");
	if (q->token_long || (q->token_len && qtok &&
	    strcmp(q->token, qtok) != 0))
		return bad_token(s, c);
	if (tok == NULL && q->token_len)
		tok = q->token;
	if (!q->one_click && !q->confirm)
		return error_page(s, c, MHD_HTTP_BAD_REQUEST, "Not confirmed",
		    "This request did not say List-Unsubscribe=One-Click and did "
		    "not come from the confirm button. Nothing was changed.");
	if (!herald_token_verify(s->o.tokens, tok, &list, &addr))
		return bad_token(s, c);
	why = q->one_click ? "one-click" : "form";
	rc = herald_suppress_add(s->o.sup, list, addr, why, NULL,
	    q->one_click ? "POST List-Unsubscribe=One-Click" :
	    "POST confirm form", 0, &e);
	if (rc != 0 && rc != 1) {
		char line[1200];
		herald_err_format(&e, line, sizeof(line));
		logf_(s, "%s", line);
		free(list);
		free(addr);
		return error_page(s, c, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "Please try again", "We could not record your request just "
		    "now. Nothing was changed; please try again in a minute.");
	}
	if (rc == 0)
		logf_(s, "unsubscribed %s from list %s (%s)", addr,
		    list[0] ? list : "(none)", why);
	page_start(s, &b, "You are unsubscribed");
	hbuf_puts(&b, "<p><b>");
	hbuf_put_html(&b, addr, strlen(addr));
	hbuf_puts(&b, "</b> will get no more of these newsletters.</p>\n");
	come_back(s, &b);
	page_end(&b);
	free(list);
	free(addr);
	return respond(s, c, MHD_HTTP_OK, &b);
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct herald_server *s = cls;
	struct req *q = *con_cls;
	const char *tok;
	bool is_get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	bool is_post = strcmp(method, "POST") == 0;

	(void)version;
	if (q == NULL) {
		const char *cl;

		q = xcalloc(1, sizeof(*q));
		*con_cls = q;
		/* decide what we can before any body is read */
		if (!rate_ok(s, c))
			return error_page(s, c, MHD_HTTP_TOO_MANY_REQUESTS,
			    "Too many requests", "Please wait a minute and "
			    "try again.");
		if (strcmp(url, s->o.path) != 0)
			return error_page(s, c, MHD_HTTP_NOT_FOUND, "Not found",
			    "There is nothing here.");
		if (!is_get && !is_post)
			return error_page(s, c, MHD_HTTP_METHOD_NOT_ALLOWED,
			    "Method not allowed", "Use the link in the "
			    "newsletter.");
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > MAX_BODY)
			return error_page(s, c, MHD_HTTP_CONTENT_TOO_LARGE,
			    "Request too large", "Nothing was changed.");
		if (is_post)
			q->pp = MHD_create_post_processor(c, 1024, post_field, q);
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		q->body += *upload_data_size;
		if (q->body > MAX_BODY)
			q->too_big = true;
		else if (q->pp && MHD_post_process(q->pp, upload_data,
		    *upload_data_size) != MHD_YES)
			q->token_long = true;       /* malformed: refuse */
		*upload_data_size = 0;
		return MHD_YES;
	}
	tok = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
	if (tok && strlen(tok) > HERALD_TOKEN_MAX)
		return bad_token(s, c);
	if (is_post)
		return do_post(s, c, q, tok);
	if (q->body > 0)
		return error_page(s, c, MHD_HTTP_BAD_REQUEST, "Bad request",
		    "A GET request has no body.");
	{
		char *list = NULL, *addr = NULL;
		enum MHD_Result r;

		if (!herald_token_verify(s->o.tokens, tok, &list, &addr))
			return bad_token(s, c);
		r = confirm_page(s, c, tok, list, addr);
		free(list);
		free(addr);
		return r;
	}
}

static void
completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req *q = *con_cls;

	(void)cls; (void)c; (void)toe;
	if (q == NULL)
		return;
	if (q->pp)
		MHD_destroy_post_processor(q->pp);
	free(q);
	*con_cls = NULL;
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct herald_server *s = cls;
	char line[600];
	size_t n;

	if (s->o.log == NULL)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	s->o.log(s->o.log_arg, line);
}

/* "A.B.C.D:PORT" or "[V6]:PORT" -> sockaddr. */
static bool
parse_listen(const char *l, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	char *end;
	unsigned long port;
	size_t n;

	if (l[0] == '[') {
		const char *rb = strchr(l, ']');
		if (rb == NULL || rb[1] != ':')
			return false;
		n = (size_t)(rb - l - 1);
		colon = rb + 1;
		l++;
	} else {
		colon = strrchr(l, ':');
		if (colon == NULL)
			return false;
		n = (size_t)(colon - l);
	}
	if (n == 0 || n >= sizeof(host))
		return false;
	memcpy(host, l, n);
	host[n] = '\0';
	port = strtoul(colon + 1, &end, 10);
	if (end == colon + 1 || *end || port > 65535)
		return false;
	memset(ss, 0, sizeof(*ss));
	{
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
			in->sin_family = AF_INET;
			in->sin_port = htons((uint16_t)port);
			*len = sizeof(*in);
			return true;
		}
		if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons((uint16_t)port);
			*len = sizeof(*in6);
			return true;
		}
	}
	return false;
}

int
herald_serve_start(const struct herald_serve_opts *o,
    struct herald_server **out, struct herald_err *e)
{
	struct herald_server *s;
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
	    MHD_USE_ERROR_LOG;

	*out = NULL;
	if (!parse_listen(o->listen, &ss, &sl))
		return herald_errf(e, EX_USAGE, NULL, 0, "--listen: want "
		    "ADDRESS:PORT (e.g. 127.0.0.1:8025 or [::1]:8025), not "
		    "\"%.100s\"", o->listen);
	s = xcalloc(1, sizeof(*s));
	s->o = *o;
	s->rate = xcalloc(RATE_SLOTS, sizeof(*s->rate));
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, s,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, s,
	    MHD_OPTION_CONNECTION_LIMIT, o->max_conns ? o->max_conns : 256u,
	    MHD_OPTION_CONNECTION_TIMEOUT, 10u,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, 256u,
	    MHD_OPTION_STRICT_FOR_CLIENT, 1,
	    MHD_OPTION_END);
	if (s->d == NULL) {
		free(s->rate);
		free(s);
		return herald_errf(e, EX_UNAVAILABLE, NULL, 0,
		    "cannot listen on %s (in use, or not this host's address?)",
		    o->listen);
	}
	{
		const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d,
		    MHD_DAEMON_INFO_BIND_PORT);
		s->port = di ? di->port : 0;
	}
	*out = s;
	return 0;
}

unsigned
herald_serve_port(const struct herald_server *s)
{
	return s->port;
}

void
herald_serve_counts(const struct herald_server *s, unsigned long *ok,
    unsigned long *client_err, unsigned long *server_err)
{
	*ok = s->n_ok;
	*client_err = s->n_client;
	*server_err = s->n_server;
}

void
herald_serve_stop(struct herald_server *s)
{
	if (s == NULL)
		return;
	MHD_stop_daemon(s->d);
	free(s->rate);
	free(s);
}

char *
herald_serve_url_path(const char *url)
{
	const char *p = strstr(url, "://");
	size_t n;

	p = p ? strchr(p + 3, '/') : NULL;
	if (p == NULL)
		return xstrdup("/");
	n = strcspn(p, "?#");
	return xstrndup(p, n);
}
