/* SPDX-License-Identifier: MIT */
/*
 * IOMMU_TEST_CMD: the kernel selftest driver's private ioctl, served so that
 * the upstream selftests run against us unmodified.
 */
#include <errno.h>

#include "core/dispatch.h"
#include "core/ucmd.h"
#include "core/util.h"
#include "ioasid/uapi/iommufd_test.h"
#include "pages/pages.h"

/*
 * Every 4 KiB page of [uptr, uptr+length) must be mapped in the caller and
 * carry exactly `refs` pins.  Like the kernel, touching each page is what
 * proves it is there.
 */
static int test_md_check_refs(struct ioasid_ucmd *u, uint64_t uptr,
			      uint64_t length, uint32_t refs)
{
	uint64_t end;

	if (length % IOASID_PAGE_SIZE || uptr % IOASID_PAGE_SIZE ||
	    add_overflows_u64(uptr, length, &end))
		return -EINVAL;

	for (; uptr != end; uptr += IOASID_PAGE_SIZE) {
		unsigned char probe;
		int rc;

		rc = ucmd_read(u, uptr, &probe, 1);
		if (rc)
			return rc;
		if (ioasid_pages_pin_count(u->caller->pid, uptr) != refs)
			return -EIO;
	}
	return 0;
}

long ioasid_test_cmd_ioctl(struct ioasid_ucmd *u)
{
	const struct iommu_test_cmd *cmd = u->cmd;

	switch (cmd->op) {
	case IOMMU_TEST_OP_MD_CHECK_REFS:
		return test_md_check_refs(u, cmd->check_refs.uptr,
					  cmd->check_refs.length,
					  cmd->check_refs.refs);
	default:
		/* What the kernel answers for an op it does not know. */
		return -EOPNOTSUPP;
	}
}
