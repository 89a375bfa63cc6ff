/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * magalloc userspace ABI: the /dev/magalloc character device.
 *
 * Every structure is made of fixed-width fields with explicit padding so
 * that 32-bit and 64-bit callers share one layout.  Every "flags" field
 * must be zero today; the kernel answers -EINVAL otherwise, which leaves
 * room to extend the ABI without breaking old callers.
 *
 * ioctl magic: 0xB7, shared with no other in-tree user of ioctl-number.rst
 * at the time of writing.
 */
#ifndef _UAPI_LINUX_MAGALLOC_H
#define _UAPI_LINUX_MAGALLOC_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define MAGALLOC_ABI_VERSION	1

/**
 * struct magalloc_query - what MAGALLOC_IOC_QUERY reports
 * @abi_version:	out: MAGALLOC_ABI_VERSION of the running module
 * @flags:		in: must be zero
 * @page_size:		out: PAGE_SIZE of the running kernel, in bytes
 * @nr_classes:		out: number of small-object size classes
 * @max_small_size:	out: largest size served from a size class, in bytes
 * @reserved:		must be zero on input; zeroed on output
 */
struct magalloc_query {
	__u32 abi_version;
	__u32 flags;
	__u32 page_size;
	__u32 nr_classes;
	__u64 max_small_size;
	__u64 reserved[3];
};

#define MAGALLOC_IOC_MAGIC	0xB7

#define MAGALLOC_IOC_QUERY	_IOWR(MAGALLOC_IOC_MAGIC, 0x00, struct magalloc_query)

#endif /* _UAPI_LINUX_MAGALLOC_H */
