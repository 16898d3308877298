/*
 * A tiny test harness for the C unit tests (no framework): checks that record failures, and
 * normwise comparisons against golden vectors (golden.h, written by the numpy reference).
 *
 * Tolerance, the same on every target (host, aarch64, armhf): an array of C results passes when
 *     max_i |c_i - ref_i| / max_i |ref_i| <= TOL     (absolute, max_i |c_i - ref_i|, if ref is 0)
 * with TOL = 1e-4 in the float build (the project's float32 parity tolerance; the reference is
 * float64, so this measures float32 rounding and its growth over the run) and 1e-9 in the double
 * build. The cell's initial parameters, drawn from one seed on both sides, must agree to one
 * rounding: TOL_INIT = 1.2e-7 (float) or 1e-14 (double; libm may differ by an ulp).
 */
#ifndef RTU_TEST_CHECK_H
#define RTU_TEST_CHECK_H

#include <stddef.h>

#include "rtu.h"

#ifdef RTU_DOUBLE
#define TOL 1e-9
#define TOL_INIT 1e-14
#define PRECISION_NAME "double"
#else
#define TOL 1e-4
#define TOL_INIT 1.2e-7
#define PRECISION_NAME "float"
#endif

/* Record one check; on failure print file:line and the printf-style message. */
void check_true(int ok, const char *file, int line, const char *fmt, ...);
#define CHECK(cond, ...) check_true((cond) != 0, __FILE__, __LINE__, __VA_ARGS__)

/* A call that returns an rtu_status must return want. */
#define CHECK_STATUS(expr, want)                                                                    \
    do {                                                                                            \
        rtu_status check_status_got_ = (expr);                                                      \
        CHECK(check_status_got_ == (want), "%s returned %d (%s), expected %d (%s)", #expr,          \
              (int)check_status_got_, rtu_status_str(check_status_got_), (int)(want),               \
              rtu_status_str(want));                                                                \
    } while (0)

/* Normwise deviation of got from ref (see above); fails the test above tol. Returns it. */
double check_close(const char *what, const rtu_real *got, const double *ref, size_t n, double tol);
double check_close_d(const char *what, const double *got, const double *ref, size_t n, double tol);

/* Note a measured figure of the current test (printed on its result line), e.g. the largest
 * deviation; check_close notes its deviations itself. */
void check_note_deviation(double deviation);
void check_note(const char *fmt, ...);

/* Little-endian test (the checkpoint tests patch little-endian bytes). */
int check_little_endian(void);

#endif /* RTU_TEST_CHECK_H */
