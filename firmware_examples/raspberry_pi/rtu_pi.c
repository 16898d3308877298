/*
 * rtu_pi: a robot's main loop on a Raspberry Pi (or any POSIX machine) that learns continually
 * with the rtu_edge streaming actor-critic (c_src/rtu_ac.h) on the streaming network (by default
 * an RTU and an MLP head per network, separate actor and critic: the package's default network,
 * RTU_AC_DEFAULT_* of rtu_config.h; an input layer with --n-embed, one trunk with --shared, the
 * previous action and reward among the inputs with --prev-action, --prev-reward MODE).
 *
 * C99 + POSIX. Unlike the core, this program uses stdio, signals and files; it still has no heap:
 * the learner and the checkpoint buffer are static arrays sized for the largest learner the build
 * accepts (RTU_PI_MAX_IN, RTU_PI_MAX_HIDDEN, RTU_PI_MAX_EMBED, RTU_PI_MAX_HEAD,
 * RTU_PI_MAX_ACTIONS).
 *
 * Observations come from the compiled-in CartPole with hidden velocities (--io sim, the default)
 * or from real sensors through a line protocol on stdin/stdout (--io stdio) or on a serial device
 * (--io /dev/ttyUSB0). Checkpoints are written atomically every --checkpoint-every steps and on
 * SIGINT/SIGTERM, and the program resumes from the latest good one. See README.md.
 *
 * This file is the loop: options, building the learner, the two sources of observations, main.
 * The parts it uses, each readable on its own: ckpt_store.h (atomic checkpoint files with a .prev
 * fallback), line_proto.h (the line protocol and the serial port), timing.h (per-step time and
 * peak memory), ../common/ac_checkpoint.h (a learner from a checkpoint's bytes) and
 * ../common/cartpole_p.h (the simulated plant).
 */
#define _XOPEN_SOURCE 700 /* POSIX 2008 (sigaction) */

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ac_checkpoint.h"
#include "cartpole_p.h"
#include "ckpt_store.h"
#include "fd_io.h"
#include "line_proto.h"
#include "rtu_ac.h"
#include "rtu_ckpt.h"
#include "timing.h"

#ifdef FW_MODEL_HEADER
#include "model_header.h" /* the exported header of make MODEL_HEADER=... */
#endif

/* Largest learner this build holds (static buffers; raise them with -D... at build time). */
#ifndef RTU_PI_MAX_IN
#define RTU_PI_MAX_IN 16
#endif
#ifndef RTU_PI_MAX_HIDDEN
#define RTU_PI_MAX_HIDDEN 128
#endif
#ifndef RTU_PI_MAX_EMBED
#define RTU_PI_MAX_EMBED 64
#endif
#ifndef RTU_PI_MAX_HEAD
#define RTU_PI_MAX_HEAD 64
#endif
#ifndef RTU_PI_MAX_ACTIONS
#define RTU_PI_MAX_ACTIONS 8
#endif

/* The largest learner: every size at its limit, separate trunks, both extras, continuous. */
#define MAX_LEARNER_BYTES                                                                          \
    RTU_AC_BUFFER_BYTES(RTU_KIND_NONLINEAR, RTU_PI_MAX_IN, RTU_PI_MAX_HIDDEN, RTU_PI_MAX_EMBED,    \
                        RTU_PI_MAX_HEAD, 0, 1, 1, RTU_ACTIONS_CONTINUOUS, RTU_PI_MAX_ACTIONS)
#define MAX_CKPT_BYTES                                                                             \
    RTU_AC_CHECKPOINT_BYTES(RTU_KIND_NONLINEAR, RTU_PI_MAX_IN, RTU_PI_MAX_HIDDEN,                  \
                            RTU_PI_MAX_EMBED, RTU_PI_MAX_HEAD, 0, 1, 1, RTU_ACTIONS_CONTINUOUS,    \
                            RTU_PI_MAX_ACTIONS)

/* Exit codes */
#define EXIT_USAGE 1   /* bad command line or configuration */
#define EXIT_IO 2      /* an I/O error (checkpoint, device) */
#define EXIT_LEARNER 3 /* the learner refused to go on (diverged) */

/* ------------------------------------------------------------------------------------------ */
/* State that a signal handler may touch: the only mutable globals of the program.              */

static volatile sig_atomic_t g_stop = 0;
static volatile sig_atomic_t g_signal = 0;

static void on_signal(int sig)
{
    g_stop = 1;
    g_signal = sig;
}

/* Static storage (no heap). rtu_real arrays keep the learner's buffer aligned. */
static rtu_real g_learner_buffer[(MAX_LEARNER_BYTES + sizeof(rtu_real) - 1) / sizeof(rtu_real)];
static unsigned char g_ckpt_buffer[MAX_CKPT_BYTES];

/* The names of rtu_reward_input, as --prev-reward takes them (rtu_edge's ACNetwork.prev_reward). */
static const char *const reward_inputs[] = RTU_REWARD_INPUT_NAMES;

/* The name of a cell kind, for the log (a learner loaded from a checkpoint may be an LRU). */
static const char *kind_name(rtu_kind kind)
{
    return kind == RTU_KIND_LINEAR ? "linear" : kind == RTU_KIND_NONLINEAR ? "nonlinear" : "lru";
}

/* ------------------------------------------------------------------------------------------ */
/* Options                                                                                     */

typedef struct {
    const char *io;         /* "sim", "stdio" or a device path */
    long baud;              /* serial speed */
    uint64_t steps;         /* stop when the learner has taken this many steps (0: never) */
    uint64_t seed;
    rtu_kind kind;
    rtu_activation activation;
    size_t n_hidden;
    size_t n_embed, n_head; /* a fresh learner's input layer and head units (0: none) */
    int shared, prev_action; /* a fresh learner's network */
    rtu_reward_input prev_reward;
    size_t n_in;            /* line protocol: observation entries (0: from the checkpoint) */
    size_t n_actions;       /* line protocol */
    rtu_action_kind action_kind;
    const char *checkpoint; /* path; "" for none */
    uint64_t checkpoint_every;
    const char *load;       /* a checkpoint to start from when there is none of our own */
    int fresh;              /* ignore existing checkpoints (they are overwritten) */
    int use_model;          /* start from the compiled-in model header */
    uint64_t report_every;
    int quiet;              /* no line per episode */
} options;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: rtu_pi [options]\n"
            "  --io sim|stdio|DEVICE   observations from the simulated CartPole with hidden\n"
            "                          velocities (sim, default), the line protocol on\n"
            "                          stdin/stdout (stdio) or on a serial device (a path)\n"
            "  --baud N                serial speed for a device (default 115200)\n"
            "  --steps N               stop after N learning steps in all (0: never; default 0)\n"
            "  --seed N                seed of a fresh learner and of the simulation (default 0)\n"
            "  --kind linear|nonlinear --activation tanh|relu|identity --hidden N\n"
            "                          a fresh learner's RTU (default linear, tanh, 32)\n"
            "  --n-embed N --n-head N  a fresh learner's input layer and head hidden units\n"
            "                          (0: none; default: the package's, %u and %u)\n"
            "  --shared                one trunk (input layer and RTU) for actor and critic\n"
            "                          (default: separate networks)\n"
            "  --prev-action (or --no-prev-action)\n"
            "                          put the previous action in a fresh learner's input, or\n"
            "                          leave it out (default: %s)\n"
            "  --prev-reward none|normalized|sign|centered_sign|gated_sign\n"
            "                          how a fresh learner's input holds the previous reward:\n"
            "                          not, normalised, its sign (-1, 0, 1), its sign less the\n"
            "                          running mean of the signs, or its sign once two rewards'\n"
            "                          signs have differed, 0 before (default %s)\n"
            "  --n-in N --n-actions N --continuous\n"
            "                          line protocol: observation size, actions (discrete\n"
            "                          unless --continuous; default 2 and 2 discrete)\n"
            "  --checkpoint PATH       checkpoint file (default rtu_pi.ckpt; PATH.prev keeps\n"
            "                          the previous one; \"\" for none)\n"
            "  --checkpoint-every N    steps between checkpoints (default 10000; 0: only at\n"
            "                          the end and on SIGINT/SIGTERM)\n"
            "  --fresh                 ignore existing checkpoints and start anew\n"
            "  --load FILE             start from FILE (e.g. checkpoint.rtu of rtu-edge train)\n"
            "                          when there is no checkpoint of our own\n"
            "  --model                 start from the compiled-in model header (make\n"
            "                          MODEL_HEADER=...) when there is no checkpoint of our own\n"
            "  --report-every N        print timing and memory every N steps (default 10000;\n"
            "                          0: only at the end)\n"
            "  --quiet                 no line per episode\n",
            (unsigned)RTU_AC_DEFAULT_N_EMBED, (unsigned)RTU_AC_DEFAULT_N_HEAD,
            RTU_AC_DEFAULT_PREV_ACTION ? "in" : "out", reward_inputs[RTU_AC_DEFAULT_PREV_REWARD]);
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (s == NULL || *s == '\0' || *s == '-') {
        return 0;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        return 0;
    }
    *out = (uint64_t)v;
    return 1;
}

static int parse_options(int argc, char **argv, options *o)
{
    int i;
    uint64_t v;
    o->io = "sim";
    o->baud = 115200;
    o->steps = 0;
    o->seed = 0;
    o->kind = RTU_KIND_LINEAR;
    o->activation = RTU_ACT_TANH;
    o->n_hidden = 32; /* rtu-edge train's default */
    o->n_embed = RTU_AC_DEFAULT_N_EMBED; /* the network: rtu_edge.ACNetwork's defaults */
    o->n_head = RTU_AC_DEFAULT_N_HEAD;
    o->shared = RTU_AC_DEFAULT_SHARED;
    o->prev_action = RTU_AC_DEFAULT_PREV_ACTION;
    o->prev_reward = RTU_AC_DEFAULT_PREV_REWARD;
    o->n_in = 0;
    o->n_actions = 0;
    o->action_kind = RTU_ACTIONS_DISCRETE;
    o->checkpoint = "rtu_pi.ckpt";
    o->checkpoint_every = 10000;
    o->load = NULL;
    o->fresh = 0;
    o->use_model = 0;
    o->report_every = 10000;
    o->quiet = 0;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--fresh") == 0) {
            o->fresh = 1;
            takes = 0;
        } else if (strcmp(a, "--model") == 0) {
            o->use_model = 1;
            takes = 0;
        } else if (strcmp(a, "--quiet") == 0) {
            o->quiet = 1;
            takes = 0;
        } else if (strcmp(a, "--continuous") == 0) {
            o->action_kind = RTU_ACTIONS_CONTINUOUS;
            takes = 0;
        } else if (strcmp(a, "--shared") == 0) {
            o->shared = 1;
            takes = 0;
        } else if (strcmp(a, "--prev-action") == 0 || strcmp(a, "--no-prev-action") == 0) {
            o->prev_action = a[2] != 'n';
            takes = 0;
        } else if (val == NULL) {
            fprintf(stderr, "rtu_pi: %s needs a value (or is unknown)\n", a);
            return 0;
        } else if (strcmp(a, "--io") == 0) {
            o->io = val;
        } else if (strcmp(a, "--checkpoint") == 0) {
            o->checkpoint = val;
        } else if (strcmp(a, "--load") == 0) {
            o->load = val;
        } else if (strcmp(a, "--kind") == 0) {
            if (strcmp(val, "linear") == 0) {
                o->kind = RTU_KIND_LINEAR;
            } else if (strcmp(val, "nonlinear") == 0) {
                o->kind = RTU_KIND_NONLINEAR;
            } else {
                fprintf(stderr, "rtu_pi: --kind must be linear or nonlinear, got %s\n", val);
                return 0;
            }
        } else if (strcmp(a, "--prev-reward") == 0) {
            size_t k;
            for (k = 0; k < sizeof reward_inputs / sizeof reward_inputs[0]; ++k) {
                if (strcmp(val, reward_inputs[k]) == 0) {
                    o->prev_reward = (rtu_reward_input)k;
                    break;
                }
            }
            if (k == sizeof reward_inputs / sizeof reward_inputs[0]) {
                fprintf(stderr, "rtu_pi: --prev-reward must be none, normalized, sign, "
                                "centered_sign or gated_sign, got %s\n", val);
                return 0;
            }
        } else if (strcmp(a, "--activation") == 0) {
            if (strcmp(val, "relu") == 0) {
                o->activation = RTU_ACT_RELU;
            } else if (strcmp(val, "tanh") == 0) {
                o->activation = RTU_ACT_TANH;
            } else if (strcmp(val, "identity") == 0) {
                o->activation = RTU_ACT_IDENTITY;
            } else {
                fprintf(stderr, "rtu_pi: --activation must be tanh, relu or identity, got %s\n",
                        val);
                return 0;
            }
        } else { /* the options that take an integer >= 0: known first, then their value */
            uint64_t *u64 = NULL;
            size_t *size = NULL;
            if (strcmp(a, "--steps") == 0) {
                u64 = &o->steps;
            } else if (strcmp(a, "--seed") == 0) {
                u64 = &o->seed;
            } else if (strcmp(a, "--checkpoint-every") == 0) {
                u64 = &o->checkpoint_every;
            } else if (strcmp(a, "--report-every") == 0) {
                u64 = &o->report_every;
            } else if (strcmp(a, "--hidden") == 0) {
                size = &o->n_hidden;
            } else if (strcmp(a, "--n-embed") == 0) {
                size = &o->n_embed;
            } else if (strcmp(a, "--n-head") == 0) {
                size = &o->n_head;
            } else if (strcmp(a, "--n-in") == 0) {
                size = &o->n_in;
            } else if (strcmp(a, "--n-actions") == 0) {
                size = &o->n_actions;
            } else if (strcmp(a, "--baud") != 0) {
                fprintf(stderr, "rtu_pi: unknown option %s (--help lists them)\n", a);
                return 0;
            }
            if (!parse_u64(val, &v)) {
                fprintf(stderr, "rtu_pi: %s takes an integer >= 0, got %s\n", a, val);
                return 0;
            }
            if (u64 != NULL) {
                *u64 = v;
            } else if (size != NULL) {
                *size = (size_t)v;
            } else {
                o->baud = (long)v;
            }
        }
        i += takes;
    }
    if (o->n_hidden < 1 || o->n_hidden > RTU_PI_MAX_HIDDEN) {
        fprintf(stderr, "rtu_pi: --hidden must be in 1..%d (RTU_PI_MAX_HIDDEN of this build)\n",
                RTU_PI_MAX_HIDDEN);
        return 0;
    }
    if (o->n_in > RTU_PI_MAX_IN || o->n_actions > RTU_PI_MAX_ACTIONS ||
        o->n_embed > RTU_PI_MAX_EMBED || o->n_head > RTU_PI_MAX_HEAD) {
        fprintf(stderr, "rtu_pi: --n-in at most %d, --n-actions at most %d, --n-embed at most %d, "
                        "--n-head at most %d in this build\n",
                RTU_PI_MAX_IN, RTU_PI_MAX_ACTIONS, RTU_PI_MAX_EMBED, RTU_PI_MAX_HEAD);
        return 0;
    }
#ifndef FW_MODEL_HEADER
    if (o->use_model) {
        fprintf(stderr, "rtu_pi: --model: this build has no model header (make "
                        "MODEL_HEADER=path/to/model.h)\n");
        return 0;
    }
#endif
    return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* The run                                                                                     */

typedef struct {
    options opt;
    FILE *log;          /* stdout, or stderr when stdout carries the line protocol */
    rtu_ac ac;
    size_t learner_bytes;
    int current_good;   /* the checkpoint file holds a checkpoint known good (ours or loaded) */
    uint64_t last_saved_step;
    timing window, total;
    double returns[20]; /* the latest episode returns, a ring */
    size_t n_returns;
    double ep_return;
    uint64_t ep_length;
    uint64_t episodes_here; /* episodes ended in this process */
} run;

static double mean_recent_return(const run *r)
{
    size_t i, n = r->n_returns < 20 ? r->n_returns : 20;
    double s = 0.0;
    for (i = 0; i < n; i++) {
        s += r->returns[i];
    }
    return n ? s / (double)n : 0.0;
}

static void report(run *r, const char *what, const timing *t)
{
    size_t ckpt_bytes = 0;
    rtu_ac_checkpoint_size(&r->ac, &ckpt_bytes);
    fprintf(r->log,
            "%s step %llu episodes %llu mean_return_last_%u %.1f | act+learn us: median %.2f "
            "p99 %.2f max %.2f mean %.2f over %llu steps | learner buffer %lu bytes, checkpoint "
            "%lu bytes, peak RSS %ld kB\n",
            what, (unsigned long long)r->ac.steps, (unsigned long long)r->ac.episodes,
            (unsigned)(r->n_returns < 20 ? r->n_returns : 20), mean_recent_return(r),
            timing_quantile_us(t, 0.5), timing_quantile_us(t, 0.99), (double)t->max_ns / 1000.0,
            timing_mean_us(t),
            (unsigned long long)t->count, (unsigned long)r->learner_bytes,
            (unsigned long)ckpt_bytes, timing_peak_rss_kb());
    fflush(r->log);
}

static void episode_end(run *r)
{
    r->returns[r->n_returns % 20] = r->ep_return;
    r->n_returns++;
    r->episodes_here++;
    if (!r->opt.quiet) {
        fprintf(r->log, "episode %llu return %.1f length %llu step %llu\n",
                (unsigned long long)r->ac.episodes, r->ep_return,
                (unsigned long long)r->ep_length, (unsigned long long)r->ac.steps);
    }
    r->ep_return = 0.0;
    r->ep_length = 0;
}

/* ------------------------------------------------------------------------------------------ */
/* The learner and its checkpoints                                                             */

/* Save the learner to --checkpoint (ckpt_store.h: atomically, the previous one kept as .prev).
 * 0, or -1 with a message. */
static int save_checkpoint(run *r)
{
    size_t written = 0;
    rtu_status st;
    const char *path = r->opt.checkpoint;
    if (path[0] == '\0') {
        return 0;
    }
    st = rtu_ac_save(&r->ac, g_ckpt_buffer, sizeof g_ckpt_buffer, &written);
    if (st != RTU_OK) {
        fprintf(stderr, "rtu_pi: checkpoint at step %llu refused: %s\n",
                (unsigned long long)r->ac.steps, rtu_status_str(st));
        return -1;
    }
    if (ckpt_store_save(path, g_ckpt_buffer, written, r->current_good) != 0) {
        return -1;
    }
    r->current_good = 1;
    r->last_saved_step = r->ac.steps;
    return 0;
}

/* The learner from a checkpoint's bytes (ac_checkpoint.h), within this build's limits. On error
 * prints why (prefixed with what) and returns the status; r->ac is then unusable (re-init). */
static rtu_status load_learner(run *r, const void *data, size_t bytes, const char *what)
{
    rtu_ckpt_dims d;
    rtu_status st;
    memset(&d, 0, sizeof d); /* d.bytes stays 0 unless the checkpoint's dimensions were read */
    st = ac_from_checkpoint(&r->ac, g_learner_buffer, sizeof g_learner_buffer, data, bytes, &d);
    if (d.bytes != 0 && d.learner_type != RTU_LEARNER_ACTOR_CRITIC) {
        fprintf(stderr, "rtu_pi: %s refused: %s (learner type %u, not the actor-critic)\n", what,
                rtu_status_str(st), (unsigned)d.learner_type);
    } else if (d.bytes != 0 && d.precision != sizeof(rtu_real)) {
        fprintf(stderr, "rtu_pi: %s refused: %s (%u-byte reals; this build has %u: build with "
                        "PRECISION=%s)\n", what, rtu_status_str(st), (unsigned)d.precision,
                (unsigned)sizeof(rtu_real), d.precision == 8 ? "double" : "float");
    } else if (d.bytes != 0 && (d.n_in > RTU_PI_MAX_IN || d.n_hidden > RTU_PI_MAX_HIDDEN ||
                                d.shape.n_embed > RTU_PI_MAX_EMBED ||
                                d.shape.n_head > RTU_PI_MAX_HEAD ||
                                d.shape.n_actions > RTU_PI_MAX_ACTIONS)) {
        st = RTU_ERR_CKPT_MISMATCH;
        fprintf(stderr, "rtu_pi: %s refused: n_in %lu, n_hidden %lu, n_embed %lu, n_head %lu, "
                        "%lu actions is larger than this build holds (RTU_PI_MAX_IN %d, "
                        "RTU_PI_MAX_HIDDEN %d, RTU_PI_MAX_EMBED %d, RTU_PI_MAX_HEAD %d, "
                        "RTU_PI_MAX_ACTIONS %d)\n", what, (unsigned long)d.n_in,
                (unsigned long)d.n_hidden, (unsigned long)d.shape.n_embed,
                (unsigned long)d.shape.n_head, (unsigned long)d.shape.n_actions, RTU_PI_MAX_IN,
                RTU_PI_MAX_HIDDEN, RTU_PI_MAX_EMBED, RTU_PI_MAX_HEAD, RTU_PI_MAX_ACTIONS);
    } else if (st != RTU_OK) {
        fprintf(stderr, "rtu_pi: %s refused: %s\n", what, rtu_status_str(st));
    }
    return st;
}

/* ckpt_store_load's callback: our own checkpoint files. */
static int accept_checkpoint(void *ctx, const unsigned char *data, size_t bytes, const char *what)
{
    return load_learner((run *)ctx, data, bytes, what) == RTU_OK;
}


/* Build the learner: our checkpoint, its .prev, --load, the model header, or a fresh one. */
static int setup_learner(run *r)
{
    const options *o = &r->opt;
    int got = 0, resumed = 0;
    r->current_good = 0;
    if (o->checkpoint[0] != '\0' && !o->fresh) {
        int newer_refused = 0;
        ckpt_store_result res = ckpt_store_load(o->checkpoint, g_ckpt_buffer, sizeof g_ckpt_buffer,
                                                accept_checkpoint, r, &newer_refused);
        if (res == CKPT_STORE_PATH || res == CKPT_STORE_PREV || res == CKPT_STORE_TMP) {
            got = 1;
            resumed = 1;
            r->current_good = res != CKPT_STORE_PREV;
            fprintf(r->log, "resumed from %s%s at step %llu (episode %llu)%s\n", o->checkpoint,
                    res == CKPT_STORE_PREV ? ".prev" : "", (unsigned long long)r->ac.steps,
                    (unsigned long long)r->ac.episodes,
                    res == CKPT_STORE_TMP ? " (its save, cut short, finished from .tmp)"
                    : newer_refused ? " after the newer checkpoint was refused" : "");
        } else if (res == CKPT_STORE_REFUSED) {
            fprintf(r->log, "no usable checkpoint: starting anew (the refused files are "
                            "overwritten by the next checkpoint)\n");
        }
    }
    if (got != 1 && o->load != NULL) {
        long bytes = fd_read_file(o->load, g_ckpt_buffer, sizeof g_ckpt_buffer);
        if (bytes < 0) {
            fprintf(stderr, "rtu_pi: --load %s: %s\n", o->load, strerror(errno));
            return 0;
        }
        if (load_learner(r, g_ckpt_buffer, (size_t)bytes, "--load") != RTU_OK) {
            return 0;
        }
        fprintf(r->log, "loaded %s (trained for %llu steps, %llu episodes)\n", o->load,
                (unsigned long long)r->ac.steps, (unsigned long long)r->ac.episodes);
        got = 1;
    }
#ifdef FW_MODEL_HEADER
    if (got != 1 && o->use_model) {
        /* the checkpoint the header embeds, loaded from flash as a file's bytes are */
        if (load_learner(r, FW_MODEL_CHECKPOINT, FW_MODEL_CHECKPOINT_BYTES,
                         "the compiled-in model") != RTU_OK) {
            return 0;
        }
        fprintf(r->log, "started from the compiled-in model %s (trained for %llu steps)\n",
                FW_MODEL_HEADER, (unsigned long long)r->ac.steps);
        got = 1;
    }
#endif
    if (got != 1) {
        rtu_ac_shape shape = {.kind = o->kind, .activation = o->activation,
                              .n_obs = o->n_in ? o->n_in : 2, .n_hidden = o->n_hidden,
                              .n_embed = o->n_embed, .n_head = o->n_head, .shared = o->shared,
                              .prev_action = o->prev_action,
                              .prev_reward = o->prev_reward,
                              .action_kind = o->action_kind,
                              .n_actions = o->n_actions ? o->n_actions : 2};
        rtu_ac_config cfg = rtu_ac_default_config();
        rtu_status st;
        if (strcmp(o->io, "sim") == 0) {
            shape.n_obs = CARTPOLE_P_OBS;
            shape.n_actions = CARTPOLE_P_ACTIONS;
        } else if (shape.action_kind == RTU_ACTIONS_DISCRETE && shape.n_actions < 2) {
            fprintf(stderr, "rtu_pi: discrete actions need --n-actions >= 2 (one action is no "
                            "choice), got %lu\n", (unsigned long)shape.n_actions);
            return 0;
        }
        st = rtu_ac_init(&r->ac, &shape, &cfg, o->seed, g_learner_buffer,
                         sizeof g_learner_buffer);
        if (st != RTU_OK) {
            fprintf(stderr, "rtu_pi: cannot create the learner: %s\n", rtu_status_str(st));
            return 0;
        }
        fprintf(r->log, "fresh learner: %s RTU, %lu units, %s, seed %llu\n",
                kind_name(o->kind), (unsigned long)o->n_hidden,
                o->activation == RTU_ACT_TANH ? "tanh"
                                              : (o->activation == RTU_ACT_RELU ? "relu"
                                                                               : "identity"),
                (unsigned long long)o->seed);
    }
    rtu_ac_begin_episode(&r->ac);
    r->last_saved_step = r->ac.steps;
    if (rtu_ac_buffer_size(&r->ac.shape, &r->learner_bytes) != RTU_OK) {
        r->learner_bytes = 0;
    }
    /* The source must fit the learner. */
    if (strcmp(o->io, "sim") == 0) {
        if (r->ac.shape.n_obs != CARTPOLE_P_OBS ||
            r->ac.shape.action_kind != RTU_ACTIONS_DISCRETE ||
            r->ac.shape.n_actions != CARTPOLE_P_ACTIONS) {
            fprintf(stderr, "rtu_pi: the learner (%lu inputs, %lu actions) does not fit the "
                            "simulated CartPole (2 inputs, 2 discrete actions)\n",
                    (unsigned long)r->ac.shape.n_obs, (unsigned long)r->ac.shape.n_actions);
            return 0;
        }
    } else if ((o->n_in && o->n_in != r->ac.shape.n_obs) ||
               (o->n_actions && o->n_actions != r->ac.shape.n_actions)) {
        fprintf(stderr, "rtu_pi: --n-in %lu / --n-actions %lu differ from the learner's %lu / %lu\n",
                (unsigned long)o->n_in, (unsigned long)o->n_actions,
                (unsigned long)r->ac.shape.n_obs, (unsigned long)r->ac.shape.n_actions);
        return 0;
    }
    fprintf(r->log, "learner: %s RTU, %lu units, %lu inputs, %lu %s actions; %s, input layer %lu, "
                    "heads %lu%s%s%s; buffer %lu bytes\n",
            kind_name(r->ac.shape.kind),
            (unsigned long)r->ac.shape.n_hidden, (unsigned long)r->ac.shape.n_obs,
            (unsigned long)r->ac.shape.n_actions,
            r->ac.shape.action_kind == RTU_ACTIONS_DISCRETE ? "discrete" : "continuous",
            r->ac.shape.shared ? "one trunk" : "separate actor and critic",
            (unsigned long)r->ac.shape.n_embed, (unsigned long)r->ac.shape.n_head,
            r->ac.shape.prev_action ? ", previous action in" : "",
            r->ac.shape.prev_reward ? ", previous reward in as " : "",
            r->ac.shape.prev_reward ? reward_inputs[r->ac.shape.prev_reward] : "",
            (unsigned long)r->learner_bytes);
    fflush(r->log);
    /* Trained weights (--load, --model) go to our checkpoint at once: from now on a restart
     * resumes from our own file. */
    if (!resumed && (o->load != NULL || o->use_model) && save_checkpoint(r) != 0) {
        return 0;
    }
    return 1;
}

/* After a learn: periodic report and checkpoint. A checkpoint that cannot be written (a full or
 * failing disk) does not stop the robot: it is reported, and tried again N steps later. Returns 0
 * (kept as a hook for an exit code). */
static int after_learn(run *r)
{
    const options *o = &r->opt;
    if (o->report_every && r->ac.steps % o->report_every == 0) {
        report(r, "report", &r->window);
        timing_clear(&r->window);
    }
    if (o->checkpoint_every && r->ac.steps % o->checkpoint_every == 0) {
        if (save_checkpoint(r) != 0) {
            if (r->current_good) {
                fprintf(stderr, "rtu_pi: going on without this checkpoint (the last one is at "
                                "step %llu)\n", (unsigned long long)r->last_saved_step);
            } else {
                fprintf(stderr, "rtu_pi: going on without this checkpoint (none is written "
                                "yet)\n");
            }
        }
    }
    return 0;
}

static int finish(run *r, int code)
{
    if (code != EXIT_LEARNER && r->ac.steps != r->last_saved_step) {
        if (save_checkpoint(r) != 0 && code == 0) {
            code = EXIT_IO;
        }
    }
    if (g_stop) {
        fprintf(r->log, "stopped by signal %d\n", (int)g_signal);
    }
    if (r->opt.checkpoint[0] != '\0' && code != EXIT_LEARNER && r->current_good) {
        fprintf(r->log, "checkpoint %s at step %llu\n", r->opt.checkpoint,
                (unsigned long long)r->last_saved_step);
    } else if (r->opt.checkpoint[0] != '\0' && code != EXIT_LEARNER) {
        fprintf(r->log, "no checkpoint written to %s\n", r->opt.checkpoint);
    }
    report(r, "final", &r->total);
    return code;
}

static int learner_failed(run *r, const char *call, rtu_status st)
{
    fprintf(stderr, "rtu_pi: %s failed at step %llu: %s\n", call, (unsigned long long)r->ac.steps,
            rtu_status_str(st));
    return st == RTU_ERR_DIVERGED ? EXIT_LEARNER : EXIT_USAGE;
}

/* ------------------------------------------------------------------------------------------ */
/* Source 1: the simulated plant                                                               */

static int run_sim(run *r)
{
    cartpole_p env;
    rtu_prng rng;
    rtu_real obs[CARTPOLE_P_OBS], next[CARTPOLE_P_OBS], action, reward;
    int term = 0, trunc = 0, code = 0;
    rtu_status st;
    /* the plant's stream: from the seed and the step we (re)start at */
    rtu_prng_seed(&rng, r->opt.seed * 0x9E3779B97F4A7C15ull + r->ac.steps);
    cartpole_p_reset(&env, &rng, obs);
    while (!g_stop && (r->opt.steps == 0 || r->ac.steps < r->opt.steps)) {
        uint64_t t0, t1, t2, t3;
        t0 = timing_now_ns();
        st = rtu_ac_act(&r->ac, obs, &action);
        t1 = timing_now_ns();
        if (st != RTU_OK) {
            return finish(r, learner_failed(r, "act", st));
        }
        cartpole_p_step(&env, (int)action, next, &reward, &term, &trunc);
        t2 = timing_now_ns();
        st = rtu_ac_learn(&r->ac, reward, next, term, trunc);
        t3 = timing_now_ns();
        if (st != RTU_OK) {
            return finish(r, learner_failed(r, "learn", st));
        }
        timing_add(&r->window, (t1 - t0) + (t3 - t2));
        timing_add(&r->total, (t1 - t0) + (t3 - t2));
        r->ep_return += (double)reward;
        r->ep_length++;
        if (term || trunc) {
            episode_end(r);
            cartpole_p_reset(&env, &rng, obs);
        } else {
            memcpy(obs, next, sizeof obs);
        }
        /* the safe point: after learn, before the next act */
        code = after_learn(r);
        if (code != 0) {
            return finish(r, code);
        }
    }
    return finish(r, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* Source 2: the line protocol (see README.md and line_proto.h)                             */

static int run_lines(run *r, int in_fd, int out_fd)
{
    static line_io io;
    static char line[LINE_MAX_BYTES];
    char reply[64 + 32 * RTU_PI_MAX_ACTIONS];
    rtu_real obs[RTU_PI_MAX_IN], action[RTU_PI_MAX_ACTIONS];
    line_message m;
    size_t n_in = r->ac.shape.n_obs;
    int pending = 0; /* an act was sent and its outcome not yet received */
    rtu_status st;
    m.obs = obs;
    line_io_init(&io, in_fd, out_fd, &g_stop);
    while (r->opt.steps == 0 || r->ac.steps < r->opt.steps) {
        const char *why = NULL;
        int got = line_read(&io, line, sizeof line);
        uint64_t learn_ns, act_ns;
        if (got == 0) {
            fprintf(r->log, "end of input\n");
            break;
        }
        if (got == -1) {
            break; /* a signal: the learner is at a safe point unless an act is pending */
        }
        if (got == -2) {
            fprintf(stderr, "rtu_pi: read error: %s\n", strerror(errno));
            if (pending) {
                rtu_ac_begin_episode(&r->ac);
            }
            return finish(r, EXIT_IO);
        }
        if (got == -3) {
            if (line_send(&io, "error line too long\n") != 0) {
                break;
            }
            continue;
        }
        if (line[0] == '\0' || line[0] == '#') {
            continue;
        }
        if (!line_parse(line, n_in, &m, &why)) {
            snprintf(reply, sizeof reply, "error %s\n", why);
            if (line_send(&io, reply) != 0) {
                break;
            }
            continue;
        }
        learn_ns = 0;
        if (m.has_outcome && pending) {
            uint64_t t0 = timing_now_ns();
            st = rtu_ac_learn(&r->ac, m.reward, m.obs, m.terminated, m.truncated);
            learn_ns = timing_now_ns() - t0;
            if (st == RTU_ERR_DIVERGED) {
                return finish(r, learner_failed(r, "learn", st));
            }
            if (st != RTU_OK) { /* bad values: refused, the learner unchanged; still pending */
                snprintf(reply, sizeof reply, "error %s\n", rtu_status_str(st));
                if (line_send(&io, reply) != 0) {
                    break;
                }
                continue;
            }
            pending = 0;
            r->ep_return += (double)m.reward;
            r->ep_length++;
            if (m.terminated || m.truncated) {
                timing_add(&r->window, learn_ns);
                timing_add(&r->total, learn_ns);
                episode_end(r);
                if (line_send(&io, "reset\n") != 0) {
                    break;
                }
                if (after_learn(r) != 0) {
                    return finish(r, EXIT_IO);
                }
                continue;
            }
        } else if (m.has_outcome || pending || r->ac.fed) {
            /* An outcome with no action pending (we restarted mid-episode), or a plain obs line
             * (the device started over): a new episode from this observation, once its values
             * (and the reward) are ones act (and learn) take; else refused, nothing changed. */
            st = rtu_ac_check_values(&r->ac, m.obs, m.has_outcome ? &m.reward : NULL);
            if (st != RTU_OK) {
                snprintf(reply, sizeof reply, "error %s\n", rtu_status_str(st));
                if (line_send(&io, reply) != 0) {
                    break;
                }
                continue;
            }
            rtu_ac_begin_episode(&r->ac);
            pending = 0;
            r->ep_return = 0.0;
            r->ep_length = 0;
            if (m.has_outcome && (m.terminated || m.truncated)) {
                if (line_send(&io, "reset\n") != 0) {
                    break;
                }
                continue;
            }
            m.has_outcome = 0;
        }
        /* the safe point between learn and act: a checkpoint now, or stop before acting */
        if (m.has_outcome && after_learn(r) != 0) {
            return finish(r, EXIT_IO);
        }
        if (g_stop || (r->opt.steps != 0 && r->ac.steps >= r->opt.steps)) {
            line_send(&io, "bye\n"); /* the answer to this line: no act follows */
            break;
        }
        {
            uint64_t t0 = timing_now_ns();
            st = rtu_ac_act(&r->ac, m.obs, action);
            act_ns = timing_now_ns() - t0;
        }
        if (st != RTU_OK) {
            if (st == RTU_ERR_DIVERGED) {
                return finish(r, learner_failed(r, "act", st));
            }
            snprintf(reply, sizeof reply, "error %s\n", rtu_status_str(st));
            if (line_send(&io, reply) != 0) {
                break;
            }
            continue;
        }
        if (m.has_outcome) { /* a whole step: learn on the outcome, act on its observation */
            timing_add(&r->window, learn_ns + act_ns);
            timing_add(&r->total, learn_ns + act_ns);
        }
        pending = 1;
        if (r->ac.shape.action_kind == RTU_ACTIONS_DISCRETE) {
            snprintf(reply, sizeof reply, "act %d\n", (int)action[0]);
        } else {
            size_t i, off = (size_t)snprintf(reply, sizeof reply, "act");
            for (i = 0; i < r->ac.shape.n_actions && off < sizeof reply; i++) {
                off += (size_t)snprintf(reply + off, sizeof reply - off, " %.9g",
                                        (double)action[i]);
            }
            if (off < sizeof reply - 1) {
                reply[off++] = '\n';
                reply[off] = '\0';
            }
        }
        if (line_send(&io, reply) != 0) {
            fprintf(stderr, "rtu_pi: write error: %s\n", strerror(errno));
            break;
        }
    }
    if (pending) { /* stopped while waiting for an outcome: drop that action, keep the rest */
        rtu_ac_begin_episode(&r->ac);
    }
    return finish(r, 0);
}

/* ------------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    static run r;
    struct sigaction sa;
    int code, fd = -1;
    memset(&r, 0, sizeof r);
    if (!parse_options(argc, argv, &r.opt)) {
        return EXIT_USAGE;
    }
    r.log = strcmp(r.opt.io, "stdio") == 0 ? stderr : stdout;
    setvbuf(stdout, NULL, _IOLBF, 0);

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a blocking read returns EINTR and the loop sees g_stop */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a closed pipe is a write error, handled */

    if (!setup_learner(&r)) {
        return EXIT_USAGE;
    }
    if (strcmp(r.opt.io, "sim") == 0) {
        code = run_sim(&r);
    } else if (strcmp(r.opt.io, "stdio") == 0) {
        code = run_lines(&r, STDIN_FILENO, STDOUT_FILENO);
    } else {
        fd = line_open_serial(r.opt.io, r.opt.baud);
        if (fd < 0) {
            return EXIT_IO;
        }
        fprintf(r.log, "listening on %s at %ld baud\n", r.opt.io, r.opt.baud);
        code = run_lines(&r, fd, fd);
        close(fd);
    }
    return code;
}
