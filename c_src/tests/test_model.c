/* The inference model (rtu_model.h) is the learner's forward pass: on the learner's own weights,
 * step after step, its outputs are what rtu_ac_act computed; its sizes; refused input. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "fixtures.h"
#include "rtu_model.h"
#include "tests.h"

#define MODEL_STEPS 300u
/* the units of the wide cases: a block of 32 units in the model's input sums and 4 past it */
#define WIDE_HIDDEN 36u
#define MODEL_MAX_OUT (2u * FIX_AC_MAX_ACTIONS + 1u)
#define MODEL_MAX_STATE RTU_MODEL_STATE_REALS(2u, WIDE_HIDDEN, FIX_AC_MAX_ACTIONS + 1u)
#define MODEL_MAX_WORK                                                                              \
    RTU_MODEL_WORK_REALS(GOLDEN_AC_N_IN + FIX_AC_MAX_ACTIONS + 1u, WIDE_HIDDEN,                   \
                         FIX_AC_MAX_EMBED, FIX_AC_MAX_HEAD)

static rtu_real ac_buf[FIX_AC_REALS];
static rtu_real wide_buf[RTU_AC_REALS(RTU_KIND_LRU, GOLDEN_AC_N_IN, WIDE_HIDDEN, FIX_AC_MAX_EMBED,
                                      FIX_AC_MAX_HEAD, 0, 1, 1, RTU_ACTIONS_CONTINUOUS,
                                      FIX_AC_MAX_ACTIONS)];

/* A model whose const pointers are the learner's own arrays: it follows the learner's weights
 * (and its cells' derived g, phi, eta) as they learn. No normalisation: reward_mean 0,
 * reward_scale 1 (the learners it follows have normalize_obs off: their previous-reward input is
 * the raw reward). */
static rtu_model model_of(const rtu_ac *ac)
{
    rtu_model m;
    size_t r, n2 = 2u * ac->shape.n_hidden, k = ac->shape.n_head;
    memset(&m, 0, sizeof m);
    m.kind = ac->shape.kind;
    m.activation = ac->shape.activation;
    m.n_obs = ac->shape.n_obs;
    m.n_hidden = ac->shape.n_hidden;
    m.n_embed = ac->shape.n_embed;
    m.n_head = k;
    m.n_trunks = ac->shape.shared ? 1u : 2u;
    m.prev_action = ac->shape.prev_action;
    m.prev_reward = ac->shape.prev_reward;
    m.memoryless = ac->shape.memoryless;
    m.action_kind = ac->shape.action_kind;
    m.n_actions = ac->shape.n_actions;
    for (r = 0; r < m.n_trunks; ++r) {
        const rtu_ac_trunk *t = &ac->trunk[r];
        m.trunk[r].embed = t->embed;
        m.trunk[r].w_c = t->cell.w_c;
        m.trunk[r].w_d = t->cell.w_d;
        m.trunk[r].g = t->cell.g;
        m.trunk[r].phi = t->cell.phi;
        m.trunk[r].eta = t->cell.eta;
        m.trunk[r].c_re = t->cell.c_re; /* the LRU's readout; NULL for the RTU kinds */
        m.trunk[r].c_im = t->cell.c_im;
        m.trunk[r].d_skip = t->cell.d_skip;
    }
    for (r = 0; r < 2u; ++r) {
        m.head[r].hidden = k ? ac->head[r].params : NULL;
        m.head[r].out = ac->head[r].params + (k ? k * (n2 + 1u) : 0u);
    }
    m.obs_mean = m.obs_inv_std = NULL;
    m.reward_scale = 1;
    m.std_min = ac->config.std_min;
    m.std_max = ac->config.std_max;
    return m;
}

/* Golden case c's learner without observation normalisation and reward scaling (whose running
 * statistics a frozen model does not follow), acting and learning on the synthetic stream; the
 * model steps on the same observations, fed the learner's actions and rewards. After every act,
 * the model's outputs are the learner's (actor's outputs, std after the bound, then v(s)) and its
 * extras are the learner's x: bit for bit. reward_input: RTU_REWARD_SIGN, RTU_REWARD_CENTERED_SIGN
 * or RTU_REWARD_GATED_SIGN in place of the case's prev_reward (the model then takes the learner's
 * mean of the signs, or its gate, after each learn, as an export then would), or 0 to keep it. */
static void model_follows(int c, int reward_input, int wide)
{
    rtu_ac ac;
    rtu_ac_shape shape = fix_ac_shape(c);
    rtu_ac_config cfg = fix_ac_config(c);
    rtu_model m;
    fix_env env;
    rtu_real state[MODEL_MAX_STATE], work[MODEL_MAX_WORK], out[MODEL_MAX_OUT];
    rtu_real want[MODEL_MAX_OUT];
    size_t A, o_pi, n_out, i, n_extra;
    unsigned t;
    double worst = 0, sum = 0, s, d;
    int seen[3] = {0, 0, 0}; /* the signs -1, 0, 1 seen so far */
    rtu_status status;
    cfg.normalize_obs = 0;
    cfg.scale_reward = 0;
    if (reward_input) {
        shape.prev_reward = reward_input;
    }
    if (wide) {
        shape.n_hidden = WIDE_HIDDEN;
    }
    status = rtu_ac_init(&ac, &shape, &cfg, golden_ac_cases[c].seed, wide ? wide_buf : ac_buf,
                         wide ? sizeof wide_buf : sizeof ac_buf);
    CHECK_STATUS(status, RTU_OK);
    if (status != RTU_OK) {
        return;
    }
    m = model_of(&ac);
    CHECK_STATUS(rtu_model_check(&m), RTU_OK);
    A = shape.n_actions;
    o_pi = RTU_AC_N_OUT_POLICY(shape.action_kind, A);
    n_out = rtu_model_n_out(&m);
    n_extra = RTU_MODEL_N_EXTRA(shape.prev_action, shape.prev_reward, A);
    CHECK(n_out == o_pi + 1u && n_out <= MODEL_MAX_OUT, "n_out %lu", (unsigned long)n_out);
    CHECK(rtu_model_state_reals(&m) <= MODEL_MAX_STATE && rtu_model_work_reals(&m) <= MODEL_MAX_WORK,
          "sizes");
    rtu_model_reset(&m, state);
    fix_env_start(&env, golden_ac_cases[c].env_seed);
    for (t = 0; t < MODEL_STEPS; ++t) {
        rtu_real obs[GOLDEN_AC_N_IN], next[GOLDEN_AC_N_IN], action[FIX_AC_MAX_ACTIONS], r;
        int end = (t + 1u) % GOLDEN_AC_EPISODE == 0u, odd = ((t + 1u) / GOLDEN_AC_EPISODE) % 2u;
        for (i = 0; i < GOLDEN_AC_N_IN; ++i) {
            obs[i] = (rtu_real)env.obs[i];
        }
        status = rtu_ac_act(&ac, obs, action);
        if (status == RTU_OK) {
            status = rtu_model_step(&m, state, obs, work, out);
        }
        CHECK_STATUS(status, RTU_OK);
        if (status != RTU_OK) {
            return;
        }
        for (i = 0; i < o_pi; ++i) { /* logits, or means then the bounded stds */
            want[i] = shape.action_kind == RTU_ACTIONS_DISCRETE ? ac.head[1].out[i] : ac.pi[i];
        }
        want[o_pi] = rtu_ac_value(&ac);
        for (i = 0; i < n_out; ++i) {
            double d = fabs((double)out[i] - (double)want[i]);
            worst = d > worst ? d : worst;
        }
        for (i = 0; i < n_extra; ++i) {
            double d = fabs((double)state[m.n_trunks * 2u * m.n_hidden + i] -
                            (double)ac.x[shape.n_obs + i]);
            worst = d > worst ? d : worst;
        }
        r = (rtu_real)(0.5 * env.obs[0] - 0.25);
        sum += r > 0 ? 1.0 : (r < 0 ? -1.0 : 0.0);
        fix_env_advance(&env, 1u);
        for (i = 0; i < GOLDEN_AC_N_IN; ++i) {
            next[i] = (rtu_real)env.obs[i];
        }
        status = rtu_ac_learn(&ac, r, next, end && odd, end && !odd);
        CHECK_STATUS(status, RTU_OK);
        if (status != RTU_OK) {
            return;
        }
        if (end) {
            rtu_model_reset(&m, state);
        } else {
            if (reward_input == RTU_REWARD_CENTERED_SIGN) {
                m.reward_mean = ac.reward_mean;
            }
            if (reward_input == RTU_REWARD_GATED_SIGN) {
                m.reward_scale = ac.reward_m2 > 0 ? (rtu_real)1 : (rtu_real)0;
            }
            CHECK_STATUS(rtu_model_feed(&m, state, action, r), RTU_OK);
            /* the reward's sign (less the mean of the signs so far, r's among them, summed here
             * in double; or 0 until two signs so far differ), as the learner's x holds it (to
             * rounding when centred) */
            s = r > 0 ? 1.0 : (r < 0 ? -1.0 : 0.0);
            seen[(int)s + 1] = 1;
            d = reward_input == RTU_REWARD_SIGN ? s
                : reward_input == RTU_REWARD_GATED_SIGN ? (seen[0] + seen[1] + seen[2] > 1 ? s : 0.0)
                : s - sum / (t + 1.0);
            if (reward_input) {
                double x = (double)ac.x[shape.n_obs + n_extra - 1u];
                CHECK(fabs(x - d) <= (reward_input == RTU_REWARD_CENTERED_SIGN ? 1e-5 : 0.0) &&
                          (double)state[m.n_trunks * 2u * m.n_hidden + n_extra - 1u] == x,
                      "step %u: the reward input %g, not %g", t, x, d);
            }
        }
    }
    CHECK(worst == 0, "model vs learner: largest difference %g (outputs and extras)", worst);
    check_note_deviation(worst);
    check_note("%s trunks, n %lu, m %lu, k %lu, %s, %u steps",
               m.n_trunks == 1u ? "shared" : "separate", (unsigned long)m.n_hidden,
               (unsigned long)m.n_embed, (unsigned long)m.n_head,
               shape.action_kind == RTU_ACTIONS_DISCRETE ? "discrete" : "continuous",
               MODEL_STEPS);
}

void test_model_is_the_learners_forward(int c)
{
    model_follows(c, 0, 0);
}

/* The same with WIDE_HIDDEN units: the model's input sums in a block of units and past it (its
 * own code: rtu_model.c's blocks), against the learner's cell. */
void test_model_wide_is_the_learners_forward(int c)
{
    model_follows(c, 0, 1);
}

/* The same with the previous reward's sign as input (RTU_REWARD_SIGN): the learner's x and the
 * model's extras hold sign(r) after each learn and feed. */
void test_model_reward_sign(int c)
{
    model_follows(c, RTU_REWARD_SIGN, 0);
}

/* The same with its sign centred (RTU_REWARD_CENTERED_SIGN: the learner keeps the signs' running
 * mean though normalize_obs is off): sign(r) - mean in x and in the model's extras. */
void test_model_reward_centered_sign(int c)
{
    model_follows(c, RTU_REWARD_CENTERED_SIGN, 0);
}

/* The same with its sign gated (RTU_REWARD_GATED_SIGN: 0 until the stream's rewards have had two
 * signs, the sign after; the model's reward_scale the learner's gate after each learn). */
void test_model_reward_gated_sign(int c)
{
    model_follows(c, RTU_REWARD_GATED_SIGN, 0);
}

/* rtu_model_run is rtu_model_step and rtu_model_feed in turn; the size macros are the size
 * functions; bad observations, actions and weights are refused with the state untouched. */
void test_model_run_sizes_and_refusals(int c)
{
    static rtu_real obs[40 * GOLDEN_AC_N_IN], actions[40 * FIX_AC_MAX_ACTIONS], rewards[40];
    static rtu_real out_run[40 * MODEL_MAX_OUT];
    rtu_ac ac;
    rtu_ac_shape shape = fix_ac_shape(c);
    rtu_ac_config cfg = fix_ac_config(c);
    rtu_model m, bad;
    rtu_prng rng;
    rtu_real state[MODEL_MAX_STATE], s2[MODEL_MAX_STATE], work[MODEL_MAX_WORK];
    rtu_real out[MODEL_MAX_OUT], nan_obs[GOLDEN_AC_N_IN], action[FIX_AC_MAX_ACTIONS];
    size_t i, t, n_out, a_reals = RTU_MODEL_ACTION_REALS(shape.action_kind, shape.n_actions);
    size_t n_x = RTU_AC_N_X(shape.n_obs, shape.prev_action, shape.prev_reward, shape.n_actions);
    int same = 1;
    CHECK_STATUS(rtu_ac_init(&ac, &shape, &cfg, 3u, ac_buf, sizeof ac_buf), RTU_OK);
    m = model_of(&ac);
    n_out = rtu_model_n_out(&m);
    CHECK(rtu_model_state_reals(&m) ==
              RTU_MODEL_STATE_REALS(shape.shared ? 1u : 2u, shape.n_hidden,
                                    RTU_MODEL_N_EXTRA(shape.prev_action, shape.prev_reward,
                                                      shape.n_actions)) &&
              rtu_model_work_reals(&m) ==
                  RTU_MODEL_WORK_REALS(n_x, shape.n_hidden, shape.n_embed, shape.n_head) &&
              n_out == RTU_MODEL_N_OUT(shape.action_kind, shape.n_actions),
          "size macros and functions differ");
    rtu_prng_seed(&rng, 11u);
    for (t = 0; t < 40u; ++t) {
        for (i = 0; i < GOLDEN_AC_N_IN; ++i) {
            obs[t * GOLDEN_AC_N_IN + i] = (rtu_real)(2.0 * rtu_prng_uniform(&rng) - 1.0);
        }
        for (i = 0; i < a_reals; ++i) {
            actions[t * a_reals + i] = shape.action_kind == RTU_ACTIONS_DISCRETE
                                           ? (rtu_real)(t % shape.n_actions)
                                           : (rtu_real)rtu_prng_normal(&rng);
        }
        rewards[t] = (rtu_real)rtu_prng_uniform(&rng);
    }
    rtu_model_reset(&m, state);
    CHECK_STATUS(rtu_model_run(&m, state, obs, actions, rewards, 40u, work, out_run), RTU_OK);
    rtu_model_reset(&m, s2);
    for (t = 0; t < 40u; ++t) {
        CHECK_STATUS(rtu_model_step(&m, s2, obs + t * GOLDEN_AC_N_IN, work, out), RTU_OK);
        CHECK_STATUS(rtu_model_feed(&m, s2, actions + t * a_reals, rewards[t]), RTU_OK);
        same &= memcmp(out, out_run + t * n_out, sizeof(rtu_real) * n_out) == 0;
    }
    CHECK(same && memcmp(state, s2, sizeof(rtu_real) * rtu_model_state_reals(&m)) == 0,
          "run differs from step and feed");

    /* refusals leave the state as it was */
    memcpy(s2, state, sizeof(rtu_real) * rtu_model_state_reals(&m));
    nan_obs[0] = (rtu_real)NAN;
    nan_obs[1] = 0;
    CHECK_STATUS(rtu_model_step(&m, state, nan_obs, work, out), RTU_ERR_NONFINITE_INPUT);
    nan_obs[0] = (rtu_real)2e6;
    CHECK_STATUS(rtu_model_step(&m, state, nan_obs, work, out), RTU_ERR_INPUT_RANGE);
    CHECK_STATUS(rtu_model_feed(&m, state, actions, (rtu_real)NAN), RTU_ERR_NONFINITE_INPUT);
    if (shape.action_kind == RTU_ACTIONS_DISCRETE) { /* whether or not x takes the action */
        action[0] = (rtu_real)shape.n_actions;
        CHECK_STATUS(rtu_model_feed(&m, state, action, 0), RTU_ERR_ACTION);
        action[0] = (rtu_real)-1;
        CHECK_STATUS(rtu_model_feed(&m, state, action, 0), RTU_ERR_ACTION);
        action[0] = (rtu_real)0.5;
        CHECK_STATUS(rtu_model_feed(&m, state, action, 0), RTU_ERR_ACTION);
        action[0] = (rtu_real)2e7; /* beyond RTU_INPUT_LIMIT: still no action */
        CHECK_STATUS(rtu_model_feed(&m, state, action, 0), RTU_ERR_ACTION);
        actions[9 * a_reals] = (rtu_real)shape.n_actions;
        CHECK_STATUS(rtu_model_run(&m, state, obs, actions, rewards, 40u, work, out_run),
                     RTU_ERR_ACTION);
        actions[9 * a_reals] = 0;
    }
    CHECK_STATUS(rtu_model_run(&m, state, obs, actions, rewards, SIZE_MAX / n_out + 2u, work,
                               out_run),
                 RTU_ERR_SIZE); /* a sequence that cannot be in memory */
    CHECK(rtu_model_batch_work_reals(&m, SIZE_MAX) == SIZE_MAX &&
              rtu_model_batch_work_reals(&m, 2u) == RTU_MODEL_BATCH_WORK_REALS(
                                                       2u, n_x, shape.n_hidden, shape.n_embed,
                                                       shape.n_head),
          "a batch's work beyond size_t is not SIZE_MAX (or a small one is not the macro's)");
    if (shape.prev_action) {
        CHECK_STATUS(rtu_model_feed(&m, state, NULL, 0), RTU_ERR_NULL);
        rewards[7] = (rtu_real)INFINITY;
        CHECK_STATUS(rtu_model_run(&m, state, obs, actions, rewards, 40u, work, out_run),
                     RTU_ERR_NONFINITE_INPUT);
        rewards[7] = 0;
    }
    CHECK(memcmp(state, s2, sizeof(rtu_real) * rtu_model_state_reals(&m)) == 0,
          "a refused call changed the state");

    /* unusable models */
    bad = m;
    bad.n_trunks = 3u;
    CHECK_STATUS(rtu_model_check(&bad), RTU_ERR_SIZE);
    bad = m;
    bad.n_head = 1u; /* a LayerNorm of one unit, which the learner refuses too */
    CHECK_STATUS(rtu_model_check(&bad), RTU_ERR_SIZE);
    bad = m;
    bad.n_embed = 1u;
    CHECK_STATUS(rtu_model_check(&bad), RTU_ERR_SIZE);
    bad = m;
    bad.head[1].out = NULL;
    CHECK_STATUS(rtu_model_check(&bad), RTU_ERR_NULL);
    bad = m;
    bad.n_actions = 0;
    bad.n_trunks = 1u;
    bad.prev_action = 0;
    CHECK_STATUS(rtu_model_check(&bad), RTU_OK); /* a value-only network on trunk 0 */
    bad.kind = (rtu_kind)7;
    CHECK_STATUS(rtu_model_check(&bad), RTU_ERR_KIND);
    bad = m;
    bad.kind = RTU_KIND_LRU;
    bad.trunk[0].c_re = NULL; /* an LRU without its readout */
    CHECK_STATUS(rtu_model_check(&bad), RTU_ERR_NULL);
    bad = m;
    bad.reward_scale = 0;
    CHECK_STATUS(rtu_model_check(&bad), m.prev_reward ? RTU_ERR_CONFIG : RTU_OK);
    bad = m;
    bad.reward_mean = (rtu_real)INFINITY;
    CHECK_STATUS(rtu_model_check(&bad), m.prev_reward ? RTU_ERR_CONFIG : RTU_OK);
    bad.prev_reward = RTU_REWARD_CENTERED_SIGN; /* its sign less a mean: the mean must be finite */
    CHECK_STATUS(rtu_model_check(&bad), RTU_ERR_CONFIG);
    bad.reward_scale = 0; /* unused there */
    bad.reward_mean = (rtu_real)0.25;
    CHECK_STATUS(rtu_model_check(&bad), RTU_OK);
    bad.prev_reward = RTU_REWARD_SIGN; /* the sign alone: neither is used */
    bad.reward_mean = (rtu_real)INFINITY;
    CHECK_STATUS(rtu_model_check(&bad), RTU_OK);
    bad.prev_reward = RTU_REWARD_GATED_SIGN; /* its sign gated: reward_scale 0 or 1 */
    bad.reward_scale = (rtu_real)0.5;
    CHECK_STATUS(rtu_model_check(&bad), RTU_ERR_CONFIG);
    bad.reward_scale = 0;
    CHECK_STATUS(rtu_model_check(&bad), RTU_OK);
    bad.reward_scale = 1;
    CHECK_STATUS(rtu_model_check(&bad), RTU_OK);
    bad.prev_reward = RTU_REWARD_GATED_SIGN + 1; /* no such input */
    CHECK_STATUS(rtu_model_check(&bad), RTU_ERR_SIZE);
    bad = m;
    bad.obs_mean = bad.trunk[0].g;
    CHECK_STATUS(rtu_model_check(&bad), RTU_ERR_NULL); /* a mean without an inverse std */
}

/* A batch of MODEL_BATCH sequences through one model (rtu_model_step_batch, rtu_model_feed_batch)
 * computes exactly what each sequence computes alone (rtu_model_step, rtu_model_feed, a reset
 * where it ended), for 40 steps; a refused input changes no state and names the sequence. */
#define MODEL_BATCH 3u
void test_model_batch(int c)
{
    static rtu_real states[MODEL_BATCH * MODEL_MAX_STATE], alone[MODEL_BATCH][MODEL_MAX_STATE];
    static rtu_real kept[MODEL_BATCH * MODEL_MAX_STATE];
    static rtu_real work[RTU_MODEL_BATCH_WORK_REALS(
        MODEL_BATCH, GOLDEN_AC_N_IN + FIX_AC_MAX_ACTIONS + 1u, GOLDEN_N_HIDDEN, FIX_AC_MAX_EMBED,
        FIX_AC_MAX_HEAD)];
    rtu_ac ac;
    rtu_ac_shape shape = fix_ac_shape(c);
    rtu_ac_config cfg = fix_ac_config(c);
    rtu_model m;
    rtu_prng rng;
    rtu_real obs[MODEL_BATCH * GOLDEN_AC_N_IN], actions[MODEL_BATCH * FIX_AC_MAX_ACTIONS];
    rtu_real rewards[MODEL_BATCH], out[MODEL_BATCH * MODEL_MAX_OUT], out1[MODEL_MAX_OUT];
    rtu_real work1[MODEL_MAX_WORK];
    unsigned char ended[MODEL_BATCH];
    size_t i, j, t, at = 99, n_out, n_state, a_reals;
    int same = 1;
    CHECK_STATUS(rtu_ac_init(&ac, &shape, &cfg, 4u, ac_buf, sizeof ac_buf), RTU_OK);
    m = model_of(&ac);
    n_out = rtu_model_n_out(&m);
    n_state = rtu_model_state_reals(&m);
    CHECK(rtu_model_batch_work_reals(&m, MODEL_BATCH) <= sizeof work / sizeof work[0] &&
              rtu_model_batch_work_reals(&m, MODEL_BATCH) ==
                  RTU_MODEL_BATCH_WORK_REALS(
                      MODEL_BATCH,
                      RTU_AC_N_X(shape.n_obs, shape.prev_action, shape.prev_reward,
                                 shape.n_actions),
                      shape.n_hidden, shape.n_embed, shape.n_head),
          "batch work size");
    a_reals = RTU_MODEL_ACTION_REALS(shape.action_kind, shape.n_actions);
    memset(states, 0, sizeof states);
    for (i = 0; i < MODEL_BATCH; ++i) {
        rtu_model_reset(&m, alone[i]);
    }
    rtu_prng_seed(&rng, 12u);
    for (t = 0; t < 40u; ++t) {
        for (i = 0; i < MODEL_BATCH; ++i) {
            for (j = 0; j < GOLDEN_AC_N_IN; ++j) {
                obs[i * GOLDEN_AC_N_IN + j] = (rtu_real)(2.0 * rtu_prng_uniform(&rng) - 1.0);
            }
            for (j = 0; j < a_reals; ++j) {
                actions[i * a_reals + j] = shape.action_kind == RTU_ACTIONS_DISCRETE
                                               ? (rtu_real)((t + i) % shape.n_actions)
                                               : (rtu_real)rtu_prng_normal(&rng);
            }
            rewards[i] = (rtu_real)rtu_prng_uniform(&rng);
            ended[i] = (unsigned char)((t + 3u * i) % 11u == 10u);
        }
        CHECK_STATUS(rtu_model_step_batch(&m, MODEL_BATCH, states, obs, work, out, &at), RTU_OK);
        CHECK_STATUS(rtu_model_feed_batch(&m, MODEL_BATCH, states, actions, rewards, ended, &at),
                     RTU_OK);
        for (i = 0; i < MODEL_BATCH; ++i) {
            CHECK_STATUS(rtu_model_step(&m, alone[i], obs + i * GOLDEN_AC_N_IN, work1, out1),
                         RTU_OK);
            same &= memcmp(out1, out + i * n_out, sizeof(rtu_real) * n_out) == 0;
            if (ended[i]) {
                rtu_model_reset(&m, alone[i]);
            } else {
                CHECK_STATUS(rtu_model_feed(&m, alone[i], actions + i * a_reals, rewards[i]),
                             RTU_OK);
            }
            same &= memcmp(alone[i], states + i * n_state, sizeof(rtu_real) * n_state) == 0;
        }
    }
    CHECK(same, "a batch's sequence differs from the same sequence alone");

    memcpy(kept, states, sizeof(rtu_real) * MODEL_BATCH * n_state);
    obs[2 * GOLDEN_AC_N_IN + 1] = (rtu_real)NAN;
    CHECK_STATUS(rtu_model_step_batch(&m, MODEL_BATCH, states, obs, work, out, &at),
                 RTU_ERR_NONFINITE_INPUT);
    CHECK(at == 2, "at %lu, expected 2", (unsigned long)at);
    rewards[1] = (rtu_real)INFINITY;
    ended[1] = 0;
    CHECK_STATUS(rtu_model_feed_batch(&m, MODEL_BATCH, states, actions, rewards, ended, &at),
                 RTU_ERR_NONFINITE_INPUT);
    CHECK(at == 1, "at %lu, expected 1", (unsigned long)at);
    CHECK(memcmp(kept, states, sizeof(rtu_real) * MODEL_BATCH * n_state) == 0,
          "a refused batch call changed a state");
    ended[1] = 1; /* an ended sequence's reward is not read */
    CHECK_STATUS(rtu_model_feed_batch(&m, MODEL_BATCH, states, actions, rewards, ended, &at),
                 RTU_OK);
    CHECK_STATUS(rtu_model_step_batch(&m, RTU_MAX_BATCH + 1u, states, obs, work, out, &at),
                 RTU_ERR_SIZE);
    CHECK_STATUS(rtu_model_step_batch(&m, MODEL_BATCH, NULL, obs, work, out, &at), RTU_ERR_NULL);
}

/* A batch of 37 sequences through a model of 36 units (linear or nonlinear kind, arg): the
 * batch's RTU input sums in blocks of units (AVX-512: 4 sequences by 16 units; other x86-64 builds
 * 32 units) and the units and sequences past them; the dense layers in blocks of 4 rows by 16
 * sequences (two blocks, then the 5 sequences and the rows past them a sequence at a time), in
 * 16 lanes with a tail (the heads' 72 inputs) and as one running sum (the input layer's 6 inputs);
 * either way every sequence computes exactly what it computes alone, for 30 steps. */
#define BLOCK_BATCH 37u
#define BLOCK_HIDDEN 36u
#define BLOCK_EMBED 5u
#define BLOCK_HEAD 6u
#define BLOCK_N_X (GOLDEN_AC_N_IN + 2u + 1u)
void test_model_batch_blocks(int nonlinear)
{
    static rtu_real buf[RTU_AC_REALS(RTU_KIND_NONLINEAR, GOLDEN_AC_N_IN, BLOCK_HIDDEN, BLOCK_EMBED,
                                     BLOCK_HEAD, 0, 1, 1, RTU_ACTIONS_DISCRETE, 2u)];
    static rtu_real states[BLOCK_BATCH * RTU_MODEL_STATE_REALS(2u, BLOCK_HIDDEN, 3u)];
    static rtu_real alone[BLOCK_BATCH][RTU_MODEL_STATE_REALS(2u, BLOCK_HIDDEN, 3u)];
    static rtu_real work[RTU_MODEL_BATCH_WORK_REALS(BLOCK_BATCH, BLOCK_N_X, BLOCK_HIDDEN,
                                                    BLOCK_EMBED, BLOCK_HEAD)];
    static rtu_real work1[RTU_MODEL_WORK_REALS(BLOCK_N_X, BLOCK_HIDDEN, BLOCK_EMBED, BLOCK_HEAD)];
    rtu_ac_shape shape = {RTU_KIND_LINEAR, RTU_ACT_TANH, GOLDEN_AC_N_IN, BLOCK_HIDDEN, BLOCK_EMBED,
                          BLOCK_HEAD, 0, 1, 1, 0, RTU_ACTIONS_DISCRETE, 2u};
    rtu_ac_config cfg = rtu_ac_default_config();
    rtu_ac ac;
    rtu_model m;
    rtu_prng rng;
    rtu_real obs[BLOCK_BATCH * GOLDEN_AC_N_IN], actions[BLOCK_BATCH], rewards[BLOCK_BATCH];
    rtu_real out[BLOCK_BATCH * 3u], out1[3u];
    size_t i, j, t, at = 99, n_out, n_state;
    int same = 1;
    if (nonlinear) {
        shape.kind = RTU_KIND_NONLINEAR;
    }
    cfg.normalize_obs = 0; /* model_of's model has no normalisation */
    cfg.scale_reward = 0;
    CHECK_STATUS(rtu_ac_init(&ac, &shape, &cfg, 8u, buf, sizeof buf), RTU_OK);
    m = model_of(&ac);
    n_out = rtu_model_n_out(&m);
    n_state = rtu_model_state_reals(&m);
    CHECK(n_out == 3u && n_state == RTU_MODEL_STATE_REALS(2u, BLOCK_HIDDEN, 3u), "sizes");
    memset(states, 0, sizeof states);
    for (i = 0; i < BLOCK_BATCH; ++i) {
        rtu_model_reset(&m, alone[i]);
    }
    rtu_prng_seed(&rng, 13u);
    for (t = 0; t < 30u; ++t) {
        for (i = 0; i < BLOCK_BATCH; ++i) {
            for (j = 0; j < GOLDEN_AC_N_IN; ++j) {
                obs[i * GOLDEN_AC_N_IN + j] = (rtu_real)(2.0 * rtu_prng_uniform(&rng) - 1.0);
            }
            actions[i] = (rtu_real)((t + i) % 2u);
            rewards[i] = (rtu_real)rtu_prng_uniform(&rng);
        }
        CHECK_STATUS(rtu_model_step_batch(&m, BLOCK_BATCH, states, obs, work, out, &at), RTU_OK);
        CHECK_STATUS(rtu_model_feed_batch(&m, BLOCK_BATCH, states, actions, rewards, NULL, &at),
                     RTU_OK);
        for (i = 0; i < BLOCK_BATCH; ++i) {
            CHECK_STATUS(rtu_model_step(&m, alone[i], obs + i * GOLDEN_AC_N_IN, work1, out1),
                         RTU_OK);
            same &= memcmp(out1, out + i * n_out, sizeof out1) == 0;
            CHECK_STATUS(rtu_model_feed(&m, alone[i], actions + i, rewards[i]), RTU_OK);
            same &= memcmp(alone[i], states + i * n_state, sizeof(rtu_real) * n_state) == 0;
        }
    }
    CHECK(same, "a batch's sequence differs from the same sequence alone");
}
