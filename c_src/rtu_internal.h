/* Functions shared between the core's files; not part of the public API in rtu.h. */
#ifndef RTU_INTERNAL_H
#define RTU_INTERNAL_H

#include <math.h>

#include "rtu.h"

#ifdef RTU_DOUBLE
#define RTU_TANH tanh
#else
#define RTU_TANH tanhf
#endif

/* Kernels that rtu_cell.c and rtu_model.c share; rtu_dot is static inline so that each file's
 * loops inline and vectorise it. */

/* a . x with four partial sums, which compilers turn into one vector multiply-add per four
 * elements (a single running sum is a chain of dependent scalar additions). */
static inline rtu_real rtu_dot(const rtu_real *restrict a, const rtu_real *restrict x, size_t count)
{
    rtu_real s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t j = 0;
    for (; j + 4 <= count; j += 4) {
        s0 += a[j] * x[j];
        s1 += a[j + 1] * x[j + 1];
        s2 += a[j + 2] * x[j + 2];
        s3 += a[j + 3] * x[j + 3];
    }
    for (; j < count; ++j) {
        s0 += a[j] * x[j];
    }
    return (s0 + s1) + (s2 + s3);
}

/* out = f(v) for count reals (out and v distinct). */
void rtu_activate_into(rtu_activation act, const rtu_real *restrict v, rtu_real *restrict out,
                       size_t count);

/* Whether a buffer of count reals (a count computed in double, exact below 2^53) has a byte size
 * that a size_t holds, with room for a learner's and a checkpoint's further bytes: false on 32-bit
 * targets for the largest n_in x n_hidden that RTU_MAX_DIM allows. */
static inline int rtu_reals_fit(double count)
{
    return count * (double)sizeof(rtu_real) <= (double)(SIZE_MAX / 4u);
}

/* v[0..count) = 0. */
void rtu_zero(rtu_real *v, size_t count);

/* Whether every one of count reals is finite. */
int rtu_all_finite(const rtu_real *v, size_t count);

/* RTU_OK, RTU_ERR_NONFINITE_INPUT or RTU_ERR_INPUT_RANGE for an input array. */
rtu_status rtu_check_input(const rtu_real *v, size_t count);

/* grad = dL/dparams (accumulate == 0) or grad += dL/dparams, from dh, without checking dh. */
void rtu_cell_gradient_into(const rtu_cell *cell, const rtu_real *dh, rtu_real *grad,
                            int accumulate);

/* w . h' + b for the features h' that a step on x would give, at the current parameters, without
 * changing the state or the traces (x already checked). w has 2n reals. */
rtu_real rtu_cell_peek_value(const rtu_cell *cell, const rtu_real *x, const rtu_real *w,
                             rtu_real b);

/* Wrap each phase theta = exp(theta_log) >= 3 pi into [pi, 3 pi) by whole turns, which leaves the
 * cell's function unchanged (lambda depends on theta through cos and sin only). Derivatives with
 * respect to the new theta_log are ratio = theta' / theta times the old ones: the cell's theta
 * traces are rescaled here, and ratio[k] (n reals, 1 where nothing wrapped) is for the caller's
 * eligibility traces. Call after changing params and before rtu_cell_refresh. Without it, exact
 * theta_log gradients (which carry a factor theta) can drive theta up without bound. */
void rtu_cell_wrap_phases(rtu_cell *cell, rtu_real *ratio);


#endif /* RTU_INTERNAL_H */
