"""The RTRL gradients are exact: they equal central finite differences and BPTT (reference)."""

import numpy as np
import pytest

from rtu_edge import RTUCell
from rtu_edge.reference import KINDS, Cell, Prng, bptt_gradient
from rtu_edge.reference.cell import cell_layout, split

N_IN, N_HIDDEN, STEPS = 3, 6, 15


def make_cell(kind, activation, seed=3):
    cell = Cell(kind, activation, N_IN, N_HIDDEN)
    cell.init_params(Prng(seed))
    return cell


def final_step_loss(kind, activation, params, xs, dh):
    """L = dh . h_T after running xs from the zero state with the given parameters; with dh of
    shape (T, 2n), L = sum_t dh_t . h_t (a loss at every step)."""
    cell = Cell(kind, activation, N_IN, N_HIDDEN)
    cell.set_params(params)
    hs = cell.run(xs)
    return float(np.sum(hs * dh) if dh.ndim == 2 else hs[-1] @ dh)


def central_differences(kind, activation, params, xs, dh, eps=1e-6):
    grad = np.zeros_like(params)
    for i in range(params.size):
        up, down = params.copy(), params.copy()
        up[i] += eps
        down[i] -= eps
        grad[i] = (final_step_loss(kind, activation, up, xs, dh)
                   - final_step_loss(kind, activation, down, xs, dh)) / (2 * eps)
    return grad


def rtrl_final_step_gradient(cell, xs, dh):
    cell.reset()
    cell.run(xs)
    return cell.gradient(dh)


def groups(kind, vec):
    """Split a flat gradient into its parameter groups (nu_log, theta_log, w_c, w_d; the LRU's
    c_re, c_im, d_skip)."""
    return split(vec, cell_layout(kind, N_IN, N_HIDDEN))


def relative_error(a, b):
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


@pytest.mark.parametrize("kind,activation", [(k, a) for k in KINDS for a in ("tanh", "identity")]
                         + [("lru", "relu")])
def test_rtrl_equals_finite_differences(kind, activation):
    cell = make_cell(kind, activation)
    theta = np.exp(cell.theta_log)
    # the cell's phases are spread over (0, 6.28): a wrong theta factor cannot hide
    assert theta.min() < 1.5 and theta.max() > 4.0
    rng = np.random.default_rng(0)
    xs, dh = rng.normal(size=(STEPS, N_IN)), rng.normal(size=2 * N_HIDDEN)
    rtrl = groups(kind, rtrl_final_step_gradient(cell, xs, dh))
    fd = groups(kind, central_differences(kind, activation, cell.params.copy(), xs, dh))
    assert len(rtrl) == (7 if kind == "lru" else 4)  # every parameter group is checked
    for name in rtrl:
        assert relative_error(rtrl[name], fd[name]) < 1e-6, name


@pytest.mark.parametrize("activation", ["relu", "tanh", "identity"])
def test_lru_summed_online_gradient_equals_finite_differences(activation):
    """The LRU's online gradient summed over a sequence (run_gradient) is the gradient of the
    summed loss sum_t dh_t . h_t, every parameter (nu_log, theta_log, B = w_c + i w_d, c_re, c_im,
    d_skip) to 1e-6 relative."""
    cell = make_cell("lru", activation, seed=5)
    rng = np.random.default_rng(4)
    xs, dhs = rng.normal(size=(STEPS, N_IN)), rng.normal(size=(STEPS, 2 * N_HIDDEN))
    cell.reset()
    _, rtrl = cell.run_gradient(xs, dhs)
    fd = groups("lru", central_differences("lru", activation, cell.params.copy(), xs, dhs))
    for name, g in groups("lru", rtrl).items():
        assert relative_error(g, fd[name]) < 1e-6, name


@pytest.mark.parametrize("kind", KINDS)
def test_dropping_theta_chain_factor_is_caught(kind):
    """The paper's public code omits theta in dlambda/dtheta_log: its gradient is ours / theta.
    The finite-difference check above must reject that gradient by a wide margin."""
    cell = make_cell(kind, "tanh")
    rng = np.random.default_rng(0)
    xs, dh = rng.normal(size=(STEPS, N_IN)), rng.normal(size=2 * N_HIDDEN)
    rtrl = groups(kind, rtrl_final_step_gradient(cell, xs, dh))
    fd = groups(kind, central_differences(kind, "tanh", cell.params.copy(), xs, dh))
    paper = rtrl["theta_log"] / np.exp(cell.theta_log)
    assert relative_error(paper, fd["theta_log"]) > 0.1
    assert relative_error(rtrl["theta_log"], fd["theta_log"]) < 1e-6


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("activation", ["relu", "tanh", "identity"])
def test_rtrl_equals_bptt_over_the_window(kind, activation):
    cell = make_cell(kind, activation, seed=11)
    rng = np.random.default_rng(1)
    xs = rng.normal(size=(STEPS, N_IN))
    # loss at the last step only
    dh_last = np.zeros((STEPS, 2 * N_HIDDEN))
    dh_last[-1] = rng.normal(size=2 * N_HIDDEN)
    _, bptt = bptt_gradient(cell, xs, dh_last)
    rtrl = rtrl_final_step_gradient(cell, xs, dh_last[-1])
    assert relative_error(rtrl, bptt) < 1e-12
    # a loss at every step: the summed online gradients equal BPTT of the summed loss
    dh_all = rng.normal(size=(STEPS, 2 * N_HIDDEN))
    cell.reset()
    h_rtrl, rtrl_sum = cell.run_gradient(xs, dh_all)
    h_bptt, bptt_sum = bptt_gradient(cell, xs, dh_all)
    assert np.allclose(h_rtrl, h_bptt, rtol=0, atol=1e-13)
    assert relative_error(rtrl_sum, bptt_sum) < 1e-12


@pytest.mark.parametrize("backend,dtype", [("c", np.float32), ("c", np.float64),
                                           ("reference", np.float64)])
def test_eta_keeps_its_digits_when_r_is_near_one(backend, dtype):
    """For nu = 1e-7 (r = 1 - 1e-7), 1 - r^2 computed naively in float32 loses every digit; the
    cell must still give eta = sqrt(-expm1(-2 nu)). From the zero state with w_c = 1 and x = 1,
    one step gives c = eta."""
    cell = RTUCell(1, 1, "linear", "identity", backend=backend, dtype=dtype)
    nu = 1e-7
    cell.set_params({"nu_log": [np.log(nu)], "theta_log": [0.0], "w_c": [[1.0]],
                     "w_d": [[0.0]]})
    cell.step([1.0])
    assert cell.state["c"][0] == pytest.approx(np.sqrt(-np.expm1(-2 * nu)), rel=1e-6)
