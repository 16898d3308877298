"""rtu-edge train / eval: runs, resumes exactly, refuses bad arguments, stops cleanly."""

import csv
import dataclasses
import os
import signal
import struct
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


@pytest.mark.parametrize("first", [6000, 7000])
def test_train_prediction_writes_a_run_and_resumes_exactly(tmp_path, first):
    """A finished run extended with --resume --steps has the files of a run of that length: its
    metrics rows too (the row whose window spans the first run's end, from resume.rtu; a first
    run that ends between rows drops its end-of-run row)."""
    straight, split = tmp_path / "straight", tmp_path / "split"
    base = ["train", "--task", "trace-conditioning", "--hidden", "8", "--log-every", "2000",
            "--checkpoint-every", "4000"]
    assert main(base + ["--steps", "12000", "--out", str(straight)]) == 0
    assert main(base + ["--steps", str(first), "--out", str(split)]) == 0
    assert TDLambda.from_checkpoint(split / "checkpoint.rtu").steps == first
    assert TDLambda.from_checkpoint(split / "resume.rtu").steps == (first // 2000) * 2000 - 100
    assert main(base + ["--steps", "12000", "--out", str(split), "--resume"]) == 0
    for name in ("config.json", "metrics.csv", "curve.png", "checkpoint.rtu", "resume.rtu"):
        assert (straight / name).stat().st_size > 0
    a = TDLambda.from_checkpoint(straight / "checkpoint.rtu")
    b = TDLambda.from_checkpoint(split / "checkpoint.rtu")
    assert a.steps == b.steps == 12000
    for name in ("checkpoint.rtu", "resume.rtu", "metrics.csv"):
        assert (straight / name).read_bytes() == (split / name).read_bytes(), name
    assert [r["step"] for r in rows(split / "metrics.csv")] == \
        [str(s) for s in range(3900, 12000, 2000)]
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


@pytest.mark.parametrize("task,learner", [("trace-conditioning", TDLambda),
                                          ("cartpole-p", ActorCritic)])
def test_train_runs_the_lru_kind(tmp_path, task, learner):
    """--kind lru: the online LRU learns a prediction and a control task; the checkpoint holds
    the kind."""
    out = tmp_path / task
    assert main(["train", "--task", task, "--steps", "400", "--kind", "lru", "--hidden", "4",
                 "--out", str(out)]) == 0
    trained = learner.from_checkpoint(out / "checkpoint.rtu")
    assert trained.kind == "lru" and trained.steps >= 400


def test_an_unknown_kind_lists_the_kinds(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["train", "--task", "cartpole-p", "--steps", "10", "--kind", "gru",
              "--out", str(tmp_path / "run")])
    assert stopped.value.code == 2
    assert "'linear', 'nonlinear', 'lru'" in capsys.readouterr().err


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


def test_network_flags_reach_the_learner_and_resume_keeps_them(tmp_path, capsys):
    """A flag per ACNetwork field; config.json records every field as the run used it; --resume
    restores them and refuses one given again with another value."""
    import json
    from rtu_edge.reference.config import ACNetwork
    out = tmp_path / "net"
    base = ["train", "--task", "cartpole-p", "--hidden", "6", "--out", str(out)]
    assert main(base + ["--steps", "300", "--n-embed", "0", "--n-head", "7", "--shared",
                        "--prev-reward", "none"]) == 0
    want = ACNetwork(n_embed=0, n_head=7, shared=True, prev_reward="none")
    assert ActorCritic.from_checkpoint(out / "checkpoint.rtu").network == want
    recorded = json.loads((out / "config.json").read_text())
    assert recorded["network"] == dataclasses.asdict(want)
    assert main(base + ["--steps", "600", "--resume"]) == 0
    resumed = ActorCritic.from_checkpoint(out / "checkpoint.rtu")
    assert resumed.network == want and resumed.steps >= 600
    assert json.loads((out / "config.json").read_text())["network"] == recorded["network"]
    assert main(base + ["--steps", "900", "--resume", "--n-head", "8"]) == 2
    assert "--n-head: the run being resumed has n_head = 7" in capsys.readouterr().err


@pytest.mark.parametrize("argv,message", [
    (["--n-embed", "-1"], "integer >= 0"),
    (["--n-head", "70000"], "n_head"),
    (["--agent", "memoryless", "--no-memoryless"], "memoryless must be True"),
])
def test_bad_network_flags_are_clear_errors(tmp_path, capsys, argv, message):
    args = ["train", "--task", "cartpole-p", "--steps", "10", "--out", str(tmp_path / "r")]
    try:
        code = main(args + argv)
    except SystemExit as exit_:  # argparse's own refusal
        code = exit_.code
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "r" / "checkpoint.rtu").exists()


def test_network_flags_belong_to_control_tasks(tmp_path, capsys):
    assert main(["train", "--task", "trace-conditioning", "--steps", "10", "--n-head", "4",
                 "--out", str(tmp_path / "r")]) == 2
    assert "--n-head: n_head applies to control tasks" in capsys.readouterr().err


def test_memoryless_agent_is_a_memoryless_actor_critic_that_resumes(tmp_path):
    out = tmp_path / "m"
    base = ["train", "--task", "cartpole-p", "--hidden", "6", "--agent", "memoryless",
            "--out", str(out)]
    assert main(base + ["--steps", "300"]) == 0
    ac = ActorCritic.from_checkpoint(out / "checkpoint.rtu")
    assert ac.network.memoryless and not ac.network.prev_action
    assert ac.network.prev_reward == "gated_sign"  # the default network's
    assert ac.n_hidden == 6
    assert main(base + ["--steps", "600", "--resume"]) == 0
    assert ActorCritic.from_checkpoint(out / "checkpoint.rtu").steps >= 600


def test_memoryless_agent_takes_the_previous_action_and_reward_when_asked(tmp_path):
    """The baseline of an agent given the last step's action and reward: memoryless, with them."""
    out = tmp_path / "m"
    assert main(["train", "--task", "cartpole-p", "--hidden", "6", "--agent", "memoryless",
                 "--prev-action", "--prev-reward", "normalized", "--steps", "300", "--out",
                 str(out)]) == 0
    ac = ActorCritic.from_checkpoint(out / "checkpoint.rtu")
    assert ac.network.memoryless and ac.network.prev_action
    assert ac.network.prev_reward == "normalized"


@pytest.mark.parametrize("task", ["trace-conditioning", "cartpole-p"])
def test_gru_agent_trains_records_its_window_and_flops_and_cannot_resume(tmp_path, capsys, task):
    """--agent gru --bptt-window 4: TD(lambda) or the actor-critic with the GRU baseline writes
    metrics; config.json holds the window and the FLOPs per step of its GRU (one per network of
    the actor-critic, whose input is cartpole-p's 2 values and the default network's gated
    sign); no checkpoint, so --resume is refused."""
    import json

    from rtu_edge.flops import flops_per_step
    from rtu_edge.tasks import TraceConditioning
    out = tmp_path / "g"
    base = ["train", "--task", task, "--agent", "gru", "--bptt-window", "4", "--hidden", "4",
            *(["--log-every", "50"] if task == "trace-conditioning" else []), "--out", str(out)]
    assert main(base + ["--steps", "300"]) == 0
    assert rows(out / "metrics.csv") and not (out / "checkpoint.rtu").exists()
    config = json.loads((out / "config.json").read_text())
    n_in, networks = (TraceConditioning(isi=10, seed=0).obs_size, 1) \
        if task == "trace-conditioning" else (3, 2)
    assert (config["agent"], config["bptt_window"]) == ("gru", 4)
    assert config["flops_per_step"] == networks * flops_per_step("gru", 4, n_in, 4)
    capsys.readouterr()
    assert main(base + ["--steps", "600", "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--resume: the gru baseline keeps no checkpoint" in err


@pytest.mark.parametrize("argv,message", [
    (["--agent", "rtu", "--bptt-window", "4"], "--bptt-window: bptt_window goes with the gru "
                                               "agent, not with rtu"),
    (["--agent", "random", "--bptt-window", "4"], "--bptt-window"),
    (["--agent", "gru", "--n-embed", "4"], "--n-embed: n_embed must be 0 for the GRU baseline"),
])
def test_bptt_window_belongs_to_the_gru_agent(tmp_path, capsys, argv, message):
    out = tmp_path / "r"
    assert main(["train", "--task", "cartpole-p", "--steps", "10", "--out", str(out)]
                + argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not out.exists()


@pytest.mark.parametrize("value", ["0", "-2", "2.5", "x"])
def test_bad_bptt_window_is_refused_by_name(tmp_path, capsys, value):
    with pytest.raises(SystemExit) as stopped:
        main(["train", "--task", "cartpole-p", "--steps", "10", "--agent", "gru",
              "--bptt-window", value, "--out", str(tmp_path / "r")])
    assert stopped.value.code == 2
    assert f"argument --bptt-window: expected a positive integer, got '{value}'" in \
        capsys.readouterr().err


def test_lookup_agent_trains_on_both_prediction_tasks_without_a_checkpoint(tmp_path, capsys):
    """--agent lookup is rtu_edge.baselines.PatternLookup: its windows match the table run on the
    same stream; it keeps no checkpoint, so --resume is refused; control tasks refuse it."""
    from rtu_edge.baselines import PatternLookup
    from rtu_edge.tasks import TraceConditioning, TracePatterning, msre, rollout
    for task in (TracePatterning(isi=10, seed=4), TraceConditioning(isi=10, seed=4)):
        name = "trace-patterning" if isinstance(task, TracePatterning) else "trace-conditioning"
        out = tmp_path / name
        base = ["train", "--task", name, "--agent", "lookup", "--seed", "4", "--log-every",
                "2000", "--out", str(out)]
        assert main(base + ["--steps", "6000"]) == 0
        assert not (out / "checkpoint.rtu").exists()
        X, C = rollout(task, 6000)
        v = PatternLookup.for_task(task).run(X, C)
        last = rows(out / "metrics.csv")[-1]
        assert float(last["msre"]) == pytest.approx(msre(v[3900:], C[3900:], task.gamma),
                                                    rel=1e-5)
        assert main(base + ["--steps", "8000", "--resume"]) == 2
        assert "keeps no checkpoint" in capsys.readouterr().err
    assert main(["train", "--task", "cartpole-p", "--agent", "lookup", "--steps", "10",
                 "--out", str(tmp_path / "c")]) == 2
    assert "'lookup' is not an agent of control tasks" in capsys.readouterr().err


@pytest.mark.parametrize("task", ["cartpole-p", "pendulum-p", "trace-conditioning"])
def test_divergence_is_one_line_and_leaves_the_last_good_checkpoint(tmp_path, capsys, task):
    """An absurd step size with plain SGD diverges within a few steps: exit 2, one line naming
    the step and the checkpoint, no traceback; the checkpoint is the learner's state at the start
    (no checkpoint was taken yet), which loads and acts."""
    out = tmp_path / "div"
    code = main(["train", "--task", task, "--steps", "5000", "--hidden", "4", "--optimizer",
                 "sgd", "--alpha", "1e6", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("rtu-edge train: error: the learner diverged at step ")
    assert "last good state (step 0)" in err and str(out / "checkpoint.rtu") in err
    cls = TDLambda if task == "trace-conditioning" else ActorCritic
    learner = cls.from_checkpoint(out / "checkpoint.rtu")
    assert learner.steps == 0 and learner.config.alpha == 1e6
    # eval learns as deployed: it diverges too, in one line
    assert main(["eval", "--checkpoint", str(out / "checkpoint.rtu"), "--task", task]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rtu-edge eval: error: the learner diverged: ") and \
        err.count("\n") == 1


def test_divergence_keeps_the_latest_periodic_checkpoint(tmp_path, monkeypatch):
    """A learner that diverges after checkpoints were taken: the run stops with Diverged naming
    the step, and checkpoint.rtu holds the latest of them (a state before the divergence, which
    loads and goes on)."""
    from rtu_edge import train as train_module
    calls = {"n": 0}
    learn = ActorCritic.learn

    def diverging(self, *args):
        calls["n"] += 1
        if calls["n"] == 1700:
            raise FloatingPointError("learner parameters became non-finite (forced)")
        return learn(self, *args)

    monkeypatch.setattr(ActorCritic, "learn", diverging)
    cfg = train_module.RunConfig(task="cartpole-p", steps=10000, hidden=4, checkpoint_every=500)
    out = tmp_path / "late"
    with pytest.raises(train_module.Diverged, match=r"diverged at step 1700 \(learner .*forced"):
        train_module.train(cfg, out, progress=False)
    monkeypatch.setattr(ActorCritic, "learn", learn)
    ac = ActorCritic.from_checkpoint(out / "checkpoint.rtu")
    assert 1500 <= ac.steps < 1700  # the first episode end after 1500 steps
    metrics = rows(out / "metrics.csv")
    assert int(metrics[-1]["step"]) < 1700
    obs = ac.expected_obs if ac.expected_obs is not None else np.zeros(2)
    ac.act(obs)


def test_a_run_is_repeated_from_its_config_json(tmp_path):
    for task, flags in (("trace-patterning", ["--hidden", "8", "--lambda", "0.8", "--seed", "4"]),
                        ("cartpole-p", ["--steps", "3000", "--entropy-coef", "0.02",
                                        "--n-head", "16", "--seed", "2"])):
        first, again = tmp_path / f"{task}-1", tmp_path / f"{task}-2"
        steps = [] if "--steps" in flags else ["--steps", "3000"]
        assert main(["train", "--task", task, *steps, *flags, "--out", str(first)]) == 0
        assert main(["train", "--config", str(first / "config.json"), "--out", str(again)]) == 0
        assert (again / "config.json").read_text() == (first / "config.json").read_text()
        assert (again / "metrics.csv").read_bytes() == (first / "metrics.csv").read_bytes()


@pytest.mark.parametrize("content,message", [
    ('{"task": "cartpole-p", "steps": 10, "hiden": 3}', "unknown key 'hiden'"),
    ('{"task": "cartpole-p"}', "missing key 'steps'"),
    ('{"task": "cartpole-p", "steps": 10, "hidden": "x"}',
     "hidden: must be an integer in [1, 65536]"),
    ('{"task": "cartpole-p", "steps": 10, "seed": -1}', "seed: must be an integer >= 0"),
    ('{"task": "cartpole-p", "steps": 10, "dtype": "float16"}', "dtype: must be one of"),
    ('{"task": "cartpole-p", "steps": 10, "agent": "lookup"}', "agent: must be one of"),
    ('{"task": "no-such-task", "steps": 10}', "task: unknown task"),
    ('{"task": "cartpole-p", "steps": 10, "learner": {"gama": 0.9}}',
     "gama is not a learner hyperparameter"),
    ('{"task": "cartpole-p", "steps": 10, "network": {"n_head": -1}}', "n_head"),
    ('{"task": "cartpole-p", "steps": 10, "learner": 3}', "learner: must be an object"),
    ('{"task": ', "is not a JSON run config"),
    ('[1, 2]', "is not a JSON run config"),
])
def test_config_refuses_a_faulty_file_by_name_and_key(tmp_path, capsys, content, message):
    path, out = tmp_path / "config.json", tmp_path / "run"
    path.write_text(content)
    assert main(["train", "--config", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--config: {path}" in err and message in err, err
    assert not out.exists()  # refused before anything is written


def test_config_goes_with_out_only(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--task", "trace-conditioning", "--steps", "1000", "--out",
                 str(run)]) == 0
    for extra in (["--seed", "0"], ["--hidden", "32"], ["--resume"], ["--gamma", "0.5"]):
        with pytest.raises(SystemExit) as stop:
            main(["train", "--config", str(run / "config.json"), "--out", str(tmp_path / "x"),
                  *extra])
        assert stop.value.code == 2 and f"not {extra[0]}" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # neither --config nor --task
        main(["train", "--steps", "10", "--out", str(tmp_path / "y")])
    assert "--task, --steps (or --config FILE, or --resume)" in capsys.readouterr().err
    assert main(["train", "--config", str(tmp_path / "missing.json"), "--out",
                 str(tmp_path / "z")]) == 2
    assert "cannot read" in capsys.readouterr().err


def _scalars(logdir):
    """(tag, step, value) of every scalar in the TensorBoard event files under logdir, in order
    (the TFRecord framing read here: length, its CRC, the Event proto, its CRC)."""
    from tensorboardX.proto import event_pb2
    out = []
    for path in sorted(logdir.glob("events.out.tfevents.*")):
        data, i = path.read_bytes(), 0
        while i < len(data):
            (n,) = struct.unpack_from("<Q", data, i)
            event = event_pb2.Event.FromString(data[i + 12:i + 12 + n])
            i += 12 + n + 4
            out += [(v.tag, event.step, v.simple_value) for v in event.summary.value]
    return out


def test_tensorboard_logs_every_metrics_row(tmp_path):
    pytest.importorskip("tensorboardX")
    for task in ("trace-conditioning", "cartpole-p"):
        out = tmp_path / task
        every = ["--log-every", "500"] if task == "trace-conditioning" else []
        assert main(["train", "--task", task, "--steps", "3000", *every, "--out", str(out),
                     "--tensorboard"]) == 0
        rows = list(csv.DictReader(open(out / "metrics.csv")))
        want = [(k, int(r["step"]), float(r[k])) for r in rows for k in r if k != "step"]
        got = _scalars(out / "tensorboard")
        assert len(rows) > 1 and [g[:2] for g in got] == [w[:2] for w in want]
        assert np.allclose([g[2] for g in got], [w[2] for w in want], rtol=1e-6)


# -- resume: the records, the settings, faults -------------------------------------------------

def _wait_for_rows(proc, metrics, step):
    """Until metrics.csv has a row past step (the run still going)."""
    deadline = time.time() + 120
    while True:
        assert proc.poll() is None, proc.stderr.read()
        assert time.time() < deadline, "no progress"
        if metrics.exists():
            text = metrics.read_text()
            last = text[:text.rfind("\n")].rsplit("\n", 1)[-1].split(",")[0]
            if last.isdigit() and int(last) > step:
                return
        time.sleep(0.02)


@pytest.mark.skipif(os.name != "posix", reason="signals")
@pytest.mark.parametrize("task,flags,past,sig", [
    ("cartpole-p", ["--steps", "20000", "--checkpoint-every", "1000"], 4000, signal.SIGKILL),
    ("trace-conditioning", ["--steps", "200000", "--log-every", "1000", "--checkpoint-every",
                            "5000"], 20000, signal.SIGKILL),
    ("trace-conditioning", ["--steps", "200000", "--log-every", "1000", "--checkpoint-every",
                            "50000"], 20000, signal.SIGINT),
])
def test_a_killed_run_resumed_has_the_files_of_an_uninterrupted_run(tmp_path, task, flags, past,
                                                                     sig):
    """kill -9 (or Ctrl-C) during a run, then --resume with no other flag: the run's settings
    (seed 3, 8 units) come back from config.json, metrics.csv holds each episode or window once
    with its step never going back, no temporary file is left, and metrics.csv, checkpoint.rtu
    and config.json are those of the same run never interrupted."""
    base = ["train", "--task", task, "--hidden", "8", "--seed", "3", *flags]
    killed, straight = tmp_path / "killed", tmp_path / "straight"
    proc = subprocess.Popen([sys.executable, "-m", "rtu_edge", *base, "--out", str(killed)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_rows(proc, killed / "metrics.csv", past)
        proc.send_signal(sig)
        proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == (-9 if sig == signal.SIGKILL else 130)
    assert main(["train", "--out", str(killed), "--resume"]) == 0
    assert main([*base, "--out", str(straight)]) == 0
    table = rows(killed / "metrics.csv")
    steps = [int(r["step"]) for r in table]
    assert steps == sorted(steps) and len(set(steps)) == len(steps) > 10
    if task == "cartpole-p":
        assert [int(r["episode"]) for r in table] == list(range(1, len(table) + 1))
    assert not [p.name for p in killed.iterdir() if p.name.endswith(".tmp")]
    for name in ("metrics.csv", "checkpoint.rtu", "config.json"):
        assert (killed / name).read_bytes() == (straight / name).read_bytes(), name


def test_resume_drops_the_rows_written_after_its_checkpoint_and_leftover_files(tmp_path):
    """As a run killed after its checkpoint leaves them: rows past the checkpoint, a row cut
    short, temporary files of atomic writes. --resume cuts metrics.csv back to the checkpoint's
    step and removes the temporary files; the run then ends as an uninterrupted one."""
    straight, split = tmp_path / "straight", tmp_path / "split"
    base = ["train", "--task", "cartpole-p", "--hidden", "8", "--checkpoint-every", "1000"]
    assert main(base + ["--steps", "3000", "--out", str(straight)]) == 0
    assert main(base + ["--steps", "1500", "--out", str(split)]) == 0
    saved = ActorCritic.from_checkpoint(split / "checkpoint.rtu").steps
    later = [line for line in (straight / "metrics.csv").read_text().splitlines()[1:]
             if saved < int(line.split(",")[0]) <= 2500]
    with open(split / "metrics.csv", "a") as f:
        f.write("\n".join(later) + "\n" + later[-1][:7])  # and a row cut short
    for name in (".checkpoint.rtu.k2j3h4.tmp", ".config.json.a8b7c6.tmp", ".metrics.csv.x.tmp"):
        (split / name).write_bytes(b"half")
    assert main(base + ["--steps", "3000", "--out", str(split), "--resume"]) == 0
    assert sorted(p.name for p in split.iterdir()) == ["checkpoint.rtu", "config.json",
                                                       "curve.png", "metrics.csv"]
    assert (split / "metrics.csv").read_bytes() == (straight / "metrics.csv").read_bytes()


@pytest.mark.parametrize("flag,value,key,held", [
    ("--hidden", "8", "hidden", 6), ("--kind", "linear", "kind", "nonlinear"),
    ("--seed", "6", "seed", 5), ("--entropy-coef", "0.05", "entropy_coef", 0.02),
    ("--task", "pendulum-p", "task", "cartpole-p"), ("--log-every", "5", "log_every", 10000),
    ("--dtype", "float64", "dtype", "float32"), ("--agent", "memoryless", "agent", "rtu"),
    ("--n-head", "8", "n_head", 64),
])
def test_resume_refuses_a_flag_that_contradicts_the_run(tmp_path, capsys, flag, value, key, held):
    """--resume continues the run as config.json records it: a flag given with another value is
    refused with one line naming it and the recorded value, and nothing changes."""
    out = tmp_path / "run"
    assert main(["train", "--task", "cartpole-p", "--steps", "300", "--hidden", "6", "--kind",
                 "nonlinear", "--seed", "5", "--entropy-coef", "0.02", "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    assert main(["train", "--out", str(out), "--resume", "--steps", "600", flag, value]) == 2
    err = capsys.readouterr().err
    assert err == (f"rtu-edge train: error: {flag}: the run being resumed has {key} = {held!r} "
                   f"({out / 'config.json'}); --resume continues it as it was\n")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_resume_names_a_faulty_config_json(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--task", "cartpole-p", "--steps", "100", "--hidden", "4", "--out",
                 str(out)]) == 0
    (out / "config.json").write_text('{"task": ')
    capsys.readouterr()
    assert main(["train", "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"rtu-edge train: error: --resume: {out / 'config.json'} is not a JSON "
                          "run config") and err.count("\n") == 1


def test_resume_restores_the_runs_settings(tmp_path):
    """Flags left out on --resume keep their recorded values (the seed, the checkpoint interval,
    the hyperparameters), flags given with their recorded values are accepted, and --steps
    extends the run; config.json says so."""
    import json
    out = tmp_path / "run"
    assert main(["train", "--task", "cartpole-p", "--steps", "300", "--hidden", "6", "--seed",
                 "5", "--checkpoint-every", "100", "--entropy-coef", "0.02", "--out",
                 str(out)]) == 0
    first = json.loads((out / "config.json").read_text())
    assert main(["train", "--out", str(out), "--resume", "--steps", "600", "--hidden", "6",
                 "--entropy-coef", "0.02"]) == 0
    assert json.loads((out / "config.json").read_text()) == {**first, "steps": 600}
    assert ActorCritic.from_checkpoint(out / "checkpoint.rtu").steps >= 600


def test_eval_refuses_a_checkpoint_that_does_not_fit_the_task(tmp_path, capsys):
    """eval compares the checkpoint's observation size and actions with the task's: a discrete
    CartPole learner is not run on Pendulum (torque = action index)."""
    cp, tc = tmp_path / "cp", tmp_path / "tc"
    assert main(["train", "--task", "cartpole-p", "--steps", "100", "--hidden", "4", "--out",
                 str(cp)]) == 0
    assert main(["train", "--task", "trace-conditioning", "--steps", "100", "--hidden", "4",
                 "--out", str(tc)]) == 0
    capsys.readouterr()
    for task, ckpt, what in (
            ("pendulum-p", cp, "of 2 discrete actions; pendulum-p takes a continuous action of "
                               "dimension 1"),
            ("memory-chain-4", cp, "of 2 inputs; memory-chain-4 observes 3 values"),
            ("trace-patterning", tc, "of 12 inputs; trace-patterning observes 17 values")):
        assert main(["eval", "--checkpoint", str(ckpt / "checkpoint.rtu"), "--task", task]) == 2
        err = capsys.readouterr().err
        assert err == (f"rtu-edge eval: error: --task: checkpoint {ckpt / 'checkpoint.rtu'} is "
                       f"of a learner {what}\n")


def test_resume_refuses_a_checkpoint_that_does_not_fit_the_task(tmp_path, capsys):
    cp, pendulum = tmp_path / "cp", tmp_path / "pendulum"
    assert main(["train", "--task", "cartpole-p", "--steps", "100", "--hidden", "4", "--out",
                 str(cp)]) == 0
    assert main(["train", "--task", "pendulum-p", "--steps", "200", "--hidden", "4", "--out",
                 str(pendulum)]) == 0
    (cp / "checkpoint.rtu").write_bytes((pendulum / "checkpoint.rtu").read_bytes())
    capsys.readouterr()
    assert main(["train", "--out", str(cp), "--resume", "--steps", "300"]) == 2
    assert "takes 2 discrete actions" in capsys.readouterr().err


@pytest.mark.parametrize("algo, task, flags", [
    ("ac", "cartpole-p", []), ("ac", "trace-conditioning", []),
    ("ppo", "cartpole-p", ["--n-envs", "2", "--n-steps", "50", "--n-minibatches", "1"])])
def test_resume_refuses_a_checkpoint_of_another_precision_or_hyperparameters(tmp_path, capsys,
                                                                              algo, task, flags):
    """A checkpoint of the other precision, or of other learner hyperparameters than the run's
    config.json records, is refused in one line naming what differs; the run's files stay as
    they were."""
    run = ["train", "--task", task, "--steps", "100", "--hidden", "4", "--algo", algo, *flags]
    cp, other = tmp_path / "cp", tmp_path / "other"
    assert main([*run, "--out", str(cp)]) == 0
    cases = [(["--dtype", "float64"], "its bytes per real (4: float32, 8: float64) is 8, the "
                                      "learner's is 4" if algo == "ppo" else
              "holds float64 reals; the run's config.json records float32"),
             (["--gamma", "0.9", "--lambda", "0.5"],
              "holds gamma 0.9, lambda_ 0.5; the run's config.json records gamma 0.99, "
              "lambda_ 0.8")]
    if task == "trace-conditioning":  # the task's gamma is TD's default
        cases[1] = (["--lambda", "0.5"], "holds lambda_ 0.5; the run's config.json records "
                                         "lambda_ 0.9")
    files = {name: (cp / name).read_bytes() for name in ("config.json", "metrics.csv")}
    for given, message in cases:
        assert main([*run, *given, "--out", str(other), "--overwrite"]) == 0
        (cp / "checkpoint.rtu").write_bytes((other / "checkpoint.rtu").read_bytes())
        capsys.readouterr()
        assert main(["train", "--out", str(cp), "--resume", "--steps", "300"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
        assert {name: (cp / name).read_bytes() for name in files} == files


def test_a_run_too_short_for_a_row_names_no_curve_and_no_nan(tmp_path, capsys):
    """A prediction run shorter than one metrics window, and a PPO run in which no episode
    finished, write no metrics row: the done line names no curve.png (none is written) and says
    that no episode finished, where it printed a curve it never wrote and a mean return of
    nan."""
    for name, flags in [("r", ["--task", "trace-conditioning", "--steps", "50", "--log-every",
                               "1000"]),
                        ("p", ["--task", "cartpole-p", "--algo", "ppo", "--n-envs", "2",
                               "--n-steps", "4", "--n-minibatches", "1", "--steps", "8"])]:
        capsys.readouterr()
        assert main(["train", *flags, "--hidden", "4", "--out", str(tmp_path / name)]) == 0
        out = capsys.readouterr().out
        assert not (tmp_path / name / "curve.png").exists()
        assert "curve.png" not in out and "nan" not in out, out
        assert out.endswith(f"metrics {tmp_path / name / 'metrics.csv'} (no rows, so no curve)\n")
    assert "episodes 0," in out and "mean_return_last_20 none (no episode finished)" in out


def test_resume_of_a_run_older_than_a_field_compares_only_what_it_recorded(tmp_path):
    """A run written before ACConfig.phase_step_scale (its config.json without the field, its
    checkpoint of format version 4, phases stepped at scale 1) resumes, and resumes again: the
    field's default (0.03) is not the run's, is not compared with the checkpoint's, and is not
    what config.json records then."""
    import json
    from test_ac_checkpoint import as_version_4
    cp = tmp_path / "cp"
    run = ["train", "--task", "cartpole-p", "--steps", "100", "--hidden", "4", "--out", str(cp)]
    assert main([*run, "--phase-step-scale", "1.0"]) == 0
    config = json.loads((cp / "config.json").read_text())
    del config["learner"]["phase_step_scale"]
    (cp / "config.json").write_text(json.dumps(config))
    (cp / "checkpoint.rtu").write_bytes(as_version_4((cp / "checkpoint.rtu").read_bytes()))
    assert main(["train", "--out", str(cp), "--resume", "--steps", "300"]) == 0
    assert ActorCritic.from_checkpoint(cp / "checkpoint.rtu").config.phase_step_scale == 1.0
    # config.json now records the learner's 1.0, so the run resumes again (0.03 had been
    # recorded, and the next resume refused)
    assert json.loads((cp / "config.json").read_text())["learner"]["phase_step_scale"] == 1.0
    assert main(["train", "--out", str(cp), "--resume", "--steps", "500"]) == 0


def test_the_reference_backend_takes_float64_runs_only_new_or_resumed(tmp_path, capsys):
    """The reference backend is float64 only: a new float32 run on it is refused naming --dtype,
    and a float32 run resumed on it naming --backend (it had said backend='c', the Python
    spelling); nothing is written."""
    run = tmp_path / "run"
    assert main(["train", "--task", "cartpole-p", "--steps", "50", "--hidden", "4",
                 "--backend", "reference", "--dtype", "float32", "--out", str(run)]) == 2
    assert capsys.readouterr().err.endswith(
        "--dtype: the reference backend is float64 only, the run's reals are float32\n")
    assert not run.exists()
    assert main(["train", "--task", "cartpole-p", "--steps", "50", "--hidden", "4",
                 "--out", str(run)]) == 0
    files = {p.name: p.read_bytes() for p in run.iterdir()}
    capsys.readouterr()
    assert main(["train", "--out", str(run), "--resume", "--steps", "100", "--backend",
                 "reference"]) == 2
    assert capsys.readouterr().err.endswith(
        "--backend: the reference backend is float64 only, the run's reals are float32\n")
    assert {p.name: p.read_bytes() for p in run.iterdir()} == files


def test_prediction_training_memory_does_not_grow_with_steps(tmp_path):
    """The stream is read in blocks: the peak memory of a run of 100,000 steps is that of one of
    10,000 (it held the whole stream, 13 MB at 100,000 steps, 1.1 GB at 10 million)."""
    import tracemalloc

    from rtu_edge.train import RunConfig, train
    train(RunConfig(task="trace-conditioning", steps=2000, hidden=4), tmp_path / "warm",
          progress=False)  # imports and first plot outside the measure
    peaks = {}
    for steps in (10_000, 100_000):
        tracemalloc.start()
        try:
            train(RunConfig(task="trace-conditioning", steps=steps, hidden=4, log_every=1000),
                  tmp_path / str(steps), progress=False)
            peaks[steps] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peaks[100_000] < 1.3 * peaks[10_000], peaks


def test_errors_of_train_and_eval_are_one_line(tmp_path, capsys, monkeypatch):
    """--out that is a file, a gymnasium id whose dependency is missing, Ctrl-C in eval: one line
    naming the flag (or saying what happened), never a traceback; a refused run writes
    nothing."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert main(["train", "--task", "cartpole-p", "--steps", "10", "--out", str(afile)]) == 2
    assert capsys.readouterr().err == \
        f"rtu-edge train: error: --out: {afile} is not a directory\n"

    import gymnasium

    def missing(*args, **kwargs):
        raise gymnasium.error.DependencyNotInstalled("Box2D is not installed")

    monkeypatch.setattr(gymnasium, "make", missing)
    assert main(["train", "--task", "CarRacing-v3", "--steps", "10", "--out",
                 str(tmp_path / "car")]) == 2
    assert capsys.readouterr().err == \
        "rtu-edge train: error: --task: task 'CarRacing-v3': Box2D is not installed\n"
    assert not (tmp_path / "car").exists()
    monkeypatch.undo()

    out = tmp_path / "run"
    assert main(["train", "--task", "cartpole-p", "--steps", "100", "--hidden", "4", "--out",
                 str(out)]) == 0
    from rtu_edge import commands

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(commands, "run_episodes", interrupted)
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(out / "checkpoint.rtu"), "--task",
                 "cartpole-p"]) == 130
    assert capsys.readouterr().err == "\nrtu-edge eval: interrupted\n"


def _files(out):
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}


def test_a_new_run_into_a_run_directory_is_refused_unless_overwrite(tmp_path, capsys):
    """A run directory that holds a run is not trained into again without --resume (which goes
    on) or --overwrite (which replaces it, a PPO run's adam.rtu too); the refusal is one line and
    leaves every file as it was."""
    out = tmp_path / "run"
    assert main(["train", "--task", "cartpole-p", "--algo", "ppo", "--n-envs", "2",
                 "--n-steps", "64", "--n-minibatches", "2", "--steps", "256",
                 "--out", str(out)]) == 0
    before = _files(out)
    assert "adam.rtu" in before
    capsys.readouterr()
    assert main(["train", "--task", "cartpole-p", "--steps", "500", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--out" in err and "holds a run already" in err
    assert _files(out) == before
    assert main(["train", "--task", "cartpole-p", "--steps", "500", "--out", str(out),
                 "--overwrite"]) == 0
    after = _files(out)
    assert "adam.rtu" not in after and after["checkpoint.rtu"] != before["checkpoint.rtu"]
    with pytest.raises(SystemExit):
        main(["train", "--out", str(out), "--resume", "--overwrite", "--steps", "900"])
    assert "--resume continues the run in --out, --overwrite replaces it" in \
        capsys.readouterr().err
    # a learner that cannot be made (68 GB of LRU readout) leaves the run it was to replace
    assert main(["train", "--task", "cartpole-p", "--steps", "500", "--out", str(out),
                 "--overwrite", "--kind", "lru", "--hidden", "65536"]) == 2
    assert _files(out) == after


def test_resume_to_no_more_steps_than_taken_is_refused_and_changes_nothing(tmp_path, capsys):
    """--resume --steps at or below the steps the run has taken is refused naming --steps
    (prediction: its checkpoint's steps, not resume.rtu's), every file unchanged."""
    runs = [(tmp_path / "tc", ["--task", "trace-conditioning", "--hidden", "8", "--log-every",
                               "2000", "--steps", "4000"], "4000"),
            (tmp_path / "cp", ["--task", "cartpole-p", "--steps", "1000"], None)]
    for out, argv, steps in runs:
        assert main(["train", *argv, "--out", str(out)]) == 0
        before = _files(out)
        taken = steps or str(ActorCritic.from_checkpoint(out / "checkpoint.rtu").steps)
        for fewer in (taken, "500"):
            capsys.readouterr()
            assert main(["train", "--out", str(out), "--resume", "--steps", fewer]) == 2
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and f"--steps: the run being resumed has taken {taken}" \
                in err
            assert _files(out) == before


def test_ppo_sizes_beyond_the_core_are_one_line_errors(tmp_path, capsys):
    """--n-envs and --n-steps beyond RTU_MAX_BATCH are refused by name before a directory is
    made; --help says what each size takes."""
    for flag in ("--n-envs", "--n-steps"):
        out = tmp_path / flag
        assert main(["train", "--task", "cartpole-p", "--algo", "ppo", flag, "100000",
                     "--steps", "3000", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"{flag}: " in err and "[1, 65536]" in err
        assert not out.exists()


def test_demo_replaces_an_earlier_demo_and_refuses_another_run(tmp_path, capsys):
    """demo's directory: an earlier demo's run is replaced; another run is refused, unchanged."""
    demo = ["demo", "--steps", "1500", "--out", str(tmp_path / "demo")]
    assert main(demo) == 0
    assert main(demo[:2] + ["1200"] + demo[3:]) == 0
    assert ActorCritic.from_checkpoint(tmp_path / "demo" / "checkpoint.rtu").steps < 1500
    other = tmp_path / "other"
    assert main(["train", "--task", "cartpole-p", "--steps", "1000", "--out", str(other)]) == 0
    before = _files(other)
    capsys.readouterr()
    assert main(["demo", "--steps", "1500", "--out", str(other)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a demo's" in err
    assert _files(other) == before


@pytest.mark.parametrize("argv,message", [
    (["train", "--task", "cartpole-p", "--steps", "100", "--log-every", "5"],
     "train: --log-every applies to prediction tasks (a control run logs every episode), not to "
     "cartpole-p"),
    (["eval", "--checkpoint", "x.rtu", "--task", "cartpole-p", "--steps", "100"],
     "eval: --steps applies to prediction tasks, not to cartpole-p (it takes --episodes)"),
    (["eval", "--checkpoint", "x.rtu", "--task", "trace-conditioning", "--episodes", "3"],
     "eval: --episodes applies to control tasks, not to trace-conditioning (it takes --steps)"),
])
def test_a_flag_of_the_other_kind_of_task_is_refused(tmp_path, capsys, argv, message):
    """A flag that the task would ignore is refused, not silently dropped."""
    with pytest.raises(SystemExit):
        main(argv + ["--out", str(tmp_path / "x")] if argv[0] == "train" else argv)
    assert message in capsys.readouterr().err
