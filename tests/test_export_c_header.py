"""The inference model of a checkpoint (rtu_edge.export.InferenceModel, c_src/rtu_model.c) and its
C header export: the model is the learner's forward pass, a C program compiled against an
exported header reproduces it, and the header's embedded checkpoint loads into the core's learner
exactly."""

import numpy as np
import pytest

from conftest import run_c_program
from rtu_edge import ActorCritic, RTUCell, TDLambda
from rtu_edge.export import CModel, InferenceModel
from rtu_edge.export.c_header import header_text, write_header

KINDS = ["linear", "nonlinear"]
ACTIVATIONS = ["relu", "tanh", "identity"]


def trained_td(tmp_path, kind, activation, dtype=np.float64, seed=0):
    td = TDLambda(3, 5, kind=kind, activation=activation, seed=seed, dtype=dtype, alpha=0.05)
    rng = np.random.default_rng(seed)
    for _ in range(300):
        td.step(rng.normal(size=3), rng.random())
    path = tmp_path / f"td-{kind}-{activation}.rtu"
    td.save(path)
    return path


def trained_ac(tmp_path, kind, action_kind, dtype=np.float64, seed=0, activation="tanh"):
    ac = ActorCritic(3, 5, 2, action_kind=action_kind, kind=kind, activation=activation,
                     seed=seed, dtype=dtype)
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
    cell.set_params({k: params[k] for k in ("nu_log", "theta_log", "w_c", "w_d")})
    c_model = CModel(model, np.float64)
    for x in np.random.default_rng(1).normal(size=(200, 3)):
        h = cell.step(x)
        out = c_model.step(x)
        np.testing.assert_allclose(out, params["w"] @ h + params["b"], rtol=0, atol=1e-12)

@pytest.mark.parametrize("action_kind", ["discrete", "continuous"])
def test_actor_critic_model_outputs_policy_and_value(tmp_path, action_kind):
    """The model's last output is the critic's value, the others the policy's logits or means,
    with the observation normalisation frozen at the checkpoint's statistics."""
    path = trained_ac(tmp_path, "linear", action_kind)
    model = InferenceModel.from_checkpoint(path)
    params = ActorCritic.from_checkpoint(path).params
    assert model.output_names[-1] == "value" and model.n_out == 3
    assert (model.log_std is not None) == (action_kind == "continuous")
    stats = ActorCritic.from_checkpoint(path).observation_statistics
    mean, m2, count = (stats[k] for k in ("mean", "m2", "count"))
    np.testing.assert_allclose(model.obs_inv_std, 1 / np.sqrt(m2 / (count - 1) + 1e-8))
    # from a zero state: the numpy step, the C step and the learner's own heads agree
    cell = RTUCell(3, 5, kind="linear", activation="tanh", dtype=np.float64)
    cell.set_params({k: params[k] for k in ("nu_log", "theta_log", "w_c", "w_d")})
    c_model = CModel(model, np.float64)
    state = model.initial_state()
    for obs in np.random.default_rng(4).normal(size=(20, 3)):
        h = cell.step((obs - mean) * model.obs_inv_std)
        out_ref, state = model.step_reference(state, obs[None])
        out_c = c_model.step(obs)
        np.testing.assert_allclose(out_c, out_ref[0], atol=1e-12)
        np.testing.assert_allclose(out_c[:2], params["W"] @ h + params["b"], atol=1e-12)
        np.testing.assert_allclose(out_c[2], params["w_v"] @ h + params["b_v"][0], atol=1e-12)
    if action_kind == "continuous":
        np.testing.assert_array_equal(model.log_std, params["log_std"])

C_PROGRAM = """
#include <stdio.h>
#include "model.h"

static const rtu_real obs[%(T)d][MODEL_N_IN] = { %(obs)s };

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


def run_header_program(tmp_path, header_path, X, defines=(), compiler="gcc"):
    source = C_PROGRAM % {"T": len(X), "obs": ", ".join(
        "{" + ", ".join(repr(float(v)) for v in row) + "}" for row in X)}
    lines = run_c_program(tmp_path, source, list(defines), compiler=compiler,
                          flags=(*STRICT, "-I", str(header_path.parent))).split("\n")
    return np.array([float(v) for v in lines[:-2]]), lines[-2]


@pytest.mark.parametrize("learner", ["td-linear", "td-nonlinear", "ac-discrete",
                                     "ac-continuous"])
@pytest.mark.parametrize("precision", ["float", "double"])
def test_program_compiled_against_header_reproduces_checkpoint(tmp_path, learner, precision):
    """A C program that includes only the exported header (no loading code) runs the
    checkpoint's model: the same outputs as the model on the C core through cffi, in float32
    and float64 builds, warning-free under -Wall -Wextra -Wpedantic -Werror."""
    ckpt_dir = tmp_path / "ckpt"
    ckpt_dir.mkdir()
    what, variant = learner.split("-")
    path = (trained_td(ckpt_dir, variant, "tanh") if what == "td"
            else trained_ac(ckpt_dir, "nonlinear", variant))
    model = InferenceModel.from_checkpoint(path)
    header = tmp_path / "inc" / "model.h"
    header.parent.mkdir()
    write_header(path, header)
    X = np.random.default_rng(2).normal(size=(150, 3)) * 1.5
    dtype = np.float32 if precision == "float" else np.float64
    got, info = run_header_program(tmp_path, header, X,
                                   () if precision == "float" else ("-DRTU_DOUBLE",))
    expected = CModel(model, dtype).run(X.astype(dtype)).reshape(-1)
    tol = 1e-6 if precision == "float" else 1e-13
    np.testing.assert_allclose(got, expected, rtol=0, atol=tol * max(1.0, np.abs(expected).max()))
    assert info.split() == ["1" if what == "td" else "2", "1" if what == "ac" or
                            variant == "nonlinear" else "0", "3", "5", str(model.n_out)]


LOAD_PROGRAM = r"""
#include <stdio.h>
#include "model.h"

/* the learner's buffer, sized at compile time from the header's macros */
#if MODEL_LEARNER == 2
#define LEARNER_BYTES                                                                             \
    RTU_AC_BUFFER_BYTES(MODEL_KIND, MODEL_N_IN, MODEL_N_HIDDEN, MODEL_ACTION_KIND, MODEL_N_ACTIONS)
#else
#define LEARNER_BYTES RTU_TD_BUFFER_BYTES(MODEL_KIND, MODEL_N_IN, MODEL_N_HIDDEN)
#endif
static rtu_real buffer[LEARNER_BYTES / sizeof(rtu_real)];
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
        if (d.action_kind != MODEL_ACTION_KIND || d.n_actions != MODEL_N_ACTIONS) {
            printf("action space differs from the macros\n");
            return 1;
        }
        st = rtu_ac_buffer_size(d.kind, d.n_in, d.n_hidden, d.action_kind, d.n_actions, &bytes);
        if (st == RTU_OK && bytes != sizeof buffer) {
            printf("buffer size %lu, not %lu\n", (unsigned long)bytes, (unsigned long)sizeof buffer);
            return 1;
        }
        if (st == RTU_OK) {
            st = rtu_ac_init(&ac, d.kind, d.activation, d.n_in, d.n_hidden, d.action_kind,
                             d.n_actions, &config, 0u, buffer, sizeof buffer);
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


@pytest.mark.parametrize("learner", ["td-linear", "td-nonlinear", "ac-discrete",
                                     "ac-continuous"])
@pytest.mark.parametrize("precision", ["float", "double"])
def test_embedded_checkpoint_loads_into_the_learner_byte_for_byte(tmp_path, learner, precision):
    """The header embeds the checkpoint file: a program that includes only the header sizes its
    buffer from the header's macros and loads the learner from <name>_checkpoint with the core's
    own calls (rtu_ckpt_read_dims, rtu_*_buffer_size, rtu_*_init, rtu_*_load); what it then saves
    is the checkpoint file byte for byte, in the build of the checkpoint's precision."""
    what, variant = learner.split("-")
    dtype = np.float32 if precision == "float" else np.float64
    path = (trained_td(tmp_path, variant, "tanh", dtype=dtype) if what == "td"
            else trained_ac(tmp_path, "nonlinear", variant, dtype=dtype))
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
    for gone in ("robot_cell_params", "robot_value", "robot_policy", "robot_obs_m2", "robot_head[",
                 "ROBOT_GAMMA", "ROBOT_OBS_COUNT"):
        assert gone not in text, gone
    for kept in ("robot_w_c[", "robot_w_d[", "robot_head_w[", "robot_log_std[",
                 "robot_obs_inv_std[", "#define ROBOT_N_ACTIONS 2u", "#define ROBOT_CHECKPOINT_BYTES"):
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
    for bad in ("2fast", "a-b", "", "x" * 64, None):
        with pytest.raises(ValueError, match="name must be a C identifier"):
            header_text(path, bad)


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
    w_c = model.w_c.copy()
    w_c[0, 0] = np.nan
    g = model.g.copy()
    g[1] = 1.0
    for bad, match in ((dataclasses.replace(model, w_c=w_c), "unusable: parameter contains NaN"),
                       (dataclasses.replace(model, g=g), r"unusable: .*\|lambda\| >= 1")):
        with pytest.raises(ValueError, match=match):
            CModel(bad)
