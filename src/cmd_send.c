/* cmd_send.c - placeholder until the delivery work lands. */
#include <stdio.h>
#include <sysexits.h>
#include "cmd.h"

int
herald_cmd_send(int argc, char **argv)
{
	(void)argc, (void)argv;
	fputs("herald: send: not built yet\n", stderr);
	return EX_SOFTWARE;
}

int
herald_cmd_status(int argc, char **argv)
{
	(void)argc, (void)argv;
	fputs("herald: status: not built yet\n", stderr);
	return EX_SOFTWARE;
}
