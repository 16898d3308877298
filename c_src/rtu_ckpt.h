/*
 * Checkpoints: one versioned binary format for every rtu_edge learner, written and read without
 * heap, globals or stdio (the caller owns the bytes and does the I/O). This is the one codec:
 * Python reads and writes checkpoints through it (rtu_edge/checkpoint.py); tests/ckpt_codec.py is
 * an independent decoder that cross-checks its bytes.
 *
 * Format version 5. Every integer is unsigned little-endian; every real is IEEE-754 little-endian
 * of the writer's precision (4 bytes: binary32, 8 bytes: binary64). No padding anywhere. The header
 * holds everything the learner's buffer size depends on, so a reader can size and lay out the
 * learner (rtu_ckpt_read_dims) before it loads it:
 *
 *   offset  size  field
 *   ------  ----  -----------------------------------------------------------------------------
 *        0     8  magic "RTUEDGE\0" (52 54 55 45 44 47 45 00)
 *        8     4  u32 format version = 5 (RTU_CKPT_VERSION)
 *       12     4  u32 learner type: 1 = TD(lambda) (rtu_td); 2 = actor-critic (rtu_ac);
 *                 3 = PPO's Adam state (rtu_ppo; below)
 *       16     4  u32 precision: bytes per real, 4 (float build) or 8 (double build)
 *       20     4  u32 cell kind (rtu_kind: 0 linear, 1 nonlinear, 2 lru)
 *       24     4  u32 activation (rtu_activation: 0 relu, 1 tanh, 2 identity)
 *       28     4  u32 n_in: TD, the cell's input size; actor-critic, n_obs
 *       32     4  u32 n_hidden
 *       36     4  u32 optimizer (rtu_optimizer: 0 sgd, 1 obgd) of the learner's config
 *       40     8  u64 step counter (rtu_td.steps, rtu_ac.steps: learn calls, or the environment
 *                 steps PPO trained the network on)
 *       48     8  u64 payload length L in bytes
 *       56     4  u32 n_embed      \
 *       60     4  u32 n_head        |
 *       64     4  u32 shared        |  the rest of the actor-critic's rtu_ac_shape (flags 0 or 1,
 *       68     4  u32 prev_action   |  prev_reward 0-4, rtu_reward_input); all 0 for TD
 *       72     4  u32 prev_reward   |
 *       76     4  u32 memoryless    |
 *       80     4  u32 action_kind   |  (rtu_action_kind: 0 discrete, 1 continuous)
 *       84     4  u32 n_actions    /
 *       88     L  payload (depends on the learner type, below)
 *   88 + L     4  u32 CRC-32 (zlib's: reflected polynomial 0xEDB88320, init and final xor
 *                 0xFFFFFFFF) of bytes [0, 88 + L)
 *
 * Every learner type shares the header and the CRC, and TD and the actor-critic the layout of a
 * cell's arrays (params, state, RTRL traces). For a cell of n = n_hidden units on d inputs,
 * P = 2n + 2nd (+ 4n^2 + 2nd for the LRU) its parameters (RTU_CELL_PARAMS), S = 4n (+ d for the
 * LRU) its state (RTU_CELL_STATE) and
 * T = 4n + 2nd (linear, LRU) or 4n + 4nd (nonlinear) its RTRL traces (RTU_CELL_TRACES):
 *
 *   cell params: nu_log[n], theta_log[n], w_c[n*d], w_d[n*d], and for the
 *                LRU c_re[2n*n], c_im[2n*n], d_skip[2n*d]                    P R
 *   cell state: c[n], d[n], h[2n] (the features), and for the LRU x[d]       S R
 *   RTRL traces: dc_dnu[n], dd_dnu[n], dc_dtheta[n], dd_dtheta[n],
 *                dc_dwc[n*d], dd_dwc[n*d], and for the nonlinear kind
 *                dc_dwd[n*d], dd_dwd[n*d]                                    T R
 *
 * each array as the cell holds it (rtu.h): w_c, w_d and the weight traces input-major.
 *
 * Payload of learner type 1, TD(lambda) (R = precision, d = n_in, Q = P + 2n + 1 the learner's
 * parameters):
 *
 *   reals  gamma, lambda, alpha, kappa (RTU_TD_CONFIG_REALS, rtu_config.h) 4 R
 *   reals  v_prev, z_norm1                                                2 R
 *   u32    has_prev (0 or 1)                                              4
 *   reals  cell params, cell state, RTRL traces (above)                  (P + S + T) R
 *   reals  head: w[2n], b                                                (2n + 1) R
 *   reals  eligibility traces z[Q] (learner-parameter layout)            Q R
 *
 * Payload of learner type 2, the actor-critic on the streaming network of rtu_ac.h (m = n_embed,
 * k = n_head, A = n_actions; n_x = n_obs + (prev_action ? A : 0) + (prev_reward ? 1 : 0) the
 * network's input; the cell's input d = m, or n_x when m = 0; E = m (n_x + 1) the input layer's
 * parameters; the heads' parameters H_v = RTU_AC_HEAD_PARAMS(n, k, 1) and H_pi =
 * RTU_AC_HEAD_PARAMS(n, k, o), o = A (discrete) or 2A (continuous); N = 1 trunk if shared, else 2).
 * The header's optimizer field is the config's optimizer and its step counter is rtu_ac.steps:
 *
 *   offset  size
 *        0     4  u32 normalize_obs (0 or 1)    (RTU_AC_CONFIG_FLAGS of rtu_config.h, in order;
 *        4     4  u32 scale_reward (0 or 1)      a further flag shifts the offsets below by 4)
 *        8     4  u32 fed (0 or 1: the networks hold obs_last, which the next act must get)
 *       12     4  u32 acted, always 0 (a checkpoint is taken after learn, never between act and
 *                 learn: rtu_ac_save refuses then with RTU_ERR_ORDER, rtu_ac_load refuses acted 1
 *                 with RTU_ERR_ORDER; so the scratch pi and action is never needed)
 *       16     8  u64 episodes
 *       24     8  u64 obs_count (observations in the running statistics)
 *       32     8  u64 ret_count (returns in the reward-scaling statistics)
 *       40     8  u64 PRNG state (rtu_prng.state)
 *       48     8  u64 PRNG increment (rtu_prng.inc, odd)
 *       56        reals the config: gamma, lambda, alpha, kappa_value, kappa_policy,
 *                       entropy_coef, sparsity, std_min, std_max,
 *                       phase_step_scale                                               10 R
 *                       (RTU_AC_CONFIG_REALS of rtu_config.h, in order)
 *                 reals ret_trace, ret_mean, ret_m2                                     3 R
 *                 per trunk (the critic's then the actor's; the one trunk if shared):
 *                   reals input layer: W_in[m*n_x], b_in[m] (nothing when m = 0)        E R
 *                   reals cell params, cell state, RTRL traces (above)         (P + S + T) R
 *                 reals the critic's head: [W_1[k*2n], b_1[k]] W_2[1*k'], b_2[1]     H_v R
 *                 reals the actor's head: [W_1[k*2n], b_1[k]] W_2[o*k'], b_2[o]     H_pi R
 *                       (k' = k, or 2n when k = 0; W_1, b_1 only when k > 0)
 *                 reals z_v[E + P + H_v] (the critic network's parameter layout)
 *                 reals z_pi[E + P + H_pi] (the actor network's parameter layout)
 *                 reals obs_mean[n_obs], obs_m2[n_obs], obs_last[n_obs] (the latest raw
 *                       observation), x[n_x] (the input the networks hold)
 *                 u64   reward_count (rewards in the previous-reward input's statistics)   8
 *                 reals reward_mean, reward_m2 (those statistics, Welford)                 2 R
 * in all RTU_AC_CKPT_FIXED_BYTES + RTU_AC_CKPT_COUNT_BYTES + R (15 + N (E + P + S + T)
 * + 2 (H_v + H_pi + E + P) + 3 n_obs + n_x) bytes.
 *
 * Payload of learner type 3, PPO's Adam state (rtu_ppo.h): the moments of rtu_ppo_adam_step, which
 * a PPO run keeps in a file of its own beside its network's actor-critic checkpoint (that file is
 * the hand-off's, and every loader of an actor-critic takes it), so that a resumed run goes on with
 * the optimizer it had. The header is the actor-critic's of the same network (its shape fields;
 * its step counter the network's rtu_ac.steps when the state was saved, which the loader requires
 * to equal the network's it goes into). With G = (E + P + H_v) + (E + P + H_pi) the network's
 * parameters (the critic's, then the actor's, as z_v and z_pi; a shared trunk's twice):
 *
 *   offset  size
 *        0     8  u64 adam_steps (the Adam steps taken: t of the bias corrections)
 *        8        reals adam_m[G], adam_v[G] (the first and second moments)             2G R
 *
 * in all RTU_PPO_ADAM_CHECKPOINT_BYTES(...) bytes.
 *
 * Not stored, recomputed by the loaders: the cell's derived cache (nu, theta, g, phi, eta, deta;
 * rtu_cell_refresh), so a checkpoint does not depend on the last ulp of a libm; and the
 * actor-critic's forward activations (each trunk's e_hat, e, e_inv_std; each head's q_hat, q,
 * q_inv_std, out): when fed is 1 the loader recomputes them from x, the parameters and each cell's
 * stored h exactly as the forward of the learn that fed x computed them, without stepping the
 * cells (so the learner goes on bit for bit). Scratch is not stored either: TD's gradient and the
 * actor-critic's peek, backward scratch and x_next are overwritten by every step before they are
 * read, and the actor-critic's pi and action (written by act, read by learn) are only needed
 * between act and learn, when no checkpoint is taken.
 *
 * Earlier versions are refused with RTU_ERR_CKPT_VERSION: version 4 is this format without the
 * actor-critic's phase_step_scale (its learners stepped their phases as every other parameter,
 * 1; rtu_edge/checkpoint.py upgrades such a file as it reads it); version 3 stored w_c, w_d and
 * the weight traces unit-major (n rows of d), versions 2 and 1 held networks and inputs that no
 * longer exist. A learner of theirs is retrained.
 *
 * A later learner type adds its own payload after the same header; a reader refuses a learner type
 * it does not know or that is not the learner's (RTU_ERR_CKPT_MISMATCH) and a format version it
 * does not read (RTU_ERR_CKPT_VERSION).
 */
#ifndef RTU_CKPT_H
#define RTU_CKPT_H

#include "rtu_ac.h"
#include "rtu_ppo.h"
#include "rtu_td.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RTU_CKPT_VERSION 5u
#define RTU_CKPT_HEADER_BYTES 88u
#define RTU_CKPT_CRC_BYTES 4u

typedef enum {
    RTU_LEARNER_TD = 1,           /* rtu_td: TD(lambda) prediction */
    RTU_LEARNER_ACTOR_CRITIC = 2, /* rtu_ac: streaming actor-critic */
    RTU_LEARNER_PPO_ADAM = 3      /* rtu_ppo's Adam state (not a learner: beside its network) */
} rtu_learner_type;

/* Reals of a cell's arrays in a checkpoint (params, state, RTRL traces). */
#define RTU_CKPT_CELL_REALS(kind, n_in, n_hidden)                                                   \
    (RTU_CELL_PARAMS(kind, n_in, n_hidden) + RTU_CELL_STATE(kind, n_in, n_hidden) +                 \
     RTU_CELL_TRACES(kind, n_in, n_hidden))

/* Reals of a TD(lambda) payload, and the exact bytes of its checkpoint, for static buffers
 * (header, payload, CRC). */
#define RTU_TD_CKPT_REALS(kind, n_in, n_hidden)                                                     \
    (RTU_TD_CONFIG_REAL_COUNT + 2u + RTU_CKPT_CELL_REALS(kind, n_in, n_hidden) +                    \
     2u * (size_t)(n_hidden) + 1u + RTU_TD_PARAMS(kind, n_in, n_hidden))
#define RTU_TD_CHECKPOINT_BYTES(kind, n_in, n_hidden)                                               \
    (RTU_CKPT_HEADER_BYTES + 4u + RTU_CKPT_CRC_BYTES +                                              \
     sizeof(rtu_real) * RTU_TD_CKPT_REALS(kind, n_in, n_hidden))

/* Bytes of the integers that open an actor-critic payload (flags, fed, acted, counters, PRNG). */
#define RTU_AC_CKPT_FIXED_BYTES (48u + 4u * RTU_AC_CONFIG_FLAG_COUNT) /* 56 */
/* Bytes of the integer after its arrays (reward_count; not in version 2). */
#define RTU_AC_CKPT_COUNT_BYTES 8u

/* Reals of an actor-critic payload, and the exact bytes of its checkpoint, for static buffers
 * (header, payload, CRC); the arguments are those of RTU_AC_BUFFER_BYTES. */
#define RTU_AC_CKPT_REALS_(kind, n_x, n_hidden, n_embed, n_head, shared, n_obs, o_pi)               \
    (RTU_AC_CONFIG_REAL_COUNT + 3u + 2u +                                                           \
     ((shared) ? 1u : 2u) * (RTU_AC_EMBED_PARAMS(n_x, n_embed) +                                    \
                             RTU_CKPT_CELL_REALS(kind, RTU_AC_N_E(n_x, n_embed), n_hidden)) +       \
     2u * (RTU_AC_HEAD_PARAMS(n_hidden, n_head, 1u) + RTU_AC_HEAD_PARAMS(n_hidden, n_head, o_pi) +  \
           RTU_AC_EMBED_PARAMS(n_x, n_embed) +                                                      \
           RTU_CELL_PARAMS(kind, RTU_AC_N_E(n_x, n_embed), n_hidden)) +                             \
     3u * (size_t)(n_obs) + (size_t)(n_x))
#define RTU_AC_CKPT_REALS(kind, n_obs, n_hidden, n_embed, n_head, shared, prev_action,              \
                          prev_reward, action_kind, n_actions)                                      \
    RTU_AC_CKPT_REALS_(kind, RTU_AC_N_X(n_obs, prev_action, prev_reward, n_actions), n_hidden,      \
                       n_embed, n_head, shared, n_obs, RTU_AC_N_OUT_POLICY(action_kind, n_actions))
#define RTU_AC_CHECKPOINT_BYTES(kind, n_obs, n_hidden, n_embed, n_head, shared, prev_action,        \
                                prev_reward, action_kind, n_actions)                                \
    (RTU_CKPT_HEADER_BYTES + RTU_AC_CKPT_FIXED_BYTES + RTU_AC_CKPT_COUNT_BYTES +                    \
     RTU_CKPT_CRC_BYTES + sizeof(rtu_real) * RTU_AC_CKPT_REALS(kind, n_obs, n_hidden, n_embed, n_head, shared,           \
                                          prev_action, prev_reward, action_kind, n_actions))

/* Reals of PPO's Adam state (G twice: adam_m, adam_v), the bytes of the integer before them, and
 * the exact bytes of its checkpoint; the arguments are those of RTU_AC_CHECKPOINT_BYTES. */
#define RTU_PPO_ADAM_REALS(kind, n_obs, n_hidden, n_embed, n_head, prev_action, prev_reward,       \
                           action_kind, n_actions)                                                 \
    (2u * (RTU_AC_NET_PARAMS(kind, RTU_AC_N_X(n_obs, prev_action, prev_reward, n_actions),         \
                             n_hidden, n_embed, n_head, 1u) +                                      \
           RTU_AC_NET_PARAMS(kind, RTU_AC_N_X(n_obs, prev_action, prev_reward, n_actions),         \
                             n_hidden, n_embed, n_head,                                            \
                             RTU_AC_N_OUT_POLICY(action_kind, n_actions))))
#define RTU_PPO_ADAM_CKPT_FIXED_BYTES 8u
#define RTU_PPO_ADAM_CHECKPOINT_BYTES(kind, n_obs, n_hidden, n_embed, n_head, prev_action,         \
                                      prev_reward, action_kind, n_actions)                         \
    (RTU_CKPT_HEADER_BYTES + RTU_PPO_ADAM_CKPT_FIXED_BYTES + RTU_CKPT_CRC_BYTES +                  \
     sizeof(rtu_real) * RTU_PPO_ADAM_REALS(kind, n_obs, n_hidden, n_embed, n_head, prev_action,    \
                                           prev_reward, action_kind, n_actions))

/* The header fields of a checkpoint, as rtu_ckpt_inspect reads them. */
typedef struct {
    uint32_t version;
    uint32_t learner_type;
    uint32_t precision;
    uint32_t kind;
    uint32_t activation;
    uint32_t n_in;
    uint32_t n_hidden;
    uint32_t optimizer;
    uint64_t steps;
    uint64_t payload_bytes;
    uint32_t n_embed, n_head, shared, prev_action, prev_reward, memoryless, action_kind, n_actions;
    size_t header_bytes; /* where the payload starts: RTU_CKPT_HEADER_BYTES */
} rtu_ckpt_header;

/* What a checkpoint holds, as rtu_ckpt_read_dims reads it: enough to size and lay out the learner
 * it goes into (TD: rtu_td_buffer_size and rtu_td_init from kind, activation, n_in, n_hidden; the
 * actor-critic: rtu_ac_buffer_size(&dims.shape, ..) and rtu_ac_init(.., &dims.shape, ..)), before
 * rtu_td_load or rtu_ac_load restores it and checks everything else. */
typedef struct {
    uint32_t version;            /* RTU_CKPT_VERSION */
    uint32_t learner_type;       /* rtu_learner_type: RTU_LEARNER_TD, RTU_LEARNER_ACTOR_CRITIC or
                                    RTU_LEARNER_PPO_ADAM */
    uint32_t precision;          /* bytes per real: 4 or 8 (the build that can load it) */
    rtu_kind kind;
    rtu_activation activation;
    size_t n_in;                 /* TD: the cell's input size; actor-critic: n_obs */
    size_t n_hidden;
    rtu_ac_shape shape;          /* actor-critic: its whole shape (kind, activation, n_obs = n_in
                                    and n_hidden as above); TD: those four, the rest 0 */
    uint64_t steps;              /* the learner's step counter */
    size_t bytes;                /* the checkpoint's length: header, payload and CRC */
} rtu_ckpt_dims;

/* CRC-32 of bytes bytes at data, as zlib.crc32 computes it (0 for no bytes). Bitwise, no table. */
uint32_t rtu_crc32(const void *data, size_t bytes);

/* Check the framing of a checkpoint of any learner type: magic (RTU_ERR_CKPT_MAGIC), version
 * RTU_CKPT_VERSION (RTU_ERR_CKPT_VERSION), that the payload length fits in in_bytes
 * (RTU_ERR_CKPT_TRUNCATED) and the CRC (RTU_ERR_CKPT_CRC); then fill *header.
 * Reads nothing beyond in_bytes; bytes after the CRC (in_bytes larger than the checkpoint, e.g. a
 * flash sector) are ignored. */
rtu_status rtu_ckpt_inspect(const void *in, size_t in_bytes, rtu_ckpt_header *header);

/* Read what a checkpoint of any learner type holds into *dims: the framing is checked as
 * rtu_ckpt_inspect checks it, then the learner type, precision (4 or 8), kind, activation, n_in and
 * n_hidden (1 to RTU_MAX_DIM), for TD that the actor-critic's header fields are 0, for the
 * actor-critic (and PPO's Adam state, whose dims are its network's) that its shape passes
 * rtu_ac_check_shape (and so that this build can lay it out), and that the payload length is
 * the one these imply (else RTU_ERR_CKPT_MISMATCH). Everything
 * else (config, every real) is checked by the loader. *dims is written only on success. A
 * precision other than this build's is reported, not refused: the caller picks the build. */
rtu_status rtu_ckpt_read_dims(const void *in, size_t in_bytes, rtu_ckpt_dims *dims);

/* Exact bytes of td's checkpoint (RTU_TD_CHECKPOINT_BYTES). */
rtu_status rtu_td_checkpoint_size(const rtu_td *td, size_t *bytes);

/* Write td's checkpoint into out; *written (may be NULL) receives its byte count, 0 on
 * error. RTU_ERR_BUFFER_SMALL if out_bytes is below rtu_td_checkpoint_size. The written bytes are
 * checked as rtu_td_load checks them, so a learner that cannot be restored (diverged: non-finite
 * values, or a config out of range) is refused with that status and out holds no valid
 * checkpoint. */
rtu_status rtu_td_save(const rtu_td *td, void *out, size_t out_bytes, size_t *written);

/* Restore td, which rtu_td_init laid out with the same precision, kind, activation, n_in and
 * n_hidden as the checkpoint (else RTU_ERR_CKPT_MISMATCH), from in_bytes bytes at in. Everything is checked before td changes, and on any error td is untouched: framing
 * (rtu_ckpt_inspect), learner type and sizes and payload length (RTU_ERR_CKPT_MISMATCH), the
 * config (RTU_ERR_CONFIG: gamma and lambda in [0, 1], alpha > 0, kappa > 0 for ObGD, a known
 * optimizer, has_prev 0 or 1), every real finite (RTU_ERR_NONFINITE_PARAM), and that the rest is
 * what a learner can hold (RTU_ERR_PARAM_RANGE): |nu_log|, |theta_log| <= RTU_LOG_PARAM_LIMIT,
 * every other real (v_prev too) within RTU_VALUE_LIMIT (z within its square), the features h what
 * the cell's c, d and activation give (the LRU's within f's range), z_norm1 not below |z|_1, and
 * before the first step (has_prev 0) v_prev, z_norm1, the cell's state and traces and z all zero.
 * The config, step counter, parameters, state and every trace are restored, and the derived cache
 * is recomputed (rtu_cell_refresh). */
rtu_status rtu_td_load(rtu_td *td, const void *in, size_t in_bytes);

/* Exact bytes of ac's checkpoint (RTU_AC_CHECKPOINT_BYTES of its shape). */
rtu_status rtu_ac_checkpoint_size(const rtu_ac *ac, size_t *bytes);

/* Write ac's checkpoint into out; *written (may be NULL) receives its byte count, 0 on error.
 * RTU_ERR_BUFFER_SMALL if out_bytes is below rtu_ac_checkpoint_size. Checkpoints are taken after
 * learn (or before the first act), never between act and learn: the written bytes are checked as
 * rtu_ac_load checks them, so a learner that has diverged (non-finite values, values beyond
 * RTU_VALUE_LIMIT, a config out of range) is refused with that status, and a learner
 * between act and learn with RTU_ERR_ORDER (a diverged learn leaves it there: its divergence is
 * reported first); then out holds no valid checkpoint. */
rtu_status rtu_ac_save(const rtu_ac *ac, void *out, size_t out_bytes, size_t *written);

/* Restore ac, which rtu_ac_init laid out with the same precision and shape (every field of
 * rtu_ac_shape) as the checkpoint (else RTU_ERR_CKPT_MISMATCH), from in_bytes bytes at in.
 * Everything is checked before ac changes, and on any error ac is untouched: framing
 * (rtu_ckpt_inspect), learner type,
 * shape and payload length (RTU_ERR_CKPT_MISMATCH), every real finite (RTU_ERR_NONFINITE_PARAM),
 * the config (RTU_ERR_CONFIG: as rtu_ac_init checks it; normalize_obs, scale_reward, fed and acted
 * 0 or 1; an odd PRNG increment), that the rest is what a learner can hold (RTU_ERR_PARAM_RANGE):
 * |nu_log|, |theta_log| <= RTU_LOG_PARAM_LIMIT; obs_mean, obs_last and x within RTU_INPUT_LIMIT,
 * z_v and z_pi within RTU_VALUE_LIMIT^2, every other array within RTU_VALUE_LIMIT; each cell's
 * features h what its c, d and activation give; at an episode's start (fed 0) every cell's state
 * and traces and z_v, z_pi zero; obs_count, ret_count and reward_count <= RTU_COUNT_LIMIT,
 * episodes <= steps, ret_count <= steps <= obs_count, reward_count <= steps; the statistics
 * (ret_trace, ret_mean, ret_m2, obs_mean, obs_m2, reward_mean, reward_m2; reward_count too without
 * prev_reward) zero when their flag is off (reward_mean and reward_m2: prev_reward, and with the
 * reward normalised normalize_obs; zero with its plain sign as input, RTU_REWARD_SIGN) or before
 * the samples that make them, every m2 >= 0, and none beyond what their
 * count of samples within RTU_INPUT_LIMIT gives; and acted 0 (RTU_ERR_ORDER). The config,
 * counters, PRNG, flags, parameters, cell states, every trace, the observation and reward
 * statistics and x are restored; each cell's derived cache is recomputed (rtu_cell_refresh) and,
 * when fed, the forward activations (above). */
rtu_status rtu_ac_load(rtu_ac *ac, const void *in, size_t in_bytes);

/* Check in_bytes bytes at in exactly as rtu_td_load / rtu_ac_load would, without changing the
 * learner, and return the status the load would. On an error, *what (what may be NULL) receives a
 * static string naming the first faulty field ("gamma", "has_prev (0 or 1)", "NaN or Inf in z",
 * "NaN or Inf in actor.traces_weight", "an even PRNG increment (PCG32 needs it odd)",
 * "critic.head beyond +-RTU_VALUE_LIMIT (1e15)", "obs_m2 below 0 (a sum of squares)", ...), or ""
 * for a fault of the framing (the status says which), so that a caller can name it to a user. */
rtu_status rtu_td_check_checkpoint(const rtu_td *td, const void *in, size_t in_bytes,
                                   const char **what);
rtu_status rtu_ac_check_checkpoint(const rtu_ac *ac, const void *in, size_t in_bytes,
                                   const char **what);

/* PPO's Adam state (learner type 3, above). Exact bytes of ppo's (RTU_PPO_ADAM_CHECKPOINT_BYTES
 * of its network's shape). */
rtu_status rtu_ppo_adam_checkpoint_size(const rtu_ppo *ppo, size_t *bytes);
/* Write ppo's Adam state into out, as rtu_ac_save writes a learner: *written (may be NULL) its
 * byte count, 0 on error; RTU_ERR_BUFFER_SMALL; the bytes are checked as rtu_ppo_load_adam checks
 * them (a diverged state is refused with that status and out holds no valid checkpoint). */
rtu_status rtu_ppo_save_adam(const rtu_ppo *ppo, void *out, size_t out_bytes, size_t *written);
/* Restore ppo's Adam state (its network of the checkpoint's precision and shape, else
 * RTU_ERR_CKPT_MISMATCH) from in_bytes bytes at in; everything is checked before ppo changes, and
 * on any error ppo is untouched: framing (rtu_ckpt_inspect), learner type 3, shape and payload
 * length, and a step counter equal to the network's ppo->ac.steps (the state goes with the
 * parameters it was saved with; RTU_ERR_CKPT_MISMATCH), every real finite
 * (RTU_ERR_NONFINITE_PARAM), adam_m and adam_v within RTU_VALUE_LIMIT^2, adam_v >= 0 and both zero
 * when adam_steps is 0 (RTU_ERR_PARAM_RANGE). adam_steps, adam_m and adam_v are restored. */
rtu_status rtu_ppo_load_adam(rtu_ppo *ppo, const void *in, size_t in_bytes);
/* Check as rtu_ppo_load_adam would, changing nothing; *what as rtu_ac_check_checkpoint's. */
rtu_status rtu_ppo_check_adam_checkpoint(const rtu_ppo *ppo, const void *in, size_t in_bytes,
                                         const char **what);

#ifdef __cplusplus
}
#endif

#endif /* RTU_CKPT_H */
