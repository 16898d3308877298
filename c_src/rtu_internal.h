/* Functions shared between the core's files; not part of the public API in rtu.h. */
#ifndef RTU_INTERNAL_H
#define RTU_INTERNAL_H

#include "rtu.h"

/* RTU_OK, RTU_ERR_NONFINITE_INPUT or RTU_ERR_INPUT_RANGE for an input array. */
rtu_status rtu_check_input(const rtu_real *v, size_t count);

/* grad = dL/dparams (accumulate == 0) or grad += dL/dparams, from dh, without checking dh. */
void rtu_cell_gradient_into(const rtu_cell *cell, const rtu_real *dh, rtu_real *grad,
                            int accumulate);

#endif /* RTU_INTERNAL_H */
