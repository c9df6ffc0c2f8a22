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

#endif
