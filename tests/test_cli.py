"""The rtu-edge command line."""

import json
import subprocess
import sys

import pytest

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


def test_sizes_beyond_the_core_and_out_of_memory_are_one_line_naming_the_flags(capsys,
                                                                                monkeypatch):
    """validate --n-hidden 100000 is refused by its flag (it was a traceback); sizes within the
    limit that do not fit in memory end with one line naming the flags that size it."""
    from rtu_edge import commands, validate
    with pytest.raises(SystemExit) as stop:
        main(["validate", "--n-hidden", "100000"])
    assert stop.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == \
        "rtu-edge validate: error: argument --n-hidden: at most 65536 (RTU_MAX_DIM), got '100000'"

    def huge(*args, **kwargs):
        raise MemoryError("Unable to allocate 128. GiB")

    monkeypatch.setattr(validate, "run_all", huge)
    assert main(["validate", "--n-in", "65536", "--n-hidden", "65536"]) == 2
    err = capsys.readouterr().err
    assert err == ("rtu-edge validate: error: not enough memory (Unable to allocate 128. GiB); "
                   "smaller --n-in and --n-hidden need less\n")
    # train names PPO's rollout too, the size of --n-envs 65536 --n-steps 4096's store
    monkeypatch.setattr(commands, "train", huge)
    assert main(["train", "--task", "cartpole-p", "--steps", "10", "--algo", "ppo",
                 "--n-envs", "65536", "--n-steps", "4096", "--out", "unused"]) == 2
    assert capsys.readouterr().err.endswith("smaller --hidden, the network's sizes and (--algo "
                                            "ppo) --n-envs x --n-steps need less\n")


def test_validate_refuses_a_json_path_it_cannot_write_before_it_runs(tmp_path, capsys):
    for path in (tmp_path / "missing" / "v.json", tmp_path):
        with pytest.raises(SystemExit) as stop:
            main(["validate", "--json", str(path)])
        assert stop.value.code == 2
        err = capsys.readouterr()
        assert f"validate: --json: cannot write {path}" in err.err and err.out == ""


def test_eval_of_a_float32_checkpoint_on_the_reference_backend_names_the_flag(tmp_path, capsys):
    """eval --backend reference of a float32 checkpoint had said "load it with backend='c'", the
    Python spelling, to a command-line user."""
    import numpy as np

    from rtu_edge import ActorCritic, TDLambda
    for learner, task in ((TDLambda(7, 4, dtype=np.float32), "trace-conditioning"),
                          (ActorCritic(2, 4, 2, dtype=np.float32), "cartpole-p")):
        path = tmp_path / f"{task}.rtu"
        learner.save(path)
        before = path.read_bytes()
        assert main(["eval", "--checkpoint", str(path), "--task", task, "--backend",
                     "reference"]) == 2
        err = capsys.readouterr().err
        assert err == (f"rtu-edge eval: error: --backend: {path} holds float32 reals; the "
                       "reference backend is float64 (give --backend c)\n")
        assert path.read_bytes() == before
