/*
 * Inference only: a trained learner's networks run forward from constant weights, with no
 * learning, no traces and no loading code. `rtu-edge export --c-header` writes a header that
 * defines the weights as const arrays (they stay in flash) and an rtu_model that points at them.
 *
 * The network is the actor-critic's (rtu_ac.h, ../shared/rtu-spec.md section 6), frozen; each
 * network (the critic's and the actor's, or one trunk with two heads when shared):
 *   x   = [(obs - obs_mean) * obs_inv_std; prev action;
 *          (prev reward - reward_mean) * reward_scale, or sign(prev reward), or
 *          sign(prev reward) - reward_mean, or sign(prev reward) * reward_scale]
 *         (x = obs without normalisation; the extras only with prev_action, prev_reward)
 *   e   = lrelu(LN(W_in x + b_in))                    (n_embed = m > 0; else e = x)
 *   a_k = g_k c_k - phi_k d_k + eta_k (W_c e)_k;   b_k = g_k d_k + phi_k c_k + eta_k (W_d e)_k
 *   linear:    (c, d) = (a, b),       h = [f(a); f(b)]
 *   nonlinear: (c, d) = (f(a), f(b)), h = [c; d]
 *   lru:       (c, d) = (a, b),       h = f(C_re c - C_im d + D e)   (2n rows: rtu.h)
 *   q   = lrelu(LN(W_1 h + b_1))                      (n_head = k > 0; else q = h)
 *   o   = W_2 q + b_2
 * with the learner's own kernels (rtu_dense_forward, rtu_ln_lrelu; rtu_internal.h). The outputs:
 *   actor-critic, discrete:    [logits (A); value]
 *   actor-critic, continuous:  [mean (A); std (A); value], std = min(std_min + softplus(pre),
 *                              std_max) of the actor's std pre-activations
 *   TD(lambda) (n_actions 0):  [prediction]: one trunk, no input layer, one linear head
 * g, phi and eta are the cell's derived values (r cos theta, r sin theta, max(sqrt(1 - r^2),
 * RTU_ETA_MIN)), computed by the exporter exactly as rtu_cell_refresh computes them; the
 * normalisation is the learner's at export (obs_inv_std = 1 / sqrt(var + 1e-8); reward_mean and
 * reward_scale = 1 / sqrt(var + 1e-8) of the rewards of its previous-reward input, or 0 and 1
 * without normalize_obs; with RTU_REWARD_CENTERED_SIGN reward_mean is the mean of the rewards'
 * signs whatever normalize_obs; with RTU_REWARD_GATED_SIGN reward_scale is 1 where the learner's
 * rewards had differed in sign by then, else 0), frozen. memoryless: the RTU's state is
 * zeroed before every step, as the learner's memoryless baseline does (the extras of x, below,
 * are still carried).
 *
 * The state holds everything a step carries to the next: [c; d] of each trunk (2n reals each,
 * the critic's then the actor's) and then the extras of x, the previous action (one-hot if
 * discrete) and the normalised previous reward (or its sign). It is zero at the start of an episode, and the
 * model keeps the extras itself: after acting on a step's outputs, give it the action taken and
 * the reward that came back (rtu_model_feed), so that a device's loop is
 *
 *   #include "model.h"                    (the exported header; it includes rtu_model.h)
 *   static rtu_real state[MODEL_STATE_REALS], work[MODEL_WORK_REALS], out[MODEL_N_OUT];
 *   rtu_model_check(&model);  rtu_model_reset(&model, state);
 *   each step:  rtu_model_step(&model, state, obs, work, out);
 *               action = the policy's choice from out (argmax of the logits, the mean, a sample)
 *               act; read the reward and whether the episode ended
 *               ended ? rtu_model_reset(&model, state) : rtu_model_feed(&model, state, &action,
 *                                                                       reward);
 *
 * exactly the learner's order (rtu_ac_act, then rtu_ac_learn stores a_t and r_t, normalised, in
 * x_{t+1}).
 * Same rules as rtu.h: no heap, no globals, no stdio.
 */
#ifndef RTU_MODEL_H
#define RTU_MODEL_H
#include "rtu_ac.h" /* rtu_action_kind, RTU_AC_N_X, RTU_AC_N_OUT_POLICY */
#ifdef __cplusplus
extern "C" {
#endif

/* Sizes, for static arrays. n_trunks: 1 (TD(lambda), a shared actor-critic) or 2; n_x: the
 * network's input (RTU_AC_N_X; n_in for TD(lambda)); n_actions 0 for TD(lambda). */
#define RTU_MODEL_N_EXTRA(prev_action, prev_reward, n_actions)                                     \
    RTU_AC_N_X(0u, prev_action, prev_reward, n_actions)
#define RTU_MODEL_STATE_REALS(n_trunks, n_hidden, n_extra)                                         \
    ((size_t)(n_trunks) * 2u * (size_t)(n_hidden) + (size_t)(n_extra))
/* the step's scratch: x (n_x), e_hat and e (m each), h (2n), q_hat and q (k each) */
#define RTU_MODEL_WORK_REALS(n_x, n_hidden, n_embed, n_head)                                       \
    ((size_t)(n_x) + 2u * ((size_t)(n_embed) + (size_t)(n_hidden) + (size_t)(n_head)))
#define RTU_MODEL_N_OUT(action_kind, n_actions)                                                    \
    ((n_actions) ? RTU_AC_N_OUT_POLICY(action_kind, n_actions) + 1u : 1u)
/* reals of an action given to rtu_model_feed: the index (discrete) or the A-vector */
#define RTU_MODEL_ACTION_REALS(action_kind, n_actions)                                             \
    ((action_kind) == RTU_ACTIONS_CONTINUOUS ? (size_t)(n_actions) : 1u)

/* A trunk: the input layer and the RTU of one network. */
typedef struct {
    const rtu_real *embed;         /* W_in (m x n_x, row-major) then b_in (m); NULL when m = 0 */
    const rtu_real *w_c, *w_d;     /* n x n_e each, input-major as the cell's (rtu.h): n_e rows
                                      of n; n_e = m, or n_x when m = 0 */
    const rtu_real *g, *phi, *eta; /* n each */
    const rtu_real *c_re, *c_im;   /* the LRU's readout: 2n x n each, row-major; else NULL */
    const rtu_real *d_skip;        /* the LRU's skip: 2n x n_e, row-major; else NULL */
} rtu_model_trunk;

/* A head: the optional hidden layer and the output layer. */
typedef struct {
    const rtu_real *hidden; /* W_1 (k x 2n, row-major) then b_1 (k); NULL when k = 0 */
    const rtu_real *out;    /* W_2 (o x k') then b_2 (o); k' = k, or 2n when k = 0 */
} rtu_model_head;

typedef struct {
    rtu_kind kind;
    rtu_activation activation;
    size_t n_obs;                 /* observation entries */
    size_t n_hidden;              /* RTU units n */
    size_t n_embed;               /* input layer units m; 0: none */
    size_t n_head;                /* head hidden units k; 0: linear heads */
    size_t n_trunks;              /* 1: every head on trunk[0]; 2: the critic's, the actor's */
    int prev_action;              /* x holds the previous action */
    int prev_reward;              /* x holds the previous reward: RTU_REWARD_NORMALIZED (1),
                                     normalised by reward_mean, reward_scale; RTU_REWARD_SIGN
                                     (2), its sign; RTU_REWARD_CENTERED_SIGN (3), its sign less
                                     reward_mean (the mean of the signs);
                                     RTU_REWARD_GATED_SIGN (4), its sign times reward_scale
                                     (1 or 0: the gate); 0: not */
    int memoryless;               /* the RTU's state is zeroed before every step */
    rtu_action_kind action_kind;
    size_t n_actions;             /* A; 0: no actor (TD(lambda): head[0] is the prediction) */
    rtu_model_trunk trunk[2];     /* trunk[1] unused when n_trunks = 1 */
    rtu_model_head head[2];       /* the critic's (1 output), the actor's (A or 2A outputs) */
    const rtu_real *obs_mean, *obs_inv_std; /* n_obs each, or both NULL: no normalisation */
    rtu_real reward_mean;         /* subtracted from the previous reward (1), its sign (3) */
    rtu_real reward_scale;        /* then its factor (1), its sign's (4) */
    rtu_real std_min, std_max;    /* a continuous actor's std bounds */
} rtu_model;

/* Check a model once before use: kinds, sizes (each at most RTU_MAX_DIM; n_trunks 1 or 2; with
 * n_actions 0, one trunk and no previous action), flags 0 or 1 (prev_reward 0 to 4),
 * pointers, every weight finite, |g|, |phi| < 1 and 0 < eta <= 1 (RTU_ERR_PARAM_RANGE),
 * with prev_reward RTU_REWARD_NORMALIZED reward_mean finite and reward_scale finite and > 0,
 * with RTU_REWARD_CENTERED_SIGN reward_mean finite, with RTU_REWARD_GATED_SIGN reward_scale
 * 0 or 1 (both unused with RTU_REWARD_SIGN),
 * 0 < std_min < std_max for
 * a continuous actor (RTU_ERR_CONFIG). */
rtu_status rtu_model_check(const rtu_model *model);

/* The sizes of the macros above, for this model: state and work reals, outputs. */
size_t rtu_model_state_reals(const rtu_model *model);
size_t rtu_model_work_reals(const rtu_model *model);
size_t rtu_model_n_out(const rtu_model *model);

/* state = 0: the start of an episode. */
void rtu_model_reset(const rtu_model *model, rtu_real *state);

/* One step on obs (n_obs reals): advances state, writes the outputs (rtu_model_n_out) to out.
 * work holds rtu_model_work_reals reals of scratch. A non-finite obs, or one beyond
 * RTU_INPUT_LIMIT, is refused with state untouched. RTU_ERR_OVERFLOW: the state became
 * non-finite. */
rtu_status rtu_model_step(const rtu_model *model, rtu_real *state, const rtu_real *obs,
                          rtu_real *work, rtu_real *out);

/* The action taken on the latest step's outputs (1 real, the index, for discrete actions; A
 * reals for continuous ones, as rtu_ac_act gives it) and the reward it brought, into the state's
 * extras for the next step: the action (one-hot if discrete) with prev_action, (reward -
 * reward_mean) * reward_scale with prev_reward RTU_REWARD_NORMALIZED, sign(reward) with
 * RTU_REWARD_SIGN, sign(reward) - reward_mean with RTU_REWARD_CENTERED_SIGN, sign(reward) *
 * reward_scale with RTU_REWARD_GATED_SIGN; nothing otherwise. action may be NULL for a model
 * without prev_action; given to a model with actions (an actor), it is checked all the same. Not after the last step of an
 * episode: rtu_model_reset instead. Refused with state untouched: a non-finite or too large
 * reward or action entry (as rtu_model_step), a discrete index that is not an action
 * (RTU_ERR_ACTION). */
rtu_status rtu_model_feed(const rtu_model *model, rtu_real *state, const rtu_real *action,
                          rtu_real reward);

/* rtu_model_step over a (T, n_obs) sequence of one episode, out receiving (T, n_out); after
 * step t, rtu_model_feed of actions[t] (RTU_MODEL_ACTION_REALS each) and rewards[t]: rewards
 * may be NULL for a model without the extras, actions for a model without prev_action (given,
 * they are checked all the same). The whole sequence is checked before the first step;
 * RTU_ERR_SIZE for a T whose sequence could not be in memory (its size beyond size_t). */
rtu_status rtu_model_run(const rtu_model *model, rtu_real *state, const rtu_real *obs,
                         const rtu_real *actions, const rtu_real *rewards, size_t steps,
                         rtu_real *work, rtu_real *out);

/* Batches: count independent sequences (one per environment of a vector environment) through
 * one model in one call. states holds count states (count x rtu_model_state_reals, row i the
 * state of sequence i); work rtu_model_batch_work_reals(model, count) reals of scratch
 * (RTU_MODEL_BATCH_WORK_REALS): each sequence's work, then the dense layers' scratch, their
 * inputs transposed and the partial sums of a block of them (RTU_MODEL_PARTIALS). The dense
 * layers run over the batch with the sequences as the inner loop; each sequence gets exactly the
 * bits rtu_model_step gives it alone. */
#define RTU_MODEL_PARTIALS 1024u
#define RTU_MODEL_WIDEST_INPUT_(n_x, n_hidden, n_head)                                             \
    ((size_t)(n_x) > 2u * (size_t)(n_hidden)                                                      \
         ? ((size_t)(n_x) > (size_t)(n_head) ? (size_t)(n_x) : (size_t)(n_head))                   \
         : (2u * (size_t)(n_hidden) > (size_t)(n_head) ? 2u * (size_t)(n_hidden)                   \
                                                       : (size_t)(n_head)))
#define RTU_MODEL_BATCH_WORK_REALS(count, n_x, n_hidden, n_embed, n_head)                          \
    ((size_t)(count) * (RTU_MODEL_WORK_REALS(n_x, n_hidden, n_embed, n_head) +                     \
                        RTU_MODEL_WIDEST_INPUT_(n_x, n_hidden, n_head)) +                       \
     RTU_MODEL_PARTIALS)
/* SIZE_MAX (and rtu_model_step_batch RTU_ERR_SIZE) where the work's bytes would be beyond
 * size_t: no buffer holds it (the macro, for static arrays, does not check). */
size_t rtu_model_batch_work_reals(const rtu_model *model, size_t count);

/* rtu_model_step of every sequence i on obs row i (count x n_obs) into out row i (count x
 * n_out), at most RTU_MAX_BATCH sequences (RTU_ERR_SIZE). The whole of obs is checked first: a
 * refused value changes no state, and *at receives the index of the first sequence refused.
 * RTU_ERR_OVERFLOW: the state of sequence *at (the first) became non-finite; the others
 * stepped. */
rtu_status rtu_model_step_batch(const rtu_model *model, size_t count, rtu_real *states,
                                const rtu_real *obs, rtu_real *work, rtu_real *out, size_t *at);

/* rtu_model_feed of every sequence i whose ended[i] is 0 (ended NULL: all of them): action row
 * i (count x RTU_MODEL_ACTION_REALS) and rewards[i]; rtu_model_reset of every other. Every fed
 * action and reward is checked first: a refusal changes no state (*at: the first refused). */
rtu_status rtu_model_feed_batch(const rtu_model *model, size_t count, rtu_real *states,
                                const rtu_real *actions, const rtu_real *rewards,
                                const unsigned char *ended, size_t *at);

#ifdef __cplusplus
}
#endif
#endif /* RTU_MODEL_H */
