/*
 * test_mbox.c - the mbox backend: mboxrd quoting of "From " lines (one more
 * '>' for /^>*From /, as the qmail mbox(5) page describes), LF line ends,
 * a blank line after each message, and nothing left behind without commit.
 */
#include "harness.h"
#include "backend.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char EML[] =
	"From: a@example.org\r\n"
	"Subject: x\r\n"
	"\r\n"
	"From the start\r\n"
	">From quoted once\r\n"
	">>From twice\r\n"
	"Fromage is fine\r\n"
	" From indented\r\n";

static const char WANT[] =
	"From: a@example.org\n"
	"Subject: x\n"
	"\n"
	">From the start\n"
	">>From quoted once\n"
	">>>From twice\n"
	"Fromage is fine\n"
	" From indented\n"
	"\n";

int
main(void)
{
	char dir[] = "/tmp/herald-mbox-XXXXXX";
	struct herald_campaign c;
	struct herald_message m = {0};
	struct herald_recipient r = { .email = "b@example.org", .name = "" };
	struct herald_backend *b = NULL;
	struct herald_err e = {0};
	struct hbuf got = HBUF_INIT;
	char *path, *tmp;

	memset(&c, 0, sizeof(c));
	c.cfg.from_addr = (char *)"news@example.org";
	OK(mkdtemp(dir) != NULL, "mkdtemp");
	path = xasprintf("%s/all.mbox", dir);
	hbuf_puts(&m.eml, EML);

	/* without commit: nothing there, no temp file left */
	INT_EQ(herald_mbox_open(path, &c, &b, &e), 0, "%s", e.msg);
	INT_EQ(herald_backend_put(b, &r, &m, &e), 0, "%s", e.msg);
	herald_backend_close(b);
	OK(access(path, F_OK) != 0, "an uncommitted mbox must not appear");
	tmp = xasprintf("%s/.all.mbox.herald-tmp.%ld", dir, (long)getpid());
	OK(access(tmp, F_OK) != 0, "temp file left behind");

	INT_EQ(herald_mbox_open(path, &c, &b, &e), 0, "%s", e.msg);
	INT_EQ(herald_backend_put(b, &r, &m, &e), 0, "%s", e.msg);
	INT_EQ(herald_backend_put(b, &r, &m, &e), 0, "%s", e.msg);
	INT_EQ(herald_backend_commit(b, &e), 0, "%s", e.msg);
	herald_backend_close(b);
	INT_EQ(read_file(path, &got, &e), 0, "%s", e.msg);
	{
		const char *s = hbuf_cstr(&got), *nl = strchr(s, '\n');
		const char *second;

		OK(strncmp(s, "From news@example.org ", 22) == 0,
		    "From_ line: %.40s", s);
		OK(nl != NULL && strncmp(nl + 1, WANT, strlen(WANT)) == 0,
		    "body:\n%s", nl ? nl + 1 : s);
		second = nl ? nl + 1 + strlen(WANT) : s;
		OK(strncmp(second, "From news@example.org ", 22) == 0,
		    "second message starts with its From_ line: %.40s", second);
		OK(strchr(s, '\r') == NULL, "CR on disk");
	}
	/* Something that is not a regular file (here a symlink; /dev/null
	 * in real use) is written in place, never renamed over. */
	{
		char *target = xasprintf("%s/target", dir);
		char *link = xasprintf("%s/link.mbox", dir);
		struct stat st;

		OK(symlink(target, link) == 0, "symlink");
		INT_EQ(herald_mbox_open(link, &c, &b, &e), 0, "%s", e.msg);
		INT_EQ(herald_backend_put(b, &r, &m, &e), 0, "%s", e.msg);
		INT_EQ(herald_backend_commit(b, &e), 0, "%s", e.msg);
		herald_backend_close(b);
		OK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode),
		    "the symlink was replaced");
		OK(stat(target, &st) == 0 && st.st_size > 0,
		    "nothing written through the symlink");
		unlink(link);
		unlink(target);
		free(link);
		free(target);
	}
	unlink(path);
	rmdir(dir);
	free(path);
	free(tmp);
	hbuf_free(&got);
	hbuf_free(&m.eml);
	return harness_done();
}
