"""Argument types the benchmark scripts share, so that a bad value is argparse's one-line error
naming its flag, before any measurement runs (not a traceback at its end): the command line's
own positive_int and nonnegative_int (rtu_edge.cli), and the ones below.

    parser.add_argument("--rounds", type=positive_int, default=5)
    parser.add_argument("--json", type=output_file)
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

from rtu_edge.checkpoint import unwritable
from rtu_edge.cli import _positive_int as positive_int  # noqa: F401 (the scripts' types)
from rtu_edge.cli import _size as nonnegative_int  # noqa: F401


def seed_range(text: str) -> tuple:
    """A:B, the seeds A..B-1 (0 <= A < B)."""
    try:
        start, stop = (int(v) for v in text.split(":"))
    except ValueError:
        start, stop = 0, 0
    if not 0 <= start < stop:
        raise argparse.ArgumentTypeError(f"expected A:B with 0 <= A < B (the seeds A..B-1), got "
                                         f"{text!r}")
    return start, stop


def finite_float(text: str) -> float:
    """A finite real number."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def output_file(text: str) -> Path:
    """A file the script may write at its end: not a directory, in a writable directory."""
    fault = unwritable(text)
    if fault is not None:
        raise argparse.ArgumentTypeError(fault)
    return Path(text)


def output_dir(text: str) -> Path:
    """A directory the script may make (its parent exists and is writable) or write into."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is not a directory")
    where = path if path.is_dir() else path.resolve().parent
    if not where.is_dir():
        raise argparse.ArgumentTypeError(f"cannot make {text}: no directory {where}")
    if not os.access(where, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write into {where}")
    return path


def sweep_results(parser: argparse.ArgumentParser, out: Path) -> list:
    """The rows of OUT/results.csv (rtu_edge.sweep.ResultsTable, which checks them), or parser's
    one-line error naming the file."""
    from rtu_edge.sweep import RESULTS, ResultsTable
    path = Path(out) / RESULTS
    if not path.is_file():
        parser.error(f"{out} has no {RESULTS} (the --out directory of rtu-edge sweep)")
    try:
        return ResultsTable.read(path)
    except ValueError as err:
        parser.error(str(err))


def episode_returns(parser: argparse.ArgumentParser, metrics: Path, label: str) -> list:
    """The rows of a control run's metrics.csv (rtu_edge.sweep.read_metrics, which checks them),
    or parser's one-line error naming the file if it cannot be read or holds a row no run wrote,
    or if the run has no episode returns (a prediction task's metrics are its MSRE)."""
    from rtu_edge.sweep import read_metrics
    try:
        rows = read_metrics(metrics)
    except ValueError as err:
        parser.error(str(err))
    if rows and "return" not in rows[0]:
        parser.error(f"{label}'s runs have no episode returns ({metrics} has "
                     f"{', '.join(rows[0])}): its task is not a control task")
    return rows
