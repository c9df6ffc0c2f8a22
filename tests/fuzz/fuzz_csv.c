/*
 * fuzz_csv.c - a subscriber list (RFC 4180 CSV) through the reader and the
 * validator (addresses, zones, locales, duplicates).
 */
#include "fuzz_util.h"

#include "list.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file("l.csv", NULL, data, size);
	struct herald_list *l = NULL;
	struct herald_recipient r;
	struct herald_list_stats st;
	struct herald_err e = {0};
	int n = 0;

	if (herald_list_open(path, &l, &e) == 0) {
		while (herald_list_next(l, &r, &e) == 0 && n++ < 100000)
			;
		herald_list_close(l);
	}
	(void)herald_list_validate(path, &st, NULL, NULL, &e);
	return 0;
}
