/*
 * rtu_edge C core: Recurrent Trace Units with exact real-time recurrent learning.
 *
 * C99, libm only, no heap, no globals, no stdio. The caller owns every byte:
 *   size_t bytes;
 *   rtu_cell_buffer_size(RTU_KIND_LINEAR, n_in, n_hidden, &bytes);
 *   (or, for a static array: RTU_CELL_BUFFER_BYTES(RTU_KIND_LINEAR, n_in, n_hidden))
 *   rtu_cell_init(&cell, RTU_KIND_LINEAR, RTU_ACT_RELU, n_in, n_hidden, buf, bytes);
 *   rtu_cell_init_params(&cell, &rng, 0.0, 1.0, 6.28);
 *   rtu_cell_step(&cell, x, h);  rtu_cell_gradient(&cell, dh, grad);
 *
 * The mathematics is ../shared/rtu-spec.md (sections 1, 2 and 5; the LRU kind, section 7). Other
 * modules have headers of their own: rtu_td.h (TD(lambda) prediction), rtu_ac.h (streaming
 * actor-critic), rtu_ckpt.h (checkpoints) and rtu_model.h (inference only, from the const weights
 * of an exported header).
 * rtu_edge/reference/ holds the numpy reference; its classes and fields carry the
 * same names as the structs and functions here.
 *
 * rtu_real is float; compile with -DRTU_DOUBLE for double (the build that validates against the
 * reference).
 *
 * The cell's derived cache (g, phi, eta... of rtu_cell_refresh, recomputed after every learner
 * update) is computed in double in both builds, so that a float build's phases drift from the
 * reference's by no more than rounding. On an FPU without double (Cortex-M4F) that costs about 90%
 * of a learner step in software double; -DRTU_DERIVED_FLOAT (float build only) computes it in float
 * instead, with the core's own exp, expm1, sin and cos. The learner's gradients stay exact for the
 * cell it runs; only its agreement with the reference loosens (firmware_examples/cortex_m/README.md
 * has the figures). -DRTU_FAST_DERIVED (float build only; the native build) keeps it in double but
 * without libm's calls, so that its loop vectorises.
 */
#ifndef RTU_H
#define RTU_H

#ifndef RTU_CFFI_CDEF /* rtu_edge/_build.py preprocesses this header for cffi, which knows these */
#include <stddef.h>
#include <stdint.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

#ifdef RTU_DOUBLE
typedef double rtu_real;
#define RTU_ETA_MIN 1e-8 /* floor of eta = sqrt(1 - r^2) in the double build */
#else
typedef float rtu_real;
#define RTU_ETA_MIN 1e-6f /* floor of eta = sqrt(1 - r^2) in the float build */
#endif

/* |nu_log| and |theta_log| must not exceed this (exp(20) ~ 4.9e8 already makes r = 0). */
#define RTU_LOG_PARAM_LIMIT 20.0

/* Largest |x| and |dh| accepted: within it the state and traces stay finite in float for any
 * cell whose weights are of a sane size. Normalise sensor readings to about unit scale. */
#define RTU_INPUT_LIMIT 1e6

/* Largest |value| of any parameter, state or RTRL trace of a learner (rtu_td.h, rtu_ac.h) that has
 * not diverged, and its square that of an eligibility trace (a sum of products of the two): a
 * learning step that takes a parameter beyond it reports RTU_ERR_DIVERGED, a cell step that takes
 * its state or a unit trace beyond it RTU_ERR_OVERFLOW (so a learner never holds what its
 * checkpoint could not), and a checkpoint holding a real beyond its bound is refused
 * (RTU_ERR_PARAM_RANGE). The product of two such values summed over RTU_MAX_DIM terms stays
 * finite in float. */
#define RTU_VALUE_LIMIT 1e15

/* Largest count of a learner's running statistics (rtu_ac.h's obs_count, ret_count): 2^53, beyond
 * which a count is not exact in double (centuries of steps away); a count stops there, and a
 * checkpoint holding a larger one is refused. */
#define RTU_COUNT_LIMIT ((uint64_t)1 << 53)

/* Largest n_in and n_hidden accepted: keeps every size computation far from size_t overflow. */
#define RTU_MAX_DIM 65536u
/* The most learners or models one batch call advances (rtu_ac.h, rtu_model.h). */
#define RTU_MAX_BATCH 65536u

/* ------------------------------------------------------------------------------------------ */
/* Status codes: every fallible function returns one; rtu_status_str names it.                 */

/* A function that returns no status (a void one, or one that returns a size or a value) takes
 * valid pointers: a NULL there is the caller's error and is not checked. Every function on a
 * cell or learner takes one that its init function set up (rtu_cell_init, rtu_td_init,
 * rtu_ac_init, rtu_ppo_init, the batch inits) or a checkpoint's load: a struct that was only
 * zeroed or declared is not one, and is not detected. */
typedef enum {
    RTU_OK = 0,
    RTU_ERR_NULL,            /* a required pointer argument is NULL */
    RTU_ERR_SIZE,            /* a size is 0 or too large (RTU_MAX_DIM, RTU_MAX_BATCH, size_t) */
    RTU_ERR_KIND,            /* unknown cell kind */
    RTU_ERR_ACTIVATION,      /* unknown activation */
    RTU_ERR_BUFFER_SMALL,    /* the buffer has fewer bytes than the size query asks for */
    RTU_ERR_BUFFER_ALIGN,    /* the buffer is not aligned to rtu_real */
    RTU_ERR_NONFINITE_INPUT, /* NaN or Inf in an input (x, dh or a sequence) */
    RTU_ERR_INPUT_RANGE,     /* an input (x, dh or a sequence) beyond +-RTU_INPUT_LIMIT */
    RTU_ERR_NONFINITE_PARAM, /* NaN or Inf in a parameter */
    RTU_ERR_PARAM_RANGE,     /* |nu_log| or |theta_log| above RTU_LOG_PARAM_LIMIT; in a learner's
                              * checkpoint, a value beyond RTU_VALUE_LIMIT or one the learner cannot
                              * reach (rtu_ckpt.h); in an rtu_model, |lambda| >= 1 or eta outside
                              * (0, 1] */
    RTU_ERR_INIT_RANGE,      /* bad r_min, r_max or max_phase for initialisation */
    RTU_ERR_OVERFLOW,        /* the state or a unit trace left RTU_VALUE_LIMIT (weights too large);
                              * reset the cell */
    RTU_ERR_CONFIG,          /* a learner hyperparameter is out of range */
    RTU_ERR_DIVERGED,        /* a learner's parameters became non-finite or out of range */
    RTU_ERR_ACTION,          /* an action outside the action space */
    RTU_ERR_ORDER,           /* act and learn out of turn, or act on another observation */
    RTU_ERR_CKPT_TRUNCATED,  /* a checkpoint is shorter than its header says */
    RTU_ERR_CKPT_MAGIC,      /* not an rtu_edge checkpoint */
    RTU_ERR_CKPT_VERSION,    /* a checkpoint format version this build does not read */
    RTU_ERR_CKPT_CRC,        /* a checkpoint's CRC32 does not match: corrupted */
    RTU_ERR_CKPT_MISMATCH,   /* a checkpoint of another precision, kind, size or learner */
    RTU_STATUS_COUNT
} rtu_status;

/* A static message for each status; "unknown status" for values outside the enum. */
const char *rtu_status_str(rtu_status status);

/* ------------------------------------------------------------------------------------------ */
/* The project's PRNG: PCG32 (XSH-RR, 64-bit state). Bit-identical to rtu_edge/reference/prng.py */

typedef struct {
    uint64_t state;
    uint64_t inc;
} rtu_prng;

void rtu_prng_seed(rtu_prng *rng, uint64_t seed);
uint32_t rtu_prng_next_u32(rtu_prng *rng);
/* Uniform double in the open interval (0, 1), from 52 random bits. */
double rtu_prng_uniform(rtu_prng *rng);
/* Standard normal double (Box-Muller, cosine branch; consumes two uniforms). */
double rtu_prng_normal(rtu_prng *rng);

/* ------------------------------------------------------------------------------------------ */
/* The cell                                                                                    */

typedef enum {
    RTU_KIND_LINEAR = 0,    /* linear recurrence, activation on the output */
    RTU_KIND_NONLINEAR = 1, /* activation inside the recurrence */
    RTU_KIND_LRU = 2        /* online LRU: the linear recurrence, a dense complex readout */
} rtu_kind;

typedef enum {
    RTU_ACT_RELU = 0, /* relu'(0) = 0 */
    RTU_ACT_TANH = 1,
    RTU_ACT_IDENTITY = 2
} rtu_activation;

/* Parameters of a cell: nu_log, theta_log (n each), w_c, w_d (n x n_in each, stored input-major);
 * for the LRU then its readout c_re, c_im (2n x n each) and d_skip (2n x n_in). */
#define RTU_CELL_PARAMS(kind, n_in, n_hidden)                                                       \
    (2u * (size_t)(n_hidden) + 2u * (size_t)(n_hidden) * (size_t)(n_in) +                           \
     ((kind) == RTU_KIND_LRU                                                                        \
          ? 4u * (size_t)(n_hidden) * (size_t)(n_hidden) + 2u * (size_t)(n_hidden) * (size_t)(n_in) \
          : 0u))
/* Reals of a cell's state: c, d, h (4n), and for the LRU the latest input x (n_in). */
#define RTU_CELL_STATE(kind, n_in, n_hidden)                                                        \
    (4u * (size_t)(n_hidden) + ((kind) == RTU_KIND_LRU ? (size_t)(n_in) : 0u))
/* Reals of a cell's RTRL traces: 4n, and 2 n*n_in (linear, LRU) or 4 n*n_in (nonlinear). */
#define RTU_CELL_TRACES(kind, n_in, n_hidden)                                                       \
    (4u * (size_t)(n_hidden) +                                                                      \
     ((kind) == RTU_KIND_NONLINEAR ? 4u : 2u) * (size_t)(n_hidden) * (size_t)(n_in))
/* Reals in a cell's buffer (see rtu_cell for the layout): params, the derived cache (6n), state,
 * traces and a scratch (2n). */
#define RTU_CELL_REALS(kind, n_in, n_hidden)                                                        \
    (RTU_CELL_PARAMS(kind, n_in, n_hidden) + 6u * (size_t)(n_hidden) +                              \
     RTU_CELL_STATE(kind, n_in, n_hidden) + RTU_CELL_TRACES(kind, n_in, n_hidden) +                 \
     2u * (size_t)(n_hidden))
/* Exact bytes of a cell's buffer, for static arrays (declare them as rtu_real for alignment). */
#define RTU_CELL_BUFFER_BYTES(kind, n_in, n_hidden)                                                 \
    (sizeof(rtu_real) * RTU_CELL_REALS(kind, n_in, n_hidden))

/*
 * A cell. Every pointer points into the caller's buffer, in this order:
 *   params  [RTU_CELL_PARAMS]: nu_log[n], theta_log[n], w_c[n*n_in], w_d[n*n_in], input-major:
 *           w_c[j*n + k] = W_c[k, j] (n_in rows of n, one per input: the inner loops of a step
 *           run over the units with unit stride); the LRU's readout then: c_re[2n*n],
 *           c_im[2n*n], d_skip[2n*n_in] (row-major)
 *   derived [6n]: nu = exp(nu_log), theta = exp(theta_log), g = r cos theta, phi = r sin theta,
 *                 eta = max(sqrt(1 - r^2), RTU_ETA_MIN), deta = d eta / d nu_log (0 when floored)
 *   state   [RTU_CELL_STATE]: c, d, and h = the features of (c, d), kept for the gradient;
 *           the LRU's x[n_in] then (the latest input, for the gradient of d_skip)
 *   traces  [4n]: dc_dnu, dd_dnu, dc_dtheta, dd_dtheta (derivatives w.r.t. nu_log and theta_log)
 *           [2 n*n_in] linear, LRU: dc_dwc = Re E, dd_dwc = Im E  (dc/dW_d = -Im E, dd/dW_d = Re E)
 *           [4 n*n_in] nonlinear:   dc_dwc, dd_dwc, dc_dwd, dd_dwd
 *           (input-major, as w_c)
 *   scratch [2n]: dL/dc, dL/dd of a gradient, the nonlinear kind's f'(a), f'(b) during a step,
 *           or the state the LRU's peek steps to
 * For the linear kind and the LRU c, d are the real and imaginary parts of z; for the nonlinear
 * kind they are the post-activation values. The derived block is a cache of the parameters: call
 * rtu_cell_refresh after writing to params directly (rtu_cell_set_params does it for you).
 *
 * The LRU (../shared/rtu-spec.md section 7; Orvieto et al. 2023, trained online as Zucchet et
 * al. 2023) is the linear RTU's recurrence with B = w_c + i w_d, read out by a dense complex C
 * and a skip D (m = 2n outputs, so its features are as wide as an RTU's):
 *   z_t = lambda z_{t-1} + eta (B x_t)            (lambda, eta as the RTU's; RTRL traces too)
 *   y_t = Re(C z_t) + D x_t = c_re c_t - c_im d_t + d_skip x_t,   h_t = f(y_t)
 * c_re, c_im, d_skip get their gradient by backprop at the current step; dL/dc = c_re^T dy,
 * dL/dd = -c_im^T dy (dy = f'(y) dL/dh) feed the linear RTU's trace contraction.
 */
typedef struct {
    rtu_kind kind;
    rtu_activation activation;
    size_t n_in;
    size_t n_hidden;
    size_t n_params;
    rtu_real *params;
    rtu_real *nu_log, *theta_log, *w_c, *w_d;
    rtu_real *c_re, *c_im, *d_skip; /* the LRU's readout; NULL for the RTU kinds */
    rtu_real *nu, *theta, *g, *phi, *eta, *deta;
    rtu_real *c, *d, *h;
    rtu_real *x;                    /* the LRU's latest input; NULL for the RTU kinds */
    rtu_real *dc_dnu, *dd_dnu, *dc_dtheta, *dd_dtheta;
    rtu_real *dc_dwc, *dd_dwc, *dc_dwd, *dd_dwd; /* dc_dwd, dd_dwd are NULL but for the nonlinear
                                                    kind */
    rtu_real *scratch;              /* 2n reals of scratch */
} rtu_cell;

/* Exact bytes of the buffer for a configuration; fails on a bad kind or size. */
rtu_status rtu_cell_buffer_size(rtu_kind kind, size_t n_in, size_t n_hidden, size_t *bytes);

/* Lay the cell out in buffer and zero it (parameters, state and traces). Call rtu_cell_init_params
 * or rtu_cell_set_params before stepping. The buffer must outlive the cell. */
rtu_status rtu_cell_init(rtu_cell *cell, rtu_kind kind, rtu_activation activation, size_t n_in,
                         size_t n_hidden, void *buffer, size_t buffer_bytes);

/* The paper's initialisation from rng: r^2 ~ U(r_min^2, r_max^2) (the ring init of |lambda|: r
 * uniform over the area of the ring r_min < r < r_max), theta ~ U(0, max_phase), w_c then w_d ~
 * N(0, 1/n_in), drawn in that order in double precision. The LRU's, as the LRU paper's: the same
 * nu_log and theta_log; B = w_c + i w_d complex normal by fan-in (w_c then w_d ~ N(0, 1/(2 n_in)));
 * then c_re, c_im ~ N(0, 1/(2n)) (the readout sums 2n real terms: y has the variance of the
 * state's parts) and d_skip ~ N(0, 1/n_in). Resets state and traces. Requires
 * 0 <= r_min < r_max <= 1 and exp(-RTU_LOG_PARAM_LIMIT) <= max_phase <=
 * exp(RTU_LOG_PARAM_LIMIT) (else RTU_ERR_INIT_RANGE, nothing changed); a log drawn below
 * -RTU_LOG_PARAM_LIMIT (r^2 or a phase within about 1e-9 of the ring's edge or of 0) is held
 * at it. */
rtu_status rtu_cell_init_params(rtu_cell *cell, rtu_prng *rng, double r_min, double r_max,
                                double max_phase);

/* Copy n_params reals (layout above) into the cell and refresh the derived block. Checks that every
 * value is finite and in range first; on error the cell is untouched. */
rtu_status rtu_cell_set_params(rtu_cell *cell, const rtu_real *params);

/* Recompute the derived block from params (after the caller changed params in place). */
rtu_status rtu_cell_refresh(rtu_cell *cell);

/* Zero the state and every trace (an episode boundary). */
void rtu_cell_reset(rtu_cell *cell);

/* Features of the current state: h = [f(c); f(d)] (linear), [c; d] (nonlinear) or
 * f(c_re c - c_im d + d_skip x) (LRU); h has 2n reals. */
void rtu_cell_features(const rtu_cell *cell, rtu_real *h);

/* One step: the state and the RTRL traces advance together in one pass over each trace.
 * x has n_in reals; h (2n reals) receives the features, or may be NULL.
 * A non-finite x, or one beyond RTU_INPUT_LIMIT, is refused and leaves the cell untouched.
 * RTU_ERR_OVERFLOW: the state, a unit trace or (the LRU) a feature left RTU_VALUE_LIMIT (only
 * with huge weights); reset the cell. */
rtu_status rtu_cell_step(rtu_cell *cell, const rtu_real *x, rtu_real *h);

/* Gradient of a loss at the current step from dh = dL/dh (2n reals), into grad (n_params reals,
 * the params layout). A non-finite dh, or one beyond RTU_INPUT_LIMIT, is refused and grad is
 * untouched. It uses the cell's scratch: one cell's gradients are not taken concurrently. */
rtu_status rtu_cell_gradient(const rtu_cell *cell, const rtu_real *dh, rtu_real *grad);

/* Steps over a (T, n_in) row-major sequence; h receives (T, 2n) features, or may be NULL. The whole
 * sequence is checked before the first step, so a bad value leaves the cell untouched;
 * RTU_ERR_SIZE for a T whose sequence could not be in memory (its size beyond size_t). */
rtu_status rtu_cell_run(rtu_cell *cell, const rtu_real *x, size_t steps, rtu_real *h);

/* As rtu_cell_run, and grad_sum (n_params reals) receives the sum over the steps of the gradient
 * from dh (T, 2n): the online RTRL gradient of sum_t L_t for fixed parameters. */
rtu_status rtu_cell_run_gradient(rtu_cell *cell, const rtu_real *x, const rtu_real *dh,
                                 size_t steps, rtu_real *h, rtu_real *grad_sum);

#ifdef __cplusplus
}
#endif

#endif /* RTU_H */
