/* SPDX-License-Identifier: MIT */
/*
 * The ioctl table, made from ioctls.def, and what reads a struct image
 * through it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

#include "ioasid/uapi/ioasid.h"
#include "ioasid/uapi/iommufd.h"
#include "ioasid/uapi/iommufd_test.h"
#include "ioasid/uapi/vfio_compat.h"
#include "ioctl_def.h"
#include "ioctl_desc.h"
#include "util.h"

/* ---- a field ------------------------------------------------------ */

#define IOASID_FIELD_INIT(st, t) \
	IOASID_CALL(IOASID_FIELD_INIT_, (st, IOASID_UNPACK t, 0, 0))
#define IOASID_FIELD_INIT_(st, fname, foff, fkind, farg, fop, ...)           \
	{ .name = #fname, .off = offsetof(struct st, fname),                 \
	  .size = sizeof(((struct st *)0)->fname), .kind = IOASID_F_##fkind, \
	  .op = (fop), IOASID_FARG_##fkind(st, farg) },

/* What each kind makes of its argument. */
#define IOASID_FARG_PLAIN(st, a) .arg = (a)
#define IOASID_FARG_SIZE IOASID_FARG_PLAIN
#define IOASID_FARG_FLAGS IOASID_FARG_PLAIN
#define IOASID_FARG_BITS IOASID_FARG_PLAIN
#define IOASID_FARG_ZERO IOASID_FARG_PLAIN
#define IOASID_FARG_PAD IOASID_FARG_PLAIN
#define IOASID_FARG_ID IOASID_FARG_PLAIN
#define IOASID_FARG_OUT_ID IOASID_FARG_PLAIN
#define IOASID_FARG_FD IOASID_FARG_PLAIN
#define IOASID_FARG_OUT_FD IOASID_FARG_PLAIN
#define IOASID_FARG_IOVA IOASID_FARG_PLAIN
#define IOASID_FARG_LENGTH IOASID_FARG_PLAIN
#define IOASID_FARG_VA IOASID_FARG_PLAIN
#define IOASID_FARG_COUNT IOASID_FARG_PLAIN
#define IOASID_FARG_VALUE IOASID_FARG_PLAIN
#define IOASID_FARG_OUT IOASID_FARG_PLAIN
#define IOASID_FARG_ENUM(st, a) \
	.values = (const uint64_t[]){ IOASID_UNPACK a }, \
	.nvalues = IOASID_CALL2(IOASID_NARGS, a)
#define IOASID_FARG_PTR_IN(st, a) \
	IOASID_CALL2(IOASID_PTR_INIT, (st, IOASID_PTR_IN, IOASID_UNPACK a))
#define IOASID_FARG_PTR_OUT(st, a) \
	IOASID_CALL2(IOASID_PTR_INIT, (st, IOASID_PTR_OUT, IOASID_UNPACK a))
#define IOASID_FARG_PTR_INOUT(st, a) \
	IOASID_CALL2(IOASID_PTR_INIT, (st, IOASID_PTR_INOUT, IOASID_UNPACK a))

#define IOASID_PTR_INIT(st, d, ext, cnt, esz, elem_name)                    \
	.ptr = { .dir = (d), .extent = IOASID_EXT_##ext,                     \
		 .count_off = offsetof(struct st, cnt),                      \
		 IOASID_ESZ_##ext(st, esz), .elem = &ioasid_elem_##elem_name }
/* The element size is a number, or (NV, bitmaps) the field holding it. */
#define IOASID_ESZ_FIXED(st, e) .elem_size = (e), .elem_size_off = IOASID_NO_FIELD
#define IOASID_ESZ_FIELD(st, e) .elem_size_off = offsetof(struct st, e)
#define IOASID_ESZ_N IOASID_ESZ_FIXED
#define IOASID_ESZ_LEN IOASID_ESZ_FIXED
#define IOASID_ESZ_NV IOASID_ESZ_FIELD
#define IOASID_ESZ_BITMAP IOASID_ESZ_FIELD
#define IOASID_ESZ_BITMAP_DIV IOASID_ESZ_FIELD

/* ---- entry attributes -------------------------------------------- */

#define IOASID_FLAG_BIT(prefix, n) | prefix##n
#define IOASID_FLAG_NAME(prefix, n) { #prefix #n, prefix##n },
#define FLAGS(prefix, ...)                                                  \
	.flags_mask = 0 IOASID_FOR_EACH(IOASID_FLAG_BIT, prefix, __VA_ARGS__), \
	.flag_names = (const struct ioasid_flag_name[]){                     \
		IOASID_FOR_EACH(IOASID_FLAG_NAME, prefix, __VA_ARGS__) },    \
	.nflag_names = IOASID_NARGS(__VA_ARGS__)
#define TEST_ONLY_OPS .attrs = IOASID_IOCTL_TEST_ONLY | IOASID_IOCTL_OPS
#define MACHINE .attrs = IOASID_IOCTL_MACHINE
#define RET_FD(op) .ret_fd_op = (op)
#define ON(file) .on = IOASID_ON_##file
#define VALUES(...) \
	.values = (const uint64_t[]){ __VA_ARGS__ }, \
	.nvalues = IOASID_NARGS(__VA_ARGS__)

/* iommufd says EOPNOTSUPP for what it does not know, VFIO EINVAL. */
#define IOASID_BAD_FLAGS_SIZED EOPNOTSUPP
#define IOASID_BAD_FLAGS_ARGSZ EINVAL

/* ---- the element structs, then the table ------------------------- */

/* Raw bytes: a pointer whose contents have no struct of their own. */
static const struct ioasid_struct_desc ioasid_elem_bytes = {
	.name = "bytes", .size = 1,
};

#define IOASID_IOCTL(...)
#define IOASID_IOCTL_INT(...)
#define IOASID_STRUCT(ename, st, sz, ...)                                   \
	static const struct ioasid_struct_desc ioasid_elem_##ename = {       \
		.name = #st, .size = sizeof(struct st),                      \
		.nfields = IOASID_NARGS(__VA_ARGS__),                        \
		.fields = (const struct ioasid_field[]){                     \
			IOASID_FOR_EACH(IOASID_FIELD_INIT, st, __VA_ARGS__) }, \
	};
#include "ioctls.def"
#undef IOASID_IOCTL
#undef IOASID_IOCTL_INT
#undef IOASID_STRUCT

static const struct ioasid_ioctl_desc table[IOASID_NR_IOCTLS] = {
#define IOASID_IOCTL(_cmd, nr, argk, st, sz, last, handler, attrs, ...)     \
	[IOASID_IX_##_cmd] = {                                               \
		.name = #_cmd, .cmd = _cmd, .arg = IOASID_ARG_##argk,         \
		.size = sizeof(struct st),                                   \
		.min_size = offsetofend(struct st, last),                    \
		.bad_flags_errno = IOASID_BAD_FLAGS_##argk,                  \
		.nfields = IOASID_NARGS(__VA_ARGS__),                        \
		.fields = (const struct ioasid_field[]){                     \
			IOASID_FOR_EACH(IOASID_FIELD_INIT, st, __VA_ARGS__) }, \
		IOASID_UNPACK attrs },
#define IOASID_IOCTL_INT(_cmd, nr, argk, handler, attrs)                    \
	[IOASID_IX_##_cmd] = { .name = #_cmd, .cmd = _cmd,                   \
			       .arg = IOASID_ARG_##argk, IOASID_UNPACK attrs },
#define IOASID_STRUCT(...)
#include "ioctls.def"
#undef IOASID_IOCTL
#undef IOASID_IOCTL_INT
#undef IOASID_STRUCT
};

/* ---- lookups ------------------------------------------------------ */

const struct ioasid_ioctl_desc *ioasid_ioctl_desc_find_on(unsigned int on,
							 unsigned int cmd)
{
	for (size_t i = 0; i < ARRAY_SIZE(table); i++)
		if (table[i].cmd == cmd && table[i].on == on)
			return &table[i];
	return NULL;
}

const struct ioasid_ioctl_desc *ioasid_ioctl_desc_find(unsigned int cmd)
{
	return ioasid_ioctl_desc_find_on(IOASID_ON_IOMMUFD, cmd);
}

unsigned int ioasid_ioctl_desc_index(const struct ioasid_ioctl_desc *d)
{
	return (unsigned int)(d - table);
}

unsigned int ioasid_ioctl_desc_count(void)
{
	return ARRAY_SIZE(table);
}

const struct ioasid_ioctl_desc *ioasid_ioctl_desc_at(unsigned int i)
{
	return i < ARRAY_SIZE(table) ? &table[i] : NULL;
}

/* ---- reading a struct image -------------------------------------- */

/* The `size` bytes at `off` (little-endian, zero-extended), 0 past len. */
static uint64_t field_at(const void *image, size_t len, uint16_t off,
			 size_t size)
{
	uint64_t v = 0;

	if (off != IOASID_NO_FIELD && off + size <= len)
		memcpy(&v, (const char *)image + off, MIN(size, sizeof(v)));
	return v;
}

uint64_t ioasid_field_get(const struct ioasid_field *f, const void *image,
			  size_t len)
{
	return field_at(image, len, f->off, f->size);
}

void ioasid_field_set(const struct ioasid_field *f, void *image,
		      uint64_t value)
{
	memcpy((char *)image + f->off, &value, MIN(f->size, 8));
}

const struct ioasid_field *ioasid_ioctl_desc_op_field(
	const struct ioasid_ioctl_desc *d)
{
	if (!(d->attrs & IOASID_IOCTL_OPS))
		return NULL;
	for (unsigned int i = 0; i < d->nfields; i++)
		if (d->fields[i].off == 4 && !d->fields[i].op)
			return &d->fields[i];
	return NULL;
}

uint32_t ioasid_ioctl_desc_op(const struct ioasid_ioctl_desc *d,
			      const void *image, size_t len)
{
	const struct ioasid_field *f = ioasid_ioctl_desc_op_field(d);

	return f ? (uint32_t)ioasid_field_get(f, image, len) : 0;
}

bool ioasid_field_active(const struct ioasid_ioctl_desc *d,
			 const struct ioasid_field *f, uint32_t op)
{
	if (f->op)
		return f->op == op;
	if (!op)
		return true;
	for (unsigned int i = 0; i < d->nfields; i++)
		if (d->fields[i].op == op && d->fields[i].off == f->off)
			return false;
	return true;
}

int ioasid_ioctl_desc_fd(const struct ioasid_ioctl_desc *d, const void *cmd,
			 size_t len)
{
	uint32_t op = ioasid_ioctl_desc_op(d, cmd, len);

	for (unsigned int i = 0; i < d->nfields; i++) {
		const struct ioasid_field *f = &d->fields[i];
		int32_t fd;

		if (f->kind != IOASID_F_FD || !ioasid_field_active(d, f, op) ||
		    len < (size_t)f->off + sizeof(fd))
			continue;
		fd = (int32_t)ioasid_field_get(f, cmd, len);
		return fd < 0 ? -1 : fd;
	}
	return -1;
}

bool ioasid_ioctl_desc_moves_files(const struct ioasid_ioctl_desc *d)
{
	if (d->ret_fd_op)
		return true;
	for (unsigned int i = 0; i < d->nfields; i++)
		if (d->fields[i].kind == IOASID_F_FD ||
		    d->fields[i].kind == IOASID_F_OUT_FD)
			return true;
	return false;
}

uint64_t ioasid_ptr_extent(const struct ioasid_field *f, const void *image,
			   size_t len)
{
	const struct ioasid_ptr_desc *p = &f->ptr;
	uint64_t n, unit;

	switch (p->extent) {
	case IOASID_EXT_N:
		/* u32 * u16 always fits in 64 bits. */
		return field_at(image, len, p->count_off, 4) * p->elem_size;
	case IOASID_EXT_NV:
		return field_at(image, len, p->count_off, 4) *
		       field_at(image, len, p->elem_size_off, 4);
	case IOASID_EXT_LEN:
		return field_at(image, len, p->count_off, 8);
	case IOASID_EXT_BITMAP:
	case IOASID_EXT_BITMAP_DIV:
		unit = field_at(image, len, p->elem_size_off, 8);
		if (!unit)
			return 0;
		if (p->extent == IOASID_EXT_BITMAP)
			unit &= -unit; /* the kernel counts by the lowest bit */
		n = field_at(image, len, p->count_off, 8) / unit;
		return n / 8 + !!(n % 8);
	}
	return 0;
}

bool ioasid_ioctl_desc_pin_range(const struct ioasid_ioctl_desc *d,
				 const void *image, size_t len, uint32_t op,
				 uint64_t *start, uint64_t *end, bool *write)
{
	uint64_t va = 0, length = 0, flags = 0, last;
	bool have_va = false;

	for (unsigned int i = 0; i < d->nfields; i++) {
		const struct ioasid_field *f = &d->fields[i];

		if (!ioasid_field_active(d, f, op) || f->off + f->size > len)
			continue;
		if (f->kind == IOASID_F_VA) {
			va = ioasid_field_get(f, image, len);
			have_va = true;
		} else if (f->kind == IOASID_F_LENGTH) {
			length = ioasid_field_get(f, image, len);
		} else if (f->kind == IOASID_F_FLAGS) {
			flags = ioasid_field_get(f, image, len);
		}
	}
	if (!have_va || !length ||
	    __builtin_add_overflow(va, length - 1, &last) ||
	    last > UINT64_MAX - 4096)
		return false;
	*write = false;
	for (unsigned int i = 0; i < d->nflag_names; i++) {
		const char *name = strrchr(d->flag_names[i].name, '_');

		if (name && !strncmp(name + 1, "WRITE", 5) &&
		    (flags & d->flag_names[i].bit))
			*write = true;
	}
	*start = va & ~4095ull;
	*end = (last | 4095) + 1;
	return true;
}

void ioasid_populate(uint64_t start, uint64_t end, bool write)
{
	madvise((void *)(uintptr_t)start, end - start,
		write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
}

void ioasid_ioctl_desc_populate(const struct ioasid_ioctl_desc *d,
				const void *image, size_t len, uint32_t op)
{
	uint64_t start, end;
	bool write;

	if (ioasid_ioctl_desc_pin_range(d, image, len, op, &start, &end,
					&write))
		ioasid_populate(start, end, write);
}
