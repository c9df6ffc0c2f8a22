/*
 * cmd.h - the herald subcommands.  Each parses its own options, prints
 * results on stdout and errors as "herald: FILE:LINE: text" on stderr, and
 * returns a sysexits.h exit code.
 */
#ifndef HERALD_CMD_H
#define HERALD_CMD_H

#include <stdbool.h>

int herald_cmd_check(int argc, char **argv);
int herald_cmd_preview(int argc, char **argv);
int herald_cmd_send(int argc, char **argv);
int herald_cmd_status(int argc, char **argv);
int herald_cmd_unsubscribe(int argc, char **argv);
int herald_cmd_serve(int argc, char **argv);
int herald_cmd_inbox(int argc, char **argv);

/* Shared by the commands (cmd_common.c). */
struct herald_err;
int herald_cmd_fail(const struct herald_err *e);   /* print e, return e->code */
void herald_cmd_warn(void *arg, const char *file, int line, const char *msg);
/* Warn about every clock-like phrase the post leaves as written; with
 * strict, return EX_DATAERR when there is any (after naming them all). */
struct herald_campaign;
int herald_cmd_unconverted(const struct herald_campaign *c, bool strict);

#endif
