# SPDX-License-Identifier: GPL-2.0
#
# Shared by the harness scripts: where things are, and the steps every
# command needs (dependencies, the kernel source, module and test builds).
# Source it; it sets -euo pipefail.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$top/build
cache=${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/magalloc
mkdir -p "$build/logs" "$cache"

say() { echo "== $*" >&2; }

# Sets K612, K61, LINUX_SRC_TAR, LINUX_SRC_VER and LINUX_SRC (the unpacked
# linux-source-6.12 tree, shared by checkpatch, kunit.py and the kselftest
# harness).  Arguments go to scripts/deps.sh (--bench).
setup_deps() {
	local vars
	vars=$("$top/scripts/deps.sh" "$@")
	eval "$vars"
	LINUX_SRC=$cache/linux-source-6.12
	if [ "$(cat "$LINUX_SRC/.magalloc-version" 2>/dev/null)" != "$LINUX_SRC_VER" ]; then
		say "unpacking $LINUX_SRC_TAR"
		rm -rf "$LINUX_SRC"
		tar -C "$cache" -xf "$LINUX_SRC_TAR"
		echo "$LINUX_SRC_VER" > "$LINUX_SRC/.magalloc-version"
	fi
}

# build_module <name> <kernel build dir> [make args...]
# Builds magalloc.ko (and any other module of the tree) for one kernel in
# build/<name>/, a private copy of the sources, so that builds for several
# kernels never share object files.
build_module() {
	local name=$1 kdir=$2
	shift 2
	local dst=$build/$name/src
	mkdir -p "$dst"
	rsync -a --delete --exclude='*.o' --exclude='*.ko' --exclude='*.mod*' \
		--exclude='.*.cmd' --exclude='modules.order' --exclude='Module.symvers' \
		"$top/Kbuild" "$top/mod" "$top/uapi" "$top/samples" "$dst/"
	say "building magalloc.ko for $name"
	make -s -C "$kdir" M="$dst" W=1 "$@" modules >&2
}

# The kselftest binaries, linked statically for the busybox guest.
build_selftests() {
	make -s -C "$top/selftests" KSFT_DIR="$LINUX_SRC/tools/testing/selftests" \
		OUT="$build/selftests" >&2
}
