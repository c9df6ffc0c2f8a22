/*
 * test_addr.c - addr.c: one address rule for list, config, MIME and the
 * SMTP envelope; keys that make two spellings of one address equal; sets
 * decided on the address itself.  Expected values are worked out from
 * RFC 5321 4.1.2 (Mailbox, Quoted-string, qtextSMTP) by hand.
 */
#include <stdio.h>
#include <stdlib.h>

#include "addr.h"
#include "harness.h"

static void
test_valid(void)
{
	static const char *good[] = {
		"\"a b\"@example.org",          /* the row */
		"\"a\\\\b\"@example.org",       /* quoted-pair backslash */
		"\"\"@example.org",             /* empty quoted string */
		"ann@[192.0.2.1]",
	};
	static const char *bad[] = {
		"\"a@b\"@example.org",  /* libcurl splits at the first @ */
		"\"a\tb\"@example.org", /* TAB is not qtextSMTP */
		"\"a\x7f\"@example.org",
		"a b@example.org",
		"ann@example.org>",
		"ann@example.org\r\nRCPT TO:<x@y>",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		OK(herald_addr_valid(good[i]), "should be valid: %s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		OK(!herald_addr_valid(bad[i]), "should be invalid: %s", bad[i]);
}

static void
test_key(void)
{
	static const char *same[][2] = {
		{ "Ann@Example.ORG", "ann@example.org" },
		{ "\"ann\"@example.org", "ann@example.org" },
		{ "\"a\\nn\"@example.org", "ann@example.org" },
		{ "\"first.last\"@example.org", "first.last@example.org" },
		{ "\"A B\"@example.org", "\"a\\ b\"@example.org" },
	};
	static const char *differ[][2] = {
		{ "\"a b\"@example.org", "ab@example.org" },
		{ "\"a..b\"@example.org", "a.b@example.org" },
		{ "ann@example.org", "ann@example.net" },
	};
	char k1[256], k2[256];

	for (size_t i = 0; i < sizeof(same) / sizeof(*same); i++) {
		OK(herald_addr_key(same[i][0], k1, sizeof(k1)) &&
		    herald_addr_key(same[i][1], k2, sizeof(k2)), "keys %zu", i);
		STR_EQ(k1, k2, "one address: %s %s", same[i][0], same[i][1]);
	}
	for (size_t i = 0; i < sizeof(differ) / sizeof(*differ); i++) {
		OK(herald_addr_key(differ[i][0], k1, sizeof(k1)) &&
		    herald_addr_key(differ[i][1], k2, sizeof(k2)), "keys %zu", i);
		OK(strcmp(k1, k2) != 0, "two addresses: %s %s", differ[i][0],
		    differ[i][1]);
	}
	/* A quoted local part that needs its quotes keeps them, minimally. */
	OK(herald_addr_key("\"a\\ b\"@Example.org", k1, sizeof(k1)), "key");
	STR_EQ(k1, "\"a b\"@example.org", "requoted");
	OK(herald_addr_valid(k1), "a key is itself a valid address");
	OK(!herald_addr_key("not an address", k1, sizeof(k1)), "invalid");
	OK(!herald_addr_key("ann@example.org", k1, 8), "does not fit");
}

static void
test_set(void)
{
	struct herald_addrset *s = herald_addrset_new();
	char a[64];
	int dups = 0;

	for (int i = 1; i <= 200000; i++) {
		snprintf(a, sizeof(a), "user%d@example.org", i);
		if (herald_addrset_add(s, a, i) != 0)
			dups++;
	}
	INT_EQ(dups, 0, "200,000 distinct addresses, none taken for another");
	INT_EQ(herald_addrset_add(s, "user7@example.org", 999), 7,
	    "a repeat names its first line");
	INT_EQ(herald_addrset_add(s, "user200001@example.org", 5), 0, "new");
	INT_EQ(herald_addrset_find(s, "user7@example.org"), 7, "find");
	INT_EQ(herald_addrset_find(s, "user200001@example.org"), 5, "find new");
	INT_EQ(herald_addrset_find(s, "user200002@example.org"), 0,
	    "find: absent");
	INT_EQ(herald_addrset_find(s, "user7@example.or"), 0, "find: exact");
	herald_addrset_free(s);
	s = herald_addrset_new();
	INT_EQ(herald_addrset_find(s, "a@example.org"), 0, "find: empty set");
	herald_addrset_free(s);
	herald_addrset_free(NULL);
}

int
main(void)
{
	test_valid();
	test_key();
	test_set();
	return harness_done();
}
