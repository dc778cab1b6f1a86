/* SPDX-License-Identifier: MIT */
/*
 * A caller's address space (struct ioasid_mm, <ioasid/ioasid.h>): how a
 * page set reaches and names the memory it was made over.
 *
 * The daemon reaches a client's memory only through descriptors the
 * client opened itself -- its own /proc/self/mem and /proc/self/maps --
 * so the kernel checked them against the client's rights, never the
 * daemon's, and they stay with the image they were opened in: once the
 * process execs or exits they read nothing (-ESRCH here), so a page set
 * never reaches the image that replaced its own.  An in-process caller
 * (the core used as a library) is this process: its memory is copied
 * fault-safely, and its mappings are read afresh, since a fork would
 * leave a kept descriptor showing the parent.
 */
#ifndef IOASID_PAGES_MM_H
#define IOASID_PAGES_MM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ioasid/ioasid.h"

struct ioasid_caller;

/* One mapping of an address space, as /proc/PID/maps shows it. */
struct mm_vma {
	uint64_t start, end; /* bytes */
	uint64_t off;        /* file offset, bytes */
	uint64_t dev, ino;   /* ino 0: no file */
	bool read, write, shared;
};

/* This process' own address space, with a new reference. */
struct ioasid_mm *ioasid_mm_self(void);

/*
 * Process pid's address space as this process reaches it (in-process
 * callers that name another process, tests): NULL when it cannot.
 */
struct ioasid_mm *ioasid_mm_open(pid_t pid, uid_t uid);

/*
 * The address space the caller's pointers point into, with a reference:
 * the transport's (uaccess->get_mm), else this process' when the caller
 * is this process, else the one ioasid_mm_open() reaches.  0 or -errno
 * (-EFAULT when the caller's memory cannot be reached at all).
 */
int ioasid_caller_mm(const struct ioasid_caller *caller,
		     struct ioasid_mm **out);

pid_t ioasid_mm_pid(const struct ioasid_mm *mm);
bool ioasid_mm_is_self(const struct ioasid_mm *mm);

/* Whether the image is still there: the process has not exec'd or exited. */
bool ioasid_mm_alive(struct ioasid_mm *mm);

/* The same for the address space of the call this thread runs, asked
 * once per call (a ring's entries share their ring's). */
bool ioasid_mm_alive_for_call(struct ioasid_mm *mm);

/*
 * Copy at addr with the reach of a pin: what is mapped there, whatever
 * its protection now (as DMA into a pinned page).  0, -EFAULT (nothing
 * there), -ESRCH (the image is gone).
 */
int ioasid_mm_xfer(struct ioasid_mm *mm, uint64_t addr, void *buf,
		   size_t len, bool write);

/*
 * Fault [addr, addr + len) in, for writing or reading, as a pin does:
 * resident when this returns 0, else -EFAULT.  Only this process' own
 * memory; another's is faulted in by its shim before it asks to map
 * (the kernel has no call that populates another process' memory).
 */
int ioasid_mm_populate(struct ioasid_mm *mm, uint64_t addr, uint64_t len,
		       bool write);

/*
 * The mapping covering addr, or failing that the first one above it: 0,
 * -ENOENT when there is none, -ESRCH when the image is gone.
 */
int ioasid_mm_vma(struct ioasid_mm *mm, uint64_t addr, struct mm_vma *out);

/*
 * References to at most `max` live address spaces of user uid other than
 * `not`, newest first: where a page pinned through `not` may still be
 * mapped once `not` has gone (reach.c).
 */
size_t ioasid_mm_others(uid_t uid, const struct ioasid_mm *not,
			struct ioasid_mm **out, size_t max);

/* Tests: read /proc/PID/maps as text, as on kernels before PROCMAP_QUERY. */
extern bool ioasid_mm_maps_as_text;

#endif
