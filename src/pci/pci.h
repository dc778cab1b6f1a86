/* SPDX-License-Identifier: MIT */
/*
 * A PCI function as a device model presents it: configuration space with
 * the standard header and a capability list, BARs backed by memory that
 * can be mapped, interrupts raised by vector, and DMA through whatever
 * domain the function's device is attached to.
 *
 * The model owns what the function does; this layer owns what every PCI
 * function does alike: which configuration bits software may write, BAR
 * sizing, the command register's effects (memory decode, bus mastering,
 * INTx disable), the capability chain, and function-level reset.  How
 * interrupts leave the function and where DMA goes are given by whoever
 * exposes it (the VFIO device, vfio/): pci_fn_set_irq_sink(), and
 * pci_fn_set_dma().
 *
 * BAR memory is a memfd mapped here; the exposer may hand the memfd to a
 * client to map.  Writes through the exposer's region access tell the
 * model at once (ops->bar_write); writes through a client's mapping are
 * only seen when the model looks (ops->poll), as hardware registers seen
 * through a doorbell page would be by a device that polls them.
 */
#ifndef IOASID_PCI_PCI_H
#define IOASID_PCI_PCI_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCI_CFG_SIZE 4096 /* PCI Express: extended configuration space */
#define PCI_NUM_BARS 6

struct pci_fn;
struct pci_dma_path;
struct ioasid_dev;

struct pci_bar {
	uint64_t size;  /* a power of two, >= 16; 0: no BAR here */
	/* [0, trapped) holds registers whose every write the model must
	 * see as it happens: a client maps them read-only, and its stores
	 * come as region writes (bar_write). */
	uint64_t trapped;
	uint32_t flags; /* PCI_BASE_ADDRESS_* type bits of the register */
	int memfd;
	unsigned char *mem; /* size bytes, mapped from memfd */
};

/*
 * What a model does, by name.  init sets the function up (identity,
 * BARs, capabilities) from its key=value options (NULL: none), which it
 * rejects with -EINVAL; reset returns it to its state after init (FLR,
 * VFIO_DEVICE_RESET); bar_write is told of a write through region
 * access; poll looks at BAR memory a client may have written through a
 * mapping, does what it asks, and says whether there was anything.  The
 * function's lock is not held for any of them.
 */
struct pci_model {
	const char *name;
	size_t priv_size; /* zeroed memory for the model, pci_fn_priv() */
	int (*init)(struct pci_fn *fn, const char *options);
	void (*reset)(struct pci_fn *fn);
	void (*bar_write)(struct pci_fn *fn, unsigned int bar, uint64_t off,
			  size_t len);
	bool (*poll)(struct pci_fn *fn);
	void (*fini)(struct pci_fn *fn);
	struct pci_model *next;
};

void pci_register_model(struct pci_model *m);
const struct pci_model *pci_find_model(const char *name);
#define PCI_MODEL(name, ...)                                            \
	static struct pci_model name = { __VA_ARGS__ };                 \
	__attribute__((constructor)) static void register_##name(void)  \
	{                                                               \
		pci_register_model(&name);                              \
	}

/* Where the function's interrupts go: INTx is vector 0 of its own kind. */
enum pci_irq_kind { PCI_IRQ_INTX, PCI_IRQ_MSI, PCI_IRQ_MSIX };
struct pci_irq_sink {
	/* 0 when delivered, -EAGAIN when the vector is not set up (the
	 * interrupt is then pending, as PBA bits are). */
	int (*raise)(void *priv, enum pci_irq_kind kind, unsigned int vector);
	void *priv;
};

/*
 * Lock order: lock is innermost.  A model (with its own lock held), the
 * engine and the sink's owner take it; nothing is called with it held
 * (an interrupt goes to the sink after it is let go).  lock guards
 * configuration space and the sink; BAR memory is the model's (and its
 * client's, through mappings).
 */
struct pci_fn {
	const struct pci_model *model;
	void *priv;
	uint16_t domain;
	uint8_t bus, devfn;
	char bdf[16]; /* "DDDD:BB:DD.F" */
	pthread_mutex_t lock;
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t cfg_reset[PCI_CFG_SIZE]; /* as it was after init */
	uint8_t wmask[PCI_CFG_SIZE]; /* bits software may write */
	uint8_t w1c[PCI_CFG_SIZE];   /* bits a write of 1 clears */
	uint16_t cap_end;            /* where the next capability goes */
	uint16_t pm_cap, msi_cap, msix_cap, exp_cap; /* 0: none */
	unsigned int msix_vectors;
	bool ready; /* init succeeded: fini undoes it */
	struct pci_bar bars[PCI_NUM_BARS];
	struct pci_irq_sink sink;
	_Atomic(struct ioasid_dev *) dma; /* NULL: DMA goes nowhere */
	_Atomic(const struct pci_dma_path *) dma_path; /* or this way */
	_Atomic unsigned int dma_errors;  /* DMA the function could not do */
	/* What it did: [0] reads of memory, [1] writes. */
	_Atomic uint64_t dma_ops[2], dma_bytes[2];
};

static inline void *pci_fn_priv(struct pci_fn *fn)
{
	return fn->priv;
}

/*
 * A function of model `name` at domain:bus:devfn with its options:
 * 0, -ENODEV for no such model, -EINVAL for options it refuses, -ENOMEM.
 */
int pci_fn_create(const char *name, const char *options, uint16_t domain,
		  uint8_t bus, uint8_t devfn, struct pci_fn **out);
void pci_fn_destroy(struct pci_fn *fn);

/* --- for models, in init ------------------------------------------- */

/* Vendor, device, class code (24 bits), revision, subsystem ids. */
void pci_fn_set_id(struct pci_fn *fn, uint16_t vendor, uint16_t device,
		   uint32_t class_code, uint8_t revision, uint16_t sub_vendor,
		   uint16_t sub_device);
/* BAR n of size bytes (a power of two), memory, 64-bit when asked (it
 * then takes n + 1 too): -EINVAL or -ENOMEM. */
int pci_fn_add_bar(struct pci_fn *fn, unsigned int n, uint64_t size,
		   bool is64, bool prefetch);
/* The first len bytes of BAR n are registers whose writes must be seen
 * at once, mapped or not (page-rounded). */
void pci_fn_trap_bar(struct pci_fn *fn, unsigned int n, uint64_t len);
/* Capabilities, chained in the order added; 0 or -ENOSPC. */
int pci_fn_add_pm(struct pci_fn *fn);
int pci_fn_add_msi(struct pci_fn *fn, unsigned int vectors);
int pci_fn_add_msix(struct pci_fn *fn, unsigned int vectors,
		    unsigned int bar, uint32_t table_off, uint32_t pba_off);
int pci_fn_add_pcie(struct pci_fn *fn, bool flr);
/* INTx pin A. */
void pci_fn_set_intx(struct pci_fn *fn);
/* A device-specific 32-bit configuration register: the bits software may
 * write, or clear by writing ones (error status). */
void pci_fn_cfg_writable(struct pci_fn *fn, uint32_t off, uint32_t mask);
void pci_fn_cfg_w1c(struct pci_fn *fn, uint32_t off, uint32_t mask);
/* The model sets one (status it reports), whatever software may write. */
void pci_fn_cfg_set(struct pci_fn *fn, uint32_t off, uint32_t v);

/* --- configuration space (the exposer's region, or a test's) -------- */

/* len bytes at off; whatever is outside the space reads as ones. */
void pci_cfg_read(struct pci_fn *fn, uint32_t off, void *buf, size_t len);
void pci_cfg_write(struct pci_fn *fn, uint32_t off, const void *buf,
		   size_t len);

/* --- BARs -------------------------------------------------------------- */

/*
 * Region access to BAR n: -EINVAL past its end (or no such BAR), -EIO
 * while memory decode is off (reads then give ones).
 */
int pci_bar_read(struct pci_fn *fn, unsigned int n, uint64_t off, void *buf,
		 size_t len);
int pci_bar_write(struct pci_fn *fn, unsigned int n, uint64_t off,
		  const void *buf, size_t len);

/* Register-sized accesses to BAR memory from the model's side. */
/* (Aligned to their size: the model's registers are.) */
static inline uint64_t pci_bar_load(struct pci_fn *fn, unsigned int n,
				    uint64_t off, unsigned int bytes)
{
	unsigned char *p = fn->bars[n].mem + off;

	switch (bytes) {
	case 1: return atomic_load((_Atomic uint8_t *)p);
	case 2: return atomic_load((_Atomic uint16_t *)p);
	case 4: return atomic_load((_Atomic uint32_t *)p);
	default: return atomic_load((_Atomic uint64_t *)p);
	}
}

static inline void pci_bar_store(struct pci_fn *fn, unsigned int n,
				 uint64_t off, unsigned int bytes, uint64_t v)
{
	unsigned char *p = fn->bars[n].mem + off;

	switch (bytes) {
	case 1: atomic_store((_Atomic uint8_t *)p, (uint8_t)v); break;
	case 2: atomic_store((_Atomic uint16_t *)p, (uint16_t)v); break;
	case 4: atomic_store((_Atomic uint32_t *)p, (uint32_t)v); break;
	default: atomic_store((_Atomic uint64_t *)p, v); break;
	}
}

/* --- what the function does ------------------------------------------ */

/* Whether the command register lets it answer memory and master DMA. */
bool pci_fn_mem_enabled(struct pci_fn *fn);
bool pci_fn_master_enabled(struct pci_fn *fn);

/*
 * DMA at iova (PASID pasid, 0: none) through the function's device:
 * 0, -EIO when bus mastering is off or nothing is attached, else the
 * errors of ioasid_dev_dma (-ENOENT: an I/O page fault).  Each failure
 * counts in dma_errors.
 */
int pci_fn_dma(struct pci_fn *fn, uint32_t pasid, uint64_t iova, void *buf,
	       size_t len, bool write);

/* The function's DMA so far: transfers and bytes done each way, and
 * transfers it could not do. */
struct pci_dma_stats {
	uint64_t reads, writes, read_bytes, write_bytes, errors;
};
void pci_fn_dma_stats(struct pci_fn *fn, struct pci_dma_stats *st);

/*
 * Raise MSI-X (or MSI) vector v; with neither enabled, assert INTx unless
 * the command register disables it.  A masked MSI-X vector, or one the
 * sink has no route for, sets its pending bit instead.
 */
void pci_fn_interrupt(struct pci_fn *fn, unsigned int v);

/* Whether MSI-X / MSI is enabled in configuration space. */
bool pci_fn_msix_enabled(struct pci_fn *fn);
bool pci_fn_msi_enabled(struct pci_fn *fn);
/* The exposer turns MSI-X or MSI on and off (VFIO_DEVICE_SET_IRQS). */
void pci_fn_set_msix(struct pci_fn *fn, bool on);
void pci_fn_set_msi(struct pci_fn *fn, bool on);

/*
 * Mask or unmask MSI-X vector v in the table, as the host kernel does for
 * the vectors userspace routes: unmasking sends what was pending.
 */
void pci_fn_msix_mask(struct pci_fn *fn, unsigned int v, bool masked);

void pci_fn_set_irq_sink(struct pci_fn *fn, const struct pci_irq_sink *sink);
void pci_fn_set_dma(struct pci_fn *fn, struct ioasid_dev *dev);

/*
 * DMA another way than through a domain: a mediated device's, which
 * reaches memory only by the software path.  rw returns 0 or -errno as
 * pci_fn_dma; path (the caller's, NULL: none) outlives its use.
 */
struct pci_dma_path {
	int (*rw)(void *priv, uint32_t pasid, uint64_t iova, void *buf,
		  size_t len, bool write);
	void *priv;
};
void pci_fn_set_dma_path(struct pci_fn *fn, const struct pci_dma_path *path);

/* Function-level reset: configuration and the model, back to after init. */
void pci_fn_reset(struct pci_fn *fn);

/*
 * The engine: one thread that has each function it serves look at what
 * a client wrote through a mapping (ops->poll), often while they have
 * work and less often while idle (from 20 us to 1 ms apart).  kick wakes
 * it at once (a client did something).  remove returns once fn is no
 * longer polled.
 */
int pci_engine_add(struct pci_fn *fn);
void pci_engine_remove(struct pci_fn *fn);
void pci_engine_kick(void);

#endif
