/* SPDX-License-Identifier: MIT */
/*
 * Rings: many map, unmap, copy and invalidate operations for one call.
 * The design threads asked for a fast path without a round trip per map;
 * through a daemon each ioctl costs one, and a VMM building its guest's
 * address space makes hundreds.  A ring is memory the caller and we both
 * map (a memfd, mmap'd on the context like a vIOMMU's registers): the
 * caller writes entries, IOASID_RING_ENTER runs a span of them through
 * the dispatcher, one by one, as the caller, each writing its result and
 * its answer back into its entry.
 *
 * An entry's argument is read from our mapping of the ring: the
 * dispatcher sees it at an address no user pointer can have (the upper
 * half), which a uaccess of our own serves from the entry and forwards
 * everything else to the caller's.  So pointers inside an argument reach
 * the caller's memory as the ioctl's would, and nothing is copied twice.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "context.h"
#include "dispatch.h"
#include "ioasid/uapi/ioasid.h"
#include "ioasid/uapi/iommufd.h"
#include "object.h"
#include "mmap.h"
#include "ucmd.h"
#include "user_limits.h"
#include "util.h"
#include "vm_access.h"

#define RING_MAX_ENTRIES 65536u
/* Where entry i's argument appears to the dispatcher: never a user
 * address (x86-64 user space ends below 2^47). */
#define RING_WINDOW 0xffff800000000000ull

_Static_assert(sizeof(struct ioasid_ring_entry) == 64, "one cache line");

struct ring_object {
	struct ioasid_object obj;
	struct ioasid_ring_entry *entries; /* our mapping */
	uint32_t nentries;
	uint64_t length;
	uint64_t mmap_offset;
	int memfd;        /* until the region takes it */
	bool has_region;
	uid_t payer;      /* charged `length` */
};

static void ring_destroy(struct ioasid_ctx *ctx, struct ioasid_object *obj)
{
	struct ring_object *ring = container_of(obj, struct ring_object, obj);

	if (ring->has_region)
		ioasid_mmap_destroy(ctx, ring->mmap_offset); /* closes memfd */
	else if (ring->memfd >= 0)
		close(ring->memfd);
	if (ring->entries)
		munmap(ring->entries, ring->length);
	if (ring->length)
		ioasid_user_mem_uncharge(ring->payer, ring->length);
	free(ring);
}

static const struct ioasid_obj_ops ring_ops = {
	.name = "ring",
	.destroy = ring_destroy,
};
IOASID_OBJ_TYPE(IOASID_OBJ_RING, ring_ops)

long ioasid_ring_alloc_ioctl(struct ioasid_ucmd *u)
{
	struct ioasid_ring_alloc *cmd = u->cmd;
	struct ring_object *ring;
	uint64_t length;
	void *p;
	int rc;

	if (!cmd->entries || cmd->entries > RING_MAX_ENTRIES)
		return -EINVAL;
	length = ((uint64_t)cmd->entries * sizeof(struct ioasid_ring_entry) +
		  IOASID_PAGE_SIZE - 1) & ~(uint64_t)(IOASID_PAGE_SIZE - 1);
	rc = ioasid_obj_new(u->ctx, IOASID_OBJ_RING, &ring);
	if (rc)
		return rc;
	ring->memfd = -1;
	/* From here a failure is the dispatcher's abort, which destroys. */
	u->new_obj = &ring->obj;
	ring->payer = ioasid_current_uid();
	if (ioasid_user_mem_charge(ring->payer, length))
		return -ENOMEM;
	ring->length = length;
	ring->nentries = cmd->entries;
	ring->memfd = memfd_create("ioasid-ring", MFD_CLOEXEC);
	if (ring->memfd < 0 || ftruncate(ring->memfd, (off_t)length))
		return -ENOMEM;
	p = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, ring->memfd,
		 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	ring->entries = p;
	rc = ioasid_mmap_alloc(u->ctx, &ring->obj, length, ring->memfd,
			       &ring->mmap_offset);
	if (rc)
		return rc;
	ring->has_region = true;
	ring->memfd = -1;
	cmd->out_ring_id = ring->obj.id;
	cmd->out_mmap_offset = ring->mmap_offset;
	cmd->out_mmap_length = length;
	return ucmd_respond(u, sizeof(*cmd));
}

/* ---- running an entry -------------------------------------------------- *
 *
 * Entries are dispatched inside ENTER's own call, so what they let go of
 * is released when ENTER returns (dispatch.c): one grace period for a
 * ring of unmaps.  What those releases hold is memory and descriptors
 * only; every charge (RLIMIT_MEMLOCK, the user's memory in the daemon)
 * is returned by the unmap itself, so a later entry sees it back.
 */

/* The caller as one entry's operation sees it. */
struct entry_access {
	const struct ioasid_caller *caller; /* the one who entered */
	unsigned char *arg;                 /* the entry's, in our mapping */
};

/* [uptr, uptr + len) inside the entry's argument: its bytes there. */
static unsigned char *in_entry(struct entry_access *a, uint64_t uptr,
			       size_t len, int *rc)
{
	const uint64_t size = sizeof(((struct ioasid_ring_entry *)0)->arg);

	*rc = 0;
	if (uptr < RING_WINDOW)
		return NULL;
	if (uptr - RING_WINDOW > size || len > size - (uptr - RING_WINDOW)) {
		*rc = -EFAULT;
		return NULL;
	}
	return a->arg + (uptr - RING_WINDOW);
}

/* A copy to or from the caller: the entry's bytes, or the caller's. */
static int entry_xfer(struct entry_access *a, uint64_t uptr, void *buf,
		      size_t len, bool write)
{
	const struct ioasid_uaccess_ops *ops = a->caller->uaccess;
	int rc;
	unsigned char *p = in_entry(a, uptr, len, &rc);

	if (rc)
		return rc;
	if (!p)
		return write ? ops->write(a->caller->uaccess_priv, uptr, buf,
					  len) :
			       ops->read(a->caller->uaccess_priv, uptr, buf,
					 len);
	if (write)
		memcpy(p, buf, len);
	else
		memcpy(buf, p, len);
	return 0;
}

static int entry_read(void *priv, uint64_t uptr, void *dst, size_t len)
{
	return entry_xfer(priv, uptr, dst, len, false);
}

static int entry_write(void *priv, uint64_t uptr, const void *src, size_t len)
{
	return entry_xfer(priv, uptr, (void *)src, len, true);
}

static int entry_check_zeroed(void *priv, uint64_t uptr, size_t len)
{
	struct entry_access *a = priv;
	int rc;
	unsigned char *p = in_entry(a, uptr, len, &rc);

	if (p)
		return vm_all_zero(p, len);
	return rc ? rc :
		    a->caller->uaccess->check_zeroed(a->caller->uaccess_priv,
						     uptr, len);
}

static int entry_verify_cap(void *priv, unsigned int cap)
{
	struct entry_access *a = priv;

	return a->caller->verify_cap ?
		       a->caller->verify_cap(a->caller->uaccess_priv, cap) :
		       1;
}

/* Whose memory the pointers are: the caller's, as its own uaccess says. */
static int entry_get_mm(void *priv, struct ioasid_mm **out)
{
	struct entry_access *a = priv;

	return a->caller->uaccess->get_mm(a->caller->uaccess_priv, out);
}

/*
 * Descriptors cannot live in shared memory: no operation that takes or
 * makes one is allowed (ring_allows), and none is reached.  A caller
 * whose uaccess names no address space is this process, found by its
 * pid as for its own ioctls: so get_mm is there exactly when the
 * caller's is.
 */
static const struct ioasid_uaccess_ops entry_uaccess = {
	.read = entry_read,
	.write = entry_write,
	.check_zeroed = entry_check_zeroed,
	.get_mm = entry_get_mm,
};
static const struct ioasid_uaccess_ops entry_uaccess_no_mm = {
	.read = entry_read,
	.write = entry_write,
	.check_zeroed = entry_check_zeroed,
};

static bool ring_allows(uint32_t cmd)
{
	return cmd == IOMMU_IOAS_MAP || cmd == IOMMU_IOAS_UNMAP ||
	       cmd == IOMMU_IOAS_COPY || cmd == IOMMU_HWPT_INVALIDATE;
}

long ioasid_ring_enter_ioctl(struct ioasid_ucmd *u)
{
	struct ioasid_ring_enter *cmd = u->cmd;
	struct ioasid_caller as_entry = *u->caller;
	struct entry_access access = { .caller = u->caller };
	struct ioasid_object *obj;
	struct ring_object *ring;
	uint32_t done = 0;
	long rc;

	rc = ioasid_obj_get(u->ctx, cmd->ring_id, IOASID_OBJ_RING, &obj);
	if (rc)
		return rc;
	ring = container_of(obj, struct ring_object, obj);
	if (cmd->first > ring->nentries ||
	    cmd->count > ring->nentries - cmd->first) {
		rc = -EINVAL;
		goto out_put;
	}
	as_entry.uaccess = u->caller->uaccess->get_mm ? &entry_uaccess :
							&entry_uaccess_no_mm;
	as_entry.uaccess_priv = &access;
	as_entry.verify_cap = entry_verify_cap;
	for (; done < cmd->count; done++) {
		struct ioasid_ring_entry *e = &ring->entries[cmd->first + done];
		/* Read once: the caller may be rewriting it meanwhile. */
		uint32_t op = __atomic_load_n(&e->cmd, __ATOMIC_RELAXED);
		long result;

		access.arg = e->arg;
		result = ring_allows(op) ?
				 ioasid_ctx_ioctl(u->ctx, &as_entry, op,
						  RING_WINDOW) :
				 -EOPNOTSUPP;
		__atomic_store_n(&e->result, (int32_t)result, __ATOMIC_RELEASE);
		if (result < 0 && (cmd->flags & IOASID_RING_ENTER_STOP)) {
			done++;
			break;
		}
	}
	cmd->out_done = done;
	rc = ucmd_respond(u, sizeof(*cmd));
out_put:
	ioasid_obj_put(u->ctx, obj);
	return rc;
}
