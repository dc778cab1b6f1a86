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
	IOASID_EXT_CMD_DEVICE_ALLOC = 0x02,
	IOASID_EXT_CMD_DEVICE_ATTACH = 0x03,
	IOASID_EXT_CMD_DEVICE_DETACH = 0x04,
	IOASID_EXT_CMD_VFIO_PLUG = 0x05,
	IOASID_EXT_CMD_VFIO_UNPLUG = 0x06,
	IOASID_EXT_CMD_RING_ALLOC = 0x07,
	IOASID_EXT_CMD_RING_ENTER = 0x08,
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

/**
 * enum ioasid_device_model - the IOMMU an emulated device sits behind
 * @IOASID_DEVICE_MOCK: the upstream selftest's mock IOMMU (2 KiB pages,
 *                      aperture [16 MiB, 2 GiB))
 * @IOASID_DEVICE_VTD: an Intel VT-d IOMMU in scalable mode (48-bit IOVA,
 *                     first-level tables for DMA domains, second-level for
 *                     nest parents and dirty tracking, the interrupt window
 *                     0xfee00000-0xfeefffff reserved)
 */
enum ioasid_device_model {
	IOASID_DEVICE_MOCK = 1,
	IOASID_DEVICE_VTD = 2,
};

/**
 * enum ioasid_device_alloc_flags
 * @IOASID_DEVICE_ALLOC_PASID: the device issues PASID-tagged DMA (20 bits)
 */
enum ioasid_device_alloc_flags {
	IOASID_DEVICE_ALLOC_PASID = 1 << 0,
};

/**
 * struct ioasid_device_alloc - IOASID_DEVICE_ALLOC
 * @size: sizeof(struct ioasid_device_alloc)
 * @flags: enum ioasid_device_alloc_flags
 * @model: enum ioasid_device_model (EOPNOTSUPP for another)
 * @out_dev_id: the new device's object id
 *
 * Plug in an emulated device: a device object, bound to this context,
 * that upstream ioctls take as a dev_id (IOMMU_HWPT_ALLOC,
 * IOMMU_GET_HW_INFO) and that does DMA with IOASID_DEVICE_DMA.
 * IOMMU_DESTROY unplugs it, detaching it first.
 */
struct ioasid_device_alloc {
	__u32 size;
	__u32 flags;
	__u32 model;
	__u32 out_dev_id;
};
#define IOASID_DEVICE_ALLOC _IO(IOASID_EXT_TYPE, IOASID_EXT_CMD_DEVICE_ALLOC)

/**
 * enum ioasid_device_attach_flags
 * @IOASID_ATTACH_PASID: attach @pasid (non-zero), not the whole device
 * @IOASID_ATTACH_REPLACE: replace what is attached there (EINVAL if
 *                         nothing is), rather than attach anew (EBUSY if
 *                         something is)
 */
enum ioasid_device_attach_flags {
	IOASID_ATTACH_PASID = 1 << 0,
	IOASID_ATTACH_REPLACE = 1 << 1,
};

/**
 * struct ioasid_device_attach - IOASID_DEVICE_ATTACH
 * @size: sizeof(struct ioasid_device_attach)
 * @flags: enum ioasid_device_attach_flags
 * @dev_id: a device from IOASID_DEVICE_ALLOC (or the selftest's)
 * @pasid: with IOASID_ATTACH_PASID, the PASID
 * @pt_id: an IOAS or a HWPT; on return the HWPT attached (for an IOAS,
 *         the automatic one the device's driver accepted or made)
 * @__reserved: must be 0
 *
 * What VFIO's VFIO_DEVICE_ATTACH_IOMMUFD_PT does for a real device, with
 * the kernel's errnos: EINVAL when the driver refuses the domain,
 * EADDRINUSE when the device's reserved regions meet a mapping.
 */
struct ioasid_device_attach {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pasid;
	__u32 pt_id;
	__u32 __reserved;
};
#define IOASID_DEVICE_ATTACH _IO(IOASID_EXT_TYPE, IOASID_EXT_CMD_DEVICE_ATTACH)

/**
 * struct ioasid_device_detach - IOASID_DEVICE_DETACH
 * @size: sizeof(struct ioasid_device_detach)
 * @flags: IOASID_ATTACH_PASID, or 0 for the whole device
 * @dev_id: the device
 * @pasid: with IOASID_ATTACH_PASID, the PASID
 *
 * Detach; DMA there is blocked from then on.  Detaching what is not
 * attached does nothing.
 */
struct ioasid_device_detach {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pasid;
};
#define IOASID_DEVICE_DETACH _IO(IOASID_EXT_TYPE, IOASID_EXT_CMD_DEVICE_DETACH)

/**
 * struct ioasid_vfio_plug - IOASID_VFIO_PLUG
 * @size: sizeof(struct ioasid_vfio_plug)
 * @flags: must be 0
 * @spec: user pointer to the device's spec, "MODEL[,key=value...]" as
 *        ioasid-devices(7) and `--device` take it (no NUL needed)
 * @spec_len: its length in bytes, at most 255
 * @out_index: the new device's N (/dev/vfio/devices/vfioN)
 *
 * Plug in a PCI function of a device model behind VFIO, as a hot-plugged
 * device bound to vfio-pci: found in /sys and /dev as the kernel puts
 * one.  An administrator's act: EPERM without CAP_SYS_ADMIN.  ENODEV for
 * no such model, EINVAL for a spec it refuses, EEXIST for a taken slot.
 */
struct ioasid_vfio_plug {
	__u32 size;
	__u32 flags;
	__aligned_u64 spec;
	__u32 spec_len;
	__u32 out_index;
};
#define IOASID_VFIO_PLUG _IO(IOASID_EXT_TYPE, IOASID_EXT_CMD_VFIO_PLUG)

/**
 * struct ioasid_vfio_unplug - IOASID_VFIO_UNPLUG
 * @size: sizeof(struct ioasid_vfio_unplug)
 * @flags: must be 0
 * @index: the device's N
 * @__reserved: must be 0
 *
 * Unplug it (CAP_SYS_ADMIN, as plugging).  0 when it is gone;
 * EINPROGRESS when a program holds it open: that program is asked to let
 * go through the device's request interrupt (VFIO_PCI_REQ_IRQ_INDEX), as
 * the kernel asks when a device is unbound from vfio-pci, and the device
 * goes when its last file closes, found by nothing meanwhile.  ENODEV for
 * no such device.
 */
struct ioasid_vfio_unplug {
	__u32 size;
	__u32 flags;
	__u32 index;
	__u32 __reserved;
};
#define IOASID_VFIO_UNPLUG _IO(IOASID_EXT_TYPE, IOASID_EXT_CMD_VFIO_UNPLUG)

/**
 * struct ioasid_ring_entry - one operation in a ring
 * @cmd: IOMMU_IOAS_MAP, IOMMU_IOAS_UNMAP, IOMMU_IOAS_COPY or
 *       IOMMU_HWPT_INVALIDATE
 * @result: what IOASID_RING_ENTER wrote: the operation's return value
 *          (0), or -errno; EOPNOTSUPP for any other @cmd
 * @arg: the operation's argument struct, as its ioctl takes it (@size
 *       first, at most 56 bytes); what the ioctl writes back (an IOVA, a
 *       length) is written here
 *
 * One cache line.  Pointers inside @arg (an invalidation's array) point
 * into the caller's memory as for the ioctl.
 */
struct ioasid_ring_entry {
	__u32 cmd;
	__s32 result;
	__u8 arg[56];
};

/**
 * struct ioasid_ring_alloc - IOASID_RING_ALLOC
 * @size: sizeof(struct ioasid_ring_alloc)
 * @flags: must be 0
 * @entries: how many entries, 1 to 65536
 * @out_ring_id: the ring's object id (IOMMU_DESTROY frees it)
 * @out_mmap_offset: where to mmap(2) the ring on this file
 * @out_mmap_length: its length: @entries entries, rounded up to pages
 *
 * A ring of operations in memory shared with whoever serves the file:
 * fill entries, then IOASID_RING_ENTER runs many of them in one call.
 * While the ring is mapped, IOMMU_DESTROY of it is EBUSY.
 */
struct ioasid_ring_alloc {
	__u32 size;
	__u32 flags;
	__u32 entries;
	__u32 out_ring_id;
	__aligned_u64 out_mmap_offset;
	__aligned_u64 out_mmap_length;
};
#define IOASID_RING_ALLOC _IO(IOASID_EXT_TYPE, IOASID_EXT_CMD_RING_ALLOC)

/**
 * enum ioasid_ring_enter_flags - flags of IOASID_RING_ENTER
 * @IOASID_RING_ENTER_STOP: stop at the first entry that fails
 */
enum ioasid_ring_enter_flags {
	IOASID_RING_ENTER_STOP = 1 << 0,
};

/**
 * struct ioasid_ring_enter - IOASID_RING_ENTER
 * @size: sizeof(struct ioasid_ring_enter)
 * @flags: enum ioasid_ring_enter_flags
 * @ring_id: the ring
 * @first: the first entry to run
 * @count: how many, in order; @first + @count at most the ring's entries
 * @out_done: how many ran (each with its @result written)
 *
 * Run entries as their ioctls would run, one after another, as the
 * caller: each succeeds or fails alone, and a failure changes nothing of
 * its own.  Fails (EINVAL, ENOENT) only for the call itself; 0 otherwise,
 * the entries' results in the ring.
 */
struct ioasid_ring_enter {
	__u32 size;
	__u32 flags;
	__u32 ring_id;
	__u32 first;
	__u32 count;
	__u32 out_done;
};
#define IOASID_RING_ENTER _IO(IOASID_EXT_TYPE, IOASID_EXT_CMD_RING_ENTER)

/*
 * The character devices our VFIO devices and groups are, as stat(2) of
 * /dev/vfio/devices/vfioN and /dev/vfio/N says under the shim and as
 * their sysfs "dev" files say: (major, N).  The kernel's majors are
 * dynamic; these are fixed, in its dynamic range.
 */
#define IOASID_VFIO_DEVICE_MAJOR 511
#define IOASID_VFIO_GROUP_MAJOR 510

#endif
