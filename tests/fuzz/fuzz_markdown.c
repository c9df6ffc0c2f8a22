/*
 * fuzz_markdown.c - a post body (Markdown, session times, shortcodes)
 * through the whole pipeline: campaign open (parse, find times), one
 * message for a reader in another zone and locale (localize, render,
 * templates, MIME), whose bytes must keep the message rules
 * (fuzz_util.h).
 */
#include "fuzz_util.h"

#include "campaign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const cols[] = { "email", "name", "timezone",
	    "locale" };
	static const char *const vals[] = { "ann@example.org", "Ann",
	    "Asia/Kolkata", "fr-FR" };
	struct herald_campaign_opts o = {0};
	struct herald_campaign *c = NULL;
	struct herald_message msg = {0};
	struct herald_recipient r = {
		.line = 2, .email = vals[0], .name = vals[1],
		.timezone = vals[2], .locale = vals[3],
		.ncols = 4, .cols = cols, .values = vals,
	};
	struct herald_err e = {0};
	char cfgp[512];

	snprintf(cfgp, sizeof(cfgp), "%s/herald.yml", fuzz_site());
	o.config_path = cfgp;
	o.post_path = fuzz_file("2030-01-07-post.md", "---\ntitle: Fuzz\n"
	    "timezone: America/New_York\n---\n", data, size);
	if (herald_campaign_open(&o, &c, &e) != 0)
		return 0;
	if (herald_campaign_message(c, &r, 1900000000, NULL, &msg, &e) == 0)
		fuzz_check_message(msg.eml.data, msg.eml.len);
	herald_message_free(&msg);
	herald_campaign_free(c);
	return 0;
}
