"""``rtu-edge export``: the command behind rtu_edge/cli.py (``rtu-edge validate --onnx``, which
checks what it writes, is in rtu_edge/validate.py).

Errors a user can cause (an unreadable or invalid checkpoint or ONNX file, an unwritable output
path) are raised as ValueError or OSError naming the file; cli.main prints them as one line
``rtu-edge <command>: error: ...`` and exits 2.
"""

from __future__ import annotations

import os

from .. import checkpoint
from . import onnx_export
from .model import InferenceModel


def check_outputs(source, outputs: list) -> None:
    """outputs, (flag, path) pairs, can each be written (checkpoint.unwritable), to a path that
    is neither source's (--checkpoint's) nor another output's; ValueError naming the flag
    otherwise."""
    seen = {os.path.realpath(source): "--checkpoint"}
    for flag, path in outputs:
        where = os.path.realpath(path)
        if where in seen:
            raise ValueError(f"{flag}: {path} is {seen[where]}'s file too; give each output a "
                             f"path of its own")
        seen[where] = flag
        fault = checkpoint.unwritable(path)
        if fault is not None:
            raise ValueError(f"{flag}: {fault}")


def export(args) -> int:
    """Write the exports asked for (--onnx [--sequence] [--int8], --c-header) of --checkpoint.
    Everything is checked (--name, the output paths, the checkpoint and its model) before any
    file is written."""
    check_outputs(args.checkpoint, [(flag, path) for flag, path in (
        ("--onnx", args.onnx), ("--int8", args.int8), ("--c-header", args.c_header)) if path])
    if args.c_header:
        try:
            from .c_header import check_name, write_header
        except ImportError:
            raise ValueError("--c-header: the C header export (rtu_edge.export.c_header) is not "
                             "in this installation") from None
        check_name(args.name)
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
            from ..validate import INT8_RELATIVE_BOUND
            print(f"  wrote {args.int8}: ONNX int8 (dynamic quantization of the input layers' "
                  f"and heads' weights; outputs within {INT8_RELATIVE_BOUND:.0%} of the float32 "
                  f"model's scale), {os.path.getsize(args.int8)} bytes")
        print(f"  check it against the C core: rtu-edge validate --onnx {args.onnx}"
              + (f" (and --onnx {args.int8} --checkpoint {args.checkpoint})" if args.int8
                 else ""))
    if args.c_header:
        write_header(args.checkpoint, args.c_header, name=args.name)
        print(f"  wrote {args.c_header}: C header for rtu_model.h, "
              f"{os.path.getsize(args.c_header)} bytes")
    return 0
