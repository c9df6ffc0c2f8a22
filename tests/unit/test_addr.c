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

/*
 * herald_keyset keeps no keys: the test holds them, by reference number,
 * and counts how often the set asks for one.
 */
struct store {
	char keys[3000][32];
	int asked;
	bool lose;          /* key_at fails: every key counts as new */
};

static bool
store_key(void *arg, uint64_t ref, char *out, size_t n)
{
	struct store *st = arg;

	st->asked++;
	if (st->lose || ref >= 3000)
		return false;
	snprintf(out, n, "%s", st->keys[ref]);
	return true;
}

/* Every key the same hash: each comparison goes back to the keys. */
static uint64_t
same_hash(const void *p, size_t n)
{
	(void)p;
	(void)n;
	return UINT64_C(0xdeadbeefcafef00d);
}

/* Two hashes only (by the key's length), differing in the bits the table
 * is indexed by. */
static uint64_t
two_hashes(const void *p, size_t n)
{
	(void)p;
	return n & 1 ? UINT64_C(1) << 63 : 1;
}

static void
test_keyset_collisions(void)
{
	static struct store st;
	herald_keyset_hash_fn fns[] = { same_hash, two_hashes, NULL };

	for (size_t f = 0; f < 3; f++) {
		/* hint 0: the table grows (1024 slots, then 2048, 4096)
		 * with every key colliding */
		struct herald_keyset *s = herald_keyset_new(0, true,
		    fns[f], store_key, &st);
		int wrong = 0;

		memset(&st, 0, sizeof(st));
		/* 3000 different keys, the oracle being their index: key i
		 * is new the first time, and names line i + 1 after */
		for (int i = 0; i < 3000; i++) {
			snprintf(st.keys[i], sizeof(st.keys[i]),
			    "user%d@example.org", i);
			if (herald_keyset_add(s, st.keys[i], (uint64_t)i,
			    i + 1) != 0)
				wrong++;
		}
		INT_EQ(wrong, 0, "hash %zu: 3000 different addresses, none "
		    "taken for another (a collision drops nobody)", f);
		for (int i = 0; i < 3000; i += 7)
			if (herald_keyset_add(s, st.keys[i], 99999,
			    50000 + i) != i + 1)
				wrong++;
		INT_EQ(wrong, 0, "hash %zu: each repeat names its first line",
		    f);
		if (f == 0)
			OK(st.asked >= 3000 * 2999 / 2, "all-colliding keys "
			    "were compared whole (%d fetches)", st.asked);
		if (f == 2)
			OK(st.asked < 3000 / 7 + 50, "a real hash fetches "
			    "little beyond the repeats (%d)", st.asked);
		herald_keyset_free(s);
	}
}

static void
test_keyset_unreadable(void)
{
	static struct store st;
	struct herald_keyset *s = herald_keyset_new(10, true, same_hash,
	    store_key, &st);

	memset(&st, 0, sizeof(st));
	snprintf(st.keys[0], sizeof(st.keys[0]), "a@example.org");
	INT_EQ(herald_keyset_add(s, "a@example.org", 0, 1), 0, "new");
	st.lose = true;
	INT_EQ(herald_keyset_add(s, "a@example.org", 1, 2), 0,
	    "a key that cannot be read again counts as new (a copy too "
	    "many, never a reader lost)");
	st.lose = false;
	INT_EQ(herald_keyset_add(s, "a@example.org", 2, 3), 1, "readable "
	    "again: the first line");
	INT_EQ(herald_keyset_add(s, "b@example.org", UINT64_C(1) << 41, 4), -1,
	    "a reference past 2^40 is refused");
	herald_keyset_free(s);
	herald_keyset_free(NULL);
}

static void
test_keyset_size(void)
{
	static struct store st;
	struct herald_keyset *s = herald_keyset_new(100000, true, NULL,
	    store_key, &st);
	size_t b = herald_keyset_bytes(s);

	/* 100,000 keys in 131,072 slots of 12 bytes: the whole set is
	 * 1.5 MiB, the size issue 13's memory goal was counted with */
	OK(b <= 131072 * 12 + 256, "100,000 rows: %zu bytes", b);
	herald_keyset_free(s);
	/* reserving after some keys: the same size as a hint, keys kept */
	memset(&st, 0, sizeof(st));
	s = herald_keyset_new(0, true, NULL, store_key, &st);
	for (int i = 0; i < 1000; i++) {
		snprintf(st.keys[i], sizeof(st.keys[i]), "r%d@example.org", i);
		herald_keyset_add(s, st.keys[i], (uint64_t)i, i + 1);
	}
	herald_keyset_reserve(s, 100000);
	OK(herald_keyset_bytes(s) <= 131072 * 12 + 256, "reserved for 100,000: "
	    "%zu bytes", herald_keyset_bytes(s));
	{
		int wrong = 0;

		for (int i = 0; i < 1000; i++)
			wrong += herald_keyset_add(s, st.keys[i], 7777, 9) !=
			    i + 1;
		INT_EQ(wrong, 0, "after reserving, every key is still found");
	}
	herald_keyset_free(s);
	s = herald_keyset_new(100000, false, NULL, store_key, &st);
	OK(herald_keyset_bytes(s) <= 131072 * 8 + 256, "100,000 rows without "
	    "lines: %zu bytes", herald_keyset_bytes(s));
	herald_keyset_free(s);
	/* without lines, with every hash the same: still exact */
	memset(&st, 0, sizeof(st));
	s = herald_keyset_new(0, false, same_hash, store_key, &st);
	for (int i = 0; i < 2000; i++)
		snprintf(st.keys[i], sizeof(st.keys[i]), "u%d@example.org", i);
	{
		int wrong = 0;

		for (int i = 0; i < 2000; i++)
			wrong += herald_keyset_add(s, st.keys[i], (uint64_t)i,
			    i + 1) != 0;
		for (int i = 0; i < 2000; i += 3)
			wrong += herald_keyset_add(s, st.keys[i], 5000, 9) != 1;
		INT_EQ(wrong, 0, "without lines: new keys 0, repeats 1");
	}
	herald_keyset_free(s);
	s = herald_keyset_new(0, true, NULL, store_key, &st);
	OK(herald_keyset_bytes(s) <= 1024 * 12 + 256, "empty: %zu bytes",
	    herald_keyset_bytes(s));
	herald_keyset_free(s);
}

int
main(void)
{
	test_valid();
	test_key();
	test_set();
	test_keyset_collisions();
	test_keyset_unreadable();
	test_keyset_size();
	return harness_done();
}
