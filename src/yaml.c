/*
 * yaml.c - a small read-only tree over libyaml's event parser (YAML 1.1 as
 * libyaml reads it), shared by post front matter and herald.yml.
 *
 * Only this file includes <yaml.h>.  We keep what herald needs: maps with
 * scalar keys, sequences and scalars as UTF-8 text, each with the line it
 * started on.  Anchors and aliases are supported (front matter uses them,
 * e.g. eventUrl: &eventUrl ...): an alias is a copy of its anchor's node,
 * and the nodes a document builds, copies included, are capped so a
 * "billion laughs" document fails fast instead of eating memory.
 * Nesting is capped for the same reason (the builder recurses).
 */
#include "ynode.h"

#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#define YAML_MAX_DEPTH 64
#define YAML_MAX_NODES 100000	/* nodes in one document, alias copies too */

struct anchor {
	char *name;
	struct ynode *node;     /* owned by the tree; valid once built */
};

struct ybuild {
	yaml_parser_t parser;
	const char *file;
	int first_line;
	size_t len;
	struct herald_err *e;
	struct anchor *anchors;
	size_t nanchors;
	size_t nodes;           /* built so far, alias copies included */
};

static int
ynode_line(const struct ybuild *b, const yaml_mark_t *m)
{
	return b->first_line + (int)m->line;
}

/* Report libyaml's own error, at the line of the problem it names. */
static int
parser_error(struct ybuild *b)
{
	yaml_parser_t *p = &b->parser;
	const char *problem = p->problem ? p->problem : "malformed document";
	int line = ynode_line(b, &p->problem_mark);

	/* An unclosed [ or { is only noticed at the end of the document;
	 * the line where it was opened is the one to fix. */
	if (p->context != NULL && p->problem_mark.index >= b->len)
		line = ynode_line(b, &p->context_mark);

	if (p->context != NULL)
		return herald_errf(b->e, EX_DATAERR, b->file, line,
		    "invalid YAML: %s %s", problem, p->context);
	return herald_errf(b->e, EX_DATAERR, b->file, line,
	    "invalid YAML: %s", problem);
}

static int
next_event(struct ybuild *b, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&b->parser, ev))
		return parser_error(b);
	return 0;
}

static struct ynode *
ynode_new(enum ynode_type type, int line)
{
	struct ynode *n = xcalloc(1, sizeof(*n));

	n->type = type;
	n->line = line;
	return n;
}

static void
ynode_append(struct ynode *n, char *key, int kline, struct ynode *item)
{
	/* grow by doubling once past a small start; n is tiny in practice */
	if ((n->n & (n->n - 1)) == 0) {
		size_t cap = n->n ? n->n * 2 : 4;
		if (n->type == YNODE_MAP) {
			n->keys = xrealloc(n->keys, cap * sizeof(*n->keys));
			n->key_lines = xrealloc(n->key_lines,
			    cap * sizeof(*n->key_lines));
		}
		n->items = xrealloc(n->items, cap * sizeof(*n->items));
	}
	if (n->type == YNODE_MAP) {
		n->keys[n->n] = key;
		n->key_lines[n->n] = kline;
	}
	n->items[n->n++] = item;
}

static int build_node(struct ybuild *b, yaml_event_t *ev, int depth,
    struct ynode **out);
struct keyset;
static int build_items(struct ybuild *b, struct ynode *n,
    yaml_event_type_t end, int depth, struct keyset *ks);
static int build_anchored(struct ybuild *b, yaml_event_t *ev, int depth,
    struct ynode **out);

static const char *
anchor_of(const yaml_event_t *ev)
{
	const yaml_char_t *anchor = NULL;

	if (ev->type == YAML_SCALAR_EVENT)
		anchor = ev->data.scalar.anchor;
	else if (ev->type == YAML_SEQUENCE_START_EVENT)
		anchor = ev->data.sequence_start.anchor;
	else if (ev->type == YAML_MAPPING_START_EVENT)
		anchor = ev->data.mapping_start.anchor;
	return (const char *)anchor;
}

static int
count_node(struct ybuild *b, int line, size_t n)
{
	b->nodes += n;
	if (b->nodes > YAML_MAX_NODES && b->nanchors == 0)
		/* no alias involved: just a very large document */
		return herald_errf(b->e, EX_DATAERR, b->file, line,
		    "invalid YAML: more than %d values", YAML_MAX_NODES);
	if (b->nodes > YAML_MAX_NODES)
		return herald_errf(b->e, EX_DATAERR, b->file, line,
		    "invalid YAML: aliases expand to more than %d values",
		    YAML_MAX_NODES);
	return 0;
}

/*
 * The keys of one map being built, as a set of hashes (open addressing,
 * grown at half load), so finding duplicates stays linear: 200,000 keys
 * once took minutes with a scan per key.  A hash match is confirmed by
 * comparing the keys themselves.
 */
struct keyset {
	size_t *slot;	/* index + 1 into the map's keys; 0 is empty */
	uint64_t *hash;
	size_t cap;
};

static bool
keyset_add(struct keyset *ks, const struct ynode *n, const char *key)
{
	uint64_t h = hash64(key, strlen(key));
	size_t i;

	if ((n->n + 1) * 2 > ks->cap) {
		size_t ncap = ks->cap ? ks->cap * 2 : 64;
		size_t *ns = xcalloc(ncap, sizeof(*ns));
		uint64_t *nh = xcalloc(ncap, sizeof(*nh));

		for (size_t k = 0; k < ks->cap; k++) {
			if (ks->slot[k] == 0)
				continue;
			for (i = ks->hash[k] & (ncap - 1); ns[i];
			    i = (i + 1) & (ncap - 1))
				;
			ns[i] = ks->slot[k];
			nh[i] = ks->hash[k];
		}
		free(ks->slot);
		free(ks->hash);
		ks->slot = ns;
		ks->hash = nh;
		ks->cap = ncap;
	}
	for (i = h & (ks->cap - 1); ks->slot[i]; i = (i + 1) & (ks->cap - 1))
		if (ks->hash[i] == h &&
		    strcmp(n->keys[ks->slot[i] - 1], key) == 0)
			return false;
	ks->slot[i] = n->n + 1;	/* the key is appended at index n->n */
	ks->hash[i] = h;
	return true;
}

static size_t
tree_size(const struct ynode *n)
{
	size_t k = 1;

	for (size_t i = 0; i < n->n; i++)
		k += tree_size(n->items[i]);
	return k;
}

static struct ynode *
ynode_copy(const struct ynode *n, int line)
{
	struct ynode *c = ynode_new(n->type, line);

	c->scalar = xstrdup(n->scalar);
	c->n = n->n;
	if (n->n > 0) {
		c->items = xcalloc(n->n, sizeof(*c->items));
		if (n->keys != NULL) {
			c->keys = xcalloc(n->n, sizeof(*c->keys));
			c->key_lines = xcalloc(n->n, sizeof(*c->key_lines));
		}
	}
	for (size_t i = 0; i < n->n; i++) {
		c->items[i] = ynode_copy(n->items[i], line);
		if (n->keys != NULL) {
			c->keys[i] = xstrdup(n->keys[i]);
			c->key_lines[i] = line;
		}
	}
	return c;
}

static int
build_collection(struct ybuild *b, struct ynode *n, yaml_event_type_t end,
    int depth)
{
	struct keyset ks = {0};
	int rc = build_items(b, n, end, depth, &ks);

	free(ks.slot);
	free(ks.hash);
	return rc;
}

static int
build_items(struct ybuild *b, struct ynode *n, yaml_event_type_t end,
    int depth, struct keyset *ks)
{
	yaml_event_t ev;
	int rc;

	for (;;) {
		char *key = NULL;
		int kline = 0;
		struct ynode *item = NULL;

		if ((rc = next_event(b, &ev)) != 0)
			return rc;
		if (ev.type == end) {
			yaml_event_delete(&ev);
			return 0;
		}
		if (n->type == YNODE_MAP) {
			size_t klen;

			kline = ynode_line(b, &ev.start_mark);
			if (ev.type != YAML_SCALAR_EVENT) {
				yaml_event_delete(&ev);
				return herald_errf(b->e, EX_DATAERR, b->file,
				    kline, "invalid YAML: a key must be "
				    "plain text");
			}
			klen = ev.data.scalar.length;
			key = xstrndup((const char *)ev.data.scalar.value, klen);
			yaml_event_delete(&ev);
			if (strlen(key) != klen)
				rc = herald_errf(b->e, EX_DATAERR, b->file,
				    kline, "invalid YAML: NUL character in a key");
			else if (!keyset_add(ks, n, key))
				rc = herald_errf(b->e, EX_DATAERR, b->file,
				    kline, "invalid YAML: duplicate key '%s'", key);
			if (rc != 0) {
				free(key);
				return rc;
			}
			if ((rc = next_event(b, &ev)) != 0) {
				free(key);
				return rc;
			}
		}
		rc = build_anchored(b, &ev, depth + 1, &item);
		yaml_event_delete(&ev);
		if (rc != 0) {
			free(key);
			return rc;
		}
		ynode_append(n, key, kline, item);
	}
}

/* Build the node that starts with ev (which the caller deletes). */
static int
build_node(struct ybuild *b, yaml_event_t *ev, int depth, struct ynode **out)
{
	int line = ynode_line(b, &ev->start_mark);
	struct ynode *n;
	int rc;

	*out = NULL;
	if (depth > YAML_MAX_DEPTH)
		return herald_errf(b->e, EX_DATAERR, b->file, line,
		    "invalid YAML: nested more than %d deep", YAML_MAX_DEPTH);
	if (ev->type != YAML_ALIAS_EVENT && (rc = count_node(b, line, 1)))
		return rc;
	switch (ev->type) {
	case YAML_ALIAS_EVENT: {
		const char *name = (const char *)ev->data.alias.anchor;
		const struct ynode *target = NULL;

		/* the latest definition of a name wins, as in YAML */
		for (size_t i = b->nanchors; i > 0; i--)
			if (strcmp(b->anchors[i - 1].name, name) == 0) {
				target = b->anchors[i - 1].node;
				break;
			}
		if (target == NULL)
			return herald_errf(b->e, EX_DATAERR, b->file, line,
			    "invalid YAML: alias *%s has no anchor &%s before "
			    "it", name, name);
		if ((rc = count_node(b, line, tree_size(target))) != 0)
			return rc;
		*out = ynode_copy(target, line);
		return 0;
	}
	case YAML_SCALAR_EVENT:
		n = ynode_new(YNODE_SCALAR, line);
		n->scalar = xstrndup((const char *)ev->data.scalar.value,
		    ev->data.scalar.length);
		if (strlen(n->scalar) != ev->data.scalar.length) {
			ynode_free(n);
			return herald_errf(b->e, EX_DATAERR, b->file, line,
			    "invalid YAML: NUL character in a value");
		}
		*out = n;
		return 0;
	case YAML_SEQUENCE_START_EVENT:
		n = ynode_new(YNODE_SEQ, line);
		rc = build_collection(b, n, YAML_SEQUENCE_END_EVENT, depth);
		break;
	case YAML_MAPPING_START_EVENT:
		n = ynode_new(YNODE_MAP, line);
		rc = build_collection(b, n, YAML_MAPPING_END_EVENT, depth);
		break;
	default:
		return herald_errf(b->e, EX_DATAERR, b->file, line,
		    "invalid YAML: unexpected event");
	}
	if (rc != 0) {
		ynode_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

/* Build, and remember the node under its &anchor for later aliases. */
static int
build_anchored(struct ybuild *b, yaml_event_t *ev, int depth,
    struct ynode **out)
{
	const char *anchor = anchor_of(ev);
	char *name = anchor ? xstrdup(anchor) : NULL;
	int rc = build_node(b, ev, depth, out);

	if (rc != 0 || name == NULL) {
		free(name);
		return rc;
	}
	b->anchors = xrealloc(b->anchors, (b->nanchors + 1) *
	    sizeof(*b->anchors));
	b->anchors[b->nanchors].name = name;
	b->anchors[b->nanchors++].node = *out;
	return 0;
}

int
herald_yaml_parse(const char *data, size_t len, const char *file,
    int first_line, struct ynode **out, struct herald_err *e)
{
	struct ybuild b;
	yaml_event_t ev;
	struct ynode *root = NULL;
	int rc;

	*out = NULL;
	memset(&b, 0, sizeof(b));
	b.file = file;
	b.first_line = first_line;
	b.len = len;
	b.e = e;
	if (!yaml_parser_initialize(&b.parser))
		return herald_errf(e, EX_SOFTWARE, file, 0,
		    "cannot initialize the YAML parser");
	yaml_parser_set_input_string(&b.parser, (const unsigned char *)data,
	    len);
	yaml_parser_set_encoding(&b.parser, YAML_UTF8_ENCODING);

	/* stream-start, then at most one document */
	if ((rc = next_event(&b, &ev)) != 0)
		goto out;
	yaml_event_delete(&ev);
	if ((rc = next_event(&b, &ev)) != 0)
		goto out;
	if (ev.type == YAML_DOCUMENT_START_EVENT) {
		yaml_event_delete(&ev);
		if ((rc = next_event(&b, &ev)) != 0)
			goto out;
		rc = build_anchored(&b, &ev, 0, &root);
		yaml_event_delete(&ev);
		if (rc != 0)
			goto out;
		if ((rc = next_event(&b, &ev)) != 0)	/* document end */
			goto out;
		yaml_event_delete(&ev);
		if ((rc = next_event(&b, &ev)) != 0)
			goto out;
	}
	if (ev.type != YAML_STREAM_END_EVENT) {
		rc = herald_errf(e, EX_DATAERR, file,
		    ynode_line(&b, &ev.start_mark),
		    "invalid YAML: more than one document");
		yaml_event_delete(&ev);
		goto out;
	}
	yaml_event_delete(&ev);
	if (root == NULL)
		root = ynode_new(YNODE_MAP, first_line);
	/* A plain empty document ("" or only comments) is an empty map too. */
	if (root->type == YNODE_SCALAR && root->scalar[0] == '\0') {
		int line = root->line;
		ynode_free(root);
		root = ynode_new(YNODE_MAP, line);
	}
	*out = root;
	root = NULL;
	rc = 0;
out:
	ynode_free(root);
	for (size_t i = 0; i < b.nanchors; i++)
		free(b.anchors[i].name);
	free(b.anchors);
	yaml_parser_delete(&b.parser);
	return rc;
}

const struct ynode *
ynode_get(const struct ynode *map, const char *key)
{
	if (map == NULL || map->type != YNODE_MAP || key == NULL)
		return NULL;
	for (size_t i = 0; i < map->n; i++)
		if (strcmp(map->keys[i], key) == 0)
			return map->items[i];
	return NULL;
}

const char *
ynode_str(const struct ynode *map, const char *key)
{
	const struct ynode *n = ynode_get(map, key);

	return n != NULL && n->type == YNODE_SCALAR ? n->scalar : NULL;
}

void
ynode_free(struct ynode *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->n; i++) {
		if (n->keys != NULL)
			free(n->keys[i]);
		ynode_free(n->items[i]);
	}
	free(n->keys);
	free(n->key_lines);
	free(n->items);
	free(n->scalar);
	free(n);
}
