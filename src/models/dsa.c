/* SPDX-License-Identifier: MIT */
/*
 * Intel Data Streaming Accelerator (DSA, as on Sapphire Rapids): one
 * dedicated work queue, one group, one engine; memory move and batch
 * descriptors, the operations the kernel's idxd driver and the VFIO
 * selftests' dsa driver put to it.
 *
 * BAR0 (64 KiB): the registers in the first page (capabilities, the
 * command register and its status, the software error log), the group
 * and work-queue configuration tables the table offsets point at, and the
 * MSI-X table (vector 0 for the device's own events, 1..8 for
 * completions).  BAR2: the work queue's portal pages.  Software
 * configures the tables, enables the device and the queue by command, and
 * submits 64-byte descriptors to a portal with MOVDIR64B; the device does
 * each as it arrives (a portal write is seen at once, as a command is),
 * writes its completion record where the descriptor asks, and interrupts
 * on the vector it names.  A queue configured with a PASID does its DMA
 * tagged with it, through what is attached at that PASID.
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
	DSA_VENDOR = 0x8086,
	DSA_DEVICE_SPR = 0x0b25,
	DSA_CLASS = 0x088000, /* system peripheral, other */
	DSA_BAR0_SIZE = 64 << 10,
	DSA_BAR2_SIZE = 16 << 10, /* four portal pages of the one queue */
	DSA_MSIX_VECTORS = 9,
	DSA_MSIX_TABLE = 0x8000,
	DSA_MSIX_PBA = 0x9000,
	DSA_VERSION = 0x100,

	/* Registers */
	VER = 0x00, GENCAP = 0x10, WQCAP = 0x20, GRPCAP = 0x30, ENGCAP = 0x38,
	OPCAP = 0x40, TABLE_OFFSET = 0x60, GENCFG = 0x80, GENCTRL = 0x88,
	GENSTS = 0x90, INTCAUSE = 0x98, CMD = 0xa0, CMDSTS = 0xa8,
	CMDCAP = 0xb0, SWERR = 0xc0,
	TABLE_MULT = 0x100,
	GRPCFG_AT = 0x2000, WQCFG_AT = 0x3000, MSIX_PERM_AT = 0x4000,
	WQCFG_BYTES = 64,

	/* GENCAP: transfers up to 1 MiB, batches up to 32 descriptors. */
	MAX_XFER_SHIFT = 20, MAX_BATCH_SHIFT = 5,
	/* WQCAP: 32 entries, one queue, 64-byte WQCFG, dedicated mode. */
	WQ_SIZE = 32, NUM_WQS = 1, WQCFG_SIZE_LOG = 1,

	/* Commands and their errors */
	CMD_ENABLE_DEVICE = 1, CMD_DISABLE_DEVICE = 2, CMD_DRAIN_ALL = 3,
	CMD_ABORT_ALL = 4, CMD_RESET_DEVICE = 5, CMD_ENABLE_WQ = 6,
	CMD_DISABLE_WQ = 7, CMD_DRAIN_WQ = 8, CMD_ABORT_WQ = 9,
	CMD_RESET_WQ = 10,
	CMDSTS_ACTIVE = 1u << 31,
	ERR_INVAL_CMD = 0x01, ERR_INVAL_WQIDX = 0x02,
	ERR_DEV_ENABLED = 0x10, ERR_BUSMASTER_EN = 0x12,
	ERR_DEV_NOTEN = 0x20, ERR_WQ_ENABLED = 0x21, ERR_WQ_SIZE = 0x22,
	ERR_PASID_EN = 0x26,
	ERR_DIS_DEV_EN = 0x31, ERR_DEV_NOT_EN = 0x32,
	STATE_DISABLED = 0, STATE_ENABLED = 1,
	INTC_CMD = 0x02,

	/* Descriptors and completion records */
	DESC_SIZE = 64, COMP_SIZE = 32,
	OP_NOOP = 0, OP_BATCH = 1, OP_DRAIN = 2, OP_MEMMOVE = 3,
	FLAG_CRAV = 0x04, FLAG_RCR = 0x08, FLAG_RCI = 0x10,
	COMP_SUCCESS = 1, COMP_PAGE_FAULT_NOBOF = 3, COMP_BATCH_FAIL = 5,
	COMP_BATCH_PAGE_FAULT = 6,
	COMP_BAD_OPCODE = 0x10, COMP_XFER_ERANGE = 0x13,
	COMP_DESC_CNT_ERANGE = 0x14, COMP_INT_HANDLE_INVAL = 0x19,
};

struct dsa_desc {
	uint32_t pasid_priv; /* pasid:20, rsvd:11, priv:1 */
	uint32_t flags_op;   /* flags:24, opcode:8 */
	uint64_t completion;
	uint64_t src;  /* or the batch's descriptor list */
	uint64_t dst;
	uint32_t size; /* or the batch's descriptor count */
	uint16_t int_handle;
	uint16_t rsvd;
	uint64_t op_specific[3];
};
_Static_assert(sizeof(struct dsa_desc) == DESC_SIZE, "descriptor layout");

struct dsa_comp {
	uint8_t status, result, fault_info, rsvd;
	uint32_t done; /* bytes, or a batch's descriptors */
	uint64_t fault_addr;
	uint64_t rest[2];
};
_Static_assert(sizeof(struct dsa_comp) == COMP_SIZE, "completion layout");

/*
 * The device's state beyond its registers.  Lock order: the function's
 * lock is never held with this one.  lock serialises commands and
 * descriptors, so a queue sees them in the order they came.
 */
struct dsa {
	pthread_mutex_t lock;
	bool enabled, wq_enabled;
	/* The queue's PASID, taken from its configuration when it was
	 * enabled (as the hardware latches it); 0: none, DMA by the RID. */
	uint32_t wq_pasid;
};

static uint64_t reg(struct pci_fn *fn, unsigned int off, unsigned int bytes)
{
	return pci_bar_load(fn, 0, off, bytes);
}

static void set_reg(struct pci_fn *fn, unsigned int off, unsigned int bytes,
		    uint64_t v)
{
	pci_bar_store(fn, 0, off, bytes, v);
}

/* The capabilities and a clean slate: what reset leaves. */
static void device_registers(struct pci_fn *fn)
{
	memset(fn->bars[0].mem, 0, 0x1000);
	memset(fn->bars[0].mem + GRPCFG_AT, 0, 0x3000);
	set_reg(fn, VER, 4, DSA_VERSION);
	/* cmd_cap stays 0: interrupt handles need no request. */
	set_reg(fn, GENCAP, 8, (uint64_t)MAX_XFER_SHIFT << 16 |
				       (uint64_t)MAX_BATCH_SHIFT << 21 |
				       1ULL << 31 /* config_en */);
	set_reg(fn, WQCAP, 8, WQ_SIZE | (uint64_t)NUM_WQS << 16 |
				      (uint64_t)WQCFG_SIZE_LOG << 24 |
				      1ULL << 49 /* dedicated mode */ |
				      1ULL << 51 /* priority */ |
				      1ULL << 54 /* op_config */);
	set_reg(fn, GRPCAP, 8, 1 /* one group */);
	set_reg(fn, ENGCAP, 8, 1 /* one engine */);
	set_reg(fn, OPCAP, 8, 1u << OP_NOOP | 1u << OP_BATCH |
				      1u << OP_DRAIN | 1u << OP_MEMMOVE);
	set_reg(fn, TABLE_OFFSET, 8,
		GRPCFG_AT / TABLE_MULT | (uint64_t)(WQCFG_AT / TABLE_MULT) << 16 |
			(uint64_t)(MSIX_PERM_AT / TABLE_MULT) << 32);
	set_reg(fn, GENSTS, 4, STATE_DISABLED);
}

/* The queue's configuration words, as software left them. */
static uint32_t wqcfg(struct pci_fn *fn, unsigned int word)
{
	return (uint32_t)reg(fn, WQCFG_AT + word * 4, 4);
}

/* A command done: its status (error err), and the device's interrupt when
 * software asked for one. */
static void command_done(struct pci_fn *fn, uint32_t cmd, uint8_t err)
{
	set_reg(fn, CMDSTS, 4, err);
	if (cmd >> 31) {
		set_reg(fn, INTCAUSE, 4, reg(fn, INTCAUSE, 4) | INTC_CMD);
		pci_fn_interrupt(fn, 0);
	}
}

static uint8_t enable_wq(struct pci_fn *fn, struct dsa *d, uint32_t wq)
{
	uint32_t size = wqcfg(fn, 0) & 0xffff, mode = wqcfg(fn, 2);
	/* Word 2: pasid in bits 8-27, pasid_en bit 28. */
	bool pasid_en = mode >> 28 & 1;
	uint32_t pasid = mode >> 8 & 0xfffff;

	if (!d->enabled)
		return ERR_DEV_NOTEN;
	if (wq >= NUM_WQS)
		return ERR_INVAL_WQIDX;
	if (d->wq_enabled)
		return ERR_WQ_ENABLED;
	if (!size || size > WQ_SIZE)
		return ERR_WQ_SIZE;
	/* PASID 0 is the RID's here (as IOMMU_NO_PASID is the kernel's):
	 * a queue that enables PASIDs names another. */
	if (pasid_en && !pasid)
		return ERR_PASID_EN;
	d->wq_pasid = pasid_en ? pasid : 0;
	d->wq_enabled = true;
	/* wq_state (bits 30-31 of word 6): enabled. */
	set_reg(fn, WQCFG_AT + 24, 4, (wqcfg(fn, 6) & 0x3fffffff) | 1u << 30);
	return 0;
}

static uint8_t run_command(struct pci_fn *fn, struct dsa *d, uint32_t cmd)
{
	uint32_t op = (cmd >> 20) & 0x1f, operand = cmd & 0xfffff;

	switch (op) {
	case CMD_ENABLE_DEVICE:
		if (d->enabled)
			return ERR_DEV_ENABLED;
		if (!pci_fn_master_enabled(fn))
			return ERR_BUSMASTER_EN;
		d->enabled = true;
		set_reg(fn, GENSTS, 4, STATE_ENABLED);
		return 0;
	case CMD_DISABLE_DEVICE:
		if (!d->enabled)
			return ERR_DIS_DEV_EN;
		d->enabled = d->wq_enabled = false;
		set_reg(fn, GENSTS, 4, STATE_DISABLED);
		return 0;
	case CMD_RESET_DEVICE:
		d->enabled = d->wq_enabled = false;
		device_registers(fn);
		return 0;
	case CMD_ENABLE_WQ:
		return enable_wq(fn, d, operand);
	case CMD_DISABLE_WQ:
	case CMD_RESET_WQ:
		if (!d->enabled)
			return ERR_DEV_NOT_EN;
		if (operand >= NUM_WQS)
			return ERR_INVAL_WQIDX;
		d->wq_enabled = false;
		set_reg(fn, WQCFG_AT + 24, 4, wqcfg(fn, 6) & 0x3fffffff);
		return 0;
	case CMD_DRAIN_ALL:
	case CMD_ABORT_ALL:
	case CMD_DRAIN_WQ:
	case CMD_ABORT_WQ:
		/* Descriptors are done as they come: nothing is in flight. */
		return d->enabled ? 0 : ERR_DEV_NOT_EN;
	default:
		return ERR_INVAL_CMD;
	}
}

/* Copy len bytes through the IOMMU; on a fault, where it was. */
static int move(struct pci_fn *fn, uint32_t pasid, uint64_t src, uint64_t dst,
		uint64_t len, uint64_t *fault, bool *fault_write)
{
	unsigned char buf[4096];

	while (len) {
		size_t n = (size_t)MIN(len, sizeof(buf));

		if (pci_fn_dma(fn, pasid, src, buf, n, false)) {
			*fault = src;
			*fault_write = false;
			return -EFAULT;
		}
		if (pci_fn_dma(fn, pasid, dst, buf, n, true)) {
			*fault = dst;
			*fault_write = true;
			return -EFAULT;
		}
		src += n;
		dst += n;
		len -= n;
	}
	return 0;
}

/* The descriptor's completion record and interrupt, as its flags ask. */
static void complete(struct pci_fn *fn, uint32_t pasid,
		     const struct dsa_desc *desc, struct dsa_comp *comp)
{
	uint32_t flags = desc->flags_op & 0xffffff;

	if ((flags & (FLAG_CRAV | FLAG_RCR)) == (FLAG_CRAV | FLAG_RCR) ||
	    ((flags & FLAG_CRAV) && comp->status != COMP_SUCCESS))
		(void)pci_fn_dma(fn, pasid, desc->completion, comp,
				 sizeof(*comp), true);
	if (flags & FLAG_RCI) {
		if (desc->int_handle && desc->int_handle < DSA_MSIX_VECTORS)
			pci_fn_interrupt(fn, desc->int_handle);
	}
}

/* One descriptor's work: its completion status, with comp filled. */
static uint8_t work(struct pci_fn *fn, uint32_t pasid,
		    const struct dsa_desc *desc, struct dsa_comp *comp,
		    bool in_batch);

static uint8_t batch(struct pci_fn *fn, uint32_t pasid,
		     const struct dsa_desc *desc, struct dsa_comp *comp)
{
	uint32_t count = desc->size, failed = 0;

	if (count < 2 || count > 1u << MAX_BATCH_SHIFT)
		return COMP_DESC_CNT_ERANGE;
	for (uint32_t i = 0; i < count; i++) {
		struct dsa_desc sub;
		struct dsa_comp sub_comp = { 0 };

		if (pci_fn_dma(fn, pasid, desc->src + (uint64_t)i * DESC_SIZE,
			       &sub, sizeof(sub), false)) {
			comp->fault_addr = desc->src + (uint64_t)i * DESC_SIZE;
			comp->done = i;
			return COMP_BATCH_PAGE_FAULT;
		}
		sub_comp.status = work(fn, pasid, &sub, &sub_comp, true);
		if (sub_comp.status != COMP_SUCCESS)
			failed++;
		complete(fn, pasid, &sub, &sub_comp);
	}
	comp->done = count;
	return failed ? COMP_BATCH_FAIL : COMP_SUCCESS;
}

static uint8_t work(struct pci_fn *fn, uint32_t pasid,
		    const struct dsa_desc *desc, struct dsa_comp *comp,
		    bool in_batch)
{
	uint32_t flags = desc->flags_op & 0xffffff, op = desc->flags_op >> 24;
	uint64_t fault = 0;
	bool fault_write = false;

	if ((flags & FLAG_RCI) &&
	    (!desc->int_handle || desc->int_handle >= DSA_MSIX_VECTORS))
		return COMP_INT_HANDLE_INVAL;
	switch (op) {
	case OP_NOOP:
	case OP_DRAIN:
		return COMP_SUCCESS;
	case OP_BATCH:
		if (in_batch)
			return COMP_BAD_OPCODE;
		return batch(fn, pasid, desc, comp);
	case OP_MEMMOVE:
		if (desc->size > 1u << MAX_XFER_SHIFT)
			return COMP_XFER_ERANGE;
		if (move(fn, pasid, desc->src, desc->dst, desc->size, &fault,
			 &fault_write)) {
			comp->fault_addr = fault;
			comp->fault_info = fault_write ? 1 : 0;
			return COMP_PAGE_FAULT_NOBOF;
		}
		comp->done = desc->size;
		return COMP_SUCCESS;
	default:
		return COMP_BAD_OPCODE;
	}
}

/* A descriptor written to the queue's portal. */
static void submit(struct pci_fn *fn, struct dsa *d, uint64_t off)
{
	struct dsa_desc desc;
	struct dsa_comp comp = { 0 };
	/* A dedicated queue's descriptors carry its PASID, whatever theirs
	 * says; without one, the RID's. */
	uint32_t pasid = d->wq_pasid;

	memcpy(&desc, fn->bars[2].mem + (off & ~(uint64_t)(DESC_SIZE - 1)),
	       sizeof(desc));
	/* A queue not enabled drops what comes, as the hardware does. */
	if (!d->enabled || !d->wq_enabled)
		return;
	comp.status = work(fn, pasid, &desc, &comp, false);
	complete(fn, pasid, &desc, &comp);
}

static void dsa_bar_write(struct pci_fn *fn, unsigned int bar, uint64_t off,
			  size_t len)
{
	struct dsa *d = pci_fn_priv(fn);

	pthread_mutex_lock(&d->lock);
	if (bar == 0 && off <= CMD && off + len > CMD) {
		uint32_t cmd = (uint32_t)reg(fn, CMD, 4);

		set_reg(fn, CMDSTS, 4, CMDSTS_ACTIVE);
		command_done(fn, cmd, run_command(fn, d, cmd));
	} else if (bar == 2 && len == DESC_SIZE) {
		submit(fn, d, off);
	}
	pthread_mutex_unlock(&d->lock);
}

static void dsa_reset(struct pci_fn *fn)
{
	struct dsa *d = pci_fn_priv(fn);

	pthread_mutex_lock(&d->lock);
	d->enabled = d->wq_enabled = false;
	device_registers(fn);
	memset(fn->bars[2].mem, 0, DSA_BAR2_SIZE);
	pthread_mutex_unlock(&d->lock);
}

static int dsa_init(struct pci_fn *fn, const char *options)
{
	struct dsa *d = pci_fn_priv(fn);
	int rc;

	if (options && *options)
		return -EINVAL;
	pci_fn_set_id(fn, DSA_VENDOR, DSA_DEVICE_SPR, DSA_CLASS, 0, DSA_VENDOR,
		      0);
	rc = pci_fn_add_bar(fn, 0, DSA_BAR0_SIZE, true, false);
	if (!rc)
		rc = pci_fn_add_bar(fn, 2, DSA_BAR2_SIZE, true, false);
	if (rc)
		return rc;
	/* Commands and portals take each write as it comes. */
	pci_fn_trap_bar(fn, 0, 0x1000);
	pci_fn_trap_bar(fn, 2, DSA_BAR2_SIZE);
	rc = pci_fn_add_pcie(fn, true);
	if (!rc)
		rc = pci_fn_add_pm(fn);
	if (!rc)
		rc = pci_fn_add_msix(fn, DSA_MSIX_VECTORS, 0, DSA_MSIX_TABLE,
				     DSA_MSIX_PBA);
	if (rc)
		return rc;
	pthread_mutex_init(&d->lock, NULL);
	dsa_reset(fn);
	return 0;
}

static void dsa_fini(struct pci_fn *fn)
{
	struct dsa *d = pci_fn_priv(fn);

	pthread_mutex_destroy(&d->lock);
}

PCI_MODEL(dsa_model,
	.name = "dsa",
	.priv_size = sizeof(struct dsa),
	.init = dsa_init,
	.reset = dsa_reset,
	.bar_write = dsa_bar_write,
	.fini = dsa_fini)
