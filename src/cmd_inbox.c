/*
 * cmd_inbox.c - `herald inbox`: bounce reports and mailed unsubscribe
 * requests from a Maildir or an mbox into the list's suppressions.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "config.h"
#include "inbox.h"
#include "suppress.h"
#include "token.h"

static const char inbox_usage[] =
"usage: herald inbox --list LIST [--config FILE] MAILDIR|MBOX\n"
"\n"
"Read the mail that came back to the sender: delivery status reports\n"
"(RFC 3464) and unsubscribe requests mailed to unsubscribe.mailto.  A\n"
"permanent failure (5.x.x) suppresses the reader; a temporary one (4.x.x)\n"
"is counted and suppresses after 3 campaigns; a request carrying a valid\n"
"token suppresses its reader.  Prints what it did.  Mail already read by\n"
"an earlier run is skipped, so running it again changes nothing.\n"
"\n"
"  -l, --list LIST     the list (lists/NAME.csv or NAME)\n"
"  -c, --config FILE   configuration (default: ./herald.yml)\n"
"  -h, --help          this text\n";

struct tally {
	size_t mails, suppressed, was, soft, seen, other, ignored;
};

static void
report(void *arg, const struct herald_inbox_event *ev)
{
	struct tally *t = arg;

	t->mails++;
	switch (ev->what) {
	case HERALD_INBOX_SUPPRESSED:
		t->suppressed++;
		printf("suppressed %s (%s: %s)\n", ev->addr, ev->why, ev->detail);
		break;
	case HERALD_INBOX_WAS_SUPPRESSED:
		t->was++;
		printf("already suppressed %s (%s: %s)\n", ev->addr, ev->why,
		    ev->detail);
		break;
	case HERALD_INBOX_SOFT:
		t->soft++;
		printf("counted %s (temporary failure %s; %d of %d campaigns)\n",
		    ev->addr, ev->detail, ev->campaigns, HERALD_SOFT_BOUNCE_LIMIT);
		break;
	case HERALD_INBOX_SEEN:
		t->seen++;
		break;
	case HERALD_INBOX_OTHER_LIST:
		t->other++;
		printf("skipped %s (about another list)\n", ev->addr);
		break;
	case HERALD_INBOX_IGNORED:
		t->ignored++;
		break;
	case HERALD_INBOX_UNPROVEN:
		t->ignored++;
		printf("ignored %s (%s)\n", ev->mail, ev->detail);
		break;
	}
}

int
herald_cmd_inbox(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "list", required_argument, NULL, 'l' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *list_arg = NULL, *config = NULL;
	struct herald_config cfg = {0};
	struct herald_tokens *tok = NULL;
	struct herald_suppress *s = NULL;
	struct herald_err e = {0};
	struct tally t = {0};
	char *list = NULL;
	int ch, rc;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":l:c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'l': list_arg = optarg; break;
		case 'c': config = optarg; break;
		case 'h': fputs(inbox_usage, stdout); return 0;
		default: return herald_cmd_badopt("inbox", opts, argv, ch);
		}
	}
	if (list_arg == NULL)
		return herald_cmd_missing("inbox", "--list LIST (whose mail "
		    "this is)");
	if (optind == argc)
		return herald_cmd_missing("inbox", "the Maildir or mbox "
		    "(herald inbox --list LIST MAILDIR|MBOX)");
	if (optind != argc - 1) {
		fprintf(stderr, "herald: inbox: one Maildir or mbox at a time, "
		    "not also \"%.200s\"\n", argv[optind + 1]);
		return EX_USAGE;
	}
	if ((rc = herald_config_load(config, &cfg, &e)) != 0)
		return herald_cmd_fail(&e);
	list = herald_suppress_list_name(list_arg);
	if ((rc = herald_tokens_open(cfg.state_dir, false, &tok, &e)) == 0 &&
	    (rc = herald_suppress_open(cfg.state_dir, false, &s, &e)) == 0)
		rc = herald_inbox_read(argv[optind], list, tok, s, report, &t, &e);
	if (rc == 0)
		printf("%s: %zu mail%s: %zu suppressed, %zu already were, %zu "
		    "temporary failure%s counted, %zu read before, %zu about "
		    "other lists, %zu neither report nor request\n", list,
		    t.mails, t.mails == 1 ? "" : "s", t.suppressed, t.was,
		    t.soft, t.soft == 1 ? "" : "s", t.seen, t.other, t.ignored);
	else
		herald_cmd_fail(&e);
	herald_suppress_close(s);
	herald_tokens_free(tok);
	herald_config_free(&cfg);
	free(list);
	return rc;
}
