/*
 * fuzz_token.c - the unsubscribe token verifier: any text given to
 * herald_token_verify or herald_token_find must be handled (no crash, no
 * leak), and a forged token must not verify.  The input also round-trips:
 * split at the first NUL into (list, address), a token made for it must
 * verify to exactly that list and the lower-cased address.
 */
#include "fuzz_util.h"

#include <ctype.h>

#include "token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct herald_tokens *toks;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xmalloc(size + 1), *list = NULL, *addr = NULL;
	const char *l, *a;

	if (toks == NULL) {
		static const unsigned char keys[2][HERALD_TOKEN_KEYLEN] = {
			{ 1, 2, 3 }, { 9, 8, 7 } };
		toks = herald_tokens_from_keys(keys, 2);
	}
	memcpy(s, data, size);
	s[size] = '\0';
	/* whatever text: verified tokens are only those herald made, and
	 * fuzzed bytes never are (the chance is 2^-128) */
	if (herald_token_verify(toks, s, &list, &addr)) {
		fprintf(stderr, "fuzz: a token nobody made verified\n");
		abort();
	}
	if (herald_token_find(toks, s, &list, &addr)) {
		fprintf(stderr, "fuzz: found a token nobody made\n");
		abort();
	}
	/* round trip */
	l = s;
	a = memchr(data, '\0', size) ? s + strlen(s) + 1 : "ann@example.org";
	/* herald makes tokens for list rows: a non-empty address */
	if (a[0] != '\0' && strlen(a) < 300 && strlen(l) < 100) {
		char *tok = herald_token_make(toks, l, a);

		if (tok != NULL) {
			char *low = xstrdup(a);

			for (char *p = low; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			if (!herald_token_verify(toks, tok, &list, &addr) ||
			    strcmp(list ? list : "", l) != 0 ||
			    strcmp(addr, low) != 0) {
				fprintf(stderr, "fuzz: token round trip failed\n");
				abort();
			}
			free(list);
			free(addr);
			free(low);
			free(tok);
		}
	}
	free(s);
	return 0;
}
