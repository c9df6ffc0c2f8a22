/*
 * cmd_preview.c - `herald preview`: everything `send` does, except that
 * each message goes to a file backend instead of a relay: the spool
 * directory DIR/ (ADDRESS.eml, ADDRESS.html, index.html) and/or one mbox
 * (--mbox FILE, or - for standard output).
 *
 * Nothing is written until the whole campaign (config, post, templates,
 * every list row) has validated, and a run becomes visible only when it
 * has finished (backend.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clip.h"
#include "cmd.h"
#include "pipeline.h"
#include "progress.h"

static const char preview_usage[] =
"usage: herald preview POST [--list LIST] [--out DIR] [--mbox FILE|-]\n"
"                           [--date YYYY-MM-DD] [--config FILE] [--verbose]\n"
"\n"
"Build every message `herald send` would send and write them to DIR\n"
"(default out/): ADDRESS.eml (the whole message), ADDRESS.html (its HTML\n"
"part) and index.html listing every reader with the subject and session\n"
"times; DIR then holds this post's messages only.  With --mbox, all\n"
"messages go to one mbox (mboxrd, LF line ends; - is standard output) that\n"
"mutt opens with `mutt -f FILE`, instead of DIR unless --out is given too.\n"
"Without --list, one message for a sample subscriber in the post's zone.\n"
"Warns when a reader's HTML part is over 102 KB, where Gmail clips it.\n"
"\n"
"  -l, --list LIST     subscriber list (lists/LIST.csv or a CSV file)\n"
"  -o, --out DIR       output directory (default: out)\n"
"  -m, --mbox FILE     write one mbox file (- for standard output)\n"
"  -d, --date DATE     post date when neither date: nor the file name has one\n"
"  -c, --config FILE   configuration (default: ./herald.yml)\n"
"  -v, --verbose       progress even when stderr is not a terminal\n"
"  -h, --help          this text\n";

struct preview {
	struct herald_pipeline pl;
	struct herald_backend *be[2];
	struct herald_progress prog;
	struct herald_clip clip;
	size_t written;
};

/* Each message as the pipeline builds it, before the backends have it. */
static void
preview_built(void *arg, const struct herald_recipient *r,
    const struct herald_message *m)
{
	struct preview *p = arg;

	herald_clip_note(&p->clip, r, m);
	p->written++;
	herald_progress_update(&p->prog, p->written, 0, 0);
}

int
herald_cmd_preview(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "list", required_argument, NULL, 'l' },
		{ "out", required_argument, NULL, 'o' },
		{ "mbox", required_argument, NULL, 'm' },
		{ "date", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct herald_campaign_opts o = { .warn = herald_cmd_warn,
	    .bad_row = herald_cmd_error };
	struct preview p = {0};
	struct herald_err e = {0};
	const char *dir = NULL, *mbox = NULL;
	bool verbose = false;
	FILE *report = stdout;
	int ch, rc;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":l:o:m:d:c:vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'l': o.list_path = optarg; break;
		case 'o': dir = optarg; break;
		case 'm': mbox = optarg; break;
		case 'd': o.date = optarg; break;
		case 'c': o.config_path = optarg; break;
		case 'v': verbose = true; break;
		case 'h': fputs(preview_usage, stdout); return 0;
		default: return herald_cmd_badopt("preview", opts, argv, ch);
		}
	}
	if (optind >= argc)
		return herald_cmd_missing("preview",
		    "the post (herald preview POST)");
	if (optind != argc - 1) {
		fprintf(stderr, "herald: preview: one post at a time, not "
		    "\"%s\"\n", argv[optind + 1]);
		return EX_USAGE;
	}
	if ((dir && dir[0] == '\0') || (mbox && mbox[0] == '\0'))
		return herald_cmd_missing("preview", "the --out or --mbox name");
	if (dir == NULL && mbox == NULL)
		dir = "out";
	if (mbox && strcmp(mbox, "-") == 0)
		report = stderr;	/* stdout carries the mbox */
	o.post_path = argv[optind];
	if ((rc = herald_campaign_open(&o, &p.pl.c, &e)) != 0)
		return herald_cmd_fail(&e);

	p.pl.date = time(NULL);
	p.pl.be = p.be;
	p.pl.built = preview_built;
	p.pl.arg = &p;
	for (size_t i = 0; i < herald_doc_ntimes(p.pl.c->doc); i++) {
		const struct herald_session *s = herald_doc_time(p.pl.c->doc, i);
		if (s->utc < (int64_t)p.pl.date && !s->history && !s->recurring) {
			char msg[600];
			snprintf(msg, sizeof(msg), "session time \"%s\" is in the "
			    "past (send will refuse it without --allow-past)", s->orig);
			herald_cmd_warn(NULL, p.pl.c->post.path, s->line, msg);
		}
	}
	herald_cmd_unconverted(p.pl.c, false);
	herald_cmd_unresolved(p.pl.c);
	if (dir && (rc = herald_spool_open(dir, p.pl.c, &p.be[p.pl.nbe],
	    &e)) == 0)
		p.pl.nbe++;
	if (rc == 0 && mbox &&
	    (rc = herald_mbox_open(mbox, p.pl.c, &p.be[p.pl.nbe], &e)) == 0)
		p.pl.nbe++;
	if (rc != 0)
		goto fail;

	herald_progress_start(&p.prog, "preview", p.pl.c->stats.unique,
	    verbose);
	if (p.pl.c->list_path) {
		rc = herald_pipeline_run(&p.pl, &e);
	} else {
		struct herald_recipient r;

		herald_clip_sample(&r);
		rc = herald_pipeline_one(&p.pl, &r, &e);
	}
	herald_progress_end(&p.prog);
	for (size_t i = 0; i < p.pl.nbe && rc == 0; i++)
		rc = herald_backend_commit(p.be[i], &e);
	if (rc != 0)
		goto fail;
	herald_cmd_clip(p.pl.c, &p.clip);
	if (dir)
		fprintf(report, "wrote %zu message%s to %s/ (open %s/index.html)\n",
		    p.written, p.written == 1 ? "" : "s", dir, dir);
	if (mbox)
		fprintf(report, "wrote %zu message%s to %s (open with mutt -f %s)\n",
		    p.written, p.written == 1 ? "" : "s",
		    strcmp(mbox, "-") == 0 ? "standard output" : mbox,
		    strcmp(mbox, "-") == 0 ? "FILE" : mbox);
	if (p.pl.c->nsuppressed)
		fprintf(report, "skipped %zu suppressed reader%s (herald "
		    "unsubscribe --list-suppressed)\n", p.pl.c->nsuppressed,
		    p.pl.c->nsuppressed == 1 ? "" : "s");
fail:
	if (rc != 0)
		herald_cmd_fail(&e);
	for (size_t i = 0; i < p.pl.nbe; i++)
		herald_backend_close(p.be[i]);
	herald_pipeline_free(&p.pl);
	herald_clip_free(&p.clip);
	herald_campaign_free(p.pl.c);
	return rc;
}
