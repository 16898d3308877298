/*
 * bench_cell: time one RTU cell step with its RTRL traces plus the gradient, in C alone.
 *
 *   bench_cell KIND N_IN N_HIDDEN STEPS [REPEATS [WARMUP [SEED]]]
 *
 * KIND is "linear" or "nonlinear" (activation relu). The cell is initialised with
 * rtu_prng_seed(SEED) + rtu_cell_init_params(cell, rng, 0.0, 1.0, 6.28); inputs x and dh come
 * from a ring of RING random vectors (so the inputs stay in cache and the cell's own buffer is
 * what is measured). After WARMUP untimed iterations (default STEPS), REPEATS (default 5) timed
 * rounds of STEPS iterations of rtu_cell_step + rtu_cell_gradient run, each timed with
 * clock_gettime(CLOCK_MONOTONIC). One JSON line on stdout gives the best and median ns per step.
 *
 * All memory comes from one malloc at set-up (the cell's buffer from its first 64-byte boundary);
 * the timed loop allocates nothing. Every status is checked; on error the program prints
 * rtu_status_str to stderr and exits with status 1.
 *
 * Build (float; add -DRTU_DOUBLE for double):
 *   cc -std=c99 -Wall -Wextra -Wpedantic -Werror -O3 -Ic_src benchmarks/bench_cell.c \
 *      c_src/rtu_status.c c_src/rtu_prng.c c_src/rtu_cell.c -lm -o benchmarks/bin/bench_cell_f32
 */
#define _POSIX_C_SOURCE 199309L

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtu.h"

#define BENCH_NAME "bench_cell"
#include "bench_common.h"

#define RING 64u /* input vectors in the ring; a power of two */
#define ALIGN 64u /* bytes: where the cell's buffer starts */
#define MAX_REPEATS 1000ul

#ifdef RTU_DOUBLE
#define REAL_NAME "double"
#else
#define REAL_NAME "float"
#endif

typedef struct {
    rtu_kind kind;
    const char *kind_name;
    size_t n_in;
    size_t n_hidden;
    unsigned long steps;
    unsigned long repeats;
    unsigned long warmup;
    uint64_t seed;
} options;

/* The cell and every array the benchmark touches, all in one set-up allocation. */
typedef struct {
    rtu_cell cell;
    void *block;
    rtu_real *x_ring;  /* RING x n_in */
    rtu_real *dh_ring; /* RING x 2 n_hidden */
    rtu_real *h;       /* 2 n_hidden */
    rtu_real *grad;    /* n_params */
} bench;

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s KIND N_IN N_HIDDEN STEPS [REPEATS [WARMUP [SEED]]]\n"
            "  KIND: linear | nonlinear; REPEATS default 5 (max %lu); WARMUP default STEPS;"
            " SEED default 1\n",
            prog, MAX_REPEATS);
}

static void check(rtu_status status, const char *what)
{
    if (status != RTU_OK) {
        fail(what, rtu_status_str(status));
    }
}

static options parse_options(int argc, char **argv)
{
    options opt;
    if (argc < 5 || argc > 8) {
        usage(argv[0]);
        exit(EXIT_FAILURE);
    }
    if (strcmp(argv[1], "linear") == 0) {
        opt.kind = RTU_KIND_LINEAR;
    } else if (strcmp(argv[1], "nonlinear") == 0) {
        opt.kind = RTU_KIND_NONLINEAR;
    } else if (strcmp(argv[1], "lru") == 0) {
        opt.kind = RTU_KIND_LRU;
    } else {
        fail("KIND", "must be linear, nonlinear or lru");
    }
    opt.kind_name = argv[1];
    opt.n_in = (size_t)parse_count(argv[2], "N_IN", 1, RTU_MAX_DIM);
    opt.n_hidden = (size_t)parse_count(argv[3], "N_HIDDEN", 1, RTU_MAX_DIM);
    opt.steps = (unsigned long)parse_count(argv[4], "STEPS", 1, 0xFFFFFFFFul);
    opt.repeats = argc > 5 ? (unsigned long)parse_count(argv[5], "REPEATS", 1, MAX_REPEATS) : 5;
    opt.warmup = argc > 6 ? (unsigned long)parse_count(argv[6], "WARMUP", 0, 0xFFFFFFFFul)
                          : opt.steps;
    opt.seed = argc > 7 ? (uint64_t)parse_count(argv[7], "SEED", 0, UINT64_MAX) : 1;
    return opt;
}

static void fill_normal(rtu_real *v, size_t count, rtu_prng *rng)
{
    size_t i;
    for (i = 0; i < count; ++i) {
        v[i] = (rtu_real)rtu_prng_normal(rng);
    }
}

/* Allocate and lay out everything, initialise the cell and draw the input rings. */
static void bench_setup(bench *b, const options *opt)
{
    size_t cell_bytes, n_params, ring_x, ring_dh, extra_reals;
    char *cell_buffer;
    rtu_prng rng;

    check(rtu_cell_buffer_size(opt->kind, opt->n_in, opt->n_hidden, &cell_bytes),
          "rtu_cell_buffer_size");
    n_params = RTU_CELL_PARAMS(opt->kind, opt->n_in, opt->n_hidden);
    ring_x = RING * opt->n_in;
    ring_dh = RING * 2 * opt->n_hidden;
    extra_reals = ring_x + ring_dh + 2 * opt->n_hidden + n_params;
    if (extra_reals > (SIZE_MAX - cell_bytes) / sizeof(rtu_real)) {
        fail("set-up", "configuration too large for this machine");
    }
    if (ALIGN > SIZE_MAX - cell_bytes - extra_reals * sizeof(rtu_real)) {
        fail("set-up", "configuration too large for this machine");
    }
    /* the cell's buffer from the first ALIGN-byte boundary in the block (as the Python
     * package's), so that the timing does not depend on where malloc's block happens to start;
     * the cell buffer's size is a multiple of rtu_real */
    b->block = malloc(cell_bytes + extra_reals * sizeof(rtu_real) + ALIGN);
    if (b->block == NULL) {
        fail("set-up", "out of memory");
    }
    cell_buffer = (char *)b->block + (ALIGN - (uintptr_t)b->block % ALIGN) % ALIGN;
    check(rtu_cell_init(&b->cell, opt->kind, RTU_ACT_RELU, opt->n_in, opt->n_hidden,
                        cell_buffer, cell_bytes),
          "rtu_cell_init");
    b->x_ring = (rtu_real *)(cell_buffer + cell_bytes);
    b->dh_ring = b->x_ring + ring_x;
    b->h = b->dh_ring + ring_dh;
    b->grad = b->h + 2 * opt->n_hidden;

    rtu_prng_seed(&rng, opt->seed);
    check(rtu_cell_init_params(&b->cell, &rng, 0.0, 1.0, 6.28), "rtu_cell_init_params");
    fill_normal(b->x_ring, ring_x, &rng);
    fill_normal(b->dh_ring, ring_dh, &rng);
}

/* steps iterations of step + gradient, inputs taken round the ring from position *t. */
static void run_steps(bench *b, unsigned long steps, unsigned long *t)
{
    const size_t n_in = b->cell.n_in, n2 = 2 * b->cell.n_hidden;
    unsigned long i;
    for (i = 0; i < steps; ++i, ++*t) {
        size_t slot = (size_t)(*t & (RING - 1u));
        rtu_status status = rtu_cell_step(&b->cell, b->x_ring + slot * n_in, b->h);
        if (status != RTU_OK) {
            fail("rtu_cell_step", rtu_status_str(status));
        }
        status = rtu_cell_gradient(&b->cell, b->dh_ring + slot * n2, b->grad);
        if (status != RTU_OK) {
            fail("rtu_cell_gradient", rtu_status_str(status));
        }
    }
}

/* Sum of the last features and gradient: a use of the results (and a sanity value). */
static double checksum(const bench *b)
{
    size_t i;
    double sum = 0.0;
    for (i = 0; i < 2 * b->cell.n_hidden; ++i) {
        sum += (double)b->h[i];
    }
    for (i = 0; i < b->cell.n_params; ++i) {
        sum += (double)b->grad[i];
    }
    return sum;
}

int main(int argc, char **argv)
{
    static double ns_per_step[MAX_REPEATS];
    options opt = parse_options(argc, argv);
    bench b;
    unsigned long r, t = 0;
    double best, median, sum;

    bench_setup(&b, &opt);
    run_steps(&b, opt.warmup, &t);
    for (r = 0; r < opt.repeats; ++r) {
        double start = now_ns();
        run_steps(&b, opt.steps, &t);
        ns_per_step[r] = (now_ns() - start) / (double)opt.steps;
    }
    qsort(ns_per_step, opt.repeats, sizeof ns_per_step[0], compare_double);
    best = ns_per_step[0];
    median = opt.repeats % 2 ? ns_per_step[opt.repeats / 2]
                             : 0.5 * (ns_per_step[opt.repeats / 2 - 1] +
                                      ns_per_step[opt.repeats / 2]);
    sum = checksum(&b);

    printf("{\"program\": \"bench_cell\", \"real\": \"%s\", \"kind\": \"%s\", \"n_in\": %lu, "
           "\"n_hidden\": %lu, \"steps\": %lu, \"warmup\": %lu, \"repeats\": %lu, "
           "\"best_ns_per_step\": %.6g, \"median_ns_per_step\": %.6g, ",
           REAL_NAME, opt.kind_name, (unsigned long)opt.n_in, (unsigned long)opt.n_hidden,
           opt.steps, opt.warmup, opt.repeats, best, median);
    if (isfinite(sum)) { /* JSON has no inf or nan */
        printf("\"checksum\": %.9g}\n", sum);
    } else {
        printf("\"checksum\": null}\n");
    }
    free(b.block);
    return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
