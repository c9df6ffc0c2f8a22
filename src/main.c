/*
 * main.c - the herald command line: dispatch to a subcommand.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cmd.h"

static const char usage[] =
"usage: herald COMMAND [options]\n"
"\n"
"Turn a blog post into a newsletter: one MIME message per subscriber,\n"
"session times in each subscriber's own time zone and language.\n"
"\n"
"commands:\n"
"  check   POST [--list LIST] [--date YYYY-MM-DD] [--strict]\n"
"          validate post, config, templates and list; print what was found\n"
"  preview POST [--list LIST] [--out DIR] [--mbox FILE|-] [--date YYYY-MM-DD]\n"
"          write every message to DIR (default out/) or one mbox instead\n"
"          of sending\n"
"  send    POST --list LIST [--to ADDRESS [--as ROW-ADDRESS]] [--concurrency N]\n"
"          [--rate N/s] [--shard K/N] [--allow-past] [--force] [--strict]\n"
"          [--date YYYY-MM-DD]\n"
"          deliver over SMTP, journaled; rerun to resume\n"
"  status  POST --list LIST [--shard K/N] [--sent] [--all] [--json]\n"
"          what a send has done so far\n"
"  unsubscribe --list LIST (ADDRESS... | --token TOKEN | --list-suppressed\n"
"          | --export FILE | --import FILE | --resubscribe ADDRESS...)\n"
"          suppress readers for every campaign of LIST; show, export, import\n"
"  serve   [--listen ADDR:PORT] [--rate N]\n"
"          answer the List-Unsubscribe link (one-click, RFC 8058)\n"
"  inbox   --list LIST MAILDIR|MBOX\n"
"          read bounce reports and mailed unsubscribe requests\n"
"\n"
"Every command takes --help and --config FILE (default ./herald.yml).\n"
"See herald(1).\n";

static const struct {
	const char *name;
	int (*fn)(int, char **);
} cmds[] = {
	{ "check", herald_cmd_check },
	{ "preview", herald_cmd_preview },
	{ "send", herald_cmd_send },
	{ "status", herald_cmd_status },
	{ "unsubscribe", herald_cmd_unsubscribe },
	{ "serve", herald_cmd_serve },
	{ "inbox", herald_cmd_inbox },
};

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("herald %s\n", HERALD_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "herald: unknown command '%s' (try herald --help)\n",
	    argv[1]);
	return EX_USAGE;
}
