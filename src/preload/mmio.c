/* SPDX-License-Identifier: MIT */
/*
 * Registers that must see each write as it happens.  A device model keeps
 * its registers in BAR memory the program maps; most it can look at when
 * it polls, but a doorbell written and then answered at once (a driver
 * that writes DMACOUNT and reads CHANSTS next) cannot wait for a poll.
 * The daemon says which part of a mapping is such registers; the shim
 * maps that part read-only, and a store there faults.  The handler
 * decodes the store (x86-64 MOV to memory: 88, 89, C6, C7 with their
 * prefixes, which is what a driver's writeb..writeq compile to; and
 * MOVDIR64B, how a descriptor goes to a DSA portal), sends
 * it to the device as a region write -- which the model handles before
 * it answers -- and resumes after the instruction.  Reads are the page's
 * own.  A fault anywhere else, or a store it cannot decode, goes to the
 * handler the program had (uaccess.c owns the signal).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/ucontext.h>

#include "preload.h"

#define MAX_TRAPS 64

static struct trap {
	uintptr_t start, end; /* the read-only part of a mapping */
	uint64_t off;         /* its offset in the device file */
	int fd;               /* our copy of the device file, -1: free */
} traps[MAX_TRAPS] = { [0 ... MAX_TRAPS - 1] = { .fd = -1 } };
static pthread_mutex_t traps_lock = PTHREAD_MUTEX_INITIALIZER;

/* The general register a ModRM reg field (with REX.R) names. */
static const int greg_of[16] = {
	REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
	REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
};

/*
 * Decode the store at ip: its width, the value stored and the length of
 * the instruction.  false for anything else.
 */
static bool decode_store(const uint8_t *ip, const greg_t *regs,
			 unsigned int *width, uint64_t *value, unsigned int *len)
{
	const uint8_t *p = ip;
	bool opsize = false, rex_w = false, rex_r = false, rex_any = false;
	unsigned int mod, rm, reg, imm_len;
	uint8_t op, modrm;

	for (;; p++) {
		if (*p == 0x66)
			opsize = true;
		else if (*p == 0x2e || *p == 0x3e || *p == 0x26 || *p == 0x36)
			; /* segment overrides change nothing here */
		else
			break;
		if (p - ip > 4)
			return false;
	}
	if ((*p & 0xf0) == 0x40) {
		rex_any = true;
		rex_w = *p & 8;
		rex_r = *p & 4;
		p++;
	}
	op = *p++;
	modrm = *p++;
	mod = modrm >> 6;
	reg = (modrm >> 3) & 7;
	rm = modrm & 7;
	if (mod == 3)
		return false; /* a register, not memory */
	if (rm == 4)
		p++; /* SIB; a base of 5 with mod 0 takes a disp32 */
	if (rm == 4 && mod == 0 && (p[-1] & 7) == 5)
		p += 4;
	else if (mod == 0 && rm == 5)
		p += 4; /* RIP-relative */
	else if (mod == 1)
		p += 1;
	else if (mod == 2)
		p += 4;
	switch (op) {
	case 0x88:
		*width = 1;
		/* Without REX, 4..7 name AH..BH. */
		if (!rex_any && reg >= 4)
			*value = (uint64_t)regs[greg_of[reg - 4]] >> 8;
		else
			*value = (uint64_t)regs[greg_of[reg | (rex_r ? 8 : 0)]];
		imm_len = 0;
		break;
	case 0x89:
		*width = rex_w ? 8 : opsize ? 2 : 4;
		*value = (uint64_t)regs[greg_of[reg | (rex_r ? 8 : 0)]];
		imm_len = 0;
		break;
	case 0xc6:
		if (reg)
			return false;
		*width = 1;
		*value = p[0];
		imm_len = 1;
		break;
	case 0xc7:
		if (reg)
			return false;
		*width = rex_w ? 8 : opsize ? 2 : 4;
		imm_len = opsize ? 2 : 4;
		if (opsize) {
			uint16_t v;

			memcpy(&v, p, 2);
			*value = v;
		} else {
			int32_t v;

			memcpy(&v, p, 4);
			/* A REX.W store sign-extends its 32-bit immediate. */
			*value = rex_w ? (uint64_t)(int64_t)v : (uint32_t)v;
		}
		break;
	default:
		return false;
	}
	*len = (unsigned int)(p - ip) + imm_len;
	return true;
}

/*
 * MOVDIR64B (66 0F 38 F8 /r, a memory operand): 64 bytes from the memory
 * operand to the address in the register operand, one write, as a DSA
 * portal takes a descriptor.  The source's address and the instruction's
 * length; false for anything else.
 */
static bool decode_movdir64b(const uint8_t *ip, const greg_t *regs,
			     uintptr_t *src, unsigned int *len)
{
	const uint8_t *p = ip;
	bool rex_x = false, rex_b = false;
	unsigned int mod, rm, base, index, scale;
	uint64_t ea = 0;
	uint8_t modrm;

	if (*p++ != 0x66)
		return false;
	if ((*p & 0xf0) == 0x40) {
		rex_x = *p & 2;
		rex_b = *p & 1;
		p++;
	}
	if (p[0] != 0x0f || p[1] != 0x38 || p[2] != 0xf8)
		return false;
	p += 3;
	modrm = *p++;
	mod = modrm >> 6;
	rm = modrm & 7;
	if (mod == 3)
		return false;
	if (rm == 4) {
		uint8_t sib = *p++;

		scale = sib >> 6;
		index = ((sib >> 3) & 7) | (rex_x ? 8 : 0);
		base = (sib & 7) | (rex_b ? 8 : 0);
		if (index != 4)
			ea += (uint64_t)regs[greg_of[index]] << scale;
		if ((base & 7) == 5 && mod == 0) {
			int32_t d;

			memcpy(&d, p, 4);
			p += 4;
			ea += (uint64_t)(int64_t)d;
		} else {
			ea += (uint64_t)regs[greg_of[base]];
		}
	} else if (rm == 5 && mod == 0) {
		int32_t d;

		memcpy(&d, p, 4);
		p += 4;
		/* RIP-relative: from the end of the instruction. */
		ea = (uint64_t)(uintptr_t)p + (uint64_t)(int64_t)d;
	} else {
		ea = (uint64_t)regs[greg_of[rm | (rex_b ? 8 : 0)]];
	}
	if (mod == 1) {
		ea += (uint64_t)(int64_t)(int8_t)*p;
		p += 1;
	} else if (mod == 2) {
		int32_t d;

		memcpy(&d, p, 4);
		p += 4;
		ea += (uint64_t)(int64_t)d;
	}
	*src = (uintptr_t)ea;
	*len = (unsigned int)(p - ip);
	return true;
}

bool mmio_on_fault(siginfo_t *si, void *uc_void)
{
	ucontext_t *uc = uc_void;
	uintptr_t addr = (uintptr_t)si->si_addr;
	greg_t *regs = uc->uc_mcontext.gregs;
	unsigned int width, len;
	uint64_t value, off = 0;
	uintptr_t src;
	int fd = -1;

	for (int i = 0; i < MAX_TRAPS; i++) {
		if (traps[i].fd >= 0 && addr >= traps[i].start &&
		    addr < traps[i].end) {
			fd = traps[i].fd;
			off = traps[i].off + (addr - traps[i].start);
			break;
		}
	}
	if (fd >= 0 &&
	    decode_store((const uint8_t *)regs[REG_RIP], regs, &width, &value,
			 &len) &&
	    client_file_pio(fd, &value, width, (int64_t)off, true) ==
		    (long)width) {
		regs[REG_RIP] += len;
		return true;
	}
	if (fd >= 0 &&
	    decode_movdir64b((const uint8_t *)regs[REG_RIP], regs, &src,
			     &len)) {
		uint8_t desc[64];

		/* The destination is 64-byte aligned, or the CPU faulted
		 * with #GP before any of this. */
		memcpy(desc, (const void *)src, sizeof(desc));
		if (client_file_pio(fd, desc, sizeof(desc), (int64_t)off,
				    true) == (long)sizeof(desc)) {
			regs[REG_RIP] += len;
			return true;
		}
	}
	return false;
}

int mmio_trap_add(uintptr_t start, size_t len, int devfd, uint64_t off)
{
	int rc = -ENOMEM;

	rc = shim_own_faults();
	if (rc)
		return rc;
	rc = -ENOMEM;
	pthread_mutex_lock(&traps_lock);
	for (int i = 0; i < MAX_TRAPS; i++) {
		if (traps[i].fd < 0) {
			traps[i] = (struct trap){ start, start + len, off, devfd };
			rc = 0;
			break;
		}
	}
	pthread_mutex_unlock(&traps_lock);
	return rc;
}

/* The traps in [start, start + len): gone with the mapping.  Their
 * descriptors are the caller's to close. */
int mmio_trap_remove(uintptr_t start, size_t len)
{
	uintptr_t end = start + len;
	int fd = -1;

	pthread_mutex_lock(&traps_lock);
	for (int i = 0; i < MAX_TRAPS; i++) {
		if (traps[i].fd >= 0 && traps[i].start >= start &&
		    traps[i].end <= end) {
			fd = traps[i].fd;
			traps[i].fd = -1;
			break;
		}
	}
	pthread_mutex_unlock(&traps_lock);
	return fd;
}
