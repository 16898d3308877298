"""ONNX export of a trained learner's inference step (InferenceModel, model.py), for onnxruntime.

``to_onnx(model)`` builds one inference step as an ONNX graph, the step of rtu_model.h: per
network (the critic's and the actor's, or one trunk with two heads when shared)

    x   = [(obs - obs_mean) * obs_inv_std; prev_action; (prev_reward - reward_mean) * reward_scale
           (or Sign(prev_reward) with prev_reward "sign"; Sign(prev_reward) - reward_mean with
           "centered_sign", 0 where prev_reward is NaN; Sign(prev_reward) * reward_scale with
           "gated_sign", reward_scale the learner's gate, 1 or 0)]
    e   = lrelu(LN(x W_in^T + b_in))               (n_embed > 0; else e = x)
    u   = eta * (e [W_c; W_d]^T)
    pre = [g c - phi d; g d + phi c] + u           (memoryless: pre = u)
    linear:    (c, d) = pre,        h = f(pre)
    nonlinear: (c, d) = f(pre),     h = (c, d)
    q   = lrelu(LN(h W_1^T + b_1))                 (n_head > 0; else q = h)
    out = q W_2^T + b_2

as standard operators only (Sub, Mul, MatMul, Add, Split, Concat, ReduceMean, Sqrt, Reciprocal,
LeakyRelu, Relu/Tanh, Softplus, Min, Identity; Sign for the reward's sign, with IsNaN and Where
when centred; Scan for the sequence variant; the int8 variant adds
DynamicQuantizeLinear, MatMulInteger and Cast) at opset 17, IR version 8, float32, the weights as
initializers. Opset 17 came with ONNX 1.12; rtu_edge requires onnxruntime >= 1.16 and onnx >= 1.15
(the tests pass with onnxruntime 1.16.3 + onnx 1.15.0 and with 1.32.0 + 1.23.2). onnxruntime's ARM
packages (the aarch64 Linux wheels on PyPI, e.g. for a Raspberry Pi with a 64-bit OS; Android and
iOS) are built from the same sources with the full CPU execution provider. There are no official
32-bit ARM wheels. A "minimal build" of onnxruntime, which keeps only the kernels of the models it
was reduced for, needs these models among them.

Inputs and outputs of the step graph (batch is a dynamic dimension named "batch"; S = 2 n_hidden
per trunk, one trunk for TD(lambda) and a shared actor-critic, two otherwise):
    obs [batch, n_in]                                                  float32
    prev_action [batch, A]   (prev_action models) the action taken on the previous step's
                             outputs: one-hot (discrete) or the action vector (continuous)
    prev_reward [batch, 1]   (prev_reward models) the reward that action brought, raw (the
                             graph normalises it as the learner did: (r - reward_mean) *
                             reward_scale; or takes its sign, Sign(r), with "sign", or
                             Sign(r) - reward_mean with "centered_sign", which takes NaN
                             for the 0 of an episode's first step, or Sign(r) *
                             reward_scale with "gated_sign")
    state [batch, S]
    TD(lambda):       prediction [batch, 1]
    actor-critic:     logits [batch, A] (discrete), or mean [batch, A] and std [batch, A]
                      (continuous, std = min(std_min + softplus(pre), std_max)); value [batch, 1]
    state_out [batch, S]
The state and the previous action are zeros at every episode start, and so is the normalised
previous reward: feed prev_reward = reward_mean there (the metadata's "prev_reward_at_start", the
float32 value that normalises to exactly 0, 0 with "sign" and "gated_sign", NaN with
"centered_sign" (whose Sign(r) - reward_mean no reward makes 0); the learner's extras are zero
at an episode's first step). Feed state_out back as the next step's state. The metadata lists the inputs ("inputs") and outputs ("outputs").

The sequence variant (``sequence=True``) runs the same step under one Scan over a whole episode,
time-major (the ONNX RNN convention and Scan's default axes; onnx.reference implements Scan over
axis 0 only): obs [time, batch, n_in] (and prev_action [time, batch, A], prev_reward [time,
batch, 1]: at time t, the action and reward of step t - 1; at t = 0 zeros and
"prev_reward_at_start") and state [batch, S]
(the start state) in, the per-step outputs over time [time, batch, k] and the final state_out
[batch, S] out. For batch-major data [batch, time, n_in], transpose axes 0 and 1 first. The Scan
body is built by the same function as the step graph (``_step_nodes``) and holds the step's
initializers itself, so that no runtime has to resolve outer-scope names inside the Scan (onnx
1.14's reference evaluator could not).

The arithmetic follows rtu_model.c operation by operation where the order matters (the rotation as
g*c + (-phi)*d, which is exactly g*c - phi*d, then + eta*(W x); LN's (y - mean) * (1 / sqrt(var +
eps))), so only the dot products' and the means' summation order differs from the C core; how
closely each runtime follows it is checked in rtu_edge/validate.py (``rtu-edge validate --onnx``,
tests/test_export_onnx.py). ``session`` and ``run_onnx`` run an exported file; this module compares
nothing.

``quantize_int8`` makes the dynamically quantized variant (onnxruntime.quantization: int8
weights, per tensor, for every MatMul; activations quantized to uint8 at run time). Its error is
stated in its docstring. ``from_onnx`` reads an exported float32 file back into an InferenceModel
(initializers + metadata), which is what ``rtu-edge validate --onnx FILE`` checks against.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Optional, Union

import numpy as np

from .. import __version__, checkpoint
from .._extras import require
from ..reference.config import REWARD_INPUTS
from .model import Dense, Head, InferenceModel, Trunk, check_model

OPSET = 17
IR_VERSION = 8  # the IR of opset 17 (onnx 1.12): readable by onnxruntime >= 1.12
FORMAT = "rtu_edge-onnx-2"  # metadata "format": what from_onnx reads (1: before issue 11's network)
STATE_INIT = ("zeros of shape [batch, 2*n_hidden*n_trunks] at every episode start, as are "
              "prev_action and prev_reward; feed state_out back as state")
LN_EPS = 1e-5  # RTU_LN_EPS
ONNX_KINDS = ("linear", "nonlinear")  # the cell kinds the graph has (not the LRU's readout)
LRELU_SLOPE = 0.01  # RTU_LRELU_SLOPE
PathLike = Union[str, "os.PathLike[str]"]


def _onnx():
    return require("onnx", "the ONNX export")  # rtu_edge[onnx]


# -- names ---------------------------------------------------------------------------------------

def output_names(model: InferenceModel) -> list:
    """The per-step outputs of the graph, in order, without state_out: ["prediction"],
    ["logits", "value"] or ["mean", "std", "value"]."""
    if model.learner == "td":
        return ["prediction"]
    return (["logits"] if model.action_kind == "discrete" else ["mean", "std"]) + ["value"]


def _output_widths(model: InferenceModel) -> list:
    return [1] if model.learner == "td" else [model.n_actions] * (len(output_names(model)) - 1) + [1]


def input_names(model: InferenceModel) -> list:
    """The graph's inputs besides state, in order: obs, then prev_action and prev_reward when
    the network takes them."""
    return (["obs"] + (["prev_action"] if model.prev_action else [])
            + (["prev_reward"] if model.reward_input else []))


def _input_widths(model: InferenceModel) -> list:
    return [model.n_in] + ([model.n_actions] if model.prev_action else []) + \
        ([1] if model.reward_input else [])


def _trunk_names(r: int) -> dict:
    return {k: f"trunk{r}/{k}" for k in ("w_in", "b_in", "w_rtu", "eta2", "g2", "phi2")}


def _head_names(r: int) -> dict:
    return {k: f"head{r}/{k}" for k in ("w_1", "b_1", "w_2", "b_2")}


# -- the graph -----------------------------------------------------------------------------------

class _Nodes:
    """Nodes of one graph, their intermediate values named prefix + a counter."""

    def __init__(self, prefix: str):
        self.prefix, self.nodes, self.count = prefix, [], 0

    def op(self, op_type: str, inputs: list, output: Optional[str] = None, **attrs) -> str:
        if output is None:
            self.count += 1
            output = f"{self.prefix}{op_type.lower()}_{self.count}"
        self.nodes.append(_onnx().helper.make_node(
            op_type, inputs, [output], name=f"{self.prefix}{op_type}_{len(self.nodes)}", **attrs))
        return output

    def split(self, value: str, sizes: str, outputs: list) -> None:
        """Split value along axis 1 into outputs (sizes: the name of an int64 initializer)."""
        self.nodes.append(_onnx().helper.make_node(
            "Split", [value, sizes], outputs, name=f"{self.prefix}Split_{len(self.nodes)}",
            axis=1))

    def ln_lrelu(self, y: str) -> str:
        """lrelu(LN(y)) over axis 1, in rtu_ln_lrelu's order: (y - mean) * (1 / sqrt(var + eps)),
        var the biased variance."""
        centred = self.op("Sub", [y, self.op("ReduceMean", [y], axes=[1], keepdims=1)])
        var = self.op("ReduceMean", [self.op("Mul", [centred, centred])], axes=[1], keepdims=1)
        inv_std = self.op("Reciprocal", [self.op("Sqrt", [self.op("Add", [var, "ln_eps"])])])
        return self.op("LeakyRelu", [self.op("Mul", [centred, inv_std])], alpha=LRELU_SLOPE)

    def dense(self, x: str, w: str, b: str) -> str:
        return self.op("Add", [self.op("MatMul", [x, w]), b])


def _arrays(model: InferenceModel) -> dict:
    """The weights in float32 (int64 for split sizes), in the layout the step graph uses: per
    trunk r, trunk{r}/w_in = W_in^T, b_in (with an input layer), w_rtu = [W_c; W_d]^T,
    eta2 = [eta; eta], g2 = [g; g], phi2 = [-phi; phi] (not for the memoryless network); per head r, head{r}/w_1 = W_1^T, b_1
    (with a hidden layer), w_2 = W_2^T, b_2; obs_mean and obs_inv_std when normalised;
    reward_mean and reward_scale (prev_reward), std_min, std_max (continuous actions), ln_eps;
    split sizes."""
    f32 = np.float32
    n = model.n_hidden
    arrays = {}  # only what the graph uses (onnxruntime warns of unused initializers)
    if model.n_embed or model.n_head:
        arrays["ln_eps"] = np.array(LN_EPS, dtype=f32)
    if not model.memoryless:  # the memoryless step starts from zero: no recurrence
        arrays["split_state"] = np.array([n, n], dtype=np.int64)
        if model.n_trunks == 2:
            arrays["split_trunks"] = np.array([2 * n, 2 * n], dtype=np.int64)
    for r, t in enumerate(model.trunks):
        names = _trunk_names(r)
        if t.embed is not None:
            arrays[names["w_in"]], arrays[names["b_in"]] = t.embed.w.T, t.embed.b
        arrays[names["w_rtu"]] = np.concatenate([t.w_c, t.w_d]).T
        arrays[names["eta2"]] = np.concatenate([t.eta, t.eta])
        if not model.memoryless:
            arrays[names["g2"]] = np.concatenate([t.g, t.g])
            arrays[names["phi2"]] = np.concatenate([-t.phi, t.phi])
    for r, h in enumerate(model.heads):
        names = _head_names(r)
        if h.hidden is not None:
            arrays[names["w_1"]], arrays[names["b_1"]] = h.hidden.w.T, h.hidden.b
        arrays[names["w_2"]], arrays[names["b_2"]] = h.out.w.T, h.out.b
    if model.obs_mean is not None:
        arrays["obs_mean"], arrays["obs_inv_std"] = model.obs_mean, model.obs_inv_std
    if model.prev_reward in ("normalized", "centered_sign"):
        arrays["reward_mean"] = np.array(model.reward_mean)
    if model.prev_reward == "centered_sign":
        arrays["reward_zero"] = np.array(0.0)
    if model.prev_reward in ("normalized", "gated_sign"):
        arrays["reward_scale"] = np.array(model.reward_scale)
    if model.action_kind == "continuous":
        arrays["std_min"], arrays["std_max"] = np.array(model.std_min), np.array(model.std_max)
        arrays["split_policy"] = np.array([model.n_actions] * 2, dtype=np.int64)
    return {k: np.array(v, dtype=np.int64 if v.dtype == np.int64 else f32, order="C")
            for k, v in arrays.items()}


def _initializers(model: InferenceModel) -> list:
    onnx = _onnx()
    return [onnx.numpy_helper.from_array(a, name) for name, a in _arrays(model).items()]


_ACTIVATION_OPS = {"relu": "Relu", "tanh": "Tanh", "identity": None}


def _step_nodes(model: InferenceModel, g: _Nodes, inputs: list, state: str, outputs: list,
                state_out: str) -> None:
    """Append one inference step to g: from the values inputs (per input_names(model)) and state
    [B, S] to the values named outputs (per output_names(model)) and state_out. The one
    definition of the step, used by the step graph and by the Scan body of the sequence graph."""
    feeds = dict(zip(input_names(model), inputs))
    x = feeds["obs"]
    if model.obs_mean is not None:
        x = g.op("Mul", [g.op("Sub", [x, "obs_mean"]), "obs_inv_std"])
    if model.n_extra:
        parts = [x] + ([feeds["prev_action"]] if model.prev_action else [])
        if model.prev_reward == "sign":
            parts.append(g.op("Sign", [feeds["prev_reward"]]))
        elif model.prev_reward == "centered_sign":  # NaN, an episode's first step: 0
            centered = g.op("Sub", [g.op("Sign", [feeds["prev_reward"]]), "reward_mean"])
            parts.append(g.op("Where", [g.op("IsNaN", [feeds["prev_reward"]]), "reward_zero",
                                        centered]))
        elif model.prev_reward == "gated_sign":
            parts.append(g.op("Mul", [g.op("Sign", [feeds["prev_reward"]]), "reward_scale"]))
        elif model.prev_reward == "normalized":
            parts.append(g.op("Mul", [g.op("Sub", [feeds["prev_reward"], "reward_mean"]),
                                      "reward_scale"]))
        x = g.op("Concat", parts, axis=1)
    states = [state] * model.n_trunks  # the memoryless step reads no state
    if model.n_trunks == 2 and not model.memoryless:
        states = [f"{g.prefix}state_{r}" for r in range(2)]
        g.split(state, "split_trunks", states)
    act = _ACTIVATION_OPS[model.activation]
    news, head_out = [], {}
    for r, s in enumerate(states):
        names = _trunk_names(r)
        e = x
        if model.n_embed:
            e = g.ln_lrelu(g.dense(x, names["w_in"], names["b_in"]))
        u = g.op("Mul", [names["eta2"], g.op("MatMul", [e, names["w_rtu"]])])  # eta [W_c e; W_d e]
        if model.memoryless:
            pre = u  # from the zero state: g 0 - phi 0 + u is u exactly
        else:
            c, d = f"{g.prefix}c_{r}", f"{g.prefix}d_{r}"
            g.split(s, "split_state", [c, d])
            swapped = g.op("Concat", [d, c], axis=1)  # [d; c]
            # [g c - phi d; g d + phi c] + u, in rtu_model.c's order of operations
            pre = g.op("Add", [g.op("Add", [g.op("Mul", [names["g2"], s]),
                                            g.op("Mul", [names["phi2"], swapped])]), u])
        if model.kind == "linear":
            news.append(pre)
            h = g.op(act, [pre]) if act else pre
        else:
            news.append(g.op(act, [pre]) if act else pre)
            h = news[-1]
        for role in ([0] if r == 0 else []) + ([1] if model.n_actions and
                                                 r + 1 == model.n_trunks else []):
            hn = _head_names(role)
            q = g.ln_lrelu(g.dense(h, hn["w_1"], hn["b_1"])) if model.n_head else h
            head_out[role] = g.dense(q, hn["w_2"], hn["b_2"])
    if len(news) == 1:
        g.op("Identity", news, state_out)
    else:
        g.op("Concat", news, state_out, axis=1)
    g.op("Identity", [head_out[0]], outputs[-1])  # value, or the prediction
    if model.action_kind == "discrete":
        g.op("Identity", [head_out[1]], outputs[0])
    elif model.action_kind == "continuous":  # std = min(std_min + softplus(pre), std_max)
        pre_std = f"{g.prefix}std_pre"
        g.split(head_out[1], "split_policy", [outputs[0], pre_std])
        g.op("Min", [g.op("Add", ["std_min", g.op("Softplus", [pre_std])]), "std_max"],
             outputs[1])


def _metadata(model: InferenceModel, sequence: bool) -> dict:
    meta = {
        "format": FORMAT,
        "rtu_edge_version": __version__,
        "variant": "sequence" if sequence else "step",
        "learner": model.learner,
        "kind": model.kind,
        "activation": model.activation,
        "n_in": str(model.n_in),
        "n_hidden": str(model.n_hidden),
        "n_embed": str(model.n_embed),
        "n_head": str(model.n_head),
        "n_trunks": str(model.n_trunks),
        "prev_action": str(int(model.prev_action)),
        "prev_reward": model.prev_reward,
        "memoryless": str(int(model.memoryless)),
        "n_out": str(model.n_out),
        "action_kind": model.action_kind or "none",
        "n_actions": str(model.n_actions),
        "inputs": json.dumps(input_names(model) + ["state"]),
        "outputs": json.dumps(output_names(model) + ["state_out"]),
        "head_rows": json.dumps(list(model.output_names)),
        "training_steps": str(model.steps),
        "state_init": STATE_INIT,
        "obs_normalization": ("folded in: x = (obs - obs_mean) * obs_inv_std"
                              if model.obs_mean is not None else "none"),
        "prev_reward_normalization": (
            "its sign, Sign(prev_reward); feed prev_reward_at_start at an episode's first step"
            if model.prev_reward == "sign" else
            "its sign centred, Sign(prev_reward) - reward_mean; feed prev_reward_at_start (NaN) "
            "at an episode's first step" if model.prev_reward == "centered_sign" else
            "its sign gated, Sign(prev_reward) * reward_scale (1 or 0); feed "
            "prev_reward_at_start at an episode's first step"
            if model.prev_reward == "gated_sign" else
            "folded in: (prev_reward - reward_mean) * reward_scale; feed prev_reward_at_start "
            "at an episode's first step" if model.reward_input else "none"),
        "checkpoint_dtype": np.dtype(model.dtype).name,
        "config": json.dumps(model.config, sort_keys=True),
    }
    if model.reward_input:  # enters as 0 in float32, as the learner's extras at a start
        meta["prev_reward_at_start"] = repr(
            0.0 if model.prev_reward in ("sign", "gated_sign") else
            float("nan") if model.prev_reward == "centered_sign" else
            float(np.float32(model.reward_mean)))
    if sequence:
        meta["layout"] = ("time-major: obs [time, batch, n_in] (and prev_action, prev_reward "
                          "[time, batch, k]), per-step outputs [time, batch, k]; state in and "
                          "state_out [batch, 2*n_hidden*n_trunks]")
    return meta


def to_onnx(model: InferenceModel, path: Optional[PathLike] = None,
            sequence: bool = False):
    """The ONNX model (onnx.ModelProto) of one inference step of model, or with sequence=True of
    a whole episode under a Scan (module docstring). Written atomically to path if given
    (OSError naming path if it cannot be). The RTU kinds only: ValueError for an "lru" model
    (the C header export and CModel run it)."""
    check_model(model)
    if model.kind not in ONNX_KINDS:
        raise ValueError(f"the ONNX export takes the kinds {ONNX_KINDS}, not {model.kind!r}: "
                         "export a learner of kind 'lru' as a C header (--c-header)")
    model.check(f"ONNX export {os.fspath(path)}" if path is not None else "ONNX export")
    onnx = _onnx()
    helper, TP = onnx.helper, onnx.TensorProto
    S = model.recurrent_size
    names, widths = output_names(model), _output_widths(model)
    in_names, in_widths = input_names(model), _input_widths(model)
    weights = _initializers(model)
    if not sequence:
        g = _Nodes("")
        _step_nodes(model, g, in_names, "state", names, "state_out")
        inputs = [helper.make_tensor_value_info(name, TP.FLOAT, ["batch", w])
                  for name, w in zip(in_names, in_widths)]
        inputs.append(helper.make_tensor_value_info("state", TP.FLOAT, ["batch", S]))
        outs = [helper.make_tensor_value_info(name, TP.FLOAT, ["batch", w])
                for name, w in zip(names, widths)]
        nodes = g.nodes
    else:
        body = _Nodes("step/")
        body_ins = [f"step/{name}" for name in in_names]
        body_outs = [f"step/{name}" for name in names]
        _step_nodes(model, body, body_ins, "step/state", body_outs, "step/state_out")
        body_graph = helper.make_graph(
            body.nodes, "rtu_step",
            [helper.make_tensor_value_info("step/state", TP.FLOAT, ["batch", S])]
            + [helper.make_tensor_value_info(name, TP.FLOAT, ["batch", w])
               for name, w in zip(body_ins, in_widths)],
            [helper.make_tensor_value_info("step/state_out", TP.FLOAT, ["batch", S])]
            + [helper.make_tensor_value_info(name, TP.FLOAT, ["batch", w])
               for name, w in zip(body_outs, widths)],
            initializer=weights)  # the body holds its weights (no outer-scope reads)
        weights = []
        nodes = [helper.make_node(
            "Scan", ["state"] + in_names, ["state_out"] + names, name="Scan_episode",
            body=body_graph, num_scan_inputs=len(in_names))]  # scan axes 0: time-major
        inputs = [helper.make_tensor_value_info(name, TP.FLOAT, ["time", "batch", w])
                  for name, w in zip(in_names, in_widths)]
        inputs.append(helper.make_tensor_value_info("state", TP.FLOAT, ["batch", S]))
        outs = [helper.make_tensor_value_info(name, TP.FLOAT, ["time", "batch", w])
                for name, w in zip(names, widths)]
    outs.append(helper.make_tensor_value_info("state_out", TP.FLOAT, ["batch", S]))
    graph = helper.make_graph(nodes, f"rtu_edge_{model.learner.replace('-', '_')}", inputs, outs,
                              initializer=weights)
    proto = helper.make_model(graph, producer_name="rtu_edge", producer_version=__version__,
                              opset_imports=[helper.make_opsetid("", OPSET)])
    proto.ir_version = IR_VERSION
    proto.doc_string = (f"rtu_edge {model.learner} ({model.kind} RTU, {model.activation}, "
                        f"n_in {model.n_in}, n_hidden {model.n_hidden}, n_embed {model.n_embed}, "
                        f"n_head {model.n_head}, {model.n_trunks} trunk(s)): "
                        f"{'a whole episode (Scan)' if sequence else 'one inference step'}. "
                        f"State: {STATE_INIT}.")
    helper.set_model_props(proto, _metadata(model, sequence))
    if path is not None:
        _write(path, proto.SerializeToString())
    return proto


def _write(path: PathLike, data: bytes) -> None:
    checkpoint.write_atomic(path, data, what="ONNX model")


# -- reading back --------------------------------------------------------------------------------

def load(path: PathLike):
    """The ONNX model at path, checked (onnx.checker). OSError if it cannot be read, ValueError
    if it is not a valid ONNX model; both name path."""
    onnx = _onnx()
    from google.protobuf.message import DecodeError
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:
        raise type(err)(err.errno, f"cannot read ONNX model {os.fspath(path)}: "
                        f"{err.strerror or err}") from err
    try:
        proto = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{os.fspath(path)} is not an ONNX model (cannot parse it: {err})") \
            from None
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else "invalid"
        raise ValueError(f"{os.fspath(path)} is not a valid ONNX model: {first}") from None
    return proto


def metadata(proto) -> dict:
    """metadata_props as a dict."""
    return {p.key: p.value for p in proto.metadata_props}


def rtu_metadata(proto, where: str) -> dict:
    """metadata_props of an rtu_edge export; ValueError naming where if it is not one. An
    export of before ACNetwork.prev_reward named its input ("prev_reward" "0" or "1", and
    "reward_sign" "1" for the sign) reads as one of now."""
    meta = metadata(proto)
    if meta.get("format") == "rtu_edge-onnx-1":
        raise ValueError(f"{where} was exported by an rtu_edge of before the streaming network "
                         "(format rtu_edge-onnx-1): export its checkpoint again")
    if meta.get("format") != FORMAT:
        raise ValueError(f"{where} is not an ONNX model exported by rtu_edge (no metadata "
                         f"format={FORMAT!r})")
    if meta.get("prev_reward") in ("0", "1"):
        sign = meta.pop("reward_sign", "0") == "1"
        meta["prev_reward"] = ("none" if meta["prev_reward"] == "0"
                               else "sign" if sign else "normalized")
    return meta


def _all_initializers(graph) -> list:
    """The initializers of graph and of its subgraphs (the Scan body of the sequence variant)."""
    onnx = _onnx()
    found = list(graph.initializer)
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                found += _all_initializers(attr.g)
    return found


def from_onnx(source, where: Optional[str] = None) -> InferenceModel:
    """The InferenceModel of an exported float32 ONNX file (path) or onnx.ModelProto, rebuilt
    from its initializers and metadata (float32 arrays). ValueError naming
    the file (or ``where``) if it is not an rtu_edge export or is an int8 one (its float weights
    are gone)."""
    onnx = _onnx()
    if where is None:
        where = os.fspath(source) if isinstance(source, (str, os.PathLike)) else "the ONNX model"
    proto = load(source) if isinstance(source, (str, os.PathLike)) else source
    meta = rtu_metadata(proto, where)
    if meta.get("quantization"):
        raise ValueError(f"{where} is a quantized model ({meta['quantization']}): its float "
                         "weights are not in it (give the checkpoint it came from)")
    arrays = {t.name: onnx.numpy_helper.to_array(t) for t in _all_initializers(proto.graph)}
    try:
        n_in, n = int(meta["n_in"]), int(meta["n_hidden"])
        if meta["prev_reward"] not in REWARD_INPUTS:
            raise ValueError(f"prev_reward {meta['prev_reward']!r} is none of {REWARD_INPUTS}")
        m, k, n_trunks = int(meta["n_embed"]), int(meta["n_head"]), int(meta["n_trunks"])
        learner, action_kind = meta["learner"], meta["action_kind"]
        n_actions, n_out = int(meta["n_actions"]), int(meta["n_out"])
        trunks = []
        for r in range(n_trunks):
            a = {key: arrays.get(name) for key, name in _trunk_names(r).items()}
            w_rtu = a["w_rtu"]
            eta = a["eta2"][:n].copy()
            zero = np.zeros_like(eta)  # memoryless: no recurrence, g and phi are not stored
            trunks.append(Trunk(Dense(a["w_in"].T.copy(), a["b_in"].copy()) if m else None,
                                np.ascontiguousarray(w_rtu[:, :n].T),
                                np.ascontiguousarray(w_rtu[:, n:].T),
                                zero if a["g2"] is None else a["g2"][:n].copy(),
                                zero if a["phi2"] is None else a["phi2"][n:].copy(), eta))
        heads = []
        for r in range(2 if learner == "actor-critic" else 1):
            a = {key: arrays.get(name) for key, name in _head_names(r).items()}
            heads.append(Head(Dense(a["w_1"].T.copy(), a["b_1"].copy()) if k else None,
                              Dense(a["w_2"].T.copy(), a["b_2"].copy())))
        normalised = "obs_mean" in arrays
        model = InferenceModel(
            learner, meta["kind"], meta["activation"], n_in, n, m, k,
            meta["prev_action"] == "1", meta["prev_reward"], meta["memoryless"] == "1",
            None if action_kind == "none" else action_kind, n_actions, trunks, heads,
            arrays["obs_mean"].copy() if normalised else None,
            arrays["obs_inv_std"].copy() if normalised else None,
            float(arrays["reward_mean"]) if "reward_mean" in arrays else 0.0,
            float(arrays["reward_scale"]) if "reward_scale" in arrays else 1.0,
            float(arrays["std_min"]) if "std_min" in arrays else 0.0,
            float(arrays["std_max"]) if "std_max" in arrays else 0.0,
            tuple(json.loads(meta["head_rows"])), int(meta["training_steps"]),
            json.loads(meta.get("config", "{}")))
        n_e = m if m else model.n_x
        shapes_ok = (all(t.w_c.shape == (n, n_e) and t.g.shape == (n,) for t in trunks)
                     and all(h.out.w.shape[0] == w and h.out.b.shape == (w,) for h, w in
                             zip(heads, [1, n_out - 1])))
    except (KeyError, ValueError, TypeError, IndexError, AttributeError) as err:
        raise ValueError(f"{where}: rtu_edge metadata or weights missing or malformed "
                         f"({type(err).__name__}: {err})") from None
    if not shapes_ok or model.n_out != n_out:
        raise ValueError(f"{where}: weight shapes do not match its metadata (n_in {n_in}, "
                         f"n_hidden {n}, n_embed {m}, n_head {k}, n_out {n_out})")
    return model


# -- int8 ----------------------------------------------------------------------------------------

def _rtu_projections(graph) -> list:
    """The names of the MatMul nodes of graph and its subgraphs (a Scan's body) that multiply by an
    RTU's input projection (an initializer named .../w_rtu)."""
    names = []
    for node in graph.node:
        if node.op_type == "MatMul" and any(i.endswith("/w_rtu") for i in node.input):
            names.append(node.name)
        for attr in node.attribute:
            if attr.HasField("g"):
                names += _rtu_projections(attr.g)
    return names


def quantize_int8(src, dst_path: PathLike):
    """The int8 variant of an exported model (src: a path or an onnx.ModelProto from to_onnx),
    written atomically to dst_path; returns the onnx.ModelProto.

    onnxruntime.quantization.quantize_dynamic with int8 weights (symmetric, a scale per output
    column, in 7 bits: reduce_range, onnxruntime's remedy for the saturation of its uint8 x int8
    products on x86 CPUs without VNNI, such as AVX2 ones, where full-range weights took the
    outputs of benchmarks/bench_export.py's models 28-85% away from float32): the MatMuls of the
    input layers and of the heads' hidden and output layers become DynamicQuantizeLinear (the
    activation to uint8, its range measured at each call) + MatMulInteger + a float rescale.
    Every other operator stays float32: the recurrence (g, phi, eta), the state, LayerNorm, and
    the RTUs' input projections [W_c; W_d] (_rtu_projections), whose rounding enters the state
    each step (quantized too, a test model's state went 5.4% off). All the operators are
    standard ONNX (opset 17), run by onnxruntime's CPU provider.

    Error: over a 1000-step rollout with the state fed back, max_t |int8 - float32| /
    max_t |float32| stays within rtu_edge.validate.INT8_RELATIVE_BOUND for each output and
    for the state (tests/test_export_onnx.py). benchmarks/bench_export.py measures it on its two
    models, with the files' sizes (the README's table under "Exporting a trained learner").

    The metadata of src is kept, plus "quantization": "int8-dynamic".
    """
    onnx = _onnx()
    quantization = require("onnxruntime.quantization", "the int8 export")
    QuantType, quantize_dynamic = quantization.QuantType, quantization.quantize_dynamic
    import logging

    proto = load(src) if isinstance(src, (str, os.PathLike)) else src
    where = os.fspath(src) if isinstance(src, (str, os.PathLike)) else "the ONNX model"
    rtu_metadata(proto, where)
    if metadata(proto).get("quantization"):
        raise ValueError(f"{where} is already quantized")
    with tempfile.TemporaryDirectory(prefix="rtu_edge_int8_") as tmp:
        src_file, out = os.path.join(tmp, "f32.onnx"), os.path.join(tmp, "int8.onnx")
        with open(src_file, "wb") as f:  # a path: older quantize_dynamic takes no ModelProto
            f.write(proto.SerializeToString())
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # quantize_dynamic's advice to pre-process goes to warning
        try:
            quantize_dynamic(src_file, out, op_types_to_quantize=["MatMul"],
                             nodes_to_exclude=_rtu_projections(proto.graph),
                             weight_type=QuantType.QInt8, per_channel=True, reduce_range=True,
                             extra_options={"EnableSubgraph": True, "MatMulConstBOnly": True})
        finally:
            root.setLevel(level)
        quantized = onnx.load(out)
    meta = metadata(quantized)
    if meta.get("format") != FORMAT:  # keep src's metadata whatever the quantizer kept
        meta = metadata(proto)
    meta["quantization"] = "int8-dynamic"
    del quantized.metadata_props[:]
    onnx.helper.set_model_props(quantized, meta)
    quantized.producer_name, quantized.producer_version = "rtu_edge", __version__
    _write(dst_path, quantized.SerializeToString())
    return quantized


# -- running --------------------------------------------------------------------------------------

def session(proto, threads: int = 1):
    """An onnxruntime CPU InferenceSession of proto (one thread by default: batch-1 steps are too
    small for a thread pool)."""
    ort = require("onnxruntime", "running an ONNX model")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(proto.SerializeToString(), sess_options=opts,
                                providers=["CPUExecutionProvider"])


class _Runner:
    """run(feeds) -> dict of outputs, on "onnxruntime" (CPU) or "reference"
    (onnx.reference.ReferenceEvaluator)."""

    def __init__(self, proto, runtime: str):
        self.runtime = runtime
        self.names = [o.name for o in proto.graph.output]
        if runtime == "onnxruntime":
            self.sess = session(proto)
        elif runtime == "reference":
            from onnx.reference import ReferenceEvaluator
            self.sess = ReferenceEvaluator(proto)
        else:
            raise ValueError(f"runtime must be onnxruntime or reference, got {runtime!r}")

    def run(self, feeds: dict) -> dict:
        return dict(zip(self.names, self.sess.run(None, feeds)))


def previous_inputs(meta: dict, actions, rewards, batch_axis: bool = False) -> dict:
    """The graph's prev_action and prev_reward inputs over an episode (those it has, by its
    metadata) from the actions (T, 1 or A; an index or a vector) and rewards (T,) taken after
    each step: at step t those of step t - 1; at t = 0 zeros, and prev_reward_at_start (the
    reward that normalises to 0) for the reward; (T, w) float32 each, or (B, T, w) with
    batch_axis (actions (B, T, .), rewards (B, T))."""
    inputs = json.loads(meta["inputs"])
    A = int(meta["n_actions"])
    actions = np.asarray(actions, dtype=np.float64)
    rewards = np.asarray(rewards, dtype=np.float64)
    if not batch_axis:
        actions, rewards = actions[None], rewards[None]
    B, T = rewards.shape
    actions = actions.reshape(B, T, -1)
    feeds = {}
    if "prev_action" in inputs:
        taken = (np.eye(A)[actions[..., 0].astype(np.int64)] if meta["action_kind"] == "discrete"
                 else actions)
        feeds["prev_action"] = np.concatenate([np.zeros((B, 1, A)), taken[:, :-1]], axis=1)
    if "prev_reward" in inputs:
        start = np.full((B, 1), float(meta.get("prev_reward_at_start", 0.0)))
        feeds["prev_reward"] = np.concatenate([start, rewards[:, :-1]], axis=1)[..., None]
    return {k: (v if batch_axis else v[0]).astype(np.float32) for k, v in feeds.items()}


def run_onnx(proto, obs: np.ndarray, runtime: str = "onnxruntime", batch_axis: bool = False,
             actions=None, rewards=None):
    """Run an exported model (step or sequence variant) over obs (T, n_in), or (B, T, n_in) with
    batch_axis, from the zero state, the state fed back, and the action and reward of each step
    (actions (T, 1 or A), rewards (T,); None: zeros) given as the next step's prev_action and
    prev_reward (previous_inputs): (outputs (T, n_out) or (B, T, n_out), the head rows in order,
    and the states after each step (T, S) / (B, T, S); the sequence variant gives the final state
    only, as (1, S) / (B, 1, S))."""
    meta = rtu_metadata(proto, "the ONNX model")
    per_step = [n for n in json.loads(meta["outputs"]) if n != "state_out"]
    runner = _Runner(proto, runtime)
    obs = np.asarray(obs, dtype=np.float32)
    batched = obs if batch_axis else obs[None]
    B, T = batched.shape[:2]
    A = int(meta["n_actions"])
    width = A if meta["action_kind"] == "continuous" else 1
    actions = np.zeros((B, T, width)) if actions is None else np.asarray(actions)
    rewards = np.zeros((B, T)) if rewards is None else np.asarray(rewards)
    extras = previous_inputs(meta, actions if batch_axis else actions.reshape(1, T, -1),
                             rewards if batch_axis else rewards.reshape(1, T), batch_axis=True)
    S = 2 * int(meta["n_hidden"]) * int(meta["n_trunks"])
    state = np.zeros((B, S), dtype=np.float32)
    if meta["variant"] == "sequence":
        feeds = {"obs": np.ascontiguousarray(batched.transpose(1, 0, 2)), "state": state}
        feeds.update({k: np.ascontiguousarray(v.transpose(1, 0, 2)) for k, v in extras.items()})
        r = runner.run(feeds)
        out = np.concatenate([r[n] for n in per_step], axis=2).transpose(1, 0, 2)
        states = r["state_out"][:, None, :]
    else:
        outs, states = [], []
        for t in range(T):
            feeds = {"obs": batched[:, t], "state": state}
            feeds.update({k: v[:, t] for k, v in extras.items()})
            r = runner.run(feeds)
            state = r["state_out"]
            outs.append(np.concatenate([r[n] for n in per_step], axis=1))
            states.append(state)
        out, states = np.stack(outs, axis=1), np.stack(states, axis=1)
    return (out, states) if batch_axis else (out[0], states[0])
