"""Score against compute: a sweep's mean final score per configuration against its learner's FLOPs
per step, as the paper draws it (benchmarks/sweeps/compare.toml).

    python benchmarks/compare_plot.py runs/compare [--task trace-conditioning]

For each task of OUT/results.csv (or only --task): OUT/compare-<task>.png, the mean final score of
each configuration with its 95% BCa bootstrap interval (rtu_edge.report.summarize, as the sweep's
report gives them) against flops_per_step on a log axis, one marker and colour per architecture
(RTU linear, RTU nonlinear, LRU, GRU at each window T), the configurations without a recurrent cell
(zero, lookup, memoryless: no FLOPs) as horizontal lines; and OUT/compare-<task>.md, a table of
config, FLOPs per step, mean [95% CI], the median seconds per run and the median time per step
(seconds / steps) over its finished runs.
"""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path

import numpy as np

from _args import sweep_results
from rtu_edge.report import _with_ci, summarize
from rtu_edge.sweep import RESULTS, ResultsTable
from rtu_edge.tasks.suite import task_info

MARKERS = "osD^v<>ph*"


def architecture(row: dict) -> str:
    """The architecture of a results.csv row: "RTU linear", "LRU", "GRU T=8", or the agent."""
    if row["agent"] == "gru":
        return f"GRU T={row['bptt_window']}"
    if row["agent"] == "rtu":
        return "LRU" if row["kind"] == "lru" else f"RTU {row['kind']}"
    return row["agent"]


def flops(runs: list, label: str):
    """The configuration's FLOPs per step (None without a recurrent cell); ValueError if its runs
    disagree."""
    values = {r["flops_per_step"] for r in runs}
    if len(values) != 1:
        raise ValueError(f"{label}: its runs record different flops_per_step {sorted(values)}")
    value = values.pop()
    return int(value) if value else None


def tables(out: Path, task=None) -> dict:
    """Per task, a list of dicts (label, architecture, flops, summary, seconds, step_seconds) in the
    sweep's order; ValueError naming --task if the table has no such task."""
    rows = ResultsTable.read(out / RESULTS)
    summaries = [s for s in summarize(out) if task is None or s.task == task]
    if not summaries:
        raise ValueError(f"--task: {out / RESULTS} has no run of {task!r}" if task is not None
                         else f"{out / RESULTS} has no run yet")
    result = {}
    for s in summaries:
        runs = [r for r in rows if r["label"] == s.label]
        ok = [r for r in runs if r["status"] == "ok"]
        seconds = [float(r["seconds"]) for r in ok]
        result.setdefault(s.task, []).append(dict(
            label=s.label, architecture=architecture(runs[0]), flops=flops(runs, s.label),
            summary=s, seconds=float(np.median(seconds)) if ok else math.nan,
            step_seconds=float(np.median([t / int(r["steps"]) for t, r in zip(seconds, ok)]))
            if ok else math.nan))
    return result


def _step_time(seconds: float) -> str:
    """Three significant digits, in us below a millisecond and in ms from there."""
    us = f"{1e6 * seconds:.3g}"
    return f"{us} us" if float(us) < 1000 else f"{1e3 * seconds:.3g} ms"


def markdown(task: str, entries: list) -> str:
    lines = [f"{task}: {task_info(task).describe()}", "",
             "| config | FLOPs per step | mean [95% CI] | seconds per run (median) | "
             "time per step (median) |", "|---|---:|---|---:|---:|"]
    for e in entries:
        lines.append(f"| {e['label']} | {'n/a' if e['flops'] is None else e['flops']} | "
                     f"{_with_ci(e['summary'].mean, e['summary'].mean_ci)} | "
                     f"{e['seconds']:.3g} | {_step_time(e['step_seconds'])} |")
    lines += ["", "Mean over the finished runs, 95% BCa bootstrap interval (rtu_edge/report.py); "
              "FLOPs per step of the learner's recurrent cell (rtu_edge/flops.py)."]
    return "\n".join(lines) + "\n"


def plot(path: Path, task: str, entries: list) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    kinds = list(dict.fromkeys(e["architecture"] for e in entries if e["flops"] is not None))
    colours = plt.get_cmap("tab10")
    for i, kind in enumerate(kinds):
        points = sorted((e for e in entries if e["architecture"] == kind),
                        key=lambda e: e["flops"])
        x = np.array([e["flops"] for e in points], dtype=float)
        y = np.array([e["summary"].mean for e in points])
        ci = np.array([e["summary"].mean_ci for e in points], dtype=float).reshape(-1, 2)
        err = np.nan_to_num(np.abs(ci.T - y))  # no interval (one run): no bar
        ax.errorbar(x, y, yerr=err, marker=MARKERS[i % len(MARKERS)], color=colours(i % 10),
                    capsize=3, lw=1, label=kind)
    for j, e in enumerate(e for e in entries if e["flops"] is None):
        ax.axhline(e["summary"].mean, color="grey", lw=0.8, ls=("--", ":", "-.")[j % 3],
                   label=e["label"])
    info = task_info(task)
    ax.set_xscale("log")
    ax.set_xlabel("FLOPs per step")
    better = "higher" if info.higher_is_better else "lower"
    ax.set_ylabel(f"{info.score} (final score, mean and 95% CI; {better} is better)")
    ax.set_title(f"{task}: {info.score} against compute")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the sweep's --out directory")
    parser.add_argument("--task", help="only this task (default: every task of the table)")
    args = parser.parse_args(argv)
    sweep_results(parser, args.out)  # a table there, and whole
    try:
        per_task = tables(args.out, args.task)
    except ValueError as e:
        parser.error(str(e))
    for task, entries in per_task.items():
        stem = "compare-" + re.sub(r"[^A-Za-z0-9._-]", "-", task)
        table, png = args.out / f"{stem}.md", args.out / f"{stem}.png"
        text = markdown(task, entries)
        table.write_text(text)
        plot(png, task, entries)
        print(text)
        print(f"wrote {table}, {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
