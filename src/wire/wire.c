/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "wire.h"

int ioasid_wire_next_seg(struct ioasid_wire_cursor *c,
			 struct ioasid_wire_seg *seg, const void **data)
{
	size_t have;

	if (!c->left)
		return c->p == c->end ? 1 : -EPROTO;
	have = (size_t)(c->end - c->p);
	if (have < sizeof(*seg))
		return -EPROTO;
	memcpy(seg, c->p, sizeof(*seg));
	c->p += sizeof(*seg);
	have -= sizeof(*seg);
	*data = NULL;
	if (seg->flags & IOASID_SEG_DATA) {
		if (seg->len > have)
			return -EPROTO;
		*data = c->p;
		c->p += seg->len;
	}
	/* A segment may not wrap the address space. */
	if (seg->uptr + seg->len < seg->uptr)
		return -EPROTO;
	c->left--;
	return 0;
}

void ioasid_wire_attach_fd(struct msghdr *msg,
			   union ioasid_wire_fd_control *control, int fd)
{
	struct cmsghdr *cm;

	msg->msg_control = control->buf;
	msg->msg_controllen = sizeof(control->buf);
	cm = CMSG_FIRSTHDR(msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
}
