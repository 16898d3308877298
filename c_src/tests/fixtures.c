/* The synthetic sequences of make_golden.py and the golden learners (fixtures.h). */
#include <math.h>
#include <string.h>

#include "fixtures.h"

void fix_cell_draw(rtu_prng *rng, rtu_real *x, size_t n_in, rtu_real *dh, size_t n2)
{
    size_t j;
    for (j = 0; j < n_in; ++j) {
        x[j] = (rtu_real)(2.0 * rtu_prng_uniform(rng) - 1.0);
    }
    for (j = 0; j < n2; ++j) {
        dh[j] = (rtu_real)(2.0 * rtu_prng_uniform(rng) - 1.0);
    }
}

void fix_td_input(rtu_prng *rng, unsigned t, rtu_real *x, rtu_real *cumulant)
{
    x[0] = t % 10u == 0u ? 1 : 0;
    x[1] = rtu_prng_uniform(rng) < 0.2 ? 1 : 0;
    x[2] = 1;
    *cumulant = t % 10u == 6u ? 1 : 0;
}

/* A config's field from the golden case g that holds it (rtu_config.h's lists). */
#define FIX_SET_REAL(name, value, rule, obgd_only) cfg.name = (rtu_real)g->name;
#define FIX_SET_FLAG(name, value) cfg.name = g->name;

rtu_status fix_td_make(int c, uint64_t seed, rtu_td *td, rtu_real *buffer)
{
    const golden_td_case *g = &golden_td_cases[c];
    rtu_td_config cfg;
    rtu_prng rng;
    RTU_TD_CONFIG_REALS(FIX_SET_REAL)
    cfg.optimizer = (rtu_optimizer)g->optimizer;
    rtu_prng_seed(&rng, seed);
    return rtu_td_init(td, (rtu_kind)g->kind, (rtu_activation)g->activation, GOLDEN_N_IN,
                       GOLDEN_N_HIDDEN, &cfg, &rng, buffer, sizeof(rtu_real) * FIX_TD_REALS);
}

rtu_status fix_td_steps(rtu_td *td, rtu_prng *rng, unsigned t0, unsigned t1, rtu_real *predictions,
                        rtu_real *params_at)
{
    unsigned t;
    size_t p_cell = td->cell.n_params, n_learner = td->n_params;
    for (t = t0; t < t1; ++t) {
        rtu_real x[GOLDEN_N_IN], cumulant, v;
        rtu_status status;
        fix_td_input(rng, t, x, &cumulant);
        status = rtu_td_step(td, x, cumulant, &v);
        if (status != RTU_OK) {
            return status;
        }
        if (predictions != NULL) {
            predictions[t - t0] = v;
        }
        if (params_at != NULL && (t + 1u) % GOLDEN_TD_MARK_EVERY == 0u) {
            rtu_real *out = params_at + ((t + 1u) / GOLDEN_TD_MARK_EVERY - 1u) * n_learner;
            memcpy(out, td->cell.params, sizeof(rtu_real) * p_cell);
            memcpy(out + p_cell, td->head, sizeof(rtu_real) * (n_learner - p_cell));
        }
    }
    return RTU_OK;
}

static void env_observe(fix_env *env)
{
    env->obs[0] = 2.0 * rtu_prng_uniform(&env->rng) - 1.0;
    env->obs[1] = rtu_prng_uniform(&env->rng) < 0.25 ? 1.0 : 0.0;
}

void fix_env_start(fix_env *env, uint64_t seed)
{
    rtu_prng_seed(&env->rng, seed);
    env_observe(env);
}

void fix_env_advance(fix_env *env, unsigned steps)
{
    unsigned t;
    for (t = 0; t < steps; ++t) {
        env_observe(env);
    }
}

rtu_ac_shape fix_shape(const golden_ac_shape *g)
{
    rtu_ac_shape s;
    s.kind = (rtu_kind)g->kind;
    s.activation = (rtu_activation)g->activation;
    s.n_obs = g->n_obs;
    s.n_hidden = g->n_hidden;
    s.n_embed = g->n_embed;
    s.n_head = g->n_head;
    s.shared = g->shared;
    s.prev_action = g->prev_action;
    s.prev_reward = g->prev_reward;
    s.memoryless = g->memoryless;
    s.action_kind = (rtu_action_kind)g->action_kind;
    s.n_actions = g->n_actions;
    return s;
}

rtu_ac_shape fix_ac_shape(int c)
{
    return fix_shape(&golden_ac_cases[c].shape);
}

rtu_ac_config fix_ac_config(int c)
{
    const golden_ac_case *g = &golden_ac_cases[c];
    rtu_ac_config cfg;
    RTU_AC_CONFIG_REALS(FIX_SET_REAL)
    cfg.optimizer = (rtu_optimizer)g->optimizer;
    RTU_AC_CONFIG_FLAGS(FIX_SET_FLAG)
    return cfg;
}

rtu_status fix_ac_make(int c, uint64_t seed, rtu_ac *ac, rtu_real *buffer)
{
    rtu_ac_shape shape = fix_ac_shape(c);
    rtu_ac_config cfg = fix_ac_config(c);
    return rtu_ac_init(ac, &shape, &cfg, seed, buffer, sizeof(rtu_real) * FIX_AC_REALS);
}

size_t fix_ac_action_reals(const rtu_ac *ac)
{
    return ac->shape.action_kind == RTU_ACTIONS_DISCRETE ? 1u : ac->shape.n_actions;
}

/* discrete: 1 if the action is the bin of obs[0] among A equal bins of [-1, 1]; continuous:
 * -sum_i (a_i - obs[0])^2 */
static double reward(const rtu_ac *ac, const rtu_real *action, const double *obs)
{
    size_t A = ac->shape.n_actions, i;
    if (ac->shape.action_kind == RTU_ACTIONS_DISCRETE) {
        double bin = floor((obs[0] + 1.0) / 2.0 * (double)A);
        double target = bin < (double)(A - 1u) ? bin : (double)(A - 1u);
        return (double)action[0] == target ? 1.0 : 0.0;
    } else {
        double r = 0.0;
        for (i = 0; i < A; ++i) {
            double e = (double)action[i] - obs[0];
            r -= e * e;
        }
        return r;
    }
}

rtu_status fix_ac_steps(rtu_ac *ac, fix_env *env, unsigned t0, unsigned t1, rtu_real *actions,
                        rtu_real *values)
{
    size_t k = fix_ac_action_reals(ac), i;
    unsigned t;
    for (t = t0; t < t1; ++t) {
        rtu_real obs[GOLDEN_AC_N_IN], next[GOLDEN_AC_N_IN], action[FIX_AC_MAX_ACTIONS];
        double r;
        int end = (t + 1u) % GOLDEN_AC_EPISODE == 0u;
        int odd = ((t + 1u) / GOLDEN_AC_EPISODE) % 2u == 1u;
        rtu_status status;
        for (i = 0; i < GOLDEN_AC_N_IN; ++i) {
            obs[i] = (rtu_real)env->obs[i];
        }
        status = rtu_ac_act(ac, obs, action);
        if (status != RTU_OK) {
            return status;
        }
        if (values != NULL) {
            values[t - t0] = rtu_ac_value(ac);
        }
        if (actions != NULL) {
            memcpy(actions + (t - t0) * k, action, sizeof(rtu_real) * k);
        }
        r = reward(ac, action, env->obs);
        env_observe(env); /* obs_{t+1} */
        for (i = 0; i < GOLDEN_AC_N_IN; ++i) {
            next[i] = (rtu_real)env->obs[i];
        }
        status = rtu_ac_learn(ac, (rtu_real)r, next, end && odd, end && !odd);
        if (status != RTU_OK) {
            return status;
        }
    }
    return RTU_OK;
}

static size_t append(rtu_real *out, size_t at, const rtu_real *v, size_t count)
{
    memcpy(out + at, v, sizeof(rtu_real) * count);
    return at + count;
}

size_t fix_ac_params(const rtu_ac *ac, rtu_real *out)
{
    size_t at = append(out, 0, ac->trunk[0].params, ac->trunk[0].n_params);
    if (!ac->shape.shared) {
        at = append(out, at, ac->trunk[1].params, ac->trunk[1].n_params);
    }
    at = append(out, at, ac->head[0].params, ac->head[0].n_params);
    return append(out, at, ac->head[1].params, ac->head[1].n_params);
}

static int cell_same(const rtu_cell *a, const rtu_cell *b)
{
    return a->kind == b->kind && a->activation == b->activation && a->n_in == b->n_in &&
           a->n_hidden == b->n_hidden && a->n_params == b->n_params && a->params == b->params &&
           a->nu_log == b->nu_log && a->theta_log == b->theta_log && a->w_c == b->w_c &&
           a->w_d == b->w_d && a->c_re == b->c_re && a->c_im == b->c_im &&
           a->d_skip == b->d_skip && a->nu == b->nu && a->theta == b->theta && a->g == b->g &&
           a->phi == b->phi && a->eta == b->eta && a->deta == b->deta && a->c == b->c &&
           a->d == b->d && a->h == b->h && a->x == b->x && a->dc_dnu == b->dc_dnu &&
           a->dd_dnu == b->dd_dnu && a->dc_dtheta == b->dc_dtheta &&
           a->dd_dtheta == b->dd_dtheta && a->dc_dwc == b->dc_dwc && a->dd_dwc == b->dd_dwc &&
           a->dc_dwd == b->dc_dwd && a->dd_dwd == b->dd_dwd && a->scratch == b->scratch;
}

int fix_td_same(const rtu_td *a, const rtu_td *b)
{
    const rtu_td_config *p = &a->config, *q = &b->config;
    return cell_same(&a->cell, &b->cell) && p->gamma == q->gamma && p->lambda == q->lambda &&
           p->alpha == q->alpha && p->kappa == q->kappa && p->optimizer == q->optimizer &&
           a->n_params == b->n_params && a->head == b->head && a->z == b->z &&
           a->grad == b->grad && a->v_prev == b->v_prev && a->z_norm1 == b->z_norm1 &&
           a->has_prev == b->has_prev && a->steps == b->steps;
}

int fix_ac_same(const rtu_ac *a, const rtu_ac *b)
{
    const rtu_ac_shape *s = &a->shape, *t = &b->shape;
    const rtu_ac_config *p = &a->config, *q = &b->config;
    int same, r;
    same = s->kind == t->kind && s->activation == t->activation && s->n_obs == t->n_obs &&
           s->n_hidden == t->n_hidden && s->n_embed == t->n_embed && s->n_head == t->n_head &&
           s->shared == t->shared && s->prev_action == t->prev_action &&
           s->prev_reward == t->prev_reward && s->memoryless == t->memoryless &&
           s->action_kind == t->action_kind && s->n_actions == t->n_actions;
#define SAME_REAL(name, value, rule, obgd_only) same &= p->name == q->name;
#define SAME_FLAG(name, value) same &= p->name == q->name;
    RTU_AC_CONFIG_REALS(SAME_REAL)
    RTU_AC_CONFIG_FLAGS(SAME_FLAG)
    same &= p->optimizer == q->optimizer && a->n_x == b->n_x;
    for (r = 0; r < 2; ++r) {
        const rtu_ac_trunk *u = &a->trunk[r], *v = &b->trunk[r];
        const rtu_ac_head *h = &a->head[r], *k = &b->head[r];
        same &= u->n_x == v->n_x && u->n_embed == v->n_embed && u->n_params == v->n_params &&
                u->params == v->params && u->embed == v->embed && u->e_hat == v->e_hat &&
                u->e == v->e && u->e_inv_std == v->e_inv_std && cell_same(&u->cell, &v->cell);
        same &= h->n_head == k->n_head && h->n_out == k->n_out && h->n_params == k->n_params &&
                h->params == k->params && h->q_hat == k->q_hat && h->q == k->q &&
                h->q_inv_std == k->q_inv_std && h->out == k->out;
    }
    return same && a->n_value == b->n_value && a->n_policy == b->n_policy && a->z_v == b->z_v &&
           a->z_pi == b->z_pi && a->peek == b->peek && a->grad == b->grad && a->pi == b->pi &&
           a->x == b->x && a->x_next == b->x_next && a->obs_mean == b->obs_mean &&
           a->obs_m2 == b->obs_m2 && a->obs_last == b->obs_last && a->action == b->action &&
           a->ret_trace == b->ret_trace && a->ret_mean == b->ret_mean &&
           a->ret_m2 == b->ret_m2 && a->obs_count == b->obs_count &&
           a->ret_count == b->ret_count && a->reward_mean == b->reward_mean &&
           a->reward_m2 == b->reward_m2 && a->reward_count == b->reward_count &&
           a->rng.state == b->rng.state &&
           a->rng.inc == b->rng.inc && a->fed == b->fed && a->acted == b->acted &&
           a->steps == b->steps && a->episodes == b->episodes;
}
