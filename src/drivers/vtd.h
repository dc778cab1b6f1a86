/* SPDX-License-Identifier: MIT */
/*
 * A model of an Intel VT-d IOMMU in scalable mode: paging domains in the
 * real table formats (first level, the x86 format, for plain DMA
 * domains; second level for nest parents and dirty tracking, whose A/D
 * bits the first level does not offer the way iommufd needs), 48-bit
 * input addresses, 4 KiB / 2 MiB / 1 GiB pages, 20-bit PASIDs, the
 * interrupt window reserved, and GET_HW_INFO answered with capability
 * registers that say so.
 */
#ifndef IOASID_DRIVERS_VTD_H
#define IOASID_DRIVERS_VTD_H

#include <stdbool.h>
#include <stdint.h>

struct ioasid_ctx;
struct ioasid_device;

extern const struct ioasid_iommu_ops ioasid_vtd_iommu_ops;

/* The interrupt address window every VT-d device has reserved. */
#define VTD_MSI_START 0xfee00000ULL
#define VTD_MSI_LAST 0xfeefffffULL

/* A VT-d device bound to ctx; destroyed with its object. */

#endif
