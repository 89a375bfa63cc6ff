#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The guest side of scripts/replay-capture.sh (guest-init's "capture"
# mode): the kernel has traced kmem:kmalloc and kmem:kfree since boot
# (trace_event= on its command line); run a busybox workload of networking,
# files and processes, stop the trace and print it, gzipped and in base64,
# between two markers on the console.
t=/sys/kernel/tracing
[ -d $t/events ] || mount -t tracefs nodev $t

# -- networking: loopback TCP through httpd, wget and nc
ip link set lo up
mkdir -p /tmp/www
seq 1 20000 > /tmp/www/big.txt
echo hello > /tmp/www/index.html
httpd -p 127.0.0.1:8080 -h /tmp/www
sleep 1
for i in $(seq 1 100); do
	wget -q -O /dev/null http://127.0.0.1:8080/big.txt
	wget -q -O /dev/null http://127.0.0.1:8080/index.html
done
for i in $(seq 1 20); do
	nc -l -p 9000 > /tmp/nc.out &
	sleep 0.2
	nc 127.0.0.1 9000 < /tmp/www/big.txt &
	sleep 0.5
	kill %1 %2 2> /dev/null
	wait 2> /dev/null
done
ping -c 20 -i 0.05 127.0.0.1 > /dev/null

# -- files: a tree in tmpfs, copied, archived, searched, removed
mkdir -p /tmp/tree
for d in $(seq 1 30); do
	mkdir -p /tmp/tree/d$d
	for f in $(seq 1 30); do
		seq 1 $((d * f)) > /tmp/tree/d$d/f$f
	done
	ln -s /tmp/tree/d$d /tmp/tree/l$d
done
cp -a /tmp/tree /tmp/tree2
tar -cf /tmp/tree.tar -C /tmp tree
gzip -k /tmp/tree.tar
mkdir -p /tmp/untar && tar -xf /tmp/tree.tar -C /tmp/untar
find /tmp -name 'f1*' | wc -l > /dev/null
du -s /tmp > /dev/null
grep -r 99 /tmp/tree2 | wc -l > /dev/null
rm -rf /tmp/tree2 /tmp/untar /tmp/tree.tar /tmp/tree.tar.gz

# -- processes and pipes
for i in $(seq 1 500); do
	/bin/true
done
for i in $(seq 1 60); do
	seq 1 2000 | sort -r | uniq | sha256sum > /dev/null
	sh -c 'echo $$ > /dev/null' &
done
wait
ps > /dev/null
cat /proc/meminfo /proc/slabinfo /proc/interrupts > /dev/null 2>&1
killall httpd
sync

echo 0 > $t/tracing_on
echo "@@MAG CAPTURE-STATS"
cat $t/per_cpu/cpu*/stats | grep -e overrun -e entries
echo "@@MAG CAPTURE-BEGIN"
gzip -c $t/trace | base64
echo "@@MAG CAPTURE-END"
