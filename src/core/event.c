/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>

#include "event.h"

static ioasid_event_sink event_sink;

void ioasid_set_event_sink(ioasid_event_sink sink)
{
	event_sink = sink;
}

void ioasid_event(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!event_sink)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	event_sink(line);
}
