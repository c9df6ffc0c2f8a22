/*
 * fuzz_mime.c - the MIME writer.  The input is split at NUL bytes into the
 * fields of a struct herald_mail (from_name, to_name, subject, list title,
 * unsubscribe URL, text, html; addresses stay valid so most inputs reach
 * the writer).  Whatever herald_mime_build accepts must keep the message
 * rules (fuzz_util.h); what it refuses must leave nothing written.
 */
#include "fuzz_util.h"

#include "mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = xmalloc(size + 1), *f[7] = {0};
	struct herald_mail m = {0};
	struct hbuf out = HBUF_INIT, lid = HBUF_INIT, lu = HBUF_INIT;
	struct herald_err e = {0};
	size_t k = 0, start = 0;

	memcpy(buf, data, size);
	buf[size] = '\0';
	for (size_t i = 0; i <= size && k < 7; i++)
		if (i == size || buf[i] == '\0') {
			buf[i] = '\0';
			f[k++] = buf + start;
			start = i + 1;
		}
	for (; k < 7; k++)
		f[k] = "";
	hbuf_printf(&lid, "%s <weekly.example.org>", f[3]);
	hbuf_printf(&lu, "<https://example.org/u?t=%s>, "
	    "<mailto:u@example.org?subject=x>", f[4]);
	m.from_name = f[0];
	m.from_addr = "news@example.org";
	m.to_name = f[1];
	m.to_addr = "ann@example.org";
	m.subject = f[2];
	m.date = 1900000000;
	m.message_id = "c.0123@example.org";
	m.list_id = hbuf_cstr(&lid);
	m.list_unsubscribe = hbuf_cstr(&lu);
	m.text = f[5];
	m.text_len = strlen(f[5]);
	if (f[6][0]) {
		m.html = f[6];
		m.html_len = strlen(f[6]);
	}
	hbuf_puts(&out, "");
	if (herald_mime_build(&m, &out, &e) == 0)
		fuzz_check_message(out.data, out.len);
	else if (out.len != 0) {
		fprintf(stderr, "fuzz: refused but wrote %zu bytes\n", out.len);
		abort();
	}
	hbuf_free(&out);
	hbuf_free(&lid);
	hbuf_free(&lu);
	free(buf);
	return 0;
}
