"""The ``rtu-edge`` command line."""

from __future__ import annotations

import argparse
import sys

from . import __version__


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer seed, got {text!r}") from None
    if not 0 <= value < 2**64:
        raise argparse.ArgumentTypeError(f"seed must be in [0, 2**64), got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rtu-edge",
        description="Recurrent Trace Units with exact RTRL: C core, numpy reference, validation.")
    parser.add_argument("--version", action="version", version=f"rtu-edge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    val = sub.add_parser(
        "validate", help="check the C core against the numpy reference, step by step",
        description="Run the C core (float64 and float32 builds) and the numpy reference side by "
                    "side on random cells and inputs, both kinds and all activations, and print "
                    "the largest deviations of state, features, traces and gradients. Exits 1 if "
                    "any exceeds its tolerance (1e-10 for float64, 1e-4 for float32).")
    val.add_argument("--steps-f64", type=_positive_int, default=1000,
                     help="steps for the float64 build (default 1000)")
    val.add_argument("--steps-f32", type=_positive_int, default=10000,
                     help="steps for the float32 build (default 10000)")
    val.add_argument("--seed", type=_seed, default=0, help="seed of cells and inputs (default 0)")
    val.add_argument("--n-in", type=_positive_int, default=7, help="input size (default 7)")
    val.add_argument("--n-hidden", type=_positive_int, default=13,
                     help="units per cell (default 13)")
    val.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "validate":
        from . import validate
        return validate.main(args)
    raise AssertionError(args.command)  # argparse only admits the commands above


if __name__ == "__main__":
    sys.exit(main())
