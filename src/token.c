/*
 * token.c - unsubscribe tokens (see token.h for the format and why).
 *
 * This file is the only one that uses OpenSSL's cipher API (AES-SIV,
 * RFC 5297); util.c uses its digests.  SIV was chosen over
 * encrypt-then-HMAC because it is one well-reviewed primitive that is
 * deterministic by design (the same token for the same reader in every
 * message and resend) and misuse-resistant: there is no nonce to get wrong.
 */
#include "token.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define VERSION 0x01
#define HDR 5                   /* version + key id: associated data */
#define TAG 16
#define MAXKEYS 64

struct herald_tokens {
	size_t n;
	unsigned char key[MAXKEYS][HERALD_TOKEN_KEYLEN];
	unsigned char id[MAXKEYS][4];
	EVP_CIPHER *cipher;
	/* Encryption under the first key (every token made), set up once
	 * and copied per token: setting the key up (EVP_CipherInit_ex2) was
	 * 20k of the 32k instructions a token cost.  NULL: set up per use. */
	EVP_CIPHER_CTX *enc0;
};

static bool
b64url_char(unsigned char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

static void
key_id(const unsigned char key[HERALD_TOKEN_KEYLEN], unsigned char id[4])
{
	static const char label[] = "herald unsubscribe token key id";
	unsigned char mac[32];

	hmac_sha256(key, HERALD_TOKEN_KEYLEN, label, sizeof(label) - 1, mac);
	memcpy(id, mac, 4);
}

static struct herald_tokens *
tokens_new(void)
{
	struct herald_tokens *t = xcalloc(1, sizeof(*t));

	t->cipher = EVP_CIPHER_fetch(NULL, "AES-128-SIV", NULL);
	if (t->cipher == NULL)
		abort();        /* OpenSSL 3 always has it in the default provider */
	return t;
}

static void
tokens_add(struct herald_tokens *t, const unsigned char *key)
{
	if (t->n == MAXKEYS)
		return;
	memcpy(t->key[t->n], key, HERALD_TOKEN_KEYLEN);
	key_id(key, t->id[t->n]);
	if (t->n == 0 && (t->enc0 = EVP_CIPHER_CTX_new()) != NULL &&
	    EVP_CipherInit_ex2(t->enc0, t->cipher, key, NULL, 1, NULL) != 1) {
		EVP_CIPHER_CTX_free(t->enc0);
		t->enc0 = NULL;
	}
	t->n++;
}

struct herald_tokens *
herald_tokens_from_keys(const unsigned char (*keys)[HERALD_TOKEN_KEYLEN],
    size_t n)
{
	struct herald_tokens *t = tokens_new();

	for (size_t i = 0; i < n; i++)
		tokens_add(t, keys[i]);
	return t;
}

void
herald_tokens_free(struct herald_tokens *t)
{
	if (t == NULL)
		return;
	EVP_CIPHER_CTX_free(t->enc0);
	EVP_CIPHER_free(t->cipher);
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
}

/* Read one 32-byte secret file that only its owner can read.  Returns 0,
 * -1 (ENOENT) or an exit code with e filled. */
static int
read_key(const char *path, unsigned char key[HERALD_TOKEN_KEYLEN],
    struct herald_err *e)
{
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return -1;
		return herald_errf(e, EX_CONFIG, path, 0, "%s", strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return herald_errf(e, EX_CONFIG, path, 0,
		    "unsubscribe secret is not a regular file");
	}
	/* owner only, as .herald/ itself (mkdir_private) */
	if ((st.st_mode & 077) != 0)
		(void)fchmod(fd, 0600);
	n = read(fd, key, HERALD_TOKEN_KEYLEN);
	if (n == HERALD_TOKEN_KEYLEN) {
		unsigned char extra;
		if (read(fd, &extra, 1) != 0)
			n = -1;
	}
	close(fd);
	if (n != HERALD_TOKEN_KEYLEN)
		return herald_errf(e, EX_CONFIG, path, 0,
		    "unsubscribe secret is not %d bytes", HERALD_TOKEN_KEYLEN);
	return 0;
}

/* Make path: 32 random bytes, 0600, written whole or not at all. */
static int
create_key(const char *path, unsigned char key[HERALD_TOKEN_KEYLEN],
    struct herald_err *e)
{
	char *tmp = xasprintf("%s.new.%ld", path, (long)getpid());
	int fd, rc = 0;

	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, key, HERALD_TOKEN_KEYLEN) != HERALD_TOKEN_KEYLEN) {
		if (fd >= 0)
			close(fd);
		free(tmp);
		return herald_errf(e, EX_OSERR, "/dev/urandom", 0,
		    "cannot read random bytes");
	}
	close(fd);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, key, HERALD_TOKEN_KEYLEN) != HERALD_TOKEN_KEYLEN ||
	    fsync(fd) != 0) {
		rc = herald_errf(e, EX_CANTCREAT, path, 0, "cannot write: %s",
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		free(tmp);
		return rc;
	}
	close(fd);
	/* link(2) fails if another process made the secret meanwhile: then
	 * theirs is the one. */
	if (link(tmp, path) != 0) {
		int err = errno;
		unlink(tmp);
		free(tmp);
		if (err == EEXIST) {
			/* e is already filled unless the file vanished
			 * again (never format e->msg into itself) */
			rc = read_key(path, key, e);
			return rc != -1 ? rc : herald_errf(e, EX_CONFIG, path,
			    0, "unsubscribe secret removed while being made");
		}
		return herald_errf(e, EX_CANTCREAT, path, 0, "cannot write: %s",
		    strerror(err));
	}
	unlink(tmp);
	free(tmp);
	return 0;
}

int
herald_tokens_open(const char *state_dir, bool create,
    struct herald_tokens **out, struct herald_err *e)
{
	unsigned char key[HERALD_TOKEN_KEYLEN];
	char *path = xasprintf("%s/secret", state_dir);
	struct herald_tokens *t;
	char *dpath;
	DIR *d;
	int rc;

	*out = NULL;
	/* .herald/ holds the secret and the journals: private to its owner */
	if (access(state_dir, F_OK) == 0 && (rc = mkdir_private(state_dir, e)) != 0) {
		free(path);
		return rc;
	}
	rc = read_key(path, key, e);
	if (rc == -1 && !create)
		rc = herald_errf(e, EX_NOINPUT, path, 0, "no unsubscribe secret "
		    "(made by the first check, preview or send)");
	else if (rc == -1 && (rc = mkdir_private(state_dir, e)) == 0)
		rc = create_key(path, key, e);
	free(path);
	if (rc != 0) {
		OPENSSL_cleanse(key, sizeof(key));
		return rc;
	}
	t = tokens_new();
	tokens_add(t, key);

	dpath = xasprintf("%s/old-secrets", state_dir);
	if ((d = opendir(dpath)) != NULL) {
		struct dirent *de;
		while (rc == 0 && (de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			char *p = xasprintf("%s/%s", dpath, de->d_name);
			if ((rc = read_key(p, key, e)) == 0)
				tokens_add(t, key);
			else if (rc == -1)
				rc = 0;
			free(p);
		}
		closedir(d);
	}
	free(dpath);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc != 0) {
		herald_tokens_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

/* One SIV operation; returns the output length or -1. */
static int
siv(const struct herald_tokens *t, size_t k, bool enc,
    const unsigned char *hdr, const unsigned char *in, size_t n,
    unsigned char *out, unsigned char tag[TAG])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int len = 0, fin = 0, ok;

	if (ctx == NULL)
		return -1;
	if (enc && k == 0 && t->enc0 != NULL &&
	    EVP_CIPHER_CTX_copy(ctx, t->enc0) == 1)
		ok = 1;
	else
		ok = EVP_CipherInit_ex2(ctx, t->cipher, t->key[k], NULL, enc,
		    NULL);
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG, tag) > 0;
	ok = ok && EVP_CipherUpdate(ctx, NULL, &len, hdr, HDR);
	/* SIV takes the data in one call; it checks the tag there (with
	 * CRYPTO_memcmp) when decrypting. */
	ok = ok && EVP_CipherUpdate(ctx, out, &len, in, (int)n);
	ok = ok && EVP_CipherFinal_ex(ctx, out + len, &fin);
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG, tag) > 0;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? len + fin : -1;
}

char *
herald_token_make(const struct herald_tokens *t, const char *list,
    const char *addr)
{
	size_t ln = list ? strlen(list) : 0, an = strlen(addr);
	size_t n = ln + 1 + an;
	unsigned char *pt = xmalloc(n), *raw = xmalloc(HDR + TAG + n);
	struct hbuf b = HBUF_INIT;

	if (ln)
		memcpy(pt, list, ln);
	pt[ln] = '\0';
	memcpy(pt + ln + 1, addr, an);
	for (size_t i = ln + 1; i < n; i++)
		if (pt[i] >= 'A' && pt[i] <= 'Z')
			pt[i] += 32;
	raw[0] = VERSION;
	memcpy(raw + 1, t->id[0], 4);
	if (siv(t, 0, true, raw, pt, n, raw + HDR + TAG, raw + HDR) != (int)n)
		abort();        /* cannot happen with a valid key */
	base64url_put(&b, raw, HDR + TAG + n);
	free(pt);
	free(raw);
	return hbuf_detach(&b);
}

static bool
verify_n(const struct herald_tokens *t, const char *tok, size_t len,
    char **list, char **addr)
{
	unsigned char raw[HERALD_TOKEN_MAX], pt[HERALD_TOKEN_MAX];
	long n;
	size_t m;

	if (len > HERALD_TOKEN_MAX)
		return false;
	n = base64url_decode(tok, len, raw, sizeof(raw));
	if (n < HDR + TAG + 2 || raw[0] != VERSION)
		return false;
	m = (size_t)n - HDR - TAG;
	for (size_t k = 0; k < t->n; k++) {
		const unsigned char *nul;
		unsigned char tag[TAG];

		if (memcmp(raw + 1, t->id[k], 4) != 0)
			continue;
		memcpy(tag, raw + HDR, TAG);
		if (siv(t, k, false, raw, raw + HDR + TAG, m, pt, tag) != (int)m)
			continue;
		/* authentic; now the shape: LIST NUL ADDRESS, one NUL */
		nul = memchr(pt, '\0', m);
		if (nul == NULL || nul == pt + m - 1 ||
		    memchr(nul + 1, '\0', m - (size_t)(nul - pt) - 1) != NULL)
			return false;
		if (list)
			*list = xstrdup((const char *)pt);
		if (addr)
			*addr = xstrndup((const char *)nul + 1,
			    m - (size_t)(nul - pt) - 1);
		OPENSSL_cleanse(pt, m);
		return true;
	}
	return false;
}

bool
herald_token_verify(const struct herald_tokens *t, const char *tok,
    char **list, char **addr)
{
	return tok != NULL && verify_n(t, tok, strlen(tok), list, addr);
}

bool
herald_token_find(const struct herald_tokens *t, const char *text,
    char **list, char **addr)
{
	const char *p = text;

	while (*p) {
		size_t n = 0;
		while (b64url_char((unsigned char)p[n]))
			n++;
		if (n >= 30 && verify_n(t, p, n, list, addr))
			return true;
		p += n ? n : 1;
	}
	return false;
}

char *
herald_token_url(const char *base_url, const char *tok)
{
	return xasprintf("%s%stoken=%s", base_url,
	    strchr(base_url, '?') ? "&" : "?", tok);
}

char *
herald_token_mailto(const char *mailto_addr, const char *tok)
{
	return xasprintf("mailto:%s?subject=unsubscribe%%20%s", mailto_addr,
	    tok);
}
