/* SPDX-License-Identifier: MIT */
/*
 * libioasid: the transport-free iommufd core.
 *
 * A context (struct ioasid_ctx) is what one open() of /dev/iommu is in the
 * kernel: a table of objects and the options that govern them.  Calls come
 * in through ioasid_ctx_ioctl() with exactly the arguments a program passes
 * to ioctl(2); the caller describes who is calling and how their memory is
 * reached.  Nothing here knows about sockets: ioasidd, tests, benchmarks and
 * device emulators all drive this same interface.
 *
 * All functions return 0 (or a non-negative result) on success and a
 * negative errno on failure; none of them sets errno.
 */
#ifndef IOASID_IOASID_H
#define IOASID_IOASID_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What libioasid exports (everything else in it is hidden). */
#if defined(__GNUC__)
#define IOASID_API __attribute__((visibility("default")))
#else
#define IOASID_API
#endif

struct ioasid_ctx;

struct ioasid_file;

struct ioasid_mm;

/*
 * How the core reaches the caller's memory and files.  read and write
 * return 0 or -EFAULT; check_zeroed returns 1 when [uptr, uptr+len) is all
 * zero, 0 when it is not, -EFAULT when it cannot be read.  get_fd turns the
 * caller's descriptor number into a new descriptor of this process that
 * the core then owns, or -EBADF.
 *
 * Some objects are handed to the caller as descriptors of their own (the
 * kernel's anonymous-inode files: the selftest's access fd, fault and
 * event queues).  Like the kernel, the core reserves the number first and
 * installs the file only once the ioctl has succeeded:
 *   reserve_fd  returns the caller's number for a descriptor about to show
 *               `file`, or -errno.  The core reports that number at user
 *               address fd_uptr (0: as the ioctl's result); a transport that
 *               cannot know the number before the caller receives the
 *               descriptor returns a placeholder and writes the real number
 *               at fd_uptr itself.  At most one per ioctl.
 *   commit_fd   is called when the ioctl ends: with ok, the transport takes
 *               over the core's reference to the file and releases it with
 *               ioasid_file_put() when the caller's last copy of the
 *               descriptor is closed; without, it forgets the reservation
 *               and must not touch the file.
 *   get_file    finds the file behind the caller's descriptor `fd` and
 *               returns it with a reference the core drops, or -EBADF.
 * A transport without files leaves these NULL: such ioctls then fail with
 * -EOPNOTSUPP.
 */
struct ioasid_uaccess_ops {
	int (*read)(void *priv, uint64_t uptr, void *dst, size_t len);
	int (*write)(void *priv, uint64_t uptr, const void *src, size_t len);
	int (*check_zeroed)(void *priv, uint64_t uptr, size_t len);
	int (*get_fd)(void *priv, int fd);
	int (*reserve_fd)(void *priv, struct ioasid_file *file,
			  uint64_t fd_uptr);
	void (*commit_fd)(void *priv, struct ioasid_file *file, int ok);
	int (*get_file)(void *priv, int fd, struct ioasid_file **out);
	/*
	 * The address space the caller's pointers point into, with a
	 * reference the core drops (ioasid_mm_put), or -errno.  Page sets
	 * made for IOMMU_IOAS_MAP keep it: it is how their pages are reached
	 * from then on.  NULL when the caller is this process.
	 */
	int (*get_mm)(void *priv, struct ioasid_mm **out);
	/*
	 * The context behind the caller's /dev/iommu descriptor `fd`, alive
	 * for the rest of the call (the core takes its own reference), or
	 * -EBADF: what VFIO_DEVICE_BIND_IOMMUFD binds a device to.  NULL: no
	 * descriptor is a context (-EBADF).
	 */
	int (*get_ctx)(void *priv, int fd, struct ioasid_ctx **out);
};

/*
 * Who is calling: the process and thread, their credentials and the
 * effective capability set of the calling thread (bit n is capability n).
 *
 * cap_effective may be a claim the builder could not check cheaply: then
 * verify_cap confirms one claimed capability when a handler actually needs
 * it (1: held, 0: not), so the common request never pays for the proof.
 * NULL means cap_effective is already verified.
 */
struct ioasid_caller {
	pid_t pid;
	pid_t tid;
	uid_t uid;
	gid_t gid;
	uint64_t cap_effective;
	int (*verify_cap)(void *priv, unsigned int cap);
	const struct ioasid_uaccess_ops *uaccess;
	void *uaccess_priv; /* also passed to verify_cap */
};

/* Create a context; NULL when out of memory. */
IOASID_API struct ioasid_ctx *ioasid_ctx_new(void);

/*
 * Serve the test hooks from now on, in every context of this process:
 * IOMMU_TEST_CMD (the kernel's CONFIG_IOMMUFD_TEST), which otherwise is
 * -ENOTTY as in a kernel built without it.  The selftest's ops reach
 * process-wide state (the temporary memory limit, say), so a daemon that
 * serves mutually untrusting clients never turns this on.  There is no
 * way back.
 */
IOASID_API void ioasid_enable_test_mode(void);

/*
 * The opener's close.  When no file the context handed out is open any
 * more either, this is the last close: every object is destroyed, every
 * pin released, the context freed.  It cannot fail.
 */
IOASID_API void ioasid_ctx_put(struct ioasid_ctx *ctx);

/*
 * Drop a reference to a file the core handed out; the last one releases
 * whatever the file stands for (an access fd's access, with its pins).
 */
IOASID_API void ioasid_file_put(struct ioasid_file *file);

/*
 * Which descriptor stands for which file, for transports that make a real
 * descriptor per file: the file is found again by the identity of the
 * open file (device and inode), whatever number or process holds it.
 * ioasid_file_register() records `fd`'s identity (0 or -errno);
 * ioasid_file_lookup() returns the file with a reference, or -EBADF.
 */
IOASID_API int ioasid_file_register(struct ioasid_file *file, int fd);

/*
 * read(2), write(2) and poll(2) on a file of ours (a fault queue, say):
 * count bytes at the caller's uptr; bytes done or -errno (-EINVAL for a
 * file that has no such operation).  ioasid_file_poll returns the POLL*
 * mask.  A transport watching the file is told, through notify (which
 * may run on any thread), whenever what poll says may have changed.
 */
IOASID_API long ioasid_file_read(struct ioasid_file *file,
		      const struct ioasid_caller *caller, uint64_t uptr,
		      size_t count);
IOASID_API long ioasid_file_write(struct ioasid_file *file,
		       const struct ioasid_caller *caller, uint64_t uptr,
		       size_t count);
IOASID_API unsigned int ioasid_file_poll(struct ioasid_file *file);
IOASID_API long ioasid_file_ioctl(struct ioasid_file *file,
		       const struct ioasid_caller *caller, unsigned int cmd,
		       unsigned long arg);
IOASID_API long ioasid_file_pread(struct ioasid_file *file,
		       const struct ioasid_caller *caller, uint64_t uptr,
		       size_t count, uint64_t off);
IOASID_API long ioasid_file_pwrite(struct ioasid_file *file,
			const struct ioasid_caller *caller, uint64_t uptr,
			size_t count, uint64_t off);
IOASID_API int ioasid_file_mmap(struct ioasid_file *file, uint64_t off,
		     uint64_t len, int prot, int flags, uint64_t *fd_off,
		     uint64_t *trap_len);
IOASID_API void ioasid_file_set_notify(struct ioasid_file *file, void (*notify)(void *priv),
			    void *priv);
IOASID_API void ioasid_file_unregister(struct ioasid_file *file);
IOASID_API int ioasid_file_lookup(int fd, struct ioasid_file **out);

/*
 * Close a descriptor that a caller made by ioasid_caller_self() received
 * from an ioctl (an access fd, say): the in-process form of close(2).
 * Returns 0, or -EBADF when fd is not such a descriptor.
 */
IOASID_API int ioasid_self_close(int fd);
/* read(2)/write(2) on such a descriptor: bytes, or -errno. */
IOASID_API long ioasid_self_read(int fd, void *buf, size_t count);
IOASID_API long ioasid_self_write(int fd, const void *buf, size_t count);

/*
 * Run one ioctl.  `arg` is the raw argument: a user pointer for struct
 * ioctls, a plain value for the VFIO value ioctls.  Returns the ioctl's
 * non-negative result or -errno (-ENOTTY for a command we do not serve).
 */
IOASID_API long ioasid_ctx_ioctl(struct ioasid_ctx *ctx, const struct ioasid_caller *caller,
		      unsigned int cmd, unsigned long arg);

/*
 * Describe the calling thread of this process as a caller whose memory is
 * this address space, read and written fault-safely (a bad pointer gives
 * -EFAULT, never a crash).  Returns 0 or -errno.
 */
IOASID_API int ioasid_caller_self(struct ioasid_caller *caller);

/*
 * The address space of a caller that is another process, for a transport
 * to return from get_mm: the process' pid, its real uid, its pidfd (-1:
 * none; closed, as the image's descriptors alone say whether it is still
 * there), and descriptors of its /proc/self/mem (read-write) and
 * /proc/self/maps that the process opened itself and handed over.  The
 * core reaches its memory through them alone, so never beyond what the
 * process could reach, and never in an image that replaced the one they
 * were opened in.  Takes the descriptors over, failure included.  NULL
 * when out of memory or when mem or maps is not such a descriptor.
 */
IOASID_API struct ioasid_mm *ioasid_mm_new(pid_t pid, uid_t uid, int pidfd,
					  int mem, int maps);
IOASID_API struct ioasid_mm *ioasid_mm_get(struct ioasid_mm *mm);
IOASID_API void ioasid_mm_put(struct ioasid_mm *mm);

/*
 * Copy len bytes at addr of the address space as a user access would
 * (copy_from_user / copy_to_user: a write needs a writable mapping):
 * 0, -EFAULT, or -ESRCH when the image is gone (the process exec'd or
 * exited).  With len 0, only whether the image is still there.
 */
IOASID_API int ioasid_mm_rw(struct ioasid_mm *mm, uint64_t addr, void *buf,
			    size_t len, int write);

/*
 * DMA by device dev_id of ctx at iova, translated by the domain attached
 * to it, at pasid (0: the whole device), exactly as IOASID_DEVICE_DMA
 * (<ioasid/uapi/ioasid.h>) does: 0, or -ENXIO (nothing attached), -ENOENT
 * (no mapping: an I/O page fault), -EPERM (the mapping forbids the
 * direction), -EFAULT (its memory cannot be reached), -ENOENT for no such
 * device.  The DMA stops at the first byte it cannot do.
 */
IOASID_API int ioasid_dma_read(struct ioasid_ctx *ctx, uint32_t dev_id, uint32_t pasid,
		    uint64_t iova, void *buf, size_t len);
IOASID_API int ioasid_dma_write(struct ioasid_ctx *ctx, uint32_t dev_id, uint32_t pasid,
		     uint64_t iova, const void *buf, size_t len);

/*
 * mmap(2) of the context's file at offset (PROT_* prot, MAP_* flags): a
 * new descriptor of a memfd to map length bytes of from its start, or
 * -errno as the kernel's: -EINVAL for a length that is not whole pages or
 * a mapping that is not MAP_SHARED, -EPERM for PROT_EXEC, -ENXIO unless
 * offset and length are exactly a region's.  The mapping holds the
 * region's owner until ioasid_ctx_munmap(ctx, offset), or the context's
 * release.
 */
IOASID_API int ioasid_ctx_mmap(struct ioasid_ctx *ctx, uint64_t offset, uint64_t length,
		    int prot, int flags);
IOASID_API int ioasid_ctx_munmap(struct ioasid_ctx *ctx, uint64_t offset);

/*
 * The fast path for a device emulator linking the core.  A handle on an
 * emulated device (one plugged in with IOASID_DEVICE_ALLOC: the selftest's
 * own devices are refused, -EPERM) keeps it from IOMMU_DESTROY (EBUSY)
 * until ioasid_dev_put().  Between ioasid_dma_begin() and ioasid_dma_end()
 * (short: unmaps wait for it, and it must not block on the IOAS),
 * ioasid_dma_translate() gives where the byte at iova is in this process,
 * valid to the end of its 4 KiB page until ioasid_dma_end(); -EFAULT for
 * memory that is not this process' own (use ioasid_dma_read/write), and
 * otherwise the errors of ioasid_dma_read.  write says the device will
 * write there (the page table's dirty bit is set).
 */
struct ioasid_dev;
IOASID_API int ioasid_dev_get(struct ioasid_ctx *ctx, uint32_t dev_id,
		   struct ioasid_dev **out);
IOASID_API void ioasid_dev_put(struct ioasid_dev *dev);
IOASID_API void ioasid_dma_begin(void);
IOASID_API void ioasid_dma_end(void);
IOASID_API int ioasid_dma_translate(struct ioasid_dev *dev, uint32_t pasid, uint64_t iova,
			 int write, void **host);
/* ioasid_dma_read/write by handle: no lookup of the device. */
IOASID_API int ioasid_dev_dma(struct ioasid_dev *dev, uint32_t pasid, uint64_t iova,
		   void *buf, size_t len, int write);

/*
 * Emulated PCI functions behind VFIO, as vfio-pci exposes real ones.
 * ioasid_vfio_plug() plugs one in from "MODEL[,bdf=DDDD:BB:DD.F]
 * [,iommu=vtd|mock][,group=N][,model's own key=value...]" and returns its
 * index N (its cdev is /dev/vfio/devices/vfioN), or -errno: -ENODEV for
 * no such model, -EINVAL for a spec it refuses, -EEXIST for a taken slot.
 * Without bdf= it takes the first free slot from 0000:00:04.0.
 * ioasid_vfio_open() opens device N as a file (what an open(2) of its
 * cdev is), driven with ioasid_file_ioctl(), _pread(), _pwrite() and
 * _mmap(); its last ioasid_file_put() closes it, unbinding it.
 */
IOASID_API int ioasid_vfio_plug(const char *spec);
IOASID_API int ioasid_vfio_open(int index, struct ioasid_file **out);
/*
 * Unplug device N: 0 when it is gone, -EINPROGRESS when a file holds it
 * (its holder is asked to let go through the request interrupt, and the
 * device goes when its last file closes; it is found by nothing
 * meanwhile), -ENODEV for no such device.  A plug or unplug after
 * ioasid_vfio_sysfs() rewrites that view.
 */
IOASID_API int ioasid_vfio_unplug(int index);
/*
 * A file of IOMMU group `group` (what an open(2) of /dev/vfio/<group>
 * is): -ENODEV when no device is in it, -EBUSY while it is open already.
 */
IOASID_API int ioasid_vfio_open_group(unsigned int group,
				      struct ioasid_file **out);
/* Which kind of file the core made: "[vfio-device]", "[vfio-group]",
 * or the anonymous-inode name of the others. */
IOASID_API const char *ioasid_file_name(const struct ioasid_file *file);

/*
 * Write what /sys and /dev would show of the plugged devices under the
 * directory root (root/sys/bus/pci/devices/BDF, root/dev/vfio/...): a
 * shim lays it over the real ones.  0 or -errno.
 */
IOASID_API int ioasid_vfio_sysfs(const char *root);

/*
 * A VFIO device or group file joins (add) or leaves a VM's KVM VFIO
 * pseudo-device, as KVM_DEV_VFIO_FILE_ADD/_DEL say: 0, -EEXIST when it is
 * linked already, -ENOENT when it is not, -EINVAL for a file that is
 * neither.  Our devices' DMA is coherent: KVM needs nothing more.
 */
IOASID_API int ioasid_vfio_kvm_link(struct ioasid_file *file, int add);

/* How many objects the context holds (published or being built). */
IOASID_API unsigned int ioasid_ctx_object_count(struct ioasid_ctx *ctx);

/*
 * Many operations in one call (IOASID_RING_ALLOC and IOASID_RING_ENTER on
 * a /dev/iommu descriptor): a ring of `entries` entries mapped into this
 * process.  ioasid_ring_open: 0 or -errno (the ioctl's, or mmap's).
 * ioasid_ring_put: entry i becomes the ioctl cmd with its argument (len
 * bytes, at most 56); -EINVAL otherwise.  ioasid_ring_enter: run count
 * entries from first, in order: how many ran (each with its result and
 * answer in ring->entry[i]), or -errno.  ioasid_ring_close: unmap and
 * free the ring.
 */
struct ioasid_ring_entry;
struct ioasid_ring {
	int fd;
	uint32_t id;
	uint32_t entries;
	struct ioasid_ring_entry *entry;
	size_t length;
};
IOASID_API int ioasid_ring_open(int iommufd, unsigned int entries,
				struct ioasid_ring *ring);
IOASID_API int ioasid_ring_put(struct ioasid_ring *ring, unsigned int i,
			       unsigned int cmd, const void *arg, size_t len);
IOASID_API int ioasid_ring_enter(struct ioasid_ring *ring, unsigned int first,
				 unsigned int count, unsigned int flags);
IOASID_API void ioasid_ring_close(struct ioasid_ring *ring);

#ifdef __cplusplus
}
#endif
#endif /* IOASID_IOASID_H */
