"""Exported ONNX models on onnxruntime's official aarch64 wheel (64-bit ARM Linux, e.g. a
Raspberry Pi with a 64-bit OS), under qemu-aarch64: benchmarks/onnx_aarch64.py. The float32 step
and Scan models reproduce the C float32 core within rtu_edge.validate's ONNX rule (max |ONNX - C|
/ max(1, max |C|) <= 1e-5), and the int8 model stays within INT8_RELATIVE_BOUND of the float32 one, for a CartPole-p actor-critic, a
continuous actor-critic with a linear RTU and a TD(lambda) learner, over 1000 steps.

The first run sets up an aarch64 CPython with the aarch64 wheels of the host's onnxruntime and
numpy in benchmarks/bin/aarch64-python (Debian arm64 packages by apt-get download, wheels by pip
download: about 40 MB, 10-20 s); later runs reuse it (about 10 s).

Without CI set, the test skips when qemu-aarch64 is missing or when that setup cannot be made
(no apt arm64 package lists, no network), and it never changes the system. With CI set, a missing
tool or a failed setup fails the test, and the setup may run dpkg --add-architecture arm64 and
apt-get update (CI runs as root in a throwaway machine; .ci/run installs qemu-user).
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "onnx_aarch64.py"
CI = bool(os.environ.get("CI"))


def _unavailable(what: str) -> None:
    if CI:
        pytest.fail(f"{what} (CI is set, so this fails instead of skipping)")
    pytest.skip(what)


def test_onnx_models_on_aarch64_onnxruntime_reproduce_the_c_core(tmp_path):
    if shutil.which("qemu-aarch64") is None:
        _unavailable("qemu-aarch64 missing")
    setup = [sys.executable, str(SCRIPT), "--setup-only"] + ([] if CI
                                                            else ["--no-system-changes"])
    r = subprocess.run(setup, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        _unavailable(f"the aarch64 Python could not be set up: {r.stderr.strip()[-800:]}")
    out = tmp_path / "aarch64.json"
    r = subprocess.run([sys.executable, str(SCRIPT), "--json", str(out)], capture_output=True,
                       text=True, timeout=600)
    print(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
    res = json.loads(out.read_text())
    assert res["ok"] and res["environment"]["guest"]["machine"] == "aarch64"
    assert len(res["models"]) == 3
    for m in res["models"]:
        assert m["f32_vs_c"]["within"] and m["seq_vs_c"]["within"], m
        assert m["int8_vs_f32"]["within"], m
