// SPDX-License-Identifier: GPL-2.0
/*
 * magalloc: module entry points and the /dev/magalloc character device.
 *
 * This file ties the levels of the allocator together at load and unload
 * and owns the userspace entry point.  The ioctl ABI is described in
 * uapi/linux/magalloc.h and Documentation/userspace-api.rst.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>

#include "internal.h"

static umode_t dev_mode = 0600;
module_param(dev_mode, ushort, 0444);
MODULE_PARM_DESC(dev_mode, "permission bits of /dev/magalloc (default 0600)");

static struct dentry *mag_debugfs;

/**
 * mag_query_fill() - validate and answer a MAGALLOC_IOC_QUERY request
 * @q: the request as copied from userspace; answered in place
 *
 * Return: 0, or -EINVAL if @q->flags or any reserved field is not zero.
 */
int mag_query_fill(struct magalloc_query *q)
{
	int i;

	if (q->flags)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(q->reserved); i++)
		if (q->reserved[i])
			return -EINVAL;
	q->abi_version = MAGALLOC_ABI_VERSION;
	q->page_size = PAGE_SIZE;
	q->nr_classes = 0;
	q->max_small_size = 0;
	return 0;
}

static long mag_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	struct magalloc_query q;
	int ret;

	switch (cmd) {
	case MAGALLOC_IOC_QUERY:
		if (copy_from_user(&q, uarg, sizeof(q)))
			return -EFAULT;
		ret = mag_query_fill(&q);
		if (ret)
			return ret;
		if (copy_to_user(uarg, &q, sizeof(q)))
			return -EFAULT;
		return 0;
	default:
		return -ENOTTY;
	}
}

static const struct file_operations mag_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= mag_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

struct miscdevice mag_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "magalloc",
	.fops	= &mag_fops,
};

static int mag_stats_show(struct seq_file *m, void *v)
{
	seq_printf(m, "abi_version %u\n", MAGALLOC_ABI_VERSION);
	seq_printf(m, "page_size %lu\n", PAGE_SIZE);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mag_stats);

static int __init magalloc_init(void)
{
	int ret;

	mag_miscdev.mode = dev_mode & 0777;
	ret = misc_register(&mag_miscdev);
	if (ret) {
		pr_err("cannot register /dev/magalloc: %d\n", ret);
		return ret;
	}
	mag_debugfs = debugfs_create_dir("magalloc", NULL);
	debugfs_create_file("stats", 0444, mag_debugfs, NULL, &mag_stats_fops);
	pr_info("loaded, /dev/magalloc minor %d\n", mag_miscdev.minor);
	return 0;
}

static void __exit magalloc_exit(void)
{
	debugfs_remove_recursive(mag_debugfs);
	misc_deregister(&mag_miscdev);
	pr_info("unloaded\n");
}

module_init(magalloc_init);
module_exit(magalloc_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("magalloc: a per-CPU magazine allocator in the style of Go's runtime");
