"""The benchmark still runs (a smoke test: it checks the output, never a timing)."""

import json
import pathlib
import shutil
import subprocess
import sys

import pytest

BENCH = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "bench_cell.py"


def run_benchmark(name: str, args: list, out: pathlib.Path) -> str:
    """benchmarks/<name> with args and --json out: its stdout, after it exits 0 and writes out."""
    result = subprocess.run([sys.executable, str(BENCH.with_name(name)), *args, "--json",
                             str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert out.exists()
    return result.stdout


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_cell_benchmark_quick_mode_runs(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run([sys.executable, str(BENCH), "--quick", "--json", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for kind in ("linear", "nonlinear", "lru"):
        assert f"| {kind} | 64 | 16 |" in result.stdout, kind
    assert "Targets at n_hidden=64, n_in=16" in result.stdout
    assert out.exists()


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_loop_benchmark_runs(tmp_path):
    """benchmarks/bench_loop.py: the Python CartPole loop against the C learner plus the
    environment (a smoke test of the script and its C program; the ratio is not asserted)."""
    stdout = run_benchmark("bench_loop.py", ["--steps", "300", "--rounds", "1"],
                           tmp_path / "loop.json")
    assert "loop / (C learner + env) =" in stdout


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_kernel_benchmark_quick_mode_runs(tmp_path):
    """benchmarks/bench_kernel.py: the peak probe, the unfused builds' ceilings and the cell in
    the default and native builds, with this core as its own baseline (a smoke test: the
    percentages are not asserted); a --baseline that is no c_src/ directory is a one-line
    error."""
    script = BENCH.with_name("bench_kernel.py")
    c_src = BENCH.parent.parent / "c_src"
    result = subprocess.run([sys.executable, str(script), "--quick", "--baseline", str(c_src)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "| linear | 64 | 16 |" in result.stdout and "GFLOP/s float32 FMA" in result.stdout
    assert "native build >= 40% of the peak" in result.stdout
    assert "faster than the baseline at the default flags" in result.stdout
    assert "the ceilings of the builds that fuse no multiply-add" in result.stdout
    assert "of this build's ceiling" in result.stdout
    assert "| learner (linear) | 32 | 2 |" in result.stdout
    assert "Targets of the learner (CartPole-P network)" in result.stdout
    for kind in ("linear", "nonlinear"):  # the issue asks 3x and 40% of both kinds
        assert f"Targets of n_hidden=64, n_in=16, {kind} kind:" in result.stdout
    bad = subprocess.run([sys.executable, str(script), "--baseline", str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and f"--baseline {tmp_path}: no rtu_cell.c there" in bad.stderr


def test_flops_per_step_is_the_count_of_the_code():
    """benchmarks/bench_cell.py's cost model against counts written out by hand, loop by loop of
    c_src/rtu_cell.c (multiplies and adds of the O(nd) and O(n^2) loops), for n = 2, d = 3."""
    sys.path.insert(0, str(BENCH.parent))
    try:
        from bench_cell import flops_per_step
    finally:
        sys.path.remove(str(BENCH.parent))
    n, d = 2, 3
    forward = 2 * 2 * n * d            # W_c x, W_d x: a multiply and an add each
    traces = 8 * n * d                 # E = lambda E + eta x: 5 multiplies, 3 adds
    contraction = 2 * 3 * n * d        # dL/dW_c, dL/dW_d: 2 multiplies, 1 add each
    assert flops_per_step("linear", n, d) == forward + traces + contraction == 108
    rows = 2 * n                       # the LRU's readout
    readout = rows * (2 * n + 2 * n + 2 * d)             # c_re[i].c, c_im[i].d, d_skip[i].x
    backward = rows * (2 * n + 2 * n + n + n + d)        # dL/dc, dL/dd; dy c, -dy d, dy x
    assert flops_per_step("lru", n, d) == forward + traces + contraction + readout + backward \
        == 224


def test_first_reached_finds_the_first_window_and_how_well_it_held(tmp_path):
    """benchmarks/first_reached.py: the step of the first 20-episode mean at the level, the runs
    that got there within the budget, and the share of later windows at 90% of the level."""
    import numpy as np
    sys.path.insert(0, str(BENCH.parent))
    try:
        from first_reached import first_reached, main
    finally:
        sys.path.remove(str(BENCH.parent))
    returns = np.array([10.0] * 30 + [500.0] * 20 + [100.0] * 20)
    steps = np.cumsum(returns).astype(int)
    step, held = first_reached(steps, returns, 475, 20)
    # the first window at 475: episodes 29-48, 19 at 500 and one at 10 (mean 475.5)
    assert step == steps[48]
    later = np.convolve(returns, np.ones(20) / 20, mode="valid")[29:]
    assert held == pytest.approx(np.mean(later >= 427.5))
    assert first_reached(steps, returns, 600, 20) == (None, None)
    run = tmp_path / "runs" / "rtu" / "seed-3"
    run.mkdir(parents=True)
    rows = ["step,episode,return,length"] + [f"{s},{i + 1},{r:g},{int(r)}"
                                              for i, (s, r) in enumerate(zip(steps, returns))]
    (run / "metrics.csv").write_text("\n".join(rows) + "\n")
    assert main([str(tmp_path), "--label", "rtu", "--level", "475", "--by", str(steps[48])]) == 0


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_batch_benchmark_runs(tmp_path):
    """benchmarks/bench_batch.py: ActorCriticBatch against separate learners (a smoke test; the
    ratio is not asserted), with what 5x needs and the floor of a step (bench_traffic.c) over the
    network's parameters and eligibility traces, each verdict the comparison of its figures."""
    from rtu_edge import ActorCritic
    out = tmp_path / "batch.json"
    stdout = run_benchmark("bench_batch.py", ["--count", "4", "--steps", "20", "--rounds", "2",
                                              "--hidden", "8", "--head", "16"], out)
    assert "per-learner throughput, batch / separate =" in stdout and "what 5x needs:" in stdout
    report = json.loads(out.read_text())
    med = report["median_us"]
    assert all(len(report["round_us"][k]) == 2 for k in ("separate", "batch", "c_alone"))
    assert report["allowed_us"] == pytest.approx(med["separate"] / 5)
    assert report["shared_allowed_us"] == pytest.approx((med["separate"] - med["batch"]) / 4)
    assert report["floor_us"] > 0
    for figure, name in (("allowed_us", "separate / 5"), ("shared_allowed_us",
                                                          "(separate - batch) / 4")):
        verdict = "below" if report["floor_us"] < report[figure] else "not below"
        assert f"{verdict} {name}" in stdout, (verdict, name)
    # the script's network: separate actor and critic, each with its own parameters and trace
    learner = ActorCritic(2, 8, 2, seed=0, dtype="float32", n_head=16)
    params = sum(v.size for v in learner.params.values())
    # two trunks (nu_log, theta_log, w_c, w_d on 3 inputs), two heads' hidden layers on 2n = 16
    # features, the critic's out layer (1) and the actor's (2)
    assert report["params"] == params == 2 * (2 * 8 + 2 * 8 * 3) + 2 * 16 * 17 + 17 + 2 * 17
    assert report["traces"] == params


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_traffic_probe_refuses_bad_arguments_naming_them():
    """benchmarks/bench_traffic.c: a count that is not a positive integer, or one whose buffer
    size would wrap, is a one-line error naming it (exit 1), never a crash; good ones give its
    JSON line."""
    sys.path.insert(0, str(BENCH.parent))
    try:
        import _cprogram
    finally:
        sys.path.remove(str(BENCH.parent))
    probe = _cprogram.traffic_probe()
    ok = subprocess.run([str(probe), "1000", "3", "2"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["us_per_learner"] > 0
    for args, name in ((["0", "3"], "REALS"), (["5x", "3"], "REALS"), (["-1", "2"], "REALS"),
                       (["99999999999999999999999", "1"], "REALS"), (["10", "0"], "LEARNERS"),
                       (["10", "2", "0"], "REPS"), (["4294967295", "4294967295"], "LEARNERS")):
        bad = subprocess.run([str(probe), *args], capture_output=True, text=True)
        assert bad.returncode == 1 and bad.stdout == "", (args, bad)
        assert bad.stderr.count("\n") == 1 and name in bad.stderr, (args, bad.stderr)


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_ppo_benchmark_runs(tmp_path):
    """benchmarks/bench_ppo.py: PPO-RTRL against the streaming learner on CartPole-P (a smoke
    test of one small round; the ratio is not asserted), with the share of PPO's time in its
    update, a fraction, and what the target needs: the time it allows a step, the environments'
    own time and the update's arithmetic at the measured peak and at the ceiling of the build
    the extension runs (the peak itself for the native build), its FLOPs those of the default
    network's samples."""
    pytest.importorskip("gymnasium")
    from rtu_edge._build import AVX2_FLAGS, NATIVE_FLAGS
    from rtu_edge.flops import ppo_flops_per_sample
    from rtu_edge.train import RunConfig
    BUILD_FLAGS = {"default": [], "avx2": AVX2_FLAGS, "native": NATIVE_FLAGS}  # written out
    out = tmp_path / "ppo.json"
    stdout = run_benchmark("bench_ppo.py", ["--steps", "2048", "--rounds", "1"], out)
    assert "ratio PPO / AC, pair by pair:" in stdout and "what 5x needs:" in stdout
    report = json.loads(out.read_text())
    assert 0 < report["ppo_update_share"] < 1 and report["ppo_steps_per_second"] > 0
    run = RunConfig(task="cartpole-p", steps=1)
    sample = ppo_flops_per_sample(run.kind, 2, run.hidden, "discrete", 2, run.network_config())
    assert report["ppo_flops_per_sample"] == sample
    assert report["ppo_update_flops_per_step"] == 4 * sample  # PPOConfig's 4 epochs
    assert report["target_us_per_step"] == pytest.approx(
        1e6 / (5 * report["ac_steps_per_second"]))
    assert 0 < report["ppo_env_us_per_step"] < 1e6 / report["ppo_steps_per_second"]
    assert report["update_arithmetic_us_at_peak"] == pytest.approx(
        report["ppo_update_flops_per_step"] / report["peak_gflops"] * 1e-3)
    assert f"at the {report['c_build']} build's own ceiling" in stdout
    assert report["update_arithmetic_us_at_build_ceiling"] == pytest.approx(
        report["ppo_update_flops_per_step"] / report["build_ceiling_gflops"] * 1e-3)
    assert report["build_ceiling_gflops"] > 0
    # the probe of the build the extension runs: its flags (the native build's is the peak)
    assert report["build_ceiling_flags"] == list(BUILD_FLAGS[report["c_build"]])
    if report["c_build"] == "native":
        assert report["build_ceiling_gflops"] == report["peak_gflops"]


def test_ppo_flops_per_sample_is_the_count_of_the_code():
    """rtu_edge.flops.ppo_flops_per_sample against a count written out layer by layer of
    c_src/rtu_ppo.c's pass over one sample (gradient_chunk) for one small network: n_obs 2,
    n_hidden 3, 2 discrete actions, an input layer of 4, heads of 5, the previous action and
    reward as inputs (n_x 5); shared, one trunk; without heads, the out layers on the features.
    Conventions as ac_flops_per_step's: a multiply or an add 1, biases left out; an operation the
    code performs counts, a multiply by a decay of 1 included where the kernel does it."""
    from rtu_edge.flops import flops_per_step, ppo_flops_per_sample
    from rtu_edge.reference.config import ACNetwork
    net = ACNetwork(n_embed=4, n_head=5, prev_action=True, prev_reward="normalized")
    n_x, m, n, k = 5, 4, 3, 5
    trunk = (2 * m * n_x                        # rtu_ac_trunks_forward: W_in x
             + flops_per_step("linear", n, m)   # the step from the stored context, traces,
             #                                    and rtu_ac_trunk_backward's gradient
             + 3 * m * n_x                      # rtu_dense_backward: g = 1 g + d x
             + 4 * n * m)                       # rtu_cell_input_gradient
    heads = 0
    for o in (1, 2):                            # critic, actor
        hidden, out = k * 2 * n, o * k          # the weights of each layer
        heads += 2 * hidden + 2 * out           # rtu_dense_forward_batch, rtu_dense_forward
        heads += 5 * out                        # rtu_ac_head_top_backward: g = 1 g + dy q, dq
        heads += 4 * hidden                     # rtu_dense_backward_batch: g += dy h, dh
    assert ppo_flops_per_sample("linear", 2, n, "discrete", 2, net) == 2 * trunk + heads
    shared = ACNetwork(n_embed=4, n_head=5, prev_action=True, prev_reward="normalized", shared=True)
    assert ppo_flops_per_sample("linear", 2, n, "discrete", 2, shared) == trunk + heads
    bare = ACNetwork(n_embed=0, n_head=0, prev_reward="none")
    cell = flops_per_step("linear", n, 2)       # no extra inputs: n_x = e = 2
    outs = 1 * 2 * n + 2 * 2 * n                # the out layers on h: 7 per weight
    assert ppo_flops_per_sample("linear", 2, n, "discrete", 2, bare) == 2 * cell + 7 * outs


def test_ac_flops_per_step_is_the_count_of_the_code():
    """rtu_edge.flops.ac_flops_per_step against a count written out layer by layer of
    c_src/rtu_ac.c for one small network: n_obs 2, n_hidden 3, 2 discrete actions, an input
    layer of 4, heads of 5, the previous action and reward as inputs (n_x 5)."""
    from rtu_edge.flops import ac_flops_per_step, flops_per_step
    from rtu_edge.reference.config import ACNetwork
    net = ACNetwork(n_embed=4, n_head=5, prev_action=True, prev_reward="normalized")
    n_x, m, n, k = 5, 4, 3, 5
    cell = flops_per_step("linear", n, m)          # step, traces, gradient of one RTU
    embed = 2 * m * n_x                            # W_in x
    embed_back = 3 * m * n_x + 4 * n * m           # z = decay z + d x; the input sensitivity
    trunk_params = m * (n_x + 1) + 2 * n + 2 * n * m

    def head(o):
        forward = 2 * k * 2 * n + 2 * o * k
        backward = 5 * k * 2 * n + 5 * o * k      # grad 3 per weight, dx 2 per weight
        return forward, backward, k * (2 * n + 1) + o * (k + 1)

    total = 2 * (embed + cell + embed_back)
    for o in (1, 2):
        f, b, p = head(o)
        total += f + b + 3 * (trunk_params + p)   # |z|_1, theta += a z
    total += embed + 4 * n * m + head(1)[0]       # the critic's peek
    assert ac_flops_per_step("linear", 2, n, "discrete", 2, net) == total
    shared = ACNetwork(n_embed=4, n_head=5, prev_action=True, prev_reward="normalized", shared=True)
    assert ac_flops_per_step("linear", 2, n, "discrete", 2, shared) == \
        total - (embed + cell + embed_back)



@pytest.mark.parametrize("script,args,flag", [
    ("bench_cell.py", ["--quick", "--json", "{tmp}/none/x.json"], "--json"),
    ("bench_cell.py", ["--quick", "--json", "{tmp}"], "--json"),
    ("bench_loop.py", ["--steps", "0"], "--steps"),
    ("bench_loop.py", ["--rounds", "-1"], "--rounds"),
    ("bench_batch.py", ["--count", "0"], "--count"),
    ("bench_batch.py", ["--head", "-1"], "--head"),
    ("bench_ppo.py", ["--steps", "0"], "--steps"),
    ("bench_export.py", ["--quick", "--keep", "{tmp}/none/k"], "--keep"),
    ("bench_kernel.py", ["--rounds", "0"], "--rounds"),
    ("equal_time.py", ["{tmp}", "--labels", "a", "b", "--window", "0"], "--window"),
    ("first_reached.py", ["{tmp}", "--label", "a", "--level", "nan", "--by", "9"], "--level"),
    ("first_reached.py", ["{tmp}", "--label", "a", "--level", "1", "--by", "0"], "--by"),
    ("handoff.py", ["--seeds", "5:5", "--out", "{tmp}/h"], "--seeds"),
    ("handoff.py", ["--out", "{tmp}/none/h"], "--out"),
])
def test_benchmark_scripts_refuse_bad_arguments_before_running(tmp_path, script, args, flag):
    """A bad size, a non-finite level or an output that cannot be written is argparse's error
    naming the flag, before any measurement (they had run, then raised a traceback or printed
    NaN)."""
    argv = [a.format(tmp=tmp_path) for a in args]
    result = subprocess.run([sys.executable, str(BENCH.parent / script), *argv],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and f"error: argument {flag}: " in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_result_scripts_name_a_missing_table_and_a_prediction_label(tmp_path):
    """equal_time.py, first_reached.py and compare_plot.py: a directory without results.csv, and
    a label whose runs have no episode returns, are one-line errors naming them."""
    for script, args in (("equal_time.py", ["--labels", "a", "b"]), ("compare_plot.py", [])):
        result = subprocess.run([sys.executable, str(BENCH.parent / script), str(tmp_path),
                                 *args], capture_output=True, text=True, timeout=120)
        assert result.returncode == 2 and "has no results.csv" in result.stderr, result.stderr
    run = tmp_path / "runs" / "tc" / "seed-0"
    run.mkdir(parents=True)
    (run / "metrics.csv").write_text("step,msre,zero_msre\n100,0.5,1.0\n")
    result = subprocess.run([sys.executable, str(BENCH.parent / "first_reached.py"),
                             str(tmp_path), "--label", "tc", "--level", "1", "--by", "100"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "tc's runs have no episode returns" in result.stderr


def _script(name: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BENCH.parent / name), *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def _control_run(out: pathlib.Path, label: str, seed: int, returns: list) -> pathlib.Path:
    run = out / "runs" / label / f"seed-{seed}"
    run.mkdir(parents=True)
    step, lines = 0, ["step,episode,return,length"]
    for i, r in enumerate(returns):
        step += int(r)
        lines.append(f"{step},{i + 1},{r:g},{int(r)}")
    (run / "metrics.csv").write_text("\n".join(lines) + "\n")
    return run / "metrics.csv"


def test_first_reached_skips_runs_in_flight_and_says_when_no_run_reached_the_level(tmp_path):
    """A run in flight's seed-N.attempt-* directory (a sweep running or interrupted) had crashed
    the sort by seed; a level no run reached had printed numpy's warnings and "nan% of the
    time"."""
    _control_run(tmp_path, "cp", 0, [10.0] * 30)
    attempt = tmp_path / "runs" / "cp" / "seed-1.attempt-123-456"
    attempt.mkdir()
    (attempt / "metrics.csv").write_text("step,episode,return,length\n10,1,10,10\n")
    result = _script("first_reached.py", tmp_path, "--label", "cp", "--level", "500", "--by",
                     "100")
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and "nan" not in result.stdout
    assert "seed-1" not in result.stdout
    assert "0/1 runs reached 500" in result.stdout and "no run reached it" in result.stdout


def test_result_scripts_name_a_malformed_or_missing_metrics_file(tmp_path):
    """A metrics.csv with a line no run wrote, or none at all: one line naming the file (and the
    line), not a traceback."""
    metrics = [_control_run(tmp_path, label, 0, [10.0] * 30) for label in ("a", "b")]
    (tmp_path / "results.csv").write_text(
        "label,task,seed,steps,status,final_score,seconds\n"
        "a,cartpole-p,0,300,ok,10,1.0\nb,cartpole-p,0,300,ok,10,2.0\n")
    with open(metrics[0], "a") as f:
        f.write("garbage\n")
    for result in (_script("first_reached.py", tmp_path, "--label", "a", "--level", "5", "--by",
                           "100"),
                   _script("equal_time.py", tmp_path, "--labels", "a", "b")):
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert f"error: {metrics[0]}: line 32 is not a metrics row" in result.stderr
    metrics[1].unlink()
    result = _script("equal_time.py", tmp_path, "--labels", "b", "a")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert f"error: {metrics[1]}: cannot read" in result.stderr


def test_handoff_table_of_one_seed_says_it_has_no_interval():
    """One seed (--seeds 100:101) had printed "[nan, nan]" on every row."""
    sys.path.insert(0, str(BENCH.parent))
    try:
        from handoff import table
    finally:
        sys.path.remove(str(BENCH.parent))
    row = {"seed": 100, "ppo_steps": 5000, "ppo_final": 50.0, "pre_shift": 60.0, "frozen": 20.0,
           "online": 40.0, "scratch": 30.0, "seconds": 1.0}
    text = table([row])
    assert "nan" not in text
    assert "a bootstrap interval needs at least two seeds" in text
    assert "| online - frozen (paired) | 20.0 (no interval) |" in text
    two = table([row, {**row, "seed": 101, "online": 44.0}])
    assert "nan" not in two and "| online - frozen (paired) | 22.0 [" in two
