/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What differs between the kernels magalloc builds for (6.1 and 6.12).
 * Version tests live here and nowhere else.
 */
#ifndef _MAGALLOC_COMPAT_H
#define _MAGALLOC_COMPAT_H

#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/uidgid.h>
#include <linux/version.h>

/* vm_flags became read-only behind vm_flags_set() in 6.3. */
static inline void mag_vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
#if KERNEL_VERSION(6, 3, 0) <= LINUX_VERSION_CODE
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

static inline void mag_vm_flags_clear(struct vm_area_struct *vma, vm_flags_t flags)
{
#if KERNEL_VERSION(6, 3, 0) <= LINUX_VERSION_CODE
	vm_flags_clear(vma, flags);
#else
	vma->vm_flags &= ~flags;
#endif
}

/* struct device_type's devnode() takes a const device since 6.2. */
#if KERNEL_VERSION(6, 2, 0) <= LINUX_VERSION_CODE
#define MAG_DEVNODE_CONST const
#else
#define MAG_DEVNODE_CONST
#endif

/*
 * KUnit's static stubs (6.4 on): a test may redirect the function that
 * starts with MAG_STATIC_STUB() for its own task.  Nothing without KUnit.
 */
#if IS_ENABLED(CONFIG_KUNIT) && KERNEL_VERSION(6, 4, 0) <= LINUX_VERSION_CODE
#include <kunit/static_stub.h>
#define MAG_STATIC_STUB(fn, args...)	KUNIT_STATIC_STUB_REDIRECT(fn, args)
#else
#define MAG_STATIC_STUB(fn, ...)	((void)(fn))
#endif

/* memcg_kmem_enabled() became memcg_kmem_online() in 6.3. */
static inline bool mag_memcg_kmem_on(void)
{
#if KERNEL_VERSION(6, 3, 0) <= LINUX_VERSION_CODE
	return memcg_kmem_online();
#else
	return memcg_kmem_enabled();
#endif
}

struct device;
char *mag_devnode(MAG_DEVNODE_CONST struct device *dev, umode_t *mode,
		  kuid_t *uid, kgid_t *gid);

/*
 * Generic KASAN: mm/kasan/shadow.c exports kasan_poison() (for KASAN's
 * own test module), but only mm/kasan/kasan.h declares it.
 */
#ifdef CONFIG_KASAN_GENERIC
void kasan_poison(const void *addr, size_t size, u8 value, bool init);
#endif

#endif /* _MAGALLOC_COMPAT_H */
