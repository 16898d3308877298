"""TD(lambda) prediction with an RTU cell and a linear value head: c_src/rtu_td.c in numpy.

One step, ``TD.step(x_{t+1}, C_{t+1})`` (rtu-spec.md section 3):

    h = cell step on x_{t+1} at theta_t;          v_{t+1} = w . h + b
    grad = d v_{t+1} / d theta at theta_t         (the cell's part by RTRL from dL/dh = w)
    delta = C_{t+1} + gamma v_{t+1} - v_t         (no update on the first step after a reset)
    alpha_eff = alpha                                           (SGD)
              = alpha / max(alpha kappa max(|delta|, 1) |z|_1, 1)  (ObGD)
    theta_{t+1} = theta_t + alpha_eff delta z_t
    z_{t+1} = gamma lambda z_t + grad

Learner parameters, eligibility traces and gradients share one layout: the cell's params
(nu_log, theta_log, w_c, w_d; the LRU's c_re, c_im, d_skip), then the head w (2n) and b.

``GRUTD`` is the same learner with the GRU baseline (gru.py) in place of the cell: the cell's
gradient by truncated BPTT over a window of T steps instead of RTRL (no C counterpart).
"""

from __future__ import annotations

import numpy as np

from . import obgd
from .cell import Cell, check_input
from .config import TDConfig
from .gru import GRU
from .prng import Prng


class TD:
    """TD(lambda) learner laid out as ``rtu_td`` (float64).

    Shapes (n = n_hidden, d = n_in, P = cell_params, 2n + 2nd for an RTU): ``head`` (2n + 1,) =
    w then b;
    ``z`` and ``grad`` (P + 2n + 1,). ``v_prev`` the latest prediction, ``z_norm1`` = |z|_1.
    """

    def __init__(self, kind: str, activation: str, n_in: int, n_hidden: int, config: TDConfig,
                 rng: Prng):
        config.check()
        self.setup(Cell(kind, activation, n_in, n_hidden), config)
        self.cell.init_params(rng, 0.0, 1.0, 6.28)

    def setup(self, cell, config: TDConfig) -> None:
        """The learner's arrays around cell (its features h, 2n for an RTU), all zero."""
        self.cell, self.config = cell, config
        n_h = cell.h.size
        self.n_params = cell.n_params + n_h + 1
        self.head = np.zeros(n_h + 1)
        self.z = np.zeros(self.n_params)
        self.grad = np.zeros(self.n_params)
        self.reset()
        self.steps = 0

    def reset(self) -> None:
        self.cell.reset()
        self.z[:] = 0.0
        self.z_norm1 = 0.0
        self.v_prev = 0.0
        self.has_prev = False

    def step(self, x: np.ndarray, cumulant: float) -> float:
        check_input("x", np.asarray(x, dtype=np.float64))
        check_input("cumulant", np.asarray([cumulant], dtype=np.float64))
        cell, cfg = self.cell, self.config
        p_cell, n2 = cell.n_params, cell.h.size
        w = self.head[:n2]
        update = self.has_prev

        # h_{t+1} and v_{t+1} at theta_t
        h = cell.step(x)
        v = float(self.head[n2] + w @ h)
        # grad v_{t+1} at theta_t: the cell's by RTRL from dL/dh = w, the head's (h, 1)
        self.grad[:p_cell] = cell.gradient_into(w)
        self.grad[p_cell:p_cell + n2] = h
        self.grad[p_cell + n2] = 1.0

        # theta_{t+1} = theta_t + alpha_eff delta_t z_t, z_{t+1} = gamma lambda z_t + grad, then
        # the phase wrap and the refresh; no TD error before the first prediction: z only
        trace = obgd.Trace(self.z, cell.params, cell, self.head, cfg.kappa, self.z_norm1,
                           self.grad, cfg.gamma * cfg.lambda_)
        try:
            if update:
                delta = cumulant + cfg.gamma * v - self.v_prev
                obgd.update(cfg.optimizer == "obgd", cfg.alpha, delta, [trace])
            else:
                obgd.step_trace(trace, 0.0)
        finally:
            self.z_norm1 = trace.z_norm1  # as rtu_td_step, also when the update diverged
        if not np.isfinite(v):  # the first prediction too: never an Inf returned
            raise FloatingPointError("learner diverged: the prediction became non-finite")
        self.v_prev = v
        self.has_prev = True
        self.steps += 1
        return v

    def run(self, x_seq: np.ndarray, cumulants: np.ndarray) -> np.ndarray:
        """rtu_td_run: step over a (T, n_in) sequence and its T cumulants, all checked before the
        first step (a bad value anywhere leaves the learner untouched)."""
        check_input("X", np.asarray(x_seq, dtype=np.float64))
        check_input("cumulants", np.asarray(cumulants, dtype=np.float64))
        return np.array([self.step(x, float(c)) for x, c in zip(x_seq, cumulants)])


class GRUTD(TD):
    """The GRU baseline: ``TD`` with a GRU (gru.py) in place of the RTU, its gradient by truncated
    BPTT over the last ``window`` steps instead of RTRL; the same head v = w . h + b (w (n,)),
    eligibility trace, optimizer and step. Layout of ``z`` and ``grad`` (P + n + 1,): the GRU's
    params (W, U, b), then w, then b. The GRU's parameters start U(-1/sqrt(n), 1/sqrt(n)) from
    rng; the head at zero."""

    def __init__(self, n_in: int, n_hidden: int, window: int, config: TDConfig, rng: Prng):
        config.check()
        self.setup(GRU(n_in, n_hidden, window), config)
        self.cell.init_params(rng)


class MemorylessTD:
    """The memoryless baseline: the same TD(lambda) learner and optimizer on the raw observation,
    v = w . x + b, with no recurrence. ``w`` (n_in + 1,) is w then b; ``z`` likewise."""

    def __init__(self, n_in: int, config: TDConfig):
        config.check()
        self.config = config
        self.w = np.zeros(n_in + 1)
        self.z = np.zeros(n_in + 1)
        self.z_norm1, self.v_prev, self.has_prev, self.steps = 0.0, 0.0, False, 0

    def step(self, x: np.ndarray, cumulant: float) -> float:
        cfg = self.config
        features = np.append(np.asarray(x, dtype=np.float64), 1.0)
        check_input("x", features)
        v = float(self.w @ features)
        if self.has_prev:
            delta = cumulant + cfg.gamma * v - self.v_prev
            self.w += obgd.step_size(cfg.optimizer == "obgd", cfg.alpha, cfg.kappa, delta,
                                     self.z_norm1) * self.z
        self.z[:] = cfg.gamma * cfg.lambda_ * self.z + features
        self.z_norm1 = float(np.sum(np.abs(self.z)))
        self.v_prev, self.has_prev, self.steps = v, True, self.steps + 1
        return v

    def run(self, x_seq: np.ndarray, cumulants: np.ndarray) -> np.ndarray:
        return np.array([self.step(x, float(c)) for x, c in zip(x_seq, cumulants)])
