/* TD(lambda) and the actor-critic against the reference over a few hundred steps; run vs step;
 * refused input and call order. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "fixtures.h"
#include "rtu_ckpt.h"
#include "rtu_ppo.h"
#include "tests.h"

static const char *const kind_names[] = GOLDEN_KIND_NAMES;
static const char *const act_names[] = GOLDEN_ACTIVATION_NAMES;
static const char *const opt_names[] = {"sgd", "obgd"};

static rtu_real td_buf[FIX_TD_REALS], td_buf2[FIX_TD_REALS];
static rtu_real ac_buf[FIX_AC_REALS];

void test_td_golden(int c)
{
    const golden_td_case *g = &golden_td_cases[c];
    static rtu_real predictions[GOLDEN_TD_STEPS];
    static rtu_real marks[GOLDEN_TD_MARKS * FIX_TD_MAX_PARAMS];
    rtu_td td;
    rtu_prng rng;
    size_t p = RTU_TD_PARAMS(g->kind, GOLDEN_N_IN, GOLDEN_N_HIDDEN);
    rtu_status status = fix_td_make(c, g->seed, &td, td_buf);
    CHECK_STATUS(status, RTU_OK);
    if (status != RTU_OK) {
        return;
    }
    rtu_prng_seed(&rng, g->input_seed);
    status = fix_td_steps(&td, &rng, 0, GOLDEN_TD_STEPS, predictions, marks);
    CHECK_STATUS(status, RTU_OK);
    if (status != RTU_OK) {
        return;
    }
    CHECK(td.steps == GOLDEN_TD_STEPS, "steps %lu", (unsigned long)td.steps);
    CHECK(td.n_params == p, "n_params");
    check_close("predictions, every step", predictions, g->predictions, GOLDEN_TD_STEPS, TOL);
    check_close("cell params and head after 100, 200, 300 steps", marks, g->params,
                GOLDEN_TD_MARKS * p, TOL);
    check_close("eligibility traces z", td.z, g->z, p, TOL);
    check_note("%s %s %s, %d steps", kind_names[g->kind], act_names[g->activation],
               opt_names[g->optimizer], GOLDEN_TD_STEPS);
}

/* rtu_td_run over a sequence is stepping, bit for bit. */
void test_td_run_matches_step(int c)
{
    const golden_td_case *g = &golden_td_cases[c];
    static rtu_real xs[GOLDEN_TD_STEPS * GOLDEN_N_IN], cs[GOLDEN_TD_STEPS];
    static rtu_real p_run[GOLDEN_TD_STEPS], p_step[GOLDEN_TD_STEPS];
    rtu_td a, b;
    rtu_prng rng;
    unsigned t;
    CHECK_STATUS(fix_td_make(c, g->seed, &a, td_buf), RTU_OK);
    CHECK_STATUS(fix_td_make(c, g->seed, &b, td_buf2), RTU_OK);
    rtu_prng_seed(&rng, g->input_seed);
    for (t = 0; t < GOLDEN_TD_STEPS; ++t) {
        fix_td_input(&rng, t, xs + t * GOLDEN_N_IN, cs + t);
    }
    CHECK_STATUS(rtu_td_run(&a, xs, cs, GOLDEN_TD_STEPS, p_run), RTU_OK);
    rtu_prng_seed(&rng, g->input_seed);
    CHECK_STATUS(fix_td_steps(&b, &rng, 0, GOLDEN_TD_STEPS, p_step, NULL), RTU_OK);
    CHECK(memcmp(p_run, p_step, sizeof p_run) == 0, "rtu_td_run's predictions differ");
    CHECK(memcmp(td_buf, td_buf2, sizeof(rtu_real) *
                                      RTU_TD_REALS(g->kind, GOLDEN_N_IN, GOLDEN_N_HIDDEN)) == 0,
          "rtu_td_run's learner differs");
    CHECK(a.steps == b.steps && a.v_prev == b.v_prev, "counters");
}

void test_td_refuses_bad_input(int arg)
{
    static rtu_real before[FIX_TD_REALS];
    rtu_real x[GOLDEN_N_IN] = {1, 0, 1}, v = 0, xs[3 * GOLDEN_N_IN], cs[3];
    rtu_td td, td_before;
    rtu_prng rng;
    rtu_td_config cfg = {(rtu_real)0.9, (rtu_real)0.9, (rtu_real)1e3, 2, RTU_OPT_SGD};
    int t, diverged = 0;
    size_t i;
    (void)arg;
    CHECK_STATUS(fix_td_make(0, 3u, &td, td_buf), RTU_OK);
    rtu_prng_seed(&rng, 4u);
    CHECK_STATUS(fix_td_steps(&td, &rng, 0, 50, NULL, NULL), RTU_OK);
    memcpy(before, td_buf, sizeof td_buf);
    memcpy(&td_before, &td, sizeof td);
    x[1] = (rtu_real)NAN;
    CHECK_STATUS(rtu_td_step(&td, x, 0, &v), RTU_ERR_NONFINITE_INPUT);
    x[1] = 0;
    CHECK_STATUS(rtu_td_step(&td, x, (rtu_real)NAN, &v), RTU_ERR_NONFINITE_INPUT);
    CHECK_STATUS(rtu_td_step(&td, x, (rtu_real)1e9, &v), RTU_ERR_INPUT_RANGE);
    CHECK_STATUS(rtu_td_step(&td, NULL, 0, &v), RTU_ERR_NULL);
    for (i = 0; i < 3 * GOLDEN_N_IN; ++i) {
        xs[i] = 1;
    }
    cs[0] = cs[1] = 0;
    cs[2] = (rtu_real)INFINITY;
    CHECK_STATUS(rtu_td_run(&td, xs, cs, 3, NULL), RTU_ERR_NONFINITE_INPUT);
    CHECK_STATUS(rtu_td_run(&td, xs, cs, SIZE_MAX / GOLDEN_N_IN + 2u, NULL), RTU_ERR_SIZE);
    CHECK(memcmp(before, td_buf, sizeof td_buf) == 0, "a refused step changed the learner");
    CHECK(fix_td_same(&td, &td_before), "a refused step changed the struct");

    /* a learner that diverges stops with RTU_ERR_DIVERGED, not a silent NaN */
    rtu_prng_seed(&rng, 5u);
    CHECK_STATUS(rtu_td_init(&td, RTU_KIND_NONLINEAR, RTU_ACT_RELU, GOLDEN_N_IN, GOLDEN_N_HIDDEN,
                             &cfg, &rng, td_buf, sizeof td_buf),
                 RTU_OK);
    for (t = 0; t < 2000 && !diverged; ++t) {
        rtu_status status;
        for (i = 0; i < GOLDEN_N_IN; ++i) {
            x[i] = (rtu_real)(100.0 * rtu_prng_normal(&rng));
        }
        status = rtu_td_step(&td, x, (rtu_real)1e5, &v);
        if (status == RTU_ERR_DIVERGED) {
            diverged = 1;
        } else {
            CHECK_STATUS(status, RTU_OK);
            CHECK(isfinite(v), "a non-finite prediction was returned with RTU_OK");
            if (status != RTU_OK) {
                break;
            }
        }
    }
    CHECK(diverged, "SGD with alpha 1e3 on inputs of 100 did not report RTU_ERR_DIVERGED");
    check_note("diverged after %d steps", t);
}

void test_ac_golden(int c)
{
    const golden_ac_case *g = &golden_ac_cases[c];
    static rtu_real actions[GOLDEN_AC_STEPS * FIX_AC_MAX_ACTIONS], values[GOLDEN_AC_STEPS];
    static rtu_real params[FIX_AC_REALS];
    rtu_real stats[2 * GOLDEN_AC_N_IN + 5];
    size_t k, n_params, t, same = 0, first_diff = GOLDEN_AC_STEPS;
    rtu_ac ac;
    fix_env env;
    rtu_status status = fix_ac_make(c, g->seed, &ac, ac_buf);
    CHECK_STATUS(status, RTU_OK);
    if (status != RTU_OK) {
        return;
    }
    k = fix_ac_action_reals(&ac);
    n_params = fix_ac_params(&ac, params);
    CHECK(n_params == g->n_params, "%u parameters, the reference's %u", (unsigned)n_params,
          g->n_params);
    if (n_params != g->n_params) {
        return;
    }
    fix_env_start(&env, g->env_seed);
    status = fix_ac_steps(&ac, &env, 0, GOLDEN_AC_MID, actions, values);
    CHECK_STATUS(status, RTU_OK);
    fix_ac_params(&ac, params);
    check_close("every parameter after 100 steps", params, g->mid, n_params, TOL);
    status = fix_ac_steps(&ac, &env, GOLDEN_AC_MID, GOLDEN_AC_STEPS, actions + GOLDEN_AC_MID * k,
                          values + GOLDEN_AC_MID);
    CHECK_STATUS(status, RTU_OK);
    if (status != RTU_OK) {
        return;
    }
    if (g->shape.action_kind == RTU_ACTIONS_DISCRETE) {
        for (t = 0; t < GOLDEN_AC_STEPS; ++t) {
            if ((double)actions[t] == g->actions[t]) {
                ++same;
            } else if (first_diff == GOLDEN_AC_STEPS) {
                first_diff = t;
            }
        }
        CHECK(same == GOLDEN_AC_STEPS, "%u of %d sampled actions as the reference's; first "
              "difference at step %u", (unsigned)same, GOLDEN_AC_STEPS, (unsigned)first_diff);
        check_note("%u of %d actions identical", (unsigned)same, GOLDEN_AC_STEPS);
    } else {
        check_close("actions, every step", actions, g->actions, GOLDEN_AC_STEPS * k, TOL);
    }
    check_close("v(s_t), every step", values, g->values, GOLDEN_AC_STEPS, TOL);
    fix_ac_params(&ac, params);
    check_close("every parameter after 200 steps", params, g->end, n_params, TOL);
    memcpy(stats, ac.obs_mean, sizeof(rtu_real) * GOLDEN_AC_N_IN);
    memcpy(stats + GOLDEN_AC_N_IN, ac.obs_m2, sizeof(rtu_real) * GOLDEN_AC_N_IN);
    stats[2 * GOLDEN_AC_N_IN] = ac.ret_trace;
    stats[2 * GOLDEN_AC_N_IN + 1] = ac.ret_mean;
    stats[2 * GOLDEN_AC_N_IN + 2] = ac.ret_m2;
    stats[2 * GOLDEN_AC_N_IN + 3] = ac.reward_mean;
    stats[2 * GOLDEN_AC_N_IN + 4] = ac.reward_m2;
    check_close("observation and reward statistics", stats, g->stats, 2 * GOLDEN_AC_N_IN + 5,
                TOL);
    CHECK(ac.steps == GOLDEN_AC_STEPS && ac.episodes == g->episodes, "steps %lu episodes %lu",
          (unsigned long)ac.steps, (unsigned long)ac.episodes);
    check_note("%s %s, m %u k %u%s%s%s%s, %s x %u, %s, %d steps", kind_names[g->shape.kind],
               act_names[g->shape.activation], g->shape.n_embed, g->shape.n_head,
               g->shape.shared ? " shared" : "", g->shape.prev_action ? " +a" : "",
               g->shape.prev_reward ? " +r" : "", g->shape.memoryless ? " memoryless" : "",
               g->shape.action_kind == RTU_ACTIONS_DISCRETE ? "discrete" : "continuous", g->shape.n_actions,
               opt_names[g->optimizer], GOLDEN_AC_STEPS);
}

/* act and learn must alternate, act must get learn's next_obs, bad input is refused; a refused
 * call leaves the learner untouched. */
void test_ac_order(int arg)
{
    static rtu_real before[FIX_AC_REALS];
    rtu_real obs[GOLDEN_AC_N_IN] = {(rtu_real)0.25, 0}, other[GOLDEN_AC_N_IN] = {(rtu_real)0.5, 1};
    rtu_real action[FIX_AC_MAX_ACTIONS];
    rtu_ac ac, ac_before;
    fix_env env;
    (void)arg;
    CHECK_STATUS(fix_ac_make(0, 9u, &ac, ac_buf), RTU_OK);
    CHECK_STATUS(rtu_ac_learn(&ac, 1, obs, 0, 0), RTU_ERR_ORDER); /* learn before any act */
    fix_env_start(&env, 10u);
    CHECK_STATUS(fix_ac_steps(&ac, &env, 0, 30, NULL, NULL), RTU_OK);
    /* mid-episode: the next act must get env.obs, which learn fed already */
    memcpy(before, ac_buf, sizeof ac_buf);
    memcpy(&ac_before, &ac, sizeof ac);
    CHECK_STATUS(rtu_ac_act(&ac, other, action), RTU_ERR_ORDER);
    obs[1] = (rtu_real)NAN;
    CHECK_STATUS(rtu_ac_act(&ac, obs, action), RTU_ERR_NONFINITE_INPUT);
    CHECK_STATUS(rtu_ac_learn(&ac, 1, other, 0, 0), RTU_ERR_ORDER); /* no act yet */
    CHECK(memcmp(before, ac_buf, sizeof ac_buf) == 0 && fix_ac_same(&ac, &ac_before),
          "a refused act or learn changed the learner");
    obs[0] = (rtu_real)env.obs[0];
    obs[1] = (rtu_real)env.obs[1];
    CHECK_STATUS(rtu_ac_act(&ac, obs, action), RTU_OK);
    CHECK(action[0] == 0 || action[0] == 1 || action[0] == 2, "a discrete action is an index");
    memcpy(before, ac_buf, sizeof ac_buf);
    memcpy(&ac_before, &ac, sizeof ac);
    CHECK_STATUS(rtu_ac_act(&ac, obs, action), RTU_ERR_ORDER); /* act twice */
    CHECK_STATUS(rtu_ac_learn(&ac, (rtu_real)NAN, other, 0, 0), RTU_ERR_NONFINITE_INPUT);
    CHECK_STATUS(rtu_ac_learn(&ac, (rtu_real)1e9, other, 0, 0), RTU_ERR_INPUT_RANGE);
    other[0] = (rtu_real)INFINITY;
    CHECK_STATUS(rtu_ac_learn(&ac, 1, other, 0, 0), RTU_ERR_NONFINITE_INPUT);
    CHECK_STATUS(rtu_ac_learn(&ac, 1, NULL, 0, 0), RTU_ERR_NULL);
    CHECK(memcmp(before, ac_buf, sizeof ac_buf) == 0 && fix_ac_same(&ac, &ac_before),
          "a refused act or learn changed the learner");
    other[0] = (rtu_real)0.5;
    CHECK_STATUS(rtu_ac_learn(&ac, 1, other, 1, 0), RTU_OK); /* terminated */
    CHECK(ac.episodes == 1 && ac.fed == 0, "an episode end resets");
    CHECK_STATUS(rtu_ac_act(&ac, obs, action), RTU_OK); /* any observation after an episode end */
}

/* Issue 16, TD: a non-finite first prediction (after init or reset) is RTU_ERR_DIVERGED, as every
 * later one is (it was returned with RTU_OK); a step that takes a parameter beyond
 * RTU_VALUE_LIMIT is RTU_ERR_DIVERGED; one that would take nu_log past +-RTU_LOG_PARAM_LIMIT or
 * theta_log below -RTU_LOG_PARAM_LIMIT holds it there (it was RTU_ERR_DIVERGED). SGD steps of
 * a known sign: z all zero but the entries of interest, and v_prev far below the prediction. */
void test_td_limits(int arg)
{
    const rtu_real big = sizeof(rtu_real) == 4 ? (rtu_real)3.0e38 : (rtu_real)1.0e308;
    const rtu_real limit = (rtu_real)RTU_LOG_PARAM_LIMIT;
    rtu_real x[GOLDEN_N_IN] = {1, 0, 1}, v = 0;
    rtu_td_config cfg = {(rtu_real)0.9, (rtu_real)0.9, 1, 2, RTU_OPT_SGD};
    size_t n = GOLDEN_N_HIDDEN, n2 = 2 * GOLDEN_N_HIDDEN, k;
    rtu_prng rng;
    rtu_td td;
    (void)arg;
    rtu_prng_seed(&rng, 5u);
    CHECK_STATUS(rtu_td_init(&td, RTU_KIND_LINEAR, RTU_ACT_IDENTITY, GOLDEN_N_IN,
                             GOLDEN_N_HIDDEN, &cfg, &rng, td_buf, sizeof td_buf),
                 RTU_OK);
    /* the first prediction from the zero state, h known from a first try: w . h + b overflows */
    CHECK_STATUS(rtu_td_step(&td, x, 0, &v), RTU_OK);
    for (k = 0; k < n2; ++k) {
        td.head[k] = td.cell.h[k] > 0 ? big : -big;
    }
    td.head[n2] = big;
    rtu_td_reset(&td);
    CHECK_STATUS(rtu_td_step(&td, x, 0, &v), RTU_ERR_DIVERGED);

    /* SGD steps alpha delta z with delta = C + gamma v - v_prev about 1e6 */
    rtu_prng_seed(&rng, 5u);
    CHECK_STATUS(rtu_td_init(&td, RTU_KIND_LINEAR, RTU_ACT_IDENTITY, GOLDEN_N_IN,
                             GOLDEN_N_HIDDEN, &cfg, &rng, td_buf, sizeof td_buf),
                 RTU_OK);
    CHECK_STATUS(rtu_td_step(&td, x, 0, &v), RTU_OK);
    memset(td.z, 0, sizeof(rtu_real) * td.n_params);
    td.z[0] = -1;     /* nu_log[0] down */
    td.z[1] = 1;      /* nu_log[1] up */
    td.z[n] = -1;     /* theta_log[0] down */
    td.z_norm1 = 3;
    td.v_prev = (rtu_real)-1e6;
    CHECK_STATUS(rtu_td_step(&td, x, 0, &v), RTU_OK);
    CHECK(td.cell.nu_log[0] == -limit && td.cell.nu_log[1] == limit &&
              td.cell.theta_log[0] == -limit,
          "nu_log, theta_log not held at the bound: %g %g %g", (double)td.cell.nu_log[0],
          (double)td.cell.nu_log[1], (double)td.cell.theta_log[0]);
    memset(td.z, 0, sizeof(rtu_real) * td.n_params);
    td.z[2 * n] = 1e3; /* w_c[0] up, beyond RTU_VALUE_LIMIT */
    td.z_norm1 = 1e3;
    td.v_prev = (rtu_real)-1e6;
    td.config.alpha = (rtu_real)1e9;
    CHECK_STATUS(rtu_td_step(&td, x, 0, &v), RTU_ERR_DIVERGED);
    CHECK(isfinite(td.cell.w_c[0]) && td.cell.w_c[0] > (rtu_real)RTU_VALUE_LIMIT,
          "w_c[0] = %g", (double)td.cell.w_c[0]);
}

/* Issue 16: a refused act or learn changes nothing, the observation statistics included. After
 * 1e14 observations of 0 (mean 0, m2 0), an observation of 1000 normalises to about 7e6, beyond
 * RTU_INPUT_LIMIT: act and learn refuse it before the statistics take it (act updated them first).
 * A count stops at RTU_COUNT_LIMIT (it would wrap to 0, and divide by it, after 2^64 - 1). The
 * actor's outputs are checked before an action is sampled from them. rtu_ac_check_values refuses
 * what act and learn refuse of the values, changing nothing. arg: the golden case, with
 * an input layer (which took any normalised observation) or without (whose cell refused it). */
void test_ac_refusals_change_nothing(int c)
{
    static rtu_real before[FIX_AC_REALS];
    rtu_real zero[GOLDEN_AC_N_IN] = {0, 0}, far[GOLDEN_AC_N_IN] = {1000, 0};
    rtu_real action[FIX_AC_MAX_ACTIONS];
    rtu_ac ac, kept;
    size_t i;
    CHECK_STATUS(fix_ac_make(c, 9u, &ac, ac_buf), RTU_OK);
    CHECK(ac.config.normalize_obs && ac.config.scale_reward, "the case's config");
    ac.obs_count = 100000000000000u;
    memcpy(before, ac_buf, sizeof ac_buf);
    kept = ac;
    CHECK_STATUS(rtu_ac_check_values(&ac, far, NULL), RTU_ERR_INPUT_RANGE); /* as act says */
    CHECK_STATUS(rtu_ac_check_values(&ac, zero, &far[0]), RTU_OK);
    CHECK_STATUS(rtu_ac_check_values(&ac, zero, &(rtu_real){(rtu_real)NAN}),
                 RTU_ERR_NONFINITE_INPUT);
    CHECK_STATUS(rtu_ac_check_values(&ac, zero, &(rtu_real){(rtu_real)2e6}), RTU_ERR_INPUT_RANGE);
    CHECK_STATUS(rtu_ac_check_values(&ac, NULL, NULL), RTU_ERR_NULL);
    CHECK_STATUS(rtu_ac_act(&ac, far, action), RTU_ERR_INPUT_RANGE);
    CHECK(memcmp(before, ac_buf, sizeof ac_buf) == 0 && fix_ac_same(&ac, &kept),
          "a refused act changed the learner");
    CHECK_STATUS(rtu_ac_act(&ac, zero, action), RTU_OK);
    memcpy(before, ac_buf, sizeof ac_buf);
    kept = ac;
    CHECK_STATUS(rtu_ac_learn(&ac, 1, far, 0, 0), RTU_ERR_INPUT_RANGE);
    CHECK(memcmp(before, ac_buf, sizeof ac_buf) == 0 && fix_ac_same(&ac, &kept),
          "a refused learn changed the learner");
    CHECK_STATUS(rtu_ac_learn(&ac, 1, zero, 0, 0), RTU_OK);
    CHECK(ac.obs_count == 100000000000002u && ac.ret_count == 1u, "counts %lu %lu",
          (unsigned long)ac.obs_count, (unsigned long)ac.ret_count);

    ac.obs_count = RTU_COUNT_LIMIT;
    ac.ret_count = RTU_COUNT_LIMIT;
    CHECK_STATUS(rtu_ac_act(&ac, zero, action), RTU_OK);
    CHECK_STATUS(rtu_ac_learn(&ac, 1, zero, 0, 0), RTU_OK);
    CHECK(ac.obs_count == RTU_COUNT_LIMIT && ac.ret_count == RTU_COUNT_LIMIT &&
              isfinite(ac.ret_mean) && isfinite(ac.obs_mean[0]),
          "counts go past RTU_COUNT_LIMIT");

    /* an actor whose outputs are not finite (at the next act's forward): no action from them */
    for (i = 0; i < ac.head[1].n_params; ++i) {
        ac.head[1].params[i] = (rtu_real)NAN;
    }
    rtu_ac_begin_episode(&ac);
    CHECK_STATUS(rtu_ac_act(&ac, zero, action), RTU_ERR_DIVERGED);
}

/* A batch of BATCH learners of golden case c (seeds 5, 6, 7; one buffer) takes exactly the
 * trajectories of the same learners alone, for 60 steps with episode ends; a batch call that
 * refuses one learner's input changes no learner and names that learner; inactive learners are
 * untouched; learners that diverge in one call are all flagged. */
#define BATCH 3
void test_ac_batch(int c)
{
    static rtu_real batch_buf[BATCH * FIX_AC_REALS], before[BATCH * FIX_AC_REALS];
    static rtu_real single_buf[BATCH][FIX_AC_REALS];
    rtu_ac acs[BATCH], singles[BATCH], kept[BATCH];
    rtu_ac_shape shape = fix_ac_shape(c);
    rtu_ac_config config = fix_ac_config(c);
    uint64_t seeds[BATCH] = {5u, 6u, 7u};
    fix_env env[BATCH];
    rtu_real obs[BATCH * GOLDEN_AC_N_IN], rewards[BATCH];
    rtu_real actions[BATCH * FIX_AC_MAX_ACTIONS], single_action[FIX_AC_MAX_ACTIONS];
    unsigned char terminated[BATCH], truncated[BATCH], active[BATCH] = {1, 0, 1}, diverged[BATCH];
    size_t i, j, at = 99, bytes, one, A;
    unsigned t;
    CHECK_STATUS(rtu_ac_batch_buffer_size(&shape, BATCH, &bytes), RTU_OK);
    CHECK_STATUS(rtu_ac_buffer_size(&shape, &one), RTU_OK);
    CHECK(bytes == BATCH * one, "batch bytes %lu, one %lu", (unsigned long)bytes,
          (unsigned long)one);
    CHECK_STATUS(rtu_ac_batch_buffer_size(&shape, 0, &bytes), RTU_ERR_SIZE);
    CHECK_STATUS(rtu_ac_batch_init(acs, BATCH, &shape, &config, seeds, batch_buf, bytes - 1),
                 RTU_ERR_BUFFER_SMALL);
    CHECK_STATUS(rtu_ac_batch_init(acs, BATCH, &shape, &config, seeds, batch_buf,
                                   sizeof batch_buf),
                 RTU_OK);
    for (i = 0; i < BATCH; ++i) {
        CHECK_STATUS(fix_ac_make(c, seeds[i], &singles[i], single_buf[i]), RTU_OK);
        fix_env_start(&env[i], 40u + i);
    }
    A = fix_ac_action_reals(&acs[0]);
    for (t = 0; t < 60; ++t) {
        for (i = 0; i < BATCH; ++i) {
            for (j = 0; j < GOLDEN_AC_N_IN; ++j) {
                obs[i * GOLDEN_AC_N_IN + j] = (rtu_real)env[i].obs[j];
            }
        }
        CHECK_STATUS(rtu_ac_act_batch(acs, BATCH, obs, NULL, actions, &at, NULL), RTU_OK);
        for (i = 0; i < BATCH; ++i) {
            CHECK_STATUS(rtu_ac_act(&singles[i], obs + i * GOLDEN_AC_N_IN, single_action), RTU_OK);
            CHECK(memcmp(single_action, actions + i * A, A * sizeof(rtu_real)) == 0,
                  "step %u learner %lu: the batch's action differs", t, (unsigned long)i);
            fix_env_advance(&env[i], 1);
            for (j = 0; j < GOLDEN_AC_N_IN; ++j) {
                obs[i * GOLDEN_AC_N_IN + j] = (rtu_real)env[i].obs[j];
            }
            rewards[i] = (rtu_real)(0.5 - 0.25 * (double)i + env[i].obs[0]);
            terminated[i] = (unsigned char)((t + i) % 17 == 16);
            truncated[i] = (unsigned char)((t + 2 * i) % 23 == 22);
        }
        CHECK_STATUS(rtu_ac_learn_batch(acs, BATCH, rewards, obs, terminated, truncated, NULL,
                                        &at, NULL),
                     RTU_OK);
        for (i = 0; i < BATCH; ++i) {
            CHECK_STATUS(rtu_ac_learn(&singles[i], rewards[i], obs + i * GOLDEN_AC_N_IN,
                                      terminated[i], truncated[i]),
                         RTU_OK);
        }
    }
    for (i = 0; i < BATCH; ++i) {
        CHECK(memcmp(batch_buf + i * (one / sizeof(rtu_real)), single_buf[i], one) == 0 &&
                  acs[i].steps == singles[i].steps && acs[i].episodes == singles[i].episodes,
              "learner %lu of the batch differs from the same learner alone", (unsigned long)i);
    }

    /* learner 1 refuses a NaN: no learner changes, *at names it */
    memcpy(before, batch_buf, sizeof batch_buf);
    memcpy(kept, acs, sizeof acs);
    obs[1 * GOLDEN_AC_N_IN] = (rtu_real)NAN;
    CHECK_STATUS(rtu_ac_act_batch(acs, BATCH, obs, NULL, actions, &at, NULL),
                 RTU_ERR_NONFINITE_INPUT);
    CHECK(at == 1, "at %lu, expected 1", (unsigned long)at);
    for (i = 0; i < BATCH; ++i) {
        CHECK(fix_ac_same(&acs[i], &kept[i]), "a refused batch act changed learner %lu",
              (unsigned long)i);
    }
    CHECK(memcmp(before, batch_buf, sizeof batch_buf) == 0, "a refused batch act changed memory");
    /* learner 1 inactive: its NaN row is not read, and it does not act */
    CHECK_STATUS(rtu_ac_act_batch(acs, BATCH, obs, active, actions, &at, NULL), RTU_OK);
    CHECK(!acs[1].acted && acs[0].acted && acs[2].acted, "only the active learners act");
    CHECK(memcmp(before + 1 * (one / sizeof(rtu_real)), batch_buf + 1 * (one / sizeof(rtu_real)),
                 one) == 0,
          "an inactive learner changed");
    /* learn with learner 1 active: it did not act, so the call is refused as a whole */
    memcpy(before, batch_buf, sizeof batch_buf);
    obs[1 * GOLDEN_AC_N_IN] = 0;
    CHECK_STATUS(rtu_ac_learn_batch(acs, BATCH, rewards, obs, terminated, truncated, NULL, &at,
                                    NULL),
                 RTU_ERR_ORDER);
    CHECK(at == 1 && memcmp(before, batch_buf, sizeof batch_buf) == 0,
          "a refused batch learn changed memory (at %lu)", (unsigned long)at);
    CHECK_STATUS(rtu_ac_learn_batch(acs, BATCH, rewards, obs, terminated, truncated, active, &at,
                                    NULL),
                 RTU_OK);
    CHECK(acs[0].steps == 61 && acs[1].steps == 60 && acs[2].steps == 61, "steps after learn");
    CHECK_STATUS(rtu_ac_act_batch(NULL, BATCH, obs, NULL, actions, &at, NULL), RTU_ERR_NULL);
    CHECK_STATUS(rtu_ac_learn_batch(acs, RTU_MAX_BATCH + 1u, rewards, obs, terminated, truncated,
                                    NULL, &at, NULL),
                 RTU_ERR_SIZE);

    /* learners 0 and 2 diverge in one act: *at names the first, diverged flags both */
    for (i = 0; i < BATCH; ++i) {
        rtu_ac_begin_episode(&acs[i]);
        diverged[i] = 9;
    }
    for (i = 0; i < acs[0].head[1].n_params; ++i) {
        acs[0].head[1].params[i] = (rtu_real)NAN;
        acs[2].head[1].params[i] = (rtu_real)NAN;
    }
    CHECK_STATUS(rtu_ac_act_batch(acs, BATCH, obs, NULL, actions, &at, diverged),
                 RTU_ERR_DIVERGED);
    CHECK(at == 0 && diverged[0] == 1 && diverged[1] == 0 && diverged[2] == 1 && acs[1].acted,
          "diverged %u %u %u, at %lu", diverged[0], diverged[1], diverged[2], (unsigned long)at);
}

/* A batch of BATCH TD learners of golden case c (seeds 5, 6, 7) run over 60 time steps
 * (rtu_td_run_batch, time-major) is bit for bit the same learners stepped alone; a refused input
 * changes no learner and names it. */
#define TD_STEPS 60u
void test_td_batch(int c)
{
    const golden_td_case *g = &golden_td_cases[c];
    static rtu_real batch_buf[BATCH * FIX_TD_REALS], before[BATCH * FIX_TD_REALS];
    static rtu_real single_buf[BATCH][FIX_TD_REALS];
    static rtu_real x[TD_STEPS * BATCH * GOLDEN_N_IN], cumulants[TD_STEPS * BATCH];
    static rtu_real predictions[TD_STEPS * BATCH];
    rtu_td tds[BATCH], singles[BATCH];
    rtu_td_config cfg;
    uint64_t seeds[BATCH] = {5u, 6u, 7u};
    rtu_prng rng;
    size_t i, t, at = 99, bytes, one;
    rtu_real v;
    int same = 1;
    CHECK_STATUS(fix_td_make(c, seeds[0], &singles[0], single_buf[0]), RTU_OK);
    cfg = singles[0].config;
    CHECK_STATUS(rtu_td_batch_buffer_size((rtu_kind)g->kind, GOLDEN_N_IN, GOLDEN_N_HIDDEN, BATCH,
                                          &bytes),
                 RTU_OK);
    CHECK_STATUS(rtu_td_buffer_size((rtu_kind)g->kind, GOLDEN_N_IN, GOLDEN_N_HIDDEN, &one),
                 RTU_OK);
    CHECK(bytes == BATCH * one, "batch bytes");
    CHECK_STATUS(rtu_td_batch_init(tds, BATCH, (rtu_kind)g->kind, (rtu_activation)g->activation,
                                   GOLDEN_N_IN, GOLDEN_N_HIDDEN, &cfg, seeds, batch_buf,
                                   sizeof batch_buf),
                 RTU_OK);
    for (i = 0; i < BATCH; ++i) {
        CHECK_STATUS(fix_td_make(c, seeds[i], &singles[i], single_buf[i]), RTU_OK);
    }
    rtu_prng_seed(&rng, 21u);
    for (t = 0; t < TD_STEPS; ++t) {
        for (i = 0; i < BATCH; ++i) {
            fix_td_input(&rng, (unsigned)t, x + (t * BATCH + i) * GOLDEN_N_IN,
                         cumulants + t * BATCH + i);
        }
    }
    CHECK_STATUS(rtu_td_run_batch(tds, BATCH, x, cumulants, TD_STEPS, predictions, &at), RTU_OK);
    for (t = 0; t < TD_STEPS; ++t) {
        for (i = 0; i < BATCH; ++i) {
            CHECK_STATUS(rtu_td_step(&singles[i], x + (t * BATCH + i) * GOLDEN_N_IN,
                                     cumulants[t * BATCH + i], &v),
                         RTU_OK);
            same &= memcmp(&v, predictions + t * BATCH + i, sizeof v) == 0;
        }
    }
    for (i = 0; i < BATCH; ++i) {
        same &= memcmp(batch_buf + i * (one / sizeof(rtu_real)), single_buf[i], one) == 0;
    }
    CHECK(same, "a batch's learner differs from the same learner alone");

    memcpy(before, batch_buf, sizeof batch_buf);
    x[(2 * BATCH + 1) * GOLDEN_N_IN] = (rtu_real)NAN; /* step 2, learner 1 */
    CHECK_STATUS(rtu_td_run_batch(tds, BATCH, x, cumulants, TD_STEPS, predictions, &at),
                 RTU_ERR_NONFINITE_INPUT);
    CHECK(at == 1 && memcmp(before, batch_buf, sizeof batch_buf) == 0 &&
              tds[0].steps == TD_STEPS,
          "a refused batch run changed a learner (at %lu)", (unsigned long)at);
    CHECK_STATUS(rtu_td_run_batch(tds, RTU_MAX_BATCH + 1u, x, cumulants, 1, NULL, &at),
                 RTU_ERR_SIZE);
    CHECK_STATUS(rtu_td_run_batch(tds, BATCH, x, cumulants, SIZE_MAX / BATCH + 2u, NULL, &at),
                 RTU_ERR_SIZE);
    CHECK(memcmp(before, batch_buf, sizeof batch_buf) == 0, "a refused batch run changed it");
}

/* PPO's Adam state (rtu_ckpt.h's learner type 3) of ppo, whose buffer buf (bytes; before the
 * same size, scratch) holds its moments: the size query is exact; a state of another step than
 * the network's or a corrupted one is refused, changing nothing; saved, zeroed and loaded, the
 * moments and step count are back bit for bit. */
static void test_ppo_adam_state(rtu_ppo *ppo, const rtu_real *buf, rtu_real *before, size_t bytes)
{
    static unsigned char adam_ckpt[16u * FIX_AC_REALS + 4096u];
    size_t size, written;
    uint64_t adam_steps = ppo->adam_steps;
    const char *what = NULL;
    CHECK_STATUS(rtu_ppo_adam_checkpoint_size(ppo, &size), RTU_OK);
    CHECK(size <= sizeof adam_ckpt && size == RTU_CKPT_HEADER_BYTES + 8u + RTU_CKPT_CRC_BYTES +
                                              2u * ppo->n_grad * sizeof(rtu_real),
          "Adam's state takes %lu bytes", (unsigned long)size);
    CHECK_STATUS(rtu_ppo_save_adam(ppo, adam_ckpt, size - 1u, &written), RTU_ERR_BUFFER_SMALL);
    CHECK_STATUS(rtu_ppo_save_adam(ppo, adam_ckpt, sizeof adam_ckpt, &written), RTU_OK);
    CHECK(written == size && adam_steps > 0, "wrote %lu bytes of %lu", (unsigned long)written,
          (unsigned long)size);
    memcpy(before, buf, bytes);
    ppo->ac.steps += 1u;
    CHECK_STATUS(rtu_ppo_check_adam_checkpoint(ppo, adam_ckpt, written, &what),
                 RTU_ERR_CKPT_MISMATCH);
    CHECK(what != NULL && strstr(what, "another step") != NULL, "the check says %s", what);
    CHECK_STATUS(rtu_ppo_load_adam(ppo, adam_ckpt, written), RTU_ERR_CKPT_MISMATCH);
    ppo->ac.steps -= 1u;
    adam_ckpt[RTU_CKPT_HEADER_BYTES + 9u] ^= 1u;
    CHECK_STATUS(rtu_ppo_load_adam(ppo, adam_ckpt, written), RTU_ERR_CKPT_CRC);
    adam_ckpt[RTU_CKPT_HEADER_BYTES + 9u] ^= 1u;
    CHECK(memcmp(before, buf, bytes) == 0 && ppo->adam_steps == adam_steps,
          "a refused load changed PPO");
    memset(ppo->adam_m, 0, 2u * ppo->n_grad * sizeof(rtu_real)); /* adam_m, then adam_v */
    ppo->adam_steps = 0;
    CHECK_STATUS(rtu_ppo_load_adam(ppo, adam_ckpt, written), RTU_OK);
    CHECK(memcmp(before, buf, bytes) == 0 && ppo->adam_steps == adam_steps,
          "the loaded Adam state is not the saved one");
}

/* PPO (rtu_ppo.h) on golden case c's network: the size query is exact; the network is the one
 * rtu_ac_init draws from the seed; a rollout of fix_env observations, with a truncation whose
 * final observation gives a value (and rows that are not read, which are not checked); every
 * refusal (order, a non-finite observation, reward or final observation, a sample outside the
 * rollout, a bad loss or Adam setting) changes nothing; the update runs; Adam's state saves and loads (test_ppo_adam_state); the
 * hand-off saves a checkpoint an rtu_ac loads, which goes on learning. */
#define PPO_ENVS 2u
#define PPO_STEPS 5u
void test_ppo(int c)
{
    static rtu_real buf[PPO_ENVS * (PPO_STEPS + 1u) * 2u * 4096u + 4u * FIX_AC_REALS];
    static rtu_real before[sizeof buf / sizeof(rtu_real)];
    static rtu_real ac_ref_buf[FIX_AC_REALS], loaded_buf[FIX_AC_REALS];
    static unsigned char ckpt[8u * FIX_AC_REALS + 4096u];
    rtu_ppo ppo;
    rtu_ac ref, loaded;
    rtu_ac_shape shape = fix_ac_shape(c);
    rtu_ac_config config = fix_ac_config(c);
    rtu_ppo_loss loss = {(rtu_real)0.2, (rtu_real)0.5, 1};
    rtu_ppo_adam adam = {(rtu_real)1e-3, (rtu_real)0.9, (rtu_real)0.999, (rtu_real)1e-5,
                         (rtu_real)0.5};
    rtu_ppo_stats stats;
    fix_env env[PPO_ENVS];
    rtu_real obs[PPO_ENVS * GOLDEN_AC_N_IN], actions[PPO_ENVS * FIX_AC_MAX_ACTIONS];
    rtu_real values[PPO_ENVS], log_probs[PPO_ENVS], rewards[PPO_ENVS], scaled[PPO_ENVS];
    rtu_real final_obs[PPO_ENVS * GOLDEN_AC_N_IN], final_values[PPO_ENVS];
    rtu_real adv[3] = {1, -0.5, 0.25}, ret[3] = {0.5, 0.1, -0.2}, norm;
    unsigned char term[PPO_ENVS] = {0, 1}, trunc[PPO_ENVS] = {0, 0};
    size_t samples[3] = {0, 3, 9}, i, j, at = 99, bytes, ac_bytes, written;
    const char *what = NULL;
    unsigned t;
    CHECK_STATUS(rtu_ppo_buffer_size(&shape, PPO_ENVS, PPO_STEPS, &bytes), RTU_OK);
    CHECK(bytes <= sizeof buf, "PPO needs %lu bytes, the test's buffer has %lu",
          (unsigned long)bytes, (unsigned long)sizeof buf);
    CHECK_STATUS(rtu_ppo_buffer_size(&shape, 0, PPO_STEPS, &bytes), RTU_ERR_SIZE);
    CHECK_STATUS(rtu_ppo_buffer_size(&shape, PPO_ENVS, 0, &bytes), RTU_ERR_SIZE);
    CHECK_STATUS(rtu_ppo_buffer_size(&shape, PPO_ENVS, PPO_STEPS, &bytes), RTU_OK);
    CHECK_STATUS(rtu_ppo_init(&ppo, &shape, &config, PPO_ENVS, PPO_STEPS, 11u, buf, bytes - 1),
                 RTU_ERR_BUFFER_SMALL);
    CHECK_STATUS(rtu_ppo_init(&ppo, &shape, &config, PPO_ENVS, PPO_STEPS, 11u, buf, bytes),
                 RTU_OK);
    CHECK(ppo.adam_v + ppo.n_grad == ppo.work &&
              ppo.work + ppo.work_reals == buf + bytes / sizeof(rtu_real),
          "the layout does not end at the size query's last byte");
    CHECK_STATUS(fix_ac_make(c, 11u, &ref, ac_ref_buf), RTU_OK);
    CHECK_STATUS(rtu_ac_buffer_size(&shape, &ac_bytes), RTU_OK);
    CHECK(memcmp(buf, ac_ref_buf, ac_bytes) == 0, "PPO's network is not rtu_ac_init's");
    for (i = 0; i < PPO_ENVS; ++i) {
        fix_env_start(&env[i], 60u + i);
    }
    CHECK_STATUS(rtu_ppo_begin_rollout(&ppo), RTU_OK);
    for (t = 0; t < PPO_STEPS; ++t) {
        for (i = 0; i < PPO_ENVS; ++i) {
            for (j = 0; j < GOLDEN_AC_N_IN; ++j) {
                obs[i * GOLDEN_AC_N_IN + j] = (rtu_real)env[i].obs[j];
            }
            rewards[i] = (rtu_real)(0.25 + env[i].obs[0]);
        }
        if (t == 2) { /* refused: a NaN observation of environment 1, nothing changed */
            memcpy(before, buf, bytes);
            obs[GOLDEN_AC_N_IN] = (rtu_real)NAN;
            CHECK_STATUS(rtu_ppo_act(&ppo, obs, actions, values, log_probs, &at),
                         RTU_ERR_NONFINITE_INPUT);
            CHECK(at == 1 && memcmp(before, buf, bytes) == 0, "a refused act changed PPO");
            obs[GOLDEN_AC_N_IN] = (rtu_real)env[1].obs[0];
        }
        CHECK_STATUS(rtu_ppo_act(&ppo, obs, actions, values, log_probs, &at), RTU_OK);
        memcpy(before, buf, bytes);
        CHECK_STATUS(rtu_ppo_act(&ppo, obs, actions, values, log_probs, &at), RTU_ERR_ORDER);
        rewards[0] = (rtu_real)INFINITY;
        CHECK_STATUS(rtu_ppo_feedback(&ppo, rewards, term, trunc, NULL, scaled, NULL, &at),
                     RTU_ERR_NONFINITE_INPUT);
        CHECK(at == 0 && memcmp(before, buf, bytes) == 0, "a refused call changed PPO");
        rewards[0] = (rtu_real)0.5;
        /* environment 0's episode is truncated at step 3; environment 1's row of final_obs
         * (it terminates every step) is never read */
        trunc[0] = t == 3;
        for (j = 0; j < GOLDEN_AC_N_IN; ++j) {
            final_obs[j] = obs[j] + (rtu_real)0.125;
            final_obs[GOLDEN_AC_N_IN + j] = (rtu_real)NAN;
        }
        if (t == 3) { /* refused: a NaN final observation that is read, or no final_values */
            final_obs[1] = (rtu_real)NAN;
            CHECK_STATUS(rtu_ppo_feedback(&ppo, rewards, term, trunc, final_obs, scaled,
                                          final_values, &at),
                         RTU_ERR_NONFINITE_INPUT);
            CHECK(at == 0 && memcmp(before, buf, bytes) == 0, "a refused call changed PPO");
            final_obs[1] = obs[1];
            CHECK_STATUS(rtu_ppo_feedback(&ppo, rewards, term, trunc, final_obs, scaled, NULL,
                                          &at),
                         RTU_ERR_NULL);
            CHECK(memcmp(before, buf, bytes) == 0, "a refused call changed PPO");
        }
        final_values[0] = final_values[1] = (rtu_real)99;
        CHECK_STATUS(rtu_ppo_feedback(&ppo, rewards, term, trunc, final_obs, scaled,
                                      final_values, &at),
                     RTU_OK);
        CHECK(final_values[1] == 0 && (t == 3 ? isfinite(final_values[0]) &&
                                                    final_values[0] != 0
                                              : final_values[0] == 0),
              "final values %g, %g at step %u", (double)final_values[0],
              (double)final_values[1], t);
        for (i = 0; i < PPO_ENVS; ++i) {
            fix_env_advance(&env[i], 1);
        }
    }
    CHECK(ppo.ac.steps == PPO_ENVS * PPO_STEPS && ppo.ac.episodes == PPO_STEPS + 1u,
          "steps %lu, episodes %lu", (unsigned long)ppo.ac.steps,
          (unsigned long)ppo.ac.episodes);
    memcpy(before, buf, bytes);
    CHECK_STATUS(rtu_ppo_act(&ppo, obs, actions, values, log_probs, &at), RTU_ERR_ORDER);
    samples[1] = PPO_ENVS * PPO_STEPS;
    CHECK_STATUS(rtu_ppo_gradient(&ppo, &loss, 3, samples, adv, ret, &stats, &at), RTU_ERR_SIZE);
    CHECK(at == 1, "the sample refused is %lu", (unsigned long)at);
    samples[1] = 3;
    loss.clip_coef = 0;
    CHECK_STATUS(rtu_ppo_check_loss(&loss, &what), RTU_ERR_CONFIG);
    CHECK(what != NULL && strcmp(what, "clip_coef") == 0, "check_loss names %s", what);
    CHECK_STATUS(rtu_ppo_gradient(&ppo, &loss, 3, samples, adv, ret, &stats, &at),
                 RTU_ERR_CONFIG);
    loss.clip_coef = (rtu_real)0.2;
    adam.adam_beta1 = 1;
    CHECK_STATUS(rtu_ppo_check_adam(&adam, &what), RTU_ERR_CONFIG);
    CHECK(what != NULL && strcmp(what, "adam_beta1") == 0, "check_adam names %s", what);
    CHECK_STATUS(rtu_ppo_adam_step(&ppo, &adam, &norm), RTU_ERR_CONFIG);
    adam.adam_beta1 = (rtu_real)0.9;
    CHECK(memcmp(before, buf, bytes) == 0, "a refused call changed PPO");
    CHECK_STATUS(rtu_ppo_gradient(&ppo, &loss, 3, samples, adv, ret, &stats, &at), RTU_OK);
    CHECK(isfinite(stats.policy_loss) && stats.value_loss >= 0 && stats.approx_kl == 0,
          "stats: policy %g, value %g, kl %g", (double)stats.policy_loss,
          (double)stats.value_loss, (double)stats.approx_kl);
    CHECK_STATUS(rtu_ppo_adam_step(&ppo, &adam, &norm), RTU_OK);
    CHECK(norm > 0 && memcmp(buf, ac_ref_buf, ac_bytes) != 0, "Adam did not move the network");
    CHECK_STATUS(rtu_ppo_refresh(&ppo, NULL), RTU_OK);
    CHECK_STATUS(rtu_ppo_begin_rollout(&ppo), RTU_OK);
    test_ppo_adam_state(&ppo, buf, before, bytes);
    /* the hand-off */
    rtu_ppo_actor_critic(&ppo);
    CHECK_STATUS(rtu_ac_save(&ppo.ac, ckpt, sizeof ckpt, &written), RTU_OK);
    CHECK_STATUS(fix_ac_make(c, 1u, &loaded, loaded_buf), RTU_OK);
    CHECK_STATUS(rtu_ac_load(&loaded, ckpt, written), RTU_OK);
    CHECK(loaded.steps == PPO_ENVS * PPO_STEPS, "the hand-off holds %lu steps",
          (unsigned long)loaded.steps);
    CHECK_STATUS(rtu_ac_act(&loaded, obs, actions), RTU_OK);
    CHECK_STATUS(rtu_ac_learn(&loaded, (rtu_real)1, obs, 0, 0), RTU_OK);
}
