/*
 * TD(lambda) prediction with an RTU cell and a linear value head (../shared/rtu-spec.md section 3).
 * rtu_edge/reference/td.py is the same code in numpy. The order of one step, and which parameters
 * each gradient is taken at, is written out above rtu_td in rtu_td.h.
 */
#include <math.h>

#include "rtu_internal.h"
#include "rtu_td.h"

rtu_td_config rtu_td_default_config(void)
{
    rtu_td_config c;
    RTU_TD_CONFIG_REALS(RTU_CONFIG_SET_REAL)
    c.optimizer = RTU_TD_CONFIG_OPTIMIZER;
    return c;
}

rtu_status rtu_td_check_config(const rtu_td_config *c, const char **what)
{
    const char *bad = NULL;
    if (c == NULL) {
        return RTU_ERR_NULL;
    }
    if (c->optimizer != RTU_OPT_OBGD && c->optimizer != RTU_OPT_SGD) {
        bad = "optimizer";
    }
    RTU_TD_CONFIG_REALS(RTU_CONFIG_CHECK_REAL)
    return rtu_config_verdict(bad, what);
}

rtu_status rtu_td_buffer_size(rtu_kind kind, size_t n_in, size_t n_hidden, size_t *bytes)
{
    rtu_status status = rtu_cell_buffer_size(kind, n_in, n_hidden, bytes);
    if (status == RTU_OK) {
        *bytes = RTU_TD_BUFFER_BYTES(kind, n_in, n_hidden);
    }
    return status;
}

rtu_status rtu_td_init(rtu_td *td, rtu_kind kind, rtu_activation activation, size_t n_in,
                       size_t n_hidden, const rtu_td_config *config, rtu_prng *rng, void *buffer,
                       size_t buffer_bytes)
{
    rtu_status status;
    size_t bytes, head = 2 * n_hidden + 1;
    rtu_real *p;
    if (td == NULL || config == NULL || rng == NULL || buffer == NULL) {
        return RTU_ERR_NULL;
    }
    status = rtu_td_check_config(config, NULL);
    if (status == RTU_OK) {
        status = rtu_td_buffer_size(kind, n_in, n_hidden, &bytes);
    }
    if (status != RTU_OK) {
        return status;
    }
    if (buffer_bytes < bytes) {
        return RTU_ERR_BUFFER_SMALL;
    }
    status = rtu_cell_init(&td->cell, kind, activation, n_in, n_hidden, buffer,
                           RTU_CELL_BUFFER_BYTES(kind, n_in, n_hidden));
    if (status != RTU_OK) {
        return status;
    }
    td->config = *config;
    td->n_params = RTU_TD_PARAMS(kind, n_in, n_hidden);
    p = (rtu_real *)buffer + RTU_CELL_REALS(kind, n_in, n_hidden);
    td->head = p;
    p += head;
    td->z = p;
    p += td->n_params;
    td->grad = p;
    rtu_zero(td->head, head);
    rtu_zero(td->grad, td->n_params);
    rtu_td_reset(td);
    td->steps = 0;
    return rtu_cell_init_params(&td->cell, rng, 0.0, 1.0, 6.28);
}

void rtu_td_reset(rtu_td *td)
{
    rtu_cell_reset(&td->cell);
    rtu_zero(td->z, td->n_params);
    td->z_norm1 = 0;
    td->v_prev = 0;
    td->has_prev = 0;
}

static rtu_status td_step_checked(rtu_td *td, const rtu_real *x, rtu_real cumulant,
                                  rtu_real *prediction)
{
    rtu_cell *cell = &td->cell;
    const rtu_td_config *cfg = &td->config;
    size_t k, n2 = 2 * cell->n_hidden, p_cell = cell->n_params;
    rtu_real *w = td->head, *grad = td->grad;
    rtu_real v;
    rtu_obgd_trace trace;
    rtu_status status;

    /* h_{t+1} and v_{t+1} at theta_t */
    status = rtu_cell_step(cell, x, NULL);
    if (status != RTU_OK) {
        return status;
    }
    v = w[n2];
    for (k = 0; k < n2; ++k) {
        v += w[k] * cell->h[k];
    }
    /* grad v_{t+1} at theta_t: the cell's by RTRL from dL/dh = w, the head's (h, 1) */
    rtu_cell_gradient_into(cell, w, grad, 0);
    for (k = 0; k < n2; ++k) {
        grad[p_cell + k] = cell->h[k];
    }
    grad[p_cell + n2] = 1;

    /* theta_{t+1} = theta_t + alpha_eff delta_t z_t and z_{t+1} = gamma lambda z_t + grad in one
     * pass, delta_t = C_{t+1} + gamma v_{t+1} - v_t; then the phase wrap (grad is free again: it
     * takes the ratios) and the refresh. Before the first prediction there is no TD error: a zero
     * step, and z_{t+1}. */
    trace.z = td->z;
    trace.trunk = cell->params;
    trace.n_trunk = p_cell;
    trace.cell = cell;
    trace.head = w;
    trace.n_head = n2 + 1;
    trace.kappa = cfg->kappa;
    trace.phase_scale = 1; /* TD's phases step as every other parameter */
    trace.z_norm1 = td->z_norm1;
    trace.grad = grad;
    trace.decay = cfg->gamma * cfg->lambda;
    if (td->has_prev) {
        status = rtu_obgd_update(cfg->optimizer == RTU_OPT_OBGD, cfg->alpha,
                                 cumulant + cfg->gamma * v - td->v_prev, &trace, 1, grad);
    } else {
        rtu_obgd_step_trace(&trace, 0);
    }
    if (!isfinite(v)) { /* the first prediction too: never an Inf with RTU_OK */
        status = RTU_ERR_DIVERGED;
    }
    td->z_norm1 = trace.z_norm1;
    if (status != RTU_OK) {
        return status;
    }
    td->v_prev = v;
    td->has_prev = 1;
    td->steps += 1;
    if (prediction != NULL) {
        *prediction = v;
    }
    return RTU_OK;
}

rtu_status rtu_td_step(rtu_td *td, const rtu_real *x, rtu_real cumulant, rtu_real *prediction)
{
    rtu_status status;
    if (td == NULL || x == NULL) {
        return RTU_ERR_NULL;
    }
    status = rtu_check_input(x, td->cell.n_in);
    if (status == RTU_OK) {
        status = rtu_check_input(&cumulant, 1);
    }
    if (status != RTU_OK) {
        return status;
    }
    return td_step_checked(td, x, cumulant, prediction);
}

rtu_status rtu_td_run(rtu_td *td, const rtu_real *x, const rtu_real *cumulants, size_t steps,
                      rtu_real *predictions)
{
    size_t t;
    rtu_status status;
    if (td == NULL || ((x == NULL || cumulants == NULL) && steps > 0)) {
        return RTU_ERR_NULL;
    }
    status = rtu_sequence_fits(steps, td->cell.n_in);
    if (status == RTU_OK) {
        status = rtu_check_input(x, steps * td->cell.n_in);
    }
    if (status == RTU_OK) {
        status = rtu_check_input(cumulants, steps);
    }
    for (t = 0; t < steps && status == RTU_OK; ++t) {
        status = td_step_checked(td, x + t * td->cell.n_in, cumulants[t],
                                 predictions != NULL ? predictions + t : NULL);
    }
    return status;
}

rtu_status rtu_td_batch_buffer_size(rtu_kind kind, size_t n_in, size_t n_hidden, size_t count,
                                    size_t *bytes)
{
    size_t one;
    rtu_status status;
    if (bytes == NULL) {
        return RTU_ERR_NULL;
    }
    status = rtu_td_buffer_size(kind, n_in, n_hidden, &one);
    return status == RTU_OK ? rtu_batch_bytes(one, count, bytes) : status;
}

rtu_status rtu_td_batch_init(rtu_td *tds, size_t count, rtu_kind kind, rtu_activation activation,
                             size_t n_in, size_t n_hidden, const rtu_td_config *config,
                             const uint64_t *seeds, void *buffer, size_t buffer_bytes)
{
    size_t i, bytes, one;
    rtu_prng rng;
    rtu_status status;
    if (tds == NULL || seeds == NULL || buffer == NULL || config == NULL) {
        return RTU_ERR_NULL;
    }
    status = rtu_td_batch_buffer_size(kind, n_in, n_hidden, count, &bytes);
    if (status != RTU_OK) {
        return status;
    }
    if (buffer_bytes < bytes) {
        return RTU_ERR_BUFFER_SMALL;
    }
    one = bytes / count;
    for (i = 0; i < count; ++i) {
        rtu_prng_seed(&rng, seeds[i]);
        status = rtu_td_init(&tds[i], kind, activation, n_in, n_hidden, config, &rng,
                             (char *)buffer + i * one, one);
        if (status != RTU_OK) {
            return status;
        }
    }
    return RTU_OK;
}

rtu_status rtu_td_run_batch(rtu_td *tds, size_t count, const rtu_real *x,
                            const rtu_real *cumulants, size_t steps, rtu_real *predictions,
                            size_t *at)
{
    size_t i, t, n_in;
    rtu_status status = RTU_OK, first = RTU_OK;
    if (tds == NULL || at == NULL || ((x == NULL || cumulants == NULL) && steps > 0)) {
        return RTU_ERR_NULL;
    }
    if (count > RTU_MAX_BATCH) {
        return RTU_ERR_SIZE;
    }
    if (count == 0 || steps == 0) {
        return RTU_OK;
    }
    n_in = tds[0].cell.n_in;
    if (rtu_sequence_fits(count, n_in) != RTU_OK ||
        rtu_sequence_fits(steps, count * n_in) != RTU_OK) {
        return RTU_ERR_SIZE;
    }
    for (t = 0; t < steps && status == RTU_OK; ++t) {
        for (i = 0; i < count && status == RTU_OK; ++i) {
            *at = i;
            status = rtu_check_input(x + (t * count + i) * n_in, n_in);
            if (status == RTU_OK) {
                status = rtu_check_input(cumulants + t * count + i, 1);
            }
        }
    }
    if (status != RTU_OK) {
        return status;
    }
    for (t = 0; t < steps && first == RTU_OK; ++t) { /* a divergence ends the run at its step */
        for (i = 0; i < count; ++i) {
            status = td_step_checked(&tds[i], x + (t * count + i) * n_in, cumulants[t * count + i],
                                     predictions != NULL ? predictions + t * count + i : NULL);
            if (status != RTU_OK && first == RTU_OK) {
                first = status;
                *at = i;
            }
        }
    }
    return first;
}
