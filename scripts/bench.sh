#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: build magalloc.ko and magbench.ko (bench/) for stock Debian
# 6.12 and boot that kernel eight times (by default); magbench measures while
# it loads.
#   - icount, one vCPU, init_on_alloc=0   guest ns = instructions, repeatable
#   - icount, one vCPU, default (init_on_alloc=1, as Debian boots)
#   - BENCH_BOOTS (3) plain-TCG boots, 2 vCPUs on one NUMA node: wall-clock
#     ns (they swing between boots) and the cross-CPU producer/consumer
#   - BENCH_REPLAY4_BOOTS (3) plain-TCG boots, 4 vCPUs on one node, with
#     magbench.replay_only=1: the trace replayed on 4 CPUs, each running
#     its own CPU's operations (bench/replay.c)
# Every boot replays the kmalloc/kfree trace bench/replay-trace.xz (made by
# scripts/replay-capture.sh), put in the guest's /demo uncompressed, and
# runs the userspace half: bench/ubench.c, the peers (bench/peers.c:
# libmagalloc against glibc, jemalloc, tcmalloc and mimalloc; bench/shm.cc:
# 4 processes in one heap against Boost.Interprocess).  The peers without
# a kernel part also run on the host under callgrind (CALLGRIND_PAIRS
# pairs, 20000), log build/logs/bench-callgrind.log.
# scripts/benchtab.py turns the logs (build/logs/bench-*.log) into one
# table, written to build/bench/table.txt and printed.  A guest whose
# kernel dies before /init runs (a TCG flake, seen once in boot-time code
# patching) is booted again, up to three times, and noted in the table.
# Environment: BENCH_BOOTS, BENCH_REPLAY4_BOOTS, BENCH_TIMEOUT (seconds per guest, 600).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup_deps --bench
kdir=/usr/src/linux-headers-$K612
build_module bench "$kdir"
src=$build/bench/src
rsync -a --delete --exclude='*.o' --exclude='*.ko' --exclude='*.mod*' \
	--exclude='.*.cmd' --exclude='modules.order' --exclude='Module.symvers' \
	"$top/bench" "$src/"
say "building magbench.ko for k612"
make -s -C "$kdir" M="$src/bench" KBUILD_EXTRA_SYMBOLS="$src/Module.symvers" \
	W=1 modules >&2

# The userspace half: magalloc_ubench, linked with libmagalloc, run by the
# guest's bench.sh right after magbench.ko's figures.
say "building magalloc_ubench"
make -s -C "$top/lib" OUT="$build/bench/lib" static >&2
cc -O2 -static -Wall -Wextra -I "$top/lib" -I "$top/uapi" -o "$build/bench/magalloc_ubench" \
	"$top/bench/ubench.c" "$build/bench/lib/libmagalloc.a" -pthread

# The peers: magalloc_peers dynamically linked, so that LD_PRELOAD can put
# another malloc() first (Debian's libraries, copied into the guest at
# their paths by guest.sh -D, with what they need); magalloc_shm static
# (Boost.Interprocess is headers only).
say "building magalloc_peers and magalloc_shm"
make -s -C "$top/lib" OUT="$build/bench/lib" preload >&2
cc -O2 -std=gnu11 -Wall -Wextra -I "$top/lib" -I "$top/uapi" -I "$top/bench" \
	-o "$build/bench/magalloc_peers" "$top/bench/peers.c" "$top/lib/libmagalloc.c" -pthread
g++ -O2 -static -Wall -Wextra -I "$top/lib" -I "$top/bench" -o "$build/bench/magalloc_shm" \
	"$top/bench/shm.cc" "$build/bench/lib/libmagalloc.a" -pthread
multi=/usr/lib/x86_64-linux-gnu
declare -A peer_so=([glibc]= [jemalloc]=$multi/libjemalloc.so.2
		    [tcmalloc]=$multi/libtcmalloc.so.4 [mimalloc]=$multi/libmimalloc.so.2)
peer_libs="${peer_so[jemalloc]} ${peer_so[tcmalloc]} ${peer_so[mimalloc]}"

# callgrind on the host, for the peers that need no kernel (libmagalloc
# needs /dev/magalloc): the instructions inside the timed loops
# (peers.c's timed_run) over the pairs they ran.  Its log reads like a
# guest's, for scripts/benchtab.py.
cgpairs=${CALLGRIND_PAIRS:-20000}
cglog=$build/logs/bench-callgrind.log
say "callgrind: the peers on the host, $cgpairs pairs per thread"
{
	echo "@@MAG BENCH-BEGIN"
	for a in glibc jemalloc tcmalloc mimalloc; do
		for t in 64 mix; do
			for n in 1 4; do
				out=$build/bench/callgrind.$a.$t.$n
				LD_PRELOAD=${peer_so[$a]} valgrind -q --tool=callgrind \
					--toggle-collect=timed_run --callgrind-out-file="$out" \
					"$build/bench/magalloc_peers" -n "$cgpairs" -t "$t" -T "$n" "$a" \
					> "$out.txt" || true
				grep -h 'peerorigin' "$out.txt"
				awk -v a="$a" -v t="${t}x$n" -v pairs=$((cgpairs * n)) \
					'/^summary:/ { printf "magbench: cg %s %s %.1f\n", a, t, $2 / pairs }' "$out"
			done
		done
	done
	echo "@@MAG BENCH-END"
} > "$cglog"
cat "$cglog" >&2

# the guest's /demo: bench.sh and the trace
demo=$build/bench/demo
rm -rf "$demo"
mkdir -p "$demo"
cp "$top"/scripts/demo/* "$demo/"
cp "$build/bench/lib/libmagalloc-preload.so" "$demo/"
xz -dc "$top/bench/replay-trace.xz" > "$demo/replay-trace.bin"

mods="$src/mod/magalloc.ko $src/bench/magbench.ko"
tab=() fail=0
# boot <benchtab.py option> <name> [guest.sh options...]
boot() {
	local opt=$1 name=$2 rc=0 line
	shift 2
	local cmd=(scripts/guest.sh -k "/boot/vmlinuz-$K612" -n "$name" -m "$mods"
		   -d "$demo" -M bench -D "$peer_libs"
		   -t "$build/bench/magalloc_ubench $build/bench/magalloc_peers $build/bench/magalloc_shm"
		   -T "${BENCH_TIMEOUT:-600}" -X "$@")
	printf -v line '%q ' "${cmd[@]}"
	local log=$build/logs/$name.log try
	rm -f "${log%.log}".died-*.log
	for try in 1 2 3; do
		say "booting $name: $line"
		# Plain-TCG figures suffer from other work on the host: keep its load.
		tab+=(--note "$name: host load average $(cut -d' ' -f1 /proc/loadavg) on $(nproc) CPUs at boot")
		rc=0
		(cd "$top" && "${cmd[@]}") || rc=$?
		# A kernel that died before /init ran never saw our modules:
		# keep its log and boot again.
		grep -q '^@@MAG BEGIN' "$log" && break
		cp "$log" "${log%.log}.died-$try.log"
		tab+=(--note "$name: kernel died before /init, log ${log%.log}.died-$try.log")
	done
	[ "$rc" = 0 ] || { say "$name: QEMU exited $rc"; fail=1; }
	# A kernel report (WARNING, BUG, ...) or no "@@MAG END" fails the run.
	python3 "$top/scripts/results.py" "$name" "$log" > /dev/null || fail=1
	tab+=("$opt" "$log" --command "(cd $top && $line)")
}

boot --icount0 bench-icount-ioa0 -I -a init_on_alloc=0
boot --icount1 bench-icount-ioa1 -I
for i in $(seq "${BENCH_BOOTS:-3}"); do
	boot --tcg "bench-tcg-$i" -c 2 -N
done
for i in $(seq "${BENCH_REPLAY4_BOOTS:-3}"); do
	boot --replay4 "bench-replay4-$i" -c 4 -N -a magbench.replay_only=1
done

mkdir -p "$build/bench"
python3 "$top/scripts/benchtab.py" --command "make bench" "${tab[@]}" \
	--callgrind "$cglog" --command "(callgrind: CALLGRIND_PAIRS=$cgpairs, scripts/bench.sh)" \
	> "$build/bench/table.txt" || fail=1
cat "$build/bench/table.txt"
exit "$fail"
