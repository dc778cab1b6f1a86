/* SPDX-License-Identifier: MIT */
/*
 * What an IOMMU driver provides.  The driver makes the right domain for a
 * device directly: the core never picks a format, a page size or an
 * aperture, and has no bus or group special cases.
 */
#ifndef IOASID_IOMMU_DRIVER_H
#define IOASID_IOMMU_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ioasid_ctx;
struct ioasid_device;
struct ioasid_hw_queue;
struct ioasid_domain;
struct ioasid_ucmd;
struct ioasid_viommu;

/* Driver-specific data from userspace (IOMMU_HWPT_ALLOC's data_*). */
struct ioasid_user_data {
	struct ioasid_ucmd *u;
	uint32_t type;
	uint32_t len;
	uint64_t uptr;
};

/*
 * Copy the driver's struct from userspace: at least min_len bytes and at
 * most len (-EINVAL otherwise), zero past what the user gave.
 */
int ioasid_user_data_copy(const struct ioasid_user_data *data, void *dst,
			  size_t len, size_t min_len);

/* An array of driver structs (IOMMU_HWPT_INVALIDATE's entries). */
struct ioasid_user_data_array {
	struct ioasid_ucmd *u;
	uint32_t type;
	uint32_t entry_len;
	uint32_t entry_num; /* the driver sets it to the entries it handled */
	uint64_t uptr;
};

/* Write the driver's struct back over the user's (what fits of it). */
int ioasid_user_data_write(const struct ioasid_user_data *data,
			   const void *src, size_t len);

/* Entry index, as ioasid_user_data_copy; -EINVAL for another type. */
int ioasid_user_data_array_copy(const struct ioasid_user_data_array *array,
				uint32_t type, uint32_t index, void *dst,
				size_t len, size_t min_len);

/* IOVA a device can never use for DMA (an MSI window, say). */
struct ioasid_resv_region {
	uint64_t start, last;
};

struct ioasid_iommu_ops {
	const char *name;
	/*
	 * A paging domain for dev.  flags are IOMMU_HWPT_ALLOC_* (those the
	 * driver cannot honour: -EOPNOTSUPP); data is NULL or the user's
	 * driver data (an unknown type: -EOPNOTSUPP).
	 */
	int (*domain_alloc_paging)(struct ioasid_device *dev, uint32_t flags,
				   const struct ioasid_user_data *data,
				   struct ioasid_domain **out);
	/* A nested domain for dev over paging domain parent (stage 2),
	 * from the user's stage-1 description in data; made through
	 * viommu, or straight over the parent when that is NULL. */
	int (*domain_alloc_nested)(struct ioasid_device *dev,
				   struct ioasid_domain *parent,
				   struct ioasid_viommu *viommu, uint32_t flags,
				   const struct ioasid_user_data *data,
				   struct ioasid_domain **out);
	/* Optional: make v (of v->type, over v->hwpt) a vIOMMU of dev's
	 * IOMMU, with the driver's data or NULL; -EOPNOTSUPP for a type it
	 * does not have.  viommu_destroy undoes it. */
	int (*viommu_init)(struct ioasid_viommu *v, struct ioasid_device *dev,
			   const struct ioasid_user_data *data);
	void (*viommu_destroy)(struct ioasid_viommu *v);
	/* Optional: the guest's cache invalidations through v, entry by
	 * entry; sets array->entry_num to the entries handled. */
	int (*viommu_cache_invalidate)(struct ioasid_viommu *v,
				       struct ioasid_user_data_array *array);
	/*
	 * Optional: HW queues of a type on v.  hw_queue_init makes q (its
	 * pages pinned, base_pa where it starts) the queue at index and
	 * sets q->priv; hw_queue_destroy undoes it.
	 */
	bool (*hw_queue_supported)(const struct ioasid_viommu *v,
				   uint32_t type);
	int (*hw_queue_init)(struct ioasid_hw_queue *q, uint32_t index,
			     uint64_t base_pa);
	void (*hw_queue_destroy)(struct ioasid_hw_queue *q);
	/* Optional: dev's pasid no longer uses any domain (blocked). */
	void (*detach_dev)(struct ioasid_device *dev, uint32_t pasid);
	/* May dev use dom?  -EINVAL when it cannot, as hardware refuses. */
	int (*attach_dev)(struct ioasid_domain *dom, struct ioasid_device *dev,
			  uint32_t pasid);
	/*
	 * IOMMU_GET_HW_INFO: the driver's info struct of *type (DEFAULT
	 * asks for the driver's own; another it does not have gives
	 * -EOPNOTSUPP) into buf, up to *len bytes; *len gets its length.
	 */
	int (*hw_info)(struct ioasid_device *dev, uint32_t *type, void *buf,
		       size_t *len);
	uint64_t (*capabilities)(struct ioasid_device *dev);
	/* Optional: the device's reserved regions, at most max of them;
	 * returns how many. */
	size_t (*resv_regions)(struct ioasid_device *dev,
			       struct ioasid_resv_region *out, size_t max);
	/* Destroy the driver's part of a device being unbound. */
	void (*release_device)(struct ioasid_device *dev);
};

/*
 * Bind a device of driver ops to ctx, under a reserved id: the binder
 * publishes it (ioasid_obj_publish, or u->new_obj) once nothing it does
 * can fail any more.  An owned device belongs to the code that bound it,
 * which unbinds it (IOMMU_DESTROY answers EBUSY); any other goes with
 * IOMMU_DESTROY, which detaches it first, like a device unplugged.
 */
int ioasid_device_bind(struct ioasid_ctx *ctx,
		       const struct ioasid_iommu_ops *ops, void *drv,
		       uint32_t max_pasid_log2, bool owned,
		       struct ioasid_device **out);
/* The driver's part of dev, as given to ioasid_device_bind(). */
void *ioasid_device_drv(const struct ioasid_device *dev);

/*
 * How a device behind an IOMMU model (enum ioasid_device_model) joins a
 * context: create binds one to ctx, under a reserved id
 * (ioasid_device_bind), with PASID support or not, owned by the caller
 * (a VFIO device file) or not (IOASID_DEVICE_ALLOC's).  Each driver
 * registers its own when the library is loaded (IOASID_DEVICE_FACTORY);
 * nothing lists them.
 */
struct ioasid_device_factory {
	uint32_t model;
	int (*create)(struct ioasid_ctx *ctx, bool pasid, bool owned,
		      struct ioasid_device **out);
	struct ioasid_device_factory *next;
};
void ioasid_register_device_factory(struct ioasid_device_factory *m);
const struct ioasid_device_factory *ioasid_device_factory_find(uint32_t model);
#define IOASID_DEVICE_FACTORY(name, model_, create_)                    \
	static struct ioasid_device_factory name = {                    \
		.model = model_, .create = create_,                     \
	};                                                              \
	__attribute__((constructor)) static void register_##name(void)  \
	{                                                               \
		ioasid_register_device_factory(&name);                  \
	}

#endif
