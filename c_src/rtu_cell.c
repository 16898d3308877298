/*
 * The RTU cell and its exact RTRL traces (../shared/rtu-spec.md sections 1 and 2), and the online
 * LRU (section 7: the linear RTU's recurrence and traces, a dense readout by backprop).
 * rtu_edge/reference/cell.py is the same code in numpy, function for function.
 */
#include <math.h>

#include "rtu.h"
#include "rtu_internal.h"

/* The arithmetic of the derived cache (rtu_cell_refresh): double by default, in both builds,
 * libm's; in the float build, double without libm's calls with -DRTU_FAST_DERIVED (the native
 * build, whose loop then vectorises), or float with -DRTU_DERIVED_FLOAT, for FPUs without double
 * (see rtu.h), also without libm's calls (rtu_internal.h). Where the cache has its own sin and
 * cos (RTU_D_SINCOS), phases beyond RTU_FAST_SINCOS_MAX go to libm's (RTU_D_SIN, RTU_D_COS). */
#if defined(RTU_FAST_DERIVED) && defined(RTU_DERIVED_FLOAT)
#error "RTU_FAST_DERIVED and RTU_DERIVED_FLOAT are two arithmetics of the same cache: pick one"
#endif
#if defined(RTU_FAST_DERIVED) && !defined(RTU_DOUBLE)
typedef double rtu_derived;
#define RTU_D_EXP rtu_exp_fast
#define RTU_D_EXPM1 rtu_expm1_fast
#define RTU_D_SINCOS rtu_sincos_fast
#define RTU_D_SQRT sqrt
#define RTU_D_COS cos
#define RTU_D_SIN sin
#elif defined(RTU_DERIVED_FLOAT) && !defined(RTU_DOUBLE)
typedef float rtu_derived;
#define RTU_D_EXP rtu_expf_fast
#define RTU_D_EXPM1 rtu_expm1f_fast
#define RTU_D_SINCOS rtu_sincosf_fast
#define RTU_D_SQRT sqrtf
#define RTU_D_COS cosf
#define RTU_D_SIN sinf
#else
typedef double rtu_derived;
#define RTU_D_EXP exp
#define RTU_D_EXPM1 expm1
#define RTU_D_SQRT sqrt
#define RTU_D_COS cos
#define RTU_D_SIN sin
#endif

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                     */

/* One branch-free pass: v - v is 0 for a finite v, NaN for NaN and Inf. */
int rtu_all_finite(const rtu_real *v, size_t count)
{
    size_t i;
    int ok = 1;
    for (i = 0; i < count; ++i) {
        ok &= v[i] - v[i] == 0;
    }
    return ok;
}

/* One branch-free pass: |v| <= limit is false for NaN and Inf as well. */
int rtu_all_within(const rtu_real *v, size_t count, rtu_real limit)
{
    size_t i;
    int ok = 1;
    for (i = 0; i < count; ++i) {
        ok &= RTU_FABS(v[i]) <= limit;
    }
    return ok;
}

rtu_status rtu_check_input(const rtu_real *v, size_t count)
{
    if (rtu_all_within(v, count, (rtu_real)RTU_INPUT_LIMIT)) {
        return RTU_OK;
    }
    return rtu_all_finite(v, count) ? RTU_ERR_INPUT_RANGE : RTU_ERR_NONFINITE_INPUT;
}

void rtu_zero(rtu_real *v, size_t count)
{
    size_t i;
    for (i = 0; i < count; ++i) {
        v[i] = 0;
    }
}

static inline rtu_real activate(rtu_activation act, rtu_real v)
{
    switch (act) {
    case RTU_ACT_RELU: return v > 0 ? v : (rtu_real)0;
    case RTU_ACT_TANH: return RTU_TANH(v);
    case RTU_ACT_IDENTITY: break;
    }
    return v;
}

/* f'(a) from the activated value y = f(a): relu'(a) = [y > 0], tanh'(a) = 1 - y^2. */
static inline rtu_real activate_grad_from_output(rtu_activation act, rtu_real y)
{
    switch (act) {
    case RTU_ACT_RELU: return y > 0 ? (rtu_real)1 : (rtu_real)0;
    case RTU_ACT_TANH: return (rtu_real)1 - y * y;
    case RTU_ACT_IDENTITY: break;
    }
    return (rtu_real)1;
}

static rtu_status check_config(rtu_kind kind, size_t n_in, size_t n_hidden)
{
    double n = (double)n_hidden, d = (double)n_in, lru = kind == RTU_KIND_LRU;
    if (!rtu_kind_ok(kind)) {
        return RTU_ERR_KIND;
    }
    if (n_in == 0 || n_hidden == 0 || n_in > RTU_MAX_DIM || n_hidden > RTU_MAX_DIM) {
        return RTU_ERR_SIZE;
    }
    /* the byte count (RTU_CELL_REALS in double) must not wrap around a 32-bit size_t (see
     * rtu_reals_fit) */
    if (!rtu_reals_fit(18.0 * n + (kind == RTU_KIND_NONLINEAR ? 6.0 : 4.0) * n * d +
                       lru * (4.0 * n * n + 2.0 * n * d + d))) {
        return RTU_ERR_SIZE;
    }
    return RTU_OK;
}

/* The log-parameters' range (nu_log then theta_log, the first 2n params). */
static rtu_status check_logs(const rtu_cell *cell, const rtu_real *params)
{
    size_t k;
    for (k = 0; k < 2 * cell->n_hidden; ++k) { /* NaN fails too */
        if (!(RTU_FABS(params[k]) <= (rtu_real)RTU_LOG_PARAM_LIMIT)) {
            return RTU_ERR_PARAM_RANGE;
        }
    }
    return RTU_OK;
}

static rtu_status check_params(const rtu_cell *cell, const rtu_real *params)
{
    if (!rtu_all_finite(params, cell->n_params)) {
        return RTU_ERR_NONFINITE_PARAM;
    }
    return check_logs(cell, params);
}

static void derive(rtu_cell *cell);

/* ------------------------------------------------------------------------------------------ */
/* Memory                                                                                      */

rtu_status rtu_cell_buffer_size(rtu_kind kind, size_t n_in, size_t n_hidden, size_t *bytes)
{
    rtu_status status;
    if (bytes == NULL) {
        return RTU_ERR_NULL;
    }
    status = check_config(kind, n_in, n_hidden);
    if (status != RTU_OK) {
        return status;
    }
    *bytes = RTU_CELL_BUFFER_BYTES(kind, n_in, n_hidden);
    return RTU_OK;
}

rtu_status rtu_cell_init(rtu_cell *cell, rtu_kind kind, rtu_activation activation, size_t n_in,
                         size_t n_hidden, void *buffer, size_t buffer_bytes)
{
    rtu_status status;
    rtu_real *p;
    size_t n = n_hidden, nd = n_hidden * n_in;

    if (cell == NULL || buffer == NULL) {
        return RTU_ERR_NULL;
    }
    status = check_config(kind, n_in, n_hidden);
    if (status != RTU_OK) {
        return status;
    }
    if (activation != RTU_ACT_RELU && activation != RTU_ACT_TANH &&
        activation != RTU_ACT_IDENTITY) {
        return RTU_ERR_ACTIVATION;
    }
    if (buffer_bytes < RTU_CELL_BUFFER_BYTES(kind, n_in, n_hidden)) {
        return RTU_ERR_BUFFER_SMALL;
    }
    if ((uintptr_t)buffer % sizeof(rtu_real) != 0) {
        return RTU_ERR_BUFFER_ALIGN;
    }

    p = (rtu_real *)buffer;
    rtu_zero(p, RTU_CELL_REALS(kind, n_in, n_hidden));
    cell->kind = kind;
    cell->activation = activation;
    cell->n_in = n_in;
    cell->n_hidden = n_hidden;
    cell->n_params = RTU_CELL_PARAMS(kind, n_in, n_hidden);
    cell->params = p;
    cell->nu_log = p;          p += n;
    cell->theta_log = p;       p += n;
    cell->w_c = p;             p += nd;
    cell->w_d = p;             p += nd;
    cell->c_re = cell->c_im = cell->d_skip = NULL;
    if (kind == RTU_KIND_LRU) { /* readout of 2n rows */
        cell->c_re = p;        p += 2 * n * n;
        cell->c_im = p;        p += 2 * n * n;
        cell->d_skip = p;      p += 2 * nd;
    }
    cell->nu = p;              p += n;
    cell->theta = p;           p += n;
    cell->g = p;               p += n;
    cell->phi = p;             p += n;
    cell->eta = p;             p += n;
    cell->deta = p;            p += n;
    rtu_cell_place_context(cell, p);
    cell->scratch = p + RTU_CELL_STATE(kind, n_in, n) + RTU_CELL_TRACES(kind, n_in, n);
    return rtu_cell_refresh(cell);
}

void rtu_cell_place_context(rtu_cell *cell, rtu_real *p)
{
    size_t n = cell->n_hidden, nd = cell->n_hidden * cell->n_in;
    cell->c = p;               p += n;
    cell->d = p;               p += n;
    cell->h = p;               p += 2 * n;
    cell->x = NULL;
    if (cell->kind == RTU_KIND_LRU) {
        cell->x = p;           p += cell->n_in;
    }
    cell->dc_dnu = p;          p += n;
    cell->dd_dnu = p;          p += n;
    cell->dc_dtheta = p;       p += n;
    cell->dd_dtheta = p;       p += n;
    cell->dc_dwc = p;          p += nd;
    cell->dd_dwc = p;          p += nd;
    cell->dc_dwd = cell->dd_dwd = NULL;
    if (cell->kind == RTU_KIND_NONLINEAR) {
        cell->dc_dwd = p;
        cell->dd_dwd = p + nd;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Parameters                                                                                  */

/* w[0..count) ~ N(0, std^2) from rng, in order. */
static void fill_normal(rtu_real *w, size_t count, double std, rtu_prng *rng)
{
    size_t i;
    for (i = 0; i < count; ++i) {
        w[i] = (rtu_real)(std * rtu_prng_normal(rng));
    }
}

/* An input-major n x n_in matrix W (w[j n + k] = W[k, j]) ~ N(0, std^2) from rng, drawn in W's
 * row-major order (unit by unit), as the reference draws it. */
static void fill_normal_input_major(rtu_real *w, size_t n, size_t n_in, double std,
                                    rtu_prng *rng)
{
    size_t j, k;
    for (k = 0; k < n; ++k) {
        for (j = 0; j < n_in; ++j) {
            w[j * n + k] = (rtu_real)(std * rtu_prng_normal(rng));
        }
    }
}

/* A drawn log held at -RTU_LOG_PARAM_LIMIT from below (finite: the draws are in (0, 1)). */
static double log_held(double v)
{
    return v < -RTU_LOG_PARAM_LIMIT ? -RTU_LOG_PARAM_LIMIT : v;
}

rtu_status rtu_cell_init_params(rtu_cell *cell, rtu_prng *rng, double r_min, double r_max,
                                double max_phase)
{
    size_t k, n, nd;
    double fan_in, std;
    if (cell == NULL || rng == NULL) {
        return RTU_ERR_NULL;
    }
    /* theta_log = log(max_phase u) with u < 1 stays below RTU_LOG_PARAM_LIMIT */
    if (!(r_min >= 0.0 && r_min < r_max && r_max <= 1.0 &&
          max_phase >= exp(-RTU_LOG_PARAM_LIMIT) && max_phase <= exp(RTU_LOG_PARAM_LIMIT))) {
        return RTU_ERR_INIT_RANGE;
    }
    n = cell->n_hidden;
    nd = n * cell->n_in;
    /* the logs held above -RTU_LOG_PARAM_LIMIT: a draw within about 1e-9 of the ring's outer
     * edge (r^2 near 1) or of a zero phase would give one below it, which the refresh refuses */
    for (k = 0; k < n; ++k) { /* r^2 ~ U(r_min^2, r_max^2), nu_log = log(-log(r^2) / 2) */
        double r2 = r_min * r_min + rtu_prng_uniform(rng) * (r_max * r_max - r_min * r_min);
        cell->nu_log[k] = (rtu_real)log_held(log(-0.5 * log(r2)));
    }
    for (k = 0; k < n; ++k) { /* theta ~ U(0, max_phase) */
        cell->theta_log[k] = (rtu_real)log_held(log(max_phase * rtu_prng_uniform(rng)));
    }
    /* RTU: w_c, w_d ~ N(0, 1/n_in); LRU: B = w_c + i w_d complex normal of variance 1/n_in, then
     * the readout c_re, c_im ~ N(0, 1/(2n)) and d_skip ~ N(0, 1/n_in) */
    fan_in = (double)cell->n_in;
    std = 1.0 / sqrt(cell->kind == RTU_KIND_LRU ? 2.0 * fan_in : fan_in);
    fill_normal_input_major(cell->w_c, n, cell->n_in, std, rng);
    fill_normal_input_major(cell->w_d, n, cell->n_in, std, rng);
    if (cell->kind == RTU_KIND_LRU) {
        fill_normal(cell->c_re, 2 * n * n, 1.0 / sqrt(2.0 * (double)n), rng);
        fill_normal(cell->c_im, 2 * n * n, 1.0 / sqrt(2.0 * (double)n), rng);
        fill_normal(cell->d_skip, 2 * nd, 1.0 / sqrt(fan_in), rng);
    }
    rtu_cell_reset(cell);
    return rtu_cell_refresh(cell);
}

rtu_status rtu_cell_set_params(rtu_cell *cell, const rtu_real *params)
{
    size_t i;
    rtu_status status;
    if (cell == NULL || params == NULL) {
        return RTU_ERR_NULL;
    }
    status = check_params(cell, params);
    if (status != RTU_OK) {
        return status;
    }
    for (i = 0; i < cell->n_params; ++i) {
        cell->params[i] = params[i];
    }
    derive(cell);
    return RTU_OK;
}

rtu_status rtu_cell_refresh(rtu_cell *cell)
{
    rtu_status status;
    if (cell == NULL) {
        return RTU_ERR_NULL;
    }
    status = check_params(cell, cell->params);
    if (status == RTU_OK) {
        derive(cell);
    }
    return status;
}

rtu_status rtu_cell_refresh_bounded(rtu_cell *cell)
{
    rtu_status status = check_logs(cell, cell->params);
    if (status == RTU_OK) {
        derive(cell);
    }
    return status;
}

/* One unit's derived cache v = (nu, theta, g, phi, eta, deta) from its nu_log and theta_log,
 * in rtu_derived arithmetic: in double in both builds (unless RTU_DERIVED_FLOAT), rounded once:
 * a float phase error of a few ulps would grow linearly over a unit's memory (about 1 / (1 - r)
 * steps). (Values rather than stores, so that the loops over units keep their arrays' restrict:
 * an inlined function's restrict parameters did not, and gcc stopped vectorising.) */
static inline void derive_one(rtu_real nu_log, rtu_real theta_log, rtu_real *v)
{
    rtu_derived nu = RTU_D_EXP((rtu_derived)nu_log);
    rtu_derived theta = RTU_D_EXP((rtu_derived)theta_log);
    rtu_derived r = RTU_D_EXP(-nu);
    rtu_derived eta = RTU_D_SQRT(-RTU_D_EXPM1((rtu_derived)-2 * nu)); /* 1 - r^2, no cancellation */
    rtu_derived sin_theta, cos_theta;
    int floored = eta < (rtu_derived)RTU_ETA_MIN; /* eta is the constant floor, deta 0 */
#ifdef RTU_D_SINCOS
    RTU_D_SINCOS(theta, &sin_theta, &cos_theta);
#else
    sin_theta = RTU_D_SIN(theta);
    cos_theta = RTU_D_COS(theta);
#endif
    v[0] = (rtu_real)nu;
    v[1] = (rtu_real)theta;
    v[2] = (rtu_real)(r * cos_theta);
    v[3] = (rtu_real)(r * sin_theta);
    v[4] = floored ? (rtu_real)RTU_ETA_MIN : (rtu_real)eta;
    v[5] = floored ? (rtu_real)0 : (rtu_real)(r * r * nu / eta);
}

#ifdef RTU_CHECKED_DERIVED
#define RTU_DERIVE_CHUNK 16 /* units */

/* 1 if every double within b of v rounds to the same nonzero float, else 0: rounding to nearest
 * is monotonic, so the two ends of [v - b, v + b] decide it. (A double rather than an int, so
 * that the loop's selects are all of one width, which gcc vectorises.) */
static inline double rounds_surely(double v, double b)
{
    double lo = (double)(float)(v - b), hi = (double)(float)(v + b);
    return lo == hi && lo != 0.0 ? 1.0 : 0.0;
}

/* derive_one's values as libm would give them, where that is certain, else NaN in nu_out (the
 * finite params never give NaN) for derive_units to compute the unit with libm; m <=
 * RTU_DERIVE_CHUNK units. Here each of exp, expm1, sin and cos is within RTU_FAST_MAX_ERROR of
 * libm's (relative; the C test cell/fast_derived_error measures it), so each double below is
 * within 5 RTU_FAST_MAX_ERROR (1 + nu + theta) max(|v|, 1) of libm's compound (the error carried
 * through exp(-nu), the root of 1 - r^2, the products and the quotient, each bounded by
 * first-order terms; 1 - r^2 >= min(nu, 0.63)); b is 16 of them, a margin of 3. In three loops
 * over the chunk, each unit's chain of dependent polynomials split between them: in one loop a
 * unit's chain was too long for the CPU to overlap the next units' with it (AVX2, gcc 12: the
 * refresh of 32 units 517 ns, 412-437 ns in three loops, in a scratch timing). */
static void derive_chunk_fast(size_t m, const rtu_real *restrict nu_log,
                              const rtu_real *restrict theta_log, rtu_real *restrict nu_out,
                              rtu_real *restrict theta_out, rtu_real *restrict g_out,
                              rtu_real *restrict phi_out, rtu_real *restrict eta_out,
                              rtu_real *restrict deta_out)
{
    double nu[RTU_DERIVE_CHUNK], theta[RTU_DERIVE_CHUNK], r[RTU_DERIVE_CHUNK];
    double eta[RTU_DERIVE_CHUNK], sin_theta[RTU_DERIVE_CHUNK], cos_theta[RTU_DERIVE_CHUNK];
    size_t k;
    for (k = 0; k < m; ++k) {
        nu[k] = rtu_exp_fast((double)nu_log[k]);
        theta[k] = rtu_exp_fast((double)theta_log[k]);
    }
    for (k = 0; k < m; ++k) {
        double s, c;
        r[k] = rtu_exp_fast(-nu[k]);
        eta[k] = sqrt(-rtu_expm1_fast(-2.0 * nu[k]));
        rtu_sincos_fast(theta[k], &s, &c);
        sin_theta[k] = s;
        cos_theta[k] = c;
    }
    for (k = 0; k < m; ++k) {
        double b = 16.0 * RTU_FAST_MAX_ERROR * (1.0 + nu[k] + theta[k]);
        double g = r[k] * cos_theta[k], phi = r[k] * sin_theta[k];
        double deta = r[k] * r[k] * nu[k] / eta[k], sure, within;
        /* decided on the logs (conditions on the results gcc folds into their selects, which
         * it then does not vectorise): theta below e^4.15 < RTU_FAST_SINCOS_MAX, nu below e^6.5
         * (r within double's range) and above e^-27, where eta >= sqrt(nu) > RTU_ETA_MIN with
         * room */
        within = (double)theta_log[k] <= 4.15 && (double)nu_log[k] <= 6.5 &&
                 (double)nu_log[k] >= -27.0;
        sure = (within ? 1.0 : 0.0) * rounds_surely(nu[k], b * (nu[k] > 1.0 ? nu[k] : 1.0)) *
               rounds_surely(theta[k], b * (theta[k] > 1.0 ? theta[k] : 1.0)) *
               rounds_surely(g, b) * rounds_surely(phi, b) * rounds_surely(eta[k], b) *
               rounds_surely(deta, b * (deta > 1.0 ? deta : 1.0));
        nu_out[k] = sure != 0.0 ? (rtu_real)nu[k] : (rtu_real)NAN;
        theta_out[k] = (rtu_real)theta[k];
        g_out[k] = (rtu_real)g;
        phi_out[k] = (rtu_real)phi;
        eta_out[k] = (rtu_real)eta[k];
        deta_out[k] = (rtu_real)deta;
    }
}
#endif

/* derive's loop, on restrict arrays (distinct parts of the cell's buffer), so that it can
 * vectorise. O(n), only when params change. */
static void derive_units(size_t n, const rtu_real *restrict nu_log,
                         const rtu_real *restrict theta_log, rtu_real *restrict nu_out,
                         rtu_real *restrict theta_out, rtu_real *restrict g,
                         rtu_real *restrict phi, rtu_real *restrict eta_out,
                         rtu_real *restrict deta)
{
    size_t k;
    rtu_real v[6];
#ifdef RTU_CHECKED_DERIVED
    for (k = 0; k < n; k += RTU_DERIVE_CHUNK) {
        derive_chunk_fast(n - k < RTU_DERIVE_CHUNK ? n - k : RTU_DERIVE_CHUNK, nu_log + k,
                          theta_log + k, nu_out + k, theta_out + k, g + k, phi + k, eta_out + k,
                          deta + k);
    }
    for (k = 0; k < n; ++k) { /* the units whose rounding the fast pass left uncertain */
        if (nu_out[k] != nu_out[k]) {
            rtu_real *out[6];
            size_t i;
            out[0] = nu_out;
            out[1] = theta_out;
            out[2] = g;
            out[3] = phi;
            out[4] = eta_out;
            out[5] = deta;
            derive_one(nu_log[k], theta_log[k], v);
            for (i = 0; i < 6u; ++i) {
                out[i][k] = v[i];
            }
        }
    }
#else
    for (k = 0; k < n; ++k) {
        derive_one(nu_log[k], theta_log[k], v);
        nu_out[k] = v[0];
        theta_out[k] = v[1];
        g[k] = v[2];
        phi[k] = v[3];
        eta_out[k] = v[4];
        deta[k] = v[5];
    }
#endif
#ifdef RTU_D_SINCOS
    for (k = 0; k < n; ++k) { /* the phases beyond RTU_D_SINCOS's domain */
        if (theta_out[k] > (rtu_real)RTU_FAST_SINCOS_MAX) { /* the loop's theta and r again */
            rtu_derived theta = RTU_D_EXP((rtu_derived)theta_log[k]);
            rtu_derived r = RTU_D_EXP(-RTU_D_EXP((rtu_derived)nu_log[k]));
            g[k] = (rtu_real)(r * RTU_D_COS(theta));
            phi[k] = (rtu_real)(r * RTU_D_SIN(theta));
        }
    }
#endif
}

/* The derived cache from checked params. */
static void derive(rtu_cell *cell)
{
    derive_units(cell->n_hidden, cell->nu_log, cell->theta_log, cell->nu, cell->theta, cell->g,
                 cell->phi, cell->eta, cell->deta);
}

void rtu_cell_wrap_phases(rtu_cell *cell, rtu_real *ratio)
{
    const double two_pi = 6.283185307179586, pi = 3.141592653589793;
    const double log_3pi = 2.24334217451751, log_1e15 = 34.538776394910684;
    size_t k;
    for (k = 0; k < cell->n_hidden; ++k) {
        double theta_log = (double)cell->theta_log[k];
        ratio[k] = 1;
        /* theta >= 3 pi, decided on theta_log: no exp for the phases that stay. Beyond 1e15 no
         * turn is exact; refresh refuses such a phase. */
        if (theta_log >= log_3pi && theta_log < log_1e15) {
            double theta = exp(theta_log);
            double wrapped = theta - two_pi * floor((theta - pi) / two_pi);
            cell->theta_log[k] = (rtu_real)log(wrapped);
            ratio[k] = (rtu_real)(wrapped / theta);
            cell->dc_dtheta[k] *= ratio[k];
            cell->dd_dtheta[k] *= ratio[k];
        }
    }
}

void rtu_cell_hold_logs(rtu_cell *cell)
{
    const rtu_real limit = (rtu_real)RTU_LOG_PARAM_LIMIT;
    size_t k;
    for (k = 0; k < cell->n_hidden; ++k) {
        rtu_real nu_log = cell->nu_log[k], theta_log = cell->theta_log[k];
        if (isfinite(nu_log)) {
            cell->nu_log[k] = nu_log > limit ? limit : (nu_log < -limit ? -limit : nu_log);
        }
        if (isfinite(theta_log) && theta_log < -limit) {
            cell->theta_log[k] = -limit;
        }
    }
}

void rtu_cell_reset(rtu_cell *cell)
{
    /* state and traces are contiguous from c (rtu_cell_place_context) */
    rtu_zero(cell->c, RTU_CELL_STATE(cell->kind, cell->n_in, cell->n_hidden) +
                      RTU_CELL_TRACES(cell->kind, cell->n_in, cell->n_hidden));
}

/* ------------------------------------------------------------------------------------------ */
/* Forward step with the RTRL trace update                                                     */

void rtu_cell_features(const rtu_cell *cell, rtu_real *h)
{
    size_t k;
    for (k = 0; k < 2 * cell->n_hidden; ++k) {
        h[k] = cell->h[k];
    }
}

/* out = f(v), the switch outside the loop so that the loop vectorises. */
void rtu_activate_into(rtu_activation act, const rtu_real *restrict v,
                          rtu_real *restrict out, size_t count)
{
    size_t i;
    switch (act) {
    case RTU_ACT_RELU:
        for (i = 0; i < count; ++i) {
            out[i] = v[i] > 0 ? v[i] : (rtu_real)0;
        }
        return;
    case RTU_ACT_TANH:
        for (i = 0; i < count; ++i) {
            out[i] = RTU_TANH(v[i]);
        }
        return;
    case RTU_ACT_IDENTITY: break;
    }
    for (i = 0; i < count; ++i) {
        out[i] = v[i];
    }
}

void rtu_lru_readout(const rtu_real *c_re, const rtu_real *c_im, const rtu_real *d_skip,
                     size_t n, size_t n_in, rtu_activation act, const rtu_real *c,
                     const rtu_real *d, const rtu_real *x, rtu_real *h)
{
    size_t i;
    for (i = 0; i < 2 * n; ++i) {
        h[i] = activate(act, (rtu_dot(c_re + i * n, c, n) - rtu_dot(c_im + i * n, d, n)) +
                                 rtu_dot(d_skip + i * n_in, x, n_in));
    }
}

/* cell->h = [f(c); f(d)] (linear), [c; d] (nonlinear) or the readout of (c, d, x) (LRU), after
 * each step. */
static void update_features(rtu_cell *cell)
{
    size_t n = cell->n_hidden;
    rtu_activation act = cell->kind == RTU_KIND_NONLINEAR ? RTU_ACT_IDENTITY : cell->activation;
    if (cell->kind == RTU_KIND_LRU) {
        rtu_lru_readout(cell->c_re, cell->c_im, cell->d_skip, n, cell->n_in, act, cell->c,
                        cell->d, cell->x, cell->h);
        return;
    }
    rtu_activate_into(act, cell->c, cell->h, n);
    rtu_activate_into(act, cell->d, cell->h + n, n);
}

/* Kernels over the units. The weights and their traces are input-major (rtu.h): row j holds the
 * n units' entries for input j, so every inner loop runs over the units with unit stride, and
 * the per-unit values (g, phi, eta, ...) are arrays read alongside. restrict on parameters (not
 * on locals) is what lets compilers vectorise these without run-time aliasing checks.
 *
 * The kernels take w units (arrays from the first of them; rows n apart) and `rows` inputs.
 * Cells of up to RTU_BLOCK_MAX_UNITS units go in blocks of RTU_UNIT_BLOCK units, each over every
 * input, its per-unit values and sums copied into arrays of the block's width, which compilers
 * keep in registers over the rows: each weight and trace is then loaded once and each trace
 * stored once a step. In larger cells a block's rows lie more than 512 bytes apart, so within 8
 * rows or fewer one shares its address modulo 4 KB with a row before it, and the block's loads
 * from it wait on its stores to that row (4K aliasing; slower from 256 units, measured): there
 * each row goes over all the units at once, as they lie in memory, the sums in h; so does every
 * cell in a build with -DRTU_LANES=1 (scalar FPUs: the blocks gain nothing there but code and
 * stack). Every unit's sum adds the inputs in order and every trace entry has its own
 * expression, so both orders give the same bits. */
#define RTU_UNIT_BLOCK 16
#if RTU_LANES == 1
#define RTU_BLOCK_MAX_UNITS 0
#else
#define RTU_BLOCK_MAX_UNITS 128
#endif
#define RTU_IN_BLOCKS(n) (RTU_BLOCK_MAX_UNITS > 0 && (n) <= RTU_BLOCK_MAX_UNITS)
/* The input sums of RTU_SUM_GROUP blocks go in one pass over the rows (group_sums): each unit's
 * sum is a chain of dependent additions, one per input, and a block alone has too few of them
 * in flight to keep the vector units busy (AVX2: 4 chains of 8 floats, a block's 16 rows then
 * wait on the adder's latency; AVX-512: 2 of 16). The number is what the vector registers hold
 * (AVX2's 16 hold two blocks' sums, AVX-512's 32 four; SSE2's 16 registers of 4 floats hold one
 * block's 8 chains, enough for its adders). Each sum still adds the inputs in order: the same
 * bits. */
#if defined(__AVX512F__)
#define RTU_SUM_GROUP 4
#elif defined(__AVX__)
#define RTU_SUM_GROUP 2
#else
#define RTU_SUM_GROUP 1
#endif

/* uc += W_c x and ud += W_d x over the rows. */
static inline void rows_sums(size_t w, size_t n, size_t rows, const rtu_real *restrict x,
                             const rtu_real *restrict w_c, const rtu_real *restrict w_d,
                             rtu_real *restrict uc, rtu_real *restrict ud)
{
    size_t j, k;
    for (j = 0; j < rows; ++j) {
        const rtu_real xj = x[j];
        const size_t row = j * n;
        for (k = 0; k < w; ++k) {
            uc[k] = RTU_FMA(w_c[row + k], xj, uc[k]);
            ud[k] = RTU_FMA(w_d[row + k], xj, ud[k]);
        }
    }
}

/* rows_sums of RTU_SUM_GROUP whole blocks (from the units' first; rows n apart) into uc, ud:
 * one array per block and sum, which compilers keep in registers over the rows. */
static inline void group_sums(size_t n, size_t rows, const rtu_real *restrict x,
                              const rtu_real *restrict w_c, const rtu_real *restrict w_d,
                              rtu_real *restrict uc, rtu_real *restrict ud)
{
    rtu_real sc[RTU_SUM_GROUP][RTU_UNIT_BLOCK], sd[RTU_SUM_GROUP][RTU_UNIT_BLOCK];
    size_t b, i, j;
    for (b = 0; b < RTU_SUM_GROUP; ++b) {
        for (i = 0; i < RTU_UNIT_BLOCK; ++i) {
            sc[b][i] = 0;
            sd[b][i] = 0;
        }
    }
    for (j = 0; j < rows; ++j) {
        const rtu_real xj = x[j];
        const rtu_real *restrict wc = w_c + j * n, *restrict wd = w_d + j * n;
        for (b = 0; b < RTU_SUM_GROUP; ++b) {
            for (i = 0; i < RTU_UNIT_BLOCK; ++i) {
                sc[b][i] = RTU_FMA(wc[b * RTU_UNIT_BLOCK + i], xj, sc[b][i]);
                sd[b][i] = RTU_FMA(wd[b * RTU_UNIT_BLOCK + i], xj, sd[b][i]);
            }
        }
    }
    for (b = 0; b < RTU_SUM_GROUP; ++b) {
        for (i = 0; i < RTU_UNIT_BLOCK; ++i) {
            uc[b * RTU_UNIT_BLOCK + i] = sc[b][i];
            ud[b * RTU_UNIT_BLOCK + i] = sd[b][i];
        }
    }
}

/* The linear kind's weight traces over the rows, E'[j] = lambda E[j] + eta x_j with
 * E = e_re + i e_im. A pass of its own after rows_sums: with the sums in the same pass a block's
 * g, phi and eta did not stay in AVX2's 16 vector registers (gcc 12 loaded them again for every
 * row), and the cell's step took 12% longer (bench_cell.c, AVX2 variant). */
static inline void rows_traces_linear(size_t w, size_t n, size_t rows,
                                      const rtu_real *restrict x, const rtu_real *restrict g,
                                      const rtu_real *restrict phi,
                                      const rtu_real *restrict eta, rtu_real *restrict e_re,
                                      rtu_real *restrict e_im)
{
    size_t j, k;
    for (j = 0; j < rows; ++j) {
        const rtu_real xj = x[j];
        const size_t row = j * n;
        for (k = 0; k < w; ++k) {
            rtu_real er = e_re[row + k], ei = e_im[row + k];
            e_re[row + k] = RTU_FMA(eta[k], xj, RTU_FMA(g[k], er, -(phi[k] * ei)));
            e_im[row + k] = RTU_FMA(g[k], ei, phi[k] * er);
        }
    }
}

/* The nonlinear kind's weight traces over the rows: A = dc/dW_c, B = dd/dW_c, C = dc/dW_d,
 * D = dd/dW_d, with fa = f'(a), fb = f'(b) of each unit. */
static inline void rows_traces_nonlinear(size_t w, size_t n, size_t rows,
                                         const rtu_real *restrict x, rtu_real *restrict ta,
                                         rtu_real *restrict tb, rtu_real *restrict tc,
                                         rtu_real *restrict td, const rtu_real *restrict g,
                                         const rtu_real *restrict phi,
                                         const rtu_real *restrict eta,
                                         const rtu_real *restrict fa,
                                         const rtu_real *restrict fb)
{
    size_t j, k;
    for (j = 0; j < rows; ++j) {
        const rtu_real xj = x[j];
        const size_t row = j * n;
        for (k = 0; k < w; ++k) {
            rtu_real a = ta[row + k], b = tb[row + k], c = tc[row + k], d = td[row + k];
            rtu_real ex = eta[k] * xj;
            ta[row + k] = fa[k] * (RTU_FMA(g[k], a, -(phi[k] * b)) + ex);
            tb[row + k] = fb[k] * RTU_FMA(g[k], b, phi[k] * a);
            tc[row + k] = fa[k] * RTU_FMA(g[k], c, -(phi[k] * d));
            td[row + k] = fb[k] * (RTU_FMA(g[k], d, phi[k] * c) + ex);
        }
    }
}

/*
 * Linear RTU, complex form per unit k, lambda = g + i phi, z = c + i d, u = (W_c + i W_d) x:
 *   s_nu'    = lambda s_nu + (dlambda/dnu_log) z + (deta/dnu_log) u,   dlambda/dnu_log = -nu lambda
 *   s_theta' = lambda s_theta + (dlambda/dtheta_log) z,                 dlambda/dtheta_log = i theta lambda
 *   z'       = lambda z + eta u
 * on u = (uc, ud) (rows_sums; the weight traces E'[j] = lambda E[j] + eta x[j] in
 * rows_traces_linear).
 */
static inline void units_linear(size_t n, const rtu_real *restrict g,
                                const rtu_real *restrict phi, const rtu_real *restrict eta,
                                const rtu_real *restrict nu, const rtu_real *restrict theta,
                                const rtu_real *restrict deta, rtu_real *restrict c,
                                rtu_real *restrict d, rtu_real *restrict dc_dnu,
                                rtu_real *restrict dd_dnu, rtu_real *restrict dc_dtheta,
                                rtu_real *restrict dd_dtheta, const rtu_real *restrict uc,
                                const rtu_real *restrict ud)
{
    size_t k;
    for (k = 0; k < n; ++k) {
        /* lambda z_{t-1} */
        rtu_real lz_re = g[k] * c[k] - phi[k] * d[k], lz_im = g[k] * d[k] + phi[k] * c[k];
        rtu_real a_re = dc_dnu[k], a_im = dd_dnu[k], b_re = dc_dtheta[k], b_im = dd_dtheta[k];
        /* s_nu' = lambda s_nu - nu lambda z + deta u */
        dc_dnu[k] = g[k] * a_re - phi[k] * a_im - nu[k] * lz_re + deta[k] * uc[k];
        dd_dnu[k] = g[k] * a_im + phi[k] * a_re - nu[k] * lz_im + deta[k] * ud[k];
        /* s_theta' = lambda s_theta + i theta lambda z */
        dc_dtheta[k] = g[k] * b_re - phi[k] * b_im - theta[k] * lz_im;
        dd_dtheta[k] = g[k] * b_im + phi[k] * b_re + theta[k] * lz_re;
        /* z' = lambda z + eta u */
        c[k] = lz_re + eta[k] * uc[k];
        d[k] = lz_im + eta[k] * ud[k];
    }
}

/*
 * Non-linear RTU per unit k: a = g c - phi d + eta uc, c' = f(a); b = g d + phi c + eta ud,
 * d' = f(b), with f'(a), f'(b) read off c', d' into fa, fb for the weight traces (rtu-spec.md
 * section 2, "Non-linear RTU"). nu_log: g' = -nu g, phi' = -nu phi, eta' = deta; theta_log:
 * g' = -theta phi, phi' = theta g, eta' = 0.
 */
static inline void units_nonlinear(size_t n, rtu_activation act, const rtu_real *restrict g,
                                   const rtu_real *restrict phi, const rtu_real *restrict eta,
                                   const rtu_real *restrict nu, const rtu_real *restrict theta,
                                   const rtu_real *restrict deta, rtu_real *restrict c,
                                   rtu_real *restrict d, rtu_real *restrict dc_dnu,
                                   rtu_real *restrict dd_dnu, rtu_real *restrict dc_dtheta,
                                   rtu_real *restrict dd_dtheta, const rtu_real *restrict uc,
                                   const rtu_real *restrict ud, rtu_real *restrict fa,
                                   rtu_real *restrict fb)
{
    size_t k;
    for (k = 0; k < n; ++k) {
        rtu_real c0 = c[k], d0 = d[k], sc, sd;
        rtu_real c1 = activate(act, g[k] * c0 - phi[k] * d0 + eta[k] * uc[k]);
        rtu_real d1 = activate(act, g[k] * d0 + phi[k] * c0 + eta[k] * ud[k]);
        rtu_real ga = activate_grad_from_output(act, c1), gb = activate_grad_from_output(act, d1);
        sc = dc_dnu[k];
        sd = dd_dnu[k];
        dc_dnu[k] = ga * (-nu[k] * g[k] * c0 + g[k] * sc + nu[k] * phi[k] * d0 - phi[k] * sd +
                          deta[k] * uc[k]);
        dd_dnu[k] = gb * (-nu[k] * g[k] * d0 + g[k] * sd - nu[k] * phi[k] * c0 + phi[k] * sc +
                          deta[k] * ud[k]);
        sc = dc_dtheta[k];
        sd = dd_dtheta[k];
        dc_dtheta[k] = ga * (-theta[k] * phi[k] * c0 + g[k] * sc - theta[k] * g[k] * d0 -
                             phi[k] * sd);
        dd_dtheta[k] = gb * (-theta[k] * phi[k] * d0 + g[k] * sd + theta[k] * g[k] * c0 +
                             phi[k] * sc);
        c[k] = c1;
        d[k] = d1;
        fa[k] = ga;
        fb[k] = gb;
    }
}

/* The nonlinear kind's units with act a constant in each call (units_of), so that compilers
 * drop activate's switch and vectorise the loop (relu's max and [y > 0] are selects, where a
 * call and a branch per unit were mispredicted about half the time). */
static inline void units_nonlinear_as(rtu_cell *cell, rtu_activation act)
{
    size_t n = cell->n_hidden;
    units_nonlinear(n, act, cell->g, cell->phi, cell->eta, cell->nu, cell->theta, cell->deta,
                    cell->c, cell->d, cell->dc_dnu, cell->dd_dnu, cell->dc_dtheta,
                    cell->dd_dtheta, cell->h, cell->h + n, cell->scratch, cell->scratch + n);
}

/* The units once their sums are in h (the nonlinear kind's f' into the scratch). */
static void units_of(rtu_cell *cell)
{
    if (cell->kind != RTU_KIND_NONLINEAR) { /* linear, LRU: the same recurrence and traces */
        units_linear(cell->n_hidden, cell->g, cell->phi, cell->eta, cell->nu, cell->theta,
                     cell->deta, cell->c, cell->d, cell->dc_dnu, cell->dd_dnu, cell->dc_dtheta,
                     cell->dd_dtheta, cell->h, cell->h + cell->n_hidden);
        return;
    }
    switch (cell->activation) {
    case RTU_ACT_RELU: units_nonlinear_as(cell, RTU_ACT_RELU); return;
    case RTU_ACT_TANH: units_nonlinear_as(cell, RTU_ACT_TANH); return;
    case RTU_ACT_IDENTITY: break;
    }
    units_nonlinear_as(cell, RTU_ACT_IDENTITY);
}

/* The input sums of a block (w <= RTU_UNIT_BLOCK units from k) over every row into h, in
 * registers. */
static inline void block_sums(rtu_cell *cell, const rtu_real *x, size_t k, size_t w)
{
    rtu_real uc[RTU_UNIT_BLOCK], ud[RTU_UNIT_BLOCK];
    size_t i, n = cell->n_hidden;
    for (i = 0; i < w; ++i) {
        uc[i] = 0;
        ud[i] = 0;
    }
    rows_sums(w, n, cell->n_in, x, cell->w_c + k, cell->w_d + k, uc, ud);
    for (i = 0; i < w; ++i) {
        cell->h[k + i] = uc[i];
        cell->h[n + k + i] = ud[i];
    }
}

/* A block's weight traces (w <= RTU_UNIT_BLOCK units from k) over every row, its per-unit
 * values copied into registers: the linear kind's (nonlinear 0), or the nonlinear kind's once
 * f' of the units is in the scratch (1). */
static inline void block_traces(rtu_cell *cell, const rtu_real *x, size_t k, size_t w,
                                int nonlinear)
{
    rtu_real g[RTU_UNIT_BLOCK], phi[RTU_UNIT_BLOCK], eta[RTU_UNIT_BLOCK];
    rtu_real fa[RTU_UNIT_BLOCK], fb[RTU_UNIT_BLOCK];
    size_t i, n = cell->n_hidden, d_in = cell->n_in;
    for (i = 0; i < w; ++i) {
        g[i] = cell->g[k + i];
        phi[i] = cell->phi[k + i];
        eta[i] = cell->eta[k + i];
    }
    if (!nonlinear) {
        rows_traces_linear(w, n, d_in, x, g, phi, eta, cell->dc_dwc + k, cell->dd_dwc + k);
        return;
    }
    for (i = 0; i < w; ++i) {
        fa[i] = cell->scratch[k + i];
        fb[i] = cell->scratch[n + k + i];
    }
    rows_traces_nonlinear(w, n, d_in, x, cell->dc_dwc + k, cell->dd_dwc + k, cell->dc_dwd + k,
                          cell->dd_dwd + k, g, phi, eta, fa, fb);
}

/* The input sums of every block into h (RTU_SUM_GROUP blocks at a time, then the rest one by
 * one), then the linear kind's weight traces block by block (sums 1); or the nonlinear kind's
 * traces (sums 0). */
static void blocks(rtu_cell *cell, const rtu_real *x, int sums)
{
    size_t k = 0, n = cell->n_hidden;
    int linear = cell->kind != RTU_KIND_NONLINEAR;
    const size_t group = RTU_SUM_GROUP * RTU_UNIT_BLOCK;
    if (sums) {
        for (; k + group <= n; k += group) {
            group_sums(n, cell->n_in, x, cell->w_c + k, cell->w_d + k, cell->h + k,
                       cell->h + n + k);
        }
        for (; k + RTU_UNIT_BLOCK <= n; k += RTU_UNIT_BLOCK) {
            block_sums(cell, x, k, RTU_UNIT_BLOCK); /* the constant width: registers */
        }
        if (k < n) {
            block_sums(cell, x, k, n - k);
        }
        if (!linear) {
            return;
        }
    }
    for (k = 0; k + RTU_UNIT_BLOCK <= n; k += RTU_UNIT_BLOCK) {
        block_traces(cell, x, k, RTU_UNIT_BLOCK, !linear);
    }
    if (k < n) {
        block_traces(cell, x, k, n - k, !linear);
    }
}

/* One step of the RTU kinds and the LRU's recurrence: the input sums (and the linear kind's
 * weight traces), the units, then the nonlinear kind's weight traces, in blocks or row by row
 * (above). */
static void step_units(rtu_cell *cell, const rtu_real *x)
{
    size_t j, n = cell->n_hidden, d_in = cell->n_in;
    rtu_real *uc = cell->h, *ud = cell->h + n;
    int linear = cell->kind != RTU_KIND_NONLINEAR, in_blocks = RTU_IN_BLOCKS(n);
    if (in_blocks) {
        blocks(cell, x, 1);
    } else {
        rtu_zero(uc, 2 * n);
        for (j = 0; j < d_in; ++j) {
            rows_sums(n, n, 1, x + j, cell->w_c + j * n, cell->w_d + j * n, uc, ud);
            if (linear) {
                rows_traces_linear(n, n, 1, x + j, cell->g, cell->phi, cell->eta,
                                   cell->dc_dwc + j * n, cell->dd_dwc + j * n);
            }
        }
    }
    units_of(cell);
    if (linear) {
        return;
    }
    if (in_blocks) {
        blocks(cell, x, 0);
        return;
    }
    for (j = 0; j < d_in; ++j) {
        rows_traces_nonlinear(n, n, 1, x + j, cell->dc_dwc + j * n, cell->dd_dwc + j * n,
                              cell->dc_dwd + j * n, cell->dd_dwd + j * n, cell->g, cell->phi,
                              cell->eta, cell->scratch, cell->scratch + n);
    }
}

void rtu_cell_peek(const rtu_cell *cell, const rtu_real *x, int from_zero, rtu_real *h)
{
    size_t n = cell->n_hidden, d_in = cell->n_in;
    /* the state it steps to in the scratch, then the LRU's readout or the activation (linear:
     * h = [f(c'); f(d')]; nonlinear: c' = f(a), h = [c'; d']: f of (a, b)) */
    rtu_real *c1 = cell->scratch, *d1 = cell->scratch + n;
    rtu_input_sums(cell->w_c, cell->w_d, x, n, d_in, c1, d1);
    rtu_recur_into(n, cell->g, cell->phi, cell->eta, cell->c, cell->d, from_zero, c1, d1);
    if (cell->kind == RTU_KIND_LRU) {
        rtu_lru_readout(cell->c_re, cell->c_im, cell->d_skip, n, d_in, cell->activation, c1, d1,
                        x, h);
    } else {
        rtu_activate_into(cell->activation, cell->scratch, h, 2 * n);
    }
}

/* The state (c, d) and the unit traces within RTU_VALUE_LIMIT (O(n)), as a checkpoint's loader
 * asks of them. The weight traces need no test: |E| <= eta max|x| / (1 - r)
 * <= sqrt(2 / (1 - r)) RTU_INPUT_LIMIT, about 3e10 at |nu_log| <= RTU_LOG_PARAM_LIMIT (the
 * nonlinear kind's f' <= 1 keeps its traces within the same). */
static int state_within(const rtu_cell *cell)
{
    return rtu_all_within(cell->c, 2 * cell->n_hidden, (rtu_real)RTU_VALUE_LIMIT) &
           rtu_all_within(cell->dc_dnu, 4 * cell->n_hidden, (rtu_real)RTU_VALUE_LIMIT);
}

static rtu_status step_checked(rtu_cell *cell, const rtu_real *x, rtu_real *h)
{
    size_t k;
    step_units(cell, x);
    if (cell->kind == RTU_KIND_LRU) { /* the input, for the readout and the gradient of d_skip */
        for (k = 0; k < cell->n_in; ++k) {
            cell->x[k] = x[k];
        }
    }
    update_features(cell);
    if (!state_within(cell) ||
        (cell->kind == RTU_KIND_LRU && /* a huge readout can leave a state within its limit */
         !rtu_all_within(cell->h, 2 * cell->n_hidden, (rtu_real)RTU_VALUE_LIMIT))) {
        return RTU_ERR_OVERFLOW;
    }
    if (h != NULL) {
        rtu_cell_features(cell, h);
    }
    return RTU_OK;
}

rtu_status rtu_cell_step(rtu_cell *cell, const rtu_real *x, rtu_real *h)
{
    rtu_status status;
    if (cell == NULL || x == NULL) {
        return RTU_ERR_NULL;
    }
    status = rtu_check_input(x, cell->n_in);
    if (status != RTU_OK) {
        return status;
    }
    return step_checked(cell, x, h);
}

/* ------------------------------------------------------------------------------------------ */
/* Gradient from dL/dh                                                                         */

/* out = a v (keep == 0: out's old content is not read), out += a v (keep == 1) or
 * out = keep out + a v. */
static inline void row_scaled(rtu_real *restrict out, const rtu_real *restrict v, size_t count,
                              rtu_real a, rtu_real keep)
{
    size_t j;
    if (keep == 1) {
        for (j = 0; j < count; ++j) {
            out[j] += a * v[j];
        }
    } else if (keep != 0) {
        for (j = 0; j < count; ++j) {
            out[j] = keep * out[j] + a * v[j];
        }
    } else {
        for (j = 0; j < count; ++j) {
            out[j] = a * v[j];
        }
    }
}

/*
 * The LRU's backward through its readout y = c_re c - c_im d + d_skip x from dh = dL/dh, row by
 * row of the readout (i < 2n), dy_i = f'(y_i) dh_i with f' read off h:
 *   scratch = [dL/dc; dL/dd] = [c_re^T dy; -c_im^T dy]     (what the trace contraction takes)
 *   g_out (unless NULL): the gradient of c_re, c_im, d_skip, dy c^T, -dy d^T, dy x^T (assigned,
 *                        or accumulated with accumulate)
 *   de (unless NULL):    += d_skip^T dy
 */
static void lru_backward(const rtu_cell *cell, const rtu_real *dh, rtu_real *g_out,
                         rtu_real keep, rtu_real *de)
{
    size_t i, n = cell->n_hidden, d_in = cell->n_in, nn = 2 * n * n;
    rtu_real *dc = cell->scratch, *dd = cell->scratch + n;
    rtu_zero(cell->scratch, 2 * n);
    for (i = 0; i < 2 * n; ++i) {
        rtu_real dy = dh[i] * activate_grad_from_output(cell->activation, cell->h[i]);
        row_scaled(dc, cell->c_re + i * n, n, dy, 1);
        row_scaled(dd, cell->c_im + i * n, n, -dy, 1);
        if (g_out != NULL) {
            row_scaled(g_out + i * n, cell->c, n, dy, keep);
            row_scaled(g_out + nn + i * n, cell->d, n, -dy, keep);
            row_scaled(g_out + 2 * nn + i * d_in, cell->x, d_in, dy, keep);
        }
        if (de != NULL) {
            row_scaled(de, cell->d_skip + i * d_in, d_in, dy, 1);
        }
    }
}

/* out = dh f'(a), f' read off y = f(a) (count reals; out distinct from y and dh): the switch
 * outside the loops, and no branch inside (relu's [y > 0] is a select of 1 or 0, which
 * vectorises; a branch on the sign of each unit's state is mispredicted half the time). */
static void times_activation_grad(rtu_activation act, const rtu_real *restrict y,
                                  const rtu_real *restrict dh, rtu_real *restrict out,
                                  size_t count)
{
    size_t i;
    switch (act) {
    case RTU_ACT_RELU:
        for (i = 0; i < count; ++i) {
            out[i] = dh[i] * (y[i] > 0 ? (rtu_real)1 : (rtu_real)0);
        }
        return;
    case RTU_ACT_TANH:
        for (i = 0; i < count; ++i) {
            out[i] = dh[i] * ((rtu_real)1 - y[i] * y[i]);
        }
        return;
    case RTU_ACT_IDENTITY: break;
    }
    for (i = 0; i < count; ++i) {
        out[i] = dh[i];
    }
}

/* The weights' gradient over the rows: dL/dW_c = dc A + dd B and dL/dW_d = sign dc C + dd D
 * (sign -1 for the linear recurrence, where C = -Im E is passed as B), assigned (keep 0) or
 * keep g + ... (keep 1 gives g + ... to the bit: 1 g is g). */
static inline void rows_gradient(size_t w, size_t n, size_t rows, rtu_real *restrict g_wc,
                                 rtu_real *restrict g_wd, const rtu_real *restrict ta,
                                 const rtu_real *restrict tb, const rtu_real *restrict tc,
                                 const rtu_real *restrict td, const rtu_real *restrict dc,
                                 const rtu_real *restrict dd, rtu_real sign, rtu_real keep)
{
    size_t j, k;
    for (j = 0; j < rows; ++j) {
        const size_t row = j * n;
        if (keep != 0) {
            for (k = 0; k < w; ++k) {
                g_wc[row + k] = keep * g_wc[row + k] +
                                RTU_FMA(dc[k], ta[row + k], dd[k] * tb[row + k]);
                g_wd[row + k] = keep * g_wd[row + k] +
                                RTU_FMA(sign * dc[k], tc[row + k], dd[k] * td[row + k]);
            }
        } else {
            for (k = 0; k < w; ++k) {
                g_wc[row + k] = RTU_FMA(dc[k], ta[row + k], dd[k] * tb[row + k]);
                g_wd[row + k] = RTU_FMA(sign * dc[k], tc[row + k], dd[k] * td[row + k]);
            }
        }
    }
}

/* rows_gradient of a block (w <= RTU_UNIT_BLOCK units from k) over every row, its dc and dd in
 * registers. */
static inline void block_gradient(size_t w, size_t n, size_t d_in, rtu_real *g_wc,
                                  rtu_real *g_wd, const rtu_real *ta, const rtu_real *tb,
                                  const rtu_real *tc, const rtu_real *td,
                                  const rtu_real *dc_in, const rtu_real *dd_in, rtu_real sign,
                                  rtu_real keep)
{
    rtu_real dc[RTU_UNIT_BLOCK], dd[RTU_UNIT_BLOCK];
    size_t i;
    for (i = 0; i < w; ++i) {
        dc[i] = dc_in[i];
        dd[i] = dd_in[i];
    }
    rows_gradient(w, n, d_in, g_wc, g_wd, ta, tb, tc, td, dc, dd, sign, keep);
}

/* The gradient of nu_log and theta_log: g_nu = keep g_nu + (dc s_nu,c + dd s_nu,d), and the
 * same for theta (keep 0: assigned). */
static void units_gradient(size_t n, const rtu_real *restrict dc, const rtu_real *restrict dd,
                           const rtu_real *restrict dc_dnu, const rtu_real *restrict dd_dnu,
                           const rtu_real *restrict dc_dtheta,
                           const rtu_real *restrict dd_dtheta, rtu_real *restrict g_nu,
                           rtu_real *restrict g_theta, rtu_real keep)
{
    size_t k;
    if (keep != 0) {
        for (k = 0; k < n; ++k) {
            g_nu[k] = keep * g_nu[k] + (dc[k] * dc_dnu[k] + dd[k] * dd_dnu[k]);
            g_theta[k] = keep * g_theta[k] + (dc[k] * dc_dtheta[k] + dd[k] * dd_dtheta[k]);
        }
    } else {
        for (k = 0; k < n; ++k) {
            g_nu[k] = dc[k] * dc_dnu[k] + dd[k] * dd_dnu[k];
            g_theta[k] = dc[k] * dc_dtheta[k] + dd[k] * dd_dtheta[k];
        }
    }
}

/* delta = dL/dc, dL/dd at the current step into the cell's scratch (2n), from dh = dL/dh:
 * the linear kind's f'(.) dL/dh (f' read off h = f(c)); the nonlinear kind's dL/dh (its traces
 * carry f'); the LRU's through its readout (lru_backward, with the readout's gradient into g_out
 * unless NULL). */
static void deltas(const rtu_cell *cell, const rtu_real *dh, rtu_real *g_out, rtu_real keep)
{
    size_t k, n = cell->n_hidden;
    if (cell->kind == RTU_KIND_LRU) {
        lru_backward(cell, dh, g_out, keep, NULL);
    } else if (cell->kind == RTU_KIND_LINEAR) {
        times_activation_grad(cell->activation, cell->h, dh, cell->scratch, 2 * n);
    } else {
        for (k = 0; k < 2 * n; ++k) {
            cell->scratch[k] = dh[k];
        }
    }
}

/* grad = keep grad + dL/dparams (keep == 0: assigned, grad's old content not read), in one read
 * of each trace and one pass over grad; dh already checked. Uses the cell's scratch. */
void rtu_cell_gradient_into(const rtu_cell *cell, const rtu_real *dh, rtu_real *grad,
                            rtu_real keep)
{
    size_t j, k, n = cell->n_hidden, d_in = cell->n_in;
    int linear = cell->kind != RTU_KIND_NONLINEAR; /* the linear recurrence's traces */
    const rtu_real *dc = cell->scratch, *dd = cell->scratch + n;
    /* linear: dz/dW_d = i E, so C = dc/dW_d = -Im E = -B and D = dd/dW_d = Re E = A */
    const rtu_real *tc = linear ? cell->dd_dwc : cell->dc_dwd;
    const rtu_real *td = linear ? cell->dc_dwc : cell->dd_dwd;
    rtu_real sign = linear ? (rtu_real)-1 : (rtu_real)1;
    rtu_real *g_wc = grad + 2 * n, *g_wd = grad + 2 * n + n * d_in;
    /* the LRU's readout's gradient goes after w_d */
    deltas(cell, dh, grad + 2 * n + 2 * n * d_in, keep);
    units_gradient(n, dc, dd, cell->dc_dnu, cell->dd_dnu, cell->dc_dtheta, cell->dd_dtheta, grad,
                   grad + n, keep);
    if (!RTU_IN_BLOCKS(n)) { /* row by row, as step_units */
        for (j = 0; j < d_in; ++j) {
            rows_gradient(n, n, 1, g_wc + j * n, g_wd + j * n, cell->dc_dwc + j * n,
                          cell->dd_dwc + j * n, tc + j * n, td + j * n, dc, dd, sign, keep);
        }
        return;
    }
    for (k = 0; k + RTU_UNIT_BLOCK <= n; k += RTU_UNIT_BLOCK) {
        block_gradient(RTU_UNIT_BLOCK, n, d_in, g_wc + k, g_wd + k, cell->dc_dwc + k,
                       cell->dd_dwc + k, tc + k, td + k, dc + k, dd + k, sign, keep);
    }
    if (k < n) {
        block_gradient(n - k, n, d_in, g_wc + k, g_wd + k, cell->dc_dwc + k, cell->dd_dwc + k,
                       tc + k, td + k, dc + k, dd + k, sign, keep);
    }
}

void rtu_cell_input_gradient(const rtu_cell *cell, const rtu_real *dh, rtu_real *de)
{
    size_t j, k, n = cell->n_hidden, d_in = cell->n_in;
    rtu_real *ec = cell->scratch, *ed = cell->scratch + n;
    rtu_zero(de, d_in);
    if (cell->kind == RTU_KIND_LRU) { /* de = d_skip^T dy; dL/dc, dL/dd into the scratch */
        lru_backward(cell, dh, NULL, 0, de);
    } else {
        /* linear: f' read off h (h = f(c)); nonlinear: f'(a) read off c = f(a) (h = [c; d]);
         * either way dc/d(eta W_c x) = f' of the feature */
        times_activation_grad(cell->activation, cell->h, dh, ec, 2 * n);
    }
    for (k = 0; k < n; ++k) {
        ec[k] *= cell->eta[k];
        ed[k] *= cell->eta[k];
    }
    for (j = 0; j < d_in; ++j) {
        de[j] += rtu_dot(ec, cell->w_c + j * n, n) + rtu_dot(ed, cell->w_d + j * n, n);
    }
}

rtu_status rtu_cell_gradient(const rtu_cell *cell, const rtu_real *dh, rtu_real *grad)
{
    rtu_status status;
    if (cell == NULL || dh == NULL || grad == NULL) {
        return RTU_ERR_NULL;
    }
    status = rtu_check_input(dh, 2 * cell->n_hidden);
    if (status != RTU_OK) {
        return status;
    }
    rtu_cell_gradient_into(cell, dh, grad, 0);
    return RTU_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Sequences                                                                                   */

rtu_status rtu_cell_run(rtu_cell *cell, const rtu_real *x, size_t steps, rtu_real *h)
{
    size_t t, n2;
    rtu_status status;
    if (cell == NULL || (x == NULL && steps > 0)) {
        return RTU_ERR_NULL;
    }
    n2 = 2 * cell->n_hidden;
    status = rtu_sequence_fits(steps, cell->n_in > n2 ? cell->n_in : n2);
    if (status == RTU_OK) {
        status = rtu_check_input(x, steps * cell->n_in);
    }
    if (status != RTU_OK) {
        return status;
    }
    for (t = 0; t < steps; ++t) {
        status = step_checked(cell, x + t * cell->n_in, h != NULL ? h + t * n2 : NULL);
        if (status != RTU_OK) {
            return status;
        }
    }
    return RTU_OK;
}

rtu_status rtu_cell_run_gradient(rtu_cell *cell, const rtu_real *x, const rtu_real *dh,
                                 size_t steps, rtu_real *h, rtu_real *grad_sum)
{
    size_t t, n2;
    rtu_status status;
    if (cell == NULL || grad_sum == NULL || ((x == NULL || dh == NULL) && steps > 0)) {
        return RTU_ERR_NULL;
    }
    n2 = 2 * cell->n_hidden;
    status = rtu_sequence_fits(steps, cell->n_in > n2 ? cell->n_in : n2);
    if (status == RTU_OK) {
        status = rtu_check_input(x, steps * cell->n_in);
    }
    if (status == RTU_OK) {
        status = rtu_check_input(dh, steps * n2);
    }
    if (status != RTU_OK) {
        return status;
    }
    rtu_zero(grad_sum, cell->n_params);
    for (t = 0; t < steps; ++t) {
        status = step_checked(cell, x + t * cell->n_in, h != NULL ? h + t * n2 : NULL);
        if (status != RTU_OK) {
            return status;
        }
        rtu_cell_gradient_into(cell, dh + t * n2, grad_sum, 1);
    }
    return RTU_OK;
}
