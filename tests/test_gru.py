"""The GRU baseline with truncated BPTT (rtu_edge/reference/gru.py): its gradient against finite
differences, its learners online with fixed memory, its FLOP count, its refusals."""

import sys
from pathlib import Path

import numpy as np
import pytest

from rtu_edge.reference import Prng
from rtu_edge.reference.ac import GRUAC
from rtu_edge.reference.config import ACConfig, ACNetwork, TDConfig
from rtu_edge.reference.gru import GRU, flops_per_step, gru_params, tbptt_gradient
from rtu_edge.reference.td import GRUTD

N, D, L = 3, 2, 7


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    params = 0.8 * rng.normal(size=gru_params(D, N))
    return params, rng.normal(size=(L, D)), rng.normal(size=(L, N))


def _finite_differences(loss, params, eps=1e-6):
    grad = np.zeros_like(params)
    for i in range(params.size):
        e = np.zeros_like(params)
        e[i] = eps
        grad[i] = (loss(params + e) - loss(params - e)) / (2 * eps)
    return grad


def _close(a, b, rel=1e-6):
    return np.max(np.abs(a - b)) <= rel * np.max(np.abs(b))


def test_gradient_over_the_whole_sequence_is_full_bptt():
    """T covering the sequence: the gradient of sum_t dh_t . h_t equals finite differences of
    that loss over the whole sequence from h_0 = 0 (1e-6 relative, float64)."""
    params, X, dH = _problem()

    def loss(p):
        return float(np.sum(tbptt_gradient(p, D, N, X, dH)[0] * dH))

    assert _close(tbptt_gradient(params, D, N, X, dH)[1], _finite_differences(loss, params))


@pytest.mark.parametrize("window", [1, 3])
def test_online_gradient_is_that_of_the_truncated_objective(window):
    """The online cell after L steps: its gradient of dh . h_L equals finite differences of the
    truncated objective (h_{L-T} held at its value; only the window's steps see the perturbed
    parameters), and differs from the full BPTT gradient (so the truncation is real); with
    T = L it is the full gradient."""
    params, X, dH = _problem(1)
    dh = dH[-1]
    h_all = tbptt_gradient(params, D, N, X, np.zeros((L, N)))[0]
    start = h_all[L - window - 1]

    def truncated(p):
        return float(tbptt_gradient(p, D, N, X[L - window:], np.zeros((window, N)), start)[0][-1]
                     @ dh)

    def full(p):
        return float(tbptt_gradient(p, D, N, X, np.zeros((L, N)))[0][-1] @ dh)

    cell = GRU(D, N, window, params.copy())
    for x in X:
        h = cell.step(x)
    np.testing.assert_allclose(h, h_all[-1], rtol=0, atol=1e-14)
    grad = cell.gradient_into(dh).copy()
    assert _close(grad, _finite_differences(truncated, params))
    assert not _close(grad, _finite_differences(full, params), rel=1e-3)
    whole = GRU(D, N, L, params.copy())
    for x in X:
        whole.step(x)
    assert _close(whole.gradient_into(dh), _finite_differences(full, params))


def test_memory_is_fixed_and_the_window_slides():
    """After many steps every array of the cell has the size it had at construction, and the
    ring holds the last T inputs."""
    cell = GRU(D, N, 4)
    cell.init_params(Prng(0))
    sizes = {k: v.shape for k, v in vars(cell).items() if isinstance(v, np.ndarray)}
    X = np.random.default_rng(2).normal(size=(50, D))
    for x in X:
        cell.step(x)
        cell.gradient_into(np.ones(N))
    assert {k: v.shape for k, v in vars(cell).items() if isinstance(v, np.ndarray)} == sizes
    assert cell.count == 4
    np.testing.assert_array_equal(cell.x_ring[cell.slots()], X[-4:])


def test_td_learns_trace_conditioning():
    """GRUTD (T = 8, 8 units) on 6000 steps of trace conditioning, seed 0: the MSRE of the
    second half is below 0.93 of predicting zero's (measured 0.165 against 0.185)."""
    from rtu_edge.tasks import TraceConditioning, msre, rollout
    task = TraceConditioning(isi=10, seed=0)
    X, C = rollout(task, 6000)
    td = GRUTD(task.obs_size, 8, 8, TDConfig(gamma=task.gamma), Prng(0))
    v = td.run(X, C)
    assert td.steps == 6000 and td.z.shape == (gru_params(task.obs_size, 8) + 9,)
    error = msre(v[3000:], C[3000:], task.gamma)
    assert error < 0.93 * msre(np.zeros(3000), C[3000:], task.gamma)


def test_actor_critic_learns_a_delayed_cue():
    """GRUAC (T = 3) acts online: the cue (+-1) shows at an episode's first step, two blank
    steps follow, and the action at the last one earns 1 when it names the cue. Seed 0, 1000
    episodes: chance at the start, above 0.9 over the last 300."""
    ac = GRUAC(1, 8, 3, "discrete", 2, ACConfig(), seed=0)
    rng, wins = np.random.default_rng(0), []
    for _ in range(1000):
        cue = int(rng.integers(2))
        obs = np.array([2.0 * cue - 1.0])
        for k in range(3):
            action = int(ac.act(obs)[0])
            reward = float(action == cue) if k == 2 else 0.0
            obs = np.zeros(1)
            ac.learn(reward, obs, k == 2, False)
        wins.append(reward)
    assert ac.episodes == 1000 and ac.z_v.size == ac.n_value
    assert np.mean(wins[:100]) < 0.75 and np.mean(wins[-300:]) > 0.9


def test_flops_per_step_is_the_count_of_the_code():
    """Written out by hand for n = 2, d = 3, T = 2, loop by loop of gru.py."""
    n, d, T = 2, 3, 2
    forward = T * (2 * 3 * n * d + 2 * 2 * n * n + 2 * n * n)    # W x; U_z h, U_r h; U_n (r h)
    backward = T * (2 * 3 * n * d + 2 * 3 * n * n + 2 * n * n) \
        + (T - 1) * 2 * 2 * n * n                                # dW, dU, U_n^T dp_n; U_z^T, U_r^T
    trace = 2 * 3 * n * (d + n + 1)
    assert flops_per_step(n, d, T) == {"forward": forward, "backward": backward, "trace": trace}
    assert (forward, backward, trace) == (120, 152, 72)
    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    try:
        from bench_cell import flops_per_step as bench_flops
    finally:
        sys.path.pop(0)
    assert bench_flops("gru", n, d, window=T) == forward + backward


@pytest.mark.parametrize("make, message", [
    (lambda: GRU(2, 3, 0), "window must be an integer >= 1"),
    (lambda: GRU(2, 3, 1.5), "window must be"),
    (lambda: GRU(0, 3, 2), "n_in must be"),
    (lambda: GRUTD(2, 3, 0, TDConfig(), Prng(0)), "window must be"),
    (lambda: GRUAC(2, 3, 0, "discrete", 2, ACConfig(), 0), "window must be"),
    (lambda: GRUAC(2, 3, 2, "discrete", 2, ACConfig(), 0, ACNetwork(n_embed=4)), "n_embed"),
    (lambda: GRU(2, 3, 2).step(np.zeros(3)), r"x must have shape \(2,\)"),
    (lambda: GRU(2, 3, 2).step([0.0, np.nan]), "x contains NaN"),
    (lambda: GRUTD(2, 3, 2, TDConfig(), Prng(0)).step([0.0, 1.0], np.nan), "cumulant"),
    (lambda: GRUAC(2, 3, 2, "discrete", 2, ACConfig(), 0).act([np.nan, 0.0]), "obs"),
])
def test_bad_input_is_refused_naming_it(make, message):
    with pytest.raises(ValueError, match=message):
        make()
