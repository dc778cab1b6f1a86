/* SPDX-License-Identifier: MIT */
/*
 * KVM's VFIO pseudo-device (KVM_DEV_TYPE_VFIO) links a VM to the VFIO
 * files of its devices, so that KVM knows whether their DMA is coherent.
 * The kernel's accepts only its own VFIO files; ours are sockets.  So the
 * attributes that add or remove one of ours (KVM_DEV_VFIO_FILE_ADD/_DEL)
 * are answered here, the daemon told of the link, and everything else
 * goes to KVM.  Our devices' DMA is the CPU's own copies: coherent, so
 * KVM has nothing to emulate for them.
 */
#include <errno.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "preload.h"

#define MAX_KVM_VFIO 16

/* The pseudo-devices KVM made for this process, by descriptor. */
static int kvm_vfio_fds[MAX_KVM_VFIO] = { [0 ... MAX_KVM_VFIO - 1] = -1 };
static pthread_mutex_t kvm_lock = PTHREAD_MUTEX_INITIALIZER;

static bool is_kvm_vfio(int fd)
{
	bool found = false;

	pthread_mutex_lock(&kvm_lock);
	for (int i = 0; i < MAX_KVM_VFIO && !found; i++)
		found = kvm_vfio_fds[i] == fd;
	pthread_mutex_unlock(&kvm_lock);
	return found;
}

void kvm_forget(int fd)
{
	pthread_mutex_lock(&kvm_lock);
	for (int i = 0; i < MAX_KVM_VFIO; i++)
		if (kvm_vfio_fds[i] == fd)
			kvm_vfio_fds[i] = -1;
	pthread_mutex_unlock(&kvm_lock);
}

static void remember(int fd)
{
	pthread_mutex_lock(&kvm_lock);
	for (int i = 0; i < MAX_KVM_VFIO; i++) {
		if (kvm_vfio_fds[i] < 0) {
			kvm_vfio_fds[i] = fd;
			break;
		}
	}
	pthread_mutex_unlock(&kvm_lock);
}

int kvm_ioctl(int fd, unsigned long request, unsigned long arg, long *result)
{
	struct kvm_create_device cd;
	struct kvm_device_attr attr;
	int32_t file;

	if (request == KVM_CREATE_DEVICE) {
		*result = real.ioctl(fd, request, arg);
		if (*result == 0 &&
		    !shim_read(arg, &cd, sizeof(cd)) &&
		    cd.type == KVM_DEV_TYPE_VFIO &&
		    !(cd.flags & KVM_CREATE_DEVICE_TEST))
			remember((int)cd.fd);
		return 1;
	}
	if (request != KVM_SET_DEVICE_ATTR || !is_kvm_vfio(fd) ||
	    shim_read(arg, &attr, sizeof(attr)) ||
	    attr.group != KVM_DEV_VFIO_GROUP ||
	    (attr.attr != KVM_DEV_VFIO_GROUP_ADD &&
	     attr.attr != KVM_DEV_VFIO_GROUP_DEL) ||
	    shim_read(attr.addr, &file, sizeof(file)) ||
	    (client_fd_kind(file, NULL) != CLIENT_VFIO_DEVICE &&
	     client_fd_kind(file, NULL) != CLIENT_VFIO_GROUP))
		return 0;
	*result = client_kvm_link(file, attr.attr == KVM_DEV_VFIO_GROUP_ADD);
	if (*result < 0) {
		errno = (int)-*result;
		*result = -1;
	}
	return 1;
}
