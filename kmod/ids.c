// SPDX-License-Identifier: GPL-2.0
/*
 * W3C trace and span ids: unique by construction, random-looking, never
 * zero, and cheap enough for NMI context.
 *
 * Each span takes one 64-bit input that no other span shares: a per-CPU
 * counter whose top 16 bits are the CPU number (the counter starts at
 * cpu << 48 and has 2^48 values per CPU).  The input is XORed with a key
 * drawn from the kernel's CSPRNG at load and run through the splitmix64
 * finalizer, a bijection on 64-bit words, so distinct inputs give distinct
 * outputs.  A span id is one such word; a root span's trace id is two words
 * of its own input under two more keys, so its first half alone is unique.
 * this_cpu_inc_return() is one instruction on x86 (safe against interrupts
 * and NMIs on the same CPU), so no lock and no preemption toggling.
 *
 * Not a CSPRNG: like the OpenTelemetry SDKs' generators (Go's math/rand,
 * Java's ThreadLocalRandom), the ids are random-looking and unique, not
 * secret; someone who sees many ids could learn the keys.  W3C asks for
 * random ids so that they do not collide and so that ratio sampling can
 * read the trace id's last 56 bits as a uniform random number: both hold.
 */
#include <linux/cpumask.h>
#include <linux/percpu.h>
#include <linux/random.h>

#include "ids.h"

u64 otel_id_key[3] __read_mostly;
DEFINE_PER_CPU(u64, otel_id_counter);

/**
 * otel_ids_init() - draw the keys and place every CPU's counter
 */
void otel_ids_init(void)
{
	unsigned int cpu;

	get_random_bytes(otel_id_key, sizeof(otel_id_key));
	while (otel_id_key[1] == otel_id_key[2])
		otel_id_key[2] = get_random_u64();

	for_each_possible_cpu(cpu)
		per_cpu(otel_id_counter, cpu) = (u64)cpu << OTEL_ID_CPU_SHIFT;
}
