/* SPDX-License-Identifier: MIT */
/*
 * liburcu-bp with its read side inline, for the files whose read sections
 * a DMA pays for: out of line, a section cost about as much as the rest
 * of a translation.  The inline read side is written to be callable from
 * code under any licence.  Include this before anything that includes
 * <urcu-bp.h>.
 *
 * Not in sanitizer builds: liburcu-bp declares its reader record 128-byte
 * aligned but hands records out at 32-byte steps, which its own
 * out-of-line read side keeps from UBSan's sight and an inline copy does
 * not.  GCC says ASan is on with __SANITIZE_ADDRESS__, clang through
 * __has_feature; UBSan comes with ASan in every build of ours.
 */
#ifndef IOASID_CORE_URCU_INLINE_H
#define IOASID_CORE_URCU_INLINE_H

#if defined(__SANITIZE_ADDRESS__)
#define IOASID_URCU_OUT_OF_LINE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define IOASID_URCU_OUT_OF_LINE 1
#endif
#endif

#ifndef IOASID_URCU_OUT_OF_LINE
#define _LGPL_SOURCE
#endif
#include <urcu-bp.h>

#endif
