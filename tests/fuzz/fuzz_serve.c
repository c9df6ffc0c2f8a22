/*
 * fuzz_serve.c - the HTTP request path of `herald serve`: each input is
 * sent as raw bytes on a fresh TCP connection to a server started once on
 * 127.0.0.1 (a port chosen by the kernel), and the reply read back.  The
 * server must not crash, leak or hang (a reply or a close within 30 s: a
 * request whose body never comes is closed by the server's 10 s
 * connection timeout, so longer is a hang), and
 * what it answers must start "HTTP/1." when it answers at all.  Inputs
 * that start with a request line get a valid token spliced in for "TOKEN",
 * so the paths past token checking are reached too, and every input gets
 * an empty line after it so that it is a complete request head.
 */
#include "fuzz_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "serve.h"
#include "suppress.h"
#include "token.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct herald_server *srv;
static struct herald_tokens *toks;
static struct herald_suppress *sup;
static unsigned port;
static char *good_token;

static void
quiet(void *arg, const char *line)
{
	(void)arg;
	(void)line;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const unsigned char keys[1][HERALD_TOKEN_KEYLEN] = { { 42 } };
	struct herald_serve_opts o = {0};
	struct herald_err e = {0};
	char dir[256];

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/.herald", fuzz_site());
	mkdir(dir, 0700);
	toks = herald_tokens_from_keys(keys, 1);
	good_token = herald_token_make(toks, "weekly", "ann@example.org");
	if (herald_suppress_open(dir, false, &sup, &e) != 0) {
		fprintf(stderr, "fuzz_serve: %s\n", e.msg);
		abort();
	}
	o.listen = "127.0.0.1:0";
	o.path = "/unsubscribe";
	o.site_title = "Weekly";
	o.site_url = "https://blog.example.org";
	o.contact = "news@example.org";
	o.tokens = toks;
	o.sup = sup;
	o.log = quiet;
	if (herald_serve_start(&o, &srv, &e) != 0) {
		fprintf(stderr, "fuzz_serve: %s\n", e.msg);
		abort();
	}
	port = herald_serve_port(srv);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in sa = {0};
	struct hbuf req = HBUF_INIT;
	char reply[16];
	size_t got = 0;
	int fd;

	/* "TOKEN" in the input becomes a token that verifies.  A NUL becomes
	 * 0x01: libmicrohttpd 0.9.75 neither answers nor closes a connection
	 * whose head starts with NUL until its 10 s idle timeout (a known
	 * limit, see tests/e2e/test_serve_load.py: nobody else is delayed),
	 * and a fuzzer that waits 10 s per such input finds nothing else. */
	for (size_t i = 0; i < size; i++) {
		if (i + 5 <= size && memcmp(data + i, "TOKEN", 5) == 0) {
			hbuf_puts(&req, good_token);
			i += 4;
		} else
			hbuf_putc(&req, data[i] ? (char)data[i] : '\x01');
	}
	/* end the head, so the server answers at once rather than waiting
	 * out its 10 s timeout for more (a request is either complete or
	 * garbage; a slow client is not what this harness looks at) */
	hbuf_puts(&req, "\r\n\r\n");
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		abort();
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		abort();
	if (req.len > 0 && send(fd, req.data, req.len, MSG_NOSIGNAL) < 0) {
		/* the server may close early on garbage: fine */
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char buf[4096];
		ssize_t n;

		if (poll(&p, 1, 30000) <= 0) {
			fprintf(stderr, "fuzz: no reply and no close in 30 s\n");
			abort();
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		for (ssize_t k = 0; k < n && got < sizeof(reply); k++)
			reply[got++] = buf[k];
		/* an HTTP/1.1 connection stays open after its reply: the
		 * start of the reply is all this checks */
		if (got >= 7)
			break;
	}
	close(fd);
	if (got > 0 && (got < 7 || memcmp(reply, "HTTP/1.", 7) != 0)) {
		fprintf(stderr, "fuzz: reply is not HTTP\n");
		abort();
	}
	hbuf_free(&req);
	return 0;
}
