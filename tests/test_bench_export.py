"""The export benchmark still runs (a smoke test: it checks the output, never a timing)."""

import json
import pathlib
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("onnxruntime")

BENCH = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "bench_export.py"


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_export_benchmark_quick_mode_runs(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run([sys.executable, str(BENCH), "--quick", "--json", str(out),
                             "--keep", str(tmp_path / "files")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "| cartpole | 2 | 32 | 3 |" in result.stdout
    assert "| bigger | 16 | 64 | 5 |" in result.stdout
    assert "At batch 64 (64 sequences, each with its own state), per sample:" in result.stdout
    report = json.loads(out.read_text())
    for r in report["results"]:
        assert set(r["timing"]) == {"onnxruntime_f32", "onnxruntime_int8", "c_cffi", "c_program",
                                    "c_program_native",
                                    "onnxruntime_f32_batch", "c_cffi_batch"}
        assert all(t["median_us"] > 0 for t in r["timing"].values())
        assert r["sizes"]["onnx_f32"] > 0 and r["sizes"]["onnx_int8"] > 0
        assert r["accuracy"]["f32_vs_c_outputs"] <= 1e-5
    assert (tmp_path / "files" / "cartpole.onnx").exists()
