#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: build magalloc for three kernels, boot each in QEMU, run the
# KUnit suites and kselftests there, and print one tally line
# "N passed, M failed, K skipped" summed over every suite on every kernel.
#
# Usage: scripts/check.sh [k612] [k61] [kunit]   (default: all three)
# Environment: GUEST_APPEND adds to every guest's kernel command line;
# CHECK_TIMEOUT overrides the per-guest timeout in seconds.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kernels=${*:-k612 k61 kunit}
setup_deps
build_selftests
tests=$(ls "$build"/selftests/*_test)
nksft=$(echo "$tests" | wc -w)

total_p=0 total_f=0 total_s=0
judge() {
	local out
	out=$(python3 "$top/scripts/results.py" "$@")
	read -r p f s <<< "$out"
	total_p=$((total_p + p)) total_f=$((total_f + f)) total_s=$((total_s + s))
}

boot() {
	local name=$1 kernel=$2 dir=$3 timeout=$4
	shift 4
	local ko="$dir/mod/magalloc.ko $dir/samples/magalloc_example.ko"
	say "booting $name ($(basename "$kernel")), log in build/logs/$name.log"
	local rc=0 start=$SECONDS
	"$top/scripts/guest.sh" -k "$kernel" -n "$name" -m "$ko" -t "$tests" \
		-T "${CHECK_TIMEOUT:-$timeout}" -a "${GUEST_APPEND:-}" || rc=$?
	[ "$rc" = 0 ] || say "$name: QEMU exited $rc (124/137: killed at the timeout)"
	say "$name: guest ran $((SECONDS - start)) s"
	judge "$name" "$build/logs/$name.log" --expect-ksft "$nksft" "$@"
}

# Host side: the committed size-class table is what the generator makes.
if python3 "$top/scripts/mksizeclasses.py" --check >&2; then
	total_p=$((total_p + 1))
else
	say "FAIL host: mod/sizeclasses.[ch] differ from scripts/mksizeclasses.py output"
	total_f=$((total_f + 1))
fi

for k in $kernels; do
	case $k in
	k612|k61)
		if [ "$k" = k612 ]; then kver=$K612; else kver=$K61; fi
		build_module "$k" "/usr/src/linux-headers-$kver"
		boot "$k" "/boot/vmlinuz-$kver" "$build/$k/src" 300
		;;
	kunit)
		kdir=$("$top/scripts/kunit-kernel.sh" "$LINUX_SRC" "$LINUX_SRC_VER")
		build_module kunit "$kdir"
		boot kunit "$kdir/arch/x86/boot/bzImage" "$build/kunit/src" 900 \
			--kunit "$LINUX_SRC/tools/testing/kunit/kunit.py"
		# init_on_free=1 takes mag_free() off its fast path: one
		# more boot for the case that checks it (skipped above).
		GUEST_APPEND="${GUEST_APPEND:-} init_on_free=1 init_on_alloc=1 kunit.filter_glob=magalloc_init.*" \
			boot kunit-iof "$kdir/arch/x86/boot/bzImage" "$build/kunit/src" 300 \
			--kunit "$LINUX_SRC/tools/testing/kunit/kunit.py"
		;;
	*)
		echo "unknown kernel '$k' (k612, k61, kunit)" >&2
		exit 2
		;;
	esac
done

echo "$total_p passed, $total_f failed, $total_s skipped"
[ "$total_f" = 0 ] && [ "$total_p" -gt 0 ]
