/*
 * campaign.h - the pipeline from post + list to per-recipient messages.
 *
 *   load post -> render once -> localize once per distinct (zone, locale)
 *   -> personalize per recipient -> MIME bytes
 *
 * A campaign is (post, list).  Opening one loads and validates everything
 * (config, post, templates, every row of the list) before a single message
 * exists, so bad input never leaves anything sent or half-written.
 * Per-recipient work is template substitution and encoding only.
 */
#ifndef HERALD_CAMPAIGN_H
#define HERALD_CAMPAIGN_H

#include <time.h>

#include "util.h"
#include "config.h"
#include "post.h"
#include "render.h"
#include "list.h"

struct herald_campaign_opts {
	const char *config_path;  /* NULL: herald.yml in the current directory */
	const char *post_path;
	const char *list_path;    /* NULL only for `check` without --list;
	                           * a bare NAME means lists/NAME.csv */
	const char *date;         /* --date YYYY-MM-DD or NULL */
	herald_list_warn_fn warn; /* duplicate rows etc.; may be NULL */
	herald_list_warn_fn bad_row; /* each bad list row but the last (which
	                          * is the error); NULL: stop at the first */
	void *warn_arg;
	bool readonly;            /* do not create the suppression store */
};

struct herald_dkim;
struct herald_variant;        /* private: one (zone, locale) rendering */
struct tplctx;                /* private: the templates' value tree */
struct herald_tokens;
struct herald_suppress;
struct herald_pieces;

struct herald_campaign {
	struct herald_config cfg;
	struct herald_post post;
	struct herald_doc *doc;
	struct herald_tpl *tpl_html;
	struct herald_tpl *tpl_text;
	char *list_path;
	char *list_name;          /* file name without directory and .csv */
	char id[17];              /* campaign id: hex of hash(post name or its
	                             campaign:, list name) */
	struct herald_list_stats stats;
	struct herald_tokens *tokens; /* unsubscribe secrets (token.h) */
	struct herald_suppress *sup;  /* the list's suppressions, or NULL */
	size_t nsuppressed;       /* suppressed rows skipped by the last walk */
	struct herald_variant **variants;  /* cache, one per (zone, locale) */
	struct herald_pieces *pieces; /* the variants' text, shared (pieces.h) */
	size_t nvariants;
	size_t variants_cap;
	char *list_id_hdr;        /* the List-Id value, built once */
	struct tplctx *tctx;      /* templates' value tree, reused per row */
	struct herald_dkim *dkim; /* NULL without dkim: keys (see dkim.h) */
	bool sign_later;          /* true: herald_campaign_message leaves the
	                             DKIM signing to the caller (a signer pool
	                             calls herald_dkim_sign on other threads) */
};

/* Load and validate.  Returns 0 or a sysexits code with e filled. */
int herald_campaign_open(const struct herald_campaign_opts *o,
    struct herald_campaign **out, struct herald_err *e);
void herald_campaign_free(struct herald_campaign *c);

struct herald_message {
	char *to_addr;            /* envelope recipient */
	char *message_id;         /* without brackets, stable per (campaign, rcpt) */
	struct hbuf eml;          /* the whole message, CRLF */
	struct hbuf html;         /* the rendered HTML part (for preview) */
	struct hbuf text;         /* the text part, for text-only readers only */
	const char *const *times; /* the session times as this reader reads
	                           * them (owned by the campaign) */
	size_t ntimes;
};

/*
 * Build the message for r, dated date.  subject_prefix (e.g. "[TEST] ") may
 * be NULL; with one the message is a test copy, whose Message-ID is its
 * own (never the stable one of that recipient).  out is reset first and may be reused across calls (buffers are
 * kept to avoid reallocating).  Returns 0 or EX_DATAERR.
 */
int herald_campaign_message(struct herald_campaign *c,
    const struct herald_recipient *r, time_t date, const char *subject_prefix,
    struct herald_message *out, struct herald_err *e);
void herald_message_free(struct herald_message *m);

/* Stable Message-ID (no brackets) for an address in this campaign; caller
 * frees. */
char *herald_campaign_message_id(const struct herald_campaign *c,
    const char *addr);

/*
 * Stream the list, skipping duplicate addresses (case-insensitive) and
 * suppressed ones (suppress.h, as they are when the walk starts: one query,
 * then a hash per row; counted in c->nsuppressed), calling fn for
 * each recipient in file order.  fn returns 0 to go on, anything else
 * stops the walk and is returned.  The _sup form calls suppressed_fn (if
 * not NULL) for each suppressed recipient instead of skipping it silently.
 */
typedef int (*herald_rcpt_fn)(void *arg, const struct herald_recipient *r);
int herald_campaign_each(struct herald_campaign *c, herald_rcpt_fn fn,
    void *arg, struct herald_err *e);
int herald_campaign_each_sup(struct herald_campaign *c, herald_rcpt_fn fn,
    herald_rcpt_fn suppressed_fn, void *arg, struct herald_err *e);

#endif
