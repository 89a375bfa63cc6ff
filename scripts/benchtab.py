#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the console logs of `make bench` into one table.

Usage: benchtab.py --icount0 LOG --icount1 LOG --tcg LOG [--tcg LOG ...]
                   [--replay4 LOG ...] [--callgrind LOG] [--command CMD ...]
                   [--note TEXT ...]

Reads the "magbench: ..." lines a guest copied between "@@MAG BENCH-BEGIN"
and "@@MAG BENCH-END" (see bench/main.c for their format):
  --icount0  qemu -icount shift=0, one vCPU, init_on_alloc=0
  --icount1  the same with the kernel's default, init_on_alloc=1
  --tcg      plain TCG with two or more vCPUs, one log per boot
  --replay4  plain TCG with four vCPUs, magbench.replay_only=1: the trace
             replayed on 4 CPUs (bench/replay.c), one log per boot
  --callgrind  scripts/bench.sh's callgrind runs of the peers on the host
Every boot also has the userspace half's lines: bench/ubench.c's,
bench/peers.c's (peer, peerorigin) and bench/shm.cc's (shm, shmns).
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
# bench/replay.c's lines: key=value fields
KV = ('trace', 'replay1', 'footprint', 'replay4', 'churn')
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
                elif what in ('peer', 'cg'):
                    name, test, val = rest.split()[:3]
                    figs[(what, name, test)] = tofloat(val)
                elif what in ('peerstat', 'peerpreload'):
                    kv = rest.split()
                    figs.setdefault(what, []).append(kv)
                elif what == 'parked':
                    f_ = rest.split()
                    figs.setdefault('parked', []).append([int(x) for x in f_[:7]])
                elif what == 'peerorigin':
                    name, origin = (rest.split(None, 1) + [''])[:2]
                    figs[('origin', name)] = origin
                elif what in ('shm', 'shmns'):
                    name, procs, val = rest.split()[:3]
                    figs.setdefault((what, name, int(procs)), []).append(tofloat(val))
                elif what in KV:
                    kv = dict(f.split('=', 1) for f in rest.split() if '=' in f)
                    key = (what, kv.get('kind'), kv.get('set') or kv.get('round'))
                    # a figure that failed or could not run has no numbers
                    figs[key] = kv if len(kv) > 2 or what == 'trace' else None
                else:
                    kind, size, val = rest.split()
                    try:
                        figs[(what, kind, int(size))] = float(val)
                    except ValueError:  # "n/a" or "fail"
                        figs[(what, kind, int(size))] = val
    return figs


def tofloat(s):
    try:
        return float(s)
    except ValueError:
        return None


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


def kvnum(figs, key, field):
    kv = figs.get(key)
    try:
        return float(kv[field]) if kv else None
    except (KeyError, ValueError):
        return None


def per_mop(n, ops):
    """@n per 10^6 of @ops."""
    return n / ops * 1e6 if n is not None and ops else None


def replay_tables(p, ic, tcg, r4):
    """The trace's replays, footprints and churn (bench/replay.c)."""
    tr = ic[0].get(('trace', None, None)) or {}
    p(f'replay of a kmalloc/kfree trace (bench/replay-trace.xz: {tr.get("ops", "?")} '
      f'operations, {tr.get("objects", "?")} objects,')
    p(f'{tr.get("cpus", "?")} CPUs; scripts/replay-capture.sh), in its order on one CPU: '
      'mag_alloc()/mag_free() and')
    p('kmalloc()/kfree() as exported calls, sizes known at run time, __GFP_ZERO where')
    p('the trace asked; per operation, best of 3 passes after a warm-up; loop = the')
    p('replay without allocator; m/S = (mag - loop) / (SLUB - loop); raw = mag / SLUB.')
    p('all = every operation; small = without the objects above 32 KiB; nozero = small')
    p('without __GFP_ZERO (the allocators\' own work, without the memset both pay).')
    head = (f'{"set":>6} | {"loop":>5} {"mag":>7} {"SLUB":>7} {"m/S":>4} {"raw":>4} '
            f'| {"loop":>5} {"mag":>7} {"SLUB":>7} {"m/S":>4} {"raw":>4} '
            f'| {"mag":>6} {"SLUB":>6} {"m/S":>4}')
    p(f'{"":>6} | {"icount ioa=0, instructions":<32} | {"icount ioa=1, instructions":<32} '
      f'| TCG ns, median')
    p(head)
    p('-' * len(head))

    def per_op(figs, kind, st):
        return kvnum(figs, ('replay1', kind, st), 'ns_per_op')

    def net(figs, st):
        lp, m, sl = (per_op(figs, k, st) for k in ('loop', 'mag', 'slub'))
        return ratio(m - lp, sl - lp) if None not in (lp, m, sl) else None

    for st in ('all', 'small', 'nozero'):
        cells = []
        for figs in ic:
            lp, m, sl = (per_op(figs, k, st) for k in ('loop', 'mag', 'slub'))
            cells.append(f'{fmt(lp, "5.1f")} {fmt(m, "7.1f")} {fmt(sl, "7.1f")} '
                         f'{fmt(net(figs, st), "4.2f")} {fmt(ratio(m, sl), "4.2f")}')
        t = [median(per_op(f, k, st) for f in tcg) for k in ('mag', 'slub')]
        tr_ = median(net(f, st) for f in tcg)
        p(f'{st:>6} | {cells[0]} | {cells[1]} | {fmt(t[0], "6.0f")} {fmt(t[1], "6.0f")} '
          f'{fmt(tr_, "4.2f")}')
    p('-' * len(head))
    p('magalloc slow-path entries / central lock entries per 10^6 operations (one CPU):')
    for name, figs in (('icount ioa=0', ic[0]), ('icount ioa=1', ic[1])):
        cells = []
        for st in ('all', 'small', 'nozero'):
            ops = kvnum(figs, ('replay1', 'mag', st), 'ops')
            sl = kvnum(figs, ('replay1', 'mag', st), 'slow')
            lk = kvnum(figs, ('replay1', 'mag', st), 'locks')
            cells.append(f'{st} {fmt(per_mop(sl, ops), ".0f")} / '
                         f'{fmt(per_mop(lk, ops), ".0f")}')
        p(f'  {name}: ' + ', '.join(cells))

    p('footprint at the trace\'s peak of live bytes (set all; each allocator\'s first pass,')
    p('before any other figure): held / live, held = growth of slab pages (SLUB\'s slabs and')
    p('large kmallocs; magalloc\'s kmalloc()ed metadata) + for magalloc every page it holds:')
    for name, figs in (('icount ioa=0', ic[0]), ('icount ioa=1', ic[1])):
        cells = []
        for kind in ('mag', 'slub'):
            kv = figs.get(('footprint', kind, 'all'))
            if not kv:
                cells.append(f'{kind} -')
                continue
            cells.append(f'{"SLUB" if kind == "slub" else kind} {float(kv["ratio"]):.3f} '
                         f'({int(kv["held"]) // 1024} KiB = slab {int(kv["slab"]) // 1024} '
                         f'+ pages {int(kv["pages"]) // 1024})')
        live = kvnum(figs, ('footprint', 'mag', 'all'), 'live')
        p(f'  {name}: live {fmt(live and live / 1024, ".0f")} KiB; ' + '; '.join(cells))
        fb = kvnum(figs, ('footprint', 'mag', 'all'), 'free_blocks')
        sf = kvnum(figs, ('footprint', 'mag', 'all'), 'span_free')
        if fb is not None and sf is not None:
            p(f'    of magalloc\'s pages: {fb / 1024:.0f} KiB in its arenas\' free blocks, '
              f'{sf / 1024:.0f} KiB of free objects in spans')
    fr = [median(kvnum(f, ('footprint', k, 'all'), 'ratio') for f in tcg + r4)
          for k in ('mag', 'slub')]
    p(f'  TCG boots, median: mag {fmt(fr[0], ".3f")}, SLUB {fmt(fr[1], ".3f")}')

    p(f'replay on {tr.get("cpus", "?")} CPUs: each of the trace\'s CPUs replays its own operations')
    p('in a kthread on its own vCPU, a free waiting for its allocation on another;')
    p(f'plain TCG, 4 vCPUs, {len(r4)} boot(s), best of 3 per boot, median [min..max];')
    p('ns per operation = wall clock (first start to last end) / operations:')
    rm = [kvnum(f, ('replay4', 'mag', 'all'), 'ns_per_op') for f in r4]
    rs = [kvnum(f, ('replay4', 'slub', 'all'), 'ns_per_op') for f in r4]
    p(f'  mag  {spread(rm, ".0f")} ns   SLUB {spread(rs, ".0f")} ns   '
      f'mag/SLUB {spread([ratio(a, b) for a, b in zip(rm, rs)], ".2f")}')
    bm = [kvnum(f, ('replay4', 'mag', 'all'), 'busy_ns_per_op') for f in r4]
    bs = [kvnum(f, ('replay4', 'slub', 'all'), 'busy_ns_per_op') for f in r4]
    p('  busy: the four streams\' ns summed, less their waits for other CPUs\' allocations:')
    p(f'  mag  {spread(bm, ".0f")} ns   SLUB {spread(bs, ".0f")} ns   '
      f'mag/SLUB {spread([ratio(a, b) for a, b in zip(bm, bs)], ".2f")}')
    rates = []
    for f in r4:
        ops = kvnum(f, ('replay4', 'mag', 'all'), 'ops')
        rates.append([per_mop(kvnum(f, ('replay4', 'mag', 'all'), k), ops)
                      for k in ('slow', 'locks')])
    p(f'  magalloc per 10^6 operations: slow-path entries '
      f'{spread([r[0] for r in rates], ".0f")}, central lock entries '
      f'{spread([r[1] for r in rates], ".0f")}')
    # debugfs "parked" right after: cpu magazines objects bytes generic reserved evictions
    pk = [f.get('parked') for f in r4 if f.get('parked')]
    if pk:
        most = [max(row[3] for row in rows) / 1024 for rows in pk]
        total = [sum(row[3] for row in rows) / 1024 for rows in pk]
        resv = [max(row[5] for row in rows) / 1024 for rows in pk]
        p(f'  parked in CPU magazines right after (debugfs "parked"; 0 where the trim came'
          f' first): most on one CPU')
        p(f'  {spread(most, ".0f")} KiB, all CPUs {spread(total, ".0f")} KiB; budget reserved'
          f' by their limits (what they may park),')
        p(f'  most on one CPU {spread(resv, ".0f")} KiB')

    rounds = sorted({k[2] for f in ic for k in f
                     if k[0] == 'churn' and k[2] not in ('start', 'freed', 'trim', 'idle')},
                    key=int) + ['freed', 'trim', 'idle']
    p('churn: 10^6 live objects, sizes drawn from the trace\'s allocations up to 32 KiB,')
    p('then rounds that each free and allocate again 10^5 of them (random indices), then')
    p('all freed; held / live after each step (freed: held after freeing all / the last')
    p('live bytes; trim: the same 2.5 s later, one trim period of magalloc\'s and its pass;')
    p('idle: 5 s later); held counted as above (slab growth since')
    p('before the churn, + for magalloc all it holds); SLUB runs first; magalloc held')
    before = []
    for name, figs in (('ioa=0', ic[0]), ('ioa=1', ic[1])):
        held = kvnum(figs, ('churn', 'mag', 'start'), 'held')
        before.append(f'{fmt(held and held / 2**20, ".1f")} MiB ({name})')
    p(', '.join(before) + ' before its churn, from the figures before:')
    head = (f'{"round":>6} | {"live MiB":>8} {"mag":>6} {"SLUB":>6} '
            f'| {"live MiB":>8} {"mag":>6} {"SLUB":>6}')
    p(f'{"":>6} | {"icount ioa=0":<22} | icount ioa=1')
    p(head)
    p('-' * len(head))
    for r in rounds:
        cells = []
        for figs in ic:
            live = kvnum(figs, ('churn', 'mag', r), 'live')
            cells.append(f'{fmt(live and live / 2**20, "8.1f")} '
                         f'{fmt(kvnum(figs, ("churn", "mag", r), "ratio"), "6.3f")} '
                         f'{fmt(kvnum(figs, ("churn", "slub", r), "ratio"), "6.3f")}')
        p(f'{r:>6} | {cells[0]} | {cells[1]}')
    p('-' * len(head))

PEERS = ('lib', 'preload', 'glibc', 'jemalloc', 'tcmalloc', 'mimalloc')
PEER_TESTS = ('64x1', '64x4', 'mixx1', 'mixx4')
# what each peer's malloc() origin must name (bench/peers.c checks it too)
PEER_FILES = {'preload': 'libmagalloc-preload', 'glibc': 'libc.so',
              'jemalloc': 'libjemalloc', 'tcmalloc': 'libtcmalloc',
              'mimalloc': 'libmimalloc', 'lib': 'magalloc_peers'}


def origin_ok(logs, name):
    """'ok' when every log that ran @name found its malloc where it should."""
    seen = [f.get(('origin', name)) for f in logs if ('origin', name) in f]
    if not seen:
        return '-'
    good = all(o and 'mismatch' not in o and PEER_FILES[name] in o.split()[0]
               for o in seen)
    return 'ok' if good else 'BAD'


def peer_tables(p, ic, tcg, r4, cg, judge):
    """The userspace peers (bench/peers.c) and the shared heap (bench/shm.cc)."""
    p('peers: userspace malloc + free pairs (magalloc_peers, bench/peers.c, in the same')
    p('guests, one process per allocator): lib = libmagalloc mag_malloc/mag_free on one')
    p('heap; preload = libmagalloc-preload.so; glibc, jemalloc, tcmalloc, mimalloc =')
    p('Debian\'s (LD_PRELOAD); origin ok = in every boot and callgrind run, malloc() was')
    p('in the library named and its objects in a heap mapping ("/magalloc (deleted)") for lib and')
    p('preload only (/proc/self/maps).')
    p('64 = malloc(64) + free; mix = free one of 1024 live objects at random and')
    p('allocate one of a size from bench/peers-sizes.h (sqlite3\'s and perl\'s malloc')
    p('sizes, fixed seed); x1 = one thread, x4 = 4 threads in one process, per pair of')
    p('all threads.  icount: instructions per pair in the guest (ioa=0 boot);')
    p('callgrind: instructions per pair on the host (no /dev/magalloc there: no lib,')
    p('no preload); TCG: wall-clock ns per pair, median of the 2-vCPU boots.')
    head = (f'{"":>8} | {"icount, instructions":<27} | {"callgrind, instructions":<27} '
            f'| {"TCG ns, median":<23} | origin')
    cols = ' '.join(f'{t:>6}' for t in PEER_TESTS)
    tcols = ' '.join(f'{t:>5}' for t in PEER_TESTS)
    p(head)
    p(f'{"alloc":>8} | {cols} | {cols} | {tcols} |')
    rule = '-' * (len(head) + 2)
    p(rule)
    icv = {}
    for name in PEERS:
        iv = [num(ic[0].get(('peer', name, t))) for t in PEER_TESTS]
        icv[name] = iv
        cv = [num(cg.get(('cg', name, t))) if cg else None for t in PEER_TESTS]
        tv = [median(f.get(('peer', name, t)) for f in tcg) for t in PEER_TESTS]
        p(f'{name:>8} | ' + ' '.join(fmt(x, '6.1f') for x in iv) + ' | '
          + ' '.join(fmt(x, '6.1f') for x in cv) + ' | '
          + ' '.join(fmt(x, '5.0f') for x in tv)
          + f' | {origin_ok(ic + tcg + r4 + ([cg] if cg else []), name)}')
    p(rule)
    others = ('glibc', 'jemalloc', 'tcmalloc', 'mimalloc')
    for name in ('lib', 'preload'):
        cells = []
        for i, t in enumerate(PEER_TESTS):
            best = [icv[o][i] for o in others if icv[o][i] is not None]
            cells.append(f'{t} {fmt(ratio(icv[name][i], min(best) if best else None), ".2f")}')
        p(f'  {name} / the best peer (icount): ' + ', '.join(cells))
    dif = []
    for name in PEERS:
        for t in PEER_TESTS:
            a, b = num(ic[0].get(('peer', name, t))), num(ic[1].get(('peer', name, t)))
            if a and b and abs(b / a - 1) > 0.02:
                dif.append(f'{name} {t} {b:.1f}')
    p('  the ioa=1 boot: the same within 2%' + (', but ' + ', '.join(dif) if dif else ''))
    # libmagalloc's counters (lib) and the interposer's (preload), icount ioa=0
    for kv in ic[0].get('peerstat', []):
        f = dict(x.split('=', 1) for x in kv[2:] if '=' in x)
        try:
            mallocs = int(f['mallocs'])
            p(f'  lib {kv[1]}: {mallocs} mag_malloc()s, {f["refills"]} refills and '
              f'{f["drains"]} drains (ioctls), {f["large"]} large')
        except (KeyError, ValueError):
            pass
    for kv in ic[0].get('peerpreload', []):
        f = dict(zip(kv[::2], kv[1::2]))
        p(f'  preload: heap {f.get("heap", "?")}, {f.get("heap_mallocs", "?")} mallocs from '
          f'the heap, {f.get("system_mallocs", "?")} from glibc, '
          f'{f.get("bad_frees", "?")} bad frees')
    p('')

    p('shared between processes: 4 processes allocating and freeing in one heap, each')
    p('doing the mix steps above on one thread (bench/shm.cc): mag = one /dev/magalloc')
    p('heap opened before fork(), libmagalloc in each process; boost = Boost.Interprocess')
    p('managed_shared_memory (rbtree_best_fit under its interprocess mutex).')

    def best(figs, what, name, hi=True):
        xs = [x for x in figs.get((what, name, 4), []) if x is not None]
        return (max(xs) if hi else min(xs)) if xs else None

    for name, figs in (('icount ioa=0', ic[0]), ('icount ioa=1', ic[1])):
        m, b = best(figs, 'shmns', 'mag', False), best(figs, 'shmns', 'boost', False)
        p(f'  {name}: instructions per pair, mag {fmt(m, ".1f")}, boost {fmt(b, ".1f")}, '
          f'boost/mag {fmt(ratio(b, m), ".2f")}')
    p('  plain TCG, operations/s (one malloc or one free each), the best of 2 runs per')
    p('  boot, median [min..max] over the boots; mag/boost taken within each boot:')
    rs = []
    for label, boots in (('2 vCPUs', tcg), ('4 vCPUs', r4)):
        m = [best(f, 'shm', 'mag') for f in boots]
        b = [best(f, 'shm', 'boost') for f in boots]
        r = [ratio(x, y) for x, y in zip(m, b)]
        rs.append(median(r))
        mm = spread([x / 1e6 if x else None for x in m], '.2f')
        bm = spread([x / 1e6 if x else None for x in b], '.2f')
        p(f'  {label}, {len(boots)} boots: mag {mm} M/s, boost {bm} M/s,')
        p(f'    mag/boost {spread(r, ".1f")}')
    p(f'  mag >= 5 x boost (median ratio, 2 and 4 vCPUs): {judge(rs, 5.0, False)}')
    p('')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--icount0', required=True)
    ap.add_argument('--icount1', required=True)
    ap.add_argument('--tcg', action='append', default=[])
    ap.add_argument('--replay4', action='append', default=[])
    ap.add_argument('--command', action='append', default=[])
    ap.add_argument('--note', action='append', default=[])
    ap.add_argument('--callgrind')
    args = ap.parse_args()

    ic = [parse(args.icount0), parse(args.icount1)]
    tcg = [parse(p) for p in args.tcg]
    r4 = [parse(p) for p in args.replay4]
    cg = parse(args.callgrind) if args.callgrind else {}
    ok = True
    for path, figs in zip([args.icount0, args.icount1] + args.tcg + args.replay4,
                          ic + tcg + r4):
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
    peer_tables(p, ic, tcg, r4, cg, judge)
    replay_tables(p, ic, tcg, r4)
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
