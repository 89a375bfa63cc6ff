#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The `make bench` guest side.  magbench.ko has already measured everything
# while it loaded (guest-init insmods it); copy its figures from the kernel
# log between two markers, where scripts/benchtab.py reads them.
echo "@@MAG BENCH-BEGIN"
dmesg | grep -o 'magbench: .*'
# What each CPU's magazines hold right after magbench (debugfs "parked":
# per CPU, magazines, objects, bytes, generic bytes, budget reserved,
# evictions): in the replay_only boots, what the four-CPU replay left.
p=/sys/kernel/debug/magalloc/parked
[ -r $p ] && grep '^[0-9]' $p | sed 's/^/magbench: parked /'
# the userspace half, in the same boot (scripts/bench.sh passes it)
[ -x /tests/magalloc_ubench ] && /tests/magalloc_ubench
# Peers (bench/peers.c): one process per allocator, the same binary, the
# other malloc()s put first by LD_PRELOAD (scripts/bench.sh copies them in
# at their Debian paths); lib is libmagalloc's mag_malloc()/mag_free().
if [ -x /tests/magalloc_peers ]; then
	l=/usr/lib/x86_64-linux-gnu
	for a in glibc jemalloc tcmalloc mimalloc preload lib; do
		case $a in
		jemalloc) so=$l/libjemalloc.so.2 ;;
		tcmalloc) so=$l/libtcmalloc.so.4 ;;
		mimalloc) so=$l/libmimalloc.so.2 ;;
		preload) so=/demo/libmagalloc-preload.so ;;
		*) so= ;;
		esac
		if [ -n "$so" ] && [ ! -e "$so" ]; then
			echo "magbench: peerorigin $a missing $so"
			continue
		fi
		# the interposer's count line (stderr, at exit) shows that the
		# heap, not glibc, served the mallocs
		LD_PRELOAD=$so MAGALLOC_PRELOAD_STATS=1 /tests/magalloc_peers -n 65536 $a 2>&1 |
			sed 's/^magalloc-preload: /magbench: peerpreload /'
	done
fi
# Shared between processes (bench/shm.cc): 4 processes in one Boost
# managed_shared_memory segment (shm_open(): /dev/shm) against 4 in one
# /dev/magalloc heap, each order twice, alternating.
if [ -x /tests/magalloc_shm ]; then
	mkdir -p /dev/shm
	grep -q ' /dev/shm ' /proc/mounts || mount -t tmpfs shm /dev/shm
	for a in boost mag boost mag; do
		/tests/magalloc_shm -n 16384 -P 4 $a
	done
fi
echo "@@MAG BENCH-END"
