/*
 * serve.h - the List-Unsubscribe endpoint (`herald serve`): an HTTP/1.1
 * server on libmicrohttpd that answers one path, that of unsubscribe.url.
 *
 *   GET/HEAD PATH?token=T   a page with a confirm button (a POST form);
 *                           changes nothing, since mail scanners and link
 *                           previewers follow links
 *   POST PATH?token=T       body List-Unsubscribe=One-Click (RFC 8058) or
 *                           the page's form: suppress, 200 page saying so
 *                           and how to come back
 *   bad or forged token     400 page, nothing recorded
 *   anything else           404 (other paths), 405 (other methods),
 *                           413 (body over 4 KiB), 431 (headers over the
 *                           memory limit), 429 (over the rate)
 *
 * No file is ever served.  Meant to run unprivileged on loopback behind a
 * TLS reverse proxy (doc/unsubscribe-server.md).
 */
#ifndef HERALD_SERVE_H
#define HERALD_SERVE_H

#include "util.h"

struct herald_tokens;
struct herald_suppress;

struct herald_serve_opts {
	const char *listen;        /* "ADDR:PORT", "[V6]:PORT"; port 0: any */
	const char *path;          /* the only path answered, e.g. "/unsubscribe" */
	const char *site_title;    /* may be NULL */
	const char *site_url;      /* may be NULL */
	const char *contact;       /* address to write to come back; may be NULL */
	struct herald_tokens *tokens;
	struct herald_suppress *sup;  /* used from the server's one thread only */
	unsigned rate_per_min;     /* per client address; 0: no limit */
	unsigned max_conns;        /* open connections (0: 256) */
	/* One line per change (a suppression) and per server error; called
	 * from the server's thread. */
	void (*log)(void *arg, const char *line);
	void *log_arg;
};

struct herald_server;

/* Bind and start answering in a thread of the server's own.  Returns 0,
 * EX_USAGE (bad listen address) or EX_UNAVAILABLE (cannot bind). */
int herald_serve_start(const struct herald_serve_opts *o,
    struct herald_server **out, struct herald_err *e);
/* The port bound (useful with port 0). */
unsigned herald_serve_port(const struct herald_server *s);
/* Requests answered so far, by status class. */
void herald_serve_counts(const struct herald_server *s, unsigned long *ok,
    unsigned long *client_err, unsigned long *server_err);
/* Stop: finish nothing new, close the socket, free.  NULL is fine. */
void herald_serve_stop(struct herald_server *s);

/* The path of an http(s) URL ("https://h/p?q" -> "/p"); caller frees. */
char *herald_serve_url_path(const char *url);

#endif
