/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "core/ucmd.h"
#include "driver.h"

int ioasid_user_data_copy(const struct ioasid_user_data *data, void *dst,
			  size_t len, size_t min_len)
{
	size_t copy = data->len < len ? data->len : len;
	int rc;

	if (data->len < min_len)
		return -EINVAL;
	memset(dst, 0, len);
	rc = ucmd_read(data->u, data->uptr, dst, copy);
	if (rc)
		return rc;
	/* A newer caller's struct: what we do not know must be unused. */
	if (data->len > len) {
		const struct ioasid_caller *c = data->u->caller;

		rc = c->uaccess->check_zeroed(c->uaccess_priv, data->uptr + len,
					      data->len - len);
		if (rc < 0)
			return rc;
		if (!rc)
			return -E2BIG;
	}
	return 0;
}
