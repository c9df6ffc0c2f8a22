/*
 * wrap.h - line breaking and display width for the plain-text part.
 *
 * Break opportunities come from ICU's line-break iterator (Unicode UAX #14,
 * with ICU's dictionaries for Thai, Lao, Khmer and Burmese, so CJK and Thai
 * text that has no spaces still wraps); display widths from utf8proc's
 * East Asian Width table (wide and fullwidth characters take 2 columns,
 * combining marks 0).  This is the only file that includes utf8proc and
 * ICU's ubrk.
 *
 * Input convention, shared with render.c:
 *   ' '                 a space that may break,
 *   HERALD_WRAP_GLUE    a space that may not (shown as ' '),
 *   HERALD_WRAP_HOLD .. HERALD_WRAP_END   a span never broken inside
 *                       (a localized time); the markers take no column and
 *                       are dropped from the output,
 *   '\n'                a hard line break.
 * A space-delimited word that is a URL (contains "://", or starts with
 * "www." or "mailto:") is never broken: it must stay clickable.
 */
#ifndef HERALD_WRAP_H
#define HERALD_WRAP_H

#include "util.h"

#define HERALD_WRAP_GLUE	'\x01'
#define HERALD_WRAP_HOLD	'\x02'
#define HERALD_WRAP_END		'\x03'

/* Terminal columns s[0..n) takes (markers 0, GLUE 1, invalid UTF-8 1). */
size_t herald_wrap_width(const char *s, size_t n);

/* Columns of the widest piece of s that can not be broken. */
size_t herald_wrap_min_width(const char *s, size_t n);

/*
 * Greedy wrap of s[0..n) into lines of at most width columns, each ended by
 * '\n' and appended to out, with no leading or trailing breakable spaces.
 * A piece wider than width stays whole on a line of its own.  GLUE stays
 * in the output (the caller shows it as a space); HOLD/END are dropped.
 * Returns the number of lines.
 */
size_t herald_wrap(const char *s, size_t n, size_t width, struct hbuf *out);

#endif
