"""The rtu-edge command line."""

import json
import subprocess
import sys

from rtu_edge.cli import main
from rtu_edge.reference import KINDS


def test_validate_passes_and_prints_the_table(tmp_path, capsys):
    out = tmp_path / "v.json"
    assert main(["validate", "--steps-f64", "30", "--steps-f32", "120", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    for word in ("state", "features", "traces", "gradient", "float32", "float64", "drift"):
        assert word in text
    cases = len(KINDS) * 3 * 2  # every kind, activation and C precision
    assert f"{cases} passed, 0 failed" in text
    rows = json.loads(out.read_text())
    assert len(rows) == cases and all(r["passed"] for r in rows)
    assert {r["kind"] for r in rows} == set(KINDS)


def test_the_installed_command_runs():
    result = subprocess.run([sys.executable, "-m", "rtu_edge.cli", "validate", "--steps-f64", "5",
                             "--steps-f32", "5"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "PASS" in result.stdout


def test_bad_arguments_are_refused(capsys):
    for argv in (["validate", "--steps-f64", "0"], ["validate", "--seed", "x"], ["nope"],
                 ["validate", "--learners", "--onnx", "m.onnx"],
                 ["validate", "--learners", "--json", "x.json"],
                 ["validate", "--learners", "--checkpoint", "x.rtu"]):
        try:
            main(argv)
        except SystemExit as exit_:
            assert exit_.code == 2
        else:
            raise AssertionError(f"{argv} was accepted")
    assert "positive integer" in capsys.readouterr().err
