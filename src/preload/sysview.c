/* SPDX-License-Identifier: MIT */
/*
 * Where programs look for VFIO devices.  The daemon writes what /sys and
 * /dev would show of its devices as a tree beside its socket ("root",
 * ioasid_vfio_sysfs(3)); here that tree is laid over the real one: a
 * /sys path that exists under the root is that file, a directory there
 * lists only what the root has, and every other path is the real one.
 * The device nodes under /dev/vfio/devices stat as the character devices
 * their sysfs "dev" files name.
 *
 * A path that is not under /sys or /dev/vfio costs a string compare.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "ioasid/uapi/ioasid.h"
#include "preload.h"

static pthread_once_t root_once = PTHREAD_ONCE_INIT;
static char root[PATH_MAX];
static size_t root_len; /* 0: no view */

static void find_root(void)
{
	const char *sock = getenv("IOASID_SOCKET");
	const char *slash;
	struct stat st;
	int n;

	if (!sock || !*sock)
		sock = "/run/ioasid/ioasid.sock";
	slash = strrchr(sock, '/');
	if (!slash)
		return;
	n = snprintf(root, sizeof(root), "%.*s/root", (int)(slash - sock), sock);
	if (n < 0 || (size_t)n >= sizeof(root) || real.stat(root, &st) ||
	    !S_ISDIR(st.st_mode))
		return;
	root_len = (size_t)n;
}

static bool viewed(const char *path)
{
	const char *volatile p = path;

	return p && (!strncmp(path, "/sys/", 5) || !strcmp(path, "/sys") ||
		     !strncmp(path, "/dev/vfio", 9));
}

const char *sysview_path(const char *path, char *buf, size_t cap)
{
	struct stat st;

	if (!viewed(path))
		return path;
	pthread_once(&root_once, find_root);
	if (!root_len || root_len + strlen(path) >= cap)
		return path;
	memcpy(buf, root, root_len);
	strcpy(buf + root_len, path);
	return real.lstat(buf, &st) ? path : buf;
}

void sysview_fill_node_stat(struct stat *st, dev_t node)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFCHR | 0600;
	st->st_nlink = 1;
	st->st_rdev = node;
	st->st_dev = makedev(0, 5); /* devtmpfs-like, as /dev/iommu's */
	st->st_ino = (major(node) == IOASID_VFIO_DEVICE_MAJOR ? 0x10000 : 0x20000) +
		     minor(node);
	st->st_blksize = 4096;
}

bool sysview_node_stat(const char *path, struct stat *st)
{
	unsigned int n;
	int end = 0;
	char buf[PATH_MAX];

	unsigned int major = IOASID_VFIO_DEVICE_MAJOR;

	if (!viewed(path) || sysview_path(path, buf, sizeof(buf)) == path)
		return false;
	if (sscanf(path, "/dev/vfio/devices/vfio%u%n", &n, &end) != 1 ||
	    path[end]) {
		end = 0;
		if (sscanf(path, "/dev/vfio/%u%n", &n, &end) != 1 || path[end])
			return false;
		major = IOASID_VFIO_GROUP_MAJOR;
	}
	sysview_fill_node_stat(st, makedev(major, n));
	return true;
}

char *sysview_unroot(char *resolved)
{
	if (root_len && resolved && !strncmp(resolved, root, root_len) &&
	    resolved[root_len] == '/')
		memmove(resolved, resolved + root_len,
			strlen(resolved + root_len) + 1);
	return resolved;
}
