/* SPDX-License-Identifier: MIT */
/*
 * The program's own memory, read and written as the kernel's
 * copy_from_user does: a bad pointer is -EFAULT, never a crash, and a
 * good one costs a memcpy, not a system call.  The copy is one `rep
 * movsb` at a known address; a fault there lands in our SIGSEGV/SIGBUS
 * handler, which resumes at the copy's failure exit -- the kernel's
 * exception table, in user space.
 *
 * That needs our handler to stay the one the kernel runs.  So once it is
 * installed, sigaction(2) and signal(3) of those two signals by the
 * program are kept here instead: the program sees its own handler as
 * installed, and a fault that is not ours (nor a trapped register store,
 * mmio.c) goes to that handler, with its flags and mask.  A program that
 * installs one with the raw system call displaces ours; its ioctls then
 * fault in its handler on a bad pointer (the README says so).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ucontext.h>

#include "core/vm_access.h"
#include "preload.h"

#define EXPORT __attribute__((visibility("default")))

/* int shim_copy_raw(void *dst, const void *src, size_t len): 0, or
 * -EFAULT when either side faulted (the bytes before it are copied). */
int shim_copy_raw(void *dst, const void *src, size_t len);
extern const char shim_copy_insn[], shim_copy_fail[];
__asm__(".text\n"
	".p2align 4\n"
	".type shim_copy_raw, @function\n"
	"shim_copy_raw:\n"
	"	movq %rdx, %rcx\n"
	"shim_copy_insn:\n"
	"	rep movsb\n"
	"	xorl %eax, %eax\n"
	"	ret\n"
	"shim_copy_fail:\n"
	"	movl $-14, %eax\n"
	"	ret\n"
	".size shim_copy_raw, .-shim_copy_raw\n");
_Static_assert(EFAULT == 14, "shim_copy_fail returns -EFAULT");

/* The two signals a bad pointer raises (SIGBUS: past the end of a file). */
static const int owned_sigs[] = { SIGSEGV, SIGBUS };
#define NOWNED (sizeof(owned_sigs) / sizeof(owned_sigs[0]))

/*
 * What the program believes is installed, per owned signal.  Written
 * under `lock`; the handler reads it without (a signal handler cannot
 * take a mutex), as the kernel's delivery races a concurrent sigaction.
 */
static struct sigaction program_action[NOWNED];
static atomic_bool owned;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int owned_index(int sig)
{
	for (unsigned int i = 0; i < NOWNED; i++)
		if (owned_sigs[i] == sig)
			return (int)i;
	return -1;
}

/* The program's handler for owned signal i, as the kernel would run it. */
static void run_program_handler(unsigned int i, int sig, siginfo_t *si,
				void *uc)
{
	struct sigaction act = program_action[i];
	sigset_t old, mask = act.sa_mask;

	/* Sent by kill(2) or the like (si_code <= 0), not a fault. */
	if (act.sa_handler == SIG_IGN && si->si_code <= 0)
		return;
	if (act.sa_handler == SIG_DFL || act.sa_handler == SIG_IGN) {
		/* A fault's default is death; ignoring one is not possible.
		 * Returning re-runs the instruction, which faults again into
		 * the default action; a sent signal is sent again. */
		struct sigaction dfl = { .sa_handler = SIG_DFL };

		real.sigaction(sig, &dfl, NULL);
		if (si->si_code <= 0)
			raise(sig);
		return;
	}
	if (act.sa_flags & SA_RESETHAND) {
		program_action[i].sa_handler = SIG_DFL;
		program_action[i].sa_flags &= ~SA_SIGINFO;
	}
	if (!(act.sa_flags & SA_NODEFER))
		sigaddset(&mask, sig);
	pthread_sigmask(SIG_BLOCK, &mask, &old);
	if (act.sa_flags & SA_SIGINFO)
		act.sa_sigaction(sig, si, uc);
	else
		act.sa_handler(sig);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void on_fault(int sig, siginfo_t *si, void *uc_void)
{
	ucontext_t *uc = uc_void;
	greg_t *regs = uc->uc_mcontext.gregs;
	int i = owned_index(sig);

	/* A fault of our copy (a signal someone sent is not one). */
	if (si->si_code > 0 &&
	    regs[REG_RIP] == (greg_t)(uintptr_t)shim_copy_insn) {
		regs[REG_RIP] = (greg_t)(uintptr_t)shim_copy_fail;
		return;
	}
	if (sig == SIGSEGV && mmio_on_fault(si, uc))
		return;
	if (i >= 0)
		run_program_handler((unsigned int)i, sig, si, uc_void);
}

int shim_own_faults(void)
{
	struct sigaction ours = {
		.sa_sigaction = on_fault,
		/* SA_ONSTACK: a program that catches its stack overflowing
		 * on an alternate stack still can. */
		.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK | SA_RESTART,
	};
	int rc = 0;

	if (atomic_load_explicit(&owned, memory_order_acquire))
		return 0;
	sigemptyset(&ours.sa_mask);
	pthread_mutex_lock(&lock);
	for (unsigned int i = 0; i < NOWNED && !owned; i++) {
		if (real.sigaction(owned_sigs[i], &ours, &program_action[i])) {
			rc = -errno;
			/* All or none: the first may be installed already. */
			if (i)
				real.sigaction(owned_sigs[0], &program_action[0],
					       NULL);
			break;
		}
	}
	if (!rc)
		atomic_store_explicit(&owned, true, memory_order_release);
	pthread_mutex_unlock(&lock);
	return rc;
}

int shim_read(uint64_t uptr, void *buf, size_t len)
{
	if (!len)
		return 0;
	if (shim_own_faults())
		return vm_xfer(getpid(), uptr, buf, len, 0);
	return shim_copy_raw(buf, (const void *)(uintptr_t)uptr, len);
}

int shim_write(uint64_t uptr, const void *buf, size_t len)
{
	if (!len)
		return 0;
	if (shim_own_faults())
		return vm_xfer(getpid(), uptr, (void *)buf, len, 1);
	return shim_copy_raw((void *)(uintptr_t)uptr, buf, len);
}

static int read_for_zeroed(void *priv, uint64_t uptr, void *buf, size_t len)
{
	(void)priv;
	return shim_read(uptr, buf, len);
}

int shim_zeroed(uint64_t uptr, uint64_t len)
{
	return vm_zeroed_by(read_for_zeroed, NULL, uptr, len);
}

/* ---- the program's view of the owned signals ------------------------ */

static int do_sigaction(int sig, const struct sigaction *act,
			struct sigaction *old)
{
	int i = owned_index(sig);

	preload_resolve();
	if (i < 0 || !atomic_load_explicit(&owned, memory_order_acquire))
		return real.sigaction(sig, act, old);
	pthread_mutex_lock(&lock);
	if (old)
		*old = program_action[i];
	if (act)
		program_action[i] = *act;
	pthread_mutex_unlock(&lock);
	return 0;
}

EXPORT int sigaction(int sig, const struct sigaction *act,
		     struct sigaction *old)
{
	return do_sigaction(sig, act, old);
}

/* signal(3) is sigaction inside libc, out of our reach: so here too,
 * with the semantics glibc gives it (BSD: restart, no reset). */
static sighandler_t set_handler(int sig, sighandler_t handler, int flags)
{
	struct sigaction act = { .sa_handler = handler, .sa_flags = flags },
			 old;

	preload_resolve();
	if (owned_index(sig) < 0 ||
	    !atomic_load_explicit(&owned, memory_order_acquire))
		return flags & SA_RESETHAND ? real.sysv_signal(sig, handler) :
					      real.signal(sig, handler);
	sigemptyset(&act.sa_mask);
	if (!(flags & SA_NODEFER))
		sigaddset(&act.sa_mask, sig);
	if (do_sigaction(sig, &act, &old))
		return SIG_ERR;
	return old.sa_handler;
}

EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
	return set_handler(sig, handler, SA_RESTART);
}

EXPORT sighandler_t bsd_signal(int sig, sighandler_t handler)
{
	return set_handler(sig, handler, SA_RESTART);
}

EXPORT sighandler_t sysv_signal(int sig, sighandler_t handler)
{
	return set_handler(sig, handler, SA_RESETHAND | SA_NODEFER);
}
