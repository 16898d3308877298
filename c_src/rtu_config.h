/*
 * GENERATED from rtu_edge/reference/config.py (TDConfig, ACConfig, ACNetwork) by
 * `python c_src/make_config.py`. Do not edit; a test checks
 * that it is current.
 *
 * The learners' hyperparameters, declared once, as X-macro lists in the order of the
 * config structs (rtu_td_config, rtu_ac_config) and of their checkpoint payloads:
 *   RTU_<L>_CONFIG_REALS(X): X(name, default, rule, obgd_only) for each real;
 *     rule: RTU_RULE_UNIT [0, 1], RTU_RULE_POSITIVE (0, inf), RTU_RULE_NONNEGATIVE
 *     [0, inf), always finite; obgd_only: the rule applies with ObGD only
 *   RTU_<L>_CONFIG_FLAGS(X): X(name, default) for each flag (0 or 1)
 *   RTU_<L>_CONFIG_OPTIMIZER: the default optimizer
 *   RTU_<L>_CONFIG_REAL_COUNT, RTU_<L>_CONFIG_FLAG_COUNT
 * the optimizers (OPTIMIZERS) as rtu_optimizer, the previous reward's inputs
 * (REWARD_INPUTS) as rtu_reward_input, and the default network of the actor-critic
 * (ACNetwork) as RTU_AC_DEFAULT_<FIELD>.
 */
#ifndef RTU_CONFIG_H
#define RTU_CONFIG_H

typedef enum { RTU_RULE_UNIT = 0, RTU_RULE_POSITIVE = 1, RTU_RULE_NONNEGATIVE = 2 } rtu_rule;

/* sgd: params += alpha delta z; obgd: overshooting-bounded, alpha_eff = alpha /
 * max(alpha kappa max(|delta|, 1) |z|_1, 1) */
typedef enum { RTU_OPT_SGD = 0, RTU_OPT_OBGD = 1 } rtu_optimizer;

/* rtu_ac_shape's prev_reward, how the input x holds the previous reward (ACNetwork's
 * prev_reward): not; normalised by running statistics of its own (raw with
 * normalize_obs off); its sign; its sign less the running mean of the signs; its
 * sign once the signs have varied, 0 before */
typedef enum {
    RTU_REWARD_NONE = 0,
    RTU_REWARD_NORMALIZED = 1,
    RTU_REWARD_SIGN = 2,
    RTU_REWARD_CENTERED_SIGN = 3,
    RTU_REWARD_GATED_SIGN = 4
} rtu_reward_input;
/* their names, in rtu_reward_input's order (ACNetwork.prev_reward's values) */
#define RTU_REWARD_INPUT_NAMES {"none", "normalized", "sign", "centered_sign", "gated_sign"}

/* TDConfig: rtu_td_config: TD(lambda) prediction (rtu-spec.md section 3). */
#define RTU_TD_CONFIG_REALS(X) \
    X(gamma, 0.9, RTU_RULE_UNIT, 0)                  /* discount */ \
    X(lambda, 0.9, RTU_RULE_UNIT, 0)                 /* trace decay */ \
    X(alpha, 1.0, RTU_RULE_POSITIVE, 0)              /* step size */ \
    X(kappa, 2.0, RTU_RULE_POSITIVE, 1)              /* ObGD bound of the eligibility trace */
#define RTU_TD_CONFIG_REAL_COUNT 4u
#define RTU_TD_CONFIG_FLAGS(X)
#define RTU_TD_CONFIG_FLAG_COUNT 0u
#define RTU_TD_CONFIG_OPTIMIZER RTU_OPT_OBGD

/* ACConfig: rtu_ac_config: the streaming actor-critic, with the stream-x defaults. */
#define RTU_AC_CONFIG_REALS(X) \
    X(gamma, 0.99, RTU_RULE_UNIT, 0)                 /* discount */ \
    X(lambda, 0.8, RTU_RULE_UNIT, 0)                 /* trace decay */ \
    X(alpha, 1.0, RTU_RULE_POSITIVE, 0)              /* step size */ \
    X(kappa_value, 2.0, RTU_RULE_POSITIVE, 1)        /* ObGD bound of the critic's trace */ \
    X(kappa_policy, 3.0, RTU_RULE_POSITIVE, 1)       /* ObGD bound of the actor's trace */ \
    X(entropy_coef, 0.01, RTU_RULE_NONNEGATIVE, 0)   /* entropy bonus c_H, signed by the TD error */ \
    X(sparsity, 0.9, RTU_RULE_UNIT, 0)               /* fraction of each Dense unit's initial weights set to zero */ \
    X(std_min, 0.01, RTU_RULE_POSITIVE, 0)           /* lower bound of a continuous actor's std */ \
    X(std_max, 2.0, RTU_RULE_POSITIVE, 0)            /* upper bound of a continuous actor's std (above std_min) */ \
    X(phase_step_scale, 0.03, RTU_RULE_UNIT, 0)      /* factor on the step of each RTU's phases (theta_log) beside every other parameter's in the streaming update (PPO's Adam does not use it): 1 the same step, 0 phases fixed at their initial values; 0.03 holds a long memory once learned */
#define RTU_AC_CONFIG_REAL_COUNT 10u
#define RTU_AC_CONFIG_FLAGS(X) \
    X(normalize_obs, 1)                              /* running mean/variance of each observation entry */ \
    X(scale_reward, 1)                               /* divide rewards by the running std of the return */
#define RTU_AC_CONFIG_FLAG_COUNT 2u
#define RTU_AC_CONFIG_OPTIMIZER RTU_OPT_OBGD

/* ACNetwork: the default network of a fresh actor-critic (rtu_ac_shape's fields) */
#define RTU_AC_DEFAULT_N_EMBED 0u                    /* input layer units (Dense + LayerNorm + leaky ReLU); 0: none */
#define RTU_AC_DEFAULT_N_HEAD 64u                    /* hidden units of each head (Dense + LayerNorm + leaky ReLU); 0: linear heads on the RTU's features */
#define RTU_AC_DEFAULT_SHARED 0                      /* actor and critic share the input layer and the RTU */
#define RTU_AC_DEFAULT_PREV_ACTION 0                 /* the network's input holds the previous action */
#define RTU_AC_DEFAULT_PREV_REWARD RTU_REWARD_GATED_SIGN /* how the network's input holds the previous reward: none; normalized, by running statistics of its own (raw with normalize_obs off); sign, -1, 0 or 1; centered_sign, the sign less the running mean of the signs; gated_sign, the sign once two rewards' signs have differed, 0 before */
#define RTU_AC_DEFAULT_MEMORYLESS 0                  /* the baseline without memory: the RTU's state is zeroed before every step (with prev_action or prev_reward, the past's last step is still an input) */

#endif /* RTU_CONFIG_H */
