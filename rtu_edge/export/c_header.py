"""Export to a C header: a checkpoint compiled into flash, twice over. Its inference model, as
const arrays with the configuration as macros and an ``rtu_model`` (c_src/rtu_model.h) pointing at
them, so the C core runs the model with no loading code:

    #include "model.h"
    static rtu_real state[MODEL_STATE_REALS], work[MODEL_WORK_REALS], out[MODEL_N_OUT];
    rtu_model_check(&model);  rtu_model_reset(&model, state);
    each step: rtu_model_step(&model, state, obs, work, out);  act on out;
               rtu_model_feed(&model, state, &action, reward)  (or reset at an episode end)

and the checkpoint file's own bytes, from which a device loads the learner and goes on learning
exactly where training stopped (the core's calls, as for a checkpoint read from a file):

    static rtu_real buffer[MODEL_LEARNER_BYTES / sizeof(rtu_real)];
    rtu_ckpt_read_dims(model_checkpoint, MODEL_CHECKPOINT_BYTES, &dims);
    rtu_ac_init(&ac, &dims.shape, &config, 0, buffer, sizeof buffer);
    rtu_ac_load(&ac, model_checkpoint, MODEL_CHECKPOINT_BYTES);     (rtu_td_* for TD(lambda))

With ``name`` (default "model") every array is ``<name>_...`` and every macro ``<NAME>_...``:

- macros: ``<NAME>_LEARNER`` (1 TD(lambda), 2 actor-critic), ``_KIND``, ``_ACTIVATION``,
  ``_N_IN`` (observation entries), ``_N_HIDDEN``, ``_N_OUT``, ``_STATE_REALS``, ``_WORK_REALS``,
  ``_STEPS`` (training steps), ``_PRECISION`` (4 or 8: the checkpoint's bytes per real; the
  model's values are written exactly, so they compile into either build of rtu_real, while the
  checkpoint loads only into the build of its precision), ``_CHECKPOINT_BYTES``,
  ``_LEARNER_BYTES`` (the learner's buffer, RTU_AC_BUFFER_BYTES or RTU_TD_BUFFER_BYTES of its
  shape, for a static buffer), and for the actor-critic the rest of its shape (rtu_ac_shape):
  ``_N_EMBED``, ``_N_HEAD``, ``_SHARED``, ``_PREV_ACTION``, ``_PREV_REWARD``, ``_MEMORYLESS``,
  ``_ACTION_KIND``, ``_N_ACTIONS``, and ``_ACTION_REALS`` (what rtu_model_feed takes);
- the inference model: per trunk (``critic`` and ``actor``; ``shared``; ``trunk`` for
  TD(lambda)) ``<name>_<trunk>_embed`` (with an input layer), ``_w_c``, ``_w_d`` (input-major,
  as the cell stores them: rtu.h), ``_g``, ``_phi``,
  ``_eta`` (and the LRU's ``_c_re``, ``_c_im``, ``_d_skip``); per head (``critic`` and ``actor``,
  ``head`` for TD(lambda)) ``<name>_<head>_hidden`` (with a hidden layer) and ``_out``;
  ``<name>_obs_mean`` and ``_obs_inv_std`` (when observations are normalised); and the
  ``static const rtu_model <name>``;
- ``static const unsigned char <name>_checkpoint[<NAME>_CHECKPOINT_BYTES]``: the checkpoint file,
  byte for byte. The learner's hyperparameters, parameters, traces and statistics live there only.
"""

from __future__ import annotations

import os
import re

import numpy as np

from .. import __version__
from ..checkpoint import read_file, write_atomic
from .model import InferenceModel

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,62}\Z")
#: C's keywords (C99 to C23) that start with a letter (those that start with an underscore, _Bool
#: and the like, no name may start as): the model is ``static const rtu_model <name>``, lower-cased
C_KEYWORDS = frozenset("""
    auto break case char const continue default do double else enum extern float for goto if
    inline int long register restrict return short signed sizeof static struct switch typedef
    union unsigned void volatile while alignas alignof bool constexpr false nullptr static_assert
    thread_local true typeof typeof_unqual""".split())


def check_name(name) -> str:
    """name, if the header can use it: a C identifier of at most 63 characters starting with a
    lower-case letter (a leading underscore is the C implementation's; the macros are its upper
    case, so two names that differ in case only would define the same ones), that is not a C
    keyword (the model's variable), not main (a program's own function), not a type of
    stddef.h or stdint.h (which the header includes: size_t, uint32_t; every name ending in _t
    is reserved) and not in the C core's rtu_ / RTU_ namespace (RTU_MODEL_N_OUT is one of its
    macros already). ValueError naming --name otherwise."""
    rule = ("--name must be a C identifier in lower case (a letter, then letters, digits or _; "
            "at most 63 characters) that is not a C keyword or main, does not end in _t and "
            "does not start with rtu")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"{rule}, got {name!r}")
    if name.lower() in C_KEYWORDS:
        raise ValueError(f"{rule}: {name!r} is the C keyword {name.lower()!r}")
    if name == "main":
        raise ValueError(f"{rule}: 'main' is the name of a program's main function, which a "
                         f"program that includes the header defines")
    if name.lower().startswith("rtu"):
        raise ValueError(f"{rule}: {name!r} would clash with the C core's rtu_ and RTU_ names")
    if name != name.lower():
        raise ValueError(f"{rule}: {name!r} has upper-case letters (the header's macros are "
                         f"its upper case, {name.upper()}_..., which {name.lower()!r} defines "
                         f"too)")
    if name.endswith("_t"):
        raise ValueError(f"{rule}: {name!r} is a name the C headers (stddef.h, stdint.h) declare "
                         f"or reserve")
    return name
_C_ENUM = {"linear": "RTU_KIND_LINEAR", "nonlinear": "RTU_KIND_NONLINEAR", "lru": "RTU_KIND_LRU",
           "relu": "RTU_ACT_RELU", "tanh": "RTU_ACT_TANH", "identity": "RTU_ACT_IDENTITY",
           "discrete": "RTU_ACTIONS_DISCRETE", "continuous": "RTU_ACTIONS_CONTINUOUS"}
_PER_LINE = 4
_BYTES_PER_LINE = 16


def _literal(v) -> str:
    """The exact value of a float32 or float64 as a C double literal (repr round-trips)."""
    text = repr(float(v))
    return text if any(ch in text for ch in ".en") else text + ".0"


def _array(name: str, values: np.ndarray, comment: str) -> str:
    flat = np.asarray(values).reshape(-1)
    lines = [", ".join(_literal(v) for v in flat[i:i + _PER_LINE])
             for i in range(0, flat.size, _PER_LINE)]
    body = ",\n    ".join(lines)
    return (f"/* {comment} */\nstatic const rtu_real {name}[{flat.size}] = {{\n    {body}\n}};\n")


def _bytes_array(name: str, data: bytes, size: str, comment: str) -> str:
    lines = [", ".join(f"0x{b:02x}" for b in data[i:i + _BYTES_PER_LINE])
             for i in range(0, len(data), _BYTES_PER_LINE)]
    body = ",\n    ".join(lines)
    return f"/* {comment} */\nstatic const unsigned char {name}[{size}] = {{\n    {body}\n}};\n"


def header_text(checkpoint, name: str = "model") -> str:
    """The header's text for the checkpoint file at path ``checkpoint`` (see the module
    docstring). ValueError or OSError naming the file if it cannot be read, is not a valid
    checkpoint or holds a model the C core would not run; ValueError naming ``--name`` if name
    cannot be the header's (check_name)."""
    check_name(name)
    data = read_file(checkpoint)  # once: the model and the embedded bytes are one checkpoint
    model = InferenceModel.from_bytes(data, str(checkpoint))
    lo, up = name.lower(), name.upper()
    guard = f"RTU_EXPORT_{up}_H"
    n, d = model.n_hidden, model.n_in
    ac = model.learner == "actor-critic"
    flag = {False: "0", True: "1"}
    macros = {
        "LEARNER": "2" if ac else "1",
        "KIND": _C_ENUM[model.kind],
        "ACTIVATION": _C_ENUM[model.activation],
        "N_IN": f"{d}u",
        "N_HIDDEN": f"{n}u",
    }
    if ac:
        macros.update({
            "N_EMBED": f"{model.n_embed}u", "N_HEAD": f"{model.n_head}u",
            "SHARED": flag[model.n_trunks == 1], "PREV_ACTION": flag[model.prev_action],
            "PREV_REWARD": f"RTU_REWARD_{model.prev_reward.upper()}",
            "MEMORYLESS": flag[model.memoryless],
            "ACTION_KIND": _C_ENUM[model.action_kind], "N_ACTIONS": f"{model.n_actions}u",
            "ACTION_REALS": f"RTU_MODEL_ACTION_REALS({up}_ACTION_KIND, {up}_N_ACTIONS)",
            "LEARNER_BYTES": (f"RTU_AC_BUFFER_BYTES({up}_KIND, {up}_N_IN, {up}_N_HIDDEN, "
                              f"{up}_N_EMBED, {up}_N_HEAD, {up}_SHARED, {up}_PREV_ACTION, "
                              f"{up}_PREV_REWARD, {up}_ACTION_KIND, {up}_N_ACTIONS)")})
    else:
        macros["LEARNER_BYTES"] = f"RTU_TD_BUFFER_BYTES({up}_KIND, {up}_N_IN, {up}_N_HIDDEN)"
    macros.update({
        "N_OUT": f"{model.n_out}u",
        "STATE_REALS": f"{model.state_size}u",
        "WORK_REALS": (f"RTU_MODEL_WORK_REALS({model.n_x}u, {up}_N_HIDDEN, {model.n_embed}u, "
                       f"{model.n_head}u)"),
        "STEPS": f"{model.steps}ull",
        "PRECISION": str(model.dtype.itemsize),
        "CHECKPOINT_BYTES": f"{len(data)}u",
    })
    outputs = ", ".join(model.output_names)
    network = (f"{model.n_trunks} trunk{'s' if model.n_trunks > 1 else ''}, n_embed "
               f"{model.n_embed}, n_head {model.n_head}, prev_action {int(model.prev_action)}, "
               f"prev_reward {model.prev_reward}"
               f"{', memoryless' if model.memoryless else ''}"
               if ac else "one linear head")
    parts = [
        f"/* Generated by rtu_edge {__version__} (rtu-edge export --c-header): a trained "
        f"{'actor-critic' if ac else 'TD(lambda)'} learner,\n"
        f" * {model.kind} RTU, {model.activation}, n_in {d}, n_hidden {n}, {network}, after "
        f"{model.steps} training steps.\n"
        f" * Outputs of rtu_model_step: {outputs}. The state is {model.state_size} reals, zero at "
        f"every episode start.\n * See c_src/rtu_model.h. Do not edit: export again instead. */\n",
        f"#ifndef {guard}\n#define {guard}\n\n#include \"rtu_model.h\"\n"
        f"#include \"rtu_ckpt.h\" /* to load {lo}_checkpoint: rtu_ckpt_read_dims, "
        f"{'rtu_ac_load' if ac else 'rtu_td_load'} */\n",
    ]
    parts.append("\n" + "".join(f"#define {up}_{k} {v}\n" for k, v in macros.items()) + "\n")
    owners = ["critic", "actor"] if model.n_trunks == 2 else ["shared" if ac else "trunk"]
    trunks = []
    for owner, t in zip(owners, model.trunks):
        arrays = {"embed": None if t.embed is None else t.embed.flat}
        arrays.update(w_c=t.w_c.T, w_d=t.w_d.T, g=t.g, phi=t.phi, eta=t.eta, c_re=t.c_re,
                      c_im=t.c_im, d_skip=t.d_skip)
        comments = {"embed": "input layer: W_in (n_embed x n_x), then b_in",
                    "w_c": "W_c, input-major: for each input of the RTU, n_hidden values",
                    "w_d": "W_d, input-major: for each input, n_hidden values",
                    "g": "r cos(theta) per unit", "phi": "r sin(theta) per unit",
                    "eta": "max(sqrt(1 - r^2), RTU_ETA_MIN) per unit",
                    "c_re": "the LRU's readout C_re: 2 n_hidden x n_hidden",
                    "c_im": "the LRU's readout C_im: 2 n_hidden x n_hidden",
                    "d_skip": "the LRU's skip D: 2 n_hidden x the RTU's input"}
        fields = []
        for key, values in arrays.items():
            if values is None:
                fields.append(f".{key} = NULL")
                continue
            parts.append(_array(f"{lo}_{owner}_{key}", values, f"{owner}: {comments[key]}"))
            fields.append(f".{key} = {lo}_{owner}_{key}")
        trunks.append("{" + ", ".join(fields) + "}")
    heads = []
    for role, h in zip(["critic", "actor"] if ac else ["head"], model.heads):
        fields = []
        for key, dense, what in (("hidden", h.hidden, "hidden layer: W_1 (n_head x 2 n_hidden), "
                                  "then b_1"), ("out", h.out, "output layer: W_2, then b_2")):
            if dense is None:
                fields.append(f".{key} = NULL")
                continue
            parts.append(_array(f"{lo}_{role}_{key}", dense.flat, f"{role}: {what}"))
            fields.append(f".{key} = {lo}_{role}_{key}")
        heads.append("{" + ", ".join(fields) + "}")
    if model.obs_mean is not None:
        parts.append(_array(f"{lo}_obs_mean", model.obs_mean,
                            "observation means (Welford; normalisation frozen)"))
        parts.append(_array(f"{lo}_obs_inv_std", model.obs_inv_std,
                            "1 / sqrt(var + 1e-8) of the observations"))
    mean, inv_std = ((f"{lo}_obs_mean", f"{lo}_obs_inv_std") if model.obs_mean is not None
                     else ("NULL", "NULL"))
    shape = (f"    .n_embed = {up}_N_EMBED, .n_head = {up}_N_HEAD, .n_trunks = "
             f"{model.n_trunks}u,\n    .prev_action = {up}_PREV_ACTION, .prev_reward = "
             f"{up}_PREV_REWARD, .memoryless = {up}_MEMORYLESS,\n    .action_kind = "
             f"{up}_ACTION_KIND, .n_actions = {up}_N_ACTIONS,\n" if ac else
             "    .n_embed = 0u, .n_head = 0u, .n_trunks = 1u,\n")
    parts.append(
        f"\nstatic const rtu_model {lo} = {{\n"
        f"    .kind = {up}_KIND, .activation = {up}_ACTIVATION,\n"
        f"    .n_obs = {up}_N_IN, .n_hidden = {up}_N_HIDDEN,\n{shape}"
        f"    .trunk = {{{', '.join(trunks)}}},\n"
        f"    .head = {{{', '.join(heads)}}},\n"
        f"    .obs_mean = {mean}, .obs_inv_std = {inv_std},\n"
        f"    .reward_mean = {_literal(model.reward_mean)}, "
        f".reward_scale = {_literal(model.reward_scale)}, .std_min = "
        f"{_literal(model.std_min)}, .std_max = {_literal(model.std_max)}\n}};\n")
    parts.append("\n" + _bytes_array(
        f"{lo}_checkpoint", data, f"{up}_CHECKPOINT_BYTES",
        f"the checkpoint file ({len(data)} bytes): the learner, to load and go on learning"))
    parts.append(f"\n#endif /* {guard} */\n")
    return "".join(parts)


def write_header(checkpoint, path, name: str = "model") -> None:
    """Write the header for the checkpoint file at path ``checkpoint`` to path atomically (errors
    as header_text's; OSError naming path if it cannot be written)."""
    text = header_text(checkpoint, name)
    write_atomic(os.fspath(path), text.encode(), what="C header")
