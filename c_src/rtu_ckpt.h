/*
 * Checkpoints: one versioned binary format for every rtu_edge learner, written and read without
 * heap, globals or stdio (the caller owns the bytes and does the I/O). This is the one codec:
 * Python reads and writes checkpoints through it (rtu_edge/checkpoint.py); tests/ckpt_codec.py is
 * an independent decoder that cross-checks its bytes.
 *
 * Format version 1. Every integer is unsigned little-endian; every real is IEEE-754 little-endian
 * of the writer's precision (4 bytes: binary32, 8 bytes: binary64). No padding anywhere.
 *
 *   offset  size  field
 *   ------  ----  -----------------------------------------------------------------------------
 *        0     8  magic "RTUEDGE\0" (52 54 55 45 44 47 45 00)
 *        8     4  u32 format version = 1 (RTU_CKPT_VERSION)
 *       12     4  u32 learner type: 1 = TD(lambda) (rtu_td); 2 = actor-critic (rtu_ac)
 *       16     4  u32 precision: bytes per real, 4 (float build) or 8 (double build)
 *       20     4  u32 cell kind (rtu_kind: 0 linear, 1 nonlinear)
 *       24     4  u32 activation (rtu_activation: 0 relu, 1 tanh, 2 identity)
 *       28     4  u32 n_in
 *       32     4  u32 n_hidden
 *       36     4  u32 optimizer (rtu_optimizer: 0 sgd, 1 obgd) of the learner's config
 *       40     8  u64 step counter (rtu_td.steps, rtu_ac.steps: learn calls)
 *       48     8  u64 payload length L in bytes
 *       56     L  payload (depends on the learner type, below)
 *   56 + L     4  u32 CRC-32 (zlib's: reflected polynomial 0xEDB88320, init and final xor
 *                 0xFFFFFFFF) of bytes [0, 56 + L)
 *
 * Both learner types share the header, the CRC and the cell's arrays (params, state, RTRL traces,
 * in that order and layout). Below R = precision, n = n_hidden, d = n_in, P = 2n + 2nd the cell's
 * parameters, T = 4n + 2nd (linear) or 4n + 4nd (nonlinear) the RTRL traces:
 *
 *   cell params: nu_log[n], theta_log[n], w_c[n*d], w_d[n*d]                 P R
 *   cell state: c[n], d[n], h[2n] (the features)                             4n R
 *   RTRL traces: dc_dnu[n], dd_dnu[n], dc_dtheta[n], dd_dtheta[n],
 *                dc_dwc[n*d], dd_dwc[n*d], and for the nonlinear kind
 *                dc_dwd[n*d], dd_dwd[n*d]                                    T R
 *
 * Payload of learner type 1, TD(lambda) (Q = P + 2n + 1 the learner's parameters):
 *
 *   reals  gamma, lambda, alpha, kappa (RTU_TD_CONFIG_REALS, rtu_config.h) 4 R
 *   reals  v_prev, z_norm1                                                2 R
 *   u32    has_prev (0 or 1)                                              4
 *   reals  cell params, cell state, RTRL traces (above)                  (P + 4n + T) R
 *   reals  head: w[2n], b                                                (2n + 1) R
 *   reals  eligibility traces z[Q] (learner-parameter layout)            Q R
 *
 * Payload of learner type 2, actor-critic (A = n_actions; V = 2n + 1 the value head; H = A (2n + 1)
 * discrete or A (2n + 2) continuous the policy head). The integers come first, so a reader knows
 * the action space (and so the payload length) from the payload's first 8 bytes; the header's
 * optimizer field is the config's optimizer and its step counter is rtu_ac.steps:
 *
 *   offset  size
 *        0     4  u32 action kind (rtu_action_kind: 0 discrete, 1 continuous)
 *        4     4  u32 n_actions (A: actions, discrete; dimensions, continuous)
 *        8     4  u32 normalize_obs (0 or 1)    (RTU_AC_CONFIG_FLAGS of rtu_config.h, in order;
 *       12     4  u32 scale_reward (0 or 1)      a further flag shifts the offsets below by 4)
 *       16     4  u32 fed (0 or 1: the cell holds obs_last, which the next act must get)
 *       20     4  u32 acted, always 0 (a checkpoint is taken after learn, never between act and
 *                 learn: rtu_ac_save refuses then with RTU_ERR_ORDER, rtu_ac_load refuses acted 1
 *                 with RTU_ERR_ORDER; so the scratch pi and action is never needed)
 *       24     8  u64 episodes
 *       32     8  u64 obs_count (observations in the running statistics)
 *       40     8  u64 ret_count (returns in the reward-scaling statistics)
 *       48     8  u64 PRNG state (rtu_prng.state)
 *       56     8  u64 PRNG increment (rtu_prng.inc, odd)
 *       64        reals gamma, lambda, alpha, kappa_value, kappa_policy, entropy_coef   6 R
 *                       (RTU_AC_CONFIG_REALS of rtu_config.h, in order)
 *                 reals ret_trace, ret_mean, ret_m2                                     3 R
 *                 reals cell params, cell state, RTRL traces (above)          (P + 4n + T) R
 *                 reals value head: w_v[2n], b_v                                        V R
 *                 reals policy head: W[A*2n], b[A], (continuous) log_std[A]             H R
 *                 reals z_v[P + V] (value-parameter layout: cell params, value head)   (P + V) R
 *                 reals z_pi[P + H] (policy-parameter layout: cell params, policy head) (P + H) R
 *                 reals obs_mean[d], obs_m2[d], x[d] (the latest normalised observation),
 *                       obs_last[d] (the latest raw observation)                        4d R
 *
 * The cell's derived cache (nu, theta, g, phi, eta, deta) is not stored: the loaders recompute it
 * with rtu_cell_refresh, so a checkpoint does not depend on the last ulp of a libm. Scratch is not
 * stored either: TD's gradient and the actor-critic's dh are overwritten by every step before they
 * are read, and the actor-critic's pi and action (written by act, read by learn) are only needed
 * between act and learn, when no checkpoint is taken.
 *
 * A later learner type adds its own payload after the same header; a reader refuses a learner type
 * it does not know or that is not the learner's (RTU_ERR_CKPT_MISMATCH) and a format version other
 * than its own (RTU_ERR_CKPT_VERSION).
 */
#ifndef RTU_CKPT_H
#define RTU_CKPT_H

#include "rtu_ac.h"
#include "rtu_td.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RTU_CKPT_VERSION 1u
#define RTU_CKPT_HEADER_BYTES 56u
#define RTU_CKPT_CRC_BYTES 4u

typedef enum {
    RTU_LEARNER_TD = 1,          /* rtu_td: TD(lambda) prediction */
    RTU_LEARNER_ACTOR_CRITIC = 2 /* rtu_ac: streaming actor-critic */
} rtu_learner_type;

/* Exact bytes of a TD(lambda) checkpoint, for static buffers (header, payload, CRC). */
#define RTU_TD_CHECKPOINT_BYTES(kind, n_in, n_hidden)                                               \
    (RTU_CKPT_HEADER_BYTES + 4u + RTU_CKPT_CRC_BYTES +                                              \
     sizeof(rtu_real) * (RTU_TD_CONFIG_REAL_COUNT + 2u + RTU_CELL_PARAMS(n_in, n_hidden) +         \
                         8u * (size_t)(n_hidden) +                                                  \
                         ((kind) == RTU_KIND_NONLINEAR ? 4u : 2u) * (size_t)(n_hidden) *            \
                             (size_t)(n_in) +                                                       \
                         2u * (size_t)(n_hidden) + 1u + RTU_TD_PARAMS(n_in, n_hidden)))

/* Bytes of the integers that open an actor-critic payload (action space, flags, counters, PRNG). */
#define RTU_AC_CKPT_FIXED_BYTES (56u + 4u * RTU_AC_CONFIG_FLAG_COUNT) /* 64 */

/* Exact bytes of an actor-critic checkpoint, for static buffers (header, payload, CRC). */
#define RTU_AC_CHECKPOINT_BYTES(kind, n_in, n_hidden, action_kind, n_actions)                       \
    (RTU_CKPT_HEADER_BYTES + RTU_AC_CKPT_FIXED_BYTES + RTU_CKPT_CRC_BYTES +                         \
     sizeof(rtu_real) *                                                                             \
         (RTU_AC_CONFIG_REAL_COUNT + 3u + 3u * RTU_CELL_PARAMS(n_in, n_hidden) +                     \
          4u * (size_t)(n_hidden) +                                                                 \
          ((kind) == RTU_KIND_NONLINEAR ? 4u : 2u) * (size_t)(n_hidden) * (size_t)(n_in) +          \
          4u * (size_t)(n_hidden) + 2u * RTU_AC_VALUE_HEAD(n_hidden) +                              \
          2u * RTU_AC_POLICY_HEAD(n_hidden, action_kind, n_actions) + 4u * (size_t)(n_in)))

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
} rtu_ckpt_header;

/* What a checkpoint holds, as rtu_ckpt_read_dims reads it: enough to size (rtu_td_buffer_size,
 * rtu_ac_buffer_size) and lay out (rtu_td_init, rtu_ac_init) the learner it goes into, before
 * rtu_td_load or rtu_ac_load restores it and checks everything else. */
typedef struct {
    uint32_t learner_type;       /* rtu_learner_type: RTU_LEARNER_TD or RTU_LEARNER_ACTOR_CRITIC */
    uint32_t precision;          /* bytes per real: 4 or 8 (the build that can load it) */
    rtu_kind kind;
    rtu_activation activation;
    size_t n_in;
    size_t n_hidden;
    rtu_action_kind action_kind; /* actor-critic; RTU_ACTIONS_DISCRETE for TD */
    size_t n_actions;            /* actor-critic; 0 for TD */
    uint64_t steps;              /* the learner's step counter */
    size_t bytes;                /* the checkpoint's length: header, payload and CRC */
} rtu_ckpt_dims;

/* CRC-32 of bytes bytes at data, as zlib.crc32 computes it (0 for no bytes). Bitwise, no table. */
uint32_t rtu_crc32(const void *data, size_t bytes);

/* Check the framing of a checkpoint of any learner type: magic (RTU_ERR_CKPT_MAGIC), version
 * (RTU_ERR_CKPT_VERSION), that the payload length fits in in_bytes (RTU_ERR_CKPT_TRUNCATED), and the
 * CRC (RTU_ERR_CKPT_CRC); then fill *header. Reads nothing beyond in_bytes; bytes after the CRC
 * (in_bytes larger than the checkpoint, e.g. a flash sector) are ignored. */
rtu_status rtu_ckpt_inspect(const void *in, size_t in_bytes, rtu_ckpt_header *header);

/* Read what a checkpoint of any learner type holds into *dims: the framing is checked as
 * rtu_ckpt_inspect checks it, then the learner type, precision (4 or 8), kind, activation, n_in and
 * n_hidden (1 to RTU_MAX_DIM) and, for the actor-critic, the action kind and n_actions (2 to 65536
 * discrete, 1 to 65536 continuous) must be known and in range, and the payload length must be the
 * one these imply (else RTU_ERR_CKPT_MISMATCH). Everything else (config, every real) is checked by
 * the loader. *dims is written only on success. A precision other than this build's is reported,
 * not refused: the caller picks the build. */
rtu_status rtu_ckpt_read_dims(const void *in, size_t in_bytes, rtu_ckpt_dims *dims);

/* Exact bytes of td's checkpoint. */
rtu_status rtu_td_checkpoint_size(const rtu_td *td, size_t *bytes);

/* Write td's checkpoint into out; *written (may be NULL) receives its byte count, 0 on error.
 * RTU_ERR_BUFFER_SMALL if out_bytes is below rtu_td_checkpoint_size. The written bytes are checked
 * as rtu_td_load checks them, so a learner that cannot be restored (diverged: non-finite values,
 * or a config out of range) is refused with that status and out holds no valid checkpoint. */
rtu_status rtu_td_save(const rtu_td *td, void *out, size_t out_bytes, size_t *written);

/* Restore td, which rtu_td_init laid out with the same precision, kind, activation, n_in and
 * n_hidden as the checkpoint (else RTU_ERR_CKPT_MISMATCH), from in_bytes bytes at in. Everything is
 * checked before td changes, and on any error td is untouched: framing (rtu_ckpt_inspect), learner
 * type and sizes and payload length (RTU_ERR_CKPT_MISMATCH), the config (RTU_ERR_CONFIG: gamma and
 * lambda in [0, 1], alpha > 0, kappa > 0 for ObGD, a known optimizer, has_prev 0 or 1), every real
 * finite (RTU_ERR_NONFINITE_PARAM), |nu_log|, |theta_log| <= RTU_LOG_PARAM_LIMIT
 * (RTU_ERR_PARAM_RANGE). The config, step counter, parameters, state and every trace are restored,
 * and the derived cache is recomputed (rtu_cell_refresh). */
rtu_status rtu_td_load(rtu_td *td, const void *in, size_t in_bytes);

/* Exact bytes of ac's checkpoint. */
rtu_status rtu_ac_checkpoint_size(const rtu_ac *ac, size_t *bytes);

/* Write ac's checkpoint into out; *written (may be NULL) receives its byte count, 0 on error.
 * RTU_ERR_BUFFER_SMALL if out_bytes is below rtu_ac_checkpoint_size. Checkpoints are taken after
 * learn (or before the first act), never between act and learn: the written bytes are checked as
 * rtu_ac_load checks them, so a learner that has diverged (non-finite values, |nu_log| or
 * |theta_log| out of range, a config out of range) is refused with that status, and a learner
 * between act and learn with RTU_ERR_ORDER (a diverged learn leaves it there: its divergence is
 * reported first); then out holds no valid checkpoint. */
rtu_status rtu_ac_save(const rtu_ac *ac, void *out, size_t out_bytes, size_t *written);

/* Restore ac, which rtu_ac_init laid out with the same precision, kind, activation, n_in, n_hidden,
 * action kind and n_actions as the checkpoint (else RTU_ERR_CKPT_MISMATCH), from in_bytes bytes at
 * in. Everything is checked before ac changes, and on any error ac is untouched: framing
 * (rtu_ckpt_inspect), learner type, sizes, payload length and action space (RTU_ERR_CKPT_MISMATCH),
 * every real finite (RTU_ERR_NONFINITE_PARAM), the config (RTU_ERR_CONFIG: as rtu_ac_init checks
 * it; normalize_obs, scale_reward, fed and acted 0 or 1; an odd PRNG increment), |nu_log|,
 * |theta_log| <= RTU_LOG_PARAM_LIMIT (RTU_ERR_PARAM_RANGE), and acted 0 (RTU_ERR_ORDER). The
 * config, counters, PRNG, flags, parameters, state, every trace and the observation and reward
 * statistics are restored, and the cell's derived cache is recomputed (rtu_cell_refresh). */
rtu_status rtu_ac_load(rtu_ac *ac, const void *in, size_t in_bytes);

/* Check in_bytes bytes at in exactly as rtu_td_load / rtu_ac_load would, without changing the
 * learner, and return the status the load would. On an error, *what (what may be NULL) receives a
 * static string naming the first faulty field ("gamma", "has_prev (0 or 1)", "NaN or Inf in z",
 * "an even PRNG increment (PCG32 needs it odd)", ...), or "" for a fault of the framing (the status
 * says which), so that a caller can name it to a user. */
rtu_status rtu_td_check_checkpoint(const rtu_td *td, const void *in, size_t in_bytes,
                                   const char **what);
rtu_status rtu_ac_check_checkpoint(const rtu_ac *ac, const void *in, size_t in_bytes,
                                   const char **what);

#ifdef __cplusplus
}
#endif

#endif /* RTU_CKPT_H */
