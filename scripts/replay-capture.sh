#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Capture the kmalloc/kfree trace magbench replays (bench/replay-trace.xz).
# Boots stock Debian 6.12 (no magalloc) on 4 vCPUs, one node, tracing the
# kmem:kmalloc and kmem:kfree events from early boot with raw pointers;
# guest-init's capture mode runs scripts/capture/capture.sh (a busybox
# workload of loopback networking, files in tmpfs, processes and pipes),
# which prints the trace on the console; scripts/replay-trace.py converts
# it.  The trace differs from run to run (timing, pointers); the committed
# file is one run's.
# Usage: scripts/replay-capture.sh [OUT.xz]   (default bench/replay-trace.xz;
# the conversion's report goes to OUT.txt, bench/replay-trace.txt)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out=${1:-$top/bench/replay-trace.xz}
setup_deps
cmd=(scripts/guest.sh -k "/boot/vmlinuz-$K612" -n replay-capture -d scripts/capture
     -M capture -c 4 -N -T 900
     -a "trace_event=kmem:kmalloc,kmem:kfree trace_buf_size=32M trace_options=nohash-ptr")
printf -v line '%q ' "${cmd[@]}"
say "booting: $line"
(cd "$top" && "${cmd[@]}")
log=$build/logs/replay-capture.log
# every CPU's ring buffer must have kept every event
if grep -a '^overrun: [1-9]' "$log"; then
	say "the trace buffer overran: raise trace_buf_size"
	exit 1
fi
# what the conversion dropped and what the file holds, kept beside it
python3 "$top/scripts/replay-trace.py" convert "$log" "$out" | tee "${out%.xz}.txt"
