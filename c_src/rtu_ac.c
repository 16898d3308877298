/*
 * Streaming actor-critic AC(lambda) on the streaming network: input layer, RTU, MLP heads. The
 * network, the order of act and learn, and which parameters each gradient is taken at, are
 * written out at the top of rtu_ac.h. rtu_edge/reference/ac.py is the same code in numpy.
 */
#include <math.h>

#include "rtu_ac.h"
#include "rtu_internal.h"


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
    if (bad == NULL && !(c->std_min < c->std_max)) {
        bad = "std_max";
    }
    return rtu_config_verdict(bad, what);
}

/* ------------------------------------------------------------------------------------------ */
/* Shape and layout                                                                            */

rtu_status rtu_ac_check_shape(const rtu_ac_shape *s)
{
    size_t n_x;
    double reals;
    if (s == NULL) {
        return RTU_ERR_NULL;
    }
    if (!rtu_kind_ok(s->kind)) {
        return RTU_ERR_KIND;
    }
    if (s->activation != RTU_ACT_RELU && s->activation != RTU_ACT_TANH &&
        s->activation != RTU_ACT_IDENTITY) {
        return RTU_ERR_ACTIVATION;
    }
    if ((s->action_kind != RTU_ACTIONS_DISCRETE && s->action_kind != RTU_ACTIONS_CONTINUOUS) ||
        s->n_actions == 0 || s->n_actions > RTU_MAX_DIM ||
        (s->action_kind == RTU_ACTIONS_DISCRETE && s->n_actions < 2)) {
        return RTU_ERR_ACTION;
    }
    if (s->n_obs == 0 || s->n_hidden == 0 || s->n_obs > RTU_MAX_DIM ||
        s->n_hidden > RTU_MAX_DIM || s->n_embed > RTU_MAX_DIM || s->n_head > RTU_MAX_DIM ||
        s->n_embed == 1 || s->n_head == 1 || /* LayerNorm of one unit is always 0 */
        !rtu_is_flag(s->shared) || !rtu_is_flag(s->prev_action) ||
        !rtu_is_reward_input(s->prev_reward) ||
        !rtu_is_flag(s->memoryless)) {
        return RTU_ERR_SIZE;
    }
    n_x = RTU_AC_N_X(s->n_obs, s->prev_action, s->prev_reward, s->n_actions);
    if (n_x > RTU_MAX_DIM) { /* the input of W_in, or of the cell (which refuses more) */
        return RTU_ERR_SIZE;
    }
    /* an upper bound of RTU_AC_REALS in double (exact below 2^53): the products first; the
     * LRU's readout (lru) adds 4n^2 + 2ne parameters and its x to each cell */
    {
        double x = (double)n_x, m = (double)s->n_embed, n = (double)s->n_hidden;
        double k = (double)s->n_head, e = s->n_embed ? m : x, o = 2.0 * (double)s->n_actions;
        double lru = s->kind == RTU_KIND_LRU, readout = lru * (4.0 * n * n + 2.0 * n * e);
        reals = 2.0 * (m * (x + 1.0) + 2.0 * m + 18.0 * n + 6.0 * n * e + readout + lru * e) +
                4.0 * (k * (2.0 * n + 1.0) + (o + 1.0) * (k + 2.0 * n + 1.0) + m * (x + 1.0) +
                       2.0 * n + 2.0 * n * e + readout) +
                7.0 * k + 3.0 * m + 4.0 * n + 3.0 * o + 1.0 + 2.0 * x + 3.0 * (double)s->n_obs +
                (double)s->n_actions;
    }
    return rtu_reals_fit(reals) ? RTU_OK : RTU_ERR_SIZE;
}

static size_t policy_outputs(const rtu_ac_shape *s)
{
    return RTU_AC_N_OUT_POLICY(s->action_kind, s->n_actions);
}

rtu_status rtu_ac_buffer_size(const rtu_ac_shape *s, size_t *bytes)
{
    rtu_status status = rtu_ac_check_shape(s);
    if (status != RTU_OK) {
        return status;
    }
    if (bytes == NULL) {
        return RTU_ERR_NULL;
    }
    *bytes = RTU_AC_BUFFER_BYTES(s->kind, s->n_obs, s->n_hidden, s->n_embed, s->n_head, s->shared,
                                 s->prev_action, s->prev_reward, s->action_kind, s->n_actions);
    return RTU_OK;
}

/* Lay a trunk out at p: input layer params, the cell's buffer, e_hat, e. Returns the end. */
static rtu_real *lay_trunk(rtu_ac_trunk *t, const rtu_ac_shape *s, size_t n_x, rtu_real *p)
{
    size_t m = s->n_embed, n_e = RTU_AC_N_E(n_x, m);
    size_t cell_reals = RTU_CELL_REALS(s->kind, n_e, s->n_hidden);
    t->n_x = n_x;
    t->n_embed = m;
    t->embed = m ? p : NULL;
    t->params = p;
    p += RTU_AC_EMBED_PARAMS(n_x, m);
    /* the shape was checked, so the cell's init cannot fail */
    (void)rtu_cell_init(&t->cell, s->kind, s->activation, n_e, s->n_hidden, p,
                        cell_reals * sizeof(rtu_real));
    p += cell_reals;
    t->n_params = RTU_AC_EMBED_PARAMS(n_x, m) + t->cell.n_params;
    t->e_hat = p;
    p += m;
    t->e = p;
    p += m;
    t->e_inv_std = 0;
    return p;
}

rtu_status rtu_ac_init(rtu_ac *ac, const rtu_ac_shape *shape, const rtu_ac_config *config,
                       uint64_t seed, void *buffer, size_t buffer_bytes)
{
    rtu_status status;
    size_t bytes, r, n_x, n2, k, m, total;
    rtu_real *p;
    const rtu_ac_shape *s = shape;
    if (ac == NULL || shape == NULL || config == NULL || buffer == NULL) {
        return RTU_ERR_NULL;
    }
    status = rtu_ac_check_config(config, NULL);
    if (status == RTU_OK) {
        status = rtu_ac_buffer_size(shape, &bytes);
    }
    if (status != RTU_OK) {
        return status;
    }
    if (buffer_bytes < bytes) {
        return RTU_ERR_BUFFER_SMALL;
    }
    if ((uintptr_t)buffer % sizeof(rtu_real) != 0) {
        return RTU_ERR_BUFFER_ALIGN;
    }
    total = bytes / sizeof(rtu_real);
    rtu_zero((rtu_real *)buffer, total);
    ac->shape = *s;
    ac->config = *config;
    n_x = RTU_AC_N_X(s->n_obs, s->prev_action, s->prev_reward, s->n_actions);
    ac->n_x = n_x;
    n2 = 2 * s->n_hidden;
    k = s->n_head;
    m = s->n_embed;
    p = (rtu_real *)buffer;
    p = lay_trunk(&ac->trunk[0], s, n_x, p);
    if (s->shared) {
        ac->trunk[1] = ac->trunk[0]; /* unused (trunk_of): a copy rather than garbage */
    } else {
        p = lay_trunk(&ac->trunk[1], s, n_x, p);
    }
    for (r = 0; r < 2; ++r) {
        rtu_ac_head *h = &ac->head[r];
        h->n_head = k;
        h->n_out = r == 0 ? 1u : policy_outputs(s);
        h->n_params = RTU_AC_HEAD_PARAMS(s->n_hidden, k, h->n_out);
        h->params = p;
        p += h->n_params;
    }
    ac->n_value = ac->trunk[0].n_params + ac->head[0].n_params;
    ac->n_policy = ac->trunk[1].n_params + ac->head[1].n_params;
    ac->z_v = p;        p += ac->n_value;
    ac->z_pi = p;       p += ac->n_policy;
    for (r = 0; r < 2; ++r) {
        rtu_ac_head *h = &ac->head[r];
        h->q_hat = p;   p += k;
        h->q = p;       p += k;
        h->out = p;     p += h->n_out;
        h->q_inv_std = 0;
    }
    ac->peek = p;       p += 2 * m + n2 + 2 * k;
    ac->grad = p;       p += policy_outputs(s) + k + n2 + m;
    ac->pi = p;         p += policy_outputs(s);
    ac->x = p;          p += n_x;
    ac->x_next = p;     p += n_x;
    ac->obs_mean = p;   p += s->n_obs;
    ac->obs_m2 = p;     p += s->n_obs;
    ac->obs_last = p;   p += s->n_obs;
    ac->action = p;
    ac->ret_trace = ac->ret_mean = ac->ret_m2 = 0;
    ac->obs_count = ac->ret_count = 0;
    ac->reward_mean = ac->reward_m2 = 0;
    ac->reward_count = 0;
    ac->fed = ac->acted = 0;
    ac->steps = ac->episodes = 0;

    /* parameters, network by network in forward order: critic then actor (shared: the trunk,
     * then the two heads) */
    rtu_prng_seed(&ac->rng, seed);
    for (r = 0; r < 2; ++r) {
        rtu_ac_trunk *t = &ac->trunk[r];
        rtu_ac_head *h = &ac->head[r];
        if (r == 0 || !s->shared) {
            if (m) {
                rtu_dense_init(t->embed, n_x, m, config->sparsity, &ac->rng);
            }
            status = rtu_cell_init_params(&t->cell, &ac->rng, 0.0, 1.0, 6.28);
            if (status != RTU_OK) {
                return status;
            }
        }
        if (k) {
            rtu_dense_init(h->params, n2, k, config->sparsity, &ac->rng);
        }
        rtu_dense_init(h->params + (k ? k * (n2 + 1) : 0), k ? k : n2, h->n_out,
                       config->sparsity, &ac->rng);
    }
    return RTU_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Normalisation (Welford); the variance is 1 until two samples have been seen                 */

/* The statistics (count samples, mean, m2) with value added, into *mean and *m2 (the caller
 * stores them, and count + 1, to keep them); returns the sample variance after it. */
static rtu_real welford(rtu_real value, uint64_t count, rtu_real *mean, rtu_real *m2)
{
    rtu_real delta;
    count += 1;
    delta = value - *mean;
    *mean += delta / (rtu_real)count;
    *m2 += delta * (value - *mean);
    return count >= 2 ? *m2 / (rtu_real)(count - 1) : (rtu_real)1;
}

/* Entry j of an observation, value, normalised by the running statistics with it added:
 * (value - mean) / sqrt(var + eps); *mean and *m2 receive the statistics with it (the caller
 * keeps them, or not). */
static rtu_real normalized(const rtu_ac *ac, size_t j, rtu_real value, rtu_real *mean,
                           rtu_real *m2)
{
    rtu_real var;
    *mean = ac->obs_mean[j];
    *m2 = ac->obs_m2[j];
    var = welford(value, ac->obs_count, mean, m2);
    return (value - *mean) / RTU_SQRT(var + RTU_NORM_EPS);
}

void rtu_ac_normalize_obs(rtu_ac *ac, const rtu_real *obs, rtu_real *into)
{
    size_t j, d_in = ac->shape.n_obs;
    for (j = 0; j < d_in; ++j) {
        if (ac->config.normalize_obs) {
            into[j] = normalized(ac, j, obs[j], &ac->obs_mean[j], &ac->obs_m2[j]);
        } else {
            into[j] = obs[j];
        }
    }
    ac->obs_count += ac->obs_count < RTU_COUNT_LIMIT; /* counts stop there (rtu.h) */
}

rtu_real rtu_ac_return_scale(rtu_ac *ac, rtu_real u)
{
    rtu_real var = welford(u, ac->ret_count, &ac->ret_mean, &ac->ret_m2);
    ac->ret_count += ac->ret_count < RTU_COUNT_LIMIT; /* counts stop there (rtu.h) */
    return RTU_SQRT(var + RTU_NORM_EPS);
}

void rtu_ac_normalized_obs(const rtu_ac *ac, const rtu_real *obs, rtu_real *into)
{
    size_t j;
    rtu_real mean, m2;
    for (j = 0; j < ac->shape.n_obs; ++j) {
        into[j] = ac->config.normalize_obs ? normalized(ac, j, obs[j], &mean, &m2) : obs[j];
    }
}

/* The previous-reward input of reward (within RTU_INPUT_LIMIT): RTU_REWARD_SIGN, its sign;
 * RTU_REWARD_CENTERED_SIGN, its sign less the mean of the signs, the statistics' mean after adding
 * the sign to them; RTU_REWARD_GATED_SIGN, its sign where the statistics of the signs, the sign
 * added, have a sum of squared deviations above 0 (two signs have differed), else 0;
 * RTU_REWARD_NORMALIZED, normalised as an observation entry by the statistics after adding the
 * reward to them, (reward - mean) / sqrt(var + eps), or the raw reward when normalize_obs is off
 * (its statistics untouched). The count counts either way. Not yet clamped: the learner's extras
 * are clamped to RTU_INPUT_LIMIT where they are written. */
static rtu_real reward_input(rtu_ac *ac, rtu_real reward)
{
    rtu_real var, x = reward;
    if (ac->shape.prev_reward == RTU_REWARD_SIGN) {
        x = rtu_sign(reward);
    } else if (ac->shape.prev_reward == RTU_REWARD_CENTERED_SIGN ||
               ac->shape.prev_reward == RTU_REWARD_GATED_SIGN) { /* the signs' statistics */
        x = rtu_sign(reward);
        (void)welford(x, ac->reward_count, &ac->reward_mean, &ac->reward_m2);
        if (ac->shape.prev_reward == RTU_REWARD_CENTERED_SIGN) {
            x -= ac->reward_mean;
        } else if (!(ac->reward_m2 > 0)) { /* the gate: m2 is 0 while every sign was the same */
            x = 0;
        }
    } else if (ac->config.normalize_obs) {
        var = welford(reward, ac->reward_count, &ac->reward_mean, &ac->reward_m2);
        x = (reward - ac->reward_mean) / RTU_SQRT(var + RTU_NORM_EPS);
    }
    ac->reward_count += ac->reward_count < RTU_COUNT_LIMIT; /* counts stop there (rtu.h) */
    return x;
}

/* Whether obs (within RTU_INPUT_LIMIT), once normalised as normalize_obs would, is within
 * RTU_INPUT_LIMIT too, as every input of the networks: act and learn check it before they change
 * anything. Writes nothing. */
static rtu_status check_normalized(const rtu_ac *ac, const rtu_real *obs)
{
    size_t j;
    rtu_real mean, m2, v;
    for (j = 0; j < ac->shape.n_obs && ac->config.normalize_obs; ++j) {
        v = normalized(ac, j, obs[j], &mean, &m2);
        if (!(RTU_FABS(v) <= (rtu_real)RTU_INPUT_LIMIT)) {
            return isfinite(v) ? RTU_ERR_INPUT_RANGE : RTU_ERR_NONFINITE_INPUT;
        }
    }
    return RTU_OK;
}

rtu_status rtu_ac_check_values(const rtu_ac *ac, const rtu_real *obs, const rtu_real *reward)
{
    rtu_status status;
    if (ac == NULL || obs == NULL) {
        return RTU_ERR_NULL;
    }
    status = rtu_check_input(obs, ac->shape.n_obs);
    if (status == RTU_OK && reward != NULL) {
        status = rtu_check_input(reward, 1);
    }
    return status == RTU_OK ? check_normalized(ac, obs) : status;
}

/* ------------------------------------------------------------------------------------------ */
/* Forward                                                                                     */

/* The trunk of network r (0 critic, 1 actor). */
static rtu_ac_trunk *trunk_of(rtu_ac *ac, size_t r)
{
    return &ac->trunk[ac->shape.shared ? 0 : r];
}

/* The input layer on x into e_hat, e; returns LN's inverse std. */
static rtu_real embed_forward(const rtu_ac_trunk *t, const rtu_real *x, rtu_real *e_hat,
                              rtu_real *e)
{
    rtu_dense_forward(t->embed, x, t->n_x, t->n_embed, e_hat);
    return rtu_ln_lrelu(e_hat, e, t->n_embed);
}

/* The head on the features h into q_hat, q (k each) and out (rtu_head_forward); returns the
 * hidden LN's inverse std (0 without a hidden layer). */
static rtu_real head_forward(const rtu_ac_head *hd, size_t n2, const rtu_real *h, rtu_real *q_hat,
                             rtu_real *q, rtu_real *out)
{
    size_t k = hd->n_head;
    return rtu_head_forward(hd->params, hd->params + (k ? k * (n2 + 1) : 0), n2, k, hd->n_out,
                            h, q_hat, q, out);
}

/* Each head on its trunk's features. */
static void heads_forward(rtu_ac *ac)
{
    size_t r, n2 = 2 * ac->shape.n_hidden;
    for (r = 0; r < 2; ++r) {
        rtu_ac_head *hd = &ac->head[r];
        hd->q_inv_std = head_forward(hd, n2, trunk_of(ac, r)->cell.h, hd->q_hat, hd->q, hd->out);
    }
}

rtu_status rtu_ac_forward(rtu_ac *ac)
{
    rtu_status status = rtu_ac_trunks_forward(ac);
    if (status != RTU_OK) {
        return status;
    }
    heads_forward(ac);
    return RTU_OK;
}

/* Every network forward on ac->x; obs is remembered as the observation the networks hold. */
static rtu_status feed(rtu_ac *ac, const rtu_real *obs)
{
    size_t j;
    rtu_status status = rtu_ac_forward(ac);
    if (status != RTU_OK) {
        return status;
    }
    for (j = 0; j < ac->shape.n_obs; ++j) {
        ac->obs_last[j] = obs[j];
    }
    ac->fed = 1;
    return RTU_OK;
}

void rtu_ac_refresh_forward(rtu_ac *ac)
{
    size_t r;
    for (r = 0; r < (ac->shape.shared ? 1u : 2u); ++r) {
        rtu_ac_trunk *t = &ac->trunk[r];
        if (t->n_embed) {
            t->e_inv_std = embed_forward(t, ac->x, t->e_hat, t->e);
        }
    }
    heads_forward(ac);
}

/* v(s') of the critic on x_next, without changing any state or trace (the peek scratch). */
rtu_real rtu_ac_peek_value(rtu_ac *ac)
{
    const rtu_ac_trunk *t = &ac->trunk[0];
    const rtu_ac_head *hd = &ac->head[0];
    size_t m = t->n_embed, n2 = 2 * ac->shape.n_hidden, k = hd->n_head;
    rtu_real *e_hat = ac->peek, *e = e_hat + m, *h = e + m, *q_hat = h + n2, *q = q_hat + k, out;
    if (m) {
        (void)embed_forward(t, ac->x_next, e_hat, e);
    }
    rtu_cell_peek(&t->cell, m ? e : ac->x_next, ac->shape.memoryless, h);
    (void)head_forward(hd, n2, h, q_hat, q, &out);
    return out;
}

/* ------------------------------------------------------------------------------------------ */
/* The policy                                                                                  */

void rtu_ac_begin_episode(rtu_ac *ac)
{
    rtu_zero(ac->z_v, ac->n_value);
    rtu_zero(ac->z_pi, ac->n_policy);
    rtu_cell_reset(&ac->trunk[0].cell);
    if (!ac->shape.shared) {
        rtu_cell_reset(&ac->trunk[1].cell);
    }
    ac->fed = 0;
    ac->acted = 0;
}

rtu_real rtu_ac_value(const rtu_ac *ac)
{
    return ac->head[0].out[0];
}

void rtu_ac_policy_forward(rtu_ac *ac)
{
    size_t i, A = ac->shape.n_actions;
    const rtu_real *out = ac->head[1].out;
    if (ac->shape.action_kind == RTU_ACTIONS_DISCRETE) { /* shifted by the max */
        rtu_real mx = out[0], sum = 0, log_sum;
        for (i = 1; i < A; ++i) {
            mx = out[i] > mx ? out[i] : mx;
        }
        for (i = 0; i < A; ++i) {
            sum += RTU_EXP(out[i] - mx);
        }
        log_sum = mx + RTU_LOG(sum);
        for (i = 0; i < A; ++i) {
            ac->pi[i] = out[i] - log_sum;
        }
    } else { /* std = min(std_min + softplus(pre), std_max) */
        for (i = 0; i < A; ++i) {
            ac->pi[i] = out[i];
            ac->pi[A + i] = rtu_bounded_std(out[A + i], ac->config.std_min, ac->config.std_max,
                                            NULL);
        }
    }
}

void rtu_ac_sample_action(rtu_ac *ac)
{
    size_t i, A = ac->shape.n_actions;
    if (ac->shape.action_kind == RTU_ACTIONS_DISCRETE) { /* inverse CDF; the last takes the rest */
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
        for (i = 0; i < A; ++i) {
            ac->action[i] = ac->pi[i] + ac->pi[A + i] * (rtu_real)rtu_prng_normal(&ac->rng);
        }
    }
}

/* What act refuses before it changes anything (rtu_ac.h). */
static rtu_status act_check(const rtu_ac *ac, const rtu_real *obs)
{
    size_t j;
    rtu_status status = rtu_check_input(obs, ac->shape.n_obs);
    if (status != RTU_OK) {
        return status;
    }
    if (ac->acted) {
        return RTU_ERR_ORDER;
    }
    if (ac->fed) { /* learn fed next_obs already: it must be this observation */
        for (j = 0; j < ac->shape.n_obs; ++j) {
            if (obs[j] != ac->obs_last[j]) {
                return RTU_ERR_ORDER;
            }
        }
        return RTU_OK;
    }
    return check_normalized(ac, obs); /* before the statistics take it */
}

/* act after act_check. */
static rtu_status act_run(rtu_ac *ac, const rtu_real *obs, rtu_real *action)
{
    size_t j, A;
    rtu_status status;
    if (!ac->fed) { /* an episode's first step: no previous action or reward */
        rtu_ac_normalize_obs(ac, obs, ac->x);
        rtu_zero(ac->x + ac->shape.n_obs, ac->n_x - ac->shape.n_obs);
        status = feed(ac, obs);
        if (status != RTU_OK) {
            return status;
        }
    }
    rtu_ac_policy_forward(ac);
    if (!rtu_all_finite(ac->pi, policy_outputs(&ac->shape))) {
        return RTU_ERR_DIVERGED; /* the actor's outputs overflowed: never a non-finite action */
    }
    rtu_ac_sample_action(ac);
    A = ac->shape.action_kind == RTU_ACTIONS_DISCRETE ? 1 : ac->shape.n_actions;
    for (j = 0; j < A; ++j) {
        action[j] = ac->action[j];
    }
    ac->acted = 1;
    return RTU_OK;
}

rtu_status rtu_ac_act(rtu_ac *ac, const rtu_real *obs, rtu_real *action)
{
    rtu_status status;
    if (ac == NULL || obs == NULL || action == NULL) {
        return RTU_ERR_NULL;
    }
    status = act_check(ac, obs);
    return status == RTU_OK ? act_run(ac, obs, action) : status;
}

/* ------------------------------------------------------------------------------------------ */
/* Learning                                                                                    */

void rtu_ac_policy_gradient(const rtu_ac *ac, rtu_real logp_scale, rtu_real entropy_scale,
                            rtu_real *d_out)
{
    size_t i, A = ac->shape.n_actions;
    if (ac->shape.action_kind == RTU_ACTIONS_DISCRETE) {
        /* d/dlogit_i = w ([i == a] - p_i) + c (-p_i (log p_i + H)) */
        size_t a = (size_t)ac->action[0];
        rtu_real entropy = 0;
        for (i = 0; i < A; ++i) {
            entropy -= RTU_EXP(ac->pi[i]) * ac->pi[i];
        }
        for (i = 0; i < A; ++i) {
            rtu_real p = RTU_EXP(ac->pi[i]);
            d_out[i] = logp_scale * ((i == a ? (rtu_real)1 : (rtu_real)0) - p) -
                       entropy_scale * p * (ac->pi[i] + entropy);
        }
    } else {
        /* log pi = -sum ((a - mu)^2 / (2 std^2) + log std) + const, H = sum log std + const:
         * d/dmu = w (a - mu) / std^2; d/dstd = w ((a - mu)^2 / std^3 - 1 / std) + c / std;
         * d std / d pre = sigmoid(pre) below std_max, 0 at it */
        const rtu_real *pre = ac->head[1].out + A;
        for (i = 0; i < A; ++i) {
            rtu_real mu = ac->pi[i], std = ac->pi[A + i], diff = ac->action[i] - mu;
            rtu_real inv = (rtu_real)1 / std;
            rtu_real d_std = logp_scale * (diff * diff * inv * inv * inv - inv) +
                             entropy_scale * inv;
            int bounded;
            (void)rtu_bounded_std(pre[i], ac->config.std_min, ac->config.std_max, &bounded);
            d_out[i] = logp_scale * (diff * inv * inv);
            d_out[A + i] = bounded ? (rtu_real)0
                                   : d_std / ((rtu_real)1 + RTU_EXP(-pre[i]));
        }
    }
}

void rtu_ac_backward(rtu_ac *ac, size_t r, rtu_real *d_out, rtu_real decay, rtu_real *z)
{
    const rtu_ac_trunk *t = trunk_of(ac, r);
    const rtu_ac_head *hd = &ac->head[r];
    size_t n2 = 2 * ac->shape.n_hidden, k = hd->n_head;
    rtu_real *d_q = ac->grad + policy_outputs(&ac->shape), *d_h = d_q + k, *d_e = d_h + n2;
    rtu_real *z_head = z + t->n_params;
    const rtu_real *h = t->cell.h;
    rtu_ac_head_top_backward(hd, n2, h, hd->q_hat, hd->q, hd->q_inv_std, d_out, decay, z_head,
                             k ? d_q : d_h);
    if (k) {
        rtu_dense_backward(hd->params, h, d_q, n2, k, decay, z_head, d_h);
    }
    rtu_ac_trunk_backward(ac, t, d_h, decay, z, d_e);
}

/* v clamped to [-RTU_INPUT_LIMIT, RTU_INPUT_LIMIT] (v finite). */
static rtu_real clamp_input(rtu_real v)
{
    const rtu_real limit = (rtu_real)RTU_INPUT_LIMIT;
    return v > limit ? limit : (v < -limit ? -limit : v);
}

void rtu_ac_write_extras(rtu_ac *ac, rtu_real reward, rtu_real *x)
{
    const rtu_ac_shape *s = &ac->shape;
    size_t i, at = s->n_obs;
    if (s->prev_action) {
        if (s->action_kind == RTU_ACTIONS_DISCRETE) {
            for (i = 0; i < s->n_actions; ++i) {
                x[at + i] = i == (size_t)ac->action[0] ? (rtu_real)1 : (rtu_real)0;
            }
        } else { /* within the cell's input range, so the forward of x cannot refuse it */
            for (i = 0; i < s->n_actions; ++i) {
                x[at + i] = clamp_input(ac->action[i]);
            }
        }
        at += s->n_actions;
    }
    if (s->prev_reward) {
        x[at] = clamp_input(reward_input(ac, reward));
    }
}

static void set_trace(rtu_obgd_trace *tr, rtu_real *z, size_t n_z, rtu_ac_trunk *t,
                      rtu_ac_head *hd, rtu_real kappa, rtu_real phase_scale)
{
    tr->z = z;
    tr->trunk = t->params;
    tr->n_trunk = t->n_params;
    tr->cell = &t->cell;
    tr->head = hd->params;
    tr->n_head = hd->n_params;
    tr->kappa = kappa;
    tr->phase_scale = phase_scale;
    tr->z_norm1 = rtu_sum_abs(z, n_z);
    tr->grad = NULL;
    tr->decay = 0; /* unused without grad */
}

/* What learn refuses before it changes anything (rtu_ac.h). */
static rtu_status learn_check(const rtu_ac *ac, rtu_real reward, const rtu_real *next_obs)
{
    rtu_status status = rtu_check_input(next_obs, ac->shape.n_obs);
    if (status == RTU_OK) {
        status = rtu_check_input(&reward, 1);
    }
    if (status != RTU_OK) {
        return status;
    }
    if (!ac->acted) {
        return RTU_ERR_ORDER;
    }
    return check_normalized(ac, next_obs); /* before the statistics take it */
}

/* learn after learn_check. */
static rtu_status learn_run(rtu_ac *ac, rtu_real reward, const rtu_real *next_obs,
                            int terminated, int truncated)
{
    const rtu_ac_config *cfg = &ac->config;
    size_t i;
    rtu_real r, v_s, v_next = 0, delta, decay, sign, d_value = 1;
    rtu_obgd_trace traces[2];
    rtu_status status;

    /* reward scaling: r~ = r / sqrt(var(u) + eps), u the discounted return trace */
    r = reward;
    if (cfg->scale_reward) {
        ac->ret_trace = cfg->gamma * (terminated ? (rtu_real)0 : (rtu_real)1) * ac->ret_trace +
                        reward;
        r = reward / rtu_ac_return_scale(ac, ac->ret_trace);
    }
    /* x_{t+1} = [normalised s_{t+1}; a_t; normalised r, sign(r), sign(r) - mean or gated sign] */
    rtu_ac_normalize_obs(ac, next_obs, ac->x_next);
    rtu_ac_write_extras(ac, reward, ac->x_next);
    /* delta = r~ + gamma (1 - terminated) v(s_{t+1}) - v(s_t), v(s_{t+1}) by a peek at theta_t */
    v_s = rtu_ac_value(ac);
    if (!terminated) {
        v_next = rtu_ac_peek_value(ac);
    }
    delta = r + cfg->gamma * v_next - v_s;
    sign = rtu_sign(delta);

    /* z_v = gamma lambda z_v + grad v(s);  z_pi = gamma lambda z_pi + grad [log pi + c sign H] */
    decay = cfg->gamma * cfg->lambda;
    rtu_ac_backward(ac, 0, &d_value, decay, ac->z_v);
    rtu_ac_policy_gradient(ac, 1, cfg->entropy_coef * sign, ac->grad);
    rtu_ac_backward(ac, 1, ac->grad, decay, ac->z_pi);

    /* one ObGD (or SGD) step per trace over its network, a shared trunk taking both; the phase
     * wrap (the backward scratch is free again: it takes the ratios) and the refresh */
    set_trace(&traces[0], ac->z_v, ac->n_value, &ac->trunk[0], &ac->head[0], cfg->kappa_value,
              cfg->phase_step_scale);
    set_trace(&traces[1], ac->z_pi, ac->n_policy, trunk_of(ac, 1), &ac->head[1],
              cfg->kappa_policy, cfg->phase_step_scale);
    status = rtu_obgd_update(cfg->optimizer == RTU_OPT_OBGD, cfg->alpha, delta, traces, 2,
                             ac->grad);
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
    /* forward x_{t+1} at theta_{t+1}: the next act starts from it */
    for (i = 0; i < ac->n_x; ++i) {
        ac->x[i] = ac->x_next[i];
    }
    return feed(ac, next_obs);
}

rtu_status rtu_ac_learn(rtu_ac *ac, rtu_real reward, const rtu_real *next_obs, int terminated,
                        int truncated)
{
    rtu_status status;
    if (ac == NULL || next_obs == NULL) {
        return RTU_ERR_NULL;
    }
    status = learn_check(ac, reward, next_obs);
    return status == RTU_OK ? learn_run(ac, reward, next_obs, terminated, truncated) : status;
}

/* ------------------------------------------------------------------------------------------ */
/* Batches                                                                                     */

rtu_status rtu_ac_batch_buffer_size(const rtu_ac_shape *shape, size_t count, size_t *bytes)
{
    size_t one;
    rtu_status status;
    if (bytes == NULL) {
        return RTU_ERR_NULL;
    }
    status = rtu_ac_buffer_size(shape, &one);
    return status == RTU_OK ? rtu_batch_bytes(one, count, bytes) : status;
}

rtu_status rtu_ac_batch_init(rtu_ac *acs, size_t count, const rtu_ac_shape *shape,
                             const rtu_ac_config *config, const uint64_t *seeds, void *buffer,
                             size_t buffer_bytes)
{
    size_t i, one, bytes;
    rtu_status status;
    if (acs == NULL || seeds == NULL || buffer == NULL || config == NULL) {
        return RTU_ERR_NULL;
    }
    status = rtu_ac_check_config(config, NULL);
    if (status == RTU_OK) {
        status = rtu_ac_batch_buffer_size(shape, count, &bytes);
    }
    if (status != RTU_OK) {
        return status;
    }
    if (buffer_bytes < bytes) {
        return RTU_ERR_BUFFER_SMALL;
    }
    one = bytes / count;
    for (i = 0; i < count; ++i) {
        status = rtu_ac_init(&acs[i], shape, config, seeds[i], (char *)buffer + i * one, one);
        if (status != RTU_OK) {
            return status;
        }
    }
    return RTU_OK;
}

/* Learner i takes part in a batch call. */
static int batch_active(const unsigned char *active, size_t i)
{
    return active == NULL || active[i];
}

/* Learner i's status in a batch call's run: the first failure is the call's (*at its index);
 * diverged[i] (diverged may be NULL) says whether it failed. */
static void batch_result(rtu_status status, size_t i, rtu_status *first, size_t *at,
                         unsigned char *diverged)
{
    if (status != RTU_OK && *first == RTU_OK) {
        *first = status;
        *at = i;
    }
    if (diverged != NULL) {
        diverged[i] = (unsigned char)(status != RTU_OK);
    }
}

rtu_status rtu_ac_act_batch(rtu_ac *acs, size_t count, const rtu_real *obs,
                            const unsigned char *active, rtu_real *actions, size_t *at,
                            unsigned char *diverged)
{
    size_t i, n_obs, A;
    rtu_status status = RTU_OK, first = RTU_OK;
    if (acs == NULL || obs == NULL || actions == NULL || at == NULL) {
        return RTU_ERR_NULL;
    }
    if (count > RTU_MAX_BATCH) {
        return RTU_ERR_SIZE;
    }
    if (count == 0) {
        return RTU_OK;
    }
    n_obs = acs[0].shape.n_obs;
    A = acs[0].shape.action_kind == RTU_ACTIONS_DISCRETE ? 1u : acs[0].shape.n_actions;
    for (i = 0; i < count && status == RTU_OK; ++i) {
        *at = i;
        status = batch_active(active, i) ? act_check(&acs[i], obs + i * n_obs) : RTU_OK;
    }
    if (status != RTU_OK) {
        return status;
    }
    for (i = 0; i < count; ++i) {
        if (batch_active(active, i)) {
            status = act_run(&acs[i], obs + i * n_obs, actions + i * A);
            batch_result(status, i, &first, at, diverged);
        } else if (diverged != NULL) {
            diverged[i] = 0;
        }
    }
    return first;
}

rtu_status rtu_ac_learn_batch(rtu_ac *acs, size_t count, const rtu_real *rewards,
                              const rtu_real *next_obs, const unsigned char *terminated,
                              const unsigned char *truncated, const unsigned char *active,
                              size_t *at, unsigned char *diverged)
{
    size_t i, n_obs;
    rtu_status status = RTU_OK, first = RTU_OK;
    if (acs == NULL || rewards == NULL || next_obs == NULL || terminated == NULL ||
        truncated == NULL || at == NULL) {
        return RTU_ERR_NULL;
    }
    if (count > RTU_MAX_BATCH) {
        return RTU_ERR_SIZE;
    }
    if (count == 0) {
        return RTU_OK;
    }
    n_obs = acs[0].shape.n_obs;
    for (i = 0; i < count && status == RTU_OK; ++i) {
        *at = i;
        status = batch_active(active, i)
                     ? learn_check(&acs[i], rewards[i], next_obs + i * n_obs)
                     : RTU_OK;
    }
    if (status != RTU_OK) {
        return status;
    }
    for (i = 0; i < count; ++i) {
        if (batch_active(active, i)) {
            status = learn_run(&acs[i], rewards[i], next_obs + i * n_obs, terminated[i] != 0,
                               truncated[i] != 0);
            batch_result(status, i, &first, at, diverged);
        } else if (diverged != NULL) {
            diverged[i] = 0;
        }
    }
    return first;
}
