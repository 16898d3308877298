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


@pytest.mark.parametrize("n_hidden", [37, 136])
@pytest.mark.parametrize("kind", KINDS)
def test_float64_core_matches_reference_in_blocks_and_row_by_row(kind, n_hidden):
    # the C step and gradient go over the units in blocks of 16 (37: two and a tail of 5) up to
    # 128 units and row by row beyond (136): both the reference's mathematics
    report = validate_cell(kind, "tanh", np.float64, steps=200, seed=8, n_in=5,
                           n_hidden=n_hidden)
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


@pytest.mark.parametrize("kind", KINDS)
def test_derived_coefficients_are_the_backends_own(kind):
    """RTUCell.derived: g, phi, eta (n,) from the backend's refresh; C float64 equals the
    reference to rounding, float32 is the reference of its own (rounded) params rounded once;
    copies, recomputed by set_params."""
    c64 = RTUCell(5, 9, kind, "tanh", seed=3, backend="c")
    c32 = RTUCell(5, 9, kind, "tanh", seed=3, backend="c", dtype=np.float32)
    ref = RTUCell(5, 9, kind, "tanh", seed=3, backend="reference")
    d64, d32, d_ref = c64.derived, c32.derived, ref.derived
    ref32 = RTUCell(5, 9, kind, "tanh", backend="reference")
    ref32.set_params({k: v.astype(np.float64) for k, v in c32.params.items()})
    assert set(d64) == set(d_ref) == {"g", "phi", "eta"}
    for k in d_ref:
        assert d64[k].shape == (9,) and d64[k].dtype == np.float64 and d32[k].dtype == np.float32
        np.testing.assert_allclose(d64[k], d_ref[k], rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(d32[k], ref32.derived[k], rtol=6e-8, atol=1e-12)
    c64.derived["g"][:] = 7.0
    assert np.array_equal(c64.derived["g"], d64["g"])
    params = c64.params
    params["nu_log"] = params["nu_log"] - 1.0  # larger r: g, phi and eta all change
    c64.set_params(params)
    assert all(not np.array_equal(c64.derived[k], d64[k]) for k in d64)


def test_inference_model_takes_the_c_cores_derived_coefficients(tmp_path):
    from rtu_edge import TDLambda
    from rtu_edge.export import InferenceModel
    for dtype in (np.float32, np.float64):
        td = TDLambda(3, 4, kind="nonlinear", activation="relu", seed=2, dtype=dtype)
        td.run(np.random.default_rng(0).standard_normal((50, 3)), np.ones(50))
        td.save(tmp_path / "td.rtu")
        model = InferenceModel.from_checkpoint(tmp_path / "td.rtu")
        cell = RTUCell(3, 4, "nonlinear", "relu", backend="c", dtype=dtype)
        cell.set_params({k: v for k, v in td.params.items() if k in cell.params})
        for k, v in cell.derived.items():
            assert getattr(model.trunks[0], k).dtype == dtype
            np.testing.assert_array_equal(getattr(model.trunks[0], k), v, err_msg=k)
