/* SPDX-License-Identifier: MIT */
/*
 * The declarative description of every ioctl we answer.  The dispatcher,
 * the shim<->daemon marshalling and anything that decodes traffic read this
 * one table; the behaviour behind each entry lives with its object.
 */
#ifndef IOASID_CORE_IOCTL_DESC_H
#define IOASID_CORE_IOCTL_DESC_H

#include <stddef.h>
#include <stdint.h>

enum ioasid_arg_kind {
	IOASID_ARG_SIZED, /* iommufd: struct led by __u32 size */
	IOASID_ARG_ARGSZ, /* VFIO: struct led by __u32 argsz, no tail rule */
	IOASID_ARG_VALUE, /* the argument is an integer */
	IOASID_ARG_NONE,  /* the argument is ignored */
};

enum ioasid_ptr_dir {
	IOASID_PTR_IN = 1,
	IOASID_PTR_OUT = 2,
	IOASID_PTR_INOUT = 3,
};

#define IOASID_NO_FIELD 0xffff

/*
 * A user pointer inside an argument struct and how much memory it names:
 * count * elem_size bytes, where count is the __u32 at count_off and
 * elem_size is either fixed or the __u32 at elem_size_off.  `op` limits the
 * entry to one IOMMU_TEST_CMD op (0: always).
 */
struct ioasid_ptr_desc {
	uint16_t ptr_off;
	uint16_t count_off;
	uint16_t elem_size_off;
	uint16_t elem_size;
	uint8_t dir;
	uint32_t op;
};

/*
 * A file descriptor field (__s32 or __u32): the shim sends the file itself
 * along, because the daemon needs the file, not the caller's number for
 * it.  `op` limits the entry to one IOMMU_TEST_CMD op (0: always).
 */
struct ioasid_fd_desc {
	uint16_t off;
	uint32_t op;
};

struct ioasid_ioctl_desc {
	const char *name;
	uint32_t cmd;
	uint8_t arg;
	uint16_t size;     /* our struct */
	uint16_t min_size; /* offsetofend of the last mandatory field */
	/* Generic pre-checks, made before the handler runs.  Offset 0 is
	 * always the size, so 0 here means "no such field". */
	uint16_t flags_off;     /* __u32 flags */
	uint32_t flags_mask;    /* the flags we understand */
	uint16_t reserved_off;  /* a reserved field that must be 0 */
	uint8_t reserved_len;   /* its size in bytes (0: none) */
	uint8_t bad_flags_errno;
	const struct ioasid_fd_desc *fds;
	uint8_t nfds;
	const struct ioasid_ptr_desc *ptrs;
	uint8_t nptrs;
};

/* The entry for `cmd`, or NULL when we do not answer it (ENOTTY). */
const struct ioasid_ioctl_desc *ioasid_ioctl_desc_find(unsigned int cmd);

/* Index of an entry in the table, for tables kept in parallel to it. */
unsigned int ioasid_ioctl_desc_index(const struct ioasid_ioctl_desc *d);
unsigned int ioasid_ioctl_desc_count(void);
const struct ioasid_ioctl_desc *ioasid_ioctl_desc_at(unsigned int i);

/*
 * The descriptor number a struct image of `len` bytes names in its fd
 * field, or -1 when it has none.
 */
int ioasid_ioctl_desc_fd(const struct ioasid_ioctl_desc *d, const void *cmd,
			 size_t len);

/* Where a pointer field points and how many bytes, for a struct image. */
int ioasid_ptr_desc_extent(const struct ioasid_ptr_desc *p,
			   const void *cmd, uint64_t *uptr, uint64_t *len);

#endif
