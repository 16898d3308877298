"""benchmarks/compare_plot.py, score against compute: on a tiny real sweep (an RTU, a GRU with
truncated BPTT and predicting zero) it writes the plot and one table row per configuration, with
the FLOPs per step results.csv records."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from rtu_edge import cli
from rtu_edge.sweep import ResultsTable

pytest.importorskip("joblib")
pytest.importorskip("scipy")
pytest.importorskip("matplotlib")

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "compare_plot.py"

TINY = """
seeds = [0, 1]

[defaults]
task = "trace-conditioning"
steps = 300
log_every = 100

[[configs]]
label = "rtu-linear"
kind = "linear"
hidden = 4

[[configs]]
label = "gru-t2"
agent = "gru"
bptt_window = 2
hidden = 3

[[configs]]
label = "zero"
agent = "zero"
"""


def test_compare_plot_writes_a_row_per_config_with_its_flops(tmp_path):
    file, out = tmp_path / "tiny.toml", tmp_path / "out"
    file.write_text(TINY)
    assert cli.main(["sweep", str(file), "--out", str(out), "--jobs", "1"]) == 0
    result = subprocess.run([sys.executable, str(SCRIPT), str(out), "--task",
                             "trace-conditioning"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (out / "compare-trace-conditioning.png").stat().st_size > 0
    table = (out / "compare-trace-conditioning.md").read_text()
    rows = [line.split("|")[1:-1] for line in table.splitlines()
            if line.startswith("| ") and not line.startswith("| config")]
    recorded = {r["label"]: r["flops_per_step"] or "n/a"
                for r in ResultsTable.read(out / "results.csv")}
    assert [c[0].strip() for c in rows] == ["rtu-linear", "gru-t2", "zero"]
    assert {c[0].strip(): c[1].strip() for c in rows} == recorded
    assert recorded["gru-t2"] != "n/a" and recorded["rtu-linear"] != "n/a"
    # time per step: 3 significant digits in us below a millisecond, in ms from there
    assert all(re.fullmatch(r"\d{1,3}(\.\d+)? (us|ms)", c[4].strip()) for c in rows)


def test_compare_plot_names_a_task_the_sweep_lacks(tmp_path):
    file, out = tmp_path / "tiny.toml", tmp_path / "out"
    file.write_text(TINY.split('[[configs]]\nlabel = "gru-t2"')[0])  # the RTU only
    assert cli.main(["sweep", str(file), "--out", str(out), "--jobs", "1"]) == 0
    result = subprocess.run([sys.executable, str(SCRIPT), str(out), "--task", "cartpole-p"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "--task" in result.stderr and "cartpole-p" in result.stderr
    assert not list(out.glob("compare-*"))
