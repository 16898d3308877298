/*
 * PCG32 (O'Neill 2014, XSH-RR output, 64-bit LCG state), the project's one PRNG.
 * rtu_edge/reference/prng.py is the same generator, bit for bit.
 */
#include <math.h>

#include "rtu.h"

#define RTU_PCG_MULT 6364136223846793005ULL
#define RTU_PCG_STREAM 0xda3e39cb94b95bdbULL /* fixed stream: one seed, one sequence */

void rtu_prng_seed(rtu_prng *rng, uint64_t seed)
{
    rng->state = 0u;
    rng->inc = (RTU_PCG_STREAM << 1u) | 1u;
    (void)rtu_prng_next_u32(rng);
    rng->state += seed;
    (void)rtu_prng_next_u32(rng);
}

uint32_t rtu_prng_next_u32(rtu_prng *rng)
{
    uint64_t old = rng->state;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    rng->state = old * RTU_PCG_MULT + rng->inc;
    return (xorshifted >> rot) | (xorshifted << ((32u - rot) & 31u));
}

double rtu_prng_uniform(rtu_prng *rng)
{
    /* 52 bits, 26 from each draw; bits + 0.5 is exact, so the result lies strictly in (0, 1). */
    uint64_t hi = (uint64_t)(rtu_prng_next_u32(rng) >> 6u);
    uint64_t lo = (uint64_t)(rtu_prng_next_u32(rng) >> 6u);
    uint64_t bits = (hi << 26u) | lo;
    return ((double)bits + 0.5) / 4503599627370496.0; /* 2^52 */
}

double rtu_prng_normal(rtu_prng *rng)
{
    double u1 = rtu_prng_uniform(rng);
    double u2 = rtu_prng_uniform(rng);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
