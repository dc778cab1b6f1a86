/* SPDX-License-Identifier: MIT */
/*
 * Descriptors the daemon holds on each user's behalf: one per connection
 * (an open of /dev/iommu) and one per file handed out (a fault queue, an
 * access, an event queue).  They all come from the daemon's one
 * RLIMIT_NOFILE, so without a share per user one user could leave none
 * for the others.  A user at the limit gets EMFILE, as a process at its
 * own RLIMIT_NOFILE would.
 */
#ifndef IOASID_DAEMON_QUOTA_H
#define IOASID_DAEMON_QUOTA_H

#include <sys/types.h>

/* Each user's share; 0 leaves it unlimited. */
void quota_set_files(unsigned long max);

/* One more descriptor for uid: 0, or -EMFILE at its limit (-ENOMEM). */
int quota_take(uid_t uid);
void quota_give(uid_t uid);

#endif
