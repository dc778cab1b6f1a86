/* SPDX-License-Identifier: MIT */
/*
 * DMA through a software IOMMU, end to end, with nothing but /dev/iommu
 * ioctls and ioasid's extension: an I/O address space, an emulated device
 * behind our model of an Intel VT-d IOMMU attached to it (its driver picks
 * the domain), memory mapped in, the device reading and writing it by
 * IOVA, and then the same DMA failing once the memory is unmapped.  What
 * the model decides (its registers, its aperture, its reserved interrupt
 * window) is said to be the model's where it is printed.
 *
 * Run it under ioasid-run (make run does):
 *     ioasid-run -- dma-demo
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ioasid/uapi/ioasid.h"
#include "ioasid/uapi/iommufd.h"

#define BUF_SIZE (64 * 1024)

static int fd;

static int fail(const char *what)
{
	fprintf(stderr, "dma-demo: %s: %s\n", what, strerror(errno));
	return 1;
}

static int device_dma(uint32_t dev_id, uint32_t flags, uint64_t iova,
		      void *buf, uint64_t len)
{
	struct ioasid_device_dma dma = {
		.size = sizeof(dma),
		.flags = flags,
		.dev_id = dev_id,
		.iova = iova,
		.length = len,
		.uptr = (uintptr_t)buf,
	};

	return ioctl(fd, IOASID_DEVICE_DMA, &dma);
}

int main(void)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct ioasid_device_alloc dev = {
		.size = sizeof(dev),
		.model = IOASID_DEVICE_VTD,
	};
	struct ioasid_device_attach attach = { .size = sizeof(attach) };
	struct iommu_hw_info_vtd info;
	struct iommu_hw_info hw = { .size = sizeof(hw) };
	struct iommu_iova_range ranges[4];
	struct iommu_ioas_iova_ranges iova_ranges = {
		.size = sizeof(iova_ranges),
		.num_iovas = 4,
		.allowed_iovas = (uintptr_t)ranges,
	};
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.length = BUF_SIZE,
	};
	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap) };
	static const char msg[] = "written by the device";
	unsigned char *mem, got[4096];

	fd = open("/dev/iommu", O_RDWR);
	if (fd < 0)
		return fail("open /dev/iommu (run me under ioasid-run)");
	printf("1. opened /dev/iommu\n");

	if (ioctl(fd, IOMMU_IOAS_ALLOC, &alloc))
		return fail("IOMMU_IOAS_ALLOC");
	printf("2. IOMMU_IOAS_ALLOC: I/O address space %u\n",
	       alloc.out_ioas_id);

	/* An emulated device, plugged in and attached to the IOAS: its
	 * driver makes the domain it needs. */
	if (ioctl(fd, IOASID_DEVICE_ALLOC, &dev))
		return fail("IOASID_DEVICE_ALLOC");
	attach.dev_id = dev.out_dev_id;
	attach.pt_id = alloc.out_ioas_id;
	if (ioctl(fd, IOASID_DEVICE_ATTACH, &attach))
		return fail("IOASID_DEVICE_ATTACH");
	printf("3. emulated device %u, behind the VT-d model, attached; its "
	       "driver made domain (HWPT) %u\n",
	       dev.out_dev_id, attach.pt_id);

	hw.dev_id = dev.out_dev_id;
	hw.data_len = sizeof(info);
	hw.data_uptr = (uintptr_t)&info;
	if (ioctl(fd, IOMMU_GET_HW_INFO, &hw))
		return fail("IOMMU_GET_HW_INFO");
	printf("4. IOMMU_GET_HW_INFO: type %u (Intel VT-d); the model's "
	       "CAP_REG %#llx, ECAP_REG %#llx; capabilities %#llx\n",
	       hw.out_data_type, (unsigned long long)info.cap_reg,
	       (unsigned long long)info.ecap_reg,
	       (unsigned long long)hw.out_capabilities);

	iova_ranges.ioas_id = alloc.out_ioas_id;
	if (ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &iova_ranges))
		return fail("IOMMU_IOAS_IOVA_RANGES");
	printf("5. usable IOVA, now that the model's 48-bit aperture and "
	       "its reserved interrupt window apply:");
	for (uint32_t i = 0; i < iova_ranges.num_iovas && i < 4; i++)
		printf(" [%#llx, %#llx]", (unsigned long long)ranges[i].start,
		       (unsigned long long)ranges[i].last);
	printf(", alignment %llu\n",
	       (unsigned long long)iova_ranges.out_iova_alignment);

	mem = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap");
	for (size_t i = 0; i < BUF_SIZE; i++)
		mem[i] = (unsigned char)(i * 13 + 7);
	map.ioas_id = alloc.out_ioas_id;
	map.user_va = (uintptr_t)mem;
	if (ioctl(fd, IOMMU_IOAS_MAP, &map))
		return fail("IOMMU_IOAS_MAP");
	printf("6. IOMMU_IOAS_MAP: %d KiB at %p mapped at IOVA %#llx "
	       "(pinned, and filled into the domain)\n",
	       BUF_SIZE / 1024, (void *)mem, (unsigned long long)map.iova);

	if (device_dma(hw.dev_id, 0, map.iova + 100, got, sizeof(got)))
		return fail("IOASID_DEVICE_DMA read");
	if (memcmp(got, mem + 100, sizeof(got))) {
		fprintf(stderr, "dma-demo: the device read the wrong bytes\n");
		return 1;
	}
	printf("7. device DMA read of %zu bytes at IOVA %#llx: the bytes "
	       "of the buffer, as expected\n",
	       sizeof(got), (unsigned long long)map.iova + 100);

	if (device_dma(hw.dev_id, IOASID_DMA_WRITE, map.iova + 8192,
		       (void *)msg, sizeof(msg)))
		return fail("IOASID_DEVICE_DMA write");
	if (memcmp(mem + 8192, msg, sizeof(msg))) {
		fprintf(stderr, "dma-demo: the device's write went astray\n");
		return 1;
	}
	printf("8. device DMA write at IOVA %#llx: the buffer now reads "
	       "\"%s\"\n",
	       (unsigned long long)map.iova + 8192, (char *)mem + 8192);

	unmap.ioas_id = alloc.out_ioas_id;
	unmap.iova = map.iova;
	unmap.length = BUF_SIZE;
	if (ioctl(fd, IOMMU_IOAS_UNMAP, &unmap))
		return fail("IOMMU_IOAS_UNMAP");
	printf("9. IOMMU_IOAS_UNMAP: %llu bytes unmapped and unpinned\n",
	       (unsigned long long)unmap.length);

	if (!device_dma(hw.dev_id, 0, map.iova + 100, got, 8) ||
	    errno != ENOENT) {
		fprintf(stderr, "dma-demo: DMA after unmap did not fault\n");
		return 1;
	}
	printf("10. device DMA read at IOVA %#llx again: %s, as the IOMMU "
	       "now blocks it\n",
	       (unsigned long long)map.iova + 100, strerror(ENOENT));

	close(fd);
	munmap(mem, BUF_SIZE);
	printf("dma-demo: all steps behaved as expected\n");
	return 0;
}
