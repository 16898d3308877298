"""Dense layers and parameter-free LayerNorm with leaky ReLU: c_src/rtu_dense.c in numpy (the
kernels of rtu_internal.h, name for name; rtu-spec.md section 6).

A Dense layer's parameters are one flat array, W (n_out x n_in, row-major) then b (n_out):

    dense_forward:       y = W x + b
    ln_lrelu:            y_hat = LN(y) = (y - mean(y)) inv_std,  inv_std = 1 / sqrt(var(y) + eps)
                         (biased variance, eps = LN_EPS); out = lrelu(y_hat)
                         = max(y_hat, 0.01 y_hat)
    ln_lrelu_backward:   g = d lrelu'(y_hat)  (1 where y_hat > 0, else LRELU_SLOPE)
                         dL/dy = inv_std (g - mean(g) - y_hat mean(g y_hat))
    dense_backward:      grad = decay grad + [dy x^T, dy];  dx = W^T dy
    dense_init:          sparse (stream-x): each row keeps K = max(1, ceil((1 - s) n_in - 1e-4))
                         weights U(-1/sqrt(n_in), 1/sqrt(n_in)) chosen by selection sampling; b = 0

The C functions write into caller-owned arrays; so do these (the arguments keep the C order).
"""

from __future__ import annotations

import math

import numpy as np

from .prng import Prng

LN_EPS = 1e-5  # RTU_LN_EPS
LRELU_SLOPE = 0.01  # RTU_LRELU_SLOPE


def dense_params(n_in: int, n_out: int) -> int:
    """Reals of a Dense layer: W (n_out x n_in), b (n_out)."""
    return n_out * (n_in + 1)


def dense_forward(w: np.ndarray, x: np.ndarray, n_in: int, n_out: int, y: np.ndarray) -> None:
    """rtu_dense_forward: y = W x + b (y overwritten)."""
    y[:] = w[:n_out * n_in].reshape(n_out, n_in) @ x + w[n_out * n_in:n_out * (n_in + 1)]


def lrelu(y: np.ndarray) -> np.ndarray:
    return np.where(y > 0, y, LRELU_SLOPE * y)


def ln_lrelu(y_hat: np.ndarray, out: np.ndarray) -> float:
    """rtu_ln_lrelu: on entry y_hat holds y; on return y_hat = LN(y) and out = lrelu(y_hat).
    Returns inv_std = 1 / sqrt(var(y) + LN_EPS)."""
    mean = np.sum(y_hat) / y_hat.size
    var = np.sum((y_hat - mean) ** 2) / y_hat.size
    inv_std = 1.0 / math.sqrt(var + LN_EPS)
    y_hat[:] = (y_hat - mean) * inv_std
    out[:] = lrelu(y_hat)
    return inv_std


def ln_lrelu_backward(y_hat: np.ndarray, inv_std: float, d: np.ndarray) -> None:
    """rtu_ln_lrelu_backward, in place: on entry d = dL/dout, on return d = dL/dy."""
    g = d * np.where(y_hat > 0, 1.0, LRELU_SLOPE)
    count = y_hat.size
    d[:] = inv_std * (g - np.sum(g) / count - y_hat * (np.sum(g * y_hat) / count))


def dense_backward(w: np.ndarray, x: np.ndarray, dy: np.ndarray, n_in: int, n_out: int,
                   decay: float, grad: np.ndarray, dx: np.ndarray | None) -> None:
    """rtu_dense_backward: grad (W then b) = decay grad + [dy x^T, dy] (a trace's decay and
    gradient); dx = W^T dy (overwritten) unless dx is None."""
    grad[:n_out * n_in] = decay * grad[:n_out * n_in] + np.outer(dy, x).reshape(-1)
    grad[n_out * n_in:n_out * (n_in + 1)] = decay * grad[n_out * n_in:n_out * (n_in + 1)] + dy
    if dx is not None:
        dx[:] = dy @ w[:n_out * n_in].reshape(n_out, n_in)


def dense_keep(n_in: int, sparsity: float) -> int:
    """K, the weights a row keeps: ceil((1 - sparsity) n_in - 1e-4), at least 1 (the 1e-4 keeps
    a float sparsity's rounding from adding one)."""
    return max(1, math.ceil((1.0 - sparsity) * n_in - 1e-4))


def dense_init(w: np.ndarray, n_in: int, n_out: int, sparsity: float, rng: Prng) -> None:
    """rtu_dense_init: row by row, column j in order, u = uniform; j is kept when
    u (n_in - j) < the number still to keep (selection sampling: exactly K per row), a kept
    weight then drawing (2 uniform - 1) bound, bound = 1 / sqrt(n_in); the rest 0; b = 0."""
    keep = dense_keep(n_in, sparsity)
    bound = 1.0 / math.sqrt(n_in)
    weights = w[:n_out * n_in].reshape(n_out, n_in)
    for i in range(n_out):
        still = keep
        for j in range(n_in):
            u = rng.uniform()
            if u * (n_in - j) < still:
                weights[i, j] = (2.0 * rng.uniform() - 1.0) * bound
                still -= 1
            else:
                weights[i, j] = 0.0
    w[n_out * n_in:n_out * (n_in + 1)] = 0.0
