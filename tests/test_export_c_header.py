"""The inference model of a checkpoint (rtu_edge.export.InferenceModel, c_src/rtu_model.c) and its
C header export: the model is the learner's forward pass, a C program compiled against an
exported header reproduces it, and the header's embedded checkpoint loads into the core's learner
exactly."""

import subprocess
import sys

import numpy as np
import pytest

from conftest import run_c_program
from rtu_edge import ActorCritic, RTUCell, TDLambda
from rtu_edge.export import CModel, InferenceModel
from rtu_edge.export.c_header import header_text, write_header
from rtu_edge.reference import ACTIVATIONS, KINDS


def trained_td(tmp_path, kind, activation, dtype=np.float64, seed=0):
    td = TDLambda(3, 5, kind=kind, activation=activation, seed=seed, dtype=dtype, alpha=0.05)
    rng = np.random.default_rng(seed)
    for _ in range(300):
        td.step(rng.normal(size=3), rng.random())
    path = tmp_path / f"td-{kind}-{activation}.rtu"
    td.save(path)
    return path


def trained_ac(tmp_path, kind, action_kind, dtype=np.float64, seed=0, activation="tanh",
               **network):
    ac = ActorCritic(3, 5, 2, action_kind=action_kind, kind=kind, activation=activation,
                     seed=seed, dtype=dtype, **{"n_embed": 4, "n_head": 3, "prev_action": True,
                                                "prev_reward": "normalized", **network})
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=3)
    for t in range(300):
        ac.act(obs)
        nxt = rng.normal(size=3) * 2 + 1
        ac.learn(float(rng.random()), nxt, False, t % 60 == 59)
        obs = nxt
    path = tmp_path / f"ac-{kind}-{action_kind}.rtu"
    ac.save(path)
    return path


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_model_is_the_cells_forward_pass(tmp_path, kind, activation):
    """Features of the C cell with the checkpoint's parameters, through the head, are the model's
    outputs, step after step (float64: to rounding)."""
    path = trained_td(tmp_path, kind, activation)
    model = InferenceModel.from_checkpoint(path)
    params = TDLambda.from_checkpoint(path).params
    cell = RTUCell(3, 5, kind=kind, activation=activation, dtype=np.float64)
    cell.set_params({k: params[k] for k in cell.params})  # the LRU's readout too
    c_model = CModel(model, np.float64)
    for x in np.random.default_rng(1).normal(size=(200, 3)):
        h = cell.step(x)
        out = c_model.step(x)
        np.testing.assert_allclose(out, params["w"] @ h + params["b"], rtol=0, atol=1e-12)

NETWORKS = {"separate": {}, "shared": {"shared": True}, "no layers": {"n_embed": 0, "n_head": 0},
            "no extras": {"prev_action": False, "prev_reward": "none"},
            "memoryless": {"memoryless": True, "prev_action": False, "prev_reward": "none"},
            "memoryless with the extras": {"memoryless": True, "prev_action": True,
                                           "prev_reward": "normalized"},
            "the reward's sign": {"prev_reward": "sign"}}


@pytest.mark.parametrize("kind", ["nonlinear", "lru"])
@pytest.mark.parametrize("action_kind", ["discrete", "continuous"])
@pytest.mark.parametrize("network", list(NETWORKS))
def test_actor_critic_model_is_the_learners_forward_pass(kind, action_kind, network):
    """A learner that barely learns (alpha 1e-15; no normalisation or reward scaling, whose
    running statistics a frozen model does not follow) and its model, fed the learner's actions
    and rewards, give the same policy and value at every step, across episode ends; the C step
    and the numpy step agree."""
    ac = ActorCritic(3, 5, 2, action_kind=action_kind, kind=kind, seed=1,
                     alpha=1e-15, normalize_obs=False, scale_reward=False,
                     **{"n_embed": 4, "n_head": 3, "prev_action": True, "prev_reward": "normalized",
                        **NETWORKS[network]})
    model = InferenceModel.from_learner(ac)
    assert model.n_trunks == (1 if network == "shared" else 2)
    assert model.output_names[-1] == "value"
    assert (model.reward_mean, model.reward_scale) == (0.0, 1.0)  # the raw previous reward
    c_model = CModel(model, np.float64)
    state = model.initial_state()
    rng = np.random.default_rng(2)
    obs = rng.normal(size=3)
    for t in range(150):
        action = ac.act(obs)
        out_c = c_model.step(obs).copy()
        out_ref, state = model.step_reference(state, obs[None])
        np.testing.assert_allclose(out_c, out_ref[0], rtol=0, atol=1e-12)
        policy = ac.policy()
        want = (np.log(policy["probs"]) if action_kind == "discrete" else
                np.concatenate([policy["mean"], policy["std"]]))
        if action_kind == "discrete":  # logits, up to the log-softmax's shift
            got = out_c[:2] - np.log(np.sum(np.exp(out_c[:2])))
        else:
            got = out_c[:4]
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
        np.testing.assert_allclose(out_c[-1], ac.value(), rtol=0, atol=1e-9)
        reward, nxt = float(rng.normal()), rng.normal(size=3)
        end = t % 40 == 39
        ac.learn(reward, nxt, end, False)
        if end:
            c_model.reset()
            state = model.initial_state()
        else:
            c_model.feed(action, reward)
            state[0, model.recurrent_size:] = model.encode(action, reward)
        obs = nxt


def test_actor_critic_model_freezes_the_normalisation(tmp_path):
    """The model's observation and previous-reward normalisation are the learner's statistics at
    the checkpoint: their means and 1 / sqrt(m2 / (count - 1) + 1e-8)."""
    path = trained_ac(tmp_path, "linear", "continuous")
    model = InferenceModel.from_checkpoint(path)
    learner = ActorCritic.from_checkpoint(path)
    stats = learner.observation_statistics
    mean, m2, count = (stats[k] for k in ("mean", "m2", "count"))
    np.testing.assert_array_equal(model.obs_mean, mean)
    np.testing.assert_allclose(model.obs_inv_std, 1 / np.sqrt(m2 / (count - 1) + 1e-8))
    rewards = learner.prev_reward_statistics  # the previous-reward input's, not reward scaling's
    assert rewards["count"] == 300 and model.reward_mean == rewards["mean"] != 0
    assert model.reward_scale == pytest.approx(1 / np.sqrt(rewards["m2"] / 299 + 1e-8),
                                               rel=1e-15)
    assert (model.std_min, model.std_max) == (learner.config.std_min, learner.config.std_max)
    assert model.output_names == ("mean_0", "mean_1", "std_0", "std_1", "value")
    out = CModel(model, np.float64).step(np.zeros(3))
    assert np.all((out[2:4] >= model.std_min) & (out[2:4] <= model.std_max))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_model_previous_reward_input_is_the_learners(dtype):
    """With normalize_obs, the learner's previous-reward input after learn(r, ..) is (r - mean) /
    sqrt(var + 1e-8) of the rewards so far; a model exported right then writes the same into its
    state on feed(action, r): (r - reward_mean) * reward_scale, in C and in numpy (to rounding:
    the model multiplies by the inverse std, the learner divides by the std)."""
    ac = ActorCritic(3, 5, 2, kind="nonlinear", seed=1, dtype=dtype, n_embed=4, n_head=3,
                     prev_action=True, prev_reward="normalized")
    rng = np.random.default_rng(3)
    obs = rng.normal(size=3)
    for t in range(60):
        action = ac.act(obs)
        reward, obs = float(rng.choice([-1.0, 1.0]) / 51), rng.normal(size=3)
        ac.learn(reward, obs, False, False)
        if t in (0, 1, 30, 59):
            model = InferenceModel.from_learner(ac)
            impl = ac._impl
            x = np.array(impl.core.view(impl.ac.x, ac.n_x))
            c_model = CModel(model, dtype)
            c_model.feed(action, reward)
            tol = 1e-12 if dtype == np.float64 else 1e-6
            assert model.encode(action, reward)[-1] == pytest.approx(x[-1], rel=tol, abs=tol)
            assert c_model.state[-1] == pytest.approx(x[-1], rel=tol, abs=tol)
            assert c_model.state[-1] == model.encode(action, reward)[-1]
    assert abs(x[-1]) > 0.5  # rewards of +-1/51 give an input of about 1


@pytest.mark.parametrize("mode", ["sign", "centered_sign", "gated_sign"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_model_reward_sign_input_is_the_learners(dtype, mode):
    """With prev_reward "sign", the learner's previous-reward input after learn(r, ..) is sign(r),
    -1, 0 or 1 ("centered_sign": sign(r) less the mean of the signs so far; "gated_sign": 0 until
    two signs have differed, sign(r) after), and a model exported from it then (its reward_mean
    the learner's mean of the signs, or its reward_scale the learner's gate) writes the same into
    its state on feed(action, r), in C and in numpy, for rewards of either sign and zero."""
    centered = mode == "centered_sign"
    ac = ActorCritic(3, 5, 2, kind="nonlinear", seed=1, dtype=dtype, n_embed=4, n_head=3,
                     prev_action=True, prev_reward=mode)
    rng = np.random.default_rng(3)
    obs = rng.normal(size=3)
    rewards = [-0.5, -2.5, 0.02, 0.0, 7.0, -1e-3]
    for t, reward in enumerate(rewards):
        action = ac.act(obs)
        obs = rng.normal(size=3)
        ac.learn(reward, obs, False, False)
        model = InferenceModel.from_learner(ac)
        assert model.prev_reward == ac.network.prev_reward
        mean = ac.prev_reward_statistics["mean"]  # Welford's, to rounding the signs' np.mean
        assert model.reward_mean == (float(np.dtype(dtype).type(mean)) if centered else 0)
        signs = np.sign(rewards[:t + 1])
        gate = len(set(signs)) > 1
        assert model.reward_scale == (float(gate) if mode == "gated_sign" else 1.0)
        c_model = CModel(model, dtype)
        impl = ac._impl
        x = np.array(impl.core.view(impl.ac.x, ac.n_x))
        c_model.feed(action, reward)
        want = {"sign": signs[-1], "centered_sign": signs[-1] - np.mean(signs),
                "gated_sign": signs[-1] * gate}[mode]
        assert x[-1] == c_model.state[-1] == model.encode(action, reward)[-1], t
        assert x[-1] == pytest.approx(want, abs=1e-6), t


C_PROGRAM = """
#include <stdio.h>
#include "model.h"

static const rtu_real obs[%(T)d][MODEL_N_IN] = { %(obs)s };
static const rtu_real actions[%(T)d] = { %(actions)s };  /* indices; or the first of A = 2 */
static const rtu_real rewards[%(T)d] = { %(rewards)s };

int main(void)
{
    static rtu_real state[MODEL_STATE_REALS], work[MODEL_WORK_REALS];
    rtu_real out[MODEL_N_OUT];
    size_t t, o;
    rtu_status status = rtu_model_check(&model);
    if (status != RTU_OK) {
        printf("check: %%s\\n", rtu_status_str(status));
        return 1;
    }
    rtu_model_reset(&model, state);
    for (t = 0; t < %(T)d; ++t) {
        status = rtu_model_step(&model, state, obs[t], work, out);
        if (status == RTU_OK) { /* TD(lambda): a model without the extras ignores it */
            rtu_real action[2];
            action[0] = actions[t];
            action[1] = -actions[t];
            status = rtu_model_feed(&model, state, action, rewards[t]);
        }
        if (status != RTU_OK) {
            printf("step: %%s\\n", rtu_status_str(status));
            return 1;
        }
        for (o = 0; o < MODEL_N_OUT; ++o) {
            printf("%%.17g\\n", (double)out[o]);
        }
    }
    printf("%%d %%d %%u %%u %%u\\n", MODEL_LEARNER, (int)MODEL_KIND, (unsigned)MODEL_N_IN,
           (unsigned)MODEL_N_HIDDEN, (unsigned)MODEL_N_OUT);
    return 0;
}
"""

STRICT = ("-Wall", "-Wextra", "-Wpedantic", "-Werror")


def feedback(model, T, seed=5):
    """Actions (T, action_size) and rewards (T,) that C_PROGRAM feeds back: an index in
    {0, 1}, or the 2-vector (a, -a)."""
    rng = np.random.default_rng(seed)
    first = (rng.integers(0, 2, T) if model.action_kind == "discrete" else
             rng.normal(size=T)).astype(np.float64)
    actions = first[:, None] if model.action_size == 1 else np.stack([first, -first], axis=1)
    return first, actions, rng.normal(size=T)


def run_header_program(tmp_path, header_path, X, defines=(), compiler="gcc", first=None,
                       rewards=None):
    T = len(X)
    first = np.zeros(T) if first is None else first
    rewards = np.zeros(T) if rewards is None else rewards
    source = C_PROGRAM % {"T": T, "obs": ", ".join(
        "{" + ", ".join(repr(float(v)) for v in row) + "}" for row in X),
        "actions": ", ".join(repr(float(v)) for v in first),
        "rewards": ", ".join(repr(float(v)) for v in rewards)}
    lines = run_c_program(tmp_path, source, list(defines), compiler=compiler,
                          flags=(*STRICT, "-I", str(header_path.parent))).split("\n")
    return np.array([float(v) for v in lines[:-2]]), lines[-2]


#: the exported learners: name -> (learner, kind, action kind)
LEARNERS = {"td-linear": ("td", "linear", None), "td-nonlinear": ("td", "nonlinear", None),
            "td-lru": ("td", "lru", None), "ac-discrete": ("ac", "nonlinear", "discrete"),
            "ac-continuous": ("ac", "nonlinear", "continuous"),
            "ac-lru": ("ac", "lru", "continuous"), "ac-sign": ("ac", "linear", "discrete"),
            "ac-centered_sign": ("ac", "linear", "discrete"),
            "ac-gated_sign": ("ac", "linear", "discrete")}


def trained(tmp_path, learner, dtype=np.float64):
    """The checkpoint of one of LEARNERS."""
    what, kind, action_kind = LEARNERS[learner]
    return (trained_td(tmp_path, kind, "tanh", dtype=dtype) if what == "td"
            else trained_ac(tmp_path, kind, action_kind, dtype=dtype,
                            prev_reward=learner[3:] if learner[3:] in ("sign", "centered_sign",
                                                                       "gated_sign")
                            else "normalized"))


@pytest.mark.parametrize("learner", list(LEARNERS))
@pytest.mark.parametrize("precision", ["float", "double"])
def test_program_compiled_against_header_reproduces_checkpoint(tmp_path, learner, precision):
    """A C program that includes only the exported header (no loading code) runs the
    checkpoint's model: the same outputs as the model on the C core through cffi, in float32
    and float64 builds, warning-free under -Wall -Wextra -Wpedantic -Werror."""
    ckpt_dir = tmp_path / "ckpt"
    ckpt_dir.mkdir()
    what, kind, _ = LEARNERS[learner]
    path = trained(ckpt_dir, learner)
    model = InferenceModel.from_checkpoint(path)
    header = tmp_path / "inc" / "model.h"
    header.parent.mkdir()
    write_header(path, header)
    X = np.random.default_rng(2).normal(size=(150, 3)) * 1.5
    dtype = np.float32 if precision == "float" else np.float64
    first, actions, rewards = feedback(model, len(X))
    got, info = run_header_program(tmp_path, header, X,
                                   () if precision == "float" else ("-DRTU_DOUBLE",),
                                   first=first, rewards=rewards)
    expected = CModel(model, dtype).run(X.astype(dtype), actions, rewards).reshape(-1)
    tol = 1e-6 if precision == "float" else 1e-13
    np.testing.assert_allclose(got, expected, rtol=0, atol=tol * max(1.0, np.abs(expected).max()))
    assert info.split() == ["1" if what == "td" else "2", str(KINDS.index(kind)), "3", "5",
                            str(model.n_out)]


LOAD_PROGRAM = r"""
#include <stdio.h>
#include "model.h"

/* the learner's buffer, sized at compile time from the header's macros */
static rtu_real buffer[MODEL_LEARNER_BYTES / sizeof(rtu_real)];
static unsigned char saved[MODEL_CHECKPOINT_BYTES];

static int failed(const char *what, rtu_status status)
{
    printf("%s: %s\n", what, rtu_status_str(status));
    return 1;
}

int main(void)
{
    rtu_ckpt_dims d;
    size_t bytes = 0, written = 0, i;
    rtu_status st = rtu_ckpt_read_dims(model_checkpoint, MODEL_CHECKPOINT_BYTES, &d);
    if (st != RTU_OK) {
        return failed("read_dims", st);
    }
    if (d.learner_type != MODEL_LEARNER || d.precision != MODEL_PRECISION ||
        d.kind != MODEL_KIND || d.activation != MODEL_ACTIVATION || d.n_in != MODEL_N_IN ||
        d.n_hidden != MODEL_N_HIDDEN || d.steps != MODEL_STEPS ||
        d.bytes != MODEL_CHECKPOINT_BYTES) {
        printf("dims differ from the macros\n");
        return 1;
    }
#if MODEL_LEARNER == 2
    {
        rtu_ac ac;
        rtu_ac_config config = rtu_ac_default_config();
        if (d.shape.action_kind != MODEL_ACTION_KIND || d.shape.n_actions != MODEL_N_ACTIONS ||
            d.shape.n_embed != MODEL_N_EMBED || d.shape.n_head != MODEL_N_HEAD ||
            d.shape.shared != MODEL_SHARED || d.shape.prev_action != MODEL_PREV_ACTION ||
            d.shape.prev_reward != MODEL_PREV_REWARD || d.shape.memoryless != MODEL_MEMORYLESS) {
            printf("the shape differs from the macros\n");
            return 1;
        }
        st = rtu_ac_buffer_size(&d.shape, &bytes);
        if (st == RTU_OK && bytes != sizeof buffer) {
            printf("buffer size %lu, not %lu\n", (unsigned long)bytes, (unsigned long)sizeof buffer);
            return 1;
        }
        if (st == RTU_OK) {
            st = rtu_ac_init(&ac, &d.shape, &config, 0u, buffer, sizeof buffer);
        }
        if (st == RTU_OK) {
            st = rtu_ac_load(&ac, model_checkpoint, MODEL_CHECKPOINT_BYTES);
        }
        if (st == RTU_OK) {
            st = rtu_ac_save(&ac, saved, sizeof saved, &written);
        }
    }
#else
    {
        rtu_td td;
        rtu_td_config config = {0.9f, 0.8f, 0.01f, 2.0f, RTU_OPT_OBGD};
        rtu_prng rng;
        rtu_prng_seed(&rng, 0u);
        st = rtu_td_buffer_size(d.kind, d.n_in, d.n_hidden, &bytes);
        if (st == RTU_OK && bytes != sizeof buffer) {
            printf("buffer size %lu, not %lu\n", (unsigned long)bytes, (unsigned long)sizeof buffer);
            return 1;
        }
        if (st == RTU_OK) {
            st = rtu_td_init(&td, d.kind, d.activation, d.n_in, d.n_hidden, &config, &rng, buffer,
                             sizeof buffer);
        }
        if (st == RTU_OK) {
            st = rtu_td_load(&td, model_checkpoint, MODEL_CHECKPOINT_BYTES);
        }
        if (st == RTU_OK) {
            st = rtu_td_save(&td, saved, sizeof saved, &written);
        }
    }
#endif
    if (st != RTU_OK) {
        return failed("load and save", st);
    }
    for (i = 0; i < written; ++i) {
        printf("%02x", saved[i]);
    }
    printf("\n");
    return 0;
}
"""


@pytest.mark.parametrize("learner", list(LEARNERS))
@pytest.mark.parametrize("precision", ["float", "double"])
def test_embedded_checkpoint_loads_into_the_learner_byte_for_byte(tmp_path, learner, precision):
    """The header embeds the checkpoint file: a program that includes only the header sizes its
    buffer from the header's macros and loads the learner from <name>_checkpoint with the core's
    own calls (rtu_ckpt_read_dims, rtu_*_buffer_size, rtu_*_init, rtu_*_load); what it then saves
    is the checkpoint file byte for byte, in the build of the checkpoint's precision."""
    dtype = np.float32 if precision == "float" else np.float64
    path = trained(tmp_path, learner, dtype)
    header = tmp_path / "inc" / "model.h"
    header.parent.mkdir()
    write_header(path, header)
    out = run_c_program(tmp_path, LOAD_PROGRAM, [] if precision == "float" else ["-DRTU_DOUBLE"],
                        flags=(*STRICT, "-I", str(header.parent)))
    assert bytes.fromhex(out.strip()) == path.read_bytes()


def test_header_holds_the_model_and_the_checkpoint_not_the_learner_arrays(tmp_path):
    """Each fact once: the learner's parameters, traces and statistics are in the embedded
    checkpoint only; the model's arrays are its own."""
    text = header_text(trained_ac(tmp_path, "linear", "continuous"), "robot")
    for gone in ("robot_cell_params", "robot_value", "robot_policy", "robot_obs_m2", "robot_z",
                 "ROBOT_GAMMA", "ROBOT_OBS_COUNT", "log_std"):
        assert gone not in text, gone
    for kept in ("robot_critic_w_c[", "robot_actor_w_d[", "robot_critic_embed[",
                 "robot_actor_hidden[", "robot_actor_out[", "robot_obs_inv_std[",
                 "#define ROBOT_N_ACTIONS 2u", "#define ROBOT_CHECKPOINT_BYTES",
                 "#define ROBOT_LEARNER_BYTES RTU_AC_BUFFER_BYTES("):
        assert kept in text, kept


def test_header_compiles_with_clang_and_float32_checkpoint(tmp_path):
    """A float32 checkpoint's values are written exactly: the float build's model equals the C
    model of the checkpoint bit for bit, with clang as well."""
    path = trained_ac(tmp_path, "linear", "discrete", dtype=np.float32)
    model = InferenceModel.from_checkpoint(path)
    assert model.dtype == np.float32
    write_header(path, tmp_path / "model.h")
    X = np.random.default_rng(3).normal(size=(50, 3)).astype(np.float32)
    got, _ = run_header_program(tmp_path, tmp_path / "model.h", X, compiler="clang")
    expected = CModel(model, np.float32).run(X).reshape(-1).astype(np.float64)
    np.testing.assert_array_equal(got, expected)


def test_header_name_must_be_identifier(tmp_path):
    path = trained_td(tmp_path, "linear", "relu")
    assert "static const rtu_model robot =" in header_text(path, "robot")
    assert "#define ROBOT_N_HIDDEN 5u" in header_text(path, "robot")
    assert "static const unsigned char robot_checkpoint[ROBOT_CHECKPOINT_BYTES]" in \
        header_text(path, "robot")
    for bad in ("2fast", "a-b", "", "x" * 64, None, "_model"):
        with pytest.raises(ValueError, match="--name must be a C identifier"):
            header_text(path, bad)
    # issue 16: "int" made "static const rtu_model int = ...", which does not compile
    for keyword in ("int", "for", "Int", "static", "bool", "typeof"):
        with pytest.raises(ValueError, match=f"--name .*is the C keyword '{keyword.lower()}'"):
            header_text(path, keyword)
    # "main" made "static const rtu_model main = ...", which no program with main() compiles
    with pytest.raises(ValueError, match="--name .*'main' is the name of a program's main"):
        header_text(path, "main")
    for core_name in ("rtu_model", "RTU", "rtu"):  # RTU_MODEL_N_OUT is rtu_model.h's macro
        with pytest.raises(ValueError, match="clash with the C core's rtu_ and RTU_ names"):
            header_text(path, core_name)
    for typedef in ("size_t", "uint32_t", "my_t"):  # stddef.h's and stdint.h's types
        with pytest.raises(ValueError, match=f"'{typedef}' is a name the C headers"):
            header_text(path, typedef)
    for cased in ("Model", "NULL", "A"):  # MODEL_N_IN would be model's macro too
        with pytest.raises(ValueError, match=f"'{cased}' has upper-case letters"):
            header_text(path, cased)


@pytest.mark.parametrize("outputs,message", [
    (["--c-header", "{ckpt}"], "--c-header: {ckpt} is --checkpoint's file too"),
    (["--onnx", "{tmp}/a.onnx", "--int8", "{tmp}/a.onnx"], "--int8: {tmp}/a.onnx is --onnx's"),
    (["--onnx", "{tmp}/x", "--c-header", "{tmp}/x"], "--c-header: {tmp}/x is --onnx's file"),
    (["--onnx", "{tmp}/ok.onnx", "--c-header", "{tmp}/none/x.h"],
     "--c-header: cannot write {tmp}/none/x.h: no directory {tmp}/none"),
    (["--c-header", "{tmp}"], "--c-header: {tmp} is a directory"),
])
def test_cli_checks_every_output_path_before_writing_any(tmp_path, outputs, message):
    """An output that is the checkpoint, another output, a directory or in no directory is one
    line naming its flag, and no file is written (the checkpoint unchanged)."""
    ckpt = trained_td(tmp_path, "linear", "relu")
    data = ckpt.read_bytes()
    argv = [a.format(ckpt=ckpt, tmp=tmp_path) for a in outputs]
    result = subprocess.run([sys.executable, "-m", "rtu_edge", "export", "--checkpoint",
                             str(ckpt), *argv], capture_output=True, text=True)
    assert result.returncode == 2 and result.stdout == "" and result.stderr.count("\n") == 1
    assert result.stderr.startswith("rtu-edge export: error: " +
                                    message.format(ckpt=ckpt, tmp=tmp_path)), result.stderr
    assert ckpt.read_bytes() == data
    assert not (tmp_path / "ok.onnx").exists() and not (tmp_path / "a.onnx").exists()


def test_cli_refuses_a_keyword_name_in_one_line_before_writing(tmp_path):
    path = trained_td(tmp_path, "linear", "relu")
    out = tmp_path / "model.h"
    result = subprocess.run([sys.executable, "-m", "rtu_edge", "export", "--checkpoint",
                             str(path), "--c-header", str(out), "--name", "int"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and result.stdout == "" and not out.exists()
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(
        "rtu-edge export: error: --name must be a C identifier"), result.stderr


def test_export_refuses_impossible_or_unusable_models_naming_the_file(tmp_path):
    """Issue 16: a checkpoint whose CRC is right but whose content is impossible loaded, and its
    model exported Inf and NaN into ONNX and a header that did not compile in float. The loader
    refuses it now (a weight beyond RTU_VALUE_LIMIT); and a model built otherwise that the C core
    would not run, in its precision or in float32 (where the ONNX export and the header's float
    build hold it), is refused by InferenceModel.check naming where it goes."""
    import dataclasses
    import struct
    import zlib
    data = bytearray(trained_td(tmp_path, "linear", "tanh").read_bytes())
    w_c = 88 + 6 * 8 + 4 + 8 * 2 * 5  # the first entry of w_c: after 6 reals, has_prev, the logs
    struct.pack_into("<d", data, w_c, 1e300)
    struct.pack_into("<I", data, len(data) - 4, zlib.crc32(bytes(data[:-4])))
    (tmp_path / "huge.rtu").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="huge.rtu is refused: params beyond"):
        header_text(tmp_path / "huge.rtu", "robot")
    with pytest.raises(ValueError, match="huge.rtu is refused: params beyond"):
        InferenceModel.from_checkpoint(tmp_path / "huge.rtu")
    model = InferenceModel.from_checkpoint(trained_td(tmp_path, "linear", "tanh"))
    model.check("fine")
    trunk = model.trunks[0]
    for bad, dtype in ((dataclasses.replace(trunk, w_c=trunk.w_c * 1e300), "float32"),
                       (dataclasses.replace(trunk, w_c=trunk.w_c * np.nan), "float64")):
        with pytest.raises(ValueError, match=f"robot.onnx: cannot export this model, in {dtype}: "
                                             "the model's weights are unusable"):
            dataclasses.replace(model, trunks=[bad]).check("robot.onnx")


def test_model_refuses_bad_observations(tmp_path):
    model = InferenceModel.from_checkpoint(trained_td(tmp_path, "linear", "tanh"))
    c_model = CModel(model, np.float32)
    c_model.step(np.zeros(3))
    before = c_model.state.copy()
    for bad, match in ((np.array([np.nan, 0, 0]), "NaN"), (np.array([1e9, 0, 0]), "beyond"),
                       (np.zeros(4), "shape")):
        with pytest.raises(ValueError, match=match):
            c_model.step(bad)
        np.testing.assert_array_equal(c_model.state, before)


def test_model_step_reads_the_observation_in_any_layout(tmp_path):
    """step gives the same outputs and state for an observation as a float32 array (the per-step
    path, copied into the model's own buffer), a strided view of one, float64 values or a list."""
    model = InferenceModel.from_checkpoint(trained_td(tmp_path, "linear", "tanh"))
    obs = np.random.default_rng(0).normal(size=(5, 6)).astype(np.float32)
    layouts = [lambda o: o.copy(), lambda o: np.repeat(o, 2)[::2],
               lambda o: o.astype(np.float64), lambda o: o.tolist()]
    runs = []
    for layout in layouts:
        c_model = CModel(model, np.float32)
        runs.append([(c_model.step(layout(o[:3])).copy(), c_model.state.copy()) for o in obs])
    for run in runs[1:]:
        for (out, state), (out0, state0) in zip(run, runs[0]):
            np.testing.assert_array_equal(out, out0)
            np.testing.assert_array_equal(state, state0)


@pytest.mark.parametrize("action_kind", ["discrete", "continuous"])
def test_model_feed_refuses_bad_actions_and_rewards(action_kind):
    """feed takes an index (discrete) or an n_actions-vector (continuous) and a real reward; any
    other action or reward is a ValueError naming it, and the state is unchanged."""
    ac = ActorCritic(3, 4, 2, action_kind=action_kind, seed=0, dtype=np.float32,
                     prev_action=True, prev_reward="normalized")
    c_model = CModel(InferenceModel.from_learner(ac), np.float32)
    good = 1 if action_kind == "discrete" else np.array([0.5, -0.5])
    c_model.step(np.ones(3))
    c_model.feed(good, 0.25)
    before = c_model.state.copy()
    bad_actions = [("left", "action must"), (np.zeros(3), r"action must be .*shape \(3,\)"),
                   ([[0.0, 1.0]], "action must be")]
    if action_kind == "discrete":
        bad_actions += [(True, "action must be an action index, got True"),
                        (2, "not one of the model's actions"), (-1, "not one of"),
                        (0.5, "not one of"), (2**40, "not one of"),
                        (np.int64(2), "not one of"), (np.uint8(7), "not one of"),
                        (np.array([0.5], np.float32), "not one of"),
                        (np.array([np.nan], np.float32), "NaN")]
    else:
        bad_actions += [(0.5, r"shape \(\)"), (np.array([np.nan, 0.0]), "NaN"),
                        (np.array([np.inf, 0.0], np.float32), "action or reward"),
                        (np.array([True, False]), "action must be an array of 2 reals"),
                        (np.array([1e300, 0.0]), "action")]
    cases = [(a, 0.0, match) for a, match in bad_actions] + [
        (good, "x", "reward must be a real number"), (good, 1 + 2j, "reward must be"),
        (good, float("nan"), "NaN"), (good, 1e300, "reward"), (good, np.float64(1e300), "reward"),
        (good, np.float32("nan"), "NaN"), (good, np.bool_(True), "reward must be")]
    for action, reward, match in cases:
        with pytest.raises(ValueError, match=match):
            c_model.feed(action, reward)
        np.testing.assert_array_equal(c_model.state, before)
    # the same action and reward again, as numpy scalars and arrays (the per-step fast paths)
    for same, reward in ((np.int64(good) if action_kind == "discrete" else list(good), 0.25),
                         (np.array(good, np.float32).reshape(-1), np.float32(0.25)),
                         (np.int32(good) if action_kind == "discrete" else good, np.float64(0.25))):
        c_model.feed(same, reward)
        np.testing.assert_array_equal(c_model.state, before)


def test_export_from_bad_checkpoint_names_the_file(tmp_path):
    good = trained_td(tmp_path, "linear", "tanh")
    data = good.read_bytes()
    cases = {"truncated.rtu": data[:-10], "corrupt.rtu": data[:100] + bytes([data[100] ^ 1]) +
             data[101:], "text.rtu": b"hello, not a checkpoint"}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match=name):
            InferenceModel.from_checkpoint(tmp_path / name)
    with pytest.raises(OSError, match="missing.rtu"):
        InferenceModel.from_checkpoint(tmp_path / "missing.rtu")


def test_header_to_unwritable_path_is_clear(tmp_path):
    path = trained_td(tmp_path, "linear", "tanh")
    with pytest.raises(OSError, match="cannot write C header .*no-such-dir"):
        write_header(path, tmp_path / "no-such-dir" / "model.h")
    write_header(path, tmp_path / "model.h")
    assert (tmp_path / "model.h").stat().st_mode & 0o777 == 0o666 & ~_umask()
    with pytest.raises(OSError):
        write_header(path, tmp_path)  # a directory


def _umask() -> int:
    import os
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_unknown_learner_type_is_refused(tmp_path):
    """A checkpoint whose header (with a valid CRC) names no known learner is refused by name."""
    import struct
    import zlib
    data = bytearray(trained_td(tmp_path, "linear", "tanh").read_bytes())
    struct.pack_into("<I", data, 12, 7)  # the learner type field, after magic and version
    struct.pack_into("<I", data, len(data) - 4, zlib.crc32(bytes(data[:-4])))
    (tmp_path / "other.rtu").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="other.rtu.*unknown learner type 7"):
        InferenceModel.from_checkpoint(tmp_path / "other.rtu")


def test_c_model_refuses_unusable_weights(tmp_path):
    """rtu_model_check: non-finite weights, or a recurrence that does not decay (|lambda| >= 1)."""
    import dataclasses
    model = InferenceModel.from_checkpoint(trained_td(tmp_path, "linear", "tanh"))
    trunk = model.trunks[0]
    w_c = trunk.w_c.copy()
    w_c[0, 0] = np.nan
    g = trunk.g.copy()
    g[1] = 1.0
    for bad, match in ((dataclasses.replace(trunk, w_c=w_c), "unusable: parameter contains NaN"),
                       (dataclasses.replace(trunk, g=g), r"unusable: .*\|lambda\| >= 1")):
        with pytest.raises(ValueError, match=match):
            CModel(dataclasses.replace(model, trunks=[bad]))
    lru = InferenceModel.from_checkpoint(trained_td(tmp_path, "lru", "tanh"))
    c_re = lru.trunks[0].c_re.copy()
    c_re[3, 1] = np.inf
    for bad, match in ((dataclasses.replace(lru.trunks[0], c_re=c_re), "contains NaN or Inf"),
                       (dataclasses.replace(lru.trunks[0], d_skip=None), "NULL")):
        with pytest.raises(ValueError, match=match):
            CModel(dataclasses.replace(lru, trunks=[bad]))
