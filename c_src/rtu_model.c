/*
 * Inference from constant weights (rtu_model.h): the forward pass of rtu_ac.c's networks (and of
 * TD(lambda)'s) without traces, on the same kernels (the LRU's readout is rtu_cell.c's). rtu_edge/export/model.py
 * (InferenceModel.step_reference) is the same step in numpy.
 */
#include <math.h>

#include "rtu_model.h"
#include "rtu_internal.h"

static size_t n_extra(const rtu_model *m)
{
    return RTU_MODEL_N_EXTRA(m->prev_action, m->prev_reward, m->n_actions);
}

static size_t n_x(const rtu_model *m)
{
    return m->n_obs + n_extra(m);
}

/* The cell's input size of a trunk. */
static size_t n_e(const rtu_model *m)
{
    return RTU_AC_N_E(n_x(m), m->n_embed);
}

/* Outputs of head r (0 the critic, 1 the actor). */
static size_t head_outputs(const rtu_model *m, size_t r)
{
    return r == 0 ? 1u : RTU_AC_N_OUT_POLICY(m->action_kind, m->n_actions);
}

size_t rtu_model_state_reals(const rtu_model *m)
{
    return RTU_MODEL_STATE_REALS(m->n_trunks, m->n_hidden, n_extra(m));
}

size_t rtu_model_work_reals(const rtu_model *m)
{
    return RTU_MODEL_WORK_REALS(n_x(m), m->n_hidden, m->n_embed, m->n_head);
}

size_t rtu_model_n_out(const rtu_model *m)
{
    return RTU_MODEL_N_OUT(m->action_kind, m->n_actions);
}

static rtu_status check_shape(const rtu_model *m)
{
    if (!rtu_kind_ok(m->kind)) {
        return RTU_ERR_KIND;
    }
    if (m->activation != RTU_ACT_RELU && m->activation != RTU_ACT_TANH &&
        m->activation != RTU_ACT_IDENTITY) {
        return RTU_ERR_ACTIVATION;
    }
    if (m->n_actions > RTU_MAX_DIM ||
        (m->n_actions > 0 && m->action_kind != RTU_ACTIONS_DISCRETE &&
         m->action_kind != RTU_ACTIONS_CONTINUOUS) ||
        (m->n_actions == 1 && m->action_kind == RTU_ACTIONS_DISCRETE)) {
        return RTU_ERR_ACTION;
    }
    if (m->n_obs == 0 || m->n_obs > RTU_MAX_DIM || m->n_hidden == 0 ||
        m->n_hidden > RTU_MAX_DIM || m->n_embed > RTU_MAX_DIM || m->n_head > RTU_MAX_DIM ||
        m->n_embed == 1 || m->n_head == 1 || /* as rtu_ac_check_shape: a LayerNorm of one unit */
        (m->n_trunks != 1 && m->n_trunks != 2) || !rtu_is_flag(m->prev_action) ||
        !rtu_is_reward_input(m->prev_reward) ||
        !rtu_is_flag(m->memoryless) ||
        (m->n_actions == 0 && (m->n_trunks != 1 || m->prev_action))) {
        return RTU_ERR_SIZE;
    }
    /* the weights of a network, counted in double: their indices fit a size_t */
    {
        double x = (double)n_x(m), e = (double)n_e(m), n2 = 2.0 * (double)m->n_hidden;
        double mm = (double)m->n_embed, k = (double)m->n_head;
        double o = 2.0 * (double)m->n_actions + 1.0;
        double readout = m->kind == RTU_KIND_LRU ? n2 * (n2 + e) : 0.0; /* c_re, c_im, d_skip */
        return rtu_reals_fit(mm * (x + 1.0) + n2 * e + readout + k * (n2 + 1.0) +
                             o * (n2 + k + 1.0))
                   ? RTU_OK
                   : RTU_ERR_SIZE;
    }
}

/* A dense layer's parameters: present, and finite. */
static rtu_status check_dense(const rtu_real *w, size_t n_in, size_t n_out)
{
    if (w == NULL) {
        return RTU_ERR_NULL;
    }
    return rtu_all_finite(w, n_out * (n_in + 1u)) ? RTU_OK : RTU_ERR_NONFINITE_PARAM;
}

static rtu_status check_trunk(const rtu_model *m, const rtu_model_trunk *t)
{
    size_t k, n = m->n_hidden, nd = n * n_e(m);
    rtu_status status;
    if (t->w_c == NULL || t->w_d == NULL || t->g == NULL || t->phi == NULL || t->eta == NULL) {
        return RTU_ERR_NULL;
    }
    if (m->n_embed) {
        status = check_dense(t->embed, n_x(m), m->n_embed);
        if (status != RTU_OK) {
            return status;
        }
    }
    if (!rtu_all_finite(t->w_c, nd) || !rtu_all_finite(t->w_d, nd) ||
        !rtu_all_finite(t->g, n) || !rtu_all_finite(t->phi, n) || !rtu_all_finite(t->eta, n)) {
        return RTU_ERR_NONFINITE_PARAM;
    }
    if (m->kind == RTU_KIND_LRU) {
        if (t->c_re == NULL || t->c_im == NULL || t->d_skip == NULL) {
            return RTU_ERR_NULL;
        }
        if (!rtu_all_finite(t->c_re, 2u * n * n) || !rtu_all_finite(t->c_im, 2u * n * n) ||
            !rtu_all_finite(t->d_skip, 2u * nd)) {
            return RTU_ERR_NONFINITE_PARAM;
        }
    }
    for (k = 0; k < n; ++k) {
        /* |lambda| = r < 1 and eta = sqrt(1 - r^2) in (0, 1] */
        if (!(t->g[k] * t->g[k] + t->phi[k] * t->phi[k] < 1) || !(t->eta[k] > 0) ||
            !(t->eta[k] <= 1)) {
            return RTU_ERR_PARAM_RANGE;
        }
    }
    return RTU_OK;
}

static rtu_status check_head(const rtu_model *m, const rtu_model_head *hd, size_t n_out)
{
    size_t n2 = 2u * m->n_hidden, k = m->n_head;
    if (k) {
        rtu_status status = check_dense(hd->hidden, n2, k);
        if (status != RTU_OK) {
            return status;
        }
    }
    return check_dense(hd->out, k ? k : n2, n_out);
}

rtu_status rtu_model_check(const rtu_model *m)
{
    size_t r;
    rtu_status status;
    if (m == NULL) {
        return RTU_ERR_NULL;
    }
    status = check_shape(m);
    for (r = 0; status == RTU_OK && r < m->n_trunks; ++r) {
        status = check_trunk(m, &m->trunk[r]);
    }
    for (r = 0; status == RTU_OK && r < (m->n_actions ? 2u : 1u); ++r) {
        status = check_head(m, &m->head[r], head_outputs(m, r));
    }
    if (status != RTU_OK) {
        return status;
    }
    if ((m->obs_mean == NULL) != (m->obs_inv_std == NULL)) {
        return RTU_ERR_NULL;
    }
    if (m->obs_mean != NULL &&
        (!rtu_all_finite(m->obs_mean, m->n_obs) || !rtu_all_finite(m->obs_inv_std, m->n_obs))) {
        return RTU_ERR_NONFINITE_PARAM;
    }
    if ((m->prev_reward == RTU_REWARD_NORMALIZED &&
         !(isfinite(m->reward_mean) && isfinite(m->reward_scale) && m->reward_scale > 0)) ||
        (m->prev_reward == RTU_REWARD_CENTERED_SIGN && !isfinite(m->reward_mean)) ||
        (m->prev_reward == RTU_REWARD_GATED_SIGN && m->reward_scale != 0 &&
         m->reward_scale != 1)) {
        return RTU_ERR_CONFIG;
    }
    if (m->n_actions && m->action_kind == RTU_ACTIONS_CONTINUOUS &&
        !(isfinite(m->std_max) && m->std_min > 0 && m->std_min < m->std_max)) {
        return RTU_ERR_CONFIG;
    }
    return RTU_OK;
}

void rtu_model_reset(const rtu_model *m, rtu_real *state)
{
    rtu_zero(state, rtu_model_state_reals(m));
}

/* rtu_recur_into with (c; d) advanced in place:
 * (c; d) = (g c - phi d + eta uc; g d + phi c + eta ud). */
static void recur_in_place(const rtu_real *restrict g, const rtu_real *restrict phi,
                           const rtu_real *restrict eta, rtu_real *restrict c,
                           rtu_real *restrict d, const rtu_real *restrict uc,
                           const rtu_real *restrict ud, size_t n)
{
    size_t k;
    for (k = 0; k < n; ++k) {
        rtu_real c0 = c[k], d0 = d[k];
        c[k] = g[k] * c0 - phi[k] * d0 + eta[k] * uc[k];
        d[k] = g[k] * d0 + phi[k] * c0 + eta[k] * ud[k];
    }
}

/* The RTU of trunk t on x (n_e reals) from its state (2n reals, advanced) into h (2n reals),
 * h holding the input sums u = (W_c x, W_d x) on entry (rtu_input_sums); the arithmetic of
 * rtu_cell.c's step. Returns whether the new state and h are finite. */
static int rtu_forward_sums(const rtu_model *m, const rtu_model_trunk *t, const rtu_real *x,
                            rtu_real *state, rtu_real *h)
{
    size_t k, n = m->n_hidden, d_in = n_e(m);
    rtu_real *c = state, *d = state + n;
    if (m->memoryless) {
        rtu_zero(state, 2u * n);
    }
    /* (a; b) go where f is applied from: the state (linear kind and LRU: it keeps them) or h
     * (nonlinear kind: the state keeps f(a; b), which are also its features) */
    if (m->kind == RTU_KIND_NONLINEAR) {
        rtu_recur_into(n, t->g, t->phi, t->eta, c, d, 0, h, h + n);
    } else {
        recur_in_place(t->g, t->phi, t->eta, c, d, h, h + n, n);
    }
    if (m->kind == RTU_KIND_LRU) {
        rtu_lru_readout(t->c_re, t->c_im, t->d_skip, n, d_in, m->activation, c, d, x, h);
    } else if (m->kind == RTU_KIND_LINEAR) {
        rtu_activate_into(m->activation, state, h, 2u * n);
    } else {
        rtu_activate_into(m->activation, h, state, 2u * n);
        for (k = 0; k < 2u * n; ++k) {
            h[k] = state[k];
        }
    }
    return rtu_all_finite(state, 2u * n) && rtu_all_finite(h, 2u * n);
}

/* RTU_MODEL_UNITS units of one sample's RTU input sums stay in vector registers while the inputs
 * go by (8 of them at AVX2 width), so no sum is loaded or stored per input, where
 * rtu_input_sums loads and stores every sum for every input: W_c's units, then W_d's (in one
 * loop gcc 12 kept half the sums on the stack: the batch's step 5-9% slower in the AVX2 variant,
 * 4-7% in SSE2). For every unit the same additions in the same order: the same bits as
 * rtu_input_sums. Blocks of 16 units, or of several samples, were slower with vectors of 8
 * floats or fewer in scratch timings (the compilers did not keep them in registers). */
#define RTU_MODEL_UNITS 32u

/* rtu_input_sums of units k0 .. k0 + w - 1 of one sample, w <= RTU_MODEL_UNITS (input x; sums
 * into u: W_c x from column 0, W_d x from column n). Inlined with w = RTU_MODEL_UNITS for the
 * whole blocks, the loops' bounds constants there. */
static inline void input_sums_units(const rtu_real *w_c, const rtu_real *w_d, size_t n,
                                    size_t n_in, size_t k0, size_t w, const rtu_real *x,
                                    rtu_real *u)
{
    rtu_real c[RTU_MODEL_UNITS] = {0}, d[RTU_MODEL_UNITS] = {0};
    size_t j, q;
    for (j = 0; j < n_in; ++j) {
        const rtu_real *restrict wc = w_c + j * n + k0, *restrict wd = w_d + j * n + k0;
        const rtu_real xj = x[j];
        for (q = 0; q < w; ++q) {
            c[q] = RTU_FMA(wc[q], xj, c[q]);
        }
        for (q = 0; q < w; ++q) {
            d[q] = RTU_FMA(wd[q], xj, d[q]);
        }
    }
    for (q = 0; q < w; ++q) {
        u[k0 + q] = c[q];
        u[n + k0 + q] = d[q];
    }
}

/* rtu_input_sums of trunk t for one sample (input x, sums into u): whole blocks of
 * RTU_MODEL_UNITS units, then the units past them. */
static void input_sums_one(const rtu_model *m, const rtu_model_trunk *t, const rtu_real *x,
                           rtu_real *u)
{
    size_t k0, n = m->n_hidden, d_in = n_e(m), full = n - n % RTU_MODEL_UNITS;
    for (k0 = 0; k0 < full; k0 += RTU_MODEL_UNITS) {
        input_sums_units(t->w_c, t->w_d, n, d_in, k0, RTU_MODEL_UNITS, x, u);
    }
    if (full < n) {
        input_sums_units(t->w_c, t->w_d, n, d_in, full, n - full, x, u);
    }
}

/* rtu_forward_sums after the input sums into h. */
static int rtu_forward(const rtu_model *m, const rtu_model_trunk *t, const rtu_real *x,
                       rtu_real *state, rtu_real *h)
{
    input_sums_one(m, t, x, h);
    return rtu_forward_sums(m, t, x, state, h);
}

/* Head hd on the features h (2n) into o (n_out reals); q_hat, q (k each) are scratch. */
static void head_forward(const rtu_model *m, const rtu_model_head *hd, const rtu_real *h,
                         size_t n_out, rtu_real *q_hat, rtu_real *q, rtu_real *o)
{
    (void)rtu_head_forward(hd->hidden, hd->out, 2u * m->n_hidden, m->n_head, n_out, h, q_hat, q,
                           o);
}

/* x (n_x reals): obs normalised by the model's statistics, then the extras the state keeps. */
static void model_input(const rtu_model *m, const rtu_real *obs, const rtu_real *extras,
                        rtu_real *x)
{
    size_t j;
    for (j = 0; j < m->n_obs; ++j) {
        x[j] = m->obs_mean != NULL ? (obs[j] - m->obs_mean[j]) * m->obs_inv_std[j] : obs[j];
    }
    for (j = m->n_obs; j < n_x(m); ++j) {
        x[j] = extras[j - m->n_obs];
    }
}

/* The step without input checks: work = [x (n_x); e_hat, e (m); h (2n); q_hat, q (k)]. The
 * caller's arrays are distinct. */
static rtu_status model_step(const rtu_model *m, rtu_real *state, const rtu_real *obs,
                             rtu_real *work, rtu_real *out)
{
    size_t j, r, nx = n_x(m), n2 = 2u * m->n_hidden, mm = m->n_embed, k = m->n_head;
    size_t A = m->n_actions, o_pi = A ? head_outputs(m, 1) : 0u;
    rtu_real *x = work, *e_hat = x + nx, *e = e_hat + mm, *h = e + mm, *q_hat = h + n2;
    rtu_real *q = q_hat + k, *extras = state + m->n_trunks * n2;
    int finite = 1;
    model_input(m, obs, extras, x);
    for (r = 0; r < m->n_trunks; ++r) {
        const rtu_model_trunk *t = &m->trunk[r];
        if (mm) {
            rtu_dense_forward(t->embed, x, nx, mm, e_hat);
            (void)rtu_ln_lrelu(e_hat, e, mm);
        }
        finite &= rtu_forward(m, t, mm ? e : x, state + r * n2, h);
        /* the critic's head on trunk 0; the actor's on its own trunk or the shared one.
         * Outputs: the actor's first, the value last */
        if (r == 0) {
            head_forward(m, &m->head[0], h, 1u, q_hat, q, out + o_pi);
        }
        if (A && r + 1u == m->n_trunks) {
            head_forward(m, &m->head[1], h, o_pi, q_hat, q, out);
        }
    }
    if (A && m->action_kind == RTU_ACTIONS_CONTINUOUS) {
        for (j = A; j < 2u * A; ++j) {
            out[j] = rtu_bounded_std(out[j], m->std_min, m->std_max, NULL);
        }
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
    status = rtu_check_input(obs, m->n_obs);
    if (status != RTU_OK) {
        return status;
    }
    return model_step(m, state, obs, work, out);
}

/* RTU_OK if action (RTU_MODEL_ACTION_REALS reals) is one the model can take: checked wherever
 * it is given, whether or not the model takes it as an input; NULL only without prev_action. */
static rtu_status check_action(const rtu_model *m, const rtu_real *action)
{
    rtu_status status;
    if (action == NULL || m->n_actions == 0) { /* TD(lambda)'s models take no action */
        return action == NULL && m->prev_action ? RTU_ERR_NULL : RTU_OK;
    }
    status = rtu_check_input(action, RTU_MODEL_ACTION_REALS(m->action_kind, m->n_actions));
    /* a finite discrete action that is no index is RTU_ERR_ACTION, however far out it lies */
    if (status != RTU_ERR_NONFINITE_INPUT && m->action_kind == RTU_ACTIONS_DISCRETE &&
        !(action[0] >= 0 && action[0] < (rtu_real)m->n_actions &&
          action[0] == (rtu_real)(size_t)action[0])) {
        return RTU_ERR_ACTION;
    }
    return status;
}

/* RTU_OK if action (as check_action) and reward can be fed. */
static rtu_status check_feed(const rtu_model *m, const rtu_real *action, rtu_real reward)
{
    rtu_status status = rtu_check_input(&reward, 1u);
    return status != RTU_OK ? status : check_action(m, action);
}

/* check_feed passed: the extras of state from action and reward. */
static void feed(const rtu_model *m, rtu_real *state, const rtu_real *action, rtu_real reward)
{
    size_t i, A = m->n_actions;
    rtu_real *extras = state + m->n_trunks * 2u * m->n_hidden;
    if (m->prev_action) {
        for (i = 0; i < A; ++i) {
            extras[i] = m->action_kind == RTU_ACTIONS_DISCRETE
                            ? (i == (size_t)action[0] ? (rtu_real)1 : (rtu_real)0)
                            : action[i];
        }
        extras += A;
    }
    if (m->prev_reward) {
        extras[0] = m->prev_reward == RTU_REWARD_SIGN ? rtu_sign(reward)
                    : m->prev_reward == RTU_REWARD_CENTERED_SIGN
                        ? rtu_sign(reward) - m->reward_mean
                    : m->prev_reward == RTU_REWARD_GATED_SIGN
                        ? rtu_sign(reward) * m->reward_scale
                        : (reward - m->reward_mean) * m->reward_scale;
    }
}

rtu_status rtu_model_feed(const rtu_model *m, rtu_real *state, const rtu_real *action,
                          rtu_real reward)
{
    rtu_status status;
    if (m == NULL || state == NULL) {
        return RTU_ERR_NULL;
    }
    status = check_feed(m, action, reward);
    if (status == RTU_OK) {
        feed(m, state, action, reward);
    }
    return status;
}

rtu_status rtu_model_run(const rtu_model *m, rtu_real *state, const rtu_real *obs,
                         const rtu_real *actions, const rtu_real *rewards, size_t steps,
                         rtu_real *work, rtu_real *out)
{
    size_t t, n_out, a_reals;
    int extras;
    rtu_status status;
    if (m == NULL || state == NULL || obs == NULL || work == NULL || out == NULL) {
        return RTU_ERR_NULL;
    }
    extras = n_extra(m) > 0;
    if (extras && (rewards == NULL || (m->prev_action && actions == NULL))) {
        return RTU_ERR_NULL;
    }
    n_out = rtu_model_n_out(m);
    a_reals = RTU_MODEL_ACTION_REALS(m->action_kind, m->n_actions);
    status = rtu_sequence_fits(steps, m->n_obs > n_out ? m->n_obs : n_out);
    if (status == RTU_OK) {
        status = rtu_check_input(obs, steps * m->n_obs);
    }
    for (t = 0; status == RTU_OK && t < steps; ++t) {
        const rtu_real *action = actions != NULL ? actions + t * a_reals : NULL;
        status = extras ? check_feed(m, action, rewards[t]) : check_action(m, action);
    }
    for (t = 0; status == RTU_OK && t < steps; ++t) {
        status = model_step(m, state, obs + t * m->n_obs, work, out + t * n_out);
        if (extras && status == RTU_OK) {
            feed(m, state, m->prev_action ? actions + t * a_reals : NULL, rewards[t]);
        }
    }
    return status;
}

/* RTU_MODEL_BATCH_WORK_REALS, SIZE_MAX where its bytes would be beyond size_t */
static size_t batch_work_reals(const rtu_model *m, size_t count)
{
    size_t one = RTU_MODEL_WORK_REALS(n_x(m), m->n_hidden, m->n_embed, m->n_head) +
                 RTU_MODEL_WIDEST_INPUT_(n_x(m), m->n_hidden, m->n_head);
    return rtu_reals_fit((double)count * (double)one + (double)RTU_MODEL_PARTIALS)
               ? RTU_MODEL_BATCH_WORK_REALS(count, n_x(m), m->n_hidden, m->n_embed, m->n_head)
               : SIZE_MAX;
}

size_t rtu_model_batch_work_reals(const rtu_model *m, size_t count)
{
    return batch_work_reals(m, count);
}

/* The dense kernels' block of partial sums (rtu_dense_forward_batch) is the work's last part. */
typedef char rtu_model_partials_fit[RTU_MODEL_PARTIALS == RTU_DENSE_PARTIALS ? 1 : -1];

/* Where vectors hold 16 floats (AVX-512), the batch's input sums go in blocks of
 * RTU_MODEL_SAMPLES samples by RTU_MODEL_BLOCK_UNITS units, their sums in registers (8 of them)
 * and each weight loaded once for the block's 4 samples: the same additions in the same order
 * for every sample and unit, so the same bits. (In two loops, W_c's and W_d's, as
 * input_sums_units takes them, this block's sums went to the stack: 4x slower.) The samples past
 * the blocks, and every sample with narrower vectors, go one at a time (input_sums_one). */
#if defined(__AVX512F__)
#define RTU_MODEL_SAMPLES 4u
#define RTU_MODEL_BLOCK_UNITS 16u

/* rtu_input_sums of units k0 .. k0 + RTU_MODEL_BLOCK_UNITS - 1 for RTU_MODEL_SAMPLES samples
 * (inputs x + s * stride, sums into the rows u + s * stride). */
static void input_sums_block(const rtu_real *w_c, const rtu_real *w_d, size_t n, size_t n_in,
                             size_t k0, const rtu_real *x, rtu_real *u, size_t stride)
{
    rtu_real c[RTU_MODEL_SAMPLES][RTU_MODEL_BLOCK_UNITS] = {{0}};
    rtu_real d[RTU_MODEL_SAMPLES][RTU_MODEL_BLOCK_UNITS] = {{0}};
    size_t j, s, q;
    for (j = 0; j < n_in; ++j) {
        const rtu_real *restrict wc = w_c + j * n + k0, *restrict wd = w_d + j * n + k0;
        for (s = 0; s < RTU_MODEL_SAMPLES; ++s) {
            const rtu_real xj = x[s * stride + j];
            for (q = 0; q < RTU_MODEL_BLOCK_UNITS; ++q) {
                c[s][q] = RTU_FMA(wc[q], xj, c[s][q]);
                d[s][q] = RTU_FMA(wd[q], xj, d[s][q]);
            }
        }
    }
    for (s = 0; s < RTU_MODEL_SAMPLES; ++s) {
        for (q = 0; q < RTU_MODEL_BLOCK_UNITS; ++q) {
            u[s * stride + k0 + q] = c[s][q];
            u[s * stride + n + k0 + q] = d[s][q];
        }
    }
}
#else
#define RTU_MODEL_SAMPLES 1u
#endif

/* rtu_input_sums of trunk t for count samples (inputs at x, sums into u, both rows of stride). */
static void input_sums_batch(const rtu_model *m, const rtu_model_trunk *t, size_t count,
                             const rtu_real *x, rtu_real *u, size_t stride)
{
    size_t i = 0;
#if RTU_MODEL_SAMPLES > 1
    size_t s, k0, n = m->n_hidden, d_in = n_e(m), full = n - n % RTU_MODEL_BLOCK_UNITS;
    for (; i + RTU_MODEL_SAMPLES <= count; i += RTU_MODEL_SAMPLES) {
        for (k0 = 0; k0 < full; k0 += RTU_MODEL_BLOCK_UNITS) {
            input_sums_block(t->w_c, t->w_d, n, d_in, k0, x + i * stride, u + i * stride,
                             stride);
        }
        for (s = i; s < i + RTU_MODEL_SAMPLES && full < n; ++s) { /* the units past them */
            input_sums_units(t->w_c, t->w_d, n, d_in, full, n - full, x + s * stride,
                             u + s * stride);
        }
    }
#endif
    for (; i < count; ++i) {
        input_sums_one(m, t, x + i * stride, u + i * stride);
    }
}

/* Head hd of every sample on its features (work rows at h, stride n_work) into the rows of out
 * (stride n_out, from column at): rtu_head_forward's layers, each as rtu_dense_forward_batch. */
static void head_forward_batch(const rtu_model *m, const rtu_model_head *hd, size_t count,
                               rtu_real *work, size_t n_work, size_t h_at, size_t q_hat_at,
                               size_t q_at, size_t n_head_out, rtu_real *out, size_t n_out,
                               size_t at, rtu_real *xt, rtu_real *p)
{
    size_t b, n2 = 2u * m->n_hidden, k = m->n_head;
    if (k) {
        rtu_dense_forward_batch(hd->hidden, n2, k, count, work + h_at, n_work, work + q_hat_at,
                                n_work, xt, p);
        for (b = 0; b < count; ++b) {
            (void)rtu_ln_lrelu(work + b * n_work + q_hat_at, work + b * n_work + q_at, k);
        }
        rtu_dense_forward_batch(hd->out, k, n_head_out, count, work + q_at, n_work, out + at,
                                n_out, xt, p);
    } else {
        rtu_dense_forward_batch(hd->out, n2, n_head_out, count, work + h_at, n_work, out + at,
                                n_out, xt, p);
    }
}

rtu_status rtu_model_step_batch(const rtu_model *m, size_t count, rtu_real *states,
                                const rtu_real *obs, rtu_real *work, rtu_real *out, size_t *at)
{
    size_t i, j, r, n_state, n_work, n_out, nx, n2, mm, k, A, o_pi;
    size_t x_at, e_hat_at, e_at, h_at, q_hat_at, q_at;
    rtu_real *xt, *p;
    rtu_status status = RTU_OK;
    if (m == NULL || states == NULL || obs == NULL || work == NULL || out == NULL || at == NULL) {
        return RTU_ERR_NULL;
    }
    if (count > RTU_MAX_BATCH || batch_work_reals(m, count) == SIZE_MAX) {
        return RTU_ERR_SIZE;
    }
    for (i = 0; i < count && status == RTU_OK; ++i) {
        *at = i;
        status = rtu_check_input(obs + i * m->n_obs, m->n_obs);
    }
    if (status != RTU_OK || count == 0) {
        return status;
    }
    n_state = rtu_model_state_reals(m);
    n_work = rtu_model_work_reals(m);
    n_out = rtu_model_n_out(m);
    nx = n_x(m);
    n2 = 2u * m->n_hidden;
    mm = m->n_embed;
    k = m->n_head;
    A = m->n_actions;
    o_pi = A ? head_outputs(m, 1) : 0u;
    /* each sample's work row as model_step's: x, e_hat, e, h, q_hat, q; then the shared scratch */
    x_at = 0;
    e_hat_at = nx;
    e_at = e_hat_at + mm;
    h_at = e_at + mm;
    q_hat_at = h_at + n2;
    q_at = q_hat_at + k;
    xt = work + count * n_work;
    p = xt + count * RTU_MODEL_WIDEST_INPUT_(nx, m->n_hidden, k);
    for (i = 0; i < count; ++i) {
        model_input(m, obs + i * m->n_obs, states + i * n_state + m->n_trunks * n2,
                    work + i * n_work + x_at);
    }
    for (r = 0; r < m->n_trunks; ++r) {
        const rtu_model_trunk *t = &m->trunk[r];
        if (mm) {
            rtu_dense_forward_batch(t->embed, nx, mm, count, work + x_at, n_work, work + e_hat_at,
                                n_work, xt, p);
        }
        if (mm) {
            for (i = 0; i < count; ++i) {
                rtu_real *row = work + i * n_work;
                (void)rtu_ln_lrelu(row + e_hat_at, row + e_at, mm);
            }
        }
        input_sums_batch(m, t, count, work + (mm ? e_at : x_at), work + h_at, n_work);
        for (i = 0; i < count; ++i) {
            rtu_real *row = work + i * n_work;
            if (!rtu_forward_sums(m, t, row + (mm ? e_at : x_at), states + i * n_state + r * n2,
                                  row + h_at) &&
                status == RTU_OK) {
                status = RTU_ERR_OVERFLOW;
                *at = i;
            }
        }
        if (r == 0) {
            head_forward_batch(m, &m->head[0], count, work, n_work, h_at, q_hat_at, q_at, 1u,
                               out, n_out, o_pi, xt, p);
        }
        if (A && r + 1u == m->n_trunks) {
            head_forward_batch(m, &m->head[1], count, work, n_work, h_at, q_hat_at, q_at, o_pi,
                               out, n_out, 0u, xt, p);
        }
    }
    if (A && m->action_kind == RTU_ACTIONS_CONTINUOUS) {
        for (i = 0; i < count; ++i) {
            for (j = A; j < 2u * A; ++j) {
                out[i * n_out + j] = rtu_bounded_std(out[i * n_out + j], m->std_min, m->std_max,
                                                     NULL);
            }
        }
    }
    return status;
}

rtu_status rtu_model_feed_batch(const rtu_model *m, size_t count, rtu_real *states,
                                const rtu_real *actions, const rtu_real *rewards,
                                const unsigned char *ended, size_t *at)
{
    size_t i, n_state, a_reals;
    rtu_status status = RTU_OK;
    if (m == NULL || states == NULL || rewards == NULL || at == NULL ||
        (m->prev_action && actions == NULL)) {
        return RTU_ERR_NULL;
    }
    if (count > RTU_MAX_BATCH) {
        return RTU_ERR_SIZE;
    }
    a_reals = RTU_MODEL_ACTION_REALS(m->action_kind, m->n_actions);
    for (i = 0; i < count && status == RTU_OK; ++i) {
        *at = i;
        if (ended == NULL || !ended[i]) {
            status = check_feed(m, actions != NULL ? actions + i * a_reals : NULL, rewards[i]);
        }
    }
    if (status != RTU_OK) {
        return status;
    }
    n_state = rtu_model_state_reals(m);
    for (i = 0; i < count; ++i) {
        if (ended != NULL && ended[i]) {
            rtu_model_reset(m, states + i * n_state);
        } else {
            feed(m, states + i * n_state, m->prev_action ? actions + i * a_reals : NULL,
                 rewards[i]);
        }
    }
    return RTU_OK;
}
