#!/usr/bin/env python3
"""Cell benchmark: time per step of forward + RTRL traces + gradient, four ways.

For each kind (linear, nonlinear, lru; activation relu) and each configuration (n_hidden, n_in):

* reference      numpy reference through ``RTUCell(backend="reference")`` (float64):
                 ``step(x)`` then ``gradient(dh)`` per step;
* cffi step      the C core through ``RTUCell(backend="c")``, float32 and float64:
                 ``step(x, out=buf)`` then ``gradient(dh)`` per step;
* C run          ``RTUCell.run_gradient(X, dH)`` over sequences of SEQUENCE_STEPS steps (the loop
                 runs in C), time per step;
* C program      benchmarks/bench_cell.c alone (float32 and float64 builds), no Python at all.

Each Python measurement is calibrated to last about ``target_s`` (so big configurations get fewer
steps) and the best of ``repeats`` is kept; the C program calibrates the same way and reports the
best of its own repeats. Inputs come from a ring of RING random vectors. The C program is built
with the system compiler ($CC, default ``cc``) at -O3 without -march=native: portable numbers.

Usage:
    python benchmarks/bench_cell.py                 # full run (about 1-2 minutes on 2 cores)
    python benchmarks/bench_cell.py --quick         # smoke test: (64, 16) only, a few steps
    python benchmarks/bench_cell.py --kinds linear --json results.json

The markdown table goes to stdout, progress to stderr. The script ends by saying whether the
targets hold at n_hidden=64, n_in=16 (linear): the C program at least 50x and per-step calls
through cffi at least 10x faster per step than the reference.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from _cprogram import ROOT, build, compiler_version, cpu_model
from _args import output_file
from rtu_edge import RTUCell, c_build
from rtu_edge.reference import KINDS
from rtu_edge.flops import flops_per_step  # noqa: F401 (the cost model; tests import it here)

BENCH_SOURCE = ROOT / "benchmarks" / "bench_cell.c"
CORE_SOURCES = [ROOT / "c_src" / name for name in ("rtu_status.c", "rtu_prng.c", "rtu_cell.c")]

# precision tag -> (numpy dtype, extra compiler flags)
PRECISIONS = {"f32": (np.float32, []), "f64": (np.float64, ["-DRTU_DOUBLE"])}
CONFIGS = ((16, 8), (16, 32), (64, 8), (64, 16), (64, 32), (256, 8), (256, 32))  # (n_hidden, n_in)
QUICK_CONFIGS = ((64, 16),)
RING = 64  # input vectors cycled through by the per-step loops (a power of two)
SEQUENCE_STEPS = 1024  # length of the sequences given to run_gradient
SEED = 1

TARGET_KIND, TARGET_N_HIDDEN, TARGET_N_IN = "linear", 64, 16
TARGET_PROGRAM_SPEEDUP = 50.0
TARGET_CFFI_SPEEDUP = 10.0
TARGET_ROUNDS = 7  # interleaved rounds of the target measurement


@dataclass(frozen=True)
class Settings:
    """How long and how often to measure."""

    target_s: float  # duration of one timed measurement
    probe_s: float  # calibration: grow the step count until one run lasts this long
    repeats: int  # best of this many measurements (Python side)
    program_repeats: int  # repeats inside the C program (it reports best and median)


FULL = Settings(target_s=0.15, probe_s=0.02, repeats=3, program_repeats=5)
QUICK = Settings(target_s=0.005, probe_s=0.001, repeats=2, program_repeats=3)


# -- timing -------------------------------------------------------------------------------------

RunUnits = Callable[[int], float]  # run k units of work, return the elapsed seconds


def calibrate(run_units: RunUnits, settings: Settings) -> int:
    """Grow a unit count until one run lasts probe_s; return the count that lasts ~target_s.
    The probe runs double as the warm-up."""
    units = 1
    while True:
        elapsed = run_units(units)
        if elapsed >= settings.probe_s:
            break
        units *= int(min(64.0, max(2.0, 1.5 * settings.probe_s / max(elapsed, 1e-9))))
    return max(1, round(units * settings.target_s / elapsed))


def best_seconds_per_step(run_units: RunUnits, steps_per_unit: int,
                          settings: Settings) -> tuple[float, int]:
    """Best of settings.repeats calibrated runs: (seconds per step, steps per run)."""
    units = calibrate(run_units, settings)
    best = min(run_units(units) for _ in range(settings.repeats))
    steps = units * steps_per_unit
    return best / steps, steps


def step_loop(cell: RTUCell, xs: list, dhs: list, out: Optional[np.ndarray]) -> RunUnits:
    """Units of one step: cell.step(x, out) then cell.gradient(dh), inputs round the ring."""
    step, gradient, mask = cell.step, cell.gradient, len(xs) - 1

    def run(units: int) -> float:
        start = time.perf_counter()
        for i in range(units):
            step(xs[i & mask], out)
            gradient(dhs[i & mask])
        return time.perf_counter() - start

    return run


def sequence_loop(cell: RTUCell, X: np.ndarray, dH: np.ndarray) -> RunUnits:
    """Units of len(X) steps: one cell.run_gradient(X, dH) call."""

    def run(units: int) -> float:
        start = time.perf_counter()
        for _ in range(units):
            cell.run_gradient(X, dH)
        return time.perf_counter() - start

    return run


# -- the measurements ---------------------------------------------------------------------------

def random_inputs(n_hidden: int, n_in: int, steps: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """X (steps, n_in) and dH (steps, 2 n_hidden), standard normal, in dtype."""
    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((steps, n_in)).astype(dtype)
    dH = rng.standard_normal((steps, 2 * n_hidden)).astype(dtype)
    return X, dH


def make_cell(kind: str, n_hidden: int, n_in: int, backend: str, dtype) -> RTUCell:
    return RTUCell(n_in, n_hidden, kind=kind, activation="relu", seed=SEED, backend=backend,
                   dtype=dtype)


def measure_per_step(kind: str, n_hidden: int, n_in: int, backend: str, dtype,
                     settings: Settings) -> dict:
    """step + gradient per Python call; the C backend writes h into a preallocated buffer."""
    cell = make_cell(kind, n_hidden, n_in, backend, dtype)
    X, dH = random_inputs(n_hidden, n_in, RING, dtype)
    out = np.empty(2 * n_hidden, dtype=dtype) if backend == "c" else None
    seconds, steps = best_seconds_per_step(step_loop(cell, list(X), list(dH), out), 1, settings)
    return {"us_per_step": seconds * 1e6, "steps": steps}


def measure_run(kind: str, n_hidden: int, n_in: int, dtype, settings: Settings) -> dict:
    """RTUCell.run_gradient over whole sequences (C backend), time per step."""
    cell = make_cell(kind, n_hidden, n_in, "c", dtype)
    X, dH = random_inputs(n_hidden, n_in, SEQUENCE_STEPS, dtype)
    seconds, steps = best_seconds_per_step(sequence_loop(cell, X, dH), SEQUENCE_STEPS, settings)
    return {"us_per_step": seconds * 1e6, "steps": steps}


def run_program(binary: Path, kind: str, n_hidden: int, n_in: int, steps: int, repeats: int,
                warmup: int) -> dict:
    """One run of the C program; its JSON line as a dict."""
    cmd = [str(binary), kind, str(n_in), str(n_hidden), str(steps), str(repeats), str(warmup)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return json.loads(proc.stdout)


def measure_program(binary: Path, kind: str, n_hidden: int, n_in: int,
                    settings: Settings) -> dict:
    """The C program: calibrate its step count, then one run with its own repeats."""

    def probe(steps: int) -> float:
        result = run_program(binary, kind, n_hidden, n_in, steps, 1, 0)
        return result["best_ns_per_step"] * 1e-9 * steps

    steps = calibrate(probe, settings)
    result = run_program(binary, kind, n_hidden, n_in, steps, settings.program_repeats,
                         max(1, steps // 4))
    return {"us_per_step": result["best_ns_per_step"] * 1e-3,
            "median_us_per_step": result["median_ns_per_step"] * 1e-3, "steps": steps,
            "checksum": result["checksum"]}


def measure_target(binary_f32: Path, settings: Settings, rounds: int) -> dict:
    """The target configuration, its three contenders measured in alternation: each round runs
    the reference, the per-step cffi loop and the C program once, and the best of ``rounds`` is
    kept for each, so that load from elsewhere on a shared machine falls on all three alike."""
    kind, n_hidden, n_in = TARGET_KIND, TARGET_N_HIDDEN, TARGET_N_IN
    loops = {}
    for name, backend, dtype in (("reference", "reference", np.float64),
                                 ("cffi_step_f32", "c", np.float32)):
        cell = make_cell(kind, n_hidden, n_in, backend, dtype)
        X, dH = random_inputs(n_hidden, n_in, RING, dtype)
        out = np.empty(2 * n_hidden, dtype=dtype) if backend == "c" else None
        loop = step_loop(cell, list(X), list(dH), out)
        loops[name] = (loop, calibrate(loop, settings))

    def program(steps: int) -> float:
        result = run_program(binary_f32, kind, n_hidden, n_in, steps, 1, max(1, steps // 4))
        return result["best_ns_per_step"] * 1e-9 * steps

    loops["program_f32"] = (program, calibrate(program, settings))
    best = {name: float("inf") for name in loops}
    for _ in range(rounds):
        for name, (loop, steps) in loops.items():
            best[name] = min(best[name], loop(steps) / steps)
    return {name: {"us_per_step": seconds * 1e6, "steps": loops[name][1]}
            for name, seconds in best.items()}


def bench_config(kind: str, n_hidden: int, n_in: int, binaries: dict[str, Path],
                 settings: Settings) -> dict:
    """Every measurement of one kind and configuration, with the derived figures."""
    m = {"reference": measure_per_step(kind, n_hidden, n_in, "reference", np.float64, settings)}
    for tag, (dtype, _) in PRECISIONS.items():
        m[f"cffi_step_{tag}"] = measure_per_step(kind, n_hidden, n_in, "c", dtype, settings)
        m[f"run_{tag}"] = measure_run(kind, n_hidden, n_in, dtype, settings)
        m[f"program_{tag}"] = measure_program(binaries[tag], kind, n_hidden, n_in, settings)
    flops = flops_per_step(kind, n_hidden, n_in)
    ref_us = m["reference"]["us_per_step"]
    return {
        "kind": kind, "n_hidden": n_hidden, "n_in": n_in,
        "measurements": m,
        "flops_per_step": flops,
        "memory_bytes": {tag: make_cell(kind, n_hidden, n_in, "c", dtype).memory_bytes
                         for tag, (dtype, _) in PRECISIONS.items()},
        "speedup_program_f32_vs_reference": ref_us / m["program_f32"]["us_per_step"],
        "speedup_cffi_step_f32_vs_reference": ref_us / m["cffi_step_f32"]["us_per_step"],
        "gflops_program_f32": flops / (m["program_f32"]["us_per_step"] * 1e3),
    }


# -- building the C program ---------------------------------------------------------------------

def build_program(tag: str) -> tuple[Path, list[str]]:
    """Compile bench_cell.c with the core into benchmarks/bin/bench_cell_<tag>."""
    return build(BENCH_SOURCE, CORE_SOURCES, f"bench_cell_{tag}", tuple(PRECISIONS[tag][1]))


# -- reporting ----------------------------------------------------------------------------------

TABLE_COLUMNS = (
    ("kind", lambda r: r["kind"]),
    ("n_hidden", lambda r: str(r["n_hidden"])),
    ("n_in", lambda r: str(r["n_in"])),
    ("reference us/step", lambda r: _us(r, "reference")),
    ("C cffi step f32 us", lambda r: _us(r, "cffi_step_f32")),
    ("C run f32 us", lambda r: _us(r, "run_f32")),
    ("C program f32 us", lambda r: _us(r, "program_f32")),
    ("C program f64 us", lambda r: _us(r, "program_f64")),
    ("speedup program f32 vs ref", lambda r: f"{r['speedup_program_f32_vs_reference']:.1f}x"),
    ("speedup cffi step f32 vs ref", lambda r: f"{r['speedup_cffi_step_f32_vs_reference']:.1f}x"),
    ("GFLOP/s program f32", lambda r: f"{r['gflops_program_f32']:.2f}"),
    ("memory bytes f32 / f64", lambda r: f"{r['memory_bytes']['f32']} / {r['memory_bytes']['f64']}"),
)


def _us(result: dict, name: str) -> str:
    value = result["measurements"][name]["us_per_step"]
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def markdown_table(results: list[dict]) -> str:
    lines = ["| " + " | ".join(name for name, _ in TABLE_COLUMNS) + " |",
             "|" + "|".join("---" for _ in TABLE_COLUMNS) + "|"]
    lines += ["| " + " | ".join(cell(r) for _, cell in TABLE_COLUMNS) + " |" for r in results]
    return "\n".join(lines)


def target_verdicts(measurements: dict) -> list[dict]:
    """The two targets from measure_target's figures."""
    ref_us = measurements["reference"]["us_per_step"]
    checks = (("C program (float32)", "program_f32", TARGET_PROGRAM_SPEEDUP),
              ("per-step calls through cffi (float32)", "cffi_step_f32", TARGET_CFFI_SPEEDUP))
    verdicts = []
    for what, name, target in checks:
        us = measurements[name]["us_per_step"]
        verdicts.append({"what": what, "reference_us_per_step": ref_us, "us_per_step": us,
                         "speedup": ref_us / us, "target": target, "holds": ref_us / us >= target,
                         "us_per_step_needed": ref_us / target})
    return verdicts


def describe_targets(verdicts: list[dict], rounds: int) -> str:
    where = f"n_hidden={TARGET_N_HIDDEN}, n_in={TARGET_N_IN}, {TARGET_KIND} kind"
    lines = [f"Targets at {where} (speedup per step over the reference, measured in "
             f"alternation, best of {rounds} rounds each; reference "
             f"{verdicts[0]['reference_us_per_step']:.1f} us/step):"]
    for v in verdicts:
        status = "HOLDS" if v["holds"] else "DOES NOT HOLD"
        line = (f"  {v['what']} >= {v['target']:.0f}x faster: {v['us_per_step']:.3f} us/step, "
                f"{v['speedup']:.1f}x -> {status}")
        if not v["holds"]:
            line += (f" (short by a factor {v['target'] / v['speedup']:.2f}: "
                     f"{v['us_per_step']:.3f} us/step, needs <= {v['us_per_step_needed']:.3f})")
        lines.append(line)
    return "\n".join(lines)


# -- main ---------------------------------------------------------------------------------------

def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: only (n_hidden, n_in) = (64, 16), a few steps")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS),
                        help="cell kinds to benchmark (default: all)")
    parser.add_argument("--json", metavar="PATH", type=output_file,
                        help="write the results as JSON")
    return parser.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    settings = QUICK if args.quick else FULL
    configs = QUICK_CONFIGS if args.quick else CONFIGS
    started = time.perf_counter()

    builds = {tag: build_program(tag) for tag in PRECISIONS}
    binaries = {tag: binary for tag, (binary, _) in builds.items()}
    results = []
    for kind in dict.fromkeys(args.kinds):  # in order, once each
        for n_hidden, n_in in configs:
            t0 = time.perf_counter()
            results.append(bench_config(kind, n_hidden, n_in, binaries, settings))
            print(f"  {kind:9s} n_hidden={n_hidden:3d} n_in={n_in:2d}: "
                  f"{time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)

    rounds = 2 if args.quick else TARGET_ROUNDS
    verdicts = target_verdicts(measure_target(binaries["f32"], settings, rounds))
    total_s = time.perf_counter() - started
    print(markdown_table(results))
    print()
    print(describe_targets(verdicts, rounds))
    print(f"\nTotal runtime: {total_s:.1f} s ({'quick' if args.quick else 'full'} run; "
          f"compiler: {compiler_version()}; the extension's C core (the cffi step): {c_build()} "
          f"build; CPU: {cpu_model()}, {os.cpu_count()} cores)")

    if args.json is not None:
        report = {
            "settings": asdict(settings), "quick": args.quick, "ring": RING,
            "sequence_steps": SEQUENCE_STEPS, "seed": SEED,
            "build_commands": {tag: shlex.join(cmd) for tag, (_, cmd) in builds.items()},
            "compiler": compiler_version(), "c_build": c_build(), "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "platform": platform.platform(), "python": platform.python_version(),
            "numpy": np.__version__, "total_runtime_s": total_s,
            "results": results, "targets": verdicts,
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
