/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "core/ioctl_desc.h"
#include "trace.h"
#include "wire_uaccess.h"

static FILE *out;

/* One write per line: whole lines, whichever threads report at once. */
static void trace_event(const char *line)
{
	fprintf(out, "event: %s\n", line);
}

int trace_open(const char *path)
{
	out = fopen(path, "ae");
	if (!out)
		return -errno;
	setvbuf(out, NULL, _IOLBF, 0);
	ioasid_set_event_sink(trace_event);
	return 0;
}

static int caller_read(void *priv, uint64_t uptr, void *dst, size_t len)
{
	const struct ioasid_caller *c = priv;

	return c->uaccess->read(c->uaccess_priv, uptr, dst, len);
}

/* After the call: what the reply will write, else the caller's memory. */
static int caller_read_after(void *priv, uint64_t uptr, void *dst, size_t len)
{
	const struct ioasid_caller *c = priv;

	return wire_uaccess_read_after(c->uaccess_priv, uptr, dst, len);
}

/* The struct's bytes as the caller sized them (at most ours). */
static bool read_image(const struct ioasid_caller *c,
		       const struct ioasid_ioctl_desc *d, unsigned long arg,
		       void *buf, size_t cap, size_t *len)
{
	uint32_t size;

	if (d->size > cap || caller_read((void *)c, arg, &size, sizeof(size)))
		return false;
	*len = size < d->size ? size : d->size;
	if (*len < sizeof(size))
		*len = sizeof(size);
	return !caller_read((void *)c, arg, buf, *len);
}

void trace_ioctl_begin(struct trace_ioctl *t, const struct ioasid_caller *c,
		       unsigned int on, unsigned int cmd, unsigned long arg)
{
	const struct ioasid_ioctl_desc *d;

	t->on = out != NULL;
	t->file = on;
	t->readable = false;
	t->len = 0;
	if (!t->on)
		return;
	d = ioasid_ioctl_desc_find_on(on, cmd);
	if (d && (d->arg == IOASID_ARG_SIZED || d->arg == IOASID_ARG_ARGSZ))
		t->readable = read_image(c, d, arg, t->before,
					 sizeof(t->before), &t->len);
}

void trace_ioctl_end(struct trace_ioctl *t, const struct ioasid_caller *c,
		     unsigned int cmd, unsigned long arg, long result)
{
	_Alignas(8) unsigned char after[sizeof(t->before)];
	bool changed = false;
	char *text = NULL;
	size_t len = 0;
	FILE *line;

	if (!t->on)
		return;
	if (t->readable && !caller_read_after((void *)c, arg, after, t->len))
		changed = memcmp(after, t->before, t->len) != 0;
	/* Decoded apart and written whole: one line whichever threads trace
	 * at once, and no client's memory read with the file held. */
	line = open_memstream(&text, &len);
	if (!line)
		return;
	fprintf(line, "pid %d tid %d: ", (int)c->pid, (int)c->tid);
	ioasid_ioctl_decode(line, t->file, cmd, arg,
			    t->readable ? t->before : NULL,
			    changed ? after : NULL, t->len, result,
			    caller_read_after, (void *)c);
	if (!fclose(line))
		fwrite(text, 1, len, out);
	free(text);
}
