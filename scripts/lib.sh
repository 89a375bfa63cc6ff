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
# ccache's store, for the module builds (build_module) and DKMS's
# (package-check.sh): beside the kernels, outside any clone.
export CCACHE_DIR=${CCACHE_DIR:-$cache/ccache}

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

# tcg_crash <log>: did the guest die of QEMU 7.2's TCG (Debian 12's) rather
# than of its kernel?  It now and then runs a stale translation of kernel
# text the guest has just patched (ClangBuiltLinux/boot-utils#111, fixed
# in QEMU 8.1): an int3 Oops in a patched jump (stock 6.12 in pnp init,
# 6.12-rt in run_timer_softirq at boot and in the idle task's __schedule
# after the stress, on a loaded host).  Two signs: the kernel died before
# init printed anything (before any magalloc code ran), or of an int3 that
# no text patching claimed (no kernel code plants one: BUG() and WARN()
# are ud2).  Prints which.
tcg_crash() {
	if ! grep -aq '^@@MAG' "$1" && grep -aEq 'Oops|Kernel panic' "$1"; then
		echo "the kernel crashed in early boot, before init"
	elif grep -aq 'Oops: int3' "$1"; then
		echo "the kernel died of an int3 Oops (a stale translation of patched text)"
	else
		return 1
	fi
}

# boot_guest <name> <report file> <guest.sh args...>: boot one guest
# (guest.sh -n <name>); one that QEMU's TCG killed (tcg_crash) is booted
# again, twice at most (a k612rt boot on a loaded host died so twice in a
# row), each crashed log kept as build/logs/<name>.log.tcg-crashN and
# named in a line of <report file>.  Returns the last boot's guest.sh
# status.
boot_guest() {
	local name=$1 report=$2 log=$build/logs/$1.log rc=0 try why
	shift 2
	"$top/scripts/guest.sh" -n "$name" "$@" || rc=$?
	for try in 1 2; do
		why=$(tcg_crash "$log") || break
		mv "$log" "$log.tcg-crash$try"
		echo "  $name: $why (log in build/logs/$name.log.tcg-crash$try); booted again" >> "$report"
		say "$name: $why; booting again"
		rc=0
		"$top/scripts/guest.sh" -n "$name" "$@" || rc=$?
	done
	return $rc
}

# build_module <name> <kernel build dir> [make args...]
# Builds magalloc.ko (and any other module of the tree) for one kernel and
# leaves the tree, objects and modules, in build/<name>/src, so that
# builds for several kernels never share object files.  The build itself
# runs in $cache/modules/<name>, a path that is the same for every clone
# and worktree (under a lock, for they share it): the sources are copied
# in by content (rsync -c without times: a file whose bytes did not change
# keeps its old time, so make rebuilds only what changed), and the
# compiler runs under ccache, whose hits need the same paths on the
# command line.  A warm make check thus builds nothing twice; a compiler
# warning fails the build (-Werror), so it is never skipped silently.
build_module() {
	local name=$1 kdir=$2
	shift 2
	local dst=$build/$name/src shared=$cache/modules/$name cc=()
	mkdir -p "$dst" "$shared"
	if command -v ccache > /dev/null; then
		# Debian's header trees know ccache (.kernelvariables); the
		# KUnit kernels' trees use plain gcc.
		if grep -qs DEBIAN_KERNEL_USE_CCACHE "$kdir/.kernelvariables"; then
			cc=(DEBIAN_KERNEL_USE_CCACHE=y)
		else
			cc=(CC="ccache gcc")
		fi
	fi
	say "building magalloc.ko for $name"
	(
		flock 9
		rsync -rlc --delete --exclude='*.o' --exclude='*.ko' --exclude='*.mod*' \
			--exclude='.*.cmd' --exclude='modules.order' --exclude='Module.symvers' \
			--exclude='*.a' --exclude='*.dwo' \
			"$top/Kbuild" "$top/mod" "$top/uapi" "$top/samples" "$shared/"
		make -s -C "$kdir" M="$shared" W=1 KCFLAGS=-Werror "${cc[@]}" "$@" modules >&2
		rsync -a --delete "$shared/" "$dst/"
	) 9> "$cache/modules/$name.lock"
}

# The kselftest binaries, linked statically for the busybox guest.
build_selftests() {
	make -s -j"$(nproc)" -C "$top/selftests" KSFT_DIR="$LINUX_SRC/tools/testing/selftests" \
		OUT="$build/selftests" >&2
}
