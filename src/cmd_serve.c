/*
 * cmd_serve.c - `herald serve`: run the List-Unsubscribe endpoint until
 * SIGINT or SIGTERM.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "config.h"
#include "serve.h"
#include "suppress.h"
#include "token.h"

static const char serve_usage[] =
"usage: herald serve [--listen ADDR:PORT] [--rate N] [--config FILE]\n"
"\n"
"Answer the path of unsubscribe.url over HTTP: GET shows a confirm page\n"
"and changes nothing; POST (RFC 8058 List-Unsubscribe=One-Click, or the\n"
"page's button) suppresses the reader for every campaign of the list.\n"
"Run it unprivileged behind a TLS reverse proxy (see\n"
"doc/unsubscribe-server.md).  Stops on SIGINT or SIGTERM.\n"
"\n"
"  -L, --listen ADDR:PORT  where to listen (default 127.0.0.1:8025;\n"
"                          port 0: any free port, printed on stdout)\n"
"  -r, --rate N            requests a minute per client (default 120;\n"
"                          0: no limit)\n"
"  -c, --config FILE       configuration (default: ./herald.yml)\n"
"  -h, --help              this text\n";

static void
log_line(void *arg, const char *line)
{
	char when[32];
	time_t t = time(NULL);
	struct tm tm;

	(void)arg;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "herald: serve: %s %s\n", when, line);
}

int
herald_cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'L' },
		{ "rate", required_argument, NULL, 'r' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct herald_serve_opts so = { .listen = "127.0.0.1:8025",
	    .rate_per_min = 120, .log = log_line };
	struct herald_config cfg = {0};
	struct herald_tokens *tok = NULL;
	struct herald_suppress *sup = NULL;
	struct herald_server *srv = NULL;
	struct herald_err e = {0};
	const char *config = NULL;
	char *path = NULL, *end;
	sigset_t set;
	int ch, rc, sig;
	unsigned long l;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":L:r:c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'L': so.listen = optarg; break;
		case 'r':
			l = strtoul(optarg, &end, 10);
			if (end == optarg || *end || l > 1000000) {
				fprintf(stderr, "herald: --rate: requests a "
				    "minute, 0 to 1000000\n");
				return EX_USAGE;
			}
			so.rate_per_min = (unsigned)l;
			break;
		case 'c': config = optarg; break;
		case 'h': fputs(serve_usage, stdout); return 0;
		default: return herald_cmd_badopt("serve", opts, argv, ch);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "herald: serve: unexpected argument \"%.200s\" "
		    "(see herald serve --help)\n", argv[optind]);
		return EX_USAGE;
	}
	if ((rc = herald_config_load(config, &cfg, &e)) != 0)
		return herald_cmd_fail(&e);
	if ((rc = herald_tokens_open(cfg.state_dir, true, &tok, &e)) != 0 ||
	    (rc = herald_suppress_open(cfg.state_dir, false, &sup, &e)) != 0)
		goto out;
	path = herald_serve_url_path(cfg.unsubscribe_url);
	so.path = path;
	so.site_title = cfg.site_title;
	so.site_url = cfg.site_base_url;
	so.contact = cfg.reply_to ? cfg.reply_to : cfg.from_addr;
	so.tokens = tok;
	so.sup = sup;

	/* The server's thread inherits this mask: only sigwait sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if ((rc = herald_serve_start(&so, &srv, &e)) != 0)
		goto out;
	if (geteuid() == 0)
		fprintf(stderr, "herald: serve: warning: running as root; run it "
		    "as the site's own user (see doc/unsubscribe-server.md)\n");
	printf("herald: serving http://%.*s:%u%s\n",
	    (int)(strrchr(so.listen, ':') - so.listen), so.listen,
	    herald_serve_port(srv), path);
	fflush(stdout);
	sigwait(&set, &sig);
	herald_serve_stop(srv);
	fprintf(stderr, "herald: serve: stopped\n");
out:
	if (rc != 0)
		herald_cmd_fail(&e);
	herald_suppress_close(sup);
	herald_tokens_free(tok);
	herald_config_free(&cfg);
	free(path);
	return rc;
}
