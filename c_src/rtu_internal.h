/* Functions shared between the core's files; not part of the public API in rtu.h. */
#ifndef RTU_INTERNAL_H
#define RTU_INTERNAL_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "rtu.h"
#include "rtu_ac.h"
#include "rtu_config.h"

/* tanh in the float build: x P(x^2) / Q(x^2) with P, Q of degree 4, on x clamped to +-9 (where
 * tanh is 1 within float's rounding), the result clamped to [-1, 1]. A least-squares rational fit
 * of its own (c_src/tests/fit_tanh.py derives the coefficients and measures the error over a dense
 * grid of floats). Its largest error is RTU_TANH_MAX_ERROR (about 6 float ulps of 1); it is
 * odd, NaN stays NaN, and it has no branch, so loops over it vectorise. The double build keeps
 * libm's tanh, so that its validation against the reference stays exact. */
#define RTU_TANH_MAX_ERROR 4e-7
static inline float rtu_tanhf(float x)
{
    /* on |x|, clamped, then the sign of x: two selects (and a mask) where clamping x at +-9 and
     * y at +-1 took four; the same bits, as tanh(-x) = -tanh(x) holds exactly in rounding */
    float a = fabsf(x), s, p, q, y;
    a = a > 9.0f ? 9.0f : a;
    s = a * a;
    p = (((1.3469642e-08f * s + 2.0683216e-05f) * s + 0.003499675f) * s + 0.13384312f) * s +
        0.99999994f;
    q = (((7.821058e-07f * s + 0.00032926205f) * s + 0.025892062f) * s + 0.46717617f) * s + 1.0f;
    y = a * p / q;
    y = y > 1.0f ? 1.0f : y;
    return copysignf(y, x);
}

/* The derived cache's transcendentals in double without libm, for the float build's
 * -DRTU_FAST_DERIVED (the native build; rtu_cell.c): exp, expm1, sin and cos from their Taylor
 * polynomials after range reduction (by ln 2 for exp and expm1; by pi / 2 in three parts of 33
 * bits and a fourth for sin and cos), with selects and no branch, so that the loop over units
 * vectorises where libm's calls kept it scalar. Domains, those the cache gives them: exp on
 * [-708, 20] (0 below -708, where libm's is below 2^-1021 and the float cache 0 either way),
 * expm1 on [-1e9, 0.35], sin and cos on [0, RTU_FAST_SINCOS_MAX] (rtu_cell.c calls libm's for
 * phases beyond). Their largest relative error against libm there is RTU_FAST_MAX_ERROR, about
 * 3 ulps (the C test cell/fast_derived_error measures it); rounded to float, the cache differs
 * from libm's by a last bit at most, and rarely. The double build keeps libm. */
#define RTU_FAST_MAX_ERROR 6e-16
#define RTU_FAST_SINCOS_MAX 64.0
/* The float build's default cache where vectors hold 4 doubles (AVX2: the Python extension's
 * AVX2 variant): libm's bits, from a pass with these functions (it vectorises) whose result is
 * kept wherever its rounding to float is certain to be libm's, and libm's calls for the rest
 * (rtu_cell.c's derive_units). With 2 doubles to a vector (SSE2) the pass cost more than libm's
 * calls in scratch timings, so other targets call libm's throughout; so do -ffast-math builds,
 * whose arithmetic the pass's certainty (NaN marks, exact rounding) does not survive. */
#if !defined(RTU_DOUBLE) && !defined(RTU_FAST_DERIVED) && !defined(RTU_DERIVED_FLOAT) &&         \
    defined(__AVX2__) && !defined(__FAST_MATH__) &&                                               \
    !(defined(__FINITE_MATH_ONLY__) && __FINITE_MATH_ONLY__)
#define RTU_CHECKED_DERIVED
#endif
#define RTU_FAST_SHIFT 6755399441055744.0 /* 1.5 2^52: adding it rounds a double to an integer */

/* 2^n for the integer n that RTU_FAST_SHIFT's sum k holds in its low bits, -1022 <= n <= 1023 */
static inline double rtu_fast_pow2(double k)
{
    const double shift = RTU_FAST_SHIFT;
    uint64_t bits, base;
    double scale;
    memcpy(&bits, &k, sizeof bits);
    memcpy(&base, &shift, sizeof base);
    bits = (bits - base + 1023u) << 52;
    memcpy(&scale, &bits, sizeof scale);
    return scale;
}

/* sum of t^i / (i + 1)! for i = 0 .. 12: e^t = 1 + t (that), e^t - 1 = t (that) */
static inline double rtu_fast_exp_series(double t)
{
    return (((((((((((t * (1.0 / 6227020800.0) + 1.0 / 479001600.0) * t + 1.0 / 39916800.0) * t +
                   1.0 / 3628800.0) * t + 1.0 / 362880.0) * t + 1.0 / 40320.0) * t +
                1.0 / 5040.0) * t + 1.0 / 720.0) * t + 1.0 / 120.0) * t + 1.0 / 24.0) * t +
             1.0 / 6.0) * t + 0.5) * t + 1.0;
}

static inline double rtu_exp_fast(double x)
{
    const double shift = RTU_FAST_SHIFT;
    double xc = x < -708.0 ? -708.0 : x;
    double k = xc * 1.4426950408889634 + shift, n = k - shift; /* n = round(x / ln 2) */
    double t = (xc - n * 6.93147180369123816490e-01) - n * 1.90821492927058770002e-10;
    double y = (1.0 + t * rtu_fast_exp_series(t)) * rtu_fast_pow2(k); /* e^t 2^n */
    return x < -708.0 ? 0.0 : y;
}

/* e^x - 1 without cancellation near 0: the series x (1 + x/2 + ...) for |x| < ln 2 / 2, else
 * exp(x) - 1 (then |e^x - 1| > 0.29) */
static inline double rtu_expm1_fast(double x)
{
    double small = x * rtu_fast_exp_series(x);
    double large = rtu_exp_fast(x) - 1.0;
    return fabs(x) < 0.34657359027997264 ? small : large;
}

/* sin and cos of x = q pi/2 + t, |t| <= pi/4: the series of sin t (to t^15) and cos t (to t^16),
 * swapped and signed by q mod 4 */
static inline void rtu_sincos_fast(double x, double *sin_x, double *cos_x)
{
    const double shift = RTU_FAST_SHIFT;
    double k = x * 0.63661977236758134 + shift, q = k - shift; /* q = round(x / (pi / 2)) */
    double t = (((x - q * 1.57079632673412561417) - q * 6.07710050630396597660e-11) -
                q * 2.02226624871116645580e-21) - q * 8.47842766036889956997e-32;
    double u = t * t, s, c;
    uint64_t bits, base, quadrant;
    s = t + t * u * (((((((u * (-1.0 / 1307674368000.0) + 1.0 / 6227020800.0) * u -
                          1.0 / 39916800.0) * u + 1.0 / 362880.0) * u - 1.0 / 5040.0) * u +
                       1.0 / 120.0) * u) - 1.0 / 6.0);
    c = 1.0 + u * (((((((((u * (1.0 / 20922789888000.0) - 1.0 / 87178291200.0) * u +
                           1.0 / 479001600.0) * u - 1.0 / 3628800.0) * u + 1.0 / 40320.0) * u -
                        1.0 / 720.0) * u + 1.0 / 24.0) * u) - 0.5));
    memcpy(&bits, &k, sizeof bits);
    memcpy(&base, &shift, sizeof base);
    quadrant = bits - base; /* q mod 4 in its low bits */
    *sin_x = (quadrant & 1u) ? c : s;
    *cos_x = (quadrant & 1u) ? s : c;
    *sin_x = (quadrant & 2u) ? -*sin_x : *sin_x;
    *cos_x = ((quadrant + 1u) & 2u) ? -*cos_x : *cos_x;
}

/* The same four in float, for -DRTU_DERIVED_FLOAT (FPUs without double, the Cortex-M4F
 * example): exp and expm1 by the series to t^7 / 7!, sin to t^9 / 9!, cos to t^10 / 10!, pi / 2
 * in four parts (the first three of at most 12 bits, so that their multiples are exact). Domains
 * as above but exp on [-87, 20] (0 below, where libm's is within a few float subnormals of 0).
 * Largest relative error against libm in double: RTU_FAST_MAX_ERROR_F, about 4 float ulps (the
 * C test cell/fast_derived_error_float measures it). */
#define RTU_FAST_MAX_ERROR_F 5e-7f
#define RTU_FAST_SHIFT_F 12582912.0f /* 1.5 2^23: adding it rounds a float to an integer */

/* 2^n for the integer n that RTU_FAST_SHIFT_F's sum k holds in its low bits, -126 <= n <= 127 */
static inline float rtu_fast_pow2f(float k)
{
    const float shift = RTU_FAST_SHIFT_F;
    uint32_t bits, base;
    float scale;
    memcpy(&bits, &k, sizeof bits);
    memcpy(&base, &shift, sizeof base);
    bits = (bits - base + 127u) << 23;
    memcpy(&scale, &bits, sizeof scale);
    return scale;
}

/* sum of t^i / (i + 1)! for i = 0 .. 6 */
static inline float rtu_fast_exp_seriesf(float t)
{
    return (((((t * (1.0f / 5040.0f) + 1.0f / 720.0f) * t + 1.0f / 120.0f) * t + 1.0f / 24.0f) *
                 t + 1.0f / 6.0f) * t + 0.5f) * t + 1.0f;
}

static inline float rtu_expf_fast(float x)
{
    const float shift = RTU_FAST_SHIFT_F;
    float xc = x < -87.0f ? -87.0f : x;
    float k = xc * 1.44269504f + shift, n = k - shift; /* n = round(x / ln 2) */
    float t = (xc - n * 0.693145751953125f) - n * 1.42860682e-06f;
    float y = (1.0f + t * rtu_fast_exp_seriesf(t)) * rtu_fast_pow2f(k);
    return x < -87.0f ? 0.0f : y;
}

static inline float rtu_expm1f_fast(float x)
{
    float small = x * rtu_fast_exp_seriesf(x);
    float large = rtu_expf_fast(x) - 1.0f;
    return fabsf(x) < 0.346573591f ? small : large;
}

static inline void rtu_sincosf_fast(float x, float *sin_x, float *cos_x)
{
    const float shift = RTU_FAST_SHIFT_F;
    float k = x * 0.636619772f + shift, q = k - shift; /* q = round(x / (pi / 2)) */
    float t = (((x - q * 1.5703125f) - q * 4.837512969970703125e-4f) - q * 7.549533620476723e-08f) -
              q * 2.56334407e-12f;
    float u = t * t, s, c;
    uint32_t bits, base, quadrant;
    s = t + t * u * ((((u * (1.0f / 362880.0f) - 1.0f / 5040.0f) * u + 1.0f / 120.0f) * u) -
                     1.0f / 6.0f);
    c = 1.0f + u * (((((u * (-1.0f / 3628800.0f) + 1.0f / 40320.0f) * u - 1.0f / 720.0f) * u +
                      1.0f / 24.0f) * u) - 0.5f);
    memcpy(&bits, &k, sizeof bits);
    memcpy(&base, &shift, sizeof base);
    quadrant = bits - base;
    *sin_x = (quadrant & 1u) ? c : s;
    *cos_x = (quadrant & 1u) ? s : c;
    *sin_x = (quadrant & 2u) ? -*sin_x : *sin_x;
    *cos_x = ((quadrant + 1u) & 2u) ? -*cos_x : *cos_x;
}

/* libm in rtu_real's precision (and the float build's tanh above) */
#ifdef RTU_DOUBLE
#define RTU_TANH tanh
#define RTU_EXP exp
#define RTU_LOG log
#define RTU_SQRT sqrt
#define RTU_FABS fabs
#else
#define RTU_TANH rtu_tanhf
#define RTU_EXP expf
#define RTU_LOG logf
#define RTU_SQRT sqrtf
#define RTU_FABS fabsf
#endif

/* a * b + c. With -DRTU_FUSED, fused (one rounding) where the target has a fast FMA (C99's
 * FP_FAST_FMAF for float, FP_FAST_FMA for double: aarch64, x86-64 built with -march=native on an
 * FMA machine); else as written, so that the default builds of x86-64, aarch64 and armhf compute
 * the same bits (a learner trained on a laptop goes on identically on a Raspberry Pi). The cell's
 * O(n d) kernels use it; the rest of the core (rtu_dot included), the PRNG and the
 * initialisation (which must match the reference bit for bit) never fuse. RTU_EDGE_NATIVE=1
 * builds the Python extension with it. */
#if defined(RTU_FUSED) && defined(RTU_DOUBLE) && defined(FP_FAST_FMA)
#define RTU_FMA(a, b, c) fma(a, b, c)
#elif defined(RTU_FUSED) && !defined(RTU_DOUBLE) && defined(FP_FAST_FMAF)
#define RTU_FMA(a, b, c) fmaf(a, b, c)
#else
#define RTU_FMA(a, b, c) ((a) * (b) + (c))
#endif

/* Kernels that rtu_cell.c and rtu_model.c share, static inline so that each file's
 * loops inline and vectorise them. */

/* uc = W_c x and ud = W_d x (n reals each; uc, ud distinct from the rest) for input-major
 * W_c, W_d (w[j n + k] = W[k, j]; rtu.h): per input j, one unit-stride pass over the n units,
 * which compilers vectorise; each sum runs over j in order. The cell's step and peek and
 * rtu_model.c share it, so that an exported model computes what its learner computed. */
static inline void rtu_input_sums(const rtu_real *restrict w_c, const rtu_real *restrict w_d,
                                  const rtu_real *restrict x, size_t n, size_t n_in,
                                  rtu_real *restrict uc, rtu_real *restrict ud)
{
    size_t j, k;
    for (k = 0; k < n; ++k) {
        uc[k] = 0;
        ud[k] = 0;
    }
    for (j = 0; j < n_in; ++j) {
        const rtu_real *restrict wc = w_c + j * n, *restrict wd = w_d + j * n;
        rtu_real xj = x[j];
        for (k = 0; k < n; ++k) {
            uc[k] = RTU_FMA(wc[k], xj, uc[k]);
            ud[k] = RTU_FMA(wd[k], xj, ud[k]);
        }
    }
}

/* Reductions over long arrays (a learner's traces, dense rows) keep RTU_LANES partial sums, one
 * per lane of a wide vector, added pairwise at the end (rtu_lanes_total): compilers vectorise
 * them, where one running sum is a chain of dependent scalar additions, and the order of the
 * additions is fixed, so every target and compiler gives the same bits. -DRTU_LANES=1 keeps one
 * running sum instead, for FPUs without vectors (the Cortex-M4F example), where 16 partial sums
 * only cost loads and stores; such a build computes other bits than the default one. */
#ifndef RTU_LANES
#define RTU_LANES 16
#endif
#if RTU_LANES != 16 && RTU_LANES != 1
#error "RTU_LANES must be 16 (the default) or 1 (one running sum)"
#endif
static inline rtu_real rtu_lanes_total(const rtu_real *acc)
{
#if RTU_LANES == 16
    rtu_real b[8], c[4];
    size_t l;
    for (l = 0; l < 8; ++l) {
        b[l] = acc[l] + acc[l + 8];
    }
    for (l = 0; l < 4; ++l) { /* c[l] = b[l] + b[l + 4]: halves added, so that it vectorises */
        c[l] = b[l] + b[l + 4];
    }
    return (c[0] + c[2]) + (c[1] + c[3]); /* ((b0 + b4) + (b2 + b6)) + ((b1 + b5) + (b3 + b7)) */
#else
    return acc[0];
#endif
}

/* rtu_lanes_total with first in the place of acc[0]: the tree of a dot whose tail the caller added
 * to lane 0 in a scalar of its own (rtu_dense.c). Writing the tail into acc[0] itself made gcc
 * keep acc in memory and reload it as vectors just after the scalar stores, which the CPU
 * cannot forward (a 4-row dot of 21 inputs took 1.4-1.8x as long, in a scratch timing). */
static inline rtu_real rtu_lanes_total_first(const rtu_real *acc, rtu_real first)
{
#if RTU_LANES == 16
    rtu_real b[8], c[4];
    size_t l;
    for (l = 0; l < 8; ++l) {
        b[l] = acc[l] + acc[l + 8];
    }
    for (l = 0; l < 4; ++l) {
        c[l] = b[l] + b[l + 4];
    }
    c[0] = (first + acc[8]) + b[4];
    return (c[0] + c[2]) + (c[1] + c[3]);
#else
    (void)acc;
    return first;
#endif
}

/* -1, 0 or 1 as v is negative, zero or positive (NaN: 0): the actor's entropy sign and the
 * previous reward's sign as an input (rtu_ac.c, rtu_model.c). */
static inline rtu_real rtu_sign(rtu_real v)
{
    return v > 0 ? (rtu_real)1 : (v < 0 ? (rtu_real)-1 : (rtu_real)0);
}

/* A flag of a shape or model: 0 or 1. */
static inline int rtu_is_flag(int v)
{
    return v == 0 || v == 1;
}

/* A previous-reward input of a shape or model: one of rtu_reward_input (rtu_config.h). */
static inline int rtu_is_reward_input(int v)
{
    return v >= (int)RTU_REWARD_NONE && v <= (int)RTU_REWARD_GATED_SIGN;
}

/* sum of |v[i]| over count reals, in RTU_LANES partial sums (the tail into the first). */
static inline rtu_real rtu_sum_abs(const rtu_real *restrict v, size_t count)
{
    rtu_real acc[RTU_LANES] = {0};
    size_t i = 0, l;
    for (; i + RTU_LANES <= count; i += RTU_LANES) {
        for (l = 0; l < RTU_LANES; ++l) {
            acc[l] += RTU_FABS(v[i + l]);
        }
    }
    for (; i < count; ++i) {
        acc[0] += RTU_FABS(v[i]);
    }
    return rtu_lanes_total(acc);
}

/* a . x in RTU_LANES partial sums (the tail into the first), as rtu_sum_abs; below RTU_LANES
 * entries, the one running sum that is. Never fused, in any build: gcc 12 leaves a dot of fmaf
 * lanes scalar once it is inlined into a loop over rows (a dense layer's), where the unfused
 * lanes vectorise; rtu_dense.c's batched rows (lane_rows) add as it does. */
static inline rtu_real rtu_dot(const rtu_real *restrict a, const rtu_real *restrict x, size_t count)
{
    rtu_real acc[RTU_LANES] = {0};
    size_t i = 0, l;
    if (count < RTU_LANES) {
        rtu_real s = 0;
        for (; i < count; ++i) {
            s += a[i] * x[i];
        }
        return s;
    }
    for (; i + RTU_LANES <= count; i += RTU_LANES) {
        for (l = 0; l < RTU_LANES; ++l) {
            acc[l] += a[i + l] * x[i + l];
        }
    }
    for (; i < count; ++i) {
        acc[0] += a[i] * x[i];
    }
    return rtu_lanes_total(acc);
}

/* out = f(v) for count reals (out and v distinct). */
void rtu_activate_into(rtu_activation act, const rtu_real *restrict v, rtu_real *restrict out,
                       size_t count);

/* Whether kind is one of rtu_kind's values. */
static inline int rtu_kind_ok(rtu_kind kind)
{
    return kind == RTU_KIND_LINEAR || kind == RTU_KIND_NONLINEAR || kind == RTU_KIND_LRU;
}

/* The LRU's readout (rtu.h): h[i] = f((c_re[i] . c - c_im[i] . d) + d_skip[i] . x) for each of
 * the 2n rows i; c, d have n reals, x n_in. The cell's step and peek and rtu_model.c share it. */
void rtu_lru_readout(const rtu_real *c_re, const rtu_real *c_im, const rtu_real *d_skip,
                     size_t n, size_t n_in, rtu_activation act, const rtu_real *c,
                     const rtu_real *d, const rtu_real *x, rtu_real *h);

/* Whether a buffer of count reals (a count computed in double, exact below 2^53) has a byte size
 * that a size_t holds, with room for a learner's and a checkpoint's further bytes: false on 32-bit
 * targets for the largest n_in x n_hidden that RTU_MAX_DIM allows. */
static inline int rtu_reals_fit(double count)
{
    return count * (double)sizeof(rtu_real) <= (double)(SIZE_MAX / 4u);
}

/* RTU_OK if a sequence of steps rows of width reals each can lie in memory (the _run calls
 * check all of it before the first step); RTU_ERR_SIZE where steps * width reals would be
 * beyond size_t's bytes, so that no product of the two wraps round. */
static inline rtu_status rtu_sequence_fits(size_t steps, size_t width)
{
    return width != 0 && steps > SIZE_MAX / sizeof(rtu_real) / width ? RTU_ERR_SIZE : RTU_OK;
}

/* *bytes = count * one, the buffer of a batch of count learners of one bytes each (rtu_ac.h,
 * rtu_td.h): RTU_ERR_SIZE for count 0, above RTU_MAX_BATCH, or a product beyond size_t. */
static inline rtu_status rtu_batch_bytes(size_t one, size_t count, size_t *bytes)
{
    if (count == 0 || count > RTU_MAX_BATCH || one > (size_t)-1 / count) {
        return RTU_ERR_SIZE;
    }
    *bytes = one * count;
    return RTU_OK;
}

/* v[0..count) = 0. */
void rtu_zero(rtu_real *v, size_t count);

/* Whether every one of count reals is finite. */
int rtu_all_finite(const rtu_real *v, size_t count);

/* Whether every one of count reals lies within +-limit (false for NaN and Inf). */
int rtu_all_within(const rtu_real *v, size_t count, rtu_real limit);

/* RTU_OK, RTU_ERR_NONFINITE_INPUT or RTU_ERR_INPUT_RANGE for an input array. */
rtu_status rtu_check_input(const rtu_real *v, size_t count);

/* grad = keep grad + dL/dparams from dh, without checking dh: keep 0 assigns (grad's old content
 * is not read), 1 accumulates, a learner's gamma lambda decays an eligibility trace in the same
 * pass. */
void rtu_cell_gradient_into(const rtu_cell *cell, const rtu_real *dh, rtu_real *grad,
                            rtu_real keep);

/* The one-step sensitivity of the cell's input (rtu-spec.md section 6): de = dL/dx at the current
 * step with the state and traces of the previous step held fixed, from dh = dL/dh (2n reals):
 *   de[j] = sum_k eta_k (delta_c_k W_c[k,j] + delta_d_k W_d[k,j])  (+ (d_skip^T dy)[j], LRU)
 * delta_c, delta_d = dL/dc_t, dL/dd_t (linear: f'(c) dL/dh, f' read off h; LRU: c_re^T dy,
 * -c_im^T dy with dy = f'(y) dL/dh) and, for the nonlinear kind, times f'(a_k), f'(b_k) (read
 * off c, d). de has n_in reals (overwritten). It uses the cell's scratch. */
void rtu_cell_input_gradient(const rtu_cell *cell, const rtu_real *dh, rtu_real *de);

/* The features h (2n reals) that a step on x would give, at the current parameters, without
 * changing the state or the traces (x already checked); from the zero state when from_zero (the
 * memoryless baseline, whose state is zeroed before every step). It uses the cell's scratch. */
void rtu_cell_peek(const rtu_cell *cell, const rtu_real *x, int from_zero, rtu_real *h);

/* a' = g c - phi d + eta a and b' = g d + phi c + eta b in place for n units (c = d = 0 with
 * from_zero): the state a step from (c, d) on the input sums (a, b) reaches, before any
 * activation (rtu_cell_peek; rtu_model.c's nonlinear step). restrict and the one pass let
 * compilers vectorise it. */
static inline void rtu_recur_into(size_t n, const rtu_real *restrict g,
                                  const rtu_real *restrict phi, const rtu_real *restrict eta,
                                  const rtu_real *restrict c, const rtu_real *restrict d,
                                  int from_zero, rtu_real *restrict a, rtu_real *restrict b)
{
    size_t k;
    for (k = 0; k < n; ++k) {
        rtu_real c0 = from_zero ? (rtu_real)0 : c[k];
        rtu_real d0 = from_zero ? (rtu_real)0 : d[k];
        rtu_real ak = g[k] * c0 - phi[k] * d0 + eta[k] * a[k];
        b[k] = g[k] * d0 + phi[k] * c0 + eta[k] * b[k];
        a[k] = ak;
    }
}

/* Dense layers and parameter-free LayerNorm (rtu_dense.c; reference/net.py). A Dense layer's
 * parameters are W (n_out x n_in, row-major) then b (n_out). */
#define RTU_LN_EPS 1e-5         /* LN(y) = (y - mean) / sqrt(var + RTU_LN_EPS), biased variance */
#define RTU_LRELU_SLOPE 0.01    /* lrelu(y) = y for y > 0, else RTU_LRELU_SLOPE y */

/* y = W x + b. */
void rtu_dense_forward(const rtu_real *w, const rtu_real *x, size_t n_in, size_t n_out,
                       rtu_real *y);

/* On entry y_hat holds y (count reals); on return y_hat = LN(y) and out = lrelu(y_hat). Returns
 * 1 / sqrt(var(y) + RTU_LN_EPS). */
rtu_real rtu_ln_lrelu(rtu_real *restrict y_hat, rtu_real *restrict out, size_t count);

/* Back through lrelu and LN, in place: on entry d = dL/dout, on return d = dL/dy, from the
 * forward's y_hat and inv_std:
 *   g = d * lrelu'(y_hat)   (1 where y_hat > 0, else RTU_LRELU_SLOPE)
 *   dL/dy = inv_std (g - mean(g) - y_hat mean(g y_hat)) */
void rtu_ln_lrelu_backward(const rtu_real *y_hat, rtu_real inv_std, rtu_real *d, size_t count);

/* grad (W then b, n_out (n_in + 1) reals) = decay grad + [dy x^T, dy] (an eligibility trace's
 * decay and gradient in one pass); dx = W^T dy (n_in reals, overwritten) unless dx is NULL. */
void rtu_dense_backward(const rtu_real *w, const rtu_real *x, const rtu_real *dy, size_t n_in,
                        size_t n_out, rtu_real decay, rtu_real *grad, rtu_real *dx);

/* Batches of count samples through one Dense layer, each sample getting exactly the bits the
 * one-sample kernels above give it alone. */
#define RTU_DENSE_BLOCK 16u    /* samples of a block (the unit-stride inner loop) */
#define RTU_DENSE_ROWS 4u      /* rows of a block */
#define RTU_DENSE_PARTIALS 1024u /* 16 lanes x RTU_DENSE_ROWS x RTU_DENSE_BLOCK partial sums */

/* y_b = W x_b + b, as rtu_dense_forward, for the count rows x_b of x (stride x_stride) into the
 * rows of y (stride y_stride): rtu_dot's 16 partial sums, its tail and its tree in its order
 * (below 16 inputs, or in a build with one running sum, that sum). Whole blocks of RTU_DENSE_ROWS
 * rows by RTU_DENSE_BLOCK samples go lane by lane on xt (scratch: the inputs transposed,
 * n_in x count) into p (scratch: RTU_DENSE_PARTIALS reals); the other rows and samples go a sample
 * at a time. */
void rtu_dense_forward_batch(const rtu_real *w, size_t n_in, size_t n_out, size_t count,
                             const rtu_real *x, size_t x_stride, rtu_real *y, size_t y_stride,
                             rtu_real *restrict xt, rtu_real *restrict p);

/* rtu_dense_backward of the count samples in order, each with its row x_b of x (n_in reals
 * each), dy_b of dy (n_out each) and dx_b of dx (n_in each, overwritten): grad receives every
 * sample's decay and gradient in that order, so each entry the same bits as count calls give it
 * (without contraction: the decay 1 is left out, a multiplication that changes no value), while
 * a row of grad goes by once for all the samples and a row of W once for every two. */
void rtu_dense_backward_batch(const rtu_real *w, size_t n_in, size_t n_out, size_t count,
                              const rtu_real *x, const rtu_real *dy, rtu_real decay,
                              rtu_real *grad, rtu_real *dx);

/* softplus(y) = log(1 + exp(y)) without overflow: log1p(exp(-|y|)) + max(y, 0). */
static inline rtu_real rtu_softplus(rtu_real y)
{
#ifdef RTU_DOUBLE
    return log1p(exp(-fabs(y))) + (y > 0 ? y : 0.0);
#else
    return log1pf(expf(-fabsf(y))) + (y > 0 ? y : 0.0f);
#endif
}

/* The continuous actor's std from its pre-activation (rtu_ac.c, rtu_model.c):
 * min(std_min + softplus(pre), std_max); *at_max (may be NULL) receives whether the bound holds
 * it (where d std / d pre is 0; below it, sigmoid(pre)). */
static inline rtu_real rtu_bounded_std(rtu_real pre, rtu_real std_min, rtu_real std_max,
                                       int *at_max)
{
    rtu_real std = std_min + rtu_softplus(pre);
    if (at_max != NULL) {
        *at_max = std >= std_max;
    }
    return std < std_max ? std : std_max;
}

/* A head of the streaming network on the features h (n_in reals): with a hidden layer
 * (n_head > 0), q_hat = LN(W_1 h + b_1), q = lrelu(q_hat) (n_head each) and out = W_2 q + b_2;
 * without, out = W_2 h + b_2 (hidden and q_hat, q unused). hidden is [W_1, b_1], out_w
 * [W_2, b_2]; out has n_out reals. Returns the hidden LN's inverse std (0 without it). */
rtu_real rtu_head_forward(const rtu_real *hidden, const rtu_real *out_w, size_t n_in,
                          size_t n_head, size_t n_out, const rtu_real *h, rtu_real *q_hat,
                          rtu_real *q, rtu_real *out);

/* Sparse initialisation (stream-x): each row keeps K = ceil((1 - sparsity) n_in - 1e-4) weights
 * (at least 1; the 1e-4 keeps a float sparsity's rounding from adding one), chosen by selection
 * sampling, the rest zero; b = 0. Row by row, column j in order: u = uniform; j is kept when
 * u (n_in - j) < the number still to keep; a kept weight then draws
 * w = (2 uniform - 1) * (1 / sqrt(n_in)); a uniform is drawn for every column. All in double
 * from rng. */
void rtu_dense_init(rtu_real *w, size_t n_in, size_t n_out, rtu_real sparsity, rtu_prng *rng);

/* Point the cell's state and RTRL traces (its context: RTU_CELL_STATE + RTU_CELL_TRACES reals,
 * c, d, h, [x], then the traces, as rtu_cell_init lays them out in its buffer) at p, which the
 * caller keeps for as long as the cell reads it (rtu_ppo.c steps stored contexts in place). */
void rtu_cell_place_context(rtu_cell *cell, rtu_real *p);

/* Wrap each phase theta = exp(theta_log) >= 3 pi into [pi, 3 pi) by whole turns, which leaves the
 * cell's function unchanged (lambda depends on theta through cos and sin only). Derivatives with
 * respect to the new theta_log are ratio = theta' / theta times the old ones: the cell's theta
 * traces are rescaled here, and ratio[k] (n reals, 1 where nothing wrapped) is for the caller's
 * eligibility traces. Call after changing params and before rtu_cell_refresh. Without it, exact
 * theta_log gradients (which carry a factor theta) can drive theta up without bound. */
void rtu_cell_wrap_phases(rtu_cell *cell, rtu_real *ratio);

/* Hold each nu_log within +-RTU_LOG_PARAM_LIMIT and each theta_log above -RTU_LOG_PARAM_LIMIT
 * (above, the phase wrap holds it) after a learning step: there r = exp(-exp(nu_log)) is 0 or
 * within 2e-9 of 1, and theta within 2e-9 of 0, where the gradients of nu_log and theta_log (which
 * carry a factor nu, theta) have vanished, so a learner stays there instead of stepping past the
 * bound that rtu_cell_refresh and the checkpoints refuse. NaN and Inf are left as they are (the
 * refresh refuses them). Call after rtu_cell_wrap_phases. */
void rtu_cell_hold_logs(rtu_cell *cell);

/* rtu_cell_refresh for a caller that has found every parameter of the cell finite (within
 * RTU_VALUE_LIMIT): only the log-parameters' range is checked (RTU_ERR_PARAM_RANGE). */
rtu_status rtu_cell_refresh_bounded(rtu_cell *cell);

/* The learners' optimiser (rtu_obgd.c), after stream-x's ObGD: the update tail that TD(lambda)
 * and the actor-critic share. A trace z has its network's parameter layout: the trunk's
 * parameters (an input layer's, if any, then the cell's), then the head's. */
typedef struct {
    rtu_real *z;          /* the eligibility trace, n_trunk + n_head reals */
    rtu_real *trunk;      /* the trunk's parameters, n_trunk reals, ending with the cell's params */
    size_t n_trunk;
    rtu_cell *cell;       /* the trunk's cell (traces may share one) */
    rtu_real *head;       /* the head's parameters, n_head reals */
    size_t n_head;
    rtu_real kappa;       /* ObGD bound of this trace (unused by SGD) */
    rtu_real phase_scale; /* the cell's theta_log entries step by phase_scale a, the rest by a
                             (the actor-critic's config.phase_step_scale; TD's 1) */
    rtu_real z_norm1;     /* |z|_1 that bounds the step; receives the new |z|_1 when grad is set */
    const rtu_real *grad; /* NULL: z steps as it is (AC); else TD's order: right after the step, in
                             the same pass, z = decay z + grad */
    rtu_real decay;
    int trunk_ok;         /* set by the step: every trunk parameter is within RTU_VALUE_LIMIT */
    int head_ok;          /* the same for the head's */
} rtu_obgd_trace;

/* alpha_eff * delta: alpha delta (SGD, obgd == 0), or ObGD's overshooting bound
 * alpha / max(alpha kappa max(|delta|, 1) z_norm1, 1) * delta. */
rtu_real rtu_obgd_step_size(int obgd, rtu_real alpha, rtu_real kappa, rtu_real delta,
                            rtu_real z_norm1);

/* params += a z over the trunk's part and the head's, the cell's theta_log by phase_scale a,
 * then the trace's advance if it has a grad (z = decay z + grad, z_norm1 = |z|_1); trunk_ok and
 * head_ok from the same passes. a = 0 is TD's first step: no TD error yet. */
void rtu_obgd_step_trace(rtu_obgd_trace *trace, rtu_real a);

/* The update of both learners, in this order: for each trace in turn, its step size
 * (rtu_obgd_step_size with its kappa and z_norm1) and rtu_obgd_step_trace, a shared trunk taking
 * every step of the traces over it; then for each distinct cell (in trace order):
 * rtu_cell_wrap_phases, its ratios into ratio (n_hidden reals; may be a trace's grad, which is
 * consumed by then), the theta_log entries of every trace over that cell rescaled by them,
 * rtu_cell_hold_logs and rtu_cell_refresh_bounded. RTU_ERR_DIVERGED if a trunk's or a head's
 * parameter is non-finite or beyond RTU_VALUE_LIMIT after the last step over it (trunk_ok,
 * head_ok: one check, in the pass that writes them) or a refresh refuses a log-parameter, else
 * RTU_OK. */
rtu_status rtu_obgd_update(int obgd, rtu_real alpha, rtu_real delta, rtu_obgd_trace *traces,
                           size_t count, rtu_real *ratio);

/* The actor-critic's forward activations (each trunk's e_hat, e, e_inv_std from ac->x; each
 * head's q_hat, q, q_inv_std, out from its trunk's cell.h) recomputed exactly as the forward that
 * fed x computed them, without stepping the cells: for rtu_ac_load, which stores x, the
 * parameters and the cells' states but not the activations (rtu_ac.c). */
void rtu_ac_refresh_forward(rtu_ac *ac);

/* The actor-critic's pieces that PPO (rtu_ppo.c) runs in its own order, on a network it trains
 * by other means (rtu_ac.c; the order act and learn run them in is at the top of rtu_ac.h). */
/* Every network forward on ac->x (the cells step; memoryless: from the zero state). */
rtu_status rtu_ac_forward(rtu_ac *ac);
/* ac->pi from the actor's outputs: log-softmax (discrete), or means then bounded stds. */
void rtu_ac_policy_forward(rtu_ac *ac);
/* ac->action ~ pi (after rtu_ac_policy_forward), from the learner's PRNG: an index by the inverse
 * CDF (discrete), or mu + std N(0, 1) per dimension (continuous). */
void rtu_ac_sample_action(rtu_ac *ac);
/* into[0..n_obs) = obs normalised after adding it to the running statistics (obs itself when
 * normalize_obs is off); the statistics keep it. */
void rtu_ac_normalize_obs(rtu_ac *ac, const rtu_real *obs, rtu_real *into);
/* into[0..n_obs) = obs normalised as rtu_ac_normalize_obs would, the statistics unchanged. */
void rtu_ac_normalized_obs(const rtu_ac *ac, const rtu_real *obs, rtu_real *into);
/* Reward scaling: the return trace u added to its running statistics; returns sqrt(var + eps),
 * the divisor of the reward. */
rtu_real rtu_ac_return_scale(rtu_ac *ac, rtu_real u);
/* x[n_obs..n_x) = the extras after ac->action and reward (the previous action, the previous
 * reward normalised, its sign or its sign centred; the reward statistics take reward when
 * normalised, its sign when centred): x_{t+1}'s tail. */
void rtu_ac_write_extras(rtu_ac *ac, rtu_real reward, rtu_real *x);
/* v of the critic on ac->x_next without changing any state or trace (the peek scratch). */
rtu_real rtu_ac_peek_value(rtu_ac *ac);
/* dL/dout of the actor for L = logp_scale log pi(a|s) + entropy_scale H(pi(.|s)), a = ac->action,
 * at the pi of the latest policy forward, into d_out (o reals). */
void rtu_ac_policy_gradient(const rtu_ac *ac, rtu_real logp_scale, rtu_real entropy_scale,
                            rtu_real *d_out);
/* z (network r's parameter layout; 0 critic, 1 actor) = decay z + grad of the scalar whose
 * dL/dout is d_out (consumed), at the activations of the step the networks hold: the head by
 * backprop, the RTU by RTRL, the input layer by the one-step sensitivity; each part of z decays
 * in the pass that adds its gradient (decay 1: z accumulates). Uses ac->grad past o reals. */
void rtu_ac_backward(rtu_ac *ac, size_t r, rtu_real *d_out, rtu_real decay, rtu_real *z);
/* The parts of rtu_ac_forward and rtu_ac_backward that PPO's update (rtu_ppo.c) runs over a chunk
 * of samples in its own order; inline, so that the learner's own code (rtu_ac.c) is what it was
 * without them, on every target (the Cortex-M example links no other caller).
 *
 * rtu_ac_trunks_forward: rtu_ac_forward's first part, each trunk's input layer and cell step
 * (memoryless: from the zero state), the heads not run. */
static inline rtu_status rtu_ac_trunks_forward(rtu_ac *ac)
{
    size_t r;
    rtu_status status;
    for (r = 0; r < (ac->shape.shared ? 1u : 2u); ++r) {
        rtu_ac_trunk *t = &ac->trunk[r];
        if (ac->shape.memoryless) {
            rtu_cell_reset(&t->cell);
        }
        if (t->n_embed) {
            rtu_dense_forward(t->embed, ac->x, t->n_x, t->n_embed, t->e_hat);
            t->e_inv_std = rtu_ln_lrelu(t->e_hat, t->e, t->n_embed);
        }
        status = rtu_cell_step(&t->cell, t->n_embed ? t->e : ac->x, NULL);
        if (status != RTU_OK) {
            return status;
        }
    }
    return RTU_OK;
}

/* rtu_ac_backward's parts, in its order: rtu_ac_head_top_backward, the head's hidden layer
 * (rtu_dense_backward on the features h into d_h; none without a hidden layer),
 * rtu_ac_trunk_backward.
 * rtu_ac_head_top_backward: head hd's out layer (z_head: the head's part of z, its out layer's
 * part = decay z + its gradient, from d_out) and its hidden layer's LN, at the activations given
 * (h: the trunk's features, 2n = n2 reals; q_hat, q, q_inv_std: the hidden layer's, unused
 * without one), into d: dL/d(W_1 h + b_1) (k reals), or without a hidden layer dL/dh (2n). */
static inline void rtu_ac_head_top_backward(const rtu_ac_head *hd, size_t n2, const rtu_real *h,
                                            const rtu_real *q_hat, const rtu_real *q,
                                            rtu_real q_inv_std, const rtu_real *d_out,
                                            rtu_real decay, rtu_real *z_head, rtu_real *d)
{
    size_t k = hd->n_head;
    if (k) {
        rtu_dense_backward(hd->params + k * (n2 + 1), q, d_out, k, hd->n_out, decay,
                           z_head + k * (n2 + 1), d);
        rtu_ln_lrelu_backward(q_hat, q_inv_std, d, k);
    } else {
        rtu_dense_backward(hd->params, h, d_out, n2, hd->n_out, decay, z_head, d);
    }
}

/* rtu_ac_trunk_backward: trunk t's cell by RTRL and input layer by the one-step sensitivity
 * (z: the network's parameters from its trunk's; z's trunk part = decay z + their gradient) from
 * dL/dh = d_h, at the cell's state, the trunk's activations and ac->x as they are; d_e: scratch of
 * the input layer's width. */
static inline void rtu_ac_trunk_backward(const rtu_ac *ac, const rtu_ac_trunk *t,
                                         const rtu_real *d_h, rtu_real decay, rtu_real *z,
                                         rtu_real *d_e)
{
    size_t m = t->n_embed;
    rtu_cell_gradient_into(&t->cell, d_h, z + (t->n_params - t->cell.n_params), decay);
    if (m) {
        rtu_cell_input_gradient(&t->cell, d_h, d_e);
        rtu_ln_lrelu_backward(t->e_hat, t->e_inv_std, d_e, m);
        rtu_dense_backward(t->embed, ac->x, d_e, ac->n_x, m, decay, z, NULL);
    }
}

/* Whether a hyperparameter obeys its rule (rtu_config.h): finite, and in [0, 1], (0, inf) or
 * [0, inf). */
static inline int rtu_rule_ok(rtu_real v, rtu_rule rule)
{
    if (!isfinite(v)) {
        return 0;
    }
    if (rule == RTU_RULE_UNIT) {
        return v >= 0 && v <= 1;
    }
    return rule == RTU_RULE_POSITIVE ? v > 0 : v >= 0;
}

/* The bodies of rtu_td_default_config / rtu_ac_default_config and rtu_td_check_config /
 * rtu_ac_check_config, applied to each entry of a list of rtu_config.h. They name the locals of
 * those functions: the config c (a struct in the defaults, a pointer in the checks) and bad, the
 * first faulty field's name or NULL. */
#define RTU_CONFIG_SET_REAL(name, value, rule, obgd_only) c.name = (rtu_real)(value);
#define RTU_CONFIG_SET_FLAG(name, value) c.name = (value);
#define RTU_CONFIG_CHECK_REAL(name, value, rule, obgd_only)                                        \
    if (bad == NULL && (!(obgd_only) || c->optimizer == RTU_OPT_OBGD) &&                   \
        !rtu_rule_ok(c->name, rule)) {                                                             \
        bad = #name;                                                                               \
    }

/* RTU_OK if bad is NULL, else RTU_ERR_CONFIG with *what = bad (what may be NULL). */
rtu_status rtu_config_verdict(const char *bad, const char **what);

#endif /* RTU_INTERNAL_H */
