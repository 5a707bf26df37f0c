/* clock.h - monotonic time: coarse milliseconds for deadlines and ramps,
 * precise nanoseconds for latencies.
 *
 * Both are read from the vDSO without a system call. CLOCK_MONOTONIC_COARSE
 * (clock_ms) has the resolution of the kernel tick (4 ms here): plenty for
 * timeouts, pool expiry and slow start, useless for response time
 * percentiles, which use clock_ns (CLOCK_MONOTONIC, ~20 ns to read). The
 * workers read clock_ns once per event callback and keep it
 * (worker_now()), so an exchange costs a handful of clock reads.
 * Thread: any.
 */
#ifndef ALBD_CLOCK_H
#define ALBD_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline uint64_t clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
