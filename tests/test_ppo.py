"""PPO with RTRL: the C core against its numpy reference, the gradient against finite
differences (fresh traces) and against the contraction with the stored traces (stale), refusals,
the hand-off to the streaming actor-critic, and a short seeded run that must learn."""

import csv
import json
import re
import struct
import zlib

import numpy as np
import pytest

import ckpt_codec as ck
from rtu_edge import ActorCritic, checkpoint
from rtu_edge.cli import main
from rtu_edge.export.model import CModel, InferenceModel
from rtu_edge import ppo as ppo_module
from rtu_edge.ppo import PPO, gae, make_vector_env, train_ppo
from rtu_edge.reference.config import ACNetwork, PPOConfig
from rtu_edge.reference.ppo import PPO as ReferencePPO

gym = pytest.importorskip("gymnasium")

N, T = 3, 6

NETWORKS = [
    ("linear", "discrete", 2, ACNetwork(n_embed=4, n_head=6)),
    ("linear", "continuous", 2, ACNetwork(n_embed=4, n_head=6)),
    ("linear", "discrete", 3, ACNetwork(n_embed=0, n_head=0, shared=True, prev_action=True,
                                        prev_reward="normalized")),
    ("nonlinear", "continuous", 1, ACNetwork(n_head=5, prev_action=True,
                                             prev_reward="normalized")),
    ("lru", "discrete", 2, ACNetwork(n_embed=4, n_head=6)),
    ("linear", "discrete", 2, ACNetwork(n_embed=4, n_head=4, memoryless=True)),
    ("linear", "discrete", 2, ACNetwork(n_head=4, prev_reward="centered_sign")),
]


def pair(kind, action_kind, n_actions, network, fresh_state=False, hidden=4):
    """The C core (float64) and the reference of one network, seed 7."""
    cfg = PPOConfig(n_envs=N, n_steps=T, n_minibatches=1, fresh_state=fresh_state)
    c = PPO(2, hidden, n_actions, action_kind=action_kind, kind=kind, seed=7, dtype=np.float64,
            network=network, ppo=cfg, entropy_coef=0.05)
    ref = ReferencePPO(kind, "tanh", 2, hidden, action_kind, n_actions, c.config, 7, network, N,
                       T)
    return c, ref, cfg


def rollout(agents, rng, done_rate=0.2):
    """One rollout of random observations, rewards and ends fed to every agent alike."""
    for a in agents:
        a.begin_rollout()
    for _ in range(T):
        obs = rng.normal(size=(N, 2))
        outs = [a.act(obs) for a in agents]
        rewards, term = rng.normal(size=N), rng.random(N) < done_rate
        trunc = rng.random(N) < done_rate  # truncated, terminated, or both
        final_obs = rng.normal(size=(N, 2))
        final_obs[~trunc | term] = np.nan  # rows that are not read
        fed = [a.feedback(rewards, term, trunc, final_obs) for a in agents]
        for o, f in zip(outs[1:], fed[1:]):
            for x, y in zip(o, outs[0]):
                np.testing.assert_allclose(np.ravel(x), np.ravel(y), rtol=0, atol=1e-12)
            for x, y in zip(f, fed[0]):  # the scaled rewards, the truncated steps' values
                np.testing.assert_allclose(x, y, rtol=0, atol=1e-12)


def grad_of(c: PPO) -> np.ndarray:
    return np.array(c.core.view(c.c.grad, int(c.c.n_grad)))


@pytest.mark.parametrize("fresh", [False, True])
@pytest.mark.parametrize("kind, action_kind, n_actions, network", NETWORKS)
def test_the_c_core_is_the_reference(kind, action_kind, n_actions, network, fresh):
    """Rollouts, values, log-probabilities, scaled rewards, refreshed values, the gradient over a
    minibatch of stored steps (the stale one: the parameters moved since the rollout) and Adam's
    steps: float64 C equals the numpy reference over three rollouts (minibatches of 7 samples,
    and of 37 drawn with repeats, which the C update takes in chunks)."""
    c, ref, cfg = pair(kind, action_kind, n_actions, network, fresh)
    rng = np.random.default_rng(0)
    for _ in range(3):
        rollout([c, ref], rng)
        obs = rng.normal(size=(N, 2))
        np.testing.assert_allclose(c.bootstrap(obs), ref.bootstrap(obs), rtol=0, atol=1e-12)
        for count in (7, 37):  # 37: two chunks of RTU_PPO_CHUNK = 16 samples and 5
            samples = (rng.permutation(N * T)[:count] if count <= N * T
                       else rng.integers(0, N * T, size=count))
            adv, ret = rng.normal(size=count), rng.normal(size=count)
            stats = c.gradient(samples, adv, ret)
            ref_stats = ref.gradient(cfg, samples, adv, ret)
            np.testing.assert_allclose(grad_of(c), ref.grad, rtol=0, atol=1e-11)
            for name, value in ref_stats.items():
                assert stats[name] == pytest.approx(value, abs=1e-12)
            assert c.adam_step(0.01) == pytest.approx(ref.adam_step(cfg, 0.01), abs=1e-11)
            if fresh:
                np.testing.assert_allclose(c.refresh(), ref.refresh(), rtol=0, atol=1e-12)
    for mine, theirs in zip(c.params(), [p for p, _ in ref.blocks()]):
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-11)


@pytest.mark.parametrize("action_kind, n_actions, network", [
    ("discrete", 2, ACNetwork(n_embed=4, n_head=6)),
    ("continuous", 2, ACNetwork(n_embed=4, n_head=5, shared=True)),
    ("discrete", 3, ACNetwork(n_head=0, prev_action=True, prev_reward="normalized")),
])
def test_the_c_core_is_the_reference_over_whole_chunks(action_kind, n_actions, network):
    """With an RTU of 20 units (40 features: the dense kernels' 16 lanes and 32-column tiles with
    a tail) the update's chunks run whole: a minibatch of 37 stored steps (two chunks of 16 and
    5) gives the reference's gradient in float64."""
    c, ref, cfg = pair("linear", action_kind, n_actions, network, hidden=20)
    rng = np.random.default_rng(1)
    rollout([c, ref], rng)
    for _ in range(2):
        samples = rng.integers(0, N * T, size=37)
        adv, ret = rng.normal(size=37), rng.normal(size=37)
        c.gradient(samples, adv, ret)
        ref.gradient(cfg, samples, adv, ret)
        np.testing.assert_allclose(grad_of(c), ref.grad, rtol=0, atol=1e-11)
        assert c.adam_step(0.01) == pytest.approx(ref.adam_step(cfg, 0.01), abs=1e-11)


def test_a_truncated_episode_goes_on_with_the_value_of_its_last_observation():
    """final_values of an environment truncated (and not terminated) at step t are v(s_{t+1}):
    what bootstrap gives for the same observation when the episode is not cut there, with the
    same state and the extras of a_t and r_t; 0 for the others, and for every environment
    without final_obs. train_ppo adds gamma times it to the step's reward."""
    for network in (NETWORKS[0][3], NETWORKS[2][3]):  # and with the previous action, reward
        cut, going_on = (PPO(2, 4, 3, seed=5, dtype=np.float64, network=network,
                             ppo=PPOConfig(n_envs=N, n_steps=T, n_minibatches=1))
                         for _ in range(2))
        rng = np.random.default_rng(2)
        for t in range(T):
            obs, rewards = rng.normal(size=(N, 2)), rng.normal(size=N)
            last = rng.normal(size=(N, 2))
            for a in (cut, going_on):
                a.act(obs)
            none = np.zeros(N, dtype=bool)
            trunc = np.array([t == T - 1, False, t == T - 1])
            term = np.array([False, False, t == T - 1])  # environment 2 ends both ways
            scaled, final = cut.feedback(rewards, term, trunc, last)
            going_scaled, going_final = going_on.feedback(rewards, none, none, last)
            np.testing.assert_array_equal(going_final, 0)
            np.testing.assert_array_equal(scaled[:2], going_scaled[:2])  # 2's return ends
            if t < T - 1:
                np.testing.assert_array_equal(final, 0)
        assert final[0] == pytest.approx(going_on.bootstrap(last)[0], rel=0, abs=1e-12)
        assert final[0] != 0 and final[1] == 0 and final[2] == 0


def surrogate(c: PPO, samples, adv, ret) -> float:
    """The loss L whose gradient rtu_ppo_gradient takes, from its parts."""
    s = c.gradient(samples, adv, ret)
    return s["policy_loss"] + c.ppo.vf_coef * s["value_loss"] - c.config.entropy_coef * s["entropy"]


@pytest.mark.parametrize("kind, action_kind, n_actions, network", NETWORKS[:5])
def test_fresh_gradient_is_the_finite_difference_gradient(kind, action_kind, n_actions, network):
    """With the stored states and traces recomputed at the current parameters (refresh), the
    gradient of the RTU's and the heads' parameters is the finite-difference gradient of the
    surrogate loss, each perturbed loss computed from every sequence rerun from its start (the
    rollout began every episode, so the traces start at zero). The input layer's gradient is the
    one-step sensitivity (the reference's, test_the_c_core_is_the_reference), not this one."""
    c, _, _ = pair(kind, action_kind, n_actions, network, fresh_state=True)
    rng = np.random.default_rng(1)
    rollout([c], rng, done_rate=0.15)
    samples = np.arange(N * T)
    adv, ret = rng.normal(size=N * T), rng.normal(size=N * T)
    c.gradient(samples, adv, ret)
    c.adam_step(0.05)  # away from the rollout's parameters: ratios and values move
    c.refresh()
    c.gradient(samples, adv, ret)
    g = grad_of(c)
    n_value = int(c.c.ac.n_value)
    trunk = [int(c.c.ac.trunk[r].n_params) for r in (0, 1)]
    offsets = [0, trunk[0], n_value, n_value + trunk[1]] if not network.shared else \
        [0, trunk[0], n_value + trunk[0]]
    heads = [1, 3] if not network.shared else [1, 2]
    embed = network.n_embed * (c.n_x + 1)
    checked = 0
    for b, (p, offset) in enumerate(zip(c.params(), offsets)):
        first = 0 if b in heads else embed
        for k in rng.choice(np.arange(first, p.size), size=min(6, p.size - first),
                            replace=False):
            old, h = p[k], 1e-6
            losses = []
            for v in (old + h, old - h):
                p[k] = v
                c.params_changed()
                c.refresh()
                losses.append(surrogate(c, samples, adv, ret))
            p[k] = old
            c.params_changed()
            c.refresh()
            numeric = (losses[0] - losses[1]) / (2 * h)
            analytic = g[offset + k]
            if network.shared and b == 0:  # the trunk's gradient is both networks'
                analytic += g[n_value + k]
            assert analytic == pytest.approx(numeric, rel=2e-5, abs=1e-8), (b, k)
            checked += 1
    assert checked >= 18


def test_stale_gradient_contracts_the_stored_traces():
    """Right after a rollout the stored traces are the fresh ones, so stale and fresh gradients
    agree; once the parameters move, the stale gradient keeps contracting the rollout's traces
    (the reference, which loads the stored traces, agrees with it) and differs from the fresh
    one."""
    c, ref, cfg = pair("linear", "discrete", 2, ACNetwork(n_embed=4, n_head=6))
    rng = np.random.default_rng(2)
    rollout([c, ref], rng, done_rate=0.1)
    samples = np.arange(N * T)
    adv, ret = rng.normal(size=N * T), rng.normal(size=N * T)
    c.gradient(samples, adv, ret)
    stale = grad_of(c)
    c.refresh()
    c.gradient(samples, adv, ret)
    np.testing.assert_allclose(grad_of(c), stale, rtol=0, atol=1e-13)
    # move both, keep the stored (stale) traces
    ref.gradient(cfg, samples, adv, ret)
    c.adam_step(0.05)
    ref.adam_step(cfg, 0.05)
    c.gradient(samples, adv, ret)
    ref.gradient(cfg, samples, adv, ret)
    stale = grad_of(c)
    np.testing.assert_allclose(stale, ref.grad, rtol=0, atol=1e-11)
    c.refresh()
    c.gradient(samples, adv, ret)
    assert np.max(np.abs(grad_of(c) - stale)) > 1e-6


def test_gae_matches_the_recursion():
    rng = np.random.default_rng(3)
    rewards, values = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    dones = np.zeros((5, 2))
    dones[2, 0] = 1
    nxt = rng.normal(size=2)
    adv, ret = gae(rewards, values, dones, nxt, 0.9, 0.8)
    for i in range(2):
        a = 0.0
        for t in reversed(range(5)):
            v_next = nxt[i] if t == 4 else values[t + 1, i]
            nonterminal = 1.0 - dones[t, i]
            delta = rewards[t, i] + 0.9 * v_next * nonterminal - values[t, i]
            a = delta + 0.9 * 0.8 * nonterminal * a
            assert adv[t, i] == pytest.approx(a)
    np.testing.assert_allclose(ret, adv + values)


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_minibatches=5), "n_minibatches must divide the batch"),
    (dict(clip_coef=0.0), "clip_coef must lie in (0, inf)"),
    (dict(fresh_targets=True), "fresh_targets needs fresh_state"),
    (dict(adam_beta2=1.0), "adam_beta2 must be below 1"),
    (dict(n_envs=0), "n_envs must be an integer in [1, 65536], got 0"),
    (dict(n_envs=65537), "n_envs must be an integer in [1, 65536], got 65537"),
    (dict(n_steps=10**8), "n_steps must be an integer in [1, 65536]"),
    (dict(update_epochs=0), "update_epochs must be an integer >= 1"),
    (dict(ppo={"n_envs": 2}), "ppo must be a PPOConfig"),
    (dict(backend="reference"), "backend must be 'c' for PPO"),
    (dict(n_head=1), "n_head must be 0"),
])
def test_bad_configurations_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        PPO(2, 4, 2, **{"n_envs": 2, "n_steps": 4, "n_minibatches": 2, **kwargs})


def test_refused_calls_change_nothing():
    c = PPO(2, 4, 2, n_envs=2, n_steps=3, n_minibatches=1, dtype=np.float64)
    before = c.core.buffer.copy()
    with pytest.raises(ValueError, match=r"obs\[1\]"):
        c.act(np.array([[0.0, 1.0], [np.nan, 0.0]]))
    with pytest.raises(RuntimeError, match="out of turn"):
        c.feedback(np.zeros(2), np.zeros(2, bool), np.zeros(2, bool))
    with pytest.raises(ValueError, match="samples must be stored steps"):
        c.gradient([0], [1.0], [1.0])
    np.testing.assert_array_equal(c.core.buffer, before)
    c.act(np.zeros((2, 2)))
    with pytest.raises(RuntimeError, match="out of turn"):
        c.act(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"rewards\[0\]"):
        c.feedback(np.array([np.inf, 0.0]), np.zeros(2, bool), np.zeros(2, bool))
    with pytest.raises(ValueError, match="rewards must have shape"):
        c.feedback(np.zeros(3), np.zeros(2, bool), np.zeros(2, bool))
    with pytest.raises(ValueError, match="terminated must be an array of 2 bools"):
        c.feedback(np.zeros(2), np.array([2, 0]), np.zeros(2, bool))  # a 2 is no episode end
    before = c.core.buffer.copy()
    trunc = np.array([False, True])
    with pytest.raises(ValueError, match=r"final_obs\[1\]: input contains NaN"):
        c.feedback(np.zeros(2), np.zeros(2, bool), trunc, [[0.0, 0.0], [np.nan, 0.0]])
    with pytest.raises(ValueError, match=r"final_obs must have shape"):
        c.feedback(np.zeros(2), np.zeros(2, bool), trunc, np.zeros(2))
    np.testing.assert_array_equal(c.core.buffer, before)
    # a row that is not read (environment 0 is not truncated) may hold anything
    c.feedback(np.zeros(2), np.zeros(2, bool), trunc, [[np.nan, 0.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match="samples must be stored steps"):
        c.gradient([2], [1.0], [1.0])  # step 1 is not stored yet
    with pytest.raises(ValueError, match=r"advantages\[0\]|advantages or returns"):
        c.gradient([0], [np.nan], [1.0])

    before = c.core.buffer.copy()
    for samples, adv, message in [([-1], [1.0], r"samples must be stored steps.*got -1"),
                                  (np.array([-1]), [1.0], r"samples must be stored steps.*got -1"),
                                  ([0.7, 1.9], [1.0, 1.0], "samples must be a 1-D array of "
                                                           "integers.*float64"),
                                  ([[0, 1]], [1.0, 1.0], r"samples must be a 1-D array.*\(1, 2\)")]:
        with pytest.raises(ValueError, match=message):
            c.gradient(samples, adv, adv)
    np.testing.assert_array_equal(c.core.buffer, before)


def test_the_memory_of_the_stored_traces_is_reported():
    c = PPO(2, 16, 2, n_envs=4, n_steps=8, n_minibatches=1, dtype=np.float32, prev_reward="none")
    ctx = int(c.c.ctx)
    cell = 4 * 16 + 4 * 16 + 2 * 16 * 2  # state (c, d, h) and traces of a linear cell, n_in 2
    assert ctx == 2 * cell  # two trunks, no extras
    assert c.context_bytes == (8 + 1) * 4 * ctx * 4
    # the size query is exact: the layout ends with the update's scratch at the buffer's end
    ffi = c.core.ffi
    end = int(ffi.cast("uintptr_t", c.c.work)) + int(c.c.work_reals) * 4
    assert end == int(ffi.cast("uintptr_t", c.core.buffer_p)) + c.memory_bytes


def test_the_hand_off_is_the_same_network_learning_online(tmp_path):
    """The checkpoint of PPO is an actor-critic's: same parameters, observation statistics
    carried over, traces zero; the exported policy's outputs are PPO's on an episode; a learner
    of another shape refuses it, naming what differs."""
    rng = np.random.default_rng(4)
    for normalize in (True, False):  # statistics carried over; then outputs compared exactly
        c = PPO(2, 8, 2, n_envs=1, n_steps=20, n_minibatches=1, dtype=np.float64, seed=3,
                n_embed=4, normalize_obs=normalize)
        c.begin_rollout()
        for t in range(20):
            c.act(rng.normal(size=(1, 2)) * 3 + 1)
            c.feedback([1.0], [t == 19], [False])
        c.gradient(np.arange(20), rng.normal(size=20), rng.normal(size=20))
        c.adam_step(0.01)
        ac = c.actor_critic()
        assert isinstance(ac, ActorCritic) and ac.steps == 20 and ac.episodes == 1
        for mine, theirs in zip(c.params(), [ac._impl.trunk_params[0], ac._impl.head_params[0],
                                             ac._impl.trunk_params[1], ac._impl.head_params[1]]):
            np.testing.assert_array_equal(mine, theirs)
        stats = ac.observation_statistics
        assert stats["count"] == 20
        np.testing.assert_array_equal(stats["mean"], c.core.view(c.c.ac.obs_mean, 2))
        assert normalize == bool(np.any(stats["mean"] != 0))
    model = CModel(InferenceModel.from_bytes(c.checkpoint_bytes()), dtype=np.float64)
    c.begin_rollout()
    for t in range(10):
        obs = rng.normal(size=(1, 2))
        actions, values, log_probs = c.act(obs)
        c.feedback([0.5], [False], [False])
        out = model.step(obs[0])
        model.feed(int(actions[0]), 0.5)
        logits = out[:2] - np.max(out[:2])
        assert values[0] == pytest.approx(out[2], abs=1e-12)
        assert log_probs[0] == pytest.approx(logits[actions[0]] - np.log(np.exp(logits).sum()),
                                             abs=1e-12)
    other = ActorCritic(2, 16, 2, dtype=np.float64)
    with pytest.raises(ValueError, match="its n_hidden is 8, the learner.s is 16"):
        other.load_bytes(c.checkpoint_bytes(), "ppo.rtu")
    ac.act(np.zeros(2))  # the hand-off learns on
    ac.learn(1.0, np.zeros(2), False, False)
    assert ac.steps == 21


def test_ppo_learns_cartpole_p_on_a_seed():
    """A short seeded run (float32, 8 environments x 64 steps, 60k steps): the mean of its last
    20 episodes passes 200 (a random policy scores about 22); ``rtu-edge train --algo ppo``
    and benchmarks/sweeps/ppo.toml hold the full results."""
    envs, spec = make_vector_env("cartpole-p", 8, 0)
    agent = PPO(2, 32, 2, seed=0, dtype=np.float32, n_envs=8, n_steps=64)
    returns = []
    train_ppo(agent, envs, spec, 60000, seed=0,
              on_episode=lambda step, ret, length: returns.append(ret))
    assert agent.steps >= 60000
    assert np.mean(returns[-20:]) > 200


def test_annealed_step_size_goes_on_after_a_stop():
    """anneal_lr: the step size falls from learning_rate at step 0 to 0 at the run's steps, and
    a run stopped after two of its four updates and started again on the same agent (as a
    resumed run is) takes the step sizes the uninterrupted run takes next."""
    def step_sizes(stop_after=None):
        envs, spec = make_vector_env("cartpole-p", 2, 0)
        agent = PPO(2, 4, 2, seed=0, dtype=np.float64, n_envs=2, n_steps=8, n_minibatches=1,
                    update_epochs=1, learning_rate=1e-3)
        taken = []
        record = lambda update, stats: taken.append(stats["learning_rate"])  # noqa: E731
        stop = (lambda: len(taken) >= stop_after) if stop_after else None
        train_ppo(agent, envs, spec, 64, on_update=record, stop=stop)
        if stop_after:
            train_ppo(agent, envs, spec, 64, on_update=record)
        return taken
    assert step_sizes() == pytest.approx([1e-3, 7.5e-4, 5e-4, 2.5e-4], rel=1e-12)
    assert step_sizes(stop_after=2) == pytest.approx(step_sizes(), rel=1e-12)


@pytest.mark.parametrize("bootstrap", [True, False])
def test_train_ppo_bootstraps_a_truncated_episode_from_its_last_observation(bootstrap,
                                                                           monkeypatch):
    """Pendulum-P's episodes are cut at 200 steps: train_ppo gives feedback the observation each
    one was cut at (the vector environment's final_obs, not the next episode's first, which act
    gets), and the rollout's reward at that step is r + gamma v(s'); without bootstrap_truncated
    no final observation goes to feedback."""
    envs, spec = make_vector_env("pendulum-p", 2, 0)
    agent = PPO(spec.obs_size, 4, 1, action_kind="continuous", seed=0, dtype=np.float64,
                n_envs=2, n_steps=210, n_minibatches=1, update_epochs=1,
                bootstrap_truncated=bootstrap)
    seen, acted, feedback, act = [], [], agent.feedback, agent.act

    def record_feedback(rewards, terminated, truncated, final_obs=None):
        out = feedback(rewards, terminated, truncated, final_obs)
        seen.append((np.array(truncated), None if final_obs is None else np.array(final_obs),
                     out))
        return out
    agent.feedback = record_feedback
    agent.act = lambda obs: acted.append(np.array(obs)) or act(obs)
    targets = []  # the rewards GAE gets
    monkeypatch.setattr(ppo_module, "gae", lambda rewards, *a: targets.append(rewards.copy())
                        or gae(rewards, *a))
    train_ppo(agent, envs, spec, 420)
    ends = [t for t, (trunc, _, _) in enumerate(seen) if trunc.any()]
    assert ends == [199]  # both environments' first episodes
    for t, (trunc, final_obs, (scaled, final_values)) in enumerate(seen):
        if t != 199 or not bootstrap:
            assert final_obs is None and not final_values.any()
            continue
        assert trunc.all() and np.all(final_values != 0)
        assert not np.allclose(final_obs, acted[200])  # the cut episode's, not the new one's
    for t, (_, _, (scaled, final_values)) in enumerate(seen[:210]):
        np.testing.assert_allclose(targets[0][t], scaled + agent.config.gamma * final_values,
                                   rtol=0, atol=1e-12)


def test_train_ppo_refuses_a_next_step_vector_environment():
    """gymnasium's default autoreset (NEXT_STEP) spends the step after an episode's end on the
    reset: train_ppo refuses such a vector environment, naming envs, before the agent acts;
    one made in SAME_STEP mode trains, each CartPole-P episode as long as its return."""
    gym = pytest.importorskip("gymnasium")
    agent = PPO(2, 4, 2, seed=0, dtype=np.float64, n_envs=2, n_steps=32, n_minibatches=1,
                update_epochs=1)
    before = agent.checkpoint_bytes()
    _, spec = make_vector_env("cartpole-p", 2, 0)
    envs = gym.make_vec("rtu_edge/CartPoleP-v0", num_envs=2, vectorization_mode="sync")
    with pytest.raises(ValueError, match=r"envs: autoreset mode .*NEXT_STEP is not supported.*"
                                         r"use SAME_STEP"):
        train_ppo(agent, envs, spec, 64)
    assert agent.steps == 0 and agent.checkpoint_bytes() == before
    envs = gym.make_vec("rtu_edge/CartPoleP-v0", num_envs=2, vectorization_mode="sync",
                        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP})
    episodes = []
    train_ppo(agent, envs, spec, 64, on_episode=lambda step, ret, length:
              episodes.append((ret, length)))
    assert episodes and all(ret == length for ret, length in episodes)


def _trained(network, dtype, n_hidden=4, updates=2):
    """A PPO of network (cartpole-p, 2 environments x 8 steps) after updates updates."""
    envs, spec = make_vector_env("cartpole-p", 2, 0)
    agent = PPO(2, n_hidden, 2, seed=0, dtype=dtype, n_envs=2, n_steps=8, n_minibatches=2,
                update_epochs=2, network=network)
    train_ppo(agent, envs, spec, 16 * updates)
    return agent


def _moments(agent):
    core, c = agent.core, agent.c
    return (agent.adam_steps, core.view(c.adam_m, int(c.n_grad)).copy(),
            core.view(c.adam_v, int(c.n_grad)).copy())


def _resealed(data: bytes, offset: int, value: float, dtype) -> bytes:
    """data with the real (of dtype) at offset replaced, its CRC made right again."""
    b = bytearray(data)
    struct.pack_into("<d" if dtype == np.float64 else "<f", b, offset, value)
    struct.pack_into("<I", b, len(b) - 4, zlib.crc32(bytes(b[:-4])))
    return bytes(b)


def test_load_bytes_reads_a_checkpoint_as_the_actor_critic_does():
    """PPO.load_bytes upgrades a version-4 checkpoint and then holds its hyperparameters (config,
    which train_ppo takes gamma from, is the checkpoint's, as the network runs with them); a
    checkpoint of another learner, precision or network is refused naming what differs, changing
    nothing."""
    from rtu_edge import TDLambda
    from test_ac_checkpoint import as_version_4
    source = ActorCritic(2, 8, 2, seed=1, dtype=np.float32, gamma=0.9, entropy_coef=0.05,
                         phase_step_scale=1.0)
    data = source.checkpoint_bytes()
    agent = PPO(2, 8, 2, dtype=np.float32, n_envs=2, n_steps=4, n_minibatches=1)
    before, config = agent.checkpoint_bytes(), agent.config
    for other, message in [
            (TDLambda(2, 8, dtype=np.float32).checkpoint_bytes(), r"holds a TD\(lambda\) learner"),
            (ActorCritic(2, 8, 2, dtype=np.float64).checkpoint_bytes(),
             r"does not match this learner: its bytes per real .* is 8, the learner's is 4"),
            (ActorCritic(2, 8, 2, dtype=np.float32, n_head=4).checkpoint_bytes(),
             "does not match this learner: its n_head is 4, the learner's is 64"),
            (agent.adam_bytes(), "holds PPO's Adam state")]:
        with pytest.raises(ValueError, match="checkpoint other.rtu " + message):
            agent.load_bytes(other, "other.rtu")
        assert agent.checkpoint_bytes() == before and agent.config == config
    agent.load_bytes(as_version_4(data), "v4.rtu")
    assert agent.config == source.config and agent.config.gamma != config.gamma
    assert agent.checkpoint_bytes() == data


@pytest.mark.parametrize("network, dtype", [
    (ACNetwork(n_head=3), np.float64),
    (ACNetwork(n_embed=3, shared=True, prev_action=True), np.float32)])
def test_adam_state_goes_with_the_checkpoint_and_refuses_what_does_not_fit(network, dtype):
    """adam_bytes (learner type 3) holds Adam's step count and moments, as the independent
    decoder reads them; a PPO that loads the checkpoint and then the Adam state of the same step
    has the saved optimizer exactly. Another network's
    or another step's state, an actor-critic checkpoint, a corrupted file, NaN, a negative second
    moment or moments before the first step are refused by name, changing nothing."""
    agent = _trained(network, dtype)
    data, adam = agent.checkpoint_bytes(), agent.adam_bytes()
    steps, m, v = _moments(agent)
    assert steps == 2 * 2 * 2 and np.any(m != 0) and np.all(v >= 0)
    decoded = ck.decode_ppo_adam(adam)
    assert (decoded.steps, decoded.adam_steps) == (agent.steps, steps)
    np.testing.assert_array_equal(decoded.adam_m, m)
    np.testing.assert_array_equal(decoded.adam_v, v)
    dims = checkpoint.read_dims(adam, "adam.rtu")
    assert (dims.learner, dims.bytes, dims.steps) == ("ppo-adam", len(adam), agent.steps)
    assert dims.network == network

    resumed = PPO(2, 4, 2, seed=5, dtype=dtype, n_envs=2, n_steps=8, n_minibatches=2,
                  update_epochs=2, network=network)
    fresh = _moments(resumed)
    with pytest.raises(ValueError, match="another step than the network's"):
        resumed.load_adam_bytes(adam, "adam.rtu")  # before its checkpoint: step 0
    resumed.load_bytes(data, "checkpoint.rtu")
    bad = {"an actor-critic checkpoint": (data, "not PPO's Adam state"),
           "corrupted": (adam[:100] + bytes([adam[100] ^ 1]) + adam[101:], "CRC"),
           "NaN": (_resealed(adam, 88 + 8, float("nan"), dtype), "NaN or Inf in adam_m"),
           "negative v": (_resealed(adam, len(adam) - 4 - np.dtype(dtype).itemsize, -1.0, dtype),
                          "adam_v below 0"),
           "other network": (_trained(network, dtype, n_hidden=5, updates=1).adam_bytes(),
                             "another network")}
    zero = bytearray(adam)
    struct.pack_into("<Q", zero, 88, 0)
    struct.pack_into("<I", zero, len(zero) - 4, zlib.crc32(bytes(zero[:-4])))
    bad["moments at step 0"] = (bytes(zero), "adam_m not zero before the first Adam step")
    for name, (blob, match) in bad.items():
        with pytest.raises(ValueError, match=f"adam.rtu is refused: .*{match}"):
            resumed.load_adam_bytes(blob, "adam.rtu")
        for before, after in zip(fresh, _moments(resumed)):
            np.testing.assert_array_equal(before, after)
    with pytest.raises(ValueError, match="holds PPO's Adam state .*, not an actor-critic"):
        ActorCritic.from_bytes(adam, "adam.rtu")

    resumed.load_adam_bytes(adam, "adam.rtu")
    for mine, theirs in zip(_moments(agent), _moments(resumed)):
        np.testing.assert_array_equal(mine, theirs)
    assert resumed.adam_bytes() == adam
    resumed.load_bytes(data, "checkpoint.rtu")  # a checkpoint alone: Adam starts again
    for before, after in zip(fresh, _moments(resumed)):
        np.testing.assert_array_equal(before, after)


def test_train_algo_ppo_writes_a_run_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--task", "cartpole-p", "--steps", "3000", "--algo", "ppo", "--n-envs", "4",
            "--n-steps", "32", "--hidden", "8", "--out", str(out), "--checkpoint-every", "1000"]
    assert main(argv) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["algo"] == "ppo" and config["ppo"]["n_envs"] == 4
    with open(out / "metrics.csv", newline="") as f:
        assert list(csv.DictReader(f))
    ac = ActorCritic.from_checkpoint(out / "checkpoint.rtu")
    assert ac.steps >= 3000

    def adam_steps():  # adam.rtu beside checkpoint.rtu, of its step
        adam = ck.decode_ppo_adam((out / "adam.rtu").read_bytes())
        assert adam.steps == ActorCritic.from_checkpoint(out / "checkpoint.rtu").steps
        return adam.adam_steps
    assert adam_steps() == 24 * 4 * 4  # 24 updates of 128 steps, 4 epochs of 4 minibatches
    assert main(["train", "--resume", "--out", str(out), "--steps", "4500"]) == 0
    assert ActorCritic.from_checkpoint(out / "checkpoint.rtu").steps >= 4500
    assert adam_steps() == 36 * 4 * 4  # Adam went on from its 384 steps
    assert "Adam" not in capsys.readouterr().err
    assert main(["eval", "--checkpoint", str(out / "checkpoint.rtu"), "--task",
                 "cartpole-p-long", "--episodes", "2"]) == 0
    capsys.readouterr()


def test_resumed_ppo_run_keeps_its_checkpoints_network(tmp_path):
    """--resume builds PPO on the checkpoint's network, as an actor-critic run resumes on its
    own: a run whose config.json does not name a field the default of which changed since (here
    prev_reward, made "none" by the checkpoint and missing from config.json, as in runs of
    before the gated sign's default) goes on with the network it trained."""
    out = tmp_path / "run"
    argv = ["train", "--task", "cartpole-p", "--steps", "256", "--algo", "ppo", "--n-envs", "4",
            "--n-steps", "32", "--hidden", "4", "--prev-reward", "none", "--out", str(out)]
    assert main(argv) == 0
    config = json.loads((out / "config.json").read_text())
    del config["network"]["prev_reward"]  # as a run of the earlier default recorded it
    (out / "config.json").write_text(json.dumps(config))
    assert main(["train", "--resume", "--out", str(out), "--steps", "512"]) == 0
    ac = ActorCritic.from_checkpoint(out / "checkpoint.rtu")
    assert ac.steps >= 512 and ac.network.prev_reward == "none"


def test_resumed_ppo_run_with_a_bad_or_stale_adam_state(tmp_path, capsys):
    """A corrupted adam.rtu stops --resume with one line naming it (nothing written); one of
    another step (a run stopped between writing adam.rtu and checkpoint.rtu) or none resumes
    with Adam started again, said on stderr."""
    out = tmp_path / "run"
    argv = ["train", "--task", "cartpole-p", "--steps", "512", "--algo", "ppo", "--n-envs", "4",
            "--n-steps", "32", "--hidden", "4", "--out", str(out)]
    assert main(argv) == 0
    adam, ckpt = (out / "adam.rtu").read_bytes(), (out / "checkpoint.rtu").read_bytes()
    (out / "adam.rtu").write_bytes(adam[:-1] + bytes([adam[-1] ^ 1]))
    capsys.readouterr()
    assert main(["train", "--resume", "--out", str(out), "--steps", "1024"]) == 2
    err = capsys.readouterr().err
    assert "adam.rtu" in err and "corrupted" in err and len(err.strip().splitlines()) == 1
    assert (out / "checkpoint.rtu").read_bytes() == ckpt
    stale = bytearray(adam)
    struct.pack_into("<Q", stale, 40, 128)
    struct.pack_into("<I", stale, len(stale) - 4, zlib.crc32(bytes(stale[:-4])))
    (out / "adam.rtu").write_bytes(bytes(stale))
    (out / ".adam.rtu.k1ll3d.tmp").write_bytes(adam[:50])  # a kill while adam.rtu was written
    assert main(["train", "--resume", "--out", str(out), "--steps", "1024"]) == 0
    assert not list(out.glob("*.tmp"))
    assert "of step 128, the checkpoint of step 512: Adam's moments start again" in \
        capsys.readouterr().err
    assert ck.decode_ppo_adam((out / "adam.rtu").read_bytes()).adam_steps == 4 * 4 * 4
    (out / "adam.rtu").unlink()
    assert main(["train", "--resume", "--out", str(out), "--steps", "1536"]) == 0
    assert "adam.rtu is missing: Adam's moments start again" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--clip-coef", "0.1"], "--clip-coef: clip_coef is a PPO setting"),
    (["--algo", "ppo", "--n-minibatches", "3"], "--n-minibatches: n_minibatches must divide"),
    (["--algo", "ppo", "--backend", "reference"], "--backend: --algo ppo runs on the C core"),
    (["--algo", "ppo", "--agent", "random"], "--algo: ppo trains the actor-critic's network"),
])
def test_train_refuses_bad_ppo_settings(tmp_path, capsys, argv, message):
    out = tmp_path / "run"
    assert main(["train", "--task", "cartpole-p", "--steps", "100", "--out", str(out),
                 *argv]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
