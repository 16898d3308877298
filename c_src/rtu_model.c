/*
 * Inference from constant weights (rtu_model.h): the forward pass of rtu_cell.c without traces.
 * rtu_edge/export/model.py (InferenceModel.step_reference) is the same step in numpy.
 */
#include <math.h>

#include "rtu_model.h"
#include "rtu_internal.h"

rtu_status rtu_model_check(const rtu_model *m)
{
    size_t k, n, nd;
    if (m == NULL || m->w_c == NULL || m->w_d == NULL || m->g == NULL || m->phi == NULL ||
        m->eta == NULL || m->head_w == NULL || m->head_b == NULL) {
        return RTU_ERR_NULL;
    }
    if ((m->obs_mean == NULL) != (m->obs_inv_std == NULL)) {
        return RTU_ERR_NULL;
    }
    if (m->kind != RTU_KIND_LINEAR && m->kind != RTU_KIND_NONLINEAR) {
        return RTU_ERR_KIND;
    }
    if (m->activation != RTU_ACT_RELU && m->activation != RTU_ACT_TANH &&
        m->activation != RTU_ACT_IDENTITY) {
        return RTU_ERR_ACTIVATION;
    }
    if (m->n_in == 0 || m->n_in > RTU_MAX_DIM || m->n_hidden == 0 ||
        m->n_hidden > RTU_MAX_DIM || m->n_out == 0 || m->n_out > RTU_MAX_DIM) {
        return RTU_ERR_SIZE;
    }
    n = m->n_hidden;
    nd = n * m->n_in;
    if (!rtu_all_finite(m->w_c, nd) || !rtu_all_finite(m->w_d, nd) ||
        !rtu_all_finite(m->g, n) || !rtu_all_finite(m->phi, n) || !rtu_all_finite(m->eta, n) ||
        !rtu_all_finite(m->head_w, 2 * n * m->n_out) || !rtu_all_finite(m->head_b, m->n_out)) {
        return RTU_ERR_NONFINITE_PARAM;
    }
    if (m->obs_mean != NULL &&
        (!rtu_all_finite(m->obs_mean, m->n_in) || !rtu_all_finite(m->obs_inv_std, m->n_in))) {
        return RTU_ERR_NONFINITE_PARAM;
    }
    for (k = 0; k < n; ++k) {
        /* |lambda| = r < 1 and eta = sqrt(1 - r^2) in (0, 1] */
        if (!(m->g[k] * m->g[k] + m->phi[k] * m->phi[k] < 1) || !(m->eta[k] > 0) ||
            !(m->eta[k] <= 1)) {
            return RTU_ERR_PARAM_RANGE;
        }
    }
    return RTU_OK;
}

void rtu_model_reset(const rtu_model *m, rtu_real *state)
{
    rtu_zero(state, RTU_MODEL_STATE_REALS(m->n_hidden));
}

/* The step without input checks: work = [x (n_in); h (2n)]. The caller's arrays are distinct. */
static rtu_status model_step(const rtu_model *m, rtu_real *state, const rtu_real *obs,
                             rtu_real *work, rtu_real *out)
{
    size_t j, k, o, n = m->n_hidden, d_in = m->n_in;
    rtu_real *h = work + d_in, *c = state, *d = state + n, *pre;
    const rtu_real *x = obs;
    int finite = 1;
    if (m->obs_mean != NULL) {
        for (j = 0; j < d_in; ++j) {
            work[j] = (obs[j] - m->obs_mean[j]) * m->obs_inv_std[j];
        }
        x = work;
    }
    /* (a; b) go where f is applied from: the state (linear kind: it keeps them) or h
     * (nonlinear kind: the state keeps f(a; b), which are also its features) */
    pre = m->kind == RTU_KIND_LINEAR ? state : h;
    for (k = 0; k < n; ++k) {
        rtu_real g = m->g[k], phi = m->phi[k], eta = m->eta[k], c0 = c[k], d0 = d[k];
        pre[k] = g * c0 - phi * d0 + eta * rtu_dot(m->w_c + k * d_in, x, d_in);
        pre[n + k] = g * d0 + phi * c0 + eta * rtu_dot(m->w_d + k * d_in, x, d_in);
    }
    if (m->kind == RTU_KIND_LINEAR) {
        rtu_activate_into(m->activation, state, h, 2 * n);
    } else {
        rtu_activate_into(m->activation, h, state, 2 * n);
        h = state;
    }
    for (k = 0; k < 2 * n; ++k) {
        finite &= isfinite(state[k]) != 0;
    }
    for (o = 0; o < m->n_out; ++o) {
        out[o] = m->head_b[o] + rtu_dot(m->head_w + o * 2 * n, h, 2 * n);
    }
    return finite ? RTU_OK : RTU_ERR_OVERFLOW;
}

rtu_status rtu_model_step(const rtu_model *m, rtu_real *state, const rtu_real *obs,
                          rtu_real *work, rtu_real *out)
{
    rtu_status status;
    if (m == NULL || state == NULL || obs == NULL || work == NULL || out == NULL) {
        return RTU_ERR_NULL;
    }
    status = rtu_check_input(obs, m->n_in);
    if (status != RTU_OK) {
        return status;
    }
    return model_step(m, state, obs, work, out);
}

rtu_status rtu_model_run(const rtu_model *m, rtu_real *state, const rtu_real *obs,
                         size_t steps, rtu_real *work, rtu_real *out)
{
    size_t t;
    rtu_status status;
    if (m == NULL || state == NULL || obs == NULL || work == NULL || out == NULL) {
        return RTU_ERR_NULL;
    }
    status = rtu_check_input(obs, steps * m->n_in);
    if (status != RTU_OK) {
        return status;
    }
    for (t = 0; t < steps; ++t) {
        status = model_step(m, state, obs + t * m->n_in, work, out + t * m->n_out);
        if (status != RTU_OK) {
            return status;
        }
    }
    return RTU_OK;
}
