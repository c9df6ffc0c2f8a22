/*
 * toml.h - TOML front matter (Hugo, Zola: between "+++" lines) read into
 * the ynode tree YAML front matter uses.  Values are kept as the text
 * written (numbers, booleans, dates); tables are maps, arrays sequences.
 */
#ifndef HERALD_TOML_H
#define HERALD_TOML_H

#include "ynode.h"

/*
 * Parse data[0..len).  Lines are reported as first_line + the line inside
 * data.  The caller frees *out with ynode_free().
 * Returns 0, or EX_DATAERR with e naming file:line.
 */
int herald_toml_parse(const char *data, size_t len, const char *file,
    int first_line, struct ynode **out, struct herald_err *e);

#endif
