"""The learners' optimiser, SGD or ObGD on eligibility traces, each over a trunk (ending with an RTU
cell) and a head, then the phase wrap, the hold of the log-parameters (Cell.hold_logs) and the
refresh of each cell: c_src/rtu_obgd.c in numpy
(rtu-spec.md sections 3 and 6). ``td.TD`` and ``ac.AC`` end their updates with ``update``.

A trace ``z`` has its network's parameter layout: the trunk's parameters (an input layer's, if
any, then the cell's ``cell.n_params``), then the head's. Traces may share a trunk and its cell
(TD has one trace; the actor-critic two, over one shared trunk or two separate ones). The GRU
baseline's cell (gru.py, reference only) has neither phases nor a refresh: its trunk is only checked
for finiteness.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from .cell import VALUE_LIMIT


@dataclass
class Trace:
    """rtu_obgd_trace. ``trunk`` and ``head`` are the parameter arrays, stepped in place; the
    trunk's ends with the cell's params (``cell.params`` is a view of it, or is it). With
    ``grad`` (TD's order) the trace advances right after its step, z = decay z + grad, and
    ``z_norm1`` becomes the new |z|_1."""

    z: np.ndarray
    trunk: np.ndarray
    cell: object
    head: np.ndarray
    kappa: float
    z_norm1: float
    grad: Optional[np.ndarray] = None
    decay: float = 0.0
    phase_scale: float = 1.0  # the cell's theta_log entries step by phase_scale * a (TD's 1)

    @property
    def n_trunk(self) -> int:
        return self.trunk.size

    @property
    def n_head(self) -> int:
        return self.head.size


def within(v: np.ndarray) -> bool:
    """rtu_all_within(v, VALUE_LIMIT): every entry finite and within +-VALUE_LIMIT."""
    return bool(np.all(np.abs(v) <= VALUE_LIMIT))


def step_size(obgd: bool, alpha: float, kappa: float, delta: float, z_norm1: float) -> float:
    """alpha_eff * delta: SGD's alpha, or ObGD's overshooting bound
    alpha / max(alpha kappa max(|delta|, 1) |z|_1, 1)."""
    if obgd:
        bound = alpha * kappa * max(abs(delta), 1.0) * z_norm1
        return alpha / max(bound, 1.0) * delta
    return alpha * delta


def step_trace(trace: Trace, a: float) -> None:
    """rtu_obgd_step_trace: params += a z over the trunk's part and the head's, the cell's
    theta_log entries by phase_scale * a, then the advance if the trace has a grad. a = 0 is
    TD's first step (no TD error yet)."""
    n_trunk = trace.n_trunk
    step = np.full(n_trunk, a)
    if hasattr(trace.cell, "wrap_phases"):  # an RTU or LRU cell (not the GRU): its theta_log
        n = trace.cell.n_hidden
        phases = n_trunk - trace.cell.n_params + n
        step[phases:phases + n] = trace.phase_scale * a
    trace.trunk += step * trace.z[:n_trunk]
    trace.head += a * trace.z[n_trunk:]
    if trace.grad is not None:
        trace.z[:] = trace.decay * trace.z + trace.grad
        trace.z_norm1 = float(np.sum(np.abs(trace.z)))


def update(obgd: bool, alpha: float, delta: float, traces: Sequence[Trace]) -> None:
    """rtu_obgd_update: each trace's step in turn (a shared trunk takes every step of the traces
    over it); then for each distinct cell, in trace order, the phase wrap with the theta_log
    entries of every trace over that cell rescaled, the hold of its log-parameters and the
    refresh. FloatingPointError (the C
    core's RTU_ERR_DIVERGED) if a refresh refuses a parameter, or a trunk's or a head's parameter
    is non-finite or beyond VALUE_LIMIT; every cell is wrapped and refreshed first, as in C."""
    for trace in traces:
        step_trace(trace, step_size(obgd, alpha, trace.kappa, delta, trace.z_norm1))
    diverged = None
    for i, trace in enumerate(traces):
        cell = trace.cell
        if any(earlier.cell is cell for earlier in traces[:i]):
            continue
        if not hasattr(cell, "wrap_phases"):  # the GRU baseline (gru.py): no phases, no refresh
            if not within(trace.trunk):
                diverged = diverged or ("learner diverged: the GRU's parameters became "
                                        f"non-finite or beyond +-{VALUE_LIMIT:g}")
            continue
        # the phases wrap; the theta_log entries of every trace over this cell follow (the
        # cell's own traces are rescaled by wrap_phases)
        ratio = cell.wrap_phases()
        n = cell.n_hidden
        for other in traces[i:]:
            if other.cell is cell:
                start = other.n_trunk - cell.n_params + n
                other.z[start:start + n] *= ratio
        cell.hold_logs()
        try:
            cell.refresh()
        except ValueError as err:
            diverged = diverged or f"learner diverged: {err}"
        if diverged is None and not within(trace.trunk):
            diverged = ("learner diverged: a parameter became non-finite or beyond "
                        f"+-{VALUE_LIMIT:g}")
    if diverged is None and not all(within(t.head) for t in traces):
        diverged = f"learner diverged: a head became non-finite or beyond +-{VALUE_LIMIT:g}"
    if diverged is not None:
        raise FloatingPointError(diverged)
