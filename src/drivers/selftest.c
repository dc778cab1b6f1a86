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
#include "iopt/ioas.h"
#include "pages/mm.h"
#include "pages/pages.h"
#include "selftest.h"

/*
 * Every 4 KiB page of [uptr, uptr+length) must be mapped in the caller and
 * carry exactly `refs` pins.  Like the kernel, touching each page is what
 * proves it is there.
 */
static int test_md_check_refs(struct ioasid_ucmd *u, uint64_t uptr,
			      uint64_t length, uint32_t refs)
{
	struct ioasid_mm *mm;
	uint64_t end;
	int rc;

	if (length % IOASID_PAGE_SIZE || uptr % IOASID_PAGE_SIZE ||
	    add_overflows_u64(uptr, length, &end))
		return -EINVAL;
	rc = ioasid_caller_mm(u->caller, &mm);
	if (rc)
		return rc;
	for (; !rc && uptr != end; uptr += IOASID_PAGE_SIZE) {
		unsigned char probe;

		rc = ucmd_read(u, uptr, &probe, 1);
		if (!rc && ioasid_pages_pin_count(mm, uptr) != refs)
			rc = -EIO;
	}
	ioasid_mm_put(mm);
	return rc;
}

/* Reserve [start, start + length) of an IOAS, as a device would. */
static int test_add_reserved(struct ioasid_ucmd *u, uint32_t ioas_id,
			     uint64_t start, uint64_t length)
{
	struct ioasid_ioas *ioas;
	uint64_t last;
	int rc;

	if (!length)
		return -EINVAL;
	if (add_overflows_u64(start, length - 1, &last))
		return -EOVERFLOW;
	rc = ioasid_ioas_get(u->ctx, ioas_id, &ioas);
	if (rc)
		return rc;
	rc = iopt_reserve_iova(&ioas->iopt, start, last, NULL);
	ioasid_ioas_put(u->ctx, ioas);
	return rc;
}

long ioasid_test_cmd_ioctl(struct ioasid_ucmd *u)
{
	const struct iommu_test_cmd *cmd = u->cmd;

	switch (cmd->op) {
	case IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT:
		/* Below this the kernel's batches could not hold one entry. */
		if (cmd->memory_limit.limit <
		    sizeof(unsigned long) + sizeof(uint32_t))
			return -EINVAL;
		ioasid_pages_set_temp_memory_limit(cmd->memory_limit.limit);
		return 0;
	case IOMMU_TEST_OP_ADD_RESERVED:
		return test_add_reserved(u, cmd->id, cmd->add_reserved.start,
					 cmd->add_reserved.length);
	case IOMMU_TEST_OP_CREATE_ACCESS:
		return test_create_access(u, cmd->id, cmd->create_access.flags);
	case IOMMU_TEST_OP_ACCESS_REPLACE_IOAS:
		return test_access_replace_ioas(
			u, (int)cmd->id, cmd->access_replace_ioas.ioas_id);
	case IOMMU_TEST_OP_ACCESS_PAGES:
		return test_access_pages(u, (int)cmd->id);
	case IOMMU_TEST_OP_DESTROY_ACCESS_PAGES:
		return test_destroy_access_pages(
			u, (int)cmd->id,
			cmd->destroy_access_pages.access_pages_id);
	case IOMMU_TEST_OP_ACCESS_RW:
		return test_access_rw(u, (int)cmd->id);
	case IOMMU_TEST_OP_MOCK_DOMAIN:
		return test_mock_domain(u, cmd->id, 0, false);
	case IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS:
		return test_mock_domain(u, cmd->id,
					cmd->mock_domain_flags.dev_flags, true);
	case IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE:
		return test_mock_domain_replace(u, cmd->id,
						cmd->mock_domain_replace.pt_id);
	case IOMMU_TEST_OP_MD_CHECK_MAP:
		return test_md_check_map(u, cmd->id, cmd->check_map.iova,
					 cmd->check_map.length,
					 cmd->check_map.uptr);
	case IOMMU_TEST_OP_MD_CHECK_IOTLB:
		return test_md_check_iotlb(u, cmd->id, cmd->check_iotlb.id,
					   cmd->check_iotlb.iotlb);
	case IOMMU_TEST_OP_TRIGGER_IOPF:
		return test_trigger_iopf(u);
	case IOMMU_TEST_OP_TRIGGER_VEVENT:
		return test_trigger_vevent(u);
	case IOMMU_TEST_OP_DIRTY:
		return test_dirty(u, cmd->id);
	case IOMMU_TEST_OP_DMABUF_GET:
		return test_dmabuf_get(u);
	case IOMMU_TEST_OP_DMABUF_REVOKE:
		return test_dmabuf_revoke(u);
	case IOMMU_TEST_OP_DEV_CHECK_CACHE:
		return test_dev_check_cache(u, cmd->id,
					    cmd->check_dev_cache.id,
					    cmd->check_dev_cache.cache);
	case IOMMU_TEST_OP_PASID_ATTACH:
	case IOMMU_TEST_OP_PASID_REPLACE:
	case IOMMU_TEST_OP_PASID_DETACH:
	case IOMMU_TEST_OP_PASID_CHECK_HWPT:
		return test_pasid(u, cmd->id);
	case IOMMU_TEST_OP_MD_CHECK_REFS:
		return test_md_check_refs(u, cmd->check_refs.uptr,
					  cmd->check_refs.length,
					  cmd->check_refs.refs);
	default:
		/* What the kernel answers for an op it does not know. */
		return -EOPNOTSUPP;
	}
}
