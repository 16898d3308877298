"""Two configurations of a sweep compared at equal wall-clock time instead of equal steps.

    python benchmarks/equal_time.py runs/ppo --labels cp-ppo cp-ac [--window 20]

For each seed both labels ran: the shorter of the two runs' durations (results.csv's seconds) is
the budget; each run's step at that budget is taken as its steps x budget / its seconds (a run's
speed taken as constant over the run; both ran in the same sweep, so under the same load), and
its score there is the mean return of its latest `window` episodes up to that step
(metrics.csv). Printed: each label's mean score at equal time with a 95% BCa bootstrap interval
(rtu_edge.report), and the paired difference's: to one decimal where the scores reach 10 or
more (returns of the control tasks), else to 4 significant digits as the sweep's report gives
them (POPGym's returns lie in [-1, 1]; pass --window 100, its score's window).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from _args import episode_returns, positive_int, sweep_results


def score_at(metrics: list, step: float, window: int) -> float:
    """The mean return of the latest window episodes ended by step, of a run's metrics rows."""
    rows = [r for r in metrics if int(r["step"]) <= step]
    returns = [float(r["return"]) for r in rows[-window:]]
    return float(np.mean(returns)) if returns else float("nan")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the sweep's --out directory")
    parser.add_argument("--labels", nargs=2, required=True, metavar=("A", "B"))
    parser.add_argument("--window", type=positive_int, default=20)
    args = parser.parse_args(argv)
    from rtu_edge.report import bootstrap_ci
    rows = [r for r in sweep_results(parser, args.out) if r["status"] == "ok"]
    runs = {(r["label"], int(r["seed"])): r for r in rows}
    a, b = args.labels
    seeds = sorted(s for (label, s) in runs if label == a and (b, s) in runs)
    if not seeds:
        parser.error(f"no seed has finished runs of both {a} and {b} in {args.out}")
    scores, budgets = {a: [], b: []}, []
    for seed in seeds:
        budget = min(float(runs[(a, seed)]["seconds"]), float(runs[(b, seed)]["seconds"]))
        budgets.append(budget)
        for label in (a, b):
            run = runs[(label, seed)]
            step = int(run["steps"]) * budget / float(run["seconds"])
            metrics = args.out / "runs" / label / f"seed-{seed}" / "metrics.csv"
            scores[label].append(score_at(episode_returns(parser, metrics, label), step,
                                          args.window))

    large = max(abs(np.mean(scores[label])) for label in (a, b)) >= 10
    number = "{:.1f}".format if large else "{:.4g}".format

    def ci(values) -> str:
        values = np.asarray(values, dtype=float)
        low, high = bootstrap_ci(values, np.mean, "BCa")
        return f"{number(np.mean(values))} [{number(low)}, {number(high)}]"

    print(f"{len(seeds)} seeds ({seeds[0]}-{seeds[-1]}); budget: the shorter run of each seed, "
          f"median {np.median(budgets):.1f} s; mean of the last {args.window} episodes by then "
          f"[95% BCa bootstrap interval]")
    for label in (a, b):
        mean_seconds = np.mean([float(runs[(label, s)]["seconds"]) for s in seeds])
        print(f"  {label}: {ci(scores[label])} (whole run: {mean_seconds:.1f} s on average)")
    print(f"  {a} - {b} (paired): {ci(np.array(scores[a]) - np.array(scores[b]))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
