/* SPDX-License-Identifier: MIT */
/*
 * An interval tree over inclusive [start, last] ranges of u64: an AVL tree
 * ordered by start, each node also knowing the largest `last` in its
 * subtree, so that "which nodes overlap [s, l]" costs O(log n + k).
 * Nodes are embedded in their owners; the tree never allocates.
 * Intervals may overlap each other; equal starts are allowed.
 */
#ifndef IOASID_CORE_INTERVAL_TREE_H
#define IOASID_CORE_INTERVAL_TREE_H

#include <stdbool.h>
#include <stdint.h>

struct itree_node {
	uint64_t start;
	uint64_t last;
	uint64_t subtree_last;
	struct itree_node *left, *right, *parent;
	int height;
};

struct itree {
	struct itree_node *root;
};

#define ITREE_INIT { .root = NULL }

static inline bool itree_empty(const struct itree *t)
{
	return !t->root;
}

void itree_insert(struct itree *t, struct itree_node *n);
void itree_remove(struct itree *t, struct itree_node *n);

/* The first node, in start order, overlapping [start, last]; or NULL. */
struct itree_node *itree_iter_first(const struct itree *t, uint64_t start,
				    uint64_t last);
/* The next node after n overlapping [start, last]; or NULL. */
struct itree_node *itree_iter_next(struct itree_node *n, uint64_t start,
				   uint64_t last);

#define itree_for_each(n, t, s, l) \
	for ((n) = itree_iter_first(t, s, l); (n); (n) = itree_iter_next(n, s, l))

/*
 * Walk [first, last] as alternating used spans (covered by at least one
 * node) and holes, in address order, merging overlapping nodes.
 */
struct itree_span {
	/* caller's bounds */
	uint64_t first, last;
	/* current span */
	bool is_hole;
	uint64_t start, end; /* inclusive */
	bool done;
	/* private */
	const struct itree *tree;
	struct itree_node *next;
	uint64_t cursor;
	bool cursor_past_end;
};

void itree_span_first(struct itree_span *s, const struct itree *t,
		      uint64_t first, uint64_t last);
void itree_span_next(struct itree_span *s);

#define itree_for_each_span(s, t, f, l) \
	for (itree_span_first(s, t, f, l); !(s)->done; itree_span_next(s))

/* Internal consistency check, for tests: 0 when sound. */
int itree_check(const struct itree *t);

#endif
