/*
 * test_suggest.c - "did you mean": typos (a letter wrong, missing, extra,
 * two swapped) find the word; far words, exact words and ties find
 * nothing.  Zone suggestions come from the system's tzdata.
 */
#include "harness.h"
#include "suggest.h"

#include <string.h>

int
main(void)
{
	static const char *const opts[] = { "list", "out", "mbox", "date",
	    "config", "verbose", "help", "concurrency" };
	size_t n = sizeof(opts) / sizeof(opts[0]);
	char z[128];

	STR_EQ(herald_suggest("lsit", opts, n), "list", "swapped letters");
	STR_EQ(herald_suggest("lst", opts, n), "list", "missing letter");
	STR_EQ(herald_suggest("concurency", opts, n), "concurrency", "double r");
	STR_EQ(herald_suggest("CONFIG2", opts, n), "config", "case, extra");
	OK(herald_suggest("list", opts, n) == NULL, "an exact word needs no hint");
	OK(herald_suggest("frobnicate", opts, n) == NULL, "far words: none");
	{
		static const char *const tie[] = { "abcd", "abce" };

		OK(herald_suggest("abcf", tie, 2) == NULL, "a tie: none");
	}
	OK(herald_suggest_zone("Europe/Stokholm", z, sizeof(z)) &&
	    strcmp(z, "Europe/Stockholm") == 0, "zone: %s", z);
	OK(herald_suggest_zone("America/New_Yrok", z, sizeof(z)) &&
	    strcmp(z, "America/New_York") == 0, "zone: %s", z);
	OK(!herald_suggest_zone("Mars/Olympus", z, sizeof(z)), "no zone: %s", z);
	return harness_done();
}
