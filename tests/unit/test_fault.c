/* SPDX-License-Identifier: MIT */
/*
 * Fault queues: IOMMU_FAULT_QUEUE_ALLOC, a HWPT that sends its faults
 * there, page requests raised by a mock device, and the queue's read and
 * write rules (whole groups, cookies from 1, ESPIPE for partial records,
 * answers to unknown cookies refused), with faults answered for a device
 * that moves away.
 */
#include <errno.h>
#include <string.h>

#include "ctx_harness.h"
#include "core/util.h"

static uint32_t ioas, stdev, idev, parent;

static long fault_alloc(uint32_t flags, uint32_t *id, int *fd)
{
	struct iommu_fault_alloc cmd = { .size = sizeof(cmd), .flags = flags };
	long rc = io(IOMMU_FAULT_QUEUE_ALLOC, &cmd);

	*id = cmd.out_fault_id;
	*fd = (int)cmd.out_fault_fd;
	return rc;
}

static long iopf_hwpt(uint32_t fault_id, uint32_t flags, uint32_t *out)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd), .flags = flags | IOMMU_HWPT_FAULT_ID_VALID,
		.dev_id = idev, .pt_id = parent,
		.data_type = IOMMU_HWPT_DATA_SELFTEST,
		.data_len = sizeof(data), .data_uptr = (uintptr_t)&data,
		.fault_id = fault_id,
	};
	long rc = io(IOMMU_HWPT_ALLOC, &cmd);

	*out = cmd.out_hwpt_id;
	return rc;
}

static long replace(uint32_t pt)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
		.id = stdev, .mock_domain_replace.pt_id = pt,
	};

	return io(IOMMU_TEST_CMD, &cmd);
}

static long trigger(uint32_t pasid, uint32_t grpid, uint64_t addr)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_TRIGGER_IOPF,
		.trigger_iopf = { .dev_id = idev, .pasid = pasid,
				  .grpid = grpid,
				  .perm = IOMMU_PGFAULT_PERM_READ,
				  .addr = addr },
	};

	return io(IOMMU_TEST_CMD, &cmd);
}

static long respond(int fd, uint32_t cookie, uint32_t code)
{
	struct iommu_hwpt_page_response r = { .cookie = cookie, .code = code };

	return ioasid_self_write(fd, &r, sizeof(r));
}

int main(void)
{
	struct iommu_hwpt_pgfault f[3];
	struct iommu_hwpt_page_response two[2];
	uint32_t fault_id, hwpt, dummy;
	int fd, fd2;

	CHECK_EQ(ioasid_caller_self(&caller), 0);
	fresh();
	ioas = ioas_alloc();
	{
		struct iommu_test_cmd cmd = {
			.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
			.id = ioas,
		};

		CHECK_EQ(io(IOMMU_TEST_CMD, &cmd), 0);
		stdev = cmd.mock_domain.out_stdev_id;
		idev = cmd.mock_domain.out_idev_id;
	}
	{
		struct iommu_hwpt_alloc cmd = {
			.size = sizeof(cmd),
			.flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
			.dev_id = idev, .pt_id = ioas,
		};

		CHECK_EQ(io(IOMMU_HWPT_ALLOC, &cmd), 0);
		parent = cmd.out_hwpt_id;
	}

	/* The queue and its file. */
	CHECK_EQ(fault_alloc(1, &fault_id, &fd), -EOPNOTSUPP);
	CHECK_EQ(fault_alloc(0, &fault_id, &fd), 0);
	CHECK(fault_id != 0 && fd >= 0);
	CHECK_EQ(iopf_hwpt(fault_id + 100, 0, &dummy), -ENOENT);
	CHECK_EQ(iopf_hwpt(fault_id, 0, &hwpt), 0);
	CHECK_EQ(destroy(fault_id), -EBUSY); /* its file and the HWPT hold it */

	/* Nothing yet: read gives 0; partial records are ESPIPE. */
	CHECK_EQ(ioasid_self_read(fd, f, sizeof(f[0])), 0);
	CHECK_EQ(ioasid_self_read(fd, f, sizeof(f[0]) - 1), -ESPIPE);
	CHECK_EQ(respond(fd, 1, IOMMUFD_PAGE_RESP_SUCCESS), -EINVAL);
	CHECK_EQ(ioasid_self_write(fd, two, 7), -ESPIPE);

	/* A request while not attached to the queue's HWPT goes nowhere. */
	CHECK_EQ(trigger(0, 1, 0x1000), 0);
	CHECK_EQ(ioasid_self_read(fd, f, sizeof(f)), 0);

	CHECK_EQ(replace(hwpt), 0);
	CHECK_EQ(trigger(0, 2, 0xdeadbeaf), 0);
	CHECK_EQ(trigger(5, 3, 0x2000), 0); /* PASID 5 falls back to the RID */
	/* Room for less than a group: EINVAL; for one: one. */
	CHECK_EQ(ioasid_self_read(fd, f, 0), -EINVAL);
	memset(f, 0, sizeof(f));
	CHECK_EQ(ioasid_self_read(fd, f, sizeof(f[0])), sizeof(f[0]));
	CHECK_EQ(f[0].flags, IOMMU_PGFAULT_FLAGS_LAST_PAGE);
	CHECK_EQ(f[0].dev_id, idev);
	CHECK_EQ(f[0].grpid, 2);
	CHECK_EQ(f[0].perm, IOMMU_PGFAULT_PERM_READ);
	CHECK_EQ(f[0].addr, 0xdeadbeaf);
	CHECK_EQ(f[0].cookie, 1);
	CHECK_EQ(ioasid_self_read(fd, f, sizeof(f)), sizeof(f[0]));
	CHECK_EQ(f[0].flags,
		 IOMMU_PGFAULT_FLAGS_LAST_PAGE | IOMMU_PGFAULT_FLAGS_PASID_VALID);
	CHECK_EQ(f[0].pasid, 5);
	CHECK_EQ(f[0].cookie, 2);

	/* Answers: a bad code, then a good one; the pair stops at the bad
	 * second, having taken the first. */
	CHECK_EQ(respond(fd, 1, 7), -EINVAL);
	two[0] = (struct iommu_hwpt_page_response){ .cookie = 1 };
	two[1] = (struct iommu_hwpt_page_response){ .cookie = 99 };
	CHECK_EQ(ioasid_self_write(fd, two, sizeof(two)), sizeof(two[0]));
	CHECK_EQ(respond(fd, 1, IOMMUFD_PAGE_RESP_SUCCESS), -EINVAL);
	/* Cookie 1 is free again for the next group. */
	CHECK_EQ(trigger(0, 4, 0x3000), 0);
	CHECK_EQ(ioasid_self_read(fd, f, sizeof(f)), sizeof(f[0]));
	CHECK_EQ(f[0].cookie, 1);
	CHECK_EQ(respond(fd, 2, IOMMUFD_PAGE_RESP_INVALID), sizeof(two[0]));
	CHECK_EQ(respond(fd, 1, IOMMUFD_PAGE_RESP_SUCCESS), sizeof(two[0]));

	/* Moving away answers what is pending, read or not. */
	CHECK_EQ(trigger(0, 5, 0x4000), 0);
	CHECK_EQ(trigger(0, 6, 0x5000), 0);
	CHECK_EQ(ioasid_self_read(fd, f, sizeof(f[0])), sizeof(f[0]));
	CHECK_EQ(replace(parent), 0);
	CHECK_EQ(ioasid_self_read(fd, f, sizeof(f)), 0);
	CHECK_EQ(respond(fd, f[0].cookie, IOMMUFD_PAGE_RESP_SUCCESS), -EINVAL);

	/* A second queue, a second file; closing one leaves the other. */
	CHECK_EQ(fault_alloc(0, &dummy, &fd2), 0);
	CHECK_EQ(ioasid_self_close(fd2), 0);
	CHECK_EQ(destroy(dummy), 0);

	/* Not a queue's file: read and write as the kernel's other files. */
	CHECK_EQ(ioasid_self_read(-1, f, sizeof(f[0])), -EBADF);

	/* The HWPT and the file let go; then the queue can go. */
	CHECK_EQ(destroy(hwpt), 0);
	CHECK_EQ(destroy(fault_id), -EBUSY);
	CHECK_EQ(ioasid_self_close(fd), 0);
	CHECK_EQ(destroy(fault_id), 0);
	ioasid_ctx_put(ctx);
	return check_finish("fault");
}
