"""ONNX export of a trained learner's inference step (InferenceModel, model.py), for onnxruntime.

``to_onnx(model)`` builds one inference step as an ONNX graph, the step of rtu_model.h:

    x   = (obs - obs_mean) * obs_inv_std          (no normalisation: x = obs)
    a   = g * c - phi * d + eta * (W_c x);   b = g * d + phi * c + eta * (W_d x)
    linear:    (c, d) = (a, b),        h = [f(a); f(b)]
    nonlinear: (c, d) = (f(a), f(b)),  h = [c; d]
    out = head_w h + head_b

as standard operators only (Sub, Mul, MatMul, Add, Split, Concat, Relu/Tanh, Identity; Scan for
the sequence variant; the int8 variant adds DynamicQuantizeLinear, MatMulInteger and Cast) at
opset 17, IR version 8, float32, the weights as initializers. Opset 17 came with ONNX 1.12;
rtu_edge requires onnxruntime >= 1.16 and onnx >= 1.15 (the tests pass with onnxruntime 1.16.3 +
onnx 1.15.0 and with 1.32.0 + 1.23.2). onnxruntime's ARM packages (the aarch64 Linux wheels on
PyPI, e.g. for a Raspberry Pi with a 64-bit OS; Android and iOS) are built from the same sources
with the full CPU execution provider: the aarch64 wheel of 1.32.0 holds the CPU kernels of Scan,
Split, Concat, MatMul, MatMulInteger and DynamicQuantizeLinear. There are no official 32-bit ARM
wheels. A "minimal build" of onnxruntime, which keeps only the kernels of the models it was
reduced for, needs these models among them.

Inputs and outputs of the step graph (batch is a dynamic dimension named "batch"):
    obs [batch, n_in], state [batch, 2 n_hidden]           float32
    TD(lambda):       prediction [batch, 1]
    actor-critic:     logits [batch, A] (discrete) or mean [batch, A] (continuous),
                      value [batch, 1]
    state_out [batch, 2 n_hidden]
    continuous only:  log_std [A], a constant output (the learned state-independent log-std; also
                      in the metadata as "log_std")
The state is zeros at every episode start; feed state_out back as the next step's state.

The sequence variant (``sequence=True``) runs the same step under one Scan over a whole episode,
time-major (the ONNX RNN convention and Scan's default axes; onnx.reference implements Scan over
axis 0 only): obs [time, batch, n_in] and state [batch, 2n] (the start state) in, the per-step
outputs over time [time, batch, k] and the final state_out [batch, 2n] out. For batch-major data
[batch, time, n_in], transpose axes 0 and 1 first. The Scan body is built by the same function as
the step graph (``_step_nodes``) and holds the step's initializers itself (the outer graph keeps
only log_std), so that no runtime has to resolve outer-scope names inside the Scan (onnx 1.14's
reference evaluator could not).

The arithmetic follows rtu_model.c operation by operation (the rotation as g*c + (-phi)*d, which
is exactly g*c - phi*d, then + eta*(W x)), so only the dot products' summation order differs
from the C core; how closely each runtime follows it is checked in rtu_edge/validate.py
(``rtu-edge validate --onnx``, tests/test_export_onnx.py). ``session`` and ``run_onnx`` run an
exported file; this module compares nothing.

``quantize_int8`` makes the dynamically quantized variant (onnxruntime.quantization: int8
weights, per tensor, for the two MatMuls; activations quantized to uint8 at run time). Its error is
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
from .model import InferenceModel

OPSET = 17
IR_VERSION = 8  # the IR of opset 17 (onnx 1.12): readable by onnxruntime >= 1.12
FORMAT = "rtu_edge-onnx-1"  # metadata "format": what from_onnx reads
STATE_INIT = ("zeros of shape [batch, 2*n_hidden] at every episode start; feed state_out back "
              "as state")
PathLike = Union[str, "os.PathLike[str]"]


def _onnx():
    return require("onnx", "the ONNX export")  # rtu_edge[onnx]


# -- names ---------------------------------------------------------------------------------------

def output_names(model: InferenceModel) -> list:
    """The per-step outputs of the graph, in order, without state_out and log_std:
    ["prediction"], ["logits", "value"] or ["mean", "value"]."""
    if model.learner == "td":
        return ["prediction"]
    return ["logits" if model.action_kind == "discrete" else "mean", "value"]


def _output_widths(model: InferenceModel) -> list:
    return [1] if model.learner == "td" else [model.n_actions, 1]


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


def _initializers(model: InferenceModel) -> list:
    """The weights in float32 (int64 for split sizes), in the layout the step graph uses:
    w_in = [W_c; W_d]^T (n_in x 2n), eta2 = [eta; eta], g2 = [g; g], phi2 = [-phi; phi],
    head_w^T (2n x n_out), head_b; obs_mean and obs_inv_std when normalised; log_std
    (continuous actions)."""
    onnx = _onnx()
    f32 = np.float32
    n = model.n_hidden
    arrays = {
        "w_in": np.concatenate([model.w_c, model.w_d]).T.astype(f32),
        "eta2": np.concatenate([model.eta, model.eta]).astype(f32),
        "g2": np.concatenate([model.g, model.g]).astype(f32),
        "phi2": np.concatenate([-model.phi, model.phi]).astype(f32),
        "head_w": model.head_w.T.astype(f32),
        "head_b": model.head_b.astype(f32),
        "split_state": np.array([n, n], dtype=np.int64),
    }
    if model.learner != "td":
        arrays["split_out"] = np.array(_output_widths(model), dtype=np.int64)
    if model.obs_mean is not None:
        arrays["obs_mean"] = model.obs_mean.astype(f32)
        arrays["obs_inv_std"] = model.obs_inv_std.astype(f32)
    if model.log_std is not None:
        arrays["log_std_value"] = model.log_std.astype(f32)
    return [onnx.numpy_helper.from_array(np.ascontiguousarray(a), name)
            for name, a in arrays.items()]


_ACTIVATION_OPS = {"relu": "Relu", "tanh": "Tanh", "identity": None}


def _step_nodes(model: InferenceModel, g: _Nodes, obs: str, state: str, outputs: list,
                state_out: str) -> None:
    """Append one inference step to g: from the values obs [B, n_in] and state [B, 2n] to the
    values named outputs (per output_names(model)) and state_out. The one definition of the step,
    used by the step graph and by the Scan body of the sequence graph."""
    x = obs
    if model.obs_mean is not None:
        x = g.op("Mul", [g.op("Sub", [obs, "obs_mean"]), "obs_inv_std"])
    u = g.op("Mul", ["eta2", g.op("MatMul", [x, "w_in"])])  # [eta W_c x; eta W_d x]
    c, d = f"{g.prefix}c", f"{g.prefix}d"
    g.nodes.append(_onnx().helper.make_node("Split", [state, "split_state"], [c, d],
                                            name=f"{g.prefix}Split_state", axis=1))
    swapped = g.op("Concat", [d, c], axis=1)  # [d; c]
    # [g c - phi d; g d + phi c] + u, in rtu_model.c's order of operations
    pre = g.op("Add", [g.op("Add", [g.op("Mul", ["g2", state]), g.op("Mul", ["phi2", swapped])]),
                       u])
    act = _ACTIVATION_OPS[model.activation]
    if model.kind == "linear":
        new_state = pre
        h = g.op(act, [pre]) if act else pre
    else:
        new_state = g.op(act, [pre]) if act else pre
        h = new_state
    g.op("Identity", [new_state], state_out)
    out = g.op("Add", [g.op("MatMul", [h, "head_w"]), "head_b"])
    if len(outputs) == 1:
        g.op("Identity", [out], outputs[0])
    else:
        g.nodes.append(_onnx().helper.make_node("Split", [out, "split_out"], list(outputs),
                                                name=f"{g.prefix}Split_out", axis=1))


def _metadata(model: InferenceModel, sequence: bool) -> dict:
    names = output_names(model) + ["state_out"] + (["log_std"] if model.log_std is not None
                                                   else [])
    meta = {
        "format": FORMAT,
        "rtu_edge_version": __version__,
        "variant": "sequence" if sequence else "step",
        "learner": model.learner,
        "kind": model.kind,
        "activation": model.activation,
        "n_in": str(model.n_in),
        "n_hidden": str(model.n_hidden),
        "n_out": str(model.n_out),
        "action_kind": model.action_kind or "none",
        "n_actions": str(model.n_actions),
        "outputs": json.dumps(names),
        "head_rows": json.dumps(list(model.output_names)),
        "training_steps": str(model.steps),
        "state_init": STATE_INIT,
        "obs_normalization": ("folded in: x = (obs - obs_mean) * obs_inv_std"
                              if model.obs_mean is not None else "none"),
        "checkpoint_dtype": np.dtype(model.dtype).name,
        "config": json.dumps(model.config, sort_keys=True),
    }
    if sequence:
        meta["layout"] = ("time-major: obs [time, batch, n_in], per-step outputs "
                          "[time, batch, k]; state in and state_out [batch, 2*n_hidden]")
    if model.log_std is not None:
        meta["log_std"] = json.dumps([float(v) for v in model.log_std.astype(np.float32)])
    return meta


def to_onnx(model: InferenceModel, path: Optional[PathLike] = None,
            sequence: bool = False):
    """The ONNX model (onnx.ModelProto) of one inference step of model, or with sequence=True of
    a whole episode under a Scan (module docstring). Written atomically to path if given
    (OSError naming path if it cannot be)."""
    onnx = _onnx()
    helper, TP = onnx.helper, onnx.TensorProto
    n2 = 2 * model.n_hidden
    names = output_names(model)
    widths = _output_widths(model)
    weights = _initializers(model)
    outer = [t for t in weights if t.name == "log_std_value"]
    step_weights = [t for t in weights if t.name != "log_std_value"]
    if not sequence:
        g = _Nodes("")
        _step_nodes(model, g, "obs", "state", names, "state_out")
        inputs = [helper.make_tensor_value_info("obs", TP.FLOAT, ["batch", model.n_in]),
                  helper.make_tensor_value_info("state", TP.FLOAT, ["batch", n2])]
        outs = [helper.make_tensor_value_info(name, TP.FLOAT, ["batch", w])
                for name, w in zip(names, widths)]
        nodes = g.nodes
    else:
        body = _Nodes("step/")
        body_outs = [f"step/{name}" for name in names]
        _step_nodes(model, body, "step/obs", "step/state", body_outs, "step/state_out")
        body_graph = helper.make_graph(
            body.nodes, "rtu_step",
            [helper.make_tensor_value_info("step/state", TP.FLOAT, ["batch", n2]),
             helper.make_tensor_value_info("step/obs", TP.FLOAT, ["batch", model.n_in])],
            [helper.make_tensor_value_info("step/state_out", TP.FLOAT, ["batch", n2])]
            + [helper.make_tensor_value_info(name, TP.FLOAT, ["batch", w])
               for name, w in zip(body_outs, widths)],
            initializer=step_weights)  # the body holds its weights (no outer-scope reads)
        step_weights = []
        nodes = [helper.make_node(
            "Scan", ["state", "obs"], ["state_out"] + names, name="Scan_episode",
            body=body_graph, num_scan_inputs=1)]  # scan axes 0: time-major
        inputs = [helper.make_tensor_value_info("obs", TP.FLOAT,
                                                ["time", "batch", model.n_in]),
                  helper.make_tensor_value_info("state", TP.FLOAT, ["batch", n2])]
        outs = [helper.make_tensor_value_info(name, TP.FLOAT, ["time", "batch", w])
                for name, w in zip(names, widths)]
    outs.append(helper.make_tensor_value_info("state_out", TP.FLOAT, ["batch", n2]))
    if model.log_std is not None:
        nodes = nodes + [helper.make_node("Identity", ["log_std_value"], ["log_std"],
                                          name="Identity_log_std")]
        outs.append(helper.make_tensor_value_info("log_std", TP.FLOAT, [model.n_actions]))
    graph = helper.make_graph(nodes, f"rtu_edge_{model.learner.replace('-', '_')}", inputs, outs,
                              initializer=step_weights + outer)
    proto = helper.make_model(graph, producer_name="rtu_edge", producer_version=__version__,
                              opset_imports=[helper.make_opsetid("", OPSET)])
    proto.ir_version = IR_VERSION
    proto.doc_string = (f"rtu_edge {model.learner} ({model.kind} RTU, {model.activation}, "
                        f"n_in {model.n_in}, n_hidden {model.n_hidden}): "
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
    """metadata_props of an rtu_edge export; ValueError naming where if it is not one."""
    meta = metadata(proto)
    if meta.get("format") != FORMAT:
        raise ValueError(f"{where} is not an ONNX model exported by rtu_edge (no metadata "
                         f"format={FORMAT!r})")
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
        learner, action_kind = meta["learner"], meta["action_kind"]
        n_actions, n_out = int(meta["n_actions"]), int(meta["n_out"])
        w_in, head_w = arrays["w_in"], arrays["head_w"]
        shapes_ok = (w_in.shape == (n_in, 2 * n) and head_w.shape == (2 * n, n_out)
                     and all(arrays[k].shape == (2 * n,) for k in ("eta2", "g2", "phi2"))
                     and arrays["head_b"].shape == (n_out,))
        normalised = "obs_mean" in arrays
        log_std = arrays.get("log_std_value")
        model = InferenceModel(
            learner, meta["kind"], meta["activation"], n_in, n,
            None if action_kind == "none" else action_kind, n_actions,
            np.ascontiguousarray(w_in[:, :n].T), np.ascontiguousarray(w_in[:, n:].T),
            arrays["g2"][:n].copy(), arrays["phi2"][n:].copy(), arrays["eta2"][:n].copy(),
            np.ascontiguousarray(head_w.T), arrays["head_b"].copy(),
            arrays["obs_mean"].copy() if normalised else None,
            arrays["obs_inv_std"].copy() if normalised else None,
            None if log_std is None else log_std.copy(),
            tuple(json.loads(meta["head_rows"])), int(meta["training_steps"]),
            json.loads(meta.get("config", "{}")))
    except (KeyError, ValueError, TypeError, IndexError) as err:
        raise ValueError(f"{where}: rtu_edge metadata or weights missing or malformed "
                         f"({type(err).__name__}: {err})") from None
    if not shapes_ok or model.n_out != n_out:
        raise ValueError(f"{where}: weight shapes do not match its metadata (n_in {n_in}, "
                         f"n_hidden {n}, n_out {n_out})")
    return model


# -- int8 ----------------------------------------------------------------------------------------

def quantize_int8(src, dst_path: PathLike):
    """The int8 variant of an exported model (src: a path or an onnx.ModelProto from to_onnx),
    written atomically to dst_path; returns the onnx.ModelProto.

    onnxruntime.quantization.quantize_dynamic with int8 weights (symmetric, per tensor): the two
    MatMuls, the input projection [W_c; W_d] and the linear head, become DynamicQuantizeLinear
    (the activation to uint8, its range measured at each call) + MatMulInteger + a float rescale.
    Every other operator stays float32, in particular the recurrence (g, phi, eta) and the state,
    so quantization errors do not compound through the weights of the recurrence; they enter
    through the input projection each step and decay with the units' |lambda| < 1. All the
    operators are standard ONNX (opset 17), run by onnxruntime's CPU provider.

    Error: over a 1000-step rollout with the state fed back, max_t |int8 - float32| /
    max_t |float32| stays within rtu_edge.validate.INT8_RELATIVE_BOUND (5%) for each output and
    for the state. Measured (benchmarks/bench_export.py, tests/test_export_onnx.py): about 1% on
    a CartPole-p actor-critic and its own observations, 0.5-2% on the test checkpoints. Integer
    weights only save space beside the graph when the weights dominate (n_in 16, n_hidden 64 and
    up).

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
                             weight_type=QuantType.QInt8, per_channel=False,
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


def run_onnx(proto, obs: np.ndarray, runtime: str = "onnxruntime", batch_axis: bool = False):
    """Run an exported model (step or sequence variant) over obs (T, n_in), or (B, T, n_in) with
    batch_axis, from the zero state, the state fed back: (outputs (T, n_out) or (B, T, n_out),
    the rows of the head in order, and the states after each step (T, 2n) / (B, T, 2n); the
    sequence variant gives the final state only, as (1, 2n) / (B, 1, 2n))."""
    meta = rtu_metadata(proto, "the ONNX model")
    names = json.loads(meta["outputs"])
    per_step = [n for n in names if n not in ("state_out", "log_std")]
    runner = _Runner(proto, runtime)
    obs = np.asarray(obs, dtype=np.float32)
    batched = obs if batch_axis else obs[None]
    B, T = batched.shape[:2]
    state = np.zeros((B, 2 * int(meta["n_hidden"])), dtype=np.float32)
    if meta["variant"] == "sequence":
        r = runner.run({"obs": np.ascontiguousarray(batched.transpose(1, 0, 2)),
                        "state": state})
        out = np.concatenate([r[n] for n in per_step], axis=2).transpose(1, 0, 2)
        states = r["state_out"][:, None, :]
    else:
        outs, states = [], []
        for t in range(T):
            r = runner.run({"obs": batched[:, t], "state": state})
            state = r["state_out"]
            outs.append(np.concatenate([r[n] for n in per_step], axis=1))
            states.append(state)
        out, states = np.stack(outs, axis=1), np.stack(states, axis=1)
    return (out, states) if batch_axis else (out[0], states[0])
