/*
 * clip.h - Gmail's clipping of long messages.  Gmail shows a message
 * whose HTML is over about 102 KB cut short, with "[Message clipped] View
 * entire message", and the end it hides is where the unsubscribe link is.
 * Google publishes no figure; 102 KB is what Email on Acid ("Gmail 12
 * Things Update", item 3) and the measurements in
 * github.com/hteumeuleu/email-bugs/issues/41 report, and Spam Resource
 * ("What is Gmail clipping and what to do about it", 2022) found the limit
 * near 105 KB and dependent on the transfer encoding, so the size counted
 * here is the HTML part as it stands in the message (quoted-printable), the
 * larger of the two.
 */
#ifndef HERALD_CLIP_H
#define HERALD_CLIP_H

#include <stddef.h>
#include <time.h>

#include "campaign.h"

#define HERALD_CLIP_BYTES ((size_t)102 * 1024)

/* The largest HTML part seen, whose it is, and how many were over. */
struct herald_clip {
	size_t max;               /* bytes of the largest HTML part */
	char *addr;               /* its reader (owned), or NULL */
	size_t over;              /* readers over HERALD_CLIP_BYTES */
};

/* Bytes of m's text/html part body as written in m->eml; 0 when the
 * message has none (a text-only reader). */
size_t herald_clip_html_size(const struct herald_message *m);

/* Count r's message m in k. */
void herald_clip_note(struct herald_clip *k, const struct herald_recipient *r,
    const struct herald_message *m);

/*
 * Build every reader's message (each row of the list, or the sample reader
 * `preview` uses when the campaign has no list) only to measure it, into k.
 * Nothing is signed or written.  Returns 0 or a sysexits code with e filled.
 */
int herald_clip_measure(struct herald_campaign *c, time_t date,
    struct herald_clip *k, struct herald_err *e);

/* The reader `preview` and `check` use without a list. */
void herald_clip_sample(struct herald_recipient *r);

void herald_clip_free(struct herald_clip *k);

#endif
