"""The partially observable control tasks (rtu_edge.tasks.control): hidden-velocity observations
against the underlying state, CartPole's episode ends, seeding, make_env and its EnvSpec, the
flattening of POPGym observations, and bad task names."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from rtu_edge.tasks import (DiscreteActions, EnvSpec, FlattenObservation, HiddenVelocity,
                            make_cartpole_p, make_env, make_pendulum_p)

try:
    import popgym  # noqa: F401
    HAVE_POPGYM = True
except ImportError:
    HAVE_POPGYM = False
needs_popgym = pytest.mark.skipif(
    not HAVE_POPGYM, reason="popgym is not installed (optional: pip install rtu_edge[popgym]; "
                            "it needs Python >= 3.10)")

CARTPOLE_X_LIMIT = 2.4
CARTPOLE_THETA_LIMIT = 12 * 2 * np.pi / 360


def balance(state):
    """A PD controller on CartPole's full state that keeps the pole up for 500 steps."""
    x, x_dot, theta, theta_dot = state
    return int(theta + 0.5 * theta_dot + 0.01 * x + 0.1 * x_dot > 0)


def test_cartpole_p_observation_is_position_and_angle():
    env = make_cartpole_p()
    assert isinstance(env, HiddenVelocity) and env.keep == (0, 2)
    assert env.observation_space.shape == (2,) and env.observation_space.dtype == np.float32
    full = env.env.observation_space
    assert np.array_equal(env.observation_space.low, full.low[[0, 2]])
    assert np.array_equal(env.observation_space.high, full.high[[0, 2]])
    obs, _ = env.reset(seed=4)
    rng = np.random.default_rng(0)
    for _ in range(60):
        state = np.asarray(env.unwrapped.state)        # [x, x_dot, theta, theta_dot], float64
        assert obs.shape == (2,) and obs.dtype == np.float32
        assert np.array_equal(obs, state[[0, 2]].astype(np.float32))
        obs, reward, terminated, truncated, _ = env.step(int(rng.integers(2)))
        if terminated or truncated:
            obs, _ = env.reset()


def test_pendulum_p_observation_is_cos_sin_of_angle():
    env = make_pendulum_p()
    assert env.keep == (0, 1)
    assert env.observation_space.shape == (2,) and env.observation_space.dtype == np.float32
    assert np.array_equal(env.observation_space.low, [-1, -1])
    assert np.array_equal(env.observation_space.high, [1, 1])
    assert env.action_space == spaces.Box(-2.0, 2.0, (1,), np.float32)
    obs, _ = env.reset(seed=2)
    rng = np.random.default_rng(1)
    for _ in range(50):
        theta, theta_dot = env.unwrapped.state
        assert obs.shape == (2,) and obs.dtype == np.float32
        assert np.array_equal(obs, np.array([np.cos(theta), np.sin(theta)], dtype=np.float32))
        obs, reward, terminated, truncated, _ = env.step(rng.uniform(-2, 2, size=1)
                                                         .astype(np.float32))
        assert not terminated and reward <= 0


def test_cartpole_p_is_cartpole_with_velocities_dropped():
    """Same seed, same actions: the wrapped and the plain CartPole-v1 agree step for step on
    rewards and episode ends, and the observation is the plain one's entries 0 and 2."""
    plain, hidden = gym.make("CartPole-v1"), make_cartpole_p()
    rng = np.random.default_rng(7)
    for episode in range(3):
        full, _ = plain.reset(seed=100 + episode)
        obs, _ = hidden.reset(seed=100 + episode)
        assert np.array_equal(obs, full[[0, 2]])
        steps, done = 0, False
        while not done:
            a = int(rng.integers(2))
            full, r_full, term_full, trunc_full, _ = plain.step(a)
            obs, reward, terminated, truncated, _ = hidden.step(a)
            steps += 1
            assert np.array_equal(obs, full[[0, 2]])
            assert (reward, terminated, truncated) == (r_full, term_full, trunc_full)
            assert reward == 1.0
            done = terminated or truncated
        # random actions fail long before the time limit, by CartPole's rule
        assert terminated and not truncated and steps < 500
        x, _, theta, _ = hidden.unwrapped.state
        assert abs(x) > CARTPOLE_X_LIMIT or abs(theta) > CARTPOLE_THETA_LIMIT


def test_cartpole_p_pushed_one_way_terminates_and_balanced_truncates_at_500():
    env = make_cartpole_p()
    env.reset(seed=0)
    for step in range(1, 501):
        _, reward, terminated, truncated, _ = env.step(1)
        if terminated:
            break
    assert terminated and not truncated and reward == 1.0 and step < 50
    _, theta = env.unwrapped.state[0], env.unwrapped.state[2]
    assert abs(theta) > CARTPOLE_THETA_LIMIT

    env.reset(seed=0)
    total = 0.0
    for step in range(1, 501):
        _, reward, terminated, truncated, _ = env.step(balance(env.unwrapped.state))
        total += reward
        assert not terminated
        if truncated:
            break
    assert truncated and step == 500 and total == 500.0


def test_seeding_reproduces_observations():
    def episode(env, seed, n=40):
        out = [env.reset(seed=seed)[0]]
        for t in range(n):
            obs, _, terminated, truncated, _ = env.step(t % 2 if env.action_space.shape == ()
                                                        else np.array([0.5], np.float32))
            out.append(obs)
            if terminated or truncated:
                break
        return np.array(out)

    for make in (make_cartpole_p, make_pendulum_p):
        a, b = episode(make(), 11), episode(make(), 11)
        assert np.array_equal(a, b)
        assert not np.array_equal(a[0], episode(make(), 12)[0])


def trajectory(task, seed, n=60):
    """Observations and rewards of make_env(task, seed) under its seeded random actions."""
    env, spec = make_env(task, seed)
    obs, _ = env.reset()
    observations, rewards = [obs], []
    for _ in range(n):
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        observations.append(obs)
        rewards.append(reward)
        if terminated or truncated:
            observations.append(env.reset()[0])
    return np.array(observations), np.array(rewards)


CASES = {  # task: (obs_size, action kind, n_actions or action_dim, low, high, time limit)
    "CartPole-v1": (4, "discrete", 2, None, None, 500),
    "Pendulum-v1": (3, "continuous", 1, [-2.0], [2.0], 200),
    "MountainCarContinuous-v0": (2, "continuous", 1, [-1.0], [1.0], 999),
    "cartpole-p": (2, "discrete", 2, None, None, 500),
    "pendulum-p": (2, "continuous", 1, [-2.0], [2.0], 200),
}


@pytest.mark.parametrize("task", list(CASES))
def test_make_env_spec_and_flat_observations(task):
    obs_size, kind, n, low, high, limit = CASES[task]
    env, spec = make_env(task, 3)
    assert isinstance(env, gym.Env) and isinstance(spec, EnvSpec)
    assert (spec.task, spec.obs_size, spec.action_kind, spec.max_episode_steps) == \
        (task, obs_size, kind, limit)
    assert isinstance(env.observation_space, spaces.Box)
    assert env.observation_space.shape == (obs_size,)
    assert env.observation_space.dtype == np.float64
    if kind == "discrete":
        assert spec.discrete and spec.n_actions == n and spec.action_dim is None
        assert spec.low is None and spec.high is None
        assert env.action_space == spaces.Discrete(n)
    else:
        assert not spec.discrete and spec.action_dim == n and spec.n_actions is None
        assert np.array_equal(spec.low, low) and np.array_equal(spec.high, high)
        assert spec.low.dtype == spec.high.dtype == np.float64
        assert env.action_space.shape == (n,)
        assert np.array_equal(env.action_space.low, low)
    observations, rewards = trajectory(task, 3)
    assert observations.dtype == np.float64 and observations.shape[1:] == (obs_size,)
    assert np.all(np.isfinite(observations)) and np.all(np.isfinite(rewards))


@pytest.mark.parametrize("task", ["cartpole-p", "pendulum-p"])
def test_make_env_hidden_velocity_matches_state(task):
    env, _ = make_env(task, 5)
    obs, _ = env.reset()
    for _ in range(20):
        state = np.asarray(env.unwrapped.state, dtype=np.float64)
        if task == "cartpole-p":
            expected = state[[0, 2]]
        else:
            expected = np.array([np.cos(state[0]), np.sin(state[0])])
        assert obs.dtype == np.float64
        assert np.array_equal(obs, expected.astype(np.float32).astype(np.float64))
        obs, *_ = env.step(env.action_space.sample())


@pytest.mark.parametrize("task", ["CartPole-v1", "pendulum-p", "cartpole-p"])
def test_make_env_seeding(task):
    a_obs, a_rew = trajectory(task, 9)
    b_obs, b_rew = trajectory(task, 9)
    assert np.array_equal(a_obs, b_obs) and np.array_equal(a_rew, b_rew)
    c_obs, _ = trajectory(task, 10)
    assert not np.array_equal(a_obs[0], c_obs[0])
    # the first reset without a seed is reset(seed=seed)
    env, _ = make_env(task, 9)
    assert np.array_equal(env.reset(seed=9)[0], a_obs[0])


@pytest.mark.parametrize("task", ["nope", "cartpole", "CartPole-v99", "popgym", "pendulum_p", ""])
def test_unknown_task_raises_value_error_naming_task(task):
    with pytest.raises(ValueError, match="task") as info:
        make_env(task, 0)
    assert repr(task) in str(info.value)
    assert "cartpole-p" in str(info.value) and "popgym:<Name>" in str(info.value)


@pytest.mark.parametrize("seed", [-1, 1.5, "0", None, True])
def test_bad_seed_raises_value_error(seed):
    with pytest.raises(ValueError, match="seed"):
        make_env("cartpole-p", seed)


def test_non_string_task_raises_value_error():
    with pytest.raises(ValueError, match="task"):
        make_env(3, 0)


def test_popgym_missing_gives_install_hint(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_popgym(name, *args, **kwargs):
        if name == "popgym" or name.startswith("popgym."):
            raise ImportError("No module named 'popgym'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_popgym)
    with pytest.raises(ImportError, match=r"pip install 'rtu_edge\[popgym\]'") as info:
        make_env("popgym:RepeatPreviousEasy", 0)
    assert "popgym:RepeatPreviousEasy" in str(info.value)


def test_flatten_observation_layouts():
    """Discrete and MultiDiscrete one-hot (with start offsets), Tuple and Dict concatenated."""
    class Fixed(gym.Env):
        def __init__(self, space, value):
            self.observation_space, self.action_space, self.value = space, spaces.Discrete(2), value

        def reset(self, *, seed=None, options=None):
            return self.value, {}

        def step(self, action):
            return self.value, 0.0, True, False, {}

    cases = [
        (spaces.Discrete(4), 2, [0, 0, 1, 0]),
        (spaces.Discrete(3, start=-1), 0, [0, 1, 0]),
        (spaces.MultiDiscrete([2, 3]), np.array([1, 2]), [0, 1, 0, 0, 1]),
        (spaces.Tuple((spaces.Discrete(2), spaces.Discrete(4))), (1, 3), [0, 1, 0, 0, 0, 1]),
        (spaces.Dict({"a": spaces.Discrete(2), "b": spaces.Box(-1, 1, (2, 2))}),
         {"a": 0, "b": np.array([[0.5, -0.5], [0.25, 1.0]], np.float32)},
         [1, 0, 0.5, -0.5, 0.25, 1.0]),
        (spaces.MultiBinary(3), np.array([1, 0, 1], np.int8), [1, 0, 1]),
    ]
    for space, value, expected in cases:
        env = FlattenObservation(Fixed(space, value))
        obs, _ = env.reset()
        assert obs.dtype == np.float64 and env.observation_space.shape == (len(expected),)
        assert np.array_equal(obs, expected), space
    with pytest.raises(ValueError, match="flatten"):
        FlattenObservation(Fixed(spaces.Sequence(spaces.Discrete(2)), ()))


def test_discrete_actions_reindexing():
    class Record(gym.Env):
        observation_space = spaces.Box(-1, 1, (1,))

        def __init__(self, action_space):
            self.action_space, self.received = action_space, []

        def reset(self, *, seed=None, options=None):
            return np.zeros(1, np.float32), {}

        def step(self, action):
            self.received.append(action)
            return np.zeros(1, np.float32), 0.0, False, False, {}

    env = DiscreteActions(Record(spaces.MultiDiscrete([3, 4])))
    assert env.action_space == spaces.Discrete(12)
    env.step(7)
    assert np.array_equal(env.unwrapped.received[-1], [1, 3])      # 7 = 4 * 1 + 3
    env = DiscreteActions(Record(spaces.Discrete(3, start=5)))
    env.step(2)
    assert env.unwrapped.received[-1] == 7
    with pytest.raises(ValueError, match="action"):
        env.step(3)


@needs_popgym
def test_popgym_repeat_previous_one_hot():
    from popgym.envs.repeat_previous import RepeatPreviousEasy

    env, spec = make_env("popgym:RepeatPreviousEasy", 1)
    raw = RepeatPreviousEasy()
    assert raw.observation_space == spaces.Discrete(4) and raw.action_space == spaces.Discrete(4)
    assert (spec.obs_size, spec.action_kind, spec.n_actions) == (4, "discrete", 4)
    assert env.observation_space.shape == (4,) and env.action_space == spaces.Discrete(4)
    obs, _ = env.reset()
    raw_obs, _ = raw.reset(seed=1)
    rng = np.random.default_rng(0)
    for _ in range(30):
        assert obs.dtype == np.float64 and obs.shape == (4,)
        assert np.array_equal(obs, np.eye(4)[raw_obs])                 # one-hot of the suit
        a = int(rng.integers(4))
        obs, reward, terminated, truncated, _ = env.step(a)
        raw_obs, raw_reward, raw_term, raw_trunc, _ = raw.step(a)
        assert (reward, terminated, truncated) == (raw_reward, raw_term, raw_trunc)
        if terminated or truncated:
            obs, _ = env.reset(seed=2)
            raw_obs, _ = raw.reset(seed=2)
    a_obs, a_rew = trajectory("popgym:RepeatPreviousEasy", 4)
    b_obs, b_rew = trajectory("popgym:RepeatPreviousEasy", 4)
    assert np.array_equal(a_obs, b_obs) and np.array_equal(a_rew, b_rew)


@needs_popgym
@pytest.mark.parametrize("task, blocks, n_actions", [
    ("popgym:CountRecallEasy", (2, 2), 27),     # MultiDiscrete([2, 2]): two one-hot blocks of 2
    ("popgym:AutoencodeEasy", (2, 4), 4),       # Tuple(Discrete(2), Discrete(4)): 2 + 4
    ("popgym:BattleshipEasy", (2,), 64),        # Discrete(2); MultiDiscrete([8, 8]) actions
    ("popgym:PositionOnlyCartPoleEasy", None, 2),   # Box(2,): as it is
])
def test_popgym_flattening(task, blocks, n_actions):
    obs_size = 2 if blocks is None else sum(blocks)
    env, spec = make_env(task, 0)
    assert (spec.obs_size, spec.action_kind, spec.n_actions) == (obs_size, "discrete", n_actions)
    assert env.action_space == spaces.Discrete(n_actions)
    observations, _ = trajectory(task, 0, n=20)
    assert observations.shape[1:] == (obs_size,) and observations.dtype == np.float64
    if blocks is not None:                      # each block one-hot
        assert set(np.unique(observations)) <= {0.0, 1.0}
        edges = np.cumsum((0,) + blocks)
        for lo, hi in zip(edges[:-1], edges[1:]):
            assert np.all(observations[:, lo:hi].sum(axis=1) == 1)


@needs_popgym
def test_popgym_unknown_name():
    with pytest.raises(ValueError, match="popgym:Nope") as info:
        make_env("popgym:Nope", 0)
    assert "RepeatPreviousEasy" in str(info.value)
