/*
 * CartPole with hidden velocities ("cartpole-p") as a C99 plant for the firmware examples.
 * Same rules as the core (c_src/rtu.h): no heap, no globals, no stdio; the caller owns the struct.
 *
 * Dynamics: those of gymnasium's CartPole-v1 (classic_control/cartpole.py), in double:
 *   gravity 9.8, cart mass 1.0, pole mass 0.1, pole half-length 0.5, force +-10 (action 1: +10,
 *   action 0: -10), time step tau 0.02 s, explicit Euler integration;
 *   terminated when |x| > 2.4 or |theta| > 12 degrees (12 * 2 pi / 360 rad);
 *   truncated at CARTPOLE_P_MAX_STEPS = 500 steps (a step can be both);
 *   reward 1 for every step, the terminating one included;
 *   reset: each of x, x_dot, theta, theta_dot ~ U(-0.05, 0.05), drawn in that order from the
 *   caller's rtu_prng (-0.05 + 0.1 u with u = rtu_prng_uniform).
 * Observation: [x, theta] (cart position in m, pole angle in rad) as rtu_real; the velocities
 * x_dot and theta_dot are hidden, so an agent has to remember to estimate them.
 *
 *   cartpole_p env; rtu_prng rng; rtu_real obs[CARTPOLE_P_OBS], reward; int term, trunc;
 *   rtu_prng_seed(&rng, seed);
 *   cartpole_p_reset(&env, &rng, obs);
 *   while (...) {
 *       cartpole_p_step(&env, action, obs, &reward, &term, &trunc);
 *       if (term || trunc) cartpole_p_reset(&env, &rng, obs);
 *   }
 */
#ifndef CARTPOLE_P_H
#define CARTPOLE_P_H

#include "rtu.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CARTPOLE_P_OBS 2          /* observation entries: x, theta */
#define CARTPOLE_P_ACTIONS 2      /* 0: push left (-10 N), 1: push right (+10 N) */
#define CARTPOLE_P_MAX_STEPS 500u /* truncation (CartPole-v1's TimeLimit) */

typedef struct {
    double state[4]; /* x, x_dot, theta, theta_dot */
    uint32_t steps;  /* steps since the latest reset */
    int over;        /* the latest step terminated or truncated: reset before stepping again */
} cartpole_p;

/* Draw a new start state from rng and write its observation into obs (may be NULL). */
void cartpole_p_reset(cartpole_p *env, rtu_prng *rng, rtu_real *obs);

/* Start from a given state (x, x_dot, theta, theta_dot) with the step counter at 0; obs (may be
 * NULL) receives its observation. For tests and for replaying a recorded start. */
void cartpole_p_set_state(cartpole_p *env, const double state[4], rtu_real *obs);

/* The observation [x, theta] of the current state. */
void cartpole_p_observe(const cartpole_p *env, rtu_real *obs);

/* One step of 0.02 s under action 0 or 1. obs receives the next observation, *reward 1,
 * *terminated and *truncated 0 or 1 (obs, reward, terminated and truncated may be NULL).
 * RTU_ERR_NULL for a NULL env, RTU_ERR_ACTION for an action other than 0 or 1, RTU_ERR_ORDER after
 * an episode ended and before cartpole_p_reset; on error nothing changes. */
rtu_status cartpole_p_step(cartpole_p *env, int action, rtu_real *obs, rtu_real *reward,
                           int *terminated, int *truncated);

#ifdef __cplusplus
}
#endif

#endif /* CARTPOLE_P_H */
