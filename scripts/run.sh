#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make run: build magalloc for stock Debian 6.12, boot it in QEMU with the
# module loaded and show it working (guest side: scripts/demo/demo.sh).
# make shell (--shell): the same guest with an interactive shell.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup_deps
build_module k612 "/usr/src/linux-headers-$K612"
build_selftests
# The demo directory: scripts/demo and the libmagalloc programs it runs
# (tools/magdemo, tools/magstat), linked statically for the guest.
say "building magdemo and magstat"
make -s -C "$top/tools/magstat" OUT="$build/tools" >&2
make -s -C "$top/tools/magdemo" OUT="$build/tools" LIBOUT="$build/tools/lib" >&2
rm -rf "$build/demo"
mkdir -p "$build/demo"
cp -r "$top/scripts/demo/." "$build/tools/magstat" "$build/tools/magdemo" "$build/demo/"
args=(-k "/boot/vmlinuz-$K612" -n run
      -m "$build/k612/src/mod/magalloc.ko $build/k612/src/samples/magalloc_example.ko"
      -t "$(ls "$build"/selftests/*_test) $build/selftests/magstat" -d "$build/demo")
if [ "${1:-}" = --shell ]; then
	exec "$top/scripts/guest.sh" "${args[@]}" -M shell -i
fi
rc=0
"$top/scripts/guest.sh" "${args[@]}" -M run -T 300 || rc=$?
# Show the guest's side of the session: the demo's output and what the
# kernel said about magalloc.
sed -n '/@@MAG BEGIN/,/@@MAG END/p' "$build/logs/run.log" | grep -v '^@@MAG INSMOD\|^@@MAG RMMOD\|^@@MAG TIME'
python3 "$top/scripts/results.py" run "$build/logs/run.log" > /dev/null
exit "$rc"
