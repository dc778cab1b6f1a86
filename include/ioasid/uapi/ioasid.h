/* SPDX-License-Identifier: MIT */
/*
 * ioasid's own ioctls on /dev/iommu, outside upstream's number space:
 * ioctl type 0x3c (upstream iommufd and VFIO use 0x3b), numbered from
 * 0x00.  The same conventions as iommufd: a struct led by its __u32 size,
 * a shorter struct zero-extended, a longer one accepted only if the bytes
 * we do not know are zero.
 */
#ifndef _UAPI_IOASID_H
#define _UAPI_IOASID_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define IOASID_EXT_TYPE 0x3c

enum {
	IOASID_EXT_CMD_PROCESS_ACCOUNTING = 0x00,
};

/**
 * struct ioasid_process_accounting - IOASID_PROCESS_ACCOUNTING
 * @size: sizeof(struct ioasid_process_accounting)
 * @pid: the process asked about, in the caller's pid namespace; 0 is the
 *       caller itself
 * @out_pinned: pages pinned on its behalf (what the kernel shows as VmPin)
 * @out_locked: pages charged to its locked memory in the MM accounting
 *              mode (part of what the kernel shows as VmLck)
 *
 * What the kernel would add to /proc/PID/status for this process; the
 * shim serves VmPin and VmLck from it.  Every context of the daemon sees
 * the same totals: they belong to the process, not to a context.
 */
struct ioasid_process_accounting {
	__u32 size;
	__u32 pid;
	__aligned_u64 out_pinned;
	__aligned_u64 out_locked;
};
#define IOASID_PROCESS_ACCOUNTING \
	_IO(IOASID_EXT_TYPE, IOASID_EXT_CMD_PROCESS_ACCOUNTING)

#endif
