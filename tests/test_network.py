"""The streaming network of the actor-critic (rtu-spec.md section 6), reference backend, float64:
its forward against the spec's equations, its gradients against finite differences (the heads
and the RTU exactly over the whole episode prefix; the input layer by the one-step sensitivity, a
perturbation of W_in changing e_t only), the Dense/LN kernels, the sparse initialisation, the
std bounds, and learn's use of it all (the TD error, the traces, the step)."""

import copy
import math

import numpy as np
import pytest

from rtu_edge.reference.ac import AC, softplus
from rtu_edge.reference.cell import KINDS, Cell
from rtu_edge.reference.config import ACConfig, ACNetwork
from rtu_edge.reference.net import (LN_EPS, dense_backward, dense_forward, dense_init,
                                    dense_keep, ln_lrelu, ln_lrelu_backward)
from rtu_edge.reference.prng import Prng

N_OBS, N_HIDDEN, A, T = 3, 2, 2, 5
C_H = 0.5  # a large entropy coefficient, so that a wrong entropy gradient shows
EPS = 1e-6


def make(kind, action_kind, m, k, shared, memoryless=False, past=None, **config):
    """past: the previous action and reward as inputs (default: unless memoryless)."""
    past = not memoryless if past is None else past
    network = ACNetwork(n_embed=m, n_head=k, shared=shared, memoryless=memoryless,
                        prev_action=past, prev_reward="normalized" if past else "none")
    args = dict(sparsity=0.5, std_min=0.05, std_max=100.0, entropy_coef=C_H)
    args.update(config)
    return AC(kind, "tanh", N_OBS, N_HIDDEN, action_kind, A, ACConfig(**args), 7, network)


def run(ac, xs, start=0):
    """Feed xs[start:] (whole network inputs), from the episode's start when start is 0."""
    if start == 0:
        ac.begin_episode()
    for x in xs[start:]:
        ac.x[:] = x
        ac.feed(x[:N_OBS])


def output(ac, r, action, sign):
    """The per-step scalar of network r from the spec: v, or log pi(a) + c_H sign H."""
    if r == 0:
        return ac.value()
    ac.policy_forward()
    if ac.action_kind == "discrete":
        p = np.exp(ac.pi)
        return ac.pi[int(action[0])] + C_H * sign * -np.sum(p * ac.pi)
    mu, std = ac.pi[:A], ac.pi[A:]
    log_pi = np.sum(-(action - mu) ** 2 / (2 * std ** 2) - np.log(std)
                    - 0.5 * math.log(2 * math.pi))
    entropy = np.sum(np.log(std)) + 0.5 * A * math.log(2 * math.pi * math.e)
    return log_pi + C_H * sign * entropy


def analytic(ac, r, action, sign):
    """d output / d (network r's parameters), in its trace layout, by ac.backward."""
    z = np.zeros(ac.n_value if r == 0 else ac.n_policy)
    d_out = ac.scratch("grad")["d_out"]
    if r == 0:
        d_out[0] = 1.0
    else:
        ac.action[:] = action
        ac.policy_forward()
        ac.policy_gradient(1.0, C_H * sign, d_out)
    ac.backward(r, 0.0, z)
    return z


def numeric(ac, r, xs, action, sign, first, count, prefix):
    """Central differences of the step-T output over entries [first, first + count) of network
    r's parameters ([trunk params, head params]); prefix: the perturbation acts over the whole
    episode, else on the last step only (the past run unperturbed)."""
    trunk, head = ac.net_trunk(r), ac.head[r]
    fd = np.zeros(count)
    for i in range(first, first + count):
        params, j = (trunk.params, i) if i < trunk.n_params else (head.params, i - trunk.n_params)
        values = []
        for step in (EPS, -EPS):
            saved = params[j]
            if not prefix:
                run(ac, xs[:-1])
            params[j] = saved + step
            trunk.cell.refresh()
            run(ac, xs, 0 if prefix else len(xs) - 1)
            values.append(output(ac, r, action, sign))
            params[j] = saved
            trunk.cell.refresh()
        fd[i - first] = (values[0] - values[1]) / (2 * EPS)
    return fd


CASES = [(kind, action_kind, m, k, shared)
         for kind in KINDS for action_kind in ("discrete", "continuous")
         for m, k in ((0, 0), (3, 4), (3, 0), (0, 4)) for shared in (False, True)
         if (m, k) in ((0, 0), (3, 4)) or not shared]


@pytest.mark.parametrize("kind,action_kind,m,k,shared", CASES)
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_gradients_match_finite_differences(kind, action_kind, m, k, shared, sign):
    """Heads and RTU: the exact gradient of the step-T output, parameters perturbed over the whole
    episode. Input layer: the one-step sensitivity, W_in perturbed at step T only."""
    ac = make(kind, action_kind, m, k, shared)
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(T, ac.n_x))
    action = np.array([1.0]) if action_kind == "discrete" else rng.normal(size=A)
    for r in (0, 1):
        run(ac, xs)
        grad = analytic(ac, r, action, sign)
        p_embed = ac.net_trunk(r).n_params - ac.net_trunk(r).cell.n_params
        rest = grad.size - p_embed
        exact = numeric(ac, r, xs, action, sign, p_embed, rest, prefix=True)
        np.testing.assert_allclose(grad[p_embed:], exact, rtol=1e-5, atol=1e-8)
        assert np.count_nonzero(np.abs(exact) > 1e-6) > rest // 2
        if m:
            one_step = numeric(ac, r, xs, action, sign, 0, p_embed, prefix=False)
            np.testing.assert_allclose(grad[:p_embed], one_step, rtol=1e-5, atol=1e-8)
            assert np.count_nonzero(np.abs(one_step) > 1e-6) > p_embed // 2


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("past", [False, True])
def test_memoryless_gradients_match_finite_differences(kind, past):
    """The memoryless network: state and traces zeroed before every step, so the whole gradient
    (input layer too) is of the last step alone; with the previous action and reward as inputs
    too (past)."""
    ac = make(kind, "discrete", 3, 4, False, memoryless=True, past=past)
    xs = np.random.default_rng(1).normal(size=(T, ac.n_x))
    for r in (0, 1):
        run(ac, xs)
        grad = analytic(ac, r, np.array([0.0]), 1.0)
        np.testing.assert_allclose(grad, numeric(ac, r, xs, np.array([0.0]), 1.0, 0, grad.size,
                                                 prefix=True), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("activation", ["tanh", "identity"])
def test_cell_input_gradient_and_peek(kind, activation):
    """input_gradient is d (dh . h_t) / d x_t with the state of t-1 fixed; peek is the step's h
    without the step (from the zero state when from_zero)."""
    rng = np.random.default_rng(2)
    cell = Cell(kind, activation, 4, 3)
    cell.init_params(Prng(3))
    for x in rng.normal(size=(3, 4)):
        cell.step(x)
    x, dh = rng.normal(size=4), rng.normal(size=6)
    for from_zero in (False, True):
        probe = copy.deepcopy(cell)
        if from_zero:
            probe.reset()
        np.testing.assert_array_equal(cell.peek(x, from_zero), probe.step(x))
    fd = np.zeros(4)
    for j in range(4):
        for step in (EPS, -EPS):
            probe = copy.deepcopy(cell)
            x_j = x.copy()
            x_j[j] += step
            fd[j] += np.sign(step) * (dh @ probe.step(x_j)) / (2 * EPS)
    stepped = copy.deepcopy(cell)
    stepped.step(x)
    np.testing.assert_allclose(stepped.input_gradient(dh), fd, rtol=1e-6, atol=1e-9)


def test_forward_is_the_spec():
    """e = lrelu(LN(W_in x + b_in)), h = RTU(e), q = lrelu(LN(W_1 h + b_1)), out = W_2 q + b_2,
    with LN by numpy's mean and biased var."""
    ac = make("linear", "continuous", 3, 4, False)
    xs = np.random.default_rng(3).normal(size=(T, ac.n_x))
    run(ac, xs)

    def lrelu_ln(y):
        y_hat = (y - y.mean()) / np.sqrt(y.var() + LN_EPS)
        return np.maximum(y_hat, 0.01 * y_hat)

    for r in (0, 1):
        trunk, head = ac.trunk[r], ac.head[r]
        w_in = trunk.params[:3 * ac.n_x].reshape(3, ac.n_x)
        b_in = trunk.params[3 * ac.n_x:3 * ac.n_x + 3]
        cell = Cell("linear", "tanh", 3, N_HIDDEN)
        cell.set_params(trunk.cell.params)
        for x in xs:
            h = cell.step(lrelu_ln(w_in @ x + b_in))
        p1 = 4 * (2 * N_HIDDEN + 1)
        w_1 = head.params[:4 * 2 * N_HIDDEN].reshape(4, 2 * N_HIDDEN)
        q = lrelu_ln(w_1 @ h + head.params[4 * 2 * N_HIDDEN:p1])
        w_2 = head.params[p1:p1 + head.n_out * 4].reshape(head.n_out, 4)
        np.testing.assert_allclose(head.out, w_2 @ q + head.params[p1 + head.n_out * 4:],
                                   rtol=1e-12, atol=1e-14)


def test_ln_lrelu_backward_matches_finite_differences():
    rng = np.random.default_rng(4)
    for count in (1, 2, 7):
        y, d = rng.normal(size=count), rng.normal(size=count)

        def loss(v):
            y_hat, out = v.copy(), np.zeros(count)
            ln_lrelu(y_hat, out)
            return d @ out

        y_hat, out = y.copy(), np.zeros(count)
        inv_std = ln_lrelu(y_hat, out)
        assert inv_std == pytest.approx(1 / math.sqrt(np.var(y) + LN_EPS))
        grad = d.copy()
        ln_lrelu_backward(y_hat, inv_std, grad)
        fd = [(loss(y + EPS * e) - loss(y - EPS * e)) / (2 * EPS) for e in np.eye(count)]
        np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)


def test_dense_backward_matches_finite_differences():
    rng = np.random.default_rng(5)
    w, x, dy = rng.normal(size=4 * 3 + 4), rng.normal(size=3), rng.normal(size=4)
    grad, dx = np.full(w.size, 0.5), np.zeros(3)
    dense_backward(w, x, dy, 3, 4, 0.9, grad, dx)

    def loss(w_, x_):
        y = np.zeros(4)
        dense_forward(w_, x_, 3, 4, y)
        return dy @ y

    fd_w = [(loss(w + EPS * e, x) - loss(w - EPS * e, x)) / (2 * EPS) for e in np.eye(w.size)]
    fd_x = [(loss(w, x + EPS * e) - loss(w, x - EPS * e)) / (2 * EPS) for e in np.eye(3)]
    np.testing.assert_allclose(grad - 0.9 * 0.5, fd_w, rtol=1e-7, atol=1e-10)  # decay, then added
    np.testing.assert_allclose(dx, fd_x, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("n_in,sparsity,keep", [(10, 0.9, 1), (10, np.float32(0.9), 1),
                                                (32, 0.9, 4), (7, 0.5, 4), (5, 0.0, 5),
                                                (5, 1.0, 1), (1, 0.9, 1), (100, 0.75, 25)])
def test_dense_init_keeps_k_per_row_and_is_deterministic(n_in, sparsity, keep):
    """K = max(1, ceil((1 - s) n_in - 1e-4)) weights per row in (-1/sqrt(n_in), 1/sqrt(n_in)),
    biases zero; one uniform per column and one per kept weight, so a seed gives one layer."""
    n_out = 6
    assert dense_keep(n_in, float(sparsity)) == keep
    layers = []
    for _ in range(2):
        w, rng = np.full(n_out * (n_in + 1), np.nan), Prng(11)
        dense_init(w, n_in, n_out, float(sparsity), rng)
        layers.append(w)
        counter = Prng(11)
        for _ in range(n_out * (n_in + keep)):
            counter.uniform()
        assert (rng.state, rng.inc) == (counter.state, counter.inc)
    np.testing.assert_array_equal(layers[0], layers[1])
    weights = layers[0][:n_out * n_in].reshape(n_out, n_in)
    assert np.all(np.count_nonzero(weights, axis=1) == keep)
    assert np.all(np.abs(weights) < 1 / math.sqrt(n_in))
    assert np.all(layers[0][n_out * n_in:] == 0.0)
    if keep < n_in:  # the kept columns differ between rows
        assert len({tuple(np.flatnonzero(row)) for row in weights}) > 1


def test_init_is_deterministic_and_in_network_order():
    """A seed gives one learner; shared draws the trunk then both heads."""
    a, b = make("linear", "discrete", 3, 4, False), make("linear", "discrete", 3, 4, False)
    for r in (0, 1):
        np.testing.assert_array_equal(a.trunk[r].params, b.trunk[r].params)
        np.testing.assert_array_equal(a.head[r].params, b.head[r].params)
    shared = make("linear", "discrete", 3, 4, True)
    assert shared.trunk[1] is None and shared.net_trunk(1) is shared.trunk[0]
    np.testing.assert_array_equal(shared.trunk[0].params, a.trunk[0].params)
    np.testing.assert_array_equal(shared.head[0].params, a.head[0].params)
    assert not np.array_equal(shared.head[1].params, a.head[1].params)
    assert shared.n_policy == shared.trunk[0].n_params + shared.head[1].n_params


@pytest.mark.parametrize("bias", [-60.0, -2.0, 0.0, 3.0, 60.0])
def test_std_stays_within_bounds(bias):
    ac = make("linear", "continuous", 3, 4, False, std_min=0.1, std_max=1.5)
    ac.head[1].params[-A:] = bias  # b_2 of the std pre-activations
    obs = np.random.default_rng(6).normal(size=N_OBS)
    ac.act(obs)
    std = ac.pi[A:]
    assert np.all((std >= 0.1) & (std <= 1.5))
    expected = np.minimum(0.1 + softplus(ac.head[1].out[A:]), 1.5)
    np.testing.assert_array_equal(std, expected)
    d_out = np.zeros(2 * A)
    ac.policy_gradient(1.0, C_H, d_out)
    clipped = ac.head[1].out[A:] > math.log(math.expm1(1.4))
    assert np.all(d_out[A:][clipped] == 0.0) and np.all(d_out[A:][~clipped] != 0.0)


def test_std_stays_within_bounds_while_learning():
    ac = make("nonlinear", "continuous", 3, 4, True, std_min=0.2, std_max=0.7, alpha=1.0)
    rng = np.random.default_rng(7)
    obs = rng.normal(size=N_OBS)
    for t in range(300):
        ac.act(obs)
        assert np.all((ac.pi[A:] >= 0.2) & (ac.pi[A:] <= 0.7))
        obs = rng.normal(size=N_OBS)
        ac.learn(float(rng.normal() * 10), obs, False, t % 60 == 59)


def test_softplus():
    y = np.array([-800.0, -30.0, -1.0, 0.0, 1e-9, 2.0, 30.0, 800.0])
    np.testing.assert_allclose(softplus(y[1:-1]), np.log1p(np.exp(y[1:-1])), rtol=1e-14)
    assert softplus(y)[0] == 0.0 and softplus(y)[-1] == 800.0


@pytest.mark.parametrize("action_kind", ["discrete", "continuous"])
@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("reward", [3.0, -3.0])
def test_learn_steps_along_the_traces(action_kind, shared, reward):
    """One learn, checked piece by piece against a copy taken before it: x' = [s'; a; r~], v(s')
    by a real step of the copy, delta, z = gamma lambda z + grad at theta_t (sign(delta) in the
    entropy term), params += alpha delta z (SGD; the cells' theta_log by phase_step_scale times
    that), and x' fed at the new parameters."""
    ac = make("nonlinear", action_kind, 3, 4, shared, lambda_=0.5, alpha=0.01, optimizer="sgd",
              normalize_obs=False, scale_reward=False)
    rng = np.random.default_rng(8)
    obs = rng.normal(size=N_OBS)
    for _ in range(4):
        ac.act(obs)
        obs = rng.normal(size=N_OBS)
        ac.learn(float(rng.normal()), obs, False, False)
    action = ac.act(obs)
    before = copy.deepcopy(ac)
    next_obs = rng.normal(size=N_OBS)
    ac.learn(reward, next_obs, False, False)

    extras = np.eye(A)[int(action[0])] if action_kind == "discrete" else action
    x_next = np.concatenate([next_obs, extras, [reward]])
    np.testing.assert_array_equal(ac.x, x_next)
    probe = copy.deepcopy(before)
    probe.x[:] = x_next
    probe.feed(next_obs)
    cfg = ac.config
    delta = reward + cfg.gamma * probe.value() - before.value()
    assert np.sign(delta) == np.sign(reward)  # both signs of the entropy term
    decay = cfg.gamma * cfg.lambda_
    for r, z, z0 in ((0, ac.z_v, before.z_v), (1, ac.z_pi, before.z_pi)):
        grad = analytic(copy.deepcopy(before), r, action, float(np.sign(delta)))
        np.testing.assert_allclose(z, decay * z0 + grad, rtol=1e-12, atol=1e-15)
    for head, head0, z in ((ac.head[0], before.head[0], ac.z_v), (ac.head[1], before.head[1],
                                                                   ac.z_pi)):
        np.testing.assert_allclose(head.params, head0.params + cfg.alpha * delta *
                                   z[-head.n_params:], rtol=1e-12, atol=1e-15)
    def rates(trunk):  # the trunk's step per parameter: phase_step_scale on the cell's theta_log
        out = np.ones(trunk.n_params)
        n = trunk.cell.n_hidden
        phases = trunk.n_params - trunk.cell.n_params + n
        out[phases:phases + n] = cfg.phase_step_scale
        return out

    step = cfg.alpha * delta * rates(ac.trunk[0]) * ac.z_v[:ac.trunk[0].n_params]
    if shared:
        step = step + cfg.alpha * delta * rates(ac.trunk[0]) * ac.z_pi[:ac.trunk[0].n_params]
    else:  # the actor's own trunk takes the actor's step alone
        np.testing.assert_allclose(ac.trunk[1].params, before.trunk[1].params + cfg.alpha * delta
                                   * rates(ac.trunk[1]) * ac.z_pi[:ac.trunk[1].n_params],
                                   rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ac.trunk[0].params, before.trunk[0].params + step, rtol=1e-12,
                               atol=1e-15)
    # the networks hold x' at theta_{t+1}, stepped from the state of t: as a copy from before
    # the learn given the new parameters
    probe = copy.deepcopy(before)
    assert probe.trunk[0].cell.params.base is probe.trunk[0].params  # views survive the copy
    for trunk, trunk0 in zip(ac.trunk, probe.trunk):
        if trunk is not None:
            trunk0.params[:] = trunk.params
            trunk0.cell.refresh()
    for head, head0 in zip(ac.head, probe.head):
        head0.params[:] = head.params
    probe.x[:] = x_next
    probe.feed(next_obs)
    for r in (0, 1):
        np.testing.assert_allclose(ac.head[r].out, probe.head[r].out, rtol=1e-12, atol=1e-15)
        np.testing.assert_array_equal(ac.net_trunk(r).cell.h, probe.net_trunk(r).cell.h)


def test_begin_episode_zeroes_traces_and_state():
    ac = make("linear", "discrete", 3, 4, False)
    rng = np.random.default_rng(9)
    obs = rng.normal(size=N_OBS)
    ac.act(obs)
    ac.learn(1.0, rng.normal(size=N_OBS), False, False)
    ac.begin_episode()
    assert not ac.fed and not ac.acted
    assert not np.any(ac.z_v) and not np.any(ac.z_pi)
    for trunk in ac.trunk:
        assert not np.any(trunk.cell.c) and not np.any(trunk.cell.dc_dwc)
    ac.act(obs)
    assert not np.any(ac.x[N_OBS:])  # no previous action or reward at an episode's start
