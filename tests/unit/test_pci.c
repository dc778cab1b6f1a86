/* SPDX-License-Identifier: MIT */
/*
 * The PCI function model (src/pci) and the I/OAT model on it, in-process:
 * configuration space as software probes it (identity, BAR sizing, the
 * command register, write-one-to-clear status, the capability chain,
 * function-level reset), and the DMA engine copying through a VT-d domain
 * by descriptor, interrupting, and halting on a bad address -- driven by
 * region writes and, as a client's mapping would, by the engine polling.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../common/dsa_hw.h"
#include "check.h"
#include "ioasid/ioasid.h"
#include "ioasid/uapi/ioasid.h"
#include "ioasid/uapi/iommufd.h"
#include "pci/pci.h"

#define PG 4096u
#define CHAN 0x80u

static uint32_t cfg32(struct pci_fn *fn, uint32_t off)
{
	uint32_t v;

	pci_cfg_read(fn, off, &v, 4);
	return v;
}

static uint16_t cfg16(struct pci_fn *fn, uint32_t off)
{
	uint16_t v;

	pci_cfg_read(fn, off, &v, 2);
	return v;
}

static void cfg_w16(struct pci_fn *fn, uint32_t off, uint16_t v)
{
	pci_cfg_write(fn, off, &v, 2);
}

static void cfg_w32(struct pci_fn *fn, uint32_t off, uint32_t v)
{
	pci_cfg_write(fn, off, &v, 4);
}

/* The capability ids in chain order, as a driver walks them. */
static size_t caps(struct pci_fn *fn, uint8_t *ids, size_t max)
{
	uint8_t at = (uint8_t)cfg16(fn, PCI_CAPABILITY_LIST), n = 0;

	while (at && n < max) {
		ids[n++] = (uint8_t)cfg16(fn, at);
		at = (uint8_t)(cfg16(fn, at) >> 8);
	}
	return n;
}

static void config_space(void)
{
	struct pci_fn *fn;
	uint8_t ids[8];

	CHECK_EQ(pci_fn_create("no-such-model", NULL, 0, 0, 0x20, &fn), -ENODEV);
	CHECK_EQ(pci_fn_create("ioat", "bogus=1", 0, 0, 0x20, &fn), -EINVAL);
	CHECK_EQ(pci_fn_create("ioat", NULL, 0, 0, 0x20, &fn), 0);
	CHECK(!strcmp(fn->bdf, "0000:00:04.0"));
	CHECK_EQ(cfg16(fn, PCI_VENDOR_ID), 0x8086);
	CHECK_EQ(cfg16(fn, PCI_DEVICE_ID), 0x2021);
	CHECK_EQ(cfg32(fn, PCI_CLASS_REVISION) >> 8, 0x088000);
	CHECK(cfg16(fn, PCI_STATUS) & PCI_STATUS_CAP_LIST);
	/* Outside the space: ones. */
	CHECK_EQ(cfg32(fn, PCI_CFG_SIZE), 0xffffffff);

	/* BAR sizing: all ones in, the size's mask out; 64-bit. */
	CHECK_EQ(cfg32(fn, PCI_BASE_ADDRESS_0) & 0xf, PCI_BASE_ADDRESS_MEM_TYPE_64);
	cfg_w32(fn, PCI_BASE_ADDRESS_0, 0xffffffff);
	cfg_w32(fn, PCI_BASE_ADDRESS_1, 0xffffffff);
	CHECK_EQ(cfg32(fn, PCI_BASE_ADDRESS_0), 0xffffc000 | PCI_BASE_ADDRESS_MEM_TYPE_64);
	CHECK_EQ(cfg32(fn, PCI_BASE_ADDRESS_1), 0xffffffff);
	cfg_w32(fn, PCI_BASE_ADDRESS_0, 0xfe004000);
	CHECK_EQ(cfg32(fn, PCI_BASE_ADDRESS_0), 0xfe004000 | PCI_BASE_ADDRESS_MEM_TYPE_64);
	/* No BAR 2: it reads 0 whatever is written. */
	cfg_w32(fn, PCI_BASE_ADDRESS_2, 0xffffffff);
	CHECK_EQ(cfg32(fn, PCI_BASE_ADDRESS_2), 0);
	/* Identity is read-only. */
	cfg_w16(fn, PCI_VENDOR_ID, 0x1234);
	CHECK_EQ(cfg16(fn, PCI_VENDOR_ID), 0x8086);

	/* The command register takes only what it has. */
	cfg_w16(fn, PCI_COMMAND, 0xffff);
	CHECK_EQ(cfg16(fn, PCI_COMMAND),
		 PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_SERR |
			 PCI_COMMAND_PARITY | PCI_COMMAND_INTX_DISABLE);
	CHECK(pci_fn_mem_enabled(fn) && pci_fn_master_enabled(fn));

	/* PCIe (with FLR), power management, MSI-X: in that order. */
	CHECK_EQ(caps(fn, ids, 8), 3);
	CHECK(ids[0] == PCI_CAP_ID_EXP && ids[1] == PCI_CAP_ID_PM &&
	      ids[2] == PCI_CAP_ID_MSIX);
	CHECK(cfg32(fn, fn->exp_cap + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_FLR);
	CHECK_EQ(cfg16(fn, fn->msix_cap + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_QSIZE, 0);
	CHECK_EQ(cfg32(fn, fn->msix_cap + PCI_MSIX_TABLE), 0x2000);
	CHECK_EQ(cfg32(fn, fn->msix_cap + PCI_MSIX_PBA), 0x3000);
	/* Enabling MSI-X is the exposer's, not a configuration write. */
	cfg_w16(fn, fn->msix_cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE);
	CHECK(!pci_fn_msix_enabled(fn));
	pci_fn_set_msix(fn, true);
	CHECK(pci_fn_msix_enabled(fn));

	/* Error status is cleared by writing ones. */
	pci_fn_cfg_set(fn, 0x180, 0x5);
	cfg_w32(fn, 0x180, 0x4);
	CHECK_EQ(cfg32(fn, 0x180), 0x1);

	/* FLR: back to after power-on, and it reads back as 0. */
	cfg_w16(fn, fn->exp_cap + PCI_EXP_DEVCTL,
		cfg16(fn, fn->exp_cap + PCI_EXP_DEVCTL) | PCI_EXP_DEVCTL_BCR_FLR);
	CHECK_EQ(cfg16(fn, PCI_COMMAND), 0);
	CHECK_EQ(cfg32(fn, PCI_BASE_ADDRESS_0), PCI_BASE_ADDRESS_MEM_TYPE_64);
	CHECK_EQ(cfg16(fn, fn->exp_cap + PCI_EXP_DEVCTL) & PCI_EXP_DEVCTL_BCR_FLR, 0);
	CHECK(!pci_fn_msix_enabled(fn));
	CHECK_EQ(cfg32(fn, 0x180), 0);

	/* Memory decode off: BAR access fails, reads give ones. */
	{
		uint32_t v = 0;

		CHECK_EQ(pci_bar_read(fn, 0, 0x08, &v, 4), -EIO);
		CHECK_EQ(v, 0xffffffff);
		cfg_w16(fn, PCI_COMMAND, PCI_COMMAND_MEMORY);
		CHECK_EQ(pci_bar_read(fn, 0, 0x08, &v, 1), 0);
		CHECK_EQ(v & 0xff, 0x33); /* version 3.3 */
		CHECK_EQ(pci_bar_read(fn, 0, 16 << 10, &v, 1), -EINVAL);
		CHECK_EQ(pci_bar_read(fn, 0, (16 << 10) - 2, &v, 4), -EINVAL);
		CHECK_EQ(pci_bar_read(fn, 1, 0, &v, 4), -EINVAL);
		CHECK_EQ(pci_bar_read(fn, 9, 0, &v, 4), -EINVAL);
	}
	pci_fn_destroy(fn);
}

/* An in-process context with a VT-d device, to give a function DMA. */
static struct ioasid_caller caller;
static struct ioasid_ctx *ctx;
static uint32_t ioas, dev_id;
static struct ioasid_dev *dev;

static long io(unsigned int cmd, void *arg)
{
	return ioasid_ctx_ioctl(ctx, &caller, cmd, (unsigned long)arg);
}

static void setup_dma(void)
{
	struct iommu_ioas_alloc ia = { .size = sizeof(ia) };
	struct ioasid_device_alloc da = {
		.size = sizeof(da), .model = IOASID_DEVICE_VTD,
	};
	struct ioasid_device_attach at = { .size = sizeof(at) };

	CHECK_EQ(ioasid_caller_self(&caller), 0);
	ctx = ioasid_ctx_new();
	CHECK_EQ(io(IOMMU_IOAS_ALLOC, &ia), 0);
	CHECK_EQ(io(IOASID_DEVICE_ALLOC, &da), 0);
	at.dev_id = da.out_dev_id;
	at.pt_id = ia.out_ioas_id;
	CHECK_EQ(io(IOASID_DEVICE_ATTACH, &at), 0);
	ioas = ia.out_ioas_id;
	dev_id = da.out_dev_id;
	CHECK_EQ(ioasid_dev_get(ctx, dev_id, &dev), 0);
}

static void teardown_dma(void)
{
	ioasid_dev_put(dev);
	ioasid_ctx_put(ctx);
}

static void map(void *va, uint64_t len, uint64_t iova)
{
	struct iommu_ioas_map m = {
		.size = sizeof(m),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas, .user_va = (uintptr_t)va, .length = len,
		.iova = iova,
	};

	CHECK_EQ(io(IOMMU_IOAS_MAP, &m), 0);
}

struct raised {
	unsigned int n;
	enum pci_irq_kind kind;
	unsigned int vector;
};

static int count_raise(void *priv, enum pci_irq_kind kind, unsigned int v)
{
	struct raised *r = priv;

	r->n++;
	r->kind = kind;
	r->vector = v;
	return 0;
}

/* The descriptor format (a fact of the hardware). */
struct desc {
	uint32_t size, ctl;
	uint64_t src, dst, next, rsv[2], user[2];
};

#define IOVA 0x100000ull

static void reg_w(struct pci_fn *fn, uint32_t off, const void *v, size_t n)
{
	CHECK_EQ(pci_bar_write(fn, 0, CHAN + off, v, n), 0);
}

static uint64_t chansts(struct pci_fn *fn)
{
	uint64_t v = 0;

	CHECK_EQ(pci_bar_read(fn, 0, CHAN + 0x08, &v, 8), 0);
	return v;
}

/* A channel ready to go: memory, mastering, reset (halted). */
static struct pci_fn *ioat_ready(struct raised *r)
{
	struct pci_irq_sink sink = { .raise = count_raise, .priv = r };
	struct pci_fn *fn;
	uint8_t reset = 0x20;

	CHECK_EQ(pci_fn_create("ioat", NULL, 0, 0, 0x20, &fn), 0);
	pci_fn_set_dma(fn, dev);
	pci_fn_set_irq_sink(fn, &sink);
	cfg_w16(fn, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
					 PCI_COMMAND_INTX_DISABLE);
	reg_w(fn, 0x04, &reset, 1);
	CHECK_EQ(chansts(fn) & 7, 3);
	return fn;
}

static void ioat_copies(void)
{
	unsigned char *mem = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct desc *d = (struct desc *)mem;
	struct raised r = { 0 };
	struct pci_fn *fn;
	uint16_t count = 1, ctrl = 0x0001;
	uint64_t chain = IOVA, vctl = 0;

	setup_dma();
	map(mem, 4 * PG, IOVA);
	fn = ioat_ready(&r);
	memset(mem + PG, 0x5a, PG);
	*d = (struct desc){ .size = PG, .ctl = 1 /* int_en */,
			    .src = IOVA + PG, .dst = IOVA + 2 * PG,
			    .next = IOVA };
	/* MSI-X on, vector 0 unmasked. */
	pci_fn_set_msix(fn, true);
	CHECK_EQ(pci_bar_write(fn, 0, 0x2000 + 12, &vctl, 4), 0);
	reg_w(fn, 0x10, &chain, 8);
	reg_w(fn, 0x00, &ctrl, 2);
	reg_w(fn, 0x06, &count, 2);
	CHECK_EQ(chansts(fn), IOVA | 1); /* done, at the descriptor */
	CHECK(!memcmp(mem + 2 * PG, mem + PG, PG));
	CHECK_EQ(r.n, 1);
	CHECK(r.kind == PCI_IRQ_MSIX && r.vector == 0);
	/* The interrupt disarmed itself. */
	ctrl = 0;
	CHECK_EQ(pci_bar_read(fn, 0, CHAN, &ctrl, 2), 0);
	CHECK_EQ(ctrl & 1, 0);

	/* The same chain address again is a new chain (bit 0 says it was
	 * taken); three copies of the descriptor, not re-armed: no IRQ. */
	memset(mem + 2 * PG, 0, PG);
	count = 3;
	reg_w(fn, 0x10, &chain, 8);
	reg_w(fn, 0x06, &count, 2);
	CHECK_EQ(chansts(fn), IOVA | 1);
	CHECK(!memcmp(mem + 2 * PG, mem + PG, PG));
	CHECK_EQ(r.n, 1);

	/* A masked vector leaves its pending bit instead. */
	ctrl = 1;
	vctl = 1;
	CHECK_EQ(pci_bar_write(fn, 0, 0x2000 + 12, &vctl, 4), 0);
	reg_w(fn, 0x00, &ctrl, 2);
	count = 4;
	reg_w(fn, 0x06, &count, 2);
	CHECK_EQ(r.n, 1);
	vctl = 0;
	CHECK_EQ(pci_bar_read(fn, 0, 0x3000, &vctl, 8), 0);
	CHECK_EQ(vctl, 1);

	pci_fn_destroy(fn);
	teardown_dma();
	munmap(mem, 4 * PG);
}

static void ioat_errors(void)
{
	unsigned char *mem = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct desc *d = (struct desc *)mem;
	struct raised r = { 0 };
	struct pci_fn *fn;
	uint16_t count = 1, ctrl = 0x0011; /* re-arm, error interrupts */
	uint64_t chain = IOVA;
	uint32_t err = 0;
	uint8_t reset = 0x20;

	setup_dma();
	map(mem, 2 * PG, IOVA);
	fn = ioat_ready(&r);
	/* The source is nowhere in the IOAS: an I/O page fault. */
	*d = (struct desc){ .size = 64, .src = 0x7000000, .dst = IOVA + PG,
			    .next = IOVA };
	reg_w(fn, 0x10, &chain, 8);
	reg_w(fn, 0x00, &ctrl, 2);
	reg_w(fn, 0x06, &count, 2);
	CHECK_EQ(chansts(fn) & 7, 3); /* halted */
	CHECK_EQ(pci_bar_read(fn, 0, CHAN + 0x28, &err, 4), 0);
	CHECK_EQ(err, 1); /* source address error */
	CHECK_EQ(cfg32(fn, 0x180), 1);
	CHECK(fn->dma_errors > 0);
	/* MSI-X is off: INTx is disabled in the command register. */
	CHECK_EQ(r.n, 0);
	/* Halted until reset. */
	d->src = IOVA + PG;
	count = 2;
	reg_w(fn, 0x06, &count, 2);
	CHECK_EQ(chansts(fn) & 7, 3);
	reg_w(fn, 0x04, &reset, 1);
	CHECK_EQ(pci_bar_read(fn, 0, CHAN + 0x28, &err, 4), 0);
	CHECK_EQ(err, 0);

	/* Bus mastering off: the descriptor cannot even be fetched. */
	cfg_w16(fn, PCI_COMMAND, PCI_COMMAND_MEMORY);
	count = 1;
	reg_w(fn, 0x10, &chain, 8);
	reg_w(fn, 0x06, &count, 2);
	CHECK_EQ(chansts(fn) & 7, 3);
	CHECK_EQ(pci_bar_read(fn, 0, CHAN + 0x28, &err, 4), 0);
	CHECK_EQ(err, 4); /* next descriptor address error */

	/* INTx, when neither MSI nor MSI-X and it is not disabled. */
	reg_w(fn, 0x04, &reset, 1);
	cfg_w16(fn, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	d->ctl = 1;
	ctrl = 1;
	reg_w(fn, 0x10, &chain, 8);
	reg_w(fn, 0x00, &ctrl, 2);
	reg_w(fn, 0x06, &count, 2);
	CHECK_EQ(chansts(fn), IOVA | 1);
	CHECK_EQ(r.n, 1);
	CHECK(r.kind == PCI_IRQ_INTX);
	CHECK(cfg16(fn, PCI_STATUS) & PCI_STATUS_INTERRUPT);

	pci_fn_destroy(fn);
	teardown_dma();
	munmap(mem, 2 * PG);
}

/*
 * Writes straight into BAR memory, as a client's mapping makes them: the
 * engine notices and the copy completes.
 */
static void ioat_polled(void)
{
	unsigned char *mem = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct desc *d = (struct desc *)mem;
	struct raised r = { 0 };
	struct pci_fn *fn;

	setup_dma();
	map(mem, 4 * PG, IOVA);
	fn = ioat_ready(&r);
	memset(mem + PG, 0xa7, PG);
	*d = (struct desc){ .size = PG, .src = IOVA + PG,
			    .dst = IOVA + 2 * PG, .next = IOVA };
	CHECK_EQ(pci_engine_add(fn), 0);
	pci_bar_store(fn, 0, CHAN + 0x10, 8, IOVA);
	pci_bar_store(fn, 0, CHAN + 0x06, 2, 1);
	/* Bounded: a model that never looks fails here, not hangs. */
	for (int i = 0; i < 5000 && (chansts(fn) & 7) != 1; i++)
		usleep(1000);
	CHECK_EQ(chansts(fn), IOVA | 1);
	CHECK(!memcmp(mem + 2 * PG, mem + PG, PG));
	/* A suspend command, through the mapping too. */
	pci_bar_store(fn, 0, CHAN + 0x04, 1, 0x04);
	for (int i = 0; i < 5000 && (chansts(fn) & 7) != 2; i++)
		usleep(1000);
	CHECK_EQ(chansts(fn) & 7, 2);
	pci_engine_remove(fn);
	pci_fn_destroy(fn);
	teardown_dma();
	munmap(mem, 4 * PG);
}

/* A DSA command: the status it leaves. */
static uint32_t dsa_cmd(struct pci_fn *fn, uint32_t cmd, uint32_t operand)
{
	uint32_t v = cmd << 20 | operand, sts = 0;

	CHECK_EQ(pci_bar_write(fn, 0, 0xa0, &v, 4), 0);
	CHECK_EQ(pci_bar_read(fn, 0, 0xa8, &sts, 4), 0);
	return sts;
}

static void dsa_descs(void)
{
	unsigned char *mem = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct dsa_desc *list = (struct dsa_desc *)(mem + 4 * PG);
	struct dsa_comp *comp = (struct dsa_comp *)(mem + 3 * PG);
	struct pci_irq_sink sink;
	struct raised r = { 0 };
	struct dsa_desc d;
	struct pci_fn *fn;
	uint64_t v = 0, table;
	uint32_t wqcfg[16] = { 32 /* wq_size */, 0, 1 /* dedicated */ };

	setup_dma();
	map(mem, 8 * PG, IOVA);
	sink = (struct pci_irq_sink){ .raise = count_raise, .priv = &r };
	CHECK_EQ(pci_fn_create("dsa", NULL, 0, 0, 0x28, &fn), 0);
	pci_fn_set_dma(fn, dev);
	pci_fn_set_irq_sink(fn, &sink);
	cfg_w16(fn, PCI_COMMAND, PCI_COMMAND_MEMORY);
	CHECK_EQ(pci_bar_read(fn, 0, 0x10, &v, 8), 0);
	CHECK_EQ((v >> 16) & 0x1f, 20); /* max_xfer_shift */
	CHECK_EQ(v & (1u << 4), 0);     /* no command capabilities */

	/* Commands in order, each refused out of turn, nothing changed. */
	CHECK_EQ(dsa_cmd(fn, 6, 0), 0x20);    /* WQ before the device */
	CHECK_EQ(dsa_cmd(fn, 1, 0), 0x12);    /* no bus mastering */
	cfg_w16(fn, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
					 PCI_COMMAND_INTX_DISABLE);
	CHECK_EQ(dsa_cmd(fn, 1, 0), 0);
	CHECK_EQ(dsa_cmd(fn, 1, 0), 0x10);    /* enabled already */
	CHECK_EQ(dsa_cmd(fn, 6, 0), 0x22);    /* queue of size 0 */
	CHECK_EQ(dsa_cmd(fn, 6, 1), 0x02);    /* no such queue */
	CHECK_EQ(dsa_cmd(fn, 0x1f, 0), 0x01); /* no such command */
	CHECK_EQ(pci_bar_read(fn, 0, 0x60, &table, 8), 0);
	CHECK_EQ(pci_bar_write(fn, 0, ((table >> 16) & 0xffff) * 0x100, wqcfg,
			       sizeof(wqcfg)), 0);
	CHECK_EQ(dsa_cmd(fn, 6, 0), 0);
	CHECK_EQ(dsa_cmd(fn, 6, 0), 0x21);

	/* A move, its completion record and its interrupt (vector 1). */
	pci_fn_set_msix(fn, true);
	v = 0;
	CHECK_EQ(pci_bar_write(fn, 0, 0x8000 + 16 + 12, &v, 4), 0);
	memset(mem, 0x77, PG);
	d = (struct dsa_desc){ .pasid_priv = 1u << 31,
			       .flags_op = DSA_FLAGS_OP(0x04 | 0x08 | 0x10, 3),
			       .completion = IOVA + 3 * PG, .src = IOVA,
			       .dst = IOVA + PG, .size = PG, .int_handle = 1 };
	CHECK_EQ(pci_bar_write(fn, 2, 0, &d, sizeof(d)), 0);
	CHECK(comp->status == 1 && comp->done == PG);
	CHECK(!memcmp(mem + PG, mem, PG));
	CHECK(r.n == 1 && r.kind == PCI_IRQ_MSIX && r.vector == 1);

	/* From an IOVA not mapped: a page fault, where it was. */
	memset(comp, 0, sizeof(*comp));
	d.src = 0x40000000;
	d.flags_op = DSA_FLAGS_OP(0x04 | 0x08, 3);
	CHECK_EQ(pci_bar_write(fn, 2, 0, &d, sizeof(d)), 0);
	CHECK(comp->status == 3 && comp->fault_addr == 0x40000000);
	/* Too long, an unknown operation, an interrupt handle of none. */
	d.src = IOVA;
	d.size = (1u << 20) + 1;
	CHECK_EQ(pci_bar_write(fn, 2, 0, &d, sizeof(d)), 0);
	CHECK_EQ(comp->status, 0x13);
	d.size = PG;
	d.flags_op = DSA_FLAGS_OP(0x04 | 0x08, 0x42);
	CHECK_EQ(pci_bar_write(fn, 2, 0, &d, sizeof(d)), 0);
	CHECK_EQ(comp->status, 0x10);
	d.flags_op = DSA_FLAGS_OP(0x04 | 0x08 | 0x10, 3);
	d.int_handle = 0;
	CHECK_EQ(pci_bar_write(fn, 2, 0, &d, sizeof(d)), 0);
	CHECK_EQ(comp->status, 0x19);
	CHECK_EQ(r.n, 1);

	/* A batch of two moves, one record for the batch. */
	memset(mem + PG, 0, PG);
	memset(mem + 2 * PG, 0, PG);
	for (int i = 0; i < 2; i++)
		list[i] = (struct dsa_desc){
			.flags_op = DSA_FLAGS_OP(0x04, 3), .src = IOVA,
			.dst = IOVA + (uint64_t)(1 + i) * PG, .size = PG,
		};
	d = (struct dsa_desc){ .flags_op = DSA_FLAGS_OP(0x04 | 0x08, 1),
			       .completion = IOVA + 3 * PG,
			       .src = IOVA + 4 * PG, .size = 2 };
	CHECK_EQ(pci_bar_write(fn, 2, 0, &d, sizeof(d)), 0);
	CHECK(comp->status == 1 && comp->done == 2);
	CHECK(!memcmp(mem + PG, mem, PG) && !memcmp(mem + 2 * PG, mem, PG));
	/* One that fails inside fails the batch; a batch of one is none. */
	list[1].src = 0x40000000;
	CHECK_EQ(pci_bar_write(fn, 2, 0, &d, sizeof(d)), 0);
	CHECK_EQ(comp->status, 5);
	d.size = 1;
	CHECK_EQ(pci_bar_write(fn, 2, 0, &d, sizeof(d)), 0);
	CHECK_EQ(comp->status, 0x14);

	/* Reset: disabled, and what comes to the portal is dropped. */
	CHECK_EQ(dsa_cmd(fn, 5, 0), 0);
	memset(comp, 0, sizeof(*comp));
	d.size = 2;
	list[1].src = IOVA;
	CHECK_EQ(pci_bar_write(fn, 2, 0, &d, sizeof(d)), 0);
	CHECK_EQ(comp->status, 0);

	pci_fn_destroy(fn);
	teardown_dma();
	munmap(mem, 8 * PG);
}

/* A DSA queue configured with a PASID copies through what is attached at
 * that PASID, and one without through the RID's domain. */
static void dsa_pasid(void)
{
	unsigned char *a = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *b = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iommu_ioas_alloc ia = { .size = sizeof(ia) };
	struct ioasid_device_alloc da = {
		.size = sizeof(da), .flags = IOASID_DEVICE_ALLOC_PASID,
		.model = IOASID_DEVICE_VTD,
	};
	struct ioasid_device_attach at = { .size = sizeof(at) };
	struct iommu_hwpt_alloc ha = { .size = sizeof(ha),
				       .flags = IOMMU_HWPT_ALLOC_PASID };
	struct iommu_ioas_map m = {
		.size = sizeof(m),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.length = 4 * PG, .iova = IOVA,
	};
	uint32_t wqcfg[3] = { 32, 0, 1 | 1u << 28 /* pasid_en, pasid 0 */ };
	struct dsa_comp *comp;
	struct ioasid_dev *pdev;
	struct dsa_desc d;
	struct pci_fn *fn;
	uint32_t ioas_b;

	setup_dma();
	CHECK_EQ(io(IOMMU_IOAS_ALLOC, &ia), 0);
	ioas_b = ia.out_ioas_id;
	m.ioas_id = ioas;
	m.user_va = (uintptr_t)a;
	CHECK_EQ(io(IOMMU_IOAS_MAP, &m), 0);
	m.ioas_id = ioas_b;
	m.user_va = (uintptr_t)b;
	CHECK_EQ(io(IOMMU_IOAS_MAP, &m), 0);
	CHECK_EQ(io(IOASID_DEVICE_ALLOC, &da), 0);
	/* Domains that PASIDs may share with the RID: allocated so. */
	ha.dev_id = da.out_dev_id;
	ha.pt_id = ioas;
	CHECK_EQ(io(IOMMU_HWPT_ALLOC, &ha), 0);
	at.dev_id = da.out_dev_id;
	at.pt_id = ha.out_hwpt_id;
	CHECK_EQ(io(IOASID_DEVICE_ATTACH, &at), 0);
	ha.pt_id = ioas_b;
	CHECK_EQ(io(IOMMU_HWPT_ALLOC, &ha), 0);
	at.flags = IOASID_ATTACH_PASID;
	at.pasid = 7;
	at.pt_id = ha.out_hwpt_id;
	CHECK_EQ(io(IOASID_DEVICE_ATTACH, &at), 0);
	CHECK_EQ(ioasid_dev_get(ctx, da.out_dev_id, &pdev), 0);

	CHECK_EQ(pci_fn_create("dsa", NULL, 0, 0, 0x30, &fn), 0);
	pci_fn_set_dma(fn, pdev);
	cfg_w16(fn, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	CHECK_EQ(dsa_cmd(fn, 1, 0), 0);
	/* PASIDs on, but PASID 0 (the RID's here): refused. */
	CHECK_EQ(pci_bar_write(fn, 0, 0x3000, wqcfg, sizeof(wqcfg)), 0);
	CHECK_EQ(dsa_cmd(fn, 6, 0), 0x26);
	wqcfg[2] |= 7u << 8;
	CHECK_EQ(pci_bar_write(fn, 0, 0x3000, wqcfg, sizeof(wqcfg)), 0);
	CHECK_EQ(dsa_cmd(fn, 6, 0), 0);

	memset(a + PG, 0xaa, PG);
	memset(b + PG, 0xbb, PG);
	d = (struct dsa_desc){ .flags_op = DSA_FLAGS_OP(0x04 | 0x08, 3),
			       .completion = IOVA, .src = IOVA + PG,
			       .dst = IOVA + 2 * PG, .size = PG };
	CHECK_EQ(pci_bar_write(fn, 2, 0, &d, sizeof(d)), 0);
	comp = (struct dsa_comp *)b;
	CHECK_EQ(comp->status, 1);
	CHECK(!memcmp(b + 2 * PG, b + PG, PG));
	CHECK_EQ(a[2 * PG], 0);

	/* Without PASIDs: the RID's domain, IOAS a. */
	CHECK_EQ(dsa_cmd(fn, 7, 0), 0);
	wqcfg[2] = 1;
	CHECK_EQ(pci_bar_write(fn, 0, 0x3000, wqcfg, sizeof(wqcfg)), 0);
	CHECK_EQ(dsa_cmd(fn, 6, 0), 0);
	CHECK_EQ(pci_bar_write(fn, 2, 0, &d, sizeof(d)), 0);
	comp = (struct dsa_comp *)a;
	CHECK_EQ(comp->status, 1);
	CHECK(!memcmp(a + 2 * PG, a + PG, PG));

	pci_fn_destroy(fn);
	ioasid_dev_put(pdev);
	teardown_dma();
	munmap(a, 4 * PG);
	munmap(b, 4 * PG);
}

/*
 * A device's DMA that misses, through a HWPT with a fault queue: a page
 * request for the page in that queue (the device has its error as well),
 * READ or WRITE as the DMA was; without a queue, none.
 */
static void dma_iopf(void)
{
	unsigned char *mem = mmap(NULL, PG, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };
	struct iommu_hwpt_alloc ha = { .size = sizeof(ha),
				       .flags = IOMMU_HWPT_FAULT_ID_VALID };
	struct ioasid_device_attach at = { .size = sizeof(at),
					   .flags = IOASID_ATTACH_REPLACE };
	struct iommu_ioas_map m = {
		.size = sizeof(m),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
		.length = PG, .iova = IOVA, .user_va = (uintptr_t)mem,
	};
	struct iommu_hwpt_page_response r = { .code = IOMMUFD_PAGE_RESP_SUCCESS };
	struct iommu_hwpt_pgfault f[2];
	uint64_t word = 0;
	int fd;

	setup_dma();
	m.ioas_id = ioas;
	CHECK_EQ(io(IOMMU_IOAS_MAP, &m), 0);
	/* No queue yet: an error, and nothing else. */
	CHECK_EQ(ioasid_dev_dma(dev, 0, IOVA + 5 * PG, &word, 8, 0), -ENOENT);
	CHECK_EQ(io(IOMMU_FAULT_QUEUE_ALLOC, &fa), 0);
	fd = (int)fa.out_fault_fd;
	CHECK_EQ(ioasid_self_read(fd, f, sizeof(f[0])), 0);
	ha.dev_id = dev_id;
	ha.pt_id = ioas;
	ha.fault_id = fa.out_fault_id;
	CHECK_EQ(io(IOMMU_HWPT_ALLOC, &ha), 0);
	at.dev_id = dev_id;
	at.pt_id = ha.out_hwpt_id;
	CHECK_EQ(io(IOASID_DEVICE_ATTACH, &at), 0);

	CHECK_EQ(ioasid_dev_dma(dev, 0, IOVA, &word, 8, 0), 0);
	CHECK_EQ(ioasid_dev_dma(dev, 0, IOVA + 5 * PG + 8, &word, 8, 0),
		 -ENOENT);
	CHECK_EQ(ioasid_dev_dma(dev, 0, IOVA + 16, &word, 8, 1), -EPERM);
	/* The core's copy-out is not memory valgrind sees being written. */
	memset(f, 0, sizeof(f));
	CHECK_EQ(ioasid_self_read(fd, f, sizeof(f)), sizeof(f));
	CHECK(f[0].addr == IOVA + 5 * PG && f[0].perm == IOMMU_PGFAULT_PERM_READ &&
	      f[0].dev_id == dev_id && (f[0].flags & IOMMU_PGFAULT_FLAGS_LAST_PAGE));
	CHECK(f[1].addr == IOVA && f[1].perm == IOMMU_PGFAULT_PERM_WRITE &&
	      f[1].grpid != f[0].grpid);
	/* Answered as any page request is. */
	r.cookie = f[0].cookie;
	CHECK_EQ(ioasid_self_write(fd, &r, sizeof(r)), sizeof(r));
	r.cookie = f[1].cookie;
	CHECK_EQ(ioasid_self_write(fd, &r, sizeof(r)), sizeof(r));

	teardown_dma();
	CHECK_EQ(ioasid_self_close(fd), 0);
	munmap(mem, PG);
}

int main(void)
{
	RUN(config_space);
	RUN(ioat_copies);
	RUN(ioat_errors);
	RUN(ioat_polled);
	RUN(dsa_descs);
	RUN(dsa_pasid);
	RUN(dma_iopf);
	return check_finish("pci");
}
