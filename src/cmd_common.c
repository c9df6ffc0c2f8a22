/*
 * cmd_common.c - what the subcommands share: printing errors and warnings.
 */
#include <stdio.h>

#include "campaign.h"
#include "cmd.h"
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
