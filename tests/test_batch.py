"""ActorCriticBatch: B learners in one C buffer, each exactly the ActorCritic of its seed, and on a
gymnasium vector environment exactly that learner on its own environment."""

import numpy as np
import pytest

from rtu_edge import ActorCritic, ActorCriticBatch

gym = pytest.importorskip("gymnasium")

SEEDS = (3, 4, 5, 6)


@pytest.mark.parametrize("action_kind, n_actions, kw", [
    ("discrete", 3, dict(n_embed=8, n_head=8, prev_action=True, prev_reward="normalized")),
    ("continuous", 2, dict(shared=True, n_head=0, kind="nonlinear")),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_batch_is_its_learners_alone(action_kind, n_actions, kw, dtype):
    rng = np.random.default_rng(0)
    batch = ActorCriticBatch(3, 8, n_actions, seeds=SEEDS, action_kind=action_kind, dtype=dtype,
                             **kw)
    alone = [ActorCritic(3, 8, n_actions, seed=s, action_kind=action_kind, dtype=dtype, **kw)
             for s in SEEDS]
    obs = rng.standard_normal((len(SEEDS), 3))
    for t in range(80):
        actions = batch.act(obs)
        for i, learner in enumerate(alone):
            np.testing.assert_array_equal(actions[i], learner.act(obs[i]))
        nxt = rng.standard_normal(obs.shape)
        rewards = rng.standard_normal(len(SEEDS))
        term, trunc = rng.random(len(SEEDS)) < 0.05, rng.random(len(SEEDS)) < 0.03
        batch.learn(rewards, nxt, term, trunc)
        for i, learner in enumerate(alone):
            learner.learn(rewards[i], nxt[i], bool(term[i]), bool(trunc[i]))
        obs = nxt
    assert list(batch.steps) == [80] * len(SEEDS)
    for i, learner in enumerate(alone):
        assert batch.checkpoint_bytes(i) == learner.checkpoint_bytes()
        assert batch.episodes[i] == learner.episodes
    copy = batch.learner(2)
    assert copy.checkpoint_bytes() == alone[2].checkpoint_bytes()
    assert batch.memory_bytes == len(SEEDS) * alone[0].memory_bytes


def _snapshot(batch):
    return [batch.checkpoint_bytes(i) for i in range(batch.count)]


def test_refused_calls_name_the_learner_and_change_no_learner():
    batch = ActorCriticBatch(2, 4, 2, seeds=SEEDS, n_head=0)
    obs = np.zeros((4, 2))
    batch.act(obs)
    batch.learn(np.ones(4), obs + 0.5, np.zeros(4, bool), np.zeros(4, bool))
    before = _snapshot(batch)
    bad = obs + 0.5
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"obs\[2\] contains NaN"):
        batch.act(bad)
    with pytest.raises(ValueError, match=r"obs\[0\]: obs must be the next_obs"):
        batch.act(obs)
    assert _snapshot(batch) == before
    batch.act(obs + 0.5)
    with pytest.raises(RuntimeError, match="learner 0: act was called twice"):
        batch.act(obs + 0.5)
    rewards = np.ones(4)
    rewards[3] = np.inf
    with pytest.raises(ValueError, match=r"rewards\[3\] contains NaN or Inf"):
        batch.learn(rewards, obs, np.zeros(4, bool), np.zeros(4, bool))
    far = np.zeros((4, 2))
    far[1, 0] = 2e6
    with pytest.raises(ValueError, match=r"next_obs\[1\] has a value beyond"):
        batch.learn(np.ones(4), far, np.zeros(4, bool), np.zeros(4, bool))
    with pytest.raises(ValueError, match="terminated must be an array of 4 bools"):
        batch.learn(np.ones(4), obs, np.zeros(4), np.zeros(4, bool))
    for wrong in (np.zeros((3, 2)), np.zeros(2), np.zeros((4, 3))):  # (4, 2): B rows, not T
        with pytest.raises(ValueError, match=r"^obs must have shape \(4, 2\)"):
            batch.act(wrong)
    with pytest.raises(ValueError, match=r"^next_obs must have shape \(4, 2\), got \(2,\)"):
        batch.learn(np.ones(4), np.zeros(2), np.zeros(4, bool), np.zeros(4, bool))
    with pytest.raises(ValueError, match="i must be a learner's index"):
        batch.checkpoint_bytes(4)
    # inactive learners sit the call out: learner 1 did not act, so it may not learn
    batch.begin_episode(1)
    with pytest.raises(RuntimeError, match="learner 1: learn was called without act"):
        batch.learn(np.ones(4), obs, np.zeros(4, bool), np.zeros(4, bool))
    batch.learn(np.ones(4), obs, np.zeros(4, bool), np.zeros(4, bool),
                active=np.array([True, False, True, True]))
    assert list(batch.steps) == [2, 1, 2, 2]


@pytest.mark.parametrize("seeds, match", [
    ([], "seeds must hold 1 to 65536 seeds"),
    ([1, -1], r"seeds must be integers in \[0, 2\*\*64\)"),
    (5, "seeds must be a sequence"), ([True], "seeds must be integers")])
def test_bad_seeds_are_refused(seeds, match):
    with pytest.raises(ValueError, match=match):
        ActorCriticBatch(2, 4, 2, seeds=seeds)


def test_arguments_are_checked_as_actor_critic_checks_them():
    with pytest.raises(ValueError, match="n_embed must be 0"):
        ActorCriticBatch(2, 4, 2, seeds=[0], n_embed=1)
    with pytest.raises(TypeError, match="unknown hyperparameter"):
        ActorCriticBatch(2, 4, 2, seeds=[0], alpah=1.0)


@pytest.mark.parametrize("mode", ["NEXT_STEP", "SAME_STEP"])
def test_on_a_vector_environment_each_learner_is_its_learner_on_its_environment(mode):
    """step_env, in both autoreset modes, takes each learner and environment through exactly the
    transitions of the single-environment loop (act, step, learn, reset at an episode end)."""
    n, steps = 3, 160
    envs = gym.make_vec("rtu_edge/CartPoleP-v0", num_envs=n, vectorization_mode="sync",
                        vector_kwargs={"autoreset_mode": getattr(gym.vector.AutoresetMode,
                                                                 mode)})
    batch = ActorCriticBatch(2, 8, 2, seeds=range(n), n_head=8)
    obs, _ = envs.reset(seed=100)
    ends = np.zeros(n, int)
    for _ in range(steps):
        obs, _, term, trunc, = batch.step_env(envs, obs)[:4]
        ends += term | trunc
    envs.close()
    assert list(batch.episodes) == list(ends) and ends.sum() > 0
    for i in range(n):
        env = gym.make("rtu_edge/CartPoleP-v0")
        learner = ActorCritic(2, 8, 2, seed=i, n_head=8)
        o, _ = env.reset(seed=100 + i)
        for _ in range(int(batch.steps[i])):
            o2, r, te, tr, _ = env.step(learner.act(o))
            learner.learn(r, o2, te, tr)
            o = env.reset()[0] if te or tr else o2
        assert learner.checkpoint_bytes() == batch.checkpoint_bytes(i)
    # NEXT_STEP: each end costs its learner the reset step
    if mode == "NEXT_STEP":
        assert all(batch.steps + ends >= steps) and all(batch.steps + ends <= steps + 1)
    else:
        assert list(batch.steps) == [steps] * n


def test_step_env_refuses_a_mismatched_or_unsupported_environment():
    batch = ActorCriticBatch(2, 4, 2, seeds=[0, 1])
    envs = gym.make_vec("rtu_edge/CartPoleP-v0", num_envs=3, vectorization_mode="sync")
    with pytest.raises(ValueError, match="envs has 3 environments; this batch has 2 learners"):
        batch.step_env(envs, envs.reset(seed=0)[0])
    envs.close()
    envs = gym.make_vec("rtu_edge/CartPoleP-v0", num_envs=2, vectorization_mode="sync",
                        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.DISABLED})
    with pytest.raises(ValueError, match="autoreset mode"):
        batch.step_env(envs, envs.reset(seed=0)[0])
    envs.close()


class _Motor(gym.Env):
    """A joint driver that refuses commands beyond its limits, and (fail_at) a step that fails."""
    observation_space = gym.spaces.Box(-1, 1, (2,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    fail_at = None

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(2, np.float32), {}

    def step(self, a):
        assert self.action_space.contains(np.asarray(a, np.float32)), f"command {a} beyond limits"
        self.t += 1
        if self.t == self.fail_at:
            raise RuntimeError("the driver stopped answering")
        return np.zeros(2, np.float32), -float(a[0]) ** 2, False, self.t >= 50, {}


def test_step_env_clips_continuous_actions_and_survives_a_failed_step():
    """step_env sends continuous actions clipped to the action space (the learners learn from
    the sampled ones, as ActorCritic on the clipped environment does); an envs.step that raises
    leaves every learner as begin_episode leaves it after its act: checkpointed and stepped
    again, its learning kept."""
    n, steps = 3, 40
    envs = gym.vector.SyncVectorEnv([_Motor for _ in range(n)])
    batch = ActorCriticBatch(2, 8, 1, seeds=range(n), action_kind="continuous")
    obs, _ = envs.reset(seed=0)
    for _ in range(steps):                      # unclipped, some command leaves [-1, 1]
        obs = batch.step_env(envs, obs)[0]
    envs.envs[1].fail_at = envs.envs[1].t + 1
    with pytest.raises(RuntimeError, match="stopped answering"):
        batch.step_env(envs, obs)
    for i in range(n):
        learner = ActorCritic(2, 8, 1, seed=i, action_kind="continuous")
        wild = 0
        for t in range(steps + 1):
            a = learner.act(np.zeros(2, np.float32))
            wild += np.abs(a[0]) > 1
            if t < steps:
                learner.learn(-float(np.clip(a, -1, 1)[0]) ** 2, np.zeros(2, np.float32), False,
                              False)
        learner.begin_episode()
        assert wild > 0, i
        assert batch.checkpoint_bytes(i) == learner.checkpoint_bytes(), i
    envs.envs[1].fail_at = None
    obs, _ = envs.reset(seed=1)
    batch.step_env(envs, obs)
    assert list(batch.steps) == [steps + 1] * n
    envs.close()


def test_step_env_survives_a_learner_that_diverges_as_it_acts():
    """A learner that diverges in step_env's act (its actor's head poisoned here, as no public
    call can) is named; the learners that acted drop that action, so the batch can be
    checkpointed, the diverged learner restored with load_bytes, and the batch stepped again
    (they had stayed between act and learn: 'act was called twice')."""
    n = 3
    envs = gym.make_vec("rtu_edge/CartPoleP-v0", num_envs=n, vectorization_mode="sync",
                        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP})
    batch = ActorCriticBatch(2, 8, 2, seeds=range(n), dtype=np.float32)
    good = batch.checkpoint_bytes(0)
    obs, _ = envs.reset(seed=0)
    head = batch.acs[0].head[1]
    for k in range(head.n_params):
        head.params[k] = float("nan")
    with pytest.raises(FloatingPointError, match="learner 0"):
        batch.step_env(envs, obs)
    for i in (1, 2):
        batch.checkpoint_bytes(i)  # not between act and learn
    batch.load_bytes(0, good, "learner 0's")
    obs, _ = envs.reset(seed=1)
    batch.step_env(envs, obs)
    assert list(batch.steps) == [1] * n
    envs.close()


def _model(tmp_path, hidden=8, **kw):
    from rtu_edge.export import InferenceModel
    ac = ActorCritic(3, hidden, 2, seed=2, dtype=np.float32, **kw)
    rng = np.random.default_rng(1)
    obs = rng.standard_normal(3)
    for _ in range(50):
        ac.act(obs)
        nxt = rng.standard_normal(3)
        ac.learn(1.0, nxt, False, False)
        obs = nxt
    ac.save(tmp_path / "m.rtu")
    return InferenceModel.from_checkpoint(tmp_path / "m.rtu")


# B = 7, 20 units: the batch's RTU input sums in a block of 4 sequences and 16 units (AVX-512),
# then the units and the sequences past the blocks one sequence at a time; B = 37, 36 units: the
# dense layers in blocks of 4 rows by 16 sequences, then the rows and sequences past them, their
# inputs in 16 lanes with a tail (72 features) or one running sum (3 observations)
@pytest.mark.parametrize("kw, B", [(dict(n_embed=4, n_head=4, prev_action=True,
                                        prev_reward="normalized"), 4),
                                   (dict(shared=True, action_kind="continuous", kind="lru"), 4),
                                   (dict(hidden=20, n_embed=5, prev_reward="normalized"), 7),
                                   (dict(hidden=20, kind="nonlinear", n_head=4), 7),
                                   (dict(hidden=36, n_embed=6, n_head=6, prev_action=True), 37),
                                   (dict(hidden=36, kind="nonlinear", n_head=5,
                                         action_kind="continuous"), 37)])
def test_a_model_batch_is_each_sequence_alone(tmp_path, kw, B):
    from rtu_edge.export import CModel, CModelBatch
    model = _model(tmp_path, **kw)
    rng = np.random.default_rng(3)
    batch, alone = CModelBatch(model, B), [CModel(model) for _ in range(B)]
    for t in range(30):
        obs = rng.standard_normal((B, 3))
        out = batch.step(obs).copy()
        if model.action_kind == "discrete":
            actions = rng.integers(0, 2, B)
        else:
            actions = rng.standard_normal((B, 2))
        rewards, ended = rng.standard_normal(B), rng.random(B) < 0.1
        batch.feed(actions, rewards, ended)
        for i, m in enumerate(alone):
            np.testing.assert_array_equal(m.step(obs[i]), out[i])
            m.reset() if ended[i] else m.feed(actions[i], rewards[i])
            np.testing.assert_array_equal(m.state, batch.state[i])


def test_a_model_batch_refuses_bad_input_naming_the_sequence(tmp_path):
    from rtu_edge.export import CModelBatch
    model = _model(tmp_path, prev_action=True, prev_reward="normalized")
    batch = CModelBatch(model, 3)
    batch.step(np.zeros((3, 3)))
    before = batch.state.copy()
    bad = np.zeros((3, 3))
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"obs\[1\] contains NaN"):
        batch.step(bad)
    with pytest.raises(ValueError, match=r"obs must have shape \(3, 3\)"):
        batch.step(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"^actions\[1\] is not one of the model's actions"):
        batch.feed([0, 5, 1], np.zeros(3))
    # the per-step path (an integer array) checks the same, beyond float32's integers too
    for actions, i in (([0, 1, 5], 2), ([-1, 0, 1], 0), ([0, 2**40, 1], 1),
                       ([0, 1, 2**24 + 1], 2)):
        with pytest.raises(ValueError, match=rf"^actions\[{i}\] is not one of the model's"):
            batch.feed(np.array(actions), np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="must hold real numbers"):  # not an integer here
        batch.feed(np.array([0, 1, 1], dtype="timedelta64[s]"), np.zeros(3))
    with pytest.raises(ValueError, match=r"actions\[2\] or rewards\[2\]"):
        batch.feed([0, 1, 1], np.array([0.0, 0.0, np.inf]))
    with pytest.raises(ValueError, match="ended must be an array of 3 bools"):
        batch.feed([0, 1, 1], np.zeros(3), ended=[0, 1, 0])
    for actions, match in (([[0, 1, 1]], r"actions must be 3 action indices, got .* \(1, 3\)"),
                           ([0, 1], r"shape \(2,\)"), (["a", "b", "c"], "actions must"),
                           ([True, False, True], "actions must be 3 action indices"),
                           ([0, 1j, 1], "actions must hold real numbers")):
        with pytest.raises(ValueError, match=match):
            batch.feed(actions, np.zeros(3))
    for rewards, match in ((np.zeros((3, 1)), r"rewards must have shape \(3,\)"),
                           (["a", "b", "c"], "rewards must hold real numbers"),
                           (np.array([0.0, 1e300, 0.0]), "rewards")):
        with pytest.raises(ValueError, match=match):
            batch.feed([0, 1, 1], rewards)
    np.testing.assert_array_equal(batch.state, before)
    with pytest.raises(ValueError, match=r"count must be an integer in \[1, 65536\]"):
        CModelBatch(model, 0)


def test_max_batch_is_the_c_cores():
    """reference.cell.MAX_BATCH is RTU_MAX_BATCH: the C size query takes that many learners and
    refuses one more."""
    from rtu_edge._ccore import load_lib
    from rtu_edge.reference.cell import MAX_BATCH
    ffi, lib = load_lib(np.dtype(np.float32))
    shape = ActorCritic(2, 4, 2)._shape.struct(ffi)
    size = ffi.new("size_t *")
    assert lib.rtu_ac_batch_buffer_size(shape, MAX_BATCH, size) == lib.RTU_OK
    assert lib.rtu_ac_batch_buffer_size(shape, MAX_BATCH + 1, size) == lib.RTU_ERR_SIZE


def test_a_value_beyond_the_range_once_normalised_names_the_learner():
    """After 1e14 observations of 0, an observation of 1000 normalises beyond 1e6: the batch's
    act refuses it naming the learner, and no learner changes."""
    batch = ActorCriticBatch(2, 4, 2, seeds=[0, 1])
    batch.acs[1].obs_count = 10**14
    before = _snapshot(batch)
    with pytest.raises(ValueError, match=r"obs\[1\], normalised by learner 1's running statistics, "
                                         r"has a value beyond \+-1e\+06"):
        batch.act(np.array([[0.0, 0.0], [1000.0, 0.0]]))
    assert _snapshot(batch) == before


@pytest.mark.parametrize("kind", ["linear", "nonlinear", "lru"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_td_batch_is_its_learners_alone(kind, dtype):
    from rtu_edge import TDLambda, TDLambdaBatch
    rng = np.random.default_rng(4)
    X, C = rng.standard_normal((50, 4, 3)), rng.standard_normal((50, 4))
    batch = TDLambdaBatch(3, 6, kind=kind, seeds=SEEDS, dtype=dtype, gamma=0.8)
    alone = [TDLambda(3, 6, kind=kind, seed=s, dtype=dtype, gamma=0.8) for s in SEEDS]
    out = np.vstack([batch.run(X[:30], C[:30]), [batch.step(X[t], C[t]) for t in range(30, 50)]])
    for i, learner in enumerate(alone):
        np.testing.assert_array_equal(learner.run(X[:, i], C[:, i]), out[:, i])
        assert batch.checkpoint_bytes(i) == learner.checkpoint_bytes()
    assert list(batch.steps) == [50] * 4
    batch.reset(2)
    alone[2].reset()
    assert batch.learner(2).checkpoint_bytes() == alone[2].checkpoint_bytes()
    assert batch.memory_bytes == 4 * alone[0].memory_bytes


def test_a_td_batch_refuses_bad_input_naming_the_learner():
    from rtu_edge import TDLambdaBatch
    batch = TDLambdaBatch(2, 4, seeds=[0, 1, 2])
    X, C = np.zeros((5, 3, 2)), np.zeros((5, 3))
    batch.run(X, C)
    before = [batch.checkpoint_bytes(i) for i in range(3)]
    X[3, 2, 0] = np.inf
    with pytest.raises(ValueError, match="X or cumulants of learner 2 contains NaN or Inf"):
        batch.run(X, C)
    C[1, 0] = 2e6
    X[3, 2, 0] = 0.0
    with pytest.raises(ValueError, match="X or cumulants of learner 0 has a value beyond"):
        batch.run(X, C)
    assert [batch.checkpoint_bytes(i) for i in range(3)] == before
    with pytest.raises(ValueError, match=r"X must have shape \(T, 3, 2\)"):
        batch.run(np.zeros((5, 2, 2)), C)
    for wrong in (np.zeros((2, 2)), np.zeros(2)):
        with pytest.raises(ValueError, match=r"X must have shape \(3, 2\)"):
            batch.step(wrong, np.zeros(2))
    with pytest.raises(ValueError, match="i must be a learner's index"):
        batch.reset(3)
    with pytest.raises(ValueError, match="seeds must hold 1 to 65536 seeds"):
        TDLambdaBatch(2, 4, seeds=[])


def test_learners_that_diverge_together_are_all_named_and_restored_one_by_one():
    """Two learners diverge in one learn: the exception names both; load_bytes(i) puts each back
    from its checkpoint, and the batch goes on."""
    batch = ActorCriticBatch(2, 8, 2, seeds=range(4), optimizer="sgd", alpha=0.1,
                             scale_reward=False)
    rng, no = np.random.default_rng(0), np.zeros(4, bool)
    good = [batch.checkpoint_bytes(i) for i in range(4)]
    obs = rng.normal(size=(4, 2))
    with pytest.raises(FloatingPointError, match=r"^learners 1, 2 diverged: "):
        for _ in range(200):
            batch.act(obs)
            obs = rng.normal(size=(4, 2))
            batch.learn(np.array([0.0, 1e6, 1e6, 0.0]), obs, no, no)
    for i in (1, 2):
        batch.load_bytes(i, good[i], f"learner {i}'s")
        assert batch.checkpoint_bytes(i) == good[i]
    batch.act(obs)
    batch.learn(np.zeros(4), rng.normal(size=(4, 2)), no, no)


def test_load_bytes_refuses_another_learner_naming_the_fault_and_changes_nothing():
    from rtu_edge import TDLambda, TDLambdaBatch
    batch = ActorCriticBatch(2, 8, 2, seeds=[0, 1], dtype=np.float32)
    before = _snapshot(batch)
    for data, match in (
            (ActorCritic(2, 8, 2, dtype=np.float64).checkpoint_bytes(), "bytes per real"),
            (ActorCritic(2, 4, 2, dtype=np.float32).checkpoint_bytes(), "n_hidden is 4"),
            (ActorCritic(2, 8, 3, dtype=np.float32).checkpoint_bytes(), "n_actions is 3"),
            (ActorCritic(2, 8, 2, dtype=np.float32, gamma=0.9).checkpoint_bytes(),
             "its gamma is 0.9"),
            (TDLambda(2, 8, dtype=np.float32).checkpoint_bytes(), "holds a TD"),
            (b"junk", "ckpt")):
        with pytest.raises(ValueError, match=match):
            batch.load_bytes(1, data, "ckpt")
    with pytest.raises(ValueError, match=r"i must be a learner's index in \[0, 2\), got 2"):
        batch.load_bytes(2, batch.checkpoint_bytes(0))
    assert _snapshot(batch) == before
    # a TD batch: learner 1 from learner 0's checkpoint, and a refusal
    tds = TDLambdaBatch(3, 6, seeds=[0, 1])
    tds.step(np.ones((2, 3)), np.ones(2))
    tds.load_bytes(1, tds.checkpoint_bytes(0))
    assert tds.checkpoint_bytes(1) == tds.checkpoint_bytes(0)
    with pytest.raises(ValueError, match="n_hidden is 5"):
        tds.load_bytes(0, TDLambda(3, 5).checkpoint_bytes())
