#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: build magalloc.ko and magbench.ko (bench/) for stock Debian
# 6.12 and boot that kernel five times; magbench measures while it loads.
#   - icount, one vCPU, init_on_alloc=0   guest ns = instructions, repeatable
#   - icount, one vCPU, default (init_on_alloc=1, as Debian boots)
#   - BENCH_BOOTS (3) plain-TCG boots, 2 vCPUs on one NUMA node: wall-clock
#     ns (they swing between boots) and the cross-CPU producer/consumer
# scripts/benchtab.py turns the logs (build/logs/bench-*.log) into one
# table, written to build/bench/table.txt and printed.
# Environment: BENCH_BOOTS, BENCH_TIMEOUT (seconds per guest, 600).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup_deps
kdir=/usr/src/linux-headers-$K612
build_module bench "$kdir"
src=$build/bench/src
rsync -a --delete --exclude='*.o' --exclude='*.ko' --exclude='*.mod*' \
	--exclude='.*.cmd' --exclude='modules.order' --exclude='Module.symvers' \
	"$top/bench" "$src/"
say "building magbench.ko for k612"
make -s -C "$kdir" M="$src/bench" KBUILD_EXTRA_SYMBOLS="$src/Module.symvers" \
	W=1 modules >&2

mods="$src/mod/magalloc.ko $src/bench/magbench.ko"
logs=() cmds=() fail=0
boot() {
	local name=$1 rc=0
	shift
	local cmd=(scripts/guest.sh -k "/boot/vmlinuz-$K612" -n "$name" -m "$mods"
		   -d "$top/scripts/demo" -M bench -T "${BENCH_TIMEOUT:-600}" "$@")
	say "booting $name: ${cmd[*]}"
	(cd "$top" && "${cmd[@]}") || rc=$?
	[ "$rc" = 0 ] || { say "$name: QEMU exited $rc"; fail=1; }
	# A kernel report (WARNING, BUG, ...) or a missing "@@MAG END" fails.
	python3 "$top/scripts/results.py" "$name" "$build/logs/$name.log" \
		> /dev/null || fail=1
	logs+=("$build/logs/$name.log")
	cmds+=("${cmd[*]}")
}

boot bench-icount-ioa0 -I -a init_on_alloc=0
boot bench-icount-ioa1 -I
for i in $(seq "${BENCH_BOOTS:-3}"); do
	boot "bench-tcg-$i" -c 2 -N
done

mkdir -p "$build/bench"
args=()
for c in "make bench" "${cmds[@]}"; do
	args+=(--command "$c")
done
python3 "$top/scripts/benchtab.py" "${args[@]}" "${logs[@]}" \
	> "$build/bench/table.txt" || fail=1
cat "$build/bench/table.txt"
exit "$fail"
