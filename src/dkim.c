/*
 * dkim.c - DKIM signing (RFC 6376; Ed25519 per RFC 8463).
 *
 * herald_dkim_open() reads each key once with OpenSSL: its type and size
 * are checked, the public half gives the DNS record `check` prints, and
 * the parsed key is kept for signing, which is then one private-key
 * operation per signature and safe on several threads at once (each call
 * has its own digest context; the key is only read).
 *
 * Why not libopendkim's signer, as planned: Debian 12's libopendkim
 * 2.11.0~beta2 takes the key as PEM text on every dkim_sign() and parses
 * it each time; with OpenSSL 3's decoders that is ~0.7 ms, so an RSA
 * signature cost ~1.0 ms instead of ~0.3 ms and a send could reach only a
 * third of the machine's signing rate (bench/dkim.py).  It also leaks its
 * Ed25519 key objects (~600 bytes) on every Ed25519 signature, which a
 * send of a million messages cannot afford.  So the canonicalization
 * (relaxed/relaxed, RFC 6376 3.4.2 and 3.4.4) and the hash input (3.7)
 * are done here, and libopendkim is the reference that checks them:
 * tests/unit/test_dkim.c has libopendkim verify herald's signatures (RSA
 * and Ed25519), and tests/e2e/test_dkim.py has dkimpy verify every demo
 * message, before and after a real Postfix.
 *
 * Why the header list is fixed here: it is what receivers and the issue
 * ask for (RFC 6376 5.4.1 recommends From, To, Subject, Date, Message-ID,
 * the MIME and list fields), From is oversigned, and the body length tag
 * l= is never written, so nothing can be appended to a signed body.
 */
#include "dkim.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

enum { DKIM_SIGN_RSASHA256 = 1, DKIM_SIGN_ED25519SHA256 };

struct key {
	char *domain, *selector, *file;
	char *pem;              /* the private key file's text */
	int alg;                /* DKIM_SIGN_RSASHA256 / DKIM_SIGN_ED25519SHA256 */

	int bits;
	unsigned char *pub;     /* RSA: SubjectPublicKeyInfo DER; Ed25519: raw */
	size_t publen;
	EVP_PKEY *pkey;         /* Ed25519: signed with OpenSSL (see above) */
	/* RSA: a signing context set up once (PKCS #1 v1.5, SHA-256) and
	 * duplicated per signature.  Setting one up per message
	 * (EVP_DigestSignInit: OpenSSL 3 fetches the algorithms, builds the
	 * key's context) cost 27k instructions a signature (callgrind). */
	EVP_PKEY_CTX *rsa_tmpl;
};

struct herald_dkim {
	struct key *keys;
	size_t n;
	time_t fixed_time;      /* t= for tests (herald_dkim_fix_time) */
};

static const char *sign_hdrs[] = {
	"from", "to", "reply-to", "subject", "date", "message-id",
	"mime-version", "content-type", "list-id", "list-unsubscribe",
	"list-unsubscribe-post", NULL
};

static void
key_free(struct key *k)
{
	free(k->domain);
	free(k->selector);
	free(k->file);
	if (k->pem != NULL) {
		volatile char *p = k->pem;	/* a secret: wipe it */
		while (*p)
			*p++ = '\0';
		free(k->pem);
	}
	free(k->pub);
	EVP_PKEY_CTX_free(k->rsa_tmpl);
	EVP_PKEY_free(k->pkey);
}

void
herald_dkim_free(struct herald_dkim *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n; i++)
		key_free(&d->keys[i]);
	free(d->keys);
	free(d);
}

/* Parse k->pem with OpenSSL: type, size and the public half. */
static int
key_inspect(struct key *k, const char *cfgfile, int line, struct herald_err *e)
{
	BIO *bio = BIO_new_mem_buf(k->pem, -1);
	EVP_PKEY *pk = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	int rc = 0;

	BIO_free(bio);
	if (pk == NULL)
		return herald_errf(e, EX_CONFIG, cfgfile, line,
		    "dkim key_file %s is not a PEM private key (make one with "
		    "openssl genpkey, see doc/dkim.md)", k->file);
	k->bits = EVP_PKEY_get_bits(pk);
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA: {
		int n;
		unsigned char *p;

		if (k->bits < 2048) {
			rc = herald_errf(e, EX_CONFIG, cfgfile, line,
			    "dkim key_file %s is RSA %d bits; DKIM wants at "
			    "least 2048 (RFC 8301)", k->file, k->bits);
			break;
		}
		k->alg = DKIM_SIGN_RSASHA256;
		EVP_PKEY_up_ref(pk);
		k->pkey = pk;
		if ((k->rsa_tmpl = EVP_PKEY_CTX_new_from_pkey(NULL, pk,
		    NULL)) == NULL || EVP_PKEY_sign_init(k->rsa_tmpl) != 1 ||
		    EVP_PKEY_CTX_set_rsa_padding(k->rsa_tmpl,
		    RSA_PKCS1_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_signature_md(k->rsa_tmpl,
		    EVP_sha256()) != 1) {
			rc = herald_errf(e, EX_CONFIG, cfgfile, line,
			    "dkim key_file %s: OpenSSL cannot sign with it",
			    k->file);
			break;
		}
		n = i2d_PUBKEY(pk, NULL);
		k->pub = xmalloc((size_t)(n > 0 ? n : 1));
		p = k->pub;
		k->publen = (size_t)i2d_PUBKEY(pk, &p);
		break;
	}
	case EVP_PKEY_ED25519:
		k->alg = DKIM_SIGN_ED25519SHA256;
		EVP_PKEY_up_ref(pk);
		k->pkey = pk;
		k->publen = 32;
		k->pub = xmalloc(32);
		if (EVP_PKEY_get_raw_public_key(pk, k->pub, &k->publen) != 1)
			rc = herald_errf(e, EX_CONFIG, cfgfile, line,
			    "dkim key_file %s: cannot read its public key",
			    k->file);
		break;
	default:
		rc = herald_errf(e, EX_CONFIG, cfgfile, line,
		    "dkim key_file %s is neither RSA nor Ed25519", k->file);
	}
	EVP_PKEY_free(pk);
	return rc;
}

int
herald_dkim_open(const struct herald_config *cfg, struct herald_dkim **out,
    struct herald_err *e)
{
	struct herald_dkim *d;
	int rc;

	*out = NULL;
	if (cfg->ndkim == 0)
		return 0;
	d = xcalloc(1, sizeof(*d));
	d->keys = xcalloc(cfg->ndkim, sizeof(*d->keys));
	for (size_t i = 0; i < cfg->ndkim; i++) {
		const struct herald_dkim_cfg *kc = &cfg->dkim[i];
		struct key *k = &d->keys[i];
		struct hbuf b = HBUF_INIT;
		struct herald_err e2 = {0};

		d->n = i + 1;
		k->domain = xstrdup(kc->domain);
		k->selector = xstrdup(kc->selector);
		k->file = xstrdup(kc->key_file);
		if (read_file(kc->key_file, &b, &e2) != 0) {
			rc = herald_errf(e, EX_CONFIG, cfg->path, kc->line,
			    "dkim key_file %s: %s", kc->key_file, e2.msg);
			hbuf_free(&b);
			goto fail;
		}
		k->pem = hbuf_detach(&b);
		if ((rc = key_inspect(k, cfg->path, kc->line, e)) != 0)
			goto fail;
	}
	*out = d;
	return 0;
fail:
	herald_dkim_free(d);
	return rc;
}

void
herald_dkim_fix_time(struct herald_dkim *d, time_t t)
{
	d->fixed_time = t;
}

size_t
herald_dkim_nkeys(const struct herald_dkim *d)
{
	return d ? d->n : 0;
}

/* --- RFC 6376 relaxed/relaxed signing with OpenSSL --- */

static bool
wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 6376 3.4.4: relaxed body canonicalization of b[0..n) into out. */
static void
canon_body(struct hbuf *out, const char *b, size_t n)
{
	size_t i = 0, blank = 0;	/* CRLFs held back: trailing empty lines */
	char *o;

	while (i < n) {
		const char *nl = memchr(b + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - b) : n, next = nl ? end + 1 : n;
		size_t le = end, start = out->len;
		bool sp = false;

		if (le > i && b[le - 1] == '\r')
			le--;
		while (le > i && wsp(b[le - 1]))
			le--;
		if (le == i) {	/* an empty line: keep it only if more follows */
			if (nl)
				blank++;
			i = next;
			continue;
		}
		/* at most the held-back CRLFs, the line and its CRLF: room
		 * asked once a line, then written in place (a call per octet
		 * was a tenth of a DKIM send's CPU) */
		hbuf_grow(out, 2 * blank + (le - i) + 2);
		o = out->data + start;
		for (; blank > 0; blank--)
			*o++ = '\r', *o++ = '\n';
		for (size_t k = i; k < le; k++) {
			if (wsp(b[k])) {
				sp = true;
				continue;
			}
			if (sp)
				*o++ = ' ';
			sp = false;
			*o++ = b[k];
		}
		*o++ = '\r', *o++ = '\n';
		out->len = (size_t)(o - out->data);
		out->data[out->len] = '\0';
		i = next;
	}
}

/* RFC 6376 3.4.2: relaxed canonicalization of one header field (name and
 * value as they appear, folds included); with crlf, the CRLF ending it. */
static void
canon_field(struct hbuf *out, const char *f, size_t n, bool crlf)
{
	const char *colon = memchr(f, ':', n);
	size_t nl = colon ? (size_t)(colon - f) : n, i, vstart;
	bool sp = false, any = false;

	while (nl > 0 && wsp(f[nl - 1]))
		nl--;
	for (i = 0; i < nl; i++) {
		char c = f[i];
		hbuf_putc(out, (char)(c >= 'A' && c <= 'Z' ? c + 32 : c));
	}
	hbuf_putc(out, ':');
	vstart = colon ? (size_t)(colon - f) + 1 : n;
	for (i = vstart; i < n; i++) {
		char c = f[i];

		if (c == '\r' || c == '\n' || wsp(c)) {
			sp = true;
			continue;
		}
		if (sp && any)
			hbuf_putc(out, ' ');
		sp = false;
		any = true;
		hbuf_putc(out, c);
	}
	if (crlf)
		hbuf_puts(out, "\r\n");
}

struct field {
	const char *p;
	size_t n;       /* without its final CRLF */
	size_t nlen;    /* length of the name */
};

static void
b64(struct hbuf *out, const unsigned char *p, size_t n)
{
	char *t = xmalloc(4 * ((n + 2) / 3) + 1);
	int k = EVP_EncodeBlock((unsigned char *)t, p, (int)n);

	hbuf_put(out, t, (size_t)(k > 0 ? k : 0));
	free(t);
}

/* Append "\r\n\t" when the current line would pass 76 columns. */
static void
fold_put(struct hbuf *h, size_t *col, const char *s, size_t n)
{
	if (*col + n > 76) {
		hbuf_puts(h, "\r\n\t");
		*col = 1;
	}
	hbuf_put(h, s, n);
	*col += n;
}

static int
openssl_sign(const struct key *k, time_t now, const struct hbuf *msg,
    struct hbuf *sig, struct herald_err *e)
{
	bool ed = k->alg == DKIM_SIGN_ED25519SHA256;
	struct field f[64];
	size_t nf = 0, hend, col;
	const char *m = msg->data, *body;
	struct hbuf cb = HBUF_INIT, hdr = HBUF_INIT, hin = HBUF_INIT;
	unsigned char bh[32], hh[32], sg[1024];
	size_t sglen = sizeof(sg);
	EVP_MD_CTX *ctx;
	char t[32];
	int rc = 0;

	body = m ? strstr(m, "\r\n\r\n") : NULL;
	if (body == NULL)
		return herald_errf(e, EX_SOFTWARE, NULL, 0,
		    "DKIM: message without a header/body separator");
	hend = (size_t)(body - m) + 2;
	body += 4;
	/* the header fields, folds kept */
	for (size_t i = 0; i < hend; ) {
		size_t j = i;

		do {
			const char *nl = memchr(m + j, '\n', hend - j);
			j = nl ? (size_t)(nl - m) + 1 : hend;
		} while (j < hend && wsp(m[j]));
		if (nf == sizeof(f) / sizeof(*f))
			return herald_errf(e, EX_SOFTWARE, NULL, 0,
			    "DKIM: more than %zu header fields", nf);
		f[nf].p = m + i;
		f[nf].n = j - i >= 2 ? j - i - 2 : 0;
		f[nf].nlen = strcspn(m + i, ":");
		nf++;
		i = j;
	}
	canon_body(&cb, body, msg->len - (size_t)(body - m));
	SHA256((const unsigned char *)cb.data, cb.len, bh);

	/* h=: the listed fields present, in message order, then From again */
	hbuf_puts(&hdr, ed ? "DKIM-Signature: v=1; a=ed25519-sha256; "
	    "c=relaxed/relaxed; d=" : "DKIM-Signature: v=1; a=rsa-sha256; "
	    "c=relaxed/relaxed; d=");
	hbuf_puts(&hdr, k->domain);
	hbuf_puts(&hdr, ";\r\n\ts=");
	hbuf_puts(&hdr, k->selector);
	snprintf(t, sizeof(t), "; t=%lld;", (long long)now);
	hbuf_puts(&hdr, t);
	hbuf_puts(&hdr, "\r\n\tbh=");
	b64(&hdr, bh, 32);
	hbuf_puts(&hdr, ";\r\n\th=");
	col = 3;
	{
		bool first = true;

		for (size_t i = 0; i < nf; i++) {
			for (size_t s2 = 0; sign_hdrs[s2]; s2++) {
				if (f[i].nlen != strlen(sign_hdrs[s2]) ||
				    strncasecmp(f[i].p, sign_hdrs[s2],
				    f[i].nlen) != 0)
					continue;
				if (!first)
					fold_put(&hdr, &col, ":", 1);
				fold_put(&hdr, &col, f[i].p, f[i].nlen);
				canon_field(&hin, f[i].p, f[i].n, true);
				first = false;
			}
		}
		/* oversigned: names one From more than there is, which the
		 * hash input shows as nothing (RFC 6376 5.4.2) */
		fold_put(&hdr, &col, ":from", 5);
	}
	hbuf_puts(&hdr, ";\r\n\tb=");
	canon_field(&hin, hdr.data, hdr.len, false);

	/* RFC 6376 3.7: RSASSA-PKCS1-v1_5 with SHA-256 over the hash input;
	 * RFC 8463 3: PureEdDSA over the SHA-256 of the same input */
	SHA256((const unsigned char *)hin.data, hin.len, hh);
	if (ed) {
		ctx = EVP_MD_CTX_new();
		if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, NULL, NULL,
		    k->pkey) != 1 || EVP_DigestSign(ctx, sg, &sglen, hh,
		    32) != 1)
			rc = -1;
		EVP_MD_CTX_free(ctx);
	} else {
		/* the same RSASSA-PKCS1-v1_5 signature as EVP_DigestSign
		 * over hin: the SHA-256 of hin in a DigestInfo, signed; a
		 * copy of the prepared context, as a context is one thread's */
		EVP_PKEY_CTX *pc = EVP_PKEY_CTX_dup(k->rsa_tmpl);

		if (pc == NULL || (size_t)EVP_PKEY_get_size(k->pkey) >
		    sizeof(sg) || EVP_PKEY_sign(pc, sg, &sglen, hh, 32) != 1)
			rc = -1;
		EVP_PKEY_CTX_free(pc);
	}
	if (rc != 0)
		rc = herald_errf(e, EX_SOFTWARE, NULL, 0,
		    "DKIM (%s): signing failed", k->file);
	if (rc == 0) {
		struct hbuf bs = HBUF_INIT;

		b64(&bs, sg, sglen);
		col = 3;
		for (size_t i = 0; i < bs.len; i += 64) {
			if (i > 0)
				hbuf_puts(&hdr, "\r\n\t ");
			hbuf_put(&hdr, bs.data + i, bs.len - i > 64 ? 64 :
			    bs.len - i);
		}
		hbuf_puts(&hdr, "\r\n");
		hbuf_put(sig, hdr.data, hdr.len);
		hbuf_free(&bs);
	}
	hbuf_free(&cb);
	hbuf_free(&hdr);
	hbuf_free(&hin);
	return rc;
}

int
herald_dkim_sign(struct herald_dkim *d, struct hbuf *msg, struct herald_err *e)
{
	struct hbuf sig = HBUF_INIT;
	int rc;

	if (d == NULL || d->n == 0)
		return 0;
	/* each signature covers the message as built, not the others */
	for (size_t i = 0; i < d->n; i++)
		if ((rc = openssl_sign(&d->keys[i], d->fixed_time ?
		    d->fixed_time : time(NULL), msg, &sig, e)) != 0) {
			hbuf_free(&sig);
			return rc;
		}
	hbuf_put(&sig, msg->data, msg->len);
	hbuf_free(msg);
	*msg = sig;
	return 0;
}

void
herald_dkim_info(const struct herald_dkim *d, size_t i,
    struct herald_dkim_info *out)
{
	const struct key *k = &d->keys[i];
	struct hbuf b = HBUF_INIT;
	int n;
	char *b64;

	memset(out, 0, sizeof(*out));
	out->domain = k->domain;
	out->selector = k->selector;
	out->alg = k->alg == DKIM_SIGN_ED25519SHA256 ? "ed25519" : "rsa";
	out->bits = k->bits;
	b64 = xmalloc(4 * ((k->publen + 2) / 3) + 1);
	n = EVP_EncodeBlock((unsigned char *)b64, k->pub, (int)k->publen);
	b64[n > 0 ? n : 0] = '\0';
	hbuf_printf(&b, "v=DKIM1; k=%s; p=%s", out->alg, b64);
	free(b64);
	out->record = hbuf_detach(&b);
	out->dns_name = xasprintf("%s._domainkey.%s", k->selector, k->domain);
}

bool
herald_dkim_aligned(const char *d, const char *from)
{
	size_t dl = strlen(d), fl = strlen(from);

	if (ascii_ieq(d, from))
		return true;
	if (fl > dl && from[fl - dl - 1] == '.' && ascii_ieq(from + fl - dl, d))
		return true;
	if (dl > fl && d[dl - fl - 1] == '.' && ascii_ieq(d + dl - fl, from))
		return true;
	return false;
}
