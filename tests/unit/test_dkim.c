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

#include "dkim_keys.h"

static char tmpdir[] = "/tmp/herald-test-dkim.XXXXXX";

static void
clean_tmpdir(void)
{
	static const char *const files[] = { "rsa.pem", "ed.pem", "herald.yml" };

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *p = xasprintf("%s/%s", tmpdir, files[i]);

		unlink(p);
		free(p);
	}
}

static void
test_verify(void)
{
	char *keys = NULL;
	struct herald_dkim *d;
	struct herald_err e = {0};
	struct herald_mail m = {0};
	struct hbuf msg = HBUF_INIT, bad = HBUF_INIT;
	time_t now;
	int n, rc;

	d = dkim_test_keys(tmpdir, "\"Caf\xc3\xa9 WG\" <news@example.org>", &keys);
	INT_EQ(herald_dkim_nkeys(d), 2, "two keys");

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

	INT_EQ(dkim_test_verified(keys, &msg, &n), 2, "libopendkim passes both "
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
	INT_EQ(dkim_test_verified(keys, &bad, &n), 0, "changed Subject fails");
	hbuf_reset(&bad);
	hbuf_put(&bad, msg.data, msg.len);
	hbuf_puts(&bad, "appended\r\n");
	INT_EQ(dkim_test_verified(keys, &bad, &n), 0, "appended body fails");

	hbuf_free(&msg);
	hbuf_free(&bad);
	herald_dkim_free(d);
	unlink(keys);
	free(keys);
	clean_tmpdir();
}

/*
 * Bodies that are, and are not, relaxed-canonical as they stand (dkim.c
 * hashes the first kind in place and canonicalises the second), signed
 * raw and verified by libopendkim, the independent reading of RFC 6376
 * 3.4.4.  Each must pass; a changed body must fail.  They are CRLF
 * throughout and end in CRLF, as every message herald signs is (mime.c
 * builds CRLF and quoted-printable; a bare CR or LF would be made CRLF
 * by smtp.c after signing, which no signer can allow for).
 */
static void
test_bodies(void)
{
	static const char *bodies[] = {
		"plain text\r\nand more\r\n",             /* in place */
		"ends with empty lines\r\n\r\n\r\n\r\n",   /* in place */
		"\r\n\r\n\r\n",                           /* only empty lines */
		"\r\n",
		"",
		" leading space kept\r\n",
		"two  spaces\r\n",
		"trailing space \r\n",
		"tab\there\r\n",
		"trailing tab\t\r\n",
		"   \r\nline of spaces above\r\n",
		"cr before crlf\r\r\n",
		"exactly sixteen.\r\nthen a tab after 16\t\r\n",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
		    "abcdef 0123456789abcdef0123456789abcdef  double at 125\r\n",
		".dot line\r\n..two\r\n",
	};
	char *keys = NULL;
	struct herald_dkim *d;
	struct herald_err e = {0};

	d = dkim_test_keys(tmpdir, "news@example.org", &keys);
	herald_dkim_fix_time(d, time(NULL));
	for (size_t i = 0; i < sizeof(bodies) / sizeof(*bodies); i++) {
		struct hbuf msg = HBUF_INIT;
		int n, rc;

		hbuf_puts(&msg, "From: news@example.org\r\n"
		    "To: zoe@example.net\r\nSubject: body case\r\n"
		    "Date: Thu, 21 Mar 2030 10:00:00 +0000\r\n"
		    "Message-ID: <b@example.org>\r\n\r\n");
		hbuf_puts(&msg, bodies[i]);
		rc = herald_dkim_sign(d, &msg, &e);
		INT_EQ(rc, 0, "sign body %zu: %s", i, e.msg);
		INT_EQ(dkim_test_verified(keys, &msg, &n), 2,
		    "libopendkim passes both signatures of body %zu \"%s\"",
		    i, bodies[i]);
		hbuf_puts(&msg, "x\r\n");
		INT_EQ(dkim_test_verified(keys, &msg, &n), 0,
		    "body %zu with a line appended fails", i);
		hbuf_free(&msg);
	}
	herald_dkim_free(d);
	unlink(keys);
	free(keys);
	clean_tmpdir();
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	test_verify();
	test_bodies();
	rmdir(tmpdir);
	return harness_done();
}
