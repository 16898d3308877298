"""``rtu-edge export`` and ``rtu-edge validate --onnx``: the commands behind rtu_edge/cli.py.

Errors a user can cause (an unreadable or invalid checkpoint or ONNX file, an unwritable output
path) are raised as ValueError or OSError naming the file; cli.main prints them as one line
``rtu-edge <command>: error: ...`` and exits 2.
"""

from __future__ import annotations

import os

import numpy as np

from .._extras import require
from . import onnx_export
from .model import InferenceModel


def export(args) -> int:
    """Write the exports asked for (--onnx [--sequence] [--int8], --c-header) of --checkpoint."""
    model = InferenceModel.from_checkpoint(args.checkpoint)
    what = (f"{model.learner}, {model.kind} RTU, {model.activation}, n_in {model.n_in}, "
            f"n_hidden {model.n_hidden}, outputs {', '.join(model.output_names)}")
    print(f"rtu-edge export: {args.checkpoint} ({what})")
    if args.onnx:
        variant = ("a whole episode per call (Scan over time, time-major obs [time, batch, "
                   f"{model.n_in}])" if args.sequence else "one step per call")
        proto = onnx_export.to_onnx(model, args.onnx, sequence=args.sequence)
        print(f"  wrote {args.onnx}: ONNX float32, opset {onnx_export.OPSET}, {variant}, "
              f"{os.path.getsize(args.onnx)} bytes")
        if args.int8:
            try:
                onnx_export.quantize_int8(proto, args.int8)
            except RuntimeError as err:  # from onnxruntime.quantization
                raise ValueError(f"cannot quantize {args.onnx} to int8: {err}") from None
            print(f"  wrote {args.int8}: ONNX int8 (dynamic quantization of the MatMul weights; "
                  f"outputs within {onnx_export.INT8_RELATIVE_BOUND:.0%} of the float32 model's "
                  f"scale), {os.path.getsize(args.int8)} bytes")
        print(f"  check it against the C core: rtu-edge validate --onnx {args.onnx}"
              + (f" (and --onnx {args.int8} --checkpoint {args.checkpoint})" if args.int8
                 else ""))
    if args.c_header:
        try:
            from .c_header import write_header
        except ImportError:
            raise ValueError("--c-header: the C header export (rtu_edge.export.c_header) is not "
                             "in this installation") from None
        write_header(args.checkpoint, args.c_header, name=args.name)
        print(f"  wrote {args.c_header}: C header for rtu_model.h, "
              f"{os.path.getsize(args.c_header)} bytes")
    return 0


def validate(args) -> int:
    """``rtu-edge validate --onnx FILE [--checkpoint FILE] [--steps N] [--seed S]``: the exported
    model on onnxruntime (CPU) and onnx.reference.ReferenceEvaluator against the C core in
    float32 (CModel, rtu_model_step), over a rollout with the state fed back. Exit status 0 if
    every deviation is within tolerance (1e-5 times max(1, max |C|): absolute for values of
    magnitude up to 1, relative beyond, since float32 rounding grows with the values; int8 models:
    the documented relative bound), else 1."""
    onnx = require("onnx", "validate --onnx")

    path = args.onnx
    steps = 1000 if args.steps is None else args.steps
    proto = onnx_export.load(path)
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as err:
        raise ValueError(f"{path} is not a valid ONNX model: "
                         f"{str(err).strip().splitlines()[0]}") from None
    meta = onnx_export.rtu_metadata(proto, path)
    quantized = bool(meta.get("quantization"))
    if args.checkpoint:
        model = InferenceModel.from_checkpoint(args.checkpoint)
        onnx_export.check_matches(proto, model, path)
        source = f"weights from {args.checkpoint}"
    else:
        if quantized:
            raise ValueError(f"{path} is a quantized model ({meta['quantization']}): its float "
                             "weights are not in it; give the checkpoint it came from with "
                             "--checkpoint")
        model = onnx_export.from_onnx(proto, path)
        source = f"weights from {path}"
    try:
        results = onnx_export.compare(proto, model, steps, args.seed)
    except RuntimeError as err:  # onnxruntime refusing the file
        raise ValueError(f"cannot run {path}: {str(err).strip().splitlines()[0]}") from None

    variant = meta.get("variant", "step")
    print(f"rtu-edge validate --onnx: {path} ({variant} graph{', int8' if quantized else ''}; "
          f"{model.learner}, {model.kind} RTU, {model.activation}, n_in {model.n_in}, "
          f"n_hidden {model.n_hidden}) against the C core (float32, rtu_model_step); {source}")
    print(f"{steps} steps from the zero state with the state fed back; observations seed "
          f"{args.seed}, unit normal after the model's observation normalisation")
    state_what = "every step's state" if variant == "step" else "the final state"
    if quantized:
        tol = onnx_export.INT8_RELATIVE_BOUND
        print(f"deviation = max |ONNX - C| / max |C| over the run: outputs "
              f"({', '.join(model.output_names)}) and {state_what}")
    else:
        tol = onnx_export.VALIDATE_TOLERANCE
        print(f"deviation = max |ONNX - C| over the run: outputs "
              f"({', '.join(model.output_names)}) and {state_what}; tolerance "
              f"{tol:g} x max(1, max |C|)")
    print(f"{'runtime':28s} {'outputs':>9s} {'state':>9s} {'tol out/state':>15s}  result")
    failed = 0
    labels = {"onnxruntime": "onnxruntime (CPU provider)",
              "reference": "onnx ReferenceEvaluator"}
    for r in results:
        if quantized:
            out, state, tols = r.rel_outputs, r.rel_state, (tol, tol)
            ok = bool(np.isfinite(out) and np.isfinite(state) and out <= tol and state <= tol)
        else:
            out, state = r.outputs, r.state
            tols = (tol * max(1.0, r.scale_outputs), tol * max(1.0, r.scale_state))
            ok = r.within(tol)
        failed += not ok
        print(f"{labels[r.runtime]:28s} {out:9.1e} {state:9.1e} {tols[0]:7.1e}/{tols[1]:7.1e}  "
              f"{'PASS' if ok else 'FAIL'}")
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0
