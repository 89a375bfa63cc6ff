#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (once) a KUnit kernel from linux-source-6.12 with the project's
# .kunitconfig and print its build directory.  The build is cached under
# ${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/magalloc keyed by the source package
# version and the configuration it was given, so a second run costs nothing.
#
# Usage: scripts/kunit-kernel.sh <linux-source dir> <source version> [rt]
#   rt  the same configuration made PREEMPT_RT: CONFIG_PREEMPT=y becomes
#       CONFIG_PREEMPT_RT=y (which depends on EXPERT in 6.12), lockdep,
#       atomic-sleep and preempt checks, fault injection and NUMA stay;
#       KCSAN takes KASAN's place (the two cannot be combined) and
#       kmemleak goes, to keep its boot short (the plain KUnit kernel has
#       both).  Generated from .kunitconfig, so the two never drift apart.
set -euo pipefail

src=$1
ver=$2
variant=${3:-}
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/magalloc
mkdir -p "$cache"

case $variant in
"")
	cfg=$top/.kunitconfig
	prefix=kunit
	;;
rt)
	grep -qx 'CONFIG_PREEMPT=y' "$top/.kunitconfig" || {
		echo "kunit-kernel: .kunitconfig has no CONFIG_PREEMPT=y line to rewrite" >&2
		exit 1
	}
	cfg=$(mktemp "$cache/kunitconfig-rt.XXXXXX")
	trap 'rm -f "$cfg"' EXIT
	sed -e 's/^CONFIG_PREEMPT=y$/CONFIG_EXPERT=y\nCONFIG_PREEMPT_RT=y/' \
	    -e 's/^CONFIG_KASAN=y$/CONFIG_KCSAN=y/' -e '/^CONFIG_KASAN_/d' \
	    -e '/^CONFIG_DEBUG_KMEMLEAK=y$/d' \
	    "$top/.kunitconfig" > "$cfg"
	prefix=kunit-rt
	;;
*)
	echo "kunit-kernel: unknown variant '$variant' (rt)" >&2
	exit 2
	;;
esac
# The plain kernel's key is what it has always been (no rebuild when this
# script changes); a variant's configuration differs, so its key does too.
key=$(printf '%s\n' "$ver" | cat - "$cfg" | sha256sum | cut -c1-16)
out=$cache/$prefix-$key

# Every line the configuration asks for must be in the kernel's .config
# (kunit.py checks this too; a PREEMPT_RT kernel that silently fell back to
# PREEMPT would make the rt boot worthless).
check_config() {
	local missing
	missing=$(grep '^CONFIG_' "$cfg" | grep -vxF -f "$out/.config" || true)
	[ -z "$missing" ] || {
		echo "kunit-kernel: $out/.config lacks: $missing" >&2
		exit 1
	}
}

if [ -f "$out/.magalloc-built" ] && [ -f "$out/arch/x86/boot/bzImage" ]; then
	check_config
	echo "$out"
	exit 0
fi

echo "kunit-kernel: building $out (several minutes; cached afterwards)" >&2
mkdir -p "$out"
cp "$cfg" "$out/magalloc.kunitconfig"
jobs=$(( $(nproc) + 1 ))
(cd "$src" && python3 tools/testing/kunit/kunit.py build --arch=x86_64 \
	--kunitconfig="$out/magalloc.kunitconfig" --build_dir="$out" --jobs="$jobs") \
	> "$out/build.log" 2>&1 || {
	tail -n 40 "$out/build.log" >&2
	echo "kunit-kernel: build failed, log in $out/build.log" >&2
	exit 1
}
check_config
# Headers and scripts an external module build needs.
make -C "$src" O="$out" ARCH=x86_64 -s modules_prepare >> "$out/build.log" 2>&1
touch "$out/.magalloc-built"
echo "$out"
