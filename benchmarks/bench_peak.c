/*
 * bench_peak: the float32 fused multiply-add throughput of one core, the yardstick of
 * benchmarks/bench_kernel.py (each kernel's GFLOP/s as a fraction of it); with
 * -DBENCH_PEAK_UNFUSED, the throughput of a multiply and an add apiece instead, the ceiling of a
 * build that fuses none (the core's default builds) at the vectors its flags give.
 *
 *   bench_peak [REPS]
 *
 * LANES independent accumulators, each advanced REPS times by acc = fmaf(acc, m, c) (unfused:
 * acc * m + c, which the core's -ffp-contract=off keeps two instructions): 2 flops per step,
 * LANES-wide so that the units' latency is covered. Built with -O3 -march=native (fmaf is an
 * instruction only where the target has one) and, on x86-64, the CPU's widest vectors
 * (rtu_edge._build.NATIVE_FLAGS), or with a build's own flags, the loop over the lanes is
 * vectorised and kept in registers. Best of 5 timed runs; one JSON line on stdout:
 * {"gflops": ..., "checksum": ...}.
 */
#define _POSIX_C_SOURCE 199309L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define LANES 128
#define RUNS 5

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static float run(unsigned long reps, float m, float c)
{
    float acc[LANES], sum = 0;
    unsigned long r;
    size_t i;
    for (i = 0; i < LANES; ++i) {
        acc[i] = (float)i * 1e-3f;
    }
    for (r = 0; r < reps; ++r) {
        for (i = 0; i < LANES; ++i) {
#ifdef BENCH_PEAK_UNFUSED
            acc[i] = acc[i] * m + c;
#else
            acc[i] = fmaf(acc[i], m, c);
#endif
        }
    }
    for (i = 0; i < LANES; ++i) {
        sum += acc[i];
    }
    return sum;
}

int main(int argc, char **argv)
{
    unsigned long reps = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000000ul;
    volatile float m = 0.999999f, c = 1e-6f; /* volatile: not folded at compile time */
    double best = 1e30;
    float checksum = 0;
    int k;
    if (reps == 0) {
        fprintf(stderr, "bench_peak: REPS must be a positive integer, got %s\n", argv[1]);
        return 1;
    }
    for (k = 0; k < RUNS; ++k) {
        double t0 = now(), t;
        checksum += run(reps, m, c);
        t = now() - t0;
        best = t < best ? t : best;
    }
    printf("{\"gflops\": %.3f, \"checksum\": %.6g}\n", 2.0 * LANES * (double)reps / best * 1e-9,
           (double)checksum);
    return 0;
}
