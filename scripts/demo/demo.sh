#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The `make run` demo, run inside the guest with magalloc loaded.  magdemo
# and magstat (tools/) come in /demo, next to this script.
set -x
grep magalloc /proc/modules
ls -l /dev/magalloc
# A userspace program allocates through libmagalloc from four threads and
# keeps a working set live; magstat, run meanwhile, shows its heap.
magdemo -t 4 -n 40000 -k 500 -x 'magstat -u'
# magdemo closed its heap: none is left.  The kernel's side shows the
# pools magalloc_example (samples/, loaded at boot) used, with the
# allocations that missed the per-CPU magazines (MISSES) and the slow
# paths' depot visits (SLOW).
magstat -1
dmesg | grep magalloc
