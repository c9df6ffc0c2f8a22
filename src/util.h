/*
 * util.h - what every herald module shares: error reporting, a growable
 * byte buffer, allocation that never returns NULL, and small file helpers.
 *
 * Errors: a function that can fail returns 0 on success or a sysexits.h code
 * (EX_DATAERR, EX_NOINPUT, ...) and fills a struct herald_err with the
 * user's file and line and one line of text.  Only main.c prints it, as
 * "herald: FILE:LINE: text".
 */
#ifndef HERALD_UTIL_H
#define HERALD_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sysexits.h>

struct herald_err {
	int code;        /* sysexits.h code; 0 when no error was set */
	char file[512];  /* file the problem is in, "" if none */
	int line;        /* 1-based line in file, 0 if unknown */
	char msg[512];   /* one line, no trailing newline */
};

/* Fill e (when not NULL) and return code.  file may be NULL. */
int herald_errf(struct herald_err *e, int code, const char *file, int line,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Format as "herald: FILE:LINE: msg" (parts omitted when unset) into out. */
void herald_err_format(const struct herald_err *e, char *out, size_t outsz);

/* Allocation: abort with a message on out-of-memory, never return NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);             /* xstrdup(NULL) returns NULL */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Growable buffer; data is always NUL-terminated (when allocated). */
struct hbuf {
	char *data;
	size_t len;
	size_t cap;
};
#define HBUF_INIT {NULL, 0, 0}
void hbuf_grow(struct hbuf *b, size_t extra);
void hbuf_put(struct hbuf *b, const void *p, size_t n);
void hbuf_puts(struct hbuf *b, const char *s);
void hbuf_putc(struct hbuf *b, char c);
void hbuf_printf(struct hbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hbuf_vprintf(struct hbuf *b, const char *fmt, va_list ap);
void hbuf_reset(struct hbuf *b);          /* len = 0, keeps memory */
void hbuf_free(struct hbuf *b);           /* safe on a zeroed buffer */
char *hbuf_detach(struct hbuf *b);        /* caller frees; b becomes empty */
const char *hbuf_cstr(struct hbuf *b);    /* "" when empty */

/* HTML-escape & < > " ' into b. */
void hbuf_put_html(struct hbuf *b, const char *s, size_t n);

/* UTF-8 validity; on failure *bad_off (if not NULL) is the offending byte. */
bool utf8_valid(const char *s, size_t n, size_t *bad_off);
/* Newlines in the first n bytes of s. */
size_t count_newlines(const char *s, size_t n);
/* 1-based line number of byte offset off in s. */
int line_of_offset(const char *s, size_t off);
/* Does s contain CR, LF or NUL in its first n bytes? */
bool has_crlf_nul(const char *s, size_t n);

/* Read a whole file.  Returns 0 or EX_NOINPUT/EX_IOERR with e filled. */
int read_file(const char *path, struct hbuf *out, struct herald_err *e);
/* Write data to path atomically: temp file (O_EXCL) in the same directory,
 * fsync, rename.  Returns 0 or EX_CANTCREAT with e filled. */
int write_file_atomic(const char *path, const void *data, size_t len,
    struct herald_err *e);
/* The same without fsync: readers still see the old file or the new one,
 * never half of one, but a power cut may lose the new one.  For previews. */
int write_file_replace(const char *path, const void *data, size_t len,
    bool sync, struct herald_err *e);
/* mkdir -p; returns 0 or EX_CANTCREAT. */
int mkdir_p(const char *path, struct herald_err *e);
/* mkdir_p, then make path itself 0700 (also when it already existed):
 * for .herald/, which holds the unsubscribe secret and the journals. */
int mkdir_private(const char *path, struct herald_err *e);

/* Case-insensitive ASCII compare helpers. */
bool ascii_ieq(const char *a, const char *b);
void ascii_lower(char *s);

/* 64-bit FNV-1a (not cryptographic; for hash tables and dedup sets). */
uint64_t hash64(const void *p, size_t n);

/* SHA-256 and HMAC-SHA-256 (32-byte outputs). */
/* Seconds on the monotonic clock (for intervals, never for dates). */
double mono(void);
void sha256(const void *p, size_t n, unsigned char out[32]);
void hmac_sha256(const void *key, size_t keylen, const void *p, size_t n,
    unsigned char out[32]);
/* Lower-case hex of n bytes into out (2n+1 bytes). */
void hex_encode(const unsigned char *p, size_t n, char *out);
/* base64url without padding into b. */
void base64url_put(struct hbuf *b, const unsigned char *p, size_t n);
/* Decode strict base64url (no padding, no stray bits, exactly one
 * spelling per byte string); returns bytes written or -1. */
long base64url_decode(const char *s, size_t n, unsigned char *out, size_t outsz);

#endif
