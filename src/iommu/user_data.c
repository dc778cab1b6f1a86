/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "core/ucmd.h"
#include "driver.h"

int ioasid_user_data_copy(const struct ioasid_user_data *data, void *dst,
			  size_t len, size_t min_len)
{
	/* Unlike the ioctl structs, a driver's struct may be neither
	 * shorter than its first version nor longer than ours. */
	if (data->len < min_len || data->len > len)
		return -EINVAL;
	memset(dst, 0, len);
	return ucmd_read(data->u, data->uptr, dst, data->len);
}

int ioasid_user_data_write(const struct ioasid_user_data *data,
			   const void *src, size_t len)
{
	return ucmd_write(data->u, data->uptr, src,
			  data->len < len ? data->len : len);
}

int ioasid_user_data_array_copy(const struct ioasid_user_data_array *array,
				uint32_t type, uint32_t index, void *dst,
				size_t len, size_t min_len)
{
	struct ioasid_user_data entry = {
		.u = array->u,
		.type = array->type,
		.len = array->entry_len,
		.uptr = array->uptr + (uint64_t)array->entry_len * index,
	};

	if (array->type != type || index >= array->entry_num)
		return -EINVAL;
	return ioasid_user_data_copy(&entry, dst, len, min_len);
}
