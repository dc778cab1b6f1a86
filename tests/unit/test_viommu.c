/* SPDX-License-Identifier: MIT */
/*
 * What lives on a vIOMMU: vDEVICEs (IOMMU_VDEVICE_ALLOC, one per device
 * and per virtual ID, needed to attach through the vIOMMU, tombstoned
 * when their device goes); the guest's cache invalidations by virtual
 * ID (IOMMU_HWPT_INVALIDATE on a vIOMMU); vEVENTQs (IOMMU_VEVENTQ_ALLOC)
 * and their files: headers, sequence numbers, lost events, poll; HW
 * queues (IOMMU_HW_QUEUE_ALLOC): their pins, which no unmap takes, and
 * the mock's index order.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#include "ctx_harness.h"
#include "core/util.h"
#include "ioasid/uapi/ioasid.h"

/* One mock device on an IOAS, a nest parent, a vIOMMU over it and a
 * nested HWPT made through the vIOMMU. */
static uint32_t ioas, stdev, idev, parent, viommu, nested;

static long vdevice_alloc(uint32_t vi, uint32_t dev, uint64_t virt_id,
			  uint32_t *out)
{
	struct iommu_vdevice_alloc cmd = {
		.size = sizeof(cmd), .viommu_id = vi, .dev_id = dev,
		.virt_id = virt_id,
	};
	long rc = io(IOMMU_VDEVICE_ALLOC, &cmd);

	if (out)
		*out = cmd.out_vdevice_id;
	return rc;
}

static long replace(uint32_t st, uint32_t pt)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
		.id = st, .mock_domain_replace.pt_id = pt,
	};

	return io(IOMMU_TEST_CMD, &cmd);
}

static void mock_domain(uint32_t pt, uint32_t *st, uint32_t *dev)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = pt,
	};

	CHECK_EQ(io(IOMMU_TEST_CMD, &cmd), 0);
	*st = cmd.mock_domain.out_stdev_id;
	*dev = cmd.mock_domain.out_idev_id;
}

static void setup(void)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };

	fresh();
	ioas = ioas_alloc();
	mock_domain(ioas, &stdev, &idev);
	{
		struct iommu_hwpt_alloc cmd = {
			.size = sizeof(cmd), .dev_id = idev, .pt_id = ioas,
			.flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
		};

		CHECK_EQ(io(IOMMU_HWPT_ALLOC, &cmd), 0);
		parent = cmd.out_hwpt_id;
	}
	{
		struct iommu_viommu_alloc cmd = {
			.size = sizeof(cmd), .type = IOMMU_VIOMMU_TYPE_SELFTEST,
			.dev_id = idev, .hwpt_id = parent,
		};

		CHECK_EQ(io(IOMMU_VIOMMU_ALLOC, &cmd), 0);
		viommu = cmd.out_viommu_id;
	}
	{
		struct iommu_hwpt_alloc cmd = {
			.size = sizeof(cmd), .dev_id = idev, .pt_id = viommu,
			.data_type = IOMMU_HWPT_DATA_SELFTEST,
			.data_len = sizeof(data), .data_uptr = (uintptr_t)&data,
		};

		CHECK_EQ(io(IOMMU_HWPT_ALLOC, &cmd), 0);
		nested = cmd.out_hwpt_id;
	}
}

static void vdevices(void)
{
	struct ioasid_device_alloc vtd = {
		.size = sizeof(vtd), .model = IOASID_DEVICE_VTD,
	};
	uint32_t vdev, other_st, other_dev, id;
	const struct {
		const char *what;
		bool bad_viommu, bad_dev, vtd_dev;
		uint64_t virt_id;
		long rc;
	} cases[] = {
		{ "no such vIOMMU", true, false, false, 1, -ENOENT },
		{ "no such device", false, true, false, 1, -ENOENT },
		{ "a device of another IOMMU", false, false, true, 1, -EINVAL },
	};

	setup();
	CHECK_EQ(io(IOASID_DEVICE_ALLOC, &vtd), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		CHECK_CASE(cases[i].what,
			   vdevice_alloc(cases[i].bad_viommu ? ioas : viommu,
					 cases[i].bad_dev ? 999 :
					 cases[i].vtd_dev ? vtd.out_dev_id :
							    idev,
					 cases[i].virt_id, NULL),
			   cases[i].rc);

	/* Through the vIOMMU only as a vDEVICE. */
	CHECK_EQ(replace(stdev, nested), -ENOENT);
	CHECK_EQ(vdevice_alloc(viommu, idev, 0x99, &vdev), 0);
	CHECK_EQ(vdevice_alloc(viommu, idev, 0x98, NULL), -EEXIST);
	mock_domain(ioas, &other_st, &other_dev);
	CHECK_EQ(vdevice_alloc(viommu, other_dev, 0x99, NULL), -EEXIST);
	CHECK_EQ(replace(stdev, nested), 0);
	CHECK_EQ(destroy(viommu), -EBUSY); /* its vDEVICE and HWPT hold it */
	CHECK_EQ(replace(stdev, ioas), 0);

	/* Gone, its virtual ID is free again. */
	CHECK_EQ(destroy(vdev), 0);
	CHECK_EQ(vdevice_alloc(viommu, other_dev, 0x99, &id), 0);
	CHECK_EQ(vdevice_alloc(viommu, idev, 0x88, &vdev), 0);

	/* A device that goes takes its vDEVICE, whose id stays dead. */
	CHECK_EQ(destroy(stdev), 0);
	CHECK_EQ(destroy(vdev), -ENOENT);
	CHECK_EQ(vdevice_alloc(viommu, other_dev, 0x88, NULL), -EEXIST);
	{
		uint32_t fresh_id;

		CHECK_EQ(destroy(id), 0);
		CHECK_EQ(vdevice_alloc(viommu, other_dev, 0x88, &fresh_id), 0);
		CHECK(fresh_id != vdev);
	}
	/* A plugged-in device unplugged with one: the same. */
	CHECK_EQ(destroy(vtd.out_dev_id), 0);
	ioasid_ctx_put(ctx);
	ctx = NULL;
}

static long invalidate(uint32_t id, uint32_t type, const void *reqs,
		       uint32_t len, uint32_t *num)
{
	struct iommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd), .hwpt_id = id, .data_type = type,
		.data_uptr = (uintptr_t)reqs, .entry_len = len,
		.entry_num = *num,
	};
	long rc = io(IOMMU_HWPT_INVALIDATE, &cmd);

	*num = cmd.entry_num;
	return rc;
}

static long check_cache(uint32_t dev, uint32_t id, uint32_t value)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_DEV_CHECK_CACHE,
		.id = dev, .check_dev_cache = { .id = id, .cache = value },
	};

	return io(IOMMU_TEST_CMD, &cmd);
}

static void invalidations(void)
{
	const uint32_t st = IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST;
	const uint32_t sz = sizeof(struct iommu_viommu_invalidate_selftest);
	const struct {
		const char *what;
		uint32_t type, len, flags0, vdev0, cache0, flags1, vdev1,
			cache1, num;
		long rc;
		uint32_t done;
	} cases[] = {
		{ "none", st, sz, 0, 0, 0, 0, 0, 0, 0, 0, 0 },
		{ "another type", st + 1, sz, 0, 0x99, 0, 0, 0, 0, 1,
		  -EINVAL, 0 },
		{ "entry a byte long", st, 1, 0, 0x99, 0, 0, 0, 0, 1, -EINVAL,
		  0 },
		{ "entry a byte too long", st, sz + 1, 0, 0x99, 0, 0, 0, 0, 1,
		  -EINVAL, 0 },
		{ "unknown flag", st, sz, 2, 0x99, 0, 0, 0, 0, 1, -EOPNOTSUPP,
		  0 },
		{ "cache id past the end", st, sz, 0, 0x99,
		  MOCK_DEV_CACHE_ID_MAX + 1, 0, 0, 0, 1, -EINVAL, 0 },
		{ "no such virtual ID", st, sz, 0, 0x9, 0, 0, 0, 0, 1, -EINVAL,
		  0 },
		{ "the second bad", st, sz, 0, 0x99, 0, 0, 0x9, 1, 2, -EINVAL,
		  1 },
		{ "entry 1, then 2 and 3", st, sz, 0, 0x99, 1, 0, 0x99, 2, 2, 0,
		  2 },
	};
	uint32_t vdev;

	setup();
	CHECK_EQ(vdevice_alloc(viommu, idev, 0x99, &vdev), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct iommu_viommu_invalidate_selftest reqs[2] = {
			{ cases[i].flags0, cases[i].vdev0, cases[i].cache0 },
			{ cases[i].flags1, cases[i].vdev1, cases[i].cache1 },
		};
		uint32_t num = cases[i].num;

		CHECK_CASE(cases[i].what,
			   invalidate(viommu, cases[i].type, reqs,
				      cases[i].len, &num),
			   cases[i].rc);
		CHECK_CASE(cases[i].what, num, cases[i].done);
	}
	/* Entry 0 went with "the second bad", 1 to 3 with the last. */
	for (uint32_t id = 0; id <= MOCK_DEV_CACHE_ID_MAX; id++)
		CHECK_EQ(check_cache(idev, id, id < 3 ? 0 :
					     IOMMU_TEST_DEV_CACHE_DEFAULT),
			 0);
	{
		struct iommu_viommu_invalidate_selftest all = {
			IOMMU_TEST_INVALIDATE_FLAG_ALL, 0x99, 0,
		};
		uint32_t num = 1;

		CHECK_EQ(invalidate(viommu, st, &all, sz, &num), 0);
		CHECK_EQ(check_cache(idev, MOCK_DEV_CACHE_ID_MAX, 0), 0);
	}
	ioasid_ctx_put(ctx);
	ctx = NULL;
}

static long veventq_alloc(uint32_t vi, uint32_t flags, uint32_t type,
			  uint32_t depth, uint32_t reserved, uint32_t *id,
			  int *fd)
{
	struct iommu_veventq_alloc cmd = {
		.size = sizeof(cmd), .flags = flags, .viommu_id = vi,
		.type = type, .veventq_depth = depth, .__reserved = reserved,
	};
	long rc = io(IOMMU_VEVENTQ_ALLOC, &cmd);

	if (id)
		*id = cmd.out_veventq_id;
	if (fd)
		*fd = (int)cmd.out_veventq_fd;
	return rc;
}

static long trigger(uint32_t dev)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_TRIGGER_VEVENT,
		.trigger_vevent.dev_id = dev,
	};

	return io(IOMMU_TEST_CMD, &cmd);
}

/* One record: header, then the selftest event. */
struct rec {
	struct iommufd_vevent_header hdr;
	struct iommu_viommu_event_selftest ev;
};

static unsigned int poll_of(int fd)
{
	struct ioasid_file *file;
	unsigned int mask;

	if (ioasid_file_lookup(fd, &file))
		return 0;
	mask = ioasid_file_poll(file);
	ioasid_file_put(file);
	return mask;
}

static void veventqs(void)
{
	const uint32_t st = IOMMU_VEVENTQ_TYPE_SELFTEST;
	const struct {
		const char *what;
		uint32_t flags, type, depth, reserved;
		long rc;
	} cases[] = {
		{ "a flag", 1, st, 2, 0, -EOPNOTSUPP },
		{ "reserved set", 0, st, 2, 1, -EOPNOTSUPP },
		{ "the default type", 0, IOMMU_VEVENTQ_TYPE_DEFAULT, 2, 0,
		  -EOPNOTSUPP },
		{ "depth 0", 0, st, 0, 0, -EINVAL },
		{ "depth past the bound", 0, st, (1u << 19) + 1, 0, -EINVAL },
	};
	struct rec r[4] = { 0 };
	uint32_t q, vdev;
	int fd;

	setup();
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		CHECK_CASE(cases[i].what,
			   veventq_alloc(viommu, cases[i].flags, cases[i].type,
					 cases[i].depth, cases[i].reserved,
					 NULL, NULL),
			   cases[i].rc);
	CHECK_EQ(veventq_alloc(ioas, 0, st, 2, 0, NULL, NULL), -ENOENT);
	CHECK_EQ(veventq_alloc(viommu, 0, st, 1u << 19, 0, &q, &fd), 0);
	CHECK_EQ(ioasid_self_close(fd), 0);
	CHECK_EQ(destroy(q), 0);

	CHECK_EQ(veventq_alloc(viommu, 0, st, 2, 0, &q, &fd), 0);
	CHECK_EQ(veventq_alloc(viommu, 0, st, 2, 0, NULL, NULL), -EEXIST);
	CHECK_EQ(destroy(q), -EBUSY); /* its file holds it */
	CHECK_EQ(destroy(viommu), -EBUSY);

	/* Nothing to read; reads shorter than a header refused. */
	CHECK_EQ(ioasid_self_read(fd, r, 0), -EINVAL);
	CHECK_EQ(ioasid_self_read(fd, r, 7), -EINVAL);
	CHECK_EQ(ioasid_self_read(fd, r, sizeof(r)), 0);
	CHECK_EQ(poll_of(fd), POLLOUT);

	/* Events come from a device attached through the vIOMMU. */
	CHECK_EQ(trigger(idev), -ENOENT);
	CHECK_EQ(vdevice_alloc(viommu, idev, 0x99, &vdev), 0);
	CHECK_EQ(trigger(idev), -ENOENT); /* not attached through it yet */
	CHECK_EQ(replace(stdev, nested), 0);
	CHECK_EQ(trigger(idev), 0);
	CHECK_EQ(poll_of(fd), POLLOUT | POLLIN | POLLRDNORM);
	CHECK_EQ(ioasid_self_read(fd, r, sizeof(r[0].hdr)), -EINVAL);
	CHECK_EQ(ioasid_self_read(fd, r, sizeof(r)), sizeof(r[0]));
	CHECK_EQ(r[0].hdr.flags, 0);
	CHECK_EQ(r[0].hdr.sequence, 0);
	CHECK_EQ(r[0].ev.virt_id, 0x99);

	/* Three into a queue of two: the third is a lost-events header,
	 * 8 bytes with a number of its own. */
	for (int i = 0; i < 3; i++)
		CHECK_EQ(trigger(idev), 0);
	memset(r, 0, sizeof(r));
	CHECK_EQ(ioasid_self_read(fd, r, sizeof(r)),
		 2 * sizeof(r[0]) + sizeof(r[0].hdr));
	CHECK_EQ(r[0].hdr.sequence, 1);
	CHECK_EQ(r[1].hdr.sequence, 2);
	CHECK_EQ(r[2].hdr.flags, IOMMU_VEVENTQ_FLAG_LOST_EVENTS);
	CHECK_EQ(r[2].hdr.sequence, 3);

	/* Full again, one read out: a new event takes the lost-events
	 * header's place at the end, the gap in numbers telling. */
	for (int i = 0; i < 3; i++)
		CHECK_EQ(trigger(idev), 0);
	CHECK_EQ(ioasid_self_read(fd, r, sizeof(r[0])), sizeof(r[0]));
	CHECK_EQ(r[0].hdr.sequence, 4);
	CHECK_EQ(trigger(idev), 0);
	CHECK_EQ(ioasid_self_read(fd, r, sizeof(r)), 2 * sizeof(r[0]));
	CHECK_EQ(r[0].hdr.sequence, 5);
	CHECK_EQ(r[1].hdr.flags, 0);
	CHECK_EQ(r[1].hdr.sequence, 7);

	/* Moved away, the device reports nothing. */
	CHECK_EQ(replace(stdev, ioas), 0);
	CHECK_EQ(trigger(idev), -ENOENT);
	CHECK_EQ(ioasid_self_close(fd), 0);
	CHECK_EQ(destroy(q), 0);
	/* No queue of the type: the event has nowhere to go. */
	CHECK_EQ(replace(stdev, nested), 0);
	CHECK_EQ(trigger(idev), -EOPNOTSUPP);
	/* A queue left open goes with the context. */
	CHECK_EQ(veventq_alloc(viommu, 0, st, 4, 0, &q, &fd), 0);
	CHECK_EQ(trigger(idev), 0);
	ioasid_ctx_put(ctx);
	ctx = NULL;
	CHECK_EQ(ioasid_self_close(fd), 0);
}

static long hw_queue_alloc(uint32_t vi, uint32_t flags, uint32_t type,
			   uint32_t index, uint64_t iova, uint64_t len,
			   uint32_t *id)
{
	struct iommu_hw_queue_alloc cmd = {
		.size = sizeof(cmd), .flags = flags, .viommu_id = vi,
		.type = type, .index = index, .nesting_parent_iova = iova,
		.length = len,
	};
	long rc = io(IOMMU_HW_QUEUE_ALLOC, &cmd);

	if (id)
		*id = cmd.out_hw_queue_id;
	return rc;
}

static long unmap(uint64_t iova, uint64_t len)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .iova = iova,
		.length = len,
	};

	return io(IOMMU_IOAS_UNMAP, &cmd);
}

#define QBASE (32ull << 20)

static void hw_queues(void)
{
	const uint32_t st = IOMMU_HW_QUEUE_TYPE_SELFTEST;
	const struct {
		const char *what;
		uint32_t flags, type, index;
		uint64_t iova, len;
		long rc;
	} cases[] = {
		{ "a flag", 1, st, 0, QBASE, PG, -EOPNOTSUPP },
		{ "the default type", 0, IOMMU_HW_QUEUE_TYPE_DEFAULT, 0, QBASE,
		  PG, -EOPNOTSUPP },
		{ "a type the mock has not", 0,
		  IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV, 0, QBASE, PG,
		  -EOPNOTSUPP },
		{ "length 0", 0, st, 0, QBASE, 0, -EINVAL },
		{ "wrapping", 0, st, 0, ~0ull, PG, -EOVERFLOW },
		{ "nothing mapped", 0, st, 0, QBASE + 64 * PG, PG, -ENOENT },
		{ "index 1 before 0", 0, st, 1, QBASE, PG, -EIO },
		{ "index past the last", 0, st, IOMMU_TEST_HW_QUEUE_MAX, QBASE,
		  PG, -EINVAL },
		{ "pages not one run of frames", 0, st, 0, QBASE + 8 * PG,
		  2 * PG, -EFAULT },
		/* The kernel's page array is one kmalloc: past 4 MiB of it,
		 * ENOMEM, not an allocation of the caller's size. */
		{ "a length no page array holds", 0, st, 0, QBASE,
		  1ull << 62, -ENOMEM },
	};
	char *mem = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint32_t q0, q1;

	CHECK(mem != MAP_FAILED);
	setup();
	CHECK_EQ(map_at(ioas, RW, mem, PG, QBASE), 0);
	CHECK_EQ(map_at(ioas, RW, mem + PG, PG, QBASE + PG), 0);
	/* Two pages side by side in IOVA, apart in memory. */
	CHECK_EQ(map_at(ioas, RW, mem + 3 * PG, PG, QBASE + 8 * PG), 0);
	CHECK_EQ(map_at(ioas, RW, mem, PG, QBASE + 9 * PG), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		CHECK_CASE(cases[i].what,
			   hw_queue_alloc(viommu, cases[i].flags,
					  cases[i].type, cases[i].index,
					  cases[i].iova, cases[i].len, NULL),
			   cases[i].rc);
	CHECK_EQ(hw_queue_alloc(ioas, 0, st, 0, QBASE, PG, NULL), -ENOENT);
	/* The failures pinned nothing. */
	CHECK_EQ(unmap(QBASE + 8 * PG, 2 * PG), 0);

	CHECK_EQ(hw_queue_alloc(viommu, 0, st, 0, QBASE, PG, &q0), 0);
	CHECK_EQ(hw_queue_alloc(viommu, 0, st, 0, QBASE, PG, NULL), -EEXIST);
	CHECK_EQ(unmap(QBASE, PG), -EBUSY);
	CHECK_EQ(unmap(0, UINT64_MAX), -EBUSY);
	CHECK_EQ(unmap(QBASE + PG, PG), 0);
	CHECK_EQ(hw_queue_alloc(viommu, 0, st, 1, QBASE + PG / 2, PG / 2, &q1),
		 0);
	CHECK_EQ(destroy(q0), -EBUSY); /* queue 1 needs it */
	CHECK_EQ(destroy(viommu), -EBUSY);
	CHECK_EQ(destroy(q1), 0);
	CHECK_EQ(unmap(QBASE, PG), -EBUSY); /* queue 0 still pins it */
	CHECK_EQ(destroy(q0), 0);
	CHECK_EQ(unmap(QBASE, PG), 0);

	/* Queues left standing go with the context. */
	CHECK_EQ(map_at(ioas, RW, mem, 2 * PG, QBASE), 0);
	CHECK_EQ(hw_queue_alloc(viommu, 0, st, 0, QBASE, 2 * PG, &q0), 0);
	CHECK_EQ(hw_queue_alloc(viommu, 0, st, 1, QBASE, PG, &q1), 0);
	ioasid_ctx_put(ctx);
	ctx = NULL;
	munmap(mem, 4 * PG);
}

int main(void)
{
	CHECK_EQ(ioasid_caller_self(&caller), 0);
	hw_queues();
	vdevices();
	invalidations();
	veventqs();
	return check_finish("viommu");
}
