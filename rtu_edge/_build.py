"""cffi (API mode) builder of the C core: two extension modules from the same c_src/ sources,
``rtu_edge._rtu_f32`` (rtu_real = float) and ``rtu_edge._rtu_f64`` (rtu_real = double, -DRTU_DOUBLE).
Run by setuptools during ``pip install`` (setup.py: cffi_modules); never imported at run time.
The declarations below are checked against c_src/rtu.h by the C compiler when the module builds.
"""

import cffi

SOURCES = ["c_src/rtu_status.c", "c_src/rtu_prng.c", "c_src/rtu_cell.c"]

CDEF = """
typedef REAL rtu_real;
typedef enum {
    RTU_OK, RTU_ERR_NULL, RTU_ERR_SIZE, RTU_ERR_KIND, RTU_ERR_ACTIVATION, RTU_ERR_BUFFER_SMALL,
    RTU_ERR_BUFFER_ALIGN, RTU_ERR_NONFINITE_INPUT, RTU_ERR_INPUT_RANGE, RTU_ERR_NONFINITE_PARAM, RTU_ERR_PARAM_RANGE,
    RTU_ERR_INIT_RANGE, RTU_ERR_OVERFLOW, RTU_STATUS_COUNT
} rtu_status;
const char *rtu_status_str(rtu_status status);

typedef struct { uint64_t state; uint64_t inc; } rtu_prng;
void rtu_prng_seed(rtu_prng *rng, uint64_t seed);
uint32_t rtu_prng_next_u32(rtu_prng *rng);
double rtu_prng_uniform(rtu_prng *rng);
double rtu_prng_normal(rtu_prng *rng);

typedef enum { RTU_KIND_LINEAR, RTU_KIND_NONLINEAR } rtu_kind;
typedef enum { RTU_ACT_RELU, RTU_ACT_TANH, RTU_ACT_IDENTITY } rtu_activation;
typedef struct {
    size_t n_in;
    size_t n_hidden;
    size_t n_params;
    rtu_real *params;
    rtu_real *c, *d;
    rtu_real *dc_dnu, *dd_dnu, *dc_dtheta, *dd_dtheta;
    rtu_real *dc_dwc, *dd_dwc, *dc_dwd, *dd_dwd;
    ...;
} rtu_cell;

rtu_status rtu_cell_buffer_size(rtu_kind kind, size_t n_in, size_t n_hidden, size_t *bytes);
rtu_status rtu_cell_init(rtu_cell *cell, rtu_kind kind, rtu_activation activation, size_t n_in,
                         size_t n_hidden, void *buffer, size_t buffer_bytes);
rtu_status rtu_cell_init_params(rtu_cell *cell, rtu_prng *rng, double r_min, double r_max,
                                double max_phase);
rtu_status rtu_cell_set_params(rtu_cell *cell, const rtu_real *params);
rtu_status rtu_cell_refresh(rtu_cell *cell);
void rtu_cell_reset(rtu_cell *cell);
void rtu_cell_features(const rtu_cell *cell, rtu_real *h);
rtu_status rtu_cell_step(rtu_cell *cell, const rtu_real *x, rtu_real *h);
rtu_status rtu_cell_gradient(const rtu_cell *cell, const rtu_real *dh, rtu_real *grad);
rtu_status rtu_cell_run(rtu_cell *cell, const rtu_real *x, size_t steps, rtu_real *h);
rtu_status rtu_cell_run_gradient(rtu_cell *cell, const rtu_real *x, const rtu_real *dh,
                                 size_t steps, rtu_real *h, rtu_real *grad_sum);
"""


def make_ffi(real: str) -> cffi.FFI:
    ffi = cffi.FFI()
    ffi.cdef(CDEF.replace("REAL", real))
    suffix = "f64" if real == "double" else "f32"
    ffi.set_source(
        f"rtu_edge._rtu_{suffix}",
        '#include "rtu.h"',
        sources=SOURCES,
        include_dirs=["c_src"],
        define_macros=[("RTU_DOUBLE", "1")] if real == "double" else [],
        # no FMA contraction: the PRNG-driven initialisation stays bit-identical to Python's
        extra_compile_args=["-std=c99", "-O3", "-ffp-contract=off"],
        libraries=["m"],
    )
    return ffi


ffi_f32 = make_ffi("float")
ffi_f64 = make_ffi("double")

if __name__ == "__main__":
    ffi_f32.compile(verbose=True)
    ffi_f64.compile(verbose=True)
