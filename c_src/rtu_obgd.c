/*
 * The learners' optimiser: SGD or ObGD (overshooting-bounded gradient descent, Elsayed et al.
 * 2024) on eligibility traces, each over a trunk (an input layer, if any, then an RTU cell;
 * traces may share one) and a head of its own, then the phase wrap, the hold of the log-parameters
 * (rtu_cell_hold_logs) and the refresh of each cell
 * (../shared/rtu-spec.md sections 3 and 6). rtu_td.c and rtu_ac.c end their updates with
 * rtu_obgd_update; rtu_edge/reference/obgd.py is the same code in numpy. Declarations and the
 * order of operations: rtu_internal.h.
 */
#include <math.h>

#include "rtu_internal.h"


rtu_real rtu_obgd_step_size(int obgd, rtu_real alpha, rtu_real kappa, rtu_real delta,
                            rtu_real z_norm1)
{
    if (obgd) {
        rtu_real dbar = RTU_FABS(delta) > 1 ? RTU_FABS(delta) : (rtu_real)1;
        rtu_real bound = alpha * kappa * dbar * z_norm1;
        return alpha / (bound > 1 ? bound : (rtu_real)1) * delta;
    }
    return alpha * delta;
}

/* theta += a z; returns whether every new theta is within RTU_VALUE_LIMIT (false for NaN and
 * Inf), found in the same pass. */
static int add_scaled(rtu_real *restrict theta, const rtu_real *restrict z, size_t count,
                      rtu_real a)
{
    const rtu_real limit = (rtu_real)RTU_VALUE_LIMIT;
    size_t i;
    int ok = 1;
    for (i = 0; i < count; ++i) {
        theta[i] += a * z[i];
        ok &= RTU_FABS(theta[i]) <= limit;
    }
    return ok;
}

/* theta += a z; z = decay z + g; returns |z|_1 of the new z (in RTU_LANES partial sums, as
 * rtu_sum_abs), and *ok whether every new theta is within RTU_VALUE_LIMIT. One pass over each
 * array. */
static rtu_real add_scaled_advance(rtu_real *restrict theta, rtu_real *restrict z,
                                   const rtu_real *restrict g, size_t count, rtu_real a,
                                   rtu_real decay, int *ok)
{
    const rtu_real limit = (rtu_real)RTU_VALUE_LIMIT;
    rtu_real acc[RTU_LANES] = {0};
    size_t i = 0, l;
    int within = 1;
    for (; i + RTU_LANES <= count; i += RTU_LANES) {
        for (l = 0; l < RTU_LANES; ++l) {
            theta[i + l] += a * z[i + l];
            within &= RTU_FABS(theta[i + l]) <= limit;
            z[i + l] = decay * z[i + l] + g[i + l];
            acc[l] += RTU_FABS(z[i + l]);
        }
    }
    for (; i < count; ++i) {
        theta[i] += a * z[i];
        within &= RTU_FABS(theta[i]) <= limit;
        z[i] = decay * z[i] + g[i];
        acc[0] += RTU_FABS(z[i]);
    }
    *ok = within;
    return rtu_lanes_total(acc);
}

void rtu_obgd_step_trace(rtu_obgd_trace *t, rtu_real a)
{
    /* the trunk in three parts: before the cell's theta_log, theta_log (n_hidden), after it */
    size_t n = t->cell->n_hidden, phases = t->n_trunk - t->cell->n_params + n, rest = phases + n;
    rtu_real a_phase = t->phase_scale * a;
    int ok;
    if (t->grad == NULL) {
        t->trunk_ok = add_scaled(t->trunk, t->z, phases, a);
        t->trunk_ok &= add_scaled(t->trunk + phases, t->z + phases, n, a_phase);
        t->trunk_ok &= add_scaled(t->trunk + rest, t->z + rest, t->n_trunk - rest, a);
        t->head_ok = add_scaled(t->head, t->z + t->n_trunk, t->n_head, a);
        return;
    }
    if (t->phase_scale == 1) { /* one pass, one sum (TD's trace) */
        t->z_norm1 = add_scaled_advance(t->trunk, t->z, t->grad, t->n_trunk, a, t->decay,
                                        &t->trunk_ok);
    } else {
        t->z_norm1 = add_scaled_advance(t->trunk, t->z, t->grad, phases, a, t->decay,
                                        &t->trunk_ok);
        t->z_norm1 += add_scaled_advance(t->trunk + phases, t->z + phases, t->grad + phases, n,
                                         a_phase, t->decay, &ok);
        t->trunk_ok &= ok;
        t->z_norm1 += add_scaled_advance(t->trunk + rest, t->z + rest, t->grad + rest,
                                         t->n_trunk - rest, a, t->decay, &ok);
        t->trunk_ok &= ok;
    }
    t->z_norm1 += add_scaled_advance(t->head, t->z + t->n_trunk, t->grad + t->n_trunk,
                                     t->n_head, a, t->decay, &t->head_ok);
}

rtu_status rtu_obgd_update(int obgd, rtu_real alpha, rtu_real delta, rtu_obgd_trace *traces,
                           size_t count, rtu_real *ratio)
{
    size_t i, j, k;
    rtu_status status = RTU_OK;
    for (i = 0; i < count; ++i) {
        rtu_obgd_trace *t = &traces[i];
        rtu_obgd_step_trace(t, rtu_obgd_step_size(obgd, alpha, t->kappa, delta, t->z_norm1));
    }
    for (i = 0; i < count; ++i) {
        rtu_cell *cell = traces[i].cell;
        size_t n = cell->n_hidden, seen = 0, last = i;
        for (j = 0; j < i; ++j) {
            seen |= traces[j].cell == cell;
        }
        if (seen) {
            continue;
        }
        /* the phases wrap; the theta_log entries of every trace over this cell follow (the
         * cell's own traces are rescaled by rtu_cell_wrap_phases) */
        rtu_cell_wrap_phases(cell, ratio);
        for (j = i; j < count; ++j) {
            if (traces[j].cell == cell) {
                rtu_real *z_theta = traces[j].z + traces[j].n_trunk - cell->n_params + n;
                for (k = 0; k < n; ++k) {
                    z_theta[k] *= ratio[k];
                }
                last = j; /* the last step over this trunk: its flag holds */
            }
        }
        rtu_cell_hold_logs(cell);
        if (rtu_cell_refresh_bounded(cell) != RTU_OK || !traces[last].trunk_ok) {
            status = RTU_ERR_DIVERGED;
        }
    }
    for (i = 0; i < count && status == RTU_OK; ++i) {
        if (!traces[i].head_ok) {
            status = RTU_ERR_DIVERGED;
        }
    }
    return status;
}
