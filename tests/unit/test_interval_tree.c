/* SPDX-License-Identifier: MIT */
/*
 * The interval tree against a brute-force model: random inserts and
 * removals, then overlap queries and span walks compared with the model.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "core/interval_tree.h"

#define NODES 600
#define ROUNDS 40000

static struct itree_node nodes[NODES];
static int live[NODES];
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Small coordinates make overlaps common; a few reach the top of u64. */
static void random_range(uint64_t *s, uint64_t *l)
{
	if (rnd() % 50 == 0) {
		*s = UINT64_MAX - rnd() % 64;
		*l = *s + rnd() % (UINT64_MAX - *s + 1);
		return;
	}
	*s = rnd() % 4096;
	*l = *s + rnd() % 64;
}

static void check_query(struct itree *t, uint64_t s, uint64_t l)
{
	int expect[NODES] = { 0 }, got = 0, want = 0;
	struct itree_node *n;
	uint64_t prev_start = 0;

	for (int i = 0; i < NODES; i++)
		if (live[i] && nodes[i].start <= l && nodes[i].last >= s) {
			expect[i] = 1;
			want++;
		}
	itree_for_each(n, t, s, l) {
		int i = (int)(n - nodes);

		CHECK(expect[i]);
		CHECK(n->start >= prev_start);
		prev_start = n->start;
		expect[i] = 0;
		got++;
	}
	CHECK_EQ(got, want);
}

/* Spans must tile [s, l] exactly, alternate, and agree with coverage. */
static void check_spans(struct itree *t, uint64_t s, uint64_t l)
{
	struct itree_span sp;
	uint64_t expect_start = s;
	int first = 1, last_hole = -1;

	itree_for_each_span(&sp, t, s, l) {
		CHECK_EQ(sp.start, expect_start);
		CHECK(sp.end >= sp.start && sp.end <= l);
		if (!first)
			CHECK(last_hole != sp.is_hole);
		first = 0;
		last_hole = sp.is_hole;
		/* Probe both ends of the span against the model. */
		for (int e = 0; e < 2; e++) {
			uint64_t a = e ? sp.end : sp.start;
			int covered = 0;

			for (int i = 0; i < NODES; i++)
				if (live[i] && nodes[i].start <= a && nodes[i].last >= a)
					covered = 1;
			CHECK_EQ(covered, !sp.is_hole);
		}
		if (sp.end == l)
			break;
		expect_start = sp.end + 1;
	}
	CHECK(!first);
}

int main(void)
{
	struct itree t = ITREE_INIT;

	for (int r = 0; r < ROUNDS; r++) {
		int i = (int)(rnd() % NODES);

		if (live[i]) {
			itree_remove(&t, &nodes[i]);
			live[i] = 0;
		} else {
			random_range(&nodes[i].start, &nodes[i].last);
			itree_insert(&t, &nodes[i]);
			live[i] = 1;
		}
		if (r % 97 == 0) {
			uint64_t s, l;

			CHECK_EQ(itree_check(&t), 0);
			random_range(&s, &l);
			check_query(&t, s, l);
			check_spans(&t, s, l);
			check_spans(&t, 0, UINT64_MAX);
		}
	}
	/* Drain and verify the empty tree answers nothing. */
	for (int i = 0; i < NODES; i++)
		if (live[i]) {
			itree_remove(&t, &nodes[i]);
			live[i] = 0;
		}
	CHECK(itree_empty(&t));
	CHECK(itree_iter_first(&t, 0, UINT64_MAX) == NULL);
	{
		struct itree_span sp;

		itree_span_first(&sp, &t, 0, UINT64_MAX);
		CHECK(!sp.done && sp.is_hole && sp.start == 0 &&
		      sp.end == UINT64_MAX);
		itree_span_next(&sp);
		CHECK(sp.done);
	}
	return check_finish("interval_tree");
}
