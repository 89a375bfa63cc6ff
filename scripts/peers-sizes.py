#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Make bench/peers-sizes.h, the mixed size distribution of the peers bench.

Usage: scripts/peers-sizes.py [OUT]   (default bench/peers-sizes.h)

Runs the two programs the preload step of `make check` runs through
libmagalloc-preload.so (sqlite3 on scripts/preload/sqlite.sql, perl on
scripts/preload/workload.pl) under `valgrind --trace-malloc=yes`, which
prints every malloc(), calloc(), realloc() and memalign() call, and counts
the sizes asked for (calloc: nmemb * size; realloc: the new size; realloc
to 0 and frees are not allocations).  Sizes above MAX_SIZE (the largest
size class, 32 KiB: a larger object is a kernel call in libmagalloc and an
mmap() in glibc, a different benchmark) are left out; the header says how
many.  The distribution is the programs': the same binaries give the same
header.
"""
import collections
import os
import re
import subprocess
import sys

MAX_SIZE = 32768
TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CALL = re.compile(r'^--\d+-- (malloc|calloc|realloc|memalign|posix_memalign)\(([^)]*)\)')


def trace(cmd, stdin=None):
    """Counter of allocation sizes of one program run under valgrind."""
    sizes = collections.Counter()
    with open(stdin or os.devnull) as inp:
        p = subprocess.run(['valgrind', '--trace-malloc=yes', '--log-fd=2'] + cmd,
                           stdin=inp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           cwd='/tmp', text=True, errors='replace', check=True)
    for line in p.stderr.splitlines():
        m = CALL.match(line)
        if not m:
            continue
        fn, args = m.group(1), [a.strip() for a in m.group(2).split(',')]
        try:
            if fn == 'malloc':
                n = int(args[0])
            elif fn == 'calloc':
                n = int(args[0]) * int(args[1])
            elif fn == 'realloc':
                n = int(args[1])
            else:
                n = int(args[-1])
        except (ValueError, IndexError):
            continue
        if fn == 'realloc' and n == 0:
            continue
        sizes[n] += 1
    return sizes


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, 'bench/peers-sizes.h')
    sizes = trace(['/usr/bin/sqlite3', '-batch', ':memory:'],
                  os.path.join(TOP, 'scripts/preload/sqlite.sql'))
    sizes += trace(['/usr/bin/perl', os.path.join(TOP, 'scripts/preload/workload.pl')])
    total = sum(sizes.values())
    kept = {n: c for n, c in sizes.items() if n <= MAX_SIZE}
    dropped = total - sum(kept.values())
    mean = sum(n * c for n, c in kept.items()) / sum(kept.values())
    lines = [
        '/* SPDX-License-Identifier: GPL-2.0 */',
        '/*',
        ' * Made by scripts/peers-sizes.py: the sizes sqlite3 (scripts/preload/',
        ' * sqlite.sql) and perl (scripts/preload/workload.pl) asked malloc(),',
        ' * calloc(), realloc() and memalign() for, under valgrind --trace-malloc.',
        f' * {total} allocations, {len(sizes)} distinct sizes; {dropped} above '
        f'{MAX_SIZE} bytes left out;',
        f' * mean of the rest {mean:.1f} bytes.  { "{" }size, count{ "}" }, by size.',
        ' */',
        f'#define PEER_SIZES_TOTAL {sum(kept.values())}',
        '',
        'static const struct peer_size {',
        '\tunsigned int size;',
        '\tunsigned int count;',
        '} peer_sizes[] = {',
    ]
    row = []
    for n in sorted(kept):
        cell = f'{{ {n}, {kept[n]} }},'
        if row and len('\t' + ' '.join(row + [cell])) > 72:
            lines.append('\t' + ' '.join(row))
            row = []
        row.append(cell)
    if row:
        lines.append('\t' + ' '.join(row))
    lines.append('};')
    with open(out, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print(f'{out}: {total} allocations, {len(kept)} sizes kept, {dropped} dropped',
          file=sys.stderr)


if __name__ == '__main__':
    main()
