/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libmagalloc: a userspace allocator over /dev/magalloc heaps.
 *
 * mag_open() opens /dev/magalloc, which makes a new heap in the kernel, and
 * maps the heap's whole range into the caller.  Objects come from the heap
 * through per-thread magazines, one per size class (TCMalloc's and Go's
 * mcache): a magazine hit costs no system call; a miss refills or drains
 * a batch of objects with one MAGALLOC_IOC_ALLOC_BULK or _FREE_BULK ioctl.
 * Objects larger than the largest size class come from and go back to the
 * kernel one at a time (MAGALLOC_IOC_ALLOC and _FREE).
 *
 * Memory: pages come in zeroed on first touch.  An object's bytes are zero
 * the first time its page is used, but an object recycled through a
 * magazine or a span keeps what its previous owner wrote (as with malloc()).
 * Alignment: 8 bytes; objects whose size is a power of two up to the
 * largest class are aligned to their size; large objects to a page.
 * mag_aligned_alloc() and mag_posix_memalign() give more.
 * Touching bytes outside the pages of allocated objects raises SIGBUS.
 *
 * Threads: every function may be called from any thread at the same time,
 * except mag_close(), which must be the last call on a heap: every other
 * thread must have stopped using the heap (and every object in it) first.
 * mag_close() drains the calling thread's magazines and disowns the other
 * threads' ones (their objects go back with the heap); their bookkeeping
 * is freed by those threads' next call or exit.  A thread's magazines go
 * back to the kernel when the thread exits (a pthread key destructor) or
 * on mag_thread_flush().
 *
 * fork(): the child shares the heap with the parent (MAP_SHARED mapping,
 * same open file).  The objects in the magazines at the time of fork()
 * stay the parent's; the child starts with empty magazines.  Either
 * process may free objects the other allocated.
 *
 * Errors: functions that fail return NULL, (uint64_t)-1 or -1 and set
 * errno.
 */
#ifndef MAGALLOC_LIB_H
#define MAGALLOC_LIB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the library, and the /dev/magalloc ABI it speaks. */
#define MAG_LIB_VERSION	"1.0.0"
#define MAG_LIB_ABI	1

/* mag_offset() of a pointer that is not in the heap's range */
#define MAG_NO_OFFSET	UINT64_MAX

struct mag_heap;

/**
 * struct mag_lib_stats - the library's counters for one heap, summed over
 *	every thread that used it (threads that exited included)
 * @mallocs: mag_malloc() calls that returned an object
 * @frees: mag_free() calls with a pointer other than NULL
 * @alloc_hits: small mallocs served by a magazine, without a system call
 * @alloc_misses: small mallocs that found the magazine empty and refilled it
 * @free_hits: small frees kept in a magazine, without a system call
 * @free_misses: small frees that found the magazine full and drained it
 * @refills: MAGALLOC_IOC_ALLOC_BULK calls
 * @drains: MAGALLOC_IOC_FREE_BULK calls
 * @large_allocs: MAGALLOC_IOC_ALLOC calls (objects above the largest class)
 * @direct_frees: MAGALLOC_IOC_FREE calls (large objects, or pointers the
 *	library could not place in a class)
 * @failed_allocs: mag_malloc() calls that returned NULL
 * @bad_frees: frees the kernel refused (not a live object of the heap)
 * @cached_objects: objects sitting in magazines now
 * @cached_bytes: bytes of those objects (class sizes)
 * @threads: threads that hold magazines for the heap now
 */
struct mag_lib_stats {
	unsigned long long mallocs;
	unsigned long long frees;
	unsigned long long alloc_hits;
	unsigned long long alloc_misses;
	unsigned long long free_hits;
	unsigned long long free_misses;
	unsigned long long refills;
	unsigned long long drains;
	unsigned long long large_allocs;
	unsigned long long direct_frees;
	unsigned long long failed_allocs;
	unsigned long long bad_frees;
	unsigned long long cached_objects;
	unsigned long long cached_bytes;
	unsigned long long threads;
};

/**
 * mag_open() - open a new heap
 *
 * Opens /dev/magalloc (a new, empty heap), asks the kernel for its size
 * classes and range, and maps the whole range.
 *
 * Return: the heap, or NULL with errno set (ENOENT: no /dev/magalloc;
 * EPROTO: the module speaks another ABI version; anything open(), ioctl()
 * or mmap() may say).
 */
struct mag_heap *mag_open(void);

/**
 * mag_close() - close a heap and unmap it
 * @h: the heap, or NULL (nothing happens)
 *
 * Every object of the heap is gone afterwards (unless a forked child or a
 * process that received the descriptor still holds the heap open).  No
 * other thread may use @h or its objects any more.
 */
void mag_close(struct mag_heap *h);

/**
 * mag_malloc() - allocate an object
 * @h: the heap
 * @size: bytes; 0 gives a unique smallest object
 *
 * Return: the object, or NULL with errno set: ENOMEM (the heap's cap, its
 * range or kernel memory is exhausted, or @size is beyond the largest
 * object the kernel allows), EINVAL (@h is NULL).
 */
void *mag_malloc(struct mag_heap *h, size_t size);

/**
 * mag_calloc() - allocate a zeroed array
 * @h: the heap
 * @nmemb: elements
 * @size: bytes per element
 *
 * Return: the zeroed object, or NULL with errno set (ENOMEM also when
 * @nmemb * @size overflows).
 */
void *mag_calloc(struct mag_heap *h, size_t nmemb, size_t size);

/**
 * mag_realloc() - resize an object, as realloc() does
 * @h: the heap
 * @p: a live object of @h, or NULL (then it is mag_malloc(@h, @size))
 * @size: new size in bytes; 0 frees @p and returns NULL (glibc's rule)
 *
 * The object stays where it is when @size fits in its usable size and a
 * new object for @size would be more than half as big; otherwise a
 * new object gets the first min(old usable size, @size) bytes and @p is
 * freed.  A shrink for which no new object can be had stays in place.
 *
 * Return: the object, or NULL with errno set: ENOMEM (no memory for a
 * larger object: @p is left as it was), EINVAL (@p is not an object of
 * @h: it is left alone).
 */
void *mag_realloc(struct mag_heap *h, void *p, size_t size);

/**
 * mag_aligned_alloc() - allocate an aligned object, as aligned_alloc() does
 * @h: the heap
 * @align: alignment in bytes, a power of two (1 to max_alloc, 4 MiB)
 * @size: bytes; any value (C17), 0 gives a unique object
 *
 * Up to 8 bytes this is mag_malloc().  Otherwise the object comes from the
 * smallest size class whose objects are all aligned to @align (up to a
 * page: a size that is a multiple of @align; beyond: a power of two of at
 * least @align), or, when no class fits, is a large object: page-aligned,
 * and beyond a page 2^k pages on a 2^k-page boundary, with k the smallest
 * that holds both @size and @align.  mag_usable_size() and mag_free() work
 * on it as on any object.
 *
 * Return: the object, or NULL with errno set: EINVAL (@align is 0 or not
 * a power of two, or @h is NULL), ENOMEM (as mag_malloc(), or @align or
 * the rounded size beyond max_alloc).
 */
void *mag_aligned_alloc(struct mag_heap *h, size_t align, size_t size);

/**
 * mag_posix_memalign() - allocate an aligned object, as posix_memalign()
 * @h: the heap
 * @pp: where the object is stored (untouched on failure)
 * @align: alignment, a power of two and a multiple of sizeof(void *)
 * @size: bytes
 *
 * mag_aligned_alloc() with POSIX's way of failing: errno is not changed.
 *
 * Return: 0, EINVAL (@align, or @pp or @h NULL) or ENOMEM.
 */
int mag_posix_memalign(struct mag_heap *h, void **pp, size_t align, size_t size);

/**
 * mag_free() - free an object
 * @h: the heap the object came from
 * @p: the object, as mag_malloc() returned it, or NULL (nothing happens)
 *
 * A pointer that is not a live object of @h is counted in
 * mag_lib_stats.bad_frees (and, if it reaches the kernel, in the heap's
 * bad_frees) and otherwise ignored; freeing an object twice is undefined,
 * as with free().
 */
void mag_free(struct mag_heap *h, void *p);

/**
 * mag_usable_size() - bytes usable in an object
 * @h: the heap
 * @p: a live object of @h
 *
 * Every byte of it may be used, as with malloc_usable_size(): the
 * object's size class, or its whole pages for a large object (whatever
 * function allocated it).
 *
 * Return: that size; 0 for NULL, for a pointer outside the heap and for
 * one that is not the start of an object as far as the library knows.
 */
size_t mag_usable_size(struct mag_heap *h, const void *p);

/**
 * mag_ptr() - the address of an offset in the heap's range
 * @h: the heap
 * @off: an offset, as the kernel's ioctls speak them
 *
 * Return: the address, or NULL if @off is beyond the range.
 */
void *mag_ptr(struct mag_heap *h, uint64_t off);

/**
 * mag_offset() - the offset of an address in the heap's range
 * @h: the heap
 * @p: an address
 *
 * Return: the offset, or MAG_NO_OFFSET if @p is outside the range.
 */
uint64_t mag_offset(struct mag_heap *h, const void *p);

/**
 * mag_fd() - the heap's /dev/magalloc file descriptor
 * @h: the heap
 *
 * For the ioctls of the uapi header linux/magalloc.h, such as
 * MAGALLOC_IOC_STATS and MAGALLOC_IOC_SET_CAP.
 * Objects allocated with the ioctls directly must be freed with them too.
 *
 * Return: the descriptor; it stays the library's (do not close it).
 */
int mag_fd(struct mag_heap *h);

/**
 * mag_heap_size() - bytes of the heap's range (the mapping's length)
 * @h: the heap
 *
 * Return: the size.
 */
size_t mag_heap_size(struct mag_heap *h);

/**
 * mag_thread_flush() - give the calling thread's cached objects back
 * @h: the heap
 *
 * Drains every magazine the calling thread holds for @h to the kernel, so
 * that the heap's counters show only objects in use.
 */
void mag_thread_flush(struct mag_heap *h);

/**
 * mag_lib_stats() - the library's counters for a heap
 * @h: the heap
 * @st: filled in
 *
 * Hit rate: (alloc_hits + free_hits) / (alloc_hits + alloc_misses +
 * free_hits + free_misses).
 *
 * Return: 0, or -1 with errno EINVAL if @h or @st is NULL.
 */
int mag_lib_stats(struct mag_heap *h, struct mag_lib_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* MAGALLOC_LIB_H */
