"""What the benchmark scripts share: compiling a C benchmark program with the core ($CC, or cc;
the extension's rtu_edge._build.CORE_FLAGS, warnings as errors, and whatever flags a benchmark
adds, such as -march=native) and describing the machine a table was measured on."""

from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

from rtu_edge._build import AVX2_FLAGS, CORE_FLAGS, NATIVE_FLAGS

ROOT = Path(__file__).resolve().parent.parent
BIN_DIR = ROOT / "benchmarks" / "bin"
CFLAGS = [*CORE_FLAGS, "-Wall", "-Wextra", "-Wpedantic", "-Werror"]
#: the flags each of the extension's builds adds to CORE_FLAGS, by its name (rtu_edge.c_build())
BUILD_FLAGS = {"default": [], "avx2": AVX2_FLAGS, "native": NATIVE_FLAGS}


def compiler() -> list[str]:
    return shlex.split(os.environ.get("CC", "cc"))


def build(source: Path, core_sources: list, name: str, defines: tuple = (),
          include: Path = ROOT / "c_src") -> tuple[Path, list[str]]:
    """Compile source with core_sources (and the headers of include) into benchmarks/bin/<name>,
    defines being further flags; exits with the compiler's message on failure. Returns the binary
    and the command."""
    BIN_DIR.mkdir(parents=True, exist_ok=True)
    binary = BIN_DIR / name
    cmd = [*compiler(), *CFLAGS, *defines, "-I", str(include), str(source),
           *map(str, core_sources), "-lm", "-o", str(binary)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as err:
        sys.exit(f"cannot run the C compiler ({shlex.join(compiler())}; set $CC): {err}")
    if proc.returncode != 0:
        sys.exit(f"compiling the C benchmark failed:\n{shlex.join(cmd)}\n{proc.stderr}")
    return binary, cmd


def compiler_version() -> str:
    try:
        proc = subprocess.run([*compiler(), "--version"], capture_output=True, text=True)
    except OSError as err:
        return f"unknown ({err})"
    return proc.stdout.splitlines()[0] if proc.stdout else "unknown"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def peak_probe() -> Path:
    """benchmarks/bench_peak.c built for this CPU (NATIVE_FLAGS: its FMA instructions, on its
    widest vectors) into benchmarks/bin/bench_peak."""
    return build(ROOT / "benchmarks" / "bench_peak.c", [], "bench_peak", tuple(NATIVE_FLAGS))[0]


def ceiling_probe(name: str, flags: list) -> Path:
    """benchmarks/bench_peak.c unfused (-DBENCH_PEAK_UNFUSED: a multiply and an add apiece)
    with a build's flags, into benchmarks/bin/bench_peak_<name>: the ceiling of that build's
    arithmetic, which fuses none, at the vectors its flags give."""
    return build(ROOT / "benchmarks" / "bench_peak.c", [], f"bench_peak_{name}",
                 (*flags, "-DBENCH_PEAK_UNFUSED"))[0]


def traffic_probe() -> Path:
    """benchmarks/bench_traffic.c built for this CPU (NATIVE_FLAGS) into
    benchmarks/bin/bench_traffic: the floor of a batched learner's step (bench_batch.py)."""
    return build(ROOT / "benchmarks" / "bench_traffic.c", [], "bench_traffic",
                 tuple(NATIVE_FLAGS))[0]


def output(cmd: list) -> str:
    """The standard output of a benchmark program (cmd's items as strings); exits with a one-line
    message, the command and its error, when it fails."""
    cmd = [str(c) for c in cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{shlex.join(cmd)} failed: {proc.stderr.strip()}")
    return proc.stdout


def run_json(cmd: list) -> dict:
    """The JSON line a benchmark program prints (output)."""
    return json.loads(output(cmd))


def peak_gflops(probe: Path, reps: int) -> float:
    """The float32 throughput of one core, GFLOP/s, that a probe of peak_probe (FMA) or
    ceiling_probe (a multiply and an add) measures: its best of its timed runs of reps repeats
    each (bench_peak.c)."""
    return float(run_json([probe, reps])["gflops"])
