/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the core's dispatcher: sequences of ioctls, each
 * picked and laid out by the ioctl table, run on a fresh context.
 *
 * The table says which fields a request points with, so the harness can
 * keep every request inside what it owns: addresses (VA and pointer
 * fields) land in an arena, lengths and counts are cut to the arena's
 * end, descriptors are the arena's memfd or files the core handed out.
 * Everything else is the fuzzer's.  Entries made on a VFIO device go to
 * a file of an I/OAT function, whose bind takes the input's context.
 * After each input no page is left pinned or charged.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/ioctl_desc.h"
#include "fuzz_common.h"
#include "ioasid/ioasid.h"
#include "pages/account.h"

#define ARENA (1u << 20)
#define IMAGE_MAX 512
#define MAX_FDS 16

static unsigned char *arena;
static int memfd;
static struct ioasid_caller caller;
static struct ioasid_uaccess_ops ops;
static struct ioasid_ctx *input_ctx;
static int device = -1;

/* Any descriptor a bind names is the input's context. */
static int get_ctx(void *priv, int fd, struct ioasid_ctx **out)
{
	(void)priv;
	(void)fd;
	*out = input_ctx;
	return 0;
}
static int fds[MAX_FDS];
static unsigned int nfds;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	ioasid_enable_test_mode();
	memfd = memfd_create("fuzz-arena", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, ARENA) || ioasid_caller_self(&caller))
		abort();
	arena = mmap(NULL, ARENA, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (arena == MAP_FAILED)
		abort();
	ops = *caller.uaccess;
	ops.get_ctx = get_ctx;
	caller.uaccess = &ops;
	device = ioasid_vfio_plug("ioat");
	if (device < 0)
		abort();
	return 0;
}

static const struct ioasid_field *field_at_off(const struct ioasid_ioctl_desc *d,
					       uint32_t op, uint16_t off)
{
	for (unsigned int i = 0; i < d->nfields; i++)
		if (d->fields[i].off == off &&
		    ioasid_field_active(d, &d->fields[i], op))
			return &d->fields[i];
	return NULL;
}

/* A VA field's length partner: the struct's LENGTH field, if any. */
static const struct ioasid_field *length_of(const struct ioasid_ioctl_desc *d,
					    uint32_t op)
{
	for (unsigned int i = 0; i < d->nfields; i++)
		if (d->fields[i].kind == IOASID_F_LENGTH &&
		    ioasid_field_active(d, &d->fields[i], op))
			return &d->fields[i];
	return NULL;
}

static void keep_fd(long fd)
{
	if (fd < 0)
		return;
	if (nfds < MAX_FDS)
		fds[nfds++] = (int)fd;
	else
		ioasid_self_close((int)fd);
}

/* Bring the image's reach inside the arena and our descriptors. */
static void confine(const struct ioasid_ioctl_desc *d, unsigned char *image)
{
	uint32_t op = ioasid_ioctl_desc_op(d, image, d->size);

	for (unsigned int i = 0; i < d->nfields; i++) {
		const struct ioasid_field *f = &d->fields[i];
		uint64_t v = ioasid_field_get(f, image, d->size), room;

		if (!ioasid_field_active(d, f, op))
			continue;
		switch (f->kind) {
		case IOASID_F_VA: {
			const struct ioasid_field *len = length_of(d, op);

			v %= ARENA;
			ioasid_field_set(f, image, (uintptr_t)arena + v);
			if (len && ioasid_field_get(len, image, d->size) > ARENA - v)
				ioasid_field_set(len, image, ARENA - v);
			break;
		}
		case IOASID_F_FD:
			v %= nfds + 2;
			ioasid_field_set(f, image,
					 v == 0 ? (uint64_t)memfd :
					 v == 1 ? (uint64_t)(uint32_t)-1 :
						  (uint64_t)fds[v - 2]);
			break;
		case IOASID_F_PTR_IN:
		case IOASID_F_PTR_OUT:
		case IOASID_F_PTR_INOUT: {
			const struct ioasid_field *count =
				field_at_off(d, op, f->ptr.count_off);

			v %= ARENA;
			ioasid_field_set(f, image, (uintptr_t)arena + v);
			room = ARENA - v;
			for (int k = 0; k < 64 && count &&
					ioasid_ptr_extent(f, image, d->size) > room;
			     k++)
				ioasid_field_set(count, image,
						 ioasid_field_get(count, image,
								  d->size) / 2);
			if (ioasid_ptr_extent(f, image, d->size) > room)
				ioasid_field_set(f, image, 0);
			break;
		}
		default:
			break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size, *rec;
	struct ioasid_ctx *ctx = ioasid_ctx_new();
	struct ioasid_file *dev;
	uint64_t pinned, locked;
	size_t len;

	if (!ctx)
		return 0;
	if (ioasid_vfio_open(device, &dev)) {
		ioasid_ctx_put(ctx);
		return 0;
	}
	input_ctx = ctx;
	nfds = 0;
	for (int n = 0; n < FUZZ_MAX_RECORDS &&
			(rec = fuzz_next_record(&p, end, &len));
	     n++) {
		unsigned char *image = arena;
		const struct ioasid_ioctl_desc *d;
		uint64_t value = 0;
		long rc;

		if (len < 2)
			continue;
		d = ioasid_ioctl_desc_at(rec[0] % ioasid_ioctl_desc_count());
		rec += 2;
		len -= 2;
		/* Plugging for everyone has tests of its own. */
		if (d->attrs & IOASID_IOCTL_MACHINE)
			continue;
		if (d->arg == IOASID_ARG_VALUE || d->arg == IOASID_ARG_NONE) {
			memcpy(&value, rec, len < 8 ? len : 8);
			if (d->on == IOASID_ON_VFIO_DEVICE)
				ioasid_file_ioctl(dev, &caller, d->cmd,
						  (unsigned long)value);
			else
				ioasid_ctx_ioctl(ctx, &caller, d->cmd,
						 (unsigned long)value);
			continue;
		}
		/* The struct lives at the arena's start, as a program's
		 * would in its own memory. */
		if (d->size > IMAGE_MAX)
			continue;
		memset(image, 0, IMAGE_MAX);
		memcpy(image, rec, len < d->size ? len : d->size);
		confine(d, image);
		rc = d->on == IOASID_ON_VFIO_DEVICE ?
			     ioasid_file_ioctl(dev, &caller, d->cmd,
					       (uintptr_t)image) :
			     ioasid_ctx_ioctl(ctx, &caller, d->cmd,
					      (uintptr_t)image);
		if (rc > 0 && d->ret_fd_op &&
		    ioasid_ioctl_desc_op(d, image, d->size) == d->ret_fd_op)
			keep_fd(rc);
		for (unsigned int i = 0; rc >= 0 && i < d->nfields; i++)
			if (d->fields[i].kind == IOASID_F_OUT_FD &&
			    ioasid_field_active(d, &d->fields[i],
						ioasid_ioctl_desc_op(d, image,
								     d->size)))
				keep_fd((int)(uint32_t)ioasid_field_get(
					&d->fields[i], image, d->size));
	}
	for (unsigned int i = 0; i < nfds; i++)
		ioasid_self_close(fds[i]);
	/* The device's file first: its bind holds the context. */
	ioasid_file_put(dev);
	ioasid_ctx_put(ctx);
	/* The last close gives every page back. */
	ioasid_account_totals(getpid(), &pinned, &locked);
	if (pinned || locked)
		abort();
	return 0;
}
