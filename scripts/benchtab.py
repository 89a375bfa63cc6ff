#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the console logs of `make bench` into one table.

Usage: benchtab.py --icount0 LOG --icount1 LOG --tcg LOG [--tcg LOG ...]
                   [--command CMD ...] [--note TEXT ...]

Reads the "magbench: ..." lines a guest copied between "@@MAG BENCH-BEGIN"
and "@@MAG BENCH-END" (see bench/magbench.c for their format):
  --icount0  qemu -icount shift=0, one vCPU, init_on_alloc=0
  --icount1  the same with the kernel's default, init_on_alloc=1
  --tcg      plain TCG with two or more vCPUs, one log per boot
Per-size targets are judged on the icount figures, where one guest ns is
one instruction and a boot repeats exactly; the cross-CPU target on the
per-boot ratios of the TCG boots.  Prints the table on stdout; exits 1 if
a log lacks figures (the targets' verdicts do not change the exit status).
"""
import argparse
import re
import statistics
import sys

LINE = re.compile(r'^magbench: (\S+) ?(.*)$')
SIZES = [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768]


def parse(path):
    """Returns {(what, kind, size): value}, plus 'start' and 'done'."""
    figs, inside = {}, False
    with open(path, errors='replace') as f:
        for raw in f:
            line = raw.strip()
            if line == '@@MAG BENCH-BEGIN':
                inside = True
            elif line == '@@MAG BENCH-END':
                inside = False
            elif inside and (m := LINE.match(line)):
                what, rest = m.groups()
                if what == 'start':
                    figs['start'] = dict(kv.split('=') for kv in rest.split())
                elif what == 'done':
                    figs['done'] = True
                else:
                    kind, size, val = rest.split()
                    try:
                        figs[(what, kind, int(size))] = float(val)
                    except ValueError:  # "n/a" or "fail"
                        figs[(what, kind, int(size))] = val
    return figs


def num(x):
    return x if isinstance(x, float) else None


def ratio(a, b):
    a, b = num(a), num(b)
    return a / b if a is not None and b else None


def fmt(x, spec):
    return format(x, spec) if x is not None else '-'.rjust(len(format(0.0, spec)))


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def spread(xs, spec):
    """'median [min..max]' of the numbers in xs."""
    xs = [x for x in xs if x is not None]
    if not xs:
        return '-'
    return (f'{format(statistics.median(xs), spec)} '
            f'[{format(min(xs), spec)}..{format(max(xs), spec)}]')


def verdict(r, limit, below=True):
    if r is None:
        return 'MISS'
    return 'PASS' if (r <= limit if below else r >= limit) else 'MISS'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--icount0', required=True)
    ap.add_argument('--icount1', required=True)
    ap.add_argument('--tcg', action='append', default=[])
    ap.add_argument('--command', action='append', default=[])
    ap.add_argument('--note', action='append', default=[])
    args = ap.parse_args()

    ic = [parse(args.icount0), parse(args.icount1)]
    tcg = [parse(p) for p in args.tcg]
    ok = True
    for path, figs in zip([args.icount0, args.icount1] + args.tcg, ic + tcg):
        if not figs.get('done'):
            print(f'warning: {path}: magbench did not finish', file=sys.stderr)
            ok = False
    for want, figs in zip('01', ic):
        st = figs.get('start', {})
        if st and (st.get('init_on_alloc') != want or st.get('cpus') != '1'):
            print(f'warning: icount boot reports {st}', file=sys.stderr)
            ok = False

    out = []
    p = out.append
    ncpu = sorted({f.get('start', {}).get('cpus', '?') for f in tcg})
    ioa_tcg = sorted({f.get('start', {}).get('init_on_alloc', '?') for f in tcg})
    p('magbench: magalloc (mag) against kmalloc/kfree (SLUB) and a bare per-CPU')
    p('pointer array (floor), stock Debian 6.12 in QEMU, all in the same boots.')
    p('mag and SLUB: mag_alloc()/mag_free() and kmalloc()/kfree() of a size the')
    p('  compiler knows (both pick the class at compile time; magalloc.h inlines')
    p('  its fast paths); the fastest of 5 passes of 20000 pairs (2000 above 8 KiB).')
    p('icount: instructions per alloc+free pair, qemu -icount shift=0, 1 vCPU')
    p('  (repeatable; blind to cache misses and to what atomics cost).')
    p(f'TCG: wall-clock ns per pair, plain TCG, {"/".join(ncpu)} vCPUs on one node,')
    p(f'  init_on_alloc={"/".join(ioa_tcg)}, median of {len(tcg)} boots '
      '(swings ~3x between boots);')
    p('  its m/S is the median of the per-boot ratios.')
    p('Targets (judged under icount, "ioa0 ioa1"): every size mag <= 0.5 x SLUB;')
    p('64 B mag <= 0.25 x SLUB and <= 2 x floor; cross-CPU mag >= 2 x SLUB.')
    p('')
    grp = f'{"mag":>7} {"SLUB":>7} {"floor":>5} {"m/S":>4} {"m/fl":>6}'
    tgrp = f'{"mag":>6} {"SLUB":>7} {"floor":>5} {"m/S":>4}'
    vv = 'ioa0 ioa1'
    p(f'{"":>6} | {"icount, init_on_alloc=0":<33} | {"icount, init_on_alloc=1":<33} '
      f'| {"TCG ns, median":<25} | {"<=0.5 SLUB":<9} {"<=.25 SLUB":<10} {"<=2 floor":<9}')
    head = f'{"size":>6} | {grp} | {grp} | {tgrp} | {vv:<10} {vv:<10} {vv}'
    rule = '-' * len(head)
    p(head)
    p(rule)
    tally = {'PASS': 0, 'MISS': 0}

    def judge(rs, limit, below=True):
        vs = [verdict(r, limit, below) for r in rs]
        for v in vs:
            tally[v] += 1
        return ' '.join(vs)

    for size in SIZES:
        cells, rs, rfs = [], [], []
        for figs in ic:
            mag, slub, fl = (figs.get(('pair', k, size)) for k in ('mag', 'slub', 'floor'))
            r, rf = ratio(mag, slub), ratio(mag, fl)
            rs.append(r)
            rfs.append(rf)
            cells.append(f'{fmt(num(mag), "7.2f")} {fmt(num(slub), "7.1f")} '
                         f'{fmt(num(fl), "5.1f")} {fmt(r, "4.2f")} {fmt(rf, "6.2f")}')
        t = [median(f.get(('pair', k, size)) for f in tcg) if tcg else None
             for k in ('mag', 'slub', 'floor')]
        tr = median(ratio(f.get(('pair', 'mag', size)), f.get(('pair', 'slub', size)))
                    for f in tcg)
        tcell = (f'{fmt(t[0], "6.0f")} {fmt(t[1], "7.0f")} {fmt(t[2], "5.0f")} '
                 f'{fmt(tr, "4.2f")}')
        v64 = [judge(rs, 0.25), judge(rfs, 2.0)] if size == 64 else ['-', '-']
        p(f'{size:>6} | {cells[0]} | {cells[1]} | {tcell} | {judge(rs, 0.5):<10} '
          f'{v64[0]:<10} {v64[1]}')
    p(rule)

    # the same pairs with the size known only at run time: exported calls
    p('size known only at run time: magcall = the exported mag_alloc()/mag_free()')
    p('(what a MAGALLOC_NO_INLINE consumer, or a variable size, gets); slubvar =')
    p('kmalloc()/kfree(); instructions per pair (icount) and TCG ns, medians:')
    vhead = (f'{"size":>6} | {"mag":>7} {"SLUB":>7} {"m/S":>4} | {"mag":>7} {"SLUB":>7} '
             f'{"m/S":>4} | {"mag":>6} {"SLUB":>6} {"m/S":>4}')
    p(f'{"":>6} | {"icount, ioa=0":<20} | {"icount, ioa=1":<20} | TCG ns')
    p(vhead)
    p('-' * len(vhead))
    for size in SIZES:
        cells = []
        for figs in ic:
            mag, slub = (figs.get(('pair', k, size)) for k in ('magcall', 'slubvar'))
            cells.append(f'{fmt(num(mag), "7.2f")} {fmt(num(slub), "7.1f")} '
                         f'{fmt(ratio(mag, slub), "4.2f")}')
        t = [median(f.get(('pair', k, size)) for f in tcg) if tcg else None
             for k in ('magcall', 'slubvar')]
        tr = median(ratio(f.get(('pair', 'magcall', size)), f.get(('pair', 'slubvar', size)))
                    for f in tcg)
        p(f'{size:>6} | {cells[0]} | {cells[1]} | {fmt(t[0], "6.0f")} {fmt(t[1], "6.0f")} '
          f'{fmt(tr, "4.2f")}')
    p('-' * len(vhead))

    # bulk: 64 objects of 64 B per call, per object
    cells = []
    for figs in ic:
        mag, slub = figs.get(('bulk', 'mag', 64)), figs.get(('bulk', 'slub', 64))
        cells.append(f'mag {fmt(num(mag), ".1f")}, kmem_cache {fmt(num(slub), ".1f")}, '
                     f'm/S {fmt(ratio(mag, slub), ".2f")}')
    tb = [median(f.get(('bulk', k, 64)) for f in tcg) for k in ('mag', 'slub')]
    tbr = median(ratio(f.get(('bulk', 'mag', 64)), f.get(('bulk', 'slub', 64))) for f in tcg)
    p('bulk, 64 x 64 B per call (mag_alloc_bulk/mag_free_bulk against')
    p('kmem_cache_alloc_bulk/kmem_cache_free_bulk), per object:')
    p(f'  icount ioa=0: {cells[0]}')
    p(f'  icount ioa=1: {cells[1]}')
    p(f'  TCG ns, median: mag {fmt(tb[0], ".0f")}, kmem_cache {fmt(tb[1], ".0f")}, '
      f'm/S {fmt(tbr, ".2f")}')

    # cross-CPU: objects per second, one CPU allocates, the other frees
    xm = [num(f.get(('xcpu', 'mag', 64))) for f in tcg]
    xs = [num(f.get(('xcpu', 'slub', 64))) for f in tcg]
    xr = [ratio(a, b) for a, b in zip(xm, xs)]
    p('cross-CPU, 64 B, CPU 0 allocates and CPU 1 frees (SPSC ring), objects/s,')
    p('best of 5 interleaved runs per boot; plain TCG, median [min..max] over')
    p(f'{len(tcg)} boots; ratio taken within each boot (icount cannot run it: one vCPU):')
    p(f'  mag  {spread([x / 1e6 if x else None for x in xm], ".2f")} M/s')
    p(f'  SLUB {spread([x / 1e6 if x else None for x in xs], ".2f")} M/s')
    p(f'  mag/SLUB {spread(xr, ".2f")}   >=2 x SLUB: {judge([median(xr)], 2.0, False)}')
    p('')

    # userspace, 64 B per object: /dev/magalloc ioctls, libmagalloc, glibc
    kinds = ('single', 'bulk', 'lib', 'glibc')
    p('userspace, 64 B, per object (magalloc_ubench in the same guests):')
    p('  single = MAGALLOC_IOC_ALLOC + _FREE; bulk = _ALLOC_BULK + _FREE_BULK of 64;')
    p('  lib = libmagalloc mag_malloc + mag_free; glibc = malloc + free.')
    p('  Targets: bulk <= 0.1 x single; lib <= 2 x glibc.')
    p(f'  {"":<14} {"single":>8} {"bulk":>7} {"lib":>7} {"glibc":>7}   '
      f'{"b/s":>5} {"l/g":>5}')
    bs, lg = [], []
    for name, figs in (('icount ioa=0', ic[0]), ('icount ioa=1', ic[1])):
        v = [num(figs.get(('user', k, 64))) for k in kinds]
        bs.append(ratio(v[1], v[0]))
        lg.append(ratio(v[2], v[3]))
        p(f'  {name:<14} ' + ' '.join(fmt(x, '7.1f') for x in v)
          + f'   {fmt(bs[-1], "5.3f")} {fmt(lg[-1], "5.2f")}')
    t = [median(f.get(('user', k, 64)) for f in tcg) if tcg else None for k in kinds]
    tbs = median(ratio(f.get(('user', 'bulk', 64)), f.get(('user', 'single', 64))) for f in tcg)
    tlg = median(ratio(f.get(('user', 'lib', 64)), f.get(('user', 'glibc', 64))) for f in tcg)
    p(f'  {"TCG ns, median":<14} ' + ' '.join(fmt(x, '7.0f') for x in t)
      + f'   {fmt(tbs, "5.3f")} {fmt(tlg, "5.2f")}')
    p(f'  bulk <= 0.1 x single: {judge(bs, 0.1)}   lib <= 2 x glibc: {judge(lg, 2.0)}')
    p('')
    p(f'targets: {tally["PASS"]} PASS, {tally["MISS"]} MISS')
    if args.note:
        p('')
        p('notes:')
        for n in args.note:
            p(f'  {n}')
    if args.command:
        p('')
        p('commands:')
        for c in args.command:
            p(f'  {c}')
    print('\n'.join(out))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
