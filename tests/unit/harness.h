/*
 * harness.h - a tiny unit-test harness: OK, INT_EQ, STR_EQ and a summary.
 * A test file defines its cases as functions and calls them from main,
 * ending with `return harness_done();`.
 */
#ifndef HERALD_HARNESS_H
#define HERALD_HARNESS_H

#include <stdio.h>
#include <string.h>

static int harness_failed, harness_run;

#define OK(cond, ...) do { \
	harness_run++; \
	if (!(cond)) { \
		harness_failed++; \
		fprintf(stderr, "%s:%d: FAIL: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
	} \
} while (0)

#define INT_EQ(got, want, ...) do { \
	long long g_ = (long long)(got), w_ = (long long)(want); \
	harness_run++; \
	if (g_ != w_) { \
		harness_failed++; \
		fprintf(stderr, "%s:%d: FAIL: got %lld, want %lld: ", \
		    __FILE__, __LINE__, g_, w_); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
	} \
} while (0)

#define STR_EQ(got, want, ...) do { \
	const char *g_ = (got), *w_ = (want); \
	harness_run++; \
	if (g_ == NULL || w_ == NULL ? g_ != w_ : strcmp(g_, w_) != 0) { \
		harness_failed++; \
		fprintf(stderr, "%s:%d: FAIL:\n  got:  \"%s\"\n  want: \"%s\"\n  ", \
		    __FILE__, __LINE__, g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
	} \
} while (0)

static int
harness_done(void)
{
	fprintf(stderr, "%d checks, %d failed\n", harness_run, harness_failed);
	return harness_failed ? 1 : 0;
}

#endif
