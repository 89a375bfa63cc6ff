/* SPDX-License-Identifier: GPL-2.0 */
/*
 * magalloc's tracepoints (trace.c says how they cost the fast paths
 * nothing).  magalloc_alloc and magalloc_free carry kmem:kmalloc's and
 * kmem:kfree's fields, so scripts written for those adapt by name.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM magalloc

#if !defined(_MAGALLOC_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _MAGALLOC_TRACE_H

#include <linux/string.h>
#include <linux/tracepoint.h>
#include <trace/events/mmflags.h>

/* Pool names are copied this far (__string() changed form in 6.10). */
#define MAG_TRACE_NAME	32

int mag_trace_reg(void);
void mag_trace_unreg(void);

TRACE_EVENT_FN(magalloc_alloc,
	TP_PROTO(unsigned long call_site, const void *ptr, size_t bytes_req,
		 size_t bytes_alloc, gfp_t gfp_flags, int node),
	TP_ARGS(call_site, ptr, bytes_req, bytes_alloc, gfp_flags, node),
	TP_STRUCT__entry(
		__field(unsigned long, call_site)
		__field(const void *, ptr)
		__field(size_t, bytes_req)
		__field(size_t, bytes_alloc)
		__field(unsigned long, gfp_flags)
		__field(int, node)
	),
	TP_fast_assign(
		__entry->call_site = call_site;
		__entry->ptr = ptr;
		__entry->bytes_req = bytes_req;
		__entry->bytes_alloc = bytes_alloc;
		__entry->gfp_flags = (__force unsigned long)gfp_flags;
		__entry->node = node;
	),
	TP_printk("call_site=%pS ptr=%p bytes_req=%zu bytes_alloc=%zu gfp_flags=%s node=%d",
		  (void *)__entry->call_site, __entry->ptr, __entry->bytes_req,
		  __entry->bytes_alloc, show_gfp_flags(__entry->gfp_flags), __entry->node),
	mag_trace_reg, mag_trace_unreg
);

TRACE_EVENT_FN(magalloc_free,
	TP_PROTO(unsigned long call_site, const void *ptr),
	TP_ARGS(call_site, ptr),
	TP_STRUCT__entry(
		__field(unsigned long, call_site)
		__field(const void *, ptr)
	),
	TP_fast_assign(
		__entry->call_site = call_site;
		__entry->ptr = ptr;
	),
	TP_printk("call_site=%pS ptr=%p", (void *)__entry->call_site, __entry->ptr),
	mag_trace_reg, mag_trace_unreg
);

/*
 * A CPU's magazine filled: from the depot (a full one) or from the spans.
 * Not when the spans had nothing (the slow path then grows the pool and
 * comes back): the condition is tested only while the event is on.
 */
TRACE_EVENT_CONDITION(magalloc_refill,
	TP_PROTO(const char *pool, int node, unsigned int objects, bool depot),
	TP_ARGS(pool, node, objects, depot),
	TP_CONDITION(objects),
	TP_STRUCT__entry(
		__array(char, pool, MAG_TRACE_NAME)
		__field(int, node)
		__field(unsigned int, objects)
		__field(bool, depot)
	),
	TP_fast_assign(
		strscpy(__entry->pool, pool, MAG_TRACE_NAME);
		__entry->node = node;
		__entry->objects = objects;
		__entry->depot = depot;
	),
	TP_printk("pool=%s node=%d objects=%u from=%s", __entry->pool, __entry->node,
		  __entry->objects, __entry->depot ? "depot" : "spans")
);

/*
 * A CPU's full magazine went to the depot (not a sentinel or an empty one
 * making room: objects is 0 then).
 */
TRACE_EVENT_CONDITION(magalloc_flush,
	TP_PROTO(const char *pool, int node, unsigned int objects),
	TP_ARGS(pool, node, objects),
	TP_CONDITION(objects),
	TP_STRUCT__entry(
		__array(char, pool, MAG_TRACE_NAME)
		__field(int, node)
		__field(unsigned int, objects)
	),
	TP_fast_assign(
		strscpy(__entry->pool, pool, MAG_TRACE_NAME);
		__entry->node = node;
		__entry->objects = objects;
	),
	TP_printk("pool=%s node=%d objects=%u", __entry->pool, __entry->node,
		  __entry->objects)
);

/* A span made for, or given back by, a pool's central list. */
DECLARE_EVENT_CLASS(magalloc_span,
	TP_PROTO(const char *pool, int node, const void *base, unsigned int npages, bool loose),
	TP_ARGS(pool, node, base, npages, loose),
	TP_STRUCT__entry(
		__array(char, pool, MAG_TRACE_NAME)
		__field(int, node)
		__field(const void *, base)
		__field(unsigned int, npages)
		__field(bool, loose)
	),
	TP_fast_assign(
		strscpy(__entry->pool, pool, MAG_TRACE_NAME);
		__entry->node = node;
		__entry->base = base;
		__entry->npages = npages;
		__entry->loose = loose;
	),
	TP_printk("pool=%s node=%d base=%p npages=%u%s", __entry->pool, __entry->node,
		  __entry->base, __entry->npages, __entry->loose ? " loose" : "")
);

DEFINE_EVENT(magalloc_span, magalloc_span_alloc,
	TP_PROTO(const char *pool, int node, const void *base, unsigned int npages, bool loose),
	TP_ARGS(pool, node, base, npages, loose)
);

DEFINE_EVENT(magalloc_span, magalloc_span_free,
	TP_PROTO(const char *pool, int node, const void *base, unsigned int npages, bool loose),
	TP_ARGS(pool, node, base, npages, loose)
);

/* An arena taken from the kernel, or @arenas of them given back. */
TRACE_EVENT(magalloc_arena_grow,
	TP_PROTO(int node, const void *arena),
	TP_ARGS(node, arena),
	TP_STRUCT__entry(
		__field(int, node)
		__field(const void *, arena)
	),
	TP_fast_assign(
		__entry->node = node;
		__entry->arena = arena;
	),
	TP_printk("node=%d arena=%p", __entry->node, __entry->arena)
);

TRACE_EVENT(magalloc_arena_release,
	TP_PROTO(int node, unsigned long arenas),
	TP_ARGS(node, arenas),
	TP_STRUCT__entry(
		__field(int, node)
		__field(unsigned long, arenas)
	),
	TP_fast_assign(
		__entry->node = node;
		__entry->arenas = arenas;
	),
	TP_printk("node=%d arenas=%lu", __entry->node, __entry->arenas)
);

/* The shrinker was asked for @nr_to_scan pages and gave back @freed. */
TRACE_EVENT(magalloc_shrink,
	TP_PROTO(unsigned long nr_to_scan, unsigned long freed),
	TP_ARGS(nr_to_scan, freed),
	TP_STRUCT__entry(
		__field(unsigned long, nr_to_scan)
		__field(unsigned long, freed)
	),
	TP_fast_assign(
		__entry->nr_to_scan = nr_to_scan;
		__entry->freed = freed;
	),
	TP_printk("nr_to_scan=%lu freed=%lu", __entry->nr_to_scan, __entry->freed)
);

#endif /* _MAGALLOC_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
