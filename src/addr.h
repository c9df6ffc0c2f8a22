/*
 * addr.h - e-mail addresses: the one rule every module uses (list rows,
 * config, MIME headers, the SMTP envelope), so that a row `check` accepts
 * is one `send` can submit.
 *
 * An address is an RFC 5321 Mailbox (4.1.2), which is also an RFC 5322
 * addr-spec (3.4.1) without comments, folding or obsolete forms:
 *
 *   local part: a Dot-string (atext runs separated by single dots) or a
 *               Quoted-string of printable ASCII and spaces, with \ pairs
 *               (no '@' inside it: libcurl splits the envelope address at
 *               its first '@');
 *   domain:     host-name labels (at least two), or an [address literal];
 *   limits:     local part 64 octets, domain 255, whole 254 (RFC 5321
 *               4.5.3.1: a path is at most 256 with its angle brackets).
 *
 * No CR, LF, NUL, control, '<' or '>' outside a quoted string can pass,
 * so nothing bound for a header or the envelope can carry a command.
 * The same text is written in To: and in RCPT TO:<...>.
 *
 * Two spellings are one address when their keys are equal: the key
 * unquotes a quoted local part that needs no quotes, drops needless
 * backslashes, and lower-cases everything (the contract: duplicates are
 * case-insensitive).
 */
#ifndef HERALD_ADDR_H
#define HERALD_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Is s a valid address (see above)? */
bool herald_addr_valid(const char *s);
/* RFC 5322 dot-atom-text: atext runs separated by single dots. */
bool herald_dot_atom_valid(const char *s, size_t n);
/* A host name: LDH labels of 1..63 octets, dot separated, at most 253
 * (RFC 1123); one label is enough (a DKIM selector). */
bool herald_hostname_valid(const char *s, size_t n);

/* The address's key (see above) in out[0..n); false when s is not valid
 * or the key does not fit. */
bool herald_addr_key(const char *s, char *out, size_t n);

/*
 * A set of address keys, decided on the keys themselves (never a hash
 * alone): memory is the keys plus about 16 bytes each.
 */
struct herald_addrset;
struct herald_addrset *herald_addrset_new(void);
void herald_addrset_free(struct herald_addrset *s);   /* NULL is fine */
/* Add key with a caller's number (a line); returns 0 when it is new, else
 * the number given with its first occurrence (which must not be 0). */
int herald_addrset_add(struct herald_addrset *s, const char *key, int line);
/* The number given with key when it was added, or 0 when it never was. */
int herald_addrset_find(const struct herald_addrset *s, const char *key);

/*
 * A set of keys kept where they came from (a list file), not in memory:
 * 8 bytes a key (12 with its line) at most 7/8 full, so 100,000 list rows
 * cost 1 MiB (1.5) instead of the keys themselves.  Each key is stored as the caller's
 * reference (below 2^40 - 1: a row's byte offset) and 24 bits of its hash;
 * a key whose hash bits match one in the set is fetched again with
 * key_at(arg, ref, out, n) and compared whole, so two different keys are
 * never taken for one, whatever their hashes.  key_at returns false when
 * it cannot produce the key (the key then counts as different).
 * hash may be NULL (hash64); tests pass one that collides.
 */
typedef uint64_t (*herald_keyset_hash_fn)(const void *p, size_t n);
typedef bool (*herald_keyset_key_fn)(void *arg, uint64_t ref, char *out,
    size_t n);
struct herald_keyset;
/* hint: about how many keys will be added (0 when unknown); lines: keep
 * the number given with each key (4 more bytes a key). */
struct herald_keyset *herald_keyset_new(size_t hint, bool lines,
    herald_keyset_hash_fn hash, herald_keyset_key_fn key_at, void *arg);
void herald_keyset_free(struct herald_keyset *s);     /* NULL is fine */
/* Add key (at most 511 bytes) found at ref with a number (a line, not 0):
 * 0 when it is new, else the number given with its first occurrence (1
 * when numbers are not kept); -1 when ref is too large to keep. */
int herald_keyset_add(struct herald_keyset *s, const char *key, uint64_t ref,
    int line);
/* Make room for n keys in all now (one step instead of doubling: the
 * old and new tables are held together once, small and large). */
void herald_keyset_reserve(struct herald_keyset *s, size_t n);
/* Memory the set holds, in bytes. */
size_t herald_keyset_bytes(const struct herald_keyset *s);

#endif
