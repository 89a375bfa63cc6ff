#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make lint: checkpatch.pl --strict (from the linux-source tree) on every C
# file and header of the project, kernel-doc -Wall on the module and the
# uapi header, then sparse (C=2) on the module built
# against the 6.12 headers.  Any finding fails.  LINUX_VERSION_CODE is
# allowed: an out-of-tree module builds for several kernels, and
# mod/compat.h is the one place that tests versions.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_deps

cd "$top"
mapfile -t files < <(git ls-files -co --exclude-standard '*.c' '*.h' | grep -v '^build/')
fail=0
out=$(perl "$LINUX_SRC/scripts/checkpatch.pl" --strict --no-tree --quiet \
	--ignore SPDX_LICENSE_TAG,FILE_PATH_CHANGES,LINUX_VERSION_CODE -f "${files[@]}" 2>&1) || fail=1
[ -z "$out" ] || { echo "$out"; fail=1; }

# kernel-doc: every comment that opens with /** must parse cleanly.
out=$(perl "$LINUX_SRC/scripts/kernel-doc" -none -Wall mod/*.c mod/*.h uapi/linux/*.h 2>&1) || fail=1
[ -z "$out" ] || { echo "$out"; fail=1; }

log=$build/lint-sparse.log
build_module lint "/usr/src/linux-headers-$K612" C=2 CHECK=sparse > "$log" 2>&1 || fail=1
if grep -E 'warning:|error:' "$log"; then
	fail=1
fi
[ "$fail" = 0 ] && echo "lint: ${#files[@]} files clean (checkpatch --strict, kernel-doc, sparse)"
exit "$fail"
