/* The test harness (check.h) and the runner: one line per test, a summary, exit status 1 on any
 * failure. The list of tests is tests.h. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "tests.h"

#define MAX_MESSAGES 8 /* failure messages printed per test */

static int test_failures;    /* failed checks of the current test */
static long test_checks;     /* checks of the current test */
static double test_worst;    /* largest deviation noted by the current test */
static int test_has_worst;
static char test_note[160];  /* free-form note of the current test */

void check_true(int ok, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    ++test_checks;
    if (ok) {
        return;
    }
    ++test_failures;
    if (test_failures > MAX_MESSAGES) {
        return;
    }
    printf("    %s:%d: ", file, line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

void check_note_deviation(double deviation)
{
    if (!test_has_worst || deviation > test_worst || deviation != deviation) {
        test_worst = deviation;
    }
    test_has_worst = 1;
}

void check_note(const char *fmt, ...)
{
    va_list ap;
    size_t used = strlen(test_note);
    if (used + 3 >= sizeof test_note) {
        return;
    }
    if (used > 0) {
        strcat(test_note, "; ");
        used += 2;
    }
    va_start(ap, fmt);
    vsnprintf(test_note + used, sizeof test_note - used, fmt, ap);
    va_end(ap);
}

static double deviation(const double *got, const rtu_real *got_r, const double *ref, size_t n)
{
    double diff = 0.0, scale = 0.0;
    size_t i;
    for (i = 0; i < n; ++i) {
        double g = got != NULL ? got[i] : (double)got_r[i];
        double d = fabs(g - ref[i]);
        if (!(d <= diff)) { /* NaN propagates */
            diff = d;
        }
        if (fabs(ref[i]) > scale) {
            scale = fabs(ref[i]);
        }
    }
    return scale > 0.0 ? diff / scale : diff;
}

static double close_impl(const char *what, const double *got, const rtu_real *got_r,
                         const double *ref, size_t n, double tol)
{
    double dev = deviation(got, got_r, ref, n);
    check_note_deviation(dev);
    check_true(dev <= tol, __FILE__, __LINE__, "%s: deviation %.3e above the tolerance %.0e", what,
               dev, tol);
    return dev;
}

double check_close(const char *what, const rtu_real *got, const double *ref, size_t n, double tol)
{
    return close_impl(what, NULL, got, ref, n, tol);
}

double check_close_d(const char *what, const double *got, const double *ref, size_t n, double tol)
{
    return close_impl(what, got, NULL, ref, n, tol);
}

int check_little_endian(void)
{
    const uint32_t one = 1u;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1u;
}

int main(void)
{
    size_t i;
    int passed = 0, failed = 0, xfailed = 0;
    long checks = 0;
    printf("rtu_edge C unit tests, %s build (rtu_real is %u bytes), tolerance %.0e normwise "
           "against the float64 reference\n",
           PRECISION_NAME, (unsigned)sizeof(rtu_real), TOL);
    for (i = 0; i < test_count; ++i) {
        const test_case *t = &test_list[i];
        test_failures = 0;
        test_checks = 0;
        test_has_worst = 0;
        test_worst = 0.0;
        test_note[0] = '\0';
        t->fn(t->arg);
        checks += test_checks;
        if (test_failures == 0) {
            ++passed;
            printf("PASS  %-34s %5ld checks", t->name, test_checks);
        } else if (t->known_bug != NULL) {
            ++xfailed;
            printf("XFAIL %-34s %5ld checks, %d failed: known core bug: %s", t->name, test_checks,
                   test_failures, t->known_bug);
        } else {
            ++failed;
            printf("FAIL  %-34s %5ld checks, %d failed", t->name, test_checks, test_failures);
        }
        if (test_has_worst) {
            printf(", max deviation %.2e", test_worst);
        }
        if (test_note[0] != '\0') {
            printf(" (%s)", test_note);
        }
        printf("\n");
    }
    printf("%d passed, %d failed", passed, failed);
    if (xfailed > 0) {
        printf(", %d known core bugs (XFAIL)", xfailed);
    }
    printf(" of %u tests (%ld checks), %s build\n", (unsigned)test_count, checks, PRECISION_NAME);
    return failed == 0 ? 0 : 1;
}
