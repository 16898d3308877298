/*
 * PPO with RTRL on the actor-critic's network: rollouts of N environments with a context each,
 * the clipped loss's gradient from the stored (stale) or recomputed (fresh) RTRL traces, Adam.
 * The algorithm is written out at the top of rtu_ppo.h; rtu_edge/reference/ppo.py is the same
 * code in numpy, and rtu_edge/ppo.py the outer loop (GAE, epochs, minibatches).
 */
#include <math.h>
#include <string.h>

#include "rtu_ppo.h"
#include "rtu_internal.h"

#define RTU_LOG_SQRT_2PI 0.91893853320467274178 /* log sqrt(2 pi) of the Gaussian's log-density */

rtu_status rtu_ppo_check_loss(const rtu_ppo_loss *loss, const char **what)
{
    const char *bad = NULL;
    if (loss == NULL) {
        return RTU_ERR_NULL;
    }
    if (!rtu_rule_ok(loss->clip_coef, RTU_RULE_POSITIVE)) {
        bad = "clip_coef";
    } else if (!rtu_rule_ok(loss->vf_coef, RTU_RULE_NONNEGATIVE)) {
        bad = "vf_coef";
    } else if (loss->clip_vloss != 0 && loss->clip_vloss != 1) {
        bad = "clip_vloss";
    }
    return rtu_config_verdict(bad, what);
}

rtu_status rtu_ppo_check_adam(const rtu_ppo_adam *adam, const char **what)
{
    const char *bad = NULL;
    if (adam == NULL) {
        return RTU_ERR_NULL;
    }
    if (!rtu_rule_ok(adam->learning_rate, RTU_RULE_POSITIVE)) {
        bad = "learning_rate";
    } else if (!rtu_rule_ok(adam->adam_beta1, RTU_RULE_UNIT) || adam->adam_beta1 >= 1) {
        bad = "adam_beta1";
    } else if (!rtu_rule_ok(adam->adam_beta2, RTU_RULE_UNIT) || adam->adam_beta2 >= 1) {
        bad = "adam_beta2";
    } else if (!rtu_rule_ok(adam->adam_eps, RTU_RULE_POSITIVE)) {
        bad = "adam_eps";
    } else if (!rtu_rule_ok(adam->max_grad_norm, RTU_RULE_NONNEGATIVE)) {
        bad = "max_grad_norm";
    }
    return rtu_config_verdict(bad, what);
}

/* ------------------------------------------------------------------------------------------ */
/* Layout                                                                                      */

/* Reals of one cell's context (state and RTRL traces) for the shape. */
static size_t cell_context(const rtu_ac_shape *s)
{
    size_t n_x = RTU_AC_N_X(s->n_obs, s->prev_action, s->prev_reward, s->n_actions);
    size_t n_e = RTU_AC_N_E(n_x, s->n_embed);
    return RTU_CELL_STATE(s->kind, n_e, s->n_hidden) + RTU_CELL_TRACES(s->kind, n_e, s->n_hidden);
}

static size_t action_reals(const rtu_ac_shape *s)
{
    return s->action_kind == RTU_ACTIONS_DISCRETE ? 1u : s->n_actions;
}

/* The update's chunk (rtu_ppo_gradient): for each of its RTU_PPO_CHUNK samples, an environment's
 * context (the cells after the sample's step), its input x, each trunk's input-layer activations
 * e_hat (m) and LN inverse std; for each head: the features h (2n), the hidden layer's q_hat and
 * q (k each) and LN inverse std, dL/dq_hat (k) and dL/dh (2n). Then the dense kernels' scratch:
 * the inputs transposed (2n x RTU_PPO_CHUNK) and the partial sums (RTU_DENSE_PARTIALS). */
typedef char rtu_ppo_chunk_is_blocks[RTU_PPO_CHUNK % RTU_DENSE_BLOCK == 0 ? 1 : -1];

typedef struct {
    rtu_real *ctx, *x, *e_hat[2], *e_inv_std[2];
    rtu_real *h[2], *q_hat[2], *q[2], *q_inv_std[2], *d_q[2], *d_h[2];
    rtu_real *xt, *p;
} chunk_work;

/* The chunk's arrays from p (NULL: only their size); returns the reals they take. */
static size_t chunk_layout(const rtu_ac_shape *s, size_t ctx, rtu_real *p, chunk_work *w)
{
    const size_t K = RTU_PPO_CHUNK;
    size_t n_x = RTU_AC_N_X(s->n_obs, s->prev_action, s->prev_reward, s->n_actions);
    size_t m = s->n_embed, n2 = 2 * s->n_hidden, k = s->n_head, at = 0, r;
    chunk_work unused;
    if (w == NULL) {
        w = &unused;
    }
#define RTU_PPO_TAKE(field, count)                                                                 \
    do {                                                                                           \
        (field) = p != NULL ? p + at : NULL;                                                       \
        at += (count);                                                                             \
    } while (0)
    RTU_PPO_TAKE(w->ctx, K * ctx);
    RTU_PPO_TAKE(w->x, K * n_x);
    for (r = 0; r < 2; ++r) {
        RTU_PPO_TAKE(w->e_hat[r], K * m);
        RTU_PPO_TAKE(w->e_inv_std[r], K);
        RTU_PPO_TAKE(w->h[r], K * n2);
        RTU_PPO_TAKE(w->q_hat[r], K * k);
        RTU_PPO_TAKE(w->q[r], K * k);
        RTU_PPO_TAKE(w->q_inv_std[r], K);
        RTU_PPO_TAKE(w->d_q[r], K * k);
        RTU_PPO_TAKE(w->d_h[r], K * n2);
    }
    RTU_PPO_TAKE(w->xt, n2 * K);
    RTU_PPO_TAKE(w->p, RTU_DENSE_PARTIALS);
#undef RTU_PPO_TAKE
    return at;
}

static size_t chunk_reals(const rtu_ac_shape *s, size_t ctx)
{
    return chunk_layout(s, ctx, NULL, NULL);
}

/* Reals PPO adds to the actor-critic's buffer (in double: an upper bound, exact below 2^53). */
static double extra_reals(const rtu_ac_shape *s, size_t n_envs, size_t n_steps)
{
    size_t n_x = RTU_AC_N_X(s->n_obs, s->prev_action, s->prev_reward, s->n_actions);
    size_t n_e = RTU_AC_N_E(n_x, s->n_embed);
    double ctx = (s->shared ? 1.0 : 2.0) * (double)cell_context(s) + (double)(n_x - s->n_obs);
    double a = (double)action_reals(s), N = (double)n_envs, T = (double)n_steps;
    /* n_value + n_policy: each network's trunk and head, shared or not */
    double n_grad = 2.0 * ((double)RTU_AC_EMBED_PARAMS(n_x, s->n_embed) +
                           (double)RTU_CELL_PARAMS(s->kind, n_e, s->n_hidden)) +
                    (double)RTU_AC_HEAD_PARAMS(s->n_hidden, s->n_head, 1u) +
                    (double)RTU_AC_HEAD_PARAMS(s->n_hidden, s->n_head,
                                               RTU_AC_N_OUT_POLICY(s->action_kind, s->n_actions));
    return (T + 1.0) * N * ctx + T * N * ((double)n_x + a + 3.0) + N + 3.0 * n_grad +
           (double)chunk_reals(s, (size_t)ctx);
}

rtu_status rtu_ppo_buffer_size(const rtu_ac_shape *shape, size_t n_envs, size_t n_steps,
                               size_t *bytes)
{
    size_t ac_bytes;
    double reals;
    rtu_status status = rtu_ac_buffer_size(shape, &ac_bytes);
    if (status != RTU_OK) {
        return status;
    }
    if (n_envs == 0 || n_steps == 0 || n_envs > RTU_MAX_BATCH || n_steps > RTU_MAX_BATCH) {
        return RTU_ERR_SIZE;
    }
    reals = (double)(ac_bytes / sizeof(rtu_real)) + extra_reals(shape, n_envs, n_steps);
    if (!rtu_reals_fit(reals)) {
        return RTU_ERR_SIZE;
    }
    *bytes = (size_t)reals * sizeof(rtu_real);
    return RTU_OK;
}

static size_t trunk_count(const rtu_ppo *ppo)
{
    return ppo->ac.shape.shared ? 1u : 2u;
}

rtu_status rtu_ppo_init(rtu_ppo *ppo, const rtu_ac_shape *shape, const rtu_ac_config *config,
                        size_t n_envs, size_t n_steps, uint64_t seed, void *buffer,
                        size_t buffer_bytes)
{
    size_t bytes, ac_bytes, N = n_envs, T = n_steps;
    rtu_status status;
    rtu_real *p;
    if (ppo == NULL || shape == NULL || config == NULL || buffer == NULL) {
        return RTU_ERR_NULL;
    }
    status = rtu_ac_check_config(config, NULL);
    if (status == RTU_OK) {
        status = rtu_ppo_buffer_size(shape, n_envs, n_steps, &bytes);
    }
    if (status != RTU_OK) {
        return status;
    }
    if (buffer_bytes < bytes) {
        return RTU_ERR_BUFFER_SMALL;
    }
    (void)rtu_ac_buffer_size(shape, &ac_bytes);
    status = rtu_ac_init(&ppo->ac, shape, config, seed, buffer, ac_bytes);
    if (status != RTU_OK) {
        return status;
    }
    ppo->n_envs = N;
    ppo->n_steps = T;
    ppo->cell_ctx = cell_context(shape);
    ppo->ctx = trunk_count(ppo) * ppo->cell_ctx + (ppo->ac.n_x - shape->n_obs);
    ppo->n_grad = ppo->ac.n_value + ppo->ac.n_policy;
    ppo->action_reals = action_reals(shape);
    ppo->cell_own[0] = ppo->ac.trunk[0].cell.c;
    ppo->cell_own[1] = ppo->ac.trunk[1].cell.c;
    p = (rtu_real *)((char *)buffer + ac_bytes);
    rtu_zero(p, (bytes - ac_bytes) / sizeof(rtu_real));
    ppo->contexts = p;   p += (T + 1) * N * ppo->ctx;
    ppo->inputs = p;     p += T * N * ppo->ac.n_x;
    ppo->actions = p;    p += T * N * ppo->action_reals;
    ppo->log_probs = p;  p += T * N;
    ppo->values = p;     p += T * N;
    ppo->dones = p;      p += T * N;
    ppo->ret_traces = p; p += N;
    ppo->grad = p;       p += ppo->n_grad;
    ppo->adam_m = p;     p += ppo->n_grad;
    ppo->adam_v = p;     p += ppo->n_grad;
    ppo->work = p;
    ppo->work_reals = chunk_reals(shape, ppo->ctx);
    ppo->adam_steps = 0;
    ppo->t = 0;
    ppo->acted = 0;
    return RTU_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Contexts                                                                                    */

static rtu_real *context(const rtu_ppo *ppo, size_t t, size_t i)
{
    return ppo->contexts + (t * ppo->n_envs + i) * ppo->ctx;
}

/* The cells take ctx's states and traces. */
static void load_cells(rtu_ppo *ppo, const rtu_real *ctx)
{
    size_t r;
    for (r = 0; r < trunk_count(ppo); ++r) {
        memcpy(ppo->ac.trunk[r].cell.c, ctx + r * ppo->cell_ctx, ppo->cell_ctx * sizeof(rtu_real));
    }
}

/* The cells take ctx's states and traces; ac->x's extras take ctx's. */
static void load_context(rtu_ppo *ppo, const rtu_real *ctx)
{
    size_t n_obs = ppo->ac.shape.n_obs;
    load_cells(ppo, ctx);
    memcpy(ppo->ac.x + n_obs, ctx + trunk_count(ppo) * ppo->cell_ctx,
           (ppo->ac.n_x - n_obs) * sizeof(rtu_real));
}

/* The cells step ctx's states and traces in place (rtu_cell_place_context), or, ctx NULL, their
 * own again (their buffers', as rtu_ac_init lays them out). */
static void place_cells(rtu_ppo *ppo, rtu_real *ctx)
{
    size_t r;
    for (r = 0; r < trunk_count(ppo); ++r) {
        rtu_cell_place_context(&ppo->ac.trunk[r].cell,
                               ctx != NULL ? ctx + r * ppo->cell_ctx : ppo->cell_own[r]);
    }
}

/* ctx's states and traces take the cells' (its extras are written by the feedback). */
static void save_cells(const rtu_ppo *ppo, rtu_real *ctx)
{
    size_t r;
    for (r = 0; r < trunk_count(ppo); ++r) {
        memcpy(ctx + r * ppo->cell_ctx, ppo->ac.trunk[r].cell.c, ppo->cell_ctx * sizeof(rtu_real));
    }
}

/* log pi(ac->action | s) of the latest policy forward, and its entropy into *entropy. */
static rtu_real log_prob(const rtu_ac *ac, rtu_real *entropy)
{
    size_t i, A = ac->shape.n_actions;
    rtu_real lp = 0, h = 0;
    if (ac->shape.action_kind == RTU_ACTIONS_DISCRETE) {
        for (i = 0; i < A; ++i) {
            h -= RTU_EXP(ac->pi[i]) * ac->pi[i];
        }
        lp = ac->pi[(size_t)ac->action[0]];
    } else {
        for (i = 0; i < A; ++i) {
            rtu_real std = ac->pi[A + i], u = (ac->action[i] - ac->pi[i]) / std;
            rtu_real log_std = RTU_LOG(std);
            lp -= (rtu_real)0.5 * u * u + log_std + (rtu_real)RTU_LOG_SQRT_2PI;
            h += (rtu_real)0.5 + (rtu_real)RTU_LOG_SQRT_2PI + log_std;
        }
    }
    *entropy = h;
    return lp;
}

/* ------------------------------------------------------------------------------------------ */
/* Rollouts                                                                                    */

/* Each row i < count of v (width reals) passes check (*at: the first that does not). */
static rtu_status check_rows(const rtu_real *v, size_t count, size_t width, size_t *at)
{
    size_t i;
    for (i = 0; i < count; ++i) {
        rtu_status status = rtu_check_input(v + i * width, width);
        if (status != RTU_OK) {
            *at = i;
            return status;
        }
    }
    return RTU_OK;
}

rtu_status rtu_ppo_act(rtu_ppo *ppo, const rtu_real *obs, rtu_real *actions, rtu_real *values,
                       rtu_real *log_probs, size_t *at)
{
    rtu_ac *ac;
    size_t i, j, N, n_obs, a;
    rtu_status status;
    if (ppo == NULL || obs == NULL || actions == NULL || values == NULL || log_probs == NULL ||
        at == NULL) {
        return RTU_ERR_NULL;
    }
    ac = &ppo->ac;
    N = ppo->n_envs;
    n_obs = ac->shape.n_obs;
    a = ppo->action_reals;
    if (ppo->acted || ppo->t >= ppo->n_steps) {
        return RTU_ERR_ORDER;
    }
    for (i = 0; i < N; ++i) {
        *at = i;
        status = rtu_ac_check_values(ac, obs + i * n_obs, NULL);
        if (status != RTU_OK) {
            return status;
        }
    }
    for (i = 0; i < N; ++i) {
        size_t s = ppo->t * N + i;
        rtu_real entropy, *x = ppo->inputs + s * ac->n_x;
        *at = i;
        load_context(ppo, context(ppo, ppo->t, i));
        rtu_ac_normalize_obs(ac, obs + i * n_obs, ac->x);
        status = rtu_ac_forward(ac);
        if (status != RTU_OK) {
            return status;
        }
        rtu_ac_policy_forward(ac);
        if (!rtu_all_finite(ac->pi, RTU_AC_N_OUT_POLICY(ac->shape.action_kind,
                                                        ac->shape.n_actions))) {
            return RTU_ERR_DIVERGED;
        }
        memcpy(x, ac->x, ac->n_x * sizeof(rtu_real));
        save_cells(ppo, context(ppo, ppo->t + 1, i));
        rtu_ac_sample_action(ac); /* as rtu_ac_act samples it */
        for (j = 0; j < a; ++j) {
            actions[i * a + j] = ppo->actions[s * a + j] = ac->action[j];
        }
        values[i] = ppo->values[s] = rtu_ac_value(ac);
        log_probs[i] = ppo->log_probs[s] = log_prob(ac, &entropy);
    }
    ppo->acted = 1;
    return RTU_OK;
}

/* A step that ended its episode by truncation only: the episode goes on beyond it, and its
 * return is bootstrapped from the state it reached. */
static int truncated_only(const unsigned char *terminated, const unsigned char *truncated,
                          size_t i)
{
    return truncated[i] && !terminated[i];
}

/* The critic's value of obs from the loaded context (its cells and ac->x's extras), changing no
 * state: obs normalised by the statistics as they are. */
static rtu_real value_from_context(rtu_ac *ac, const rtu_real *obs)
{
    size_t j;
    for (j = 0; j < ac->n_x; ++j) {
        ac->x_next[j] = ac->x[j];
    }
    rtu_ac_normalized_obs(ac, obs, ac->x_next);
    return rtu_ac_peek_value(ac);
}

/* v(s_{t+1}) of environment i whose step t was truncated, s_{t+1} = final_obs: from the cells
 * after step t (its context t + 1, saved by act) on the input x_{t+1} (final_obs normalised by
 * the statistics as they are, and the extras of a_t and r_t), as rtu_ppo_bootstrap. */
static rtu_real final_value(rtu_ppo *ppo, size_t i, rtu_real reward, const rtu_real *final_obs)
{
    rtu_ac *ac = &ppo->ac;
    size_t j, s = ppo->t * ppo->n_envs + i;
    load_context(ppo, context(ppo, ppo->t + 1, i));
    for (j = 0; j < ppo->action_reals; ++j) {
        ac->action[j] = ppo->actions[s * ppo->action_reals + j];
    }
    rtu_ac_write_extras(ac, reward, ac->x);
    return value_from_context(ac, final_obs);
}

rtu_status rtu_ppo_feedback(rtu_ppo *ppo, const rtu_real *rewards,
                            const unsigned char *terminated, const unsigned char *truncated,
                            const rtu_real *final_obs, rtu_real *scaled, rtu_real *final_values,
                            size_t *at)
{
    rtu_ac *ac;
    size_t i, j, N;
    rtu_status status;
    if (ppo == NULL || rewards == NULL || terminated == NULL || truncated == NULL ||
        scaled == NULL || at == NULL || (final_obs != NULL && final_values == NULL)) {
        return RTU_ERR_NULL;
    }
    ac = &ppo->ac;
    N = ppo->n_envs;
    if (!ppo->acted) {
        return RTU_ERR_ORDER;
    }
    status = check_rows(rewards, N, 1, at);
    if (status != RTU_OK) {
        return status;
    }
    for (i = 0; final_obs != NULL && i < N; ++i) {
        if (truncated_only(terminated, truncated, i)) {
            *at = i;
            status = rtu_ac_check_values(ac, final_obs + i * ac->shape.n_obs, NULL);
            if (status != RTU_OK) {
                return status;
            }
        }
    }
    for (i = 0; i < N; ++i) {
        size_t s = ppo->t * N + i;
        rtu_real *next = context(ppo, ppo->t + 1, i);
        rtu_real *extras = next + trunk_count(ppo) * ppo->cell_ctx;
        int done = terminated[i] || truncated[i];
        /* reward scaling: r~ = r / sqrt(var(u) + eps), u this environment's return trace */
        scaled[i] = rewards[i];
        if (ac->config.scale_reward) {
            ppo->ret_traces[i] = ac->config.gamma *
                                     (terminated[i] ? (rtu_real)0 : (rtu_real)1) *
                                     ppo->ret_traces[i] + rewards[i];
            scaled[i] = rewards[i] / rtu_ac_return_scale(ac, ppo->ret_traces[i]);
        }
        ppo->dones[s] = done ? (rtu_real)1 : (rtu_real)0;
        ac->steps += 1;
        ac->episodes += (uint64_t)done;
        if (final_values != NULL) {
            final_values[i] = 0;
        }
        if (done) {
            if (final_obs != NULL && truncated_only(terminated, truncated, i)) {
                final_values[i] = final_value(ppo, i, rewards[i],
                                              final_obs + i * ac->shape.n_obs);
            }
            rtu_zero(next, ppo->ctx);
        } else { /* x_{t+1}'s extras: this environment's a_t and r_t */
            for (j = 0; j < ppo->action_reals; ++j) {
                ac->action[j] = ppo->actions[s * ppo->action_reals + j];
            }
            rtu_ac_write_extras(ac, rewards[i], ac->x);
            memcpy(extras, ac->x + ac->shape.n_obs, (ac->n_x - ac->shape.n_obs) * sizeof(rtu_real));
        }
    }
    ppo->acted = 0;
    ppo->t += 1;
    return RTU_OK;
}

rtu_status rtu_ppo_bootstrap(rtu_ppo *ppo, const rtu_real *obs, rtu_real *values, size_t *at)
{
    rtu_ac *ac;
    size_t i, N, n_obs;
    rtu_status status;
    if (ppo == NULL || obs == NULL || values == NULL || at == NULL) {
        return RTU_ERR_NULL;
    }
    ac = &ppo->ac;
    N = ppo->n_envs;
    n_obs = ac->shape.n_obs;
    for (i = 0; i < N; ++i) {
        *at = i;
        status = rtu_ac_check_values(ac, obs + i * n_obs, NULL);
        if (status != RTU_OK) {
            return status;
        }
    }
    for (i = 0; i < N; ++i) {
        load_context(ppo, context(ppo, ppo->t, i));
        values[i] = value_from_context(ac, obs + i * n_obs);
    }
    return RTU_OK;
}

rtu_status rtu_ppo_refresh(rtu_ppo *ppo, rtu_real *values)
{
    rtu_ac *ac;
    size_t i, t, N;
    rtu_status status;
    if (ppo == NULL) {
        return RTU_ERR_NULL;
    }
    ac = &ppo->ac;
    N = ppo->n_envs;
    for (i = 0; i < N; ++i) {
        load_context(ppo, context(ppo, 0, i));
        for (t = 0; t < ppo->t; ++t) {
            size_t s = t * N + i;
            if (t > 0) { /* the cells hold the context before step t */
                save_cells(ppo, context(ppo, t, i));
            }
            memcpy(ac->x, ppo->inputs + s * ac->n_x, ac->n_x * sizeof(rtu_real));
            status = rtu_ac_forward(ac);
            if (status != RTU_OK) {
                return status;
            }
            if (values != NULL) {
                values[s] = rtu_ac_value(ac);
            }
            if (ppo->dones[s] != 0) {
                size_t r;
                for (r = 0; r < trunk_count(ppo); ++r) {
                    rtu_cell_reset(&ac->trunk[r].cell);
                }
            }
        }
        save_cells(ppo, context(ppo, ppo->t, i));
    }
    return RTU_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* The update                                                                                  */

static rtu_real clamp(rtu_real v, rtu_real lo, rtu_real hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* The loss's gradient of kc <= RTU_PPO_CHUNK samples added to ppo->grad (each divided by the
 * minibatch's count: inv_count) and their statistics to sums, in the samples' order (the chunk's
 * work as chunk_layout lays it out; the steps at the top of rtu_ppo.h). *at: the sample that
 * failed, counted in this chunk. */
static rtu_status gradient_chunk(rtu_ppo *ppo, const rtu_ppo_loss *loss, const size_t *samples,
                                 const rtu_real *advantages, const rtu_real *returns, size_t kc,
                                 rtu_real inv_count, rtu_real *sums, size_t *at)
{
    rtu_ac *ac = &ppo->ac;
    chunk_work w;
    size_t b, r, l, N = ppo->n_envs, a = ppo->action_reals, n_x = ac->n_x;
    size_t m = ac->shape.n_embed, n2 = 2 * ac->shape.n_hidden, k = ac->shape.n_head;
    rtu_real eps = loss->clip_coef, *z[2], *z_head[2], *d_e;
    rtu_status status;
    z[0] = ppo->grad;                /* the critic's parameters' gradient */
    z[1] = ppo->grad + ac->n_value;  /* the actor's */
    for (r = 0; r < 2; ++r) {        /* each one's head part */
        z_head[r] = z[r] + ac->trunk[ac->shape.shared ? 0 : r].n_params;
    }
    /* the input layer's dL/de: ac->grad past d_out, d_q and d_h, as rtu_ac_backward places it */
    d_e = ac->grad + RTU_AC_N_OUT_POLICY(ac->shape.action_kind, ac->shape.n_actions) + k + n2;
    (void)chunk_layout(&ac->shape, ppo->ctx, ppo->work, &w);
    /* each sample: one step from its stored context of t-1 on its stored x_t, at the current
     * parameters; the cells after it, x, the input layers' activations and the features kept.
     * The chunk's contexts are copied first, all of them (their reads from the rollout's store
     * overlap), and each is stepped where it lies */
    for (b = 0; b < kc; ++b) {
        size_t s = samples[b];
        memcpy(w.ctx + b * ppo->ctx, context(ppo, s / N, s % N),
               trunk_count(ppo) * ppo->cell_ctx * sizeof(rtu_real));
    }
    for (b = 0; b < kc; ++b) {
        size_t s = samples[b];
        *at = b;
        place_cells(ppo, w.ctx + b * ppo->ctx);
        memcpy(ac->x, ppo->inputs + s * n_x, n_x * sizeof(rtu_real));
        status = rtu_ac_trunks_forward(ac);
        if (status != RTU_OK) {
            place_cells(ppo, NULL);
            return status;
        }
        memcpy(w.x + b * n_x, ac->x, n_x * sizeof(rtu_real));
        for (r = 0; r < 2; ++r) {
            const rtu_ac_trunk *t = &ac->trunk[ac->shape.shared ? 0 : r];
            if (m) {
                memcpy(w.e_hat[r] + b * m, t->e_hat, m * sizeof(rtu_real));
                w.e_inv_std[r][b] = t->e_inv_std;
            }
            memcpy(w.h[r] + b * n2, t->cell.h, n2 * sizeof(rtu_real));
        }
    }
    place_cells(ppo, NULL);
    /* the heads' hidden layers over the chunk */
    for (r = 0; k && r < 2; ++r) {
        rtu_dense_forward_batch(ac->head[r].params, n2, k, kc, w.h[r], n2, w.q_hat[r], k, w.xt,
                                w.p);
    }
    /* each sample: the heads' LN and out layers, the loss, and back to the hidden layers */
    for (b = 0; b < kc; ++b) {
        size_t s = samples[b];
        rtu_real entropy, lp, log_ratio, ratio, adv = advantages[b], ret = returns[b];
        rtu_real pg1, pg2, wt, v, v_old, d_v, l1, l2, *q_hat[2], *q[2], *d[2];
        *at = b;
        for (r = 0; r < 2; ++r) {
            rtu_ac_head *hd = &ac->head[r];
            q_hat[r] = w.q_hat[r] + b * k;
            q[r] = w.q[r] + b * k;
            d[r] = k ? w.d_q[r] + b * k : w.d_h[r] + b * n2;
            if (k) {
                w.q_inv_std[r][b] = rtu_ln_lrelu(q_hat[r], q[r], k);
                rtu_dense_forward(hd->params + k * (n2 + 1), q[r], k, hd->n_out, hd->out);
            } else {
                rtu_dense_forward(hd->params, w.h[r] + b * n2, n2, hd->n_out, hd->out);
            }
        }
        rtu_ac_policy_forward(ac);
        for (l = 0; l < a; ++l) {
            ac->action[l] = ppo->actions[s * a + l];
        }
        lp = log_prob(ac, &entropy);
        /* the clipped surrogate: dL/dlog pi = -A r where the unclipped term is the larger */
        log_ratio = lp - ppo->log_probs[s];
        ratio = RTU_EXP(log_ratio);
        pg1 = -adv * ratio;
        pg2 = -adv * clamp(ratio, 1 - eps, 1 + eps);
        wt = pg1 >= pg2 ? pg1 : 0;
        /* the value loss, clipped around the rollout's value or not */
        v = rtu_ac_value(ac);
        v_old = ppo->values[s];
        l1 = (v - ret) * (v - ret);
        d_v = v - ret;
        if (loss->clip_vloss) {
            rtu_real v_clip = v_old + clamp(v - v_old, -eps, eps);
            l2 = (v_clip - ret) * (v_clip - ret);
            if (l2 > l1) {
                d_v = RTU_FABS(v - v_old) < eps ? v_clip - ret : (rtu_real)0;
                l1 = l2;
            }
        }
        sums[0] += pg1 >= pg2 ? pg1 : pg2;
        sums[1] += (rtu_real)0.5 * l1;
        sums[2] += entropy;
        sums[3] += (ratio - 1) - log_ratio;
        sums[4] += RTU_FABS(ratio - 1) > eps ? (rtu_real)1 : (rtu_real)0;
        /* backward, accumulating the mean's gradient: the critic's, then the actor's */
        d_v *= loss->vf_coef * inv_count;
        rtu_ac_head_top_backward(&ac->head[0], n2, w.h[0] + b * n2, q_hat[0], q[0],
                                 w.q_inv_std[0][b], &d_v, 1, z_head[0], d[0]);
        rtu_ac_policy_gradient(ac, wt * inv_count, -ac->config.entropy_coef * inv_count,
                               ac->grad);
        rtu_ac_head_top_backward(&ac->head[1], n2, w.h[1] + b * n2, q_hat[1], q[1],
                                 w.q_inv_std[1][b], ac->grad, 1, z_head[1], d[1]);
    }
    /* the hidden layers' gradients over the chunk, and dL/dh of each sample */
    for (r = 0; k && r < 2; ++r) {
        rtu_dense_backward_batch(ac->head[r].params, n2, k, kc, w.h[r], w.d_q[r], 1, z_head[r],
                                 w.d_h[r]);
    }
    /* each sample: its cells after the step and its activations back, then the trunks */
    for (b = 0; b < kc; ++b) {
        place_cells(ppo, w.ctx + b * ppo->ctx);
        memcpy(ac->x, w.x + b * n_x, n_x * sizeof(rtu_real));
        for (r = 0; r < 2; ++r) {
            rtu_ac_trunk *t = &ac->trunk[ac->shape.shared ? 0 : r];
            if (m) {
                memcpy(t->e_hat, w.e_hat[r] + b * m, m * sizeof(rtu_real));
                t->e_inv_std = w.e_inv_std[r][b];
            }
            rtu_ac_trunk_backward(ac, t, w.d_h[r] + b * n2, 1, z[r], d_e);
        }
    }
    place_cells(ppo, NULL);
    return RTU_OK;
}

rtu_status rtu_ppo_gradient(rtu_ppo *ppo, const rtu_ppo_loss *loss, size_t count,
                            const size_t *samples, const rtu_real *advantages,
                            const rtu_real *returns, rtu_ppo_stats *stats, size_t *at)
{
    size_t j, N;
    rtu_real inv_count, sums[5] = {0, 0, 0, 0, 0};
    rtu_status status;
    if (ppo == NULL || loss == NULL || samples == NULL || advantages == NULL ||
        returns == NULL || at == NULL) {
        return RTU_ERR_NULL;
    }
    status = rtu_ppo_check_loss(loss, NULL);
    if (status != RTU_OK) {
        return status;
    }
    if (count == 0) {
        return RTU_ERR_SIZE;
    }
    N = ppo->n_envs;
    for (j = 0; j < count; ++j) {
        *at = j;
        if (samples[j] >= ppo->t * N) {
            return RTU_ERR_SIZE;
        }
        status = rtu_check_input(&advantages[j], 1);
        if (status == RTU_OK) {
            status = rtu_check_input(&returns[j], 1);
        }
        if (status != RTU_OK) {
            return status;
        }
    }
    inv_count = (rtu_real)1 / (rtu_real)count;
    rtu_zero(ppo->grad, ppo->n_grad);
    for (j = 0; j < count; j += RTU_PPO_CHUNK) {
        size_t kc = count - j < RTU_PPO_CHUNK ? count - j : RTU_PPO_CHUNK;
        status = gradient_chunk(ppo, loss, samples + j, advantages + j, returns + j, kc,
                                inv_count, sums, at);
        if (status != RTU_OK) {
            *at += j;
            return status;
        }
    }
    if (stats != NULL) {
        stats->policy_loss = sums[0] * inv_count;
        stats->value_loss = sums[1] * inv_count;
        stats->entropy = sums[2] * inv_count;
        stats->approx_kl = sums[3] * inv_count;
        stats->clip_frac = sums[4] * inv_count;
    }
    if (!rtu_all_finite(sums, 5) || !rtu_all_finite(ppo->grad, ppo->n_grad)) {
        return RTU_ERR_DIVERGED;
    }
    return RTU_OK;
}

/* One parameter block with its gradient and moments. */
typedef struct {
    rtu_real *params;
    size_t offset; /* into grad, adam_m, adam_v */
    size_t count;
} block;

/* The distinct parameter blocks: the critic's trunk and head, then the actor's trunk (unless
 * shared) and head. Returns how many. */
static size_t blocks(rtu_ppo *ppo, block *out)
{
    rtu_ac *ac = &ppo->ac;
    size_t n = 0, r;
    for (r = 0; r < 2; ++r) {
        size_t base = r == 0 ? 0 : ac->n_value;
        rtu_ac_trunk *t = &ac->trunk[ac->shape.shared ? 0 : r];
        if (r == 0 || !ac->shape.shared) {
            out[n].params = t->params;
            out[n].offset = base;
            out[n].count = t->n_params;
            ++n;
        }
        out[n].params = ac->head[r].params;
        out[n].offset = base + t->n_params;
        out[n].count = ac->head[r].n_params;
        ++n;
    }
    return n;
}

rtu_status rtu_ppo_adam_step(rtu_ppo *ppo, const rtu_ppo_adam *adam, rtu_real *grad_norm)
{
    rtu_ac *ac;
    block b[4];
    size_t nb, q, i, r;
    double norm2 = 0, scale = 1, c1, c2;
    rtu_status status;
    if (ppo == NULL || adam == NULL) {
        return RTU_ERR_NULL;
    }
    status = rtu_ppo_check_adam(adam, NULL);
    if (status != RTU_OK) {
        return status;
    }
    ac = &ppo->ac;
    if (ac->shape.shared) { /* the trunk's gradient is the sum of both networks' */
        for (i = 0; i < ac->trunk[0].n_params; ++i) {
            ppo->grad[i] += ppo->grad[ac->n_value + i];
            ppo->grad[ac->n_value + i] = 0;
        }
    }
    nb = blocks(ppo, b);
    for (q = 0; q < nb; ++q) {
        const rtu_real *g = ppo->grad + b[q].offset;
        for (i = 0; i < b[q].count; ++i) {
            norm2 += (double)g[i] * (double)g[i];
        }
    }
    if (grad_norm != NULL) {
        *grad_norm = (rtu_real)sqrt(norm2);
    }
    if (adam->max_grad_norm > 0 && sqrt(norm2) > (double)adam->max_grad_norm) {
        scale = (double)adam->max_grad_norm / (sqrt(norm2) + 1e-6);
    }
    ppo->adam_steps += 1;
    /* the bias corrections 1 - beta^t (exp and log: the core's libm; log 0 = -inf gives 0) */
    c1 = 1.0 - exp((double)ppo->adam_steps * log((double)adam->adam_beta1));
    c2 = 1.0 - exp((double)ppo->adam_steps * log((double)adam->adam_beta2));
    for (q = 0; q < nb; ++q) {
        rtu_real *p = b[q].params, *g = ppo->grad + b[q].offset;
        rtu_real *m = ppo->adam_m + b[q].offset, *v = ppo->adam_v + b[q].offset;
        const rtu_real b1 = adam->adam_beta1, b2 = adam->adam_beta2, sc = (rtu_real)scale;
        const rtu_real step = (rtu_real)((double)adam->learning_rate / c1);
        const rtu_real inv_c2 = (rtu_real)(1.0 / c2);
        for (i = 0; i < b[q].count; ++i) {
            rtu_real gi = g[i] * sc;
            m[i] = b1 * m[i] + (1 - b1) * gi;
            v[i] = b2 * v[i] + (1 - b2) * gi * gi;
            p[i] -= step * m[i] / (RTU_SQRT(v[i] * inv_c2) + adam->adam_eps);
        }
    }
    status = RTU_OK;
    for (r = 0; r < trunk_count(ppo); ++r) {
        rtu_cell *cell = &ac->trunk[r].cell;
        rtu_cell_hold_logs(cell);
        if (rtu_cell_refresh(cell) != RTU_OK) {
            status = RTU_ERR_DIVERGED;
        }
    }
    for (q = 0; q < nb && status == RTU_OK; ++q) {
        if (!rtu_all_within(b[q].params, b[q].count, (rtu_real)RTU_VALUE_LIMIT)) {
            status = RTU_ERR_DIVERGED;
        }
    }
    return status;
}

rtu_status rtu_ppo_begin_rollout(rtu_ppo *ppo)
{
    rtu_ac *ac;
    size_t i, k, r, N;
    if (ppo == NULL) {
        return RTU_ERR_NULL;
    }
    if (ppo->acted) {
        return RTU_ERR_ORDER;
    }
    ac = &ppo->ac;
    N = ppo->n_envs;
    for (r = 0; r < trunk_count(ppo); ++r) {
        rtu_cell *cell = &ac->trunk[r].cell;
        size_t n = cell->n_hidden;
        size_t off_c = r * ppo->cell_ctx + (size_t)(cell->dc_dtheta - cell->c);
        size_t off_d = r * ppo->cell_ctx + (size_t)(cell->dd_dtheta - cell->c);
        rtu_real *ratio = ac->grad; /* scratch of n reals at least */
        rtu_cell_wrap_phases(cell, ratio);
        for (i = 0; i < N; ++i) {
            rtu_real *ctx = context(ppo, ppo->t, i);
            for (k = 0; k < n; ++k) {
                ctx[off_c + k] *= ratio[k];
                ctx[off_d + k] *= ratio[k];
            }
        }
        (void)rtu_cell_refresh(cell); /* the wrapped phases give the same lambda */
    }
    if (ppo->t != 0) {
        memcpy(ppo->contexts, context(ppo, ppo->t, 0), N * ppo->ctx * sizeof(rtu_real));
    }
    ppo->t = 0;
    return RTU_OK;
}

void rtu_ppo_actor_critic(rtu_ppo *ppo)
{
    rtu_ac_begin_episode(&ppo->ac);
    ppo->ac.ret_trace = 0;
}
