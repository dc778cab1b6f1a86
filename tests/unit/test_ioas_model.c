/* SPDX-License-Identifier: MIT */
/*
 * The IOAS against a reference model: random MAP, COPY, UNMAP, ALLOW_IOVAS,
 * ADD_RESERVED and HUGE_PAGES operations through the real ioctl interface,
 * each compared with what a deliberately naive model (flat arrays, sort and
 * scan) says the kernel would answer.  After every operation the areas of
 * both IOASes are compared one by one, page set identity and offsets
 * included, and every page set's reference count with the areas using it.
 *
 *   test-ioas-model [OPS [SEED]]     (defaults: 100000 operations)
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/context.h"
#include "ioasid/ioasid.h"
#include "ioasid/uapi/iommufd.h"
#include "ioasid/uapi/iommufd_test.h"
#include "iopt/ioas.h"
#include "pages/pages.h"

#define PG 4096ull
#define MAXV 256
#define U64MAX UINT64_MAX

/* ---- The model ---------------------------------------------------------- */

struct m_range {
	uint64_t start, last;
};

struct m_area {
	uint64_t iova, len;
	int pages;           /* model page set id */
	uint64_t start_byte; /* offset into the page set */
};

struct m_pages {
	uint64_t uptr_down, npages;
	bool writable;
	const void *real; /* the real set, once seen */
};

struct m_ioas {
	struct m_area areas[MAXV];
	int nareas;
	struct m_range reserved[MAXV];
	int nreserved;
	struct m_range allowed[MAXV];
	int nallowed;
	uint64_t align;
};

static struct m_pages mpages[1 << 20];
static int nmpages;
static struct m_ioas model[2];

static bool overlaps(uint64_t s1, uint64_t l1, uint64_t s2, uint64_t l2)
{
	return s1 <= l2 && s2 <= l1;
}

static bool hits_reserved(const struct m_ioas *m, uint64_t s, uint64_t l)
{
	for (int i = 0; i < m->nreserved; i++)
		if (overlaps(s, l, m->reserved[i].start, m->reserved[i].last))
			return true;
	return false;
}

static bool hits_area(const struct m_ioas *m, uint64_t s, uint64_t l)
{
	for (int i = 0; i < m->nareas; i++)
		if (overlaps(s, l, m->areas[i].iova,
			     m->areas[i].iova + m->areas[i].len - 1))
			return true;
	return false;
}

static int cmp_range(const void *a, const void *b)
{
	const struct m_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Sort and merge overlapping or touching ranges into `out`. */
static int merged(struct m_range *in, int n, struct m_range *out)
{
	int k = 0;

	qsort(in, n, sizeof(*in), cmp_range);
	for (int i = 0; i < n; i++) {
		if (k && (out[k - 1].last == U64MAX ||
			  in[i].start <= out[k - 1].last + 1)) {
			if (in[i].last > out[k - 1].last)
				out[k - 1].last = in[i].last;
		} else {
			out[k++] = in[i];
		}
	}
	return k;
}

static bool fits(uint64_t *start, uint64_t last, uint64_t len, uint64_t align,
		 uint64_t off)
{
	uint64_t a;

	if (__builtin_add_overflow(*start, align - 1, &a))
		return false;
	a = (a & ~(align - 1)) | off;
	if (a >= last || last - a < len - 1)
		return false;
	*start = a;
	return true;
}

static uint64_t pow2_up(uint64_t v)
{
	uint64_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

static int model_alloc(const struct m_ioas *m, uint64_t addr, uint64_t len,
		       uint64_t *iova)
{
	static struct m_range used[2 * MAXV], um[2 * MAXV], al[MAXV], am[MAXV];
	uint64_t align, off = addr % PG;
	int nu = 0, nal;

	if (len == 0 || len >= U64MAX / 2)
		return -EOVERFLOW;
	align = pow2_up(len);
	if (addr) {
		uint64_t low = addr & -addr;

		if (low < align)
			align = low;
	}
	if (align >= (2ull << 20))
		align = 2ull << 20;
	if (align < m->align)
		return -EINVAL;

	for (int i = 0; i < m->nreserved; i++)
		used[nu++] = m->reserved[i];
	for (int i = 0; i < m->nareas; i++)
		used[nu++] = (struct m_range){ m->areas[i].iova,
					       m->areas[i].iova + m->areas[i].len - 1 };
	nu = merged(used, nu, um);

	/* Allowed spans, clipped to [PG, MAX - PG]; all of it if none. */
	if (!m->nallowed) {
		am[0] = (struct m_range){ PG, U64MAX - PG };
		nal = 1;
	} else {
		memcpy(al, m->allowed, sizeof(al[0]) * m->nallowed);
		nal = merged(al, m->nallowed, am);
		int k = 0;
		for (int i = 0; i < nal; i++) {
			if (am[i].last < PG || am[i].start > U64MAX - PG)
				continue;
			am[k].start = am[i].start < PG ? PG : am[i].start;
			am[k].last = am[i].last > U64MAX - PG ? U64MAX - PG : am[i].last;
			k++;
		}
		nal = k;
	}
	for (int i = 0; i < nal; i++) {
		uint64_t s = am[i].start, last = am[i].last, cur;

		if (!fits(&s, last, len, align, off))
			continue;
		/* The holes of `um` inside [s, last], lowest first. */
		cur = s;
		for (int j = 0; j <= nu; j++) {
			uint64_t hs = cur, hl;

			if (j < nu && um[j].last < cur)
				continue;
			if (j < nu && um[j].start <= cur) {
				if (um[j].last >= last)
					break;
				cur = um[j].last + 1;
				continue;
			}
			hl = j < nu && um[j].start - 1 < last ? um[j].start - 1 : last;
			if (fits(&hs, hl, len, align, off)) {
				*iova = hs;
				return 0;
			}
			if (j == nu || um[j].last >= last)
				break;
			cur = um[j].last + 1;
		}
	}
	return -ENOSPC;
}

struct m_piece {
	int pages;
	uint64_t start_byte, len;
};

static int model_map_pieces(struct m_ioas *m, struct m_piece *pc, int n,
			    uint64_t len, uint64_t *iova, bool fixed,
			    bool writable)
{
	uint64_t cur, last;
	int rc;

	if (!len || (len & (m->align - 1)))
		return -EINVAL;
	if (fixed) {
		if (*iova & (m->align - 1))
			return -EINVAL;
		if (__builtin_add_overflow(*iova, len - 1, &last))
			return -EOVERFLOW;
		if (hits_reserved(m, *iova, last))
			return -EINVAL;
		if (hits_area(m, *iova, last))
			return -EEXIST;
	} else {
		rc = model_alloc(m, pc[0].start_byte + mpages[pc[0].pages].uptr_down,
				 len, iova);
		if (rc)
			return rc;
	}
	for (int i = 0; i < n; i++) {
		if (writable && !mpages[pc[i].pages].writable)
			return -EPERM;
		if ((pc[i].start_byte % PG) & (m->align - 1))
			return -EINVAL;
	}
	if (m->nareas + n > MAXV)
		return -ENOSPC; /* the caller avoids this */
	cur = *iova;
	for (int i = 0; i < n; i++) {
		m->areas[m->nareas++] = (struct m_area){ cur, pc[i].len, pc[i].pages,
							 pc[i].start_byte };
		cur += pc[i].len;
	}
	return 0;
}

static int model_map(struct m_ioas *m, uint32_t flags, uint64_t va,
		     uint64_t len, uint64_t *iova)
{
	uint64_t end;
	struct m_piece pc;
	int rc, id;

	if (*iova == U64MAX || len == U64MAX)
		return -EOVERFLOW;
	if (!(flags & (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)))
		return -EINVAL;
	if (__builtin_add_overflow(va, len, &end))
		return -EOVERFLOW;
	if (len == 0 || len > SIZE_MAX - PG)
		return -EINVAL;
	id = nmpages;
	mpages[id] = (struct m_pages){ va & ~(PG - 1),
				       (len + va % PG + PG - 1) / PG,
				       flags & IOMMU_IOAS_MAP_WRITEABLE, NULL };
	pc = (struct m_piece){ id, va % PG, len };
	rc = model_map_pieces(m, &pc, 1, len, iova,
			      flags & IOMMU_IOAS_MAP_FIXED_IOVA,
			      flags & IOMMU_IOAS_MAP_WRITEABLE);
	if (!rc)
		nmpages++;
	return rc;
}

static const struct m_area *area_at(const struct m_ioas *m, uint64_t iova)
{
	for (int i = 0; i < m->nareas; i++)
		if (iova >= m->areas[i].iova &&
		    iova - m->areas[i].iova < m->areas[i].len)
			return &m->areas[i];
	return NULL;
}

static int model_copy(struct m_ioas *src, struct m_ioas *dst, uint32_t flags,
		      uint64_t src_iova, uint64_t len, uint64_t *dst_iova)
{
	static struct m_piece pc[MAXV];
	uint64_t last, cur;
	int n = 0;

	if (len == U64MAX || src_iova == U64MAX || *dst_iova == U64MAX)
		return -EOVERFLOW;
	if (!(flags & (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)))
		return -EINVAL;
	if (!len)
		return -EINVAL;
	if (__builtin_add_overflow(src_iova, len - 1, &last))
		return -EOVERFLOW;
	for (cur = src_iova;;) {
		const struct m_area *a = area_at(src, cur);
		uint64_t alast, plast;

		if (!a)
			return -ENOENT;
		alast = a->iova + a->len - 1;
		plast = alast < last ? alast : last;
		pc[n++] = (struct m_piece){ a->pages,
					    a->start_byte + (cur - a->iova),
					    plast - cur + 1 };
		if (plast == last)
			break;
		cur = plast + 1;
	}
	return model_map_pieces(dst, pc, n, len, dst_iova,
				flags & IOMMU_IOAS_MAP_FIXED_IOVA,
				flags & IOMMU_IOAS_MAP_WRITEABLE);
}

static int model_unmap(struct m_ioas *m, uint64_t iova, uint64_t len,
		       uint64_t *unmapped)
{
	uint64_t last, bytes = 0;
	int k = 0;

	*unmapped = 0;
	if (iova == 0 && len == U64MAX) {
		last = U64MAX;
	} else {
		if (iova == U64MAX || len == U64MAX)
			return -EOVERFLOW;
		if (!len)
			return -EINVAL;
		if (__builtin_add_overflow(iova, len - 1, &last))
			return -EOVERFLOW;
	}
	for (int i = 0; i < m->nareas; i++) {
		const struct m_area *a = &m->areas[i];
		uint64_t al = a->iova + a->len - 1;

		if (overlaps(iova, last, a->iova, al) && (a->iova < iova || al > last))
			return -ENOENT;
	}
	for (int i = 0; i < m->nareas; i++) {
		const struct m_area *a = &m->areas[i];

		if (overlaps(iova, last, a->iova, a->iova + a->len - 1))
			bytes += a->len;
		else
			m->areas[k++] = *a;
	}
	m->nareas = k;
	*unmapped = bytes;
	if (!bytes && !(iova == 0 && len == U64MAX))
		return -ENOENT;
	return 0;
}

static int model_allow(struct m_ioas *m, const struct m_range *r, int n)
{
	for (int i = 0; i < n; i++) {
		if (r[i].start >= r[i].last)
			return -EINVAL;
		for (int j = 0; j < i; j++)
			if (overlaps(r[i].start, r[i].last, r[j].start, r[j].last))
				return -EINVAL;
	}
	for (int i = 0; i < n; i++)
		if (hits_reserved(m, r[i].start, r[i].last))
			return -EADDRINUSE;
	memcpy(m->allowed, r, sizeof(*r) * n);
	m->nallowed = n;
	return 0;
}

static int model_reserve(struct m_ioas *m, uint64_t start, uint64_t len)
{
	uint64_t last;

	if (!len)
		return -EINVAL;
	if (__builtin_add_overflow(start, len - 1, &last))
		return -EOVERFLOW;
	if (hits_area(m, start, last))
		return -EADDRINUSE;
	for (int i = 0; i < m->nallowed; i++)
		if (overlaps(start, last, m->allowed[i].start, m->allowed[i].last))
			return -EADDRINUSE;
	if (m->nreserved == MAXV)
		return -ENOSPC; /* the caller avoids this */
	m->reserved[m->nreserved++] = (struct m_range){ start, last };
	return 0;
}

static int model_huge_pages(struct m_ioas *m, bool on)
{
	if (on) {
		m->align = 1;
		return 0;
	}
	for (int i = 0; i < m->nareas; i++)
		if ((m->areas[i].iova | m->areas[i].len |
		     (m->areas[i].start_byte % PG)) & (PG - 1))
			return -EADDRINUSE;
	m->align = PG;
	return 0;
}

/* ---- The real thing ----------------------------------------------------- */

static struct ioasid_ctx *ctx;
static struct ioasid_caller caller;
static uint32_t ioas_ids[2];

static long real(unsigned int cmd, void *arg)
{
	return ioasid_ctx_ioctl(ctx, &caller, cmd, (unsigned long)arg);
}

static int real_map(int x, uint32_t flags, uint64_t va, uint64_t len,
		    uint64_t *iova)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .flags = flags, .ioas_id = ioas_ids[x],
		.user_va = va, .length = len, .iova = *iova,
	};
	long rc = real(IOMMU_IOAS_MAP, &cmd);

	if (!rc)
		*iova = cmd.iova;
	return (int)rc;
}

static int real_copy(uint32_t flags, uint64_t src_iova, uint64_t len,
		     uint64_t *dst_iova, int sx, int dx)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd), .flags = flags,
		.dst_ioas_id = ioas_ids[dx], .src_ioas_id = ioas_ids[sx],
		.length = len, .dst_iova = *dst_iova, .src_iova = src_iova,
	};
	long rc = real(IOMMU_IOAS_COPY, &cmd);

	if (!rc)
		*dst_iova = cmd.dst_iova;
	return (int)rc;
}

static int real_unmap(int x, uint64_t iova, uint64_t len, uint64_t *unmapped)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas_ids[x], .iova = iova,
		.length = len,
	};
	long rc = real(IOMMU_IOAS_UNMAP, &cmd);

	*unmapped = rc ? 0 : cmd.length;
	return (int)rc;
}

static int real_allow(int x, const struct m_range *r, int n)
{
	struct iommu_iova_range ranges[8];
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd), .ioas_id = ioas_ids[x], .num_iovas = n,
		.allowed_iovas = (uintptr_t)ranges,
	};

	for (int i = 0; i < n; i++)
		ranges[i] = (struct iommu_iova_range){ r[i].start, r[i].last };
	return (int)real(IOMMU_IOAS_ALLOW_IOVAS, &cmd);
}

static int real_reserve(int x, uint64_t start, uint64_t len)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_ADD_RESERVED,
		.id = ioas_ids[x],
		.add_reserved = { .start = start, .length = len },
	};

	return (int)real(IOMMU_TEST_CMD, &cmd);
}

static int real_huge_pages(int x, bool on)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd), .option_id = IOMMU_OPTION_HUGE_PAGES,
		.op = IOMMU_OPTION_OP_SET, .object_id = ioas_ids[x], .val64 = on,
	};

	return (int)real(IOMMU_OPTION, &cmd);
}

/* ---- Comparing ---------------------------------------------------------- */

struct walk {
	const struct m_ioas *m;
	int idx;
	int bad;
};

static int cmp_area(const void *a, const void *b)
{
	const struct m_area *x = a, *y = b;

	return x->iova < y->iova ? -1 : x->iova > y->iova;
}

static int pages_id_of(const struct ioasid_pages *p, int hint)
{
	/* The model's set ids are bound to real sets on first sight. */
	if (!mpages[hint].real)
		mpages[hint].real = p;
	return mpages[hint].real == p ? hint : -1;
}

static int check_area(struct iopt_area *a, void *arg)
{
	struct walk *w = arg;
	const struct m_area *ma;

	if (w->idx >= w->m->nareas) {
		w->bad = 1;
		return 1;
	}
	ma = &w->m->areas[w->idx++];
	if (a->node.start != ma->iova || iopt_area_length(a) != ma->len ||
	    pages_id_of(a->pages, ma->pages) != ma->pages ||
	    iopt_area_start_byte(a, a->node.start) != ma->start_byte ||
	    a->pages->npages != mpages[ma->pages].npages)
		w->bad = 1;
	return 0;
}

static void compare_state(unsigned long op)
{
	static int users[1 << 20];

	memset(users, 0, sizeof(int) * nmpages);
	for (int x = 0; x < 2; x++) {
		struct ioasid_ioas *ioas;
		struct walk w = { &model[x], 0, 0 };

		qsort(model[x].areas, model[x].nareas, sizeof(struct m_area),
		      cmp_area);
		if (ioasid_ioas_get(ctx, ioas_ids[x], &ioas)) {
			CHECK(!"ioas lookup");
			return;
		}
		iopt_for_each_area(&ioas->iopt, check_area, &w);
		CHECK_EQ(ioas->iopt.iova_alignment, model[x].align);
		ioasid_ioas_put(ctx, ioas);
		if (w.bad || w.idx != model[x].nareas) {
			fprintf(stderr, "op %lu: ioas %d areas diverge\n", op, x);
			CHECK(!"areas match the model");
			exit(check_finish("ioas-model"));
		}
		for (int i = 0; i < model[x].nareas; i++)
			users[model[x].areas[i].pages]++;
	}
	/* Every page set is held exactly by the areas that use it. */
	for (int i = 0; i < nmpages; i++) {
		const struct ioasid_pages *p = mpages[i].real;

		if (users[i] && p)
			CHECK_EQ(atomic_load(&((struct ioasid_pages *)p)->refs),
				 users[i]);
		if (!users[i])
			mpages[i].real = NULL; /* freed; its address may recur */
	}
}

/* ---- Random operations -------------------------------------------------- */

static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Mostly small page-ish values so that operations collide, some wild. */
static uint64_t rnd_iova(void)
{
	switch (rnd() % 16) {
	case 0:
		return U64MAX - rnd() % (4 * PG);
	case 1:
		return rnd();
	case 2:
		return rnd() % (64 * PG);
	default:
		return (rnd() % 64) * PG;
	}
}

static uint64_t rnd_len(void)
{
	switch (rnd() % 16) {
	case 0:
		return 0;
	case 1:
		return U64MAX - rnd() % 2;
	case 2:
		return rnd() % (3 * PG) + 1;
	default:
		return (rnd() % 8 + 1) * PG;
	}
}

static uint64_t rnd_va(void)
{
	static const uint64_t offs[] = { 0, 0, 0, 1, 2048, PG - 1 };

	if (rnd() % 32 == 0)
		return U64MAX - rnd() % (2 * PG);
	return 0x10000000ull + (rnd() % 512) * PG + offs[rnd() % 6];
}

static uint32_t rnd_flags(void)
{
	uint32_t f = 0;

	if (rnd() % 8)
		f |= IOMMU_IOAS_MAP_READABLE;
	if (rnd() % 2)
		f |= IOMMU_IOAS_MAP_WRITEABLE;
	if (rnd() % 2)
		f |= IOMMU_IOAS_MAP_FIXED_IOVA;
	return f;
}

/* How often each kind of operation ran and succeeded: proof of coverage. */
enum { K_MAP, K_COPY, K_UNMAP, K_ALLOW, K_RESERVE, K_HUGE, K_NR };
static const char *const kind_name[K_NR] = { "map", "copy", "unmap", "allow",
					     "reserve", "huge_pages" };
static unsigned long ran[K_NR], succeeded[K_NR];

static void tally(int kind, int rc)
{
	ran[kind]++;
	if (!rc)
		succeeded[kind]++;
}

#define SAME(what, r, m)                                                     \
	do {                                                                 \
		if ((r) != (m)) {                                            \
			fprintf(stderr, "op %lu: %s: real %d, model %d\n",   \
				op, what, (int)(r), (int)(m));               \
			CHECK(!"result matches the model");                  \
			return;                                              \
		}                                                            \
	} while (0)

static void one_op(unsigned long op)
{
	int x = rnd() % 2;
	struct m_ioas *m = &model[x];
	uint64_t a, b, ra, ma;
	int r, mr;

	switch (rnd() % 20) {
	case 0 ... 6: { /* MAP */
		uint32_t flags = rnd_flags();
		uint64_t va = rnd_va(), len = rnd_len();

		if (m->nareas >= MAXV - 1)
			break;
		ra = ma = rnd_iova();
		r = real_map(x, flags, va, len, &ra);
		mr = model_map(m, flags, va, len, &ma);
		SAME("map", r, mr);
		tally(K_MAP, r);
		if (!r)
			SAME("map iova", ra == ma, 1);
		break;
	}
	case 7 ... 9: { /* COPY, within or across IOASes */
		int dx = rnd() % 2;
		uint32_t flags = rnd_flags();
		const struct m_area *src;
		uint64_t len;

		if (model[dx].nareas >= MAXV / 2)
			break;
		if (m->nareas && rnd() % 4) {
			src = &m->areas[rnd() % m->nareas];
			a = src->iova + rnd() % src->len;
			len = rnd() % 3 ? src->len - (a - src->iova) + rnd() % (2 * PG) :
					  rnd() % src->len + 1;
		} else {
			a = rnd_iova();
			len = rnd_len();
		}
		ra = ma = rnd_iova();
		r = real_copy(flags, a, len, &ra, x, dx);
		mr = model_copy(m, &model[dx], flags, a, len, &ma);
		SAME("copy", r, mr);
		tally(K_COPY, r);
		if (!r)
			SAME("copy iova", ra == ma, 1);
		break;
	}
	case 10 ... 13: { /* UNMAP */
		if (rnd() % 50 == 0) {
			a = 0;
			b = U64MAX;
		} else if (m->nareas && rnd() % 3) {
			const struct m_area *v = &m->areas[rnd() % m->nareas];

			a = v->iova - (rnd() % 2 ? 0 : rnd() % (2 * PG));
			b = v->len + (v->iova - a) + (rnd() % 2 ? 0 : rnd() % (8 * PG));
			if (rnd() % 4 == 0)
				b -= 1;
		} else {
			a = rnd_iova();
			b = rnd_len();
		}
		r = real_unmap(x, a, b, &ra);
		mr = model_unmap(m, a, b, &ma);
		SAME("unmap", r, mr);
		tally(K_UNMAP, r);
		SAME("unmapped bytes", ra == ma, 1);
		break;
	}
	case 14 ... 15: { /* ALLOW_IOVAS */
		struct m_range r8[4];
		int n = rnd() % 4;

		for (int i = 0; i < n; i++) {
			r8[i].start = (rnd() % 256) * PG;
			r8[i].last = r8[i].start + (rnd() % 64) * PG +
				     (rnd() % 8 ? PG - 1 : 0);
		}
		r = real_allow(x, r8, n);
		mr = model_allow(m, r8, n);
		SAME("allow_iovas", r, mr);
		tally(K_ALLOW, r);
		break;
	}
	case 16 ... 17: /* ADD_RESERVED */
		if (m->nreserved >= MAXV - 1)
			break;
		a = rnd() % 8 ? (rnd() % 256) * PG : rnd_iova();
		b = rnd() % 8 ? (rnd() % 4 + 1) * PG : rnd_len();
		r = real_reserve(x, a, b);
		mr = model_reserve(m, a, b);
		SAME("add_reserved", r, mr);
		tally(K_RESERVE, r);
		break;
	default: { /* HUGE_PAGES */
		bool on = rnd() % 2;

		r = real_huge_pages(x, on);
		mr = model_huge_pages(m, on);
		SAME("huge_pages", r, mr);
		tally(K_HUGE, r);
		break;
	}
	}
}

/* Start over now and then, so reserved ranges do not fill everything. */
static void reset(void)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };

	if (ctx)
		ioasid_ctx_put(ctx);
	ctx = ioasid_ctx_new();
	for (int x = 0; x < 2; x++) {
		CHECK_EQ(real(IOMMU_IOAS_ALLOC, &alloc), 0);
		ioas_ids[x] = alloc.out_ioas_id;
		memset(&model[x], 0, sizeof(model[x]));
		model[x].align = 1;
	}
	memset(mpages, 0, sizeof(mpages[0]) * nmpages);
	nmpages = 0;
}

int main(int argc, char **argv)
{
	unsigned long ops = argc > 1 ? strtoul(argv[1], NULL, 0) : 100000;
	unsigned long op;

	ioasid_enable_test_mode();
	rng = argc > 2 ? strtoull(argv[2], NULL, 0) : 0x2545f4914f6cdd1dull;
	if (!rng)
		rng = 1;
	CHECK_EQ(ioasid_caller_self(&caller), 0);
	reset();
	for (op = 0; op < ops && !check_failures; op++) {
		if (op % 2000 == 1999 || nmpages > (1 << 20) - 2 * MAXV)
			reset();
		one_op(op);
		compare_state(op);
	}
	ioasid_ctx_put(ctx);
	printf("# %lu operations:", op);
	for (int k = 0; k < K_NR; k++)
		printf(" %s %lu/%lu", kind_name[k], succeeded[k], ran[k]);
	printf(" succeeded\n");
	/* A model that only ever agrees on errors proves nothing. */
	for (int k = 0; k < K_NR; k++)
		CHECK(succeeded[k] > ran[k] / 20);
	return check_finish("ioas-model");
}
