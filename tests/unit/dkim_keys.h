/*
 * dkim_keys.h - what test_dkim.c and test_signpool.c share: an RSA 2048
 * and an Ed25519 key made by openssl genpkey in a temp directory, herald's
 * signer opened on them, their TXT records written for libopendkim's
 * DKIM_QUERY_FILE (standing in for DNS), and libopendkim's verdict on a
 * signed message.  Exits 77 without openssl, 1 when herald refuses the
 * keys.
 */
#ifndef HERALD_TEST_DKIM_KEYS_H
#define HERALD_TEST_DKIM_KEYS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <opendkim/dkim.h>

#include "config.h"
#include "dkim.h"
#include "util.h"

/* The signer for dir/rsa.pem (selector r1) and dir/ed.pem (e1) with
 * From: `from`; *records is the DKIM_QUERY_FILE file (caller frees). */
static struct herald_dkim *
dkim_test_keys(const char *dir, const char *from, char **records)
{
	char *rsa = xasprintf("%s/rsa.pem", dir);
	char *ed = xasprintf("%s/ed.pem", dir);
	char *cfgp = xasprintf("%s/herald.yml", dir);
	char *cmd;
	struct herald_config cfg;
	struct herald_dkim *d = NULL;
	struct herald_err e = {0};
	FILE *f;

	cmd = xasprintf("openssl genpkey -algorithm RSA -pkeyopt "
	    "rsa_keygen_bits:2048 -out %s 2>/dev/null && openssl genpkey "
	    "-algorithm ed25519 -out %s 2>/dev/null && chmod 600 %s %s",
	    rsa, ed, rsa, ed);
	if (system(cmd) != 0) {
		printf("skipped: openssl genpkey failed\n");
		exit(77);
	}
	free(cmd);
	f = fopen(cfgp, "w");
	if (f == NULL) {
		fprintf(stderr, "cannot write %s\n", cfgp);
		exit(1);
	}
	fprintf(f, "site:\n  base_url: https://blog.example.org\n"
	    "from: '%s'\n"
	    "unsubscribe:\n  url: https://example.org/u\n"
	    "dkim:\n  - selector: r1\n    key_file: rsa.pem\n"
	    "  - selector: e1\n    domain: example.org\n    key_file: ed.pem\n",
	    from);
	fclose(f);
	if (herald_config_load(cfgp, &cfg, &e) != 0 ||
	    herald_dkim_open(&cfg, &d, &e) != 0) {
		fprintf(stderr, "FAIL: config or dkim open: %s\n", e.msg);
		exit(1);
	}
	herald_config_free(&cfg);
	*records = xasprintf("%s/keys.txt", dir);
	f = fopen(*records, "w");
	if (f == NULL) {
		fprintf(stderr, "cannot write %s\n", *records);
		exit(1);
	}
	for (size_t i = 0; i < herald_dkim_nkeys(d); i++) {
		struct herald_dkim_info in;

		herald_dkim_info(d, i, &in);
		fprintf(f, "%s %s\n", in.dns_name, in.record);
		free(in.record);
		free(in.dns_name);
	}
	fclose(f);
	free(rsa);
	free(ed);
	free(cfgp);
	return d;
}

/* Signatures of msg that libopendkim passes (header and body hash), -1
 * when it cannot start; *nsigs (may be NULL): signatures it found. */
static int
dkim_test_verified(const char *records, const struct hbuf *msg, int *nsigs)
{
	DKIM_LIB *lib = dkim_init(NULL, NULL);
	DKIM_STAT st;
	DKIM *v;
	DKIM_SIGINFO **sigs = NULL;
	int n = 0, ok = 0;
	unsigned int method = DKIM_QUERY_FILE;

	if (nsigs)
		*nsigs = 0;
	dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYMETHOD, &method,
	    sizeof(method));
	dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYINFO,
	    (void *)records, strlen(records));
	v = dkim_verify(lib, (const unsigned char *)"t", NULL, &st);
	if (v == NULL) {
		dkim_close(lib);
		return -1;
	}
	dkim_chunk(v, (unsigned char *)msg->data, msg->len);
	dkim_chunk(v, NULL, 0);
	(void)dkim_eom(v, NULL);
	if (dkim_getsiglist(v, &sigs, &n) == DKIM_STAT_OK) {
		if (nsigs)
			*nsigs = n;
		for (int i = 0; i < n; i++) {
			(void)dkim_sig_process(v, sigs[i]);
			if (DKIM_SIG_CHECK(sigs[i]))
				ok++;
			else if (getenv("HERALD_TEST_VERBOSE"))
				fprintf(stderr, "sig %d: %s\n", i,
				    dkim_sig_geterrorstr(dkim_sig_geterror(
				    sigs[i])));
		}
	}
	dkim_free(v);
	dkim_close(lib);
	return ok;
}

#endif
