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
# Two kinds of false positive are dropped: checkpatch reads an asm goto
# label operand (%l[name], as the kernel's own uaccess.h passes to
# _ASM_EXTABLE_UA()) as a modulo without spaces; and in mod/trace.h, the
# TRACE_EVENT() layout of every include/trace/events/ header (a line
# ending in "TP_STRUCT__entry(", arguments aligned to the block, not to
# the parenthesis) is not C's.  Its "total:" lines go too; any other
# finding fails.
out=$({ perl "$LINUX_SRC/scripts/checkpatch.pl" --strict --no-tree --quiet \
	--ignore SPDX_LICENSE_TAG,FILE_PATH_CHANGES,LINUX_VERSION_CODE -f "${files[@]}" 2>&1 ||
	true; } | python3 -c '
import re, sys
for block in re.split(r"\n\s*\n", sys.stdin.read()):
    lines = [l for l in block.splitlines() if l.strip() and not l.startswith("total:")]
    if not lines or ("spaces preferred around that \x27%\x27" in lines[0]
                     and any("%l[" in l for l in lines[1:])):
        continue
    if any("FILE: mod/trace.h:" in l for l in lines[1:]) and (
            "Lines should not end with a \x27(\x27" in lines[0] or
            "Alignment should match open parenthesis" in lines[0]):
        continue
    print("\n".join(lines) + "\n")
') || fail=1
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
