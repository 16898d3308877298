/*
 * Dense layers and parameter-free LayerNorm with leaky ReLU: the kernels of the streaming network
 * around the RTU (../shared/rtu-spec.md section 6), forward, backward and sparse initialisation,
 * one sample at a time (rtu_dense_batch.c: the same over a batch of samples).
 * rtu_edge/reference/net.py is the same code in numpy. Declarations: rtu_internal.h.
 */
#include <math.h>

#include "rtu_internal.h"

void rtu_dense_forward(const rtu_real *w, const rtu_real *x, size_t n_in, size_t n_out,
                       rtu_real *y)
{
    size_t i;
    const rtu_real *b = w + n_out * n_in;
    for (i = 0; i < n_out; ++i) {
        y[i] = b[i] + rtu_dot(w + i * n_in, x, n_in);
    }
}

/* sum of v[i] (a = 0) or of (v[i] - a)^2 (squares), in RTU_LANES partial sums as rtu_sum_abs. */
static rtu_real lane_sum(const rtu_real *v, size_t count, rtu_real a, int squares)
{
    rtu_real acc[RTU_LANES] = {0}, c;
    size_t i = 0, l;
    for (; i + RTU_LANES <= count; i += RTU_LANES) {
        for (l = 0; l < RTU_LANES; ++l) {
            c = v[i + l] - a;
            acc[l] += squares ? c * c : c;
        }
    }
    for (; i < count; ++i) {
        c = v[i] - a;
        acc[0] += squares ? c * c : c;
    }
    return rtu_lanes_total(acc);
}

rtu_real rtu_ln_lrelu(rtu_real *restrict y_hat, rtu_real *restrict out, size_t count)
{
    size_t i;
    rtu_real mean, var, inv_std;
    mean = lane_sum(y_hat, count, 0, 0) / (rtu_real)count;
    var = lane_sum(y_hat, count, mean, 1) / (rtu_real)count;
    inv_std = (rtu_real)1 / RTU_SQRT(var + (rtu_real)RTU_LN_EPS);
    for (i = 0; i < count; ++i) {
        rtu_real v = (y_hat[i] - mean) * inv_std;
        y_hat[i] = v;
        out[i] = v > 0 ? v : (rtu_real)RTU_LRELU_SLOPE * v;
    }
    return inv_std;
}

void rtu_ln_lrelu_backward(const rtu_real *y_hat, rtu_real inv_std, rtu_real *d, size_t count)
{
    size_t i;
    rtu_real mean_g, mean_gy;
    for (i = 0; i < count; ++i) {
        d[i] *= y_hat[i] > 0 ? (rtu_real)1 : (rtu_real)RTU_LRELU_SLOPE; /* g = d lrelu'(y_hat) */
    }
    mean_g = lane_sum(d, count, 0, 0) / (rtu_real)count;
    mean_gy = rtu_dot(d, y_hat, count) / (rtu_real)count;
    for (i = 0; i < count; ++i) {
        d[i] = inv_std * (d[i] - mean_g - y_hat[i] * mean_gy);
    }
}

void rtu_dense_backward(const rtu_real *w, const rtu_real *x, const rtu_real *dy, size_t n_in,
                        size_t n_out, rtu_real decay, rtu_real *grad, rtu_real *dx)
{
    size_t i, j;
    rtu_real *grad_b = grad + n_out * n_in;
    if (dx != NULL) {
        rtu_zero(dx, n_in);
    }
    for (i = 0; i < n_out; ++i) {
        const rtu_real g = dy[i];
        rtu_real *restrict gw = grad + i * n_in;
        const rtu_real *restrict wi = w + i * n_in;
        if (dx != NULL) { /* one pass over the row for both */
            for (j = 0; j < n_in; ++j) {
                gw[j] = decay * gw[j] + g * x[j];
                dx[j] += g * wi[j];
            }
        } else {
            for (j = 0; j < n_in; ++j) {
                gw[j] = decay * gw[j] + g * x[j];
            }
        }
        grad_b[i] = decay * grad_b[i] + g;
    }
}

void rtu_dense_init(rtu_real *w, size_t n_in, size_t n_out, rtu_real sparsity, rtu_prng *rng)
{
    size_t i, j;
    double bound = 1.0 / sqrt((double)n_in);
    double want = ceil((1.0 - (double)sparsity) * (double)n_in - 1e-4);
    size_t keep = want < 1.0 ? 1u : (want > (double)n_in ? n_in : (size_t)want);
    for (i = 0; i < n_out; ++i) {
        size_t left = keep;
        for (j = 0; j < n_in; ++j) {
            double u = rtu_prng_uniform(rng);
            if (u * (double)(n_in - j) < (double)left) {
                w[i * n_in + j] = (rtu_real)((2.0 * rtu_prng_uniform(rng) - 1.0) * bound);
                left -= 1;
            } else {
                w[i * n_in + j] = 0;
            }
        }
    }
    rtu_zero(w + n_out * n_in, n_out);
}

rtu_real rtu_head_forward(const rtu_real *hidden, const rtu_real *out_w, size_t n_in,
                          size_t n_head, size_t n_out, const rtu_real *h, rtu_real *q_hat,
                          rtu_real *q, rtu_real *out)
{
    rtu_real inv_std = 0;
    if (n_head) {
        rtu_dense_forward(hidden, h, n_in, n_head, q_hat);
        inv_std = rtu_ln_lrelu(q_hat, q, n_head);
        rtu_dense_forward(out_w, q, n_head, n_out, out);
    } else {
        rtu_dense_forward(out_w, h, n_in, n_out, out);
    }
    return inv_std;
}
