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
 * Usage: bare_curl URL FROM MESSAGE-FILE COUNT CONNECTIONS [KEY-FILE]
 * Prints "sent N failed M".
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void *
run(void *arg)
{
	struct conn c = {0};
	CURLM *m = curl_multi_init();
	CURL *h = curl_easy_init();
	char rcpt[64];
	struct curl_slist *rl = NULL;
	EVP_PKEY_CTX *sc = NULL;
	unsigned char sig[1024];
	long i;

	(void)arg;
	if (key != NULL && ((sc = EVP_PKEY_CTX_new_from_pkey(NULL, key,
	    NULL)) == NULL || EVP_PKEY_sign_init(sc) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(sc, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(sc, EVP_sha256()) != 1))
		atomic_fetch_add(&signfail, 1);
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

		if (sc != NULL) {
			size_t sl = sizeof(sig);

			if (EVP_PKEY_sign(sc, sig, &sl, digest, 32) != 1)
				atomic_fetch_add(&signfail, 1);
		}
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

int
main(int argc, char **argv)
{
	FILE *f;
	long size;
	int n;
	pthread_t t[64];

	if (argc != 6 && argc != 7) {
		fprintf(stderr, "usage: bare_curl URL FROM FILE COUNT CONNS "
		    "[KEY]\n");
		return 64;
	}
	url = argv[1];
	from = argv[2];
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
		pthread_create(&t[i], NULL, run, NULL);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	curl_global_cleanup();
	printf("sent %ld failed %ld\n", atomic_load(&sent),
	    atomic_load(&failed) + atomic_load(&signfail));
	free(msg);
	EVP_PKEY_free(key);
	return atomic_load(&failed) || atomic_load(&signfail) ? 1 : 0;
}
