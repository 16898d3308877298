"""The benchmark still runs (a smoke test: it checks the output, never a timing)."""

import pathlib
import shutil
import subprocess
import sys

import pytest

BENCH = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "bench_cell.py"


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_cell_benchmark_quick_mode_runs(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run([sys.executable, str(BENCH), "--quick", "--json", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "| linear | 64 | 16 |" in result.stdout and "| nonlinear | 64 | 16 |" in result.stdout
    assert "Targets at n_hidden=64, n_in=16" in result.stdout
    assert out.exists()


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_loop_benchmark_runs(tmp_path):
    """benchmarks/bench_loop.py: the Python CartPole loop against the C learner plus the
    environment (a smoke test of the script and its C program; the ratio is not asserted)."""
    out = tmp_path / "loop.json"
    script = BENCH.with_name("bench_loop.py")
    result = subprocess.run([sys.executable, str(script), "--steps", "300", "--rounds", "1",
                             "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "loop / (C learner + env) =" in result.stdout
    assert out.exists()
