/*
 * bench_peak: the float32 fused multiply-add throughput of one core, the yardstick of
 * benchmarks/bench_kernel.py (each kernel's GFLOP/s as a fraction of it); with
 * -DBENCH_PEAK_UNFUSED, the throughput of a multiply and an add apiece instead, the ceiling of a
 * build that fuses none (the core's default builds) at the vectors its flags give.
 *
 *   bench_peak [REPS]
 *
 * Independent accumulators, each advanced REPS times by acc = fmaf(acc, m, c) (unfused:
 * acc * m + c, which the core's -ffp-contract=off keeps two instructions): 2 flops per step.
 * Built with -O3 -march=native (fmaf is an instruction only where the target has one) and, on
 * x86-64, the CPU's widest vectors (rtu_edge._build.NATIVE_FLAGS), or with a build's own flags,
 * the loop over the accumulators is vectorised and, where they fit, kept in registers: too few
 * leave the units waiting on their latency, too many spill to memory, and the count that fits
 * depends on the vectors, so 32 to 256 accumulators are each timed, best of 5 runs, and the
 * fastest counts (what the hardware does at least). One JSON line on stdout:
 * {"gflops": ..., "checksum": ...}.
 */
#define _POSIX_C_SOURCE 199309L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define RUNS 5

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#ifdef BENCH_PEAK_UNFUSED
#define BENCH_PEAK_STEP(a, m, c) ((a) * (m) + (c))
#else
#define BENCH_PEAK_STEP(a, m, c) fmaf(a, m, c)
#endif

/* run_<lanes>: lanes accumulators advanced reps times; their sum. One function a count, each
 * count a constant, so that the accumulators can live in registers. */
#define BENCH_PEAK_RUN(lanes)                                                                     \
    static float run_##lanes(unsigned long reps, float m, float c)                                \
    {                                                                                             \
        float acc[lanes], sum = 0;                                                                \
        unsigned long r;                                                                          \
        size_t i;                                                                                 \
        for (i = 0; i < lanes; ++i) {                                                             \
            acc[i] = (float)i * 1e-3f;                                                            \
        }                                                                                         \
        for (r = 0; r < reps; ++r) {                                                              \
            for (i = 0; i < lanes; ++i) {                                                         \
                acc[i] = BENCH_PEAK_STEP(acc[i], m, c);                                           \
            }                                                                                     \
        }                                                                                         \
        for (i = 0; i < lanes; ++i) {                                                             \
            sum += acc[i];                                                                        \
        }                                                                                         \
        return sum;                                                                               \
    }
BENCH_PEAK_RUN(32)
BENCH_PEAK_RUN(48)
BENCH_PEAK_RUN(56)
BENCH_PEAK_RUN(64)
BENCH_PEAK_RUN(96)
BENCH_PEAK_RUN(128)
BENCH_PEAK_RUN(192)
BENCH_PEAK_RUN(256)

/* The counts tried: enough independent chains to cover the units' latency, and no more
 * accumulators than the vector registers hold beside the two constants, which depends on the
 * vectors' width and count (SSE2's 16 registers hold up to 56 floats so, AVX2's up to 112,
 * AVX-512's 32 all the counts tried; more spill to memory). */
static const struct {
    float (*run)(unsigned long, float, float);
    unsigned lanes;
} variants[] = {{run_32, 32u},   {run_48, 48u},   {run_56, 56u},   {run_64, 64u},
                {run_96, 96u},   {run_128, 128u}, {run_192, 192u}, {run_256, 256u}};

int main(int argc, char **argv)
{
    unsigned long reps = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000000ul;
    volatile float m = 0.999999f, c = 1e-6f; /* volatile: not folded at compile time */
    double gflops = 0;
    float checksum = 0;
    size_t v;
    int k;
    if (reps == 0) {
        fprintf(stderr, "bench_peak: REPS must be a positive integer, got %s\n", argv[1]);
        return 1;
    }
    for (v = 0; v < sizeof variants / sizeof variants[0]; ++v) {
        double best = 1e30, rate;
        for (k = 0; k < RUNS; ++k) {
            double t0 = now(), t;
            checksum += variants[v].run(reps, m, c);
            t = now() - t0;
            best = t < best ? t : best;
        }
        rate = 2.0 * variants[v].lanes * (double)reps / best * 1e-9;
        gflops = rate > gflops ? rate : gflops;
    }
    printf("{\"gflops\": %.3f, \"checksum\": %.6g}\n", gflops, (double)checksum);
    return 0;
}
