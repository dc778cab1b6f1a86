/* SPDX-License-Identifier: MIT */
/*
 * Files handed to clients (an access fd, say) are socket pairs: the client
 * holds one end, we watch the other.  When the client's last copy is
 * closed, ours hangs up, and that is the file's last close.
 */
#ifndef IOASID_DAEMON_FILE_END_H
#define IOASID_DAEMON_FILE_END_H

#include <stdatomic.h>
#include <sys/types.h>

#include "endpoint.h"
#include "slot.h"

struct ioasid_file;

struct file_end {
	struct endpoint ep;
	struct ioasid_file *file;
	atomic_bool rung; /* a doorbell waits in the client's end */
	uid_t uid; /* whose share of descriptors it takes (quota.h) */
	/* A VFIO device file's request slot (slot.h): its region accesses
	 * and plain ioctls.  Files that ring doorbells take none. */
	struct slot_end slot;
};

/*
 * Serve `ours` (serve.h): the client's reads and writes, and its last
 * close of `theirs`; and make `theirs` find `file` when the client passes
 * it back, charged to user uid (-EMFILE at its share).  Takes over `ours`
 * and the caller's reference to file on success; -errno and nothing taken
 * on failure.
 */
int file_end_open(int ours, int theirs, struct ioasid_file *file, uid_t uid);

/* The last close: release the file.  The memory of fe stays, for
 * serve.c to free (free(fe)). */
void file_end_close(struct file_end *fe);

/*
 * Answer r with the file its ioctl committed (r->w.new_file): our end
 * watched for user uid, theirs sent; if the ioctl failed after all, or
 * the client cannot get it, the file goes.  0 or -ECONNRESET.
 */
struct request;
int file_end_reply_with_file(int sock, struct request *r, long result,
			     uid_t uid);

/* Serve one read or write from the client: -errno to drop the end. */
int file_end_serve_one(struct file_end *fe);

/* As session_linger() and session_slot_stop(), for a file's slot. */
int file_end_linger(struct file_end *fe, _Atomic bool *stop);
void file_end_slot_stop(struct file_end *fe);

#endif
