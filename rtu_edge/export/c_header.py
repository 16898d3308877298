"""Export to a C header: a checkpoint compiled into flash, twice over. Its inference model, as
const arrays with the configuration as macros and an ``rtu_model`` (c_src/rtu_model.h) pointing at
them, so the C core runs the model with no loading code:

    #include "model.h"
    static rtu_real state[MODEL_STATE_REALS], work[MODEL_WORK_REALS], out[MODEL_N_OUT];
    rtu_model_check(&model);  rtu_model_reset(&model, state);
    rtu_model_step(&model, state, obs, work, out);        (each step)

and the checkpoint file's own bytes, from which a device loads the learner and goes on learning
exactly where training stopped (the core's calls, as for a checkpoint read from a file):

    rtu_ckpt_read_dims(model_checkpoint, MODEL_CHECKPOINT_BYTES, &dims);
    rtu_ac_buffer_size(dims.kind, ...);  rtu_ac_init(&ac, dims.kind, ..., buffer, bytes);
    rtu_ac_load(&ac, model_checkpoint, MODEL_CHECKPOINT_BYTES);     (rtu_td_* for TD(lambda))

With ``name`` (default "model") every array is ``<name>_...`` and every macro ``<NAME>_...``:

- macros: ``<NAME>_LEARNER`` (1 TD(lambda), 2 actor-critic), ``_KIND``, ``_ACTIVATION``,
  ``_N_IN``, ``_N_HIDDEN``, ``_N_OUT``, ``_STATE_REALS``, ``_WORK_REALS``, ``_STEPS`` (training
  steps), ``_PRECISION`` (4 or 8: the checkpoint's bytes per real; the model's values are written
  exactly, so they compile into either build of rtu_real, while the checkpoint loads only into the
  build of its precision), ``_CHECKPOINT_BYTES``, and for the actor-critic ``_ACTION_KIND`` and
  ``_N_ACTIONS`` (with ``_KIND``, ``_N_IN`` and ``_N_HIDDEN``, what RTU_AC_BUFFER_BYTES needs to
  size a static learner buffer at compile time);
- the inference model: ``<name>_w_c``, ``_w_d``, ``_g``, ``_phi``, ``_eta``, ``_head_w``,
  ``_head_b``, ``_obs_mean`` and ``_obs_inv_std`` (when observations are normalised), and the
  ``static const rtu_model <name>``; continuous actions add ``<name>_log_std``;
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

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}\Z")
_C_ENUM = {"linear": "RTU_KIND_LINEAR", "nonlinear": "RTU_KIND_NONLINEAR",
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
    docstring). ValueError or OSError naming the file if it cannot be read or is not a valid
    checkpoint; ValueError naming ``name`` if it is not a C identifier."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"name must be a C identifier (letters, digits, _; not starting with a "
                         f"digit; at most 63 characters), got {name!r}")
    data = read_file(checkpoint)  # once: the model and the embedded bytes are one checkpoint
    model = InferenceModel.from_bytes(data, str(checkpoint))
    lo, up = name.lower(), name.upper()
    guard = f"RTU_EXPORT_{up}_H"
    n, d = model.n_hidden, model.n_in
    ac = model.learner == "actor-critic"
    macros = {
        "LEARNER": "2" if ac else "1",
        "KIND": _C_ENUM[model.kind],
        "ACTIVATION": _C_ENUM[model.activation],
        "N_IN": f"{d}u",
        "N_HIDDEN": f"{n}u",
        "N_OUT": f"{model.n_out}u",
        "STATE_REALS": f"RTU_MODEL_STATE_REALS({up}_N_HIDDEN)",
        "WORK_REALS": f"RTU_MODEL_WORK_REALS({up}_N_IN, {up}_N_HIDDEN)",
        "STEPS": f"{model.steps}ull",
        "PRECISION": str(model.dtype.itemsize),
    }
    if ac:
        macros.update({"ACTION_KIND": _C_ENUM[model.action_kind],
                       "N_ACTIONS": f"{model.n_actions}u"})
    macros["CHECKPOINT_BYTES"] = f"{len(data)}u"
    outputs = ", ".join(model.output_names)
    parts = [
        f"/* Generated by rtu_edge {__version__} (rtu-edge export --c-header): a trained "
        f"{'actor-critic' if ac else 'TD(lambda)'} learner,\n"
        f" * {model.kind} RTU, {model.activation}, n_in {d}, n_hidden {n}, after {model.steps} "
        f"training steps.\n"
        f" * Outputs of rtu_model_step: {outputs}. The state is 2 * n_hidden reals, zero at every "
        f"episode start.\n * See c_src/rtu_model.h. Do not edit: export again instead. */\n",
        f"#ifndef {guard}\n#define {guard}\n\n#include \"rtu_model.h\"\n"
        f"#include \"{'rtu_ac.h' if ac else 'rtu_td.h'}\" /* the enums of the macros below */\n"
        f"#include \"rtu_ckpt.h\" /* to load {lo}_checkpoint: rtu_ckpt_read_dims, "
        f"{'rtu_ac_load' if ac else 'rtu_td_load'} */\n",
    ]
    parts.append("\n" + "".join(f"#define {up}_{k} {v}\n" for k, v in macros.items()) + "\n")
    parts.append(_array(f"{lo}_w_c", model.w_c, "W_c: n x n_in"))
    parts.append(_array(f"{lo}_w_d", model.w_d, "W_d: n x n_in"))
    parts.append(_array(f"{lo}_g", model.g, "r cos(theta) per unit"))
    parts.append(_array(f"{lo}_phi", model.phi, "r sin(theta) per unit"))
    parts.append(_array(f"{lo}_eta", model.eta, "max(sqrt(1 - r^2), RTU_ETA_MIN) per unit"))
    parts.append(_array(f"{lo}_head_w", model.head_w, f"head rows ({outputs}) x 2n"))
    parts.append(_array(f"{lo}_head_b", model.head_b, "head biases"))
    if model.obs_mean is not None:
        parts.append(_array(f"{lo}_obs_mean", model.obs_mean,
                            "observation means (Welford; normalisation frozen)"))
        parts.append(_array(f"{lo}_obs_inv_std", model.obs_inv_std,
                            "1 / sqrt(var + 1e-8) of the observations"))
    if model.log_std is not None:
        parts.append(_array(f"{lo}_log_std", model.log_std,
                            "state-independent log standard deviations of the actions"))
    mean, inv_std = ((f"{lo}_obs_mean", f"{lo}_obs_inv_std") if model.obs_mean is not None
                     else ("NULL", "NULL"))
    parts.append(
        f"\nstatic const rtu_model {lo} = {{\n"
        f"    .kind = {up}_KIND, .activation = {up}_ACTIVATION,\n"
        f"    .n_in = {up}_N_IN, .n_hidden = {up}_N_HIDDEN, .n_out = {up}_N_OUT,\n"
        f"    .w_c = {lo}_w_c, .w_d = {lo}_w_d,\n"
        f"    .g = {lo}_g, .phi = {lo}_phi, .eta = {lo}_eta,\n"
        f"    .head_w = {lo}_head_w, .head_b = {lo}_head_b,\n"
        f"    .obs_mean = {mean}, .obs_inv_std = {inv_std}\n}};\n")
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
