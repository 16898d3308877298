/* Checkpoints: Python-written checkpoints load and save back to the same bytes and resume the
 * reference's run; C save/load round trips are exact; corrupted, truncated, patched or
 * mismatched checkpoints are refused and leave the learner untouched. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "fixtures.h"
#include "tests.h"

#define TD_LEARNER_PARAMS RTU_TD_PARAMS(GOLDEN_N_IN, GOLDEN_N_HIDDEN)
#define AC_MAX_PARAMS                                                                               \
    (RTU_CELL_PARAMS(GOLDEN_AC_N_IN, GOLDEN_N_HIDDEN) + RTU_AC_VALUE_HEAD(GOLDEN_N_HIDDEN) +       \
     RTU_AC_POLICY_HEAD(GOLDEN_N_HIDDEN, RTU_ACTIONS_CONTINUOUS, FIX_AC_MAX_ACTIONS))
#define CKPT_MAX 4096u /* bytes; every checkpoint here is smaller (checked) */
#define R ((size_t)sizeof(rtu_real))

static rtu_real buf_a[FIX_AC_REALS > FIX_TD_REALS ? FIX_AC_REALS : FIX_TD_REALS];
static rtu_real buf_b[sizeof buf_a / sizeof buf_a[0]];
static rtu_real snapshot[sizeof buf_a / sizeof buf_a[0]];
static unsigned char ck1[CKPT_MAX], ck2[CKPT_MAX], work[CKPT_MAX + 16];

static void put_u32(unsigned char *p, uint32_t v)
{
    size_t i;
    for (i = 0; i < 4; ++i) {
        p[i] = (unsigned char)(v >> (8u * i));
    }
}

static void put_real(unsigned char *p, rtu_real v)
{
    memcpy(p, &v, sizeof v); /* little-endian targets only (checked) */
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

void test_td_ckpt_from_python(int arg)
{
    const int c = GOLDEN_TD_CKPT_CASE;
    const golden_td_case *g = &golden_td_cases[c];
    static rtu_real predictions[GOLDEN_TD_STEPS];
    rtu_real params[TD_LEARNER_PARAMS], x[GOLDEN_N_IN], cumulant;
    size_t bytes, other_bytes, written = 0, p_cell = RTU_CELL_PARAMS(GOLDEN_N_IN, GOLDEN_N_HIDDEN);
    const unsigned char *data = td_golden(&bytes, 0), *other = td_golden(&other_bytes, 1);
    rtu_ckpt_header h;
    rtu_td td;
    rtu_prng rng;
    unsigned t;
    (void)arg;
    CHECK_STATUS(rtu_ckpt_inspect(data, bytes, &h), RTU_OK);
    CHECK(h.version == 1u && h.learner_type == RTU_LEARNER_TD && h.precision == R &&
              h.kind == (uint32_t)g->kind && h.activation == (uint32_t)g->activation &&
              h.n_in == GOLDEN_N_IN && h.n_hidden == GOLDEN_N_HIDDEN &&
              h.optimizer == (uint32_t)g->optimizer && h.steps == GOLDEN_CKPT_STEP &&
              h.payload_bytes + RTU_CKPT_HEADER_BYTES + RTU_CKPT_CRC_BYTES == bytes,
          "rtu_ckpt_inspect reads the Python header");
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
    memcpy(params + p_cell, td.head, R * (TD_LEARNER_PARAMS - p_cell));
    check_close("cell params and head at the end", params,
                g->params + (GOLDEN_TD_MARKS - 1) * TD_LEARNER_PARAMS, TD_LEARNER_PARAMS, TOL);
    check_note("%lu bytes", (unsigned long)bytes);
}

void test_ac_ckpt_from_python(int i)
{
    const int c = golden_ac_ckpts[i].ac_case;
    const golden_ac_case *g = &golden_ac_cases[c];
    static rtu_real actions[GOLDEN_AC_STEPS * FIX_AC_MAX_ACTIONS], values[GOLDEN_AC_STEPS];
    rtu_real params[AC_MAX_PARAMS];
    size_t bytes, other_bytes, written = 0, n_params, k = fix_ac_action_reals(c), t;
    size_t steps = GOLDEN_AC_STEPS - GOLDEN_CKPT_STEP, same = 0;
    const unsigned char *data = ac_golden(i, &bytes, 0), *other = ac_golden(i, &other_bytes, 1);
    rtu_ac ac;
    fix_env env;
    CHECK_STATUS(fix_ac_make(c, 999u, &ac, buf_a), RTU_OK);
    CHECK_STATUS(rtu_ac_load(&ac, other, other_bytes), RTU_ERR_CKPT_MISMATCH);
    CHECK_STATUS(rtu_ac_load(&ac, data, bytes), RTU_OK);
    CHECK(ac.steps == GOLDEN_CKPT_STEP, "steps after load: %lu", (unsigned long)ac.steps);
    CHECK_STATUS(rtu_ac_save(&ac, ck1, sizeof ck1, &written), RTU_OK);
    CHECK(written == bytes && memcmp(ck1, data, bytes) == 0,
          "rtu_ac_save after loading Python's checkpoint wrote other bytes (%lu, Python %lu)",
          (unsigned long)written, (unsigned long)bytes);
    fix_env_start(&env, g->env_seed);
    fix_env_advance(&env, GOLDEN_CKPT_STEP);
    CHECK_STATUS(fix_ac_steps(&ac, c, &env, GOLDEN_CKPT_STEP, GOLDEN_AC_STEPS, actions, values),
                 RTU_OK);
    if (g->action_kind == RTU_ACTIONS_DISCRETE) {
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
    check_close("cell params, value and policy heads at the end", params, g->end, n_params, TOL);
    check_note("AC case %d, %s, %lu bytes", c,
               g->action_kind == RTU_ACTIONS_DISCRETE ? "discrete" : "continuous",
               (unsigned long)bytes);
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

void test_ac_ckpt_roundtrip(int c)
{
    const golden_ac_case *g = &golden_ac_cases[c];
    static rtu_real acts_a[60 * FIX_AC_MAX_ACTIONS], acts_b[60 * FIX_AC_MAX_ACTIONS];
    size_t size = 0, wa = 0, wb = 0;
    size_t reals = RTU_AC_REALS(g->kind, GOLDEN_AC_N_IN, GOLDEN_N_HIDDEN, g->action_kind,
                                g->n_actions);
    rtu_ac a, b;
    fix_env env_a, env_b;
    CHECK_STATUS(fix_ac_make(c, g->seed, &a, buf_a), RTU_OK);
    CHECK_STATUS(fix_ac_make(c, 4242u, &b, buf_b), RTU_OK);
    fix_env_start(&env_a, g->env_seed);
    CHECK_STATUS(fix_ac_steps(&a, c, &env_a, 0, 77, NULL, NULL), RTU_OK); /* mid-episode */
    CHECK_STATUS(rtu_ac_checkpoint_size(&a, &size), RTU_OK);
    CHECK(size <= CKPT_MAX, "checkpoint of %lu bytes", (unsigned long)size);
    CHECK_STATUS(rtu_ac_save(&a, ck1, sizeof ck1, &wa), RTU_OK);
    CHECK(wa == size, "written %lu, size query %lu", (unsigned long)wa, (unsigned long)size);
    CHECK_STATUS(rtu_ac_load(&b, ck1, wa), RTU_OK);
    CHECK_STATUS(rtu_ac_save(&b, ck2, sizeof ck2, &wb), RTU_OK);
    CHECK(wb == wa && memcmp(ck1, ck2, wa) == 0, "save(load(bytes)) differs from bytes");
    CHECK(b.steps == a.steps && b.episodes == a.episodes && b.rng.state == a.rng.state &&
              b.rng.inc == a.rng.inc && b.fed == a.fed && b.obs_count == a.obs_count,
          "counters, PRNG and flags restored");
    env_b = env_a;
    /* 60 more steps, through the episode end at step 100 */
    CHECK_STATUS(fix_ac_steps(&a, c, &env_a, 77, 137, acts_a, NULL), RTU_OK);
    CHECK_STATUS(fix_ac_steps(&b, c, &env_b, 77, 137, acts_b, NULL), RTU_OK);
    CHECK(memcmp(acts_a, acts_b, sizeof acts_a) == 0, "the resumed learner acts otherwise");
    CHECK(memcmp(buf_a, buf_b, R * reals) == 0, "the resumed learner's buffer differs");
    CHECK(a.rng.state == b.rng.state && a.episodes == b.episodes, "PRNG and episodes");
    check_note("AC case %d, %lu bytes", c, (unsigned long)wa);
}

/* Every corruption of one byte, every truncation, and patched (re-sealed) fields are refused
 * with the documented status; a refused load leaves the learner untouched. */
static void corruptions(const unsigned char *good, size_t bytes, int is_ac, void *learner,
                        size_t learner_size, const rtu_real *buffer, size_t reals)
{
    static unsigned char struct_before[sizeof(rtu_ac) > sizeof(rtu_td) ? sizeof(rtu_ac)
                                                                       : sizeof(rtu_td)];
    size_t pos, len, wrong = 0, not_truncated = 0;
    memcpy(struct_before, learner, learner_size);
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
    CHECK(memcmp(struct_before, learner, learner_size) == 0 &&
              memcmp(snapshot, buffer, R * reals) == 0,
          "a refused checkpoint changed the learner");
    check_note("%u corruptions, %u truncations", (unsigned)bytes, (unsigned)bytes);
}

/* Load a patched copy of good (re-sealed) and expect want; the learner must stay untouched. */
static void patched(const char *what, size_t bytes, int is_ac, void *learner, size_t learner_size,
                    const rtu_real *buffer, size_t reals, rtu_status want)
{
    static unsigned char struct_before[sizeof(rtu_ac) > sizeof(rtu_td) ? sizeof(rtu_ac)
                                                                       : sizeof(rtu_td)];
    rtu_status s;
    memcpy(struct_before, learner, learner_size);
    memcpy(snapshot, buffer, R * reals);
    reseal(bytes);
    s = is_ac ? rtu_ac_load((rtu_ac *)learner, work, bytes)
              : rtu_td_load((rtu_td *)learner, work, bytes);
    CHECK(s == want, "%s: %s, expected %s", what, rtu_status_str(s), rtu_status_str(want));
    CHECK(memcmp(struct_before, learner, learner_size) == 0 &&
              memcmp(snapshot, buffer, R * reals) == 0,
          "%s: the refused checkpoint changed the learner", what);
}

void test_td_ckpt_refusals(int arg)
{
    const int c = 1; /* nonlinear */
    const golden_td_case *g = &golden_td_cases[c];
    size_t reals = RTU_TD_REALS(g->kind, GOLDEN_N_IN, GOLDEN_N_HIDDEN), bytes = 0, w = 7;
    size_t params_at = RTU_CKPT_HEADER_BYTES + 6u * R + 4u;
    rtu_td src, dst, other_kind;
    rtu_ac ac;
    rtu_prng rng;
    rtu_ckpt_header h;
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
    CHECK_STATUS(fix_td_make(c, 77u, &dst, buf_b), RTU_OK);

    corruptions(ck1, bytes, 0, &dst, sizeof dst, buf_b, reals);

    memcpy(work, ck1, bytes);
    put_u32(work + 12, RTU_LEARNER_ACTOR_CRITIC);
    patched("learner type 2", bytes, 0, &dst, sizeof dst, buf_b, reals, RTU_ERR_CKPT_MISMATCH);
    memcpy(work, ck1, bytes);
    put_u32(work + 16, sizeof(rtu_real) == 4 ? 8u : 4u);
    patched("other precision", bytes, 0, &dst, sizeof dst, buf_b, reals, RTU_ERR_CKPT_MISMATCH);
    memcpy(work, ck1, bytes);
    put_u32(work + 32, GOLDEN_N_HIDDEN + 1u);
    patched("n_hidden + 1", bytes, 0, &dst, sizeof dst, buf_b, reals, RTU_ERR_CKPT_MISMATCH);
    memcpy(work, ck1, bytes);
    put_real(work + RTU_CKPT_HEADER_BYTES, (rtu_real)1.5);
    patched("gamma 1.5", bytes, 0, &dst, sizeof dst, buf_b, reals, RTU_ERR_CONFIG);
    memcpy(work, ck1, bytes);
    put_u32(work + RTU_CKPT_HEADER_BYTES + 6u * R, 2u);
    patched("has_prev 2", bytes, 0, &dst, sizeof dst, buf_b, reals, RTU_ERR_CONFIG);
    memcpy(work, ck1, bytes);
    put_real(work + params_at, (rtu_real)25);
    patched("nu_log 25", bytes, 0, &dst, sizeof dst, buf_b, reals, RTU_ERR_PARAM_RANGE);
    memcpy(work, ck1, bytes);
    put_real(work + bytes - RTU_CKPT_CRC_BYTES - R, (rtu_real)NAN); /* the last entry of z */
    patched("NaN in z", bytes, 0, &dst, sizeof dst, buf_b, reals, RTU_ERR_NONFINITE_PARAM);
    memcpy(work, ck1, bytes);
    put_u32(work + 8, 2u); /* version 2, re-sealed */
    patched("version 2", bytes, 0, &dst, sizeof dst, buf_b, reals, RTU_ERR_CKPT_VERSION);

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
    const int c = 0;
    const golden_ac_case *g = &golden_ac_cases[c];
    size_t reals = RTU_AC_REALS(g->kind, GOLDEN_AC_N_IN, GOLDEN_N_HIDDEN, g->action_kind,
                                g->n_actions);
    size_t bytes = 0, w = 7, fixed = RTU_CKPT_HEADER_BYTES;
    rtu_real obs[GOLDEN_AC_N_IN], action[FIX_AC_MAX_ACTIONS];
    rtu_ac src, dst;
    rtu_td td;
    fix_env env;
    (void)arg;
    if (!check_little_endian()) {
        CHECK(0, "these checks patch little-endian bytes");
        return;
    }
    CHECK_STATUS(fix_ac_make(c, g->seed, &src, buf_a), RTU_OK);
    fix_env_start(&env, g->env_seed);
    CHECK_STATUS(fix_ac_steps(&src, c, &env, 0, 77, NULL, NULL), RTU_OK);
    CHECK_STATUS(rtu_ac_save(&src, ck1, sizeof ck1, &bytes), RTU_OK);
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

    corruptions(ck1, bytes, 1, &dst, sizeof dst, buf_b, reals);

    memcpy(work, ck1, bytes);
    put_u32(work + fixed + 20, 1u); /* acted */
    patched("acted 1", bytes, 1, &dst, sizeof dst, buf_b, reals, RTU_ERR_ORDER);
    memcpy(work, ck1, bytes);
    put_u32(work + fixed + 4, g->n_actions + 1u);
    patched("n_actions + 1", bytes, 1, &dst, sizeof dst, buf_b, reals, RTU_ERR_CKPT_MISMATCH);
    memcpy(work, ck1, bytes);
    put_u32(work + fixed, RTU_ACTIONS_CONTINUOUS);
    patched("continuous actions", bytes, 1, &dst, sizeof dst, buf_b, reals,
            RTU_ERR_CKPT_MISMATCH);
    memcpy(work, ck1, bytes);
    work[fixed + 56] &= 0xFEu; /* an even PRNG increment */
    patched("even PRNG increment", bytes, 1, &dst, sizeof dst, buf_b, reals, RTU_ERR_CONFIG);
    memcpy(work, ck1, bytes);
    put_u32(work + fixed + 16, 2u); /* fed 2 */
    patched("fed 2", bytes, 1, &dst, sizeof dst, buf_b, reals, RTU_ERR_CONFIG);
    memcpy(work, ck1, bytes);
    put_real(work + fixed + RTU_AC_CKPT_FIXED_BYTES + 2u * R, (rtu_real)-1); /* alpha */
    patched("alpha -1", bytes, 1, &dst, sizeof dst, buf_b, reals, RTU_ERR_CONFIG);
    memcpy(work, ck1, bytes);
    put_real(work + fixed + RTU_AC_CKPT_FIXED_BYTES + 9u * R, (rtu_real)INFINITY); /* nu_log[0] */
    patched("Inf nu_log", bytes, 1, &dst, sizeof dst, buf_b, reals, RTU_ERR_NONFINITE_PARAM);
    memcpy(work, ck1, bytes);
    put_real(work + fixed + RTU_AC_CKPT_FIXED_BYTES + 9u * R, (rtu_real)-21);
    patched("nu_log -21", bytes, 1, &dst, sizeof dst, buf_b, reals, RTU_ERR_PARAM_RANGE);

    CHECK_STATUS(fix_td_make(0, 5u, &td, buf_a), RTU_OK);
    CHECK_STATUS(rtu_td_load(&td, ck1, bytes), RTU_ERR_CKPT_MISMATCH);
}
