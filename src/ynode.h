/*
 * ynode.h - a small read-only tree over libyaml, shared by the post's front
 * matter and herald.yml.  This module is the only one that includes
 * <yaml.h>.  Aliases are copies of their anchor's node, with a bound on
 * expansion; scalars are kept as UTF-8 text.
 * (Not named yaml.h: with src/ on the include path it would shadow
 * libyaml's own <yaml.h>.)
 */
#ifndef HERALD_YNODE_H
#define HERALD_YNODE_H

#include "util.h"

enum ynode_type { YNODE_SCALAR, YNODE_MAP, YNODE_SEQ };

struct ynode {
	enum ynode_type type;
	int line;               /* 1-based line in the file it came from */
	char *scalar;           /* YNODE_SCALAR: the text */
	size_t n;               /* YNODE_MAP / YNODE_SEQ: number of items */
	char **keys;            /* YNODE_MAP: n keys */
	int *key_lines;         /* YNODE_MAP: the line of each key */
	struct ynode **items;   /* YNODE_MAP / YNODE_SEQ: n values */
};

/*
 * Parse one YAML document held in data[0..len).  Line numbers are reported
 * as first_line + the line inside data, so front matter that starts on line
 * 2 of a post reports the post's lines.  An empty document gives an empty
 * map.  The caller frees *out with ynode_free().
 * Returns 0, or EX_DATAERR with e naming file:line.
 */
int herald_yaml_parse(const char *data, size_t len, const char *file,
    int first_line, struct ynode **out, struct herald_err *e);

/* Value of key in a map, or NULL (also when map is NULL or not a map). */
const struct ynode *ynode_get(const struct ynode *map, const char *key);
/* Scalar text of key in a map, or NULL when absent or not a scalar. */
const char *ynode_str(const struct ynode *map, const char *key);
void ynode_free(struct ynode *n);

#endif
