/*
 * cmd_check.c - `herald check`: validate post, config, templates and list,
 * and print what was found.  Sends nothing, writes nothing but the
 * unsubscribe secret on first use.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "campaign.h"
#include "clip.h"
#include "cmd.h"
#include "dkim.h"
#include "localtime.h"

static const char check_usage[] =
"usage: herald check POST [--list LIST] [--date YYYY-MM-DD] [--config FILE]\n"
"                          [--strict]\n"
"\n"
"Validate the post, herald.yml, the templates and (with --list) every row\n"
"of the list; print the title, subject, links and every session time with\n"
"the instant it resolved to, and every clock-like phrase left as written\n"
"with the reason; build every reader's message and print the largest HTML\n"
"part, warning when it is over 102 KB (Gmail clips it).  Nothing is sent.\n"
"\n"
"  -l, --list LIST     subscriber list: lists/LIST.csv or a CSV file\n"
"  -d, --date DATE     post date when neither date: nor the file name has one\n"
"  -c, --config FILE   configuration (default: ./herald.yml)\n"
"  -s, --strict        fail (65) while any clock-like phrase is left as written\n"
"  -h, --help          this text\n";

/* s with newlines as spaces, for one output line. */
static const char *
one_line(const char *s, char buf[256])
{
	snprintf(buf, 256, "%s", s);
	for (char *p = buf; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	return buf;
}

/*
 * Each DKIM key: what it signs as, the TXT record to publish (derived from
 * the private key; split into strings of at most 255 octets, RFC 7208 3.3
 * style, as zone files need), and a warning when d= does not align with
 * the From domain (DMARC would not count the signature).
 */
static void
print_dkim(const struct herald_campaign *c)
{
	size_t n = herald_dkim_nkeys(c->dkim);

	if (n == 0) {
		printf("dkim:     none (messages are not signed)\n");
		return;
	}
	printf("dkim:     %zu key%s\n", n, n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		struct herald_dkim_info in;
		size_t len;

		herald_dkim_info(c->dkim, i, &in);
		printf("  d=%s s=%s %s %d bits\n", in.domain, in.selector,
		    in.alg, in.bits);
		printf("    publish: %s. IN TXT (", in.dns_name);
		len = strlen(in.record);
		for (size_t k = 0; k < len; k += 255)
			printf(" \"%.*s\"", (int)(len - k > 255 ? 255 : len - k),
			    in.record + k);
		printf(" )\n");
		if (!herald_dkim_aligned(in.domain, c->cfg.from_domain)) {
			char msg[700];

			snprintf(msg, sizeof(msg), "dkim domain %s does not "
			    "align with the From domain %s: DMARC will not "
			    "count this signature", in.domain,
			    c->cfg.from_domain);
			herald_cmd_warn(NULL, c->cfg.path, c->cfg.dkim[i].line,
			    msg);
		}
		free(in.record);
		free(in.dns_name);
	}
}

/*
 * The largest HTML part any reader gets, built for every reader (or the
 * sample one without a list), and a warning when Gmail would clip it.
 */
static int
print_html_size(struct herald_campaign *c, struct herald_err *e)
{
	struct herald_clip k = {0};
	int rc;

	if ((rc = herald_clip_measure(c, time(NULL), &k, e)) != 0) {
		herald_clip_free(&k);
		return rc;
	}
	if (k.addr != NULL)
		printf("html:     %.1f KB largest (%s); Gmail clips over %zu KB\n",
		    (double)k.max / 1024, k.addr, HERALD_CLIP_BYTES / 1024);
	else
		printf("html:     none (every reader is text-only)\n");
	herald_cmd_clip(c, &k);
	herald_clip_free(&k);
	return 0;
}

int
herald_cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "list", required_argument, NULL, 'l' },
		{ "date", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "strict", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct herald_campaign_opts o = { .warn = herald_cmd_warn,
	    .bad_row = herald_cmd_error };
	struct herald_campaign *c;
	struct herald_err e = {0};
	int ch, rc;
	bool strict = false;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":l:d:c:sh", opts, NULL)) != -1) {
		switch (ch) {
		case 'l': o.list_path = optarg; break;
		case 'd': o.date = optarg; break;
		case 'c': o.config_path = optarg; break;
		case 's': strict = true; break;
		case 'h': fputs(check_usage, stdout); return 0;
		default: return herald_cmd_badopt("check", opts, argv, ch);
		}
	}
	if (optind >= argc)
		return herald_cmd_missing("check", "the post (herald check POST)");
	if (optind != argc - 1) {
		fprintf(stderr, "herald: check: one post at a time, not \"%s\"\n",
		    argv[optind + 1]);
		return EX_USAGE;
	}
	o.post_path = argv[optind];
	if ((rc = herald_campaign_open(&o, &c, &e)) != 0)
		return herald_cmd_fail(&e);
	herald_cmd_unresolved(c);

	printf("post:     %s\n", c->post.path);
	printf("title:    %s\n", c->post.title);
	printf("subject:  %s\n", c->post.subject);
	if (c->post.year)
		printf("date:     %04d-%02d-%02d\n", c->post.year, c->post.month,
		    c->post.day);
	else
		printf("date:     (none)\n");
	if (c->post.timezone)
		printf("timezone: %s\n", c->post.timezone);
	if (c->post.summary)
		printf("summary:  %s\n", c->post.summary);

	size_t nl = herald_doc_nlinks(c->doc);
	printf("links:    %zu\n", nl);
	for (size_t i = 0; i < nl; i++)
		printf("  [%zu] %s\n", i + 1, herald_doc_link(c->doc, i));

	char ob[256];
	size_t nt = herald_doc_ntimes(c->doc);
	time_t now = time(NULL);
	printf("session times: %zu\n", nt);
	for (size_t i = 0; i < nt; i++) {
		const struct herald_session *s = herald_doc_time(c->doc, i);
		char u[64], z[64];

		herald_zone_format(NULL, s->utc, false, u);
		herald_zone_format(c->post.timezone ? c->post.timezone : s->zone,
		    s->utc, true, z);
		printf("  %s:%d: \"%s\" -> %s = %s", c->post.path, s->line,
		    one_line(s->orig, ob), u, z);
		if (s->has_end) {
			herald_zone_format(NULL, s->utc_end, false, u);
			printf(" until %s", u);
		}
		printf("%s%s\n", s->recurring ? " (recurring)" : "",
		    s->history ? " (history)" : !s->recurring && s->utc < (int64_t)now ?
		    " (past)" : "");
	}
	size_t ns = herald_doc_nskipped(c->doc);
	printf("left as written: %zu\n", ns);
	for (size_t i = 0; i < ns; i++) {
		const char *why;
		const struct herald_session *s = herald_doc_skipped(c->doc, i,
		    &why);

		printf("  %s:%d: \"%s\": %s\n", c->post.path, s->line,
		    one_line(s->orig, ob), why);
	}
	if (c->list_path)
		printf("list:     %s: %zu rows, %zu subscribers, %zu duplicates\n",
		    c->list_path, c->stats.rows, c->stats.unique,
		    c->stats.duplicates);
	print_dkim(c);
	if ((rc = print_html_size(c, &e)) != 0) {
		herald_campaign_free(c);
		return herald_cmd_fail(&e);
	}
	if (strict && ns > 0) {
		fprintf(stderr, "herald: %s: %zu clock-like phrase%s left as "
		    "written (--strict)\n", c->post.path, ns, ns == 1 ? "" : "s");
		herald_campaign_free(c);
		return EX_DATAERR;
	}
	printf("ok\n");
	herald_campaign_free(c);
	return 0;
}
