"""rtu_edge/tasks/registry.py: the partially observable tasks in gymnasium's registry, made,
remade from their spec, vectorised and checked by gymnasium's own env_checker."""

import warnings

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")

import rtu_edge  # noqa: E402,F401  (registers the ids)
from gymnasium.utils.env_checker import check_env  # noqa: E402
from rtu_edge.tasks import make_env  # noqa: E402
from rtu_edge.tasks.registry import CARTPOLE_P, MEMORY_CHAIN, PENDULUM_P  # noqa: E402

IDS = (CARTPOLE_P, PENDULUM_P, MEMORY_CHAIN)


def _rollout(env, seed, steps=60):
    """Observations and rewards of a run with actions from a seeded action space."""
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    out = [obs]
    for _ in range(steps):
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        out += [obs, [reward]]
        if terminated or truncated:
            obs, _ = env.reset()
            out.append(obs)
    return np.concatenate([np.ravel(x) for x in out])


@pytest.mark.parametrize("env_id", IDS)
def test_the_tasks_pass_gymnasiums_env_checker(env_id, monkeypatch):
    # every check, rendering included (CartPole's and Pendulum's, through pygame: the test extra
    # installs gymnasium[classic-control]; SDL draws into no window here)
    pytest.importorskip("pygame")
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the checker's notes on wrapped and asymmetric spaces
        check_env(gym.make(env_id))


@pytest.mark.parametrize("env_id", IDS)
def test_a_task_remade_from_its_spec_runs_the_same(env_id):
    env = gym.make(env_id)
    again = env.spec.make()
    assert again.spec.id == env_id and again.observation_space == env.observation_space
    assert np.array_equal(_rollout(env, 3), _rollout(again, 3))


def test_the_registered_tasks_are_make_envs_tasks():
    for task, env_id, kwargs in (("cartpole-p", CARTPOLE_P, {}), ("pendulum-p", PENDULUM_P, {}),
                                 ("memory-chain-40", MEMORY_CHAIN, {"memory_length": 40})):
        env, spec = make_env(task, 7)
        registered = gym.make(env_id, **kwargs)
        assert spec.obs_size == registered.observation_space.shape[0]
        assert spec.max_episode_steps == registered.spec.max_episode_steps
        assert np.allclose(_rollout(env, 7), _rollout(registered, 7))  # make_env casts to float64
    assert gym.make(CARTPOLE_P).spec.max_episode_steps == 500
    assert gym.make(PENDULUM_P).spec.max_episode_steps == 200
    assert gym.make(MEMORY_CHAIN).unwrapped.memory_length == 16


def test_make_envs_wrappers_record_their_arguments():
    env, _ = make_env("cartpole-p", 11)
    remade = env.spec.make()  # every wrapper of ours (flattening, seeding) named in the spec
    assert [w.name for w in env.spec.additional_wrappers] == [
        "HiddenVelocity", "FlattenObservation", "_SeedFirstReset"]
    assert np.array_equal(remade.reset()[0], env.reset()[0])  # the seed of 11 came along


@pytest.mark.parametrize("env_id", IDS)
def test_the_tasks_vectorise(env_id):
    single = gym.make(env_id)
    envs = gym.make_vec(env_id, num_envs=3)
    obs, _ = envs.reset(seed=0)
    assert obs.shape == (3, *single.observation_space.shape)
    for _ in range(5):
        obs, reward, terminated, truncated, _ = envs.step(envs.action_space.sample())
    assert obs.shape[0] == reward.shape[0] == terminated.shape[0] == 3
    envs.close()


def test_memory_chain_refuses_a_render_mode_by_name():
    """MemoryChain renders nothing: a render_mode is a ValueError naming it, not a TypeError."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gymnasium's own warning about the render mode
        with pytest.raises(ValueError, match="render_mode: MemoryChain renders nothing"):
            gym.make("rtu_edge/MemoryChain-v0", render_mode="rgb_array")
