/*
 * suggest.h - "did you mean" for words the user got almost right: options
 * (--lsit), zones (Europe/Stokholm), locales, list names.  Closeness is the
 * optimal string alignment distance (Levenshtein plus swapped neighbours),
 * compared case-insensitively; a candidate is offered only when it is
 * close enough that the guess is useful and no other is as close.
 */
#ifndef HERALD_SUGGEST_H
#define HERALD_SUGGEST_H

#include <stddef.h>

/* The candidate closest to word, or NULL when none is close enough or two
 * are equally close.  Returns a pointer into cands. */
const char *herald_suggest(const char *word, const char *const *cands,
    size_t n);

/* The same over every zone name in the system's tzdata (tzdata.zi: zones
 * and links); the result is copied into out (outsz bytes).  0 if none. */
int herald_suggest_zone(const char *word, char *out, size_t outsz);

/* The same over lists/ *.csv in dir ("lists/NAME.csv" into out). */
int herald_suggest_list(const char *dir, const char *word, char *out,
    size_t outsz);

#endif
