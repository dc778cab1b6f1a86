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
	IOASID_EXT_CMD_DEVICE_DMA = 0x01,
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

/**
 * enum ioasid_device_dma_flags - flags of IOASID_DEVICE_DMA
 * @IOASID_DMA_WRITE: the device writes memory (from the caller's buffer);
 *                    without it the device reads memory into the buffer
 * @IOASID_DMA_PASID: @pasid is valid (non-zero); without it the DMA is
 *                    the whole device's (no PASID)
 */
enum ioasid_device_dma_flags {
	IOASID_DMA_WRITE = 1 << 0,
	IOASID_DMA_PASID = 1 << 1,
};

/**
 * struct ioasid_device_dma - IOASID_DEVICE_DMA
 * @size: sizeof(struct ioasid_device_dma)
 * @flags: enum ioasid_device_dma_flags
 * @dev_id: the device, as IOMMU_TEST_OP_MOCK_DOMAIN (or a bind) named it
 * @pasid: with IOASID_DMA_PASID, the PASID the device uses
 * @iova: where the device reads or writes
 * @length: how many bytes, at most 16 MiB
 * @uptr: the caller's buffer of @length bytes
 *
 * Make an emulated device do DMA, translated by the domain attached to
 * it (at @pasid) exactly as the IOMMU would: through the device's IOTLB
 * and the domain's page table, setting accessed and dirty bits.  The DMA
 * stops at the first byte it cannot do; then nothing is copied back:
 *   ENXIO  nothing is attached there (DMA is blocked)
 *   ENOENT some byte has no mapping (an I/O page fault)
 *   EPERM  the mapping does not allow the direction
 *   EFAULT the memory behind the mapping cannot be reached
 */
struct ioasid_device_dma {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pasid;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 uptr;
};
#define IOASID_DEVICE_DMA _IO(IOASID_EXT_TYPE, IOASID_EXT_CMD_DEVICE_DMA)

#endif
