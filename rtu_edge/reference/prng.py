"""PCG32, the project's PRNG: c_src/rtu_prng.c in Python, bit for bit.

``Prng.seed/next_u32/uniform/normal`` are ``rtu_prng_seed/next_u32/uniform/normal``. The
floating-point steps use the ``math`` module (the platform's libm, as the C code does), so a seed
gives the same doubles on both sides.
"""

from __future__ import annotations

import math

_MASK64 = (1 << 64) - 1
_MASK32 = (1 << 32) - 1
PCG_MULT = 6364136223846793005
PCG_STREAM = 0xDA3E39CB94B95BDB
_TWO_POW_52 = 4503599627370496.0
_TWO_PI = 6.283185307179586


class Prng:
    """PCG32 generator state: ``state`` and ``inc``, unsigned 64-bit integers (as ``rtu_prng``)."""

    def __init__(self, seed: int = 0):
        self.state = 0
        self.inc = 0
        self.seed(seed)

    def seed(self, seed: int) -> None:
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= _MASK64:
            raise ValueError(f"seed must be an integer in [0, 2**64), got {seed!r}")
        self.state = 0
        self.inc = ((PCG_STREAM << 1) | 1) & _MASK64
        self.next_u32()
        self.state = (self.state + seed) & _MASK64
        self.next_u32()

    def next_u32(self) -> int:
        old = self.state
        xorshifted = (((old >> 18) ^ old) >> 27) & _MASK32
        rot = old >> 59
        self.state = (old * PCG_MULT + self.inc) & _MASK64
        return ((xorshifted >> rot) | (xorshifted << ((32 - rot) & 31))) & _MASK32

    def uniform(self) -> float:
        """Uniform double in the open interval (0, 1), from 52 random bits (26 from each draw)."""
        hi = self.next_u32() >> 6
        lo = self.next_u32() >> 6
        return (float((hi << 26) | lo) + 0.5) / _TWO_POW_52

    def normal(self) -> float:
        """Standard normal (Box-Muller, cosine branch; consumes two uniforms)."""
        u1 = self.uniform()
        u2 = self.uniform()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(_TWO_PI * u2)
