/* main.c - the herald command line (placeholder). */
#include <stdio.h>
int
main(void)
{
	puts("herald " HERALD_VERSION);
	return 0;
}
