"""CartPolePVectorEnv: B CartPole-P environments in one numpy call, the same environments as a
SyncVectorEnv of make_env (what PPO stepped before), step for step."""

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")

from rtu_edge.ppo import make_vector_env  # noqa: E402
from rtu_edge.tasks import make_env  # noqa: E402
from rtu_edge.tasks.cartpole_vector import CartPolePVectorEnv  # noqa: E402


def sync_envs(task, n, seed):
    return gym.vector.SyncVectorEnv([lambda k=k: make_env(task, seed + k)[0] for k in range(n)],
                                    autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)


def balance(state):
    """Pushes toward the pole's lean and fall, from the full state (4, B): keeps most episodes
    up to the time limit (a controller for the test, not a learner)."""
    x, x_dot, theta, theta_dot = state
    return (theta + 0.5 * theta_dot + 0.05 * x + 0.1 * x_dot > 0).astype(np.int64)


@pytest.mark.parametrize("task", ["cartpole-p", "cartpole-p-long"])
def test_same_transitions_as_make_env_step_for_step(task):
    """4000 steps of 6 environments, 4 of them balanced from the true state (episodes that reach
    the 500-step limit) and 2 pushed at random (episodes that fall within tens of steps):
    observations, rewards, terminations, truncations and final observations equal to the last
    bit, through hundreds of autoresets of both kinds."""
    n, seed = 6, 11
    ref = sync_envs(task, n, seed)
    vec, spec = make_vector_env(task, n, seed)
    assert spec.obs_size == 2 and spec.n_actions == 2
    obs_ref, _ = ref.reset()
    obs, _ = vec.reset()
    np.testing.assert_array_equal(obs, obs_ref)
    assert obs.dtype == obs_ref.dtype == np.float64
    rng = np.random.default_rng(0)
    terminations = truncations = 0
    for t in range(4000):
        actions = balance(vec.unwrapped.state)
        actions[4:] = rng.integers(0, 2, 2)
        got, want = vec.step(actions), ref.step(actions)
        for a, b in zip(got[:4], want[:4]):
            np.testing.assert_array_equal(a, b)
        done = want[2] | want[3]
        terminations += int(np.sum(want[2]))
        truncations += int(np.sum(want[3]))
        if np.any(done):
            assert np.array_equal(got[4]["_final_obs"], done)
            for k in np.flatnonzero(done):
                np.testing.assert_array_equal(got[4]["final_obs"][k], want[4]["final_obs"][k])
    assert terminations > 100 and truncations >= 8


def test_semi_implicit_euler_is_cartpole_envs():
    """With the plant's kinematics_integrator set to semi-implicit Euler (gymnasium's other
    integrator), the states are those of CartPoleEnv with it, step for step, to the last bit."""
    from gymnasium.envs.classic_control.cartpole import CartPoleEnv
    n = 3
    vec = CartPolePVectorEnv(n)
    vec.plant.kinematics_integrator = "semi-implicit euler"
    vec.reset(seed=4)
    ref = [CartPoleEnv() for _ in range(n)]
    for k, env in enumerate(ref):
        env.kinematics_integrator = "semi-implicit euler"
        env.reset(seed=0)
        env.state = vec.state[:, k].copy()
    for t in range(60):
        actions = balance(vec.state)
        _, _, terminated, truncated, _ = vec.step(actions)
        if terminated.any() or truncated.any():
            break
        for k, env in enumerate(ref):
            env.step(int(actions[k]))
            np.testing.assert_array_equal(vec.state[:, k], np.asarray(env.state))
    assert t == 59  # the balanced poles stayed up: 60 steps compared


def test_truncates_after_max_episode_steps_and_starts_again():
    env = CartPolePVectorEnv(3, max_episode_steps=4)
    first, _ = env.reset(seed=0)
    for t in range(4):
        obs, rewards, terminated, truncated, infos = env.step(np.array([0, 1, 0]))
        np.testing.assert_array_equal(rewards, 1.0)
        assert not terminated.any()
        assert truncated.all() == (t == 3)
    assert infos["_final_obs"].all()
    assert np.all(np.abs(obs) <= 0.05)          # the next episodes' first observations
    assert not np.array_equal(obs, first)


def test_seeds_as_sync_vector_env():
    """reset(seed=s) seeds environment k with s + k, as a SyncVectorEnv of make_env does; a list
    gives each its own."""
    a, _ = CartPolePVectorEnv(4).reset(seed=5)
    b, _ = CartPolePVectorEnv(4).reset(seed=[5, 6, 7, 8])
    c, _ = CartPolePVectorEnv(4).reset(seed=6)
    np.testing.assert_array_equal(a, sync_envs("cartpole-p", 4, 0).reset(seed=5)[0])
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a[1:], c[:3])
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("kwargs, name", [
    (dict(num_envs=0), "num_envs"), (dict(num_envs=2.0), "num_envs"),
    (dict(max_episode_steps=0), "max_episode_steps"), (dict(pole=(1.0,)), "pole"),
    (dict(pole=(0.5, -1.0)), "pole"), (dict(pole=(np.nan, 1.0)), "pole"), (dict(pole=2.0), "pole"),
    (dict(pole=("a", 1.0)), "pole"), (dict(pole=(1.0, 2.0, 3.0)), "pole")])
def test_bad_construction_names_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        CartPolePVectorEnv(**kwargs)


def test_bad_actions_and_seeds_are_refused_and_change_nothing():
    """A refused step or reset leaves the environments as they were: the next steps and resets
    are those of a twin that was never given the bad call."""
    env, twin = CartPolePVectorEnv(2), CartPolePVectorEnv(2)
    with pytest.raises(gym.error.ResetNeeded):
        env.step(np.array([0, 1]))
    env.reset(seed=1)
    twin.reset(seed=1)
    for actions in ([0, 2], [0], [[0, 1]], [0.5, 1]):
        with pytest.raises(ValueError, match="actions"):
            env.step(np.array(actions))
    for seed in (-1, [1], [1, 2, 3], 1.5, True, [1, -2]):
        with pytest.raises(ValueError, match="seed"):
            env.reset(seed=seed)
    for t in range(30):
        for a, b in zip(env.step(np.array([t % 2, 1])), twin.step(np.array([t % 2, 1]))):
            if isinstance(a, np.ndarray):
                np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(env.reset()[0], twin.reset()[0])
