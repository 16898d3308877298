"""When each run of a sweep first reached a level of the running mean of its episode returns, and
whether it held it: the speed figures of the learning results (a sweep's report gives the final
scores).

    python benchmarks/first_reached.py runs/cartpole --label rtu --level 475 --window 20 --by 100000

For every run of the label (DIR/runs/LABEL/seed-*/metrics.csv): the step at which the mean of the
latest `window` episode returns first reached `level` (or "never"), how many runs got there by step
`by`, and the fraction of the episodes after that step whose own `window`-mean stayed at or above
90% of `level`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from _args import episode_returns, finite_float, positive_int


def first_reached(steps: np.ndarray, returns: np.ndarray, level: float, window: int):
    """(step of the first window-mean >= level or None, fraction of the later window-means that
    stay >= 0.9 level or None)."""
    if len(returns) < window:
        return None, None
    means = np.convolve(returns, np.ones(window) / window, mode="valid")
    hit = np.flatnonzero(means >= level)
    if not len(hit):
        return None, None
    later = means[hit[0]:]
    return int(steps[hit[0] + window - 1]), float(np.mean(later >= 0.9 * level))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the sweep's --out directory")
    parser.add_argument("--label", required=True)
    parser.add_argument("--level", type=finite_float, required=True)
    parser.add_argument("--window", type=positive_int, default=20)
    parser.add_argument("--by", type=positive_int, required=True,
                        help="the step budget to count within")
    args = parser.parse_args(argv)
    from rtu_edge.sweep import ATTEMPT
    runs = sorted((p for p in (args.out / "runs" / args.label).glob("seed-*/metrics.csv")
                   if ATTEMPT not in p.parent.name),  # not a run in flight's attempt
                  key=lambda p: int(p.parent.name.split("-")[1]))
    if not runs:
        parser.error(f"no runs of {args.label!r} under {args.out}")
    firsts, held = [], []
    for path in runs:
        rows = episode_returns(parser, path, args.label)
        steps = np.array([int(r["step"]) for r in rows])
        returns = np.array([float(r["return"]) for r in rows])
        step, frac = first_reached(steps, returns, args.level, args.window)
        firsts.append(step)
        if frac is not None:
            held.append(frac)
        print(f"{path.parent.name}: first {args.window}-episode mean >= {args.level:g} at "
              f"{'never' if step is None else step}"
              + ("" if frac is None else f"; afterwards >= 90% of it {100 * frac:.0f}% of the time"))
    reached = [s for s in firsts if s is not None]
    within = sum(s <= args.by for s in reached)
    summary = (f"{args.label}: {len(reached)}/{len(runs)} runs reached {args.level:g}, {within}/"
               f"{len(runs)} by step {args.by}")
    if reached:
        summary += (f"; median first step {int(np.median(reached))}; after reaching it, the "
                    f"{args.window}-episode mean stayed >= 90% of it {100 * np.mean(held):.0f}% "
                    f"of the time (mean over the runs that reached it)")
    else:
        summary += "; no run reached it, so there is no first step and nothing held"
    print(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
