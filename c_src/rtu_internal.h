/* Functions shared between the core's files; not part of the public API in rtu.h. */
#ifndef RTU_INTERNAL_H
#define RTU_INTERNAL_H

#include "rtu.h"
#include "rtu_ac.h" /* and rtu_td.h */

/* v[0..count) = 0. */
void rtu_zero(rtu_real *v, size_t count);

/* RTU_OK, RTU_ERR_NONFINITE_INPUT or RTU_ERR_INPUT_RANGE for an input array. */
rtu_status rtu_check_input(const rtu_real *v, size_t count);

/* grad = dL/dparams (accumulate == 0) or grad += dL/dparams, from dh, without checking dh. */
void rtu_cell_gradient_into(const rtu_cell *cell, const rtu_real *dh, rtu_real *grad,
                            int accumulate);

/* w . h' + b for the features h' that a step on x would give, at the current parameters, without
 * changing the state or the traces (x already checked). w has 2n reals. */
rtu_real rtu_cell_peek_value(const rtu_cell *cell, const rtu_real *x, const rtu_real *w,
                             rtu_real b);

/* Wrap each phase theta = exp(theta_log) >= 3 pi into [pi, 3 pi) by whole turns, which leaves the
 * cell's function unchanged (lambda depends on theta through cos and sin only). Derivatives with
 * respect to the new theta_log are ratio = theta' / theta times the old ones: the cell's theta
 * traces are rescaled here, and ratio[k] (n reals, 1 where nothing wrapped) is for the caller's
 * eligibility traces. Call after changing params and before rtu_cell_refresh. Without it, exact
 * theta_log gradients (which carry a factor theta) can drive theta up without bound. */
void rtu_cell_wrap_phases(rtu_cell *cell, rtu_real *ratio);

/* RTU_OK or RTU_ERR_CONFIG: the learners' config rules, for init and for checkpoint loading. */
rtu_status rtu_td_check_config(const rtu_td_config *config);
rtu_status rtu_ac_check_config(const rtu_ac_config *config);

#endif /* RTU_INTERNAL_H */
