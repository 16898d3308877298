/*
 * Instruction counts of the pieces of one actor-critic step on the Cortex-M4F, for `make count`,
 * which runs this under qemu -icount shift=0: QEMU's virtual clock then advances 1 ns per
 * instruction, SysTick counts that clock at 25 MHz, so 40 x ticks = instructions executed (to
 * within 40). QEMU does not model the M4's cycle timing: these are instruction counts, not cycles.
 */
#include <math.h>

#include "cartpole_p.h"
#include "fw.h"
#include "rtu_ac.h"

/* the learner of main.c's default build: separate actor and critic, each an input layer of
 * N_EMBED units, a linear RTU of N_HIDDEN units and a head with N_HEAD hidden units; the previous
 * action and reward as inputs. The cell timed alone is one of its RTUs (N_EMBED inputs). */
#define N_HIDDEN 16u
#define N_EMBED 16u
#define N_HEAD 16u
#define CALLS 1000u
#define LEARNER_BYTES                                                                                \
    RTU_AC_BUFFER_BYTES(RTU_KIND_LINEAR, CARTPOLE_P_OBS, N_HIDDEN, N_EMBED, N_HEAD, 0, 1, 1,       \
                        RTU_ACTIONS_DISCRETE, CARTPOLE_P_ACTIONS)

static rtu_real learner_buffer[LEARNER_BYTES / sizeof(rtu_real)];
static rtu_real cell_buffer[RTU_CELL_REALS(RTU_KIND_LINEAR, N_EMBED, N_HIDDEN)];
static rtu_real grad[RTU_CELL_PARAMS(RTU_KIND_LINEAR, N_EMBED, N_HIDDEN)];
static rtu_real dh[2 * N_HIDDEN];
static rtu_ac learner;
static rtu_cell cell;
static cartpole_p plant;
static volatile double sink_d;
static volatile float sink_f;
static volatile double arg_d = 0.3;
static volatile float arg_f = 0.3f;

static uint64_t start;

static void report(const char *name, uint64_t ticks_total)
{
    fw_write("  ");
    fw_write(name);
    fw_write(": ");
    fw_write_uint(ticks_total * (1000000000u / FW_CPU_HZ) / CALLS);
    fw_write("\n");
}

#define MEASURE(name, body)                                                                          \
    do {                                                                                             \
        uint32_t i_;                                                                                 \
        start = fw_ticks();                                                                          \
        for (i_ = 0; i_ < CALLS; ++i_) {                                                             \
            body;                                                                                    \
        }                                                                                            \
        report(name, fw_ticks() - start);                                                            \
    } while (0)

int main(void)
{
    rtu_ac_config config = rtu_ac_default_config();
    rtu_ac_shape shape = {RTU_KIND_LINEAR, RTU_ACT_TANH, CARTPOLE_P_OBS, N_HIDDEN, N_EMBED, N_HEAD,
                          0, 1, 1, 0, RTU_ACTIONS_DISCRETE, CARTPOLE_P_ACTIONS};
    rtu_prng rng;
    rtu_real x[N_EMBED], obs[CARTPOLE_P_OBS], next_obs[CARTPOLE_P_OBS];
    rtu_real action, reward;
    uint64_t t_act = 0, t_learn = 0, t0;
    uint32_t i;
    int terminated = 0, truncated = 0;

    rtu_prng_seed(&rng, 1u);
    if (rtu_cell_init(&cell, RTU_KIND_LINEAR, RTU_ACT_TANH, N_EMBED, N_HIDDEN, cell_buffer,
                      sizeof cell_buffer) != RTU_OK ||
        rtu_cell_init_params(&cell, &rng, 0.0, 1.0, 6.28) != RTU_OK ||
        rtu_ac_init(&learner, &shape, &config, 1u, learner_buffer, sizeof learner_buffer) !=
            RTU_OK) {
        fw_write("error: init\n");
        return 1;
    }
    for (i = 0; i < 2 * N_HIDDEN; ++i) {
        dh[i] = (rtu_real)0.01 * (rtu_real)i;
    }
    for (i = 0; i < N_EMBED; ++i) {
        x[i] = (rtu_real)0.1 * (rtu_real)i - (rtu_real)0.5;
    }

    fw_write("instructions per call (meaningful under qemu -icount shift=0 only), float; the "
             "learner: separate actor and critic, input layer ");
    fw_write_uint(N_EMBED);
    fw_write(", linear RTU ");
    fw_write_uint(N_HIDDEN);
    fw_write(", head ");
    fw_write_uint(N_HEAD);
    fw_write(", previous action and reward as inputs; the RTU alone: ");
    fw_write_uint(N_HIDDEN);
    fw_write(" units on ");
    fw_write_uint(N_EMBED);
    fw_write(" inputs; mean of ");
    fw_write_uint(CALLS);
    fw_write(" calls:\n");
    fw_ticks_start();
    {   /* calibration: 10^7 iterations of a 2-instruction loop (subs, bne) */
        uint32_t n = 10000000u;
        start = fw_ticks();
        __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(n));
        fw_write("  calibration, a loop of 20000000 instructions: ");
        fw_write_uint((fw_ticks() - start) * (1000000000u / FW_CPU_HZ));
        fw_write(" in all\n");
    }
    MEASURE("empty loop with the timer reads", sink_f = arg_f);
    MEASURE("rtu_cell_step (state + RTRL traces)", (void)rtu_cell_step(&cell, x, NULL));
    MEASURE("rtu_cell_gradient (from dL/dh)", (void)rtu_cell_gradient(&cell, dh, grad));
#ifdef RTU_DERIVED_FLOAT
    MEASURE("rtu_cell_refresh (derived cache, in float)", (void)rtu_cell_refresh(&cell));
#else
    MEASURE("rtu_cell_refresh (derived cache, in double)", (void)rtu_cell_refresh(&cell));
#endif
    MEASURE("libm exp (double, software)", sink_d = exp(arg_d));
    MEASURE("libm cos (double, software)", sink_d = cos(arg_d));
    MEASURE("libm expm1 (double, software)", sink_d = expm1(arg_d));
    MEASURE("libm sqrt (double, software)", sink_d = sqrt(arg_d));
    MEASURE("libm expf (float, FPU)", sink_f = expf(arg_f));
    MEASURE("libm cosf (float, FPU)", sink_f = cosf(arg_f));
    MEASURE("libm expm1f (float, FPU)", sink_f = expm1f(arg_f));
    MEASURE("libm tanhf (float, FPU)", sink_f = tanhf(arg_f));

    /* The learner on the plant: act and learn timed apart, the plant on its own. */
    rtu_prng_seed(&rng, 2u);
    cartpole_p_reset(&plant, &rng, obs);
    for (i = 0; i < CALLS; ++i) {
        t0 = fw_ticks();
        (void)rtu_ac_act(&learner, obs, &action);
        t_act += fw_ticks() - t0;
        (void)cartpole_p_step(&plant, (int)action, next_obs, &reward, &terminated, &truncated);
        t0 = fw_ticks();
        (void)rtu_ac_learn(&learner, reward, next_obs, terminated, truncated);
        t_learn += fw_ticks() - t0;
        if (terminated || truncated) {
            cartpole_p_reset(&plant, &rng, obs);
        } else {
            obs[0] = next_obs[0];
            obs[1] = next_obs[1];
        }
    }
    report("rtu_ac_act (on CartPole-P)", t_act);
    report("rtu_ac_learn (on CartPole-P)", t_learn);
    cartpole_p_reset(&plant, &rng, obs);
    MEASURE("cartpole_p_step (double, software)", {
        (void)cartpole_p_step(&plant, (int)(i_ & 1u), next_obs, &reward, &terminated, &truncated);
        if (terminated || truncated) {
            cartpole_p_reset(&plant, &rng, obs);
        }
    });
    return 0;
}
