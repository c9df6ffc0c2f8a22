/*
 * cmd_common.c - what the subcommands share: printing errors and warnings.
 */
#include <stdio.h>

#include "cmd.h"
#include "util.h"

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
