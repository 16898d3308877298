"""Streaming actor-critic: C and reference agree, it learns CartPole with hidden velocities, and it
refuses bad input without changing."""

import numpy as np
import pytest

from rtu_edge import ActorCritic
from rtu_edge.tasks import make_env


def run(ac, task, steps, seed=0):
    """act/learn for steps transitions; returns (actions, episode returns)."""
    env, _ = make_env(task, seed)
    obs, _ = env.reset()
    actions, returns, ret = [], [], 0.0
    for _ in range(steps):
        a = ac.act(obs)
        actions.append(a)
        if ac.action_kind == "continuous":
            a = np.clip(a, env.action_space.low, env.action_space.high)
        obs_next, reward, terminated, truncated, _ = env.step(a)
        ret += reward
        ac.learn(float(reward), obs_next, bool(terminated), bool(truncated))
        if terminated or truncated:
            returns.append(ret)
            ret = 0.0
            obs, _ = env.reset()
        else:
            obs = obs_next
    return np.array(actions), returns


def learner(backend="c", dtype=np.float64, kind="nonlinear", n_hidden=16, obs=2, actions=2,
            **kw):
    return ActorCritic(obs, n_hidden, actions, kind=kind, seed=4, backend=backend, dtype=dtype,
                       **kw)


def relative(a, ref):
    return np.max(np.abs(np.asarray(a, dtype=float) - ref)) / max(np.max(np.abs(ref)), 1e-300)


@pytest.mark.parametrize("kind", ["linear", "nonlinear"])
def test_c_float64_matches_reference_over_1000_steps(kind):
    """tanh: a smooth activation. (With relu, a rounding difference at relu's kink changes one
    update by a finite amount, so trajectories part at such an event; that is not a defect.)"""
    ref, c = learner("reference", kind=kind), learner("c", kind=kind)
    a_ref, r_ref = run(ref, "cartpole-p", 1000)
    a_c, r_c = run(c, "cartpole-p", 1000)
    assert np.array_equal(a_ref, a_c) and r_ref == r_c and len(r_ref) > 10
    for key, value in ref.params.items():
        assert relative(c.params[key], value) < 1e-9, key
    assert c.steps == ref.steps == 1000 and c.episodes == ref.episodes


def test_continuous_actions_match_reference():
    ref = learner("reference", obs=2, actions=1, action_kind="continuous")
    c = learner("c", obs=2, actions=1, action_kind="continuous")
    a_ref, _ = run(ref, "pendulum-p", 400)
    a_c, _ = run(c, "pendulum-p", 400)
    assert relative(a_c, a_ref) < 1e-9
    for key, value in ref.params.items():
        assert relative(c.params[key], value) < 1e-9, key
    assert set(c.params) >= {"log_std"}


def test_float32_follows_the_same_actions_for_200_steps():
    a64, _ = run(learner("reference"), "cartpole-p", 200)
    a32, _ = run(learner("c", np.float32), "cartpole-p", 200)
    assert np.array_equal(a64, a32)


def test_learns_cartpole_with_hidden_velocities():
    """80k steps, one seeded run (about 4 s): the last 20 episodes return several times what the
    starting policy did. Returns vary widely between seeds; benchmarks report the spread."""
    ac = ActorCritic(2, 32, 2, kind="nonlinear", seed=0, dtype=np.float32)
    _, returns = run(ac, "cartpole-p", 80000)
    first, last = np.mean(returns[:20]), np.mean(returns[-20:])
    assert last > 3 * first and last > 80, (first, last)


def test_memory_is_exact():
    n, d, A = 16, 2, 2
    cell_reals = 16 * n + 6 * n * d
    p_cell = 2 * n + 2 * n * d
    value, policy = 2 * n + 1, A * (2 * n + 1)
    expected = cell_reals + 2 * (value + policy) + 2 * p_cell + 2 * n + 2 * A + 4 * d
    assert learner().memory_bytes == expected * 8 == learner("reference").memory_bytes
    assert learner("c", np.float32).memory_bytes == expected * 4


@pytest.mark.parametrize("backend,dtype", [("c", np.float32), ("c", np.float64),
                                           ("reference", np.float64)])
def test_bad_input_and_order_are_refused_and_nothing_changes(backend, dtype):
    ac = learner(backend, dtype)
    run(ac, "cartpole-p", 30)
    obs = np.array([0.01, -0.02])
    ac.begin_episode()  # so that act may take any observation
    before, steps = ac.params, ac.steps
    a = ac.act(obs)
    assert a in (0, 1)
    with pytest.raises(RuntimeError, match="act"):
        ac.act(obs)
    for args, name in (((np.nan, obs, False, False), "reward"),
                       ((1e9, obs, False, False), "reward"),
                       (("1", obs, False, False), "reward"),
                       ((1.0, np.array([np.nan, 0.0]), False, False), "next_obs"),
                       ((1.0, np.zeros(3), False, False), "next_obs"),
                       ((1.0, obs, 1, False), "terminated"),
                       ((1.0, obs, False, None), "truncated")):
        with pytest.raises(ValueError, match=name):
            ac.learn(*args)
    assert ac.steps == steps
    for key in before:
        assert np.array_equal(ac.params[key], before[key]), key
    ac.learn(1.0, obs, False, False)
    with pytest.raises(ValueError, match="next_obs given to learn"):
        ac.act(obs + 1.0)
    with pytest.raises(RuntimeError, match="without act"):
        ActorCritic(2, 4, 2, backend=backend, dtype=dtype).learn(1.0, obs, False, False)
    with pytest.raises(ValueError, match="obs"):
        ac.act(np.array([np.inf, 0.0]))


@pytest.mark.parametrize("kwargs,name", [({"n_actions": 1}, "n_actions"),
                                         ({"action_kind": "both"}, "action_kind"),
                                         ({"gamma": 2.0}, "gamma"), ({"alpha": -1.0}, "alpha"),
                                         ({"entropy_coef": -0.1}, "entropy_coef"),
                                         ({"kappa_policy": 0.0}, "kappa_policy"),
                                         ({"optimizer": "adam"}, "optimizer")])
def test_bad_configuration_names_the_argument(kwargs, name):
    args = {"n_actions": 2}
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        ActorCritic(2, 4, **args)


def test_phase_wrapping_keeps_the_function_and_rescales_traces():
    """A phase beyond 3 pi wraps by whole turns: the same outputs, the theta traces scaled by
    theta' / theta (the exact derivative with respect to the new theta_log)."""
    from rtu_edge.reference import Cell, Prng
    cell = Cell("linear", "tanh", 3, 4)
    cell.init_params(Prng(1))
    cell.theta_log[0] = np.log(5 * np.pi + 0.3)
    cell.refresh()
    twin = Cell("linear", "tanh", 3, 4)
    twin.set_params(cell.params.copy())
    xs = np.random.default_rng(0).normal(size=(20, 3))
    for x in xs[:10]:
        cell.step(x)
        twin.step(x)
    old = cell.dc_dtheta.copy()
    ratio = cell.wrap_phases()
    cell.refresh()
    assert np.isclose(np.exp(cell.theta_log[0]), np.pi + 0.3)
    assert np.isclose(ratio[0], (np.pi + 0.3) / (5 * np.pi + 0.3)) and np.all(ratio[1:] == 1)
    assert np.allclose(cell.dc_dtheta, old * ratio)
    for x in xs[10:]:
        assert np.allclose(cell.step(x), twin.step(x), atol=1e-12)


def test_begin_episode_cuts_an_episode_short_on_every_backend():
    """begin_episode drops a pending act and the cell's memory, as an episode end does (without
    counting one): the next act takes any observation, and C and reference stay together."""
    runs = []
    for backend, dtype in (("c", np.float64), ("reference", np.float64)):
        ac = ActorCritic(2, 4, 2, kind="linear", activation="tanh", seed=3, backend=backend,
                         dtype=dtype)
        rng = np.random.default_rng(0)
        obs = rng.normal(size=2)
        actions = []
        for t in range(60):
            actions.append(ac.act(obs))
            if t % 25 == 24:
                ac.begin_episode()  # cut off mid-episode, pending act dropped
                obs = rng.normal(size=2)  # any observation may come next
                continue
            obs = rng.normal(size=2)
            ac.learn(1.0, obs, False, False)
        assert ac.episodes == 0 and ac.steps == 58
        runs.append((actions, ac.params))
    assert runs[0][0] == runs[1][0]
    for k in runs[0][1]:
        np.testing.assert_allclose(runs[0][1][k], runs[1][1][k], rtol=0, atol=1e-12)
