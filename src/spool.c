/*
 * spool.c - the directory backend of `herald preview`: ADDRESS.eml (the
 * whole message), ADDRESS.html (its HTML part, or its text for a text-only
 * reader) and index.html, which lists every reader with the subject and
 * the session times as that reader reads them.
 *
 * A run writes into DIR/.herald-stage.PID/ and commit() moves the files
 * into DIR, then removes the files of the previous run that this one did
 * not write (DIR/.herald-manifest lists a run's files), so DIR holds this
 * post's messages only.  A run that is killed leaves its stage directory;
 * the next run removes any whose process is gone, and its own stale
 * "NAME.eml.tmp.PID" / "NAME.html.tmp.PID" files too.
 *
 * A DIR written by a herald older than the manifest has none: then the
 * files removed are only those that are evidently herald's (legacy_drop()
 * says how it tells), never anything else.
 */
#include "backend.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MANIFEST ".herald-manifest"
#define STAGE ".herald-stage."

struct spool {
	struct herald_backend b;
	char *dir;
	char *stage;
	FILE *index;
	FILE *manifest;
	bool committed;
	struct hbuf path, fname, row;
};

bool
herald_pid_dead(long pid)
{
	return pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* The pid at the end of name after prefix-or-marker, or -1. */
static long
pid_after(const char *s)
{
	char *end;
	long pid;

	if (*s < '0' || *s > '9')
		return -1;
	pid = strtol(s, &end, 10);
	return *end == '\0' ? pid : -1;
}

static void
remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d != NULL) {
		while ((de = readdir(d)) != NULL) {
			char *p;

			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			p = xasprintf("%s/%s", dir, de->d_name);
			unlink(p);
			free(p);
		}
		closedir(d);
	}
	rmdir(dir);
}

/* Only herald's own temp files: NAME.eml.tmp.PID, NAME.html.tmp.PID
 * (a user's notes.tmp.1 is left alone). */
static bool
herald_tmp_name(const char *n, const char *tmp)
{
	size_t k = (size_t)(tmp - n);

	return (k >= 4 && memcmp(tmp - 4, ".eml", 4) == 0) ||
	    (k >= 5 && memcmp(tmp - 5, ".html", 5) == 0);
}

/* Stage directories and temp files left by killed runs. */
static void
clean_stale(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name, *tmp = strstr(n, ".tmp.");
		char *p;

		if (strncmp(n, STAGE, strlen(STAGE)) == 0 &&
		    herald_pid_dead(pid_after(n + strlen(STAGE)))) {
			p = xasprintf("%s/%s", dir, n);
			remove_tree(p);
			free(p);
		} else if (tmp != NULL && herald_tmp_name(n, tmp) &&
		    herald_pid_dead(pid_after(tmp + 5))) {
			p = xasprintf("%s/%s", dir, n);
			unlink(p);
			free(p);
		}
	}
	closedir(d);
}

/*
 * A file name for an address that no other address shares: lower-case
 * (the list treats addresses case-insensitively), letters, digits and
 * "@+-_." kept, every other byte (and a leading dot) as %XX.  A name
 * longer than FNAME_MAX (an address may have 254 octets, and escaping
 * triples some; NAME_MAX is 255 with ".html.tmp.PID" still to come) is
 * cut and ends in "~" and 16 hex digits of the SHA-256 of the full name.
 */
#define FNAME_MAX 200

static void put_fname_full(struct hbuf *b, const char *addr);

static void
put_fname(struct hbuf *b, const char *addr)
{
	size_t start = b->len;

	put_fname_full(b, addr);
	if (b->len - start > FNAME_MAX) {
		unsigned char h[32];
		char hex[65];
		size_t cut = start + FNAME_MAX - 17;

		sha256(b->data + start, b->len - start, h);
		hex_encode(h, 8, hex);
		/* never inside a %XX */
		if (b->data[cut - 1] == '%')
			cut -= 1;
		else if (b->data[cut - 2] == '%')
			cut -= 2;
		b->len = cut;
		hbuf_printf(b, "~%s", hex);
	}
}

static void
put_fname_full(struct hbuf *b, const char *addr)
{
	for (const char *p = addr; *p; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch >= 'A' && ch <= 'Z')
			ch += 32;
		if (((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    strchr("@+-_.", ch)) && !(p == addr && ch == '.'))
			hbuf_putc(b, (char)ch);
		else
			hbuf_printf(b, "%%%02X", ch);
	}
}

/* A file name as a relative URL: only '%' needs escaping. */
static void
put_href(struct hbuf *b, const char *fname, const char *ext)
{
	for (const char *p = fname; *p; p++)
		if (*p == '%')
			hbuf_puts(b, "%25");
		else
			hbuf_putc(b, *p);
	hbuf_puts(b, ext);
}

static int
cant_write(struct herald_err *e, const char *path)
{
	return herald_errf(e, EX_CANTCREAT, path, 0, "cannot write: %s",
	    strerror(errno));
}

static int
stage_write(struct spool *s, const char *ext, const char *data, size_t len,
    struct herald_err *e)
{
	hbuf_reset(&s->path);
	hbuf_printf(&s->path, "%s/%s%s", s->stage, s->fname.data, ext);
	return write_file_replace(s->path.data, data, len, false, e);
}

static int
spool_put(struct herald_backend *b, const struct herald_recipient *r,
    struct herald_message *m, struct herald_err *e)
{
	struct spool *s = (struct spool *)b;
	const char *subject = b->c->post.subject;
	struct hbuf *row = &s->row;
	int rc;

	hbuf_reset(&s->fname);
	put_fname(&s->fname, r->email);
	if ((rc = stage_write(s, ".eml", m->eml.data, m->eml.len, e)) != 0)
		return rc;
	if (r->text_only) {
		/* what a text-only reader sees: the decoded text part */
		struct hbuf h = HBUF_INIT;

		hbuf_puts(&h, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
		    "<title>");
		hbuf_put_html(&h, subject, strlen(subject));
		hbuf_puts(&h, "</title></head><body>\n<p><b>text-only message"
		    "</b> to ");
		hbuf_put_html(&h, r->email, strlen(r->email));
		hbuf_puts(&h, "</p>\n<pre style=\"white-space:pre-wrap\">");
		hbuf_put_html(&h, hbuf_cstr((struct hbuf *)&m->text), m->text.len);
		hbuf_puts(&h, "</pre>\n</body></html>\n");
		rc = stage_write(s, ".html", h.data, h.len, e);
		hbuf_free(&h);
	} else
		rc = stage_write(s, ".html", m->html.data ? m->html.data : "",
		    m->html.len, e);
	if (rc != 0)
		return rc;

	hbuf_reset(row);
	hbuf_puts(row, "<tr><td>");
	hbuf_put_html(row, r->email, strlen(r->email));
	hbuf_puts(row, "</td><td>");
	hbuf_put_html(row, r->name, strlen(r->name));
	hbuf_puts(row, "</td><td>");
	if (r->timezone)
		hbuf_put_html(row, r->timezone, strlen(r->timezone));
	hbuf_puts(row, "</td><td>");
	if (r->locale)
		hbuf_put_html(row, r->locale, strlen(r->locale));
	hbuf_printf(row, "</td><td>%s</td><td>", r->text_only ? "text" : "html");
	hbuf_put_html(row, subject, strlen(subject));
	hbuf_puts(row, "</td><td>");
	for (size_t i = 0; i < m->ntimes; i++) {
		if (i > 0)
			hbuf_puts(row, "<br>");
		hbuf_put_html(row, m->times[i], strlen(m->times[i]));
	}
	hbuf_puts(row, "</td><td><a href=\"");
	put_href(row, s->fname.data, ".html");
	hbuf_puts(row, "\">view</a></td><td><a href=\"");
	put_href(row, s->fname.data, ".eml");
	hbuf_puts(row, "\">.eml</a></td></tr>\n");
	if (fwrite(row->data, 1, row->len, s->index) != row->len ||
	    fprintf(s->manifest, "%s\n", s->fname.data) < 0) {
		hbuf_reset(&s->path);
		hbuf_printf(&s->path, "%s/index.html", s->stage);
		return cant_write(e, s->path.data);
	}
	return 0;
}

/* Has this run written NAME (a manifest line: NAME.eml in the stage)? */
static bool
staged(const struct spool *s, const char *name, size_t len)
{
	struct stat st;
	char *p = xasprintf("%s/%.*s.eml", s->stage, (int)len, name);
	bool yes = stat(p, &st) == 0;

	free(p);
	return yes;
}

/* "<" 16 hex "." 32 hex "@": herald_campaign_message_id()'s form. */
static bool
herald_msgid(const char *v)
{
	if (*v++ != '<')
		return false;
	for (int i = 0; i < 49; i++, v++)
		if (i == 16 ? *v != '.' : !isxdigit((unsigned char)*v) ||
		    isupper((unsigned char)*v))
			return false;
	return *v == '@';
}

/*
 * Is path a message herald wrote?  A regular file (symbolic links are not
 * followed) whose header, in herald's CRLF form, has a Message-ID of
 * herald's form (campaign id "." 32 hex digits) and the one-click
 * List-Unsubscribe-Post field herald puts in every message.  A message
 * saved from a mailbox, or written by another program, lacks one or the
 * other.
 */
static bool
herald_eml(const char *path)
{
	char buf[16384];
	ssize_t n;
	size_t len = 0;
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	bool id = false, post = false;
	char *end, *line;

	if (fd < 0)
		return false;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return false;
	}
	while (len < sizeof(buf) - 1 &&
	    (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	if ((end = strstr(buf, "\r\n\r\n")) == NULL)
		return false;
	end[2] = '\0';
	for (line = buf; *line; ) {
		char *next = strstr(line, "\r\n");

		*next = '\0';
		if (strncmp(line, "Message-ID: ", 12) == 0)
			id = herald_msgid(line + 12);
		else if (strcmp(line, "List-Unsubscribe-Post: "
		    "List-Unsubscribe=One-Click") == 0)
			post = true;
		line = next + 2;
	}
	return id && post;
}

/*
 * No manifest: a DIR from an older herald, or one herald never wrote.
 * Remove NAME.eml when herald_eml() says herald wrote it and this run did
 * not write NAME, and NAME.html with it when that is a regular file written
 * within a minute of it (herald wrote the two together).  index.html is
 * replaced by this run's.  Every other file stays, and nothing in a
 * subdirectory is looked at.
 */
static void
legacy_drop(struct spool *s)
{
	DIR *d = opendir(s->dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		size_t len = strlen(n);
		struct stat se, sh;
		char *eml, *html;

		if (len <= 4 || strcmp(n + len - 4, ".eml") != 0 || n[0] == '.' ||
		    staged(s, n, len - 4))
			continue;
		eml = xasprintf("%s/%s", s->dir, n);
		html = xasprintf("%s/%.*s.html", s->dir, (int)(len - 4), n);
		if (herald_eml(eml) && lstat(eml, &se) == 0) {
			if (lstat(html, &sh) == 0 && S_ISREG(sh.st_mode) &&
			    llabs((long long)sh.st_mtime -
			    (long long)se.st_mtime) <= 60)
				unlink(html);
			unlink(eml);
		}
		free(eml);
		free(html);
	}
	closedir(d);
}

/* Remove what the previous run wrote and this one did not. */
static void
drop_previous(struct spool *s)
{
	char *old = xasprintf("%s/" MANIFEST, s->dir);
	FILE *f = fopen(old, "r");
	char line[1024];

	free(old);
	if (f == NULL) {
		if (errno == ENOENT)
			legacy_drop(s);
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p;

		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0' || line[0] == '.' || strchr(line, '/'))
			continue;
		if (!staged(s, line, strlen(line))) {
			static const char *const ext[] = { ".eml", ".html" };

			for (size_t i = 0; i < 2; i++) {
				p = xasprintf("%s/%s%s", s->dir, line, ext[i]);
				unlink(p);
				free(p);
			}
		}
	}
	fclose(f);
}

static int
spool_commit(struct herald_backend *b, struct herald_err *e)
{
	struct spool *s = (struct spool *)b;
	DIR *d;
	struct dirent *de;
	int rc = 0;

	fputs("</table>\n</body></html>\n", s->index);
	if (fclose(s->index) != 0) {
		s->index = NULL;
		return cant_write(e, s->stage);
	}
	s->index = NULL;
	if (fclose(s->manifest) != 0) {
		s->manifest = NULL;
		return cant_write(e, s->stage);
	}
	s->manifest = NULL;
	drop_previous(s);
	if ((d = opendir(s->stage)) == NULL)
		return cant_write(e, s->stage);
	while ((de = readdir(d)) != NULL && rc == 0) {
		char *from, *to;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		from = xasprintf("%s/%s", s->stage, de->d_name);
		to = xasprintf("%s/%s", s->dir, de->d_name);
		if (rename(from, to) != 0)
			rc = cant_write(e, to);
		free(from);
		free(to);
	}
	closedir(d);
	if (rc == 0) {
		rmdir(s->stage);
		s->committed = true;
	}
	return rc;
}

static void
spool_close(struct herald_backend *b)
{
	struct spool *s = (struct spool *)b;

	if (s->index)
		fclose(s->index);
	if (s->manifest)
		fclose(s->manifest);
	if (!s->committed)
		remove_tree(s->stage);
	free(s->dir);
	free(s->stage);
	hbuf_free(&s->path);
	hbuf_free(&s->fname);
	hbuf_free(&s->row);
	free(s);
}

static const struct herald_backend_ops spool_ops = {
	"spool", spool_put, spool_commit, spool_close,
};

int
herald_spool_open(const char *dir, const struct herald_campaign *c,
    struct herald_backend **out, struct herald_err *e)
{
	struct spool *s;
	const char *subject = c->post.subject;
	struct hbuf h = HBUF_INIT;
	char *p;
	int rc;

	*out = NULL;
	if ((rc = mkdir_p(dir, e)) != 0)
		return rc;
	clean_stale(dir);
	s = xcalloc(1, sizeof(*s));
	s->b.ops = &spool_ops;
	s->b.c = c;
	s->dir = xstrdup(dir);
	s->b.where = s->dir;
	s->stage = xasprintf("%s/" STAGE "%ld", dir, (long)getpid());
	remove_tree(s->stage);	/* our own pid's, from an earlier life */
	if (mkdir(s->stage, 0755) != 0) {
		rc = cant_write(e, s->stage);
		goto fail;
	}
	p = xasprintf("%s/index.html", s->stage);
	s->index = fopen(p, "w");
	free(p);
	p = xasprintf("%s/" MANIFEST, s->stage);
	s->manifest = fopen(p, "w");
	free(p);
	if (s->index == NULL || s->manifest == NULL) {
		rc = cant_write(e, s->stage);
		goto fail;
	}
	hbuf_puts(&h, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width\">\n"
	    "<title>herald preview: ");
	hbuf_put_html(&h, subject, strlen(subject));
	hbuf_puts(&h, "</title>\n<style>body{font-family:sans-serif;margin:2em}"
	    "table{border-collapse:collapse}td,th{border:1px solid #999;"
	    "padding:4px 8px;text-align:left;vertical-align:top}</style>"
	    "</head><body>\n<h1>");
	hbuf_put_html(&h, subject, strlen(subject));
	hbuf_puts(&h, "</h1>\n<table><tr><th>email</th><th>name</th>"
	    "<th>time zone</th><th>locale</th><th>format</th><th>subject</th>"
	    "<th>session times</th><th>message</th><th>source</th></tr>\n");
	if (fwrite(h.data, 1, h.len, s->index) != h.len) {
		rc = cant_write(e, s->stage);
		goto fail;
	}
	hbuf_free(&h);
	*out = &s->b;
	return 0;
fail:
	hbuf_free(&h);
	spool_close(&s->b);
	return rc;
}
