"""The ONNX export (rtu_edge/export/onnx_export.py): valid ONNX, onnxruntime and the ONNX
reference evaluator reproduce the C float32 core (rtu_model_step) over long rollouts with the state
fed back (rtu_edge/validate.py's ONNX check), the Scan variant is the step variant, the int8
variant stays within its bound, and the export / validate commands fail cleanly on bad files."""

import dataclasses
import json
import os
import struct
import zlib

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from rtu_edge import ActorCritic, TDLambda  # noqa: E402
from rtu_edge.cli import main  # noqa: E402
from rtu_edge.export import InferenceModel  # noqa: E402
from rtu_edge.export import onnx_export as ox  # noqa: E402
from rtu_edge.validate import (INT8_RELATIVE_BOUND, RunDeviation, compare_onnx,  # noqa: E402
                               rollout_observations)

KINDS = ox.ONNX_KINDS  # the cell kinds the graph has (not the LRU's)
ACTIVATIONS = ["relu", "tanh", "identity"]
LEARNERS = ["td", "discrete", "continuous"]
TOL = 1e-5  # max |ONNX - C float32| over the rollout, outputs and state
STEPS = 1000
#: the actor-critics have every part of the network (an input layer, the previous action and
#: reward as inputs), which the package's default network leaves out
FULL = {"n_embed": 32, "n_head": 32, "prev_action": True, "prev_reward": "normalized"}


def make_checkpoint(path, learner, kind, activation, dtype=np.float32, seed=0, n_in=3,
                    n_hidden=6, steps=300, **network):
    """A learner (of the network's shape, for the actor-critic) stepped a few hundred steps on
    unit-normal data, saved to path."""
    rng = np.random.default_rng(seed)
    if learner == "td":
        td = TDLambda(n_in, n_hidden, kind=kind, activation=activation, seed=seed, dtype=dtype)
        td.run(rng.standard_normal((steps, n_in)), rng.standard_normal(steps))
        td.save(path)
        return path
    ac = ActorCritic(n_in, n_hidden, 2, action_kind=learner, kind=kind, activation=activation,
                     seed=seed, dtype=dtype, **{**FULL, **network})
    obs = rng.standard_normal(n_in)
    for t in range(steps):
        ac.act(obs)
        nxt = rng.standard_normal(n_in)
        ac.learn(float(rng.standard_normal()), nxt, t % 97 == 96, False)
        obs = nxt
    ac.save(path)
    return path


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """{(learner, kind, activation): path} for every combination."""
    root = tmp_path_factory.mktemp("ckpt")
    return {(learner, kind, act): make_checkpoint(root / f"{learner}-{kind}-{act}.rtu", learner,
                                                  kind, act, seed=i)
            for i, (learner, kind, act) in enumerate(
                (lr, k, a) for lr in LEARNERS for k in KINDS for a in ACTIVATIONS)}


def assert_close_to_c(proto, model, steps=STEPS, seed=0):
    for runtime, dev in compare_onnx(proto, model, steps, seed).items():
        assert dev.diff["outputs"] <= TOL and dev.diff["state"] <= TOL, (runtime, dev.diff)


@pytest.mark.parametrize("learner", LEARNERS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_step_graph_is_valid_and_reproduces_the_c_core(checkpoints, learner, kind, activation):
    """Both runtimes follow CModel (float32) to 1e-5 over 1000 steps, state fed back; the file
    passes the full checker (with shape inference)."""
    model = InferenceModel.from_checkpoint(checkpoints[learner, kind, activation])
    proto = ox.to_onnx(model)
    onnx.checker.check_model(proto, full_check=True)
    assert_close_to_c(proto, model)


@pytest.mark.parametrize("learner", LEARNERS)
@pytest.mark.parametrize("kind", KINDS)
def test_scan_variant_is_the_step_variant(checkpoints, learner, kind):
    """The sequence graph runs the step graph's nodes under a Scan: same outputs and final state
    as stepping the step graph, and as the C core."""
    model = InferenceModel.from_checkpoint(checkpoints[learner, kind, "tanh"])
    step, seq = ox.to_onnx(model), ox.to_onnx(model, sequence=True)
    onnx.checker.check_model(seq, full_check=True)
    scan = [n for n in seq.graph.node if n.op_type == "Scan"]
    assert len(scan) == 1
    body = onnx.helper.get_attribute_value(scan[0].attribute[0])
    step_ops = [n.op_type for n in step.graph.node]
    assert [n.op_type for n in body.node] == step_ops
    obs = rollout_observations(model, 400, seed=3)
    for runtime in ("onnxruntime", "reference"):
        out_step, states = ox.run_onnx(step, obs, runtime)
        out_seq, final = ox.run_onnx(seq, obs, runtime)
        assert out_seq.shape == out_step.shape == (400, model.n_out)
        np.testing.assert_allclose(out_seq, out_step, rtol=0, atol=1e-6)
        np.testing.assert_allclose(final[-1], states[-1], rtol=0, atol=1e-6)
        if runtime == "reference":  # the same numpy operations in the same order
            assert np.array_equal(out_seq, out_step) and np.array_equal(final[-1], states[-1])
    assert_close_to_c(seq, model)


def test_float64_checkpoint_and_a_bigger_model(tmp_path):
    """A float64 checkpoint exports to float32 weights and still follows the C float32 core."""
    path = make_checkpoint(tmp_path / "big.rtu", "discrete", "linear", "relu", np.float64,
                           seed=5, n_in=16, n_hidden=64, steps=200)
    model = InferenceModel.from_checkpoint(path)
    for sequence in (False, True):
        proto = ox.to_onnx(model, sequence=sequence)
        assert all(t.data_type in (onnx.TensorProto.FLOAT, onnx.TensorProto.INT64)
                   for t in ox._all_initializers(proto.graph))
        assert_close_to_c(proto, model)


NETWORKS = {"shared": {"shared": True}, "no layers": {"n_embed": 0, "n_head": 0},
            "no extras": {"prev_action": False, "prev_reward": "none"},
            "memoryless": {"memoryless": True, "prev_action": False, "prev_reward": "none"},
            "memoryless with the extras": {"memoryless": True},
            "the reward's sign": {"prev_reward": "sign"},
            "the reward's sign centred": {"prev_reward": "centered_sign"},
            "the reward's sign gated": {"prev_reward": "gated_sign"},
            "shared memoryless without layers": {"shared": True, "memoryless": True,
                                                 "prev_action": False, "prev_reward": "none",
                                                 "n_embed": 0, "n_head": 0}}


@pytest.mark.parametrize("network", list(NETWORKS))
@pytest.mark.parametrize("learner", ["discrete", "continuous"])
def test_every_network_shape_reproduces_the_c_core(tmp_path, network, learner):
    """The graph of each network shape (shared trunk, no input or hidden layer, no previous
    action or reward, memoryless), step and Scan, follows the C core, and reads back."""
    path = make_checkpoint(tmp_path / "ac.rtu", learner, "nonlinear", "tanh", seed=3, steps=200,
                           **{"n_embed": 8, "n_head": 5, **NETWORKS[network]})
    model = InferenceModel.from_checkpoint(path)
    mode = NETWORKS[network].get("prev_reward", "normalized")  # make_checkpoint's default
    sign = mode in ("sign", "centered_sign", "gated_sign")
    assert model.prev_reward == mode
    if sign:  # the mean of the signs when centred only; the gate open (rewards of both signs)
        assert (model.reward_mean != 0) == (mode == "centered_sign")
        assert model.reward_scale == 1.0
    for sequence in (False, True):
        proto = ox.to_onnx(model, sequence=sequence)
        onnx.checker.check_model(proto, full_check=True)
        assert_close_to_c(proto, model, steps=300)
        ops = {n.op_type for n in proto.graph.node} | {
            n.op_type for node in proto.graph.node for a in node.attribute if a.g
            for n in a.g.node}
        assert ("Sign" in ops) == sign
        back = ox.from_onnx(proto)
        assert back.prev_reward == mode
        assert back.reward_mean == np.float32(model.reward_mean)
        assert back.reward_scale == model.reward_scale
    back = ox.from_onnx(ox.to_onnx(model))
    assert_close_to_c(ox.to_onnx(model), back, steps=100)
    if mode == "gated_sign":  # the gate closed: the input is 0 whatever the reward
        closed = dataclasses.replace(model, reward_scale=0.0)
        assert_close_to_c(ox.to_onnx(closed), closed, steps=100)
        assert ox.from_onnx(ox.to_onnx(closed)).reward_scale == 0.0


def test_files_of_the_old_format_are_refused_by_name(tmp_path, checkpoints):
    proto = ox.to_onnx(InferenceModel.from_checkpoint(checkpoints["td", "linear", "relu"]))
    props = {p.key: p for p in proto.metadata_props}
    props["format"].value = "rtu_edge-onnx-1"
    path = tmp_path / "old.onnx"
    path.write_bytes(proto.SerializeToString())
    with pytest.raises(ValueError, match="old.onnx was exported by an rtu_edge of before the "
                                         "streaming network.*export its checkpoint again"):
        ox.from_onnx(path)


@pytest.mark.parametrize("network,old", [({}, {"prev_reward": "1"}),
                                         ({"prev_reward": "sign"},
                                          {"prev_reward": "1", "reward_sign": "1"}),
                                         ({"prev_reward": "none", "prev_action": False},
                                          {"prev_reward": "0", "reward_sign": "0"})])
def test_files_that_name_the_previous_reward_as_before_read_as_now(tmp_path, network, old):
    """An export of before ACNetwork.prev_reward named its input (prev_reward "0" or "1",
    reward_sign "1" for the sign, or no reward_sign at all) reads back as the same model, and
    rtu-edge validate takes it against its checkpoint."""
    from rtu_edge.validate import check_matches
    path = make_checkpoint(tmp_path / "ac.rtu", "discrete", "linear", "tanh", steps=50,
                           **network)
    model = InferenceModel.from_checkpoint(path)
    proto = ox.to_onnx(model)
    props = {p.key: p for p in proto.metadata_props}
    for key, value in old.items():
        if key in props:
            props[key].value = value
        else:
            proto.metadata_props.add(key=key, value=value)
    assert ox.from_onnx(proto).prev_reward == model.prev_reward
    check_matches(proto, model, "old.onnx")
    props["prev_reward"].value = "2"
    with pytest.raises(ValueError, match="metadata or weights missing or malformed.*prev_reward "
                                         "'2' is none of"):
        ox.from_onnx(proto, "old.onnx")


@pytest.mark.parametrize("sequence", [False, True])
def test_dynamic_batch(checkpoints, sequence):
    """A batch of 3 gives the three batch-1 runs, actions and rewards fed back, to float32
    rounding (matrix products over 3 rows may sum in another order than over 1, on either
    runtime)."""
    model = InferenceModel.from_checkpoint(checkpoints["continuous", "nonlinear", "relu"])
    proto = ox.to_onnx(model, sequence=sequence)
    rng = np.random.default_rng(7)
    obs = rng.standard_normal((3, 50, model.n_in)).astype(np.float32)
    actions, rewards = rng.standard_normal((3, 50, 2)), rng.standard_normal((3, 50))
    for runtime, atol in (("onnxruntime", 1e-6), ("reference", 1e-6)):
        out, states = ox.run_onnx(proto, obs, runtime, batch_axis=True, actions=actions,
                                  rewards=rewards)
        for b in range(3):
            out1, states1 = ox.run_onnx(proto, obs[b], runtime, actions=actions[b],
                                        rewards=rewards[b])
            np.testing.assert_allclose(out[b], out1, rtol=0, atol=atol)
            np.testing.assert_allclose(states[b], states1, rtol=0, atol=atol)


@pytest.mark.parametrize("learner", LEARNERS)
def test_inputs_outputs_and_metadata(checkpoints, tmp_path, learner):
    model = InferenceModel.from_checkpoint(checkpoints[learner, "linear", "relu"])
    path = tmp_path / "m.onnx"
    proto = ox.to_onnx(model, path)
    assert onnx.load(str(path)) == proto
    assert proto.producer_name == "rtu_edge"
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", 17)]
    assert proto.ir_version == 8
    ops = {n.op_type for n in proto.graph.node}
    assert ops <= {"Sub", "Mul", "MatMul", "Add", "Split", "Concat", "Relu", "Identity",
                   "ReduceMean", "Sqrt", "Reciprocal", "LeakyRelu", "Softplus", "Min"}

    def dims(v):
        return [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]

    S = 2 * model.n_hidden * (1 if learner == "td" else 2)  # the default: separate trunks
    extras = {} if learner == "td" else {"prev_action": ["batch", 2], "prev_reward": ["batch", 1]}
    assert {v.name: dims(v) for v in proto.graph.input} == {
        "obs": ["batch", model.n_in], **extras, "state": ["batch", S]}
    expected = {"td": {"prediction": ["batch", 1]},
                "discrete": {"logits": ["batch", 2], "value": ["batch", 1]},
                "continuous": {"mean": ["batch", 2], "std": ["batch", 2], "value": ["batch", 1]}}
    expected = {**expected[learner], "state_out": ["batch", S]}
    assert {v.name: dims(v) for v in proto.graph.output} == expected

    meta = ox.metadata(proto)
    for key, value in {"rtu_edge_version": "0.1.0", "learner": model.learner, "kind": "linear",
                       "activation": "relu", "n_in": str(model.n_in),
                       "n_hidden": str(model.n_hidden), "n_out": str(model.n_out),
                       "action_kind": model.action_kind or "none",
                       "n_actions": str(model.n_actions), "training_steps": str(model.steps),
                       "state_init": ox.STATE_INIT, "variant": "step"}.items():
        assert meta[key] == value, key
    assert json.loads(meta["outputs"]) == [v.name for v in proto.graph.output]
    assert json.loads(meta["inputs"]) == [v.name for v in proto.graph.input]
    assert "zeros" in meta["state_init"] and "state_out" in meta["state_init"]
    assert model.steps > 0
    if learner != "td":
        assert {k: meta[k] for k in ("n_embed", "n_head", "n_trunks", "prev_action",
                                     "prev_reward", "memoryless")} == {
            "n_embed": "32", "n_head": "32", "n_trunks": "2", "prev_action": "1",
            "prev_reward": "normalized", "memoryless": "0"}
        # the previous reward is normalised by the learner's statistics of the rewards; the raw
        # reward that gives the zero input of an episode's first step is in the metadata
        assert model.reward_mean != 0 and model.reward_scale != 1
        start = np.float32(float(meta["prev_reward_at_start"]))
        assert start == np.float32(model.reward_mean)
        assert (start - np.float32(model.reward_mean)) * np.float32(model.reward_scale) == 0
    else:
        assert "prev_reward_at_start" not in meta
    if learner == "continuous":  # the std within its bounds
        sess = ox.session(proto)
        std = sess.run(["std"], {"obs": np.full((1, model.n_in), 5.0, np.float32),
                                 "prev_action": np.zeros((1, 2), np.float32),
                                 "prev_reward": np.zeros((1, 1), np.float32),
                                 "state": np.zeros((1, S), np.float32)})[0]
        assert np.all((std >= np.float32(model.std_min)) & (std <= np.float32(model.std_max)))
    # normalisation folded in for the actor-critic (normalize_obs), absent for TD
    assert ("obs_mean" in {t.name for t in proto.graph.initializer}) == (learner != "td")


def test_model_read_back_from_onnx(checkpoints):
    for learner in ("discrete", "continuous"):
        model = InferenceModel.from_checkpoint(checkpoints[learner, "nonlinear", "identity"])
        back = ox.from_onnx(ox.to_onnx(model))
        for r, (t, t_back) in enumerate(zip(model.trunks, back.trunks)):
            for name in ("w_c", "w_d", "g", "phi", "eta"):
                np.testing.assert_array_equal(getattr(t_back, name), getattr(t, name),
                                              err_msg=f"trunk {r} {name}")
            np.testing.assert_array_equal(t_back.embed.flat, t.embed.flat)
        for h, h_back in zip(model.heads, back.heads):
            np.testing.assert_array_equal(h_back.hidden.flat, h.hidden.flat)
            np.testing.assert_array_equal(h_back.out.flat, h.out.flat)
        for name in ("obs_mean", "obs_inv_std"):
            np.testing.assert_array_equal(getattr(back, name), getattr(model, name), err_msg=name)
        for name in ("learner", "kind", "activation", "n_in", "n_hidden", "n_embed", "n_head",
                     "n_trunks", "prev_action", "prev_reward", "memoryless", "action_kind",
                     "n_actions", "output_names", "steps"):
            assert getattr(back, name) == getattr(model, name), name
        for name in ("reward_mean", "reward_scale", "std_min", "std_max"):
            assert getattr(back, name) == np.float32(getattr(model, name)), name


# -- int8 ----------------------------------------------------------------------------------------

def cartpole_actor_critic(tmp_path, steps=4000):
    """An actor-critic trained a little on CartPole with hidden velocities, and the observations
    its policy met over the last 1000 steps of training."""
    from rtu_edge.tasks import make_env
    env, spec = make_env("cartpole-p", seed=0)
    ac = ActorCritic(spec.obs_size, 32, spec.n_actions, kind="linear", seed=1, dtype=np.float32,
                     **FULL)
    obs, _ = env.reset(seed=0)
    seen = []
    for _ in range(steps):
        seen.append(obs)
        action = ac.act(obs)
        obs_next, reward, terminated, truncated, _ = env.step(action)
        ac.learn(reward, obs_next, terminated, truncated)
        obs = env.reset()[0] if terminated or truncated else obs_next
    path = tmp_path / "cartpole.rtu"
    ac.save(path)
    return path, np.array(seen[-STEPS:], dtype=np.float32)


def int8_deviation(f32, int8, obs, runtime="onnxruntime"):
    """max_t |int8 - f32| / max_t |f32| of the outputs and of the states (the deviation, floor
    0)."""
    out, states = ox.run_onnx(f32, obs, runtime)
    out8, states8 = ox.run_onnx(int8, obs, runtime)
    dev = RunDeviation()
    dev.add("outputs", out8, out)
    dev.add("state", states8, states)
    return dev["outputs"], dev["state"]


def test_int8_on_cartpole_stays_within_the_bound(tmp_path):
    path, obs = cartpole_actor_critic(tmp_path)
    model = InferenceModel.from_checkpoint(path)
    for sequence in (False, True):
        f32 = ox.to_onnx(model, tmp_path / "f32.onnx", sequence=sequence)
        int8 = ox.quantize_int8(tmp_path / "f32.onnx", tmp_path / "int8.onnx")
        onnx.checker.check_model(int8, full_check=True)
        graph = int8.graph
        if sequence:
            graph = onnx.helper.get_attribute_value(graph.node[0].attribute[0])
        ops = [n.op_type for n in graph.node]
        # the input layers and both layers of both heads quantized; the RTUs' input projections
        # and the recurrence left in float
        assert ops.count("MatMulInteger") == 2 * 3 and ops.count("MatMul") == 2
        assert ox.metadata(int8)["quantization"] == "int8-dynamic"
        assert ox.metadata(int8)["n_hidden"] == "32"
        for runtime in ("onnxruntime", "reference"):
            dev_out, dev_state = int8_deviation(f32, int8, obs, runtime)
            assert dev_out <= INT8_RELATIVE_BOUND and dev_state <= INT8_RELATIVE_BOUND
            assert dev_out > 0  # it is quantized
        # the int8 file holds no float copy of the weights
        with pytest.raises(ValueError, match="quantized"):
            ox.from_onnx(tmp_path / "int8.onnx")


@pytest.mark.parametrize("learner", LEARNERS)
@pytest.mark.parametrize("kind", KINDS)
def test_int8_on_the_test_checkpoints(checkpoints, tmp_path, learner, kind):
    for activation in ACTIVATIONS:
        model = InferenceModel.from_checkpoint(checkpoints[learner, kind, activation])
        f32 = ox.to_onnx(model)
        int8 = ox.quantize_int8(f32, tmp_path / "q.onnx")
        dev_out, dev_state = int8_deviation(f32, int8, rollout_observations(model, STEPS, 1))
        assert dev_out <= INT8_RELATIVE_BOUND and dev_state <= INT8_RELATIVE_BOUND


# -- errors --------------------------------------------------------------------------------------

def run_cli(capsys, argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def bad_checkpoints(tmp_path, checkpoints):
    good = checkpoints["discrete", "linear", "tanh"].read_bytes()
    files = {"truncated": good[:len(good) // 2], "not a checkpoint": b"hello, world\n" * 20}
    corrupted = bytearray(good)
    corrupted[len(good) // 2] ^= 0xFF
    files["corrupted"] = bytes(corrupted)
    # issue 16: a right CRC over impossible content (loaded, it exported Inf and NaN): the
    # critic's first input-layer weight 3e38, beyond RTU_VALUE_LIMIT
    impossible = bytearray(good)
    struct.pack_into("<f", impossible, 88 + 56 + 4 * 13, 3e38)  # after 10 config reals, 3 stats
    struct.pack_into("<I", impossible, len(good) - 4, zlib.crc32(bytes(impossible[:-4])))
    files["impossible"] = bytes(impossible)
    paths = {}
    for what, data in files.items():
        paths[what] = tmp_path / f"{what.replace(' ', '_')}.rtu"
        paths[what].write_bytes(data)
    paths["missing"] = tmp_path / "missing.rtu"
    return paths


def test_export_refuses_bad_checkpoints(capsys, tmp_path, bad_checkpoints):
    out, header = tmp_path / "out.onnx", tmp_path / "out.h"
    for what, path in bad_checkpoints.items():
        code, _, err = run_cli(capsys, ["export", "--checkpoint", path, "--onnx", out,
                                        "--c-header", header])
        assert code == 2, what
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("rtu-edge export: error: "), err
        assert str(path) in err, what
        assert not out.exists() and not header.exists()
    _, _, err = run_cli(capsys, ["export", "--checkpoint", bad_checkpoints["impossible"],
                                 "--onnx", out])
    assert "is refused: critic.embed beyond +-RTU_VALUE_LIMIT" in err


def test_to_onnx_refuses_a_model_float32_cannot_hold(tmp_path):
    """A model the C core would not run in float32 (a float64 weight beyond float32's range,
    Inf in the graph) is refused by name, and nothing is written."""
    import dataclasses
    path = make_checkpoint(tmp_path / "td.rtu", "td", "linear", "tanh", dtype=np.float64)
    model = InferenceModel.from_checkpoint(path)
    trunk = dataclasses.replace(model.trunks[0], w_c=model.trunks[0].w_c * 1e300)
    out = tmp_path / "big.onnx"
    with pytest.raises(ValueError, match=f"ONNX export {out}: cannot export this model, in "
                                         "float32: the model's weights are unusable"):
        ox.to_onnx(dataclasses.replace(model, trunks=[trunk]), out)
    assert not out.exists()


def test_the_lru_kind_is_refused_by_name(capsys, tmp_path):
    """The graph has no LRU readout: to_onnx and ``rtu-edge export --onnx`` refuse a learner of
    kind "lru" by its kind and write nothing (its C header export runs it)."""
    ckpt = make_checkpoint(tmp_path / "lru.rtu", "discrete", "lru", "tanh", steps=20)
    out = tmp_path / "lru.onnx"
    with pytest.raises(ValueError, match=r"kinds \('linear', 'nonlinear'\), not 'lru'"):
        ox.to_onnx(InferenceModel.from_checkpoint(ckpt), out)
    code, _, err = run_cli(capsys, ["export", "--checkpoint", ckpt, "--onnx", out])
    assert code == 2 and "not 'lru'" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_export_to_an_unwritable_path(capsys, tmp_path, checkpoints):
    ckpt = checkpoints["td", "linear", "relu"]
    (tmp_path / "a_directory").mkdir()
    for target in (tmp_path / "no_such_dir" / "m.onnx", tmp_path / "a_directory"):
        for flag in ("--onnx", "--int8"):
            argv = ["export", "--checkpoint", ckpt, "--onnx",
                    target if flag == "--onnx" else tmp_path / "f.onnx"]
            if flag == "--int8":
                argv += ["--int8", target]
            code, _, err = run_cli(capsys, argv)  # refused before anything is written
            reason = "is a directory" if target.name == "a_directory" else "no directory"
            assert code == 2 and f"{flag}: " in err and reason in err, err
            assert len(err.strip().splitlines()) == 1 and not (tmp_path / "f.onnx").exists()
        with pytest.raises(OSError, match=f"cannot write ONNX model {target}"):
            ox.to_onnx(InferenceModel.from_checkpoint(ckpt), target)
    assert sorted(os.listdir(tmp_path / "a_directory")) == []  # no temporary left behind
    # an existing file is replaced whole
    existing = tmp_path / "existing.onnx"
    existing.write_bytes(b"old")
    assert run_cli(capsys, ["export", "--checkpoint", ckpt, "--onnx", existing])[0] == 0
    assert onnx.load(str(existing)).producer_name == "rtu_edge"


def test_export_needs_an_output(capsys, checkpoints):
    ckpt = checkpoints["td", "linear", "relu"]
    for argv in (["export", "--checkpoint", ckpt], ["export", "--checkpoint", ckpt, "--int8",
                                                    "x.onnx"], ["export", "--onnx", "x.onnx"]):
        with pytest.raises(SystemExit) as exit_:
            main([str(a) for a in argv])
        assert exit_.value.code == 2
    capsys.readouterr()


def test_validate_onnx_options_go_together(capsys, tmp_path):
    for argv in (["validate", "--steps", "5"], ["validate", "--checkpoint", "x.rtu"],
                 ["validate", "--onnx", "x.onnx", "--json", "x.json"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2
    capsys.readouterr()


def test_validate_refuses_bad_onnx_files(capsys, tmp_path, checkpoints):
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\xff\x00 not protobuf \x13" * 10)
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    foreign = tmp_path / "foreign.onnx"
    h = onnx.helper
    onnx.save(h.make_model(h.make_graph([h.make_node("Relu", ["x"], ["y"])], "g",
                                        [h.make_tensor_value_info("x", 1, [1])],
                                        [h.make_tensor_value_info("y", 1, [1])])), str(foreign))
    good = tmp_path / "good.onnx"
    ox.to_onnx(InferenceModel.from_checkpoint(checkpoints["td", "linear", "relu"]), good)
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(good.read_bytes()[:300])
    for path in (garbage, empty, foreign, truncated, tmp_path / "missing.onnx", tmp_path):
        code, _, err = run_cli(capsys, ["validate", "--onnx", path])
        assert code == 2, (path, err)
        assert err.startswith("rtu-edge validate: error: ") and str(path) in err, err
        assert len(err.strip().splitlines()) == 1
    # a checkpoint of another shape
    code, _, err = run_cli(capsys, ["validate", "--onnx", good, "--checkpoint",
                                    checkpoints["discrete", "linear", "relu"]])
    assert code == 2 and "does not match the checkpoint" in err


def test_validate_fails_on_wrong_weights(capsys, tmp_path, checkpoints):
    """The check can fail: a head bias moved by 1e-4 is caught (exit 1)."""
    ckpt = checkpoints["discrete", "nonlinear", "tanh"]
    proto = ox.to_onnx(InferenceModel.from_checkpoint(ckpt))
    for t in proto.graph.initializer:
        if t.name == "head1/b_2":  # the actor's output biases
            t.CopyFrom(onnx.numpy_helper.from_array(onnx.numpy_helper.to_array(t) + 1e-4,
                                                    "head1/b_2"))
    path = tmp_path / "tampered.onnx"
    path.write_bytes(proto.SerializeToString())
    code, out, _ = run_cli(capsys, ["validate", "--onnx", path, "--checkpoint", ckpt,
                                    "--steps", "50"])
    assert code == 1 and "FAIL" in out


# -- the commands, end to end --------------------------------------------------------------------

@pytest.mark.parametrize("sequence", [False, True])
def test_export_then_validate(capsys, tmp_path, checkpoints, sequence):
    ckpt = checkpoints["continuous", "linear", "tanh"]
    f32, int8 = tmp_path / "m.onnx", tmp_path / "m_int8.onnx"
    argv = ["export", "--checkpoint", ckpt, "--onnx", f32, "--int8", int8]
    code, out, err = run_cli(capsys, argv + (["--sequence"] if sequence else []))
    assert code == 0, err
    assert f"wrote {f32}" in out and f"wrote {int8}" in out
    assert ox.metadata(onnx.load(str(f32)))["variant"] == ("sequence" if sequence else "step")
    for argv in (["validate", "--onnx", f32], ["validate", "--onnx", f32, "--checkpoint", ckpt,
                                               "--steps", "300", "--seed", "5"],
                 ["validate", "--onnx", int8, "--checkpoint", ckpt]):
        code, out, err = run_cli(capsys, argv)
        assert code == 0, out + err
        assert "onnxruntime" in out and "ReferenceEvaluator" in out
        assert "2 passed, 0 failed" in out
    code, _, err = run_cli(capsys, ["validate", "--onnx", int8])  # int8 needs the checkpoint
    assert code == 2 and "--checkpoint" in err


def test_export_c_header_through_the_same_command(capsys, tmp_path, checkpoints):
    pytest.importorskip("rtu_edge.export.c_header")
    header, f32 = tmp_path / "policy.h", tmp_path / "m.onnx"
    code, out, err = run_cli(capsys, ["export", "--checkpoint",
                                      checkpoints["discrete", "linear", "tanh"], "--c-header",
                                      header, "--name", "policy", "--onnx", f32])
    assert code == 0, err
    assert header.exists() and f32.exists() and "policy" in header.read_text()
