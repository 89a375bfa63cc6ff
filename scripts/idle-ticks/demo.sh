#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# What an idle guest's vCPUs are woken for (testing.rst, "Timing"):
#   scripts/guest.sh -k <kernel> -n idle -M run -d scripts/idle-ticks
# prints each CPU's interrupt counts 10 s apart, then 5 s of timer,
# softirq, work item and wakeup events, counted by what ran.  Task names
# stay off (record-cmd): see the trace step in guest-init.
t=/sys/kernel/tracing
[ -d $t/events ] || mount -t tracefs nodev $t 2> /dev/null
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
