/*
 * addr.c - e-mail address syntax, keys and sets (see addr.h).
 *
 * Hand-written: the rule is a few lines of RFC 5321/5322 grammar, and the
 * Debian libraries at hand either accept more than a relay will take
 * (libetpan's parser takes comments and obsolete forms) or belong to
 * another module's dependency.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "util.h"

static bool
is_atext(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

bool
herald_dot_atom_valid(const char *s, size_t n)
{
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return false;
		} else if (!is_atext((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* RFC 5321 Quoted-string: qtextSMTP (32-33, 35-91, 93-126) and
 * quoted-pairSMTP (\ then 32-126); '@' is refused (see addr.h). */
static bool
quoted_valid(const char *s, size_t n)
{
	if (n < 2 || s[0] != '"' || s[n - 1] != '"')
		return false;
	for (size_t i = 1; i < n - 1; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\') {
			if (++i >= n - 1)
				return false;
			c = (unsigned char)s[i];
			if (c < 0x20 || c > 0x7e)
				return false;
		} else if (c == '"' || c < 0x20 || c > 0x7e)
			return false;
		if (c == '@')
			return false;
	}
	return true;
}

static bool
local_valid(const char *s, size_t n)
{
	if (n == 0 || n > 64)
		return false;
	if (s[0] == '"')
		return quoted_valid(s, n);
	return herald_dot_atom_valid(s, n);
}

bool
herald_hostname_valid(const char *s, size_t n)
{
	size_t label = 0;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c == '-' && label > 0)) {
			if (++label > 63)
				return false;
		} else
			return false;
	}
	return label > 0 && s[n - 1] != '-';
}

static bool
domain_valid(const char *s, size_t n)
{
	if (n == 0 || n > 255)
		return false;
	if (s[0] == '[') {
		/* RFC 5321 4.1.3 address literal; dtext without obs forms */
		if (n < 3 || s[n - 1] != ']')
			return false;
		for (size_t i = 1; i < n - 1; i++)
			if (s[i] < 0x21 || s[i] > 0x7e || s[i] == '[' ||
			    s[i] == ']' || s[i] == '\\')
				return false;
		return true;
	}
	/* a mail domain has at least two labels */
	return herald_hostname_valid(s, n) && memchr(s, '.', n) != NULL;
}

bool
herald_addr_valid(const char *s)
{
	const char *at;
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || n > 254)
		return false;
	if ((at = strrchr(s, '@')) == NULL)
		return false;
	return local_valid(s, (size_t)(at - s)) &&
	    domain_valid(at + 1, n - (size_t)(at - s) - 1);
}

bool
herald_addr_key(const char *s, char *out, size_t n)
{
	const char *at;
	struct hbuf b = HBUF_INIT, q = HBUF_INIT;
	bool ok;

	if (!herald_addr_valid(s))
		return false;
	at = strrchr(s, '@');
	if (s[0] == '"') {
		/* The quoted content, unescaped. */
		for (const char *p = s + 1; p < at - 1; p++) {
			if (*p == '\\')
				p++;
			hbuf_putc(&q, *p);
		}
		hbuf_put(&q, "", 0);
		if (herald_dot_atom_valid(q.data, q.len))
			hbuf_put(&b, q.data, q.len);
		else {
			/* Quoted again with only the pairs it needs. */
			hbuf_putc(&b, '"');
			for (size_t i = 0; i < q.len; i++) {
				if (q.data[i] == '"' || q.data[i] == '\\')
					hbuf_putc(&b, '\\');
				hbuf_putc(&b, q.data[i]);
			}
			hbuf_putc(&b, '"');
		}
	} else
		hbuf_put(&b, s, (size_t)(at - s));
	hbuf_puts(&b, at);
	ok = b.len < n;
	if (ok) {
		memcpy(out, b.data, b.len);
		out[b.len] = '\0';
		ascii_lower(out);
	}
	hbuf_free(&b);
	hbuf_free(&q);
	return ok;
}

/* --- sets --- */

struct slot {
	uint64_t h;         /* hash of the key; 0 = empty */
	uint32_t off;       /* key at keys.data + off */
	int line;
};

struct herald_addrset {
	struct slot *slots;
	size_t cap, n;
	struct hbuf keys;   /* NUL-terminated keys, one after another */
};

struct herald_addrset *
herald_addrset_new(void)
{
	return xcalloc(1, sizeof(struct herald_addrset));
}

void
herald_addrset_free(struct herald_addrset *s)
{
	if (s == NULL)
		return;
	free(s->slots);
	hbuf_free(&s->keys);
	free(s);
}

static void
grow(struct herald_addrset *s)
{
	size_t ncap = s->cap ? s->cap * 2 : 1024, i;
	struct slot *ns = xcalloc(ncap, sizeof(*ns));

	for (size_t k = 0; k < s->cap; k++) {
		if (s->slots[k].h == 0)
			continue;
		for (i = s->slots[k].h & (ncap - 1); ns[i].h;
		    i = (i + 1) & (ncap - 1))
			;
		ns[i] = s->slots[k];
	}
	free(s->slots);
	s->slots = ns;
	s->cap = ncap;
}

int
herald_addrset_find(const struct herald_addrset *s, const char *key)
{
	size_t i;
	uint64_t h = hash64(key, strlen(key));

	if (h == 0)
		h = 1;
	if (s == NULL || s->n == 0)
		return 0;
	for (i = h & (s->cap - 1); s->slots[i].h; i = (i + 1) & (s->cap - 1))
		if (s->slots[i].h == h &&
		    strcmp(s->keys.data + s->slots[i].off, key) == 0)
			return s->slots[i].line;
	return 0;
}

int
herald_addrset_add(struct herald_addrset *s, const char *key, int line)
{
	size_t len = strlen(key), i;
	uint64_t h = hash64(key, len);

	if (h == 0)
		h = 1;
	if ((s->n + 1) * 2 > s->cap)
		grow(s);
	for (i = h & (s->cap - 1); s->slots[i].h; i = (i + 1) & (s->cap - 1))
		/* The same hash is not the same address: compare them. */
		if (s->slots[i].h == h &&
		    strcmp(s->keys.data + s->slots[i].off, key) == 0)
			return s->slots[i].line;
	s->slots[i].h = h;
	s->slots[i].off = (uint32_t)s->keys.len;
	s->slots[i].line = line;
	hbuf_put(&s->keys, key, len + 1);
	s->n++;
	return 0;
}

/* --- key sets kept outside memory --- */

/*
 * One slot is 8 bytes: the caller's reference plus one (40 bits, so 0 is
 * an empty slot) beside the top 24 bits of the key's hash, the "tag".
 * With 2^k slots (k <= 24) a key's home is the tag's top k bits, so the
 * table can grow without the keys; the remaining tag bits sort out most
 * other keys of the same home.  A tag match is only a candidate: its key
 * is fetched again through key_at and compared whole.  The line given
 * with each key sits in a parallel array (4 bytes).
 */
#define REF_BITS 40
#define TAG_BITS 24
#define REF_MASK ((UINT64_C(1) << REF_BITS) - 1)
#define KEY_MAX 512

struct herald_keyset {
	uint64_t *slot;     /* (ref + 1) | tag << REF_BITS; 0 = empty */
	int *line;          /* beside slot[], same index; NULL: not kept */
	bool lines;
	size_t cap, n;
	unsigned bits;      /* cap == 1 << bits */
	herald_keyset_hash_fn hash;
	herald_keyset_key_fn key_at;
	void *arg;
};

static size_t
home_of(uint64_t tag, unsigned bits)
{
	return bits <= TAG_BITS ? (size_t)(tag >> (TAG_BITS - bits)) :
	    (size_t)(tag << (bits - TAG_BITS));
}

static void
keyset_alloc(struct herald_keyset *s, unsigned bits)
{
	s->bits = bits;
	s->cap = (size_t)1 << bits;
	s->slot = xcalloc(s->cap, sizeof(*s->slot));
	s->line = s->lines ? xcalloc(s->cap, sizeof(*s->line)) : NULL;
}

/* At most 7/8 full: linear probing stays short, and 100,000 keys fit in
 * 131,072 slots (1.5 MiB). */
static bool
keyset_full(size_t n, size_t cap)
{
	return n > cap / 8 * 7;
}

struct herald_keyset *
herald_keyset_new(size_t hint, bool lines, herald_keyset_hash_fn hash,
    herald_keyset_key_fn key_at, void *arg)
{
	struct herald_keyset *s = xcalloc(1, sizeof(*s));
	unsigned bits = 10;

	s->lines = lines;
	while (keyset_full(hint, (size_t)1 << bits))
		bits++;
	keyset_alloc(s, bits);
	s->hash = hash ? hash : hash64;
	s->key_at = key_at;
	s->arg = arg;
	return s;
}

void
herald_keyset_free(struct herald_keyset *s)
{
	if (s == NULL)
		return;
	free(s->slot);
	free(s->line);
	free(s);
}

static void
keyset_grow(struct herald_keyset *s)
{
	uint64_t *os = s->slot;
	int *ol = s->line;
	size_t ocap = s->cap, i;

	keyset_alloc(s, s->bits + 1);
	for (size_t k = 0; k < ocap; k++) {
		if (os[k] == 0)
			continue;
		for (i = home_of(os[k] >> REF_BITS, s->bits) & (s->cap - 1);
		    s->slot[i]; i = (i + 1) & (s->cap - 1))
			;
		s->slot[i] = os[k];
		if (ol)
			s->line[i] = ol[k];
	}
	free(os);
	free(ol);
}

void
herald_keyset_reserve(struct herald_keyset *s, size_t n)
{
	while (keyset_full(n, s->cap))
		keyset_grow(s);
}

int
herald_keyset_add(struct herald_keyset *s, const char *key, uint64_t ref,
    int line)
{
	uint64_t tag = s->hash(key, strlen(key)) >> (64 - TAG_BITS);
	char other[KEY_MAX];
	size_t i;

	if (ref >= REF_MASK)
		return -1;
	if (keyset_full(s->n + 1, s->cap))
		keyset_grow(s);
	for (i = home_of(tag, s->bits) & (s->cap - 1); s->slot[i];
	    i = (i + 1) & (s->cap - 1)) {
		uint64_t v = s->slot[i];

		/* The same tag is not the same address: compare the keys.
		 * A key that cannot be fetched again is another key. */
		if ((v >> REF_BITS) == tag &&
		    s->key_at(s->arg, (v & REF_MASK) - 1, other, sizeof(other)) &&
		    strcmp(other, key) == 0)
			return s->line ? s->line[i] : 1;
	}
	s->slot[i] = (ref + 1) | tag << REF_BITS;
	if (s->line)
		s->line[i] = line;
	s->n++;
	return 0;
}

size_t
herald_keyset_bytes(const struct herald_keyset *s)
{
	return sizeof(*s) + s->cap * (sizeof(*s->slot) +
	    (s->line ? sizeof(*s->line) : 0));
}
