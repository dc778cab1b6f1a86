/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the daemon's wire decoding: each record is one
 * message as a client socket would deliver it, decoded by request_parse()
 * and served as the daemon serves it, on one context per input.
 *
 * The client is a child process that does nothing (sleep(1), not a fork
 * of this one, whose sanitizer shadow would be terabytes of readable
 * memory): whatever memory a message names outside its segments is the
 * child's, reached as the daemon reaches a client's, so a fuzzed address
 * can never touch the harness.  Messages carry no descriptors.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/request.h"
#include "fuzz_common.h"
#include "ioasid/ioasid.h"

static pid_t client;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	pid_t parent = getpid();

	(void)argc;
	(void)argv;
	ioasid_enable_test_mode();
	client = fork();
	if (client < 0)
		abort();
	if (client == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		execlp("sleep", "sleep", "infinity", (char *)NULL);
		_exit(127);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Messages are read into a buffer of the daemon's own size. */
	static unsigned char msg[IOASID_WIRE_MAX_MSG];
	const uint8_t *p = data, *end = data + size, *rec;
	struct ioasid_ctx *ctx = ioasid_ctx_new();
	struct ucred cred = { .pid = client, .uid = 0, .gid = 0 };
	size_t len;

	if (!ctx)
		return 0;
	for (int n = 0; n < FUZZ_MAX_RECORDS &&
			(rec = fuzz_next_record(&p, end, &len));
	     n++) {
		struct request r;

		memcpy(msg, rec, len);
		memset(&r, 0, sizeof(r));
		r.w.fd = -1;
		r.w.cb_sock = -1;
		r.w.pidfd = -1;
		if (request_parse(&r, msg, len, &cred, -1, "fuzz"))
			continue;
		if (r.req.kind == IOASID_WIRE_IOCTL) {
			request_serve_begin(&r);
			ioasid_ctx_ioctl(ctx, &r.caller, r.req.cmd, r.req.arg);
			request_serve_end(&r);
			/* A file the client never receives: as the daemon does
			 * when the client is gone, its only reference goes. */
			if (r.w.new_file) {
				close(r.w.new_file_fds[0]);
				close(r.w.new_file_fds[1]);
				ioasid_file_put(r.w.new_file);
			}
		} else if (r.req.kind == IOASID_WIRE_MUNMAP) {
			ioasid_ctx_munmap(ctx, r.req.arg);
		}
		request_end(&r);
	}
	ioasid_ctx_put(ctx);
	return 0;
}
