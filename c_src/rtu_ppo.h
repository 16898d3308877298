/*
 * PPO with RTRL (the seed paper's control trainer, Elelimy et al. 2024, and its code's
 * RealTimePPO): the actor-critic's network (rtu_ac.h) trained from rollouts of N
 * environments, T steps each, with clipped-ratio PPO and Adam. Same rules as rtu.h: no heap, no
 * globals, no stdio; the caller owns the buffer.
 *
 * One network (an rtu_ac: parameters, observation and reward statistics, PRNG) serves N
 * environments; each environment has a context of its own: every trunk's cell state and RTRL
 * traces, and the extras of its next input (previous action and reward). A rollout step
 * (rtu_ppo_act) stores, for each environment, its context before the step and its input x_t,
 * steps the cells from that context (their traces advance as in rtu_cell_step), samples
 * a_t ~ pi(.|s_t) and returns v(s_t) and log pi(a_t|s_t). rtu_ppo_feedback then takes the
 * rewards and episode ends (and gives v(s_{t+1}) of the observation a truncated episode was cut
 * at, which continues its return), writes the extras of x_{t+1}, and zeroes the context of an
 * environment whose episode ended.
 *
 * The update, for a minibatch of stored steps (t, i): restore environment i's context of t-1
 * into the cells (at the current parameters), one step on the stored x_t gives h_t and the
 * traces of t, the heads give v, log pi(a_t|s_t) and H, and the loss
 *   L = mean[ max(-A r, -A clip(r, 1 - eps, 1 + eps)) ] - c_H mean[H] + c_v mean[l_v],
 * (c_H: the network's config.entropy_coef)
 *   r = exp(log pi(a_t|s_t) - log pi_old(a_t|s_t)),
 *   l_v = (v - R)^2 / 2, or max((v - R)^2, (v_clip - R)^2) / 2 with v_clip = v_old +
 *         clip(v - v_old, -eps, eps) (clip_vloss)
 * is differentiated as the actor-critic's gradients are: the heads by backprop, the RTU by
 * contracting dL/dh_t with the traces of t (RTRL), the input layer by the one-step sensitivity.
 * With the stored contexts this is the paper's stale gradient: the traces of t-1 were computed
 * with the parameters of the rollout. rtu_ppo_refresh recomputes every context (and value)
 * from each environment's first context with the current parameters: the fresh gradient, which
 * is the exact gradient of L when the rollout started each episode (its first contexts zero).
 * rtu_ppo_adam_step takes one Adam step on the mean gradient (global-norm clipped).
 *
 * Buffer, in order: the rtu_ac (rtu_ac_buffer_size); contexts (T + 1) x N (before each step,
 * then the environments' current ones); inputs T x N x n_x; actions T x N x a (a = 1 discrete,
 * A continuous); log-probabilities, values and episode ends T x N each; the return traces of
 * reward scaling (N); the gradient and Adam's two moments (n_value + n_policy each); the
 * update's scratch for RTU_PPO_CHUNK samples (their cells after the step, inputs, activations and
 * gradients, and the dense kernels' scratch).
 *
 * rtu_ppo_gradient takes its samples RTU_PPO_CHUNK at a time: each one's cells step (from its
 * context, on its input), then the heads' hidden layers run over the chunk as matrix products,
 * then each sample's loss and the layers above, then the hidden layers' gradients over the chunk,
 * then each sample's RTU and input layer. Every gradient entry still receives the samples'
 * contributions in their order, so the result has the bits a sample at a time gives.
 */
#ifndef RTU_PPO_H
#define RTU_PPO_H

#include "rtu_ac.h"

#define RTU_PPO_CHUNK 16u /* samples of the update's chunk */

#ifdef __cplusplus
extern "C" {
#endif

/* The loss (PPOConfig's fields of the same names; c_H is the network's config.entropy_coef):
 * clip_coef eps (> 0), vf_coef c_v (>= 0), clip_vloss (0 or 1). */
typedef struct {
    rtu_real clip_coef;
    rtu_real vf_coef;
    int clip_vloss;
} rtu_ppo_loss;

/* Adam (PPOConfig's fields): learning_rate (> 0), adam_beta1, adam_beta2 (in [0, 1)),
 * adam_eps (> 0), max_grad_norm (>= 0; 0: no clipping). */
typedef struct {
    rtu_real learning_rate;
    rtu_real adam_beta1;
    rtu_real adam_beta2;
    rtu_real adam_eps;
    rtu_real max_grad_norm;
} rtu_ppo_adam;

/* What rtu_ppo_gradient measures, means over its samples. */
typedef struct {
    rtu_real policy_loss; /* max(-A r, -A clip(r)) */
    rtu_real value_loss;  /* l_v */
    rtu_real entropy;     /* H */
    rtu_real approx_kl;   /* (r - 1) - log r */
    rtu_real clip_frac;   /* |r - 1| > eps */
} rtu_ppo_stats;

typedef struct {
    rtu_ac ac;             /* the network, its statistics and its PRNG */
    size_t n_envs;         /* N */
    size_t n_steps;        /* T */
    size_t cell_ctx;       /* reals of one cell's state and RTRL traces */
    size_t ctx;            /* reals of an environment's context: each trunk's cell_ctx, extras */
    size_t n_grad;         /* n_value + n_policy: the critic's, then the actor's parameters */
    size_t action_reals;   /* 1 (discrete) or A */
    rtu_real *contexts;    /* (T + 1) x N x ctx */
    rtu_real *inputs;      /* T x N x n_x */
    rtu_real *actions;     /* T x N x action_reals */
    rtu_real *log_probs;   /* T x N */
    rtu_real *values;      /* T x N */
    rtu_real *dones;       /* T x N, 1 where the episode ended at that step */
    rtu_real *ret_traces;  /* N */
    rtu_real *grad;        /* n_grad: the latest rtu_ppo_gradient; with a shared trunk, its
                            * actor's trunk part is added to the critic's by rtu_ppo_adam_step */
    rtu_real *adam_m, *adam_v; /* n_grad each */
    rtu_real *cell_own[2]; /* each trunk's cell's own context, in ac's buffer (the update steps
                            * the cells on its chunk's contexts in place, then back to these) */
    rtu_real *work;        /* the update's scratch for a chunk of RTU_PPO_CHUNK samples */
    size_t work_reals;     /* its size */
    uint64_t adam_steps;
    size_t t;              /* the rollout's next step */
    int acted;             /* rtu_ppo_act was called and rtu_ppo_feedback was not yet */
} rtu_ppo;

/* RTU_OK, or RTU_ERR_CONFIG and *what (may be NULL) naming the first faulty field. */
rtu_status rtu_ppo_check_loss(const rtu_ppo_loss *loss, const char **what);
rtu_status rtu_ppo_check_adam(const rtu_ppo_adam *adam, const char **what);

/* Exact bytes for the network of shape with n_envs environments and rollouts of n_steps: the
 * shape's errors (rtu_ac_check_shape), RTU_ERR_SIZE for n_envs or n_steps 0, n_envs above
 * RTU_MAX_BATCH, or a buffer beyond size_t. */
rtu_status rtu_ppo_buffer_size(const rtu_ac_shape *shape, size_t n_envs, size_t n_steps,
                               size_t *bytes);

/* Lay PPO out in buffer: the network as rtu_ac_init draws it from seed (config: its
 * initialisation, bounds and normalisations; the AC(lambda) hyperparameters are kept for a
 * hand-off), every context zero (each environment starts an episode), t = 0. */
rtu_status rtu_ppo_init(rtu_ppo *ppo, const rtu_ac_shape *shape, const rtu_ac_config *config,
                        size_t n_envs, size_t n_steps, uint64_t seed, void *buffer,
                        size_t buffer_bytes);

/* Rollout step t: obs (N x n_obs) -> actions (N x action_reals), values v(s_t) (N) and
 * log_probs log pi(a_t|s_t) (N); stores each environment's context and input, and the outputs.
 * Refused before anything changes: RTU_ERR_ORDER (the rollout is full, t = T, or act twice),
 * an observation as rtu_ac_act refuses it (*at: its environment). RTU_ERR_DIVERGED or
 * RTU_ERR_OVERFLOW (*at): a network's outputs or a cell overflowed; restore the learner. */
rtu_status rtu_ppo_act(rtu_ppo *ppo, const rtu_real *obs, rtu_real *actions, rtu_real *values,
                       rtu_real *log_probs, size_t *at);

/* The environments' answer to the latest act: rewards (N), terminated and truncated (N, nonzero
 * true). scaled (N) receives the rewards scaled as the actor-critic scales them (its config's
 * scale_reward: each environment's discounted return trace, one running variance), or the
 * rewards themselves. final_obs (N x n_obs, or NULL) holds the observation each step ended on;
 * only the rows of environments truncated and not terminated are read, and final_values[i] (N;
 * NULL only with final_obs NULL) receives v(s_{t+1}) of those, 0 of the others: the value that
 * continues a truncated episode's return (rtu_ppo_bootstrap's, from the cells after step t on
 * final_obs with the extras of a_t and r_t; the rollout's targets add gamma v(s_{t+1}) to r_t).
 * An episode's end (terminated or truncated) then zeroes that environment's next context; else
 * the extras of its next input are written (previous action and reward). Then t += 1.
 * ac.steps and ac.episodes count the environments' steps and episode ends. Refused before
 * anything changes: RTU_ERR_ORDER (no act before it), a non-finite reward or one beyond
 * RTU_INPUT_LIMIT (*at), then a row of final_obs that is read, refused as act refuses obs
 * (*at: its environment). */
rtu_status rtu_ppo_feedback(rtu_ppo *ppo, const rtu_real *rewards,
                            const unsigned char *terminated, const unsigned char *truncated,
                            const rtu_real *final_obs, rtu_real *scaled, rtu_real *final_values,
                            size_t *at);

/* v(obs_i) (N) of each environment's next step at the current parameters, from its current
 * context (the bootstrap of the rollout's last step), changing nothing: the observation is
 * normalised by the statistics as they are. Refused as act refuses obs. */
rtu_status rtu_ppo_bootstrap(rtu_ppo *ppo, const rtu_real *obs, rtu_real *values, size_t *at);

/* The fresh contexts: each environment's steps 0..t-1 rerun from its first context with the
 * current parameters, every later context and the environments' current ones rewritten, values
 * (t x N) receiving v(s_t) at those parameters (may be NULL). RTU_ERR_OVERFLOW: a cell
 * overflowed (contexts partly rewritten; restore the learner). */
rtu_status rtu_ppo_refresh(rtu_ppo *ppo, rtu_real *values);

/* grad = the gradient of L (above) over count stored steps, samples[j] = t * N + i (t < the
 * rollout's t), with advantages[j] and returns[j]; stats (may be NULL) receives the means.
 * Refused before anything changes: RTU_ERR_CONFIG (the loss), RTU_ERR_SIZE (count 0, or a
 * sample out of the rollout: *at its index j), a non-finite advantage or return or one beyond
 * RTU_INPUT_LIMIT (*at). RTU_ERR_DIVERGED: the loss or the gradient became non-finite. */
rtu_status rtu_ppo_gradient(rtu_ppo *ppo, const rtu_ppo_loss *loss, size_t count,
                            const size_t *samples, const rtu_real *advantages,
                            const rtu_real *returns, rtu_ppo_stats *stats, size_t *at);

/* One Adam step on grad over every parameter (a shared trunk once), after scaling grad to
 * global norm max_grad_norm if above it; *grad_norm (may be NULL) receives the norm before.
 * RTU_ERR_CONFIG: adam refused, nothing changed. RTU_ERR_DIVERGED: a parameter became
 * non-finite or left its range; restore the learner. */
rtu_status rtu_ppo_adam_step(rtu_ppo *ppo, const rtu_ppo_adam *adam, rtu_real *grad_norm);

/* Start the next rollout: the phases wrap (rtu_cell_wrap_phases, the environments' theta
 * traces rescaled with them), each environment's current context becomes its first, t = 0.
 * RTU_ERR_ORDER between an act and its feedback. */
rtu_status rtu_ppo_begin_rollout(rtu_ppo *ppo);

/* The hand-off: ppo->ac made a streaming actor-critic that has just begun an episode (its
 * traces and cells zero; the parameters, observation and reward statistics PPO trained): save it
 * with rtu_ac_save, or keep learning with rtu_ac_act and rtu_ac_learn. PPO's contexts are not
 * touched (its next act restores them). */
void rtu_ppo_actor_critic(rtu_ppo *ppo);

#ifdef __cplusplus
}
#endif

#endif /* RTU_PPO_H */
