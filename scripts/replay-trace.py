#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The kmalloc/kfree trace that magbench replays: convert and describe it.

Usage: replay-trace.py convert LOG OUT.xz   a capture's console log (see
                                           scripts/replay-capture.sh) to
                                           the replay file, xz-compressed
       replay-trace.py info FILE[.xz]      what a replay file holds

The replay file (little-endian; bench/replay.c reads it, decompressed):
  header  "MAGREPL1", then u32 ops, u32 ids, u32 cpus, u32 0
  ops     one u32 pair each, in the trace's order:
            id    the object, numbered 0, 1, ... in order of allocation
                  (never reused)
            info  bit 31: a free (else an allocation); bit 30: the
                  allocation asked for zeroed memory (__GFP_ZERO in
                  gfp_flags: kzalloc() and the like); bits 24..29: the CPU
                  the trace saw it on; bits 0..23: the requested size
                  (bytes_req; 0 for a free)
Conversion: the ftrace text, merged by timestamp across CPUs, is read in
order.  kmalloc events of ZERO_SIZE_PTR, NULL or bytes_req=0 are dropped,
and kfree events of NULL or ZERO_SIZE_PTR, or of pointers no kmalloc event
of the trace returned (objects allocated before tracing started,
kmem_cache objects).  A kmalloc
that returns a pointer still live in the trace (its object was freed by
kmem_cache_free() or another path kfree does not trace) frees the older
object first, on the same CPU.  Objects still live at the end are freed
at the end, each on the CPU that allocated it.
"""
import base64
import collections
import gzip
import lzma
import re
import struct
import sys

MAGIC = b'MAGREPL1'
EVENT = re.compile(r'\[(\d+)\]\s.*?\s(kmalloc|kfree): .*?ptr=([0-9a-fx]+)'
                   r'(?: bytes_req=(\d+) bytes_alloc=\d+ gfp_flags=(\S+))?')
FREE = 1 << 31
ZERO = 1 << 30
SIZE_MASK = (1 << 24) - 1


def trace_text(log):
    """The ftrace text a capture log holds (gzip + base64 between markers)."""
    with open(log, errors='replace') as f:
        lines = [line.strip() for line in f]
    try:
        begin = lines.index('@@MAG CAPTURE-BEGIN')
        end = lines.index('@@MAG CAPTURE-END')
    except ValueError:
        sys.exit(f'{log}: no CAPTURE-BEGIN/END markers')
    data = base64.b64decode(''.join(lines[begin + 1:end]))
    return gzip.decompress(data).decode()


def convert(text):
    """Returns (ops as (id, info) pairs, cpus, counts)."""
    ops, live, nid, cpus = [], {}, 0, 0
    sizes = {}
    n = collections.Counter()
    for line in text.splitlines():
        if line.startswith('#'):
            continue
        m = EVENT.search(line)
        if not m:
            continue
        cpu, what, ptr, req = int(m[1]), m[2], int(m[3], 16), m[4]
        if cpu > 63:
            sys.exit(f'CPU {cpu}: the replay file has room for 64')
        cpus = max(cpus, cpu + 1)
        if what == 'kmalloc':
            n['kmalloc events'] += 1
            size = int(req)
            if ptr <= 16 or size == 0:
                n['kmalloc dropped (NULL, ZERO_SIZE_PTR or 0 bytes)'] += 1
                continue
            if size > SIZE_MASK:
                sys.exit(f'size {size} does not fit in 24 bits')
            if ptr in live:
                n['implicit frees (pointer returned again while live)'] += 1
                ops.append((live[ptr], FREE | cpu << 24))
            live[ptr] = nid
            sizes[nid] = (size, cpu)
            zero = ZERO if '__GFP_ZERO' in m[5].split('|') else 0
            ops.append((nid, zero | cpu << 24 | size))
            nid += 1
        else:
            n['kfree events'] += 1
            if ptr <= 16:
                n['kfree dropped (NULL or ZERO_SIZE_PTR)'] += 1
                continue
            oid = live.pop(ptr, None)
            if oid is None:
                n['kfree dropped (pointer not allocated in the trace)'] += 1
                continue
            ops.append((oid, FREE | cpu << 24))
    n['live at the end, freed at the end'] = len(live)
    for oid in sorted(live.values()):
        ops.append((oid, FREE | sizes[oid][1] << 24))
    return ops, nid, cpus, n


def write(path, ops, ids, cpus):
    raw = MAGIC + struct.pack('<4I', len(ops), ids, cpus, 0)
    raw += b''.join(struct.pack('<2I', i, info) for i, info in ops)
    with lzma.open(path, 'wb', preset=9 | lzma.PRESET_EXTREME) as f:
        f.write(raw)


def read(path):
    opener = lzma.open if path.endswith('.xz') else open
    with opener(path, 'rb') as f:
        raw = f.read()
    if raw[:8] != MAGIC:
        sys.exit(f'{path}: not a replay file')
    nops, ids, cpus, _ = struct.unpack_from('<4I', raw, 8)
    ops = list(struct.iter_unpack('<2I', raw[24:24 + 8 * nops]))
    return ops, ids, cpus


def info(ops, ids, cpus):
    size_of, live, peak, peak_at, per_cpu = {}, 0, 0, 0, collections.Counter()
    hist, zeroed, cpu_of, remote = collections.Counter(), 0, {}, 0
    for k, (oid, inf) in enumerate(ops):
        per_cpu[inf >> 24 & 63] += 1
        if inf & FREE:
            live -= size_of[oid]
            remote += cpu_of[oid] != inf >> 24 & 63
        else:
            size_of[oid] = inf & SIZE_MASK
            cpu_of[oid] = inf >> 24 & 63
            hist[size_of[oid]] += 1
            zeroed += bool(inf & ZERO)
            live += size_of[oid]
            if live > peak:
                peak, peak_at = live, k
    small = [s for s in size_of.values() if s <= 32768]
    print(f'ops {len(ops)} (allocations {ids}, frees {len(ops) - ids}), cpus {cpus}')
    print('ops per cpu: ' + ' '.join(f'{c}:{per_cpu[c]}' for c in sorted(per_cpu)))
    print(f'distinct sizes {len(hist)}, largest {max(hist)}, '
          f'allocations above 32 KiB {ids - len(small)}')
    print(f'mean size {sum(size_of.values()) / ids:.1f} B, '
          f'up to 32 KiB {sum(small) / len(small):.1f} B')
    print(f'allocations asking for zeroed memory {zeroed}, '
          f'frees on another CPU than the allocation {remote}')
    print(f'peak live {peak} B at op {peak_at}')
    print('most frequent sizes: ' + ' '.join(f'{s}:{c}' for s, c in hist.most_common(12)))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == 'convert':
        ops, ids, cpus, n = convert(trace_text(sys.argv[2]))
        for k, v in n.items():
            print(f'{k}: {v}')
        write(sys.argv[3], ops, ids, cpus)
        info(ops, ids, cpus)
    elif len(sys.argv) == 3 and sys.argv[1] == 'info':
        info(*read(sys.argv[2]))
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main()
