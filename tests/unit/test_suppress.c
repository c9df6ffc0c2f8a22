/*
 * test_suppress.c - the suppression store: one record per (list, address)
 * whatever the case, the first reason kept, lists kept apart, 4.x.x
 * reports suppressing only from the third campaign, handled mail
 * remembered, CSV export and import round trip (all or nothing); and the
 * DSN reader on a small hand-written RFC 3464 report.
 */
#include "harness.h"
#include "dsn.h"
#include "suppress.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/herald-test-suppress-XXXXXX";

static int
count_row(void *arg, const struct herald_suppression *r)
{
	(void)r;
	(*(int *)arg)++;
	return 0;
}

static int
count(struct herald_suppress *s, const char *list)
{
	int n = 0;

	herald_suppress_each(s, list, count_row, &n, NULL);
	return n;
}

static void
test_store(void)
{
	struct herald_suppress *s = NULL;
	struct herald_err e = {0};
	int n = 0;

	INT_EQ(herald_suppress_open(dir, false, &s, &e), 0, "open: %s", e.msg);
	INT_EQ(herald_suppress_add(s, "news", "Ann@Example.org", "one-click",
	    NULL, "", 0, &e), 0, "add");
	INT_EQ(herald_suppress_add(s, "news", "ann@example.org", "bounce",
	    "x@y", "5.1.1", 0, &e), 1, "same address, other case: already");
	OK(herald_suppress_has(s, "news", "ANN@EXAMPLE.ORG"), "has, any case");
	OK(!herald_suppress_has(s, "other", "ann@example.org"), "lists apart");
	OK(herald_suppress_add(s, "news", "not an address", "manual", NULL,
	    "", 0, &e) == EX_DATAERR, "bad address refused");
	INT_EQ(count(s, "news"), 1, "one row");
	INT_EQ(herald_suppress_remove(s, "news", "ann@example.org", &e), 0,
	    "remove");
	INT_EQ(herald_suppress_remove(s, "news", "ann@example.org", &e), 1,
	    "remove again");
	OK(!herald_suppress_has(s, "news", "ann@example.org"), "gone");

	/* soft bounces: once per campaign; the third campaign suppresses */
	INT_EQ(herald_suppress_soft(s, "news", "bob@example.org", "c1", "4.2.2",
	    &n, &e), 0, "soft c1");
	INT_EQ(n, 1, "1 campaign");
	INT_EQ(herald_suppress_soft(s, "news", "bob@example.org", "c1", "4.2.2",
	    &n, &e), 1, "soft c1 again: already counted");
	INT_EQ(herald_suppress_soft(s, "news", "bob@example.org", "c2", "4.2.2",
	    &n, &e), 0, "soft c2");
	OK(!herald_suppress_has(s, "news", "bob@example.org"),
	    "two campaigns do not suppress");
	INT_EQ(herald_suppress_soft(s, "news", "bob@example.org", "c3", "4.4.1",
	    &n, &e), 2, "soft c3 suppresses");
	INT_EQ(n, 3, "3 campaigns");
	OK(herald_suppress_has(s, "news", "bob@example.org"), "suppressed");

	{
		struct herald_supset *set = NULL;
		INT_EQ(herald_suppress_snapshot(s, "news", &set, &e), 0, "snapshot");
		OK(herald_supset_has(set, "Bob@Example.ORG"), "snapshot: any case");
		OK(!herald_supset_has(set, "ann@example.org"), "snapshot: removed");
		OK(!herald_supset_has(set, "bob@example.org.x"), "snapshot: exact");
		/* RFC 5321 4.1.2: "bob" and bob are one local part; the
		 * journal keys them as one (addr.h), so must suppressions. */
		OK(herald_supset_has(set, "\"bob\"@example.org"),
		    "snapshot: needless quotes");
		herald_supset_free(set);
	}
	INT_EQ(herald_suppress_add(s, "news", "\"Cy\"@Example.org", "manual",
	    NULL, "", 0, &e), 0, "add quoted");
	OK(herald_suppress_has(s, "news", "cy@example.org"), "quoted = plain");
	INT_EQ(herald_suppress_add(s, "news", "cy@example.org", "manual",
	    NULL, "", 0, &e), 1, "plain after quoted: already");
	{
		struct herald_supset *set = NULL;
		INT_EQ(herald_suppress_snapshot(s, "news", &set, &e), 0, "snapshot");
		OK(herald_supset_has(set, "CY@example.org"), "snapshot: unquoted");
		herald_supset_free(set);
		INT_EQ(herald_suppress_remove(s, "news", "cy@example.org", &e),
		    0, "remove quoted by plain");
	}
	OK(!herald_suppress_seen(s, "news", "k1"), "not seen");
	INT_EQ(herald_suppress_mark_seen(s, "news", "k1", &e), 0, "mark");
	OK(herald_suppress_seen(s, "news", "k1"), "seen");
	OK(!herald_suppress_seen(s, "other", "k1"), "seen per list");
	herald_suppress_close(s);
}

static void
test_csv(void)
{
	struct herald_suppress *s = NULL;
	struct herald_err e = {0};
	struct hbuf b = HBUF_INIT;
	size_t added, already;
	char *path = xasprintf("%s/in.csv", dir);
	char *bad = xasprintf("%s/bad.csv", dir);

	herald_suppress_open(dir, false, &s, &e);
	herald_suppress_add(s, "csv", "q@example.org", "manual", "m@x",
	    "said \"stop\", twice", 1700000000, &e);
	herald_suppress_export(s, "csv", &b, &e);
	STR_EQ(hbuf_cstr(&b), "email,list,at,why,message_id,detail\r\n"
	    "q@example.org,csv,2023-11-14T22:13:20Z,manual,m@x,"
	    "\"said \"\"stop\"\", twice\"\r\n", "export (RFC 4180 quoting)");
	write_file_atomic(path, b.data, b.len, &e);
	INT_EQ(herald_suppress_import(s, "csv2", path, &added, &already, &e), 0,
	    "import: %s", e.msg);
	INT_EQ(added, 1, "imported");
	hbuf_reset(&b);
	herald_suppress_export(s, "csv2", &b, &e);
	OK(strstr(hbuf_cstr(&b), "q@example.org,csv2,2023-11-14T22:13:20Z,"
	    "manual,m@x,\"said \"\"stop\"\", twice\"") != NULL,
	    "round trip keeps when, why, message and detail: %s", hbuf_cstr(&b));
	write_file_atomic(bad, "email\nok@example.org\nnot-an-address\n", 35, &e);
	OK(herald_suppress_import(s, "csv3", bad, &added, &already, &e) ==
	    EX_DATAERR, "a bad row fails the import");
	INT_EQ(e.line, 3, "naming its line");
	INT_EQ(count(s, "csv3"), 0, "all or nothing");
	herald_suppress_close(s);
	hbuf_free(&b);
	free(path);
	free(bad);
}

static void
test_dsn(void)
{
	static const char msg[] =
	    "From: MAILER-DAEMON@mx.example.net\r\n"
	    "To: news@example.org\r\n"
	    "Subject: Returned mail\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	    " boundary=\"b1\"\r\n"
	    "\r\n"
	    "--b1\r\n"
	    "Content-Type: text/plain\r\n"
	    "\r\n"
	    "Two recipients failed.\r\n"
	    "--b1\r\n"
	    "Content-Type: message/delivery-status\r\n"
	    "\r\n"
	    "Reporting-MTA: dns; mx.example.net\r\n"
	    "\r\n"
	    "Final-Recipient: RFC822; <gone@example.net>\r\n"
	    "Action: failed\r\n"
	    "Status: 5.1.1 (mailbox unknown)\r\n"
	    "Diagnostic-Code: smtp; 550 5.1.1 no such\r\n"
	    "  user here\r\n"
	    "\r\n"
	    "Original-Recipient: rfc822;full@example.net\r\n"
	    "Action: delayed\r\n"
	    "Status: 4.2.2\r\n"
	    "\r\n"
	    "--b1\r\n"
	    "Content-Type: text/rfc822-headers\r\n"
	    "\r\n"
	    "Message-ID: <abc.def@example.org>\r\n"
	    "List-Unsubscribe: <https://example.org/u?token=T>\r\n"
	    "\r\n"
	    "--b1--\r\n";
	struct herald_inmail m;

	INT_EQ(herald_dsn_parse(msg, sizeof(msg) - 1, &m, NULL), 0, "parse");
	OK(m.is_dsn, "a delivery-status report");
	INT_EQ(m.nrcpts, 2, "two recipients");
	if (m.nrcpts == 2) {
		STR_EQ(m.rcpts[0].addr, "gone@example.net", "Final-Recipient");
		STR_EQ(m.rcpts[0].action, "failed", "action");
		STR_EQ(m.rcpts[0].status, "5.1.1", "status without comment");
		OK(strstr(m.rcpts[0].diag, "user here") != NULL, "folded diag");
		STR_EQ(m.rcpts[1].addr, "full@example.net", "Original-Recipient");
		STR_EQ(m.rcpts[1].status, "4.2.2", "4.x.x");
	}
	STR_EQ(m.orig_message_id, "abc.def@example.org", "original Message-ID");
	STR_EQ(m.orig_list_unsub, "<https://example.org/u?token=T>",
	    "original List-Unsubscribe");
	STR_EQ(m.subject, "Returned mail", "subject");
	herald_inmail_free(&m);

	INT_EQ(herald_dsn_parse("Subject: =?utf-8?q?unsubscribe_X?=\r\n\r\nhi\r\n",
	    41, &m, NULL), 0, "plain mail");
	OK(!m.is_dsn, "not a report");
	STR_EQ(m.subject, "unsubscribe X", "RFC 2047 subject decoded");
	herald_inmail_free(&m);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	test_store();
	test_csv();
	test_dsn();
	{
		char *cmd = xasprintf("rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
		free(cmd);
	}
	return harness_done();
}
