"""The task suite of issue 10 beyond CartPole-P and Pendulum-P: MemoryChain (its semantics, seeding,
make_env and the CLI), the MuJoCo tasks with velocities hidden (when mujoco is installed) and the
five POPGym tasks of the suite (when popgym is installed)."""

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")

from rtu_edge.tasks import make_env  # noqa: E402
from rtu_edge.tasks.memory_chain import MemoryChain, recall_rate  # noqa: E402


def episode(env, actions):
    """Observations, rewards and termination flags of one episode under a fixed action rule."""
    obs, _ = env.reset()
    observations, rewards, ends = [obs], [], []
    t = 0
    while True:
        obs, reward, terminated, truncated, _ = env.step(actions(t, observations))
        observations.append(obs)
        rewards.append(reward)
        ends.append((terminated, truncated))
        t += 1
        if terminated or truncated:
            return np.array(observations), np.array(rewards), ends


@pytest.mark.parametrize("length", [1, 4, 16])
def test_memory_chain_shows_the_context_once_and_rewards_only_the_recall(length):
    env = MemoryChain(length)
    env.reset(seed=3)
    for _ in range(20):
        # recall what was shown: +1; the other action: -1
        for right, expected in ((True, 1.0), (False, -1.0)):
            def rule(t, observations):
                bit = int(observations[0][2] > 0)
                return bit if (t < length or right) else 1 - bit
            obs, rewards, ends = episode(env, rule)
            assert obs.shape == (length + 2, 3) and obs.dtype == np.float32
            assert obs[0, 2] in (-1.0, 1.0)            # the context, at the first step only
            assert np.all(obs[1:, 2] == 0) and np.all(obs[:, 1] == 0)
            assert np.allclose(obs[:, 0], 1 - np.arange(length + 2) / length)   # time
            assert obs[length, 0] == 0                 # the recall acts on time 0
            assert len(rewards) == length + 1          # L + 1 decisions
            assert np.all(rewards[:-1] == 0) and rewards[-1] == expected
            assert ends == [(False, False)] * length + [(True, False)]
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


def test_memory_chain_contexts_are_seeded_and_balanced():
    def contexts(seed):
        env, _ = make_env("memory-chain-4", seed)
        out = []
        for _ in range(200):
            obs, _ = env.reset()
            out.append(obs[2])
        return np.array(out)

    a = contexts(5)
    assert np.array_equal(a, contexts(5)) and not np.array_equal(a, contexts(6))
    assert set(a) == {-1.0, 1.0} and 0.4 < np.mean(a > 0) < 0.6


def test_memory_chain_blind_policy_scores_one_half_and_recall_rate():
    env, spec = make_env("memory-chain-8", 0)
    assert (spec.obs_size, spec.n_actions, spec.discrete) == (3, 2, True)
    returns = [episode(env, lambda t, o: 0)[1].sum() for _ in range(400)]
    assert set(returns) == {-1.0, 1.0}
    assert 0.4 < recall_rate(returns) < 0.6
    assert recall_rate([1.0] * 50 + [-1.0] * 100) == 0.0    # only the last 100 count
    assert recall_rate([1.0, 1.0, -1.0, 1.0]) == 0.75
    assert np.isnan(recall_rate([]))


def test_memory_chain_passes_gymnasiums_env_checker():
    from gymnasium.utils.env_checker import check_env
    check_env(MemoryChain(5), skip_render_check=True)


@pytest.mark.parametrize("task", ["memory-chain-0", "memory-chain-", "memory-chain-x",
                                  "memory-chain--3"])
def test_memory_chain_bad_lengths_are_refused(task):
    with pytest.raises(ValueError, match="memory length"):
        make_env(task, 0)
    with pytest.raises(ValueError, match="memory_length"):
        MemoryChain(0)


def test_train_cli_runs_the_actor_critic_on_memory_chain(tmp_path):
    from rtu_edge import cli
    out = tmp_path / "run"
    assert cli.main(["train", "--task", "memory-chain-4", "--steps", "300", "--hidden", "4",
                     "--out", str(out)]) == 0
    import csv
    with open(out / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(float(r["return"]) in (-1.0, 1.0) and int(r["length"]) == 5
                        for r in rows)


# -- MuJoCo with velocities hidden --------------------------------------------------------------

MUJOCO = {"hopper-p": (5, 3), "halfcheetah-p": (8, 6), "walker2d-p": (8, 6), "ant-p": (13, 8)}


@pytest.mark.parametrize("task", sorted(MUJOCO))
def test_mujoco_p_observes_qpos_only(task, tmp_path, monkeypatch):
    pytest.importorskip("mujoco")
    monkeypatch.chdir(tmp_path)  # MuJoCo writes its warnings to MUJOCO_LOG.TXT in the cwd
    env, spec = make_env(task, 1)
    obs_size, action_dim = MUJOCO[task]
    assert (spec.obs_size, spec.action_dim, spec.discrete) == (obs_size, action_dim, False)
    assert spec.max_episode_steps == 1000
    assert np.all(spec.low == -1) and np.all(spec.high == 1)
    obs, _ = env.reset()
    data = env.unwrapped.data
    skipped = env.unwrapped.observation_structure["skipped_qpos"]
    for _ in range(5):
        assert obs.shape == (obs_size,)
        assert np.allclose(obs, data.qpos[skipped:], atol=1e-6)   # positions, no velocities
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        assert np.isfinite(reward)
    a = make_env(task, 1)[0].reset()[0]
    assert np.array_equal(a, make_env(task, 1)[0].reset()[0])


def test_mujoco_p_without_mujoco_names_the_extra(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_mujoco(name, *args, **kwargs):
        if name == "mujoco" or name.startswith("mujoco."):
            raise ImportError("No module named 'mujoco'", name="mujoco")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_mujoco)
    with pytest.raises(ImportError, match=r"pip install 'rtu_edge\[mujoco\]'") as info:
        make_env("hopper-p", 0)
    assert "hopper-p" in str(info.value)


# -- POPGym tasks of the suite ------------------------------------------------------------------

POPGYM = {"RepeatPreviousEasy": 4, "RepeatFirstEasy": 4, "CountRecallEasy": None,
          "AutoencodeEasy": None, "ConcentrationEasy": None}


@pytest.mark.parametrize("name", sorted(POPGYM))
def test_popgym_suite_tasks_run(name):
    pytest.importorskip("popgym")
    env, spec = make_env(f"popgym:{name}", 2)
    assert spec.discrete and spec.n_actions >= 2 and spec.obs_size >= 1
    if POPGYM[name] is not None:
        assert spec.n_actions == POPGYM[name]
    obs, _ = env.reset()
    first = obs
    for _ in range(20):
        assert obs.shape == (spec.obs_size,) and obs.dtype == np.float64
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        assert np.isfinite(reward)
        if terminated or truncated:
            obs, _ = env.reset()
    assert np.array_equal(first, make_env(f"popgym:{name}", 2)[0].reset()[0])


def test_suite_registers_the_new_tasks():
    suite = pytest.importorskip("rtu_edge.tasks.suite")
    from rtu_edge.tasks import memory_chain
    info = suite.task_info("memory-chain-32")
    assert (info.kind, info.score, info.threshold, info.higher_is_better, info.final_window) == \
        ("control", "return", 0.8, True, 100)
    assert memory_chain.RECALL_THRESHOLD == 0.9
    rows = [{"step": i, "return": 1.0 if i % 10 else -1.0} for i in range(100)]
    assert info.reached(rows) is True   # 90% correct: mean return 0.8
    with pytest.raises(ValueError, match="memory length"):
        suite.task_info("memory-chain-0")
    for task in MUJOCO:
        info = suite.task_info(task)
        assert (info.threshold, info.final_window, info.higher_is_better) == (None, 20, True)
