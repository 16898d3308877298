"""The C core matches the numpy reference step by step (float64 and float32 builds)."""

import numpy as np
import pytest

from rtu_edge import RTUCell
from rtu_edge.reference import ACTIVATIONS, KINDS
from rtu_edge.validate import normwise, validate_cell

CONFIGS = [(k, a) for k in KINDS for a in ACTIVATIONS]


@pytest.mark.parametrize("kind,activation", CONFIGS)
def test_float64_core_matches_reference_over_1000_steps(kind, activation):
    report = validate_cell(kind, activation, np.float64, steps=1000, seed=5)
    assert report.init == 0.0  # one seed, one cell, bit for bit
    for quantity in ("state", "features", "traces", "gradients"):
        assert getattr(report, quantity) <= 1e-10, quantity


@pytest.mark.parametrize("kind,activation", CONFIGS)
def test_float32_core_stays_close_over_10000_steps(kind, activation):
    report = validate_cell(kind, activation, np.float32, steps=10000, seed=6)
    assert report.init == 0.0  # the float32 cell is the reference's, correctly rounded
    assert report.worst <= 1e-4


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", KINDS)
def test_run_in_c_equals_stepping(kind, dtype):
    rng = np.random.default_rng(2)
    xs = rng.normal(size=(50, 4))
    dhs = rng.normal(size=(50, 10))
    stepper = RTUCell(4, 5, kind, "tanh", seed=9, dtype=dtype)
    runner = RTUCell(4, 5, kind, "tanh", seed=9, dtype=dtype)
    h_steps = np.array([stepper.step(x) for x in xs])
    assert np.array_equal(runner.run(xs), h_steps)
    # run_gradient sums the per-step gradients
    stepper.reset()
    runner.reset()
    grad_sum = {k: 0.0 for k in stepper.params}
    for x, dh in zip(xs, dhs):
        stepper.step(x)
        for k, g in stepper.gradient(dh).items():
            grad_sum[k] = grad_sum[k] + g.astype(np.float64)
    h_run, grad_run = runner.run_gradient(xs, dhs)
    assert np.array_equal(h_run, h_steps)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    for k in grad_sum:
        assert normwise(grad_run[k], grad_sum[k]) < tol


def test_sequence_run_matches_reference():
    rng = np.random.default_rng(3)
    xs = rng.normal(size=(300, 6))
    c = RTUCell(6, 8, "nonlinear", "relu", seed=4, backend="c")
    ref = RTUCell(6, 8, "nonlinear", "relu", seed=4, backend="reference")
    assert normwise(c.run(xs), ref.run(xs)) < 1e-12
