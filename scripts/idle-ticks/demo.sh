#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# What an idle guest's vCPUs are woken for (testing.rst, "Timing"):
#   scripts/guest.sh -k <kernel> -n idle -M run -d scripts/idle-ticks
# prints each CPU's interrupt counts 10 s apart, then 5 s of timer,
# softirq, work item and wakeup events, counted by what ran.  Task names
# stay off (record-cmd): see the trace step in guest-init.
# With "idleticks=balance16" on the command line (guest.sh -a) it first
# lets every sched domain's periodic balance interval grow to 16 ms
# (sched debugfs, max_interval), which stops the one ticking vCPU of a
# two-node -rt guest (testing.rst says why); /usr/bin/time around
# guest.sh then shows what that vCPU's ticks cost the host.
t=/sys/kernel/tracing
[ -d $t/events ] || mount -t tracefs nodev $t 2> /dev/null
if grep -q 'idleticks=balance16' /proc/cmdline; then
	d=/sys/kernel/debug
	[ -d $d/sched ] || mount -t debugfs nodev $d
	echo Y > $d/sched/verbose
	for sd in $d/sched/domains/cpu*/domain*; do
		[ "$(cat $sd/max_interval)" -ge 16 ] || echo 16 > $sd/max_interval
	done
	echo "idle-ticks: balance intervals up to 16 ms"
fi
sleep 5
echo "idle-ticks: at $(cut -d' ' -f1 /proc/uptime) s"
grep -E 'LOC|RES|CAL' /proc/interrupts
sleep 10
echo "idle-ticks: at $(cut -d' ' -f1 /proc/uptime) s"
grep -E 'LOC|RES|CAL' /proc/interrupts
echo 0 > $t/options/record-cmd
echo 8192 > $t/buffer_size_kb
for e in timer/hrtimer_expire_entry timer/timer_expire_entry \
	 workqueue/workqueue_execute_start irq/softirq_entry sched/sched_wakeup; do
	echo 1 > $t/events/$e/enable
done
sleep 5
echo 0 > $t/tracing_on
echo "idle-ticks: 5 s of events, by what ran"
sed -n 's/.*hrtimer_expire_entry: .*function=\([a-z_0-9]*\).*/hrtimer \1/p
	s/.*timer_expire_entry: .*function=\([a-z_0-9]*\).*/timer \1/p
	s/.*workqueue_execute_start: .*function \([a-z_0-9]*\).*/work \1/p
	s/.*softirq_entry: vec=[0-9]* \[action=\([A-Z_]*\)\].*/softirq \1/p
	s/.*sched_wakeup: comm=\([^ ]*[^0-9 ]\)[0-9]* .*/wakeup \1/p' $t/trace |
	sort | uniq -c | sort -rn | head -n 15
