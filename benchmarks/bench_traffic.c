/*
 * bench_traffic: the least time a step of B learners can take on this machine when each learner
 * must read and write a given part of its state every step: the floor of
 * benchmarks/bench_batch.py's batched learners (issue "a core near the hardware limit", point 4).
 *
 *   bench_traffic REALS LEARNERS [REPS]
 *
 * A step of AC(lambda) moves every parameter (theta += a z) and every eligibility trace
 * (z = gamma lambda z + grad) of every learner: REALS float32 values each, read and written.
 * This program does only that, one multiply and add on each (v = d v + a), over LEARNERS learners
 * whose states lie one after another (as ActorCriticBatch's buffers do), REPS sweeps over all of
 * them per timed run (default 20). Built with -O3 and rtu_edge._build.NATIVE_FLAGS, its loop is
 * vectorised on the CPU's widest vectors, so it is bound by the memory that holds the learners (a
 * cache level, or DRAM), not by arithmetic. Best of 5 timed runs, the states set afresh before
 * each (untimed); one JSON line on stdout: {"us_per_learner": ..., "gbytes_per_s": ...,
 * "checksum": ...}. A bad argument: a message on stderr naming it, exit status 1.
 */
#define _POSIX_C_SOURCE 200112L

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define RUNS 5
#define MAX_REPS 100000ul

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void set(float *v, size_t count)
{
    size_t i;
    for (i = 0; i < count; ++i) {
        v[i] = 1.0f + (float)(i % 7u) * 0.125f;
    }
}

/* One step of every learner: its reals, each read and written once. */
static void sweep(float *restrict v, size_t count, float d, float a)
{
    size_t i;
    for (i = 0; i < count; ++i) {
        v[i] = d * v[i] + a;
    }
}

/* Called through a volatile pointer, so that each sweep is a call of its own: a compiler that
 * saw the sweeps' loop could jam two sweeps into one pass (gcc 12's unroll and jam does), which
 * would move the memory half as often as the steps it stands for. */
static void (*volatile sweep_call)(float *restrict, size_t, float, float) = sweep;

static size_t positive(const char *arg, const char *name, unsigned long max)
{
    char *end;
    unsigned long v;
    errno = 0;
    v = strtoul(arg, &end, 10);
    if (*arg < '0' || *arg > '9' || *end != '\0' || errno == ERANGE || v == 0 || v > max) {
        fprintf(stderr, "bench_traffic: %s must be an integer from 1 to %lu, got %s\n", name, max,
                arg);
        exit(1);
    }
    return (size_t)v;
}

int main(int argc, char **argv)
{
    const unsigned long most = (unsigned long)(SIZE_MAX / sizeof(float) < 0xFFFFFFFFul
                                                   ? SIZE_MAX / sizeof(float)
                                                   : 0xFFFFFFFFul);
    size_t reals, learners, count, reps, i, r;
    void *p = NULL;
    float *v, checksum = 0;
    double best = 1e30;
    int k;
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: bench_traffic REALS LEARNERS [REPS]\n");
        return 1;
    }
    reals = positive(argv[1], "REALS", most);
    learners = positive(argv[2], "LEARNERS", most);
    reps = argc > 3 ? positive(argv[3], "REPS", MAX_REPS) : 20u;
    if (reals > (size_t)most / learners) {
        fprintf(stderr, "bench_traffic: REALS x LEARNERS (%s x %s) is beyond %lu floats\n",
                argv[1], argv[2], most);
        return 1;
    }
    count = reals * learners;
    if (posix_memalign(&p, 64, count * sizeof(float)) != 0) {
        fprintf(stderr, "bench_traffic: cannot allocate %zu floats\n", count);
        return 1;
    }
    v = (float *)p;
    for (k = 0; k < RUNS; ++k) {
        double t0, t;
        set(v, count); /* the same values every run: no run decays toward subnormals */
        t0 = now();
        for (r = 0; r < reps; ++r) {
            sweep_call(v, count, 0.9999f, 1e-6f);
        }
        t = now() - t0;
        best = t < best ? t : best;
    }
    for (i = 0; i < count; ++i) {
        checksum += v[i];
    }
    best /= (double)reps * (double)learners;
    printf("{\"us_per_learner\": %.4f, \"gbytes_per_s\": %.2f, \"checksum\": %.6g}\n",
           best * 1e6, 2.0 * sizeof(float) * (double)reals / best * 1e-9, (double)checksum);
    free(p);
    return 0;
}
