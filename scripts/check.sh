#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: build magalloc for every kernel, boot each in QEMU, run there
# what that boot is for (KUnit suites, the debugfs stress, kselftests), and
# print one line per kernel with its counts and wall time, then one tally
# line "N passed, M failed, K skipped" summed over everything.
#
# Usage: scripts/check.sh [kernel...]   (default: all of them)
#   k612          stock Debian 6.12: module, example consumer, stress,
#                 trace events, kselftests, preload (sqlite3 and perl
#                 through libmagalloc-preload.so)
#   k61           stock Debian 6.1: the same
#   k612rt        stock Debian 6.12 PREEMPT_RT: the same
#   k612-memless  stock 6.12 with a CPU-only NUMA node and nohz_full=3:
#                 module (a MAGALLOC_STATS build), example, stress,
#                 isolation, stats
#   kunit         the debug KUnit kernel (KASAN, lockdep, kmemleak): every
#                 KUnit suite, example, stress, kselftests, preload
#   kunit-faults  the same kernel with init_on_free=1 init_on_alloc=1:
#                 the magalloc_init suite's init_on_* cases, the kmemleak
#                 check and the fault-injection run
#   kunit-rt      a debug PREEMPT_RT KUnit kernel with KCSAN (lockdep, no
#                 KASAN): every KUnit suite, example, stress, the
#                 userspace heaps' kselftests, preload
#   pkg           not a kernel: scripts/package-check.sh (PKG_QUICK=1):
#                 the Debian packages built, lintian, installed, DKMS's
#                 magalloc.ko booted on stock 6.12 and 6.1, purged
# Environment: GUEST_APPEND ends every guest's kernel command line (so it
# overrides check.sh's own settings, e.g. magstress= or kunit.filter_glob=);
# CHECK_TIMEOUT overrides the per-guest timeout in seconds; CHECK_JOBS is
# how many guests run at once (2).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Also the order guests start in: the longest first, so that the short
# ones fill the time beside it (see Documentation/testing.rst, Timing).
all="kunit kunit-faults kunit-rt pkg k612rt k612 k61 k612-memless"
want=" ${*:-$all} "
for k in $want; do
	case " $all " in
	*" $k "*) ;;
	*) echo "unknown kernel '$k' ($all)" >&2; exit 2 ;;
	esac
done
kernels=
for k in $all; do
	case $want in *" $k "*) kernels+=" $k" ;; esac
done
jobs_max=${CHECK_JOBS:-2}
t0=$SECONDS

setup_deps
build_selftests
tests=$(ls "$build"/selftests/*_test)
nksft=$(echo "$tests" | wc -w)
# What the guests' /tests get: the kselftests, tools/magstat, which
# magalloc_magstat_test runs from beside itself, and magalloc_rtwake, the
# rtload step's load (guest-init's ksft step runs only the *_test
# binaries).
guest_tests="$tests $build/selftests/magstat $build/selftests/magalloc_rtwake"
# The KUnit kernel's boots' (kunit, and kunit-faults under fault
# injection): all but magalloc_magstat_test.  magstat is userspace
# reading sysfs, which magalloc_sysfs_test covers under KASAN; its
# snapshots (a work item per CPU and pool) made it 49 s of that boot, the
# long pole of make check, against 6 s on stock 6.12.
kunit_tests=$(echo "$tests" | grep -v '/magalloc_magstat_test$')
# The kunit-rt boot's: the userspace heaps' kselftests (shmem backing,
# per-user limits, growth), whose locking (heap->lock, shmem's folio locks
# and truncation, the metadata reallocation) is what PREEMPT_RT, lockdep
# and KCSAN judge there; the whole set was 100 to 260 s of that boot.
rt_tests=$(echo "$tests" | grep -E '/magalloc_(shmem|limits|growth)_test$')
# The preload step's: the interposer, its kselftest, the programs' scripts;
# the programs themselves come with their libraries (guest.sh -D).
preload_files="$build/selftests/lib/libmagalloc-preload.so $build/selftests/preload/magalloc_preload_test
	$top/scripts/preload/sqlite.sql $top/scripts/preload/workload.pl"
preload_progs="/usr/bin/sqlite3 /usr/bin/perl"
# What those programs print here, without the interposer: the guest's
# runs through it must print the same (guest-init, preload_run).
preload_expect() {
	local d=$build/preload
	rm -rf "$d"
	mkdir -p "$d"
	(cd "$d" && /usr/bin/sqlite3 -batch :memory: < "$top/scripts/preload/sqlite.sql" \
		> sqlite3.out 2> sqlite3.err) &&
	(cd "$d" && /usr/bin/perl "$top/scripts/preload/workload.pl" > perl.out 2> perl.err)
}
preload_files+=" $build/preload/sqlite3.out $build/preload/sqlite3.err $build/preload/perl.out $build/preload/perl.err"
kunit_py=$LINUX_SRC/tools/testing/kunit/kunit.py
results=$build/results
rm -rf "$results"
mkdir -p "$results"

# Host side: the committed size-class table is what the generator makes,
# and tcg_crash (lib.sh) retries only what QEMU's TCG did: an early-boot
# crash or an int3 Oops, never a magalloc or sanitizer report after init.
host_p=0 host_f=0
if python3 "$top/scripts/mksizeclasses.py" --check >&2; then
	host_p=$((host_p + 1))
else
	say "FAIL host: mod/sizeclasses.[ch] differ from scripts/mksizeclasses.py output"
	host_f=$((host_f + 1))
fi
tcg_crash_ok() {
	local d=$build/tcg-crash-test
	rm -rf "$d"
	mkdir -p "$d"
	printf '[ 2.1] Oops: int3: 0000 [#1] SMP\n[ 2.2] Kernel panic - not syncing\n' > "$d/early"
	printf '@@MAG BEGIN\n[ 20.9] Oops: int3: 0000 [#1] PREEMPT_RT SMP NOPTI\n' > "$d/int3"
	printf '@@MAG BEGIN\n[ 20.9] Oops: invalid opcode: 0000 [#1] SMP\n' > "$d/ud2"
	printf '@@MAG BEGIN\n[ 9.1] BUG: KASAN: slab-use-after-free in mag_free\n' > "$d/kasan"
	printf '@@MAG BEGIN\n@@MAG END\n' > "$d/clean"
	tcg_crash "$d/early" > /dev/null && tcg_crash "$d/int3" > /dev/null &&
		! tcg_crash "$d/ud2" > /dev/null && ! tcg_crash "$d/kasan" > /dev/null &&
		! tcg_crash "$d/clean" > /dev/null
}
if tcg_crash_ok; then
	host_p=$((host_p + 1))
else
	say "FAIL host: tcg_crash (scripts/lib.sh) retries a boot it must fail, or not one it must retry"
	host_f=$((host_f + 1))
fi
# results.py names each kernel report by its header, RIP and first
# frames (a hung guest's summary must say where it hung), and fails the
# boot on it.
report_names_ok() {
	local d=$build/report-test out
	rm -rf "$d"
	mkdir -p "$d"
	cat > "$d/log" <<-'EOF'
	@@MAG BEGIN
	[   61.0] watchdog: BUG: soft lockup - CPU#2 stuck for 44s! [init:1]
	[   61.0] CPU: 2 PID: 1 Comm: init Tainted: G           OE      6.1.0-57-amd64 #1
	[   61.0] RIP: 0010:smp_call_function_many_cond+0xf1/0x330
	[   61.0] Call Trace:
	[   61.0]  <TASK>
	[   61.0]  ? __pfx_do_sync_core+0x10/0x10
	[   61.0]  on_each_cpu_cond_mask+0x20/0x40
	[   61.0]  text_poke_bp_batch+0x29f/0x300
	[   61.0]  </TASK>
	@@MAG END
	EOF
	out=$(python3 "$top/scripts/results.py" t "$d/log" 2>&1 > "$d/counts") &&
		[ "$(cat "$d/counts")" = "0 1 0" ] &&
		[ "$(grep -c '^  splat t: ' <<< "$out")" = 1 ] &&
		grep -q '^  splat t: .*soft lockup.* | RIP smp_call_function_many_cond+0xf1/0x330 | on_each_cpu_cond_mask+0x20/0x40 < text_poke_bp_batch+0x29f/0x300$' <<< "$out"
}
if report_names_ok; then
	host_p=$((host_p + 1))
else
	say "FAIL host: results.py does not name a kernel report by its header, RIP and frames"
	host_f=$((host_f + 1))
fi
echo "$host_p $host_f 0 -" > "$results/host"

# Kernel builds first, one at a time and before any guest: a build uses
# both cores, and a TCG guest starved beside it would only be slower (and
# could report RCU stalls that are not ours).
needs() { case " $kernels " in *" $1 "*) return 0 ;; esac; return 1; }
if needs kunit || needs kunit-faults; then
	kunit_dir=$("$top/scripts/kunit-kernel.sh" "$LINUX_SRC" "$LINUX_SRC_VER")
fi
if needs kunit-rt; then
	kunit_rt_dir=$("$top/scripts/kunit-kernel.sh" "$LINUX_SRC" "$LINUX_SRC_VER" rt)
fi

# Each module tree is built once, even when two boots use it.
declare -A built
module() {
	local name=$1 kdir=$2
	shift 2
	[ -n "${built[$name]:-}" ] && return 0
	build_module "$name" "$kdir" -j"$(nproc)" "$@"
	built[$name]=1
}

# Every module tree, before the first guest: built beside the guests, the
# six trees (about 20 s of CPU each) slowed the first two boots, the
# longest ones, by as much.
for k in $kernels; do
	case $k in
	k612|k61|k612rt)
		case $k in
		k612) kver=$K612 ;;
		k61) kver=$K61 ;;
		k612rt) kver=$K612RT ;;
		esac
		module "$k" "/usr/src/linux-headers-$kver"
		;;
	k612-memless)
		module k612 "/usr/src/linux-headers-$K612"
		module k612-stats "/usr/src/linux-headers-$K612" MAGALLOC_STATS=y
		;;
	kunit|kunit-faults) module kunit "$kunit_dir" ;;
	kunit-rt) module kunit-rt "$kunit_rt_dir" ;;
	esac
done

# What sqlite3 and perl print without the interposer, for every boot's
# preload step (all of them have one).
preload_args=(-p "$preload_files" -D "$preload_progs")
case " $kernels " in
*" k612 "*|*" k61 "*|*" k612rt "*|*" kunit "*|*" kunit-rt "*)
	preload_expect || say "preload: sqlite3 or perl failed here (build/preload)"
	;;
esac

# boot_job <name> <kernel image> <timeout> <command line> <guest.sh args> -- <results.py args>
# Runs in the background: boots one guest, judges its log, and leaves
# "passed failed skipped seconds" in build/results/<name> and the judge's
# report in build/results/<name>.report, printed at the end in order.
boot_job() {
	local name=$1 kernel=$2 timeout=$3 append=$4
	shift 4
	local gargs=() jargs=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do gargs+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	jargs=("$@")
	local rc=0 start=$SECONDS out
	local tcg=$results/$name.tcg
	say "booting $name ($(basename "$kernel")), log in build/logs/$name.log"
	: > "$tcg"
	boot_guest "$name" "$tcg" -k "$kernel" -T "${CHECK_TIMEOUT:-$timeout}" \
		-a "$append ${GUEST_APPEND:-}" "${gargs[@]}" || rc=$?
	local wall=$((SECONDS - start))
	{
		cat "$tcg"
		[ "$rc" = 0 ] || echo "  $name: QEMU exited $rc (124/137: killed at the timeout)"
		out=$(python3 "$top/scripts/results.py" "$name" "$build/logs/$name.log" \
			"${jargs[@]}" 2>&1 >"$results/$name.counts") || true
		[ -z "$out" ] || echo "$out"
	} > "$results/$name.report"
	local counts
	counts=$(cat "$results/$name.counts")
	# results.py itself failing is a failure, never a silent zero.
	[ -n "$counts" ] || counts="0 1 0"
	echo "$counts $wall" > "$results/$name"
	say "$name: done in $wall s"
}

# pkg_job: scripts/package-check.sh as one more line of the table, its
# checks counted as tests; its log is build/logs/pkg.log.  It installs
# packages: as another user than root, one skip.
pkg_job() {
	local start=$SECONDS tally
	if [ "$(id -u)" != 0 ]; then
		echo "  pkg: not root: the package check installs packages (skipped)" > "$results/pkg.report"
		echo "0 0 1 0" > "$results/pkg"
		return
	fi
	say "package check (scripts/package-check.sh), log in build/logs/pkg.log"
	tally=$(PKG_QUICK=1 "$top/scripts/package-check.sh" 2> "$build/logs/pkg.log" | tail -n 1) || true
	grep 'FAIL' "$build/logs/pkg.log" | sed 's/^[= ]*/  pkg: /' > "$results/pkg.report" || true
	if [[ $tally =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped$ ]]; then
		echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]} ${BASH_REMATCH[3]} $((SECONDS - start))" > "$results/pkg"
	else
		echo "  pkg: package-check.sh ended without its tally (see build/logs/pkg.log)" >> "$results/pkg.report"
		echo "0 1 0 $((SECONDS - start))" > "$results/pkg"
	fi
	say "pkg: done in $((SECONDS - start)) s"
}

# start <job> ...: run a job (boot_job, pkg_job) in the background once a
# slot is free.
start_job() {
	while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do
		wait -n || true
	done
	"$@" &
}
start() { start_job boot_job "$@"; }

# The KUnit kernels' command line: no legacy BSD ptys (kunit.py's
# configuration has 256 of them, whose registration was 3.4 s of a 20 s
# boot under KASAN and lockdep; Debian's kernels have none), and no PS/2
# keyboard or mouse driver (KCSAN reported a data race in libps2,
# ps2_do_sendbyte / ps2_interrupt, during one kunit-rt boot; the guests
# have no keyboard to read).
kunit_append="pty.legacy_count=0 i8042.nokbd i8042.noaux"
# Their memory: 1 GiB instead of 2: kmemleak scans every struct page at each scan,
# and the fragmentation test pins every free page of a node.
kunit_mem=1024
# kunit-faults runs no KUnit case that fills a node (at 512 MiB two of
# the kunit boot's do fail: buddy_random_sequence, gfp_zero_every_path),
# and its leak step's two kmemleak scans took 12 s at 1 GiB, 8 s at 512
# MiB (alone on a quiet host; the boot 120 CPU-seconds against 101).
kunit_faults_mem=512
# The kunit and kunit-rt boots' stress step: one second, not three.  The
# KUnit case cross_cpu_stress has just run the same stress for three
# seconds in that boot, with more checks (nothing lost, the parked
# bound); the step adds the hostile frees and debug mode, which it still
# runs whole.
kunit_stress=magstress=1000
ko() { echo "$build/$1/src/mod/magalloc.ko $build/$1/src/samples/magalloc_example.ko"; }
# Each boot's timeout (a hang's cost) is two to three times its slowest
# measured run: this host's speed changes by the hour, and make check of
# the same work took 393 s one morning and 985 and 1051 s that afternoon,
# with kunit up to 450 s, kunit-faults 225, kunit-rt 641 (against the 600
# it had then), k612rt 214 and k612-memless 36.  A hang costs 25 minutes
# at most, inside CI's 90.
# How every boot of the full flow is judged.
full_judge=(--expect-ksft "$nksft" --expect-stress)

for k in $kernels; do
	case $k in
	k612|k61|k612rt)
		case $k in
		k612) kver=$K612 image=/boot/vmlinuz-$K612 ;;
		k61) kver=$K61 image=/boot/vmlinuz-$K61 ;;
		k612rt) kver=$K612RT image=$K612RT_VMLINUZ ;;
		esac
		module "$k" "/usr/src/linux-headers-$kver"
		# Debian builds KFENCE (6.12) with sampling off: on here, so
		# the hostile-free check has a KFENCE object to hand mag_free().
		# trace: the stock kernels have tracefs (mod/trace.h's events).
		# preload: libmagalloc-preload.so under sqlite3 and perl.
		# rtload: an RT wakeup load through the unload, offline and
		# reboot (guest-init).
		start "$k" "$image" 600 "kfence.sample_interval=10" -m "$(ko "$k")" \
			-R stress,trace,ksft,preload,rtload -t "$guest_tests" "${preload_args[@]}" \
			-- "${full_judge[@]}" --expect-trace --expect-preload --expect-rtload
		;;
	k612-memless)
		# What a memoryless node can break is placement and the
		# cross-node paths: the stress covers them; kselftests (the
		# userspace API) add nothing here.  CPU 3 is also nohz_full:
		# after the stress, the trim must never visit it.  The
		# modules are a MAGALLOC_STATS build (the stats step checks
		# its counters), with the plain build's example consumer in
		# /demo, which must not load beside it.
		module k612 "/usr/src/linux-headers-$K612"
		module k612-stats "/usr/src/linux-headers-$K612" MAGALLOC_STATS=y
		rm -rf "$build/k612-stats/demo"
		mkdir -p "$build/k612-stats/demo"
		cp "$build/k612/src/samples/magalloc_example.ko" \
			"$build/k612-stats/demo/magalloc_example_nostats.ko"
		start "$k" "/boot/vmlinuz-$K612" 300 "nohz_full=3" -m "$(ko k612-stats)" \
			-d "$build/k612-stats/demo" -t "$build/selftests/magstat" \
			-L -R stress,isolation,stats \
			-- --expect-stress --expect-isolation --expect-stats
		;;
	kunit)
		module kunit "$kunit_dir"
		# kasan_multi_shot: the magalloc_kasan suite provokes many
		start "$k" "$kunit_dir/arch/x86/boot/bzImage" 1500 "$kunit_append kasan_multi_shot $kunit_stress" \
			-m "$(ko kunit)" -r $kunit_mem -R stress,ksft,preload -t "$kunit_tests" \
			"${preload_args[@]}" \
			-- --expect-ksft "$(echo "$kunit_tests" | wc -w)" --expect-stress \
			--expect-preload --kunit "$kunit_py"
		;;
	kunit-faults)
		# Split from the kunit boot, which was the long pole of make
		# check (250 to 380 s with these two steps in it): the leak
		# check and the fault-injection run need kmemleak, KASAN and
		# fault injection, not the KUnit suites, of which only
		# magalloc_init runs at module load.  That suite needs
		# init_on_free=1 (which takes mag_free() off its inline fast
		# path) and init_on_alloc=1 (every allocation zeroed): this
		# boot has both, so leak and faults run hardened too, and the
		# suite no longer costs a boot of its own (the kunit-init boot
		# was 46 s of a make check).  Only its init_on_* cases: the
		# __GFP_ZERO one runs in the kunit and kunit-rt boots (it was
		# 20 s of this one).  Faults come first, so that the
		# leak check's two kmemleak scans (which must find only the
		# objects it hid) also judge what the faults step left, and
		# the boot needs no scan of its own at the end (guest-init).
		module kunit "$kunit_dir"
		start "$k" "$kunit_dir/arch/x86/boot/bzImage" 900 \
			"$kunit_append init_on_free=1 init_on_alloc=1 kunit.filter_glob=magalloc_init.init_on_*" \
			-m "$(ko kunit)" -r $kunit_faults_mem -R faults,leak -t "$kunit_tests" \
			-- --expect-faults --expect-leak --expect-lockdep --kunit "$kunit_py"
		;;
	pkg)
		start_job pkg_job
		;;
	kunit-rt)
		module kunit-rt "$kunit_rt_dir"
		# KCSAN at its default sampling (one access in 4000): one in
		# 1000 made this boot 169 s beside the kunit one and make check
		# 6 min 9 s, one in 400 199 s and 6 min 14 s (goal: 6 min).
		# The userspace heaps' kselftests (rt_tests) and the preload
		# step too.
		start "$k" "$kunit_rt_dir/arch/x86/boot/bzImage" 1500 "$kunit_append $kunit_stress" \
			-m "$(ko kunit-rt)" -r $kunit_mem -R stress,ksft,preload -t "$rt_tests" \
			"${preload_args[@]}" \
			-- --expect-ksft "$(echo "$rt_tests" | wc -w)" --expect-stress \
			--expect-preload --expect-lockdep --kunit "$kunit_py"
		;;
	esac
done
wait

total_p=0 total_f=0 total_s=0
for k in host $kernels; do
	[ ! -f "$results/$k.report" ] || cat "$results/$k.report" >&2
done
printf '%-14s %7s %7s %7s %7s\n' kernel passed failed skipped wall
for k in host $kernels; do
	if [ -f "$results/$k" ]; then
		read -r p f s wall < "$results/$k"
	else
		# A boot job that died before writing its verdict.
		p=0 f=1 s=0 wall=-
	fi
	[ "$wall" = - ] || wall="$wall s"
	printf '%-14s %7s %7s %7s %7s\n' "$k" "$p" "$f" "$s" "$wall"
	total_p=$((total_p + p)) total_f=$((total_f + f)) total_s=$((total_s + s))
done
say "make check: $((SECONDS - t0)) s wall, $jobs_max guests at a time"
echo "$total_p passed, $total_f failed, $total_s skipped"
[ "$total_f" = 0 ] && [ "$total_p" -gt 0 ]
