/*
 * TD(lambda) prediction with an RTU cell and a linear value head (../shared/rtu-spec.md section 3).
 * Same rules as rtu.h: no heap, no globals, no stdio; the caller owns the buffer.
 */
#ifndef RTU_TD_H
#define RTU_TD_H

#include "rtu.h"
#include "rtu_config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* rtu_optimizer (RTU_OPT_SGD, RTU_OPT_OBGD) is declared in rtu_config.h. */

/* A config struct's members from the lists of rtu_config.h (generated from the Python config
 * dataclasses, where each hyperparameter, its default, rule and help are declared once). */
#define RTU_CONFIG_REAL_MEMBER(name, value, rule, obgd_only) rtu_real name;
#define RTU_CONFIG_FLAG_MEMBER(name, value) int name;

/* gamma (discount, [0, 1]), lambda (trace decay, [0, 1]), alpha (step size, > 0), kappa (ObGD
 * bound, > 0; unused by SGD), then the optimizer: rtu_config.h's RTU_TD_CONFIG_REALS. */
typedef struct {
    RTU_TD_CONFIG_REALS(RTU_CONFIG_REAL_MEMBER)
    rtu_optimizer optimizer;
} rtu_td_config;

/* The defaults of rtu_config.h (TDConfig's): gamma 0.9, lambda 0.9, alpha 1, kappa 2, ObGD. */
rtu_td_config rtu_td_default_config(void);

/* Learner parameters: the cell's (RTU_CELL_PARAMS), then the head w (2n) and b (1). */
#define RTU_TD_PARAMS(kind, n_in, n_hidden)                                                         \
    (RTU_CELL_PARAMS(kind, n_in, n_hidden) + 2u * (size_t)(n_hidden) + 1u)
/* Reals in a TD learner's buffer: the cell's, the head, and z and a gradient scratch over all
 * learner parameters. */
#define RTU_TD_REALS(kind, n_in, n_hidden)                                                          \
    (RTU_CELL_REALS(kind, n_in, n_hidden) + 2u * (size_t)(n_hidden) + 1u +                          \
     2u * RTU_TD_PARAMS(kind, n_in, n_hidden))
#define RTU_TD_BUFFER_BYTES(kind, n_in, n_hidden) (sizeof(rtu_real) * RTU_TD_REALS(kind, n_in, n_hidden))

/*
 * One step, rtu_td_step(td, x_{t+1}, C_{t+1}):
 *   h = cell step on x_{t+1} (parameters theta_t);  v_{t+1} = w . h + b
 *   grad = d v_{t+1} / d theta at theta_t (the cell's part by RTRL from dL/dh = w)
 *   delta = C_{t+1} + gamma v_{t+1} - v_t          (v_t from the previous call; none on the first)
 *   theta_{t+1} = theta_t + alpha_eff delta z_t     (z_t holds grad v_t and older gradients)
 *   z_{t+1} = gamma lambda z_t + grad
 * so every gradient is taken at the parameters that produced its prediction. The first call after
 * init or reset makes a prediction and no update.
 */
typedef struct {
    rtu_cell cell;
    rtu_td_config config;
    size_t n_params;  /* RTU_TD_PARAMS */
    rtu_real *head;   /* w[2n], then b */
    rtu_real *z;      /* eligibility traces, learner-parameter layout */
    rtu_real *grad;   /* scratch: grad of the latest prediction */
    rtu_real v_prev;  /* the latest prediction */
    rtu_real z_norm1; /* |z|_1, kept for the ObGD bound */
    int has_prev;     /* v_prev is valid */
    uint64_t steps;   /* calls to rtu_td_step since init */
} rtu_td;

/* RTU_OK if config obeys the rules above (gamma, lambda in [0, 1]; alpha > 0 and finite; a known
 * optimizer; for ObGD kappa > 0 and finite), else RTU_ERR_CONFIG and *what (what may be NULL)
 * receives the C name of the first faulty field; RTU_ERR_NULL for a NULL config. rtu_td_init and
 * rtu_td_load apply it. */
rtu_status rtu_td_check_config(const rtu_td_config *config, const char **what);

rtu_status rtu_td_buffer_size(rtu_kind kind, size_t n_in, size_t n_hidden, size_t *bytes);

/* Lay out the learner in buffer, draw the cell's parameters from rng (rtu_cell_init_params with
 * r in (0, 1), theta in (0, 6.28)) and zero the head, state and traces. */
rtu_status rtu_td_init(rtu_td *td, rtu_kind kind, rtu_activation activation, size_t n_in,
                       size_t n_hidden, const rtu_td_config *config, rtu_prng *rng, void *buffer,
                       size_t buffer_bytes);

/* Zero the cell's state and traces and the eligibility traces; forget the latest prediction. */
void rtu_td_reset(rtu_td *td);

/* One step (see above); *prediction receives v_{t+1}. Bad x or cumulant: refused, nothing
 * changed. RTU_ERR_DIVERGED: the update made a parameter non-finite or out of range; the learner
 * must be re-initialised or restored. */
rtu_status rtu_td_step(rtu_td *td, const rtu_real *x, rtu_real cumulant, rtu_real *prediction);

/* rtu_td_step over a (T, n_in) sequence and its T cumulants, checked before the first step;
 * predictions receives T values (or may be NULL). RTU_ERR_SIZE for a T whose sequence could not
 * be in memory (its size beyond size_t), and so for rtu_td_run_batch. */
rtu_status rtu_td_run(rtu_td *td, const rtu_real *x, const rtu_real *cumulants, size_t steps,
                      rtu_real *predictions);

/* Batches: count learners of one kind, size and config, each with a seed of its own (many seeds,
 * or many streams), in one caller-owned buffer (learner i in the i-th of count equal slices of
 * rtu_td_buffer_size bytes). Learner i takes exactly the trajectory that rtu_td_init with
 * rtu_prng_seed(seeds[i]) and rtu_td_step give it alone. */

/* count * rtu_td_buffer_size: RTU_ERR_SIZE for count 0, above RTU_MAX_BATCH, or beyond size_t. */
rtu_status rtu_td_batch_buffer_size(rtu_kind kind, size_t n_in, size_t n_hidden, size_t count,
                                    size_t *bytes);

/* rtu_td_init of tds[i] on the i-th slice of buffer with a PRNG seeded with seeds[i]. */
rtu_status rtu_td_batch_init(rtu_td *tds, size_t count, rtu_kind kind, rtu_activation activation,
                             size_t n_in, size_t n_hidden, const rtu_td_config *config,
                             const uint64_t *seeds, void *buffer, size_t buffer_bytes);

/* steps time steps of every learner, time-major: at step t learner i steps on x[(t count + i)
 * n_in ...] (steps x count x n_in) and cumulants[t count + i], its prediction into
 * predictions[t count + i] (may be NULL). The whole input is checked first: a refusal changes no
 * learner, and *at receives the index of the first learner refused. RTU_ERR_DIVERGED: learner
 * *at (the first) diverged; the run ends with the time step in which it did (every learner took
 * that step; no later prediction is written). */
rtu_status rtu_td_run_batch(rtu_td *tds, size_t count, const rtu_real *x,
                            const rtu_real *cumulants, size_t steps, rtu_real *predictions,
                            size_t *at);

#ifdef __cplusplus
}
#endif

#endif /* RTU_TD_H */
