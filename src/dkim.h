/*
 * dkim.h - DKIM signatures (RFC 6376) on herald's messages, one per
 * configured key: RSA-SHA256 (keys of at least 2048 bits) or Ed25519-SHA256
 * (RFC 8463), relaxed/relaxed canonicalization, never l=, h= covering
 * From (oversigned: listed once more than it occurs, so no second From can
 * be added), To, Reply-To, Subject, Date, Message-ID, MIME-Version,
 * Content-Type, List-Id, List-Unsubscribe and List-Unsubscribe-Post.
 * Signatures are computed (OpenSSL; see dkim.c for why not libopendkim's
 * signer) over exactly the bytes that are then sent or written.
 */
#ifndef HERALD_DKIM_H
#define HERALD_DKIM_H

#include <time.h>

#include "config.h"
#include "util.h"

struct herald_dkim;

/*
 * Load every key of cfg->dkim.  A key file that cannot be read, is not a
 * PEM private key, is RSA below 2048 bits or of another type is EX_CONFIG
 * naming the config line.  *out is NULL (and 0 returned) when cfg has no
 * dkim keys.  Free with herald_dkim_free().
 */
int herald_dkim_open(const struct herald_config *cfg, struct herald_dkim **out,
    struct herald_err *e);
void herald_dkim_free(struct herald_dkim *d);

/*
 * Prepend one DKIM-Signature field per key to msg (a whole message, CRLF
 * line ends).  Safe to call from several threads at once on the same d.
 * Returns 0, or EX_SOFTWARE with e filled (msg unchanged).
 */
int herald_dkim_sign(struct herald_dkim *d, struct hbuf *msg,
    struct herald_err *e);

size_t herald_dkim_nkeys(const struct herald_dkim *d);

/* Sign with t= fixed to t instead of the clock (for tests). */
void herald_dkim_fix_time(struct herald_dkim *d, time_t t);

struct herald_dkim_info {
	const char *domain;     /* d= */
	const char *selector;   /* s= */
	const char *alg;        /* "rsa" or "ed25519" (the record's k=) */
	int bits;               /* key size (256 for Ed25519) */
	char *record;           /* "v=DKIM1; k=...; p=..." (caller frees) */
	char *dns_name;         /* "SELECTOR._domainkey.DOMAIN" (caller frees) */
};

/* What to publish in DNS for key i, derived from its private key. */
void herald_dkim_info(const struct herald_dkim *d, size_t i,
    struct herald_dkim_info *out);

/*
 * Does d= align with the From domain (DMARC relaxed alignment, judged
 * without the public suffix list: one is the other or a subdomain of it)?
 */
bool herald_dkim_aligned(const char *d, const char *from_domain);

#endif
