/*
 * The synthetic input sequences of make_golden.py, line for line, and the learners of the golden
 * cases, set up and run as make_golden.py runs the reference's.
 */
#ifndef RTU_TEST_FIXTURES_H
#define RTU_TEST_FIXTURES_H

#include "golden.h"
#include "rtu_ckpt.h"

/* Static buffers large enough for every golden learner, and for every actor-critic of the tests
 * (GOLDEN_AC_N_IN observations, GOLDEN_N_HIDDEN units, at most FIX_AC_MAX_EMBED input units,
 * FIX_AC_MAX_HEAD head units and FIX_AC_MAX_ACTIONS actions: the largest such buffer is that of
 * an LRU (the largest kind at these sizes: its readout has 4n^2 + 2nd parameters, against the
 * nonlinear kind's 2nd more traces) in separate trunks with both extras, continuous actions and
 * the largest layers). FIX_TD_MAX_PARAMS: a TD learner's parameters, of the LRU. */
#define FIX_TD_REALS RTU_TD_REALS(RTU_KIND_LRU, GOLDEN_N_IN, GOLDEN_N_HIDDEN)
#define FIX_TD_MAX_PARAMS RTU_TD_PARAMS(RTU_KIND_LRU, GOLDEN_N_IN, GOLDEN_N_HIDDEN)
#define FIX_AC_MAX_ACTIONS 3
#define FIX_AC_MAX_EMBED 8
#define FIX_AC_MAX_HEAD 8
#define FIX_AC_REALS                                                                                \
    RTU_AC_REALS(RTU_KIND_LRU, GOLDEN_AC_N_IN, GOLDEN_N_HIDDEN, FIX_AC_MAX_EMBED,                   \
                 FIX_AC_MAX_HEAD, 0, 1, 1, RTU_ACTIONS_CONTINUOUS, FIX_AC_MAX_ACTIONS)

/* cell: x[j] = 2u - 1 (n_in draws), then dh[j] = 2u - 1 (n2 draws) */
void fix_cell_draw(rtu_prng *rng, rtu_real *x, size_t n_in, rtu_real *dh, size_t n2);

/* TD: x = [t % 10 == 0, u < 0.2, 1], cumulant [t % 10 == 6] */
void fix_td_input(rtu_prng *rng, unsigned t, rtu_real *x, rtu_real *cumulant);

/* Lay out and initialise the TD learner of golden case c in buffer (FIX_TD_REALS reals), its
 * cell drawn from seed. */
rtu_status fix_td_make(int c, uint64_t seed, rtu_td *td, rtu_real *buffer);

/* Run steps [t0, t1) of golden case c's input sequence on td; rng is the input generator, at
 * step t0; predictions[t - t0] (may be NULL); params_at (may be NULL) receives cell params and
 * head after every GOLDEN_TD_MARK_EVERY-th step, at ((t + 1) / MARK_EVERY - 1) * n_learner. */
rtu_status fix_td_steps(rtu_td *td, rtu_prng *rng, unsigned t0, unsigned t1, rtu_real *predictions,
                        rtu_real *params_at);

/* The actor-critic's synthetic environment. */
typedef struct {
    rtu_prng rng;
    double obs[GOLDEN_AC_N_IN]; /* the current observation, obs_t */
} fix_env;

/* Seed the environment and draw obs_0. */
void fix_env_start(fix_env *env, uint64_t seed);

/* Draw the next steps observations (obs_t becomes obs_{t + steps}), as steps of fix_ac_steps do. */
void fix_env_advance(fix_env *env, unsigned steps);

/* An actor-critic's shape from its golden description. */
rtu_ac_shape fix_shape(const golden_ac_shape *g);

/* The shape and the config of golden AC case c (rtu_real fields from the golden doubles). */
rtu_ac_shape fix_ac_shape(int c);
rtu_ac_config fix_ac_config(int c);

/* Lay out and initialise the actor-critic of golden case c in buffer (FIX_AC_REALS), seed. */
rtu_status fix_ac_make(int c, uint64_t seed, rtu_ac *ac, rtu_real *buffer);

/* Steps [t0, t1) of the synthetic environment: act on obs_t, reward (of ac's action space), draw
 * obs_{t+1}, learn with the episode end of step t. actions receives every step's action (1 or A
 * reals per step), values v(s_t) after each act (each may be NULL). Stops at the first non-OK
 * status. */
rtu_status fix_ac_steps(rtu_ac *ac, fix_env *env, unsigned t0, unsigned t1, rtu_real *actions,
                        rtu_real *values);

/* Reals per action of ac: 1 (discrete) or A. */
size_t fix_ac_action_reals(const rtu_ac *ac);

/* Every parameter of ac into out (returns the count): each trunk's (input layer, cell), then the
 * critic's and the actor's head, as make_golden.py's ac_params. */
size_t fix_ac_params(const rtu_ac *ac, rtu_real *out);

/* Whether two learners' structs hold the same fields (configs, sizes, pointers into their
 * buffers, scalars, counters, PRNG, flags): every field compared by value, never the bytes of
 * the struct, whose padding is uninitialised. */
int fix_td_same(const rtu_td *a, const rtu_td *b);
int fix_ac_same(const rtu_ac *a, const rtu_ac *b);

#endif /* RTU_TEST_FIXTURES_H */
