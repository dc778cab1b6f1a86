/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/ioctl_desc.h"
#include "file_end.h"
#include "ioasid/ioasid.h"
#include "ioasid/uapi/vfio_compat.h"
#include "quota.h"
#include "request.h"
#include "trace.h"
#include "serve.h"
#include "wire/wire.h"

/*
 * Keep one doorbell in the client's end while the file has something to
 * read.  The shim drains doorbells before each request, so after every
 * reply the bell is rung afresh if it still applies.
 */
static void ring(struct file_end *fe)
{
	struct ioasid_wire_rep bell = {
		.magic = IOASID_WIRE_MAGIC,
		.kind = IOASID_WIRE_DOORBELL,
		.version = IOASID_WIRE_VERSION,
	};

	/* Notifications come from any thread: one bell is enough. */
	if (atomic_load(&fe->rung) || !(ioasid_file_poll(fe->file) & POLLIN) ||
	    atomic_exchange(&fe->rung, true))
		return;
	if (send(fe->ep.fd, &bell, sizeof(bell), MSG_NOSIGNAL | MSG_DONTWAIT) !=
	    sizeof(bell))
		atomic_store(&fe->rung, false);
}

static void on_notify(void *priv)
{
	ring(priv);
}

int file_end_open(int ours, int theirs, struct ioasid_file *file, uid_t uid)
{
	struct file_end *fe;
	int rc;

	rc = quota_take(uid);
	if (rc)
		return rc;
	fe = calloc(1, sizeof(*fe));
	if (!fe) {
		quota_give(uid);
		return -ENOMEM;
	}
	fe->uid = uid;
	fe->slot.uid = uid;
	fe->ep.kind = ENDPOINT_FILE;
	fe->ep.fd = ours;
	fe->file = file;
	rc = ioasid_file_register(file, theirs);
	if (rc)
		goto out_free;
	/* Reads and writes come with the sender's credentials. */
	setsockopt(ours, SOL_SOCKET, SO_PASSCRED, &(int){ 1 }, sizeof(int));
	request_pass_identity(ours);
	ioasid_file_set_notify(file, on_notify, fe);
	rc = serve_add(&fe->ep, uid);
	if (rc)
		goto out_unregister;
	return 0;

out_unregister:
	ioasid_file_set_notify(file, NULL, NULL);
	ioasid_file_unregister(file);
out_free:
	free(fe);
	quota_give(uid);
	return rc;
}

void file_end_close(struct file_end *fe)
{
	ioasid_file_set_notify(fe->file, NULL, NULL);
	ioasid_file_unregister(fe->file);
	close(fe->ep.fd);
	fe->ep.fd = -1;
	ioasid_file_put(fe->file);
	client_mm_release(&fe->ep.mm);
	slot_drop(&fe->slot);
	quota_give(fe->uid);
}

/*
 * The ioctl committed a file for the client: watch our end, then send
 * theirs.  If the ioctl failed after all, or the client cannot get it,
 * the file's only reference goes and with it the object.
 */
int file_end_reply_with_file(int sock, struct request *r, long result,
			      uid_t uid)
{
	struct wire_uaccess *w = &r->w;
	int ours = w->new_file_fds[0], theirs = w->new_file_fds[1];
	int rc = 0;

	if (result >= 0) {
		rc = file_end_open(ours, theirs, w->new_file, uid);
		if (rc)
			result = rc;
	}
	if (result < 0) {
		close(ours);
		ioasid_file_put(w->new_file);
		rc = request_reply(sock, r, result, -1);
	} else {
		rc = request_reply(sock, r, result, theirs);
		/* Gone before it got it: our end hangs up at once and the
		 * event loop releases the file. */
	}
	close(theirs);
	return rc ? -ECONNRESET : 0;
}

/* mmap(2) of the file: the memory to map goes with the reply. */

/* An ioctl on the file, traced as one on its kind of file. */
static long file_ioctl(struct file_end *fe, struct request *r)
{
	const char *name = ioasid_file_name(fe->file);
	struct trace_ioctl t;
	long result;

	/* The others (fault and event queues) answer no ioctl: ENOTTY. */
	if (strcmp(name, "[vfio-group]") && strcmp(name, "[vfio-device]"))
		return ioasid_file_ioctl(fe->file, &r->caller, r->req.cmd,
					 r->req.arg);
	trace_ioctl_begin(&t, &r->caller,
			  name[6] == 'g' ? IOASID_ON_VFIO_GROUP :
					   IOASID_ON_VFIO_DEVICE,
			  r->req.cmd, r->req.arg);
	result = ioasid_file_ioctl(fe->file, &r->caller, r->req.cmd, r->req.arg);
	trace_ioctl_end(&t, &r->caller, r->req.cmd, r->req.arg, result);
	return result;
}

static int serve_mmap(struct file_end *fe, struct request *r)
{
	int flags = (r->req.__reserved & IOASID_WIRE_MMAP_SHARED) ?
			    MAP_SHARED :
			    MAP_PRIVATE;
	uint64_t at = 0, trap = 0;
	int fd = ioasid_file_mmap(fe->file, r->req.arg, r->req.cmd,
				  (int)(r->req.__reserved & 0xff), flags, &at,
				  &trap);
	int rc;

	request_end(r);
	r->reply_extra = at;
	r->reply_trap = trap;
	rc = request_reply(fe->ep.fd, r, fd < 0 ? fd : 0, fd) ? -ECONNRESET : 0;
	if (fd >= 0)
		close(fd);
	return rc;
}

static bool is_vfio_device(const struct file_end *fe)
{
	return !strcmp(ioasid_file_name(fe->file), "[vfio-device]");
}

int file_end_serve_one(struct file_end *fe)
{
	struct request r;
	long result;
	int rc;

	fe->slot.opened = false;
	rc = request_recv(fe->ep.fd, &r, &fe->ep.mm, "file");
	if (rc)
		return rc > 0 ? 0 : rc;
	request_serve_begin(&r);
	switch (r.req.kind) {
	case IOASID_WIRE_READ:
		result = r.sender_gone ? -ESRCH :
					 ioasid_file_read(fe->file, &r.caller,
							  r.req.arg, r.req.cmd);
		break;
	case IOASID_WIRE_WRITE:
		result = r.sender_gone ? -ESRCH :
					 ioasid_file_write(fe->file, &r.caller,
							   r.req.arg, r.req.cmd);
		break;
	case IOASID_WIRE_PREAD:
		result = r.sender_gone ? -ESRCH :
					 ioasid_file_pread(fe->file, &r.caller,
							   r.req.arg, r.req.cmd,
							   r.req.offset);
		break;
	case IOASID_WIRE_PWRITE:
		result = r.sender_gone ? -ESRCH :
					 ioasid_file_pwrite(fe->file, &r.caller,
							    r.req.arg, r.req.cmd,
							    r.req.offset);
		break;
	case IOASID_WIRE_IOCTL:
		result = r.sender_gone ? -ESRCH :
			 r.req.__reserved ? -EINVAL :
					  file_ioctl(fe, &r);
		break;
	case IOASID_WIRE_MMAP:
		if (r.sender_gone) {
			result = -ESRCH;
			break;
		}
		request_serve_end(&r);
		return serve_mmap(fe, &r);
	case IOASID_WIRE_MUNMAP:
		/* A file's mapping holds nothing of ours to let go. */
		result = 0;
		break;
	case IOASID_WIRE_KVM_LINK:
		result = r.sender_gone ? -ESRCH :
					 ioasid_vfio_kvm_link(fe->file,
							      r.req.arg != 0);
		break;
	case IOASID_WIRE_SLOT:
		result = r.sender_gone	     ? -ESRCH :
			 !is_vfio_device(fe) ? -EOPNOTSUPP :
					       slot_take(&fe->slot, &r);
		break;
	default:
		result = -ENOTTY;
		break;
	}
	request_serve_end(&r);
	if (r.w.reply_overflow && result >= 0)
		result = -ENOMEM;
	request_end(&r); /* before the reply, as session.c */
	slot_open_for(&fe->slot, &r);
	if (r.w.new_file)
		rc = file_end_reply_with_file(fe->ep.fd, &r, result,
					      r.caller.uid);
	else
		rc = request_reply(fe->ep.fd, &r, result, -1) ? -ECONNRESET : 0;
	if (!rc && r.w.cb_broken)
		rc = -EPROTO; /* it did not answer for its memory */
	if (rc)
		slot_unopen(&fe->slot);
	/* The client drained its doorbells before asking. */
	atomic_store(&fe->rung, false);
	if (!rc)
		ring(fe);
	return rc;
}

/*
 * A request through a VFIO device file's slot: a region access, or an
 * ioctl that moves no file (interrupts' event fds are files too).
 */
static long slot_serve(void *arg, struct request *r)
{
	struct file_end *fe = arg;
	const struct ioasid_ioctl_desc *d;
	long result;

	switch (r->req.kind) {
	case IOASID_WIRE_PREAD:
	case IOASID_WIRE_PWRITE:
		break;
	case IOASID_WIRE_IOCTL:
		d = ioasid_ioctl_desc_find_on(IOASID_ON_VFIO_DEVICE, r->req.cmd);
		if (r->req.__reserved || r->req.cmd == VFIO_DEVICE_SET_IRQS ||
		    (d && ioasid_ioctl_desc_moves_files(d)))
			return SLOT_RESEND;
		break;
	default:
		return SLOT_RESEND;
	}
	request_serve_begin(r);
	if (r->req.kind == IOASID_WIRE_IOCTL)
		result = file_ioctl(fe, r);
	else if (r->req.kind == IOASID_WIRE_PREAD)
		result = ioasid_file_pread(fe->file, &r->caller, r->req.arg,
					   r->req.cmd, r->req.offset);
	else
		result = ioasid_file_pwrite(fe->file, &r->caller, r->req.arg,
					    r->req.cmd, r->req.offset);
	request_serve_end(r);
	return result;
}

int file_end_linger(struct file_end *fe, _Atomic bool *stop)
{
	return slot_linger(&fe->slot, fe->ep.fd, stop, slot_serve, fe);
}

void file_end_slot_stop(struct file_end *fe)
{
	slot_wake(&fe->slot);
}
