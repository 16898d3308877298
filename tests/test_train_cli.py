"""rtu-edge train / eval: runs, resumes exactly, refuses bad arguments, stops cleanly."""

import csv
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from rtu_edge import ActorCritic, TDLambda
from rtu_edge.cli import main


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_train_prediction_writes_a_run_and_resumes_exactly(tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    base = ["train", "--task", "trace-conditioning", "--hidden", "8", "--log-every", "2000",
            "--checkpoint-every", "4000"]
    assert main(base + ["--steps", "12000", "--out", str(straight)]) == 0
    assert main(base + ["--steps", "6000", "--out", str(split)]) == 0
    assert main(base + ["--steps", "12000", "--out", str(split), "--resume"]) == 0
    for name in ("config.json", "metrics.csv", "curve.png", "checkpoint.rtu"):
        assert (straight / name).stat().st_size > 0
    a = TDLambda.from_checkpoint(straight / "checkpoint.rtu")
    b = TDLambda.from_checkpoint(split / "checkpoint.rtu")
    assert a.steps == b.steps == 12000
    assert (straight / "checkpoint.rtu").read_bytes() == (split / "checkpoint.rtu").read_bytes()
    assert float(rows(straight / "metrics.csv")[-1]["msre"]) > 0


def test_train_control_resumes_exactly_and_eval_runs(tmp_path, capsys):
    straight, split = tmp_path / "straight", tmp_path / "split"
    base = ["train", "--task", "cartpole-p", "--hidden", "8", "--checkpoint-every", "1000"]
    assert main(base + ["--steps", "3000", "--out", str(straight)]) == 0
    assert main(base + ["--steps", "1500", "--out", str(split)]) == 0
    assert main(base + ["--steps", "3000", "--out", str(split), "--resume"]) == 0
    a = ActorCritic.from_checkpoint(straight / "checkpoint.rtu")
    b = ActorCritic.from_checkpoint(split / "checkpoint.rtu")
    assert a.steps == b.steps >= 3000 and a.episodes == b.episodes
    assert (straight / "checkpoint.rtu").read_bytes() == (split / "checkpoint.rtu").read_bytes()
    returns = [float(r["return"]) for r in rows(straight / "metrics.csv")]
    assert returns == [float(r["return"]) for r in rows(split / "metrics.csv")]
    before = (straight / "checkpoint.rtu").read_bytes()
    assert main(["eval", "--checkpoint", str(straight / "checkpoint.rtu"), "--task",
                 "cartpole-p", "--episodes", "3"]) == 0
    assert "return mean" in capsys.readouterr().out
    assert (straight / "checkpoint.rtu").read_bytes() == before  # eval leaves the file alone


def test_train_control_hyperparameters_reach_the_learner(tmp_path, capsys):
    """--entropy-coef and --kappa-policy set the actor-critic's (as the checkpoint records)."""
    out = tmp_path / "tuned"
    assert main(["train", "--task", "cartpole-p", "--steps", "300", "--kind", "linear",
                 "--entropy-coef", "0.05", "--kappa-policy", "5", "--out", str(out)]) == 0
    config = ActorCritic.from_checkpoint(out / "checkpoint.rtu").config
    assert (config.entropy_coef, config.kappa_policy) == (np.float32(0.05), 5.0)  # float32 run


@pytest.mark.parametrize("argv,message", [
    (["train", "--task", "no-such-task", "--steps", "10"], "task"),
    (["eval", "--checkpoint", "missing.rtu", "--task", "cartpole-p"], "missing.rtu"),
    (["train", "--task", "cartpole-p", "--steps", "10", "--entropy-coef", "-1"], "entropy_coef"),
    (["train", "--task", "cartpole-p", "--steps", "10", "--kappa-policy", "0"], "kappa_policy"),
    (["train", "--task", "trace-conditioning", "--steps", "10", "--kappa-policy", "5"],
     "control tasks"),
])
def test_bad_arguments_are_clear_errors(tmp_path, capsys, argv, message):
    argv = [a if a != "missing.rtu" else str(tmp_path / a) for a in argv]
    if argv[0] == "train":
        argv += ["--out", str(tmp_path / "run")]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_resume_without_a_run_and_corrupt_checkpoint_are_refused(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--task", "trace-conditioning", "--steps", "10", "--out", str(out),
                 "--resume"]) == 2
    assert "no checkpoint" in capsys.readouterr().err
    assert main(["train", "--task", "trace-conditioning", "--steps", "3000", "--hidden", "4",
                 "--out", str(out)]) == 0
    data = bytearray((out / "checkpoint.rtu").read_bytes())
    data[100] ^= 0xFF
    (out / "checkpoint.rtu").write_bytes(bytes(data))
    assert main(["train", "--task", "trace-conditioning", "--steps", "6000", "--out", str(out),
                 "--resume"]) == 2
    assert "CRC" in capsys.readouterr().err


@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_ctrl_c_stops_with_a_loadable_checkpoint(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "rtu_edge.cli", "train", "--task",
                             "cartpole-p", "--steps", "100000000", "--hidden", "8", "--out",
                             str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while not (out / "metrics.csv").exists() or len(rows(out / "metrics.csv")) < 5:
        assert time.time() < deadline and proc.poll() is None
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    ac = ActorCritic.from_checkpoint(out / "checkpoint.rtu")
    assert ac.episodes >= 5
