/* SPDX-License-Identifier: GPL-2.0 */
/*
 * magalloc internal interfaces, shared by the files of mod/ and their
 * KUnit suites.  Nothing here is ABI: in-kernel users include magalloc.h,
 * userspace includes uapi/linux/magalloc.h.
 */
#ifndef _MAGALLOC_INTERNAL_H
#define _MAGALLOC_INTERNAL_H

#include <linux/miscdevice.h>
#include <linux/magalloc.h>

/* main.c: the character device */
extern struct miscdevice mag_miscdev;
int mag_query_fill(struct magalloc_query *q);

#endif /* _MAGALLOC_INTERNAL_H */
