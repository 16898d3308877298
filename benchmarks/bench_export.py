#!/usr/bin/env python3
"""Export benchmark: per-step inference latency at batch 1 and 64, and file sizes of the exports.

For two actor-critic models (linear RTU, tanh, float32 checkpoints):

* cartpole  n_in 2, n_hidden 32, 2 actions: trained on CartPole with hidden velocities
            (``train_steps``), timed and checked on the observations its policy met;
* bigger    n_in 16, n_hidden 64, 4 actions: trained 500 steps on unit-normal data, timed and
            checked on unit-normal observations;

both on the full streaming network (NETWORK: separate actor and critic, input layers and heads
of 32 units, the previous action and reward as inputs; every part the export has), it exports the ONNX step model (float32)
and its int8 variant (rtu_edge.export.onnx_export) and the C header, and times one inference
step, the state fed back and an action and a reward given back after it, five ways:

* onnxruntime f32 / int8  ``InferenceSession.run`` on the step model, CPU provider, one thread;
* C via cffi              ``CModel.step`` and ``CModel.feed`` (rtu_model_step and rtu_model_feed
                          through cffi, float32);
* C program               benchmarks/bench_export.c alone: rtu_model_step and rtu_model_feed in a
                          C loop (cc -O3, no -march=native), compiled against the model's exported
                          header, on the same observations, actions and rewards;
* C program, native       the same program built for this CPU as well (plus
                          rtu_edge._build.NATIVE_FLAGS, what a program built on and for the
                          machine that runs it, or RTU_EDGE_NATIVE=1, compiles).

and at batch BATCH (64 sequences, each its own state, as a vector environment's), per sample:

* onnxruntime f32         one ``InferenceSession.run`` on BATCH rows;
* C via cffi              ``CModelBatch.step`` and ``CModelBatch.feed`` (rtu_model_step_batch and
                          rtu_model_feed_batch: one C call each for the BATCH sequences).

Each contender is calibrated to last about ``target_s`` per measurement, then all of them run in
alternation for ``rounds`` rounds, so that load from elsewhere on a shared machine falls on all of
them alike; the table gives the median per-step time over the rounds and the ratios of medians.
Observations come round a ring of RING vectors. Accuracy is reported beside: the float32 model's
max |ONNX - C| on onnxruntime over a 1000-step rollout, and the int8 model's deviation from the
float32 one relative to the float32 outputs' and state's scale (its documented bound is
rtu_edge.validate.INT8_RELATIVE_BOUND).

Usage:
    python benchmarks/bench_export.py            # about 50 s on 2 cores
    python benchmarks/bench_export.py --quick    # smoke test: a few steps, little training
    python benchmarks/bench_export.py --json results.json --keep DIR   # keep the exported files
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from _cprogram import ROOT, build, compiler_version, cpu_model
from _args import output_dir, output_file
from rtu_edge import ActorCritic, c_build
from rtu_edge._build import NATIVE_FLAGS
from rtu_edge._extras import MissingExtra, require
from rtu_edge.export import CModel, CModelBatch, InferenceModel
from rtu_edge.export import onnx_export as ox
from rtu_edge.export.c_header import write_header
from rtu_edge.validate import INT8_RELATIVE_BOUND, RunDeviation, compare_onnx, rollout_feedback

BENCH_SOURCE = ROOT / "benchmarks" / "bench_export.c"
RING = 64  # observations cycled through by the timed loops (a power of two)
BATCH = 64  # sequences of the batched loops
ROLLOUT = 1000  # steps of the accuracy checks
SEED = 1
#: the network both learners are built on: every part of the streaming network
NETWORK = {"n_embed": 32, "n_head": 32, "prev_action": True, "prev_reward": "normalized"}


@dataclass(frozen=True)
class Settings:
    target_s: float  # duration of one timed measurement
    probe_s: float  # calibration: grow the step count until one run lasts this long
    rounds: int  # interleaved rounds; the median is reported
    train_steps: int  # CartPole-p training of the cartpole model


FULL = Settings(target_s=0.2, probe_s=0.02, rounds=11, train_steps=20000)
QUICK = Settings(target_s=0.003, probe_s=0.001, rounds=2, train_steps=1200)


# -- the models ---------------------------------------------------------------------------------

def cartpole_model(directory: Path, settings: Settings):
    """(checkpoint path, observations): an actor-critic trained on cartpole-p, and the
    observations its policy met over the last ROLLOUT steps of training."""
    from rtu_edge.tasks import make_env
    env, spec = make_env("cartpole-p", seed=SEED)
    ac = ActorCritic(spec.obs_size, 32, spec.n_actions, kind="linear", activation="tanh",
                     seed=SEED, dtype=np.float32, **NETWORK)
    obs, _ = env.reset(seed=SEED)
    seen = []
    for _ in range(max(settings.train_steps, ROLLOUT)):
        seen.append(obs)
        action = ac.act(obs)
        obs_next, reward, terminated, truncated, _ = env.step(action)
        ac.learn(reward, obs_next, terminated, truncated)
        obs = env.reset()[0] if terminated or truncated else obs_next
    path = directory / "cartpole.rtu"
    ac.save(path)
    return path, np.array(seen[-ROLLOUT:], dtype=np.float32)


def bigger_model(directory: Path, settings: Settings):
    """(checkpoint path, observations): n_in 16, n_hidden 64, 4 actions, trained 500 steps on
    unit-normal data; unit-normal observations."""
    rng = np.random.default_rng(SEED)
    ac = ActorCritic(16, 64, 4, kind="linear", activation="tanh", seed=SEED, dtype=np.float32,
                     **NETWORK)
    obs = rng.standard_normal(16)
    for t in range(500):
        ac.act(obs)
        nxt = rng.standard_normal(16)
        ac.learn(float(rng.standard_normal()), nxt, t % 200 == 199, False)
        obs = nxt
    path = directory / "bigger.rtu"
    ac.save(path)
    return path, rng.standard_normal((ROLLOUT, 16)).astype(np.float32)


MODELS = {"cartpole": cartpole_model, "bigger": bigger_model}


def export_all(name: str, ckpt: Path, directory: Path) -> tuple[InferenceModel, dict]:
    """The model and its exports: {"checkpoint", "onnx_f32", "onnx_int8", "c_header"} paths."""
    model = InferenceModel.from_checkpoint(ckpt)
    files = {"checkpoint": ckpt, "onnx_f32": directory / f"{name}.onnx",
             "onnx_int8": directory / f"{name}_int8.onnx", "c_header": directory / f"{name}.h"}
    ox.to_onnx(model, files["onnx_f32"])
    ox.quantize_int8(files["onnx_f32"], files["onnx_int8"])
    write_header(ckpt, files["c_header"], name=name)
    return model, files


def write_program_input(model: InferenceModel, obs: np.ndarray, actions: np.ndarray,
                        rewards: np.ndarray, path: Path) -> None:
    """RING observations, actions and rewards in bench_export.c's format."""
    arrays = [obs[:RING], actions[:RING] if model.learner != "td" else np.zeros(0),
              rewards[:RING]]
    path.write_bytes(b"".join([b"RTUBENCH", np.array([RING], dtype=np.int32).tobytes()]
                              + [np.ascontiguousarray(a, dtype=np.float32).tobytes()
                                 for a in arrays]))


# -- timing -------------------------------------------------------------------------------------

RunSteps = Callable[[int], float]  # run k steps, return the elapsed seconds


def calibrate(run: RunSteps, settings: Settings) -> int:
    """A step count that lasts about target_s (the probe runs double as the warm-up)."""
    steps = 1
    while True:
        elapsed = run(steps)
        if elapsed >= settings.probe_s:
            break
        steps *= int(min(64.0, max(2.0, 1.5 * settings.probe_s / max(elapsed, 1e-9))))
    return max(1, round(steps * settings.target_s / elapsed))


def batch_rows(a: np.ndarray, batch: int) -> list:
    """RING feeds of `batch` rows of a (RING rows): feed t holds rows t, t + 1, ... (mod RING), so
    that the sequences of a batch differ (batch 1: row t, as a (1, width) array)."""
    return [np.ascontiguousarray(a[(t + np.arange(batch)) % RING]) for t in range(RING)]


def onnxruntime_loop(path: Path, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray,
                     batch: int = 1) -> RunSteps:
    """session.run on the step model, `batch` rows at once, the states fed back, and the previous
    action and reward (the graph's prev_action and prev_reward inputs, when it has them)."""
    import onnx
    proto = onnx.load(str(path))
    sess = ox.session(proto)
    names = [o.name for o in proto.graph.output]
    i_state = names.index("state_out")
    width = {i.name: i.type.tensor_type.shape.dim[1].dim_value for i in proto.graph.input}
    extras = ox.previous_inputs(ox.metadata(proto), actions[:RING], rewards[:RING])
    rows = {"obs": batch_rows(obs[:RING], batch),
            **{k: batch_rows(v, batch) for k, v in extras.items()}}
    ring = [{k: v[t] for k, v in rows.items()} for t in range(RING)]
    mask = RING - 1
    run = sess.run

    def loop(steps: int) -> float:
        state = np.zeros((batch, width["state"]), dtype=np.float32)
        start = time.perf_counter()
        for t in range(steps):
            state = run(names, {**ring[t & mask], "state": state})[i_state]
        return time.perf_counter() - start

    return loop


def step_feed_loop(cm, ring: list) -> RunSteps:
    """cm.step and cm.feed (a CModel or a CModelBatch) round the ring of (obs, action, reward),
    the state kept in C."""
    mask = RING - 1

    def loop(steps: int) -> float:
        cm.reset()
        step, feed = cm.step, cm.feed
        start = time.perf_counter()
        for t in range(steps):
            o, a, r = ring[t & mask]
            step(o)
            feed(a, r)
        return time.perf_counter() - start

    return loop


def cffi_loop(model: InferenceModel, obs: np.ndarray, actions: np.ndarray,
              rewards: np.ndarray) -> RunSteps:
    """CModel.step and CModel.feed, batch 1."""
    ring = [(np.ascontiguousarray(obs[t]), actions[t], float(rewards[t])) for t in range(RING)]
    return step_feed_loop(CModel(model, np.float32), ring)


def cffi_batch_loop(model: InferenceModel, obs: np.ndarray, actions: np.ndarray,
                    rewards: np.ndarray) -> RunSteps:
    """CModelBatch.step and CModelBatch.feed on BATCH sequences (one C call each)."""
    a_rows = actions[:RING].reshape(RING, -1)
    ring = list(zip(batch_rows(obs[:RING], BATCH), batch_rows(a_rows, BATCH),
                    batch_rows(rewards[:RING], BATCH)))
    return step_feed_loop(CModelBatch(model, BATCH, np.float32), ring)


def program_loop(binary: Path, model_file: Path) -> RunSteps:
    """The C program, one timed round per call (its own time, not the process start-up)."""

    def loop(steps: int) -> float:
        cmd = [str(binary), str(model_file), str(steps), "1", str(max(1, steps // 4))]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{shlex.join(cmd)} failed: {proc.stderr.strip()}")
        return json.loads(proc.stdout)["best_ns_per_step"] * 1e-9 * steps

    return loop


def measure(loops: dict, settings: Settings) -> dict:
    """Per-step seconds of each loop over settings.rounds interleaved rounds:
    {name: {"median_us", "best_us", "steps"}}."""
    steps = {name: calibrate(loop, settings) for name, loop in loops.items()}
    per_round = {name: [] for name in loops}
    for _ in range(settings.rounds):
        for name, loop in loops.items():
            per_round[name].append(loop(steps[name]) / steps[name])
    return {name: {"median_us": statistics.median(v) * 1e6, "best_us": min(v) * 1e6,
                   "steps": steps[name]} for name, v in per_round.items()}


# -- accuracy -----------------------------------------------------------------------------------

def accuracy(model: InferenceModel, files: dict, obs: np.ndarray) -> dict:
    import onnx
    f32, int8 = onnx.load(str(files["onnx_f32"])), onnx.load(str(files["onnx_int8"]))
    dev = compare_onnx(f32, model, runtimes=("onnxruntime",), obs=obs,
                       seed=SEED)["onnxruntime"]
    actions, rewards = rollout_feedback(model, len(obs), SEED)
    out, states = ox.run_onnx(f32, obs, actions=actions, rewards=rewards)
    out8, states8 = ox.run_onnx(int8, obs, actions=actions, rewards=rewards)
    rel = RunDeviation()
    rel.add("outputs", out8, out)
    rel.add("state", states8, states)
    return {"f32_vs_c_outputs": dev.diff["outputs"], "f32_vs_c_state": dev.diff["state"],
            "int8_rel_outputs": rel["outputs"], "int8_rel_state": rel["state"]}


# -- building the C program ---------------------------------------------------------------------

def build_program(name: str, header: Path, flags: tuple = ()) -> tuple[Path, list[str]]:
    """Compile bench_export.c against header (exported with --name model) with the whole core
    into benchmarks/bin/bench_export_<name>, flags being further compiler flags."""
    return build(BENCH_SOURCE, sorted((ROOT / "c_src").glob("*.c")), f"bench_export_{name}",
                 defines=(f'-DBENCH_MODEL_HEADER="{header}"', *flags))


# -- reporting ----------------------------------------------------------------------------------

def _us(value: float) -> str:
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _ratio(value: float) -> str:
    return f"{value:.1f}x"  # one decimal at every size: the targets (10x, 20x) are read off it


def latency_table(results: list[dict]) -> str:
    lines = ["| model | n_in | n_hidden | outputs | onnxruntime f32 us | onnxruntime int8 us | "
             "C via cffi us | C program us | C program, native us | "
             "onnxruntime f32 / C program | onnxruntime f32 / C program, native | "
             "C via cffi / C program |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        t = r["timing"]
        prog, native = t["c_program"]["median_us"], t["c_program_native"]["median_us"]
        lines.append(
            f"| {r['name']} | {r['n_in']} | {r['n_hidden']} | {r['n_out']} | "
            f"{_us(t['onnxruntime_f32']['median_us'])} | "
            f"{_us(t['onnxruntime_int8']['median_us'])} | "
            f"{_us(t['c_cffi']['median_us'])} | {_us(prog)} | {_us(native)} | "
            f"{_ratio(t['onnxruntime_f32']['median_us'] / prog)} | "
            f"{_ratio(t['onnxruntime_f32']['median_us'] / native)} | "
            f"{_ratio(t['c_cffi']['median_us'] / prog)} |")
    return "\n".join(lines)


def batch_table(results: list[dict]) -> str:
    lines = [f"| model | onnxruntime f32, batch {BATCH}: us per sample | C via cffi "
             f"(CModelBatch), batch {BATCH}: us per sample | onnxruntime / C |",
             "|---|---:|---:|---:|"]
    for r in results:
        t = r["timing"]
        ort, c = (t["onnxruntime_f32_batch"]["median_us"] / BATCH,
                  t["c_cffi_batch"]["median_us"] / BATCH)
        lines.append(f"| {r['name']} | {_us(ort)} | {_us(c)} | {ort / c:.2f}x |")
    return "\n".join(lines)


def size_table(results: list[dict]) -> str:
    lines = ["| model | checkpoint (float32) bytes | ONNX f32 bytes | ONNX int8 bytes | "
             "C header bytes | ONNX f32 vs C: max abs dev (outputs / state) | "
             "int8 vs f32: relative dev (outputs / state) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        s, a = r["sizes"], r["accuracy"]
        header = "n/a" if s["c_header"] is None else str(s["c_header"])
        lines.append(
            f"| {r['name']} | {s['checkpoint']} | {s['onnx_f32']} | {s['onnx_int8']} | "
            f"{header} | {a['f32_vs_c_outputs']:.1e} / {a['f32_vs_c_state']:.1e} | "
            f"{a['int8_rel_outputs']:.2%} / {a['int8_rel_state']:.2%} |")
    return "\n".join(lines)


# -- main ---------------------------------------------------------------------------------------

def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: little training, a few steps per measurement")
    parser.add_argument("--json", metavar="PATH", type=output_file,
                        help="write the results as JSON")
    parser.add_argument("--keep", metavar="DIR", type=output_dir,
                        help="write the checkpoints and exports to DIR (default: a temporary "
                             "directory, removed)")
    return parser.parse_args(argv)


def run(settings: Settings, directory: Path) -> tuple[list[dict], str]:
    """The results of every model, and the build commands of the last model's C programs (at -O3,
    then with the native flags)."""
    results = []
    for name, make in MODELS.items():
        t0 = time.perf_counter()
        ckpt, obs = make(directory, settings)
        model, files = export_all(name, ckpt, directory)
        actions, rewards = rollout_feedback(model, len(obs), SEED)
        program_input = directory / f"{name}.bench"
        write_program_input(model, obs, actions, rewards, program_input)
        program_header = directory / f"{name}_model.h"
        write_header(ckpt, program_header, name="model")
        binary, build_cmd = build_program(name, program_header)
        native, native_cmd = build_program(f"{name}_native", program_header, tuple(NATIVE_FLAGS))
        loops = {"onnxruntime_f32": onnxruntime_loop(files["onnx_f32"], obs, actions, rewards),
                 "onnxruntime_int8": onnxruntime_loop(files["onnx_int8"], obs, actions, rewards),
                 "c_cffi": cffi_loop(model, obs, actions, rewards),
                 "c_program": program_loop(binary, program_input),
                 "c_program_native": program_loop(native, program_input),
                 "onnxruntime_f32_batch": onnxruntime_loop(files["onnx_f32"], obs, actions,
                                                           rewards, BATCH),
                 "c_cffi_batch": cffi_batch_loop(model, obs, actions, rewards)}
        results.append({
            "name": name, "n_in": model.n_in, "n_hidden": model.n_hidden, "n_out": model.n_out,
            "kind": model.kind, "activation": model.activation, "training_steps": model.steps,
            "timing": measure(loops, settings),
            "sizes": {k: None if p is None else os.path.getsize(p) for k, p in files.items()},
            "accuracy": accuracy(model, files, obs)})
        print(f"  {name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    return results, [shlex.join(build_cmd), shlex.join(native_cmd)]


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    settings = QUICK if args.quick else FULL
    started = time.perf_counter()
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        results, build_cmds = run(settings, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="rtu_bench_export_") as tmp:
            results, build_cmds = run(settings, Path(tmp))
    total_s = time.perf_counter() - started
    print("Per-step inference latency at batch 1, the state fed back (median of "
          f"{settings.rounds} interleaved rounds):\n")
    print(latency_table(results))
    print(f"\nAt batch {BATCH} ({BATCH} sequences, each with its own state), per sample:\n")
    print(batch_table(results))
    print("\nFile sizes and accuracy (1000-step rollouts; int8: max |int8 - f32| / max |f32|, "
          f"documented bound {INT8_RELATIVE_BOUND:.0%}):\n")
    print(size_table(results))
    import onnxruntime
    print(f"\nTotal runtime: {total_s:.1f} s ({'quick' if args.quick else 'full'} run; "
          f"onnxruntime {onnxruntime.__version__}, 1 thread; compiler: {compiler_version()}; "
          f"the extension's C core: {c_build()} build; CPU: {cpu_model()}, "
          f"{os.cpu_count()} cores)")
    if args.json is not None:
        report = {"settings": asdict(settings), "quick": args.quick, "ring": RING,
                  "build_commands": build_cmds, "compiler": compiler_version(),
                  "cpu": cpu_model(), "cores": os.cpu_count(), "platform": platform.platform(),
                  "onnxruntime": onnxruntime.__version__, "c_build": c_build(),
                  "total_runtime_s": total_s,
                  "results": results}
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    try:  # the ONNX side needs rtu_edge[onnx], the cartpole model's training rtu_edge[train]:
        # say so in one line before any work
        for module in ("onnx", "onnxruntime", "gymnasium"):
            require(module, "bench_export.py")
    except MissingExtra as err:
        sys.exit(f"bench_export.py: {err}")
    sys.exit(main())
