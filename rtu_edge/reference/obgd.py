"""The learners' optimiser, SGD or ObGD on eligibility traces over a shared cell and a head per
trace, then the phase wrap and the cell's refresh: c_src/rtu_obgd.c in numpy (rtu-spec.md
section 3). ``td.TD`` and ``ac.AC`` end their updates with ``update``.

A trace ``z`` has the learner-parameter layout: the cell's params (``cell.n_params``), then its
head's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np


@dataclass
class Trace:
    """rtu_obgd_trace. ``head`` is the head's parameter array, stepped in place. With ``grad``
    (TD's order) the trace advances right after its step, z = decay z + grad, and ``z_norm1``
    becomes the new |z|_1."""

    z: np.ndarray
    head: np.ndarray
    kappa: float
    z_norm1: float
    grad: Optional[np.ndarray] = None
    decay: float = 0.0


def step_size(obgd: bool, alpha: float, kappa: float, delta: float, z_norm1: float) -> float:
    """alpha_eff * delta: SGD's alpha, or ObGD's overshooting bound
    alpha / max(alpha kappa max(|delta|, 1) |z|_1, 1)."""
    if obgd:
        bound = alpha * kappa * max(abs(delta), 1.0) * z_norm1
        return alpha / max(bound, 1.0) * delta
    return alpha * delta


def step_trace(cell, trace: Trace, a: float) -> None:
    """params += a z over the cell's part and the head's, then the advance if the trace has a
    grad. a = 0 is TD's first step (no TD error yet)."""
    p_cell = cell.n_params
    cell.params += a * trace.z[:p_cell]
    trace.head += a * trace.z[p_cell:]
    if trace.grad is not None:
        trace.z[:] = trace.decay * trace.z + trace.grad
        trace.z_norm1 = float(np.sum(np.abs(trace.z)))


def update(cell, obgd: bool, alpha: float, delta: float, traces: Sequence[Trace]) -> None:
    """Each trace's step in turn (the cell's params take every one), the phase wrap with each
    trace's theta_log entries rescaled, the refresh. FloatingPointError if the refresh refuses a
    parameter or a head became non-finite."""
    for trace in traces:
        step_trace(cell, trace, step_size(obgd, alpha, trace.kappa, delta, trace.z_norm1))
    ratio = cell.wrap_phases()  # theta_log entries of every trace follow the wrap
    theta = slice(cell.n_hidden, cell.n_hidden + ratio.size)  # within the cell's part
    for trace in traces:
        trace.z[theta] *= ratio
    try:
        cell.refresh()
    except ValueError as err:
        raise FloatingPointError(f"learner diverged: {err}") from err
    if not all(np.all(np.isfinite(trace.head)) for trace in traces):
        raise FloatingPointError("learner diverged: a head became non-finite")
