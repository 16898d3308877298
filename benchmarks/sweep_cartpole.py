#!/usr/bin/env python3
"""Hyperparameter sweep of the streaming actor-critic on CartPole with hidden velocities.

Each configuration (a name and ActorCritic keyword arguments, from a JSON file such as
benchmarks/cartpole_configs.json) is run on every seed, driven exactly like `rtu-edge train`
(rtu_edge.train.run_episodes: episode i reset with seed (seed, i)), C core, float32, tanh. The
score is the mean return of the last 20 episodes; the target of the learning issue is >= 400 on
most seeds. Runs go two at a time (the machine has 2 cores); each row is appended to --out as it
finishes, so a long sweep can be read while it runs.

    python benchmarks/sweep_cartpole.py benchmarks/cartpole_configs.json --steps 500000 \\
        --seeds 0,1,2,3,4 --only lin_default,lin_ent0.05 --out sweep.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing as mp
import time
from pathlib import Path

import numpy as np

FIELDS = ["name", "config", "seed", "steps", "mean_last20", "episodes", "wall_s", "error"]


def run_one(job: tuple) -> dict:
    """One configuration on one seed; returns its result row."""
    from rtu_edge import ActorCritic
    from rtu_edge.tasks import make_env
    from rtu_edge.train import run_episodes
    name, config, seed, steps = job
    kwargs = dict(config)
    kind, n_hidden = kwargs.pop("kind", "nonlinear"), kwargs.pop("n_hidden", 32)
    env, spec = make_env("cartpole-p", seed)
    ac = ActorCritic(spec.obs_size, n_hidden, spec.n_actions, kind=kind, activation="tanh",
                     seed=seed, dtype=np.float32, **kwargs)
    returns: list[float] = []
    started, error = time.perf_counter(), ""
    try:
        run_episodes(ac, env, spec, seed, steps, lambda episode, ret, length: returns.append(ret))
    except FloatingPointError as err:
        error = f"diverged at step {ac.steps}: {err}"
    score = float(np.mean(returns[-20:])) if returns else float("nan")
    return {"name": name, "config": json.dumps(config, sort_keys=True), "seed": seed,
            "steps": steps, "mean_last20": f"{score:.1f}", "episodes": len(returns),
            "wall_s": f"{time.perf_counter() - started:.1f}", "error": error}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("configs", type=Path, help="JSON file: {name: ActorCritic kwargs}")
    parser.add_argument("--steps", type=int, default=500_000)
    parser.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated seeds")
    parser.add_argument("--only", default="", help="comma-separated configuration names")
    parser.add_argument("--out", type=Path, default=Path("sweep_cartpole.csv"))
    args = parser.parse_args()
    configs = json.loads(args.configs.read_text())
    names = args.only.split(",") if args.only else list(configs)
    unknown = [n for n in names if n not in configs]
    if unknown:
        parser.error(f"--only: no configuration named {unknown} in {args.configs}")
    seeds = [int(s) for s in args.seeds.split(",")]
    jobs = [(name, configs[name], seed, args.steps) for name in names for seed in seeds]
    rows = []
    with open(args.out, "a", newline="") as f, \
            mp.get_context("spawn").Pool(2, maxtasksperchild=1) as pool:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        if f.tell() == 0:
            writer.writeheader()
        for row in pool.imap_unordered(run_one, jobs):
            writer.writerow(row)
            f.flush()
            rows.append(row)
            print(", ".join(f"{k} {row[k]}" for k in ("name", "seed", "mean_last20", "error")
                            if row[k] != ""), flush=True)
    print("\n| configuration | per seed (mean of last 20 episodes) | mean | >= 400 |")
    print("|---|---|---:|---:|")
    for name in names:
        scores = [float(r["mean_last20"]) for r in sorted(rows, key=lambda r: r["seed"])
                  if r["name"] == name]
        print(f"| {name} | {', '.join(f'{s:.1f}' for s in scores)} | {np.nanmean(scores):.1f} | "
              f"{sum(s >= 400 for s in scores)}/{len(scores)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
