"""`rtu-edge sweep --report`: the summary of a sweep's results table, per configuration.

For each configuration (label) of ``OUT/results.csv`` (rtu_edge/sweep.py):

- runs and failed runs (status error: divergence, a refused value...);
- the mean final score with a 95% BCa bootstrap confidence interval, and the median with a 95%
  percentile bootstrap interval (scipy.stats.bootstrap, 10000 resamples, seeded: the same table
  gives the same report). BCa corrects the percentile interval of the mean for bias and skew; for
  the median its jackknife acceleration is unreliable, hence the plain percentile interval there.
  Over a handful of seeds either interval is too narrow rather than too wide; with fewer than two
  finished runs there is none;
- the fraction of runs that reach the task's threshold and the fraction that collapse
  (rtu_edge/tasks/suite.py defines both per task); both count over all runs, so a failed run
  counts as neither.

With ``versus`` (``--versus LABEL``): for every other configuration on the same task, the paired
difference of final scores (configuration - LABEL) over the seeds both finished, its mean with a
95% BCa bootstrap interval, and the verdict: better or worse where the interval excludes 0 (in
the task's direction: for an error, lower is better), else inconclusive; with no configuration to
pair, the report says so.

Scores are over finished runs only. The table is printed and written to ``OUT/report.md``; the
learning curves, one PNG per task in ``OUT/plots/``, show per configuration the mean over its
finished runs of the running score (suite.TaskInfo.curve) with a 95% percentile bootstrap band.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ._extras import require
from .sweep import RESULTS, SWEEP_RECORD, ResultsTable, read_metrics, run_dir
from .tasks.suite import task_info

CONFIDENCE = 0.95
RESAMPLES = 10000
BAND_RESAMPLES = 2000
BAND_POINTS = 200
SEED = 0


def bootstrap_ci(values, statistic, method: str, resamples: int = RESAMPLES, axis: int = 0):
    """The 95% bootstrap interval (low, high) of statistic over values along axis (seeded);
    (NaN, NaN) with fewer than two values. Identical values give (value, value)."""
    values = np.asarray(values, dtype=float)
    if values.shape[axis] < 2:
        nan = np.full(np.delete(values.shape, axis), np.nan)
        return (float(nan), float(nan)) if nan.ndim == 0 else (nan, nan)
    flat = np.ptp(values, axis=axis) == 0
    if np.all(flat):
        point = statistic(values, axis=axis)
        return (float(point), float(point)) if np.ndim(point) == 0 else (point, point)
    stats = require("scipy.stats", "the sweep report")
    rng = np.random.default_rng(SEED)
    import inspect  # scipy 1.15 renamed random_state to rng
    seeded = {"rng": rng} if "rng" in inspect.signature(stats.bootstrap).parameters else \
        {"random_state": rng}
    result = stats.bootstrap((values,), statistic, axis=axis, confidence_level=CONFIDENCE,
                             n_resamples=resamples, method=method, vectorized=True, **seeded)
    low, high = result.confidence_interval
    if np.ndim(low) == 0:
        return float(low), float(high)
    point = statistic(values, axis=axis)  # where every seed agrees there is no spread
    return np.where(flat, point, low), np.where(flat, point, high)


@dataclass
class Summary:
    label: str
    task: str
    runs: int
    failed: int
    mean: float
    mean_ci: tuple
    median: float
    median_ci: tuple
    reached: Optional[int]  # None: the task has no threshold
    collapsed: int


def _labels(out: Path, rows: list) -> list:
    """Labels in the sweep file's order (sweep.json), then any others in the table's."""
    record = out / SWEEP_RECORD
    order = list(json.loads(record.read_text())) if record.exists() else []
    seen = {r["label"] for r in rows}
    return [l for l in order if l in seen] + \
        list(dict.fromkeys(r["label"] for r in rows if r["label"] not in order))


def summarize(out) -> list:
    """A Summary per configuration of OUT/results.csv; ValueError if there is no table."""
    out = Path(out)
    if not (out / RESULTS).exists():
        raise ValueError(f"--out: {out} has no {RESULTS} (run a sweep into it first)")
    rows = ResultsTable.read(out / RESULTS)
    summaries = []
    for label in _labels(out, rows):
        runs = [r for r in rows if r["label"] == label]
        ok = np.array([float(r["final_score"]) for r in runs if r["status"] == "ok"])
        has_threshold = task_info(runs[0]["task"]).threshold is not None
        summaries.append(Summary(
            label, runs[0]["task"], len(runs), sum(r["status"] != "ok" for r in runs),
            float(np.mean(ok)) if len(ok) else math.nan, bootstrap_ci(ok, np.mean, "BCa"),
            float(np.median(ok)) if len(ok) else math.nan,
            bootstrap_ci(ok, np.median, "percentile"),
            sum(r["reached"] == "true" for r in runs) if has_threshold else None,
            sum(r["collapsed"] == "true" for r in runs)))
    return summaries


@dataclass
class Paired:
    label: str
    versus: str
    task: str
    seeds: int
    mean: float
    ci: tuple
    verdict: str  # "better", "worse" or "inconclusive" than versus


def paired(out, versus: str) -> list:
    """The paired differences of every configuration against versus (see the module doc);
    ValueError naming versus if the table has no such configuration."""
    out = Path(out)
    rows = ResultsTable.read(out / RESULTS)
    base = {r["seed"]: float(r["final_score"]) for r in rows
            if r["label"] == versus and r["status"] == "ok"}
    tasks = {r["task"] for r in rows if r["label"] == versus}
    if not tasks:
        raise ValueError(f"--versus: {out / RESULTS} has no configuration {versus!r}")
    if not base:
        raise ValueError(f"--versus: {versus!r} has no finished run in {out / RESULTS}")
    result = []
    for label in _labels(out, rows):
        runs = {r["seed"]: float(r["final_score"]) for r in rows
                if r["label"] == label and r["status"] == "ok" and r["task"] in tasks}
        seeds = sorted(set(runs) & set(base))
        if label == versus or not seeds:
            continue
        task = next(r["task"] for r in rows if r["label"] == label)
        diff = np.array([runs[k] - base[k] for k in seeds])
        low, high = bootstrap_ci(diff, np.mean, "BCa")
        sign = 1 if task_info(task).higher_is_better else -1
        verdict = "inconclusive"
        if not math.isnan(low) and sign * low > 0 and sign * high > 0:
            verdict = "better"
        elif not math.isnan(low) and sign * low < 0 and sign * high < 0:
            verdict = "worse"
        result.append(Paired(label, versus, task, len(seeds), float(np.mean(diff)), (low, high),
                             verdict))
    return result


def _number(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.4g}"


def _with_ci(point: float, ci: tuple) -> str:
    if math.isnan(point):
        return "n/a"
    if math.isnan(ci[0]):
        return f"{_number(point)} (no CI)"
    return f"{_number(point)} [{_number(ci[0])}, {_number(ci[1])}]"


def markdown(out, summaries: list, comparisons: Optional[list] = None,
             versus: Optional[str] = None) -> str:
    """The report as markdown: a line per task saying how it is scored, the table, the paired
    comparisons against versus (or that there is none to make), the errors."""
    out = Path(out)
    lines = []
    for task in dict.fromkeys(s.task for s in summaries):
        lines.append(f"- {task}: {task_info(task).describe()}")
    lines += ["", "| config | task | runs | failed | mean [95% CI] | median [95% CI] | reached "
              "threshold | collapsed |", "|---|---|---:|---:|---|---|---:|---:|"]
    for s in summaries:
        reached = "n/a" if s.reached is None else f"{s.reached}/{s.runs}"
        lines.append(f"| {s.label} | {s.task} | {s.runs} | {s.failed} | "
                     f"{_with_ci(s.mean, s.mean_ci)} | {_with_ci(s.median, s.median_ci)} | "
                     f"{reached} | {s.collapsed}/{s.runs} |")
    if comparisons:
        versus = comparisons[0].versus
        lines += ["", f"Paired against {versus} (final score of the config minus {versus}'s on "
                  "the same seed):", "",
                  "| config | task | seeds | mean difference [95% CI] | verdict |",
                  "|---|---|---:|---|---|"]
        lines += [f"| {c.label} | {c.task} | {c.seeds} | {_with_ci(c.mean, c.ci)} | "
                  + (f"{c.verdict} than {versus}" if c.verdict != "inconclusive"
                     else "inconclusive (the interval holds 0)") + " |" for c in comparisons]
    elif versus is not None:
        tasks = " or ".join(dict.fromkeys(s.task for s in summaries if s.label == versus))
        lines += ["", f"Paired against {versus}: nothing to compare (no other configuration on "
                      f"{tasks} has a finished run on a seed {versus} finished)."]
    failed = [r for r in ResultsTable.read(out / RESULTS) if r["status"] != "ok"]
    if failed:
        lines += ["", "Failed runs:"]
        lines += [f"- {r['label']} seed {r['seed']}: {r['error'][:300]}" for r in failed]
    lines += ["", "Mean: 95% BCa bootstrap interval; median: 95% percentile bootstrap interval "
              f"({RESAMPLES} resamples, seed {SEED}); both over the finished runs. Reached and "
              "collapsed count over all runs (rtu_edge/tasks/suite.py)."]
    return "\n".join(lines) + "\n"


def _curves(out: Path, label: str, info, steps: int):
    """The running scores of a configuration's finished runs on a common grid of steps:
    (grid, array [runs, points]); each run's value at a step is its last one at or before it."""
    runs = [r for r in ResultsTable.read(out / RESULTS)
            if r["label"] == label and r["status"] == "ok"]
    curves = []
    for r in runs:
        path = run_dir(out, label, int(r["seed"])) / "metrics.csv"
        if path.exists():
            curves.append(info.curve(read_metrics(path)))
    curves = [c for c in curves if len(c[0])]
    if not curves:
        return None, None
    grid = np.linspace(max(c[0][0] for c in curves), steps, BAND_POINTS)
    values = np.array([y[np.searchsorted(x, grid, side="right") - 1] for x, y in curves])
    return grid, values


def plot(out) -> list:
    """A PNG of learning curves per task in OUT/plots/; returns their paths."""
    require("matplotlib", "the sweep report")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    out = Path(out)
    rows = ResultsTable.read(out / RESULTS)
    written = []
    for task in dict.fromkeys(r["task"] for r in rows):
        info = task_info(task)
        fig, ax = plt.subplots(figsize=(7, 4))
        drawn = False
        for label in _labels(out, [r for r in rows if r["task"] == task]):
            steps = max(int(r["steps"]) for r in rows if r["label"] == label)
            grid, values = _curves(out, label, info, steps)
            if grid is None:
                continue
            mean = values.mean(axis=0)
            line, = ax.plot(grid, mean, lw=1.5, label=f"{label} ({len(values)} runs)")
            low, high = bootstrap_ci(values, np.mean, "percentile", BAND_RESAMPLES)
            if len(values) >= 2:
                ax.fill_between(grid, low, high, color=line.get_color(), alpha=0.2, lw=0)
            drawn = True
        if not drawn:
            plt.close(fig)
            continue
        if info.threshold is not None and info.baseline is None:
            ax.axhline(info.threshold, color="grey", ls="--", lw=0.8, label="threshold")
        window = "logged window" if info.kind == "prediction" else \
            f"mean of {info.final_window} episodes"
        ax.set_xlabel("step")
        ax.set_ylabel(f"{info.score} ({window})")
        ax.set_title(f"{task}: mean over runs, 95% bootstrap band")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        (out / "plots").mkdir(exist_ok=True)
        path = out / "plots" / (re.sub(r"[^A-Za-z0-9._-]", "-", task) + ".png")
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


def report(out, versus: Optional[str] = None) -> tuple:
    """Write OUT/report.md and OUT/plots/*.png; returns (markdown text, plot paths). versus: a
    configuration to compare every other one with, seed by seed."""
    out = Path(out)
    summaries = summarize(out)
    text = markdown(out, summaries, paired(out, versus) if versus else None, versus)
    (out / "report.md").write_text(text)
    return text, plot(out)
