#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Generate magalloc's size-class tables (mod/sizeclasses.[ch]).

In the spirit of Go's src/runtime/mksizeclasses.go.  Rules, as implemented:

- PAGE_SIZE = 4096.  Every request is first rounded up to 8 bytes (the minimum
  alignment), so a class's worst-case request is (previous class size + 8)
  bytes (for the first class, 8 bytes).
- Class sizes are multiples of 8 up to 1024 bytes and multiples of 128 above
  1024, so the O(1) lookup arrays size_to_class8 and size_to_class128 are
  exact.  The largest class is exactly 32768 bytes (MAG_MAX_SMALL).
- 8, 16, 24, 32, 40, 48, 56 and 64 are classes, and so is every power of two
  from 8 to 32768 (power-of-two sized objects are naturally aligned).
- A class's span is (PAGE_SIZE << order) bytes (a buddy block);
  objects = floor(span / size); tail waste = span - objects * size;
  max waste = (span - objects * (prev + 8)) / span.  Every class must have
  objects >= 1 and max waste <= 1/8 (12.5%); each class gets the smallest
  order that satisfies this.
- Between the fixed classes, sizes are chosen greedily from below, smallest
  span first: after class prev, take the smallest order 0..6 at which some
  allowed size (not beyond the next fixed class) meets the bound, and at that
  order the LARGEST such size.  Small spans keep a class's footprint small;
  the largest size keeps the class count small.  Orders up to 6 are needed:
  with spans of at most 64 KiB (order 4) no size fits after 9344 bytes
  (three 16392-byte requests fill only 75% of 64 KiB, for instance), and
  with order 5 none after 18688.  The script fails if a step finds no
  size at all.
- Class 0 is a reserved "no class" entry (size 0), as in Go; real classes are
  1..N-1 and MAG_NR_CLASSES counts class 0 too.

The lookup is: size <= 1024 -> size_to_class8[(size + 7) / 8], otherwise
size_to_class128[(size - 1024 + 127) / 128]; it is verified to yield the
smallest fitting class for every size 1..32768.

Usage: no options  write mod/sizeclasses.h and mod/sizeclasses.c in place
       --check     exit 1 (with a diff) if the committed files are stale
       --print     print the table
"""

import argparse
import difflib
import sys
from fractions import Fraction
from pathlib import Path

PAGE_SIZE = 4096
MIN_ALIGN = 8
SMALL_SIZE_MAX = 1024
SMALL_SIZE_DIV = 8
LARGE_SIZE_DIV = 128
MAX_SMALL = 32768
MAX_ORDER = 6
MAX_WASTE = Fraction(1, 8)
FIXED = sorted({8, 16, 24, 32, 40, 48, 56, 64} |
               {1 << i for i in range(3, MAX_SMALL.bit_length())})
ROOT = Path(__file__).resolve().parent.parent


def max_waste(prev, size, order):
    span = PAGE_SIZE << order
    return Fraction(span - span // size * (prev + MIN_ALIGN), span)


def best_order(prev, size, limit):
    """Smallest order <= limit meeting the waste bound, or None."""
    for order in range(limit + 1):
        if (PAGE_SIZE << order) >= size and max_waste(prev, size, order) <= MAX_WASTE:
            return order
    return None


def allowed(size):
    return size % (SMALL_SIZE_DIV if size <= SMALL_SIZE_MAX else LARGE_SIZE_DIV) == 0


def make_classes():
    """Return [(size, order)], index 0 being the reserved class."""
    classes = [(0, 0)]
    for fixed in FIXED:
        while classes[-1][0] < fixed:
            prev = classes[-1][0]
            for limit in range(MAX_ORDER + 1):
                cands = [s for s in range(fixed, prev, -MIN_ALIGN)
                         if allowed(s) and best_order(prev, s, limit) is not None]
                if cands:
                    classes.append((cands[0], best_order(prev, cands[0], MAX_ORDER)))
                    break
            else:
                sys.exit(f"mksizeclasses: no class fits after {prev} bytes")
    return classes


def lookup_tables(sizes):
    def smallest(n):
        return next(c for c in range(1, len(sizes)) if sizes[c] >= n)
    c8 = [smallest(i * SMALL_SIZE_DIV) for i in range(SMALL_SIZE_MAX // SMALL_SIZE_DIV + 1)]
    c128 = [smallest(SMALL_SIZE_MAX + i * LARGE_SIZE_DIV)
            for i in range((MAX_SMALL - SMALL_SIZE_MAX) // LARGE_SIZE_DIV + 1)]
    return c8, c128


def check(classes, c8, c128):
    sizes = [s for s, _ in classes]
    errors = []
    if sizes[0] != 0 or len(sizes) > 256 or sizes[-1] != MAX_SMALL:
        errors.append("class 0 not reserved, too many classes, or wrong largest class")
    errors += [f"missing fixed class {f}" for f in FIXED if f not in sizes]
    for c in range(1, len(sizes)):
        size, order = classes[c]
        if size <= sizes[c - 1] or not allowed(size):
            errors.append(f"class {c} ({size}) unsorted or misaligned")
        objs = (PAGE_SIZE << order) // size
        if order > MAX_ORDER or not 1 <= objs <= 0xffff or \
           max_waste(sizes[c - 1], size, order) > MAX_WASTE:
            errors.append(f"class {c} ({size}) breaks the span/waste rules")
    for n in range(1, MAX_SMALL + 1):
        if n <= SMALL_SIZE_MAX:
            got = c8[(n + SMALL_SIZE_DIV - 1) // SMALL_SIZE_DIV]
        else:
            got = c128[(n - SMALL_SIZE_MAX + LARGE_SIZE_DIV - 1) // LARGE_SIZE_DIV]
        if got != min(c for c in range(1, len(sizes)) if sizes[c] >= n):
            errors.append(f"lookup of size {n} gives wrong class {got}")
    if c8[0] != 1:
        errors.append("size_to_class8[0] must be class 1")
    if errors:
        sys.exit("mksizeclasses: " + "\n".join(errors[:20]))


def table(classes):
    lines = ["class  bytes/obj  bytes/span  objects  tail waste  max waste"]
    for c in range(1, len(classes)):
        size, order = classes[c]
        span = PAGE_SIZE << order
        objs = span // size
        waste = float(max_waste(classes[c - 1][0], size, order)) * 100
        lines.append(f"{c:5d} {size:10d} {span:11d} {objs:8d} {span - objs * size:11d} "
                     f"{waste:9.2f}%")
    return lines


def c_array(decl, values):
    lines, cur = [], ""
    for v in values:
        item = f"{v},"
        if cur and len(cur) + 1 + len(item) > 80:
            lines.append(cur)
            cur = ""
        cur = f"{cur} {item}" if cur else item
    lines.append(cur)
    return [f"{decl} = {{"] + ["\t" + ln for ln in lines] + ["};"]


def const_chain(name, what, pairs):
    """An if-chain the compiler folds for a constant size, as kmalloc_index()."""
    out = ["", "/*", f" * The {what} of a request of @size bytes known at compile time (0 beyond",
           " * MAG_MAX_SMALL).  The compiler folds the chain to a constant; at run",
           " * time the lookup arrays above are cheaper.", " */",
           f"static __always_inline unsigned int {name}(size_t size)", "{"]
    for size, value in pairs:
        out += [f"\tif (size <= {size})", f"\t\treturn {value};"]
    return out + ["\treturn 0;", "}"]


def class_list(classes):
    """A statement per class, for code that needs each one as constants."""
    lines = ["#define MAG_FOR_EACH_CLASS() do {"]
    lines += [f"\tMAG_CLASS_DO({classes[c - 1][0] + 1}, {classes[c][0]});"
              for c in range(1, len(classes))]
    # Backslashes in one column, tab-aligned, as the kernel writes them.
    col = (max(len(ln.expandtabs(8)) for ln in lines) + 8) // 8 * 8
    lines = [ln + "\t" * ((col - len(ln.expandtabs(8)) + 7) // 8) + "\\" for ln in lines]
    return ["", "/*",
            " * MAG_FOR_EACH_CLASS() runs the statement MAG_CLASS_DO(first, size) for",
            " * every class in order, where @first is the smallest request of the",
            " * class (the previous class size + 1) and @size its class size.  Define",
            " * MAG_CLASS_DO() before it and #undef it after: for code that needs every",
            " * class as compile-time constants, such as tests of mag_alloc()'s inline",
            " * constant-size path.", " */"] + lines + ["} while (0)"]


def generate(classes):
    c8, c128 = lookup_tables([s for s, _ in classes])
    check(classes, c8, c128)
    rules = __doc__.split("Rules, as implemented:\n\n")[1].split("\n\nUsage:")[0]
    h = ["/* SPDX-License-Identifier: GPL-2.0 */", "/*",
         " * Generated by scripts/mksizeclasses.py; DO NOT EDIT.",
         " * Change the script and rerun it instead.", " *", " * Rules:", " *"]
    h += [f" * {ln}".rstrip() for ln in rules.splitlines()]
    h += [" *"] + [f" * {ln}" for ln in table(classes)] + [" */", "",
          "#ifndef _MAGALLOC_SIZECLASSES_H", "#define _MAGALLOC_SIZECLASSES_H", "",
          "#include <linux/types.h>", "",
          f"#define MAG_NR_CLASSES {len(classes)}",
          f"#define MAG_MAX_SMALL {MAX_SMALL}",
          f"#define MAG_SMALL_SIZE_MAX {SMALL_SIZE_MAX}",
          f"#define MAG_SMALL_SIZE_DIV {SMALL_SIZE_DIV}",
          f"#define MAG_LARGE_SIZE_DIV {LARGE_SIZE_DIV}",
          f"#define MAG_MAX_SPAN_ORDER {max(o for _, o in classes)}", ""]
    decls = ["const u32 mag_class_size[MAG_NR_CLASSES]",
             "const u8 mag_class_order[MAG_NR_CLASSES]",
             "const u16 mag_class_objects[MAG_NR_CLASSES]",
             "const u8 mag_size_to_class8[MAG_SMALL_SIZE_MAX / MAG_SMALL_SIZE_DIV + 1]",
             "const u8 mag_size_to_class128[(MAG_MAX_SMALL - MAG_SMALL_SIZE_MAX) / "
             "MAG_LARGE_SIZE_DIV + 1]"]
    h += [f"extern {d};" for d in decls]
    h += const_chain("mag_const_class", "class",
                     [(s, i) for i, (s, _) in enumerate(classes) if i])
    h += const_chain("mag_const_class_size", "class size",
                     [(s, s) for s, _ in classes[1:]])
    h += class_list(classes)
    h += ["", "#endif /* _MAGALLOC_SIZECLASSES_H */"]
    values = [[s for s, _ in classes], [o for _, o in classes],
              [0] + [(PAGE_SIZE << o) // s for s, o in classes[1:]], c8, c128]
    c = ["// SPDX-License-Identifier: GPL-2.0",
         "/* Generated by scripts/mksizeclasses.py; DO NOT EDIT. */", "",
         '#include "sizeclasses.h"']
    for d, v in zip(decls, values):
        c += [""] + c_array(d, v)
    return {"mod/sizeclasses.h": "\n".join(h) + "\n", "mod/sizeclasses.c": "\n".join(c) + "\n"}


def main():
    ap = argparse.ArgumentParser(description="Generate mod/sizeclasses.[ch].")
    ap.add_argument("--check", action="store_true", help="fail if committed files are stale")
    ap.add_argument("--print", action="store_true", help="print the size-class table")
    args = ap.parse_args()
    classes = make_classes()
    outputs = generate(classes)
    if args.print:
        print("\n".join(table(classes)))
        return 0
    stale = 0
    for name, text in outputs.items():
        path = ROOT / name
        old = path.read_text() if path.exists() else ""
        if args.check:
            if old != text:
                stale = 1
                print(f"{name} is stale; rerun {sys.argv[0]}", file=sys.stderr)
                sys.stderr.writelines(difflib.unified_diff(
                    old.splitlines(True), text.splitlines(True), f"a/{name}", f"b/{name}"))
        elif old != text:
            path.write_text(text)
    return stale


if __name__ == "__main__":
    sys.exit(main())
