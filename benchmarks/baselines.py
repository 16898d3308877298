#!/usr/bin/env python3
"""The memoryless baseline against a random policy: does it at least match random on every task?

For each task and seed: ``MemorylessAC`` (rtu_edge.baselines, stream-x defaults) and
``RandomPolicy`` each run ``--steps`` steps through rtu_edge.train.run_episodes (episode i reset
with seed (seed, i), as ``rtu-edge train`` does); the score of a run is the mean return of its
last episodes, the task's final window in rtu_edge/tasks/suite.py (20 for cartpole-p and
pendulum-p, 100 for POPGym). Over seeds: the mean with a 95% BCa bootstrap interval
(scipy.stats.bootstrap, seeded), for each agent and for the per-seed difference memoryless -
random. Seeds 10-19 by default: the features of the memoryless agent were chosen on seeds 0-5.

Usage:
    python benchmarks/baselines.py                 # 3 tasks x 10 seeds x 50k steps, ~5 min, 2 cores
    python benchmarks/baselines.py --steps 2000 --seeds 10,11 --tasks cartpole-p   # smoke test
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
from typing import List

import numpy as np

TASKS = ("cartpole-p", "pendulum-p", "popgym:RepeatPreviousEasy")
AGENTS = ("memoryless", "random")


def run(job) -> dict:
    task, agent_name, seed, steps = job
    from rtu_edge.baselines import ACConfig, MemorylessAC, RandomPolicy
    from rtu_edge.tasks import make_env
    from rtu_edge.tasks.suite import task_info
    from rtu_edge.train import run_episodes
    env, spec = make_env(task, seed)
    if agent_name == "random":
        agent = RandomPolicy(spec.n_actions, seed=seed) if spec.discrete else \
            RandomPolicy(low=spec.low, high=spec.high, seed=seed)
    else:
        agent = MemorylessAC(spec.obs_size, spec.n_actions if spec.discrete else spec.action_dim,
                             ACConfig(), seed,
                             action_kind="discrete" if spec.discrete else "continuous")
    returns: List[float] = []
    run_episodes(agent, env, spec, seed, steps, lambda e, r, n: returns.append(r))
    env.close()
    window = task_info(task).final_window
    return {"task": task, "agent": agent_name, "seed": seed, "episodes": len(returns),
            "score": float(np.mean(returns[-window:])), "window": window}


def interval(values: np.ndarray):
    from scipy.stats import bootstrap
    if len(values) < 2:
        return float("nan"), float("nan")
    ci = bootstrap((values,), np.mean, confidence_level=0.95, n_resamples=10000,
                   random_state=0).confidence_interval
    return float(ci.low), float(ci.high)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--seeds", default=",".join(str(s) for s in range(10, 20)))
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    tasks = args.tasks.split(",")
    jobs = [(t, a, s, args.steps) for t in tasks for a in AGENTS for s in seeds]
    with multiprocessing.get_context("fork").Pool(max(1, min(2, args.workers))) as pool:
        out = pool.map(run, jobs)
    lines = [f"# Memoryless vs random: mean score over seeds {args.seeds} [95% BCa bootstrap]", "",
             f"{args.steps:,} steps per run; score: mean return of the task's final window.", "",
             "| task | window | memoryless | random | memoryless - random |",
             "|---|---:|---|---|---|"]
    for t in tasks:
        by = {a: np.array([o["score"] for o in sorted(out, key=lambda o: o["seed"])
                           if o["task"] == t and o["agent"] == a]) for a in AGENTS}
        cells = []
        for v in (by["memoryless"], by["random"], by["memoryless"] - by["random"]):
            low, high = interval(v)
            cells.append(f"{v.mean():.3f} [{low:.3f}, {high:.3f}]")
        window = next(o["window"] for o in out if o["task"] == t)
        lines.append(f"| {t} | {window} | " + " | ".join(cells) + " |")
    print("\n".join(lines))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
