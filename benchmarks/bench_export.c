/*
 * bench_export: time rtu_model_step (rtu_model.h, inference only) in C alone, batch 1.
 *
 *   bench_export MODEL_FILE STEPS [REPEATS [WARMUP]]
 *
 * MODEL_FILE is written by benchmarks/bench_export.py: the magic "RTUBENCH", then seven int32
 * (little-endian, host order) kind, activation, n_in, n_hidden, n_out, normalised (0/1), ring;
 * then float32 arrays w_c (n_hidden x n_in), w_d, g, phi, eta (n_hidden each), head_w
 * (n_out x 2 n_hidden), head_b (n_out), obs_mean and obs_inv_std (n_in each, if normalised), and
 * `ring` observations (ring x n_in, ring a power of two) that the loop takes in turn.
 * After WARMUP untimed steps (default STEPS), REPEATS (default 5) timed rounds of STEPS steps run,
 * each timed with clock_gettime(CLOCK_MONOTONIC), the state fed back from step to step (reset to
 * zero before each round). One JSON line on stdout gives the best and median ns per step.
 *
 * Build (float): cc -std=c99 -O3 -Ic_src benchmarks/bench_export.c c_src/[all].c -lm
 */
#define _POSIX_C_SOURCE 199309L

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtu_model.h"

#define BENCH_NAME "bench_export"
#include "bench_common.h"

#define MAX_REPEATS 1000ul

/* count floats from f into a fresh array (the benchmark's only allocations, at set-up) */
static rtu_real *read_reals(FILE *f, size_t count, const char *what)
{
    rtu_real *a = malloc(count * sizeof *a);
    size_t i;
    if (a == NULL) {
        fail(what, "out of memory");
    }
    for (i = 0; i < count; ++i) {
        float v;
        if (fread(&v, sizeof v, 1, f) != 1) {
            fail(what, "model file too short");
        }
        a[i] = (rtu_real)v;
    }
    return a;
}

int main(int argc, char **argv)
{
    static double ns_per_step[MAX_REPEATS];
    char magic[8];
    int32_t head[7];
    rtu_model m;
    rtu_real *state, *work, *out, *ring;
    size_t n, ring_len, mask, i;
    unsigned long steps, repeats, warmup, r, s, t = 0;
    double best, median, sum = 0.0;
    FILE *f;

    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: %s MODEL_FILE STEPS [REPEATS [WARMUP]]\n", argv[0]);
        return EXIT_FAILURE;
    }
    steps = parse_count(argv[2], "STEPS", 1, 0xFFFFFFFFul);
    repeats = argc > 3 ? parse_count(argv[3], "REPEATS", 1, MAX_REPEATS) : 5;
    warmup = argc > 4 ? parse_count(argv[4], "WARMUP", 0, 0xFFFFFFFFul) : steps;

    f = fopen(argv[1], "rb");
    if (f == NULL) {
        fail(argv[1], strerror(errno));
    }
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, "RTUBENCH", 8) != 0 ||
        fread(head, sizeof head[0], 7, f) != 7) {
        fail(argv[1], "not a bench_export model file");
    }
    if (head[2] <= 0 || head[3] <= 0 || head[4] <= 0 || head[6] <= 0 ||
        (head[6] & (head[6] - 1)) != 0) {
        fail(argv[1], "bad sizes");
    }
    m.kind = (rtu_kind)head[0];
    m.activation = (rtu_activation)head[1];
    m.n_in = (size_t)head[2];
    m.n_hidden = n = (size_t)head[3];
    m.n_out = (size_t)head[4];
    m.w_c = read_reals(f, n * m.n_in, "w_c");
    m.w_d = read_reals(f, n * m.n_in, "w_d");
    m.g = read_reals(f, n, "g");
    m.phi = read_reals(f, n, "phi");
    m.eta = read_reals(f, n, "eta");
    m.head_w = read_reals(f, m.n_out * 2 * n, "head_w");
    m.head_b = read_reals(f, m.n_out, "head_b");
    m.obs_mean = m.obs_inv_std = NULL;
    if (head[5]) {
        m.obs_mean = read_reals(f, m.n_in, "obs_mean");
        m.obs_inv_std = read_reals(f, m.n_in, "obs_inv_std");
    }
    ring_len = (size_t)head[6];
    mask = ring_len - 1;
    ring = read_reals(f, ring_len * m.n_in, "observations");
    fclose(f);
    if (rtu_model_check(&m) != RTU_OK) {
        fail("rtu_model_check", rtu_status_str(rtu_model_check(&m)));
    }
    state = malloc(RTU_MODEL_STATE_REALS(n) * sizeof *state);
    work = malloc(RTU_MODEL_WORK_REALS(m.n_in, n) * sizeof *work);
    out = malloc(m.n_out * sizeof *out);
    if (state == NULL || work == NULL || out == NULL) {
        fail("set-up", "out of memory");
    }

    rtu_model_reset(&m, state);
    for (s = 0; s < warmup; ++s, ++t) {
        rtu_status st = rtu_model_step(&m, state, ring + (t & mask) * m.n_in, work, out);
        if (st != RTU_OK) {
            fail("rtu_model_step", rtu_status_str(st));
        }
    }
    for (r = 0; r < repeats; ++r) {
        double start;
        rtu_model_reset(&m, state);
        start = now_ns();
        for (s = 0; s < steps; ++s, ++t) {
            rtu_status st = rtu_model_step(&m, state, ring + (t & mask) * m.n_in, work, out);
            if (st != RTU_OK) {
                fail("rtu_model_step", rtu_status_str(st));
            }
        }
        ns_per_step[r] = (now_ns() - start) / (double)steps;
        for (i = 0; i < m.n_out; ++i) { /* use the results */
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
           (unsigned long)m.n_in, (unsigned long)n, (unsigned long)m.n_out, steps, repeats, best,
           median, isfinite(sum) ? sum : 0.0);
    return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
