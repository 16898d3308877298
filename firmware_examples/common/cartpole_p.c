/* CartPole with hidden velocities: see cartpole_p.h. */
#include "cartpole_p.h"

#include <math.h>

#define CP_GRAVITY 9.8
#define CP_MASS_CART 1.0
#define CP_MASS_POLE 0.1
#define CP_TOTAL_MASS (CP_MASS_CART + CP_MASS_POLE)
#define CP_HALF_LENGTH 0.5
#define CP_POLE_MOMENT (CP_MASS_POLE * CP_HALF_LENGTH) /* pole mass times half-length */
#define CP_FORCE 10.0
#define CP_TAU 0.02
#define CP_X_LIMIT 2.4
#define CP_PI 3.14159265358979323846
#define CP_THETA_LIMIT (12.0 * 2.0 * CP_PI / 360.0)
#define CP_RESET_BOUND 0.05

void cartpole_p_observe(const cartpole_p *env, rtu_real *obs)
{
    if (env == NULL || obs == NULL) {
        return;
    }
    obs[0] = (rtu_real)env->state[0];
    obs[1] = (rtu_real)env->state[2];
}

void cartpole_p_set_state(cartpole_p *env, const double state[4], rtu_real *obs)
{
    int i;
    if (env == NULL || state == NULL) {
        return;
    }
    for (i = 0; i < 4; i++) {
        env->state[i] = state[i];
    }
    env->steps = 0u;
    env->over = 0;
    cartpole_p_observe(env, obs);
}

void cartpole_p_reset(cartpole_p *env, rtu_prng *rng, rtu_real *obs)
{
    double s[4];
    int i;
    if (env == NULL || rng == NULL) {
        return;
    }
    for (i = 0; i < 4; i++) {
        s[i] = -CP_RESET_BOUND + 2.0 * CP_RESET_BOUND * rtu_prng_uniform(rng);
    }
    cartpole_p_set_state(env, s, obs);
}

rtu_status cartpole_p_step(cartpole_p *env, int action, rtu_real *obs, rtu_real *reward,
                           int *terminated, int *truncated)
{
    double x, x_dot, theta, theta_dot, force, c, s, a, theta_acc, x_acc;
    int term, trunc;
    if (env == NULL) {
        return RTU_ERR_NULL;
    }
    if (action != 0 && action != 1) {
        return RTU_ERR_ACTION;
    }
    if (env->over) {
        return RTU_ERR_ORDER;
    }
    x = env->state[0];
    x_dot = env->state[1];
    theta = env->state[2];
    theta_dot = env->state[3];
    force = action == 1 ? CP_FORCE : -CP_FORCE;
    c = cos(theta);
    s = sin(theta);

    /* Equations of motion of the cart-pole without friction (Barto, Sutton and Anderson 1983, as
     * gymnasium states them): a = common acceleration term, then the angular and linear ones. */
    a = (force + CP_POLE_MOMENT * (theta_dot * theta_dot) * s) / CP_TOTAL_MASS;
    theta_acc = (CP_GRAVITY * s - c * a) /
                (CP_HALF_LENGTH * (4.0 / 3.0 - CP_MASS_POLE * (c * c) / CP_TOTAL_MASS));
    x_acc = a - CP_POLE_MOMENT * theta_acc * c / CP_TOTAL_MASS;

    /* Explicit Euler: positions advance with the old velocities. */
    env->state[0] = x + CP_TAU * x_dot;
    env->state[1] = x_dot + CP_TAU * x_acc;
    env->state[2] = theta + CP_TAU * theta_dot;
    env->state[3] = theta_dot + CP_TAU * theta_acc;
    env->steps++;

    term = env->state[0] < -CP_X_LIMIT || env->state[0] > CP_X_LIMIT ||
           env->state[2] < -CP_THETA_LIMIT || env->state[2] > CP_THETA_LIMIT;
    trunc = env->steps >= CARTPOLE_P_MAX_STEPS;
    env->over = term || trunc;

    cartpole_p_observe(env, obs);
    if (reward != NULL) {
        *reward = (rtu_real)1;
    }
    if (terminated != NULL) {
        *terminated = term;
    }
    if (truncated != NULL) {
        *truncated = trunc;
    }
    return RTU_OK;
}
