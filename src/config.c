/*
 * config.c - read and check herald.yml (format in config.h).
 *
 * Everything that ends up in a header or the SMTP envelope is checked here
 * once, so later modules can trust it: addresses are RFC 5322 addr-specs in
 * their dot-atom form (no quoted local parts, no CR/LF), the List-Id is an
 * RFC 2919 list-id, and the unsubscribe URL is https (RFC 8058 one-click
 * needs it).  A misspelled key is an error naming its line, not a silent
 * default.
 */
#include "config.h"
#include "addr.h"
#include "localtime.h"
#include "ynode.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define UNSUB_URL_MAX 500

struct ck {
	const char *file;
	struct herald_err *e;
};

/* The sender's address: list.c's rule, held to a dot-atom local part and a
 * host name (no quoted strings or address literals, which relays mangle). */
static bool
addr_valid(const char *a)
{
	const char *at = strrchr(a, '@');

	return herald_addr_valid(a) && a[0] != '"' && at[1] != '[';
}

static bool
domain_valid(const char *s)
{
	return herald_hostname_valid(s, strlen(s));
}

static int
bad(struct ck *c, int line, const char *fmt, const char *arg)
{
	return herald_errf(c->e, EX_CONFIG, c->file, line, fmt, arg);
}

/* Reject keys not in allowed[] (NULL-terminated): catches typos. */
static int
check_keys(struct ck *c, const struct ynode *map, const char *section,
    const char *const *allowed)
{
	for (size_t i = 0; i < map->n; i++) {
		size_t k;
		for (k = 0; allowed[k] != NULL; k++)
			if (strcmp(map->keys[i], allowed[k]) == 0)
				break;
		if (allowed[k] != NULL)
			continue;
		if (section != NULL)
			return herald_errf(c->e, EX_CONFIG, c->file,
			    map->key_lines[i], "unknown key '%s' in %s",
			    map->keys[i], section);
		return bad(c, map->key_lines[i], "unknown key '%s'",
		    map->keys[i]);
	}
	return 0;
}

/* Line of key in map, else the map's own line. */
static int
key_line(const struct ynode *map, const char *key)
{
	for (size_t i = 0; map != NULL && i < map->n; i++)
		if (strcmp(map->keys[i], key) == 0)
			return map->key_lines[i];
	return map != NULL ? map->line : 0;
}

/* A section that must be a map when present; *out NULL when absent. */
static int
get_map(struct ck *c, const struct ynode *root, const char *key,
    const struct ynode **out)
{
	const struct ynode *n = ynode_get(root, key);

	*out = NULL;
	if (n == NULL)
		return 0;
	/* "smtp:" with nothing under it reads as an empty scalar */
	if (n->type == YNODE_SCALAR && n->scalar[0] == '\0')
		return 0;
	if (n->type != YNODE_MAP)
		return bad(c, n->line, "'%s' must be a mapping of keys", key);
	*out = n;
	return 0;
}

/*
 * A one-line text value; *out is a copy with surrounding blanks trimmed,
 * or NULL when absent or empty.  CR/LF/NUL are refused because most of
 * these values end up in headers or URLs.
 */
static int
get_str(struct ck *c, const struct ynode *map, const char *key,
    const char *name, char **out)
{
	const struct ynode *n = ynode_get(map, key);
	const char *s, *end;

	*out = NULL;
	if (n == NULL)
		return 0;
	if (n->type != YNODE_SCALAR)
		return bad(c, n->line, "'%s' must be text", name);
	s = n->scalar;
	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '\n' || end[-1] == '\r'))
		end--;
	if (has_crlf_nul(s, (size_t)(end - s)))
		return bad(c, n->line, "'%s' must be one line", name);
	if (!utf8_valid(s, (size_t)(end - s), NULL))
		return bad(c, n->line, "'%s' is not valid UTF-8", name);
	if (end > s)
		*out = xstrndup(s, (size_t)(end - s));
	return 0;
}

static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

char *
herald_config_path(const struct herald_config *cfg, const char *rel)
{
	if (rel == NULL)
		return NULL;
	if (rel[0] == '/' || cfg->dir == NULL || strcmp(cfg->dir, ".") == 0)
		return xstrdup(rel);
	if (strcmp(cfg->dir, "/") == 0)
		return xasprintf("/%s", rel);
	return xasprintf("%s/%s", cfg->dir, rel);
}

/* "Name <addr>", "\"Name\" <addr>" or a bare addr. */
static int
parse_from(struct ck *c, struct herald_config *cfg, const char *v, int line)
{
	const char *lt = strrchr(v, '<');
	char *addr, *name = NULL;

	if (lt != NULL) {
		const char *gt = strchr(lt, '>');
		const char *ns = v, *ne = lt;

		if (gt == NULL || gt[1] != '\0')
			return bad(c, line, "'from' must look like "
			    "\"Name <address>\", not \"%s\"", v);
		addr = xstrndup(lt + 1, (size_t)(gt - lt - 1));
		while (ne > ns && (ne[-1] == ' ' || ne[-1] == '\t'))
			ne--;
		if (ne - ns >= 2 && *ns == '"' && ne[-1] == '"') {
			/* a quoted display name: drop quotes, undo \-escapes */
			struct hbuf b = HBUF_INIT;
			for (const char *p = ns + 1; p < ne - 1; p++) {
				if (*p == '\\' && p + 1 < ne - 1)
					p++;
				hbuf_putc(&b, *p);
			}
			name = hbuf_detach(&b);
		} else if (ne > ns)
			name = xstrndup(ns, (size_t)(ne - ns));
		if (name != NULL && (name[0] == '\0' || strchr(name, '<') ||
		    strchr(name, '>'))) {
			if (name[0] != '\0') {
				free(addr);
				free(name);
				return bad(c, line, "'from' display name may "
				    "not contain '<' or '>': %s", v);
			}
			free(name);
			name = NULL;
		}
	} else
		addr = xstrdup(v);
	if (!addr_valid(addr)) {
		int rc = bad(c, line, "'from' has an invalid address \"%s\"",
		    addr);
		free(addr);
		free(name);
		return rc;
	}
	cfg->from_name = name;
	cfg->from_addr = addr;
	cfg->from_domain = xstrdup(strrchr(addr, '@') + 1);
	return 0;
}

/* An address value; "mailto:" in front is forgiven. */
static int
get_addr(struct ck *c, const struct ynode *map, const char *key,
    const char *name, char **out)
{
	int rc;

	if ((rc = get_str(c, map, key, name, out)) != 0 || *out == NULL)
		return rc;
	if (strncmp(*out, "mailto:", 7) == 0)
		memmove(*out, *out + 7, strlen(*out + 7) + 1);
	if (!addr_valid(*out))
		return herald_errf(c->e, EX_CONFIG, c->file, key_line(map, key),
		    "'%s' is not a valid address: \"%s\"", name, *out);
	return 0;
}

/* A URL bound for a header: printable ASCII without spaces. */
static bool
url_chars_ok(const char *u)
{
	for (const unsigned char *p = (const unsigned char *)u; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '<' || *p == '>' ||
		    *p == '"')
			return false;
	return true;
}

static bool
url_has_host(const char *u, size_t schemelen)
{
	const char *h = u + schemelen;

	return *h != '\0' && *h != '/' && *h != '?' && *h != '#';
}

static int
load_site(struct ck *c, const struct ynode *root, struct herald_config *cfg)
{
	static const char *const keys[] = {"title", "base_url", "list_id",
	    "params", NULL};
	const struct ynode *site;
	int rc, line;
	char *u;

	if ((rc = get_map(c, root, "site", &site)) != 0)
		return rc;
	if (site == NULL)
		return bad(c, 0, "missing '%s' (with base_url)", "site");
	if ((rc = check_keys(c, site, "site", keys)) != 0 ||
	    (rc = get_str(c, site, "title", "site.title", &cfg->site_title)) ||
	    (rc = get_str(c, site, "base_url", "site.base_url", &u)) ||
	    (rc = get_str(c, site, "list_id", "site.list_id", &cfg->list_id)))
		return rc;
	if (ynode_get(site, "params") != NULL) {
		struct ynode *pm = (struct ynode *)site;
		for (size_t i = 0; i < pm->n; i++)
			if (strcmp(pm->keys[i], "params") == 0 &&
			    pm->items[i]->type == YNODE_MAP) {
				/* kept after the tree is freed */
				cfg->site_params = pm->items[i];
				pm->items[i] = NULL;
			} else if (strcmp(pm->keys[i], "params") == 0 &&
			    !(pm->items[i]->type == YNODE_SCALAR &&
			    pm->items[i]->scalar[0] == '\0'))
				return bad(c, pm->key_lines[i], "'%s' must be "
				    "a mapping of keys", "site.params");
	}
	line = key_line(site, "base_url");
	if (u == NULL)
		return bad(c, key_line(root, "site"), "missing '%s'",
		    "site.base_url");
	cfg->site_base_url = u;
	if (!url_chars_ok(u) ||
	    !((strncmp(u, "https://", 8) == 0 && url_has_host(u, 8)) ||
	    (strncmp(u, "http://", 7) == 0 && url_has_host(u, 7))))
		return bad(c, line, "site.base_url must be an http:// or "
		    "https:// URL, not \"%s\"", u);
	/* links are built as base + "/path", so keep no trailing slash */
	for (size_t n = strlen(u); n > 0 && u[n - 1] == '/'; n--)
		u[n - 1] = '\0';
	if (cfg->list_id != NULL) {
		char *id = cfg->list_id;
		size_t n = strlen(id);
		/* "<id>" as written in the header is forgiven */
		if (n >= 2 && id[0] == '<' && id[n - 1] == '>') {
			memmove(id, id + 1, n - 2);
			id[n - 2] = '\0';
			n -= 2;
		}
		if (!herald_dot_atom_valid(id, n) || strchr(id, '.') == NULL ||
		    n > 255)
			return bad(c, key_line(site, "list_id"),
			    "site.list_id must be a dotted name like "
			    "news.example.org (RFC 2919), not \"%s\"", id);
	}
	return 0;
}

/*
 * RFC 2919 asks for a list-id under a domain the sender controls; the
 * sender's own address turned around ("news@example.org" ->
 * "news.example.org") is what list managers do too.
 */
static char *
default_list_id(const struct herald_config *cfg)
{
	const char *at = strrchr(cfg->from_addr, '@');
	struct hbuf b = HBUF_INIT;

	for (const char *p = cfg->from_addr; p < at; p++) {
		char ch = *p;
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-'))
			ch = '-';
		hbuf_putc(&b, ch);
	}
	hbuf_putc(&b, '.');
	hbuf_puts(&b, at + 1);
	ascii_lower(b.data);
	return hbuf_detach(&b);
}

static int
load_unsubscribe(struct ck *c, const struct ynode *root,
    struct herald_config *cfg)
{
	static const char *const keys[] = {"url", "mailto", NULL};
	const struct ynode *un;
	int rc;
	const char *u;

	if ((rc = get_map(c, root, "unsubscribe", &un)) != 0)
		return rc;
	if (un == NULL)
		return bad(c, 0, "missing '%s' (with an https url)",
		    "unsubscribe");
	if ((rc = check_keys(c, un, "unsubscribe", keys)) != 0 ||
	    (rc = get_str(c, un, "url", "unsubscribe.url",
	    &cfg->unsubscribe_url)) ||
	    (rc = get_addr(c, un, "mailto", "unsubscribe.mailto",
	    &cfg->unsubscribe_mailto)))
		return rc;
	if ((u = cfg->unsubscribe_url) == NULL)
		return bad(c, key_line(root, "unsubscribe"), "missing '%s'",
		    "unsubscribe.url");
	/* RFC 8058 one-click unsubscribe is defined for https only */
	if (strncmp(u, "https://", 8) != 0 || !url_has_host(u, 8) ||
	    !url_chars_ok(u))
		return bad(c, key_line(un, "url"), "unsubscribe.url must be "
		    "an https:// URL, not \"%s\"", u);
	/* it goes into List-Unsubscribe unfolded, with ?list=&token= after
	 * it (up to ~400 more), and that line must stay <= 998 octets */
	if (strlen(u) > UNSUB_URL_MAX)
		return herald_errf(c->e, EX_CONFIG, c->file, key_line(un, "url"),
		    "unsubscribe.url is %zu characters long; at most %d fit "
		    "in a header line with the token", strlen(u),
		    UNSUB_URL_MAX);
	return 0;
}

static int
load_aliases(struct ck *c, const struct ynode *root, struct herald_config *cfg)
{
	const struct ynode *al;
	int rc;

	if ((rc = get_map(c, root, "timezone_aliases", &al)) != 0 || al == NULL)
		return rc;
	cfg->aliases = xcalloc(al->n, sizeof(*cfg->aliases));
	for (size_t i = 0; i < al->n; i++) {
		const char *abbr = al->keys[i];
		const struct ynode *z = al->items[i];
		bool ok = abbr[0] != '\0' && strlen(abbr) < 16;

		for (const char *p = abbr; *p; p++)
			if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' &&
			    *p <= 'z') || (*p >= '0' && *p <= '9') ||
			    *p == '+' || *p == '-'))
				ok = false;
		if (!ok)
			return bad(c, al->key_lines[i], "timezone_aliases: "
			    "\"%s\" is not an abbreviation like IST", abbr);
		if (z->type != YNODE_SCALAR || !herald_zone_valid(z->scalar))
			return herald_errf(c->e, EX_CONFIG, c->file, z->line,
			    "timezone_aliases: %s: invalid time zone \"%s\"",
			    abbr, z->type == YNODE_SCALAR ? z->scalar : "");
		for (size_t k = 0; k < i; k++)
			if (ascii_ieq(cfg->aliases[k].abbr, abbr))
				return bad(c, al->key_lines[i],
				    "timezone_aliases: %s given twice", abbr);
		cfg->aliases[i].abbr = xstrdup(abbr);
		cfg->aliases[i].zone = xstrdup(z->scalar);
		cfg->naliases = i + 1;
	}
	return 0;
}

/* Read the SMTP password from a file: first line, no trailing newline. */
static int
read_password(struct ck *c, struct herald_config *cfg, const char *rel,
    int line)
{
	struct hbuf b = HBUF_INIT;
	struct herald_err e2;
	char *path = herald_config_path(cfg, rel);
	struct stat st;
	size_t n;
	int rc;

	memset(&e2, 0, sizeof(e2));
	if (stat(path, &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		/* as ssh does with a private key: refuse, do not just warn */
		rc = herald_errf(c->e, EX_CONFIG, c->file, line,
		    "smtp.password_file %s is readable by group or others (mode %03o); "
		    "chmod 600 it", path, (unsigned)(st.st_mode & 0777));
		free(path);
		return rc;
	}
	if (read_file(path, &b, &e2) != 0) {
		rc = herald_errf(c->e, EX_CONFIG, c->file, line,
		    "smtp.password_file %s: %s", path, e2.msg);
		free(path);
		return rc;
	}
	free(path);
	n = b.len;
	while (n > 0 && (b.data[n - 1] == '\n' || b.data[n - 1] == '\r'))
		n--;
	if (n == 0 || has_crlf_nul(b.data, n)) {
		hbuf_free(&b);
		return bad(c, line, "smtp.password_file %s must hold the "
		    "password on one line", rel);
	}
	b.data[n] = '\0';
	cfg->smtp.password = hbuf_detach(&b);
	return 0;
}

/*
 * u for an error message: the userinfo's password ("user:PW@") becomes
 * "***", and anything unprintable is shown as '?'.  Caller frees.
 */
static char *
redact_url(const char *u)
{
	const char *hs = strstr(u, "://"), *at, *end;
	struct hbuf b = HBUF_INIT;

	hs = hs ? hs + 3 : u;
	end = hs + strcspn(hs, "/?#");
	at = NULL;
	for (const char *p = hs; p < end; p++)
		if (*p == '@')
			at = p;	/* the last '@' ends the userinfo */
	for (const char *p = u; *p; p++) {
		if (at != NULL && p >= hs && p < at) {
			const char *colon = memchr(hs, ':', (size_t)(at - hs));

			if (colon != NULL) {
				hbuf_put(&b, hs, (size_t)(colon - hs));
				hbuf_puts(&b, ":***");
			} else
				hbuf_put(&b, hs, (size_t)(at - hs));
			p = at - 1;
			continue;
		}
		hbuf_putc(&b, (unsigned char)*p < 0x20 ||
		    (unsigned char)*p == 0x7f ? '?' : *p);
	}
	return hbuf_detach(&b);
}

static int
load_smtp(struct ck *c, const struct ynode *root, struct herald_config *cfg)
{
	static const char *const keys[] = {"url", "user", "password_file",
	    "ca_file", "timeout", "tls", "helo", NULL};
	const struct ynode *smtp;
	const char *env, *t;
	char *pwfile = NULL, *ca = NULL;
	bool url_from_env = false;
	int rc;

	cfg->smtp.timeout = 60;
	if ((rc = get_map(c, root, "smtp", &smtp)) != 0)
		return rc;
	if (smtp != NULL) {
		if ((rc = check_keys(c, smtp, "smtp", keys)) != 0 ||
		    (rc = get_str(c, smtp, "url", "smtp.url", &cfg->smtp.url)) ||
		    (rc = get_str(c, smtp, "user", "smtp.user",
		    &cfg->smtp.user)) ||
		    (rc = get_str(c, smtp, "ca_file", "smtp.ca_file", &ca)))
			return rc;
		if (ca != NULL) {
			cfg->smtp.ca_file = herald_config_path(cfg, ca);
			free(ca);
		}
		/* the name herald gives in EHLO: some relays refuse a bare
		 * host name, so a fully qualified one can be set */
		if ((rc = get_str(c, smtp, "helo", "smtp.helo",
		    &cfg->smtp.helo)) != 0)
			return rc;
		if (cfg->smtp.helo != NULL && (!herald_hostname_valid(
		    cfg->smtp.helo, strlen(cfg->smtp.helo)) ||
		    strchr(cfg->smtp.helo, '.') == NULL))
			return bad(c, key_line(smtp, "helo"), "smtp.helo must be "
			    "a fully qualified host name, not \"%s\"",
			    cfg->smtp.helo);
		if ((t = ynode_str(smtp, "tls")) != NULL) {
			/* "auto": TLS except to a loopback relay */
			if (strcmp(t, "required") == 0)
				cfg->smtp.tls_required = true;
			else if (strcmp(t, "auto") != 0)
				return bad(c, key_line(smtp, "tls"),
				    "smtp.tls must be required or auto, not "
				    "\"%s\"", t);
		} else if (ynode_get(smtp, "tls") != NULL)
			return bad(c, key_line(smtp, "tls"),
			    "'%s' must be required or auto", "smtp.tls");
		if ((t = ynode_str(smtp, "timeout")) != NULL) {
			char *end;
			long v = strtol(t, &end, 10);
			if (end == t || *end != '\0' || v < 1 || v > 3600)
				return bad(c, key_line(smtp, "timeout"),
				    "smtp.timeout must be seconds between 1 "
				    "and 3600, not \"%s\"", t);
			cfg->smtp.timeout = v;
		} else if (ynode_get(smtp, "timeout") != NULL)
			return bad(c, key_line(smtp, "timeout"),
			    "'%s' must be a number", "smtp.timeout");
	}

	/* the environment wins over the file, so CI can inject secrets */
	if ((env = getenv("HERALD_SMTP_URL")) != NULL && env[0] != '\0') {
		free(cfg->smtp.url);
		cfg->smtp.url = xstrdup(env);
		url_from_env = true;
	}
	if ((env = getenv("HERALD_SMTP_USER")) != NULL && env[0] != '\0') {
		free(cfg->smtp.user);
		cfg->smtp.user = xstrdup(env);
	}
	if ((env = getenv("HERALD_SMTP_PASSWORD")) != NULL && env[0] != '\0')
		cfg->smtp.password = xstrdup(env);
	else if (smtp != NULL) {
		if ((rc = get_str(c, smtp, "password_file",
		    "smtp.password_file", &pwfile)) != 0)
			return rc;
		if (pwfile != NULL) {
			rc = read_password(c, cfg, pwfile,
			    key_line(smtp, "password_file"));
			free(pwfile);
			if (rc != 0)
				return rc;
		}
	}

	if (cfg->smtp.url != NULL) {
		const char *u = cfg->smtp.url;
		if (!url_chars_ok(u) ||
		    !((strncmp(u, "smtp://", 7) == 0 && url_has_host(u, 7)) ||
		    (strncmp(u, "smtps://", 8) == 0 && url_has_host(u, 8)))) {
			/* never echo a password given in the URL, and blame
			 * the environment when the value came from there */
			char *shown = redact_url(u);

			if (url_from_env)
				rc = herald_errf(c->e, EX_CONFIG, NULL, 0,
				    "HERALD_SMTP_URL must be smtp://host[:port] "
				    "or smtps://host[:port], not \"%s\"", shown);
			else
				rc = bad(c, key_line(smtp, "url"), "smtp.url "
				    "must be smtp://host[:port] or "
				    "smtps://host[:port], not \"%s\"", shown);
			free(shown);
			return rc;
		}
	}
	if ((cfg->smtp.user != NULL && has_crlf_nul(cfg->smtp.user,
	    strlen(cfg->smtp.user))) || (cfg->smtp.password != NULL &&
	    has_crlf_nul(cfg->smtp.password, strlen(cfg->smtp.password))))
		return bad(c, key_line(smtp, "user"), "%s",
		    "SMTP user or password holds a line break");
	return 0;
}

static bool
selector_valid(const char *s)
{
	/* a selector is one or more DNS labels (RFC 6376 3.1) */
	return domain_valid(s);
}

/* One entry of dkim: (a mapping) into *k. */
static int
load_dkim_key(struct ck *c, const struct ynode *dk, int line,
    struct herald_config *cfg, struct herald_dkim_cfg *k)
{
	static const char *const keys[] = {"domain", "selector", "key_file",
	    NULL};
	char *key = NULL;
	struct stat st;
	int rc;

	k->line = line;
	if (dk->type != YNODE_MAP)
		return bad(c, line, "%s", "each dkim entry must be a "
		    "mapping: { domain, selector, key_file }");
	if ((rc = check_keys(c, dk, "dkim", keys)) != 0 ||
	    (rc = get_str(c, dk, "domain", "dkim.domain", &k->domain)) ||
	    (rc = get_str(c, dk, "selector", "dkim.selector", &k->selector)) ||
	    (rc = get_str(c, dk, "key_file", "dkim.key_file", &key)))
		return rc;
	if (key != NULL) {
		k->key_file = herald_config_path(cfg, key);
		free(key);
	}
	if (k->selector == NULL || k->key_file == NULL)
		return bad(c, line, "%s",
		    "dkim needs both selector and key_file");
	if (!selector_valid(k->selector))
		return bad(c, key_line(dk, "selector"), "dkim.selector \"%s\" "
		    "is not a DNS label", k->selector);
	if (k->domain == NULL)
		k->domain = xstrdup(cfg->from_domain);
	else if (!domain_valid(k->domain))
		return bad(c, key_line(dk, "domain"), "dkim.domain \"%s\" "
		    "is not a domain", k->domain);
	if (stat(k->key_file, &st) != 0)
		return herald_errf(c->e, EX_CONFIG, c->file,
		    key_line(dk, "key_file"), "dkim.key_file %s: %s",
		    k->key_file, strerror(errno));
	/* a private key: refuse it when others can read it, as ssh does */
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		return herald_errf(c->e, EX_CONFIG, c->file,
		    key_line(dk, "key_file"), "dkim.key_file %s is readable "
		    "by group or others (mode %03o); chmod 600 it",
		    k->key_file, (unsigned)(st.st_mode & 0777));
	return 0;
}

static int
load_dkim(struct ck *c, const struct ynode *root, struct herald_config *cfg)
{
	const struct ynode *dk = ynode_get(root, "dkim");
	size_t n;
	int rc;

	if (dk == NULL || (dk->type == YNODE_SCALAR && dk->scalar[0] == '\0'))
		return 0;
	if (dk->type == YNODE_SCALAR)
		return bad(c, dk->line, "%s", "dkim must be a list of "
		    "{ domain, selector, key_file }");
	n = dk->type == YNODE_SEQ ? dk->n : 1;
	if (n == 0)
		return 0;
	if (n > 8)
		return bad(c, dk->line, "%s", "dkim: at most 8 keys");
	cfg->dkim = xcalloc(n, sizeof(*cfg->dkim));
	for (size_t i = 0; i < n; i++) {
		cfg->ndkim = i + 1;
		const struct ynode *it = dk->type == YNODE_SEQ ?
		    dk->items[i] : dk;

		if ((rc = load_dkim_key(c, it, dk->type == YNODE_SEQ ?
		    it->line : key_line(root, "dkim"), cfg,
		    &cfg->dkim[i])) != 0)
			return rc;
	}
	return 0;
}

/* shortcodes: { NAME: inner|drop } */
static int
load_shortcodes(struct ck *c, const struct ynode *root,
    struct herald_config *cfg)
{
	const struct ynode *sc;
	int rc;

	if ((rc = get_map(c, root, "shortcodes", &sc)) != 0 || sc == NULL)
		return rc;
	cfg->shortcodes = xcalloc(sc->n + 1, sizeof(*cfg->shortcodes));
	for (size_t i = 0; i < sc->n; i++) {
		const struct ynode *v = sc->items[i];
		struct herald_sc_rule *r = &cfg->shortcodes[cfg->nshortcodes];

		if (v->type != YNODE_SCALAR || (strcmp(v->scalar, "inner") != 0
		    && strcmp(v->scalar, "drop") != 0))
			return herald_errf(c->e, EX_CONFIG, c->file,
			    sc->key_lines[i], "shortcodes.%s must be 'inner' "
			    "(keep what is between the tags) or 'drop'",
			    sc->keys[i]);
		r->name = xstrdup(sc->keys[i]);
		r->policy = v->scalar[0] == 'i' ? HERALD_SC_INNER :
		    HERALD_SC_DROP;
		cfg->nshortcodes++;
	}
	return 0;
}

static int
load_root(struct ck *c, const struct ynode *root, struct herald_config *cfg)
{
	static const char *const keys[] = {"site", "from", "reply_to",
	    "unsubscribe", "templates", "time", "timezone_aliases", "smtp",
	    "dkim", "shortcodes", NULL};
	const struct ynode *time;
	char *from = NULL, *tpl = NULL;
	int rc;

	if (root->type != YNODE_MAP)
		return bad(c, root->line, "%s", "herald.yml must be a mapping "
		    "of keys (site:, from:, ...)");
	if ((rc = check_keys(c, root, NULL, keys)) != 0)
		return rc;

	if ((rc = get_str(c, root, "from", "from", &from)) != 0)
		return rc;
	if (from == NULL)
		return bad(c, 0, "missing '%s' (\"Name <address>\")", "from");
	rc = parse_from(c, cfg, from, key_line(root, "from"));
	free(from);
	if (rc != 0)
		return rc;
	if ((rc = get_addr(c, root, "reply_to", "reply_to", &cfg->reply_to)))
		return rc;

	if ((rc = load_site(c, root, cfg)) != 0)
		return rc;
	if (cfg->site_title == NULL)
		cfg->site_title = xstrdup(cfg->from_name ? cfg->from_name :
		    cfg->from_domain);
	if (cfg->list_id == NULL)
		cfg->list_id = default_list_id(cfg);

	if ((rc = load_unsubscribe(c, root, cfg)) != 0)
		return rc;

	if ((rc = get_str(c, root, "templates", "templates", &tpl)) != 0)
		return rc;
	cfg->templates_dir = herald_config_path(cfg, tpl ? tpl : "templates");
	free(tpl);

	if ((rc = get_map(c, root, "time", &time)) != 0)
		return rc;
	if (time != NULL) {
		static const char *const tkeys[] = {"skeleton", NULL};
		if ((rc = check_keys(c, time, "time", tkeys)) != 0 ||
		    (rc = get_str(c, time, "skeleton", "time.skeleton",
		    &cfg->time_skeleton)))
			return rc;
		/* ICU skeletons are pattern letters only */
		for (const char *p = cfg->time_skeleton; p && *p; p++)
			if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' &&
			    *p <= 'z')))
				return bad(c, key_line(time, "skeleton"),
				    "time.skeleton \"%s\" must be ICU pattern "
				    "letters only, like EEEdMMMjmmz",
				    cfg->time_skeleton);
	}

	if ((rc = load_shortcodes(c, root, cfg)) != 0)
		return rc;
	if ((rc = load_aliases(c, root, cfg)) != 0 ||
	    (rc = load_smtp(c, root, cfg)) != 0 ||
	    (rc = load_dkim(c, root, cfg)) != 0)
		return rc;
	return 0;
}

int
herald_config_load(const char *path, struct herald_config *cfg,
    struct herald_err *e)
{
	struct hbuf b = HBUF_INIT;
	struct ynode *root = NULL;
	struct ck c;
	size_t bad_off;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	if (path == NULL)
		path = "herald.yml";
	cfg->path = xstrdup(path);
	cfg->dir = dir_of(path);
	cfg->state_dir = herald_config_path(cfg, ".herald");
	c.file = cfg->path;
	c.e = e;

	if ((rc = read_file(path, &b, e)) != 0) {
		if (rc == EX_NOINPUT)
			herald_errf(e, rc, path, 0, "no such config file "
			    "(use --config FILE)");
		goto fail;
	}
	if (!utf8_valid(b.data, b.len, &bad_off)) {
		rc = herald_errf(e, EX_CONFIG, path,
		    line_of_offset(b.data, bad_off), "invalid UTF-8");
		goto fail;
	}
	if ((rc = herald_yaml_parse(b.data, b.len, path, 1, &root, e)) != 0) {
		rc = e != NULL ? (e->code = EX_CONFIG) : EX_CONFIG;
		goto fail;
	}
	if ((rc = load_root(&c, root, cfg)) != 0)
		goto fail;
	hbuf_free(&b);
	ynode_free(root);
	return 0;
fail:
	hbuf_free(&b);
	ynode_free(root);
	herald_config_free(cfg);
	return rc;
}

void
herald_config_free(struct herald_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->dir);
	free(cfg->state_dir);
	free(cfg->site_title);
	free(cfg->site_base_url);
	free(cfg->list_id);
	free(cfg->from_name);
	free(cfg->from_addr);
	free(cfg->from_domain);
	free(cfg->reply_to);
	free(cfg->unsubscribe_url);
	free(cfg->unsubscribe_mailto);
	free(cfg->templates_dir);
	for (size_t i = 0; i < cfg->nshortcodes; i++)
		free(cfg->shortcodes[i].name);
	free(cfg->shortcodes);
	ynode_free(cfg->site_params);
	free(cfg->time_skeleton);
	for (size_t i = 0; i < cfg->naliases; i++) {
		free(cfg->aliases[i].abbr);
		free(cfg->aliases[i].zone);
	}
	free(cfg->aliases);
	free(cfg->smtp.url);
	free(cfg->smtp.user);
	if (cfg->smtp.password != NULL) {
		/* do not leave the secret lying in freed memory */
		volatile char *p = cfg->smtp.password;
		while (*p)
			*p++ = '\0';
		free(cfg->smtp.password);
	}
	free(cfg->smtp.ca_file);
	free(cfg->smtp.helo);
	for (size_t i = 0; i < cfg->ndkim; i++) {
		free(cfg->dkim[i].domain);
		free(cfg->dkim[i].selector);
		free(cfg->dkim[i].key_file);
	}
	free(cfg->dkim);
	memset(cfg, 0, sizeof(*cfg));
}
