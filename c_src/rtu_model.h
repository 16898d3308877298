/*
 * Inference only: a trained RTU and a linear head, run forward from constant weights, with no
 * learning, no traces and no loading code. `rtu-edge export --c-header` writes a header that
 * defines the weights as const arrays (they stay in flash) and an rtu_model that points at them:
 *
 *   #include "model.h"                    (the exported header; it includes rtu_model.h)
 *   static rtu_real state[RTU_MODEL_STATE_REALS(MODEL_N_HIDDEN)];
 *   static rtu_real work[RTU_MODEL_WORK_REALS(MODEL_N_IN, MODEL_N_HIDDEN)];
 *   rtu_real out[MODEL_N_OUT];
 *   rtu_model_check(&model);  rtu_model_reset(&model, state);
 *   each step: rtu_model_step(&model, state, obs, work, out);
 *
 * One step, the forward pass of rtu_cell_step (rtu.h) with frozen observation normalisation:
 *   x   = (obs - obs_mean) * obs_inv_std       (x = obs when obs_mean is NULL)
 *   a_k = g_k c_k - phi_k d_k + eta_k (W_c x)_k;   b_k = g_k d_k + phi_k c_k + eta_k (W_d x)_k
 *   linear:    (c, d) = (a, b),       h = [f(a); f(b)]
 *   nonlinear: (c, d) = (f(a), f(b)), h = [c; d]
 *   out = head_w h + head_b                     (n_out rows)
 * The state is [c; d] (2n reals), zero at the start of an episode. g, phi and eta are the cell's
 * derived values (r cos theta, r sin theta, max(sqrt(1 - r^2), RTU_ETA_MIN)), computed once by
 * the exporter exactly as rtu_cell_refresh computes them.
 * Outputs of an exported learner: TD(lambda): [prediction]; actor-critic: [logits (A); value]
 * (discrete) or [mean (A); value] (continuous, with log_std beside the model in the header).
 * Same rules as rtu.h: no heap, no globals, no stdio.
 */
#ifndef RTU_MODEL_H
#define RTU_MODEL_H
#include "rtu.h"
#ifdef __cplusplus
extern "C" {
#endif

/* Reals of the recurrent state and of the scratch a step needs. */
#define RTU_MODEL_STATE_REALS(n_hidden) (2u * (size_t)(n_hidden))
#define RTU_MODEL_WORK_REALS(n_in, n_hidden) ((size_t)(n_in) + 2u * (size_t)(n_hidden))

typedef struct {
    rtu_kind kind;
    rtu_activation activation;
    size_t n_in;
    size_t n_hidden;
    size_t n_out;
    const rtu_real *w_c, *w_d;              /* n_hidden x n_in each, row-major */
    const rtu_real *g, *phi, *eta;          /* n_hidden each */
    const rtu_real *head_w;                 /* n_out x 2 n_hidden, row-major */
    const rtu_real *head_b;                 /* n_out */
    const rtu_real *obs_mean, *obs_inv_std; /* n_in each, or both NULL: no normalisation */
} rtu_model;

/* Check a model once before use: kinds, sizes (n_out in [1, RTU_MAX_DIM]), pointers, every
 * weight finite, |g|, |phi| < 1 and 0 < eta <= 1. */
rtu_status rtu_model_check(const rtu_model *model);

/* state = 0 (2 n_hidden reals): the start of an episode. */
void rtu_model_reset(const rtu_model *model, rtu_real *state);

/* One step on obs (n_in reals): advances state, writes n_out reals to out. work holds
 * RTU_MODEL_WORK_REALS reals of scratch. A non-finite obs, or one beyond RTU_INPUT_LIMIT, is
 * refused with state untouched. RTU_ERR_OVERFLOW: the state became non-finite. */
rtu_status rtu_model_step(const rtu_model *model, rtu_real *state, const rtu_real *obs,
                          rtu_real *work, rtu_real *out);

/* rtu_model_step over a (T, n_in) sequence, out receiving (T, n_out); the whole sequence is
 * checked before the first step. */
rtu_status rtu_model_run(const rtu_model *model, rtu_real *state, const rtu_real *obs,
                         size_t steps, rtu_real *work, rtu_real *out);

#ifdef __cplusplus
}
#endif
#endif /* RTU_MODEL_H */
