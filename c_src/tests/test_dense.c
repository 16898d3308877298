/* The dense kernels over a batch (rtu_dense_batch.c) give every sample the bits the one-sample
 * kernels (rtu_dense.c) give it alone: forward, and backward (gradient and dL/dx), bit for bit,
 * at widths below, at and past the kernels' blocks and tiles. The one-sample kernels, which go
 * four rows at a time, give the bits of a row at a time (rtu_dot per row; the gradient and dL/dx
 * row by row, dL/dx summed over the rows in order), so that learners keep their trajectories. */
#include <string.h>

#include "check.h"
#include "rtu_internal.h"
#include "tests.h"

#define DB_IN 67u    /* the widest n_in below */
#define DB_OUT 5u
#define DB_COUNT 17u

/* uniform in [-1, 1), every seventh entry -0 (a signed zero must survive as alone) */
static void fill(rtu_real *v, size_t count, rtu_prng *rng)
{
    size_t i;
    for (i = 0; i < count; ++i) {
        v[i] = i % 7u == 3u ? -(rtu_real)0 : (rtu_real)(2.0 * rtu_prng_uniform(rng) - 1.0);
    }
}

void test_dense_batch_is_one_at_a_time(int arg)
{
    static const size_t ins[] = {8u, 32u, 40u, 67u}, outs[] = {1u, 4u, 5u};
    static const size_t counts[] = {1u, 2u, 3u, 16u, 17u};
    static const rtu_real decays[] = {1, (rtu_real)0.5};
    static rtu_real w[DB_OUT * (DB_IN + 1u)], x[DB_COUNT * DB_IN], dy[DB_COUNT * DB_OUT];
    static rtu_real y[DB_COUNT * DB_OUT], y1[DB_COUNT * DB_OUT], xt[DB_COUNT * DB_IN];
    static rtu_real p[RTU_DENSE_PARTIALS], g0[DB_OUT * (DB_IN + 1u)];
    static rtu_real ga[DB_OUT * (DB_IN + 1u)], gb[DB_OUT * (DB_IN + 1u)];
    static rtu_real dxa[DB_COUNT * DB_IN], dxb[DB_COUNT * DB_IN];
    size_t a, o, c, d, b, cases = 0, forward_same = 0, backward_same = 0;
    rtu_prng rng;
    (void)arg;
    rtu_prng_seed(&rng, 5u);
    for (a = 0; a < sizeof ins / sizeof ins[0]; ++a) {
        for (o = 0; o < sizeof outs / sizeof outs[0]; ++o) {
            for (c = 0; c < sizeof counts / sizeof counts[0]; ++c) {
                size_t n_in = ins[a], n_out = outs[o], count = counts[c];
                size_t n_w = n_out * (n_in + 1u);
                fill(w, n_w, &rng);
                fill(x, count * n_in, &rng);
                fill(dy, count * n_out, &rng);
                fill(g0, n_w, &rng);
                rtu_dense_forward_batch(w, n_in, n_out, count, x, n_in, y, n_out, xt, p);
                for (b = 0; b < count; ++b) {
                    rtu_dense_forward(w, x + b * n_in, n_in, n_out, y1 + b * n_out);
                }
                forward_same += memcmp(y, y1, count * n_out * sizeof(rtu_real)) == 0;
                for (d = 0; d < sizeof decays / sizeof decays[0]; ++d) {
                    memcpy(ga, g0, n_w * sizeof(rtu_real));
                    memcpy(gb, g0, n_w * sizeof(rtu_real));
                    rtu_dense_backward_batch(w, n_in, n_out, count, x, dy, decays[d], ga, dxa);
                    for (b = 0; b < count; ++b) {
                        rtu_dense_backward(w, x + b * n_in, dy + b * n_out, n_in, n_out,
                                           decays[d], gb, dxb + b * n_in);
                    }
                    backward_same += memcmp(ga, gb, n_w * sizeof(rtu_real)) == 0 &&
                                     memcmp(dxa, dxb, count * n_in * sizeof(rtu_real)) == 0;
                    cases += 1;
                }
            }
        }
    }
    CHECK(2u * forward_same == cases, "the batch's forward differs from a sample at a time in "
          "%lu of %lu cases", (unsigned long)(cases / 2u - forward_same),
          (unsigned long)(cases / 2u));
    CHECK(backward_same == cases, "the batch's backward differs from a sample at a time in "
          "%lu of %lu cases", (unsigned long)(cases - backward_same), (unsigned long)cases);
}

/* A row at a time, as rtu_dense_forward and rtu_dense_backward were written before their rows
 * went four at a time. */
static void forward_rows(const rtu_real *w, const rtu_real *x, size_t n_in, size_t n_out,
                         rtu_real *y)
{
    size_t i;
    for (i = 0; i < n_out; ++i) {
        y[i] = w[n_out * n_in + i] + rtu_dot(w + i * n_in, x, n_in);
    }
}

static void backward_rows(const rtu_real *w, const rtu_real *x, const rtu_real *dy, size_t n_in,
                          size_t n_out, rtu_real decay, rtu_real *grad, rtu_real *dx)
{
    size_t i, j;
    if (dx != NULL) {
        rtu_zero(dx, n_in);
    }
    for (i = 0; i < n_out; ++i) {
        for (j = 0; j < n_in; ++j) {
            grad[i * n_in + j] = decay * grad[i * n_in + j] + dy[i] * x[j];
            if (dx != NULL) {
                dx[j] += dy[i] * w[i * n_in + j];
            }
        }
        grad[n_out * n_in + i] = decay * grad[n_out * n_in + i] + dy[i];
    }
}

void test_dense_rows_blocked_is_row_at_a_time(int arg)
{
    static const size_t ins[] = {1u, 8u, 15u, 16u, 17u, 40u, 67u};
    static const rtu_real decays[] = {1, (rtu_real)0.5};
    static rtu_real w[9u * (DB_IN + 1u)], x[DB_IN], dy[9u], y[9u], y1[9u];
    static rtu_real g0[9u * (DB_IN + 1u)], ga[9u * (DB_IN + 1u)], gb[9u * (DB_IN + 1u)];
    static rtu_real dxa[DB_IN], dxb[DB_IN];
    size_t a, n_out, d, with_dx, cases = 0, forward_same = 0, backward_same = 0;
    rtu_prng rng;
    (void)arg;
    rtu_prng_seed(&rng, 6u);
    for (a = 0; a < sizeof ins / sizeof ins[0]; ++a) {
        for (n_out = 1; n_out <= 9u; ++n_out) { /* whole blocks of four rows and the rest */
            size_t n_in = ins[a], n_w = n_out * (n_in + 1u);
            fill(w, n_w, &rng);
            fill(x, n_in, &rng);
            fill(dy, n_out, &rng);
            fill(g0, n_w, &rng);
            rtu_dense_forward(w, x, n_in, n_out, y);
            forward_rows(w, x, n_in, n_out, y1);
            forward_same += memcmp(y, y1, n_out * sizeof(rtu_real)) == 0;
            for (d = 0; d < sizeof decays / sizeof decays[0]; ++d) {
                for (with_dx = 0; with_dx < 2u; ++with_dx) {
                    memcpy(ga, g0, n_w * sizeof(rtu_real));
                    memcpy(gb, g0, n_w * sizeof(rtu_real));
                    rtu_dense_backward(w, x, dy, n_in, n_out, decays[d], ga,
                                       with_dx ? dxa : NULL);
                    backward_rows(w, x, dy, n_in, n_out, decays[d], gb, with_dx ? dxb : NULL);
                    backward_same += memcmp(ga, gb, n_w * sizeof(rtu_real)) == 0 &&
                                     (!with_dx || memcmp(dxa, dxb, n_in * sizeof(rtu_real)) == 0);
                    cases += 1;
                }
            }
        }
    }
    CHECK(4u * forward_same == cases, "the dense forward differs from a row at a time in %lu of "
          "%lu cases", (unsigned long)(cases / 4u - forward_same), (unsigned long)(cases / 4u));
    CHECK(backward_same == cases, "the dense backward differs from a row at a time in %lu of %lu "
          "cases", (unsigned long)(cases - backward_same), (unsigned long)cases);
}
