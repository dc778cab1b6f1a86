/* SPDX-License-Identifier: MIT */
/*
 * fuzz-seeds DISPATCH_DIR WIRE_DIR: a starting corpus for both fuzz
 * harnesses, made from the ioctl table (nothing binary is committed).
 * For every entry (and every IOMMU_TEST_CMD op): the struct with its size
 * set and id fields naming object 1, alone and after an IOMMU_IOAS_ALLOC;
 * for fuzz-wire the same requests as the shim would send them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ioctl_desc.h"
#include "fuzz_common.h"
#include "ioasid/uapi/iommufd.h"
#include "wire/wire.h"

/* Where the struct is in the (imaginary) client of a wire seed. */
#define WIRE_ARG 0x10000

struct buf {
	unsigned char b[8192];
	size_t n;
};

static void put(struct buf *o, const void *p, size_t n)
{
	if (o->n + n > sizeof(o->b))
		abort();
	memcpy(o->b + o->n, p, n);
	o->n += n;
}

static void record(struct buf *o, const void *p, size_t n)
{
	uint16_t len = (uint16_t)n;

	put(o, &len, 2);
	put(o, p, n);
}

/* The struct image of d with op (0: none), sized and naming object 1. */
static size_t image_of(const struct ioasid_ioctl_desc *d, uint32_t op,
		       unsigned char *image)
{
	memset(image, 0, d->size);
	for (unsigned int i = 0; i < d->nfields; i++) {
		const struct ioasid_field *f = &d->fields[i];

		if (!ioasid_field_active(d, f, op))
			continue;
		if (f->kind == IOASID_F_SIZE)
			ioasid_field_set(f, image, d->size);
		else if (f->kind == IOASID_F_ID)
			ioasid_field_set(f, image, 1);
		else if (f->kind == IOASID_F_ENUM && f->nvalues &&
			 f != ioasid_ioctl_desc_op_field(d))
			ioasid_field_set(f, image, f->values[0]);
	}
	if (op)
		ioasid_field_set(ioasid_ioctl_desc_op_field(d), image, op);
	return d->size;
}

static void dispatch_record(struct buf *o, unsigned int index,
			    const unsigned char *image, size_t n)
{
	unsigned char rec[2 + 512] = { (unsigned char)index, 0 };

	memcpy(rec + 2, image, n);
	record(o, rec, 2 + n);
}

static void wire_record(struct buf *o, const struct ioasid_ioctl_desc *d,
			const unsigned char *image, size_t n)
{
	struct buf m = { .n = 0 };
	struct ioasid_wire_req req = {
		.magic = IOASID_WIRE_MAGIC,
		.kind = IOASID_WIRE_IOCTL,
		.version = IOASID_WIRE_VERSION,
		.cmd = d->cmd,
		.arg = n ? WIRE_ARG : 0,
		.nsegs = n ? 1 : 0,
		.fd = -1,
	};
	struct ioasid_wire_seg seg = {
		.uptr = WIRE_ARG, .len = (uint32_t)n,
		.flags = IOASID_SEG_DATA | IOASID_SEG_WRITABLE,
	};

	put(&m, &req, sizeof(req));
	if (n) {
		put(&m, &seg, sizeof(seg));
		put(&m, image, n);
	}
	record(o, m.b, m.n);
}

static int write_seed(const char *dir, unsigned int k, const struct buf *o)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/seed-%04u", dir, k);
	f = fopen(path, "w");
	if (!f || fwrite(o->b, 1, o->n, f) != o->n || fclose(f)) {
		fprintf(stderr, "fuzz-seeds: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct ioasid_ioctl_desc *alloc =
		ioasid_ioctl_desc_find(IOMMU_IOAS_ALLOC);
	unsigned char alloc_image[64], image[512];
	unsigned int k = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: fuzz-seeds DISPATCH_DIR WIRE_DIR\n");
		return 2;
	}
	image_of(alloc, 0, alloc_image);
	for (unsigned int i = 0; i < ioasid_ioctl_desc_count(); i++) {
		const struct ioasid_ioctl_desc *d = ioasid_ioctl_desc_at(i);
		const struct ioasid_field *opf = ioasid_ioctl_desc_op_field(d);
		unsigned int nops = opf ? opf->nvalues : 1;

		for (unsigned int v = 0; v < nops; v++) {
			uint32_t op = opf ? (uint32_t)opf->values[v] : 0;
			size_t n = d->arg == IOASID_ARG_SIZED ||
						   d->arg == IOASID_ARG_ARGSZ ?
					   image_of(d, op, image) :
					   0;
			struct buf dsp = { .n = 0 }, wire = { .n = 0 };

			if (n > sizeof(image))
				continue;
			/* After an IOAS exists, then alone. */
			dispatch_record(&dsp,
					ioasid_ioctl_desc_index(alloc),
					alloc_image, alloc->size);
			dispatch_record(&dsp, i, image, n);
			wire_record(&wire, alloc, alloc_image, alloc->size);
			wire_record(&wire, d, image, n);
			if (write_seed(argv[1], k, &dsp) ||
			    write_seed(argv[2], k, &wire))
				return 1;
			k++;
		}
	}
	printf("fuzz-seeds: %u seeds each\n", k);
	return 0;
}
