/*
 * test_wrap.c - display widths (Unicode East Asian Width) and line breaks
 * (UAX #14) of the text wrapper.  Expected widths and break places are the
 * Unicode rules applied by hand: ideographs are wide and break between
 * characters, a no-break span never breaks, a URL never breaks.
 */
#include "harness.h"
#include "wrap.h"

#include <stdlib.h>
#include <string.h>

static char *
wrapped(const char *s, size_t width)
{
	struct hbuf b = HBUF_INIT;

	herald_wrap(s, strlen(s), width, &b);
	return b.data ? hbuf_detach(&b) : xstrdup("");
}

static void
widths(void)
{
	INT_EQ(herald_wrap_width("abc", 3), 3, "ascii");
	INT_EQ(herald_wrap_width("日本", 6), 4, "ideographs are wide");
	INT_EQ(herald_wrap_width("ｱ", 3), 1, "halfwidth katakana");
	INT_EQ(herald_wrap_width("e\xcc\x81", 3), 1, "combining acute is 0");
	INT_EQ(herald_wrap_width("\x02x\x03", 3), 1, "markers take no column");
	INT_EQ(herald_wrap_width("a\x01" "b", 3), 3, "glue is a space");
	INT_EQ(herald_wrap_min_width("aa bbbb c", 9), 4, "widest word");
	INT_EQ(herald_wrap_min_width("\x02" "17 Dec 18:30\x03 x", 16), 12,
	    "a held span is one piece");
}

static void
breaks(void)
{
	char *s;

	s = wrapped("one two three four", 9);
	STR_EQ(s, "one two\nthree\nfour\n", "greedy at spaces");
	free(s);
	s = wrapped("日本語日本語", 6);
	STR_EQ(s, "日本語\n日本語\n", "ideographs break between characters");
	free(s);
	s = wrapped("at \x02Thu 17 Dec\x03 ok", 8);
	STR_EQ(s, "at\nThu 17 Dec\nok\n", "held span stays whole, markers dropped");
	free(s);
	s = wrapped("at\x01[1] x", 3);
	STR_EQ(s, "at\x01[1]\nx\n", "glue does not break");
	free(s);
	s = wrapped("see https://example.org/a/b/c-d/e now", 10);
	STR_EQ(s, "see\nhttps://example.org/a/b/c-d/e\nnow\n", "URL kept whole");
	free(s);
	s = wrapped("a\n\nb", 10);
	STR_EQ(s, "a\n\nb\n", "hard breaks kept");
	free(s);
	s = wrapped("  lead", 10);
	STR_EQ(s, "lead\n", "leading blanks dropped");
	free(s);
	s = wrapped("", 10);
	STR_EQ(s, "", "empty");
	free(s);
}

int
main(void)
{
	widths();
	breaks();
	return harness_done();
}
