#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Find, and install when missing, everything magalloc's build and QEMU
# harness need.  Versions are discovered from what apt offers, never typed
# in here: the newest plain -amd64 flavour of 6.12 and of 6.1, and the
# newest -rt-amd64 (PREEMPT_RT) flavour of 6.12, whose headers and image
# both exist.
#
# Usage: scripts/deps.sh [--bench]
#   --bench: also what `make bench` alone needs (its peers: Debian's
#   jemalloc, tcmalloc and mimalloc, Boost's headers, g++, valgrind).
#   Installs what is missing (as root) and prints shell assignments
#   (K612=..., K61=..., K612RT=..., K612RT_VMLINUZ=..., LINUX_SRC_TAR=...)
#   on stdout for the caller to eval; each kernel's image is
#   /boot/vmlinuz-<version>.
#   As a non-root user it prints the exact apt-get line and exits 1.
set -euo pipefail

log() { echo "deps: $*" >&2; }

bench=
[ "${1:-}" = --bench ] && bench=1

apt_updated=
apt_update() {
	[ -n "$apt_updated" ] && return 0
	if [ "$(id -u)" = 0 ]; then
		log "apt-get update"
		apt-get update -qq >&2
	fi
	apt_updated=1
}

# newest "<ver>" such that both linux-headers-<ver> and linux-image-<ver>
# are offered, for ver matching the regular expression $1, among $names
# (apt-cache pkgnames lists real packages only; asked once per resolve, as
# each apt-cache call costs about a second).
newest_kernel() {
	local re=$1 v
	for v in $(echo "$names" | sed -n "s/^linux-headers-\($re\)\$/\1/p" | sort -Vr); do
		if echo "$names" | grep -qxF "linux-image-$v"; then
			echo "$v"
			return 0
		fi
	done
	return 1
}

# Each flavour by its own anchored expression: with several flavours
# offered, "-amd64" must not match "-rt-amd64" or "-cloud-amd64" (and sort -V
# would put those after the plain one).
resolve() {
	names=$(apt-cache pkgnames linux- 2>/dev/null)
	K612=$(newest_kernel '6\.12\.[0-9]*+deb[0-9]*-amd64') || K612=
	K61=$(newest_kernel '6\.1\.0-[0-9]*-amd64') || K61=
	K612RT=$(newest_kernel '6\.12\.[0-9]*+deb[0-9]*-rt-amd64') || K612RT=
}

resolve
if [ -z "$K612" ] || [ -z "$K61" ] || [ -z "$K612RT" ]; then
	apt_update
	resolve
fi
[ -n "$K612" ] || { log "apt offers no linux-headers-6.12.*-amd64"; exit 1; }
[ -n "$K61" ] || { log "apt offers no linux-headers-6.1.0-*-amd64"; exit 1; }
[ -n "$K612RT" ] || { log "apt offers no linux-headers-6.12.*-rt-amd64"; exit 1; }

pkgs=(
	linux-source-6.12
	"linux-headers-$K612" "linux-image-$K612"
	"linux-headers-$K61" "linux-image-$K61"
	# Debian's headers package depends on its image: the -rt image is
	# installed whatever we do, so it is used from /boot like the others.
	"linux-headers-$K612RT" "linux-image-$K612RT"
	qemu-system-x86 busybox-static cpio sparse
	gcc make libc6-dev bc bison flex libelf-dev libssl-dev
	rsync kmod xz-utils python3 perl ccache
	# the guest's preload step runs them through libmagalloc-preload.so
	sqlite3
)
# make bench's peers (bench/peers.c, bench/shm.cc, the callgrind runs)
[ -z "$bench" ] || pkgs+=(libjemalloc2 libgoogle-perftools4 libmimalloc2.0
			 libboost-dev g++ valgrind)

# One dpkg-query for all of them (one per package costs seconds).
# dpkg-query exits 1 when it knows none of a name (a package never
# installed here): under pipefail that would end the script, silently, on
# exactly the fresh machine this is for.
installed=" $({ dpkg-query -W -f='${Package}=${Status}\n' "${pkgs[@]}" 2>/dev/null || true; } |
	sed -n 's/=install ok installed$//p' | tr '\n' ' ') "
missing=()
for p in "${pkgs[@]}"; do
	case $installed in *" $p "*) ;; *) missing+=("$p") ;; esac
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		log "missing packages; as root run:"
		echo "apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
		exit 1
	fi
	apt_update
	log "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >&2
fi

for v in "$K612" "$K61" "$K612RT"; do
	[ -s "/boot/vmlinuz-$v" ] || { log "/boot/vmlinuz-$v missing (linux-image-$v)"; exit 1; }
done

src_tar=$(ls /usr/src/linux-source-6.12.tar.* 2>/dev/null | head -n1)
[ -n "$src_tar" ] || { log "linux-source-6.12 tarball not found in /usr/src"; exit 1; }

cat <<EOF
K612=$K612
K61=$K61
K612RT=$K612RT
K612RT_VMLINUZ=/boot/vmlinuz-$K612RT
LINUX_SRC_TAR=$src_tar
LINUX_SRC_VER=$(dpkg-query -W -f='${Version}' linux-source-6.12)
EOF
