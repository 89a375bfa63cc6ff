/* SPDX-License-Identifier: GPL-2.0 */
/*
 * magalloc: the in-kernel API.
 *
 * Objects of up to MAG_MAX_SMALL (32 KiB) bytes come from per-CPU
 * magazines of size-classed objects; larger ones from magalloc's page heap
 * (exact page counts) or, beyond half an arena, from the kernel's page
 * allocator.  Every function here is exported with EXPORT_SYMBOL_GPL by
 * magalloc.ko; a consumer module depends on it through its symbols.
 *
 * Context: mag_free(), mag_cache_free() and mag_free_bulk() may be called
 * from any context but NMI.  The allocation functions may be called from
 * any context but NMI when @gfp allows it (GFP_ATOMIC or GFP_NOWAIT from
 * interrupts); they sleep only if @gfp has __GFP_DIRECT_RECLAIM.
 */
#ifndef _MAGALLOC_H
#define _MAGALLOC_H

#include <linux/gfp.h>
#include <linux/types.h>

struct mag_cache;

void *mag_alloc(size_t size, gfp_t gfp);
void *mag_alloc_node(size_t size, gfp_t gfp, int node);
void mag_free(const void *ptr);
size_t mag_ksize(const void *ptr);
int mag_alloc_bulk(size_t size, gfp_t gfp, size_t nr, void **objs);
void mag_free_bulk(size_t nr, void **objs);

struct mag_cache *mag_cache_create(const char *name, unsigned int size,
				   unsigned int align, unsigned int flags,
				   void (*ctor)(void *));
void *mag_cache_alloc(struct mag_cache *cache, gfp_t gfp);
void mag_cache_free(struct mag_cache *cache, void *obj);
void mag_cache_destroy(struct mag_cache *cache);

#endif /* _MAGALLOC_H */
