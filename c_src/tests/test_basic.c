/* Status strings, the PRNG, CRC-32, and the size queries with their errors. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "fixtures.h"
#include "tests.h"

void test_status_strings(int arg)
{
    int s, t;
    const char *unknown = rtu_status_str(RTU_STATUS_COUNT);
    (void)arg;
    CHECK(unknown != NULL && strcmp(unknown, "unknown status") == 0,
          "RTU_STATUS_COUNT must map to \"unknown status\"");
    CHECK(strcmp(rtu_status_str((rtu_status)(RTU_STATUS_COUNT + 7)), "unknown status") == 0,
          "a value beyond the enum must map to \"unknown status\"");
    for (s = 0; s < (int)RTU_STATUS_COUNT; ++s) {
        const char *a = rtu_status_str((rtu_status)s);
        CHECK(a != NULL && a[0] != '\0', "status %d has an empty string", s);
        if (a == NULL) {
            continue;
        }
        CHECK(strcmp(a, unknown) != 0, "status %d is named \"unknown status\"", s);
        for (t = 0; t < s; ++t) {
            CHECK(strcmp(a, rtu_status_str((rtu_status)t)) != 0,
                  "statuses %d and %d share the string \"%s\"", t, s, a);
        }
    }
    CHECK(strcmp(rtu_status_str(RTU_OK), "ok") == 0, "RTU_OK is \"ok\"");
    check_note("%d statuses", (int)RTU_STATUS_COUNT);
}

void test_prng_golden(int arg)
{
    size_t c, i;
    rtu_prng rng;
    double normal[4];
    (void)arg;
    for (c = 0; c < GOLDEN_PRNG_SEEDS; ++c) {
        const golden_prng_case *g = &golden_prng_cases[c];
        rtu_prng_seed(&rng, g->seed);
        for (i = 0; i < GOLDEN_PRNG_U32; ++i) {
            uint32_t u = rtu_prng_next_u32(&rng);
            CHECK(u == g->u32[i], "seed %llu draw %u: %lu, reference %lu",
                  (unsigned long long)g->seed, (unsigned)i, (unsigned long)u,
                  (unsigned long)g->u32[i]);
        }
    }
    rtu_prng_seed(&rng, 42u);
    CHECK(rng.state == (uint64_t)GOLDEN_PRNG42_STATE && rng.inc == (uint64_t)GOLDEN_PRNG42_INC,
          "state and increment after seeding with 42");
    rtu_prng_seed(&rng, 7u);
    for (i = 0; i < 4; ++i) { /* uniforms are exact: integer bits + 0.5, over 2^52 */
        double u = rtu_prng_uniform(&rng);
        CHECK(u == golden_prng7_uniform[i], "seed 7 uniform %u: %.17g, reference %.17g",
              (unsigned)i, u, golden_prng7_uniform[i]);
        CHECK(u > 0.0 && u < 1.0, "uniform in the open interval (0, 1)");
    }
    for (i = 0; i < 4; ++i) {
        normal[i] = rtu_prng_normal(&rng);
    }
    /* normals go through log, sqrt and cos: the platform's libm, to an ulp or two */
    check_close_d("seed 7 normals", normal, golden_prng7_normal, 4, 1e-15);
}

void test_crc32_golden(int arg)
{
    static unsigned char data[1000];
    size_t c, k;
    (void)arg;
    for (c = 0; c < GOLDEN_CRC_CASES; ++c) {
        const golden_crc_case *g = &golden_crc_cases[c];
        if (g->bytes == 9u) {
            memcpy(data, "123456789", 9);
        } else {
            for (k = 0; k < g->bytes; ++k) {
                data[k] = (unsigned char)((7u * k + 3u) & 0xFFu);
            }
        }
        CHECK(rtu_crc32(data, g->bytes) == g->crc, "crc32 of %u bytes: %08lx, zlib %08lx",
              (unsigned)g->bytes, (unsigned long)rtu_crc32(data, g->bytes),
              (unsigned long)g->crc);
    }
}

/* The largest learners of the size cases, in static buffers (the LRU's, with its readout). */
#define BIG_TD_REALS RTU_TD_REALS(RTU_KIND_LRU, 16, 64)
#define BIG_AC_REALS RTU_AC_REALS(RTU_KIND_LRU, 5, 32, 16, 16, 0, 1, 1, RTU_ACTIONS_CONTINUOUS, 4)
static rtu_real big_buffer[BIG_TD_REALS > BIG_AC_REALS ? BIG_TD_REALS : BIG_AC_REALS];

void test_cell_sizes(int arg)
{
    size_t c;
    (void)arg;
    for (c = 0; c < GOLDEN_SIZE_CASES; ++c) {
        const golden_size_case *g = &golden_size_cases[c];
        rtu_kind kind = (rtu_kind)g->kind;
        size_t bytes = 0, want = sizeof(rtu_real) * (size_t)g->cell_reals;
        CHECK_STATUS(rtu_cell_buffer_size(kind, g->n_in, g->n_hidden, &bytes), RTU_OK);
        CHECK(bytes == want, "cell kind %d n_in %u n_hidden %u: %lu bytes, reference %lu", g->kind,
              g->n_in, g->n_hidden, (unsigned long)bytes, (unsigned long)want);
        CHECK(RTU_CELL_BUFFER_BYTES(kind, g->n_in, g->n_hidden) == want,
              "RTU_CELL_BUFFER_BYTES differs from the reference");
        CHECK(RTU_CELL_REALS(kind, g->n_in, g->n_hidden) == (size_t)g->cell_reals,
              "RTU_CELL_REALS differs from the reference");
        CHECK(RTU_CELL_PARAMS(kind, g->n_in, g->n_hidden) == (size_t)g->cell_params,
              "RTU_CELL_PARAMS differs from the reference");
    }
    /* the README's figures: n = 64, d = 16, float: 20,992 bytes linear, 29,184 nonlinear */
    CHECK(RTU_CELL_REALS(RTU_KIND_LINEAR, 16, 64) * 4u == 20992u, "README: 20,992 bytes");
    CHECK(RTU_CELL_REALS(RTU_KIND_NONLINEAR, 16, 64) * 4u == 29184u, "README: 29,184 bytes");
}

void test_learner_sizes(int arg)
{
    size_t c;
    rtu_prng rng;
    rtu_td td;
    rtu_ac ac;
    rtu_td_config td_cfg = {0.9f, 0.9f, 1.0f, 2.0f, RTU_OPT_OBGD};
    rtu_ac_config ac_cfg = rtu_ac_default_config();
    (void)arg;
    for (c = 0; c < GOLDEN_SIZE_CASES; ++c) {
        const golden_size_case *g = &golden_size_cases[c];
        rtu_kind kind = (rtu_kind)g->kind;
        size_t bytes = 0, want = sizeof(rtu_real) * (size_t)g->td_reals;
        size_t ckpt = sizeof(rtu_real) == 4 ? (size_t)g->td_ckpt_f32 : (size_t)g->td_ckpt_f64;
        CHECK_STATUS(rtu_td_buffer_size(kind, g->n_in, g->n_hidden, &bytes), RTU_OK);
        CHECK(bytes == want, "TD kind %d n_in %u n_hidden %u: %lu bytes, reference %lu", g->kind,
              g->n_in, g->n_hidden, (unsigned long)bytes, (unsigned long)want);
        CHECK(RTU_TD_BUFFER_BYTES(kind, g->n_in, g->n_hidden) == want, "RTU_TD_BUFFER_BYTES");
        CHECK(RTU_TD_CHECKPOINT_BYTES(kind, g->n_in, g->n_hidden) == ckpt,
              "RTU_TD_CHECKPOINT_BYTES %lu, Python %lu",
              (unsigned long)RTU_TD_CHECKPOINT_BYTES(kind, g->n_in, g->n_hidden),
              (unsigned long)ckpt);
        if (want <= sizeof big_buffer) {
            rtu_prng_seed(&rng, 1u);
            CHECK_STATUS(rtu_td_init(&td, kind, RTU_ACT_TANH, g->n_in, g->n_hidden, &td_cfg, &rng,
                                     big_buffer, want),
                         RTU_OK);
            bytes = 0;
            CHECK_STATUS(rtu_td_checkpoint_size(&td, &bytes), RTU_OK);
            CHECK(bytes == ckpt, "rtu_td_checkpoint_size %lu, Python %lu", (unsigned long)bytes,
                  (unsigned long)ckpt);
        } else {
            CHECK(0, "test buffer too small for TD size case %u", (unsigned)c);
        }
    }
    for (c = 0; c < GOLDEN_AC_SIZE_CASES; ++c) {
        const golden_ac_size_case *g = &golden_ac_size_cases[c];
        rtu_ac_shape s = fix_shape(&g->shape);
        size_t bytes = 0, want = sizeof(rtu_real) * (size_t)g->ac_reals, macro, checkpoint;
        size_t ckpt = sizeof(rtu_real) == 4 ? (size_t)g->ac_ckpt_f32 : (size_t)g->ac_ckpt_f64;
        CHECK_STATUS(rtu_ac_buffer_size(&s, &bytes), RTU_OK);
        CHECK(bytes == want, "AC case %u: %lu bytes, reference %lu", (unsigned)c,
              (unsigned long)bytes, (unsigned long)want);
        CHECK(RTU_AC_BUFFER_BYTES(s.kind, s.n_obs, s.n_hidden, s.n_embed, s.n_head, s.shared,
                                  s.prev_action, s.prev_reward, s.action_kind,
                                  s.n_actions) == want,
              "RTU_AC_BUFFER_BYTES");
        macro = RTU_AC_CHECKPOINT_BYTES(s.kind, s.n_obs, s.n_hidden, s.n_embed, s.n_head,
                                        s.shared, s.prev_action, s.prev_reward, s.action_kind,
                                        s.n_actions);
        CHECK(macro == ckpt, "AC case %u: RTU_AC_CHECKPOINT_BYTES %lu, Python %lu", (unsigned)c,
              (unsigned long)macro, (unsigned long)ckpt);
        if (want <= sizeof big_buffer) {
            CHECK_STATUS(rtu_ac_init(&ac, &s, &ac_cfg, 3u, big_buffer, want), RTU_OK);
            checkpoint = 0;
            CHECK_STATUS(rtu_ac_checkpoint_size(&ac, &checkpoint), RTU_OK);
            CHECK(checkpoint == ckpt && checkpoint == macro,
                  "AC case %u: rtu_ac_checkpoint_size %lu, RTU_AC_CHECKPOINT_BYTES %lu, "
                  "Python %lu", (unsigned)c, (unsigned long)checkpoint, (unsigned long)macro,
                  (unsigned long)ckpt);
        } else {
            CHECK(0, "test buffer too small for AC size case %u", (unsigned)c);
        }
    }
}

/* A valid actor-critic shape: 3 observations, 4 units, 2 discrete actions, every layer. */
static rtu_ac_shape good_shape(void)
{
    rtu_ac_shape s;
    s.kind = RTU_KIND_LINEAR;
    s.activation = RTU_ACT_RELU;
    s.n_obs = 3;
    s.n_hidden = 4;
    s.n_embed = 5;
    s.n_head = 6;
    s.shared = 0;
    s.prev_action = 1;
    s.prev_reward = 1;
    s.memoryless = 0;
    s.action_kind = RTU_ACTIONS_DISCRETE;
    s.n_actions = 2;
    return s;
}

/* rtu_ac_buffer_size refuses the shape s with want and leaves bytes alone. */
#define AC_SIZE_REFUSED(want)                                                                       \
    do {                                                                                            \
        bytes = 12345u;                                                                             \
        CHECK_STATUS(rtu_ac_buffer_size(&s, &bytes), want);                                         \
        CHECK(bytes == 12345u, "a refused size query must not write bytes");                       \
    } while (0)

void test_size_errors(int arg)
{
    size_t bytes = 12345u;
    (void)arg;
    CHECK_STATUS(rtu_cell_buffer_size(RTU_KIND_LINEAR, 3, 4, NULL), RTU_ERR_NULL);
    CHECK_STATUS(rtu_cell_buffer_size(RTU_KIND_LINEAR, 0, 4, &bytes), RTU_ERR_SIZE);
    CHECK_STATUS(rtu_cell_buffer_size(RTU_KIND_LINEAR, 3, 0, &bytes), RTU_ERR_SIZE);
    CHECK_STATUS(rtu_cell_buffer_size(RTU_KIND_NONLINEAR, RTU_MAX_DIM + 1u, 4, &bytes),
                 RTU_ERR_SIZE);
    CHECK_STATUS(rtu_cell_buffer_size(RTU_KIND_NONLINEAR, 3, RTU_MAX_DIM + 1u, &bytes),
                 RTU_ERR_SIZE);
    CHECK_STATUS(rtu_cell_buffer_size((rtu_kind)3, 3, 4, &bytes), RTU_ERR_KIND);
    CHECK(bytes == 12345u, "a refused size query must not write bytes");
    CHECK_STATUS(rtu_td_buffer_size(RTU_KIND_LINEAR, 0, 4, &bytes), RTU_ERR_SIZE);
    CHECK_STATUS(rtu_td_buffer_size((rtu_kind)5, 3, 4, &bytes), RTU_ERR_KIND);
    CHECK_STATUS(rtu_td_buffer_size(RTU_KIND_LINEAR, 3, 4, NULL), RTU_ERR_NULL);
    CHECK(bytes == 12345u, "a refused size query must not write bytes");
    {
        const rtu_ac_shape good = good_shape();
        rtu_ac_shape s = good;
        CHECK_STATUS(rtu_ac_buffer_size(&s, NULL), RTU_ERR_NULL);
        CHECK_STATUS(rtu_ac_buffer_size(NULL, &bytes), RTU_ERR_NULL);
        s.n_actions = 1;                       AC_SIZE_REFUSED(RTU_ERR_ACTION);
        s = good; s.action_kind = RTU_ACTIONS_CONTINUOUS; s.n_actions = 0;
        AC_SIZE_REFUSED(RTU_ERR_ACTION);
        s = good; s.action_kind = (rtu_action_kind)2; AC_SIZE_REFUSED(RTU_ERR_ACTION);
        s = good; s.n_actions = RTU_MAX_DIM + 1u; AC_SIZE_REFUSED(RTU_ERR_ACTION);
        s = good; s.n_obs = 0;                 AC_SIZE_REFUSED(RTU_ERR_SIZE);
        s = good; s.n_hidden = 0;              AC_SIZE_REFUSED(RTU_ERR_SIZE);
        s = good; s.n_embed = RTU_MAX_DIM + 1u; AC_SIZE_REFUSED(RTU_ERR_SIZE);
        s = good; s.n_head = RTU_MAX_DIM + 1u; AC_SIZE_REFUSED(RTU_ERR_SIZE);
        s = good; s.n_embed = 1;               AC_SIZE_REFUSED(RTU_ERR_SIZE);
        s = good; s.n_head = 1;                AC_SIZE_REFUSED(RTU_ERR_SIZE);
        /* n_obs within RTU_MAX_DIM, the network's input n_x = n_obs + A + 1 beyond it */
        s = good; s.n_obs = RTU_MAX_DIM; s.n_embed = 0; AC_SIZE_REFUSED(RTU_ERR_SIZE);
        s = good; s.n_obs = RTU_MAX_DIM; AC_SIZE_REFUSED(RTU_ERR_SIZE);
        s.prev_action = s.prev_reward = 0;
        CHECK_STATUS(rtu_ac_buffer_size(&s, &bytes), RTU_OK);
        s = good; s.shared = 2;                AC_SIZE_REFUSED(RTU_ERR_SIZE);
        s = good; s.prev_reward = -1;          AC_SIZE_REFUSED(RTU_ERR_SIZE);
        s = good; s.prev_reward = RTU_REWARD_GATED_SIGN + 1; AC_SIZE_REFUSED(RTU_ERR_SIZE);
        s.prev_reward = RTU_REWARD_GATED_SIGN; /* every rtu_reward_input is a shape */
        CHECK_STATUS(rtu_ac_buffer_size(&s, &bytes), RTU_OK);
        s.prev_reward = RTU_REWARD_CENTERED_SIGN;
        CHECK_STATUS(rtu_ac_buffer_size(&s, &bytes), RTU_OK);
        s.prev_reward = RTU_REWARD_SIGN;
        CHECK_STATUS(rtu_ac_buffer_size(&s, &bytes), RTU_OK);
        s = good; s.memoryless = 2;            AC_SIZE_REFUSED(RTU_ERR_SIZE);
        s.memoryless = 1; /* with prev_*: the past's last step as input, no memory */
        CHECK_STATUS(rtu_ac_buffer_size(&s, &bytes), RTU_OK);
        s = good; s.kind = (rtu_kind)3;        AC_SIZE_REFUSED(RTU_ERR_KIND);
        s = good; s.activation = (rtu_activation)3; AC_SIZE_REFUSED(RTU_ERR_ACTIVATION);
    }
}

/* A size query either refuses a configuration or gives its true size: never a size that wrapped
 * around size_t (with a 32-bit size_t, RTU_MAX_DIM = 65536 allows n_in * n_hidden = 2^32). */
void test_size_no_wrap(int arg)
{
    static const struct { rtu_kind kind; size_t n_in, n_hidden; } cases[] = {
        {RTU_KIND_NONLINEAR, 65536u, 65536u}, {RTU_KIND_LINEAR, 16384u, 16384u},
        {RTU_KIND_LINEAR, 65536u, 4096u}, {RTU_KIND_NONLINEAR, 1000u, 1000u},
        {RTU_KIND_LRU, 16u, 32768u}, {RTU_KIND_LRU, 1000u, 1000u}};
    size_t c;
    (void)arg;
    for (c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
        double n = (double)cases[c].n_hidden, d = (double)cases[c].n_in;
        double reals = 18.0 * n + (cases[c].kind == RTU_KIND_NONLINEAR ? 6.0 : 4.0) * n * d;
        if (cases[c].kind == RTU_KIND_LRU) { /* readout 4n^2 + 2nd, x (d) */
            reals += 4.0 * n * n + 2.0 * n * d + d;
        }
        double want = (double)sizeof(rtu_real) * reals;
        size_t bytes = 0;
        rtu_status status = rtu_cell_buffer_size(cases[c].kind, cases[c].n_in, cases[c].n_hidden,
                                                 &bytes);
        CHECK(status != RTU_OK || (double)bytes == want,
              "cell n_in %lu n_hidden %lu: status ok with %lu bytes; the true size is %.0f",
              (unsigned long)cases[c].n_in, (unsigned long)cases[c].n_hidden,
              (unsigned long)bytes, want);
    }
    check_note("size_t is %u bits", (unsigned)(8u * sizeof(size_t)));
}

void test_init_errors(int arg)
{
    static rtu_real buf[RTU_CELL_REALS(RTU_KIND_NONLINEAR, 3, 4) + 1];
    static rtu_real cell_before[RTU_CELL_REALS(RTU_KIND_NONLINEAR, 3, 4) + 1];
    size_t need = RTU_CELL_BUFFER_BYTES(RTU_KIND_NONLINEAR, 3, 4);
    rtu_cell cell;
    rtu_prng rng, rng_before;
    rtu_td td;
    rtu_ac ac;
    rtu_td_config td_cfg = {0.9f, 0.9f, 1.0f, 2.0f, RTU_OPT_OBGD};
    rtu_ac_config ac_cfg = rtu_ac_default_config();
    rtu_ac_shape ac_shape = good_shape();
    static rtu_real ac_buf[FIX_AC_REALS];
    static rtu_real td_buf[FIX_TD_REALS];
    (void)arg;
    rtu_prng_seed(&rng, 0u);
    CHECK_STATUS(rtu_cell_init(NULL, RTU_KIND_NONLINEAR, RTU_ACT_RELU, 3, 4, buf, need),
                 RTU_ERR_NULL);
    CHECK_STATUS(rtu_cell_init(&cell, RTU_KIND_NONLINEAR, RTU_ACT_RELU, 3, 4, NULL, need),
                 RTU_ERR_NULL);
    CHECK_STATUS(rtu_cell_init(&cell, RTU_KIND_NONLINEAR, RTU_ACT_RELU, 3, 4, buf, need - 1u),
                 RTU_ERR_BUFFER_SMALL);
    CHECK_STATUS(rtu_cell_init(&cell, RTU_KIND_NONLINEAR, RTU_ACT_RELU, 3, 4,
                               (unsigned char *)buf + 1, need),
                 RTU_ERR_BUFFER_ALIGN);
    CHECK_STATUS(rtu_cell_init(&cell, RTU_KIND_NONLINEAR, (rtu_activation)3, 3, 4, buf, need),
                 RTU_ERR_ACTIVATION);
    CHECK_STATUS(rtu_cell_init(&cell, (rtu_kind)9, RTU_ACT_RELU, 3, 4, buf, need), RTU_ERR_KIND);
    CHECK_STATUS(rtu_cell_init(&cell, RTU_KIND_NONLINEAR, RTU_ACT_RELU, 0, 4, buf, need),
                 RTU_ERR_SIZE);
    CHECK_STATUS(rtu_cell_init(&cell, RTU_KIND_NONLINEAR, RTU_ACT_RELU, 3, 4, buf, need), RTU_OK);
    CHECK_STATUS(rtu_cell_init_params(&cell, &rng, 0.5, 0.5, 6.28), RTU_ERR_INIT_RANGE);
    CHECK_STATUS(rtu_cell_init_params(&cell, &rng, 0.0, 1.5, 6.28), RTU_ERR_INIT_RANGE);
    CHECK_STATUS(rtu_cell_init_params(&cell, &rng, 0.0, 1.0, 0.0), RTU_ERR_INIT_RANGE);
    /* a phase whose log is beyond RTU_LOG_PARAM_LIMIT: refused before anything is drawn */
    rng_before = rng;
    memcpy(cell_before, buf, need);
    CHECK_STATUS(rtu_cell_init_params(&cell, &rng, 0.0, 1.0, 1e300), RTU_ERR_INIT_RANGE);
    CHECK_STATUS(rtu_cell_init_params(&cell, &rng, 0.0, 1.0, exp(RTU_LOG_PARAM_LIMIT) * 1.01),
                 RTU_ERR_INIT_RANGE);
    CHECK_STATUS(rtu_cell_init_params(&cell, &rng, 0.0, 1.0, 1e-12), RTU_ERR_INIT_RANGE);
    CHECK(memcmp(cell_before, buf, need) == 0 && rng.state == rng_before.state,
          "a refused initialisation changed the cell or drew from the generator");
    CHECK_STATUS(rtu_cell_init_params(&cell, NULL, 0.0, 1.0, 6.28), RTU_ERR_NULL);
    CHECK_STATUS(rtu_cell_init_params(&cell, &rng, 0.0, 1.0, 6.28), RTU_OK);

    CHECK_STATUS(rtu_td_init(&td, RTU_KIND_LINEAR, RTU_ACT_RELU, 3, 4, &td_cfg, &rng, td_buf,
                             RTU_TD_BUFFER_BYTES(RTU_KIND_LINEAR, 3, 4) - 1u),
                 RTU_ERR_BUFFER_SMALL);
    td_cfg.gamma = 1.5f;
    CHECK_STATUS(rtu_td_init(&td, RTU_KIND_LINEAR, RTU_ACT_RELU, 3, 4, &td_cfg, &rng, td_buf,
                             sizeof td_buf),
                 RTU_ERR_CONFIG);
    td_cfg.gamma = 0.9f;
    td_cfg.optimizer = (rtu_optimizer)7;
    CHECK_STATUS(rtu_td_init(&td, RTU_KIND_LINEAR, RTU_ACT_RELU, 3, 4, &td_cfg, &rng, td_buf,
                             sizeof td_buf),
                 RTU_ERR_CONFIG);

    ac_shape.n_obs = GOLDEN_AC_N_IN;
    ac_shape.n_hidden = GOLDEN_N_HIDDEN;
    CHECK_STATUS(rtu_ac_init(&ac, &ac_shape, &ac_cfg, 1u, ac_buf,
                             RTU_AC_BUFFER_BYTES(ac_shape.kind, ac_shape.n_obs, ac_shape.n_hidden,
                                                 ac_shape.n_embed, ac_shape.n_head,
                                                 ac_shape.shared, ac_shape.prev_action,
                                                 ac_shape.prev_reward, ac_shape.action_kind,
                                                 ac_shape.n_actions) -
                                 1u),
                 RTU_ERR_BUFFER_SMALL);
    CHECK_STATUS(rtu_ac_init(&ac, &ac_shape, &ac_cfg, 1u, (unsigned char *)ac_buf + 1,
                             sizeof ac_buf - sizeof(rtu_real)),
                 RTU_ERR_BUFFER_ALIGN);
    CHECK_STATUS(rtu_ac_init(&ac, NULL, &ac_cfg, 1u, ac_buf, sizeof ac_buf), RTU_ERR_NULL);
    CHECK_STATUS(rtu_ac_init(&ac, &ac_shape, &ac_cfg, 1u, ac_buf, sizeof ac_buf), RTU_OK);
    ac_shape.n_actions = 1;
    CHECK_STATUS(rtu_ac_init(&ac, &ac_shape, &ac_cfg, 1u, ac_buf, sizeof ac_buf),
                 RTU_ERR_ACTION);
    ac_shape.n_actions = 2;
    ac_cfg.entropy_coef = -1.0f;
    CHECK_STATUS(rtu_ac_init(&ac, &ac_shape, &ac_cfg, 1u, ac_buf, sizeof ac_buf),
                 RTU_ERR_CONFIG);
}

/* check (rtu_td_check_config or rtu_ac_check_config) accepts the config c and leaves *what alone;
 * it refuses a NULL config. */
#define CHECK_ACCEPTED(check, c)                                                                    \
    do {                                                                                            \
        const char *what_ = "untouched";                                                            \
        CHECK_STATUS(check(&(c), &what_), RTU_OK);                                                  \
        CHECK(strcmp(what_, "untouched") == 0, "%s: an accepted config changed what", #check);      \
        CHECK_STATUS(check(NULL, &what_), RTU_ERR_NULL);                                            \
    } while (0)
/* check refuses the config c, with what and without, and names want in what. */
#define CHECK_REFUSED(check, c, want)                                                               \
    do {                                                                                            \
        const char *what_ = NULL;                                                                   \
        CHECK_STATUS(check(&(c), &what_), RTU_ERR_CONFIG);                                          \
        CHECK_STATUS(check(&(c), NULL), RTU_ERR_CONFIG);                                            \
        CHECK(what_ != NULL && strcmp(what_, want) == 0, "%s: what is \"%s\", expected \"%s\"",     \
              #check, what_ != NULL ? what_ : "(null)", want);                                      \
    } while (0)
#define TD_ACCEPTED() CHECK_ACCEPTED(rtu_td_check_config, c)
#define TD_REFUSED(want) CHECK_REFUSED(rtu_td_check_config, c, want)
#define AC_ACCEPTED() CHECK_ACCEPTED(rtu_ac_check_config, c)
#define AC_REFUSED(want) CHECK_REFUSED(rtu_ac_check_config, c, want)

void test_td_check_config(int arg)
{
    const rtu_td_config good = {0.9f, 0.8f, 1.0f, 2.0f, RTU_OPT_OBGD};
    rtu_td_config c = good;
    (void)arg;
    TD_ACCEPTED();
    c.gamma = 0; c.lambda = 1;     TD_ACCEPTED();
    c = good; c.gamma = 1.5f;      TD_REFUSED("gamma");
    c = good; c.gamma = -0.1f;     TD_REFUSED("gamma");
    c = good; c.gamma = (rtu_real)NAN; TD_REFUSED("gamma");
    c = good; c.lambda = 1.01f;    TD_REFUSED("lambda");
    c = good; c.alpha = 0;         TD_REFUSED("alpha");
    c = good; c.alpha = (rtu_real)INFINITY; TD_REFUSED("alpha");
    c = good; c.kappa = 0;         TD_REFUSED("kappa");
    c = good; c.kappa = (rtu_real)NAN; TD_REFUSED("kappa");
    c = good; c.optimizer = (rtu_optimizer)7; TD_REFUSED("optimizer");
    /* SGD has no kappa rule */
    c = good; c.optimizer = RTU_OPT_SGD; c.kappa = -1; TD_ACCEPTED();
    /* the first faulty field, in the order of rtu_td.h's rules */
    c.optimizer = (rtu_optimizer)7; TD_REFUSED("optimizer");
    c = good; c.lambda = 2; c.kappa = -1; TD_REFUSED("lambda");
    c = good; c.gamma = 2; c.alpha = -1;  TD_REFUSED("gamma");
}

void test_ac_check_config(int arg)
{
    const rtu_ac_config good = rtu_ac_default_config();
    rtu_ac_config c = good;
    (void)arg;
    AC_ACCEPTED();
    c.entropy_coef = 0;            AC_ACCEPTED();
    c = good; c.gamma = (rtu_real)NAN; AC_REFUSED("gamma");
    c = good; c.lambda = -1;       AC_REFUSED("lambda");
    c = good; c.alpha = -1;        AC_REFUSED("alpha");
    c = good; c.kappa_value = 0;   AC_REFUSED("kappa_value");
    c = good; c.kappa_policy = (rtu_real)INFINITY; AC_REFUSED("kappa_policy");
    c = good; c.entropy_coef = -0.01f; AC_REFUSED("entropy_coef");
    c = good; c.entropy_coef = (rtu_real)NAN; AC_REFUSED("entropy_coef");
    c = good; c.optimizer = (rtu_optimizer)2; AC_REFUSED("optimizer");
    /* SGD has no kappa rules */
    c = good; c.optimizer = RTU_OPT_SGD; c.kappa_value = c.kappa_policy = -1; AC_ACCEPTED();
    /* the first faulty field, in the order of the struct (rtu_config.h's lists) */
    c = good; c.kappa_policy = 0; c.entropy_coef = -1; AC_REFUSED("kappa_policy");
    c = good; c.kappa_value = 0; c.kappa_policy = 0;   AC_REFUSED("kappa_value");
    c = good; c.alpha = 0; c.kappa_value = 0;          AC_REFUSED("alpha");
    c = good; c.sparsity = 1;      AC_ACCEPTED();
    c = good; c.sparsity = 1.5f;   AC_REFUSED("sparsity");
    c = good; c.std_min = 0;       AC_REFUSED("std_min");
    c = good; c.std_max = (rtu_real)NAN; AC_REFUSED("std_max");
    c = good; c.std_max = c.std_min; AC_REFUSED("std_max"); /* std_max must exceed std_min */
    c = good; c.phase_step_scale = 0; AC_ACCEPTED();
    c = good; c.phase_step_scale = 1; AC_ACCEPTED();
    c = good; c.phase_step_scale = 1.5f; AC_REFUSED("phase_step_scale");
    c = good; c.phase_step_scale = -0.1f; AC_REFUSED("phase_step_scale");
    c = good; c.phase_step_scale = (rtu_real)NAN; AC_REFUSED("phase_step_scale");
}
