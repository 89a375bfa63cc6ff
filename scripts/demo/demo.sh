#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The `make run` demo, run inside the guest with magalloc loaded.
set -x
grep magalloc /proc/modules
ls -l /dev/magalloc
cat /sys/kernel/debug/magalloc/stats
dmesg | grep magalloc
