/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/util.h"
#include "ioasid/ioasid.h"
#include "pci.h"

static pthread_mutex_t models_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pci_model *models;

void pci_register_model(struct pci_model *m)
{
	pthread_mutex_lock(&models_lock);
	m->next = models;
	models = m;
	pthread_mutex_unlock(&models_lock);
}

const struct pci_model *pci_find_model(const char *name)
{
	const struct pci_model *m;

	pthread_mutex_lock(&models_lock);
	for (m = models; m && strcmp(m->name, name); m = m->next)
		;
	pthread_mutex_unlock(&models_lock);
	return m;
}

/* Configuration registers, little-endian as PCI is. */
static uint32_t cfg_get(const uint8_t *space, uint32_t off, unsigned int n)
{
	uint32_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint32_t)space[off + i] << (8 * i);
	return v;
}

static void cfg_put(uint8_t *space, uint32_t off, unsigned int n, uint32_t v)
{
	for (unsigned int i = 0; i < n; i++)
		space[off + i] = (uint8_t)(v >> (8 * i));
}

/* A register's value and which of its bits software may write. */
static void cfg_init(struct pci_fn *fn, uint32_t off, unsigned int n,
		     uint32_t v, uint32_t writable)
{
	cfg_put(fn->cfg, off, n, v);
	cfg_put(fn->wmask, off, n, writable);
}

void pci_fn_set_id(struct pci_fn *fn, uint16_t vendor, uint16_t device,
		   uint32_t class_code, uint8_t revision, uint16_t sub_vendor,
		   uint16_t sub_device)
{
	cfg_init(fn, PCI_VENDOR_ID, 2, vendor, 0);
	cfg_init(fn, PCI_DEVICE_ID, 2, device, 0);
	cfg_init(fn, PCI_CLASS_REVISION, 4, class_code << 8 | revision, 0);
	cfg_init(fn, PCI_SUBSYSTEM_VENDOR_ID, 2, sub_vendor, 0);
	cfg_init(fn, PCI_SUBSYSTEM_ID, 2, sub_device, 0);
}

int pci_fn_add_bar(struct pci_fn *fn, unsigned int n, uint64_t size,
		   bool is64, bool prefetch)
{
	struct pci_bar *bar;
	uint32_t type = (is64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0) |
			(prefetch ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
	char name[32];

	if (n >= PCI_NUM_BARS || (is64 && n + 1 >= PCI_NUM_BARS) ||
	    size < 16 || (size & (size - 1)) || (!is64 && size > 1ULL << 31) ||
	    fn->bars[n].size)
		return -EINVAL;
	bar = &fn->bars[n];
	snprintf(name, sizeof(name), "%s-bar%u", fn->bdf, n);
	bar->memfd = memfd_create(name, MFD_CLOEXEC);
	if (bar->memfd < 0)
		return -ENOMEM;
	if (ftruncate(bar->memfd, (off_t)size))
		goto out_close;
	bar->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			bar->memfd, 0);
	if (bar->mem == MAP_FAILED)
		goto out_close;
	bar->size = size;
	bar->flags = type;
	/* The address bits below the size read as zero: writing all ones
	 * and reading back is how software learns the size. */
	cfg_init(fn, PCI_BASE_ADDRESS_0 + 4 * n, 4, type,
		 (uint32_t)~(size - 1) & PCI_BASE_ADDRESS_MEM_MASK);
	if (is64)
		cfg_init(fn, PCI_BASE_ADDRESS_0 + 4 * (n + 1), 4, 0,
			 (uint32_t)(~(size - 1) >> 32));
	return 0;

out_close:
	close(bar->memfd);
	bar->memfd = -1;
	bar->mem = NULL;
	return -ENOMEM;
}

void pci_fn_trap_bar(struct pci_fn *fn, unsigned int n, uint64_t len)
{
	uint64_t page = (uint64_t)getpagesize();

	if (n < PCI_NUM_BARS)
		fn->bars[n].trapped = MIN((len + page - 1) & ~(page - 1),
					  fn->bars[n].size);
}

/* Room for a capability of len bytes, linked last in the list. */
static int cap_add(struct pci_fn *fn, uint8_t id, unsigned int len,
		   uint16_t *where)
{
	uint16_t at = (uint16_t)((fn->cap_end + 3) & ~3u);
	uint8_t *link = &fn->cfg[PCI_CAPABILITY_LIST];

	if (at + len > 0x100)
		return -ENOSPC;
	while (*link)
		link = &fn->cfg[*link + PCI_CAP_LIST_NEXT];
	*link = (uint8_t)at;
	fn->cfg[at + PCI_CAP_LIST_ID] = id;
	fn->cfg[at + PCI_CAP_LIST_NEXT] = 0;
	fn->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	fn->cap_end = (uint16_t)(at + len);
	*where = at;
	return 0;
}

int pci_fn_add_pm(struct pci_fn *fn)
{
	int rc = cap_add(fn, PCI_CAP_ID_PM, PCI_PM_SIZEOF, &fn->pm_cap);

	if (rc)
		return rc;
	/* Version 3; D0 and D3hot only; no reset on D3hot -> D0. */
	cfg_init(fn, fn->pm_cap + PCI_PM_PMC, 2, 3, 0);
	cfg_init(fn, fn->pm_cap + PCI_PM_CTRL, 2, PCI_PM_CTRL_NO_SOFT_RESET,
		 PCI_PM_CTRL_STATE_MASK);
	return 0;
}

int pci_fn_add_msi(struct pci_fn *fn, unsigned int vectors)
{
	unsigned int log2 = 0;
	int rc;

	while ((1u << log2) < vectors)
		log2++;
	if (!vectors || log2 > 5)
		return -EINVAL;
	/* 64-bit addresses, per-vector masks: 24 bytes. */
	rc = cap_add(fn, PCI_CAP_ID_MSI, 24, &fn->msi_cap);
	if (rc)
		return rc;
	cfg_init(fn, fn->msi_cap + PCI_MSI_FLAGS, 2,
		 PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT | log2 << 1,
		 PCI_MSI_FLAGS_QSIZE | PCI_MSI_FLAGS_ENABLE);
	cfg_init(fn, fn->msi_cap + PCI_MSI_ADDRESS_LO, 4, 0, 0xfffffffc);
	cfg_init(fn, fn->msi_cap + PCI_MSI_ADDRESS_HI, 4, 0, 0xffffffff);
	cfg_init(fn, fn->msi_cap + PCI_MSI_DATA_64, 2, 0, 0xffff);
	cfg_init(fn, fn->msi_cap + PCI_MSI_MASK_64, 4, 0,
		 (uint32_t)((1ULL << vectors) - 1));
	return 0;
}

/* The table as at power-on: every vector masked, nothing pending. */
static void msix_reset(struct pci_fn *fn)
{
	uint32_t table = cfg_get(fn->cfg, fn->msix_cap + PCI_MSIX_TABLE, 4);
	uint32_t pba = cfg_get(fn->cfg, fn->msix_cap + PCI_MSIX_PBA, 4);
	unsigned int bar = table & PCI_MSIX_TABLE_BIR;

	for (unsigned int v = 0; v < fn->msix_vectors; v++) {
		uint64_t entry = (table & PCI_MSIX_TABLE_OFFSET) +
				 v * PCI_MSIX_ENTRY_SIZE;

		pci_bar_store(fn, bar, entry, 8, 0);
		pci_bar_store(fn, bar, entry + 8, 8,
			      (uint64_t)PCI_MSIX_ENTRY_CTRL_MASKBIT << 32);
	}
	for (unsigned int w = 0; w < (fn->msix_vectors + 63) / 64; w++)
		pci_bar_store(fn, bar, (pba & PCI_MSIX_PBA_OFFSET) + 8 * w, 8,
			      0);
}

int pci_fn_add_msix(struct pci_fn *fn, unsigned int vectors,
		    unsigned int bar, uint32_t table_off, uint32_t pba_off)
{
	const struct pci_bar *b = bar < PCI_NUM_BARS ? &fn->bars[bar] : NULL;
	int rc;

	if (!vectors || vectors > 2048 || !b || !b->size ||
	    (table_off | pba_off) & 7 ||
	    table_off + vectors * PCI_MSIX_ENTRY_SIZE > b->size ||
	    pba_off + (vectors + 63) / 64 * 8 > b->size)
		return -EINVAL;
	rc = cap_add(fn, PCI_CAP_ID_MSIX, 12, &fn->msix_cap);
	if (rc)
		return rc;
	/* Enable is the exposer's to set (pci_fn_set_msix), as VFIO keeps
	 * it; software masks the function itself. */
	cfg_init(fn, fn->msix_cap + PCI_MSIX_FLAGS, 2, vectors - 1,
		 PCI_MSIX_FLAGS_MASKALL);
	cfg_init(fn, fn->msix_cap + PCI_MSIX_TABLE, 4, table_off | bar, 0);
	cfg_init(fn, fn->msix_cap + PCI_MSIX_PBA, 4, pba_off | bar, 0);
	fn->msix_vectors = vectors;
	msix_reset(fn);
	return 0;
}

int pci_fn_add_pcie(struct pci_fn *fn, bool flr)
{
	int rc = cap_add(fn, PCI_CAP_ID_EXP, PCI_CAP_EXP_ENDPOINT_SIZEOF_V2,
			 &fn->exp_cap);

	if (rc)
		return rc;
	cfg_init(fn, fn->exp_cap + PCI_EXP_FLAGS, 2,
		 2 | PCI_EXP_TYPE_ENDPOINT << 4, 0);
	/* 256-byte payloads at most; FLR when the model can. */
	cfg_init(fn, fn->exp_cap + PCI_EXP_DEVCAP, 4,
		 1 | (flr ? PCI_EXP_DEVCAP_FLR : 0), 0);
	cfg_init(fn, fn->exp_cap + PCI_EXP_DEVCTL, 2, 0x2810,
		 0x7fff | (flr ? PCI_EXP_DEVCTL_BCR_FLR : 0));
	/* x1 at 2.5 GT/s, up. */
	cfg_init(fn, fn->exp_cap + PCI_EXP_LNKCAP, 4, 0x11, 0);
	cfg_init(fn, fn->exp_cap + PCI_EXP_LNKSTA, 2, 0x11, 0);
	return 0;
}

void pci_fn_set_intx(struct pci_fn *fn)
{
	cfg_init(fn, PCI_INTERRUPT_PIN, 1, 1, 0);
}

void pci_fn_cfg_writable(struct pci_fn *fn, uint32_t off, uint32_t mask)
{
	cfg_put(fn->wmask, off, 4, mask);
}

void pci_fn_cfg_w1c(struct pci_fn *fn, uint32_t off, uint32_t mask)
{
	cfg_put(fn->w1c, off, 4, mask);
}

void pci_fn_cfg_set(struct pci_fn *fn, uint32_t off, uint32_t v)
{
	pthread_mutex_lock(&fn->lock);
	cfg_put(fn->cfg, off, 4, v);
	pthread_mutex_unlock(&fn->lock);
}

int pci_fn_create(const char *name, const char *options, uint16_t domain,
		  uint8_t bus, uint8_t devfn, struct pci_fn **out)
{
	const struct pci_model *m = pci_find_model(name);
	struct pci_fn *fn;
	int rc;

	if (!m)
		return -ENODEV;
	fn = calloc(1, sizeof(*fn));
	if (!fn)
		return -ENOMEM;
	fn->priv = calloc(1, m->priv_size ? m->priv_size : 1);
	if (!fn->priv) {
		free(fn);
		return -ENOMEM;
	}
	fn->model = m;
	fn->domain = domain;
	fn->bus = bus;
	fn->devfn = devfn;
	snprintf(fn->bdf, sizeof(fn->bdf), "%04x:%02x:%02x.%u", domain, bus,
		 devfn >> 3, devfn & 7);
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++)
		fn->bars[i].memfd = -1;
	pthread_mutex_init(&fn->lock, NULL);
	/* The header every function has: a type 0 endpoint whose command
	 * register decodes memory, masters, and disables INTx as asked. */
	cfg_init(fn, PCI_COMMAND, 2, 0,
		 PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_SERR |
			 PCI_COMMAND_PARITY | PCI_COMMAND_INTX_DISABLE);
	cfg_put(fn->w1c, PCI_STATUS, 2,
		PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT |
			PCI_STATUS_REC_TARGET_ABORT |
			PCI_STATUS_REC_MASTER_ABORT |
			PCI_STATUS_SIG_SYSTEM_ERROR |
			PCI_STATUS_DETECTED_PARITY);
	cfg_init(fn, PCI_CACHE_LINE_SIZE, 1, 0, 0xff);
	cfg_init(fn, PCI_LATENCY_TIMER, 1, 0, 0xff);
	cfg_init(fn, PCI_INTERRUPT_LINE, 1, 0, 0xff);
	fn->cap_end = 0x40;
	rc = m->init(fn, options);
	if (rc) {
		pci_fn_destroy(fn);
		return rc;
	}
	memcpy(fn->cfg_reset, fn->cfg, sizeof(fn->cfg));
	fn->ready = true;
	*out = fn;
	return 0;
}

void pci_fn_destroy(struct pci_fn *fn)
{
	if (fn->model->fini && fn->ready)
		fn->model->fini(fn);
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		if (fn->bars[i].mem)
			munmap(fn->bars[i].mem, fn->bars[i].size);
		if (fn->bars[i].memfd >= 0)
			close(fn->bars[i].memfd);
	}
	pthread_mutex_destroy(&fn->lock);
	free(fn->priv);
	free(fn);
}

static uint16_t command(struct pci_fn *fn)
{
	return (uint16_t)cfg_get(fn->cfg, PCI_COMMAND, 2);
}

bool pci_fn_mem_enabled(struct pci_fn *fn)
{
	bool on;

	pthread_mutex_lock(&fn->lock);
	on = command(fn) & PCI_COMMAND_MEMORY;
	pthread_mutex_unlock(&fn->lock);
	return on;
}

bool pci_fn_master_enabled(struct pci_fn *fn)
{
	bool on;

	pthread_mutex_lock(&fn->lock);
	on = command(fn) & PCI_COMMAND_MASTER;
	pthread_mutex_unlock(&fn->lock);
	return on;
}

void pci_cfg_read(struct pci_fn *fn, uint32_t off, void *buf, size_t len)
{
	size_t in = off < PCI_CFG_SIZE ? MIN(len, PCI_CFG_SIZE - off) : 0;

	pthread_mutex_lock(&fn->lock);
	memcpy(buf, fn->cfg + off, in);
	pthread_mutex_unlock(&fn->lock);
	memset((char *)buf + in, 0xff, len - in);
}

/* Whether [off, off+len) touches the n-byte register at reg. */
static bool touches(uint32_t off, size_t len, uint32_t reg, unsigned int n)
{
	return off < reg + n && reg < off + len;
}

void pci_cfg_write(struct pci_fn *fn, uint32_t off, const void *buf,
		   size_t len)
{
	const uint8_t *src = buf;
	bool flr = false;

	if (off >= PCI_CFG_SIZE)
		return;
	len = MIN(len, PCI_CFG_SIZE - off);
	pthread_mutex_lock(&fn->lock);
	for (size_t i = 0; i < len; i++) {
		uint32_t at = off + (uint32_t)i;
		uint8_t old = fn->cfg[at];

		fn->cfg[at] = (uint8_t)((old & ~fn->wmask[at]) |
					(src[i] & fn->wmask[at]));
		fn->cfg[at] &= (uint8_t)~(src[i] & fn->w1c[at]);
	}
	/* Initiate FLR reads back as 0: it is an action, not a state. */
	if (fn->exp_cap &&
	    touches(off, len, fn->exp_cap + PCI_EXP_DEVCTL, 2) &&
	    cfg_get(fn->cfg, fn->exp_cap + PCI_EXP_DEVCTL, 2) &
		    PCI_EXP_DEVCTL_BCR_FLR)
		flr = true;
	pthread_mutex_unlock(&fn->lock);
	if (flr)
		pci_fn_reset(fn);
}

/* An access of 1, 2, 4 or 8 bytes aligned to its size. */
static bool is_register(uint64_t off, size_t len)
{
	return (len == 1 || len == 2 || len == 4 || len == 8) &&
	       !(off & (len - 1));
}

static int bar_check(struct pci_fn *fn, unsigned int n, uint64_t off,
		     size_t len)
{
	uint64_t end;

	if (n >= PCI_NUM_BARS || !fn->bars[n].size ||
	    add_overflows_u64(off, len, &end) || end > fn->bars[n].size)
		return -EINVAL;
	return pci_fn_mem_enabled(fn) ? 0 : -EIO;
}

int pci_bar_read(struct pci_fn *fn, unsigned int n, uint64_t off, void *buf,
		 size_t len)
{
	int rc = bar_check(fn, n, off, len);

	if (rc == -EIO)
		memset(buf, 0xff, len);
	if (rc)
		return rc;
	/* A register is read whole, as the model stores it whole. */
	if (is_register(off, len)) {
		uint64_t v = pci_bar_load(fn, n, off, (unsigned int)len);

		memcpy(buf, &v, len);
	} else {
		memcpy(buf, fn->bars[n].mem + off, len);
	}
	return 0;
}

int pci_bar_write(struct pci_fn *fn, unsigned int n, uint64_t off,
		  const void *buf, size_t len)
{
	int rc = bar_check(fn, n, off, len);
	uint64_t v = 0;

	if (rc)
		return rc;
	if (is_register(off, len)) {
		memcpy(&v, buf, len);
		pci_bar_store(fn, n, off, (unsigned int)len, v);
	} else {
		memcpy(fn->bars[n].mem + off, buf, len);
	}
	if (fn->model->bar_write)
		fn->model->bar_write(fn, n, off, len);
	return 0;
}

int pci_fn_dma(struct pci_fn *fn, uint32_t pasid, uint64_t iova, void *buf,
	       size_t len, bool write)
{
	struct ioasid_dev *dev = atomic_load(&fn->dma);
	const struct pci_dma_path *path = atomic_load(&fn->dma_path);
	int rc = -EIO;

	if (!pci_fn_master_enabled(fn))
		;
	else if (path)
		rc = path->rw(path->priv, pasid, iova, buf, len, write);
	else if (dev)
		rc = ioasid_dev_dma(dev, pasid, iova, buf, len, write);
	if (rc) {
		atomic_fetch_add(&fn->dma_errors, 1);
	} else {
		/* Counts read apart, never together: relaxed is enough. */
		atomic_fetch_add_explicit(&fn->dma_ops[write], 1,
					  memory_order_relaxed);
		atomic_fetch_add_explicit(&fn->dma_bytes[write], len,
					  memory_order_relaxed);
	}
	return rc;
}

void pci_fn_dma_stats(struct pci_fn *fn, struct pci_dma_stats *st)
{
	st->reads = atomic_load_explicit(&fn->dma_ops[0], memory_order_relaxed);
	st->writes = atomic_load_explicit(&fn->dma_ops[1], memory_order_relaxed);
	st->read_bytes =
		atomic_load_explicit(&fn->dma_bytes[0], memory_order_relaxed);
	st->write_bytes =
		atomic_load_explicit(&fn->dma_bytes[1], memory_order_relaxed);
	st->errors = atomic_load(&fn->dma_errors);
}

bool pci_fn_msix_enabled(struct pci_fn *fn)
{
	bool on;

	pthread_mutex_lock(&fn->lock);
	on = fn->msix_cap && cfg_get(fn->cfg, fn->msix_cap + PCI_MSIX_FLAGS,
				     2) & PCI_MSIX_FLAGS_ENABLE;
	pthread_mutex_unlock(&fn->lock);
	return on;
}

bool pci_fn_msi_enabled(struct pci_fn *fn)
{
	bool on;

	pthread_mutex_lock(&fn->lock);
	on = fn->msi_cap && cfg_get(fn->cfg, fn->msi_cap + PCI_MSI_FLAGS, 2) &
				    PCI_MSI_FLAGS_ENABLE;
	pthread_mutex_unlock(&fn->lock);
	return on;
}

static void set_flag(struct pci_fn *fn, uint16_t cap, uint32_t reg,
		     uint32_t bit, bool on)
{
	uint32_t v;

	if (!cap)
		return;
	pthread_mutex_lock(&fn->lock);
	v = cfg_get(fn->cfg, cap + reg, 2);
	cfg_put(fn->cfg, cap + reg, 2, on ? v | bit : v & ~bit);
	pthread_mutex_unlock(&fn->lock);
}

void pci_fn_set_msix(struct pci_fn *fn, bool on)
{
	set_flag(fn, fn->msix_cap, PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, on);
}

void pci_fn_set_msi(struct pci_fn *fn, bool on)
{
	set_flag(fn, fn->msi_cap, PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE, on);
}

void pci_fn_set_irq_sink(struct pci_fn *fn, const struct pci_irq_sink *sink)
{
	pthread_mutex_lock(&fn->lock);
	fn->sink = sink ? *sink : (struct pci_irq_sink){ 0 };
	pthread_mutex_unlock(&fn->lock);
}

void pci_fn_set_dma(struct pci_fn *fn, struct ioasid_dev *dev)
{
	atomic_store(&fn->dma, dev);
}

void pci_fn_set_dma_path(struct pci_fn *fn, const struct pci_dma_path *path)
{
	atomic_store(&fn->dma_path, path);
}

/* An MSI-X vector's mask, and where its pending bit is. */
static bool msix_masked(struct pci_fn *fn, unsigned int v, unsigned int *bar,
			uint64_t *pba_word)
{
	uint32_t table = cfg_get(fn->cfg, fn->msix_cap + PCI_MSIX_TABLE, 4);
	uint32_t pba = cfg_get(fn->cfg, fn->msix_cap + PCI_MSIX_PBA, 4);
	uint32_t flags = cfg_get(fn->cfg, fn->msix_cap + PCI_MSIX_FLAGS, 2);

	*bar = table & PCI_MSIX_TABLE_BIR;
	*pba_word = (pba & PCI_MSIX_PBA_OFFSET) + v / 64 * 8;
	return (flags & PCI_MSIX_FLAGS_MASKALL) ||
	       (pci_bar_load(fn, *bar,
			     (table & PCI_MSIX_TABLE_OFFSET) +
				     v * PCI_MSIX_ENTRY_SIZE +
				     PCI_MSIX_ENTRY_VECTOR_CTRL,
			     4) &
		PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

void pci_fn_msix_mask(struct pci_fn *fn, unsigned int v, bool masked)
{
	uint32_t table;
	unsigned int bar;
	uint64_t word, ctrl_at, bits;
	bool pending;

	if (!fn->msix_cap || v >= fn->msix_vectors)
		return;
	pthread_mutex_lock(&fn->lock);
	table = cfg_get(fn->cfg, fn->msix_cap + PCI_MSIX_TABLE, 4);
	msix_masked(fn, v, &bar, &word);
	ctrl_at = (table & PCI_MSIX_TABLE_OFFSET) + v * PCI_MSIX_ENTRY_SIZE +
		  PCI_MSIX_ENTRY_VECTOR_CTRL;
	pci_bar_store(fn, bar, ctrl_at, 4,
		      masked ? PCI_MSIX_ENTRY_CTRL_MASKBIT : 0);
	bits = pci_bar_load(fn, bar, word, 8);
	pending = !masked && (bits & 1ULL << (v % 64));
	if (pending)
		pci_bar_store(fn, bar, word, 8, bits & ~(1ULL << (v % 64)));
	pthread_mutex_unlock(&fn->lock);
	if (pending)
		pci_fn_interrupt(fn, v);
}

void pci_fn_interrupt(struct pci_fn *fn, unsigned int v)
{
	struct pci_irq_sink sink;
	enum pci_irq_kind kind;
	uint16_t cmd;

	pthread_mutex_lock(&fn->lock);
	sink = fn->sink;
	cmd = command(fn);
	if (fn->msix_cap && cfg_get(fn->cfg, fn->msix_cap + PCI_MSIX_FLAGS, 2) &
				    PCI_MSIX_FLAGS_ENABLE) {
		unsigned int n = (cfg_get(fn->cfg, fn->msix_cap + PCI_MSIX_FLAGS,
					  2) & PCI_MSIX_FLAGS_QSIZE) + 1;
		unsigned int bar;
		uint64_t word;

		if (v >= n) {
			pthread_mutex_unlock(&fn->lock);
			return;
		}
		if (msix_masked(fn, v, &bar, &word)) {
			uint64_t bits = pci_bar_load(fn, bar, word, 8);

			pci_bar_store(fn, bar, word, 8, bits | 1ULL << (v % 64));
			pthread_mutex_unlock(&fn->lock);
			return;
		}
		kind = PCI_IRQ_MSIX;
	} else if (fn->msi_cap &&
		   cfg_get(fn->cfg, fn->msi_cap + PCI_MSI_FLAGS, 2) &
			   PCI_MSI_FLAGS_ENABLE) {
		if (cfg_get(fn->cfg, fn->msi_cap + PCI_MSI_MASK_64, 4) &
		    1u << (v & 31)) {
			pthread_mutex_unlock(&fn->lock);
			return;
		}
		kind = PCI_IRQ_MSI;
	} else {
		if (!fn->cfg[PCI_INTERRUPT_PIN] ||
		    (cmd & PCI_COMMAND_INTX_DISABLE)) {
			pthread_mutex_unlock(&fn->lock);
			return;
		}
		fn->cfg[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
		kind = PCI_IRQ_INTX;
		v = 0;
	}
	pthread_mutex_unlock(&fn->lock);
	if (sink.raise)
		sink.raise(sink.priv, kind, v);
}

void pci_fn_reset(struct pci_fn *fn)
{
	pthread_mutex_lock(&fn->lock);
	memcpy(fn->cfg, fn->cfg_reset, sizeof(fn->cfg));
	if (fn->msix_cap)
		msix_reset(fn);
	pthread_mutex_unlock(&fn->lock);
	if (fn->model->reset)
		fn->model->reset(fn);
}
