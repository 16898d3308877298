/*
 * timing: the time each step takes, as a log histogram (32 bins per octave of nanoseconds, so a
 * quantile is known to +-1.1%) with the count, sum and maximum; and the process's peak memory.
 * C99 + POSIX (clock_gettime, getrusage). No heap: a timing is a plain struct of counters.
 */
#ifndef RTU_PI_TIMING_H
#define RTU_PI_TIMING_H

#include <stdint.h>

#define TIMING_SUB 32     /* bins per octave */
#define TIMING_OCTAVES 40 /* 1 ns to about 18 minutes */
#define TIMING_BINS (TIMING_SUB * TIMING_OCTAVES)

typedef struct {
    uint64_t bins[TIMING_BINS];
    uint64_t count;
    uint64_t max_ns;
    double sum_ns;
} timing;

void timing_clear(timing *t);

/* Count one duration of ns nanoseconds. */
void timing_add(timing *t, uint64_t ns);

/* The q-quantile (0 < q <= 1) in microseconds: the geometric middle of its bin; 0 when empty. */
double timing_quantile_us(const timing *t, double q);

/* The mean in microseconds; 0 when empty. */
double timing_mean_us(const timing *t);

/* Nanoseconds of the monotonic clock. */
uint64_t timing_now_ns(void);

/* The peak resident set size of this process in kB (getrusage), or -1. */
long timing_peak_rss_kb(void);

#endif /* RTU_PI_TIMING_H */
