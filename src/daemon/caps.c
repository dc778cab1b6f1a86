/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "caps.h"

static dev_t own_userns_dev;
static ino_t own_userns_ino;

int caps_init(void)
{
	struct stat st;

	if (stat("/proc/self/ns/user", &st))
		return -errno;
	own_userns_dev = st.st_dev;
	own_userns_ino = st.st_ino;
	return 0;
}

/*
 * A capability is only as good as the namespace it is held in.  A root
 * inside a child namespace holds every capability there and none over us,
 * exactly as capable() in the kernel would see it.
 */
static int same_userns(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	if (stat(path, &st))
		return 0;
	return st.st_dev == own_userns_dev && st.st_ino == own_userns_ino;
}

/*
 * Capabilities are read when the request is served, which may be after
 * its sender went on to exec a setuid or file-capability program: the
 * request would then borrow the new image's rights.  No kernel interface
 * says what a thread's capabilities were when it sent; what does survive
 * is who it was (its real uid, in the message's credentials), and an exec
 * that raised its privilege leaves a mark: the thread is no longer
 * dumpable, and its /proc directory belongs to root rather than to it.
 * So capabilities count only for a thread whose /proc directory still
 * belongs to the uid it sent as.  The price: a setuid or file-capability
 * program run by an unprivileged user has no capabilities here unless
 * it sends its effective uid in its credentials (SCM_CREDENTIALS allows
 * that); root's own processes are unaffected.
 */
static bool same_identity(const char *task_dir, uid_t sent_as,
			  struct stat *st)
{
	return !stat(task_dir, st) && st->st_uid == sent_as;
}

/*
 * The set itself comes from capget(2) on the thread, one system call
 * where reading its status file took an open, a read and a parse (a
 * third of a root client's IOMMU_IOAS_MAP).  capget names the thread by
 * its id alone; that id is still `pid`'s thread, the one looked at
 * before, if its task directory is there after the call with the same
 * inode: a thread that died and whose id went to another process has no
 * directory under `pid`, and one new to `pid` has a new inode.
 */
uint64_t caps_of_thread(pid_t pid, pid_t tid, uid_t sent_as)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = tid,
	};
	struct __user_cap_data_struct data[2];
	struct stat before, after;
	char path[96];

	if (pid <= 0 || tid <= 0 || !same_userns(pid))
		return 0;
	/* The task directory only lists threads of `pid`, so a client cannot
	 * borrow the capabilities of a thread of some other process. */
	snprintf(path, sizeof(path), "/proc/%d/task/%d", (int)pid, (int)tid);
	if (!same_identity(path, sent_as, &before) ||
	    syscall(SYS_capget, &hdr, data) ||
	    !same_identity(path, sent_as, &after) ||
	    after.st_ino != before.st_ino || after.st_dev != before.st_dev)
		return 0;
	return data[0].effective | ((uint64_t)data[1].effective << 32);
}
