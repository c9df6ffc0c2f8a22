/*
 * config.h - herald.yml: site, sender, unsubscribe, SMTP and time settings.
 *
 *   site:      { title, base_url, list_id }
 *   from:      "Name <addr@domain>"
 *   reply_to:  addr                              (optional)
 *   unsubscribe: { url: https://..., mailto: addr }   (url required)
 *   templates: templates                        (directory, default)
 *   time:      { skeleton: "EEEdMMMjmmz" }       (ICU skeleton)
 *   timezone_aliases: { IST: Asia/Kolkata, ... }
 *   smtp:      { url, user, password_file, ca_file, timeout, helo,
 *                tls: auto|required }   (auto: TLS except to loopback)
 *   dkim:      - { domain, selector, key_file }   (one signature each;
 *                domain defaults to the From domain; a single mapping
 *                is taken as a list of one)
 *   dkim:      { domain, selector, key_file }
 *   shortcodes: { NAME: inner|drop, ... }   (site shortcodes without a
 *                templates/shortcodes/NAME.html|.txt pair)
 *   site.params: { ... }  ({{< param >}} and {{ site.x }} fall back here)
 *
 * Relative paths are relative to the directory holding herald.yml; state
 * (journal, unsubscribe secret) lives in .herald/ beside it.
 * HERALD_SMTP_URL / HERALD_SMTP_USER / HERALD_SMTP_PASSWORD override.
 */
#ifndef HERALD_CONFIG_H
#define HERALD_CONFIG_H

#include "util.h"

struct herald_alias {
	char *abbr;   /* e.g. "IST" */
	char *zone;   /* e.g. "Asia/Kolkata" */
};

/* One DKIM key (dkim.h signs with it). */
struct herald_dkim_cfg {
	char *domain;           /* d=, lower-case as written */
	char *selector;         /* s= */
	char *key_file;         /* resolved path of a PEM private key */
	int line;               /* herald.yml line of this entry */
};

enum herald_sc_policy { HERALD_SC_INNER = 1, HERALD_SC_DROP };

struct herald_sc_rule {
	char *name;                   /* shortcode or include name */
	enum herald_sc_policy policy;
};

struct ynode;

struct herald_config {
	char *path;             /* the herald.yml read */
	char *dir;              /* its directory ("." for a bare name) */
	char *state_dir;        /* dir/.herald */

	char *site_title;
	char *site_base_url;    /* no trailing slash */
	char *list_id;          /* e.g. "news.example.org" (RFC 2919 id) */

	char *from_name;        /* UTF-8 display name, may be NULL */
	char *from_addr;        /* addr-spec */
	char *from_domain;      /* the part after '@' in from_addr */
	char *reply_to;         /* addr-spec or NULL */

	char *unsubscribe_url;  /* https URL; token appended as ?token= */
	char *unsubscribe_mailto; /* addr-spec or NULL */

	char *templates_dir;    /* resolved path */
	char *time_skeleton;    /* ICU skeleton for session times */

	struct herald_alias *aliases;
	size_t naliases;

	struct herald_sc_rule *shortcodes;   /* shortcodes: policies */
	size_t nshortcodes;
	struct ynode *site_params;  /* site.params (a map) or NULL */

	struct {
		char *url;
		char *user;
		char *password;        /* from env or password_file; never logged */
		char *ca_file;
		bool tls_required;     /* smtp.tls: required (even to loopback) */
		long timeout;          /* seconds for a server response */
		char *helo;            /* EHLO name, or NULL for libcurl's */
	} smtp;

	struct herald_dkim_cfg *dkim;   /* NULL when no dkim: section */
	size_t ndkim;
};

/*
 * Load path (when path is NULL: "herald.yml" in the current directory).
 * Returns 0, EX_NOINPUT/EX_CONFIG with e filled (file:line of the bad key).
 * Free with herald_config_free().
 */
int herald_config_load(const char *path, struct herald_config *cfg,
    struct herald_err *e);
void herald_config_free(struct herald_config *cfg);

/* Resolve a path relative to the config's directory (caller frees). */
char *herald_config_path(const struct herald_config *cfg, const char *rel);

#endif
