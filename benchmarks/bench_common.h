/*
 * What the C benchmark programs share (bench_cell.c, bench_export.c): failing with a message,
 * parsing counts from the command line, a monotonic clock and a comparison for qsort. Define
 * BENCH_NAME (the program's name, for messages) before including this file.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void fail(const char *what, const char *message)
{
    fprintf(stderr, BENCH_NAME ": %s: %s\n", what, message);
    exit(EXIT_FAILURE);
}

/* A whole decimal number in [min, max], or exit with a message naming the argument. */
static unsigned long long parse_count(const char *text, const char *name, unsigned long long min,
                                      unsigned long long max)
{
    char *end = NULL;
    unsigned long long value;
    errno = 0;
    if (text[0] < '0' || text[0] > '9') {
        fail(name, "not a non-negative integer");
    }
    value = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0') {
        fail(name, "not a non-negative integer");
    }
    if (value < min || value > max) {
        fail(name, "out of range");
    }
    return value;
}

static double now_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        fail("clock_gettime", strerror(errno));
    }
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#endif /* BENCH_COMMON_H */
