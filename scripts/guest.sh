#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot one kernel in QEMU (TCG) with an initramfs of busybox, magalloc's
# modules and test binaries, and keep the console log.
#
# Usage: scripts/guest.sh -k VMLINUZ -n NAME [-m "a.ko b.ko"] [-t "bin..."]
#          [-d DIR] [-M mode] [-R steps] [-T timeout] [-a append] [-c cpus]
#          [-N | -L] [-i] [-I] [-X] [-p files] [-D programs] [-r MiB]
#   -m  modules, loaded in this order      -t  test binaries (kselftests)
#   -d  directory copied to /demo          -M  magtest= mode (check)
#   -p  files copied to /preload (the preload step's interposer, test and
#       scripts); the shared libraries the ELF ones need come along
#   -D  dynamically linked programs (absolute paths), copied to the same
#       paths with every shared library ldd lists and the dynamic loader
#   -R  magrun= steps of check mode, e.g. stress,ksft (guest-init's default)
#   -T  seconds before the guest is killed (300)
#   -c  vCPUs (4; 2 NUMA nodes when even)  -a  extra kernel command line
#   -r  guest memory in MiB (2048), split evenly between the nodes
#   -N  one NUMA node whatever the vCPU count
#   -L  memoryless node: node 0 has the first half of the vCPUs and all the
#       memory, node 1 the other half and no memory
#   -i  interactive: console on this terminal, no timeout, no log
#   -I  icount: one vCPU, -icount shift=0 (guest ns = instructions)
#   -X  keep CMPXCHG16B with several vCPUs (see below; benchmarks, whose
#       SLUB figures must be SLUB's real fast path)
# The log is build/logs/NAME.log; the exit status is QEMU's (124 or 137 on
# timeout).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kernel= name= mods= tests= demo= mode=check timeout=300 append= cpus=4
interactive= icount= onenode= memless= steps= cx16= preload= dynprogs= mem=2048
while getopts k:n:m:t:d:M:R:T:a:c:NLiIXp:D:r: opt; do
	case $opt in
	k) kernel=$OPTARG ;;
	n) name=$OPTARG ;;
	m) mods=$OPTARG ;;
	t) tests=$OPTARG ;;
	d) demo=$OPTARG ;;
	M) mode=$OPTARG ;;
	R) steps=$OPTARG ;;
	T) timeout=$OPTARG ;;
	a) append=$OPTARG ;;
	c) cpus=$OPTARG ;;
	N) onenode=1 ;;
	L) memless=1 ;;
	i) interactive=1 ;;
	I) icount=1; cpus=1 ;;
	X) cx16=1 ;;
	p) preload=$OPTARG ;;
	D) dynprogs=$OPTARG ;;
	r) mem=$OPTARG ;;
	*) exit 2 ;;
	esac
done
[ -n "$kernel" ] && [ -n "$name" ] || { echo "usage: see $0" >&2; exit 2; }

root=$build/initramfs/$name
rm -rf "$root"
mkdir -p "$root"/{bin,modules,tests,demo}
cp /bin/busybox "$root/bin/busybox"
cp "$top/scripts/guest-init" "$root/init"
: > "$root/modules/order"
for m in $mods; do
	cp "$m" "$root/modules/"
	basename "$m" .ko >> "$root/modules/order"
done
for t in $tests; do
	cp "$t" "$root/tests/"
done
[ -z "$demo" ] || cp -r "$demo/." "$root/demo/"
# What an ELF file needs to run: its shared libraries and the loader, at
# the paths ldd gives (which the loader searches without a cache).
copy_libs() {
	local lib
	for lib in $(ldd "$1" 2>/dev/null |
		     sed -n -e 's|.*=> \(/[^ ]*\) (0x.*|\1|p' -e 's|^[[:space:]]*\(/[^ ]*\) (0x.*|\1|p'); do
		[ -e "$root$lib" ] || install -D -m 755 "$(readlink -f "$lib")" "$root$lib"
	done
}
for f in $dynprogs; do
	install -D -m 755 "$(readlink -f "$f")" "$root$f"
	copy_libs "$f"
done
if [ -n "$preload" ]; then
	mkdir -p "$root/preload"
	for f in $preload; do
		cp "$f" "$root/preload/"
		if head -c 4 "$f" | grep -q 'ELF'; then copy_libs "$f"; fi
	done
fi
# Not compressed: the kernel inflating it was the longest part of the
# debug kernels' boots (10 of the 18 s before init on the KCSAN one,
# where every access in inflate is instrumented; 3 s for the 17 MB
# uncompressed), and QEMU loads the larger file in no time.
rm -f "$build/initramfs/$name.cpio.gz"
initrd=$build/initramfs/$name.cpio
(cd "$root" && find . | cpio -o -H newc --quiet) > "$initrd"

# No 5-level paging: with LA57, identify_cpu() recomputes the feature bits
# with interrupts on, and an interrupt in that window made the KASAN kernel
# report a wild-memory-access in its own irq code (2 boots in about 15).
#
# No CMPXCHG16B with several vCPUs: QEMU 7.2's TCG now and then raises a
# double fault right after the guest's cmpxchg16b in SLUB's fast path
# (EFLAGS full of bits of a pointer), with or without magalloc loaded: 2
# stock 6.12 boots in 12 under a 20 s stress.  Without CX16 the kernel
# takes its cmpxchg16b emulation (interrupts off) instead.
#
# No VGA, no NIC, and no ACPI PCI hotplug: the guests use the serial
# console only, and the hotplug slots' AML (evaluated by the kernel's ACPI
# interpreter, under KASAN and lockdep on the KUnit kernels) made
# acpi_init() 27 s of a 57 s KASAN boot; without them 11 s of 40 s
# (initcall_debug, the host busy with a kernel build).
cpu=max,la57=off
[ "$cpus" -gt 1 ] && [ -z "$cx16" ] && cpu=$cpu,cx16=off
qemu=(qemu-system-x86_64 -nographic -no-reboot -bios qboot.rom -cpu "$cpu"
      -vga none -nic none -global PIIX4_PM.acpi-root-pci-hotplug=off
      -global PIIX4_PM.acpi-pci-hotplug-with-bridge-support=off
      -kernel "$kernel" -initrd "$initrd")
if [ -n "$memless" ]; then
	# A CPU-only node: no memdev for node 1.  x86 keeps its CPUs on node
	# 1 (it does not remap them to a node with memory), so everything
	# those CPUs allocate "locally" comes from node 0.
	[ "$cpus" -ge 2 ] && [ $((cpus % 2)) = 0 ] || { echo "-L needs an even -c" >&2; exit 2; }
	half=$((cpus / 2))
	qemu+=(-m "${mem}M" -smp "$cpus,sockets=2,cores=$half"
	       -object memory-backend-ram,id=m0,size="${mem}M"
	       -numa "node,nodeid=0,cpus=0-$((half - 1)),memdev=m0"
	       -numa "node,nodeid=1,cpus=$half-$((cpus - 1))")
elif [ -z "$onenode" ] && [ "$cpus" -ge 2 ] && [ $((cpus % 2)) = 0 ]; then
	# Two NUMA nodes, one socket each (a socket split across nodes makes
	# 6.12 warn at boot).
	half=$((cpus / 2))
	[ $((mem % 2)) = 0 ] || { echo "-r needs an even size" >&2; exit 2; }
	qemu+=(-m "${mem}M" -smp "$cpus,sockets=2,cores=$half"
	       -object memory-backend-ram,id=m0,size="$((mem / 2))M"
	       -object memory-backend-ram,id=m1,size="$((mem / 2))M"
	       -numa "node,nodeid=0,cpus=0-$((half - 1)),memdev=m0"
	       -numa "node,nodeid=1,cpus=$half-$((cpus - 1)),memdev=m1")
else
	qemu+=(-m "${mem}M" -smp "$cpus")
fi
[ -z "$icount" ] || qemu+=(-icount shift=0)
qemu+=(-append "console=ttyS0 printk.time=1 panic=-1 oops=panic magtest=$mode${steps:+ magrun=$steps} $append")

if [ -n "$interactive" ]; then
	exec "${qemu[@]}"
fi
log=$build/logs/$name.log
rc=0
timeout -s KILL "$timeout" "${qemu[@]}" < /dev/null > "$log" 2>&1 || rc=$?
exit "$rc"
