/* SPDX-License-Identifier: MIT */
/* One clear line per event worth knowing about, on stderr. */
#ifndef IOASID_DAEMON_LOG_H
#define IOASID_DAEMON_LOG_H

#include <stdio.h>

#include "session.h"

extern int log_verbose;

#define log_msg(fmt, ...) fprintf(stderr, "ioasidd: " fmt "\n", ##__VA_ARGS__)

#define log_session(s, fmt, ...)                                          \
	fprintf(stderr, "ioasidd: client %llu (pid %d): " fmt "\n",       \
		(unsigned long long)(s)->id, (int)(s)->opener_pid, ##__VA_ARGS__)

#define log_debug(fmt, ...)                                               \
	do {                                                              \
		if (log_verbose)                                          \
			log_msg(fmt, ##__VA_ARGS__);                      \
	} while (0)

#endif
