/*
 * Dense layers over batches of samples: rtu_dense.c's kernels for many inputs at once, each sample
 * getting exactly the bits the one-sample kernels give it (rtu_model.c's batched inference,
 * rtu_ppo.c's update). A file of its own so that a program which needs neither (the Cortex-M
 * example) links none of it. Declarations: rtu_internal.h.
 */
#include <string.h>

#include "rtu_internal.h"

/* lanes_total_block writes out rtu_lanes_total for 16 partial sums (or one running sum). */
typedef char rtu_dense_lanes_are_16_or_1[RTU_LANES == 16 || RTU_LANES == 1 ? 1 : -1];

/* A batch's dense rows go in blocks of RTU_DENSE_ROWS rows by RTU_DENSE_BLOCK samples (the
 * unit-stride inner loop): their RTU_DENSE_ROWS x RTU_DENSE_BLOCK running sums of one lane stay
 * in vector registers (8 at AVX2 width) while the lane's entries go by, each input loaded once
 * for the block's rows and each weight once for its samples; the sums are independent, so the
 * additions overlap rather than wait on each other. */
typedef char rtu_dense_partials_fit[RTU_DENSE_PARTIALS == 16u * RTU_DENSE_ROWS * RTU_DENSE_BLOCK
                                        ? 1
                                        : -1];

/* Entry j of rows w, w + n_in, w + 2 n_in, w + 3 n_in times the block's inputs x_j (count apart
 * from x), added unfused to the running sums a0 .. a3. */
static inline void lane_entry(const rtu_real *restrict w, size_t n_in, const rtu_real *restrict x,
                              size_t count, size_t j, rtu_real *restrict a0,
                              rtu_real *restrict a1, rtu_real *restrict a2,
                              rtu_real *restrict a3)
{
    const rtu_real w0 = w[j], w1 = w[n_in + j], w2 = w[2u * n_in + j], w3 = w[3u * n_in + j];
    const rtu_real *restrict xj = x + j * count;
    size_t b;
    for (b = 0; b < RTU_DENSE_BLOCK; ++b) {
        a0[b] += w0 * xj[b];
        a1[b] += w1 * xj[b];
        a2[b] += w2 * xj[b];
        a3[b] += w3 * xj[b];
    }
}

/* Lane l of rtu_dot for rows w, w + n_in, w + 2 n_in, w + 3 n_in on the RTU_DENSE_BLOCK samples
 * at x (rows of the inputs transposed, count apart): the entries l, l + 16, ... below full, in
 * order, then those from tail (full for lane 0: rtu_dot's tail; n_in for the others), each
 * added unfused, as rtu_dot does, to the running sums from 0, into p0 .. p3. */
static void lane_rows(const rtu_real *restrict w, size_t n_in, const rtu_real *restrict x,
                      size_t count, size_t l, size_t full, size_t tail, rtu_real *restrict p0,
                      rtu_real *restrict p1, rtu_real *restrict p2, rtu_real *restrict p3)
{
    rtu_real a0[RTU_DENSE_BLOCK], a1[RTU_DENSE_BLOCK], a2[RTU_DENSE_BLOCK], a3[RTU_DENSE_BLOCK];
    size_t j, b;
    for (b = 0; b < RTU_DENSE_BLOCK; ++b) {
        a0[b] = 0;
        a1[b] = 0;
        a2[b] = 0;
        a3[b] = 0;
    }
    for (j = l; j < full; j += 16u) {
        lane_entry(w, n_in, x, count, j, a0, a1, a2, a3);
    }
    for (j = tail; j < n_in; ++j) {
        lane_entry(w, n_in, x, count, j, a0, a1, a2, a3);
    }
    memcpy(p0, a0, sizeof a0);
    memcpy(p1, a1, sizeof a1);
    memcpy(p2, a2, sizeof a2);
    memcpy(p3, a3, sizeof a3);
}

/* xt[j count + b] = x[b x_stride + j]: the first rows of x (n_in reals each) transposed, 8 rows
 * at a time, so that each input's 8 entries are stored together (one entry at a time, the
 * stores count reals apart, a 64 x 128 transpose took 3.0 us against 1.8 in a scratch timing). */
static void transpose(const rtu_real *restrict x, size_t x_stride, size_t rows, size_t n_in,
                      size_t count, rtu_real *restrict xt)
{
    size_t b = 0, j, r;
    for (; b + 8u <= rows; b += 8u) {
        const rtu_real *restrict x8 = x + b * x_stride;
        for (j = 0; j < n_in; ++j) {
            rtu_real *restrict out = xt + j * count + b;
            for (r = 0; r < 8u; ++r) {
                out[r] = x8[r * x_stride + j];
            }
        }
    }
    for (; b < rows; ++b) {
        const rtu_real *restrict xb = x + b * x_stride;
        for (j = 0; j < n_in; ++j) {
            xt[j * count + b] = xb[j];
        }
    }
}

/* y[b y_stride] = bias + rtu_lanes_total of the 16 lanes' sums p[l RTU_DENSE_BLOCK + b] (lanes
 * 16: the tree) or bias + p[b] (lanes 1: one running sum), for the block's samples b. */
static void lanes_total_block(const rtu_real *restrict p, size_t lanes, rtu_real bias,
                              rtu_real *restrict y, size_t y_stride)
{
    const size_t B = RTU_DENSE_BLOCK;
    rtu_real t[RTU_DENSE_BLOCK];
    size_t b;
    if (lanes == 1u) {
        for (b = 0; b < B; ++b) {
            t[b] = bias + p[b];
        }
    } else {
        for (b = 0; b < B; ++b) {
            rtu_real b0 = p[b] + p[8u * B + b], b1 = p[B + b] + p[9u * B + b];
            rtu_real b2 = p[2u * B + b] + p[10u * B + b], b3 = p[3u * B + b] + p[11u * B + b];
            rtu_real b4 = p[4u * B + b] + p[12u * B + b], b5 = p[5u * B + b] + p[13u * B + b];
            rtu_real b6 = p[6u * B + b] + p[14u * B + b], b7 = p[7u * B + b] + p[15u * B + b];
            t[b] = bias + (((b0 + b4) + (b2 + b6)) + ((b1 + b5) + (b3 + b7)));
        }
    }
    for (b = 0; b < B; ++b) {
        y[b * y_stride] = t[b];
    }
}

void rtu_dense_forward_batch(const rtu_real *w, size_t n_in, size_t n_out, size_t count,
                             const rtu_real *x, size_t x_stride, rtu_real *y, size_t y_stride,
                             rtu_real *restrict xt, rtu_real *restrict p)
{
    const size_t B = RTU_DENSE_BLOCK;
    const rtu_real *bias = w + n_out * n_in;
    size_t i, b, l, r, rows = 0, blocked = 0;
    if (count >= B && n_out >= RTU_DENSE_ROWS) {
        /* rtu_dot's lanes (16, or one running sum below 16 inputs and in a build with one) */
        size_t lanes = RTU_LANES == 16 && n_in >= 16u ? 16u : 1u;
        size_t full = lanes == 16u ? n_in - n_in % 16u : 0u;
        rows = n_out - n_out % RTU_DENSE_ROWS;
        blocked = count - count % B;
        transpose(x, x_stride, blocked, n_in, count, xt);
        for (i = 0; i < rows; i += RTU_DENSE_ROWS) {
            for (b = 0; b < blocked; b += B) {
                for (l = 0; l < lanes; ++l) {
                    lane_rows(w + i * n_in, n_in, xt + b, count, l, full, l == 0 ? full : n_in,
                              p + l * B, p + (16u + l) * B, p + (32u + l) * B, p + (48u + l) * B);
                }
                for (r = 0; r < RTU_DENSE_ROWS; ++r) {
                    lanes_total_block(p + r * 16u * B, lanes, bias[i + r],
                                      y + b * y_stride + i + r, y_stride);
                }
            }
        }
    }
    for (b = 0; b < count; ++b) { /* the rest: rows past the blocks' and samples past theirs */
        const rtu_real *xb = x + b * x_stride;
        for (i = b < blocked ? rows : 0; i < n_out; ++i) {
            y[b * y_stride + i] = bias[i] + rtu_dot(w + i * n_in, xb, n_in);
        }
    }
}

/* The batch's backward in tiles of RTU_DENSE_TILE columns held in registers: a tile of a row of
 * grad while the samples go by (a load of x_b and the arithmetic per sample, no load or store of
 * grad), and a tile of two samples' dx while the rows go by (8 independent sums at AVX2 width;
 * one sample's 4 were slower, their additions waiting on each other). Multiplying by decay 1
 * changes no value, so it is left out then (with the core's flags, which fuse no multiply-add the
 * code does not: a compiler fusing decay * gw + g * x would round the two forms differently).
 * The columns past the tiles go one at a time. */
#define RTU_DENSE_TILE 32u
/* rows of grad whose tiles go together: 8 vector registers of float sums at AVX width (each
 * one's additions waiting on its own, 4 of them left the adder idle half the time); one row, 8
 * registers already, where vectors hold 4 floats or fewer (or the reals are doubles) */
#if defined(__AVX__) && !defined(RTU_DOUBLE)
#define RTU_GRAD_ROWS 2u
#else
#define RTU_GRAD_ROWS 1u
#endif

/* Columns j .. j + RTU_DENSE_TILE of rows i .. i + rows - 1 of grad (rows 1 or RTU_GRAD_ROWS):
 * each entry decay g + dy_b[i] x_b[j] for each sample b in order, the rows' tiles in registers
 * while the samples go by (each x_b tile loaded once for the rows). The test of decay is outside
 * the loops: gcc 12 left it inside, a compare and two branches for every row of every sample
 * (the batch's backward 0-4% faster in the AVX2 variant, 4-7% in SSE2, 14% native, in a scratch
 * timing). */
static inline void grad_tile(const rtu_real *restrict x, const rtu_real *restrict dy,
                             size_t n_in, size_t n_out, size_t count, size_t i, size_t j,
                             size_t rows, rtu_real decay, rtu_real *restrict grad)
{
    rtu_real acc[RTU_GRAD_ROWS][RTU_DENSE_TILE];
    size_t b, r, t;
    for (r = 0; r < rows; ++r) {
        memcpy(acc[r], grad + (i + r) * n_in + j, sizeof acc[r]);
    }
    if (decay == 1) {
        for (b = 0; b < count; ++b) {
            const rtu_real *restrict xb = x + b * n_in + j, *restrict dyb = dy + b * n_out + i;
            for (r = 0; r < rows; ++r) {
                const rtu_real g = dyb[r];
                for (t = 0; t < RTU_DENSE_TILE; ++t) {
                    acc[r][t] = acc[r][t] + g * xb[t];
                }
            }
        }
    } else {
        for (b = 0; b < count; ++b) {
            const rtu_real *restrict xb = x + b * n_in + j, *restrict dyb = dy + b * n_out + i;
            for (r = 0; r < rows; ++r) {
                const rtu_real g = dyb[r];
                for (t = 0; t < RTU_DENSE_TILE; ++t) {
                    acc[r][t] = decay * acc[r][t] + g * xb[t];
                }
            }
        }
    }
    for (r = 0; r < rows; ++r) {
        memcpy(grad + (i + r) * n_in + j, acc[r], sizeof acc[r]);
    }
}

/* grad = decay grad + [dy_b x_b^T, dy_b] for each sample b in order: RTU_GRAD_ROWS rows at a
 * time, then the last rows one at a time, their tiles by grad_tile and the columns past the
 * tiles entry by entry; then the biases. */
static void grad_rows_batch(const rtu_real *restrict x, const rtu_real *restrict dy, size_t n_in,
                            size_t n_out, size_t count, rtu_real decay, rtu_real *restrict grad)
{
    size_t i, j, b, r, rows, tiled = n_in - n_in % RTU_DENSE_TILE;
    rtu_real *restrict grad_b = grad + n_out * n_in;
    for (i = 0; i < n_out; i += rows) {
        rows = i + RTU_GRAD_ROWS <= n_out ? RTU_GRAD_ROWS : 1u;
        for (j = 0; j < tiled; j += RTU_DENSE_TILE) { /* rows a constant in each call */
            if (rows == RTU_GRAD_ROWS) {
                grad_tile(x, dy, n_in, n_out, count, i, j, RTU_GRAD_ROWS, decay, grad);
            } else {
                grad_tile(x, dy, n_in, n_out, count, i, j, 1u, decay, grad);
            }
        }
        for (r = i; r < i + rows; ++r) {
            rtu_real *restrict gw = grad + r * n_in;
            for (b = 0; tiled < n_in && b < count; ++b) {
                const rtu_real g = dy[b * n_out + r], *restrict xb = x + b * n_in;
                for (j = tiled; j < n_in; ++j) {
                    gw[j] = decay * gw[j] + g * xb[j];
                }
            }
        }
    }
    for (b = 0; b < count; ++b) { /* the biases, across the rows */
        const rtu_real *restrict dyb = dy + b * n_out;
        for (i = 0; i < n_out; ++i) {
            grad_b[i] = decay * grad_b[i] + dyb[i];
        }
    }
}

/* Columns j .. j + RTU_DENSE_TILE of dx_b = W^T dy_b for two samples at once (the rows' loads
 * shared), each entry's sum over the rows in order from 0. */
static void dx_pair(const rtu_real *restrict w, const rtu_real *restrict dy0,
                    const rtu_real *restrict dy1, size_t n_in, size_t n_out, size_t j,
                    rtu_real *restrict dx0, rtu_real *restrict dx1)
{
    rtu_real a0[RTU_DENSE_TILE], a1[RTU_DENSE_TILE];
    size_t i, t;
    for (t = 0; t < RTU_DENSE_TILE; ++t) {
        a0[t] = 0;
        a1[t] = 0;
    }
    for (i = 0; i < n_out; ++i) {
        const rtu_real g0 = dy0[i], g1 = dy1[i], *restrict wi = w + i * n_in + j;
        for (t = 0; t < RTU_DENSE_TILE; ++t) {
            a0[t] += g0 * wi[t];
            a1[t] += g1 * wi[t];
        }
    }
    memcpy(dx0 + j, a0, sizeof a0);
    memcpy(dx1 + j, a1, sizeof a1);
}

static void dx_batch(const rtu_real *restrict w, const rtu_real *restrict dy, size_t n_in,
                     size_t n_out, size_t count, rtu_real *restrict dx)
{
    size_t i, j, b, tiled = n_in - n_in % RTU_DENSE_TILE;
    for (b = 0; b < count; ++b) {
        const rtu_real *restrict dyb = dy + b * n_out;
        rtu_real *restrict dxb = dx + b * n_in;
        if (b + 1 < count && b % 2 == 0) { /* this sample and the next, tile by tile */
            for (j = 0; j < tiled; j += RTU_DENSE_TILE) {
                dx_pair(w, dyb, dyb + n_out, n_in, n_out, j, dxb, dxb + n_in);
            }
        } else if (b % 2 == 0) { /* the last one alone */
            rtu_zero(dxb, tiled);
            for (i = 0; i < n_out; ++i) {
                const rtu_real g = dyb[i], *restrict wi = w + i * n_in;
                for (j = 0; j < tiled; ++j) {
                    dxb[j] += g * wi[j];
                }
            }
        }
        rtu_zero(dxb + tiled, n_in - tiled);
        for (i = 0; i < n_out; ++i) {
            const rtu_real g = dyb[i], *restrict wi = w + i * n_in;
            for (j = tiled; j < n_in; ++j) {
                dxb[j] += g * wi[j];
            }
        }
    }
}

void rtu_dense_backward_batch(const rtu_real *w, size_t n_in, size_t n_out, size_t count,
                              const rtu_real *x, const rtu_real *dy, rtu_real decay,
                              rtu_real *grad, rtu_real *dx)
{
    grad_rows_batch(x, dy, n_in, n_out, count, decay, grad);
    dx_batch(w, dy, n_in, n_out, count, dx);
}
