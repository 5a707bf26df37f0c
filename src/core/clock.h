/* clock.h - monotonic milliseconds for deadlines and ramps.
 *
 * CLOCK_MONOTONIC_COARSE is read from the vDSO without a system call; its
 * resolution (a few ms) is plenty for timeouts, pool expiry and slow start.
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

#endif
