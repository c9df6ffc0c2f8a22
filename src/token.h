/*
 * token.h - unsubscribe tokens, the secret they are made with, and the
 * URLs that carry them.
 *
 * A token names (list, address) and proves that herald made it.  It is
 * AES-128-SIV (RFC 5297, deterministic authenticated encryption, from
 * OpenSSL) of "LIST\0ADDRESS" under a 32-byte secret, base64url without
 * padding:
 *
 *     token = b64url( 0x01 | keyid[4] | siv_tag[16] | ciphertext )
 *
 * The version byte and key id are authenticated as associated data.  So:
 * the address cannot be read from a token; a token verifies without being
 * told the list; forging one needs the secret (128-bit tag, compared in
 * constant time by OpenSSL's CRYPTO_memcmp); exactly one spelling verifies
 * (decoding is strict: no padding, no stray bits, no other alphabet); the
 * same (list, address, secret) always gives the same token, so a message
 * rebuilt for a resend carries the same link.
 *
 * Secrets: .herald/secret (32 random bytes, mode 0600, made on first use)
 * is the current one; every file in .herald/old-secrets/ (same format) is
 * an older one whose tokens keep verifying while the file is kept.  To
 * rotate: move secret into old-secrets/ and the next command makes a new
 * one.
 */
#ifndef HERALD_TOKEN_H
#define HERALD_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define HERALD_TOKEN_KEYLEN 32
#define HERALD_TOKEN_MAX 700      /* longest token accepted, in characters */

struct herald_tokens;             /* the current secret and the kept old ones */

/*
 * Load the secrets from state_dir (creating state_dir/secret when create is
 * true and it does not exist; state_dir and the secret are made owner-only
 * if they were not).  Returns 0, or EX_CONFIG (unreadable, wrong size), EX_NOINPUT (no secret and !create),
 * EX_CANTCREAT or EX_OSERR with e filled.  Free with herald_tokens_free().
 */
int herald_tokens_open(const char *state_dir, bool create,
    struct herald_tokens **out, struct herald_err *e);

/* From raw keys (keys[0] current), for tests and tools. */
struct herald_tokens *herald_tokens_from_keys(
    const unsigned char (*keys)[HERALD_TOKEN_KEYLEN], size_t n);
void herald_tokens_free(struct herald_tokens *t);

/* The token for (list, addr); list may be NULL or "" (no list); addr is
 * lower-cased first.  Caller frees. */
char *herald_token_make(const struct herald_tokens *t, const char *list,
    const char *addr);

/*
 * Check tok (NUL-terminated).  On success returns true and, when the
 * pointers are not NULL, sets *list and *addr (caller frees).  Anything
 * else - wrong length, wrong alphabet, a changed bit, a secret not kept -
 * returns false and sets nothing.
 */
bool herald_token_verify(const struct herald_tokens *t, const char *tok,
    char **list, char **addr);

/* unsubscribe.url with the token appended as its "token" query parameter,
 * and the mailto: URL (subject "unsubscribe TOKEN").  Caller frees. */
char *herald_token_url(const char *base_url, const char *tok);
char *herald_token_mailto(const char *mailto_addr, const char *tok);

/* Find a token in free text (a mail subject, a VERP local part): the first
 * run of base64url characters that verifies.  Same ownership as verify. */
bool herald_token_find(const struct herald_tokens *t, const char *text,
    char **list, char **addr);

#endif
