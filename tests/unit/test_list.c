/*
 * test_list.c - the CSV reader and list validation.  Data-driven cases live
 * in tests/data/list/: NAME.csv with NAME.err ("LINE message substring") or
 * NAME.ok ("ROWS UNIQUE DUPLICATES").
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "list.h"

#define DATA "tests/data/list"

struct warns {
	int n;
	int lines[8];
	char msgs[8][64];
};

static void
collect(void *arg, const char *file, int line, const char *msg)
{
	struct warns *w = arg;

	(void)file;
	if (w->n < 8) {
		w->lines[w->n] = line;
		snprintf(w->msgs[w->n], sizeof(w->msgs[0]), "%s", msg);
	}
	w->n++;
}

static char *
slurp(const char *path)
{
	struct hbuf b = HBUF_INIT;

	if (read_file(path, &b, NULL) != 0)
		return NULL;
	while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
		b.data[--b.len] = '\0';
	return hbuf_detach(&b);
}

static void
run_case(const char *name)
{
	char csv[512], exp[512];
	struct herald_list_stats st;
	struct herald_err e = {0};
	struct warns w = {0};
	char *want;
	int rc;

	snprintf(csv, sizeof(csv), DATA "/%s.csv", name);
	rc = herald_list_validate(csv, &st, collect, &w, &e);
	snprintf(exp, sizeof(exp), DATA "/%s.err", name);
	if ((want = slurp(exp)) != NULL) {
		char *msg;
		long line = strtol(want, &msg, 10);

		msg += strspn(msg, " ");
		INT_EQ(rc, EX_DATAERR, "%s: exit code", name);
		INT_EQ(e.line, line, "%s: line (msg \"%s\")", name, e.msg);
		STR_EQ(e.file, csv, "%s: file", name);
		OK(strstr(e.msg, msg) != NULL, "%s: got \"%s\", want \"%s\"",
		    name, e.msg, msg);
		free(want);
		return;
	}
	snprintf(exp, sizeof(exp), DATA "/%s.ok", name);
	if ((want = slurp(exp)) != NULL) {
		unsigned long rows, uniq, dups;

		INT_EQ(rc, 0, "%s: %s", name, e.msg);
		OK(sscanf(want, "%lu %lu %lu", &rows, &uniq, &dups) == 3,
		    "%s: bad .ok file", name);
		INT_EQ(st.rows, rows, "%s: rows", name);
		INT_EQ(st.unique, uniq, "%s: unique", name);
		INT_EQ(st.duplicates, dups, "%s: duplicates", name);
		INT_EQ(w.n, dups, "%s: warnings", name);
		free(want);
		return;
	}
	OK(0, "%s: neither .err nor .ok", name);
}

static void
test_data_cases(void)
{
	DIR *d = opendir(DATA);
	struct dirent *de;
	int n = 0;

	OK(d != NULL, "opendir " DATA);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		char name[256];

		if (len < 5 || strcmp(de->d_name + len - 4, ".csv") != 0 ||
		    len - 4 >= sizeof(name))
			continue;
		memcpy(name, de->d_name, len - 4);
		name[len - 4] = '\0';
		run_case(name);
		n++;
	}
	closedir(d);
	OK(n >= 20, "only %d data cases found", n);
}

static void
test_duplicate_warnings(void)
{
	struct herald_list_stats st;
	struct herald_err e = {0};
	struct warns w = {0};

	INT_EQ(herald_list_validate(DATA "/duplicates.csv", &st, collect, &w,
	    &e), 0, "%s", e.msg);
	INT_EQ(w.n, 2, "warnings");
	INT_EQ(w.lines[0], 3, "first duplicate line");
	STR_EQ(w.msgs[0], "duplicate of line 2", "first message");
	INT_EQ(w.lines[1], 5, "second duplicate line");
	STR_EQ(w.msgs[1], "duplicate of line 2", "second message");
}

static void
test_rows(void)
{
	struct herald_list *l;
	struct herald_recipient r;
	struct herald_err e = {0};
	const char *const *cols;
	size_t n;

	INT_EQ(herald_list_open(DATA "/bom_crlf_ok.csv", &l, &e), 0, "%s",
	    e.msg);
	cols = herald_list_columns(l, &n);
	INT_EQ(n, 5, "columns");
	STR_EQ(cols[0], "email", "BOM skipped, trimmed, canonical case");
	STR_EQ(cols[2], "timezone", "canonical case");
	INT_EQ(herald_list_next(l, &r, &e), 0, "%s", e.msg);
	INT_EQ(r.line, 2, "line");
	STR_EQ(r.email, "a@example.org", "email trimmed");
	STR_EQ(r.name, "Zo\xc3\xab, \xc3\x87" "elik", "quoted comma");
	STR_EQ(r.timezone, "Europe/Berlin", "zone");
	STR_EQ(r.locale, "de-DE", "locale");
	OK(!r.text_only, "html");
	INT_EQ(r.ncols, 5, "ncols");
	STR_EQ(r.values[1], r.name, "values");
	INT_EQ(herald_list_next(l, &r, &e), 0, "%s", e.msg);
	INT_EQ(r.line, 3, "line");
	STR_EQ(r.name, "Say \"hi\"", "doubled quotes");
	OK(r.timezone == NULL, "empty zone is NULL");
	OK(r.locale == NULL, "empty locale is NULL");
	OK(r.text_only, "text");
	INT_EQ(herald_list_next(l, &r, &e), -1, "end");
	INT_EQ(herald_list_next(l, &r, &e), -1, "still end");
	herald_list_close(l);

	INT_EQ(herald_list_open(DATA "/multiline_field_ok.csv", &l, &e), 0,
	    "%s", e.msg);
	INT_EQ(herald_list_next(l, &r, &e), 0, "%s", e.msg);
	STR_EQ(r.values[1], "multi\nline\nnote", "embedded newlines");
	STR_EQ(r.name, "Al", "name after multiline");
	INT_EQ(herald_list_next(l, &r, &e), 0, "%s", e.msg);
	INT_EQ(r.line, 5, "line counts embedded newlines");
	STR_EQ(r.name, "Bo", "name");
	herald_list_close(l);

	INT_EQ(herald_list_open("tests/data/list/no-such.csv", &l, &e),
	    EX_NOINPUT, "missing file");
	OK(l == NULL, "no list on error");
}

static void
test_example(void)
{
	struct herald_list_stats st;
	struct herald_err e = {0};
	struct herald_list *l;
	struct herald_recipient r;
	int text = 0, nozone = 0, nonascii = 0;

	INT_EQ(herald_list_validate("lists/example.csv", &st, NULL, NULL, &e),
	    0, "%s:%d: %s", e.file, e.line, e.msg);
	OK(st.rows >= 8, "example has %zu rows", st.rows);
	INT_EQ(st.duplicates, 0, "example duplicates");
	INT_EQ(herald_list_open("lists/example.csv", &l, &e), 0, "%s", e.msg);
	while (herald_list_next(l, &r, &e) == 0) {
		text += r.text_only;
		nozone += r.timezone == NULL;
		for (const char *p = r.name; *p; p++)
			if ((unsigned char)*p >= 0x80) {
				nonascii++;
				break;
			}
	}
	herald_list_close(l);
	OK(text >= 1, "a text-only subscriber");
	OK(nozone >= 1, "a subscriber without zone");
	OK(nonascii >= 4, "non-ASCII names: %d", nonascii);
}

static void
test_addr(void)
{
	static const char *good[] = {
		"a@example.org", "first.last+tag@sub.example.co.uk",
		"\"john doe\"@example.org", "\"a\\\"b\"@example.org",
		"user@[192.0.2.1]", "x@a-b.example", "o'brien@example.ie",
		"!#$%&'*+-/=?^_`{|}~@example.org",
	};
	static const char *bad[] = {
		"", "bob@", "@example.org", "bob", "bob@example",
		"bob@@example.org", "a b@example.org", ".a@example.org",
		"a.@example.org", "a..b@example.org", "a@-x.example.org",
		"a@x-.example.org", "a@example..org", "a@example.org.",
		"a@exa mple.org", "a\r\n@example.org", "a@example.org\n",
		"\"a\r\nb\"@example.org", "z\xc3\xab@example.org",
		"a@ex\xc3\xa4mple.org", "a@exa_mple.org", "<a@example.org>",
		"a@[1.2.3.4", "\"ab@example.org",
	};
	char big[300];

	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		OK(herald_addr_valid(good[i]), "should be valid: %s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		OK(!herald_addr_valid(bad[i]), "should be invalid: %s", bad[i]);
	/* local part 64 ok, 65 not */
	memset(big, 'a', 65);
	strcpy(big + 65, "@example.org");
	OK(!herald_addr_valid(big), "65-octet local part");
	OK(herald_addr_valid(big + 1), "64-octet local part");
	/* whole address over 254 */
	memset(big, 'a', 60);
	big[60] = '@';
	for (int i = 61; i < 260; i += 10)
		memcpy(big + i, "abcdefghi.", 10);
	strcpy(big + 261, "org");
	OK(!herald_addr_valid(big), "address over 254 octets");
}

/* Many rows: streaming, the dedup set growing, line numbers staying right. */
static void
test_large(void)
{
	char dir[] = "/tmp/herald-list-XXXXXX", path[64];
	struct herald_list_stats st;
	struct herald_err e = {0};
	struct warns w = {0};
	FILE *f;

	OK(mkdtemp(dir) != NULL, "mkdtemp");
	snprintf(path, sizeof(path), "%s/big.csv", dir);
	f = fopen(path, "w");
	fputs("email,name,timezone,locale,format\n", f);
	for (int i = 0; i < 50000; i++)
		fprintf(f, "user%d@example.org,\"User, %d\",Asia/Kolkata,en-IN,%s\r\n",
		    i, i, i % 7 ? "html" : "text");
	fputs("USER123@example.org,dup,,,\n", f);
	fputs("x@example.org,bad,Mars/Olympus,,\n", f);
	fclose(f);
	INT_EQ(herald_list_validate(path, &st, collect, &w, &e), EX_DATAERR,
	    "bad zone at the end");
	INT_EQ(e.line, 50003, "line of the last row");
	INT_EQ(st.duplicates, 1, "one duplicate");
	INT_EQ(w.lines[0], 50002, "duplicate line");
	STR_EQ(w.msgs[0], "duplicate of line 125", "duplicate of");
	unlink(path);
	rmdir(dir);
}

static uint64_t
same_hash(const void *p, size_t n)
{
	(void)p;
	(void)n;
	return 42;
}

/*
 * Duplicates are found by reading rows again at their offsets: a byte
 * order mark, CRLF, blank lines, quoted fields over several lines, a row
 * longer than the reader's buffer, with every hash colliding.  The
 * expected first lines are counted by hand from the file below.
 */
static void
test_dups_reread(void)
{
	char dir[] = "/tmp/herald-list-XXXXXX", path[64], longname[3001];
	static const int want[] = { 0, 0, 0, 0, 2, 5, 6, 0, 11, 0, 14 };
	uint64_t (*hashes[])(const void *, size_t) = { same_hash, NULL };
	FILE *f;

	OK(mkdtemp(dir) != NULL, "mkdtemp");
	snprintf(path, sizeof(path), "%s/dups.csv", dir);
	memset(longname, 'n', 3000);
	longname[3000] = '\0';
	f = fopen(path, "wb");
	fputs("\xef\xbb\xbf" "email,name\r\n", f);            /* 1 */
	fputs("ann@example.org,\"Ann\r\nSmith\"\r\n", f);     /* 2-3 */
	fputs("\r\n", f);                                        /* 4 */
	fputs(" Bob@Example.org ,bob\r\n", f);                   /* 5 */
	fputs("\"\"\"a b\"\"@example.org\",quoted\n", f);       /* 6 */
	fputs("anne@example.org,not ann\n", f);                  /* 7 */
	fputs("ANN@example.org,dup of 2\n", f);                  /* 8 */
	fputs("bob@example.org,dup of 5\n", f);                  /* 9 */
	fputs("\"\"\"a\\ b\"\"@EXAMPLE.org\",dup of 6\n", f);  /* 10 */
	fprintf(f, "carl@example.org,\"%s\n%s\"\n", longname,
	    longname);                                           /* 11-12 */
	fputs("\"carl@example.org\",dup of 11\n", f);           /* 13 */
	fprintf(f, "dave@example.org,%s\n", longname);           /* 14 */
	fputs("Dave@example.org,dup of 14\n", f);               /* 15 */
	fclose(f);
	for (size_t h = 0; h < 2; h++) {
		struct herald_list *l;
		struct herald_list_dups *d, *nl;
		struct herald_recipient r;
		struct herald_err e = {0};
		size_t i = 0;
		int rc;

		INT_EQ(herald_list_open(path, &l, &e), 0, "open: %s", e.msg);
		d = herald_list_dups_new(l, 0, true, hashes[h]);
		nl = herald_list_dups_new(l, 0, false, hashes[h]);
		while ((rc = herald_list_next(l, &r, &e)) == 0 && i < 11) {
			int first = herald_list_dups_add(d, &r);

			INT_EQ(first, want[i], "hash %zu, line %d (%s)", h,
			    r.line, r.email);
			INT_EQ(herald_list_dups_add(nl, &r), want[i] != 0,
			    "without lines: hash %zu, line %d (%s)", h, r.line,
			    r.email);
			i++;
		}
		INT_EQ(rc, -1, "to the end: %s", e.msg);
		INT_EQ(i, 11, "rows");
		herald_list_close(l);
		herald_list_dups_free(d);
		herald_list_dups_free(nl);
	}
	unlink(path);
	rmdir(dir);
}

/*
 * A list renamed over while it is walked: the rows are read again from
 * the file being walked or not at all.  The new file holds, at the offset
 * of the walked file's "b@" row, the "a@" address the walk is at; read
 * from there, the walk's "a@" would look like a repeat and be skipped.
 */
static void
test_dups_renamed(void)
{
	char dir[] = "/tmp/herald-list-XXXXXX", path[64], other[64];
	struct herald_list *l;
	struct herald_list_dups *d;
	struct herald_recipient r;
	struct herald_err e = {0};
	FILE *f;

	OK(mkdtemp(dir) != NULL, "mkdtemp");
	snprintf(path, sizeof(path), "%s/l.csv", dir);
	snprintf(other, sizeof(other), "%s/new.csv", dir);
	f = fopen(path, "w");
	fputs("email\nb@example.org\na@example.org\n", f);
	fclose(f);
	f = fopen(other, "w");
	fputs("email\na@example.org\nb@example.org\n", f);
	fclose(f);
	INT_EQ(herald_list_open(path, &l, &e), 0, "open");
	d = herald_list_dups_new(l, 0, true, same_hash);
	INT_EQ(herald_list_next(l, &r, &e), 0, "row b");
	INT_EQ(herald_list_dups_add(d, &r), 0, "b is new");
	OK(rename(other, path) == 0, "rename");
	INT_EQ(herald_list_next(l, &r, &e), 0, "row a");
	STR_EQ(r.email, "a@example.org", "the walked file's row");
	INT_EQ(herald_list_dups_add(d, &r), 0, "a is new: the row at b's "
	    "offset is read from the walked file or not at all");
	herald_list_dups_free(d);
	herald_list_close(l);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	test_data_cases();
	test_duplicate_warnings();
	test_rows();
	test_example();
	test_addr();
	test_large();
	test_dups_reread();
	test_dups_renamed();
	return harness_done();
}
