/*
 * fuzz_template.c - Mustache templates: compile, check against herald's
 * variables, render with values holding markup.  The first input byte
 * picks HTML or text escaping.  In HTML mode, a value's "<" must never
 * come out unescaped through {{var}}: the values hold "<x>" and the
 * template text is scanned for "<x>" first, so any "<x>" in the output
 * that the template did not write itself is an escaping failure.
 */
#include "fuzz_util.h"

#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const pk[] = { "title", "subject" };
	static const char *const sk[] = { "email", "name" };
	static const char *const rk[] = { "post", "subscriber", "content",
	    "list", "flag" };
	struct hval post[2], sub[2], items[2], root_items[5], root;
	struct herald_tpl *t = NULL;
	struct herald_err e = {0};
	struct hbuf out = HBUF_INIT;
	enum herald_tpl_escape esc;
	const char *src;
	size_t n;

	if (size == 0)
		return 0;
	esc = data[0] & 1 ? HERALD_TPL_HTML : HERALD_TPL_TEXT;
	src = (const char *)data + 1;
	n = size - 1;
	for (int i = 0; i < 2; i++) {
		post[i] = (struct hval){ .type = HVAL_STR, .s = "<x>&\"'" };
		sub[i] = (struct hval){ .type = HVAL_STR, .s = "a<x>b" };
		items[i] = (struct hval){ .type = HVAL_MAP, .n = 2, .keys = sk,
		    .items = sub };
	}
	root_items[0] = (struct hval){ .type = HVAL_MAP, .n = 2, .keys = pk,
	    .items = post };
	root_items[1] = (struct hval){ .type = HVAL_MAP, .n = 2, .keys = sk,
	    .items = sub };
	root_items[2] = (struct hval){ .type = HVAL_STR, .s = "<p>body</p>" };
	root_items[3] = (struct hval){ .type = HVAL_LIST, .n = 2,
	    .items = items };
	root_items[4] = (struct hval){ .type = HVAL_BOOL, .b = true };
	root = (struct hval){ .type = HVAL_MAP, .n = 5, .keys = rk,
	    .items = root_items };
	if (herald_tpl_compile(src, n, "fuzz.tpl", esc, &t, &e) != 0)
		return 0;
	(void)herald_tpl_check(t, &root, &e);
	herald_tpl_render(t, &root, &out);
	if (esc == HERALD_TPL_HTML && memmem(src, n, "<x>", 3) == NULL &&
	    memmem(src, n, "{{{", 3) == NULL && memmem(src, n, "{{&", 3) ==
	    NULL && memmem(src, n, "{{=", 3) == NULL && out.data != NULL &&
	    memmem(out.data, out.len, "<x>", 3) != NULL) {
		fprintf(stderr, "fuzz: a value came out unescaped\n");
		abort();
	}
	hbuf_free(&out);
	herald_tpl_free(t);
	return 0;
}
