/*
 * The C actor-critic's own time per transition on CartPole-P (the plant of
 * firmware_examples/common, in C): rtu_ac_act + rtu_ac_learn timed, the plant not. The network's
 * sizes come from the command line (bench_loop.py passes ActorCritic's defaults, ACNetwork's);
 * separate networks with the previous action and reward as inputs.
 * Usage: bench_loop N_HIDDEN KIND(0 linear, 1 nonlinear) N_EMBED N_HEAD STEPS SEED; prints
 * "us_per_step <value>".
 */
#define _POSIX_C_SOURCE 199309L
#define BENCH_NAME "bench_loop"
#include "bench_common.h"

#include "../firmware_examples/common/cartpole_p.h"
#include "rtu_ac.h"

#define MAX_HIDDEN 256u
#define MAX_LAYER 256u /* largest input layer and head layer */
#define N_IN 2u

static rtu_real buffer[RTU_AC_REALS(RTU_KIND_NONLINEAR, N_IN, MAX_HIDDEN, MAX_LAYER, MAX_LAYER, 0,
                                    1, 1, RTU_ACTIONS_DISCRETE, CARTPOLE_P_ACTIONS)];

int main(int argc, char **argv)
{
    (void)compare_double; /* bench_common.h's, unused here */
    rtu_ac ac;
    rtu_ac_config config = rtu_ac_default_config();
    rtu_ac_shape shape;
    cartpole_p env;
    rtu_prng rng;
    rtu_real obs[N_IN], action[1], reward;
    int terminated, truncated;
    size_t n_hidden, n_embed, n_head;
    unsigned long long steps, t;
    double ns = 0.0;
    rtu_kind kind;
    if (argc != 7) {
        fail("usage", "bench_loop N_HIDDEN KIND N_EMBED N_HEAD STEPS SEED");
    }
    n_hidden = (size_t)parse_count(argv[1], "N_HIDDEN", 1, MAX_HIDDEN);
    kind = parse_count(argv[2], "KIND", 0, 1) ? RTU_KIND_NONLINEAR : RTU_KIND_LINEAR;
    n_embed = (size_t)parse_count(argv[3], "N_EMBED", 0, MAX_LAYER);
    n_head = (size_t)parse_count(argv[4], "N_HEAD", 0, MAX_LAYER);
    steps = parse_count(argv[5], "STEPS", 1, 1000000000ull);
    {
        rtu_ac_shape s = {.kind = kind, .activation = RTU_ACT_TANH, .n_obs = N_IN,
                          .n_hidden = n_hidden, .n_embed = n_embed, .n_head = n_head,
                          .prev_action = 1, .prev_reward = 1,
                          .action_kind = RTU_ACTIONS_DISCRETE, .n_actions = CARTPOLE_P_ACTIONS};
        shape = s; /* shared and memoryless 0 */
    }
    if (rtu_ac_init(&ac, &shape, &config, parse_count(argv[6], "SEED", 0, ~0ull), buffer,
                    sizeof buffer) != RTU_OK) {
        fail("rtu_ac_init", "refused");
    }
    rtu_prng_seed(&rng, 1);
    cartpole_p_reset(&env, &rng, obs);
    for (t = 0; t < steps; ++t) {
        double start = now_ns(), stop;
        rtu_status st = rtu_ac_act(&ac, obs, action);
        stop = now_ns();
        if (st != RTU_OK) {
            fail("rtu_ac_act", rtu_status_str(st));
        }
        ns += stop - start;
        cartpole_p_step(&env, (int)action[0], obs, &reward, &terminated, &truncated);
        start = now_ns();
        st = rtu_ac_learn(&ac, reward, obs, terminated, truncated);
        ns += now_ns() - start;
        if (st != RTU_OK) {
            fail("rtu_ac_learn", rtu_status_str(st));
        }
        if (terminated || truncated) {
            cartpole_p_reset(&env, &rng, obs);
        }
    }
    printf("us_per_step %.4f\n", 1e-3 * ns / (double)steps);
    return 0;
}
