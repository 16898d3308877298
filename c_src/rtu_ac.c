/*
 * Streaming actor-critic AC(lambda) with a shared RTU cell. The order of act and learn, and which
 * parameters each gradient is taken at, is written out at the top of rtu_ac.h.
 * rtu_edge/reference/ac.py is the same code in numpy.
 */
#include <math.h>

#include "rtu_ac.h"
#include "rtu_internal.h"

#ifdef RTU_DOUBLE
#define RTU_EXP exp
#define RTU_LOG log
#define RTU_SQRT sqrt
#define RTU_FABS fabs
#else
#define RTU_EXP expf
#define RTU_LOG logf
#define RTU_SQRT sqrtf
#define RTU_FABS fabsf
#endif

#define RTU_NORM_EPS ((rtu_real)1e-8) /* added to running variances before the square root */

rtu_ac_config rtu_ac_default_config(void)
{
    rtu_ac_config c;
    RTU_AC_CONFIG_REALS(RTU_CONFIG_SET_REAL)
    c.optimizer = RTU_AC_CONFIG_OPTIMIZER;
    RTU_AC_CONFIG_FLAGS(RTU_CONFIG_SET_FLAG)
    return c;
}

rtu_status rtu_ac_check_config(const rtu_ac_config *c, const char **what)
{
    const char *bad = NULL;
    if (c == NULL) {
        return RTU_ERR_NULL;
    }
    if (c->optimizer != RTU_OPT_OBGD && c->optimizer != RTU_OPT_SGD) {
        bad = "optimizer";
    }
    RTU_AC_CONFIG_REALS(RTU_CONFIG_CHECK_REAL)
    return rtu_config_verdict(bad, what);
}

static rtu_real l1(const rtu_real *v, size_t count)
{
    size_t i;
    rtu_real s = 0;
    for (i = 0; i < count; ++i) {
        s += RTU_FABS(v[i]);
    }
    return s;
}

rtu_status rtu_ac_buffer_size(rtu_kind kind, size_t n_in, size_t n_hidden,
                              rtu_action_kind action_kind, size_t n_actions, size_t *bytes)
{
    size_t cell_bytes;
    double n = (double)n_hidden, a = (double)n_actions;
    rtu_status status = rtu_cell_buffer_size(kind, n_in, n_hidden, &cell_bytes);
    if (status != RTU_OK) {
        return status;
    }
    if ((action_kind != RTU_ACTIONS_DISCRETE && action_kind != RTU_ACTIONS_CONTINUOUS) ||
        n_actions == 0 || n_actions > RTU_MAX_DIM ||
        (action_kind == RTU_ACTIONS_DISCRETE && n_actions < 2)) {
        return RTU_ERR_ACTION;
    }
    /* the heads and their traces beside the cell (an upper bound of RTU_AC_REALS - cell) */
    if (!rtu_reals_fit((double)cell_bytes / (double)sizeof(rtu_real) * 3.0 +
                       4.0 * (2.0 * n + 1.0 + a * (2.0 * n + 2.0)) + 4.0 * a + 4.0 * (double)n_in)) {
        return RTU_ERR_SIZE;
    }
    *bytes = RTU_AC_BUFFER_BYTES(kind, n_in, n_hidden, action_kind, n_actions);
    return RTU_OK;
}

rtu_status rtu_ac_init(rtu_ac *ac, rtu_kind kind, rtu_activation activation, size_t n_in,
                       size_t n_hidden, rtu_action_kind action_kind, size_t n_actions,
                       const rtu_ac_config *config, uint64_t seed, void *buffer,
                       size_t buffer_bytes)
{
    rtu_status status;
    size_t bytes, p_cell, v_head, p_head;
    rtu_real *p;
    if (ac == NULL || config == NULL || buffer == NULL) {
        return RTU_ERR_NULL;
    }
    status = rtu_ac_check_config(config, NULL);
    if (status == RTU_OK) {
        status = rtu_ac_buffer_size(kind, n_in, n_hidden, action_kind, n_actions, &bytes);
    }
    if (status != RTU_OK) {
        return status;
    }
    if (buffer_bytes < bytes) {
        return RTU_ERR_BUFFER_SMALL;
    }
    status = rtu_cell_init(&ac->cell, kind, activation, n_in, n_hidden, buffer,
                           RTU_CELL_BUFFER_BYTES(kind, n_in, n_hidden));
    if (status != RTU_OK) {
        return status;
    }
    p_cell = RTU_CELL_PARAMS(n_in, n_hidden);
    v_head = RTU_AC_VALUE_HEAD(n_hidden);
    p_head = RTU_AC_POLICY_HEAD(n_hidden, action_kind, n_actions);
    ac->config = *config;
    ac->action_kind = action_kind;
    ac->n_actions = n_actions;
    ac->n_value = p_cell + v_head;
    ac->n_policy = p_cell + p_head;
    p = (rtu_real *)buffer + RTU_CELL_REALS(kind, n_in, n_hidden);
    rtu_zero(p, RTU_AC_REALS(kind, n_in, n_hidden, action_kind, n_actions) -
                RTU_CELL_REALS(kind, n_in, n_hidden));
    ac->value = p;      p += v_head;
    ac->policy = p;     p += p_head;
    ac->z_v = p;        p += ac->n_value;
    ac->z_pi = p;       p += ac->n_policy;
    ac->dh = p;         p += 2 * n_hidden;
    ac->pi = p;         p += n_actions;
    ac->action = p;     p += n_actions;
    ac->obs_mean = p;   p += n_in;
    ac->obs_m2 = p;     p += n_in;
    ac->x = p;          p += n_in;
    ac->obs_last = p;
    ac->ret_trace = ac->ret_mean = ac->ret_m2 = 0;
    ac->obs_count = ac->ret_count = 0;
    ac->fed = ac->acted = 0;
    ac->steps = ac->episodes = 0;
    rtu_prng_seed(&ac->rng, seed);
    return rtu_cell_init_params(&ac->cell, &ac->rng, 0.0, 1.0, 6.28);
}

/* ------------------------------------------------------------------------------------------ */
/* Normalisation (Welford); the variance is 1 until two samples have been seen                 */

static rtu_real welford(rtu_real value, uint64_t *count, rtu_real *mean, rtu_real *m2)
{
    rtu_real delta;
    *count += 1;
    delta = value - *mean;
    *mean += delta / (rtu_real)*count;
    *m2 += delta * (value - *mean);
    return *count >= 2 ? *m2 / (rtu_real)(*count - 1) : (rtu_real)1;
}

/* x = (obs - mean) / sqrt(var + eps) after adding obs to the statistics (or x = obs). */
static void normalize_obs(rtu_ac *ac, const rtu_real *obs)
{
    size_t j, d_in = ac->cell.n_in;
    uint64_t count = ac->obs_count;
    for (j = 0; j < d_in; ++j) {
        if (ac->config.normalize_obs) {
            uint64_t c = count;
            rtu_real var = welford(obs[j], &c, &ac->obs_mean[j], &ac->obs_m2[j]);
            ac->x[j] = (obs[j] - ac->obs_mean[j]) / RTU_SQRT(var + RTU_NORM_EPS);
        } else {
            ac->x[j] = obs[j];
        }
    }
    ac->obs_count = count + 1;
}

/* Step the cell on ac->x, the normalised obs, and remember obs as the one the cell holds. */
static rtu_status feed(rtu_ac *ac, const rtu_real *obs)
{
    size_t j;
    rtu_status status = rtu_cell_step(&ac->cell, ac->x, NULL);
    if (status != RTU_OK) {
        return status;
    }
    for (j = 0; j < ac->cell.n_in; ++j) {
        ac->obs_last[j] = obs[j];
    }
    ac->fed = 1;
    return RTU_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Heads                                                                                       */

void rtu_ac_begin_episode(rtu_ac *ac)
{
    rtu_zero(ac->z_v, ac->n_value);
    rtu_zero(ac->z_pi, ac->n_policy);
    rtu_cell_reset(&ac->cell);
    ac->fed = 0;
    ac->acted = 0;
}

rtu_real rtu_ac_value(const rtu_ac *ac)
{
    size_t k, n2 = 2 * ac->cell.n_hidden;
    rtu_real v = ac->value[n2];
    for (k = 0; k < n2; ++k) {
        v += ac->value[k] * ac->cell.h[k];
    }
    return v;
}

/* pi = W h + b: logits (then log-softmax, discrete) or means (continuous). */
static void policy_forward(rtu_ac *ac)
{
    size_t i, k, n2 = 2 * ac->cell.n_hidden, A = ac->n_actions;
    const rtu_real *W = ac->policy, *b = ac->policy + A * n2, *h = ac->cell.h;
    for (i = 0; i < A; ++i) {
        rtu_real s = b[i];
        for (k = 0; k < n2; ++k) {
            s += W[i * n2 + k] * h[k];
        }
        ac->pi[i] = s;
    }
    if (ac->action_kind == RTU_ACTIONS_DISCRETE) { /* log-softmax, shifted by the max */
        rtu_real m = ac->pi[0], sum = 0, log_sum;
        for (i = 1; i < A; ++i) {
            m = ac->pi[i] > m ? ac->pi[i] : m;
        }
        for (i = 0; i < A; ++i) {
            sum += RTU_EXP(ac->pi[i] - m);
        }
        log_sum = m + RTU_LOG(sum);
        for (i = 0; i < A; ++i) {
            ac->pi[i] -= log_sum;
        }
    }
}

static void sample_action(rtu_ac *ac)
{
    size_t i, A = ac->n_actions;
    if (ac->action_kind == RTU_ACTIONS_DISCRETE) { /* inverse CDF; the last action takes the rest */
        double u = rtu_prng_uniform(&ac->rng), cdf = 0;
        size_t chosen = A - 1;
        for (i = 0; i + 1 < A; ++i) {
            cdf += (double)RTU_EXP(ac->pi[i]);
            if (u < cdf) {
                chosen = i;
                break;
            }
        }
        ac->action[0] = (rtu_real)chosen;
    } else {
        const rtu_real *log_std = ac->policy + A * (2 * ac->cell.n_hidden) + A;
        for (i = 0; i < A; ++i) {
            ac->action[i] = ac->pi[i] + RTU_EXP(log_std[i]) * (rtu_real)rtu_prng_normal(&ac->rng);
        }
    }
}

rtu_status rtu_ac_act(rtu_ac *ac, const rtu_real *obs, rtu_real *action)
{
    size_t j, A;
    rtu_status status;
    if (ac == NULL || obs == NULL || action == NULL) {
        return RTU_ERR_NULL;
    }
    status = rtu_check_input(obs, ac->cell.n_in);
    if (status != RTU_OK) {
        return status;
    }
    if (ac->acted) {
        return RTU_ERR_ORDER;
    }
    if (ac->fed) { /* learn fed next_obs already: it must be this observation */
        for (j = 0; j < ac->cell.n_in; ++j) {
            if (obs[j] != ac->obs_last[j]) {
                return RTU_ERR_ORDER;
            }
        }
    } else {
        normalize_obs(ac, obs);
        status = feed(ac, obs);
        if (status != RTU_OK) {
            return status;
        }
    }
    policy_forward(ac);
    sample_action(ac);
    A = ac->action_kind == RTU_ACTIONS_DISCRETE ? 1 : ac->n_actions;
    for (j = 0; j < A; ++j) {
        action[j] = ac->action[j];
    }
    ac->acted = 1;
    return RTU_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Learning                                                                                    */

/* z_pi += grad [log pi(a|s) + c sign(delta) H] for the heads, and ac->dh = its dL/dh. */
static void policy_gradient(rtu_ac *ac, rtu_real entropy_scale)
{
    size_t i, k, n2 = 2 * ac->cell.n_hidden, A = ac->n_actions;
    size_t p_cell = ac->cell.n_params;
    const rtu_real *W = ac->policy, *h = ac->cell.h;
    rtu_real *zW = ac->z_pi + p_cell, *zb = zW + A * n2;
    rtu_zero(ac->dh, n2);
    if (ac->action_kind == RTU_ACTIONS_DISCRETE) {
        /* d/dlogit_i: [i == a] - p_i + c sign(delta) (-p_i (log p_i + H)) */
        size_t a = (size_t)ac->action[0];
        rtu_real entropy = 0;
        for (i = 0; i < A; ++i) {
            entropy -= RTU_EXP(ac->pi[i]) * ac->pi[i];
        }
        for (i = 0; i < A; ++i) {
            rtu_real p = RTU_EXP(ac->pi[i]);
            rtu_real g = (i == a ? (rtu_real)1 : (rtu_real)0) - p -
                         entropy_scale * p * (ac->pi[i] + entropy);
            for (k = 0; k < n2; ++k) {
                zW[i * n2 + k] += g * h[k];
                ac->dh[k] += g * W[i * n2 + k];
            }
            zb[i] += g;
        }
    } else {
        /* d/dmu_i = (a_i - mu_i) / sigma_i^2; d/dlog_std_i = (a_i - mu_i)^2 / sigma_i^2 - 1 + c sign */
        const rtu_real *log_std = ac->policy + A * n2 + A;
        rtu_real *zs = zb + A;
        for (i = 0; i < A; ++i) {
            rtu_real inv_var = RTU_EXP(-2 * log_std[i]);
            rtu_real diff = ac->action[i] - ac->pi[i];
            rtu_real g = diff * inv_var;
            for (k = 0; k < n2; ++k) {
                zW[i * n2 + k] += g * h[k];
                ac->dh[k] += g * W[i * n2 + k];
            }
            zb[i] += g;
            zs[i] += diff * diff * inv_var - 1 + entropy_scale;
        }
    }
}

static void scale(rtu_real *v, size_t count, rtu_real factor)
{
    size_t i;
    for (i = 0; i < count; ++i) {
        v[i] *= factor;
    }
}

rtu_status rtu_ac_learn(rtu_ac *ac, rtu_real reward, const rtu_real *next_obs, int terminated,
                        int truncated)
{
    rtu_cell *cell;
    const rtu_ac_config *cfg;
    size_t k, n2, p_cell;
    rtu_real r, v_s, v_next = 0, delta, decay, sign;
    rtu_obgd_trace traces[2];
    rtu_status status;
    if (ac == NULL || next_obs == NULL) {
        return RTU_ERR_NULL;
    }
    status = rtu_check_input(next_obs, ac->cell.n_in);
    if (status == RTU_OK) {
        status = rtu_check_input(&reward, 1);
    }
    if (status != RTU_OK) {
        return status;
    }
    if (!ac->acted) {
        return RTU_ERR_ORDER;
    }
    cell = &ac->cell;
    cfg = &ac->config;
    n2 = 2 * cell->n_hidden;
    p_cell = cell->n_params;

    /* reward scaling: r / sqrt(var(u) + eps), u the discounted return trace */
    r = reward;
    if (cfg->scale_reward) {
        rtu_real var;
        ac->ret_trace = cfg->gamma * (terminated ? (rtu_real)0 : (rtu_real)1) * ac->ret_trace +
                        reward;
        var = welford(ac->ret_trace, &ac->ret_count, &ac->ret_mean, &ac->ret_m2);
        r = reward / RTU_SQRT(var + RTU_NORM_EPS);
    }
    /* delta = r + gamma (1 - terminated) v(s') - v(s), v(s') by a peek at theta_t */
    normalize_obs(ac, next_obs);
    v_s = rtu_ac_value(ac);
    if (!terminated) {
        v_next = rtu_cell_peek_value(cell, ac->x, ac->value, ac->value[n2]);
    }
    delta = r + cfg->gamma * v_next - v_s;
    sign = delta > 0 ? (rtu_real)1 : (delta < 0 ? (rtu_real)-1 : (rtu_real)0);

    /* z_v = gamma lambda z_v + grad v(s);  z_pi = gamma lambda z_pi + grad [log pi + c sign H] */
    decay = cfg->gamma * cfg->lambda;
    scale(ac->z_v, ac->n_value, decay);
    scale(ac->z_pi, ac->n_policy, decay);
    rtu_cell_gradient_into(cell, ac->value, ac->z_v, 1);
    for (k = 0; k < n2; ++k) {
        ac->z_v[p_cell + k] += cell->h[k];
    }
    ac->z_v[p_cell + n2] += 1;
    policy_gradient(ac, cfg->entropy_coef * sign);
    rtu_cell_gradient_into(cell, ac->dh, ac->z_pi, 1);

    /* one ObGD (or SGD) step per trace, the shared cell taking both; the phase wrap (dh is free
     * again: it takes the ratios) and the refresh */
    traces[0].z = ac->z_v;
    traces[0].head = ac->value;
    traces[0].n_head = ac->n_value - p_cell;
    traces[0].kappa = cfg->kappa_value;
    traces[0].z_norm1 = l1(ac->z_v, ac->n_value);
    traces[1].z = ac->z_pi;
    traces[1].head = ac->policy;
    traces[1].n_head = ac->n_policy - p_cell;
    traces[1].kappa = cfg->kappa_policy;
    traces[1].z_norm1 = l1(ac->z_pi, ac->n_policy);
    traces[0].grad = traces[1].grad = NULL;
    traces[0].decay = traces[1].decay = 0; /* unused without grad */
    status = rtu_obgd_update(cell, cfg->optimizer == RTU_OPT_OBGD, cfg->alpha, delta, traces, 2,
                             ac->dh);
    if (status != RTU_OK) {
        return status;
    }
    ac->acted = 0;
    ac->steps += 1;

    if (terminated || truncated) { /* after the update: zero traces and state */
        rtu_ac_begin_episode(ac);
        ac->episodes += 1;
        return RTU_OK;
    }
    /* feed s' at theta_{t+1}: the next act starts from it (x already normalised above) */
    return feed(ac, next_obs);
}
