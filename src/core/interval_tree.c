/* SPDX-License-Identifier: MIT */
#include <stddef.h>

#include "interval_tree.h"

static int height(const struct itree_node *n)
{
	return n ? n->height : 0;
}

/* Recompute a node's height and subtree_last from its children. */
static void update(struct itree_node *n)
{
	int hl = height(n->left), hr = height(n->right);
	uint64_t m = n->last;

	n->height = (hl > hr ? hl : hr) + 1;
	if (n->left && n->left->subtree_last > m)
		m = n->left->subtree_last;
	if (n->right && n->right->subtree_last > m)
		m = n->right->subtree_last;
	n->subtree_last = m;
}

/* Point whatever referred to `old` (its parent or the root) at `new`. */
static void replace_child(struct itree *t, struct itree_node *parent,
			  struct itree_node *old, struct itree_node *new)
{
	if (!parent)
		t->root = new;
	else if (parent->left == old)
		parent->left = new;
	else
		parent->right = new;
	if (new)
		new->parent = parent;
}

static struct itree_node *rotate_left(struct itree *t, struct itree_node *x)
{
	struct itree_node *y = x->right;

	replace_child(t, x->parent, x, y);
	x->right = y->left;
	if (x->right)
		x->right->parent = x;
	y->left = x;
	x->parent = y;
	update(x);
	update(y);
	return y;
}

static struct itree_node *rotate_right(struct itree *t, struct itree_node *x)
{
	struct itree_node *y = x->left;

	replace_child(t, x->parent, x, y);
	x->left = y->right;
	if (x->left)
		x->left->parent = x;
	y->right = x;
	x->parent = y;
	update(x);
	update(y);
	return y;
}

/* Restore balance and augmentation from n up to the root. */
static void rebalance_up(struct itree *t, struct itree_node *n)
{
	while (n) {
		int bal;

		update(n);
		bal = height(n->left) - height(n->right);
		if (bal > 1) {
			if (height(n->left->left) < height(n->left->right))
				rotate_left(t, n->left);
			n = rotate_right(t, n);
		} else if (bal < -1) {
			if (height(n->right->right) < height(n->right->left))
				rotate_right(t, n->right);
			n = rotate_left(t, n);
		}
		n = n->parent;
	}
}

void itree_insert(struct itree *t, struct itree_node *n)
{
	struct itree_node *parent = NULL, **link = &t->root;

	while (*link) {
		parent = *link;
		link = n->start < parent->start ? &parent->left : &parent->right;
	}
	n->left = n->right = NULL;
	n->parent = parent;
	n->height = 1;
	n->subtree_last = n->last;
	*link = n;
	rebalance_up(t, parent);
}

void itree_remove(struct itree *t, struct itree_node *n)
{
	struct itree_node *fix;

	if (n->left && n->right) {
		/* Put the in-order successor s in n's place. */
		struct itree_node *s = n->right;

		while (s->left)
			s = s->left;
		if (s->parent == n) {
			fix = s;
		} else {
			fix = s->parent;
			fix->left = s->right;
			if (s->right)
				s->right->parent = fix;
			s->right = n->right;
			s->right->parent = s;
		}
		s->left = n->left;
		s->left->parent = s;
		replace_child(t, n->parent, n, s);
	} else {
		struct itree_node *child = n->left ? n->left : n->right;

		fix = n->parent;
		replace_child(t, n->parent, n, child);
	}
	rebalance_up(t, fix);
	n->left = n->right = n->parent = NULL;
}

/* Leftmost node in subtree n overlapping [start, last]. */
static struct itree_node *subtree_first(struct itree_node *n, uint64_t start,
					uint64_t last)
{
	while (n) {
		/*
		 * Anything in the left subtree that reaches start begins no
		 * later than n, so if an overlap exists there it is the
		 * leftmost; if not, nothing to the right can begin early
		 * enough either.
		 */
		if (n->left && n->left->subtree_last >= start) {
			n = n->left;
			continue;
		}
		if (n->start > last)
			return NULL;
		if (n->last >= start)
			return n;
		if (n->right && n->right->subtree_last >= start) {
			n = n->right;
			continue;
		}
		return NULL;
	}
	return NULL;
}

struct itree_node *itree_iter_first(const struct itree *t, uint64_t start,
				    uint64_t last)
{
	if (!t->root || t->root->subtree_last < start)
		return NULL;
	return subtree_first(t->root, start, last);
}

struct itree_node *itree_iter_next(struct itree_node *n, uint64_t start,
				   uint64_t last)
{
	for (;;) {
		struct itree_node *prev;

		if (n->right && n->right->subtree_last >= start)
			return subtree_first(n->right, start, last);
		/* Climb until we arrive from a left child. */
		do {
			prev = n;
			n = n->parent;
			if (!n)
				return NULL;
		} while (prev == n->right);
		if (n->start > last)
			return NULL;
		if (n->last >= start)
			return n;
	}
}

static void span_fill(struct itree_span *s)
{
	struct itree_node *n = s->next;
	uint64_t used_last;

	if (s->cursor_past_end || s->cursor > s->last) {
		s->done = true;
		return;
	}
	if (!n || n->start > s->cursor) {
		/* A hole up to the next node, or to the end. */
		s->is_hole = true;
		s->start = s->cursor;
		s->end = (n && n->start - 1 < s->last) ? n->start - 1 : s->last;
	} else {
		/* A used span: absorb every node that touches it. */
		used_last = n->last;
		for (n = itree_iter_next(n, s->first, s->last); n;
		     n = itree_iter_next(n, s->first, s->last)) {
			if (used_last != UINT64_MAX && n->start > used_last + 1)
				break;
			if (n->last > used_last)
				used_last = n->last;
		}
		s->next = n;
		s->is_hole = false;
		s->start = s->cursor;
		s->end = used_last < s->last ? used_last : s->last;
	}
	if (s->end == UINT64_MAX)
		s->cursor_past_end = true;
	else
		s->cursor = s->end + 1;
}

void itree_span_first(struct itree_span *s, const struct itree *t,
		      uint64_t first, uint64_t last)
{
	s->first = first;
	s->last = last;
	s->tree = t;
	s->done = false;
	s->cursor = first;
	s->cursor_past_end = false;
	s->next = itree_iter_first(t, first, last);
	span_fill(s);
}

void itree_span_next(struct itree_span *s)
{
	span_fill(s);
}

static int check_node(const struct itree_node *n, const struct itree_node *parent,
		      int *h, uint64_t *sl)
{
	int hl = 0, hr = 0;
	uint64_t m;

	if (!n) {
		*h = 0;
		return 0;
	}
	if (n->parent != parent || n->last < n->start)
		return -1;
	if (n->left && n->left->start > n->start)
		return -1;
	if (n->right && n->right->start < n->start)
		return -1;
	m = n->last;
	if (n->left) {
		uint64_t x;

		if (check_node(n->left, n, &hl, &x))
			return -1;
		if (x > m)
			m = x;
	}
	if (n->right) {
		uint64_t x;

		if (check_node(n->right, n, &hr, &x))
			return -1;
		if (x > m)
			m = x;
	}
	if (hl - hr > 1 || hr - hl > 1)
		return -1;
	*h = (hl > hr ? hl : hr) + 1;
	if (*h != n->height || m != n->subtree_last)
		return -1;
	*sl = m;
	return 0;
}

int itree_check(const struct itree *t)
{
	int h;
	uint64_t sl;

	return check_node(t->root, NULL, &h, &sl);
}
