/*
 * Streaming actor-critic AC(lambda) on the streaming network of ../shared/rtu-spec.md section 6
 * (after Elsayed et al. 2024, "Streaming Deep Reinforcement Learning Finally Works", and Farr et al.
 * 2026). Same rules as rtu.h: no heap, no globals, no stdio; the caller owns the buffer.
 *
 * The network. The critic and the actor are separate networks by default (shape.shared = 0); with
 * shared = 1 they share the trunk (input layer and RTU) and keep heads of their own. Each:
 *   x_t = [normalised obs_t; prev action (one-hot if discrete, shape.prev_action);
 *          prev reward r_{t-1} normalised, its sign or its sign centred (shape.prev_reward)]
 *                                         n_x reals, zero extras at an episode's first step
 * RTU_REWARD_NORMALIZED: the previous reward normalised as an observation entry is, by running
 * statistics of its own (reward_count, reward_mean, reward_m2 of the raw rewards; Welford,
 * variance 1 until two rewards): (r - mean) / sqrt(var + 1e-8), the reward added first; the raw r
 * when normalize_obs is off (as the observations are then raw; the statistics stay zero, the
 * count counts). Not the scaled reward r~ of the TD error, which is tiny beside the other inputs
 * when rewards are small. RTU_REWARD_SIGN: sign(r), -1, 0 or 1, whatever normalize_obs (the
 * statistics stay zero, the count counts): bounded, and a rare reward is no larger an input than
 * a common one, where normalised it stands many deviations out. RTU_REWARD_CENTERED_SIGN:
 * sign(r) - mean, the running mean of the signs (the statistics, reward_mean and reward_m2, are
 * the signs', the sign added first, whatever normalize_obs): bounded as the sign is, and of mean
 * zero, so it is 0 where every reward has one sign (a cost on every step, a reward of 1 on every
 * step), where the sign alone is a constant input that the RTU's slow units sum into a large
 * offset. RTU_REWARD_GATED_SIGN: sign(r) once two rewards' signs have differed, 0 before (the
 * statistics are the signs', as with the centred sign; the gate is reward_m2 > 0, exactly 0
 * while every sign was the same): the plain sign where rewards have both signs (a right or a
 * wrong answer), nothing where they all share one (a cost, a reward of 1 on every step).
 *   e_t = lrelu(LN(W_in x_t + b_in))       n_embed = m units (m = 0: no input layer, e_t = x_t)
 *   h_t = RTU(e_t)                         2n features (rtu.h; any kind, the LRU too)
 *   q_t = lrelu(LN(W_1 h_t + b_1))         n_head = k units (k = 0: no hidden layer, q_t = h_t)
 *   out = W_2 q_t + b_2                    critic: v (1); actor: logits (A, discrete) or means
 *                                          mu (A) then std pre-activations (A, continuous)
 * LN is parameter-free (biased variance, eps 1e-5), lrelu(y) = max(y, 0.01 y). Continuous
 * actions: std = min(std_min + softplus(pre), std_max), so d std / d pre = sigmoid(pre) below
 * std_max and 0 at it. Dense layers start sparse (config.sparsity), biases at zero; the RTU as
 * rtu_cell_init_params (r in (0, 1), theta in (0, 6.28)).
 * shape.memoryless = 1 is the memoryless baseline: the RTU's state and traces are zeroed before
 * every step, so h_t depends on x_t alone (a dense layer with f; the network is otherwise the same).
 * With prev_action or prev_reward, x_t still holds the previous action and reward: one step of
 * the past as input, and no memory.
 *
 * Gradients (of v for the critic, of log pi(a|s) + c_H sign(delta) H for the actor): the heads by
 * backprop (exact); the RTU by RTRL from dL/dh (exact); the input layer by the one-step
 * sensitivity dL/de_t, the RTU's past (state and traces of t-1) held fixed: with delta_c = dL/dc_t,
 * delta_d = dL/dd_t (times f'(a_t), f'(b_t) for the nonlinear kind)
 *   dL/de_t[j] = sum_k eta_k (delta_c_k W_c[k,j] + delta_d_k W_d[k,j])
 * (for the LRU, delta_c, delta_d from its readout, plus its skip's (d_skip^T dy)[j])
 * then back through lrelu and LN. This is the paper's code's input gradient; it is the exact
 * gradient of the step-t loss in which W_in changes e_t only.
 *
 * One transition, rtu_ac_act(s_t) then rtu_ac_learn(r, s_{t+1}, terminated, truncated):
 *   act:   unless learn already fed it: x_t from s_t (zero extras), forward every network;
 *          sample a_t ~ pi(.|s_t) with the learner's own PCG32 stream
 *   learn: r~ = r / sqrt(var(u) + eps), u = gamma (1 - terminated) u + r   (reward scaling)
 *          x_{t+1} = [normalised s_{t+1}; a_t; normalised r, sign(r), sign(r) - mean or the
 *          gated sign(r)] (a_t and the reward input clamped to +-RTU_INPUT_LIMIT; the reward
 *          statistics take r first with RTU_REWARD_NORMALIZED, sign(r) with
 *          RTU_REWARD_CENTERED_SIGN and RTU_REWARD_GATED_SIGN)
 *          v(s_{t+1}) = the critic on x_{t+1} by a peek (state and RTRL traces stay those of t)
 *          delta = r~ + gamma (1 - terminated) v(s_{t+1}) - v(s_t)
 *          z_v  = gamma lambda z_v  + grad v(s_t)
 *          z_pi = gamma lambda z_pi + grad [log pi(a_t|s_t) + c_H sign(delta) H(pi(.|s_t))]
 *          each trace its own step over its network's parameters (ObGD: alpha / max(alpha kappa
 *          max(|delta|, 1) |z|_1, 1), or SGD alpha); a shared trunk takes both steps
 *          at an episode end (terminated or truncated): zero z_v, z_pi, every RTU's state and
 *          traces and the extras; otherwise forward x_{t+1} at the new parameters (the next act
 *          uses it)
 * All gradients of one learn are taken at theta_t, from the activations and RTRL traces of s_t.
 *
 * Parameters of a network, which is also the layout of its eligibility trace (z_v, z_pi):
 *   [W_in (m x n_x), b_in (m)] [RTU params (rtu.h)] [W_1 (k x 2n), b_1 (k)] [W_2 (o x k'), b_2 (o)]
 * with k' = k, or 2n when k = 0; o = 1 (critic), A (discrete actor) or 2A (continuous actor).
 * The first two are the trunk's (contiguous in the buffer), the last two the head's.
 */
#ifndef RTU_AC_H
#define RTU_AC_H

#include "rtu_td.h" /* rtu_optimizer, rtu_reward_input (rtu_config.h) */

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    RTU_ACTIONS_DISCRETE = 0,  /* A actions, softmax policy; the action is an index */
    RTU_ACTIONS_CONTINUOUS = 1 /* A dimensions, Gaussian policy; the action is a vector */
} rtu_action_kind;

/* gamma, lambda, alpha, kappa_value, kappa_policy (ObGD bounds of the critic's and the actor's
 * traces), entropy_coef (c_H, >= 0), sparsity (of the Dense layers' initial weights), std_min and
 * std_max (bounds of a continuous actor's std, 0 < std_min < std_max), phase_step_scale (in
 * [0, 1]: each RTU's theta_log steps by it times the step of every other parameter; the ObGD
 * bound is taken over the whole trace as without it), the optimizer, then the
 * flags normalize_obs (running mean/variance of each observation entry) and scale_reward (divide
 * rewards by the running std of a discounted return trace): rtu_config.h's RTU_AC_CONFIG_REALS and
 * RTU_AC_CONFIG_FLAGS. */
typedef struct {
    RTU_AC_CONFIG_REALS(RTU_CONFIG_REAL_MEMBER)
    rtu_optimizer optimizer;
    RTU_AC_CONFIG_FLAGS(RTU_CONFIG_FLAG_MEMBER)
} rtu_ac_config;

/* The defaults of rtu_config.h (ACConfig's, the stream-x values where stream-x has one). */
rtu_ac_config rtu_ac_default_config(void);

/* RTU_OK if config obeys the rules of rtu_config.h (and std_min < std_max) and names a known
 * optimizer, else RTU_ERR_CONFIG and *what (what may be NULL) receives the C name of the first
 * faulty field; RTU_ERR_NULL for a NULL config. rtu_ac_init and rtu_ac_load apply it. */
rtu_status rtu_ac_check_config(const rtu_ac_config *config, const char **what);

/* The network's shape: what the buffer size depends on. */
typedef struct {
    rtu_kind kind;               /* the RTU's kind */
    rtu_activation activation;   /* the RTU's f */
    size_t n_obs;                /* observation size */
    size_t n_hidden;             /* RTU units n (2n features) */
    size_t n_embed;              /* input layer units m; 0: no input layer */
    size_t n_head;               /* head hidden units k; 0: no hidden layer in the heads */
    int shared;                  /* 1: one trunk (input layer and RTU) for actor and critic */
    int prev_action;             /* 1: x holds the previous action */
    int prev_reward;             /* RTU_REWARD_NORMALIZED (1): x holds the previous reward,
                                    normalised; RTU_REWARD_SIGN (2): its sign;
                                    RTU_REWARD_CENTERED_SIGN (3): its sign less the
                                    signs' running mean; RTU_REWARD_GATED_SIGN (4): its
                                    sign once the signs have varied; 0: none */
    int memoryless;              /* 1: the baseline without memory (above) */
    rtu_action_kind action_kind;
    size_t n_actions;            /* A: actions (discrete, >= 2) or action dimensions */
} rtu_ac_shape;

/* RTU_OK, or the first fault: RTU_ERR_NULL, RTU_ERR_KIND, RTU_ERR_ACTIVATION, RTU_ERR_ACTION (the
 * action space), RTU_ERR_SIZE (n_obs or n_hidden 0, n_embed or n_head 1 (a LayerNorm of one
 * unit outputs 0 whatever its input), any size above RTU_MAX_DIM, the network's
 * input n_x included, a flag other than 0 or 1, or a buffer too large for size_t). */
rtu_status rtu_ac_check_shape(const rtu_ac_shape *shape);

/* Sizes, for static buffers (the arguments are rtu_ac_shape's fields; activation does not count).
 * n_x: the network's input; n_e: the RTU's input; o: a head's outputs. */
#define RTU_AC_N_X(n_obs, prev_action, prev_reward, n_actions)                                      \
    ((size_t)(n_obs) + ((prev_action) ? (size_t)(n_actions) : 0u) + ((prev_reward) ? 1u : 0u))
#define RTU_AC_N_E(n_x, n_embed) ((n_embed) ? (size_t)(n_embed) : (size_t)(n_x))
#define RTU_AC_EMBED_PARAMS(n_x, n_embed) ((size_t)(n_embed) * ((size_t)(n_x) + 1u))
#define RTU_AC_N_OUT_POLICY(action_kind, n_actions)                                                 \
    (((action_kind) == RTU_ACTIONS_CONTINUOUS ? 2u : 1u) * (size_t)(n_actions))
#define RTU_AC_HEAD_PARAMS(n_hidden, n_head, n_out)                                                 \
    ((n_head) ? (size_t)(n_head) * (2u * (size_t)(n_hidden) + 1u) +                                 \
                    (size_t)(n_out) * ((size_t)(n_head) + 1u)                                       \
              : (size_t)(n_out) * (2u * (size_t)(n_hidden) + 1u))
/* A trunk: input layer params, its LN output and e (2m), the cell. */
#define RTU_AC_TRUNK_REALS(kind, n_x, n_hidden, n_embed)                                            \
    (RTU_AC_EMBED_PARAMS(n_x, n_embed) + 2u * (size_t)(n_embed) +                                   \
     RTU_CELL_REALS(kind, RTU_AC_N_E(n_x, n_embed), n_hidden))
/* A network's parameters (its trace's length). */
#define RTU_AC_NET_PARAMS(kind, n_x, n_hidden, n_embed, n_head, n_out)                              \
    (RTU_AC_EMBED_PARAMS(n_x, n_embed) +                                                            \
     RTU_CELL_PARAMS(kind, RTU_AC_N_E(n_x, n_embed), n_hidden) +                                    \
     RTU_AC_HEAD_PARAMS(n_hidden, n_head, n_out))
/* Reals of the buffer, in its order: the trunks (1 shared, else 2); the critic's and the actor's
 * head params; z_v and z_pi; per head q_hat, q (k each) and out (1, o); the peek scratch (e_hat,
 * e, h, q_hat, q: 2m + 2n + 2k); the backward scratch (d_out o, d_q k, d_h 2n, d_e m); pi (o); x
 * and x_next (n_x each); obs_mean, obs_m2, obs_last (n_obs each); the action (A). */
#define RTU_AC_REALS_(kind, n_x, n_hidden, n_embed, n_head, shared, n_obs, o_pi, n_actions)         \
    (((shared) ? 1u : 2u) * RTU_AC_TRUNK_REALS(kind, n_x, n_hidden, n_embed) +                      \
     2u * (RTU_AC_HEAD_PARAMS(n_hidden, n_head, 1u) + RTU_AC_HEAD_PARAMS(n_hidden, n_head, o_pi) +  \
           RTU_AC_EMBED_PARAMS(n_x, n_embed) +                                                      \
           RTU_CELL_PARAMS(kind, RTU_AC_N_E(n_x, n_embed), n_hidden)) +                             \
     7u * (size_t)(n_head) + 3u * (size_t)(n_embed) + 4u * (size_t)(n_hidden) + 3u * (size_t)(o_pi) \
     + 1u + 2u * (size_t)(n_x) + 3u * (size_t)(n_obs) + (size_t)(n_actions))
#define RTU_AC_REALS(kind, n_obs, n_hidden, n_embed, n_head, shared, prev_action, prev_reward,      \
                     action_kind, n_actions)                                                        \
    RTU_AC_REALS_(kind, RTU_AC_N_X(n_obs, prev_action, prev_reward, n_actions), n_hidden, n_embed,  \
                  n_head, shared, n_obs, RTU_AC_N_OUT_POLICY(action_kind, n_actions), n_actions)
#define RTU_AC_BUFFER_BYTES(kind, n_obs, n_hidden, n_embed, n_head, shared, prev_action,            \
                            prev_reward, action_kind, n_actions)                                    \
    (sizeof(rtu_real) * RTU_AC_REALS(kind, n_obs, n_hidden, n_embed, n_head, shared, prev_action,   \
                                     prev_reward, action_kind, n_actions))

/* The input layer and the RTU of one network. params = embed when m > 0, else cell.params: the
 * trunk's n_params parameters are contiguous (embed's, then the cell's). */
typedef struct {
    size_t n_x, n_embed, n_params;
    rtu_real *params;     /* the trunk's parameters: W_in, b_in then the cell's */
    rtu_real *embed;      /* W_in[m x n_x] (row-major), b_in[m]; NULL when m = 0 */
    rtu_real *e_hat;      /* LN(W_in x + b_in) of the latest forward (m) */
    rtu_real *e;          /* lrelu(e_hat), the RTU's input (m) */
    rtu_real e_inv_std;   /* 1 / sqrt(var + eps) of that LN */
    rtu_cell cell;
} rtu_ac_trunk;

/* The head of one network: [W_1 (k x 2n), b_1 (k)] then W_2 (o x k'), b_2 (o). */
typedef struct {
    size_t n_head, n_out, n_params;
    rtu_real *params;
    rtu_real *q_hat, *q;  /* LN(W_1 h + b_1) and lrelu of it, of the latest forward (k each) */
    rtu_real q_inv_std;
    rtu_real *out;        /* the outputs of the latest forward (o) */
} rtu_ac_head;

typedef struct {
    rtu_ac_shape shape;
    rtu_ac_config config;
    size_t n_x;
    rtu_ac_trunk trunk[2]; /* the critic's, the actor's; trunk[1] unused when shared */
    rtu_ac_head head[2];   /* the critic's, the actor's */
    size_t n_value;        /* the critic network's parameters */
    size_t n_policy;       /* the actor network's parameters */
    rtu_real *z_v;         /* n_value */
    rtu_real *z_pi;        /* n_policy */
    rtu_real *peek;        /* scratch of the critic's peek: e_hat, e (m), h (2n), q_hat, q (k) */
    rtu_real *grad;        /* scratch of the backward pass: d_out (o), d_q (k), d_h (2n), d_e (m) */
    rtu_real *pi;          /* log-probabilities (A, discrete) or mu then std (2A, continuous) */
    rtu_real *x;           /* the input the networks hold (n_x) */
    rtu_real *x_next;      /* the input learn builds for s_{t+1} (n_x) */
    rtu_real *obs_mean;    /* Welford mean of each observation entry (n_obs) */
    rtu_real *obs_m2;      /* Welford sum of squared deviations (n_obs) */
    rtu_real *obs_last;    /* the latest raw observation fed (n_obs) */
    rtu_real *action;      /* the latest action: index in action[0] (discrete), or A reals */
    rtu_real ret_trace;    /* u, the discounted return trace of reward scaling */
    rtu_real ret_mean, ret_m2;
    uint64_t obs_count, ret_count;
    rtu_real reward_mean;  /* Welford mean of the raw rewards of the previous-reward input (of
                              their signs with RTU_REWARD_CENTERED_SIGN and _GATED_SIGN) */
    rtu_real reward_m2;    /* their sum of squared deviations (both 0 with RTU_REWARD_SIGN,
                              and with RTU_REWARD_NORMALIZED without normalize_obs) */
    uint64_t reward_count; /* rewards fed to that input (0 without prev_reward) */
    rtu_prng rng;          /* initialisation, then action sampling */
    int fed;               /* the networks hold obs_last */
    int acted;             /* act was called and learn was not yet */
    uint64_t steps;        /* learn calls since init */
    uint64_t episodes;     /* episode ends since init */
} rtu_ac;

/* Exact bytes of the buffer (RTU_AC_BUFFER_BYTES of the shape), after rtu_ac_check_shape. */
rtu_status rtu_ac_buffer_size(const rtu_ac_shape *shape, size_t *bytes);

/* Lay out the learner, seed its PRNG and draw the initial parameters from it, network by network
 * (critic then actor; with shared, the trunk then the two heads), layer by layer in forward
 * order; traces and statistics start at zero. */
rtu_status rtu_ac_init(rtu_ac *ac, const rtu_ac_shape *shape, const rtu_ac_config *config,
                       uint64_t seed, void *buffer, size_t buffer_bytes);

/* Sample an action for obs (n_obs reals) into action (1 real, the index, or A reals). obs must be
 * the next_obs of the previous learn unless that learn ended an episode (RTU_ERR_ORDER).
 * Refused, with nothing changed: NaN or Inf in obs, or a value beyond RTU_INPUT_LIMIT, also once
 * normalised by the running statistics (RTU_ERR_NONFINITE_INPUT, RTU_ERR_INPUT_RANGE), and calls
 * out of turn (RTU_ERR_ORDER). RTU_ERR_DIVERGED (or RTU_ERR_OVERFLOW from a cell): the actor's
 * outputs or a state became non-finite; restore the learner. */
rtu_status rtu_ac_act(rtu_ac *ac, const rtu_real *obs, rtu_real *action);

/* Learn from the transition of the latest act (see above). Refused as act refuses, nothing
 * changed, for reward and next_obs (and without an act before it); RTU_ERR_DIVERGED: the update
 * made a parameter non-finite or beyond RTU_VALUE_LIMIT; restore the learner. */
rtu_status rtu_ac_learn(rtu_ac *ac, rtu_real reward, const rtu_real *next_obs, int terminated,
                        int truncated);

/* Start a new episode outside learn, as learn does at an episode end (zero z_v, z_pi, the cell's
 * state and RTRL traces; nothing fed), without counting an episode; a pending action (act without
 * learn) is dropped. For a device that restarts, or whose episode was cut off: the next act may
 * take any observation. */
void rtu_ac_begin_episode(rtu_ac *ac);
/* What act refuses of obs at an episode's first step (NaN or Inf, a value beyond RTU_INPUT_LIMIT,
 * also once normalised: RTU_ERR_NONFINITE_INPUT, RTU_ERR_INPUT_RANGE) and learn of reward (NULL:
 * not checked), turns not checked; changes nothing. For a caller that must refuse a message
 * before anything changes the learner, e.g. before rtu_ac_begin_episode. */
rtu_status rtu_ac_check_values(const rtu_ac *ac, const rtu_real *obs, const rtu_real *reward);
/* Value v(s) of the observation the networks hold (after act), at the current parameters. */
rtu_real rtu_ac_value(const rtu_ac *ac);

/* Batches: count learners of one shape and config, each with a seed of its own (many seeds, or
 * one learner per environment of a vector environment), advanced by one call each way. The
 * learners are independent: learner i in a batch takes exactly the trajectory rtu_ac_init,
 * rtu_ac_act and rtu_ac_learn give it alone (its seed, its observations). The caller owns the
 * rtu_ac array (count structs) and one buffer: learner i's memory is the i-th of count equal
 * slices (rtu_ac_buffer_size bytes each), so the batch is contiguous. Every single-learner call
 * (rtu_ac_value, rtu_ac_begin_episode, rtu_ac_save, rtu_ac_load...) works on &acs[i]. */

/* count * rtu_ac_buffer_size(shape): RTU_ERR_SIZE for count 0, above RTU_MAX_BATCH, or a total
 * beyond size_t. */
rtu_status rtu_ac_batch_buffer_size(const rtu_ac_shape *shape, size_t count, size_t *bytes);

/* rtu_ac_init of acs[i] with seeds[i] on the i-th slice of buffer, for i < count. */
rtu_status rtu_ac_batch_init(rtu_ac *acs, size_t count, const rtu_ac_shape *shape,
                             const rtu_ac_config *config, const uint64_t *seeds, void *buffer,
                             size_t buffer_bytes);

/* rtu_ac_act of every learner i with active[i] != 0 (active NULL: all of them) on obs row i
 * (count x n_obs) into actions row i (count x 1 for discrete actions, count x A for continuous
 * ones; inactive rows are neither read nor written). Every active learner's input and turn are
 * checked first: a refusal (as rtu_ac_act's) changes no learner, and *at receives the index of
 * the first refused. Then each acts; RTU_ERR_DIVERGED (or RTU_ERR_OVERFLOW) is returned for the
 * first learner that diverged, *at its index, and the others have acted (restore the diverged
 * ones); diverged (NULL, or count flags) then holds 1 for every learner that diverged, 0 for the
 * others (untouched on a refusal). RTU_ERR_SIZE: count above RTU_MAX_BATCH. */
rtu_status rtu_ac_act_batch(rtu_ac *acs, size_t count, const rtu_real *obs,
                            const unsigned char *active, rtu_real *actions, size_t *at,
                            unsigned char *diverged);

/* rtu_ac_learn of every active learner i from rewards[i], next_obs row i, terminated[i] and
 * truncated[i] (nonzero: true), checked first and reported as rtu_ac_act_batch does. */
rtu_status rtu_ac_learn_batch(rtu_ac *acs, size_t count, const rtu_real *rewards,
                              const rtu_real *next_obs, const unsigned char *terminated,
                              const unsigned char *truncated, const unsigned char *active,
                              size_t *at, unsigned char *diverged);

#ifdef __cplusplus
}
#endif

#endif /* RTU_AC_H */
