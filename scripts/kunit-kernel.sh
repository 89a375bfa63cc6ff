#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (once) the KUnit kernel from linux-source-6.12 with the project's
# .kunitconfig and print its build directory.  The build is cached under
# ${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/magalloc keyed by the source package
# version and the .kunitconfig contents, so a second run costs nothing.
#
# Usage: scripts/kunit-kernel.sh <linux-source dir> <source version>
set -euo pipefail

src=$1
ver=$2
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/magalloc
key=$(printf '%s\n' "$ver" | cat - "$top/.kunitconfig" | sha256sum | cut -c1-16)
out=$cache/kunit-$key

if [ -f "$out/.magalloc-built" ] && [ -f "$out/arch/x86/boot/bzImage" ]; then
	echo "$out"
	exit 0
fi

echo "kunit-kernel: building $out (several minutes; cached afterwards)" >&2
mkdir -p "$out"
jobs=$(( $(nproc) + 1 ))
(cd "$src" && python3 tools/testing/kunit/kunit.py build --arch=x86_64 \
	--kunitconfig="$top/.kunitconfig" --build_dir="$out" --jobs="$jobs") \
	> "$out/build.log" 2>&1 || {
	tail -n 40 "$out/build.log" >&2
	echo "kunit-kernel: build failed, log in $out/build.log" >&2
	exit 1
}
# Headers and scripts an external module build needs.
make -C "$src" O="$out" ARCH=x86_64 -s modules_prepare >> "$out/build.log" 2>&1
touch "$out/.magalloc-built"
echo "$out"
