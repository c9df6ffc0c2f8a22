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
/* s as a JSON string, quoted, on stdout. */
void herald_cmd_json_str(const char *s);
void herald_cmd_warn(void *arg, const char *file, int line, const char *msg);
/* A list row that is wrong: "herald: FILE:LINE: msg" (not a warning). */
void herald_cmd_error(void *arg, const char *file, int line, const char *msg);
/* getopt_long (optstring starting with ':', opterr 0) returned ch ('?' or
 * ':'): one line saying what was wrong, with the closest option for a
 * mistyped one ("did you mean --list?").  Returns EX_USAGE. */
struct option;
int herald_cmd_badopt(const char *cmd, const struct option *opts,
    char **argv, int ch);
/* "herald: CMD: WHAT is missing" on one line; returns EX_USAGE. */
int herald_cmd_missing(const char *cmd, const char *what);
/* Warn about every clock-like phrase the post leaves as written; with
 * strict, return EX_DATAERR when there is any (after naming them all). */
struct herald_campaign;
int herald_cmd_unconverted(const struct herald_campaign *c, bool strict);
/* A warning for each undefined link reference in the post. */
void herald_cmd_unresolved(const struct herald_campaign *c);
/* A warning when a reader's HTML part is long enough for Gmail to clip
 * the message (clip.h). */
struct herald_clip;
void herald_cmd_clip(const struct herald_campaign *c,
    const struct herald_clip *k);

#endif
