/*
 * test_token.c - unsubscribe tokens: every genuine token verifies to its
 * own (list, address); 100,000 forged, mutated, truncated, extended and
 * swapped ones are all refused; old secrets keep working while kept.
 */
#include "harness.h"
#include "token.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NADDR 200
#define NFORGE 100000

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static const char alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void
key_fill(unsigned char k[HERALD_TOKEN_KEYLEN], unsigned seed)
{
	for (int i = 0; i < HERALD_TOKEN_KEYLEN; i++)
		k[i] = (unsigned char)(seed * 131 + i * 7 + 1);
}

static char *addrs[NADDR], *lists[NADDR], *toks[NADDR];
static struct herald_tokens *T;
static size_t accepted_forgeries, tried;

/* Is candidate accepted although it is not one of the genuine tokens? */
static void
forged(const char *cand, const char *why)
{
	char *l = NULL, *a = NULL;

	for (int i = 0; i < NADDR; i++)
		if (strcmp(cand, toks[i]) == 0)
			return;         /* the mutation happened to be a no-op */
	tried++;
	if (herald_token_verify(T, cand, &l, &a)) {
		accepted_forgeries++;
		if (accepted_forgeries < 10)
			fprintf(stderr, "accepted %s token %s -> %s %s\n", why,
			    cand, l, a);
		free(l);
		free(a);
	}
}

static void
test_genuine(void)
{
	size_t ok = 0, wrong = 0;

	for (int i = 0; i < NADDR; i++) {
		char *l = NULL, *a = NULL;

		addrs[i] = xasprintf("Reader.%d+tag@Example%d.ORG", i * 7919, i % 13);
		lists[i] = i % 5 == 0 ? xstrdup("") : xasprintf("list-%d", i % 4);
		toks[i] = herald_token_make(T, lists[i], addrs[i]);
		if (herald_token_verify(T, toks[i], &l, &a)) {
			char *want = xstrdup(addrs[i]);
			ascii_lower(want);
			if (strcmp(l, lists[i]) == 0 && strcmp(a, want) == 0)
				ok++;
			else
				wrong++;
			free(want);
		}
		free(l);
		free(a);
	}
	INT_EQ(ok, NADDR, "every genuine token verifies");
	INT_EQ(wrong, 0, "to its own list and address");
	{
		char *again = herald_token_make(T, lists[3], addrs[3]);
		STR_EQ(again, toks[3], "deterministic");
		free(again);
	}
}

static void
test_unreadable(void)
{
	struct hbuf b = HBUF_INIT;
	int leaks = 0;

	for (int i = 0; i < NADDR; i++) {
		char *lower = xstrdup(addrs[i]);
		ascii_lower(lower);
		hbuf_reset(&b);
		base64url_put(&b, (const unsigned char *)lower, strlen(lower));
		/* neither the address nor any 6-char run of its base64 */
		if (strstr(toks[i], lower) || strstr(toks[i], "Example") ||
		    strstr(toks[i], "example"))
			leaks++;
		for (size_t k = 0; k + 6 <= b.len; k += 3) {
			char run[7];
			memcpy(run, b.data + k, 6);
			run[6] = '\0';
			if (strstr(toks[i], run))
				leaks++;
		}
		free(lower);
	}
	INT_EQ(leaks, 0, "the address cannot be read from a token");
	hbuf_free(&b);
}

static void
test_forgeries(void)
{
	unsigned char k2[HERALD_TOKEN_KEYLEN];
	struct herald_tokens *other;
	char buf[HERALD_TOKEN_MAX + 64];

	key_fill(k2, 99);
	other = herald_tokens_from_keys((const unsigned char (*)[HERALD_TOKEN_KEYLEN])k2, 1);
	while (tried < NFORGE) {
		int i = (int)(rnd() % NADDR), j = (int)(rnd() % NADDR);
		const char *t = toks[i], *u = toks[j];
		size_t n = strlen(t), m = strlen(u), p;
		char *x;

		switch (rnd() % 9) {
		case 0:         /* one character changed */
			strcpy(buf, t);
			p = rnd() % n;
			buf[p] = alpha[rnd() % 64];
			forged(buf, "mutated");
			break;
		case 1:         /* one bit of the last character (spellings) */
			strcpy(buf, t);
			buf[n - 1] = alpha[(strchr(alpha, buf[n - 1]) - alpha) ^
			    (int)(1 + rnd() % 15)];
			forged(buf, "re-spelled");
			break;
		case 2:         /* truncated */
			strcpy(buf, t);
			buf[rnd() % n] = '\0';
			forged(buf, "truncated");
			break;
		case 3:         /* extended */
			snprintf(buf, sizeof(buf), "%s%c", t, alpha[rnd() % 64]);
			if (rnd() % 2)
				strcat(buf, "=");
			forged(buf, "extended");
			break;
		case 4:         /* head of one, tail of another */
			p = 1 + rnd() % (n - 1);
			if (p >= m)
				p = m - 1;
			memcpy(buf, t, p);
			strcpy(buf + p, u + p);
			forged(buf, "spliced");
			break;
		case 5:         /* another secret's token */
			x = herald_token_make(other, lists[i], addrs[i]);
			forged(x, "other-secret");
			free(x);
			break;
		case 6:         /* random string of a plausible length */
			p = 20 + rnd() % 80;
			for (size_t k = 0; k < p; k++)
				buf[k] = alpha[rnd() % 64];
			buf[p] = '\0';
			forged(buf, "random");
			break;
		case 7:         /* two characters swapped */
			strcpy(buf, t);
			{
				size_t a = rnd() % n, b = rnd() % n;
				char c = buf[a];
				buf[a] = buf[b];
				buf[b] = c;
			}
			forged(buf, "swapped");
			break;
		default:        /* case flip, padding, stray characters */
			strcpy(buf, t);
			p = rnd() % n;
			if (buf[p] >= 'a' && buf[p] <= 'z')
				buf[p] -= 32;
			else if (buf[p] >= 'A' && buf[p] <= 'Z')
				buf[p] += 32;
			else
				buf[p] = "=+/ .%\n"[rnd() % 7];
			forged(buf, "case/alphabet");
			break;
		}
	}
	INT_EQ(tried, NFORGE, "forgeries tried");
	INT_EQ(accepted_forgeries, 0, "no forged token accepted");
	herald_tokens_free(other);
}

static void
test_rotation(void)
{
	unsigned char keys[3][HERALD_TOKEN_KEYLEN];
	struct herald_tokens *old, *both, *fresh;
	char *t, *a = NULL;

	key_fill(keys[0], 1);
	key_fill(keys[1], 2);
	key_fill(keys[2], 3);
	old = herald_tokens_from_keys((const unsigned char (*)[HERALD_TOKEN_KEYLEN])&keys[1], 1);
	both = herald_tokens_from_keys((const unsigned char (*)[HERALD_TOKEN_KEYLEN])keys, 2);
	fresh = herald_tokens_from_keys((const unsigned char (*)[HERALD_TOKEN_KEYLEN])keys, 1);
	t = herald_token_make(old, "news", "a@b.example");
	OK(herald_token_verify(both, t, NULL, &a), "old secret kept: verifies");
	STR_EQ(a, "a@b.example", "old token's address");
	OK(!herald_token_verify(fresh, t, NULL, NULL), "old secret dropped: refused");
	free(a);
	free(t);
	t = herald_token_make(both, "news", "a@b.example");
	OK(herald_token_verify(both, t, NULL, NULL), "new tokens use keys[0]");
	OK(!herald_token_verify(old, t, NULL, NULL), "and not the old key");
	free(t);
	herald_tokens_free(old);
	herald_tokens_free(both);
	herald_tokens_free(fresh);
}

static void
test_find_url(void)
{
	char *l = NULL, *a = NULL, *s, *u;

	s = xasprintf("Re: unsubscribe %s", toks[7]);
	OK(herald_token_find(T, s, &l, &a), "token found in a subject");
	STR_EQ(l, lists[7], "list from subject");
	free(s);
	free(l);
	free(a);
	OK(!herald_token_find(T, "unsubscribe please", NULL, NULL), "no token");
	u = herald_token_url("https://x.example/u", "TOK");
	STR_EQ(u, "https://x.example/u?token=TOK", "url");
	free(u);
	u = herald_token_url("https://x.example/u?a=1", "TOK");
	STR_EQ(u, "https://x.example/u?a=1&token=TOK", "url with query");
	free(u);
	OK(!herald_token_verify(T, "", NULL, NULL), "empty");
}

int
main(void)
{
	unsigned char k[HERALD_TOKEN_KEYLEN];

	key_fill(k, 7);
	T = herald_tokens_from_keys((const unsigned char (*)[HERALD_TOKEN_KEYLEN])k, 1);
	test_genuine();
	test_unreadable();
	test_forgeries();
	test_rotation();
	test_find_url();
	for (int i = 0; i < NADDR; i++) {
		free(addrs[i]);
		free(lists[i]);
		free(toks[i]);
	}
	herald_tokens_free(T);
	return harness_done();
}
