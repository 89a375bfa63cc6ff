/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * magalloc userspace ABI: the /dev/magalloc character device.
 *
 * Every open() of /dev/magalloc creates a heap: a range of heap_size bytes
 * (see struct magalloc_query) that the caller mmap()s, MAP_SHARED, at
 * offset 0.  The range is a reservation: the heap uses it from offset 0
 * up, growing as allocations need, up to its cap; objects never move, and
 * a mapping stays valid as the heap grows.  The ioctls below allocate and
 * free objects inside that range and speak in offsets into it.  Pages are
 * zeroed before userspace first sees them and come in on fault; touching
 * a page outside every span or large object that holds a live object
 * raises SIGBUS.  The last close() of the heap (including copies made by
 * fork() or passed over a UNIX socket) gives everything back.
 *
 * Per-user limits (module parameters): open() fails with -EMFILE when the
 * opener's real uid has user_heaps_max heaps open, and an allocation
 * fails with -ENOMEM when the uid's heaps together would hold more than
 * user_heap_mb MiB of spans and large objects (what stats' charged
 * counts).  A heap opened with CAP_SYS_RESOURCE is not refused by either.
 *
 * Every structure is made of fixed-width fields with explicit padding, so
 * 32-bit and 64-bit callers share one layout.  Every "flags" and
 * "reserved" field must be zero today; the kernel answers -EINVAL
 * otherwise, which leaves room to extend the ABI.  Pointers to user
 * memory are passed as __u64.
 *
 * ioctl magic: 0xB9, unused in the kernel's ioctl-number.rst (6.12).
 */
#ifndef _UAPI_LINUX_MAGALLOC_H
#define _UAPI_LINUX_MAGALLOC_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define MAGALLOC_ABI_VERSION	1

/* Most offsets one MAGALLOC_IOC_ALLOC_BULK or _FREE_BULK handles. */
#define MAGALLOC_MAX_BULK	1024

/**
 * struct magalloc_class - one size class
 * @size: object size in bytes
 * @span_bytes: bytes in one span of the class
 * @objects: objects in one span
 * @reserved: zero
 */
struct magalloc_class {
	__u32 size;
	__u32 span_bytes;
	__u32 objects;
	__u32 reserved;
};

/**
 * struct magalloc_query - MAGALLOC_IOC_QUERY: what this heap is
 * @abi_version: out: MAGALLOC_ABI_VERSION of the running module
 * @flags: in: must be zero
 * @page_size: out: the kernel's page size in bytes
 * @nr_classes: out: number of size classes
 * @max_small_size: out: largest size served by a size class
 * @heap_size: out: bytes of the heap's range, the length to mmap(): a
 *	reservation the heap grows in, up to @cap
 * @max_alloc: out: largest size one allocation may have
 * @cap: out: the heap's byte cap (see MAGALLOC_IOC_SET_CAP)
 * @max_bulk: out: MAGALLOC_MAX_BULK
 * @classes_len: in: entries at @classes; min(@classes_len, @nr_classes)
 *	are written, smallest class first
 * @classes: in: user pointer to struct magalloc_class[@classes_len], or 0
 * @reserved: must be zero
 */
struct magalloc_query {
	__u32 abi_version;
	__u32 flags;
	__u32 page_size;
	__u32 nr_classes;
	__u64 max_small_size;
	__u64 heap_size;
	__u64 max_alloc;
	__u64 cap;
	__u32 max_bulk;
	__u32 classes_len;
	__u64 classes;
	__u64 reserved[2];
};

/**
 * struct magalloc_alloc - MAGALLOC_IOC_ALLOC: one object
 * @size: in: bytes, 1 to max_alloc
 * @offset: out: where the object starts in the heap's range; aligned to
 *	8 bytes, to its size for powers of two up to max_small_size, to a
 *	page beyond
 * @flags: in: must be zero
 * @reserved: must be zero
 */
struct magalloc_alloc {
	__u64 size;
	__u64 offset;
	__u32 flags;
	__u32 reserved;
};

/**
 * struct magalloc_free - MAGALLOC_IOC_FREE: one object
 * @offset: in: an offset MAGALLOC_IOC_ALLOC or _ALLOC_BULK gave and that
 *	was not freed since
 * @flags: in: must be zero
 * @reserved: must be zero
 */
struct magalloc_free {
	__u64 offset;
	__u32 flags;
	__u32 reserved;
};

/**
 * struct magalloc_bulk - MAGALLOC_IOC_ALLOC_BULK and MAGALLOC_IOC_FREE_BULK
 * @size: in: bytes per object for ALLOC_BULK (1 to max_small_size); must
 *	be zero for FREE_BULK
 * @offsets: in: user pointer to __u64[@count]: written by ALLOC_BULK,
 *	read by FREE_BULK
 * @count: in: entries, 1 to MAGALLOC_MAX_BULK
 * @flags: in: must be zero
 * @done: out: how many entries, from the first, succeeded.  ALLOC_BULK
 *	stops at the heap's cap, the user's user_heap_mb (see above) or
 *	when memory runs out and returns 0 if it
 *	allocated at least one object.  FREE_BULK stops at the first bad
 *	offset and fails with -EINVAL; the entries before it are freed.
 *	Both write @done before anything else: a struct that cannot be
 *	written fails with -EFAULT, nothing allocated or freed.
 * @reserved: must be zero
 */
struct magalloc_bulk {
	__u64 size;
	__u64 offsets;
	__u32 count;
	__u32 flags;
	__u32 done;
	__u32 reserved;
};

/**
 * struct magalloc_class_stats - one size class of a heap
 * @objects: objects allocated
 * @spans: spans held
 * @bytes: bytes of those spans
 */
struct magalloc_class_stats {
	__u64 objects;
	__u64 spans;
	__u64 bytes;
};

/**
 * struct magalloc_stats - MAGALLOC_IOC_STATS: the heap's counters
 * @flags: in: must be zero
 * @classes_len: in: entries at @classes; min(@classes_len, nr_classes) are
 *	written, smallest class first
 * @classes: in: user pointer to struct magalloc_class_stats[@classes_len],
 *	or 0
 * @cap: out: byte cap
 * @charged: out: bytes the heap holds and counts against its cap (spans
 *	and large objects, whole pages)
 * @resident: out: bytes of those pages faulted in so far
 * @live_objects: out: objects allocated
 * @live_bytes: out: bytes of those objects (class size, or whole pages)
 * @allocs: out: successful allocations, ever
 * @frees: out: successful frees, ever
 * @failed_allocs: out: allocations refused (cap, user limit or no memory)
 * @bad_frees: out: frees refused (not a live object of this heap)
 * @bad_requests: out: ioctls refused for bad arguments (-EINVAL, -EFAULT,
 *	-ENOTTY)
 * @reserved: zero
 */
struct magalloc_stats {
	__u32 flags;
	__u32 classes_len;
	__u64 classes;
	__u64 cap;
	__u64 charged;
	__u64 resident;
	__u64 live_objects;
	__u64 live_bytes;
	__u64 allocs;
	__u64 frees;
	__u64 failed_allocs;
	__u64 bad_frees;
	__u64 bad_requests;
	__u64 reserved[4];
};

/**
 * struct magalloc_cap - MAGALLOC_IOC_SET_CAP: the heap's byte cap
 * @cap: in: new cap in bytes.  Lowering it is always allowed (below what
 *	the heap holds it only stops new allocations); raising it needs
 *	CAP_SYS_RESOURCE (-EPERM otherwise).
 * @flags: in: must be zero
 * @reserved: must be zero
 */
struct magalloc_cap {
	__u64 cap;
	__u32 flags;
	__u32 reserved;
};

#define MAGALLOC_IOC_MAGIC	0xB9

#define MAGALLOC_IOC_QUERY	_IOWR(MAGALLOC_IOC_MAGIC, 0x00, struct magalloc_query)
#define MAGALLOC_IOC_ALLOC	_IOWR(MAGALLOC_IOC_MAGIC, 0x01, struct magalloc_alloc)
#define MAGALLOC_IOC_FREE	_IOW(MAGALLOC_IOC_MAGIC, 0x02, struct magalloc_free)
#define MAGALLOC_IOC_ALLOC_BULK	_IOWR(MAGALLOC_IOC_MAGIC, 0x03, struct magalloc_bulk)
#define MAGALLOC_IOC_FREE_BULK	_IOWR(MAGALLOC_IOC_MAGIC, 0x04, struct magalloc_bulk)
#define MAGALLOC_IOC_STATS	_IOWR(MAGALLOC_IOC_MAGIC, 0x05, struct magalloc_stats)
#define MAGALLOC_IOC_SET_CAP	_IOW(MAGALLOC_IOC_MAGIC, 0x06, struct magalloc_cap)

#endif /* _UAPI_LINUX_MAGALLOC_H */
