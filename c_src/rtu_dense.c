/*
 * Dense layers and parameter-free LayerNorm with leaky ReLU: the kernels of the streaming network
 * around the RTU (../shared/rtu-spec.md section 6), forward, backward and sparse initialisation,
 * one sample at a time (rtu_dense_batch.c: the same over a batch of samples).
 * rtu_edge/reference/net.py is the same code in numpy. Declarations: rtu_internal.h.
 */
#include <math.h>

#include "rtu_internal.h"

#if RTU_LANES == 16
/* rtu_dot of four rows (w, w + n_in, w + 2 n_in, w + 3 n_in) with x, n_in >= 16: the same lanes
 * and tail, so the same bits, with x's entries loaded once for the four rows and four
 * independent sums in flight. */
static void dot_rows4(const rtu_real *restrict w, const rtu_real *restrict x, size_t n_in,
                      rtu_real *restrict out)
{
    rtu_real a0[16] = {0}, a1[16] = {0}, a2[16] = {0}, a3[16] = {0};
    const rtu_real *restrict w0 = w, *restrict w1 = w + n_in, *restrict w2 = w + 2u * n_in,
                   *restrict w3 = w + 3u * n_in;
    size_t i = 0, l;
    for (; i + 16u <= n_in; i += 16u) {
        for (l = 0; l < 16u; ++l) {
            a0[l] += w0[i + l] * x[i + l];
            a1[l] += w1[i + l] * x[i + l];
            a2[l] += w2[i + l] * x[i + l];
            a3[l] += w3[i + l] * x[i + l];
        }
    }
    if (i == n_in) {
        out[0] = rtu_lanes_total(a0);
        out[1] = rtu_lanes_total(a1);
        out[2] = rtu_lanes_total(a2);
        out[3] = rtu_lanes_total(a3);
    } else { /* the tail into lane 0, in scalars (rtu_lanes_total_first) */
        rtu_real t0 = a0[0], t1 = a1[0], t2 = a2[0], t3 = a3[0];
        for (; i < n_in; ++i) {
            t0 += w0[i] * x[i];
            t1 += w1[i] * x[i];
            t2 += w2[i] * x[i];
            t3 += w3[i] * x[i];
        }
        out[0] = rtu_lanes_total_first(a0, t0);
        out[1] = rtu_lanes_total_first(a1, t1);
        out[2] = rtu_lanes_total_first(a2, t2);
        out[3] = rtu_lanes_total_first(a3, t3);
    }
}
#endif

void rtu_dense_forward(const rtu_real *w, const rtu_real *x, size_t n_in, size_t n_out,
                       rtu_real *y)
{
    size_t i = 0;
    const rtu_real *b = w + n_out * n_in;
#if RTU_LANES == 16
    if (n_in >= 16u) { /* four rows at a time (below 16 inputs rtu_dot is one running sum) */
        rtu_real s[4];
        size_t r;
        for (; i + 4u <= n_out; i += 4u) {
            dot_rows4(w + i * n_in, x, n_in, s);
            for (r = 0; r < 4u; ++r) {
                y[i + r] = b[i + r] + s[r];
            }
        }
    }
#endif
    for (; i < n_out; ++i) {
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

/* rtu_dense_backward's pass for four rows w (n_in apart) and their trace rows z: x and dx loaded
 * once for them, dx's sums in the rows' order, as one row at a time adds them (the same bits). */
static void rows4_backward(const rtu_real *restrict w, const rtu_real *restrict x,
                           const rtu_real *restrict dy, size_t n_in, rtu_real decay,
                           rtu_real *restrict z, rtu_real *restrict dx)
{
    const rtu_real g0 = dy[0], g1 = dy[1], g2 = dy[2], g3 = dy[3];
    const size_t n1 = n_in, n2 = 2u * n_in, n3 = 3u * n_in;
    size_t j;
    for (j = 0; j < n_in; ++j) {
        const rtu_real xj = x[j];
        z[j] = decay * z[j] + g0 * xj;
        z[n1 + j] = decay * z[n1 + j] + g1 * xj;
        z[n2 + j] = decay * z[n2 + j] + g2 * xj;
        z[n3 + j] = decay * z[n3 + j] + g3 * xj;
        dx[j] = (((dx[j] + g0 * w[j]) + g1 * w[n1 + j]) + g2 * w[n2 + j]) + g3 * w[n3 + j];
    }
}

void rtu_dense_backward(const rtu_real *w, const rtu_real *x, const rtu_real *dy, size_t n_in,
                        size_t n_out, rtu_real decay, rtu_real *grad, rtu_real *dx)
{
    size_t i = 0, j;
    rtu_real *grad_b = grad + n_out * n_in;
    if (dx != NULL) { /* four rows at a time, then the rest one at a time */
        rtu_zero(dx, n_in);
        for (; i + 4u <= n_out; i += 4u) {
            rows4_backward(w + i * n_in, x, dy + i, n_in, decay, grad + i * n_in, dx);
            for (j = 0; j < 4u; ++j) {
                grad_b[i + j] = decay * grad_b[i + j] + dy[i + j];
            }
        }
    }
    for (; i < n_out; ++i) {
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
