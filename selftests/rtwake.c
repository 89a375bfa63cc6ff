// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's rtload step (scripts/guest-init): a SCHED_FIFO wakeup load
 * left running through the end of the boot, the module unload, the CPUs'
 * offline and the reboot.  Its threads, more of them than CPUs, each sleep
 * 100 us and wake, at priorities 10 and up, so that some CPU always has
 * two runnable RT tasks and the scheduler pushes one to another CPU:
 * what raced with reboot -f stopping the CPUs (guest-init, before the
 * reboot).  Not a kselftest: it prints "rtwake: N threads" once they all
 * run at their priority, exits 1 if one cannot, and otherwise never ends.
 *
 * Usage: magalloc_rtwake [threads]	(12)
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static pthread_barrier_t started;
static int failed;

static void *wake_loop(void *arg)
{
	struct sched_param sp = { .sched_priority = 10 + (int)(long)arg };
	struct timespec nap = { .tv_nsec = 100 * 1000 };

	if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp))
		__atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
	pthread_barrier_wait(&started);
	for (;;)
		nanosleep(&nap, NULL);
	return NULL;
}

int main(int argc, char **argv)
{
	long i, n = argc > 1 ? atol(argv[1]) : 12;
	pthread_t t;

	if (n < 1 || n > 64) {
		fprintf(stderr, "rtwake: 1 to 64 threads\n");
		return 2;
	}
	pthread_barrier_init(&started, NULL, n + 1);
	for (i = 0; i < n; i++) {
		if (pthread_create(&t, NULL, wake_loop, (void *)i)) {
			perror("rtwake: pthread_create");
			return 1;
		}
	}
	pthread_barrier_wait(&started);
	if (__atomic_load_n(&failed, __ATOMIC_RELAXED)) {
		fprintf(stderr, "rtwake: a thread could not be made SCHED_FIFO\n");
		return 1;
	}
	printf("rtwake: %ld threads\n", n);
	fflush(stdout);
	for (;;)
		pause();
}
