/* timing: see timing.h. */
#define _XOPEN_SOURCE 700 /* POSIX 2008 with XSI (getrusage) */

#include "timing.h"

#include <math.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

void timing_clear(timing *t)
{
    memset(t, 0, sizeof *t);
}

static size_t timing_bin(uint64_t ns)
{
    double b = ns < 1 ? 0.0 : log2((double)ns) * TIMING_SUB;
    size_t i = (size_t)b;
    return i >= TIMING_BINS ? TIMING_BINS - 1 : i;
}

void timing_add(timing *t, uint64_t ns)
{
    t->bins[timing_bin(ns)]++;
    t->count++;
    t->sum_ns += (double)ns;
    if (ns > t->max_ns) {
        t->max_ns = ns;
    }
}

double timing_quantile_us(const timing *t, double q)
{
    uint64_t rank, seen = 0;
    size_t i;
    if (t->count == 0) {
        return 0.0;
    }
    rank = (uint64_t)ceil(q * (double)t->count);
    if (rank < 1) {
        rank = 1;
    }
    for (i = 0; i < TIMING_BINS; i++) {
        seen += t->bins[i];
        if (seen >= rank) {
            break;
        }
    }
    return exp2(((double)i + 0.5) / TIMING_SUB) / 1000.0;
}

double timing_mean_us(const timing *t)
{
    return t->count ? t->sum_ns / (double)t->count / 1000.0 : 0.0;
}

uint64_t timing_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

long timing_peak_rss_kb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        return -1;
    }
    return (long)ru.ru_maxrss; /* kilobytes on Linux */
}
