#!/usr/bin/env python3
"""Derive the float build's tanh (rtu_internal.h: rtu_tanhf) and measure its error.

tanh(x) ~ x P(x^2) / Q(x^2), P and Q of degree 4, Q(0) = 1, on x in [0, CLAMP] (odd: the negative
half by symmetry; beyond CLAMP tanh is 1 within float's rounding). The fit is a linearised least
squares of |x P - tanh(x) Q| (Sanathanan-Koerner: each pass divides by the previous Q, so that it
approaches the true error |x P / Q - tanh|), then Lawson passes that reweight towards the largest
errors, in the variable u = (x / CLAMP)^2 for conditioning. It prints the coefficients rounded to
float (as rtu_tanhf holds them) and the largest error of the float evaluation, Horner's rule in
float32 as the C code does it, over a dense grid of floats, against tanh in double. The C test
cell/tanh_error checks the bound (RTU_TANH_MAX_ERROR) on the compiled code.

    python c_src/tests/fit_tanh.py
"""

import numpy as np

CLAMP = 9.0
DEGREE = 4


def fit(degree: int = DEGREE, sk_passes: int = 8, lawson_passes: int = 40):
    x = np.unique(np.concatenate([np.linspace(0.0, CLAMP, 40001),
                                  np.geomspace(1e-5, CLAMP, 20001)]))
    t, u = np.tanh(x), (x / CLAMP) ** 2
    weight, q_prev = np.ones_like(x), np.ones_like(x)
    for it in range(sk_passes + lawson_passes):
        basis = np.hstack([np.stack([x * u**i for i in range(degree + 1)], 1),
                           np.stack([-t * u**i for i in range(1, degree + 1)], 1)])
        w = weight / q_prev
        coef = np.linalg.lstsq(basis * w[:, None], t * w, rcond=None)[0]
        p, q = coef[:degree + 1], np.concatenate([[1.0], coef[degree + 1:]])
        q_val = np.polyval(q[::-1], u)
        err = np.abs(x * np.polyval(p[::-1], u) / q_val - t)
        q_prev = np.abs(q_val)
        if it >= sk_passes:
            weight = weight * (err / err.max()) ** 0.3 + 1e-12
            weight = np.sqrt(weight / weight.sum() * len(weight))
    scale = np.array([CLAMP ** (-2 * i) for i in range(degree + 1)])  # u^i = x^(2i) / CLAMP^(2i)
    return (p * scale).astype(np.float32), (q * scale).astype(np.float32)


def tanh_f32(p: np.ndarray, q: np.ndarray, x: np.ndarray) -> np.ndarray:
    """rtu_tanhf in float32 arithmetic."""
    f = np.float32
    x = np.clip(x.astype(f), f(-CLAMP), f(CLAMP))
    s = x * x
    num, den = np.full_like(x, p[-1]), np.full_like(x, q[-1])
    for c in p[-2::-1]:
        num = num * s + c
    for c in q[-2::-1]:
        den = den * s + c
    return np.clip(x * num / den, f(-1), f(1))


def main() -> None:
    p, q = fit()
    grid = np.concatenate([np.linspace(-12, 12, 4_000_001), np.geomspace(1e-38, 12, 1_000_000),
                           -np.geomspace(1e-38, 12, 1_000_000)]).astype(np.float32)
    err = np.abs(tanh_f32(p, q, grid).astype(np.float64) - np.tanh(grid.astype(np.float64)))
    print("P (x^0, x^2, ...):", ", ".join(np.format_float_positional(c) + "f" for c in p))
    print("Q (x^0, x^2, ...):", ", ".join(np.format_float_positional(c) + "f" for c in q))
    print(f"largest error over {grid.size} floats: {err.max():.3g} at x = "
          f"{grid[np.argmax(err)]:.9g} (numpy's float32 tanh: "
          f"{np.abs(np.tanh(grid) - np.tanh(grid.astype(np.float64))).max():.3g})")


if __name__ == "__main__":
    main()
