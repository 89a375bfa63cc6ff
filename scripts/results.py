#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Judge one guest's console log.

Usage: results.py NAME LOG [--kunit KUNIT_PY] [--expect-ksft N] [--expect-stress]
                  [--expect-isolation] [--expect-preload] ...

Counts, for one boot:
  - the boot itself: passes only if the guest reached "@@MAG END" and the
    console holds no kernel BUG, WARNING, Oops, KASAN, lockdep, kmemleak or
    panic report (a splat fails the run even when every test passed), and
    magalloc reported no object or page still held at unload;
  - each insmod and rmmod the guest init reported;
  - the debugfs stress ("@@MAG STRESS <rc>"): one test, passes on rc 0; a
    guest without the trigger file reports "missing", a failure; with
    --expect-stress, a boot that never reported it fails too;
  - the hostile-free check after it ("@@MAG HOSTILE <rc>"): one test,
    passes on rc 0; with --expect-stress it must have reported too;
  - a second of the stress in debug mode ("@@MAG DEBUG <rc>"): one test,
    passes on rc 0 (a debug-mode report is a splat anyway);
  - kernel reports a KUnit test provokes on purpose, between "@@MAG
    EXPECT-BEGIN" and "@@MAG EXPECT-END" (magalloc_kasan), are not
    splats: the test itself checks each was made;
  - the leak check ("@@MAG LEAK-BEGIN" ... "@@MAG LEAK-END <rc>", the
    kunit boot): one test, passes on rc 0; the kmemleak reports it
    provokes between the two marks are not splats; with --expect-leak it
    must have reported;
  - the final kmemleak scan ("@@MAG KMEMLEAK-SCANNED <rc>", kernels with
    kmemleak whose last step is not the leak check): one test, passes on
    rc 0, fails on "early" (its second pass did not wait until what it
    scans was 6 s old); what it reports is a splat;
  - the fault-injection run ("@@MAG FAULTS <rc>", KUnit kernels): one
    test, passes on rc 0; with --expect-faults it must have reported;
  - the isolation check ("@@MAG ISOLATION <rc>", boots with nohz_full=):
    one test, passes on rc 0; with --expect-isolation, a boot that never
    reported it fails;
  - the MAGALLOC_STATS check ("@@MAG STATS <rc>", the k612-memless
    boot): one test, passes on rc 0; with --expect-stats it must have
    reported;
  - the preload step ("@@MAG PRELOAD <rc>", stock kernels): one test,
    passes on rc 0 (sqlite3 and perl print the same through
    libmagalloc-preload.so as without, the heap serving most of their
    allocations); "missing" (no interposer or programs in the guest) is a
    failure; with --expect-preload it must have reported.  The
    interposer's own kselftest inside it counts as kselftest cases;
  - the rtload step ("@@MAG RTLOAD <rc>", stock kernels): one test,
    passes on rc 0 (magalloc_rtwake's SCHED_FIFO threads run, and keep
    running through the unload, the offline and the reboot, whose kernel
    reports the boot's own verdict counts); "missing" is a failure; with
    --expect-rtload it must have reported;
  - lockdep's state at the end ("@@MAG LOCKDEP <debug_locks>", kernels
    with lockdep): with --expect-lockdep one test, that it is still 1:
    any kernel report, or a taint such as a KASAN report's, turns lockdep
    off for the rest of the boot, and it then checks nothing more;
  - KUnit cases, parsed by the kernel's own `kunit.py parse` (--kunit);
  - kselftest cases, from each binary's "# Totals:" line; a binary that
    exits non-zero or prints no totals counts as one failure.
Prints a report on stderr (with the time the guest spent in each step,
from its "@@MAG TIME" marks, and each kernel report in one line: its
header, RIP and first frames) and "passed failed skipped" on stdout.
"""
import argparse
import re
import subprocess
import sys

SPLATS = re.compile(
    r'BUG:|WARNING:|Oops|KASAN:|kmemleak: .*suspected|unreferenced object|'
    r'possible recursive locking|possible circular locking|'
    r'inconsistent lock state|suspicious RCU usage|Kernel panic|'
    r'general protection fault|UBSAN:|Call Trace:|INFO: task .* blocked|'
    # magalloc's debug mode (mod/report.c)
    r'magalloc: BUG |'
    # magalloc's own unload report: every test frees what it allocates
    r'still allocated at unload|still held at unload|still in use')
MARK = re.compile(r'@@MAG (\S+)(?: (.*))?$')
# The serial console interleaves kernel messages with the init's output: a
# printk can land on the same line, after a mark ("@@MAG STRESS 0[ 10.2] ..."),
# so a mark ends where a printk timestamp begins, and its fields are read by
# position, never from the end of the line.
PRINTK = re.compile(r'\[ *\d+\.\d{6}\].*$')
# A kernel without printk timestamps glues the message to the mark's last
# field ("@@MAG STRESS 0magalloc: stress: ..."): a status field is what it
# starts with, a number or a word.
STATUS = re.compile(r'-?\d+|[a-z]+')


def status(field):
    m = STATUS.match(field)
    return m.group(0) if m else field
TOTALS = re.compile(r'# Totals: pass:(\d+) fail:(\d+) xfail:(\d+) xpass:(\d+) '
                    r'skip:(\d+) error:(\d+)')
ANSI = re.compile(r'\x1b\[[0-9;]*m')
# What starts a kernel report whose "Call Trace:" line is a splat: the
# nearest such line before it names the report (an RCU stall's or a soft
# lockup's trace, an NMI backtrace of another CPU, a page allocation
# failure, which none of SPLATS names).
HEADER = re.compile(
    r'BUG:|WARNING:|Oops|KASAN:|NMI backtrace for cpu|rcu: INFO:|INFO: |'
    r'page allocation failure|Task dump for CPU|general protection fault|'
    r'kernel BUG|magalloc: BUG |UBSAN:|sysrq:|Kernel panic')
RIP = re.compile(r'RIP: \w+:(\S+)')
FRAME = re.compile(r'^(?:\[ *\d+\.\d+\])?\s+(\S+\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[\w+\])?)\s*$')
# a frame the unwinder only guesses ("? f+0x1/0x2"), or <TASK>, <IRQ>...
UNRELIABLE = re.compile(r'^(?:\[ *\d+\.\d+\])?\s+(?:\? |<)')
STAMP = re.compile(r'^\[ *(\d+\.\d+)\]\s*')


def report_of(lines, i):
    """One line naming the kernel report whose "Call Trace:" is lines[i]:
    its header, where it stopped (RIP) and the first frames of its trace,
    so that a failed run's summary says which code hung or crashed; and
    the index of the header line (None if none was found)."""
    header, rip, at = '?', None, None
    for j in range(i - 1, max(-1, i - 40), -1):
        if rip is None and (m := RIP.search(lines[j])):
            rip = m.group(1)
        if HEADER.search(lines[j]):
            header, at = STAMP.sub('', lines[j]).strip(), j
            break
    frames = []
    for line in lines[i + 1:i + 40]:
        m = FRAME.match(line)
        if m:
            frames.append(m.group(1))
        elif not UNRELIABLE.search(line):
            break
        if len(frames) == 6:
            break
    stamp = STAMP.match(lines[i])
    return at, (f'[{stamp.group(1)}] ' if stamp else '') + header + \
        (f' | RIP {rip}' if rip else '') + (' | ' + ' < '.join(frames) if frames else '')


class Tally:
    def __init__(self, name):
        self.name, self.passed, self.failed, self.skipped = name, 0, 0, 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f'  FAIL {self.name}: {what}', file=sys.stderr)


def kunit_counts(kunit_py, lines, tally):
    # Only what the guest printed after init started: the kernel's own
    # empty boot-time KTAP header ("1..0") would otherwise be parsed.
    begin = next((i for i, l in enumerate(lines) if '@@MAG BEGIN' in l), len(lines))
    out = subprocess.run([sys.executable, kunit_py, 'parse'],
                         input='\n'.join(lines[begin:]) + '\n',
                         capture_output=True, text=True).stdout
    out = ANSI.sub('', out)
    m = re.search(r'Testing complete\. Ran (\d+) tests: ?(.*)', out)
    if not m or int(m.group(1)) == 0:
        tally.check(False, 'no KUnit results in the log')
        return
    counts = dict((k, int(v)) for k, v in re.findall(r'(\w+): (\d+)', m.group(2)))
    tally.passed += counts.get('passed', 0)
    tally.skipped += counts.get('skipped', 0)
    bad = counts.get('failed', 0) + counts.get('crashed', 0)
    tally.failed += bad
    if bad or counts.get('errors', 0):
        for line in out.splitlines():
            if '[FAILED]' in line or '[CRASHED]' in line or 'ERROR' in line:
                print(f'  FAIL {tally.name}: kunit {line.strip()}', file=sys.stderr)
    if counts.get('errors', 0):
        tally.check(False, f'{counts["errors"]} KTAP parse errors')
    print(f'  {tally.name}: kunit: {m.group(0)}', file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('name')
    ap.add_argument('log')
    ap.add_argument('--kunit')
    ap.add_argument('--expect-ksft', type=int, default=0)
    ap.add_argument('--expect-stress', action='store_true')
    ap.add_argument('--expect-isolation', action='store_true')
    ap.add_argument('--expect-stats', action='store_true')
    ap.add_argument('--expect-faults', action='store_true')
    ap.add_argument('--expect-leak', action='store_true')
    ap.add_argument('--expect-trace', action='store_true')
    ap.add_argument('--expect-preload', action='store_true')
    ap.add_argument('--expect-rtload', action='store_true')
    ap.add_argument('--expect-lockdep', action='store_true')
    args = ap.parse_args()
    t = Tally(args.name)

    with open(args.log, errors='replace') as f:
        lines = [ANSI.sub('', l.rstrip('\r\n')) for l in f]

    ended, splats, ksft_ran, current = False, [], 0, None
    splat_at = []
    stress_ran, hostile_ran, isolation_ran, faults_ran, leak_ran = 0, 0, 0, 0, 0
    stats_ran = 0
    trace_ran = 0
    preload_ran = 0
    rtload_ran = 0
    lockdep = None
    times = []
    in_leak = False
    for n, line in enumerate(lines):
        if SPLATS.search(line) and '@@MAG' not in line and not in_leak:
            splat = line
            if 'Call Trace:' in line:
                at, splat = report_of(lines, n)
                # the header, already a splat: this line says it all
                if splat_at and splat_at[-1] == at:
                    splats.pop()
                    splat_at.pop()
            splats.append(splat)
            splat_at.append(n)
        m = MARK.search(line)
        if not m:
            if current is not None and TOTALS.search(line):
                current['totals'] = TOTALS.search(line)
            continue
        kind = m.group(1)
        rest = PRINTK.sub('', m.group(2) or '').split() + ['?', '?']
        if kind in ('INSMOD', 'RMMOD'):
            t.check(status(rest[1]) == '0', f'{kind.lower()} {rest[0]} exited {rest[1]}')
        elif kind == 'STRESS':
            stress_ran += 1
            rc = status(rest[0])
            t.check(rc == '0', 'debugfs stress: no trigger file (magalloc/stress)'
                    if rc == 'missing' else f'debugfs stress exited {rc} (see dmesg)')
        elif kind == 'HOSTILE':
            hostile_ran += 1
            t.check(status(rest[0]) == '0',
                    'hostile frees: a pointer was not refused as it should be (see dmesg)')
        elif kind == 'TRACE':
            trace_ran += 1
            rc = status(rest[0])
            t.check(rc == '0', 'trace: no magalloc events in tracefs, or no example consumer'
                    if rc == 'missing' else
                    'trace: the events did not show every allocation and free (see the log)')
        elif kind == 'PRELOAD':
            preload_ran += 1
            rc = status(rest[0])
            t.check(rc == '0', 'preload: no interposer, sqlite3 or perl in the guest'
                    if rc == 'missing' else
                    'preload: a program printed otherwise through libmagalloc-preload.so, '
                    'failed, or the heap did not serve it (see the log)')
        elif kind == 'RTLOAD':
            rtload_ran += 1
            rc = status(rest[0])
            t.check(rc == '0', 'rtload: no magalloc_rtwake in the guest' if rc == 'missing'
                    else 'rtload: the SCHED_FIFO threads did not start (see the log)')
        elif kind == 'LOCKDEP':
            lockdep = status(rest[0])
        elif kind == 'DEBUG':
            t.check(status(rest[0]) == '0',
                    'debug mode: the stress with every pool in debug mode failed (see dmesg)')
        elif kind == 'LEAK-BEGIN':
            in_leak = True
        elif kind == 'EXPECT-BEGIN':
            in_leak = True
        elif kind == 'EXPECT-END':
            in_leak = False
        elif kind == 'LEAK-END':
            in_leak = False
            leak_ran += 1
            rc = status(rest[0])
            t.check(rc == '0', 'leak: no kmemleak or no magalloc/leak' if rc == 'missing'
                    else 'leak: the second kmemleak scan came too early (see the log)'
                    if rc == 'early'
                    else 'leak: kmemleak did not report exactly the hidden objects')
        elif kind == 'KMEMLEAK-SCANNED':
            t.check(status(rest[0]) == '0',
                    'kmemleak: the final scan\'s second pass came too early (see the log)')
        elif kind == 'FAULTS':
            faults_ran += 1
            rc = status(rest[0])
            t.check(rc == '0', 'faults: no fail_magalloc in debugfs' if rc == 'missing'
                    else 'faults: the stress under fault injection failed (see dmesg)')
        elif kind == 'ISOLATION':
            isolation_ran += 1
            rc = status(rest[0])
            t.check(rc == '0', 'isolation: no nohz_full CPU in the boot'
                    if rc == 'none' else
                    'isolation: a nohz_full CPU ran magalloc work, or the check saw nothing')
        elif kind == 'STATS':
            stats_ran += 1
            rc = status(rest[0])
            t.check(rc == '0', 'stats: not a MAGALLOC_STATS build' if rc == 'missing'
                    else 'stats: hits, misses and hit_rate disagree, or a mismatched consumer loaded')
        elif kind == 'STEP-UNKNOWN':
            t.check(False, f'guest-init does not know the step {rest[0]}')
        elif kind == 'TIME' and re.fullmatch(r'\d+\.\d+', rest[1]):
            times.append((rest[0], float(rest[1])))
        elif kind == 'KSFT-BEGIN':
            current = {'name': rest[0], 'totals': None}
        elif kind == 'KSFT-END' and current is not None:
            ksft_ran += 1
            tot = current['totals']
            if tot:
                p, f_, xf, xp, s, e = map(int, tot.groups())
                t.passed += p + xf
                t.skipped += s
                t.failed += f_ + xp + e
                print(f'  {t.name}: {current["name"]}: {tot.group(0)}', file=sys.stderr)
                if f_ + xp + e:
                    print(f'  FAIL {t.name}: {current["name"]} failed cases',
                          file=sys.stderr)
            if not tot or (rest[1] != '0' and not (tot and int(tot.group(2)))):
                t.check(False, f'{current["name"]} exited {rest[1]}'
                        + ('' if tot else ' without a totals line'))
            current = None
        elif kind == 'END':
            ended = True

    if args.kunit:
        kunit_counts(args.kunit, lines, t)
    if ksft_ran < args.expect_ksft:
        t.check(False, f'{ksft_ran} of {args.expect_ksft} kselftest binaries ran')
    if args.expect_stress and not stress_ran:
        t.check(False, 'the debugfs stress never reported')
    if args.expect_stress and not hostile_ran:
        t.check(False, 'the hostile-free check never reported')
    if args.expect_trace and not trace_ran:
        t.check(False, 'the tracepoint check never reported')
    if args.expect_preload and not preload_ran:
        t.check(False, 'the preload step never reported')
    if args.expect_rtload and not rtload_ran:
        t.check(False, 'the rtload step never reported')
    if args.expect_lockdep:
        t.check(lockdep == '1', 'lockdep: no lockdep in this kernel' if lockdep is None
                else 'lockdep turned itself off during the boot (a report or a taint: '
                '"Disabling lock debugging" in the log)')
    if args.expect_faults and not faults_ran:
        t.check(False, 'the fault-injection run never reported')
    if args.expect_leak and not leak_ran:
        t.check(False, 'the leak check never reported')
    if in_leak:
        t.check(False, 'the leak check began and never ended')
    if args.expect_isolation and not isolation_ran:
        t.check(False, 'the isolation check never reported')
    if args.expect_stats and not stats_ran:
        t.check(False, 'the MAGALLOC_STATS check never reported')
    if times:
        steps, last = [], 0.0
        for what, at in times:
            steps.append(f'{what} {at - last:.0f}')
            last = at
        print(f'  {t.name}: guest s: ' + ', '.join(steps), file=sys.stderr)
    # each report once, at its first time, with how often it came
    seen = {}
    for s in splats:
        key = STAMP.sub('', s)
        if key in seen:
            seen[key][1] += 1
        else:
            seen[key] = [s, 1]
    for s, n in list(seen.values())[:20]:
        print(f'  splat {t.name}: {s}' + (f' (x{n})' if n > 1 else ''), file=sys.stderr)
    t.check(ended and not splats,
            'guest did not finish (panic, hang or timeout)' if not ended
            else f'{len(splats)} kernel report lines on the console')
    print(t.passed, t.failed, t.skipped)


if __name__ == '__main__':
    main()
