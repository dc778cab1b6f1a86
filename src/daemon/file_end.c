/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "file_end.h"
#include "ioasid/ioasid.h"

int file_end_open(int epfd, int ours, int theirs, struct ioasid_file *file)
{
	struct file_end *fe = calloc(1, sizeof(*fe));
	struct epoll_event ev = { .events = EPOLLRDHUP };
	int rc;

	if (!fe)
		return -ENOMEM;
	fe->ep.kind = ENDPOINT_FILE;
	fe->ep.fd = ours;
	fe->file = file;
	rc = ioasid_file_register(file, theirs);
	if (rc)
		goto out_free;
	ev.data.ptr = fe;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, ours, &ev)) {
		rc = -errno;
		goto out_unregister;
	}
	return 0;

out_unregister:
	ioasid_file_unregister(file);
out_free:
	free(fe);
	return rc;
}

void file_end_close(int epfd, struct file_end *fe)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, fe->ep.fd, NULL);
	ioasid_file_unregister(fe->file);
	close(fe->ep.fd);
	ioasid_file_put(fe->file);
	free(fe);
}
