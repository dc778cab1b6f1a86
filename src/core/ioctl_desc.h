/* SPDX-License-Identifier: MIT */
/*
 * The declarative description of every ioctl we answer, as data.  It is
 * made from one list, src/core/ioctls.def, which also pins the ABI
 * (abi_check.c) and binds the handlers (dispatch.c).  Everything that
 * has to understand an argument struct without running a handler reads
 * it: the dispatcher's generic checks, the shim's marshalling, the
 * random-sequence test, the fuzzers and the decoder (ioasid-trace).
 * This half links into the shim; it names no handler.
 */
#ifndef IOASID_CORE_IOCTL_DESC_H
#define IOASID_CORE_IOCTL_DESC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum ioasid_arg_kind {
	IOASID_ARG_SIZED, /* iommufd: struct led by __u32 size */
	IOASID_ARG_ARGSZ, /* VFIO: struct led by __u32 argsz, no tail rule */
	IOASID_ARG_VALUE, /* the argument is an integer */
	IOASID_ARG_NONE,  /* the argument is ignored */
	IOASID_ARG_S32,   /* it points at an __s32 (VFIO_GROUP_SET_CONTAINER) */
	IOASID_ARG_STRING, /* it points at a NUL-ended name, at most
			    * IOASID_ARG_STRING_MAX bytes with the NUL */
};
#define IOASID_ARG_STRING_MAX 4096 /* the kernel takes a page */

/* What a field means, which is how it is checked, decoded and invented. */
enum ioasid_field_kind {
	IOASID_F_SIZE,      /* the leading size or argsz */
	IOASID_F_FLAGS,     /* flags checked before the handler (entry mask) */
	IOASID_F_BITS,      /* flags the handler judges; arg: the known bits */
	IOASID_F_ZERO,      /* reserved, must be 0: checked before the handler */
	IOASID_F_PAD,       /* reserved, the handler's to judge (or nobody's) */
	IOASID_F_ID,        /* an object the caller names; arg: IOASID_ID_* */
	IOASID_F_OUT_ID,    /* an object we made; arg: its IOASID_ID_* */
	IOASID_F_FD,        /* a descriptor of the caller's */
	IOASID_F_OUT_FD,    /* a descriptor we gave */
	IOASID_F_IOVA,
	IOASID_F_LENGTH,
	IOASID_F_VA,        /* an address in the caller: pinned, not read */
	IOASID_F_COUNT,     /* how many elements a pointer field names */
	IOASID_F_ENUM,      /* one of `values` (others are tried too) */
	IOASID_F_VALUE,     /* any other number the caller gives */
	IOASID_F_OUT,       /* any other number we give back */
	IOASID_F_PTR_IN,    /* memory the handler reads (see ptr) */
	IOASID_F_PTR_OUT,   /* memory the handler writes */
	IOASID_F_PTR_INOUT, /* memory the handler reads and writes */
};

/* The kinds of object an id field may name, a bit each. */
enum ioasid_id_kind {
	IOASID_ID_IOAS = 1 << 0,
	IOASID_ID_HWPT = 1 << 1,
	IOASID_ID_DEV = 1 << 2,     /* a bound device (idev) */
	IOASID_ID_STDEV = 1 << 3,   /* the selftest's device object */
	IOASID_ID_VIOMMU = 1 << 4,
	IOASID_ID_VDEVICE = 1 << 5,
	IOASID_ID_FAULT = 1 << 6,
	IOASID_ID_VEVENTQ = 1 << 7,
	IOASID_ID_HW_QUEUE = 1 << 8,
	IOASID_ID_ACCESS_PAGES = 1 << 9, /* a pin of a selftest access */
	IOASID_ID_RING = 1 << 10,
	IOASID_ID_ANY = (1 << 11) - 1,
};

enum ioasid_ptr_dir {
	IOASID_PTR_IN = 1,
	IOASID_PTR_OUT = 2,
	IOASID_PTR_INOUT = 3,
};

/* How many bytes a pointer field names, from other fields of the struct. */
enum ioasid_ptr_extent {
	IOASID_EXT_N,          /* __u32 count * a fixed element size */
	IOASID_EXT_NV,         /* __u32 count * a __u32 element-size field */
	IOASID_EXT_LEN,        /* a __u64 byte length */
	IOASID_EXT_BITMAP,     /* a bit per (1 << ctz(page_size)) of length */
	IOASID_EXT_BITMAP_DIV, /* a bit per page_size of length */
};

#define IOASID_NO_FIELD 0xffff

struct ioasid_field;

/* A struct that a pointer field names elements of. */
struct ioasid_struct_desc {
	const char *name;
	uint16_t size;
	uint8_t nfields;
	const struct ioasid_field *fields;
};

struct ioasid_ptr_desc {
	uint8_t dir;
	uint8_t extent;
	uint16_t count_off;     /* the count, or the length of a bitmap */
	uint16_t elem_size_off; /* the element size or page size field */
	uint16_t elem_size;     /* a fixed element size */
	const struct ioasid_struct_desc *elem; /* what it holds, if known */
};

struct ioasid_field {
	const char *name;
	uint16_t off;
	uint8_t size;
	uint8_t kind;   /* enum ioasid_field_kind */
	uint32_t op;    /* the IOMMU_TEST_CMD op it belongs to; 0: every op */
	uint64_t arg;   /* ID: IOASID_ID_* bits; BITS: the known bits */
	const uint64_t *values; /* ENUM: the values that mean something */
	uint8_t nvalues;
	struct ioasid_ptr_desc ptr; /* PTR_*: what it points at */
};

struct ioasid_flag_name {
	const char *name;
	uint32_t bit;
};

/* Entry attributes. */
#define IOASID_IOCTL_TEST_ONLY (1u << 0) /* served by a test-mode daemon only */
/* The second __u32 is an op that chooses which union fields are there. */
#define IOASID_IOCTL_OPS (1u << 1)
/* It changes the machine for every client (plugs or unplugs a device):
 * random sequences and fuzzers leave it to the tests made for it, as they
 * would leave a device another program is using. */
#define IOASID_IOCTL_MACHINE (1u << 2)

/*
 * Which file an ioctl is made on.  Numbers are unique per file, not
 * across them: VFIO's device and container ioctls share ';' 112-113.
 */
enum ioasid_ioctl_on {
	IOASID_ON_IOMMUFD,     /* /dev/iommu (its VFIO container too) */
	IOASID_ON_VFIO_DEVICE, /* a VFIO device: cdev or group-given */
	IOASID_ON_VFIO_GROUP,  /* /dev/vfio/N */
};

struct ioasid_ioctl_desc {
	const char *name;
	uint32_t cmd;
	uint8_t arg;       /* enum ioasid_arg_kind */
	uint8_t attrs;     /* IOASID_IOCTL_* */
	uint8_t on;        /* enum ioasid_ioctl_on */
	uint8_t bad_flags_errno;
	uint8_t nfields;
	uint16_t size;     /* our struct */
	uint16_t min_size; /* offsetofend of the last mandatory field */
	uint32_t flags_mask; /* the FLAGS field's known bits */
	uint8_t nflag_names;
	const struct ioasid_flag_name *flag_names;
	const struct ioasid_field *fields;
	/* The op (IOMMU_TEST_CMD) whose result is a new descriptor, or 0. */
	uint32_t ret_fd_op;
	/* Values the integer argument of a VALUE ioctl means something for. */
	const uint64_t *values;
	uint8_t nvalues;
};

/* Each entry's index in the table: IOASID_IX_<cmd>. */
enum ioasid_ioctl_index {
#define IOASID_IOCTL(cmd, ...) IOASID_IX_##cmd,
#define IOASID_IOCTL_INT(cmd, ...) IOASID_IX_##cmd,
#define IOASID_STRUCT(...)
#include "ioctls.def"
#undef IOASID_IOCTL
#undef IOASID_IOCTL_INT
#undef IOASID_STRUCT
	IOASID_NR_IOCTLS
};

/* The entry for `cmd`, or NULL when we do not answer it (ENOTTY). */
/* The entry for cmd on a file of kind `on`, or NULL. */
const struct ioasid_ioctl_desc *ioasid_ioctl_desc_find_on(unsigned int on,
							 unsigned int cmd);
/* The same on /dev/iommu. */
const struct ioasid_ioctl_desc *ioasid_ioctl_desc_find(unsigned int cmd);

/* Index of an entry in the table, for tables kept in parallel to it. */
unsigned int ioasid_ioctl_desc_index(const struct ioasid_ioctl_desc *d);
unsigned int ioasid_ioctl_desc_count(void);
const struct ioasid_ioctl_desc *ioasid_ioctl_desc_at(unsigned int i);

/* The field that picks the union's fields (IOASID_IOCTL_OPS), or NULL. */
const struct ioasid_field *ioasid_ioctl_desc_op_field(
	const struct ioasid_ioctl_desc *d);

/* The op of a struct image whose second __u32 is an op (TEST_CMD), or 0. */
uint32_t ioasid_ioctl_desc_op(const struct ioasid_ioctl_desc *d,
			      const void *image, size_t len);

/*
 * Whether field `f` is part of a struct image whose op is `op`: fields of
 * another op are not, and a field of every op is not when a field of this
 * op overlays it (IOMMU_TEST_CMD's `id` is an fd for the access ops).
 */
bool ioasid_field_active(const struct ioasid_ioctl_desc *d,
			 const struct ioasid_field *f, uint32_t op);

static inline bool ioasid_field_is_ptr(const struct ioasid_field *f)
{
	return f->kind >= IOASID_F_PTR_IN && f->kind <= IOASID_F_PTR_INOUT;
}

/* A field's value in a struct image (zero-extended), 0 past `len`. */
uint64_t ioasid_field_get(const struct ioasid_field *f, const void *image,
			  size_t len);
void ioasid_field_set(const struct ioasid_field *f, void *image,
		      uint64_t value);

/*
 * The descriptor number a struct image of `len` bytes names in its fd
 * field, or -1 when it has none.
 */
int ioasid_ioctl_desc_fd(const struct ioasid_ioctl_desc *d, const void *cmd,
			 size_t len);

/*
 * Whether a call of d, under any op, takes a descriptor of the caller's
 * or hands one out: such a call needs the socket, which carries files.
 */
bool ioasid_ioctl_desc_moves_files(const struct ioasid_ioctl_desc *d);

/* How many bytes pointer field `f` names in a struct image. */
uint64_t ioasid_ptr_extent(const struct ioasid_field *f, const void *image,
			   size_t len);

/*
 * Fault in the user memory a struct image names to pin -- its VA field
 * over its LENGTH -- for writing when the call's flags ask for it (a
 * flag named ..._WRITE or ..._WRITEABLE): the kernel's pin leaves pages
 * resident, and a daemon cannot fault another process' pages in, so its
 * client does before it asks.  Nothing for a call that names none.
 * Errors are dropped: the pin judges the memory as it names the pages.
 */
void ioasid_ioctl_desc_populate(const struct ioasid_ioctl_desc *d,
				const void *image, size_t len, uint32_t op);

/* The pages that populate faults in, [*start, *end), and whether for
 * writing: false when the call names none. */
bool ioasid_ioctl_desc_pin_range(const struct ioasid_ioctl_desc *d,
				 const void *image, size_t len, uint32_t op,
				 uint64_t *start, uint64_t *end, bool *write);
/* Fault in [start, end) of our own memory, for writing when `write`. */
void ioasid_populate(uint64_t start, uint64_t end, bool write);

/*
 * The decoder (ioasid-trace): one line on f for ioctl cmd with argument
 * arg made on a file of kind `on` (enum ioasid_ioctl_on), its struct
 * image before the call and after it (len bytes each;
 * before NULL when it could not be read, after NULL when it did not
 * change), and its result.  Pointer fields are followed with read
 * (0 or -errno), which may be NULL.
 */
typedef int (*ioasid_decode_read_fn)(void *priv, uint64_t uptr, void *dst,
				     size_t len);
void ioasid_ioctl_decode(FILE *f, unsigned int on, unsigned int cmd,
			 unsigned long arg, const void *before,
			 const void *after, size_t len, long result,
			 ioasid_decode_read_fn read, void *priv);

#endif
