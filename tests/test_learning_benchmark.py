"""The learning benchmark still runs (a smoke test: it checks the output, never a learning
number or a timing)."""

import json
import pathlib
import subprocess
import sys

import pytest

BENCH = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "learning.py"

HEADINGS = ("## 1. Trace conditioning (ISI 10)",
            "## 2. CartPole with velocities hidden (cartpole-p)",
            "## 3. POPGym RepeatPreviousEasy",
            "## 4. Time per step")


def test_learning_benchmark_quick_mode_runs(tmp_path):
    pytest.importorskip("gymnasium")
    pytest.importorskip("popgym")
    out = tmp_path / "learning.json"
    result = subprocess.run([sys.executable, str(BENCH), "--quick", "--json", str(out)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for heading in HEADINGS:
        assert heading in result.stdout, heading
    for column in ("| seed | RTU nonlinear n8 | RTU linear n16 | memoryless | zero |",
                   "| seed | RTU nonlinear | RTU linear | RTU linear tuned | memoryless | "
                   "memoryless SGD | random |",
                   "| seeds >= 400 |"):
        assert column in result.stdout, column
    assert "Total wall time:" in result.stdout
    data = json.loads(out.read_text())
    assert {"trace", "cartpole", "popgym", "timing", "wall_seconds"} <= set(data)


def test_learning_benchmark_only_one_section(tmp_path):
    result = subprocess.run([sys.executable, str(BENCH), "--quick", "--only", "trace"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert HEADINGS[0] in result.stdout
    assert not any(h in result.stdout for h in HEADINGS[1:])


def test_cartpole_sweep_runs(tmp_path):
    """benchmarks/sweep_cartpole.py runs a configuration and writes its rows (a smoke test)."""
    import csv as _csv
    root = pathlib.Path(__file__).resolve().parent.parent
    out = tmp_path / "sweep.csv"
    result = subprocess.run([sys.executable, str(root / "benchmarks" / "sweep_cartpole.py"),
                             str(root / "benchmarks" / "cartpole_configs.json"), "--steps", "300",
                             "--seeds", "0", "--only", "lin_default", "--out", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "| lin_default |" in result.stdout
    with open(out, newline="") as f:
        rows = list(_csv.DictReader(f))
    assert len(rows) == 1 and rows[0]["name"] == "lin_default"
