/*
 * bench_export: time rtu_model_step (rtu_model.h, inference only) in C alone, batch 1, on a model
 * compiled in from a header of `rtu-edge export --c-header` (exported with --name model).
 *
 *   bench_export INPUT_FILE STEPS [REPEATS [WARMUP]]
 *
 * INPUT_FILE is written by benchmarks/bench_export.py: the magic "RTUBENCH", one int32
 * (little-endian, host order) ring (a power of two), then float32 arrays: ring observations
 * (ring x MODEL_N_IN), ring actions (ring x MODEL_ACTION_REALS; none for TD(lambda)) and ring
 * rewards, which the loop takes in turn: each step is rtu_model_step on an observation, then
 * rtu_model_feed of an action and a reward (what a device's loop does; a model without the
 * previous action and reward as inputs checks the action and ignores both).
 * After WARMUP untimed steps (default STEPS), REPEATS (default 5) timed rounds of STEPS steps run,
 * each timed with clock_gettime(CLOCK_MONOTONIC), the state fed back from step to step (reset to
 * zero before each round). One JSON line on stdout gives the best and median ns per step.
 *
 * Build (float): cc -std=c99 -O3 -Ic_src -DBENCH_MODEL_HEADER='"path/to/model.h"'
 *                benchmarks/bench_export.c c_src/[all].c -lm
 */
#define _POSIX_C_SOURCE 199309L

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef BENCH_MODEL_HEADER
#error "bench_export: the build names no model header (-DBENCH_MODEL_HEADER='\"model.h\"')"
#endif
#include BENCH_MODEL_HEADER

#define BENCH_NAME "bench_export"
#include "bench_common.h"

#define MAX_REPEATS 1000ul
#if MODEL_LEARNER == 2
#define ACTION_REALS MODEL_ACTION_REALS
#else
#define ACTION_REALS 0u
#endif

/* count floats from f into a fresh array (the benchmark's only allocations, at set-up) */
static rtu_real *read_reals(FILE *f, size_t count, const char *what)
{
    rtu_real *a = malloc((count ? count : 1u) * sizeof *a);
    size_t i;
    if (a == NULL) {
        fail(what, "out of memory");
    }
    for (i = 0; i < count; ++i) {
        float v;
        if (fread(&v, sizeof v, 1, f) != 1) {
            fail(what, "input file too short");
        }
        a[i] = (rtu_real)v;
    }
    return a;
}

static void step(rtu_real *state, const rtu_real *obs, const rtu_real *action, rtu_real reward,
                 rtu_real *work, rtu_real *out)
{
    rtu_status st = rtu_model_step(&model, state, obs, work, out);
    if (st == RTU_OK) {
        st = rtu_model_feed(&model, state, action, reward);
    }
    if (st != RTU_OK) {
        fail("rtu_model_step, rtu_model_feed", rtu_status_str(st));
    }
}

int main(int argc, char **argv)
{
    static double ns_per_step[MAX_REPEATS];
    static rtu_real state[MODEL_STATE_REALS], work[MODEL_WORK_REALS], out[MODEL_N_OUT];
    char magic[8];
    int32_t ring_head;
    rtu_real *ring, *actions, *rewards;
    size_t ring_len, mask, i;
    unsigned long steps, repeats, warmup, r, s, t = 0;
    double best, median, sum = 0.0;
    FILE *f;

    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: %s INPUT_FILE STEPS [REPEATS [WARMUP]]\n", argv[0]);
        return EXIT_FAILURE;
    }
    steps = parse_count(argv[2], "STEPS", 1, 0xFFFFFFFFul);
    repeats = argc > 3 ? parse_count(argv[3], "REPEATS", 1, MAX_REPEATS) : 5;
    warmup = argc > 4 ? parse_count(argv[4], "WARMUP", 0, 0xFFFFFFFFul) : steps;

    if (rtu_model_check(&model) != RTU_OK) {
        fail("rtu_model_check", rtu_status_str(rtu_model_check(&model)));
    }
    f = fopen(argv[1], "rb");
    if (f == NULL) {
        fail(argv[1], strerror(errno));
    }
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, "RTUBENCH", 8) != 0 ||
        fread(&ring_head, sizeof ring_head, 1, f) != 1) {
        fail(argv[1], "not a bench_export input file");
    }
    if (ring_head <= 0 || (ring_head & (ring_head - 1)) != 0) {
        fail(argv[1], "bad ring size");
    }
    ring_len = (size_t)ring_head;
    mask = ring_len - 1;
    ring = read_reals(f, ring_len * MODEL_N_IN, "observations");
    actions = read_reals(f, ring_len * ACTION_REALS, "actions");
    rewards = read_reals(f, ring_len, "rewards");
    fclose(f);

    rtu_model_reset(&model, state);
    for (s = 0; s < warmup; ++s, ++t) {
        size_t k = t & mask;
        step(state, ring + k * MODEL_N_IN, actions + k * ACTION_REALS, rewards[k], work, out);
    }
    for (r = 0; r < repeats; ++r) {
        double start;
        rtu_model_reset(&model, state);
        start = now_ns();
        for (s = 0; s < steps; ++s, ++t) {
            size_t k = t & mask;
            step(state, ring + k * MODEL_N_IN, actions + k * ACTION_REALS, rewards[k], work, out);
        }
        ns_per_step[r] = (now_ns() - start) / (double)steps;
        for (i = 0; i < MODEL_N_OUT; ++i) { /* use the results */
            sum += (double)out[i];
        }
    }
    qsort(ns_per_step, repeats, sizeof ns_per_step[0], compare_double);
    best = ns_per_step[0];
    median = repeats % 2 ? ns_per_step[repeats / 2]
                         : 0.5 * (ns_per_step[repeats / 2 - 1] + ns_per_step[repeats / 2]);
    printf("{\"program\": \"bench_export\", \"n_in\": %lu, \"n_hidden\": %lu, \"n_out\": %lu, "
           "\"steps\": %lu, \"repeats\": %lu, \"best_ns_per_step\": %.6g, "
           "\"median_ns_per_step\": %.6g, \"checksum\": %.9g}\n",
           (unsigned long)MODEL_N_IN, (unsigned long)MODEL_N_HIDDEN, (unsigned long)MODEL_N_OUT,
           steps, repeats, best, median, isfinite(sum) ? sum : 0.0);
    return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
