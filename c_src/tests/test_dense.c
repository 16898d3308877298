/* The dense kernels over a batch (rtu_dense_batch.c) give every sample the bits the one-sample
 * kernels (rtu_dense.c) give it alone: forward, and backward (gradient and dL/dx), bit for bit,
 * at widths below, at and past the kernels' blocks and tiles. */
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
