"""The bodies of `rtu-edge train`, `eval` and `demo` (argument parsing is in cli.py)."""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

from .reference.config import c_name
from .train import (PREDICTION_TASKS, Interrupted, Metrics, RunConfig, check_fits,
                    make_prediction_task, make_task_env, read_config, resume_config,
                    run_episodes, run_files, train as run)
from .validate import LEARNER_TOLERANCE, actor_critic_parity

__all__ = ["Interrupted", "demo", "evaluate", "train"]

DEMO_PARITY_TOLERANCE = LEARNER_TOLERANCE  # the demo prints the figure


def _config(args) -> RunConfig:
    dtype = args.dtype or ("float64" if args.backend == "reference" else "float32")
    from .cli import learner_overrides, network_overrides, ppo_overrides
    try:  # bptt_window, a hyperparameter the task's learner does not have, or out of its range
        cfg = RunConfig(task=args.task, steps=args.steps, hidden=args.hidden, kind=args.kind,
                        activation=args.activation, backend=args.backend, dtype=dtype,
                        seed=args.seed, checkpoint_every=args.checkpoint_every,
                        log_every=args.log_every, agent=args.agent,
                        bptt_window=args.bptt_window, learner=learner_overrides(args),
                        network=network_overrides(args), algo=args.algo,
                        ppo=ppo_overrides(args))
        cfg.learner_config().check()
        cfg.network_config().check()
        cfg.ppo_config()
    except ValueError as err:
        key = str(err).split()[0]
        raise ValueError(f"--{c_name(key).replace('_', '-')}: {err}") from None
    return cfg


def _given_settings(args) -> dict:
    """The settings given on the command line (args.given: their dests), as RunConfig fields;
    learner and network as dicts of the fields given (their flags default to None)."""
    from .cli import learner_overrides, network_overrides, ppo_overrides
    given = {dest: getattr(args, dest) for dest in args.given
             if not dest.startswith(("hp_", "net_", "ppo_"))}
    return {**given, "learner": learner_overrides(args), "network": network_overrides(args),
            "ppo": ppo_overrides(args)}


def train(args) -> int:
    if args.config:
        cfg = read_config(Path(args.config), "--config")
    elif args.resume:
        cfg = resume_config(Path(args.out), _given_settings(args))
    else:
        cfg = _config(args)
    result = run(cfg, Path(args.out), resume=args.resume, progress=sys.stderr.isatty(),
                 tensorboard=args.tensorboard, overwrite=args.overwrite)
    curve = result.pop("curve")
    if "mean_return_last_20" in result and result["mean_return_last_20"] is None:
        result["mean_return_last_20"] = "none (no episode finished)"
    summary = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                        for k, v in result.items())
    print(f"rtu-edge train: done: {summary}; metrics {Path(args.out) / 'metrics.csv'}"
          + (f", curve {curve}" if curve else " (no rows, so no curve)"))
    return 0


def _load(cls, args):
    """The learner of --checkpoint on --backend."""
    from ._learner import ReferencePrecision
    try:
        return cls.from_checkpoint(args.checkpoint, backend=args.backend)
    except ReferencePrecision:  # its message has the Python spelling, backend='c'
        raise ValueError(f"--backend: {args.checkpoint} holds float32 reals; the reference "
                         f"backend is float64 (give --backend c)") from None


def evaluate(args) -> int:
    from .ac import ActorCritic
    from .tasks.trace_conditioning import streamed_msre
    from .td import TDLambda
    if args.task in PREDICTION_TASKS:
        td = _load(TDLambda, args)
        task = make_prediction_task(RunConfig(task=args.task, steps=args.steps, seed=args.seed))
        check_fits(td, args.task, task.obs_size, None, args.checkpoint)
        try:
            error, zero = streamed_msre(td.run, task, args.steps)
        except ValueError as err:  # steps within the left-out tail
            raise ValueError(f"--steps: {err}") from None
        print(f"rtu-edge eval: {args.task}, {args.steps} steps (seed {args.seed}): MSRE "
              f"{error:.4f} (predicting zero: {zero:.4f})")
        return 0
    ac = _load(ActorCritic, args)
    env, spec = make_task_env(args.task, args.seed)
    check_fits(ac, args.task, spec.obs_size, spec, args.checkpoint)
    returns: list[float] = []
    run_episodes(ac, env, spec, args.seed, 10**18,
                 lambda episode, ret, length: returns.append(ret),
                 stop=lambda: len(returns) >= args.episodes)
    print(f"rtu-edge eval: {args.task}, {len(returns)} episodes (seed {args.seed}): return mean "
          f"{np.mean(returns):.1f}, min {np.min(returns):.0f}, max {np.max(returns):.0f}")
    return 0


def parity_prefix(seed: int, steps: int = 1000) -> dict:
    """The demo's check (validate.actor_critic_parity): the C learner (float64) and the numpy
    reference, same seed, the first steps transitions of CartPole with hidden velocities; also the
    float32 C learner's actions."""
    cfg = RunConfig(task="cartpole-p", steps=steps)
    r = actor_critic_parity(seed, steps, n_hidden=cfg.hidden, kind=cfg.kind,
                            activation=cfg.activation)
    return {"steps": r.steps, "actions_equal": r.actions_equal,
            "param_deviation": r.deviation.worst(), "float32_same_actions": r.float32_same_actions}


def _demo_config(steps: int, seed: int) -> RunConfig:
    return RunConfig(task="cartpole-p", steps=steps, seed=seed, checkpoint_every=100000)


def _holds_demo(out: Path) -> bool:
    """out's run is a demo's: its config.json records what demo runs (any steps and seed)."""
    try:
        saved = read_config(out / "config.json", "demo")
    except ValueError:
        return False
    filled = ("learner", "network", "ppo", "flops_per_step")  # recorded as the run used them
    return dataclasses.replace(saved, **{k: None for k in filled}) == dataclasses.replace(
        _demo_config(saved.steps, saved.seed), **{k: None for k in filled})


def demo(args) -> int:
    out = Path(args.out)
    if run_files(out) and not _holds_demo(out):
        raise ValueError(f"--out: {out} holds a run that is not a demo's "
                         f"({', '.join(run_files(out))}); give the demo another --out")
    cfg = _demo_config(args.steps, args.seed)
    net = cfg.network_config()
    layers = (f"an input layer of {net.n_embed}, " if net.n_embed else "") + \
        (f"heads of {net.n_head}" if net.n_head else "linear heads") + \
        (f", the previous reward in as {net.prev_reward}" if net.reward_input else "")
    print(f"rtu-edge demo: streaming actor-critic (the default network: {cfg.kind} RTU of "
          f"{cfg.hidden} units, {layers}, {'shared' if net.shared else 'separate'} actor and "
          "critic) "
          "learns CartPole "
          f"with the velocities hidden (it sees cart position and pole angle only), C core, "
          f"float32, {args.steps} steps, seed {args.seed}.", flush=True)
    started = time.perf_counter()
    check = parity_prefix(args.seed)
    ok = check["actions_equal"] and check["param_deviation"] < DEMO_PARITY_TOLERANCE
    print(f"  C vs numpy reference over the first {check['steps']} steps: actions "
          f"{'identical' if check['actions_equal'] else 'DIFFER'}, parameters within "
          f"{check['param_deviation']:.1e} relative (tolerance {DEMO_PARITY_TOLERANCE:g}: "
          f"{'ok' if ok else 'FAIL'}); float32 takes "
          f"the same actions for {check['float32_same_actions']} of 200 steps", flush=True)
    result = run(cfg, out, resume=False, progress=sys.stderr.isatty(), overwrite=True)
    rows = Metrics.read(out / "metrics.csv")
    returns = np.array([float(r["return"]) for r in rows])
    steps = np.array([int(r["step"]) for r in rows])
    print("  learning curve (mean return of the episodes ending in each tenth of the run):")
    edges = np.linspace(0, args.steps, 11)
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = returns[(steps > lo) & (steps <= hi)]
        mean = float(np.mean(sel)) if len(sel) else float("nan")
        bar = "#" * int(round(mean / 10)) if len(sel) else ""
        print(f"    steps {int(lo):>7}-{int(hi):<7} {mean:6.1f} {bar}")
    print(f"  {result['episodes']} episodes in {time.perf_counter() - started:.0f} s; mean return "
          f"of the last 20: {result['mean_return_last_20']:.1f} (500 is the maximum)")
    print(f"  wrote {out / 'curve.png'}, {out / 'metrics.csv'} and the checkpoint "
          f"{out / 'checkpoint.rtu'}; continue with: rtu-edge train --task cartpole-p --steps "
          f"{2 * args.steps} --out {out} --resume")
    print(f"  deploy it with: rtu-edge export --checkpoint {out / 'checkpoint.rtu'} --c-header "
          f"{out / 'model.h'} (add --onnx {out / 'policy.onnx'} after pip install "
          "'rtu_edge[onnx]')")
    return 0 if ok else 1
