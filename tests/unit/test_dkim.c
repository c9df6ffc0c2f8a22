/*
 * test_dkim.c - herald's DKIM signatures checked by libopendkim, the
 * reference implementation (DKIM_QUERY_FILE stands in for DNS): a message
 * from herald_mime_build, signed with an RSA 2048 and an Ed25519 key
 * (made by openssl genpkey), must carry two signatures that libopendkim
 * verifies, header and body hash; a changed Subject or body must fail
 * both.  Tags: relaxed/relaxed, no l=, From listed twice in h=.
 * Skipped (77) without openssl.
 */
#include "dkim.h"
#include "mime.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <opendkim/dkim.h>

static char tmpdir[] = "/tmp/herald-test-dkim.XXXXXX";

/* Signatures that libopendkim passes (header and body hash). */
static int
verified(const char *keyfile, const struct hbuf *msg, int *nsigs)
{
	DKIM_LIB *lib = dkim_init(NULL, NULL);
	DKIM_STAT st;
	DKIM *v;
	DKIM_SIGINFO **sigs = NULL;
	int n = 0, ok = 0;
	unsigned int method = DKIM_QUERY_FILE;

	*nsigs = 0;
	dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYMETHOD, &method,
	    sizeof(method));
	dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYINFO,
	    (void *)keyfile, strlen(keyfile));
	v = dkim_verify(lib, (const unsigned char *)"t", NULL, &st);
	if (v == NULL) {
		dkim_close(lib);
		return -1;
	}
	dkim_chunk(v, (unsigned char *)msg->data, msg->len);
	dkim_chunk(v, NULL, 0);
	(void)dkim_eom(v, NULL);
	if (dkim_getsiglist(v, &sigs, &n) == DKIM_STAT_OK) {
		*nsigs = n;
		for (int i = 0; i < n; i++) {
			(void)dkim_sig_process(v, sigs[i]);
			if (DKIM_SIG_CHECK(sigs[i]))
				ok++;
			else if (getenv("HERALD_TEST_VERBOSE"))
				fprintf(stderr, "sig %d: %s\n", i, dkim_sig_geterrorstr(
				    dkim_sig_geterror(sigs[i])));
		}
	}
	dkim_free(v);
	dkim_close(lib);
	return ok;
}

static void
test_verify(void)
{
	char *rsa = xasprintf("%s/rsa.pem", tmpdir);
	char *ed = xasprintf("%s/ed.pem", tmpdir);
	char *cfgp = xasprintf("%s/herald.yml", tmpdir);
	char *keys = xasprintf("%s/keys.txt", tmpdir);
	char *cmd;
	struct herald_config cfg;
	struct herald_dkim *d = NULL;
	struct herald_err e = {0};
	struct herald_mail m = {0};
	struct hbuf msg = HBUF_INIT, bad = HBUF_INIT;
	FILE *f;
	time_t now;
	int n, rc;

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
	fprintf(f, "site:\n  base_url: https://blog.example.org\n"
	    "from: '\"Caf\xc3\xa9 WG\" <news@example.org>'\n"
	    "unsubscribe:\n  url: https://example.org/u\n"
	    "dkim:\n  - selector: r1\n    key_file: rsa.pem\n"
	    "  - selector: e1\n    domain: example.org\n    key_file: ed.pem\n");
	fclose(f);
	rc = herald_config_load(cfgp, &cfg, &e);
	INT_EQ(rc, 0, "config: %s", e.msg);
	if (rc != 0)
		return;
	rc = herald_dkim_open(&cfg, &d, &e);
	INT_EQ(rc, 0, "dkim open: %s", e.msg);
	if (rc != 0)
		return;
	INT_EQ(herald_dkim_nkeys(d), 2, "two keys");
	/* the records, as DKIM_QUERY_FILE wants them: "NAME RECORD" */
	f = fopen(keys, "w");
	for (size_t i = 0; i < herald_dkim_nkeys(d); i++) {
		struct herald_dkim_info in;

		herald_dkim_info(d, i, &in);
		fprintf(f, "%s %s\n", in.dns_name, in.record);
		free(in.record);
		free(in.dns_name);
	}
	fclose(f);

	m.from_name = "Caf\xc3\xa9 WG";
	m.from_addr = "news@example.org";
	m.to_name = "Zo\xc3\xab  \"Z\" Ng";
	m.to_addr = "zoe@example.net";
	m.subject = "Office hours: \xe2\x80\x9c" "async\xe2\x80\x9d   edition";
	m.date = 1900000000;
	m.message_id = "abc.def@example.org";
	m.list_id = "Weekly <weekly.example.org>";
	m.list_unsubscribe = "<https://example.org/u?token=x>, "
	    "<mailto:u@example.org?subject=unsubscribe>";
	m.text = "Hello,  world \t\n\nline with trailing space   \n\n\n\n";
	m.text_len = strlen(m.text);
	m.html = "<p>Hello</p>\n";
	m.html_len = strlen(m.html);
	rc = herald_mime_build(&m, &msg, &e);
	INT_EQ(rc, 0, "mime: %s", e.msg);
	/* a t= in the future fails verification (clock drift): now */
	now = time(NULL);
	herald_dkim_fix_time(d, now);
	rc = herald_dkim_sign(d, &msg, &e);
	INT_EQ(rc, 0, "sign: %s", e.msg);

	INT_EQ(verified(keys, &msg, &n), 2, "libopendkim passes both "
	    "signatures (of %d)", n);
	INT_EQ(n, 2, "two signatures");
	OK(strstr(msg.data, "a=rsa-sha256;") != NULL, "an RSA signature");
	OK(strstr(msg.data, "a=ed25519-sha256;") != NULL, "an Ed25519 one");
	OK(strstr(msg.data, "c=relaxed/relaxed;") != NULL, "relaxed/relaxed");
	OK(strstr(msg.data, " l=") == NULL && strstr(msg.data, ";l=") == NULL,
	    "no l=");
	OK(strstr(msg.data, ":from;") != NULL, "From oversigned");
	{
		char t[32];

		snprintf(t, sizeof(t), "t=%lld;", (long long)now);
		OK(strstr(msg.data, t) != NULL, "t= fixed");
	}

	/* a changed header or body fails both */
	hbuf_put(&bad, msg.data, msg.len);
	{
		char *s = strstr(bad.data, "Subject: Office");
		if (s)
			s[9] = 'o';
	}
	INT_EQ(verified(keys, &bad, &n), 0, "changed Subject fails");
	hbuf_reset(&bad);
	hbuf_put(&bad, msg.data, msg.len);
	hbuf_puts(&bad, "appended\r\n");
	INT_EQ(verified(keys, &bad, &n), 0, "appended body fails");

	hbuf_free(&msg);
	hbuf_free(&bad);
	herald_dkim_free(d);
	herald_config_free(&cfg);
	unlink(rsa);
	unlink(ed);
	unlink(cfgp);
	unlink(keys);
	free(rsa);
	free(ed);
	free(cfgp);
	free(keys);
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	test_verify();
	rmdir(tmpdir);
	return harness_done();
}
