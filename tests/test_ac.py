"""Streaming actor-critic on the streaming network: C and reference agree (float64 to 1e-9 over
1000 steps, float32 takes the same actions for 200), for discrete and continuous actions and for
separate and shared networks; it learns CartPole with hidden velocities; its views (params,
value, policy) and exact memory; and it refuses bad input and configuration without changing."""

import struct
import zlib

import numpy as np
import pytest

from rtu_edge import ACConfig, ActorCritic
from rtu_edge.reference.config import ACNetwork
from rtu_edge.tasks import make_env

TASKS = {"discrete": ("cartpole-p", 2), "continuous": ("pendulum-p", 1)}


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


def learner(backend="c", dtype=np.float64, kind="nonlinear", n_hidden=16, action_kind="discrete",
            **kw):
    return ActorCritic(2, n_hidden, TASKS[action_kind][1], action_kind=action_kind, kind=kind,
                       seed=4, backend=backend, dtype=dtype, **kw)


def relative(a, ref):
    return np.max(np.abs(np.asarray(a, dtype=float) - ref)) / max(np.max(np.abs(ref)), 1e-300)


#: every part of the network: an input layer, the previous action and reward as inputs (the
#: package's default network has none of them; it is PARITY's last two cases)
FULL = {"n_embed": 32, "n_head": 32, "prev_action": True, "prev_reward": "normalized"}
PARITY = [("discrete", False, "linear", FULL), ("discrete", False, "nonlinear", FULL),
          ("discrete", True, "nonlinear", FULL), ("continuous", False, "nonlinear", FULL),
          ("continuous", True, "linear", FULL), ("discrete", False, "lru", FULL),
          ("continuous", True, "lru", FULL), ("discrete", False, "linear", {}),
          ("continuous", False, "linear", {})]


@pytest.mark.parametrize("action_kind,shared,kind,network", PARITY)
def test_c_float64_matches_reference_over_1000_steps(action_kind, shared, kind, network):
    """tanh: a smooth activation. (With relu, a rounding difference at relu's kink changes one
    update by a finite amount, so trajectories part at such an event; that is not a defect.)
    Every parameter of every network within 1e-9 of the reference's, relative to its array, after
    1000 steps; the same actions (discrete), or continuous actions within 1e-8 relative: learning
    amplifies rounding differences (here from 1e-14 at step 500 to 1e-10 in the parameters at step
    1000), and an action, an output of the network, deviates more than the parameters do (5e-9 at
    the worst of the 1000 steps, continuous-True-linear)."""
    task = TASKS[action_kind][0]
    ref = learner("reference", kind=kind, action_kind=action_kind, shared=shared, **network)
    c = learner("c", kind=kind, action_kind=action_kind, shared=shared, **network)
    a_ref, r_ref = run(ref, task, 1000)
    a_c, r_c = run(c, task, 1000)
    if action_kind == "discrete":
        assert np.array_equal(a_ref, a_c) and r_ref == r_c and len(r_ref) > 10
    else:
        assert relative(a_c, a_ref) < 1e-8 and len(r_ref) == 5
    assert c.params.keys() == ref.params.keys()
    for key, value in ref.params.items():
        assert relative(c.params[key], value) < 1e-9, key
    assert c.steps == ref.steps == 1000 and c.episodes == ref.episodes
    obs = np.ones(2) if c.expected_obs is None else c.expected_obs
    if action_kind == "discrete":
        assert c.act(obs) == ref.act(obs)
    else:  # on the scale of the run's actions (the next action alone may be near 0)
        assert np.max(np.abs(c.act(obs) - ref.act(obs))) < 1e-8 * np.max(np.abs(a_ref))
    assert abs(c.value() - ref.value()) < 1e-8 * max(1.0, abs(ref.value()))


@pytest.mark.parametrize("action_kind,shared", [("discrete", False), ("discrete", True),
                                                ("continuous", False), ("continuous", True)])
def test_float32_follows_the_same_actions_for_200_steps(action_kind, shared):
    """The float32 C learner against the reference over 200 steps: the same discrete actions;
    continuous actions equal to float32 rounding (the Gaussian's draws are the same), amplified by
    learning: within 1e-4 for the first 100 steps, 1e-3 for all 200. (The previous-reward input
    normalises rewards by their running std: consecutive Pendulum rewards differ by about 1e-2
    early on, so float32's rounding of a reward, about 5e-7, is a relative 1e-4 of that input.)"""
    task = TASKS[action_kind][0]
    a64, _ = run(learner("reference", action_kind=action_kind, shared=shared, **FULL), task, 200)
    a32, _ = run(learner("c", np.float32, action_kind=action_kind, shared=shared, **FULL), task,
                 200)
    if action_kind == "discrete":
        assert np.array_equal(a64, a32)
    else:
        assert np.max(np.abs(a32 - a64)[:100]) < 1e-4
        assert np.max(np.abs(a32 - a64)) < 1e-3


@pytest.mark.parametrize("mode,normalize_obs", [("sign", True), ("centered_sign", True),
                                                ("centered_sign", False), ("gated_sign", False)])
def test_the_reward_sign_input_and_its_statistics_match_the_reference(mode, normalize_obs):
    """prev_reward "sign": the previous reward enters x as -1, 0 or 1; "centered_sign" as that
    sign less the mean of the signs so far (its own among them) whatever normalize_obs;
    "gated_sign" as 0 while every sign so far was the same, the sign after; in C and the
    reference alike (the rewards here are costs for 20 steps, then change sign and size, and are
    0 at times); the statistics stay zero for the plain sign and are the signs' mean and sum of
    squared deviations otherwise, while the count counts; float64 C follows the reference,
    parameters within 1e-9."""
    rng = np.random.default_rng(5)
    rewards = np.concatenate([rng.choice([-3.5, -0.01], size=20),
                              rng.choice([-3.5, -0.01, 0.0, 0.2, 7.0], size=280)])
    obs = rng.normal(size=(301, 2))
    net = ACNetwork(prev_action=True, prev_reward=mode)
    learners = [learner(backend, network=net, normalize_obs=normalize_obs)
                for backend in ("reference", "c")]
    actions = [[], []]
    for t in range(300):
        for i, ac in enumerate(learners):
            actions[i].append(ac.act(obs[t]))
            ac.learn(float(rewards[t]), obs[t + 1], False, t % 50 == 49)
        ref, c = learners
        x_ref = ref._impl.impl.x
        x_c = c._impl.core.view(c._impl.ac.x, len(x_ref))
        if t % 50 != 49:  # (after an episode's end x is the next act's, zero extras)
            signs = np.sign(rewards[:t + 1])
            want = {"sign": signs[-1], "centered_sign": signs[-1] - np.mean(signs),
                    "gated_sign": signs[-1] * (len(set(signs)) > 1)}[mode]
            assert x_ref[-1] == pytest.approx(want, abs=1e-12), t
            assert x_c[-1] == x_ref[-1], t
    assert np.array_equal(actions[0], actions[1])
    signs = np.sign(rewards)
    for ac in learners:
        stats = ac.prev_reward_statistics
        if mode != "sign":
            assert stats["count"] == 300
            assert stats["mean"] == pytest.approx(np.mean(signs), abs=1e-12)
            assert stats["m2"] == pytest.approx(300 * np.var(signs), rel=1e-12)
        else:
            assert stats == {"mean": 0.0, "m2": 0.0, "count": 300}
    for key, value in learners[0].params.items():
        assert relative(learners[1].params[key], value) < 1e-9, key


@pytest.mark.parametrize("mode", ["centered_sign", "gated_sign"])
def test_the_centered_and_gated_reward_signs_are_zero_where_every_reward_has_one_sign(mode):
    """A cost on every step (Pendulum's rewards): the sign is a constant -1, the centred and the
    gated sign 0 from the first step on, so the input carries no offset for the RTU to sum; in
    float32 C as in the reference. Once a reward of the other sign comes, the gated sign is the
    sign from then on."""
    for backend, dtype in (("c", np.float32), ("reference", np.float64)):
        ac = learner(backend, network=ACNetwork(prev_reward=mode), dtype=dtype)
        rng = np.random.default_rng(7)
        obs = rng.normal(size=2)
        for t in range(60):
            ac.act(obs)
            obs = rng.normal(size=2)
            reward = -float(rng.random()) - 0.1 if t != 50 else 0.5
            ac.learn(reward, obs, False, False)
            x = (ac._impl.core.view(ac._impl.ac.x, ac.n_x) if backend == "c"
                 else ac._impl.impl.x)
            if t < 50:
                assert x[-1] == 0.0, t
            elif mode == "gated_sign":
                assert x[-1] == np.sign(reward), t
        if mode == "centered_sign":
            assert ac.prev_reward_statistics["count"] == 60


def test_prev_reward_is_one_of_the_four_inputs():
    for bad in ("signs", True, 1, None):
        with pytest.raises(ValueError, match="prev_reward must be one of .'none', 'normalized', "
                                             "'sign', 'centered_sign', 'gated_sign'., got"):
            ACNetwork(prev_reward=bad)


def test_memoryless_and_plain_networks_match_the_reference():
    """The other shapes: no input layer and linear heads; the memoryless baseline."""
    for network in (ACNetwork(n_embed=0, n_head=0),
                    ACNetwork(memoryless=True, prev_action=False, prev_reward="none"),
                    ACNetwork(memoryless=True, prev_action=True, prev_reward="normalized")):
        ref = learner("reference", network=network)
        c = learner("c", network=network)
        a_ref, _ = run(ref, "cartpole-p", 300)
        assert np.array_equal(run(c, "cartpole-p", 300)[0], a_ref)
        for key, value in ref.params.items():
            assert relative(c.params[key], value) < 1e-9, (network, key)


def test_learns_cartpole_with_hidden_velocities():
    """80k steps with the defaults, one seeded run (about 10 s): the last 20 episodes return
    several times what the starting policy did. Returns vary between seeds; the sweeps report the
    spread."""
    ac = ActorCritic(2, 32, 2, kind="nonlinear", seed=0, dtype=np.float32)
    _, returns = run(ac, "cartpole-p", 80000)
    first, last = np.mean(returns[:20]), np.mean(returns[-20:])
    assert last > 3 * first and last > 200, (first, last)


def buffer_reals(d, n, A, m, k, shared, prev_action, prev_reward, continuous, kind="nonlinear"):
    """rtu_ac.h's RTU_AC_REALS, written out: the trunks (input layer, its LN output and e, the
    cell), both heads' params, z_v and z_pi, the heads' activations, the scratch, the inputs and
    statistics and the action."""
    n_x = d + (A if prev_action else 0) + (1 if prev_reward != "none" else 0)
    n_e = m if m else n_x
    cell_params = 2 * n + 2 * n * n_e
    # params, state (c, d, h), RTRL traces, the derived cache (nu, theta, g, phi, eta, deta), the
    # scratch (2n)
    cell_reals = (cell_params + 4 * n + 4 * n + (4 if kind == "nonlinear" else 2) * n * n_e +
                  6 * n + 2 * n)
    if kind == "lru":  # the readout c_re, c_im (2n x n), d_skip (2n x n_e); x
        cell_params += 4 * n * n + 2 * n * n_e
        cell_reals += 4 * n * n + 2 * n * n_e + n_e
    embed = m * (n_x + 1)
    o = 2 * A if continuous else A
    head = lambda out: k * (2 * n + 1) + out * (k + 1) if k else out * (2 * n + 1)  # noqa: E731
    trunks = (1 if shared else 2) * (embed + 2 * m + cell_reals)
    heads = head(1) + head(o)
    traces = 2 * (embed + cell_params) + heads
    activations = 2 * k + 1 + 2 * k + o
    scratch = (2 * m + 2 * n + 2 * k) + (o + k + 2 * n + m) + o
    return trunks + heads + traces + activations + scratch + 2 * n_x + 3 * d + A


@pytest.mark.parametrize("kwargs", [{}, {"shared": True}, {"n_embed": 0, "n_head": 0},
                                    {"n_embed": 5, "n_head": 3, "prev_reward": "none"},
                                    {"action_kind": "continuous"},
                                    {"memoryless": True, "prev_action": False,
                                     "prev_reward": "none"},
                                    {"kind": "lru"}, {"kind": "lru", "n_embed": 0, "shared": True}])
def test_memory_is_exact(kwargs):
    net = ACNetwork(**{k: v for k, v in kwargs.items() if k not in ("action_kind", "kind")})
    action_kind = kwargs.get("action_kind", "discrete")
    A = TASKS[action_kind][1]
    expected = buffer_reals(2, 16, A, net.n_embed, net.n_head, net.shared, net.prev_action,
                            net.prev_reward, action_kind == "continuous",
                            kwargs.get("kind", "nonlinear"))
    assert learner(**kwargs).memory_bytes == expected * 8 == learner("reference", **kwargs) \
        .memory_bytes
    assert learner("c", np.float32, **kwargs).memory_bytes == expected * 4


def test_params_value_and_policy_views():
    """params: copies by network and layer; value and policy: at the held observation, the same
    on both backends, and refused when no observation is held."""
    for backend in ("c", "reference"):
        ac = learner(backend, n_hidden=4, n_embed=6, n_head=5, prev_action=True, prev_reward="normalized")
        p = ac.params
        assert ac.n_x == 2 + 2 + 1
        for net, o in (("critic", 1), ("actor", 2)):
            assert p[f"{net}.W_in"].shape == (6, 5) and p[f"{net}.b_in"].shape == (6,)
            assert p[f"{net}.w_c"].shape == (4, 6) and p[f"{net}.nu_log"].shape == (4,)
            assert p[f"{net}.W_1"].shape == (5, 8) and p[f"{net}.W_2"].shape == (o, 5)
            assert np.count_nonzero(p[f"{net}.W_in"]) == 6  # sparsity 0.9: 1 of 5 per unit
            assert not np.any(p[f"{net}.b_in"]) and not np.any(p[f"{net}.b_2"])
        p["critic.W_in"][:] = 7.0
        assert not np.any(ac.params["critic.W_in"] == 7.0)  # a copy
        with pytest.raises(RuntimeError, match="act first"):
            ac.value()
        ac.act(np.array([0.1, -0.2]))
        probs = ac.policy()["probs"]
        assert probs.shape == (2,) and abs(probs.sum() - 1) < 1e-12
        ac.learn(1.0, np.array([0.2, 0.1]), False, False)
        v = ac.value()
        ac.act(np.array([0.2, 0.1]))
        assert ac.value() == v  # act on the held observation does not move anything
        ac.learn(1.0, np.zeros(2), True, False)
        with pytest.raises(RuntimeError, match="policy"):
            ac.policy()
    shared = learner(n_hidden=4, shared=True)
    assert {k.split(".")[0] for k in shared.params} == {"shared", "critic", "actor"}
    assert "critic.nu_log" not in shared.params and "actor.W_2" in shared.params


def test_continuous_std_is_bounded_and_state_dependent():
    """std = min(std_min + softplus(pre), std_max): within its bounds, different in different
    states; with std_max below std_min + softplus(pre) it is std_max exactly."""

    def stds(ac):
        out = []
        for obs in ([0.0, 1.0], [1.0, -1.0], [-1.0, 0.0]):
            ac.begin_episode()
            ac.act(np.array(obs))
            pol = ac.policy()
            assert pol["mean"].shape == pol["std"].shape == (1,)
            out.append(pol["std"][0])
        ac.begin_episode()
        return out

    ac = learner(action_kind="continuous")
    run(ac, "pendulum-p", 300)
    got = stds(ac)
    assert all(0.01 <= s <= 2.0 for s in got) and len(set(got)) == 3
    assert stds(learner(action_kind="continuous", std_min=0.1, std_max=0.5)) == [0.5] * 3


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


@pytest.mark.parametrize("backend", ["c", "reference"])
@pytest.mark.parametrize("kwargs,name", [
    ({"n_actions": 1}, "n_actions"), ({"n_actions": 70000}, "n_actions"),
    ({"n_actions": 0, "action_kind": "continuous"}, "n_actions"),
    ({"n_actions": 2.0}, "n_actions"), ({"action_kind": "both"}, "action_kind"),
    ({"gamma": 2.0}, "gamma"), ({"alpha": -1.0}, "alpha"),
    ({"entropy_coef": -0.1}, "entropy_coef"), ({"kappa_policy": 0.0}, "kappa_policy"),
    ({"optimizer": "adam"}, "optimizer"), ({"sparsity": 1.5}, "sparsity"),
    ({"std_min": 0.0}, "std_min"), ({"std_min": 1.0, "std_max": 0.5}, "std_max"),
    ({"phase_step_scale": 1.5}, "phase_step_scale"),
    ({"phase_step_scale": -0.5}, "phase_step_scale"), ({"n_embed": -1}, "n_embed"), ({"n_embed": 1}, "n_embed"), ({"n_head": 1}, "n_head"),
    ({"n_embed": 70000}, "n_embed"), ({"n_head": 1.5}, "n_head"),
    ({"n_head": 70000}, "n_head"), ({"shared": 2}, "shared"),
    ({"memoryless": 2}, "memoryless"), ({"network": "big"}, "network"),
    ({"config": ACNetwork()}, "config")])
def test_bad_configuration_names_the_argument(backend, kwargs, name):
    args = {"n_actions": 2, "backend": backend}
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        ActorCritic(2, 4, **args)


@pytest.mark.parametrize("backend", ["c", "reference"])
@pytest.mark.parametrize("n_embed", [0, 8])
def test_network_input_beyond_max_dim_is_refused(backend, n_embed):
    """n_in at RTU_MAX_DIM, so the network's input with the previous action and reward, or with the
    default network's one extra input (the gated sign), is beyond it: refused, naming n_in (the C
    core used to lay out a cell it could not build, and crash)."""
    for extras in (dict(prev_action=True, prev_reward="normalized"), {}):
        with pytest.raises(ValueError, match="n_in: the network's input"):
            ActorCritic(65536, 1, 2, n_embed=n_embed, backend=backend, **extras)
    ac = ActorCritic(65536, 1, 2, n_embed=n_embed, prev_reward="none")  # no extra input
    assert ac.n_x == 65536 and ac.act(np.zeros(65536)) in (0, 1)
    assert ActorCritic(65535, 1, 2, n_embed=n_embed).n_x == 65536  # the default network


def test_std_bounds_refused_by_the_c_core_state_the_rule_across_them():
    """std_max below std_min had been refused with its own rule, "std_max must lie in (0, inf),
    got 1.0", which 1.0 obeys; the rule is std_min < std_max, in the C core's precision too."""
    with pytest.raises(ValueError) as err:
        ActorCritic(2, 8, 2, std_min=2, std_max=1)
    assert str(err.value) == "std_max must exceed std_min (2.0), got 1.0"
    with pytest.raises(ValueError) as err:  # apart in float64, equal in float32
        ActorCritic(2, 8, 2, std_min=1.0, std_max=1.00000001, dtype=np.float32)
    assert str(err.value) == "std_max must exceed std_min (1.0), got 1.0 (in float32)"
    with pytest.raises(ValueError) as err:  # a field's own rule as before
        ActorCritic(2, 8, 2, gamma=2.0)
    assert str(err.value) == "gamma must lie in [0, 1], got 2.0"


def test_unknown_keyword_lists_config_and_network_fields():
    with pytest.raises(TypeError, match="n_embed"):
        ActorCritic(2, 4, 2, n_embedding=3)


def test_config_and_network_come_from_objects_or_keywords():
    ac = ActorCritic(2, 4, 2, config=ACConfig(alpha=0.5), network=ACNetwork(n_head=0),
                     gamma=0.9, shared=True)
    assert (ac.config.alpha, ac.config.gamma) == (0.5, 0.9)
    assert ac.network == ACNetwork(n_head=0, shared=True)
    assert ActorCritic(2, 4, 2).network == ACNetwork()  # the package's defaults


@pytest.mark.parametrize("backend", ["c", "reference"])
def test_phase_step_scale_scales_the_phases_step_and_only_it(backend):
    """phase_step_scale multiplies the step of each RTU's theta_log, on the critic and the actor,
    and changes no other parameter's step: one learn from the same state (a checkpoint taken
    after 5 steps, its phase_step_scale set to 1, 0.5 and 0) with each."""
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(7, 2))
    ac = learner(backend)
    for t in range(5):
        ac.act(obs[t])
        ac.learn(1.0, obs[t + 1], False, False)
    data = bytearray(ac.checkpoint_bytes())
    steps = {}
    for scale in (1.0, 0.5, 0.0):
        at = 88 + 56 + 9 * 8  # the config's tenth real, phase_step_scale (rtu_ckpt.h)
        struct.pack_into("<d", data, at, scale)
        struct.pack_into("<I", data, len(data) - 4, zlib.crc32(data[:-4]))
        twin = ActorCritic.from_bytes(bytes(data), backend=backend)
        assert twin.config.phase_step_scale == scale
        before = twin.params
        twin.act(obs[5])
        twin.learn(-1.0, obs[6], False, False)
        steps[scale] = {k: v - before[k] for k, v in twin.params.items()}
    for name, full in steps[1.0].items():
        if name.endswith("theta_log"):
            assert np.max(np.abs(full)) > 1e-9, name  # the phases did step
            assert np.allclose(steps[0.5][name], 0.5 * full, rtol=1e-9, atol=1e-15), name
            assert np.all(steps[0.0][name] == 0), name
        else:
            assert np.array_equal(steps[0.5][name], full), name
            assert np.array_equal(steps[0.0][name], full), name


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
    """begin_episode drops a pending act and the networks' memory, as an episode end does
    (without counting one): the next act takes any observation, and C and reference stay
    together."""
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


def test_reward_statistics_are_the_reward_scalings_on_both_backends():
    """reward_statistics: the discounted return trace u = gamma (1 - terminated) u + r and its
    Welford statistics, one return added per learn; the same on the C core and the reference."""
    env, spec = make_env("cartpole-p", 0)
    learners = [ActorCritic(spec.obs_size, 4, spec.n_actions, seed=3, backend=b, n_embed=0,
                            n_head=0) for b in ("c", "reference")]
    gamma, u, traces = learners[0].config.gamma, 0.0, []
    obs, _ = env.reset(seed=0)
    for _ in range(60):
        actions = [ac.act(obs) for ac in learners]
        assert actions[0] == actions[1]
        obs2, r, term, trunc, _ = env.step(actions[0])
        for ac in learners:
            ac.learn(r, obs2, term, trunc)
        u = gamma * (0.0 if term else 1.0) * u + r
        traces.append(u)
        obs = env.reset()[0] if term or trunc else obs2
    for ac in learners:
        stats = ac.reward_statistics
        assert stats["count"] == 60
        assert stats["trace"] == pytest.approx(u, rel=1e-12)
        assert stats["mean"] == pytest.approx(np.mean(traces), rel=1e-9)
        assert stats["m2"] == pytest.approx(np.sum((np.array(traces) - np.mean(traces)) ** 2),
                                            rel=1e-9)


def _input(ac) -> np.ndarray:
    """A copy of x, the input the networks hold (rtu_ac.x; the reference's AC.x)."""
    impl = ac._impl
    if ac.backend == "c":
        return np.array(impl.core.view(impl.ac.x, ac.n_x))
    return impl.impl.x.copy()


@pytest.mark.parametrize("normalize_obs", [True, False])
@pytest.mark.parametrize("backend", ["c", "reference"])
def test_previous_reward_input_is_normalised_like_an_observation(backend, normalize_obs):
    """With prev_reward "normalized", x's last entry after learn(r, ..) is (r - mean) / sqrt(var + 1e-8) over
    the raw rewards seen so far, r included (var the sample variance, 1 until two rewards), as an
    observation entry is: rewards of +-1/51 give an input of about 1, not the scaled reward's
    +-0.04 (the TD error's r~ is unchanged). With normalize_obs off, the raw reward. Zero at an
    episode's first step."""
    rng = np.random.default_rng(5)
    ac = ActorCritic(2, 4, 2, seed=3, backend=backend, n_embed=0, n_head=0,
                     prev_reward="normalized", normalize_obs=normalize_obs)
    rewards, obs = [], rng.normal(size=2)
    for t in range(40):
        ac.act(obs)
        if t == 25:  # a new episode: no previous reward
            assert _input(ac)[-1] == 0.0
        r = float(rng.choice([-1.0, 1.0]) / 51 + (0.5 if t % 7 == 0 else 0.0))
        rewards.append(r)
        obs = rng.normal(size=2)
        ac.learn(r, obs, False, t == 24)
        if t == 24:
            continue
        seen = np.array(rewards)
        var = np.var(seen, ddof=1) if len(seen) >= 2 else 1.0
        want = (r - seen.mean()) / np.sqrt(var + 1e-8) if normalize_obs else r
        assert _input(ac)[-1] == pytest.approx(want, rel=1e-12, abs=1e-14), t
    stats = ac.prev_reward_statistics
    assert stats["count"] == 40
    if normalize_obs:
        assert stats["mean"] == pytest.approx(np.mean(rewards), rel=1e-12)
        assert stats["m2"] == pytest.approx(np.sum((np.array(rewards) - np.mean(rewards)) ** 2),
                                            rel=1e-12)
        assert 0.5 < abs(_input(ac)[-1]) < 3  # an input of the size of the others
    else:
        assert stats["mean"] == stats["m2"] == 0.0


def test_previous_reward_statistics_are_kept_only_with_prev_reward():
    """A network with prev_reward "none" keeps no reward statistics (its checkpoint's stay zero)."""
    for backend in ("c", "reference"):
        ac = learner(backend, network=ACNetwork(prev_reward="none"))
        run(ac, "cartpole-p", 30)
        assert ac.prev_reward_statistics == {"mean": 0.0, "m2": 0.0, "count": 0}


@pytest.mark.parametrize("backend", ["c", "reference"])
def test_an_action_beyond_the_input_range_does_not_stop_the_next_learn(backend):
    """The previous action and reward enter the next input clamped to +-1e6 (RTU_INPUT_LIMIT),
    the cell's input range: without an input layer an unbounded Gaussian mean could otherwise make
    learn refuse its own next input after it had updated the parameters."""
    ac = ActorCritic(2, 4, 1, action_kind="continuous", backend=backend, seed=0, n_embed=0,
                     n_head=0)
    ac._impl.head_params[1][-2] = 5e6  # b_2 of the mean: the action is about 5e6
    obs = np.array([0.1, -0.2])
    action = ac.act(obs)
    assert action[0] > 1e6
    ac.learn(1.0, obs, False, False)  # refused before the clamp (the feed of x' beyond 1e6)
    assert ac.steps == 1 and not ac.acted
    ac.act(obs)  # the networks hold next_obs: the order is intact
