#include "harness.h"
#include "util.h"

#include <stdlib.h>

static void
test_utf8(void)
{
	size_t off = 0;

	OK(utf8_valid("h\xc3\xa9llo", 6, NULL), "valid");
	OK(!utf8_valid("ab\xc3(", 4, &off), "truncated");
	INT_EQ(off, 2, "offset of bad byte");
	OK(!utf8_valid("\xed\xa0\x80", 3, NULL), "surrogate");
	OK(!utf8_valid("\xc0\xaf", 2, NULL), "overlong");
}

static void
test_b64url(void)
{
	struct hbuf b = HBUF_INIT;
	unsigned char out[16];

	base64url_put(&b, (const unsigned char *)"a@b.c", 5);
	STR_EQ(hbuf_cstr(&b), "YUBiLmM", "encode");
	INT_EQ(base64url_decode(b.data, b.len, out, sizeof(out)), 5, "decode");
	OK(memcmp(out, "a@b.c", 5) == 0, "roundtrip");
	/* Strict: one spelling only (Python: base64.urlsafe_b64decode
	 * ignores the last two bits of "YUBiLmN", herald must not). */
	INT_EQ(base64url_decode("YUBiLmN", 7, out, sizeof(out)), -1,
	    "stray low bits");
	INT_EQ(base64url_decode("YUBiLmM=", 8, out, sizeof(out)), -1,
	    "padding");
	INT_EQ(base64url_decode("YUBiL", 5, out, sizeof(out)), -1,
	    "impossible length");
	INT_EQ(base64url_decode("YU+i", 4, out, sizeof(out)), -1,
	    "standard alphabet");
	INT_EQ(base64url_decode("YUBiLmM", 7, out, 4), -1, "too long for out");
	hbuf_free(&b);
}

static void
test_err(void)
{
	struct herald_err e = {0};
	char line[1200];

	herald_errf(&e, EX_DATAERR, "lists/x.csv", 17, "invalid time zone \"%s\"", "Mars/Olympus");
	herald_err_format(&e, line, sizeof(line));
	STR_EQ(line, "herald: lists/x.csv:17: invalid time zone \"Mars/Olympus\"", "format");
}

/* A buffer that has only been grown reads as "" (it once held whatever
 * realloc returned: fuzz_markdown's empty post, regress/markdown). */
static void
test_hbuf_grown_empty(void)
{
	struct hbuf b = HBUF_INIT;
	char *volatile junk = malloc(128);   /* volatile: not optimised away */

	/* leave a dirty chunk of the size the buffer will get, so the test
	 * can fail outside ASan too (ASan fills new blocks itself) */
	memset(junk, 'x', 128);
	free(junk);
	hbuf_grow(&b, 100);
	OK(b.data != NULL && b.data[0] == '\0', "grown buffer is \"\"");
	STR_EQ(hbuf_cstr(&b), "", "hbuf_cstr of a grown buffer");
	hbuf_put(&b, "abc", 3);
	hbuf_grow(&b, 1000);
	STR_EQ(hbuf_cstr(&b), "abc", "growing keeps the text and its end");
	hbuf_free(&b);
}

int
main(void)
{
	test_hbuf_grown_empty();
	test_utf8();
	test_b64url();
	test_err();
	return harness_done();
}
