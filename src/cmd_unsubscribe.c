/*
 * cmd_unsubscribe.c - `herald unsubscribe`: suppress addresses by hand or by
 * token, list the suppressions, move them as CSV, let a reader back in.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "config.h"
#include "addr.h"
#include "suppress.h"
#include "token.h"

static const char unsubscribe_usage[] =
"usage: herald unsubscribe --list LIST ADDRESS...\n"
"       herald unsubscribe [--list LIST] --token TOKEN\n"
"       herald unsubscribe --list LIST --list-suppressed [--json]\n"
"       herald unsubscribe --list LIST --export FILE|-\n"
"       herald unsubscribe --list LIST --import FILE\n"
"       herald unsubscribe --list LIST --resubscribe ADDRESS...\n"
"\n"
"Suppress addresses for every campaign of LIST (kept in\n"
".herald/suppressions.sqlite): `preview` and `send` skip them from now on.\n"
"\n"
"  -l, --list LIST        the list (lists/NAME.csv or NAME)\n"
"  -t, --token TOKEN      the token of an unsubscribe link (names its list)\n"
"  -s, --list-suppressed  show who is suppressed, when, why, from which message\n"
"  -j, --json             with --list-suppressed: machine-readable output\n"
"  -e, --export FILE      write the suppressions as CSV (- for stdout)\n"
"  -i, --import FILE      add the suppressions of a CSV (column email;\n"
"                         at, why, message_id, detail used when present)\n"
"  -r, --resubscribe      remove the ADDRESSes' suppressions (they asked back)\n"
"  -c, --config FILE      configuration (default: ./herald.yml)\n"
"  -h, --help             this text\n";

struct show {
	bool json;
	size_t n;
};

static int
show_row(void *arg, const struct herald_suppression *r)
{
	struct show *w = arg;
	char when[32];
	time_t t = (time_t)r->at;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (w->json) {
		printf("%s\n  {\"email\": ", w->n ? "," : "");
		herald_cmd_json_str(r->addr);
		printf(", \"at\": \"%s\", \"why\": ", when);
		herald_cmd_json_str(r->why);
		printf(", \"message_id\": ");
		herald_cmd_json_str(r->message_id);
		printf(", \"detail\": ");
		herald_cmd_json_str(r->detail);
		printf("}");
	} else {
		printf("%s  %s  %s", r->addr, when, r->why);
		if (r->message_id[0])
			printf("  <%s>", r->message_id);
		if (r->detail[0])
			printf("  %s", r->detail);
		printf("\n");
	}
	w->n++;
	return 0;
}

int
herald_cmd_unsubscribe(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "list", required_argument, NULL, 'l' },
		{ "token", required_argument, NULL, 't' },
		{ "list-suppressed", no_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "export", required_argument, NULL, 'e' },
		{ "import", required_argument, NULL, 'i' },
		{ "resubscribe", no_argument, NULL, 'r' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *list_arg = NULL, *token = NULL, *config = NULL,
	    *export = NULL, *import = NULL;
	bool show = false, json = false, resub = false;
	struct herald_config cfg = {0};
	struct herald_suppress *s = NULL;
	struct herald_err e = {0};
	char *list = NULL;
	int ch, rc, modes;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":l:t:sje:i:rc:h", opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'l': list_arg = optarg; break;
		case 't': token = optarg; break;
		case 's': show = true; break;
		case 'j': json = true; break;
		case 'e': export = optarg; break;
		case 'i': import = optarg; break;
		case 'r': resub = true; break;
		case 'c': config = optarg; break;
		case 'h': fputs(unsubscribe_usage, stdout); return 0;
		default: return herald_cmd_badopt("unsubscribe", opts, argv, ch);
		}
	}
	modes = (token != NULL) + show + (export != NULL) + (import != NULL);
	if (modes > 1 || (resub && modes)) {
		fprintf(stderr, "herald: unsubscribe: --token, "
		    "--list-suppressed, --export, --import and --resubscribe "
		    "each go alone (see herald unsubscribe --help)\n");
		return EX_USAGE;
	}
	if (json && !show) {
		fprintf(stderr, "herald: unsubscribe: --json goes with "
		    "--list-suppressed\n");
		return EX_USAGE;
	}
	if (list_arg == NULL && token == NULL)
		return herald_cmd_missing("unsubscribe", "--list LIST (whose "
		    "subscribers these are)");
	if (modes == 0 && optind == argc)
		return herald_cmd_missing("unsubscribe", "the address (herald "
		    "unsubscribe --list LIST ADDRESS...)");
	if (modes == 1 && optind != argc) {
		fprintf(stderr, "herald: unsubscribe: unexpected argument "
		    "\"%.200s\" (addresses go without --token, "
		    "--list-suppressed, --export and --import)\n", argv[optind]);
		return EX_USAGE;
	}
	if ((rc = herald_config_load(config, &cfg, &e)) != 0)
		return herald_cmd_fail(&e);
	if (list_arg)
		list = herald_suppress_list_name(list_arg);
	if ((rc = herald_suppress_open(cfg.state_dir, show || export, &s,
	    &e)) != 0)
		goto fail;

	if (token) {
		struct herald_tokens *t = NULL;
		char *tl = NULL, *ta = NULL;

		if ((rc = herald_tokens_open(cfg.state_dir, false, &t, &e)) != 0)
			goto fail;
		if (!herald_token_verify(t, token, &tl, &ta)) {
			rc = herald_errf(&e, EX_DATAERR, NULL, 0, "--token: not a "
			    "token made with this site's secret (or one kept in "
			    ".herald/old-secrets/)");
		} else if (list && strcmp(list, tl) != 0) {
			rc = herald_errf(&e, EX_DATAERR, NULL, 0, "--token: the "
			    "token is for list \"%s\", not \"%s\"", tl, list);
		} else {
			rc = herald_suppress_add(s, tl, ta, "manual", NULL,
			    "herald unsubscribe --token", 0, &e);
			if (rc == 0 || rc == 1)
				printf("%s: %s %s\n", tl, ta, rc == 0 ?
				    "suppressed" : "was already suppressed");
			rc = rc == 1 ? 0 : rc;
		}
		free(tl);
		free(ta);
		herald_tokens_free(t);
	} else if (show) {
		struct show w = { .json = json };

		if (json) {
			printf("{\"list\": ");
			herald_cmd_json_str(list);
			printf(", \"suppressed\": [");
		}
		rc = herald_suppress_each(s, list, show_row, &w, &e);
		if (json)
			printf("%s]}\n", w.n ? "\n" : "");
	} else if (export) {
		struct hbuf b = HBUF_INIT;

		rc = herald_suppress_export(s, list, &b, &e);
		if (rc == 0 && strcmp(export, "-") == 0) {
			if (fwrite(b.data, 1, b.len, stdout) != b.len)
				rc = herald_errf(&e, EX_IOERR, "-", 0,
				    "cannot write");
		} else if (rc == 0)
			rc = write_file_atomic(export, b.data, b.len, &e);
		hbuf_free(&b);
	} else if (import) {
		size_t added, already;

		rc = herald_suppress_import(s, list, import, &added, &already,
		    &e);
		if (rc == 0)
			printf("%s: %zu suppressed, %zu already were\n", list,
			    added, already);
	} else {
		/* all or nothing: check every address first */
		for (int i = optind; i < argc; i++)
			if (!herald_addr_valid(argv[i])) {
				rc = herald_errf(&e, EX_DATAERR, NULL, 0,
				    "not an email address: \"%.200s\"", argv[i]);
				goto fail;
			}
		/* said only once committed: nothing is reported done that a
		 * failed commit undid */
		bool *changed = calloc((size_t)argc, sizeof(*changed));

		if (changed == NULL) {
			rc = herald_errf(&e, EX_OSERR, NULL, 0, "out of memory");
			goto fail;
		}
		if ((rc = herald_suppress_begin(s, &e)) != 0) {
			free(changed);
			goto fail;
		}
		for (int i = optind; rc == 0 && i < argc; i++) {
			rc = resub ? herald_suppress_remove(s, list, argv[i], &e) :
			    herald_suppress_add(s, list, argv[i], "manual", NULL,
			    "herald unsubscribe", 0, &e);
			changed[i] = rc == 0;
			rc = rc == 1 ? 0 : rc;
		}
		if (rc == 0)
			rc = herald_suppress_commit(s, &e);
		for (int i = optind; rc == 0 && i < argc; i++)
			printf("%s: %s %s\n", list, argv[i], resub ?
			    (changed[i] ? "resubscribed" : "was not suppressed") :
			    (changed[i] ? "suppressed" : "was already suppressed"));
		free(changed);
	}
fail:
	if (rc != 0)
		herald_cmd_fail(&e);
	herald_suppress_close(s);
	herald_config_free(&cfg);
	free(list);
	return rc;
}
