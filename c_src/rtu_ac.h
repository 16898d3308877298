/*
 * Streaming actor-critic AC(lambda) with a shared RTU cell (../shared/rtu-spec.md section 3, after
 * Elsayed et al. 2024, "Streaming Deep Reinforcement Learning Finally Works").
 * Same rules as rtu.h: no heap, no globals, no stdio; the caller owns the buffer.
 *
 * One transition, rtu_ac_act(s_t) then rtu_ac_learn(r, s_{t+1}, terminated, truncated):
 *   act:   feed s_t (normalised) to the cell unless learn already did; h_t; sample a_t ~ pi(.|h_t)
 *          with the learner's own PCG32 stream
 *   learn: r~ = r / sqrt(var(u) + eps), u = gamma (1 - terminated) u + r  (reward scaling)
 *          x' = normalised s_{t+1}
 *          v(s_{t+1}) = critic on the features a step on x' WOULD give (a peek: the state and the
 *                       RTRL traces still belong to s_t)
 *          delta = r~ + gamma (1 - terminated) v(s_{t+1}) - v(s_t)
 *          z_v  = gamma lambda z_v  + grad v(s_t)
 *          z_pi = gamma lambda z_pi + grad [log pi(a_t|s_t) + c_H sign(delta) H(pi(.|s_t))]
 *          each trace its own step (ObGD: alpha / max(alpha kappa max(|delta|, 1) |z|_1, 1), or SGD
 *          alpha); the shared cell takes both: theta += a_v delta z_v + a_pi delta z_pi
 *          at an episode end (terminated or truncated): zero z_v, z_pi, the cell's state and traces;
 *          otherwise feed x' to the cell at the new parameters (the next act uses it)
 * All gradients of one learn are taken at theta_t, from the RTRL traces of s_t.
 *
 * Parameter groups: value = [cell params, w_v (2n), b_v]; policy = [cell params, actor head], the
 * actor head being W (A x 2n), b (A) for softmax logits (discrete), plus log_std (A) for a Gaussian
 * with state-independent log-std (continuous). z_v and z_pi follow these layouts.
 */
#ifndef RTU_AC_H
#define RTU_AC_H

#include "rtu_td.h" /* rtu_optimizer */

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    RTU_ACTIONS_DISCRETE = 0,  /* A actions, softmax policy; the action is an index */
    RTU_ACTIONS_CONTINUOUS = 1 /* A dimensions, Gaussian policy; the action is a vector */
} rtu_action_kind;

/* gamma, lambda, alpha, kappa_value, kappa_policy (ObGD bounds of the critic's and the actor's
 * traces), entropy_coef (c_H, >= 0), the optimizer, then the flags normalize_obs (running
 * mean/variance of each observation entry) and scale_reward (divide rewards by the running std of
 * a discounted return trace): rtu_config.h's RTU_AC_CONFIG_REALS and RTU_AC_CONFIG_FLAGS. */
typedef struct {
    RTU_AC_CONFIG_REALS(RTU_CONFIG_REAL_MEMBER)
    rtu_optimizer optimizer;
    RTU_AC_CONFIG_FLAGS(RTU_CONFIG_FLAG_MEMBER)
} rtu_ac_config;

/* The stream-x defaults: gamma 0.99, lambda 0.8, alpha 1, kappa 2 and 3, c_H 0.01, ObGD, both
 * normalisations on. */
rtu_ac_config rtu_ac_default_config(void);

/* RTU_OK if config obeys the rules above (gamma, lambda in [0, 1]; alpha > 0 and finite;
 * entropy_coef >= 0 and finite; a known optimizer; for ObGD kappa_value, kappa_policy > 0 and
 * finite), else RTU_ERR_CONFIG and *what (what may be NULL) receives the C name of the first faulty
 * field; RTU_ERR_NULL for a NULL config. rtu_ac_init and rtu_ac_load apply it. */
rtu_status rtu_ac_check_config(const rtu_ac_config *config, const char **what);

/* Sizes (n = n_hidden, A = n_actions) */
#define RTU_AC_VALUE_HEAD(n_hidden) (2u * (size_t)(n_hidden) + 1u)
#define RTU_AC_POLICY_HEAD(n_hidden, action_kind, n_actions)                                        \
    ((size_t)(n_actions) * (2u * (size_t)(n_hidden) + ((action_kind) == RTU_ACTIONS_CONTINUOUS ? 2u : 1u)))
/* Reals: the cell; the two heads; z_v and z_pi; dh (2n); policy scratch (A); the action (A);
 * observation mean, M2, the normalised and the raw latest observation (4 n_in). */
#define RTU_AC_REALS(kind, n_in, n_hidden, action_kind, n_actions)                                  \
    (RTU_CELL_REALS(kind, n_in, n_hidden) +                                                         \
     2u * (RTU_AC_VALUE_HEAD(n_hidden) + RTU_AC_POLICY_HEAD(n_hidden, action_kind, n_actions)) +    \
     2u * RTU_CELL_PARAMS(n_in, n_hidden) + 2u * (size_t)(n_hidden) + 2u * (size_t)(n_actions) +    \
     4u * (size_t)(n_in))
#define RTU_AC_BUFFER_BYTES(kind, n_in, n_hidden, action_kind, n_actions)                           \
    (sizeof(rtu_real) * RTU_AC_REALS(kind, n_in, n_hidden, action_kind, n_actions))

typedef struct {
    rtu_cell cell;
    rtu_ac_config config;
    rtu_action_kind action_kind;
    size_t n_actions;
    size_t n_value;      /* RTU_CELL_PARAMS + value head */
    size_t n_policy;     /* RTU_CELL_PARAMS + policy head */
    rtu_real *value;     /* w_v[2n], b_v */
    rtu_real *policy;    /* W[A x 2n], b[A], (continuous) log_std[A] */
    rtu_real *z_v;       /* n_value */
    rtu_real *z_pi;      /* n_policy */
    rtu_real *dh;        /* scratch: dL/dh for the actor (2n) */
    rtu_real *pi;        /* scratch: log-probabilities (discrete) or means (continuous) (A) */
    rtu_real *action;    /* the latest action: index in action[0] (discrete), or A reals */
    rtu_real *obs_mean;  /* Welford mean of each observation entry (n_in) */
    rtu_real *obs_m2;    /* Welford sum of squared deviations (n_in) */
    rtu_real *x;         /* the latest normalised observation (n_in) */
    rtu_real *obs_last;  /* the latest raw observation fed to the cell (n_in) */
    rtu_real ret_trace;  /* u, the discounted return trace of reward scaling */
    rtu_real ret_mean, ret_m2;
    uint64_t obs_count, ret_count;
    rtu_prng rng;        /* action sampling */
    int fed;             /* the cell holds obs_last */
    int acted;           /* act was called and learn was not yet */
    uint64_t steps;      /* learn calls since init */
    uint64_t episodes;   /* episode ends since init */
} rtu_ac;

rtu_status rtu_ac_buffer_size(rtu_kind kind, size_t n_in, size_t n_hidden,
                              rtu_action_kind action_kind, size_t n_actions, size_t *bytes);

/* Lay out the learner, seed its PRNG, draw the cell's parameters from it (rtu_cell_init_params,
 * r in (0, 1), theta in (0, 6.28)); heads, log_std, traces and statistics start at zero. */
rtu_status rtu_ac_init(rtu_ac *ac, rtu_kind kind, rtu_activation activation, size_t n_in,
                       size_t n_hidden, rtu_action_kind action_kind, size_t n_actions,
                       const rtu_ac_config *config, uint64_t seed, void *buffer,
                       size_t buffer_bytes);

/* Sample an action for obs (n_in reals) into action (1 real, the index, or A reals). obs must be
 * the next_obs of the previous learn unless that learn ended an episode (RTU_ERR_ORDER). */
rtu_status rtu_ac_act(rtu_ac *ac, const rtu_real *obs, rtu_real *action);

/* Learn from the transition of the latest act (see above). */
rtu_status rtu_ac_learn(rtu_ac *ac, rtu_real reward, const rtu_real *next_obs, int terminated,
                        int truncated);

/* Start a new episode outside learn, as learn does at an episode end (zero z_v, z_pi, the cell's
 * state and RTRL traces; nothing fed), without counting an episode; a pending action (act without
 * learn) is dropped. For a device that restarts, or whose episode was cut off: the next act may
 * take any observation. */
void rtu_ac_begin_episode(rtu_ac *ac);
/* Value v(s) of the observation the cell holds (after act), at the current parameters. */
rtu_real rtu_ac_value(const rtu_ac *ac);

#ifdef __cplusplus
}
#endif

#endif /* RTU_AC_H */
