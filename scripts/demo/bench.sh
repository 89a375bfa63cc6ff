#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The `make bench` guest side.  magbench.ko has already measured everything
# while it loaded (guest-init insmods it); copy its figures from the kernel
# log between two markers, where scripts/benchtab.py reads them.
echo "@@MAG BENCH-BEGIN"
dmesg | grep -o 'magbench: .*'
# the userspace half, in the same boot (scripts/bench.sh passes it)
[ -x /tests/magalloc_ubench ] && /tests/magalloc_ubench
echo "@@MAG BENCH-END"
