/* SPDX-License-Identifier: MIT */
/*
 * One ioctl as a line of text, from the table alone: what strace cannot
 * say about iommufd.  Each field is printed by name as its kind reads
 * best (ids and counts in decimal, addresses in hex, flags by name); a
 * field the call changed shows both values; pointer fields are followed
 * to the elements the table describes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ioctl_desc.h"

/* Elements of a pointer field shown before "..." */
#define DECODE_MAX_ELEMS 4

static void put_flags(FILE *f, const struct ioasid_ioctl_desc *d, uint64_t v)
{
	const char *sep = "";

	if (!v) {
		fputc('0', f);
		return;
	}
	for (unsigned int i = 0; i < d->nflag_names; i++) {
		if (!(v & d->flag_names[i].bit))
			continue;
		fprintf(f, "%s%s", sep, d->flag_names[i].name);
		v &= ~(uint64_t)d->flag_names[i].bit;
		sep = "|";
	}
	if (v)
		fprintf(f, "%s%#" PRIx64, sep, v);
}

static void put_value(FILE *f, const struct ioasid_ioctl_desc *d,
		      const struct ioasid_field *fl, uint64_t v)
{
	switch (fl->kind) {
	case IOASID_F_FLAGS:
		if (d) {
			put_flags(f, d, v);
			break;
		}
		fprintf(f, "%#" PRIx64, v);
		break;
	case IOASID_F_SIZE:
	case IOASID_F_ID:
	case IOASID_F_OUT_ID:
	case IOASID_F_COUNT:
	case IOASID_F_ENUM:
		fprintf(f, "%" PRIu64, v);
		break;
	case IOASID_F_FD:
	case IOASID_F_OUT_FD:
		fprintf(f, "%d", (int)(uint32_t)v);
		break;
	default:
		fprintf(f, "%#" PRIx64, v);
		break;
	}
}

/* The elements at uptr, as far as they can be read. */
static void put_elements(FILE *f, const struct ioasid_field *fl,
			 uint64_t uptr, uint64_t bytes,
			 ioasid_decode_read_fn read, void *priv)
{
	const struct ioasid_struct_desc *e = fl->ptr.elem;
	unsigned char elem[256];
	uint64_t n;

	fprintf(f, "%#" PRIx64, uptr);
	if (!uptr || !read || !e || !e->size || e->size > sizeof(elem)) {
		fprintf(f, "[%" PRIu64 " bytes]", bytes);
		return;
	}
	if (!e->nfields) {
		/* Plain bytes: the first few, in hex. */
		n = bytes < 16 ? bytes : 16;
		fprintf(f, "[%" PRIu64 " bytes", bytes);
		if (n && !read(priv, uptr, elem, n)) {
			fputc(':', f);
			for (uint64_t i = 0; i < n; i++)
				fprintf(f, " %02x", elem[i]);
			if (n < bytes)
				fputs(" ...", f);
		}
		fputc(']', f);
		return;
	}
	n = bytes / e->size;
	fputs("=[", f);
	for (uint64_t i = 0; i < n && i < DECODE_MAX_ELEMS; i++) {
		if (read(priv, uptr + i * e->size, elem, e->size)) {
			fputs(i ? ", ?" : "?", f);
			break;
		}
		fputs(i ? ", {" : "{", f);
		for (unsigned int k = 0; k < e->nfields; k++) {
			const struct ioasid_field *ef = &e->fields[k];

			fprintf(f, "%s%s=", k ? ", " : "", ef->name);
			put_value(f, NULL, ef, ioasid_field_get(ef, elem, e->size));
		}
		fputc('}', f);
	}
	if (n > DECODE_MAX_ELEMS)
		fprintf(f, ", ... %" PRIu64 " in all", n);
	fputc(']', f);
}

/* An argument that points at an __s32 or a name: what it points at. */
static void decode_value(FILE *f, const struct ioasid_ioctl_desc *d,
			 unsigned long arg, ioasid_decode_read_fn read,
			 void *priv)
{
	char name[65];
	int32_t v;
	size_t n = 0;

	if (d->arg == IOASID_ARG_S32) {
		if (read && !read(priv, arg, &v, sizeof(v)))
			fprintf(f, "%s([%d])", d->name, v);
		else
			fprintf(f, "%s(%#lx)", d->name, arg);
		return;
	}
	while (read && n < sizeof(name) - 1 && !read(priv, arg + n, &name[n], 1) &&
	       name[n])
		n++;
	name[n] = 0;
	if (!read || (!n && arg))
		fprintf(f, "%s(%#lx)", d->name, arg);
	else
		fprintf(f, "%s(\"%s%s\")", d->name, name,
			n == sizeof(name) - 1 ? "..." : "");
}

void ioasid_ioctl_decode(FILE *f, unsigned int on, unsigned int cmd,
			 unsigned long arg, const void *before,
			 const void *after, size_t len, long result,
			 ioasid_decode_read_fn read, void *priv)
{
	const struct ioasid_ioctl_desc *d = ioasid_ioctl_desc_find_on(on, cmd);
	uint32_t op;
	const char *sep = "";

	if (!d) {
		fprintf(f, "ioctl %#x(%#lx)", cmd, arg);
	} else if (d->arg == IOASID_ARG_VALUE || d->arg == IOASID_ARG_NONE) {
		fprintf(f, "%s(%lu)", d->name, arg);
	} else if (d->arg == IOASID_ARG_S32 || d->arg == IOASID_ARG_STRING) {
		decode_value(f, d, arg, read, priv);
	} else if (!before) {
		fprintf(f, "%s(%#lx: unreadable)", d->name, arg);
	} else {
		op = ioasid_ioctl_desc_op(d, before, len);
		fprintf(f, "%s {", d->name);
		for (unsigned int i = 0; i < d->nfields; i++) {
			const struct ioasid_field *fl = &d->fields[i];
			uint64_t in, out;

			if (!ioasid_field_active(d, fl, op) || fl->off >= len)
				continue;
			in = ioasid_field_get(fl, before, len);
			out = after ? ioasid_field_get(fl, after, len) : in;
			/* Reserved fields are news only when set. */
			if ((fl->kind == IOASID_F_ZERO || fl->kind == IOASID_F_PAD) &&
			    !in && !out)
				continue;
			fprintf(f, "%s%s=", sep, fl->name);
			sep = ", ";
			if (ioasid_field_is_ptr(fl)) {
				put_elements(f, fl, out,
					     ioasid_ptr_extent(fl, after ? after :
									   before,
							       len),
					     result < 0 && fl->kind != IOASID_F_PTR_IN ?
						     NULL :
						     read,
					     priv);
				continue;
			}
			put_value(f, d, fl, in);
			if (out != in) {
				fputs("=>", f);
				put_value(f, d, fl, out);
			}
		}
		fputc('}', f);
	}
	if (result < 0)
		fprintf(f, " = -1 %s (%s)\n", strerrorname_np((int)-result) ?: "?",
			strerror((int)-result));
	else
		fprintf(f, " = %ld\n", result);
}
