/*
 * bare_curl.c - the ceiling `make bench` measures herald against: libcurl's
 * multi interface resending one fixed, already-CRLF message over N
 * connections, nothing else (no building, no journal, no per-recipient
 * work).  Like herald's smtp.c, each connection has its own thread and
 * multi handle (libcurl 7.88 blocks in its "done" phase until the reply to
 * the final dot, so one shared multi handle would serialise them).
 * Not part of herald.
 *
 * With KEY-FILE (a PEM private key) each connection's thread also makes
 * one RSA signature (PKCS #1 v1.5 over a SHA-256) per message before
 * sending it, with a context prepared once per thread: the ceiling for a
 * send with DKIM, one private-key operation per message and nothing else
 * (bench/dkim.py).
 *
 * With --pipelined, libcurl only connects (CURLOPT_CONNECT_ONLY: greeting,
 * EHLO, STARTTLS, AUTH) and the transaction is spoken here through
 * curl_easy_send/curl_easy_recv, as herald's own client does: when the
 * EHLO reply (seen through CURLOPT_HEADERFUNCTION) advertises PIPELINING
 * (RFC 2920), "MAIL FROM..RCPT TO..DATA" go in one write, their three
 * replies are read, then the message, already dot-stuffed (scanned for
 * lines starting with "." every message, copied only when it has one),
 * its final ".\r\n" and the next message's MAIL/RCPT/DATA in one write.
 * Without PIPELINING (or with --no-pipelining as well) each command
 * waits for its reply.  Every reply code is checked (250, 250, 354, 250);
 * a message counts as sent only on the 250 after its dot, and any other
 * reply stops every connection.  A second line says "mode pipelined" or
 * "mode lockstep".
 *
 * Usage: bare_curl [--pipelined [--no-pipelining]] URL FROM MESSAGE-FILE
 *        COUNT CONNECTIONS [KEY-FILE]
 * Prints "sent N failed M".
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

static const char *url, *from;
static char *msg;
static size_t msglen;
static long total;
static atomic_long next, sent, failed, signfail;
static atomic_long lockstep;        /* connections that did not pipeline */
static atomic_int stop;             /* an unexpected reply: stop all */
static int pipelined, no_pipelining;
static EVP_PKEY *key;               /* NULL: no signing */
static unsigned char digest[32];    /* SHA-256 of the message */

struct conn {
	size_t off;
};

static size_t
read_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct conn *c = arg;
	size_t want = size * n, left = msglen - c->off;

	if (want > left)
		want = left;
	memcpy(buf, msg + c->off, want);
	c->off += want;
	return want;
}

/* One RSA context per thread (NULL without a key). */
static EVP_PKEY_CTX *
sign_ctx(void)
{
	EVP_PKEY_CTX *sc;

	if (key == NULL)
		return NULL;
	if ((sc = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL)) == NULL ||
	    EVP_PKEY_sign_init(sc) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(sc, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(sc, EVP_sha256()) != 1)
		atomic_fetch_add(&signfail, 1);
	return sc;
}

static void
sign_one(EVP_PKEY_CTX *sc)
{
	unsigned char sig[1024];
	size_t sl = sizeof(sig);

	if (sc != NULL && EVP_PKEY_sign(sc, sig, &sl, digest, 32) != 1)
		atomic_fetch_add(&signfail, 1);
}

static void *
run(void *arg)
{
	struct conn c = {0};
	CURLM *m = curl_multi_init();
	CURL *h = curl_easy_init();
	char rcpt[64];
	struct curl_slist *rl = NULL;
	EVP_PKEY_CTX *sc = sign_ctx();
	long i;

	(void)arg;
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, 1L);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(h, CURLOPT_READDATA, &c);
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)msglen);
	while ((i = atomic_fetch_add(&next, 1)) < total) {
		int running = 1, left;
		CURLMsg *cm;

		sign_one(sc);
		snprintf(rcpt, sizeof(rcpt), "<user%ld@example.org>", i);
		curl_slist_free_all(rl);
		rl = curl_slist_append(NULL, rcpt);
		curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rl);
		c.off = 0;
		curl_multi_add_handle(m, h);
		while (running) {
			curl_multi_perform(m, &running);
			if (running)
				curl_multi_poll(m, NULL, 0, 1000, NULL);
		}
		while ((cm = curl_multi_info_read(m, &left)) != NULL)
			if (cm->msg == CURLMSG_DONE)
				atomic_fetch_add(cm->data.result == CURLE_OK ?
				    &sent : &failed, 1);
		curl_multi_remove_handle(m, h);
	}
	curl_slist_free_all(rl);
	curl_easy_cleanup(h);
	curl_multi_cleanup(m);
	EVP_PKEY_CTX_free(sc);
	return NULL;
}

/*
 * --pipelined: libcurl connects, the transaction is spoken here.
 */
#define GROUPMAX 320            /* "MAIL FROM:<..>\r\nRCPT TO:<..>\r\nDATA\r\n" */
#define WAIT_MS 30000           /* any one wait for the server */

struct pconn {
	CURL *h;
	curl_socket_t fd;
	int pipelining;         /* the EHLO reply advertised PIPELINING */
	char in[4096];          /* replies read, not yet parsed */
	size_t inlen;
	char last[128];         /* the last reply line, for the error */
	char *out;              /* this connection's copy of the message */
	size_t outlen;          /* its length, dot-stuffed, ending in CRLF */
};

static size_t
ehlo_cb(char *b, size_t size, size_t n, void *arg)
{
	struct pconn *c = arg;
	size_t len = size * n;

	/* "250-PIPELINING" or "250 PIPELINING", maybe with parameters */
	if (len >= 14 && memcmp(b, "250", 3) == 0 &&
	    (b[3] == '-' || b[3] == ' ') &&
	    strncasecmp(b + 4, "PIPELINING", 10) == 0 &&
	    (len == 14 || b[14] == '\r' || b[14] == '\n' || b[14] == ' '))
		c->pipelining = 1;
	return len;
}

static int
wait_fd(struct pconn *c, short ev)
{
	struct pollfd p = { .fd = c->fd, .events = ev };

	return poll(&p, 1, WAIT_MS) == 1 ? 0 : -1;
}

static int
send_all(struct pconn *c, const char *b, size_t len)
{
	while (len > 0) {
		size_t n = 0;
		CURLcode rc = curl_easy_send(c->h, b, len, &n);

		if (rc == CURLE_AGAIN) {
			if (wait_fd(c, POLLOUT) != 0)
				return -1;
			continue;
		}
		if (rc != CURLE_OK)
			return -1;
		b += n;
		len -= n;
	}
	return 0;
}

/* The code of the next whole reply (its last line "NNN " or "NNN\r\n"),
 * or -1 on a malformed line, a closed connection or a timeout. */
static int
read_reply(struct pconn *c)
{
	for (;;) {
		char *nl;

		while ((nl = memchr(c->in, '\n', c->inlen)) != NULL) {
			size_t ll = (size_t)(nl - c->in) + 1, ln;
			int code = -1, fin = 0;

			if (ll >= 5 && c->in[0] >= '2' && c->in[0] <= '5' &&
			    c->in[1] >= '0' && c->in[1] <= '9' &&
			    c->in[2] >= '0' && c->in[2] <= '9' &&
			    (c->in[3] == ' ' || c->in[3] == '-' ||
			    c->in[3] == '\r')) {
				code = (c->in[0] - '0') * 100 +
				    (c->in[1] - '0') * 10 + (c->in[2] - '0');
				fin = c->in[3] != '-';
			}
			/* kept for the error message (a memcpy: this runs
			 * four times a message) */
			ln = ll > 2 ? ll - 2 : 0;
			if (ln >= sizeof(c->last))
				ln = sizeof(c->last) - 1;
			memcpy(c->last, c->in, ln);
			c->last[ln] = '\0';
			memmove(c->in, c->in + ll, c->inlen - ll);
			c->inlen -= ll;
			if (code < 0)
				return -1;      /* c->last says what came */
			if (fin)
				return code;
		}
		if (c->inlen == sizeof(c->in)) {
			snprintf(c->last, sizeof(c->last), "a reply line "
			    "longer than %zu octets", sizeof(c->in));
			return -1;
		}
		for (;;) {
			size_t n = 0;
			CURLcode rc = curl_easy_recv(c->h, c->in + c->inlen,
			    sizeof(c->in) - c->inlen, &n);

			if (rc == CURLE_AGAIN) {
				if (wait_fd(c, POLLIN) == 0)
					continue;
				snprintf(c->last, sizeof(c->last), "no reply "
				    "in %d s", WAIT_MS / 1000);
				return -1;
			}
			if (rc != CURLE_OK || n == 0) {
				snprintf(c->last, sizeof(c->last), "%s",
				    rc != CURLE_OK ? curl_easy_strerror(rc) :
				    "connection closed");
				return -1;
			}
			c->inlen += n;
			break;
		}
	}
}

/* The next message's number, or -1 when all are claimed or stopping. */
static long
claim(void)
{
	long i;

	if (atomic_load(&stop))
		return -1;
	i = atomic_fetch_add(&next, 1);
	return i < total ? i : -1;
}

static size_t
group(char *b, long i, int all)
{
	if (all)
		return (size_t)snprintf(b, GROUPMAX, "MAIL FROM:%s\r\n"
		    "RCPT TO:<user%ld@example.org>\r\nDATA\r\n", from, i);
	return (size_t)snprintf(b, GROUPMAX, "MAIL FROM:%s\r\n", from);
}

/* Does a line of the message start with "."? (memchr for the dots, then
 * look behind: fast on text, where dots are rare next to line starts) */
static int
has_dotline(const char *m, size_t len)
{
	const char *p = m, *end = m + len;

	while (p < end && (p = memchr(p, '.', (size_t)(end - p))) != NULL) {
		if (p == m || p[-1] == '\n')
			return 1;
		p++;
	}
	return 0;
}

/* m dot-stuffed into out (room for 2 * len + 2), ending in CRLF. */
static size_t
stuff(char *out, const char *m, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (m[i] == '.' && (i == 0 || m[i - 1] == '\n'))
			out[o++] = '.';
		out[o++] = m[i];
	}
	if (o < 2 || out[o - 2] != '\r' || out[o - 1] != '\n') {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	return o;
}

static void
bad(struct pconn *c, long i, const char *what, int code)
{
	static atomic_int said;

	atomic_fetch_add(&failed, 1);
	atomic_store(&stop, 1);
	if (atomic_fetch_add(&said, 1) == 0)
		fprintf(stderr, "bare_curl: message %ld: %s: %s (%d)\n", i,
		    what, c->last[0] ? c->last : "no reply", code);
}

/* Expect `code` from the next reply; on anything else stop. */
#define EXPECT(c, i, what, want) do {                                    \
	int got_ = read_reply(c);                                        \
	if (got_ != (want)) {                                            \
		bad(c, i, what, got_);                                   \
		goto out;                                                \
	}                                                                \
} while (0)

static void *
run_pipelined(void *arg)
{
	struct pconn c = {0};
	EVP_PKEY_CTX *sc = sign_ctx();
	char g[GROUPMAX];
	curl_socket_t fd = CURL_SOCKET_BAD;
	CURLcode rc;
	long i, j;

	(void)arg;
	c.h = curl_easy_init();
	/* the message, copied once: herald builds each message into a
	 * buffer of its own with room for the tail */
	c.out = malloc(2 * msglen + 2 + 3 + GROUPMAX);
	if (c.h == NULL || c.out == NULL) {
		bad(&c, -1, "out of memory", 0);
		goto out;
	}
	c.outlen = stuff(c.out, msg, msglen);
	curl_easy_setopt(c.h, CURLOPT_URL, url);
	curl_easy_setopt(c.h, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(c.h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c.h, CURLOPT_HEADERFUNCTION, ehlo_cb);
	curl_easy_setopt(c.h, CURLOPT_HEADERDATA, &c);
	if ((rc = curl_easy_perform(c.h)) != CURLE_OK ||
	    curl_easy_getinfo(c.h, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK ||
	    fd == CURL_SOCKET_BAD) {
		snprintf(c.last, sizeof(c.last), "%s", curl_easy_strerror(rc));
		bad(&c, -1, "connect", 0);
		goto out;
	}
	c.fd = fd;
	if (no_pipelining)
		c.pipelining = 0;
	if (!c.pipelining)
		atomic_fetch_add(&lockstep, 1);
	if ((i = claim()) >= 0 && c.pipelining &&
	    send_all(&c, g, group(g, i, 1)) != 0) {
		bad(&c, i, "send", 0);
		goto out;
	}
	while (i >= 0) {
		size_t len;

		if (c.pipelining) {
			EXPECT(&c, i, "MAIL FROM", 250);
			EXPECT(&c, i, "RCPT TO", 250);
			EXPECT(&c, i, "DATA", 354);
		} else {
			const char *cmd[2] = { "RCPT TO", "DATA" };
			const int want[2] = { 250, 354 };

			if (send_all(&c, g, group(g, i, 0)) != 0)
				goto sendfail;
			EXPECT(&c, i, "MAIL FROM", 250);
			for (int k = 0; k < 2; k++) {
				len = k == 0 ? (size_t)snprintf(g, GROUPMAX,
				    "RCPT TO:<user%ld@example.org>\r\n", i) :
				    (size_t)snprintf(g, GROUPMAX, "DATA\r\n");
				if (send_all(&c, g, len) != 0)
					goto sendfail;
				EXPECT(&c, i, cmd[k], want[k]);
			}
		}
		sign_one(sc);
		/* what herald does per message: look for lines starting
		 * with ".", stuff into a copy only when there is one */
		len = has_dotline(msg, msglen) ? stuff(c.out, msg, msglen) :
		    c.outlen;
		memcpy(c.out + len, ".\r\n", 3);
		len += 3;
		j = claim();
		if (j >= 0 && c.pipelining)
			len += group(c.out + len, j, 1);
		if (send_all(&c, c.out, len) != 0)
			goto sendfail;
		EXPECT(&c, i, "end of data", 250);
		atomic_fetch_add(&sent, 1);
		i = j;
	}
	/* libcurl does not say QUIT on a CONNECT_ONLY connection */
	if (send_all(&c, "QUIT\r\n", 6) != 0)
		goto sendfail;
	EXPECT(&c, -1, "QUIT", 221);
	goto out;
sendfail:
	snprintf(c.last, sizeof(c.last), "send failed");
	bad(&c, i, "send", 0);
out:
	curl_easy_cleanup(c.h);
	free(c.out);
	EVP_PKEY_CTX_free(sc);
	return NULL;
}

int
main(int argc, char **argv)
{
	FILE *f;
	long size;
	int n;
	pthread_t t[64];
	char *fb;

	if (argc > 1 && strcmp(argv[1], "--pipelined") == 0) {
		pipelined = 1;
		argc--, argv++;
		if (argc > 1 && strcmp(argv[1], "--no-pipelining") == 0) {
			no_pipelining = 1;
			argc--, argv++;
		}
	}
	if (argc != 6 && argc != 7) {
		fprintf(stderr, "usage: bare_curl [--pipelined "
		    "[--no-pipelining]] URL FROM FILE COUNT CONNS [KEY]\n");
		return 64;
	}
	url = argv[1];
	from = argv[2];
	/* MAIL FROM:<...> as libcurl writes it (it adds the brackets) */
	if (pipelined && from[0] != '<') {
		if ((fb = malloc(strlen(from) + 3)) == NULL)
			return 71;
		sprintf(fb, "<%s>", from);
		from = fb;
	}
	if (pipelined && strlen(from) > 200)
		return 64;              /* MAIL FROM fits in GROUPMAX */
	total = atol(argv[4]);
	n = atoi(argv[5]);
	if (n < 1 || n > 64 || total < 1)
		return 64;
	if ((f = fopen(argv[3], "rb")) == NULL) {
		perror(argv[3]);
		return 66;
	}
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	msg = malloc((size_t)size + 1);
	if (msg == NULL || fread(msg, 1, (size_t)size, f) != (size_t)size)
		return 74;
	fclose(f);
	msglen = (size_t)size;
	SHA256((const unsigned char *)msg, msglen, digest);
	if (argc == 7) {
		if ((f = fopen(argv[6], "r")) == NULL ||
		    (key = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL) {
			fprintf(stderr, "%s: not a PEM private key\n", argv[6]);
			return 66;
		}
		fclose(f);
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, pipelined ? run_pipelined : run,
		    NULL);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	curl_global_cleanup();
	printf("sent %ld failed %ld\n", atomic_load(&sent),
	    atomic_load(&failed) + atomic_load(&signfail));
	if (pipelined)
		printf("mode %s\n", atomic_load(&lockstep) ? "lockstep" :
		    "pipelined");
	free(msg);
	EVP_PKEY_free(key);
	return atomic_load(&failed) || atomic_load(&signfail) ||
	    atomic_load(&sent) != total ? 1 : 0;
}
