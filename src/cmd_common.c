/*
 * cmd_common.c - what the subcommands share: printing errors and warnings.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "campaign.h"
#include "clip.h"
#include "cmd.h"
#include "suggest.h"
#include "util.h"

int
herald_cmd_unconverted(const struct herald_campaign *c, bool strict)
{
	size_t n = herald_doc_nskipped(c->doc);

	for (size_t i = 0; i < n; i++) {
		const char *why;
		const struct herald_session *s = herald_doc_skipped(c->doc, i, &why);
		char msg[600];

		snprintf(msg, sizeof(msg), "\"%s\" left as written: %s",
		    s->orig, why);
		for (char *p = msg; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		if (strict)
			fprintf(stderr, "herald: %s:%d: %s\n", c->post.path,
			    s->line, msg);
		else
			herald_cmd_warn(NULL, c->post.path, s->line, msg);
	}
	if (strict && n > 0) {
		fprintf(stderr, "herald: %s: %zu clock-like phrase%s not "
		    "converted (--strict)\n", c->post.path, n, n == 1 ? "" : "s");
		return EX_DATAERR;
	}
	return 0;
}

void
herald_cmd_json_str(const char *p)
{
	putchar('"');
	for (; *p; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

int
herald_cmd_fail(const struct herald_err *e)
{
	char line[1200];

	herald_err_format(e, line, sizeof(line));
	fprintf(stderr, "%s\n", line);
	return e->code ? e->code : 1;
}

void
herald_cmd_warn(void *arg, const char *file, int line, const char *msg)
{
	(void)arg;
	if (file && line > 0)
		fprintf(stderr, "herald: %s:%d: warning: %s\n", file, line, msg);
	else if (file)
		fprintf(stderr, "herald: %s: warning: %s\n", file, msg);
	else
		fprintf(stderr, "herald: warning: %s\n", msg);
}

int
herald_cmd_badopt(const char *cmd, const struct option *opts, char **argv,
    int ch)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	const char *names[64];
	size_t n = 0;

	if (ch == ':') {
		/* a known option without its value */
		for (const struct option *o = opts; o->name; o++)
			if (o->val == optopt && optopt != 0) {
				fprintf(stderr, "herald: %s: --%s needs a value "
				    "(see herald %s --help)\n", cmd, o->name, cmd);
				return EX_USAGE;
			}
		fprintf(stderr, "herald: %s: %s needs a value (see herald %s "
		    "--help)\n", cmd, arg, cmd);
		return EX_USAGE;
	}
	if (optopt != 0 && strncmp(arg, "--", 2) != 0) {
		fprintf(stderr, "herald: %s: unknown option -%c (see herald %s "
		    "--help)\n", cmd, optopt, cmd);
		return EX_USAGE;
	}
	for (const struct option *o = opts; o->name && n < 64; o++)
		names[n++] = o->name;
	{
		char word[128];
		const char *eq = strchr(arg, '='), *best;

		snprintf(word, sizeof(word), "%.*s",
		    (int)(eq ? (size_t)(eq - arg) : strlen(arg)) - 2, arg + 2);
		best = strncmp(arg, "--", 2) == 0 ?
		    herald_suggest(word, names, n) : NULL;
		if (best)
			fprintf(stderr, "herald: %s: unknown option --%s; did you "
			    "mean --%s?\n", cmd, word, best);
		else
			fprintf(stderr, "herald: %s: unknown option %s (see herald "
			    "%s --help)\n", cmd, arg, cmd);
	}
	return EX_USAGE;
}

int
herald_cmd_missing(const char *cmd, const char *what)
{
	fprintf(stderr, "herald: %s: %s is missing (see herald %s --help)\n",
	    cmd, what, cmd);
	return EX_USAGE;
}

void
herald_cmd_error(void *arg, const char *file, int line, const char *msg)
{
	(void)arg;
	if (file && line > 0)
		fprintf(stderr, "herald: %s:%d: %s\n", file, line, msg);
	else if (file)
		fprintf(stderr, "herald: %s: %s\n", file, msg);
	else
		fprintf(stderr, "herald: %s\n", msg);
}

void
herald_cmd_unresolved(const struct herald_campaign *c)
{
	for (size_t i = 0; i < herald_doc_nunresolved(c->doc); i++) {
		int line;
		const char *ref = herald_doc_unresolved(c->doc, i, &line);
		const char *lab = strrchr(ref, '[');
		char msg[700];

		/* "[text][]" uses the text as its label */
		snprintf(msg, sizeof(msg), "link reference %s has no definition "
		    "(a line \"%.*s: URL\"); readers see it as written", ref,
		    lab && lab[1] == ']' ? (int)(lab - ref) : (int)strlen(lab ? lab : ref),
		    lab && lab[1] == ']' ? ref : (lab ? lab : ref));
		herald_cmd_warn(NULL, c->post.path, line, msg);
	}
}

void
herald_cmd_clip(const struct herald_campaign *c, const struct herald_clip *k)
{
	char msg[700];

	if (k->max <= HERALD_CLIP_BYTES || k->addr == NULL)
		return;
	snprintf(msg, sizeof(msg), "the HTML part for %s is %.1f KB (%zu "
	    "bytes); Gmail clips a message over %zu KB (\"[Message clipped]\") "
	    "and hides the rest of the post and the unsubscribe link; %zu "
	    "reader%s over", k->addr, (double)k->max / 1024, k->max,
	    HERALD_CLIP_BYTES / 1024, k->over, k->over == 1 ? " is" : "s are");
	herald_cmd_warn(NULL, c->post.path, 0, msg);
}
