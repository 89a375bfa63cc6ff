#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make package-check: the Debian packaging end to end.  Builds the four
# packages from a copy of the tree (build/pkg/src: dpkg-buildpackage
# writes into the parent of the tree it builds), runs lintian, installs
# them on this host, checks that DKMS built magalloc.ko for stock Debian
# 6.12 and 6.1 and boots each of those two kernels in QEMU with the
# DKMS-built module (the debugfs stress), checks the udev rule, the
# group, the -dev package (pkg-config, a program built against it) and
# magstat, then purges the packages again.
#
# Prints one line per check on stderr and, last, "N passed, M failed, K
# skipped"; exits non-zero on any failure.  Root only (it installs
# packages).  Environment: PKG_KEEP=1 leaves the packages installed;
# CHECK_TIMEOUT is each guest's timeout in seconds (300); PKG_QUICK=1 keeps
# magalloc-dkms's postinst from building for every kernel with headers
# (five here, about 45 s each on two busy cores) and builds for the two
# kernels booted only.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

t0=$SECONDS
pkgdir=$build/pkg
debs="magalloc-dkms libmagalloc1 libmagalloc-dev magalloc-tools"
passed=0 failed=0 skipped=0

pass() { passed=$((passed + 1)); say "PASS $*"; }
fail() { failed=$((failed + 1)); say "FAIL $*"; }
# check <what> <command...>: one test
check() {
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}
tally() {
	say "package-check: $((SECONDS - t0)) s wall"
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
}

[ "$(id -u)" = 0 ] || { echo "package-check: installs packages: run it as root" >&2; exit 2; }

# The kernels (and QEMU, busybox, their headers) as make check has them.
t=$SECONDS
vars=$("$top/scripts/deps.sh")
eval "$vars"
say "deps.sh: $((SECONDS - t)) s"

# Our own dependencies, in deps.sh's way: one dpkg-query, install only
# what is missing, apt-get update at most once.  dkms is installed here,
# without its Recommends (linux-headers-amd64 would pull in another
# kernel), so that installing magalloc-dkms below adds nothing else.
need=(debhelper dh-dkms lintian dkms pkg-config gcc libc6-dev make rsync binutils kmod xz-utils)
installed=" $({ dpkg-query -W -f='${Package}=${Status}\n' "${need[@]}" 2>/dev/null || true; } |
	sed -n 's/=install ok installed$//p' | tr '\n' ' ') "
missing=()
for p in "${need[@]}"; do
	case $installed in *" $p "*) ;; *) missing+=("$p") ;; esac
done
if [ ${#missing[@]} -gt 0 ]; then
	say "installing ${missing[*]}"
	# deps.sh has just updated the lists if they lacked a kernel: update
	# only if the install fails without it.
	apt_install() {
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
			install -y -qq --no-install-recommends "$@" >&2
	}
	apt_install "${missing[@]}" ||
		{ apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 && apt_install "${missing[@]}"; }
fi

version=$(sed -n 's/^PACKAGE_VERSION="*\([^"]*\)"*$/\1/p' "$top/dkms.conf")

# A magalloc from `make dkms-install` would be overwritten, then purged.
if ! dpkg-query -W -f='${Status}' magalloc-dkms 2>/dev/null | grep -q 'install ok' &&
   [ -e /var/lib/dkms/magalloc ]; then
	echo "package-check: magalloc is in DKMS already (make dkms-install?): make dkms-remove first" >&2
	exit 2
fi
# The group is this script's to delete if it did not exist before, or if
# a PKG_KEEP=1 run of it made it (that run leaves a mark).
group_mark=$build/pkg-check-made-group
group_before=$(getent group magalloc >/dev/null && [ ! -e "$group_mark" ] && echo 1 || true)

# Purge on every way out (unless PKG_KEEP=1), so that the host is left as
# it was: the packages, their DKMS trees and modules, and the group if
# this run created it (the package leaves it on purge, as Debian does).
installed_pkgs= noauto=
cleanup() {
	[ -z "$noauto" ] || rm -f /etc/dkms/no-autoinstall
	noauto=
	[ -n "$installed_pkgs" ] || return 0
	installed_pkgs=
	if [ "${PKG_KEEP:-}" = 1 ]; then
		say "PKG_KEEP=1: leaving $debs installed"
		[ -n "$group_before" ] || touch "$group_mark"
		return 0
	fi
	say "purging $debs"
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 purge -y -qq $debs >&2 || true
	[ -n "$group_before" ] || ! getent group magalloc >/dev/null || groupdel magalloc || true
	rm -f "$group_mark"
}
trap cleanup EXIT

# -- build -------------------------------------------------------------------
# A copy of what git knows (tracked files as they are now, and new files
# not ignored), or of the whole tree but build/ without git.
rm -rf "$pkgdir"
mkdir -p "$pkgdir/src"
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$top" ls-files -z --cached --others --exclude-standard |
		rsync -a --from0 --files-from=- --ignore-missing-args "$top/" "$pkgdir/src/"
else
	rsync -a --exclude=/build --exclude=.git "$top/" "$pkgdir/src/"
fi
say "dpkg-buildpackage -b -us -uc in build/pkg/src (log in build/pkg/build.log)"
t=$SECONDS
rc=0
(cd "$pkgdir/src" && DEB_BUILD_OPTIONS=parallel=2 dpkg-buildpackage -b -us -uc) \
	> "$pkgdir/build.log" 2>&1 || rc=$?
check "dpkg-buildpackage -b -us -uc ($((SECONDS - t)) s)" [ "$rc" = 0 ]
files=()
for p in $debs; do
	f=$(ls "$pkgdir/${p}_"*.deb 2>/dev/null | head -n1) || true
	if [ -n "$f" ]; then
		pass "built $(basename "$f")"
		files+=("$f")
	else
		fail "no ${p}_*.deb in build/pkg"
	fi
done
if [ ${#files[@]} != 4 ]; then
	tail -n 30 "$pkgdir/build.log" >&2
	tally
	exit 1
fi

upstream=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version | sed 's/-[^-]*$//')
libver=$(sed -n 's/^VERSION := //p' "$top/lib/Makefile")
check "one version: dkms.conf $version, lib/Makefile $libver, debian/changelog $upstream" \
	[ "$version" = "$libver" -a "$version" = "$upstream" ]

# lintian: any E: fails; warnings are listed.
changes=$(ls "$pkgdir"/magalloc_*.changes)
t=$SECONDS
rc=0
lintian "$changes" > "$pkgdir/lintian.log" 2>&1 || rc=$?
grep -E '^[EW]:' "$pkgdir/lintian.log" >&2 || true
# Exit status 1 is "errors found" (the E: lines); anything else is lintian
# itself failing, which must not pass for a clean report.
check "lintian: no error ($(grep -c '^W:' "$pkgdir/lintian.log" || true) warnings, $((SECONDS - t)) s)" \
	eval "[ $rc -le 1 ] && ! grep -q '^E:' '$pkgdir/lintian.log'"

# -- install -----------------------------------------------------------------
# PKG_QUICK=1: dkms's common.postinst does nothing at all (not even dkms
# add) while /etc/dkms/no-autoinstall exists; it exists only for the time
# of this install, which holds the dpkg lock (so no kernel package can be
# configured meanwhile and miss its autoinstall).
if [ "${PKG_QUICK:-}" = 1 ] && [ ! -e /etc/dkms/no-autoinstall ]; then
	noauto=1
	touch /etc/dkms/no-autoinstall
fi
say "apt-get install ${files[*]##*/}"
installed_pkgs=1
rc=0 t=$SECONDS
# --reinstall: after a PKG_KEEP=1 run, the same version is installed
# already, and apt would install nothing.
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
	--reinstall "${files[@]}" \
	> "$pkgdir/install.log" 2>&1 || rc=$?
[ -z "$noauto" ] || { rm -f /etc/dkms/no-autoinstall; noauto=; }
check "apt-get install of the four packages ($((SECONDS - t)) s$(sed -n 's/^Building for /: DKMS built for /p' "$pkgdir/install.log"))" [ "$rc" = 0 ]
[ "$rc" = 0 ] || tail -n 30 "$pkgdir/install.log" >&2

check "group magalloc exists" eval "getent group magalloc >/dev/null"
rules=$(ls /lib/udev/rules.d/*magalloc*.rules /usr/lib/udev/rules.d/*magalloc*.rules 2>/dev/null | head -n1) || true
check "udev rule ${rules:-missing}: GROUP=\"magalloc\", MODE=\"0660\"" \
	eval "[ -n '$rules' ] && grep -q 'GROUP=\"magalloc\", MODE=\"0660\"' '$rules'"
check "modprobe.d example in /usr/share/doc/magalloc-dkms/examples/, not active" \
	eval "[ -f /usr/share/doc/magalloc-dkms/examples/magalloc.conf ] && ! grep -rqs '^options magalloc' /etc/modprobe.d"

# -- DKMS and QEMU -----------------------------------------------------------
# boot <name> <kernel version> <magalloc.ko>: the guest and its verdict,
# counted as make check counts them (results.py's tests).  What it is
# for is the DKMS build's module loading, working and unloading: the stress
# runs one second (check.sh's stock boots run it for three).
boot() {
	local name=$1 kver=$2 ko=$3 rc=0 out counts start=$SECONDS
	local log=$build/logs/$name.log
	say "booting $name ($kver) with the DKMS-built magalloc.ko, log in build/logs/$name.log"
	# a guest QEMU's TCG killed is booted again (lib.sh), said in this log
	boot_guest "$name" /dev/null -k "/boot/vmlinuz-$kver" -T "${CHECK_TIMEOUT:-300}" \
		-a magstress=1000 -m "$ko" -R stress || rc=$?
	[ "$rc" = 0 ] || say "$name: QEMU exited $rc (124/137: killed at the timeout)"
	counts=$(python3 "$top/scripts/results.py" "$name" "$log" --expect-stress \
		2>"$pkgdir/$name.report") || true
	[ ! -s "$pkgdir/$name.report" ] || cat "$pkgdir/$name.report" >&2
	read -r p f s <<<"${counts:-0 1 0}"
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	say "$name: $p passed, $f failed, $s skipped in $((SECONDS - start)) s"
}

# dkms_install <kernel version>
# DKMS builds every kernel of a module version in one directory,
# /var/lib/dkms/magalloc/<version>/build: a kernel package that someone
# else's apt-get configures meanwhile runs dkms autoinstall there for its
# own kernel and breaks this build (seen once here).  A failed build is
# tried once more, after any dpkg run has ended.
# Debian's header trees compile through ccache when the environment has
# DEBIAN_KERNEL_USE_CCACHE (their .kernelvariables), and DKMS passes the
# environment to its make: the build directory being always the same, a
# warm rerun's compiles are cache hits (the DKMS steps were 56 s of this
# check).  It is the same build, the same objects.
if command -v ccache > /dev/null; then
	export DEBIAN_KERNEL_USE_CCACHE=y
fi

dkms_install() {
	local kver=$1 log=$pkgdir/dkms-$1.log i
	dkms install -m magalloc -v "$version" -k "$kver" > "$log" 2>&1 && return 0
	tail -n 5 "$log" >&2
	for i in $(seq 150); do
		pgrep -x dpkg >/dev/null || break
		sleep 2
	done
	say "dkms install -k $kver failed; once more (a kernel package configured meanwhile?)"
	dkms install -m magalloc -v "$version" -k "$kver" >> "$log" 2>&1 && return 0
	tail -n 20 "$log" >&2
	return 1
}

for kver in "$K612" "$K61"; do
	case $kver in 6.1.*) name=pkg-k61 ;; *) name=pkg-k612 ;; esac
	st=$(dkms status -m magalloc -v "$version" -k "$kver" 2>/dev/null || true)
	# magalloc-dkms's postinst (dkms's common.postinst) builds for the
	# running kernel and the newest one only, when the running kernel
	# has a /lib/modules directory; for every kernel with headers only
	# on a first install on a host whose running kernel has none (as
	# here, a 6.18 host without its modules); on a reinstall there, for
	# the newest kernel only (6.12-rt sorts last); with PKG_QUICK=1 for
	# none.  So 6.1, or both, may well have been left out: build them
	# here, as a user would, always with -k.
	if ! echo "$st" | grep ': installed' >/dev/null; then
		say "the postinst did not build magalloc for $kver: dkms install -k $kver"
		[ -n "$(dkms status -m magalloc -v "$version" 2>/dev/null)" ] ||
			dkms add -m magalloc -v "$version" >> "$pkgdir/dkms-$kver.log" 2>&1 || true
		t=$SECONDS
		dkms_install "$kver" || true
		say "dkms install -k $kver: $((SECONDS - t)) s"
		st=$(dkms status -m magalloc -v "$version" -k "$kver" 2>/dev/null || true)
	fi
	check "dkms status: magalloc/$version installed for $kver" \
		eval "echo '$st' | grep ': installed' >/dev/null"
	src=$(ls "/lib/modules/$kver/updates/dkms/magalloc.ko"* 2>/dev/null | head -n1) || true
	ko=$pkgdir/ko/$kver/magalloc.ko
	mkdir -p "${ko%/*}"
	rm -f "$ko"
	case $src in
	*.ko) cp "$src" "$ko" ;;
	*.ko.xz) xz -dc "$src" > "$ko" ;;
	*.ko.zst) zstd -qdc "$src" > "$ko" ;;
	*.ko.gz) gzip -dc "$src" > "$ko" ;;
	esac
	vermagic=$(modinfo -F vermagic "$ko" 2>/dev/null || true)
	check "${src:-/lib/modules/$kver/updates/dkms/magalloc.ko: missing}: vermagic $kver" \
		eval "[ -s '$ko' ] && [ '${vermagic%% *}' = '$kver' ]"
	if [ -s "$ko" ]; then
		boot "$name" "$kver" "$ko"
	else
		fail "$name: no module to boot"
	fi
done

# -- libmagalloc-dev and magalloc-tools --------------------------------------
check "pkg-config --cflags --libs magalloc: $(pkg-config --cflags --libs magalloc 2>&1 | tr -s ' ')" \
	pkg-config --exists magalloc
prog=$pkgdir/hello
cat > "$prog.c" <<'EOF'
#include <errno.h>
#include <stdio.h>
#include <magalloc.h>
int main(void) { struct mag_heap *h = mag_open(); printf("%s %d\n", MAG_LIB_VERSION, h ? 0 : errno); if (h) mag_close(h); return 0; }
EOF
# Built and run: the host has no /dev/magalloc (mag_open() says ENOENT),
# but running it proves the dynamic loader finds libmagalloc.so.1.
check "a program including <magalloc.h> builds against libmagalloc-dev and runs" \
	eval "cc -o '$prog' '$prog.c' \$(pkg-config --cflags --libs magalloc) && '$prog' >&2 &&
	      readelf -d '$prog' | grep 'NEEDED.*libmagalloc.so.1' >/dev/null"
check "the same program links statically (libmagalloc.a)" \
	eval "cc -static -o '$prog-static' '$prog.c' \$(pkg-config --static --cflags --libs magalloc) && '$prog-static' >&2"
# The interposer, under a program that allocates (perl: coreutils close
# stderr before the interposer's exit line): the host has no
# /dev/magalloc, so glibc serves it all, as that line must say.
preload=$(ls /usr/lib/*/magalloc/libmagalloc-preload.so 2>/dev/null | head -n1) || true
check "${preload:-libmagalloc-preload.so: missing} runs perl, glibc serving it without /dev/magalloc" \
	eval "[ -n '$preload' ] &&
	      [ \"\$(LD_PRELOAD='$preload' MAGALLOC_PRELOAD_STATS=1 perl -e 'print join(q( ), sort qw(b a))' 2>'$pkgdir/preload.err')\" = 'a b' ] &&
	      grep -q 'heap off heap_mallocs 0 .* system_mallocs [1-9]' '$pkgdir/preload.err'"
check "magstat -h runs from magalloc-tools" eval "/usr/bin/magstat -h | grep '^usage: magstat' >/dev/null"
check "magstat is dynamically linked" eval "readelf -d /usr/bin/magstat | grep NEEDED >/dev/null"

# -- purge -------------------------------------------------------------------
if [ "${PKG_KEEP:-}" != 1 ]; then
	t=$SECONDS
	cleanup
	say "purge: $((SECONDS - t)) s"
	left=$(ls -d /usr/src/magalloc-* /var/lib/dkms/magalloc \
		/lib/modules/*/updates/dkms/magalloc.ko* /usr/bin/magstat 2>/dev/null || true)
	check "apt-get purge leaves nothing behind${left:+: $left}" [ -z "$left" ]
else
	cleanup
fi

tally
