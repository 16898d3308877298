/*
 * rtu_edge on a Cortex-M4F: the streaming actor-critic (c_src/rtu_ac.h) on the streaming network
 * (separate actor and critic, each an input layer, a linear RTU and an MLP head, the previous
 * action and reward among the inputs) learns CartPole with hidden velocities
 * (firmware_examples/common/cartpole_p.h) online, one step at a time, on the microcontroller
 * itself. All memory is static: the learner's buffer is an array sized at compile time by
 * RTU_AC_BUFFER_BYTES; there is no heap.
 *
 * Output goes through semihosting (fw.h): QEMU's -semihosting, or a debugger on a real board.
 * Build-time settings (the Makefile passes them): APP_STEPS (the budget of steps; the run ends at
 * the first episode end at or after it), APP_SEED, APP_HIDDEN (RTU units), APP_EMBED (input
 * layer units), APP_HEAD (head hidden units). With FW_MODEL_HEADER (make MODEL_HEADER=model.h, a
 * header of `rtu-edge export --c-header`), the learner instead goes on from the checkpoint the
 * header embeds in flash, its buffer sized by the header's macros.
 */
#include "cartpole_p.h"
#include "fw.h"
#include "rtu_ac.h"

#ifdef FW_MODEL_HEADER
#include "ac_checkpoint.h"
#include "model_header.h"
#endif

#ifndef APP_STEPS
#define APP_STEPS 200000u
#endif
#ifndef APP_SEED
#define APP_SEED 2u
#endif
#ifdef FW_MODEL_HEADER
#define LEARNER_BYTES FW_MODEL(_LEARNER_BYTES)
#else
#ifndef APP_HIDDEN
#define APP_HIDDEN 16u
#endif
#ifndef APP_EMBED
#define APP_EMBED 16u
#endif
#ifndef APP_HEAD
#define APP_HEAD 16u
#endif
/* the network: separate actor and critic, the previous action and reward as inputs */
#define LEARNER_BYTES                                                                                \
    RTU_AC_BUFFER_BYTES(RTU_KIND_LINEAR, CARTPOLE_P_OBS, APP_HIDDEN, APP_EMBED, APP_HEAD, 0, 1, 1, \
                        RTU_ACTIONS_DISCRETE, CARTPOLE_P_ACTIONS)
#endif

#if APP_STEPS < 1
#error "APP_STEPS must be at least 1"
#endif

#define APP_WINDOW 20u   /* episodes averaged at the start and the end */
#define APP_SECTIONS 10u /* learning-curve sections of the budget */

/* Every byte the learner uses: its buffer (parameters, RTRL and eligibility traces, statistics)
 * and its struct of pointers and counters. */
static rtu_real learner_buffer[LEARNER_BYTES / sizeof(rtu_real)];
static rtu_ac learner;
static cartpole_p plant;

static void fail(const char *what, rtu_status status)
{
    fw_write("error: ");
    fw_write(what);
    fw_write(": ");
    fw_write(rtu_status_str(status));
    fw_write("\n");
    fw_exit(1);
}

/* Mean return of APP_WINDOW episodes of a uniformly random policy, in tenths. */
static uint64_t random_policy_tenths(void)
{
    rtu_prng env_rng, action_rng;
    rtu_real obs[CARTPOLE_P_OBS], reward;
    uint64_t total = 0;
    uint32_t episode;
    int terminated = 0, truncated = 0;
    rtu_prng_seed(&env_rng, (uint64_t)APP_SEED + 2000u);
    rtu_prng_seed(&action_rng, (uint64_t)APP_SEED + 3000u);
    for (episode = 0; episode < APP_WINDOW; ++episode) {
        cartpole_p_reset(&plant, &env_rng, obs);
        do {
            int action = (int)(rtu_prng_next_u32(&action_rng) >> 31);
            (void)cartpole_p_step(&plant, action, obs, &reward, &terminated, &truncated);
            total += 1u;
        } while (!terminated && !truncated);
    }
    return total * 10u / APP_WINDOW;
}

int main(void)
{
    rtu_prng env_rng;
    rtu_real obs[CARTPOLE_P_OBS], next_obs[CARTPOLE_P_OBS], action, reward;
    rtu_status status;
#ifndef FW_MODEL_HEADER
    size_t bytes = 0;
#endif
    uint16_t last[APP_WINDOW];
    uint64_t steps = 0, episodes = 0, first_sum = 0, last_sum = 0, t0, t_learner = 0, t_total;
    uint64_t start_steps = 0; /* the learner's steps before this run (trained elsewhere) */
    uint64_t section_sum[APP_SECTIONS], section_count[APP_SECTIONS];
    uint32_t episode_return = 0, window, i;
    int terminated, truncated;

#ifdef FW_MODEL_HEADER
    /* the trained learner, from the checkpoint in flash (the helper the Pi example uses too) */
    status = ac_from_checkpoint(&learner, learner_buffer, sizeof learner_buffer,
                                FW_MODEL_CHECKPOINT, FW_MODEL_CHECKPOINT_BYTES, NULL);
    if (status != RTU_OK) {
        fail("the compiled-in checkpoint", status);
    }
    if (learner.shape.n_obs != CARTPOLE_P_OBS ||
        learner.shape.action_kind != RTU_ACTIONS_DISCRETE ||
        learner.shape.n_actions != CARTPOLE_P_ACTIONS) {
        fw_write("error: the compiled-in learner does not fit CartPole (2 inputs, 2 actions)\n");
        fw_exit(1);
    }
    rtu_ac_begin_episode(&learner);
    start_steps = learner.steps;
#else
    {
        rtu_ac_config config = rtu_ac_default_config();
        rtu_ac_shape shape = {RTU_KIND_LINEAR, RTU_ACT_TANH, CARTPOLE_P_OBS, APP_HIDDEN,
                              APP_EMBED, APP_HEAD, 0, 1, 1, 0, RTU_ACTIONS_DISCRETE,
                              CARTPOLE_P_ACTIONS};
        status = rtu_ac_buffer_size(&shape, &bytes);
        if (status == RTU_OK && bytes != sizeof learner_buffer) {
            fw_write("error: run-time size query disagrees with RTU_AC_BUFFER_BYTES\n");
            fw_exit(1);
        }
        if (status == RTU_OK) {
            status = rtu_ac_init(&learner, &shape, &config, APP_SEED, learner_buffer,
                                 sizeof learner_buffer);
        }
    }
    if (status != RTU_OK) {
        fail("rtu_ac_init", status);
    }
#endif
    fw_write("rtu_edge on a Cortex-M4F: streaming actor-critic, ");
    fw_write(learner.shape.kind == RTU_KIND_LINEAR      ? "linear"
             : learner.shape.kind == RTU_KIND_NONLINEAR ? "nonlinear"
                                                        : "lru"); /* a compiled-in LRU */
    fw_write(" RTU (");
    fw_write_uint(learner.shape.n_hidden);
    fw_write(" units, ");
    fw_write(learner.shape.activation == RTU_ACT_TANH
                 ? "tanh"
                 : (learner.shape.activation == RTU_ACT_RELU ? "relu" : "identity"));
    fw_write(", float), ");
    fw_write(learner.shape.shared ? "one trunk, " : "separate actor and critic, ");
    fw_write("input layer ");
    fw_write_uint(learner.shape.n_embed);
    fw_write(", heads ");
    fw_write_uint(learner.shape.n_head);
    fw_write(learner.shape.prev_action ? ", the previous action" : "");
    fw_write(learner.shape.prev_reward ? ", the previous reward" : "");
    fw_write(learner.shape.prev_action || learner.shape.prev_reward ? " as inputs" : "");
    fw_write("; learns CartPole with hidden velocities (sees x and theta)\n");
    if (start_steps > 0) {
        fw_write("going on from the compiled-in checkpoint: trained for ");
        fw_write_uint(start_steps);
        fw_write(" steps\n");
    }

    fw_write("random policy: mean return of ");
    fw_write_uint(APP_WINDOW);
    fw_write(" episodes ");
    fw_write_tenths(random_policy_tenths());
    fw_write("\nbudget ");
    fw_write_uint(APP_STEPS);
    fw_write(" steps, seed ");
    fw_write_uint(APP_SEED);
    fw_write("; mean return of the episodes ending in each tenth of the budget:\n");

    for (i = 0; i < APP_SECTIONS; ++i) {
        section_sum[i] = 0;
        section_count[i] = 0;
    }
    rtu_prng_seed(&env_rng, (uint64_t)APP_SEED + 1000u);
    cartpole_p_reset(&plant, &env_rng, obs);
    fw_ticks_start();
    for (;;) {
        t0 = fw_ticks();
        status = rtu_ac_act(&learner, obs, &action);
        t_learner += fw_ticks() - t0;
        if (status != RTU_OK) {
            fail("rtu_ac_act", status);
        }
        status = cartpole_p_step(&plant, (int)action, next_obs, &reward, &terminated, &truncated);
        if (status != RTU_OK) {
            fail("cartpole_p_step", status);
        }
        t0 = fw_ticks();
        status = rtu_ac_learn(&learner, reward, next_obs, terminated, truncated);
        t_learner += fw_ticks() - t0;
        if (status != RTU_OK) {
            fail("rtu_ac_learn", status);
        }
        ++steps;
        episode_return += 1u;
        if (terminated || truncated) {
            uint32_t section = (uint32_t)((steps - 1u) * APP_SECTIONS / APP_STEPS);
            if (section >= APP_SECTIONS) {
                section = APP_SECTIONS - 1u;
            }
            section_sum[section] += episode_return;
            section_count[section] += 1u;
            if (episodes < APP_WINDOW) {
                first_sum += episode_return;
            }
            if (episodes >= APP_WINDOW) {
                last_sum -= last[episodes % APP_WINDOW];
            }
            last[episodes % APP_WINDOW] = (uint16_t)episode_return;
            last_sum += episode_return;
            ++episodes;
            episode_return = 0;
            if (steps >= APP_STEPS) {
                break;
            }
            cartpole_p_reset(&plant, &env_rng, obs);
        } else {
            for (i = 0; i < CARTPOLE_P_OBS; ++i) {
                obs[i] = next_obs[i];
            }
        }
    }
    t_total = fw_ticks();
    window = episodes < APP_WINDOW ? (uint32_t)episodes : APP_WINDOW; /* >= 1: the loop ends at one */

    for (i = 0; i < APP_SECTIONS; ++i) {
        fw_write("  steps ");
        fw_write_uint((uint64_t)APP_STEPS * i / APP_SECTIONS);
        fw_write("-");
        fw_write_uint((uint64_t)APP_STEPS * (i + 1u) / APP_SECTIONS);
        fw_write(": ");
        if (section_count[i] > 0) {
            fw_write_tenths(section_sum[i] * 10u / section_count[i]);
        } else {
            fw_write("(no episode ended)");
        }
        fw_write("\n");
    }
    fw_write("episodes ");
    fw_write_uint(episodes);
    fw_write(", steps ");
    fw_write_uint(steps);
    fw_write("\nmean return of the first ");
    fw_write_uint(window);
    fw_write(" episodes ");
    fw_write_tenths(first_sum * 10u / window);
    fw_write(", of the last ");
    fw_write_uint(window);
    fw_write(" episodes ");
    fw_write_tenths(last_sum * 10u / window);
    fw_write(" (500 is the maximum)\n");

    fw_write("memory: learner buffer ");
    fw_write_uint(sizeof learner_buffer);
    fw_write(" bytes (static, RTU_AC_BUFFER_BYTES) + rtu_ac struct ");
    fw_write_uint(sizeof learner);
    fw_write(" bytes; plant ");
    fw_write_uint(sizeof plant);
    fw_write(" bytes; stack peak ");
    fw_write_uint(fw_stack_peak());
    fw_write(" of ");
    fw_write_uint(fw_stack_size());
    fw_write(" bytes; no heap\n");

    /* SysTick counts the CPU clock: on hardware its ticks are CPU cycles. In QEMU it counts the
     * virtual clock at FW_CPU_HZ (40 ns a tick), which follows the host's clock, except under
     * -icount shift=0 (make run ICOUNT=1): virtual time then advances 1 ns per instruction. */
    fw_write("SysTick ticks per step ");
    fw_write_uint(t_total / steps);
    fw_write(" (learner: act + learn ");
    fw_write_uint(t_learner / steps);
    fw_write("): CPU cycles on hardware\nQEMU virtual ns per step ");
    fw_write_uint(t_total * (1000000000u / FW_CPU_HZ) / steps);
    fw_write(" (learner ");
    fw_write_uint(t_learner * (1000000000u / FW_CPU_HZ) / steps);
    fw_write("): instructions under -icount shift=0, else host time\n");

    fw_write("RESULT first20=");
    fw_write_tenths(first_sum * 10u / window);
    fw_write(" last20=");
    fw_write_tenths(last_sum * 10u / window);
    fw_write(" episodes=");
    fw_write_uint(episodes);
    fw_write(" steps=");
    fw_write_uint(steps);
    fw_write(" learner_steps=");
    fw_write_uint(learner.steps);
    fw_write(" learner_bytes=");
    fw_write_uint(sizeof learner_buffer);
    fw_write(" stack_peak=");
    fw_write_uint(fw_stack_peak());
    fw_write("\n");
    return 0;
}
