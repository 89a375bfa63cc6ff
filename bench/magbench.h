/* SPDX-License-Identifier: GPL-2.0 */
/* magbench: what its parts share (bench/main.c, bench/replay.c). */
#ifndef _MAGBENCH_H
#define _MAGBENCH_H

#include <linux/types.h>

void magbench_report_kv(const char *what, const char *kind, const char *set,
			u32 ops, u64 ns, unsigned long slow, unsigned long locks,
			u64 busy);
void magbench_replay_load(void);
void magbench_replay(bool replay_only);

#endif
