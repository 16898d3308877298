"""`rtu-edge sweep` (rtu_edge/sweep.py), its report (rtu_edge/report.py) and the task registry
(rtu_edge/tasks/suite.py): tiny sweeps on joblib and on a local Ray, restart without duplicates
(also after kill -9), failing runs recorded, one-line errors for bad sweep files."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rtu_edge import cli
from rtu_edge.report import bootstrap_ci, summarize
from rtu_edge.sweep import COLUMNS, ResultsTable, load
from rtu_edge.tasks.suite import task_info

pytest.importorskip("joblib")
pytest.importorskip("scipy")

TINY = """
seeds = [0, 1]

[defaults]
task = "trace-conditioning"
steps = 400
log_every = 100
hidden = 4

[[configs]]
label = "lin"
kind = "linear"

[[configs]]
label = "cp"
task = "cartpole-p"
steps = 2000
n_head = 8
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def rows(out: Path) -> list:
    return ResultsTable.read(out / "results.csv")


def pairs(out: Path) -> list:
    return sorted((r["label"], int(r["seed"])) for r in rows(out))


def sweep(*args) -> int:
    return cli.main(["sweep", *map(str, args)])


def test_joblib_sweep_records_each_run_once_and_reports(tmp_path, capsys):
    file, out = write(tmp_path / "tiny.toml", TINY), tmp_path / "out"
    assert sweep(file, "--out", out, "--jobs", 2) == 0
    table = rows(out)
    assert pairs(out) == [("cp", 0), ("cp", 1), ("lin", 0), ("lin", 1)]
    assert all(r["status"] == "ok" and r["error"] == "" for r in table)
    assert list(table[0]) == COLUMNS
    lin = next(r for r in table if r["label"] == "lin")
    assert (lin["kind"], lin["activation"], lin["gamma"], lin["lambda"]) == \
        ("linear", "relu", "0.9", "0.9")  # the task's gamma, defaults recorded
    cp = next(r for r in table if r["label"] == "cp")
    assert (cp["n_head"], cp["n_embed"], cp["shared"]) == ("8", "0", "false")  # the network
    assert lin["n_head"] == lin["shared"] == ""  # TD has none
    for r in table:
        metrics = out / "runs" / r["label"] / f"seed-{r['seed']}" / "metrics.csv"
        assert metrics.exists()
        assert np.isfinite(float(r["final_score"])) and r["collapsed"] in ("true", "false")
    cp = next(r for r in table if r["label"] == "cp" and r["seed"] == "0")
    with open(out / "runs/cp/seed-0/metrics.csv") as f:
        returns = [float(m["return"]) for m in csv.DictReader(f)]
    assert float(cp["final_score"]) == pytest.approx(np.mean(returns[-20:]), rel=1e-5)

    capsys.readouterr()
    assert sweep(file, "--out", out, "--seeds", "0:3") == 0  # finished pairs are skipped
    assert "4 runs already" in capsys.readouterr().out
    assert pairs(out) == [("cp", 0), ("cp", 1), ("cp", 2), ("lin", 0), ("lin", 1), ("lin", 2)]

    assert sweep("--out", out, "--report") == 0
    printed = capsys.readouterr().out
    report = (out / "report.md").read_text()
    assert report in printed
    assert "| lin | trace-conditioning | 3 | 0 |" in report
    assert "| cp | cartpole-p | 3 | 0 |" in report
    assert "threshold 400" in report and "BCa" in report
    for png in ("trace-conditioning.png", "cartpole-p.png"):
        assert (out / "plots" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sweep("--out", out, "--report") == 0  # seeded: the same table, the same report
    assert (out / "report.md").read_text() == report


def test_failing_runs_are_recorded_and_the_others_finish(tmp_path):
    file = write(tmp_path / "f.json", json.dumps({"seeds": [0], "configs": [
        {"label": "diverges", "task": "trace-conditioning", "steps": 400, "log_every": 100,
         "optimizer": "sgd", "alpha": 1e30},
        {"label": "no-window", "task": "trace-conditioning", "steps": 150, "log_every": 100},
        {"label": "fine", "task": "trace-conditioning", "steps": 400, "log_every": 100,
         "hidden": 4}]}))
    out = tmp_path / "out"
    assert sweep(file, "--out", out, "--jobs", 1) == 0
    by_label = {r["label"]: r for r in rows(out)}
    assert by_label["diverges"]["status"] == "error"
    error = by_label["diverges"]["error"]
    assert error.startswith("Diverged: the learner diverged at step ")
    assert f"{out / 'runs' / 'diverges' / 'seed-0' / 'checkpoint.rtu'}" in error  # not the attempt
    assert by_label["no-window"]["status"] == "error"
    assert "no score" in by_label["no-window"]["error"]
    assert by_label["fine"]["status"] == "ok"
    s = {x.label: x for x in summarize(out)}
    assert (s["diverges"].runs, s["diverges"].failed) == (1, 1) and np.isnan(s["diverges"].mean)


def test_a_label_whose_settings_changed_is_refused(tmp_path, capsys):
    file, out = write(tmp_path / "s.toml", TINY.replace("steps = 2000", "steps = 300")), \
        tmp_path / "out"
    assert sweep(file, "--out", out, "--seeds", "0") == 0
    write(file, TINY.replace("steps = 2000", "steps = 400"))
    capsys.readouterr()
    assert sweep(file, "--out", out, "--seeds", "0") == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "'cp'" in err and "settings differ" in err


def test_a_label_run_at_other_defaults_is_refused_and_an_old_record_still_adds_seeds(
        tmp_path, capsys):
    """sweep.json holds each label's settings with the defaults resolved: runs of a package whose
    default changed (here, the record says the runs stepped their phases at 0.5) are not added
    to the old ones; a record without them (written before they were kept) is compared on the
    settings given."""
    file, out = write(tmp_path / "s.toml", TINY.replace("steps = 2000", "steps = 300")), \
        tmp_path / "out"
    assert sweep(file, "--out", out, "--seeds", "0") == 0
    record_path = out / "sweep.json"
    record = json.loads(record_path.read_text())
    assert record["cp"]["resolved"]["learner"]["gamma"] == 0.99  # ACConfig's default
    assert record["lin"]["resolved"]["learner"]["gamma"] == 0.9  # the trace task's
    changed = json.loads(json.dumps(record))
    changed["cp"]["resolved"]["learner"]["phase_step_scale"] = 0.5
    write(record_path, json.dumps(changed))
    capsys.readouterr()
    assert sweep(file, "--out", out, "--seeds", "0", "1") == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "'cp'" in err and "defaults included" in err
    assert pairs(out) == [("cp", 0), ("lin", 0)]  # nothing ran
    old = {label: {k: v for k, v in entry.items() if k != "resolved"}
           for label, entry in record.items()}
    write(record_path, json.dumps(old))
    assert sweep(file, "--out", out, "--seeds", "0", "1") == 0
    assert pairs(out) == [("cp", 0), ("cp", 1), ("lin", 0), ("lin", 1)]
    assert json.loads(record_path.read_text()) == old


def test_only_runs_the_matching_labels_and_the_full_sweep_adds_the_rest(tmp_path, capsys):
    file, out = write(tmp_path / "s.toml", TINY), tmp_path / "out"
    assert sweep(file, "--out", out, "--seeds", "0", "--only", "l*") == 0
    assert pairs(out) == [("lin", 0)]
    capsys.readouterr()
    assert sweep(file, "--out", out, "--seeds", "0", "--only", "nothing-*", "cp") == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--only: 'nothing-*' matches no label" in err and "lin, cp" in err
    assert pairs(out) == [("lin", 0)]  # refused: nothing ran
    assert sweep(file, "--out", out, "--seeds", "0") == 0
    assert "1 runs already" in capsys.readouterr().out
    assert pairs(out) == [("cp", 0), ("lin", 0)]


KILLABLE = """
seeds = {start = 0, stop = 6}
[[configs]]
label = "a"
task = "trace-conditioning"
steps = 6000
log_every = 1000
hidden = 8
"""


def test_kill_9_mid_sweep_then_restart_gives_no_duplicate(tmp_path):
    file, out = write(tmp_path / "k.toml", KILLABLE), tmp_path / "out"
    command = [sys.executable, "-m", "rtu_edge.cli", "sweep", str(file), "--out", str(out),
               "--jobs", "2"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / "results.csv").exists() and len(rows(out)) >= 1:
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read().decode()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    before = len(rows(out))
    assert 1 <= before < 6
    with open(out / "results.csv", "ab") as f:
        f.write(b"a,trace-conditioning,5,6000,o")  # a row torn by the kill
    assert sweep(file, "--out", out) == 0
    assert pairs(out) == [("a", s) for s in range(6)]
    assert all(r["status"] == "ok" for r in rows(out))


@pytest.fixture(scope="module")
def ray_session():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=1, include_dashboard=False)  # one local Ray for this module
    yield ray
    ray.shutdown()


def test_ray_sweep(tmp_path, ray_session):
    file, out = write(tmp_path / "tiny.toml", TINY), tmp_path / "out"
    assert sweep(file, "--out", out, "--engine", "ray") == 0
    assert ray_session.is_initialized()  # the sweep leaves a session it did not start
    assert pairs(out) == [("cp", 0), ("cp", 1), ("lin", 0), ("lin", 1)]
    assert all(r["status"] == "ok" for r in rows(out))


BAD = [
    ("colour = 1\n" + TINY, "colour: unknown key"),
    (TINY.replace('kind = "linear"', 'kind = "linear"\nwidth = 3'), "configs[0].width: unknown key"),
    (TINY.replace('task = "cartpole-p"', 'task = "nope"'), "configs[1].task: unknown task 'nope'"),
    (TINY.replace('task = "cartpole-p"', 'task = "cartpole-p"\nentropy_coef = -1.0'),
     "configs[1].entropy_coef: must lie in [0, inf), got -1.0"),
    (TINY.replace('kind = "linear"', 'kind = "linear"\nentropy_coef = 0.1'),
     "configs[0].entropy_coef: applies to control tasks"),
    (TINY.replace("steps = 2000", 'steps = "2000"'), "configs[1].steps: must be an integer >= 1"),
    (TINY.replace("hidden = 4", "hidden = 0"),
     "defaults.hidden: must be an integer in [1, 65536]"),
    (TINY.replace("hidden = 4", "hidden = 70000"), "defaults.hidden: must be an integer in [1, "
                                                   "65536], got 70000"),
    (TINY.replace("n_head = 8", "n_head = -8"), "configs[1].n_head: must be an integer >= 0"),
    (TINY.replace("n_head = 8", "memoryless = 2"), "configs[1].memoryless: must be"),
    (TINY.replace('kind = "linear"', 'kind = "linear"\nshared = true'),
     "configs[0].shared: applies to control tasks"),
    (TINY.replace('kind = "linear"', 'kind = "cubic"'), "configs[0].kind: must be one of"),
    (TINY.replace('label = "cp"', 'label = "lin"'), "configs[1].label: 'lin' is used twice"),
    (TINY.replace('label = "cp"', 'label = "c/p"'), "configs[1].label: must be letters"),
    (TINY.replace("seeds = [0, 1]", "seeds = [0, -1]"), "seeds: seeds are integers"),
    (TINY.replace("seeds = [0, 1]", ""), "seeds: missing"),
    (TINY.replace("seeds = [0, 1]", "seeds = {start = 0, stop = 18446744073709551617}"),
     "seeds: seeds are integers in [0, 2**64)"),  # had said "the learner diverged"
    (TINY.replace("seeds = [0, 1]", "seeds = {start = 0, stop = 99999999999}"),
     "seeds: at most 10000 seeds, got 99999999999"),  # had said "not enough memory ()"
    (TINY.replace("seeds = [0, 1]", "seeds = {start = 5, stop = 2}"),
     "seeds: an empty range of seeds: start 5, stop 2"),
    (TINY.replace("[defaults]", "[defaults\n"), "not valid TOML"),
    (TINY.replace('kind = "linear"', 'agent = "gru"\nbptt_window = 0'),
     "configs[0].bptt_window: must be an integer >= 1, got 0"),
    (TINY.replace('kind = "linear"', 'bptt_window = 4'),
     "configs[0].bptt_window: goes with the gru agent, not with rtu"),
    (TINY.replace('task = "cartpole-p"', 'task = "cartpole-p"\nalgo = "ppo"\nagent = "gru"'),
     "configs[1].algo: ppo trains the actor-critic's network (control tasks, the rtu and "
     "memoryless agents), not the gru agent on cartpole-p"),  # every run had failed at run time
    (TINY.replace("n_head = 8", 'agent = "gru"\nn_embed = 4'), "configs[1].n_embed: must be 0"),
]


@pytest.mark.parametrize("text, message", BAD, ids=[m for _, m in BAD])
def test_bad_sweep_files_get_one_line_naming_file_and_key(tmp_path, capsys, text, message):
    file = write(tmp_path / "bad.toml", text)
    assert sweep(file, "--out", tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"rtu-edge sweep: error: {file}: ")
    assert message in err
    assert not (tmp_path / "out").exists()  # nothing ran


def test_json_sweep_files_and_bad_suffix(tmp_path, capsys):
    data = {"seeds": {"start": 3, "stop": 5},
            "configs": [{"label": "x", "task": "pendulum-p", "steps": 10, "lambda": 0.5}]}
    sweep_ = load(write(tmp_path / "s.json", json.dumps(data)))
    assert sweep_.seeds == [3, 4] and sweep_.configs[0].run.learner == {"lambda_": 0.5}
    assert sweep_.configs[0].run.activation == "tanh"
    assert sweep(write(tmp_path / "s.yaml", "x"), "--out", tmp_path / "o") == 2
    assert "s.yaml: a sweep file is .toml or .json" in capsys.readouterr().err
    assert sweep(write(tmp_path / "b.json", "{"), "--out", tmp_path / "o") == 2
    assert "b.json: not valid JSON" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    ([], "give a sweep FILE"),
    (["--report", "--jobs", "2"], "go with a sweep FILE"),
    (["--report", "--only", "cp"], "go with a sweep FILE"),
    (["f.toml", "--address", "auto"], "--address goes with --engine ray"),
    (["f.toml", "--seeds", "1", "0:2"], "a seed is given twice"),
    (["f.toml", "--seeds", "0:99999999999"], "--seeds: '0:99999999999': at most 10000 seeds"),
    (["f.toml", "--seeds", "0:18446744073709551615"], "at most 10000 seeds"),  # had raised
    (["f.toml", "--seeds", "0:18446744073709551617"], "seeds are integers in [0, 2**64)"),
])
def test_sweep_argument_errors(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exit_:
        sweep(*args, "--out", tmp_path)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_report_without_results(tmp_path, capsys):
    assert sweep("--out", tmp_path, "--report") == 2
    assert "has no results.csv" in capsys.readouterr().err


# -- the task registry and the statistics ---------------------------------------------------------

def episodes(returns) -> list:
    return [{"step": 10 * (i + 1), "return": r} for i, r in enumerate(returns)]


def test_task_registry():
    cp = task_info("cartpole-p")
    assert (cp.kind, cp.threshold, cp.higher_is_better, cp.final_window) == \
        ("control", 400.0, True, 20)
    assert task_info("pendulum-p").threshold == -400.0
    tc = task_info("trace-patterning")
    assert (tc.kind, tc.score, tc.higher_is_better, tc.baseline) == \
        ("prediction", "msre", False, "zero_msre")
    assert task_info("popgym:RepeatPreviousEasy").threshold is None
    assert task_info("popgym:RepeatPreviousEasy").final_window == 100
    assert task_info("CartPole-v1").threshold == 475.0  # gymnasium's registered threshold
    with pytest.raises(ValueError, match="unknown task 'cartpole'"):
        task_info("cartpole")


def test_scores_thresholds_and_collapse():
    cp = task_info("cartpole-p")
    steady = episodes([450.0] * 120)
    assert cp.final(steady) == 450.0 and cp.reached(steady) and not cp.collapsed(steady)
    fell = episodes([500.0] * 100 + [100.0] * 20)
    assert cp.best(fell) == 500.0 and cp.final(fell) == 100.0
    assert cp.collapsed(fell) and not cp.reached(fell)
    slight = episodes([500.0] * 100 + [460.0] * 20)  # 92% of the best: no collapse
    assert not cp.collapsed(slight)
    pend = task_info("pendulum-p")  # negative returns: 10% of |best| below it
    assert not pend.collapsed(episodes([-200.0] * 100 + [-215.0] * 20))
    assert pend.collapsed(episodes([-200.0] * 100 + [-230.0] * 20))
    tc = task_info("trace-conditioning")
    windows = [{"step": 100 * i, "msre": m, "zero_msre": 0.2} for i, m in
               enumerate([0.15, 0.05, 0.08])]
    assert tc.final(windows) == 0.08 and tc.best(windows) == 0.05
    assert tc.reached(windows)  # 0.08 <= 0.5 x 0.2
    assert tc.collapsed(windows)  # keeps 0.12 of the best improvement 0.15: below 90%
    assert not tc.collapsed(windows[:2])
    steps, curve = cp.curve(episodes([1.0, 3.0] + [5.0] * 30))
    assert curve[0] == 1.0 and curve[1] == 2.0 and curve[-1] == 5.0 and len(steps) == 32


def test_bootstrap_interval():
    values = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    low, high = bootstrap_ci(values, np.mean, "BCa")
    assert low < np.mean(values) < high and (low, high) == bootstrap_ci(values, np.mean, "BCa")
    assert bootstrap_ci([2.0, 2.0, 2.0], np.median, "percentile") == (2.0, 2.0)
    assert all(np.isnan(bootstrap_ci([1.0], np.mean, "BCa")))


def test_the_readme_demonstration_sweep_file_loads():
    demo = load(Path(__file__).resolve().parent.parent / "sweeps" / "demo.toml")
    assert [c.label for c in demo.configs] == ["tc-linear", "tc-nonlinear", "cp-linear",
                                               "cp-linear-tuned"]
    assert demo.seeds == [0, 1, 2, 3, 4]


def test_paired_comparison_against_a_baseline(tmp_path, capsys):
    """--versus: per seed, config minus baseline, with the verdict in the task's direction
    (MSRE: lower is better); a label that is not in the table is refused with one line."""
    from rtu_edge.report import paired
    file, out = write(tmp_path / "p.toml", """
seeds = [0, 1, 2, 3]
[defaults]
task = "trace-conditioning"
steps = 3000
log_every = 1000
[[configs]]
label = "rtu"
kind = "linear"
hidden = 8
[[configs]]
label = "zero"
agent = "zero"
"""), tmp_path / "out"
    assert sweep(file, "--out", out) == 0
    table = rows(out)
    score = {(r["label"], r["seed"]): float(r["final_score"]) for r in table}
    (result,) = paired(out, "zero")
    assert (result.label, result.seeds) == ("rtu", 4)
    assert result.mean == pytest.approx(np.mean([score["rtu", s] - score["zero", s]
                                                 for s in "0123"]))
    low, high = result.ci
    expected = "better" if high < 0 else "worse" if low > 0 else "inconclusive"
    assert result.verdict == expected
    capsys.readouterr()
    assert sweep("--out", out, "--report", "--versus", "zero") == 0
    assert "| rtu | trace-conditioning | 4 |" in capsys.readouterr().out
    assert sweep("--out", out, "--report", "--versus", "nobody") == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "nobody" in err
    fresh = tmp_path / "fresh"  # with a sweep file: refused before any run
    assert sweep(file, "--out", fresh, "--report", "--versus", "nobody") == 2
    assert "neither of" in capsys.readouterr().err and not fresh.exists()
    with open(out / "results.csv", "a") as f:  # a line no run wrote
        f.write("junk line\n")
    assert sweep("--out", out, "--report") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{out / 'results.csv'}: line {len(table) + 2}" in err
    with pytest.raises(SystemExit) as stop:  # --versus goes with --report (argparse's error)
        sweep(file, "--out", out, "--versus", "zero")
    assert stop.value.code == 2


def test_gru_agent_sweeps_with_its_window_and_every_run_records_its_flops(tmp_path):
    """agent = "gru" with bptt_window: results.csv holds the window and, for every agent, the
    FLOPs per step of its learner's cells (rtu_edge.flops), as its config.json records them."""
    from rtu_edge.flops import flops_per_step
    from rtu_edge.tasks import TraceConditioning
    text = TINY.replace("seeds = [0, 1]", "seeds = [0]").replace(
        'label = "cp"\ntask = "cartpole-p"\nsteps = 2000\nn_head = 8',
        'label = "gru"\nagent = "gru"\nbptt_window = 3\n\n[[configs]]\nlabel = "zero"\n'
        'agent = "zero"')
    file, out = write(tmp_path / "gru.toml", text), tmp_path / "out"
    assert sweep(file, "--out", out) == 0
    table = {r["label"]: r for r in rows(out)}
    assert sorted(table) == ["gru", "lin", "zero"]
    assert all(r["status"] == "ok" for r in table.values())
    n_in = TraceConditioning(isi=10, seed=0).obs_size
    assert (table["gru"]["agent"], table["gru"]["bptt_window"]) == ("gru", "3")
    assert int(table["gru"]["flops_per_step"]) == flops_per_step("gru", 4, n_in, 3)
    assert int(table["lin"]["flops_per_step"]) == flops_per_step("linear", 4, n_in)
    assert table["lin"]["bptt_window"] == table["zero"]["flops_per_step"] == ""
    recorded = json.loads((out / "runs" / "gru" / "seed-0" / "config.json").read_text())
    assert recorded["bptt_window"] == 3


def test_report_refuses_a_table_without_the_header(tmp_path, capsys):
    """An empty results.csv, or one of other columns, is one line naming the file, not an empty
    report; an --out that cannot be made names --out."""
    out = tmp_path / "empty"
    out.mkdir()
    for text in ("", "a,b\n1,2\n"):
        (out / "results.csv").write_text(text)
        assert sweep("--out", out, "--report") == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is not a results table of rtu-edge sweep" in err
        assert not (out / "report.md").exists()
    file = write(tmp_path / "s.toml", TINY)
    (tmp_path / "a_file").write_text("")
    assert sweep(file, "--out", tmp_path / "a_file" / "out") == 2
    assert "--out: cannot create" in capsys.readouterr().err


def test_a_worker_process_that_dies_is_replaced_and_the_sweep_goes_on(tmp_path, monkeypatch,
                                                                        capsys):
    """A joblib worker killed (kill -9, the out-of-memory killer) broke loky's pool: the sweep
    printed TerminatedWorkerError's traceback and lost the runs in flight. Now the runs not
    finished go again on new processes; a worker that keeps dying stops the sweep with one line,
    the finished runs kept in results.csv."""
    from rtu_edge import sweep as sweep_module
    real = sweep_module.run_one

    def dies_once(config, seed, out, sweep_pid=None):  # pickled by value (a local function)
        import os as os_
        import signal as signal_
        from pathlib import Path as Path_
        marker = Path_(out) / f"died-{config.label}-{seed}"
        if seed == 1 and not marker.exists():
            marker.touch()
            os_.kill(os_.getpid(), signal_.SIGKILL)
        return real(config, seed, out, sweep_pid)

    file, out = write(tmp_path / "tiny.toml", TINY.replace("steps = 2000", "steps = 300")), \
        tmp_path / "out"
    monkeypatch.setattr(sweep_module, "run_one", dies_once)
    assert sweep(file, "--out", out, "--jobs", 2) == 0
    printed = capsys.readouterr()
    assert "a worker process died" in printed.out and "Traceback" not in printed.err
    assert pairs(out) == [("cp", 0), ("cp", 1), ("lin", 0), ("lin", 1)]
    assert all(r["status"] == "ok" for r in rows(out))
    assert not list((out / "runs").glob("*/*.attempt-*"))

    def always_dies(config, seed, out, sweep_pid=None):
        import os as os_
        import signal as signal_
        if seed == 2:
            os_.kill(os_.getpid(), signal_.SIGKILL)
        return real(config, seed, out, sweep_pid)

    monkeypatch.setattr(sweep_module, "run_one", always_dies)
    monkeypatch.setattr(sweep_module, "WORKER_RESTARTS", 1)
    assert sweep(file, "--out", out, "--jobs", 2, "--seeds", "0:3") == 2  # 1: in-process
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a worker process died 2 times" in err
    assert f"finished runs are kept in {out / 'results.csv'}" in err
    assert len(rows(out)) == 4  # the finished runs stay


def test_report_names_a_malformed_metrics_file_and_its_line(tmp_path, capsys):
    """A run's metrics.csv with a line no run wrote had given "could not convert string to float:
    'garbage'" without the file's name."""
    file, out = write(tmp_path / "m.toml", TINY.replace("seeds = [0, 1]", "seeds = [0]").replace(
        'label = "cp"\ntask = "cartpole-p"\nsteps = 2000\nn_head = 8', 'label = "zero"\n'
        'agent = "zero"')), tmp_path / "out"
    assert sweep(file, "--out", out) == 0
    metrics = out / "runs" / "lin" / "seed-0" / "metrics.csv"
    for text in ("garbage\n", "500,0.5,oops\n"):
        good = metrics.read_text()
        metrics.write_text(good + text)
        capsys.readouterr()
        assert sweep("--out", out, "--report") == 2
        err = capsys.readouterr().err
        line = len(good.splitlines()) + 1
        assert err.count("\n") == 1 and f"error: {metrics}: line {line} is not a metrics row" \
            in err
        metrics.write_text(good)
    assert "'oops' is no number" in err


def test_versus_with_nothing_to_pair_says_so(tmp_path, capsys):
    """--versus LABEL where no other configuration ran LABEL's task had left the comparison out
    without a word."""
    file, out = write(tmp_path / "v.toml", TINY.replace("seeds = [0, 1]", "seeds = [0]").replace(
        'label = "cp"\ntask = "cartpole-p"\nsteps = 2000\nn_head = 8', 'label = "zero"\n'
        'task = "trace-patterning"\nagent = "zero"')), tmp_path / "out"
    assert sweep(file, "--out", out) == 0
    capsys.readouterr()
    assert sweep("--out", out, "--report", "--versus", "lin") == 0
    printed = capsys.readouterr().out
    assert "Paired against lin: nothing to compare (no other configuration on trace-conditioning " \
        "has a finished run on a seed lin finished)." in printed
    assert printed.count("Paired against") == 1
