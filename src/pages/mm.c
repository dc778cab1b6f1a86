/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "core/dispatch.h"
#include "core/util.h"
#include "core/vm_access.h"
#include "mm.h"

/* Linux 6.11's binary query of /proc/PID/maps (not in Debian 12's
 * headers): facts of the ABI. */
struct procmap_query {
	uint64_t size;
	uint64_t query_flags;
	uint64_t query_addr;
	uint64_t vma_start;
	uint64_t vma_end;
	uint64_t vma_flags;
	uint64_t vma_page_size;
	uint64_t vma_offset;
	uint64_t inode;
	uint32_t dev_major;
	uint32_t dev_minor;
	uint32_t vma_name_size;
	uint32_t build_id_size;
	uint64_t vma_name_addr;
	uint64_t build_id_addr;
};
_Static_assert(sizeof(struct procmap_query) == 104, "procmap_query ABI");
#define PROCMAP_QUERY _IOWR('f', 17, struct procmap_query)
enum {
	PROCMAP_VMA_READABLE = 0x01,
	PROCMAP_VMA_WRITABLE = 0x02,
	PROCMAP_VMA_SHARED = 0x08,
	PROCMAP_COVERING_OR_NEXT = 0x10,
};
#define PROC_SUPER_MAGIC 0x9fa0

bool ioasid_mm_maps_as_text;

/*
 * Every address space with its descriptors is on one list, newest first,
 * so that a page pinned through one that has gone can be looked for in
 * the others of its user (reach.c).
 */
struct ioasid_mm {
	atomic_uint refs;
	pid_t pid;
	uid_t uid;
	int mem;   /* -1: this process */
	int maps;  /* -1: this process (opened afresh each time) */
	/* Reading maps as text moves the descriptor's offset. */
	pthread_mutex_t text_lock;
	struct ioasid_mm *next, **pprev;
};

static pthread_mutex_t mms_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ioasid_mm *mms;

static struct ioasid_mm *mm_make(pid_t pid, uid_t uid, int mem, int maps)
{
	struct ioasid_mm *mm = calloc(1, sizeof(*mm));

	if (!mm)
		return NULL;
	atomic_init(&mm->refs, 1);
	mm->pid = pid;
	mm->uid = uid;
	mm->mem = mem;
	mm->maps = maps;
	pthread_mutex_init(&mm->text_lock, NULL);
	pthread_mutex_lock(&mms_lock);
	mm->next = mms;
	if (mms)
		mms->pprev = &mm->next;
	mm->pprev = &mms;
	mms = mm;
	pthread_mutex_unlock(&mms_lock);
	return mm;
}

static void close_if(int fd)
{
	if (fd >= 0)
		close(fd);
}

static bool on_procfs(int fd)
{
	struct statfs sfs;

	return !fstatfs(fd, &sfs) && sfs.f_type == PROC_SUPER_MAGIC;
}

struct ioasid_mm *ioasid_mm_new(pid_t pid, uid_t uid, int pidfd, int mem,
				int maps)
{
	struct ioasid_mm *mm = NULL;

	/* Anything else would be the client's own file, which it could
	 * have us write as if it were memory. */
	if (pid > 0 && mem >= 0 && maps >= 0 && on_procfs(mem) &&
	    on_procfs(maps))
		mm = mm_make(pid, uid, mem, maps);
	if (!mm) {
		close_if(mem);
		close_if(maps);
	}
	/* Whether the image is there is the maps descriptor's to say
	 * (ioasid_mm_alive); the process' own lifetime is not. */
	close_if(pidfd);
	return mm;
}

/* A reference, unless the last one is already being dropped. */
static bool get_unless_zero(struct ioasid_mm *mm)
{
	unsigned int r = atomic_load(&mm->refs);

	while (r && !atomic_compare_exchange_weak(&mm->refs, &r, r + 1))
		;
	return r != 0;
}

/* One for this process while anything holds it; a fork makes its own. */
static struct ioasid_mm *self_mm;

struct ioasid_mm *ioasid_mm_self(void)
{
	struct ioasid_mm *mm;

	pthread_mutex_lock(&mms_lock);
	mm = self_mm;
	if (mm && (mm->pid != getpid() || !get_unless_zero(mm)))
		mm = NULL;
	pthread_mutex_unlock(&mms_lock);
	if (!mm) {
		mm = mm_make(getpid(), geteuid(), -1, -1);
		if (mm) {
			pthread_mutex_lock(&mms_lock);
			self_mm = mm;
			pthread_mutex_unlock(&mms_lock);
		}
	}
	return mm;
}

static int open_proc(pid_t pid, const char *what, int flags)
{
	char path[48];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	return open(path, flags | O_CLOEXEC);
}

struct ioasid_mm *ioasid_mm_open(pid_t pid, uid_t uid)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int mem = open_proc(pid, "mem", O_RDWR);
	int maps = open_proc(pid, "maps", O_RDONLY);

	/* Opened after the pidfd: if pid was another process' by then, the
	 * pidfd's process is dead, and so is this address space. */
	if (pidfd >= 0 && !vm_process_alive(pidfd, pid)) {
		close_if(mem);
		mem = -1;
	}
	return ioasid_mm_new(pid, uid, pidfd, mem, maps);
}

int ioasid_caller_mm(const struct ioasid_caller *caller,
		     struct ioasid_mm **out)
{
	if (caller->uaccess && caller->uaccess->get_mm)
		return caller->uaccess->get_mm(caller->uaccess_priv, out);
	*out = caller->pid == getpid() ? ioasid_mm_self() :
					 ioasid_mm_open(caller->pid,
							caller->uid);
	return *out ? 0 : -EFAULT;
}

struct ioasid_mm *ioasid_mm_get(struct ioasid_mm *mm)
{
	atomic_fetch_add_explicit(&mm->refs, 1, memory_order_relaxed);
	return mm;
}

void ioasid_mm_put(struct ioasid_mm *mm)
{
	if (!mm ||
	    atomic_fetch_sub_explicit(&mm->refs, 1, memory_order_acq_rel) != 1)
		return;
	pthread_mutex_lock(&mms_lock);
	*mm->pprev = mm->next;
	if (mm->next)
		mm->next->pprev = mm->pprev;
	if (self_mm == mm)
		self_mm = NULL;
	pthread_mutex_unlock(&mms_lock);
	close_if(mm->mem);
	close_if(mm->maps);
	pthread_mutex_destroy(&mm->text_lock);
	free(mm);
}

pid_t ioasid_mm_pid(const struct ioasid_mm *mm)
{
	return mm->pid;
}

bool ioasid_mm_is_self(const struct ioasid_mm *mm)
{
	return mm->mem < 0 && mm->pid == getpid();
}

/* A copy through mem: n bytes, 0 when the image is gone, -1 for a hole. */
static ssize_t mem_xfer(struct ioasid_mm *mm, uint64_t addr, void *buf,
			size_t len, bool write)
{
	if (addr > (uint64_t)INT64_MAX)
		return -1;
	return write ? pwrite(mm->mem, buf, len, (off_t)addr) :
		       pread(mm->mem, buf, len, (off_t)addr);
}

int ioasid_mm_xfer(struct ioasid_mm *mm, uint64_t addr, void *buf,
		   size_t len, bool write)
{
	size_t done = 0;

	if (!len)
		return 0;
	if (mm->mem < 0) {
		/* This process, or an address space that was never reached. */
		return mm->pid == getpid() ?
			       vm_xfer(mm->pid, addr, buf, len, write) :
			       -ESRCH;
	}
	/* /proc/PID/mem moves at most a page-crossing chunk at a time only
	 * on old kernels; a short count is a hole where it stopped. */
	while (done < len) {
		ssize_t n = mem_xfer(mm, addr + done, (char *)buf + done,
				     len - done, write);

		if (n == 0)
			return -ESRCH;
		if (n < 0)
			return -EFAULT;
		done += (size_t)n;
	}
	return 0;
}

int ioasid_mm_populate(struct ioasid_mm *mm, uint64_t addr, uint64_t len,
		       bool write)
{
	if (!ioasid_mm_is_self(mm) || !len)
		return 0;
	if (!madvise((void *)(uintptr_t)addr, len,
		     write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ))
		return 0;
	/* EINVAL: a kernel before 5.14, or memory with no pages to fault
	 * (VM_PFNMAP, VM_IO), which naming judges.  A hole, a page that
	 * cannot be had (SIGBUS past a file's end, poison), memory out of
	 * reach: what pinning them gives. */
	return errno == EINVAL ? 0 : -EFAULT;
}

bool ioasid_mm_alive(struct ioasid_mm *mm)
{
	struct mm_vma vma;

	/* One query of the map the image was opened with: it fails once
	 * the address space is gone, on exit and on exec alike, as the
	 * kernel's mmget_not_zero() does.  (The process being alive is
	 * not what matters: memory is the address space's.) */
	return ioasid_mm_vma(mm, 0, &vma) != -ESRCH;
}

bool ioasid_mm_alive_for_call(struct ioasid_mm *mm)
{
	if (ioasid_call_saw_alive(mm))
		return true;
	if (!ioasid_mm_alive(mm))
		return false;
	ioasid_call_note_alive(mm);
	return true;
}

static void vma_from_query(const struct procmap_query *q, struct mm_vma *out)
{
	*out = (struct mm_vma){
		.start = q->vma_start, .end = q->vma_end,
		.off = q->vma_offset,
		.dev = makedev(q->dev_major, q->dev_minor), .ino = q->inode,
		.read = q->vma_flags & PROCMAP_VMA_READABLE,
		.write = q->vma_flags & PROCMAP_VMA_WRITABLE,
		.shared = q->vma_flags & PROCMAP_VMA_SHARED,
	};
}

/* One line of /proc/PID/maps: whether it parsed. */
static bool vma_from_line(const char *line, struct mm_vma *out)
{
	unsigned long long start, end, off, ino;
	unsigned int maj, min;
	char perms[8];

	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu", &start, &end, perms,
		   &off, &maj, &min, &ino) != 7)
		return false;
	*out = (struct mm_vma){
		.start = start, .end = end, .off = off,
		.dev = makedev(maj, min), .ino = ino,
		.read = perms[0] == 'r', .write = perms[1] == 'w',
		.shared = perms[3] == 's',
	};
	return true;
}

/*
 * The text way, for kernels before 6.11: read the whole file from the
 * start, keeping the first mapping that ends above addr.
 */
static int vma_by_text(int maps, uint64_t addr, struct mm_vma *out)
{
	char *line = NULL;
	size_t cap = 0;
	int rc = -ENOENT, fd = dup(maps);
	FILE *f;

	if (fd < 0)
		return -ENOMEM;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	rewind(f);
	while (rc == -ENOENT && getline(&line, &cap, f) > 0) {
		struct mm_vma v;

		if (vma_from_line(line, &v) && v.end > addr) {
			*out = v;
			rc = 0;
		}
	}
	/* An image that is gone shows no mappings at all. */
	if (rc == -ENOENT && ftell(f) == 0)
		rc = -ESRCH;
	free(line);
	fclose(f);
	return rc;
}

int ioasid_mm_vma(struct ioasid_mm *mm, uint64_t addr, struct mm_vma *out)
{
	struct procmap_query q = {
		.size = sizeof(q),
		.query_flags = PROCMAP_COVERING_OR_NEXT,
		.query_addr = addr,
	};
	int maps = mm->maps, rc;

	if (maps < 0) {
		if (mm->pid != getpid())
			return -ESRCH;
		maps = open_proc(mm->pid, "maps", O_RDONLY);
		if (maps < 0)
			return -ENOMEM;
	}
	if (!ioasid_mm_maps_as_text && !ioctl(maps, PROCMAP_QUERY, &q)) {
		vma_from_query(&q, out);
		rc = 0;
	} else if (!ioasid_mm_maps_as_text && errno != ENOTTY) {
		rc = errno == ESRCH ? -ESRCH : -ENOENT;
	} else {
		pthread_mutex_lock(&mm->text_lock);
		rc = vma_by_text(maps, addr, out);
		pthread_mutex_unlock(&mm->text_lock);
	}
	if (maps != mm->maps)
		close(maps);
	return rc;
}

int ioasid_mm_rw(struct ioasid_mm *mm, uint64_t addr, void *buf, size_t len,
		 int write)
{
	uint64_t at = addr, end;

	if (!len)
		return ioasid_mm_alive(mm) ? 0 : -ESRCH;
	if (add_overflows_u64(addr, len, &end))
		return -EFAULT;
	/* /proc/PID/mem writes as a debugger does, read-only memory too;
	 * a user access must not.  (Our own process' copy checks itself.) */
	while (write && mm->mem >= 0 && at < end) {
		struct mm_vma vma;
		int rc = ioasid_mm_vma(mm, at, &vma);

		if (rc == -ESRCH)
			return rc;
		if (rc || vma.start > at || !vma.write)
			return -EFAULT;
		at = vma.end;
	}
	return ioasid_mm_xfer(mm, addr, buf, len, write);
}

size_t ioasid_mm_others(uid_t uid, const struct ioasid_mm *not,
			struct ioasid_mm **out, size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&mms_lock);
	for (struct ioasid_mm *mm = mms; mm && n < max; mm = mm->next)
		if (mm != not && mm->uid == uid &&
		    (mm->mem >= 0 || mm->pid == getpid()) &&
		    get_unless_zero(mm))
			out[n++] = mm;
	pthread_mutex_unlock(&mms_lock);
	return n;
}
