/*
 * mbox.c - the mbox backend of `herald preview --mbox`: every message in
 * one file that mutt, Python's mailbox module or Thunderbird opens as it
 * is.  The variant is mboxrd (RFC 4155 and the qmail mbox(5) page): each
 * message starts with a "From SENDER DATE" line, any body line matching
 * /^>*From / gets one more '>', and lines end in LF on disk (the messages
 * themselves are built with CRLF for SMTP).
 *
 * A regular file is written as DIR/.NAME.herald-tmp.PID and renamed over
 * NAME at commit; temp files of killed runs are removed on the next run.
 * Anything else that exists (/dev/null, a FIFO, a symlink) is written in
 * place, never renamed over.  "-" streams to standard output.
 */
#include "backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TMP_MARK ".herald-tmp."

struct mbox {
	struct herald_backend b;
	FILE *f;
	char *path;        /* NULL for standard output */
	char *tmp;
	bool committed;
	bool inplace;      /* not a regular file: written directly */
	char from_line[512];
};

static int
cant_write(struct herald_err *e, const char *path)
{
	return herald_errf(e, EX_CANTCREAT, path ? path : "(stdout)", 0,
	    "cannot write: %s", strerror(errno));
}

/* .NAME.herald-tmp.PID files beside path whose process is gone. */
static void
clean_stale(const char *dir, const char *base)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t bl = strlen(base), ml = strlen(TMP_MARK);

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		char *end;
		long pid;

		if (n[0] != '.' || strncmp(n + 1, base, bl) != 0 ||
		    strncmp(n + 1 + bl, TMP_MARK, ml) != 0)
			continue;
		pid = strtol(n + 1 + bl + ml, &end, 10);
		if (*end == '\0' && herald_pid_dead(pid)) {
			char *p = xasprintf("%s/%s", dir, n);

			unlink(p);
			free(p);
		}
	}
	closedir(d);
}

static int
mbox_put(struct herald_backend *b, const struct herald_recipient *r,
    struct herald_message *m, struct herald_err *e)
{
	struct mbox *x = (struct mbox *)b;
	const char *p = m->eml.data ? m->eml.data : "";
	const char *end = p + m->eml.len;

	(void)r;
	fputs(x->from_line, x->f);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e2 = nl ? nl : end;
		const char *q = p;

		if (e2 > p && e2[-1] == '\r')
			e2--;
		while (q < e2 && *q == '>')
			q++;
		if ((size_t)(e2 - q) >= 5 && memcmp(q, "From ", 5) == 0)
			fputc('>', x->f);
		fwrite(p, 1, (size_t)(e2 - p), x->f);
		fputc('\n', x->f);
		p = nl ? nl + 1 : end;
	}
	fputc('\n', x->f);	/* a blank line ends each message */
	if (ferror(x->f))
		return cant_write(e, x->path);
	return 0;
}

static int
mbox_commit(struct herald_backend *b, struct herald_err *e)
{
	struct mbox *x = (struct mbox *)b;

	if (x->path == NULL) {
		if (fflush(x->f) != 0 || ferror(x->f))
			return cant_write(e, x->inplace ? x->b.where : NULL);
		x->committed = true;
		return 0;
	}
	if (fflush(x->f) != 0 || fsync(fileno(x->f)) != 0) {
		return cant_write(e, x->path);
	}
	if (fclose(x->f) != 0) {
		x->f = NULL;
		return cant_write(e, x->path);
	}
	x->f = NULL;
	if (rename(x->tmp, x->path) != 0)
		return cant_write(e, x->path);
	x->committed = true;
	return 0;
}

static void
mbox_close(struct herald_backend *b)
{
	struct mbox *x = (struct mbox *)b;

	if (x->path != NULL) {
		if (x->f)
			fclose(x->f);
		if (!x->committed && x->tmp)
			unlink(x->tmp);
	} else if (x->inplace && x->f)
		fclose(x->f);
	free(x->path);
	free(x->tmp);
	free(x);
}

static const struct herald_backend_ops mbox_ops = {
	"mbox", mbox_put, mbox_commit, mbox_close,
};

int
herald_mbox_open(const char *path, const struct herald_campaign *c,
    struct herald_backend **out, struct herald_err *e)
{
	struct mbox *x = xcalloc(1, sizeof(*x));
	time_t now = time(NULL);
	struct tm tm;
	struct stat st;
	char date[64];

	*out = NULL;
	x->b.ops = &mbox_ops;
	x->b.c = c;
	gmtime_r(&now, &tm);
	/* the asctime() form mbox readers expect */
	strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
	snprintf(x->from_line, sizeof(x->from_line), "From %s %s\n",
	    c->cfg.from_addr && *c->cfg.from_addr ? c->cfg.from_addr :
	    "MAILER-DAEMON", date);
	if (strcmp(path, "-") == 0) {
		x->f = stdout;
		x->b.where = "standard output";
	} else if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		/* /dev/null, a FIFO, a symlink: written in place, never
		 * replaced by a rename */
		x->path = NULL;
		x->b.where = path;
		if ((x->f = fopen(path, "w")) == NULL) {
			int rc = cant_write(e, path);

			mbox_close(&x->b);
			return rc;
		}
		x->inplace = true;
	} else {
		const char *slash = strrchr(path, '/');
		char *dir = slash ? xstrndup(path, (size_t)(slash - path + (slash == path))) :
		    xstrdup(".");
		const char *base = slash ? slash + 1 : path;
		int fd;

		x->path = xstrdup(path);
		x->b.where = x->path;
		if (*base == '\0') {
			free(dir);
			herald_errf(e, EX_USAGE, path, 0, "--mbox needs a file name, not a directory");
			mbox_close(&x->b);
			return EX_USAGE;
		}
		clean_stale(dir, base);
		x->tmp = xasprintf("%s/.%s" TMP_MARK "%ld", dir, base,
		    (long)getpid());
		free(dir);
		unlink(x->tmp);	/* our own pid's, from an earlier life */
		fd = open(x->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 || (x->f = fdopen(fd, "w")) == NULL) {
			int rc = cant_write(e, path);

			if (fd >= 0)
				close(fd);
			unlink(x->tmp);
			free(x->tmp);
			x->tmp = NULL;
			mbox_close(&x->b);
			return rc;
		}
	}
	*out = &x->b;
	return 0;
}
