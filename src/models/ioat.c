/* SPDX-License-Identifier: MIT */
/*
 * Intel I/OAT (Crystal Beach DMA, version 3.3, as on Skylake-SP): one
 * channel that copies memory by descriptor, the engine the kernel's
 * ioatdma driver and the VFIO selftests' ioat driver program.
 *
 * BAR0 (16 KiB): device registers at 0, channel 0's at 0x80, the MSI-X
 * table at 0x2000 and its PBA at 0x3000 (one vector, the channel's).
 * Software appends 64-byte descriptors by their `next` links from the
 * chain address and says how many exist by writing the 16-bit DMACOUNT;
 * the channel copies until it has done that many, reports the last one
 * done in CHANSTS (and at the completion address, where a descriptor
 * asks), and interrupts where a descriptor asks and the channel is armed.
 * A bad address halts the channel with the error in CHANERR and in the
 * CHANERR_INT configuration register.
 *
 * Registers live in BAR memory a client may map; the channel reacts to
 * what it finds there when the engine polls it (pci/engine.c), or at once
 * for writes made by region access.  Through a mapping, a write is seen
 * only as a changed value, so the channel marks what it has taken: once a
 * chain has started, CHAINADDR reads back with bit 0 set (descriptors are
 * 64-byte aligned, so software never writes it), and a new write of the
 * same address is a new chain.  Write-one-to-clear cannot be seen either:
 * CHANERR is cleared by a channel reset.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "pci/pci.h"

/* Facts of the hardware interface. */
enum {
	IOAT_VENDOR = 0x8086,
	IOAT_DEVICE_SKX = 0x2021,
	IOAT_CLASS = 0x088000, /* system peripheral, other */
	IOAT_BAR_SIZE = 16 << 10,
	IOAT_MSIX_TABLE = 0x2000,
	IOAT_MSIX_PBA = 0x3000,

	/* Device registers */
	CHANCNT = 0x00, XFERCAP = 0x01, INTRCTRL = 0x03, ATTNSTATUS = 0x04,
	VER = 0x08, DMA_CAP = 0x10,
	VER_3_3 = 0x33,
	XFERCAP_1MB = 20,

	/* Channel 0's registers, from its base */
	CHAN = 0x80,
	CHANCTRL = 0x00, DMACOUNT = 0x06, CHANSTS = 0x08, CHANCMD = 0x04,
	CHAINADDR = 0x10, CHANCMP = 0x18, CDAR = 0x20, CHANERR = 0x28,
	CHANERR_MASK = 0x2c,

	CHANCTRL_INT_REARM = 0x0001,
	CHANCTRL_ERR_INT_EN = 0x0010,

	CHANCMD_SUSPEND = 0x04, CHANCMD_ABORT = 0x08, CHANCMD_RESET = 0x20,

	STS_ACTIVE = 0, STS_DONE = 1, STS_SUSPENDED = 2, STS_HALTED = 3,

	ERR_SRC = 0x0001, ERR_DEST = 0x0002, ERR_NEXT = 0x0004,
	ERR_NEXT_ALIGN = 0x0008, ERR_CONTROL = 0x0400, ERR_LENGTH = 0x0800,
	ERR_COMPLETION = 0x1000,

	/* Configuration registers */
	CFG_DMAUNCERRSTS = 0x148,
	CFG_CHANERR_INT = 0x180,
	CFG_CHANERRMASK_INT = 0x184,

	/* Descriptors */
	DESC_SIZE = 64,
	CTL_INT_EN = 1u << 0,
	CTL_COMPL_WRITE = 1u << 3,
	CTL_NULL = 1u << 5,
	CTL_OP_SHIFT = 24,
	OP_COPY = 0x00,
};

struct ioat_desc {
	uint32_t size;
	uint32_t ctl;
	uint64_t src, dst, next;
	uint64_t rsv[2], user[2];
};
_Static_assert(sizeof(struct ioat_desc) == DESC_SIZE, "descriptor layout");

/*
 * The channel's own state, beyond its registers.  Lock order: the
 * function's lock is never held with this one.
 */
struct ioat {
	pthread_mutex_t lock;
	uint64_t next;      /* the descriptor to fetch */
	uint16_t done;      /* descriptors done since the chain started */
	uint32_t err;
	unsigned int status;
};

static uint64_t reg(struct pci_fn *fn, unsigned int off, unsigned int bytes)
{
	return pci_bar_load(fn, 0, CHAN + off, bytes);
}

static void set_reg(struct pci_fn *fn, unsigned int off, unsigned int bytes,
		    uint64_t v)
{
	pci_bar_store(fn, 0, CHAN + off, bytes, v);
}

/* CHANSTS: the last descriptor done, and the state. */
static void publish_status(struct pci_fn *fn, struct ioat *c,
			   uint64_t last_desc)
{
	set_reg(fn, CHANSTS, 8, (last_desc & ~0x3fULL) | c->status);
}

static void channel_reset(struct pci_fn *fn, struct ioat *c)
{
	c->next = 0;
	c->done = 0;
	c->err = 0;
	c->status = STS_HALTED;
	set_reg(fn, CHANCTRL, 2, 0);
	set_reg(fn, DMACOUNT, 2, 0);
	set_reg(fn, CHAINADDR, 8, 0);
	set_reg(fn, CHANCMP, 8, 0);
	set_reg(fn, CDAR, 8, 0);
	set_reg(fn, CHANERR, 4, 0);
	publish_status(fn, c, 0);
}

/* Arm-dependent: an interrupt is sent only while software re-armed it. */
static void channel_interrupt(struct pci_fn *fn)
{
	uint16_t ctrl = (uint16_t)reg(fn, CHANCTRL, 2);

	if (!(ctrl & CHANCTRL_INT_REARM))
		return;
	set_reg(fn, CHANCTRL, 2, ctrl & ~CHANCTRL_INT_REARM);
	pci_bar_store(fn, 0, ATTNSTATUS, 4, 1);
	pci_fn_interrupt(fn, 0);
}

/* Halt on error err, as the hardware does: recorded, then reported. */
static void channel_error(struct pci_fn *fn, struct ioat *c, uint32_t err,
			  uint64_t desc)
{
	uint32_t cfg_err;

	c->err |= err;
	c->status = STS_HALTED;
	set_reg(fn, CHANERR, 4, c->err);
	pci_cfg_read(fn, CFG_CHANERR_INT, &cfg_err, 4);
	cfg_err |= err;
	pci_fn_cfg_set(fn, CFG_CHANERR_INT, cfg_err);
	publish_status(fn, c, desc);
	if (reg(fn, CHANCTRL, 2) & CHANCTRL_ERR_INT_EN)
		channel_interrupt(fn);
}

/* Copy len bytes from src to dst through the IOMMU, a page at a time. */
static uint32_t copy(struct pci_fn *fn, uint64_t src, uint64_t dst,
		     uint64_t len)
{
	unsigned char buf[4096];

	while (len) {
		size_t n = (size_t)MIN(len, sizeof(buf));

		if (pci_fn_dma(fn, 0, src, buf, n, false))
			return ERR_SRC;
		if (pci_fn_dma(fn, 0, dst, buf, n, true))
			return ERR_DEST;
		src += n;
		dst += n;
		len -= n;
	}
	return 0;
}

/*
 * One descriptor at c->next: 0, or the error that halts the channel;
 * *irq is set when it asks for an interrupt.
 */
static uint32_t run_one(struct pci_fn *fn, struct ioat *c, uint64_t *at,
			bool *irq)
{
	uint64_t xfercap = 1ULL << pci_bar_load(fn, 0, XFERCAP, 1);
	struct ioat_desc d;
	uint32_t err;

	*at = c->next;
	if (c->next & (DESC_SIZE - 1))
		return ERR_NEXT_ALIGN;
	if (pci_fn_dma(fn, 0, c->next, &d, sizeof(d), false))
		return ERR_NEXT;
	set_reg(fn, CDAR, 8, c->next);
	if (!(d.ctl & CTL_NULL)) {
		if ((d.ctl >> CTL_OP_SHIFT) != OP_COPY)
			return ERR_CONTROL;
		if (d.size > xfercap)
			return ERR_LENGTH;
		err = copy(fn, d.src, d.dst, d.size);
		if (err)
			return err;
	}
	c->next = d.next;
	c->done++;
	if (d.ctl & CTL_COMPL_WRITE) {
		uint64_t sts = (*at & ~0x3fULL) | STS_DONE;
		uint64_t where = reg(fn, CHANCMP, 8);

		if (pci_fn_dma(fn, 0, where, &sts, sizeof(sts), true))
			return ERR_COMPLETION;
	}
	*irq |= d.ctl & CTL_INT_EN;
	return 0;
}

/*
 * What the registers ask: a command, a new chain, descriptors to do.
 * Returns whether anything was done.
 */
static bool channel_poll(struct pci_fn *fn)
{
	struct ioat *c = pci_fn_priv(fn);
	uint8_t cmd = (uint8_t)reg(fn, CHANCMD, 1);
	uint64_t chain = reg(fn, CHAINADDR, 8), last = 0;
	uint16_t count = (uint16_t)reg(fn, DMACOUNT, 2);
	bool worked = false, owe_irq = false;
	uint32_t err = 0;

	pthread_mutex_lock(&c->lock);
	if (cmd & CHANCMD_RESET) {
		channel_reset(fn, c);
		set_reg(fn, CHANCMD, 1, 0);
		pthread_mutex_unlock(&c->lock);
		return true;
	}
	if (cmd & (CHANCMD_SUSPEND | CHANCMD_ABORT)) {
		c->status = cmd & CHANCMD_ABORT ? STS_HALTED : STS_SUSPENDED;
		publish_status(fn, c, reg(fn, CDAR, 8));
		set_reg(fn, CHANCMD, 1, 0);
		worked = true;
	}
	/* A chain address not yet taken starts the count afresh. */
	if (chain && !(chain & 1)) {
		c->next = chain;
		c->done = 0;
		set_reg(fn, CHAINADDR, 8, chain | 1);
		worked = true;
	}
	if (c->err || count == c->done || !c->next) {
		pthread_mutex_unlock(&c->lock);
		return worked;
	}
	c->status = STS_ACTIVE;
	publish_status(fn, c, reg(fn, CDAR, 8));
	while (c->done != count) {
		err = run_one(fn, c, &last, &owe_irq);
		if (err)
			break;
		/* DMACOUNT may have grown meanwhile. */
		count = (uint16_t)reg(fn, DMACOUNT, 2);
	}
	if (err) {
		channel_error(fn, c, err, last);
	} else {
		c->status = STS_DONE;
		publish_status(fn, c, last);
		if (owe_irq)
			channel_interrupt(fn);
	}
	pthread_mutex_unlock(&c->lock);
	return true;
}

static void ioat_bar_write(struct pci_fn *fn, unsigned int bar, uint64_t off,
			   size_t len)
{
	(void)len;
	if (bar == 0 && off >= CHAN && off < CHAN + 0x80)
		channel_poll(fn);
}

static void device_registers(struct pci_fn *fn)
{
	pci_bar_store(fn, 0, CHANCNT, 1, 1);
	pci_bar_store(fn, 0, XFERCAP, 1, XFERCAP_1MB);
	pci_bar_store(fn, 0, INTRCTRL, 1, 0);
	pci_bar_store(fn, 0, ATTNSTATUS, 4, 0);
	pci_bar_store(fn, 0, VER, 1, VER_3_3);
	pci_bar_store(fn, 0, DMA_CAP, 4, 0);
}

static void ioat_reset(struct pci_fn *fn)
{
	struct ioat *c = pci_fn_priv(fn);

	pthread_mutex_lock(&c->lock);
	device_registers(fn);
	channel_reset(fn, c);
	set_reg(fn, CHANCMD, 1, 0);
	pthread_mutex_unlock(&c->lock);
}

static int ioat_init(struct pci_fn *fn, const char *options)
{
	struct ioat *c = pci_fn_priv(fn);
	int rc;

	if (options && *options)
		return -EINVAL;
	pci_fn_set_id(fn, IOAT_VENDOR, IOAT_DEVICE_SKX, IOAT_CLASS, 0,
		      IOAT_VENDOR, 0);
	rc = pci_fn_add_bar(fn, 0, IOAT_BAR_SIZE, true, false);
	/* A driver writes DMACOUNT and reads CHANSTS next: the device and
	 * channel registers take each write as it comes. */
	if (!rc)
		pci_fn_trap_bar(fn, 0, CHAN + 0x80);
	if (!rc)
		rc = pci_fn_add_pcie(fn, true);
	if (!rc)
		rc = pci_fn_add_pm(fn);
	if (!rc)
		rc = pci_fn_add_msix(fn, 1, 0, IOAT_MSIX_TABLE, IOAT_MSIX_PBA);
	if (rc)
		return rc;
	pci_fn_set_intx(fn);
	/* Error status software clears by writing ones. */
	pci_fn_cfg_w1c(fn, CFG_DMAUNCERRSTS, 0xffffffff);
	pci_fn_cfg_w1c(fn, CFG_CHANERR_INT, 0xffffffff);
	pci_fn_cfg_writable(fn, CFG_CHANERRMASK_INT, 0xffffffff);
	pthread_mutex_init(&c->lock, NULL);
	ioat_reset(fn);
	return 0;
}

static void ioat_fini(struct pci_fn *fn)
{
	struct ioat *c = pci_fn_priv(fn);

	pthread_mutex_destroy(&c->lock);
}

PCI_MODEL(ioat_model,
	.name = "ioat",
	.priv_size = sizeof(struct ioat),
	.init = ioat_init,
	.reset = ioat_reset,
	.bar_write = ioat_bar_write,
	.poll = channel_poll,
	.fini = ioat_fini)
