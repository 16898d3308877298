/*
 * bench_traffic: the least time a step of B learners can take on this machine when each learner
 * must read and write all of its state every step: the floor of benchmarks/bench_batch.py's
 * batched learners (issue "a core near the hardware limit", point 4).
 *
 *   bench_traffic PARAMS LEARNERS [REPS]
 *
 * A step of AC(lambda) moves every parameter (theta += a z) and every eligibility trace
 * (z = gamma lambda z + grad) of every learner: 2 PARAMS float32 values read and written each.
 * This program does only that, the least arithmetic on them (theta += a z; z *= d), over
 * LEARNERS learners whose parameters and traces lie one learner after another (as
 * ActorCriticBatch's buffers do), REPS sweeps over all of them per timed run. Built with -O3 and
 * rtu_edge._build.NATIVE_FLAGS, its loop is vectorised on the CPU's widest vectors, so it is
 * bound by the memory that holds the learners (a cache level, or DRAM), not by arithmetic. Best
 * of 5 timed runs; one JSON line on stdout: {"us_per_learner": ..., "gbytes_per_s": ...,
 * "checksum": ...}.
 */
#define _POSIX_C_SOURCE 200112L

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

/* One step of every learner: its parameters theta and traces z (params reals each). */
static void sweep(float *restrict theta, float *restrict z, size_t params, size_t learners,
                  float a, float d)
{
    size_t b, i;
    for (b = 0; b < learners; ++b) {
        float *restrict t = theta + b * params, *restrict e = z + b * params;
        for (i = 0; i < params; ++i) {
            t[i] += a * e[i];
            e[i] *= d;
        }
    }
}

static size_t positive(const char *arg, const char *name)
{
    char *end;
    unsigned long v = strtoul(arg, &end, 10);
    if (*arg == '\0' || *end != '\0' || v == 0) {
        fprintf(stderr, "bench_traffic: %s must be a positive integer, got %s\n", name, arg);
        exit(1);
    }
    return (size_t)v;
}

int main(int argc, char **argv)
{
    size_t params, learners, reps, i, r;
    float *theta = NULL, *z = NULL, checksum = 0;
    double best = 1e30;
    int k;
    if (argc < 3) {
        fprintf(stderr, "usage: bench_traffic PARAMS LEARNERS [REPS]\n");
        return 1;
    }
    params = positive(argv[1], "PARAMS");
    learners = positive(argv[2], "LEARNERS");
    reps = argc > 3 ? positive(argv[3], "REPS") : 20u;
    if (posix_memalign((void **)&theta, 64, params * learners * sizeof(float)) != 0 ||
        posix_memalign((void **)&z, 64, params * learners * sizeof(float)) != 0) {
        fprintf(stderr, "bench_traffic: cannot allocate 2 x %zu floats\n", params * learners);
        return 1;
    }
    for (i = 0; i < params * learners; ++i) {
        theta[i] = (float)(i % 7u) * 0.1f;
        z[i] = 1.0f + (float)(i % 5u) * 0.1f;
    }
    sweep(theta, z, params, learners, 1e-6f, 1.0f); /* untimed: the pages touched */
    for (k = 0; k < RUNS; ++k) {
        double t0 = now(), t;
        for (r = 0; r < reps; ++r) {
            sweep(theta, z, params, learners, 1e-6f, 0.9999f);
        }
        t = now() - t0;
        best = t < best ? t : best;
    }
    for (i = 0; i < params * learners; i += 1024u) {
        checksum += theta[i] + z[i];
    }
    best /= (double)reps * (double)learners;
    printf("{\"us_per_learner\": %.4f, \"gbytes_per_s\": %.2f, \"checksum\": %.6g}\n",
           best * 1e6, 4.0 * sizeof(float) * (double)params / best * 1e-9, (double)checksum);
    free(theta);
    free(z);
    return 0;
}
