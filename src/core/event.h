/* SPDX-License-Identifier: MIT */
/*
 * Events worth a line where someone looks: what a device did, said as it
 * happens.  The layers below the daemon have no output of their own; the
 * daemon sets a sink (ioasidd --trace) before it serves, and without one
 * an event costs a load and a branch.
 */
#ifndef IOASID_CORE_EVENT_H
#define IOASID_CORE_EVENT_H

/* line: one line, without its newline; the sink may be called from any
 * thread at once. */
typedef void (*ioasid_event_sink)(const char *line);

/* Set before any thread may report (it is read without a lock). */
void ioasid_set_event_sink(ioasid_event_sink sink);
void ioasid_event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
