/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What libmagalloc gives libmagalloc-preload.so only (built with
 * MAG_PRELOAD, hidden in the .so): fork() as a program that knows nothing
 * of magalloc expects it, the child with a copy of the heap's memory
 * rather than the parent's heap itself.
 *
 * Parent, before fork(): mag_snapshot() writes every page of the heap's
 * live spans and large objects into a memfd (through pwrite(), so that a
 * page another thread frees meanwhile is skipped, not a SIGBUS), and
 * copies page_info.  Child: mag_adopt_snapshot() maps the memfd private
 * over the heap's range, at the same address (every pointer stays valid,
 * now into the child's own copy), and detaches the heap: its descriptor
 * closed, out of the library's lists, its objects usable and never
 * freed.  Parent, after fork(): mag_snapshot_drop().
 */
#ifndef MAGALLOC_PRELOAD_H
#define MAGALLOC_PRELOAD_H

#include <stddef.h>

#include "magalloc.h"

/**
 * struct mag_snapshot - a heap's memory at fork() time
 * @fd: memfd with the heap's bytes at their offsets, or -1
 * @page_info: a copy of the heap's page_info (and its top), a private
 *	anonymous mapping
 * @page_info_bytes: its length, the heap's page_info_bytes
 */
struct mag_snapshot {
	int fd;
	void *page_info;
	size_t page_info_bytes;
};

/*
 * glibc's allocator under its exported internal names: what the library's
 * own bookkeeping and the interposer's fallbacks use (never the malloc()
 * the interposer defines).
 */
void *__libc_malloc(size_t size);
void *__libc_calloc(size_t nmemb, size_t size);
void *__libc_realloc(void *p, size_t size);
void *__libc_memalign(size_t align, size_t size);
void __libc_free(void *p);

int mag_snapshot(struct mag_heap *h, struct mag_snapshot *s);
void mag_snapshot_drop(struct mag_snapshot *s);
int mag_adopt_snapshot(struct mag_heap *h, struct mag_snapshot *s);

#endif /* MAGALLOC_PRELOAD_H */
