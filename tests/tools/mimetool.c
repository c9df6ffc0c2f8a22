/*
 * mimetool.c - build one message with herald_mime_build, for script tests.
 *
 *     mimetool OUT.eml key=value...
 *
 * Keys are the fields of struct herald_mail (from_name, from_addr, to_name,
 * to_addr, reply_to, subject, message_id, list_id, list_unsubscribe,
 * boundary_seed), date (Unix seconds), gmtoff (seconds), text_file and
 * html_file.  Exit 0 with OUT.eml written, or the sysexits code of the
 * failure with one line on stderr and nothing written.
 */
#include <stdlib.h>
#include <string.h>

#include "mime.h"

int
main(int argc, char **argv)
{
	struct herald_mail m = {0};
	struct hbuf text = HBUF_INIT, html = HBUF_INIT, out = HBUF_INIT;
	struct herald_err e = {0};
	bool have_html = false;
	char line[1200];
	int rc;

	if (argc < 2) {
		fprintf(stderr, "usage: mimetool OUT.eml key=value...\n");
		return EX_USAGE;
	}
	for (int i = 2; i < argc; i++) {
		char *k = argv[i], *v = strchr(k, '=');

		if (v == NULL) {
			fprintf(stderr, "mimetool: %s: want key=value\n", k);
			return EX_USAGE;
		}
		*v++ = '\0';
#define S(f) if (strcmp(k, #f) == 0) m.f = v; else
		S(from_name) S(from_addr) S(to_name) S(to_addr) S(reply_to)
		S(subject) S(message_id) S(list_id) S(list_unsubscribe)
		S(boundary_seed)
		if (strcmp(k, "date") == 0)
			m.date = (time_t)strtoll(v, NULL, 10);
		else if (strcmp(k, "gmtoff") == 0)
			m.date_gmtoff = atoi(v);
		else if (strcmp(k, "text_file") == 0 || strcmp(k, "html_file") == 0) {
			bool t = k[0] == 't';

			if ((rc = read_file(v, t ? &text : &html, &e)) != 0)
				goto fail;
			if (!t)
				have_html = true;
		} else {
			fprintf(stderr, "mimetool: unknown key %s\n", k);
			return EX_USAGE;
		}
#undef S
	}
	m.text = hbuf_cstr(&text);
	m.text_len = text.len;
	if (have_html) {
		m.html = hbuf_cstr(&html);
		m.html_len = html.len;
	}
	if ((rc = herald_mime_build(&m, &out, &e)) != 0)
		goto fail;
	if ((rc = write_file_atomic(argv[1], out.data, out.len, &e)) != 0)
		goto fail;
	hbuf_free(&text);
	hbuf_free(&html);
	hbuf_free(&out);
	return 0;
fail:
	herald_err_format(&e, line, sizeof(line));
	fprintf(stderr, "%s\n", line);
	hbuf_free(&text);
	hbuf_free(&html);
	hbuf_free(&out);
	return rc;
}
