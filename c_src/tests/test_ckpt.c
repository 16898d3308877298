/* Checkpoints: Python-written checkpoints load and save back to the same bytes and resume the
 * reference's run; C save/load round trips are exact for every
 * shape of the streaming network, the forward activations recomputed bit for bit; corrupted,
 * truncated, patched or mismatched checkpoints are refused, name their first faulty field and
 * leave the learner untouched. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "fixtures.h"
#include "tests.h"

#define CKPT_MAX 16384u /* bytes; every checkpoint here is smaller (checked) */
#define R ((size_t)sizeof(rtu_real))
#define HEADER RTU_CKPT_HEADER_BYTES

static rtu_real buf_a[FIX_AC_REALS > FIX_TD_REALS ? FIX_AC_REALS : FIX_TD_REALS];
static rtu_real buf_b[sizeof buf_a / sizeof buf_a[0]];
static rtu_real snapshot[sizeof buf_a / sizeof buf_a[0]];
static unsigned char ck1[CKPT_MAX], ck2[CKPT_MAX], work[CKPT_MAX + 16];
static const char *const kind_names[] = GOLDEN_KIND_NAMES;

static void put_u32(unsigned char *p, uint32_t v)
{
    size_t i;
    for (i = 0; i < 4; ++i) {
        p[i] = (unsigned char)(v >> (8u * i));
    }
}

static void put_u64(unsigned char *p, uint64_t v)
{
    put_u32(p, (uint32_t)(v & 0xFFFFFFFFu));
    put_u32(p + 4, (uint32_t)(v >> 32));
}

static void put_real(unsigned char *p, rtu_real v)
{
    memcpy(p, &v, sizeof v); /* little-endian targets only (checked) */
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    size_t i;
    for (i = 8; i-- > 0;) {
        v = (v << 8) | p[i];
    }
    return v;
}

static rtu_real get_real(const unsigned char *p)
{
    rtu_real v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Re-seal work[0, bytes) with a correct CRC. */
static void reseal(size_t bytes)
{
    put_u32(work + bytes - 4u, rtu_crc32(work, bytes - 4u));
}

static const unsigned char *td_golden(size_t *bytes, int other)
{
    int f32 = (sizeof(rtu_real) == 4) != (other != 0);
    *bytes = f32 ? golden_td_ckpt_f32_bytes : golden_td_ckpt_f64_bytes;
    return f32 ? golden_td_ckpt_f32 : golden_td_ckpt_f64;
}

static const unsigned char *ac_golden(int i, size_t *bytes, int other)
{
    int f32 = (sizeof(rtu_real) == 4) != (other != 0);
    *bytes = f32 ? golden_ac_ckpts[i].f32_bytes : golden_ac_ckpts[i].f64_bytes;
    return f32 ? golden_ac_ckpts[i].f32 : golden_ac_ckpts[i].f64;
}

static int same_shape(const rtu_ac_shape *a, const rtu_ac_shape *b)
{
    return a->kind == b->kind && a->activation == b->activation && a->n_obs == b->n_obs &&
           a->n_hidden == b->n_hidden && a->n_embed == b->n_embed && a->n_head == b->n_head &&
           a->shared == b->shared && a->prev_action == b->prev_action &&
           a->prev_reward == b->prev_reward && a->memoryless == b->memoryless &&
           a->action_kind == b->action_kind && a->n_actions == b->n_actions;
}

void test_td_ckpt_from_python(int arg)
{
    const int c = GOLDEN_TD_CKPT_CASE;
    const golden_td_case *g = &golden_td_cases[c];
    static rtu_real predictions[GOLDEN_TD_STEPS];
    rtu_real params[FIX_TD_MAX_PARAMS], x[GOLDEN_N_IN], cumulant;
    size_t bytes, other_bytes, written = 0;
    size_t p_cell = RTU_CELL_PARAMS(g->kind, GOLDEN_N_IN, GOLDEN_N_HIDDEN);
    size_t p = RTU_TD_PARAMS(g->kind, GOLDEN_N_IN, GOLDEN_N_HIDDEN);
    const unsigned char *data = td_golden(&bytes, 0), *other = td_golden(&other_bytes, 1);
    size_t header = HEADER;
    rtu_ckpt_header h;
    rtu_ckpt_dims d;
    rtu_td td;
    rtu_prng rng;
    unsigned t;
    (void)arg;
    CHECK_STATUS(rtu_ckpt_inspect(data, bytes, &h), RTU_OK);
    CHECK(h.version == RTU_CKPT_VERSION && h.header_bytes == header &&
              h.learner_type == RTU_LEARNER_TD && h.precision == R &&
              h.kind == (uint32_t)g->kind && h.activation == (uint32_t)g->activation &&
              h.n_in == GOLDEN_N_IN && h.n_hidden == GOLDEN_N_HIDDEN &&
              h.optimizer == (uint32_t)g->optimizer && h.steps == GOLDEN_CKPT_STEP &&
              h.payload_bytes + header + RTU_CKPT_CRC_BYTES == bytes && h.n_embed == 0 &&
              h.n_actions == 0,
          "rtu_ckpt_inspect reads the Python header");
    CHECK_STATUS(rtu_ckpt_read_dims(data, bytes, &d), RTU_OK);
    CHECK(d.version == h.version && d.learner_type == RTU_LEARNER_TD &&
              d.kind == (rtu_kind)g->kind && d.n_in == GOLDEN_N_IN && d.n_hidden == GOLDEN_N_HIDDEN && d.bytes == bytes &&
              d.shape.n_obs == GOLDEN_N_IN && d.shape.n_actions == 0 && d.shape.n_embed == 0,
          "rtu_ckpt_read_dims reads the Python checkpoint");
    CHECK_STATUS(fix_td_make(c, 999u, &td, buf_a), RTU_OK);
    CHECK_STATUS(rtu_td_load(&td, other, other_bytes), RTU_ERR_CKPT_MISMATCH); /* precision */
    CHECK_STATUS(rtu_td_load(&td, data, bytes), RTU_OK);
    CHECK(td.steps == GOLDEN_CKPT_STEP, "steps after load: %lu", (unsigned long)td.steps);
    /* saved again: exactly Python's bytes */
    CHECK_STATUS(rtu_td_save(&td, ck1, sizeof ck1, &written), RTU_OK);
    CHECK(written == bytes && memcmp(ck1, data, bytes) == 0,
          "rtu_td_save after loading Python's checkpoint wrote other bytes (%lu, Python %lu)",
          (unsigned long)written, (unsigned long)bytes);
    /* and the run continues as the reference's did */
    rtu_prng_seed(&rng, g->input_seed);
    for (t = 0; t < GOLDEN_CKPT_STEP; ++t) {
        fix_td_input(&rng, t, x, &cumulant);
    }
    CHECK_STATUS(fix_td_steps(&td, &rng, GOLDEN_CKPT_STEP, GOLDEN_TD_STEPS, predictions, NULL),
                 RTU_OK);
    check_close("predictions after resuming", predictions, g->predictions + GOLDEN_CKPT_STEP,
                GOLDEN_TD_STEPS - GOLDEN_CKPT_STEP, TOL);
    memcpy(params, td.cell.params, R * p_cell);
    memcpy(params + p_cell, td.head, R * (p - p_cell));
    check_close("cell params and head at the end", params, g->params + (GOLDEN_TD_MARKS - 1) * p,
                p, TOL);
    check_note("version %u, %lu bytes", (unsigned)h.version, (unsigned long)bytes);
}

void test_ac_ckpt_from_python(int i)
{
    const int c = golden_ac_ckpts[i].ac_case;
    const golden_ac_case *g = &golden_ac_cases[c];
    static rtu_real actions[GOLDEN_AC_STEPS * FIX_AC_MAX_ACTIONS], values[GOLDEN_AC_STEPS];
    static rtu_real params[FIX_AC_REALS];
    size_t bytes, other_bytes, written = 0, n_params, k, t;
    size_t steps = GOLDEN_AC_STEPS - GOLDEN_CKPT_STEP, same = 0;
    const unsigned char *data = ac_golden(i, &bytes, 0), *other = ac_golden(i, &other_bytes, 1);
    rtu_ac_shape shape = fix_ac_shape(c);
    rtu_ckpt_dims d;
    rtu_ac ac;
    fix_env env;
    CHECK_STATUS(rtu_ckpt_read_dims(data, bytes, &d), RTU_OK);
    CHECK(d.learner_type == RTU_LEARNER_ACTOR_CRITIC && d.precision == R && d.bytes == bytes &&
              d.steps == GOLDEN_CKPT_STEP && d.n_in == GOLDEN_AC_N_IN &&
              same_shape(&d.shape, &shape),
          "rtu_ckpt_read_dims reads the shape of the Python checkpoint");
    CHECK_STATUS(fix_ac_make(c, 999u, &ac, buf_a), RTU_OK);
    k = fix_ac_action_reals(&ac);
    CHECK_STATUS(rtu_ac_load(&ac, other, other_bytes), RTU_ERR_CKPT_MISMATCH);
    CHECK_STATUS(rtu_ac_load(&ac, data, bytes), RTU_OK);
    CHECK(ac.steps == GOLDEN_CKPT_STEP && ac.fed == 1, "steps after load: %lu, fed %d",
          (unsigned long)ac.steps, ac.fed);
    CHECK_STATUS(rtu_ac_save(&ac, ck1, sizeof ck1, &written), RTU_OK);
    CHECK(written == bytes && memcmp(ck1, data, bytes) == 0,
          "rtu_ac_save after loading Python's checkpoint wrote other bytes (%lu, Python %lu)",
          (unsigned long)written, (unsigned long)bytes);
    fix_env_start(&env, g->env_seed);
    fix_env_advance(&env, GOLDEN_CKPT_STEP);
    CHECK_STATUS(fix_ac_steps(&ac, &env, GOLDEN_CKPT_STEP, GOLDEN_AC_STEPS, actions, values),
                 RTU_OK);
    if (g->shape.action_kind == RTU_ACTIONS_DISCRETE) {
        for (t = 0; t < steps; ++t) {
            same += (double)actions[t] == g->actions[GOLDEN_CKPT_STEP + t];
        }
        CHECK(same == steps, "%u of %u actions after resuming as the reference's",
              (unsigned)same, (unsigned)steps);
    } else {
        check_close("actions after resuming", actions, g->actions + GOLDEN_CKPT_STEP * k,
                    steps * k, TOL);
    }
    check_close("v(s_t) after resuming", values, g->values + GOLDEN_CKPT_STEP, steps, TOL);
    n_params = fix_ac_params(&ac, params);
    check_close("every parameter at the end", params, g->end, n_params, TOL);
    check_note("AC case %d, %lu bytes", c, (unsigned long)bytes);
}

/* Save, load into a learner initialised from another seed, save again: the same bytes; both then
 * run on bit for bit. */
void test_td_ckpt_roundtrip(int c)
{
    const golden_td_case *g = &golden_td_cases[c];
    static rtu_real pa[60], pb[60];
    size_t size = 0, wa = 0, wb = 0;
    size_t reals = RTU_TD_REALS(g->kind, GOLDEN_N_IN, GOLDEN_N_HIDDEN);
    rtu_td a, b;
    rtu_prng rng_a, rng_b;
    CHECK_STATUS(fix_td_make(c, g->seed, &a, buf_a), RTU_OK);
    CHECK_STATUS(fix_td_make(c, 4242u, &b, buf_b), RTU_OK);
    rtu_prng_seed(&rng_a, g->input_seed);
    CHECK_STATUS(fix_td_steps(&a, &rng_a, 0, 137, NULL, NULL), RTU_OK);
    CHECK_STATUS(rtu_td_checkpoint_size(&a, &size), RTU_OK);
    CHECK(size <= CKPT_MAX, "checkpoint of %lu bytes", (unsigned long)size);
    CHECK(size == RTU_TD_CHECKPOINT_BYTES(g->kind, GOLDEN_N_IN, GOLDEN_N_HIDDEN),
          "rtu_td_checkpoint_size %lu, RTU_TD_CHECKPOINT_BYTES %lu", (unsigned long)size,
          (unsigned long)RTU_TD_CHECKPOINT_BYTES(g->kind, GOLDEN_N_IN, GOLDEN_N_HIDDEN));
    CHECK_STATUS(rtu_td_save(&a, ck1, sizeof ck1, &wa), RTU_OK);
    CHECK(wa == size, "written %lu, size query %lu", (unsigned long)wa, (unsigned long)size);
    CHECK_STATUS(rtu_td_load(&b, ck1, wa), RTU_OK);
    CHECK_STATUS(rtu_td_save(&b, ck2, sizeof ck2, &wb), RTU_OK);
    CHECK(wb == wa && memcmp(ck1, ck2, wa) == 0, "save(load(bytes)) differs from bytes");
    CHECK(b.steps == a.steps && b.v_prev == a.v_prev && b.has_prev == a.has_prev &&
              b.z_norm1 == a.z_norm1,
          "counters and scalars restored");
    rng_b = rng_a;
    CHECK_STATUS(fix_td_steps(&a, &rng_a, 137, 197, pa, NULL), RTU_OK);
    CHECK_STATUS(fix_td_steps(&b, &rng_b, 137, 197, pb, NULL), RTU_OK);
    CHECK(memcmp(pa, pb, sizeof pa) == 0, "the resumed learner predicts other values");
    CHECK(memcmp(buf_a, buf_b, R * reals) == 0, "the resumed learner's buffer differs");
    check_note("%lu bytes", (unsigned long)wa);
}

/* The shapes of the actor-critic round trips: separate and shared trunks, with and without an
 * input layer and a head layer, the extras on and off, memoryless, discrete and continuous,
 * linear, nonlinear and LRU; the ones marked SGD learn with SGD (alpha 0.003), the others ObGD. */
#define RT(kind, act, m, k, shared, pa, pr, ml, ak, A)                                              \
    {RTU_KIND_##kind, RTU_ACT_##act, GOLDEN_AC_N_IN, GOLDEN_N_HIDDEN, m, k, shared, pa, pr, ml,     \
     RTU_ACTIONS_##ak, A}
static const golden_ac_shape roundtrip_shapes[] = {
    RT(NONLINEAR, TANH, 3, 5, 0, 1, 1, 0, DISCRETE, 3),
    RT(LINEAR, RELU, 0, 0, 1, 0, 0, 0, DISCRETE, 2),
    RT(NONLINEAR, TANH, 4, 0, 1, 1, 1, 0, CONTINUOUS, 2),
    RT(LINEAR, IDENTITY, 0, 6, 0, 1, 0, 0, CONTINUOUS, 1), /* SGD */
    RT(LINEAR, TANH, 3, 3, 0, 0, 0, 1, DISCRETE, 2),
    RT(NONLINEAR, RELU, FIX_AC_MAX_EMBED, FIX_AC_MAX_HEAD, 1, 0, 1, 0, CONTINUOUS,
       FIX_AC_MAX_ACTIONS),
    RT(LINEAR, TANH, 5, 2, 0, 1, 1, 0, CONTINUOUS, 3),
    RT(NONLINEAR, IDENTITY, 0, 4, 1, 0, 0, 1, DISCRETE, 3), /* SGD */
    RT(LRU, TANH, FIX_AC_MAX_EMBED, FIX_AC_MAX_HEAD, 0, 1, 1, 0, CONTINUOUS, FIX_AC_MAX_ACTIONS),
    RT(LRU, RELU, 0, 3, 1, 1, 0, 0, DISCRETE, 2),
};

static rtu_ac_shape roundtrip_shape(int i, rtu_ac_config *config)
{
    *config = rtu_ac_default_config();
    if (i == 3 || i == 7) {
        config->optimizer = RTU_OPT_SGD;
        config->alpha = (rtu_real)0.003;
    }
    return fix_shape(&roundtrip_shapes[i]);
}

/* The forward activations of a and b (each trunk's e_hat, e, e_inv_std; each head's q_hat, q,
 * q_inv_std, out) are the same bit for bit. */
static int same_activations(const rtu_ac *a, const rtu_ac *b)
{
    size_t r, m = a->shape.n_embed, k = a->shape.n_head, same = 1;
    for (r = 0; r < (a->shape.shared ? 1u : 2u); ++r) {
        same &= memcmp(a->trunk[r].e_hat, b->trunk[r].e_hat, R * m) == 0 &&
                memcmp(a->trunk[r].e, b->trunk[r].e, R * m) == 0 &&
                memcmp(&a->trunk[r].e_inv_std, &b->trunk[r].e_inv_std, R) == 0;
    }
    for (r = 0; r < 2; ++r) {
        same &= memcmp(a->head[r].q_hat, b->head[r].q_hat, R * k) == 0 &&
                memcmp(a->head[r].q, b->head[r].q, R * k) == 0 &&
                memcmp(&a->head[r].q_inv_std, &b->head[r].q_inv_std, R) == 0 &&
                memcmp(a->head[r].out, b->head[r].out, R * a->head[r].n_out) == 0;
    }
    return (int)same;
}

/* For each save point (mid-episode, fed; right after an episode end, not fed): save a, read the
 * shape back (rtu_ckpt_read_dims), lay b out from it and dirty it (steps of another run, then an
 * act), load; the activations equal a's, save(load) is the same bytes, and both run on bit for
 * bit through the next episode end. */
void test_ac_ckpt_roundtrip(int i)
{
    static rtu_real acts_a[60 * FIX_AC_MAX_ACTIONS], acts_b[60 * FIX_AC_MAX_ACTIONS];
    static const unsigned saves[2] = {77u, 100u};
    rtu_ac_config config;
    rtu_ac_shape shape = roundtrip_shape(i, &config);
    rtu_real obs[GOLDEN_AC_N_IN], action[FIX_AC_MAX_ACTIONS];
    size_t size = 0, wa = 0, wb = 0, bytes = 0, s;
    rtu_ckpt_dims d;
    rtu_ac a, b;
    fix_env env_a, env_b;
    CHECK_STATUS(rtu_ac_buffer_size(&shape, &bytes), RTU_OK);
    CHECK(bytes <= sizeof buf_a, "buffer of %lu bytes", (unsigned long)bytes);
    CHECK_STATUS(rtu_ac_init(&a, &shape, &config, 31u + (uint64_t)i, buf_a, sizeof buf_a),
                 RTU_OK);
    fix_env_start(&env_a, 301u + (uint64_t)i);
    for (s = 0; s < 2; ++s) {
        unsigned t0 = saves[s];
        CHECK_STATUS(fix_ac_steps(&a, &env_a, s ? saves[0] : 0u, t0, NULL, NULL), RTU_OK);
        CHECK(a.fed == (s == 0), "save point %u: fed %d", t0, a.fed);
        CHECK_STATUS(rtu_ac_checkpoint_size(&a, &size), RTU_OK);
        CHECK(size <= CKPT_MAX, "checkpoint of %lu bytes", (unsigned long)size);
        CHECK(size == RTU_AC_CHECKPOINT_BYTES(shape.kind, shape.n_obs, shape.n_hidden,
                                              shape.n_embed, shape.n_head, shape.shared,
                                              shape.prev_action, shape.prev_reward,
                                              shape.action_kind, shape.n_actions),
              "rtu_ac_checkpoint_size %lu differs from RTU_AC_CHECKPOINT_BYTES",
              (unsigned long)size);
        CHECK_STATUS(rtu_ac_save(&a, ck1, sizeof ck1, &wa), RTU_OK);
        CHECK(wa == size, "written %lu, size query %lu", (unsigned long)wa, (unsigned long)size);
        CHECK_STATUS(rtu_ckpt_read_dims(ck1, wa, &d), RTU_OK);
        CHECK(same_shape(&d.shape, &shape) && d.bytes == wa && d.steps == t0,
              "rtu_ckpt_read_dims gives the learner's shape");
        CHECK_STATUS(rtu_ac_buffer_size(&d.shape, &bytes), RTU_OK);
        CHECK_STATUS(rtu_ac_init(&b, &d.shape, &config, 4242u, buf_b, bytes), RTU_OK);
        fix_env_start(&env_b, 77u);
        CHECK_STATUS(fix_ac_steps(&b, &env_b, 0, 13, NULL, NULL), RTU_OK);
        obs[0] = (rtu_real)env_b.obs[0];
        obs[1] = (rtu_real)env_b.obs[1];
        CHECK_STATUS(rtu_ac_act(&b, obs, action), RTU_OK); /* between act and learn */
        CHECK_STATUS(rtu_ac_load(&b, ck1, wa), RTU_OK);
        CHECK(b.acted == 0, "a loaded learner is not between act and learn");
        CHECK(!a.fed || same_activations(&a, &b),
              "save point %u: the activations after load differ from the saved learner's", t0);
        CHECK_STATUS(rtu_ac_save(&b, ck2, sizeof ck2, &wb), RTU_OK);
        CHECK(wb == wa && memcmp(ck1, ck2, wa) == 0, "save(load(bytes)) differs from bytes");
        CHECK(b.steps == a.steps && b.episodes == a.episodes && b.rng.state == a.rng.state &&
                  b.rng.inc == a.rng.inc && b.fed == a.fed && b.obs_count == a.obs_count,
              "counters, PRNG and flags restored");
    }
    /* b holds a's checkpoint of step 100 (an episode end): both run 60 more steps, through the
     * next episode end at 150 */
    env_b = env_a;
    CHECK_STATUS(fix_ac_steps(&a, &env_a, 100, 160, acts_a, NULL), RTU_OK);
    CHECK_STATUS(fix_ac_steps(&b, &env_b, 100, 160, acts_b, NULL), RTU_OK);
    CHECK(memcmp(acts_a, acts_b, sizeof acts_a) == 0, "the resumed learner acts otherwise");
    CHECK(memcmp(buf_a, buf_b, bytes) == 0, "the resumed learner's buffer differs");
    CHECK(a.rng.state == b.rng.state && a.episodes == b.episodes, "PRNG and episodes");
    check_note("shape %d: %s, m %u k %u%s%s%s%s, %s x %u, %lu bytes", i,
               kind_names[shape.kind], (unsigned)shape.n_embed,
               (unsigned)shape.n_head, shape.shared ? " shared" : "",
               shape.prev_action ? " +a" : "", shape.prev_reward ? " +r" : "",
               shape.memoryless ? " memoryless" : "",
               shape.action_kind == RTU_ACTIONS_DISCRETE ? "discrete" : "continuous",
               (unsigned)shape.n_actions, (unsigned long)wa);
}

/* The roundtrip from a mid-episode checkpoint: the next act uses the recomputed activations
 * (pi from the actor's out) and the next learn the critic's v(s_t) and every activation of the
 * backward pass; so acting on after the load must be bit for bit. */
void test_ac_ckpt_resume_mid_episode(int i)
{
    static rtu_real acts_a[40 * FIX_AC_MAX_ACTIONS], acts_b[40 * FIX_AC_MAX_ACTIONS];
    static rtu_real vals_a[40], vals_b[40];
    rtu_ac_config config;
    rtu_ac_shape shape = roundtrip_shape(i, &config);
    size_t wa = 0, bytes = 0;
    rtu_ac a, b;
    fix_env env_a, env_b;
    CHECK_STATUS(rtu_ac_buffer_size(&shape, &bytes), RTU_OK);
    CHECK_STATUS(rtu_ac_init(&a, &shape, &config, 7u, buf_a, sizeof buf_a), RTU_OK);
    CHECK_STATUS(rtu_ac_init(&b, &shape, &config, 8u, buf_b, sizeof buf_b), RTU_OK);
    fix_env_start(&env_a, 5u);
    CHECK_STATUS(fix_ac_steps(&a, &env_a, 0, 61, NULL, NULL), RTU_OK);
    CHECK_STATUS(rtu_ac_save(&a, ck1, sizeof ck1, &wa), RTU_OK);
    CHECK_STATUS(rtu_ac_load(&b, ck1, wa), RTU_OK);
    env_b = env_a;
    CHECK_STATUS(fix_ac_steps(&a, &env_a, 61, 89, acts_a, vals_a), RTU_OK); /* before step 100 */
    CHECK_STATUS(fix_ac_steps(&b, &env_b, 61, 89, acts_b, vals_b), RTU_OK);
    CHECK(memcmp(acts_a, acts_b, sizeof acts_a) == 0 && memcmp(vals_a, vals_b, sizeof vals_a) == 0,
          "the learner resumed mid-episode acts or values otherwise");
    CHECK(memcmp(buf_a, buf_b, bytes) == 0, "the resumed learner's buffer differs");
}

/* A copy of a learner's struct (an rtu_ac when is_ac, else an rtu_td), and whether the learner
 * still holds the same fields (fix_*_same: never the struct's bytes, whose padding is
 * uninitialised). */
static rtu_ac ac_kept;
static rtu_td td_kept;

static void keep(int is_ac, const void *learner)
{
    if (is_ac) {
        ac_kept = *(const rtu_ac *)learner;
    } else {
        td_kept = *(const rtu_td *)learner;
    }
}

static int unchanged(int is_ac, const void *learner)
{
    return is_ac ? fix_ac_same(&ac_kept, (const rtu_ac *)learner)
                 : fix_td_same(&td_kept, (const rtu_td *)learner);
}

/* Every corruption of one byte, every truncation, and patched (re-sealed) fields are refused
 * with the documented status; a refused load leaves the learner untouched. */
static void corruptions(const unsigned char *good, size_t bytes, int is_ac, void *learner,
                        const rtu_real *buffer, size_t reals)
{
    size_t pos, len, wrong = 0, not_truncated = 0;
    keep(is_ac, learner);
    memcpy(snapshot, buffer, R * reals);
    for (pos = 0; pos < bytes; ++pos) {
        rtu_status s, want;
        memcpy(work, good, bytes);
        work[pos] ^= 0x5Au;
        s = is_ac ? rtu_ac_load((rtu_ac *)learner, work, bytes)
                  : rtu_td_load((rtu_td *)learner, work, bytes);
        want = pos < 8 ? RTU_ERR_CKPT_MAGIC : pos < 12 ? RTU_ERR_CKPT_VERSION : RTU_ERR_CKPT_CRC;
        /* a corrupted payload length: truncated (longer) or a CRC read elsewhere (shorter) */
        if (s != want && !(pos >= 48 && pos < 56 && s == RTU_ERR_CKPT_TRUNCATED)) {
            if (wrong++ < 3) {
                CHECK(0, "byte %u corrupted: %s", (unsigned)pos, rtu_status_str(s));
            }
        }
    }
    CHECK(wrong == 0, "%u corrupted checkpoints not refused as expected", (unsigned)wrong);
    for (len = 0; len < bytes; ++len) {
        rtu_status s = is_ac ? rtu_ac_load((rtu_ac *)learner, good, len)
                             : rtu_td_load((rtu_td *)learner, good, len);
        not_truncated += s != RTU_ERR_CKPT_TRUNCATED;
    }
    CHECK(not_truncated == 0, "%u of %u truncations not refused as truncated",
          (unsigned)not_truncated, (unsigned)bytes);
    CHECK(unchanged(is_ac, learner) && memcmp(snapshot, buffer, R * reals) == 0,
          "a refused checkpoint changed the learner");
    check_note("%u corruptions, %u truncations", (unsigned)bytes, (unsigned)bytes);
}

/* Load a patched copy of good in work (re-sealed) and expect want, with *what naming want_what
 * (unless NULL) by rtu_*_check_checkpoint; the learner must stay untouched. */
static void patched(const char *label, size_t bytes, int is_ac, void *learner,
                    const rtu_real *buffer, size_t reals, rtu_status want, const char *want_what)
{
    const char *what = NULL;
    rtu_status s, checked;
    keep(is_ac, learner);
    memcpy(snapshot, buffer, R * reals);
    reseal(bytes);
    checked = is_ac ? rtu_ac_check_checkpoint((const rtu_ac *)learner, work, bytes, &what)
                    : rtu_td_check_checkpoint((const rtu_td *)learner, work, bytes, &what);
    s = is_ac ? rtu_ac_load((rtu_ac *)learner, work, bytes)
              : rtu_td_load((rtu_td *)learner, work, bytes);
    CHECK(s == want && checked == want, "%s: %s (check %s), expected %s", label,
          rtu_status_str(s), rtu_status_str(checked), rtu_status_str(want));
    CHECK(want_what == NULL || (what != NULL && strcmp(what, want_what) == 0),
          "%s: what is \"%s\", expected \"%s\"", label, what != NULL ? what : "(null)",
          want_what != NULL ? want_what : "");
    CHECK(unchanged(is_ac, learner) && memcmp(snapshot, buffer, R * reals) == 0,
          "%s: the refused checkpoint changed the learner", label);
}

void test_td_ckpt_refusals(int arg)
{
    const int c = GOLDEN_TD_CKPT_CASE; /* nonlinear */
    const golden_td_case *g = &golden_td_cases[c];
    size_t reals = RTU_TD_REALS(g->kind, GOLDEN_N_IN, GOLDEN_N_HIDDEN), bytes = 0, w = 7;
    uint32_t version;
    size_t params_at = HEADER + 6u * R + 4u;
    size_t state_at = params_at + R * RTU_CELL_PARAMS(g->kind, GOLDEN_N_IN, GOLDEN_N_HIDDEN);
    size_t head_at = params_at + R * RTU_CKPT_CELL_REALS(g->kind, GOLDEN_N_IN, GOLDEN_N_HIDDEN);
    rtu_td src, dst, other_kind;
    rtu_ac ac;
    rtu_prng rng;
    rtu_ckpt_header h;
    rtu_ckpt_dims d;
    (void)arg;
    if (!check_little_endian()) {
        CHECK(0, "these checks patch little-endian bytes");
        return;
    }
    CHECK_STATUS(fix_td_make(c, g->seed, &src, buf_a), RTU_OK);
    rtu_prng_seed(&rng, g->input_seed);
    CHECK_STATUS(fix_td_steps(&src, &rng, 0, 60, NULL, NULL), RTU_OK);
    CHECK_STATUS(rtu_td_save(&src, ck1, sizeof ck1, &bytes), RTU_OK);
    CHECK_STATUS(rtu_td_save(&src, ck2, bytes - 1u, &w), RTU_ERR_BUFFER_SMALL);
    CHECK(w == 0, "a refused save reports 0 bytes written");
    CHECK_STATUS(rtu_td_save(&src, NULL, bytes, &w), RTU_ERR_NULL);
    CHECK_STATUS(rtu_ckpt_inspect(NULL, bytes, &h), RTU_ERR_NULL);
    CHECK_STATUS(rtu_ckpt_read_dims(ck1, bytes, NULL), RTU_ERR_NULL);
    CHECK_STATUS(fix_td_make(c, 77u, &dst, buf_b), RTU_OK);

    corruptions(ck1, bytes, 0, &dst, buf_b, reals);

    memcpy(work, ck1, bytes);
    put_u32(work + 12, RTU_LEARNER_ACTOR_CRITIC);
    patched("learner type 2", bytes, 0, &dst, buf_b, reals, RTU_ERR_CKPT_MISMATCH,
            NULL);
    memcpy(work, ck1, bytes);
    put_u32(work + 16, sizeof(rtu_real) == 4 ? 8u : 4u);
    patched("other precision", bytes, 0, &dst, buf_b, reals, RTU_ERR_CKPT_MISMATCH,
            NULL);
    memcpy(work, ck1, bytes);
    put_u32(work + 32, GOLDEN_N_HIDDEN + 1u);
    patched("n_hidden + 1", bytes, 0, &dst, buf_b, reals, RTU_ERR_CKPT_MISMATCH,
            NULL);
    memcpy(work, ck1, bytes);
    put_u32(work + 20, RTU_KIND_LRU); /* a nonlinear cell's payload: shorter than the LRU's */
    patched("kind lru", bytes, 0, &dst, buf_b, reals, RTU_ERR_CKPT_MISMATCH, NULL);
    CHECK_STATUS(rtu_ckpt_read_dims(work, bytes, &d), RTU_ERR_CKPT_MISMATCH);
    memcpy(work, ck1, bytes);
    put_u32(work + 20, RTU_KIND_LRU + 1u); /* no such kind */
    patched("kind 3", bytes, 0, &dst, buf_b, reals, RTU_ERR_CKPT_MISMATCH, NULL);
    CHECK_STATUS(rtu_ckpt_read_dims(work, bytes, &d), RTU_ERR_CKPT_MISMATCH);
    memcpy(work, ck1, bytes);
    put_u32(work + 84, 2u); /* n_actions: an actor-critic field */
    patched("n_actions 2", bytes, 0, &dst, buf_b, reals, RTU_ERR_CKPT_MISMATCH,
            NULL);
    CHECK_STATUS(rtu_ckpt_read_dims(work, bytes, &d), RTU_ERR_CKPT_MISMATCH);
    memcpy(work, ck1, bytes);
    put_real(work + HEADER, (rtu_real)1.5);
    patched("gamma 1.5", bytes, 0, &dst, buf_b, reals, RTU_ERR_CONFIG, "gamma");
    memcpy(work, ck1, bytes);
    put_u32(work + HEADER + 6u * R, 2u);
    patched("has_prev 2", bytes, 0, &dst, buf_b, reals, RTU_ERR_CONFIG,
            "has_prev (0 or 1)");
    memcpy(work, ck1, bytes);
    put_real(work + params_at, (rtu_real)25);
    patched("nu_log 25", bytes, 0, &dst, buf_b, reals, RTU_ERR_PARAM_RANGE, NULL);
    memcpy(work, ck1, bytes);
    put_real(work + bytes - RTU_CKPT_CRC_BYTES - R, (rtu_real)NAN); /* the last entry of z */
    patched("NaN in z", bytes, 0, &dst, buf_b, reals, RTU_ERR_NONFINITE_PARAM,
            "NaN or Inf in z");
    memcpy(work, ck1, bytes);
    put_real(work + params_at + R * RTU_CELL_PARAMS(g->kind, GOLDEN_N_IN, GOLDEN_N_HIDDEN) + R,
             (rtu_real)INFINITY); /* state */
    patched("Inf in state", bytes, 0, &dst, buf_b, reals, RTU_ERR_NONFINITE_PARAM,
            "NaN or Inf in state");
    /* a version to come, and the earlier ones (version 3 stored the weights unit-major), each
     * re-sealed: refused by every reader */
    for (version = 0; version <= RTU_CKPT_VERSION + 1u; ++version) {
        if (version != RTU_CKPT_VERSION) {
            memcpy(work, ck1, bytes);
            put_u32(work + 8, version);
            patched("another version", bytes, 0, &dst, buf_b, reals, RTU_ERR_CKPT_VERSION, "");
            CHECK_STATUS(rtu_ckpt_inspect(work, bytes, &h), RTU_ERR_CKPT_VERSION);
            CHECK_STATUS(rtu_ckpt_read_dims(work, bytes, &d), RTU_ERR_CKPT_VERSION);
        }
    }

    /* issue 16: what no learner holds (each loaded, a learner failed on its next steps) */
    memcpy(work, ck1, bytes);
    put_real(work + HEADER + 4u * R, (rtu_real)2e15);
    patched("v_prev 2e15", bytes, 0, &dst, buf_b, reals, RTU_ERR_PARAM_RANGE,
            "v_prev beyond +-RTU_VALUE_LIMIT (1e15)");
    memcpy(work, ck1, bytes);
    put_real(work + head_at, (rtu_real)1e30);
    patched("head 1e30", bytes, 0, &dst, buf_b, reals, RTU_ERR_PARAM_RANGE,
            "head beyond +-RTU_VALUE_LIMIT (1e15)");
    memcpy(work, ck1, bytes);
    put_real(work + HEADER + 5u * R, 0);
    patched("z_norm1 0", bytes, 0, &dst, buf_b, reals, RTU_ERR_PARAM_RANGE, "z_norm1 below |z|_1");
    memcpy(work, ck1, bytes);
    put_real(work + bytes - RTU_CKPT_CRC_BYTES - R, (rtu_real)1e31); /* the last entry of z */
    patched("z 1e31", bytes, 0, &dst, buf_b, reals, RTU_ERR_PARAM_RANGE,
            "z beyond +-RTU_VALUE_LIMIT^2 (1e30)");
    memcpy(work, ck1, bytes);
    put_real(work + state_at, get_real(ck1 + state_at) + 1); /* nonlinear relu: h = [c; d] */
    patched("c[0] not h[0]", bytes, 0, &dst, buf_b, reals, RTU_ERR_PARAM_RANGE,
            "state: features h that its c, d and activation cannot give");
    memcpy(work, ck1, bytes);
    put_u32(work + HEADER + 6u * R, 0u);
    patched("has_prev 0 after steps", bytes, 0, &dst, buf_b, reals, RTU_ERR_PARAM_RANGE,
            "v_prev or z_norm1 not zero before the first step (has_prev 0)");
    CHECK_STATUS(rtu_td_load(&dst, ck1, bytes), RTU_OK); /* the good one loads */

    /* into a learner of another kind, or another learner type */
    CHECK_STATUS(fix_td_make(0, 5u, &other_kind, buf_a), RTU_OK);
    CHECK_STATUS(rtu_td_load(&other_kind, ck1, bytes), RTU_ERR_CKPT_MISMATCH);
    CHECK_STATUS(fix_ac_make(0, 5u, &ac, buf_a), RTU_OK);
    CHECK_STATUS(rtu_ac_load(&ac, ck1, bytes), RTU_ERR_CKPT_MISMATCH);

    /* bytes after the CRC (a flash sector) are ignored */
    memcpy(work, ck1, bytes);
    memset(work + bytes, 0xFF, 16);
    CHECK_STATUS(rtu_td_load(&dst, work, bytes + 16u), RTU_OK);
    CHECK(dst.steps == 60u, "loaded from a larger buffer");
}

void test_ac_ckpt_refusals(int arg)
{
    const int c = 0; /* separate trunks, input and head layers, both extras, 3 discrete actions */
    const golden_ac_case *g = &golden_ac_cases[c];
    rtu_ac_shape shape = fix_ac_shape(c);
    size_t n_x = RTU_AC_N_X(shape.n_obs, shape.prev_action, shape.prev_reward, shape.n_actions);
    size_t embed = RTU_AC_EMBED_PARAMS(n_x, shape.n_embed);
    size_t trunk = embed + RTU_CKPT_CELL_REALS(shape.kind, RTU_AC_N_E(n_x, shape.n_embed),
                                                shape.n_hidden);
    size_t reals = RTU_AC_REALS(shape.kind, shape.n_obs, shape.n_hidden, shape.n_embed,
                                shape.n_head, shape.shared, shape.prev_action, shape.prev_reward,
                                shape.action_kind, shape.n_actions);
    size_t bytes = 0, w = 7, q = HEADER, r = HEADER + RTU_AC_CKPT_FIXED_BYTES;
    size_t arrays = r + (RTU_AC_CONFIG_REAL_COUNT + 3u) * R; /* the critic's W_in */
    size_t tail = RTU_AC_CKPT_COUNT_BYTES + 2u * R; /* reward_count, reward_mean, reward_m2 */
    size_t end = 0; /* where the arrays end and the reward statistics start */
    rtu_real obs[GOLDEN_AC_N_IN], action[FIX_AC_MAX_ACTIONS];
    rtu_ac src, dst, other;
    rtu_td td;
    rtu_ckpt_dims d;
    fix_env env;
    (void)arg;
    if (!check_little_endian()) {
        CHECK(0, "these checks patch little-endian bytes");
        return;
    }
    CHECK(!shape.shared && shape.n_embed > 0 && shape.n_head > 0, "case 0's shape");
    CHECK_STATUS(fix_ac_make(c, g->seed, &src, buf_a), RTU_OK);
    fix_env_start(&env, g->env_seed);
    CHECK_STATUS(fix_ac_steps(&src, &env, 0, 77, NULL, NULL), RTU_OK);
    CHECK_STATUS(rtu_ac_save(&src, ck1, sizeof ck1, &bytes), RTU_OK);
    end = bytes - RTU_CKPT_CRC_BYTES - tail;
    CHECK(get_u64(ck1 + end) == 77u && get_real(ck1 + end + 8u) == src.reward_mean &&
              get_real(ck1 + end + 8u + R) == src.reward_m2 && src.reward_m2 > 0,
          "the reward statistics at the payload's end: count %lu, not 77",
          (unsigned long)get_u64(ck1 + end));
    CHECK_STATUS(rtu_ac_save(&src, ck2, bytes - 1u, &w), RTU_ERR_BUFFER_SMALL);
    CHECK(w == 0, "a refused save reports 0 bytes written");
    /* never between act and learn */
    obs[0] = (rtu_real)env.obs[0];
    obs[1] = (rtu_real)env.obs[1];
    CHECK_STATUS(rtu_ac_act(&src, obs, action), RTU_OK);
    w = 7;
    CHECK_STATUS(rtu_ac_save(&src, ck2, sizeof ck2, &w), RTU_ERR_ORDER);
    CHECK(w == 0, "a refused save reports 0 bytes written");
    CHECK_STATUS(fix_ac_make(c, 77u, &dst, buf_b), RTU_OK);
    CHECK_STATUS(fix_td_make(0, 5u, &td, buf_a), RTU_OK);

    corruptions(ck1, bytes, 1, &dst, buf_b, reals);

#define AC_PATCHED(label, want, want_what)                                                         \
    patched(label, bytes, 1, &dst, buf_b, reals, want, want_what)
    memcpy(work, ck1, bytes);
    put_u32(work + q + 12, 1u);
    AC_PATCHED("acted 1", RTU_ERR_ORDER, NULL);
    memcpy(work, ck1, bytes);
    put_u32(work + q + 8, 2u);
    AC_PATCHED("fed 2", RTU_ERR_CONFIG, "fed (0 or 1)");
    memcpy(work, ck1, bytes);
    put_u32(work + q + 4, 2u);
    AC_PATCHED("scale_reward 2", RTU_ERR_CONFIG, "scale_reward (0 or 1)");
    memcpy(work, ck1, bytes);
    work[q + 48] &= 0xFEu;
    AC_PATCHED("even PRNG increment", RTU_ERR_CONFIG,
               "an even PRNG increment (PCG32 needs it odd)");
    /* the shape in the header: each field must be the learner's */
    memcpy(work, ck1, bytes);
    put_u32(work + 28, GOLDEN_AC_N_IN + 1u);
    AC_PATCHED("n_obs + 1", RTU_ERR_CKPT_MISMATCH, NULL);
    memcpy(work, ck1, bytes);
    put_u32(work + 56, (uint32_t)shape.n_embed + 1u);
    AC_PATCHED("n_embed + 1", RTU_ERR_CKPT_MISMATCH, NULL);
    CHECK_STATUS(rtu_ckpt_read_dims(work, bytes, &d), RTU_ERR_CKPT_MISMATCH); /* the length */
    memcpy(work, ck1, bytes);
    put_u32(work + 60, 0u);
    AC_PATCHED("n_head 0", RTU_ERR_CKPT_MISMATCH, NULL);
    memcpy(work, ck1, bytes);
    put_u32(work + 64, 2u);
    AC_PATCHED("shared 2", RTU_ERR_CKPT_MISMATCH, NULL);
    CHECK_STATUS(rtu_ckpt_read_dims(work, bytes, &d), RTU_ERR_CKPT_MISMATCH);
    memcpy(work, ck1, bytes);
    put_u32(work + 68, 0u);
    AC_PATCHED("prev_action 0", RTU_ERR_CKPT_MISMATCH, NULL);
    memcpy(work, ck1, bytes);
    put_u32(work + 76, 2u); /* not a flag */
    AC_PATCHED("memoryless 2", RTU_ERR_CKPT_MISMATCH, NULL);
    CHECK_STATUS(rtu_ckpt_read_dims(work, bytes, &d), RTU_ERR_CKPT_MISMATCH);
    memcpy(work, ck1, bytes);
    put_u32(work + 76, 1u); /* memoryless with the extras: a shape, not this learner's */
    AC_PATCHED("memoryless 1", RTU_ERR_CKPT_MISMATCH, NULL);
    memcpy(work, ck1, bytes);
    put_u32(work + 80, RTU_ACTIONS_CONTINUOUS);
    AC_PATCHED("continuous actions", RTU_ERR_CKPT_MISMATCH, NULL);
    memcpy(work, ck1, bytes);
    put_u32(work + 84, g->shape.n_actions + 1u);
    AC_PATCHED("n_actions + 1", RTU_ERR_CKPT_MISMATCH,
               "another learner type, precision, kind, activation, size, network or action "
               "space");
    /* the config and the arrays */
    memcpy(work, ck1, bytes);
    put_real(work + r + 2u * R, (rtu_real)-1);
    AC_PATCHED("alpha -1", RTU_ERR_CONFIG, "alpha");
    memcpy(work, ck1, bytes);
    put_real(work + r + 6u * R, (rtu_real)1.5);
    AC_PATCHED("sparsity 1.5", RTU_ERR_CONFIG, "sparsity");
    memcpy(work, ck1, bytes);
    put_real(work + r + 8u * R, (rtu_real)g->std_min); /* std_max = std_min */
    AC_PATCHED("std_max = std_min", RTU_ERR_CONFIG, "std_max");
    memcpy(work, ck1, bytes);
    put_real(work + r + 9u * R, (rtu_real)1.5);
    AC_PATCHED("phase_step_scale 1.5", RTU_ERR_CONFIG, "phase_step_scale");
    memcpy(work, ck1, bytes);
    put_real(work + r + (RTU_AC_CONFIG_REAL_COUNT + 1u) * R, (rtu_real)NAN); /* ret_mean */
    AC_PATCHED("NaN ret_mean", RTU_ERR_NONFINITE_PARAM,
               "a non-finite hyperparameter, ret_trace, ret_mean or ret_m2");
    memcpy(work, ck1, bytes);
    put_real(work + arrays + R, (rtu_real)NAN);
    AC_PATCHED("NaN in the critic's W_in", RTU_ERR_NONFINITE_PARAM, "NaN or Inf in critic.embed");
    memcpy(work, ck1, bytes);
    put_real(work + arrays + embed * R, (rtu_real)INFINITY); /* the critic's nu_log[0] */
    AC_PATCHED("Inf nu_log", RTU_ERR_NONFINITE_PARAM, "NaN or Inf in critic.params");
    memcpy(work, ck1, bytes);
    put_real(work + arrays + embed * R, (rtu_real)-21);
    AC_PATCHED("nu_log -21", RTU_ERR_PARAM_RANGE,
               "|nu_log| or |theta_log| beyond RTU_LOG_PARAM_LIMIT (20)");
    memcpy(work, ck1, bytes);
    put_real(work + arrays + (trunk + embed + shape.n_hidden) * R, (rtu_real)21);
    AC_PATCHED("the actor's theta_log[0] 21", RTU_ERR_PARAM_RANGE, NULL);
    memcpy(work, ck1, bytes);
    put_real(work + arrays + (2u * trunk - 1u) * R, (rtu_real)NAN); /* the last weight trace */
    AC_PATCHED("NaN in the actor's traces", RTU_ERR_NONFINITE_PARAM,
               "NaN or Inf in actor.traces_weight");
    memcpy(work, ck1, bytes);
    put_real(work + arrays + (2u * trunk + 1u) * R, (rtu_real)NAN);
    AC_PATCHED("NaN in the critic's head", RTU_ERR_NONFINITE_PARAM, "NaN or Inf in critic.head");
    memcpy(work, ck1, bytes);
    put_real(work + end - R, (rtu_real)INFINITY); /* the last of x */
    AC_PATCHED("Inf in x", RTU_ERR_NONFINITE_PARAM, "NaN or Inf in x");
    memcpy(work, ck1, bytes);
    put_real(work + end + 8u, (rtu_real)NAN);
    AC_PATCHED("NaN reward_mean", RTU_ERR_NONFINITE_PARAM,
               "NaN or Inf in reward_mean or reward_m2");

    /* issue 16: what no learner holds (each loaded, a learner failed on its next steps) */
    memcpy(work, ck1, bytes);
    put_u64(work + q + 24, UINT64_MAX); /* obs_count: count + 1 wrapped to 0, divided by */
    AC_PATCHED("obs_count 2^64 - 1", RTU_ERR_PARAM_RANGE,
               "obs_count or ret_count beyond RTU_COUNT_LIMIT (2^53)");
    memcpy(work, ck1, bytes);
    put_u64(work + q + 16, 78u); /* episodes above steps (77) */
    AC_PATCHED("episodes 78", RTU_ERR_PARAM_RANGE,
               "episodes or ret_count above steps, or steps above obs_count (a learn counts a "
               "step, a return and an observation)");
    memcpy(work, ck1, bytes);
    put_real(work + arrays + R * (2u * trunk + RTU_AC_HEAD_PARAMS(shape.n_hidden, shape.n_head,
                                                                  1u)),
             (rtu_real)1e30); /* the actor head's first weight: its outputs overflowed */
    AC_PATCHED("an actor.head weight 1e30", RTU_ERR_PARAM_RANGE,
               "actor.head beyond +-RTU_VALUE_LIMIT (1e15)");
    memcpy(work, ck1, bytes);
    put_real(work + arrays + R * (embed + RTU_CELL_PARAMS(shape.kind, shape.n_embed,
                                                           shape.n_hidden)),
             2); /* the critic's c[0]: the nonlinear kind's c = tanh(.) */
    AC_PATCHED("c[0] = 2 under tanh", RTU_ERR_PARAM_RANGE,
               "critic.state: features h that its c, d and activation cannot give");
    memcpy(work, ck1, bytes);
    put_u32(work + q + 8, 0u);
    AC_PATCHED("fed 0 mid-episode", RTU_ERR_PARAM_RANGE,
               "critic.state not zero at an episode's start (fed 0)");
    memcpy(work, ck1, bytes);
    put_u32(work + q, 0u);
    AC_PATCHED("normalize_obs 0", RTU_ERR_PARAM_RANGE,
               "obs_mean or obs_m2 not zero with normalize_obs off");
    memcpy(work, ck1, bytes);
    put_real(work + r + RTU_AC_CONFIG_REAL_COUNT * R, (rtu_real)1e30);
    AC_PATCHED("ret_trace 1e30", RTU_ERR_PARAM_RANGE,
               "ret_trace, ret_mean or ret_m2 beyond what ret_count rewards within "
               "RTU_INPUT_LIMIT give");
    memcpy(work, ck1, bytes);
    put_real(work + end - R * (n_x + 3u * shape.n_obs), (rtu_real)2e6);
    AC_PATCHED("obs_mean 2e6", RTU_ERR_PARAM_RANGE,
               "obs_mean beyond +-RTU_INPUT_LIMIT (1e6), a mean of observations within it");
    memcpy(work, ck1, bytes);
    put_real(work + end - R * (n_x + 2u * shape.n_obs), (rtu_real)1e30);
    AC_PATCHED("obs_m2 1e30", RTU_ERR_PARAM_RANGE,
               "obs_m2 beyond what obs_count observations within RTU_INPUT_LIMIT give");
    memcpy(work, ck1, bytes);
    put_real(work + end - R, (rtu_real)2e6);
    AC_PATCHED("x 2e6", RTU_ERR_PARAM_RANGE,
               "x beyond +-RTU_INPUT_LIMIT (1e6), the networks' input");
    /* the previous-reward input's statistics */
    memcpy(work, ck1, bytes);
    put_u64(work + end, (uint64_t)1 << 54);
    AC_PATCHED("reward_count 2^54", RTU_ERR_PARAM_RANGE,
               "reward_count beyond RTU_COUNT_LIMIT (2^53)");
    memcpy(work, ck1, bytes);
    put_u64(work + end, 78u);
    AC_PATCHED("reward_count 78", RTU_ERR_PARAM_RANGE,
               "reward_count above steps (a learn counts a reward, with prev_reward)");
    memcpy(work, ck1, bytes);
    put_real(work + end + 8u + R, (rtu_real)-1);
    AC_PATCHED("reward_m2 -1", RTU_ERR_PARAM_RANGE, "reward_m2 below 0 (a sum of squares)");
    memcpy(work, ck1, bytes);
    put_u64(work + end, 1u);
    AC_PATCHED("reward_count 1 with reward_m2", RTU_ERR_PARAM_RANGE,
               "reward_mean or reward_m2 not zero before reward_count rewards make them");
    memcpy(work, ck1, bytes);
    put_real(work + end + 8u, (rtu_real)2e6);
    AC_PATCHED("reward_mean 2e6", RTU_ERR_PARAM_RANGE,
               "reward_mean or reward_m2 beyond what reward_count rewards within "
               "RTU_INPUT_LIMIT give");
    memcpy(work, ck1, bytes);
    put_real(work + end + 8u + R, (rtu_real)1e30);
    AC_PATCHED("reward_m2 1e30", RTU_ERR_PARAM_RANGE,
               "reward_mean or reward_m2 beyond what reward_count rewards within "
               "RTU_INPUT_LIMIT give");

    /* into a learner of another shape, or another learner type */
    CHECK_STATUS(rtu_td_load(&td, ck1, bytes), RTU_ERR_CKPT_MISMATCH);
    CHECK_STATUS(fix_ac_make(2, 5u, &other, buf_a), RTU_OK);
    CHECK_STATUS(rtu_ac_load(&other, ck1, bytes), RTU_ERR_CKPT_MISMATCH);

    /* bytes after the CRC (a flash sector) are ignored */
    memcpy(work, ck1, bytes);
    memset(work + bytes, 0xFF, 16);
    CHECK_STATUS(rtu_ac_load(&dst, work, bytes + 16u), RTU_OK);
    CHECK(dst.steps == 77u, "loaded from a larger buffer");
}
