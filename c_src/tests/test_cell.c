/* The cell against the reference: initialisation, features, state, RTRL traces and gradients for
 * every kind (the LRU's readout too) and all three activations; sequence runs; refused input. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "rtu_internal.h"
#include "fixtures.h"
#include "tests.h"

#define N_IN GOLDEN_N_IN
#define N2 (2 * GOLDEN_N_HIDDEN)
#define CELL_REALS RTU_CELL_REALS(RTU_KIND_LRU, GOLDEN_N_IN, GOLDEN_N_HIDDEN) /* the largest */
#define N_GRADS (GOLDEN_CELL_STEPS / GOLDEN_GRAD_EVERY)
#define MAX_PARAMS GOLDEN_MAX_PARAMS

static const char *const kind_names[] = GOLDEN_KIND_NAMES;
static const char *const act_names[] = GOLDEN_ACTIVATION_NAMES;

static rtu_real cell_buf[CELL_REALS];

static int make_cell(rtu_cell *cell, int kind, int activation, uint64_t seed)
{
    rtu_prng rng;
    rtu_status status = rtu_cell_init(cell, (rtu_kind)kind, (rtu_activation)activation, N_IN,
                                      GOLDEN_N_HIDDEN, cell_buf, sizeof cell_buf);
    CHECK_STATUS(status, RTU_OK);
    if (status != RTU_OK) {
        return 0;
    }
    rtu_prng_seed(&rng, seed);
    status = rtu_cell_init_params(cell, &rng, 0.0, 1.0, 6.28);
    CHECK_STATUS(status, RTU_OK);
    return status == RTU_OK;
}

void test_cell_golden(int c)
{
    const golden_cell_case *g = &golden_cell_cases[c];
    static rtu_real h[GOLDEN_CELL_STEPS * N2], grad[N_GRADS * MAX_PARAMS];
    rtu_real x[N_IN], dh[N2], state[N2], traces[8 * GOLDEN_N_HIDDEN * (1 + N_IN)];
    size_t n = GOLDEN_N_HIDDEN, nd = GOLDEN_N_HIDDEN * N_IN, n_traces, p = g->n_params;
    rtu_cell cell;
    rtu_prng rng;
    unsigned t;
    if (!make_cell(&cell, g->kind, g->activation, g->seed)) {
        return;
    }
    CHECK(cell.n_params == p, "n_params %lu, the reference's %lu", (unsigned long)cell.n_params,
          (unsigned long)p);
    /* the same seed gives the same cell: to one rounding (float) or an ulp of libm (double) */
    check_close("initial params", cell.params, g->params, p, TOL_INIT);
    rtu_prng_seed(&rng, g->input_seed);
    for (t = 0; t < GOLDEN_CELL_STEPS; ++t) {
        fix_cell_draw(&rng, x, N_IN, dh, N2);
        CHECK_STATUS(rtu_cell_step(&cell, x, h + t * N2), RTU_OK);
        if ((t + 1u) % GOLDEN_GRAD_EVERY == 0u) {
            CHECK_STATUS(rtu_cell_gradient(&cell, dh,
                                           grad + ((t + 1u) / GOLDEN_GRAD_EVERY - 1u) * p),
                         RTU_OK);
        }
    }
    check_close("features h, every step", h, g->h, GOLDEN_CELL_STEPS * N2, TOL);
    check_close("gradients", grad, g->grad, N_GRADS * p, TOL);
    memcpy(state, cell.c, sizeof(rtu_real) * n);
    memcpy(state + n, cell.d, sizeof(rtu_real) * n);
    check_close("state c, d", state, g->state, N2, TOL);
    memcpy(traces, cell.dc_dnu, sizeof(rtu_real) * n);
    memcpy(traces + n, cell.dd_dnu, sizeof(rtu_real) * n);
    memcpy(traces + 2 * n, cell.dc_dtheta, sizeof(rtu_real) * n);
    memcpy(traces + 3 * n, cell.dd_dtheta, sizeof(rtu_real) * n);
    memcpy(traces + 4 * n, cell.dc_dwc, sizeof(rtu_real) * nd);
    memcpy(traces + 4 * n + nd, cell.dd_dwc, sizeof(rtu_real) * nd);
    n_traces = 4 * n + 2 * nd;
    if (g->kind == RTU_KIND_NONLINEAR) {
        memcpy(traces + n_traces, cell.dc_dwd, sizeof(rtu_real) * nd);
        memcpy(traces + n_traces + nd, cell.dd_dwd, sizeof(rtu_real) * nd);
        n_traces += 2 * nd;
    }
    check_close("RTRL traces", traces, g->traces, n_traces, TOL);
    check_note("%s %s, %d steps", kind_names[g->kind], act_names[g->activation],
               GOLDEN_CELL_STEPS);
}

/* rtu_cell_run gives the features of stepping bit for bit, and rtu_cell_run_gradient the sum of
 * the per-step gradients. */
void test_cell_run_matches_step(int kind)
{
    enum { T = 40 };
    static rtu_real xs[T * N_IN], dhs[T * N2], h_step[T * N2], h_run[T * N2];
    rtu_real grad[MAX_PARAMS], grad_run[MAX_PARAMS];
    double sum[MAX_PARAMS];
    rtu_cell cell;
    rtu_prng rng;
    size_t t, i, p;
    if (!make_cell(&cell, kind, RTU_ACT_TANH, 5u)) {
        return;
    }
    p = cell.n_params;
    rtu_prng_seed(&rng, 6u);
    for (t = 0; t < T; ++t) {
        fix_cell_draw(&rng, xs + t * N_IN, N_IN, dhs + t * N2, N2);
    }
    for (i = 0; i < p; ++i) {
        sum[i] = 0.0;
    }
    for (t = 0; t < T; ++t) {
        CHECK_STATUS(rtu_cell_step(&cell, xs + t * N_IN, h_step + t * N2), RTU_OK);
        CHECK_STATUS(rtu_cell_gradient(&cell, dhs + t * N2, grad), RTU_OK);
        for (i = 0; i < p; ++i) {
            sum[i] += (double)grad[i];
        }
    }
    rtu_cell_reset(&cell);
    CHECK_STATUS(rtu_cell_run(&cell, xs, T, h_run), RTU_OK);
    CHECK(memcmp(h_run, h_step, sizeof h_run) == 0, "rtu_cell_run differs from stepping");
    rtu_cell_reset(&cell);
    CHECK_STATUS(rtu_cell_run_gradient(&cell, xs, dhs, T, h_run, grad_run), RTU_OK);
    CHECK(memcmp(h_run, h_step, sizeof h_run) == 0, "rtu_cell_run_gradient's features differ");
    /* summed in rtu_real by the core, in double here */
    check_close("run_gradient sum", grad_run, sum, p, sizeof(rtu_real) == 4 ? 1e-5 : 1e-12);
    check_note("%s", kind_names[kind]);
}

/* A step's features are, to the bit, the features rtu_cell_peek gives for the same input just
 * before it: the step's input sums go over the units in groups of blocks, in blocks and row by
 * row (below and past RTU_SUM_GROUP blocks and RTU_BLOCK_MAX_UNITS units: 16 to 136), the peek's
 * over every unit at once (rtu_input_sums), each sum adding the inputs in order. It fails if a
 * group or block adds them in another order. */
void test_cell_step_is_peek(int kind)
{
    enum { D = 7, MAX_N = 136, T = 12 };
    static const size_t sizes[] = {16, 37, 64, 100, 128, MAX_N};
    static rtu_real buf[RTU_CELL_REALS(RTU_KIND_LRU, D, MAX_N)];
    rtu_real x[D], dh[2 * MAX_N], h_peek[2 * MAX_N], h_step[2 * MAX_N];
    size_t s, t, bad = 0;
    for (s = 0; s < sizeof sizes / sizeof sizes[0]; ++s) {
        size_t n = sizes[s];
        rtu_cell cell;
        rtu_prng rng;
        rtu_status status = rtu_cell_init(&cell, (rtu_kind)kind, RTU_ACT_TANH, D, n, buf,
                                          sizeof buf);
        CHECK_STATUS(status, RTU_OK);
        if (status != RTU_OK) {
            return;
        }
        rtu_prng_seed(&rng, 11u + s);
        CHECK_STATUS(rtu_cell_init_params(&cell, &rng, 0.0, 1.0, 6.28), RTU_OK);
        for (t = 0; t < T; ++t) {
            fix_cell_draw(&rng, x, D, dh, 2 * n);
            rtu_cell_peek(&cell, x, 0, h_peek);
            CHECK_STATUS(rtu_cell_step(&cell, x, h_step), RTU_OK);
            if (memcmp(h_peek, h_step, 2 * n * sizeof(rtu_real)) != 0) {
                ++bad;
                CHECK(0, "%lu units, step %lu: the step's features are not the peek's",
                      (unsigned long)n, (unsigned long)t);
            }
        }
    }
    check_note("%s, %lu sizes x %d steps, %lu differ", kind_names[kind],
               (unsigned long)(sizeof sizes / sizeof sizes[0]), (int)T, (unsigned long)bad);
}

/* NaN, Inf and out-of-range input and parameters are refused, and the cell is untouched. */
void test_cell_refuses_bad_input(int kind)
{
    static rtu_real before[CELL_REALS];
    rtu_real x[N_IN] = {0.5f, -0.25f, 1.0f}, dh[N2], grad[MAX_PARAMS] = {0};
    rtu_real grad0[MAX_PARAMS] = {0}, params[MAX_PARAMS], seq[3 * N_IN];
    rtu_cell cell;
    size_t i, reals = RTU_CELL_REALS(kind, N_IN, GOLDEN_N_HIDDEN), p;
    if (!make_cell(&cell, kind, RTU_ACT_RELU, 8u)) {
        return;
    }
    p = cell.n_params;
    for (i = 0; i < N2; ++i) {
        dh[i] = 1;
    }
    CHECK_STATUS(rtu_cell_step(&cell, x, NULL), RTU_OK);
    CHECK_STATUS(rtu_cell_step(&cell, x, NULL), RTU_OK);
    memcpy(before, cell_buf, sizeof(rtu_real) * reals);

    x[1] = (rtu_real)NAN; /* NaN */
    CHECK_STATUS(rtu_cell_step(&cell, x, NULL), RTU_ERR_NONFINITE_INPUT);
    x[1] = (rtu_real)INFINITY; /* Inf */
    CHECK_STATUS(rtu_cell_step(&cell, x, NULL), RTU_ERR_NONFINITE_INPUT);
    x[1] = (rtu_real)2e6;
    CHECK_STATUS(rtu_cell_step(&cell, x, NULL), RTU_ERR_INPUT_RANGE);
    CHECK_STATUS(rtu_cell_step(&cell, NULL, NULL), RTU_ERR_NULL);
    for (i = 0; i < 3 * N_IN; ++i) {
        seq[i] = (rtu_real)0.1;
    }
    seq[2 * N_IN + 1] = (rtu_real)NAN; /* the last step is bad: nothing may run */
    CHECK_STATUS(rtu_cell_run(&cell, seq, 3, NULL), RTU_ERR_NONFINITE_INPUT);
    /* a length whose sequence cannot be in memory: steps * n_in would wrap round size_t, and
     * the check would cover the first row only */
    CHECK_STATUS(rtu_cell_run(&cell, seq, SIZE_MAX / N_IN + 2u, NULL), RTU_ERR_SIZE);
    CHECK_STATUS(rtu_cell_run_gradient(&cell, seq, dh, SIZE_MAX / N_IN + 2u, NULL, grad),
                 RTU_ERR_SIZE);
    CHECK(memcmp(before, cell_buf, sizeof(rtu_real) * reals) == 0,
          "a refused step changed the cell");

    CHECK_STATUS(rtu_cell_gradient(&cell, dh, grad0), RTU_OK);
    memcpy(grad, grad0, sizeof grad);
    dh[3] = (rtu_real)NAN;
    CHECK_STATUS(rtu_cell_gradient(&cell, dh, grad), RTU_ERR_NONFINITE_INPUT);
    dh[3] = (rtu_real)-3e6;
    CHECK_STATUS(rtu_cell_gradient(&cell, dh, grad), RTU_ERR_INPUT_RANGE);
    CHECK(memcmp(grad, grad0, sizeof grad) == 0, "a refused gradient wrote grad");
    memcpy(before, cell_buf, sizeof(rtu_real) * reals); /* the gradient wrote the LRU's scratch */

    memcpy(params, cell.params, sizeof(rtu_real) * p);
    params[0] = (rtu_real)25; /* nu_log beyond RTU_LOG_PARAM_LIMIT */
    CHECK_STATUS(rtu_cell_set_params(&cell, params), RTU_ERR_PARAM_RANGE);
    params[0] = cell.params[0];
    params[p - 1] = (rtu_real)NAN; /* the LRU's: its readout's last entry */
    CHECK_STATUS(rtu_cell_set_params(&cell, params), RTU_ERR_NONFINITE_PARAM);
    CHECK(memcmp(before, cell_buf, sizeof(rtu_real) * reals) == 0,
          "a refused set_params changed the cell");
    check_note("%s", kind_names[kind]);
}

/* A state driven past RTU_VALUE_LIMIT (huge input weights, r near 1, a slow turn): every step
 * before is RTU_OK with the state within it, the step that crosses is RTU_ERR_OVERFLOW. */
void test_cell_state_limit(int kind)
{
    rtu_real x[N_IN] = {1e6f, 1e6f, 1e6f}, params[MAX_PARAMS];
    rtu_cell cell;
    size_t i, k, n = GOLDEN_N_HIDDEN, steps = 0;
    rtu_status status = RTU_OK;
    if (!make_cell(&cell, kind, RTU_ACT_IDENTITY, 8u)) {
        return;
    }
    memcpy(params, cell.params, sizeof(rtu_real) * cell.n_params);
    for (k = 0; k < n; ++k) {
        params[k] = (rtu_real)-12;         /* nu_log: 1 - r = 6e-6 */
        params[n + k] = (rtu_real)-9.2103; /* theta_log: theta = 1e-4 */
    }
    for (i = 2 * n; i < 2 * n + 2 * n * N_IN; ++i) {
        params[i] = (rtu_real)1e9; /* w_c, w_d */
    }
    CHECK_STATUS(rtu_cell_set_params(&cell, params), RTU_OK);
    while (status == RTU_OK && steps < 1000) {
        for (k = 0; k < n; ++k) {
            CHECK(fabs((double)cell.c[k]) <= RTU_VALUE_LIMIT &&
                      fabs((double)cell.d[k]) <= RTU_VALUE_LIMIT,
                  "a state beyond RTU_VALUE_LIMIT after RTU_OK");
        }
        status = rtu_cell_step(&cell, x, NULL);
        steps += 1;
    }
    CHECK_STATUS(status, RTU_ERR_OVERFLOW);
    CHECK(steps > 10 && steps < 1000, "the state limit was not reached in the expected steps");
    check_note("%s: refused at step %u", kind_names[kind], (unsigned)steps);
}

/* The fast derived cache's transcendentals (rtu_internal.h, -DRTU_FAST_DERIVED; compiled and
 * checked in every build): within RTU_FAST_MAX_ERROR of libm, relatively, over their domains:
 * exp on [-708, 20] (uniform and log-spaced; 0 below -708, where libm's is below 2^-1021), expm1
 * on [-1e9, 0.35] (log-spaced from 1e-12 and uniform on [-1, 0.35]), sin and cos on
 * (0, RTU_FAST_SINCOS_MAX] (uniform, log-spaced from 1e-9, and within 1e-6 of each multiple of
 * pi / 2). About a million values. */
static void fast_note(double got, double want, double x, double *worst, double *worst_x)
{
    double err = want == 0 ? fabs(got) : fabs(got - want) / fabs(want);
    if (!(err <= *worst)) { /* NaN too */
        *worst = err;
        *worst_x = x;
    }
}

void test_fast_derived_error(int arg)
{
    double worst[4] = {0}, at[4] = {0}, x, s, c;
    const char *names[4] = {"exp", "expm1", "sin", "cos"};
    unsigned long i, n = 100000ul, count = 0;
    int f;
    (void)arg;
    for (i = 0; i <= n; ++i) {
        double u = (double)i / (double)n;
        x = -708.0 + 728.0 * u;
        fast_note(rtu_exp_fast(x), exp(x), x, &worst[0], &at[0]);
        x = pow(10.0, -12.0 + 13.3 * u); /* 1e-12 .. 20 */
        fast_note(rtu_exp_fast(x), exp(x), x, &worst[0], &at[0]);
        fast_note(rtu_exp_fast(-x), exp(-x), -x, &worst[0], &at[0]);
        x = -pow(10.0, -12.0 + 21.0 * u); /* -1e-12 .. -1e9 */
        fast_note(rtu_expm1_fast(x), expm1(x), x, &worst[1], &at[1]);
        x = -1.0 + 1.35 * u;
        fast_note(rtu_expm1_fast(x), expm1(x), x, &worst[1], &at[1]);
        x = RTU_FAST_SINCOS_MAX * u;
        x = x > 0 ? x : 1e-9;
        rtu_sincos_fast(x, &s, &c);
        fast_note(s, sin(x), x, &worst[2], &at[2]);
        fast_note(c, cos(x), x, &worst[3], &at[3]);
        x = pow(10.0, -9.0 + 10.806 * u); /* 1e-9 .. 64 */
        rtu_sincos_fast(x, &s, &c);
        fast_note(s, sin(x), x, &worst[2], &at[2]);
        fast_note(c, cos(x), x, &worst[3], &at[3]);
        x = 1.5707963267948966 * (double)(1u + i % 40u) + 2e-6 * ((double)(i / 40u) / 2500.0 - 1);
        rtu_sincos_fast(x, &s, &c);
        fast_note(s, sin(x), x, &worst[2], &at[2]);
        fast_note(c, cos(x), x, &worst[3], &at[3]);
        count += 10;
    }
    CHECK(rtu_exp_fast(-708.5) == 0 && rtu_exp_fast(-745.2) == 0 && rtu_exp_fast(-1e9) == 0 &&
              exp(-708.5) < 0x1p-1021,
          "exp below -708: 0");
    CHECK(rtu_expm1_fast(-1e9) == -1 && rtu_expm1_fast(0) == 0, "expm1 at -1e9 and 0");
    for (f = 0; f < 4; ++f) {
        CHECK(worst[f] <= RTU_FAST_MAX_ERROR, "%s: relative error %.3g at x = %.17g above "
              "RTU_FAST_MAX_ERROR %g", names[f], worst[f], at[f], RTU_FAST_MAX_ERROR);
    }
    check_note("%lu values; largest relative errors: exp %.2g, expm1 %.2g, sin %.2g, cos %.2g",
               count, worst[0], worst[1], worst[2], worst[3]);
}

/* The derived cache is libm's, bit for bit, wherever the build computes it from libm's
 * functions: the float build's default (a pass without libm's calls, kept where its rounding to
 * float is certain, libm's calls for the rest) and the double build, over DERIVED_ROUNDS cells of
 * DERIVED_UNITS units whose (nu_log, theta_log) cover the whole range (+-RTU_LOG_PARAM_LIMIT)
 * and, more densely, the learners' usual one (nu_log in [-12, 2], theta_log in [-10, 4.5]), with
 * the phases past the fast pass's domain and r below double's range, which it leaves to libm;
 * and first the three phases of all floats' theta_log up to that domain where rtu_internal.h's
 * functions alone round phi to another float than libm's (at nu_log = -20; a search over every
 * float, outside the tests), which the fast pass must leave to libm. -DRTU_FAST_DERIVED and
 * -DRTU_DERIVED_FLOAT compute other bits by design (within tolerance: cell/fast_derived_error,
 * the golden cases). DERIVED_UNITS is no multiple of a vector's width or of the fast pass's
 * chunk of units, so that the last of each is partial. */
#define DERIVED_UNITS 1021u
#define DERIVED_ROUNDS 600u
void test_derived_cache_is_libms(int arg)
{
    static rtu_real buf[RTU_CELL_REALS(RTU_KIND_LINEAR, 1u, DERIVED_UNITS)];
    static rtu_real params[2u * DERIVED_UNITS + 2u * DERIVED_UNITS];
    rtu_cell cell;
    rtu_prng rng;
    size_t k, round, n = DERIVED_UNITS, differ = 0, beyond = 0;
    (void)arg;
#if defined(RTU_FAST_DERIVED) || defined(RTU_DERIVED_FLOAT)
    (void)buf;
    (void)params;
    (void)cell;
    (void)rng;
    (void)k;
    (void)round;
    (void)n;
    (void)differ;
    (void)beyond;
    check_note("skipped: this build's derived cache is not libm's by design");
#else
    CHECK_STATUS(rtu_cell_init(&cell, RTU_KIND_LINEAR, RTU_ACT_TANH, 1u, n, buf, sizeof buf),
                 RTU_OK);
    rtu_prng_seed(&rng, 17u);
    memset(params, 0, sizeof params);
#ifndef RTU_DOUBLE
    for (k = 0; k < 3u; ++k) { /* the fast functions alone give another phi here */
        const float near_pi[3] = {0x1.d67f1cp+0f, 0x1.8b9a62p+1f, 0x1.b9419ep+1f};
        double r = rtu_exp_fast(-rtu_exp_fast(-20.0)), s, c;
        rtu_sincos_fast(rtu_exp_fast((double)near_pi[k]), &s, &c);
        CHECK((float)(r * s) != (float)(exp(-exp(-20.0)) * sin(exp((double)near_pi[k]))),
              "theta_log %a: the fast functions alone give libm's phi", (double)near_pi[k]);
    }
#endif
    for (round = 0; round < DERIVED_ROUNDS; ++round) {
        int wide = round % 3u == 0;
        for (k = 0; k < n; ++k) {
            double u = rtu_prng_uniform(&rng), v = rtu_prng_uniform(&rng);
            params[k] = (rtu_real)(wide ? RTU_LOG_PARAM_LIMIT * (2 * u - 1) : -12 + 14 * u);
            params[n + k] =
                (rtu_real)(wide ? RTU_LOG_PARAM_LIMIT * (2 * v - 1) : -10 + 14.5 * v);
        }
        if (round == 0) {
            params[0] = params[1] = params[2] = (rtu_real)-20;
            params[n] = (rtu_real)0x1.d67f1cp+0f;
            params[n + 1] = (rtu_real)0x1.8b9a62p+1f;
            params[n + 2] = (rtu_real)0x1.b9419ep+1f;
        }
        CHECK_STATUS(rtu_cell_set_params(&cell, params), RTU_OK);
        for (k = 0; k < n; ++k) {
            double nu = exp((double)params[k]), theta = exp((double)params[n + k]);
            double r = exp(-nu), eta = sqrt(-expm1(-2 * nu));
            rtu_real want[6];
            want[0] = (rtu_real)nu;
            want[1] = (rtu_real)theta;
            want[2] = (rtu_real)(r * cos(theta));
            want[3] = (rtu_real)(r * sin(theta));
            want[4] = eta < (double)RTU_ETA_MIN ? (rtu_real)RTU_ETA_MIN : (rtu_real)eta;
            want[5] = eta < (double)RTU_ETA_MIN ? (rtu_real)0 : (rtu_real)(r * r * nu / eta);
            beyond += theta > 63.0 || nu > 665.0;
            if (memcmp(&want[0], &cell.nu[k], sizeof(rtu_real)) != 0 ||
                memcmp(&want[1], &cell.theta[k], sizeof(rtu_real)) != 0 ||
                memcmp(&want[2], &cell.g[k], sizeof(rtu_real)) != 0 ||
                memcmp(&want[3], &cell.phi[k], sizeof(rtu_real)) != 0 ||
                memcmp(&want[4], &cell.eta[k], sizeof(rtu_real)) != 0 ||
                memcmp(&want[5], &cell.deta[k], sizeof(rtu_real)) != 0) {
                if (differ == 0) {
                    CHECK(0, "unit with nu_log %.9g, theta_log %.9g: not libm's bits",
                          (double)params[k], (double)params[n + k]);
                }
                differ += 1;
            }
        }
    }
    CHECK(differ == 0, "%u units of %u not libm's bits", (unsigned)differ,
          (unsigned)(DERIVED_ROUNDS * n));
#ifdef RTU_CHECKED_DERIVED
    check_note("%u units, %u of them beyond the fast pass's domain; the polynomial pass checked "
               "against rounding", (unsigned)(DERIVED_ROUNDS * n), (unsigned)beyond);
#else
    check_note("%u units, %u of them beyond the fast pass's domain; libm's calls",
               (unsigned)(DERIVED_ROUNDS * n), (unsigned)beyond);
#endif
#endif
}

/* The float versions (-DRTU_DERIVED_FLOAT) against libm in double on the float arguments, over
 * the same grids with exp on [-87, 20]: within RTU_FAST_MAX_ERROR_F. */
void test_fast_derived_error_float(int arg)
{
    double worst[4] = {0}, at[4] = {0};
    const char *names[4] = {"expf", "expm1f", "sinf", "cosf"};
    unsigned long i, n = 100000ul, count = 0;
    float x, s, c;
    int f;
    (void)arg;
    for (i = 0; i <= n; ++i) {
        double u = (double)i / (double)n;
        x = (float)(-87.0 + 107.0 * u);
        fast_note(rtu_expf_fast(x), exp(x), x, &worst[0], &at[0]);
        x = (float)pow(10.0, -12.0 + 13.3 * u);
        fast_note(rtu_expf_fast(x), exp(x), x, &worst[0], &at[0]);
        fast_note(rtu_expf_fast(-x), exp(-x), -x, &worst[0], &at[0]);
        x = (float)-pow(10.0, -12.0 + 21.0 * u);
        fast_note(rtu_expm1f_fast(x), expm1(x), x, &worst[1], &at[1]);
        x = (float)(-1.0 + 1.35 * u);
        fast_note(rtu_expm1f_fast(x), expm1(x), x, &worst[1], &at[1]);
        x = (float)(RTU_FAST_SINCOS_MAX * u);
        x = x > 0 ? x : 1e-9f;
        rtu_sincosf_fast(x, &s, &c);
        fast_note(s, sin(x), x, &worst[2], &at[2]);
        fast_note(c, cos(x), x, &worst[3], &at[3]);
        x = (float)pow(10.0, -9.0 + 10.806 * u);
        rtu_sincosf_fast(x, &s, &c);
        fast_note(s, sin(x), x, &worst[2], &at[2]);
        fast_note(c, cos(x), x, &worst[3], &at[3]);
        x = (float)(1.5707963267948966 * (double)(1u + i % 40u) +
                    2e-6 * ((double)(i / 40u) / 2500.0 - 1));
        rtu_sincosf_fast(x, &s, &c);
        fast_note(s, sin(x), x, &worst[2], &at[2]);
        fast_note(c, cos(x), x, &worst[3], &at[3]);
        count += 10;
    }
    CHECK(rtu_expf_fast(-87.5f) == 0 && rtu_expf_fast(-1e9f) == 0 && exp(-87.5) < 1e-37,
          "expf below -87: 0");
    CHECK(rtu_expm1f_fast(-1e9f) == -1 && rtu_expm1f_fast(0) == 0, "expm1f at -1e9 and 0");
    for (f = 0; f < 4; ++f) {
        CHECK(worst[f] <= RTU_FAST_MAX_ERROR_F, "%s: relative error %.3g at x = %.9g above "
              "RTU_FAST_MAX_ERROR_F %g", names[f], worst[f], at[f], (double)RTU_FAST_MAX_ERROR_F);
    }
    check_note("%lu values; largest relative errors: expf %.2g, expm1f %.2g, sinf %.2g, cosf %.2g",
               count, worst[0], worst[1], worst[2], worst[3]);
}

/* The float build's tanh (rtu_internal.h): within RTU_TANH_MAX_ERROR of tanh in double over
 * every 1024th float of [0, 12] (its bit patterns, so that small x are as well covered as large)
 * and a uniform grid of [-12, 12], odd, within [-1, 1], 0 at 0, +-1 at +-Inf and NaN at NaN.
 * (The double build's is libm's tanh.) About 0.6 million values: quick under qemu too. */
static void tanh_check(float x, double *worst, float *worst_x, unsigned long *bad)
{
    rtu_real y = RTU_TANH((rtu_real)x);
    double err = fabs((double)y - tanh((double)x));
    if (err > *worst) {
        *worst = err;
        *worst_x = x;
    }
    *bad += RTU_TANH((rtu_real)-x) != -y || !(y >= -1 && y <= 1);
}

void test_tanh_error(int arg)
{
    float x, worst_x = 0;
    double worst = 0;
    unsigned long count = 0, bad = 0, i;
    uint32_t bits, top;
    (void)arg;
    x = 12.0f;
    memcpy(&top, &x, sizeof top);
    for (bits = 0; bits <= top; bits += 1024u) {
        memcpy(&x, &bits, sizeof x);
        tanh_check(x, &worst, &worst_x, &bad);
        ++count;
    }
    for (i = 0; i <= 200000ul; ++i) {
        tanh_check(-12.0f + 24.0f * (float)i / 200000.0f, &worst, &worst_x, &bad);
        ++count;
    }
    CHECK(worst <= RTU_TANH_MAX_ERROR, "tanh: error %.3g at x = %.9g above RTU_TANH_MAX_ERROR %g",
          worst, (double)worst_x, RTU_TANH_MAX_ERROR);
    CHECK(bad == 0, "tanh: %lu values not odd or outside [-1, 1]", bad);
    CHECK(RTU_TANH((rtu_real)0) == 0 && RTU_TANH((rtu_real)INFINITY) == 1 &&
              RTU_TANH((rtu_real)-INFINITY) == -1 && isnan(RTU_TANH((rtu_real)NAN)),
          "tanh at 0, +-Inf, NaN");
    check_note("%lu values, largest error %.3g at %.9g", count, worst, (double)worst_x);
}
