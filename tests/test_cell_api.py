"""The RTUCell API: shapes, parameters, state, memory, and the same behaviour on every backend."""

import numpy as np
import pytest
from conftest import assert_same, snapshot

from rtu_edge import RTUCell
from rtu_edge.reference import KINDS, cell_reals


@pytest.mark.parametrize("kind", KINDS)
def test_shapes_and_dtypes(backend, kind):
    name, dtype = backend
    cell = RTUCell(3, 5, kind, "tanh", seed=1, backend=name, dtype=dtype)
    h = cell.step(np.ones(3))
    assert h.shape == (10,) and h.dtype == dtype
    grad = cell.gradient(np.ones(10))
    shapes = {"nu_log": (5,), "theta_log": (5,), "w_c": (5, 3), "w_d": (5, 3)}
    if kind == "lru":  # the readout of 2n rows
        shapes.update(c_re=(10, 5), c_im=(10, 5), d_skip=(10, 3))
    assert {k: v.shape for k, v in grad.items()} == shapes
    assert {k: v.shape for k, v in cell.params.items()} == {k: v.shape for k, v in grad.items()}
    assert cell.run(np.ones((7, 3))).shape == (7, 10)
    assert cell.run(np.ones((0, 3))).shape == (0, 10)
    assert set(cell.state) == {"c", "d"}
    expected = {"dc_dnu", "dd_dnu", "dc_dtheta", "dd_dtheta", "dc_dwc", "dd_dwc"}
    if kind == "nonlinear":
        expected |= {"dc_dwd", "dd_dwd"}
    assert set(cell.traces) == expected


@pytest.mark.parametrize("kind,traces", [("linear", 2), ("nonlinear", 4), ("lru", 2)])
def test_memory_is_exact_and_constant_in_time(kind, traces):
    n, d = 64, 16
    # the LRU's readout c_re, c_im (2n x n), d_skip (2n x d) and its x (d)
    lru = 4 * n * n + 2 * n * d + d if kind == "lru" else 0
    for name, dtype in (("c", np.float32), ("c", np.float64), ("reference", np.float64)):
        cell = RTUCell(d, n, kind, backend=name, dtype=dtype)
        # params 2n + 2nd, derived cache 6n, state and features 4n, traces 4n + (2 or 4) nd,
        # scratch 2n
        assert cell.memory_bytes == (18 * n + (2 + traces) * n * d + lru) * \
            np.dtype(dtype).itemsize
        assert cell.memory_bytes == cell_reals(kind, d, n) * np.dtype(dtype).itemsize
        before = cell.memory_bytes
        cell.run(np.ones((100, d)))
        assert cell.memory_bytes == before


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_c_buffers_start_on_a_cache_line(dtype):
    # the C kernels' vector loads straddle no cache line (a 16-byte start made the step slower)
    from rtu_edge import ActorCritic
    objects = [RTUCell(3 + i, 5 + 7 * i, dtype=dtype) for i in range(5)]
    objects += [ActorCritic(2, 8, 2, dtype=dtype, seed=i) for i in range(3)]
    for obj in objects:
        core = obj._impl.core  # the C backend's buffer
        assert core.buffer.ctypes.data % 64 == 0
        assert core.buffer.nbytes == core.nbytes


def test_set_params_round_trips_and_changes_behaviour(backend):
    name, dtype = backend
    a = RTUCell(4, 6, seed=1, backend=name, dtype=dtype)
    b = RTUCell(4, 6, seed=2, backend=name, dtype=dtype)
    x = np.random.default_rng(0).normal(size=(20, 4))
    b.set_params(a.params)
    assert_same(a.params, b.params)
    assert np.array_equal(a.run(x), b.run(x))
    params = a.params  # a copy: editing it leaves the cell alone
    params["w_c"][:] = 0
    assert not np.all(a.params["w_c"] == 0)


def test_reset_zeroes_state_and_traces_but_keeps_params(backend):
    name, dtype = backend
    cell = RTUCell(3, 4, "nonlinear", "tanh", seed=1, backend=name, dtype=dtype)
    fresh = snapshot(cell)
    cell.run(np.ones((10, 3)))
    assert any(np.any(v != 0) for v in cell.traces.values())
    cell.reset()
    assert_same(snapshot(cell), fresh)


def test_step_into_out_buffer(backend):
    name, dtype = backend
    cell = RTUCell(3, 4, backend=name, dtype=dtype, seed=3)
    twin = RTUCell(3, 4, backend=name, dtype=dtype, seed=3)
    out = np.empty(8, dtype=dtype)
    assert cell.step([1, 2, 3], out=out) is out
    assert np.array_equal(out, twin.step([1, 2, 3]))


def test_relu_derivative_at_zero_is_zero(backend):
    """relu'(0) = 0: with zero input the state stays 0 and no gradient flows."""
    name, dtype = backend
    cell = RTUCell(2, 3, "linear", "relu", backend=name, dtype=dtype)
    cell.step(np.zeros(2))
    assert all(np.all(g == 0) for g in cell.gradient(np.ones(6)).values())


def test_cells_are_independent():
    """No globals in the core: two cells side by side do not disturb each other."""
    x = np.random.default_rng(1).normal(size=(30, 3))
    alone = RTUCell(3, 4, seed=5).run(x)
    a, b = RTUCell(3, 4, seed=5), RTUCell(3, 4, "nonlinear", seed=6)
    interleaved = []
    for row in x:
        interleaved.append(a.step(row))
        b.step(-row)
    assert np.array_equal(np.array(interleaved), alone)
