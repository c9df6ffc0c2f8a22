/*
 * util.c - errors, buffers, allocation, files and small encodings shared by
 * every module.  SHA-256/HMAC come from OpenSSL's libcrypto (which
 * libopendkim links anyway) rather than a hand-written digest.
 */
#include "util.h"

#include <errno.h>
#include <time.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

int
herald_errf(struct herald_err *e, int code, const char *file, int line,
    const char *fmt, ...)
{
	va_list ap;
	char msg[sizeof(e->msg)], fb[sizeof(e->file)];

	if (e == NULL)
		return code;
	/* Format into locals first: callers may pass e->msg or e->file
	 * themselves as arguments (re-wrapping an error). */
	snprintf(fb, sizeof(fb), "%s", file ? file : "");
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e->code = code;
	e->line = line;
	memcpy(e->file, fb, sizeof(fb));
	memcpy(e->msg, msg, sizeof(msg));
	/* one line, always */
	for (char *p = e->msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return code;
}

void
herald_err_format(const struct herald_err *e, char *out, size_t outsz)
{
	if (e->file[0] && e->line > 0)
		snprintf(out, outsz, "herald: %s:%d: %s", e->file, e->line, e->msg);
	else if (e->file[0])
		snprintf(out, outsz, "herald: %s: %s", e->file, e->msg);
	else
		snprintf(out, outsz, "herald: %s", e->msg);
}

static void
oom(void)
{
	fputs("herald: out of memory\n", stderr);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		oom();
	return p;
}

char *
xstrdup(const char *s)
{
	return s ? xstrndup(s, strlen(s)) : NULL;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	struct hbuf b = HBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	hbuf_vprintf(&b, fmt, ap);
	va_end(ap);
	return hbuf_detach(&b);
}

void
hbuf_grow(struct hbuf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	/* A reservation far past the buffer (a message sized ahead by
	 * mime.c) gets what it asks, rounded to 64: doubling would leave up
	 * to half of every queued message unused.  Small steps double. */
	if (need > 2 * cap)
		cap = (need + 63) & ~(size_t)63;
	while (cap < need)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
	b->data[b->len] = '\0';   /* a fresh buffer reads as "" too */
}

void
hbuf_put(struct hbuf *b, const void *p, size_t n)
{
	hbuf_grow(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
hbuf_puts(struct hbuf *b, const char *s)
{
	hbuf_put(b, s, strlen(s));
}

void
hbuf_putc(struct hbuf *b, char c)
{
	hbuf_grow(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

void
hbuf_vprintf(struct hbuf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	hbuf_grow(b, 64);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= b->cap - b->len) {
		hbuf_grow(b, (size_t)n);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
	}
	va_end(ap2);
	b->len += (size_t)n;
}

void
hbuf_printf(struct hbuf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hbuf_vprintf(b, fmt, ap);
	va_end(ap);
}

void
hbuf_reset(struct hbuf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void
hbuf_free(struct hbuf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *
hbuf_detach(struct hbuf *b)
{
	char *p = b->data ? b->data : xstrdup("");

	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

const char *
hbuf_cstr(struct hbuf *b)
{
	return b->data ? b->data : "";
}

void
hbuf_put_html(struct hbuf *b, const char *s, size_t n)
{
	size_t start = 0;

	for (size_t i = 0; i < n; i++) {
		const char *rep;

		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: continue;
		}
		hbuf_put(b, s + start, i - start);
		hbuf_puts(b, rep);
		start = i + 1;
	}
	hbuf_put(b, s + start, n - start);
}

bool
utf8_valid(const char *str, size_t n, size_t *bad_off)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i];
		size_t len;
		unsigned min, cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			len = 2, min = 0x80, cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3, min = 0x800, cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4, min = 0x10000, cp = c & 0x07;
		} else
			goto bad;
		if (i + len > n)
			goto bad;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto bad;
		i += len;
	}
	return true;
bad:
	if (bad_off)
		*bad_off = i;
	return false;
}

size_t
count_newlines(const char *s, size_t n)
{
	size_t k = 0;

	for (const char *p = s, *end = s + n;
	    (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
		k++;
	return k;
}

int
line_of_offset(const char *s, size_t off)
{
	int line = 1;

	for (size_t i = 0; i < off && s[i]; i++)
		if (s[i] == '\n')
			line++;
	return line;
}

bool
has_crlf_nul(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
			return true;
	return false;
}

int
read_file(const char *path, struct hbuf *out, struct herald_err *e)
{
	FILE *f = fopen(path, "rb");
	char chunk[65536];
	size_t n;

	if (f == NULL)
		return herald_errf(e, errno == ENOENT ? EX_NOINPUT : EX_IOERR,
		    path, 0, "%s", strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		hbuf_put(out, chunk, n);
	if (ferror(f)) {
		int err = errno;
		fclose(f);
		return herald_errf(e, EX_IOERR, path, 0, "%s", strerror(err));
	}
	fclose(f);
	if (out->data == NULL)
		hbuf_put(out, "", 0);
	return 0;
}

int
write_file_atomic(const char *path, const void *data, size_t len,
    struct herald_err *e)
{
	return write_file_replace(path, data, len, true, e);
}

int
write_file_replace(const char *path, const void *data, size_t len, bool sync,
    struct herald_err *e)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	const char *p = data;
	int fd;

	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EEXIST) {
		unlink(tmp);  /* stale, from an earlier crash of this pid */
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	}
	if (fd < 0)
		goto fail;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto fail_fd;
		}
		p += w;
		len -= (size_t)w;
	}
	if (sync && fsync(fd) != 0)
		goto fail_fd;
	if (close(fd) != 0) {
		fd = -1;
		goto fail_fd;
	}
	if (rename(tmp, path) != 0) {
		fd = -1;
		goto fail_fd;
	}
	free(tmp);
	return 0;
fail_fd: {
		int err = errno;
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		errno = err;
	}
fail:
	herald_errf(e, EX_CANTCREAT, path, 0, "cannot write: %s", strerror(errno));
	free(tmp);
	return EX_CANTCREAT;
}

int
mkdir_p(const char *path, struct herald_err *e)
{
	char *p = xstrdup(path);

	for (char *s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, 0755) != 0 && errno != EEXIST) {
				herald_errf(e, EX_CANTCREAT, p, 0,
				    "cannot create directory: %s", strerror(errno));
				free(p);
				return EX_CANTCREAT;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	free(p);
	return 0;
}

int
mkdir_private(const char *path, struct herald_err *e)
{
	struct stat st;
	int rc;

	if ((rc = mkdir_p(path, e)) != 0)
		return rc;
	if (stat(path, &st) != 0)
		return herald_errf(e, EX_CANTCREAT, path, 0, "%s",
		    strerror(errno));
	if ((st.st_mode & 0777) != 0700 && st.st_uid == geteuid() &&
	    chmod(path, 0700) != 0)
		return herald_errf(e, EX_CANTCREAT, path, 0,
		    "cannot make it private (chmod 700): %s", strerror(errno));
	return 0;
}

bool
ascii_ieq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a, y = *b;
		if (x >= 'A' && x <= 'Z')
			x += 32;
		if (y >= 'A' && y <= 'Z')
			y += 32;
		if (x != y)
			return false;
	}
	return *a == *b;
}

void
ascii_lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s += 32;
}

uint64_t
hash64(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

void
sha256(const void *p, size_t n, unsigned char out[32])
{
	unsigned int len = 32;

	EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

void
hmac_sha256(const void *key, size_t keylen, const void *p, size_t n,
    unsigned char out[32])
{
	unsigned int len = 32;

	HMAC(EVP_sha256(), key, (int)keylen, p, n, out, &len);
}

void
hex_encode(const unsigned char *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void
base64url_put(struct hbuf *b, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		char q[4] = { b64url[v >> 18], b64url[(v >> 12) & 63],
		    b64url[(v >> 6) & 63], b64url[v & 63] };
		hbuf_put(b, q, 4);
	}
	if (n - i == 1) {
		unsigned v = (unsigned)p[i] << 16;
		char q[2] = { b64url[v >> 18], b64url[(v >> 12) & 63] };
		hbuf_put(b, q, 2);
	} else if (n - i == 2) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
		char q[3] = { b64url[v >> 18], b64url[(v >> 12) & 63],
		    b64url[(v >> 6) & 63] };
		hbuf_put(b, q, 3);
	}
}

static int
b64url_val(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '-')
		return 62;
	if (ch == '_')
		return 63;
	return -1;
}

/*
 * Strict: only the 64 characters, no padding, no length that no byte
 * string encodes to, and the unused low bits of the last character zero,
 * so each byte string has exactly one accepted spelling (tokens rely on
 * this).
 */
long
base64url_decode(const char *s, size_t n, unsigned char *out, size_t outsz)
{
	size_t o = 0, i;
	unsigned acc = 0;
	int bits = 0;

	if (n % 4 == 1 || (n / 4) * 3 + (n % 4 ? n % 4 - 1 : 0) > outsz)
		return -1;
	for (i = 0; i < n; i++) {
		int v = b64url_val((unsigned char)s[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)           /* leftover bits must be zero */
		return -1;
	return (long)o;
}

double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}
