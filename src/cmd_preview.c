/*
 * cmd_preview.c - `herald preview`: everything `send` does, except that
 * each message is written to DIR/ as ADDRESS.eml plus ADDRESS.html (its
 * HTML part), and DIR/index.html lists them.
 *
 * Nothing is written until the whole campaign (config, post, templates,
 * every list row) has validated.  Each file is replaced atomically (temp
 * file + rename), so a reader never sees half a message.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "campaign.h"
#include "cmd.h"
#include "progress.h"

static const char preview_usage[] =
"usage: herald preview POST [--list LIST] [--out DIR] [--date YYYY-MM-DD]\n"
"                           [--config FILE] [--verbose]\n"
"\n"
"Build every message `herald send` would send and write them to DIR\n"
"(default out/): ADDRESS.eml (the whole message), ADDRESS.html (its HTML\n"
"part) and index.html linking them all.  Without --list, one message for\n"
"a sample subscriber in the post's time zone.\n"
"\n"
"  -l, --list LIST     subscriber list (CSV)\n"
"  -o, --out DIR       output directory (default: out)\n"
"  -d, --date DATE     post date when neither date: nor the file name has one\n"
"  -c, --config FILE   configuration (default: ./herald.yml)\n"
"  -v, --verbose       progress even when stderr is not a terminal\n"
"  -h, --help          this text\n";

struct preview {
	struct herald_campaign *c;
	const char *dir;
	time_t date;
	struct herald_message msg;
	struct hbuf index;      /* the current piece of index.html */
	FILE *index_f;          /* index.html, written to a temp file as we go */
	char *index_tmp;
	struct hbuf path;
	struct herald_progress prog;
	size_t written;
	struct herald_err *e;
};

/* A file name for an address: lower-case, anything odd becomes '_'. */
static void
put_fname(struct hbuf *b, const char *addr)
{
	for (const char *p = addr; *p; p++) {
		char ch = *p;
		if (ch >= 'A' && ch <= 'Z')
			ch += 32;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    strchr("@.+-_", ch)) || (p == addr && ch == '.'))
			ch = '_';
		hbuf_putc(b, ch);
	}
}

static int
write_one(struct preview *p, const char *fname, const char *ext,
    const char *data, size_t len)
{
	hbuf_reset(&p->path);
	hbuf_printf(&p->path, "%s/%s%s", p->dir, fname, ext);
	return write_file_replace(p->path.data, data, len, false, p->e);
}

/* Append what p->index holds to the index file: its memory stays one row
 * long however long the list is. */
static int
index_flush(struct preview *p)
{
	if (fwrite(p->index.data, 1, p->index.len, p->index_f) != p->index.len)
		return herald_errf(p->e, EX_CANTCREAT, p->index_tmp, 0,
		    "cannot write: %s", strerror(errno));
	hbuf_reset(&p->index);
	return 0;
}

static int
preview_one(void *arg, const struct herald_recipient *r)
{
	struct preview *p = arg;
	struct hbuf fname = HBUF_INIT;
	int rc;

	if ((rc = herald_campaign_message(p->c, r, p->date, NULL, &p->msg, p->e)) != 0)
		return rc;
	put_fname(&fname, r->email);
	if (r->text_only) {
		/* The .html of a text-only message shows its text. */
		hbuf_reset(&p->msg.html);
		hbuf_puts(&p->msg.html, "<!DOCTYPE html><meta charset=\"utf-8\">"
		    "<title>text-only message</title><pre style=\"white-space:pre-wrap\">");
		hbuf_put_html(&p->msg.html, p->msg.eml.data, p->msg.eml.len);
		hbuf_puts(&p->msg.html, "</pre>\n");
	}
	rc = write_one(p, fname.data, ".eml", p->msg.eml.data, p->msg.eml.len);
	if (rc == 0)
		rc = write_one(p, fname.data, ".html", p->msg.html.data,
		    p->msg.html.len);
	if (rc == 0) {
		hbuf_puts(&p->index, "<tr><td>");
		hbuf_put_html(&p->index, r->email, strlen(r->email));
		hbuf_puts(&p->index, "</td><td>");
		hbuf_put_html(&p->index, r->name, strlen(r->name));
		hbuf_puts(&p->index, "</td><td>");
		if (r->timezone)
			hbuf_put_html(&p->index, r->timezone, strlen(r->timezone));
		hbuf_puts(&p->index, "</td><td>");
		if (r->locale)
			hbuf_put_html(&p->index, r->locale, strlen(r->locale));
		hbuf_printf(&p->index, "</td><td>%s</td><td><a href=\"",
		    r->text_only ? "text" : "html");
		hbuf_put_html(&p->index, fname.data, fname.len);
		hbuf_puts(&p->index, ".html\">view</a></td><td><a href=\"");
		hbuf_put_html(&p->index, fname.data, fname.len);
		hbuf_puts(&p->index, ".eml\">.eml</a></td></tr>\n");
		rc = index_flush(p);
		p->written++;
		herald_progress_update(&p->prog, p->written, 0, 0);
	}
	hbuf_free(&fname);
	return rc;
}

int
herald_cmd_preview(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "list", required_argument, NULL, 'l' },
		{ "out", required_argument, NULL, 'o' },
		{ "date", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct herald_campaign_opts o = { .warn = herald_cmd_warn };
	struct preview p = { .dir = "out" };
	struct herald_err e = {0};
	bool verbose = false;
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "l:o:d:c:vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'l': o.list_path = optarg; break;
		case 'o': p.dir = optarg; break;
		case 'd': o.date = optarg; break;
		case 'c': o.config_path = optarg; break;
		case 'v': verbose = true; break;
		case 'h': fputs(preview_usage, stdout); return 0;
		default: fputs(preview_usage, stderr); return EX_USAGE;
		}
	}
	if (optind != argc - 1 || p.dir[0] == '\0') {
		fputs(preview_usage, stderr);
		return EX_USAGE;
	}
	o.post_path = argv[optind];
	p.e = &e;
	if ((rc = herald_campaign_open(&o, &p.c, &e)) != 0)
		return herald_cmd_fail(&e);

	p.date = time(NULL);
	for (size_t i = 0; i < herald_doc_ntimes(p.c->doc); i++) {
		const struct herald_session *s = herald_doc_time(p.c->doc, i);
		if (s->utc < (int64_t)p.date) {
			char msg[600];
			snprintf(msg, sizeof(msg), "session time \"%s\" is in the "
			    "past (send will refuse it without --allow-past)", s->orig);
			herald_cmd_warn(NULL, p.c->post.path, s->line, msg);
		}
	}
	if ((rc = mkdir_p(p.dir, &e)) != 0)
		goto fail;
	p.index_tmp = xasprintf("%s/.index.html.%ld", p.dir, (long)getpid());
	if ((p.index_f = fopen(p.index_tmp, "w")) == NULL) {
		rc = herald_errf(&e, EX_CANTCREAT, p.index_tmp, 0,
		    "cannot write: %s", strerror(errno));
		goto fail;
	}

	hbuf_puts(&p.index, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width\">\n<title>herald preview: ");
	hbuf_put_html(&p.index, p.c->post.subject, strlen(p.c->post.subject));
	hbuf_puts(&p.index, "</title>\n<style>body{font-family:sans-serif;margin:2em}"
	    "table{border-collapse:collapse}td,th{border:1px solid #999;padding:4px 8px;"
	    "text-align:left}</style></head><body>\n<h1>");
	hbuf_put_html(&p.index, p.c->post.subject, strlen(p.c->post.subject));
	hbuf_puts(&p.index, "</h1>\n<table><tr><th>email</th><th>name</th>"
	    "<th>time zone</th><th>locale</th><th>format</th><th>HTML part</th>"
	    "<th>message</th></tr>\n");
	if ((rc = index_flush(&p)) != 0)
		goto fail;

	herald_progress_start(&p.prog, "preview", p.c->stats.unique, verbose);
	if (p.c->list_path) {
		rc = herald_campaign_each(p.c, preview_one, &p, &e);
	} else {
		static const char *const cols[] = { "email" };
		const char *vals[] = { "subscriber@example.org" };
		struct herald_recipient r = {
			.line = 0, .email = vals[0], .name = "",
			.ncols = 1, .cols = cols, .values = vals,
		};
		rc = preview_one(&p, &r);
	}
	herald_progress_end(&p.prog);
	if (rc != 0)
		goto fail;

	hbuf_puts(&p.index, "</table>\n</body></html>\n");
	if ((rc = index_flush(&p)) != 0)
		goto fail;
	if (fclose(p.index_f) != 0) {
		p.index_f = NULL;
		rc = herald_errf(&e, EX_CANTCREAT, p.index_tmp, 0,
		    "cannot write: %s", strerror(errno));
		goto fail;
	}
	p.index_f = NULL;
	hbuf_reset(&p.path);
	hbuf_printf(&p.path, "%s/index.html", p.dir);
	if (rename(p.index_tmp, p.path.data) != 0) {
		rc = herald_errf(&e, EX_CANTCREAT, p.path.data, 0,
		    "cannot write: %s", strerror(errno));
		unlink(p.index_tmp);
		goto fail;
	}
	printf("wrote %zu message%s to %s/ (open %s/index.html)", p.written,
	    p.written == 1 ? "" : "s", p.dir, p.dir);
	if (p.c->nsuppressed)
		printf("; skipped %zu suppressed", p.c->nsuppressed);
	printf("\n");
fail:
	if (rc != 0)
		herald_cmd_fail(&e);
	if (p.index_f != NULL) {
		fclose(p.index_f);
		unlink(p.index_tmp);
	}
	free(p.index_tmp);
	herald_message_free(&p.msg);
	hbuf_free(&p.index);
	hbuf_free(&p.path);
	herald_campaign_free(p.c);
	return rc;
}
