/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "core/user_limits.h"
#include "quota.h"

static struct ioasid_user_counts files = IOASID_USER_COUNTS_INIT;

void quota_set_files(unsigned long max)
{
	ioasid_user_counts_set_max(&files, max);
}

int quota_take(uid_t uid)
{
	return ioasid_user_counts_add(&files, uid, 1, -EMFILE);
}

void quota_give(uid_t uid)
{
	ioasid_user_counts_sub(&files, uid, 1);
}
