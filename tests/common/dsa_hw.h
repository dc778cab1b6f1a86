/* SPDX-License-Identifier: MIT */
/* What the tests write to a DSA and read back: its 64-byte descriptor and
 * 32-byte completion record (facts of the hardware interface). */
#ifndef IOASID_TEST_DSA_HW_H
#define IOASID_TEST_DSA_HW_H

#include <stdint.h>

struct dsa_desc {
	uint32_t pasid_priv; /* pasid:20, rsvd:11, priv:1 */
	uint32_t flags_op;   /* flags:24, opcode:8 */
	uint64_t completion, src, dst;
	uint32_t size; /* or a batch's descriptor count */
	uint16_t int_handle, rsvd;
	uint64_t more[3];
};
_Static_assert(sizeof(struct dsa_desc) == 64, "DSA descriptor");

struct dsa_comp {
	uint8_t status, result, fault_info, rsvd;
	uint32_t done;
	uint64_t fault_addr, rest[2];
};
_Static_assert(sizeof(struct dsa_comp) == 32, "DSA completion record");

#define DSA_FLAGS_OP(flags, op) ((uint32_t)(flags) | (uint32_t)(op) << 24)

#endif
