#!/usr/bin/env python3
"""Learning benchmark: what the RTU learners reach over several seeds, each beside a memoryless
baseline (the same learner on the raw observation, without recurrence).

Sections (``--only`` picks one):

* ``trace``    Trace conditioning, ISI 10 (rtu-spec.md section 4): MSRE of TDLambda (C core,
               float32, relu; nonlinear n_hidden 8 and linear n_hidden 16; ObGD alpha 1, kappa 2,
               lambda 0.9, gamma = task.gamma) over the last 50k of 100k steps (``msre``'s
               conventions: the last ceil(10/(1-gamma)) steps of that window are left out),
               against ``MemorylessTD`` with the same configuration and against predicting 0.
               Seed s is both the task seed and the learner seed.
* ``cartpole`` CartPole with velocities hidden ("cartpole-p"): ActorCritic (C core, float32,
               n_hidden 32, tanh, stream-x defaults), nonlinear and linear, and the linear one
               with the sweep's settings (TUNED), 500k steps, seeds 10-19 (the sweep chose TUNED
               on seeds 0-9); the mean return of the last 20 episodes per seed and how many
               seeds reach >= 400.
               Baselines (rtu_edge.baselines): ``MemorylessAC`` (numpy; same learner, linear
               heads on the normalised observation clipped to [-1, 1]) with the same ObGD defaults, the same with plain SGD (alpha 0.01) as
               a check that the memoryless result is not an artefact of ObGD's step size, and a
               uniformly random policy (``RandomPolicy``). The numpy baselines run fewer steps (see the output).
* ``popgym``   "popgym:RepeatPreviousEasy": the same learners over 200k steps; the mean return of
               the last 100 episodes.
* ``timing``   Time per step of the learner (C core, float32, n_hidden 64) next to the environment's
               own step, measured in the same loop: TDLambda.step vs TraceConditioning.step, and
               ActorCritic.act + learn vs env.step on cartpole-p. Measured in the main process
               before the learning runs start (the machine may still be shared).

Runs are spread over at most 2 worker processes. Markdown goes to stdout, progress to stderr.

Usage:
    python benchmarks/learning.py                         # full run (about 6-10 minutes, 2 cores)
    python benchmarks/learning.py --quick                 # smoke test: tiny budgets, < 30 s
    python benchmarks/learning.py --only cartpole --json benchmarks/bin/learning.json
"""

from __future__ import annotations

import os
import time

_T0 = time.perf_counter()  # the wall time reported counts the imports too

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # small arrays: one thread per process

import argparse  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from typing import Any, Dict, List, Optional  # noqa: E402

import numpy as np  # noqa: E402

from rtu_edge import ActorCritic, TDLambda  # noqa: E402
from rtu_edge.baselines import (ACConfig, MemorylessAC, MemorylessTD, RandomPolicy,  # noqa: E402
                                TDConfig, ZeroPredictor)
from rtu_edge.tasks import TraceConditioning, msre, rollout  # noqa: E402

SECTIONS = ("trace", "cartpole", "popgym", "timing")
ISI = 10
TD_LAMBDA, TD_ALPHA, TD_KAPPA = 0.9, 1.0, 2.0
TD_LEARNERS = {  # label -> (kind, n_hidden)
    "RTU nonlinear n8": ("nonlinear", 8),
    "RTU linear n16": ("linear", 16),
}
AC_N_HIDDEN = 32
SGD_ALPHA = 0.01
AC_LEARNERS = ("RTU nonlinear", "RTU linear", "RTU linear tuned", "memoryless", "memoryless SGD")
#: "RTU linear tuned": the best of benchmarks/sweep_cartpole.py's CartPole-P sweep on seeds 0-9
#: (a stronger entropy term and a looser ObGD bound on the actor); everything else is stream-x's
TUNED = {"entropy_coef": 0.05, "kappa_policy": 5.0}
CARTPOLE, POPGYM = "cartpole-p", "popgym:RepeatPreviousEasy"
CARTPOLE_TARGET, CARTPOLE_LAST, POPGYM_LAST = 400.0, 20, 100
RANDOM_EPISODES = 100
TIMING_N_HIDDEN = 64


@dataclass(frozen=True)
class Budget:
    trace_seeds: int
    trace_steps: int
    trace_window: int  # MSRE over the last this many steps
    cartpole_seeds: int
    cartpole_first_seed: int  # seeds the sweep that chose TUNED did not see
    cartpole_steps: int
    cartpole_baseline_steps: int  # the numpy baselines (about 100 us per step)
    popgym_seeds: int
    popgym_steps: int
    popgym_baseline_steps: int
    timing_steps: int


FULL = Budget(trace_seeds=5, trace_steps=100_000, trace_window=50_000,
              cartpole_seeds=10, cartpole_first_seed=10, cartpole_steps=500_000,
              cartpole_baseline_steps=250_000,
              popgym_seeds=3, popgym_steps=200_000, popgym_baseline_steps=200_000,
              timing_steps=20_000)
QUICK = Budget(trace_seeds=2, trace_steps=3_000, trace_window=1_500,
               cartpole_seeds=1, cartpole_first_seed=10, cartpole_steps=2_000,
               cartpole_baseline_steps=1_000,
               popgym_seeds=1, popgym_steps=2_000, popgym_baseline_steps=1_000,
               timing_steps=500)


# -- runs (top-level functions: they go to worker processes) ------------------------------------

def trace_run(seed: int, budget: Budget) -> Dict[str, Any]:
    """One seed of trace conditioning: every TD learner and the baselines on the same stream."""
    t0 = time.perf_counter()
    task = TraceConditioning(isi=ISI, seed=seed)
    gamma = task.gamma
    X, C = rollout(task, budget.trace_steps)
    window = slice(budget.trace_steps - budget.trace_window, None)
    out: Dict[str, Any] = {"seed": seed, "gamma": gamma, "msre": {}, "seconds": {}}

    def record(label, fn):
        s = time.perf_counter()
        try:
            pred = fn()
            out["msre"][label] = msre(pred[window], C[window], gamma)
        except FloatingPointError as err:  # a diverged learner is a result, not a crash
            out["msre"][label] = float("nan")
            out.setdefault("errors", {})[label] = str(err)
        out["seconds"][label] = time.perf_counter() - s

    for label, (kind, n_hidden) in TD_LEARNERS.items():
        record(label, lambda: TDLambda(
            task.obs_size, n_hidden, kind=kind, activation="relu", seed=seed, backend="c",
            dtype=np.float32, gamma=gamma, lambda_=TD_LAMBDA, alpha=TD_ALPHA, kappa=TD_KAPPA,
            optimizer="obgd").run(X, C))
    config = TDConfig(gamma, TD_LAMBDA, TD_ALPHA, TD_KAPPA, "obgd")
    record("memoryless", lambda: MemorylessTD(task.obs_size, config).run(X, C))
    record("zero", lambda: ZeroPredictor().run(X, C))
    out["total_seconds"] = time.perf_counter() - t0
    return out


def make_ac(label: str, spec, seed: int, n_hidden: int = AC_N_HIDDEN):
    if label == "memoryless":
        return MemorylessAC(spec.obs_size, spec.n_actions, ACConfig(), seed)
    if label == "memoryless SGD":
        return MemorylessAC(spec.obs_size, spec.n_actions,
                            ACConfig(optimizer="sgd", alpha=SGD_ALPHA), seed)
    kind = label.split()[1]
    return ActorCritic(spec.obs_size, n_hidden, spec.n_actions, kind=kind, activation="tanh",
                       seed=seed, backend="c", dtype=np.float32,
                       **(TUNED if label.endswith("tuned") else {}))


def ac_run(task: str, label: str, seed: int, steps: int) -> Dict[str, Any]:
    """``steps`` transitions of ``task`` (whole episodes), driven as ``rtu-edge train`` drives
    them: rtu_edge.train.run_episodes, episode i reset with seed (seed, i); learner seed = seed."""
    from rtu_edge.tasks import make_env
    from rtu_edge.train import run_episodes
    env, spec = make_env(task, seed)
    learner = make_ac(label, spec, seed)
    returns: List[float] = []
    error = None
    t0 = time.perf_counter()
    try:
        run_episodes(learner, env, spec, seed, steps,
                     lambda episode, ret, length: returns.append(ret))
    except FloatingPointError as err:
        error = f"diverged at step {learner.steps}: {err}"
    seconds = time.perf_counter() - t0
    env.close()
    done = learner.steps
    return {"task": task, "learner": label, "seed": seed, "steps": steps, "returns": returns,
            "seconds": seconds, "us_per_step": 1e6 * seconds / max(done, 1), "error": error}


def random_run(task: str, seed: int, episodes: int) -> Dict[str, Any]:
    """A uniformly random policy (rtu_edge.baselines.RandomPolicy, seed s) for ``episodes``
    episodes."""
    from rtu_edge.tasks import make_env
    env, spec = make_env(task, seed)
    policy = RandomPolicy(spec.n_actions, seed=seed) if spec.discrete else \
        RandomPolicy(low=spec.low, high=spec.high, seed=seed)
    returns = []
    for _ in range(episodes):
        obs, _ = env.reset()
        ret, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(policy.act(obs))
            ret += float(reward)
            done = terminated or truncated
        returns.append(ret)
    env.close()
    return {"task": task, "learner": "random", "seed": seed, "returns": returns}


def run_job(job):
    fn, args = job
    return fn(*args)


# -- timing ------------------------------------------------------------------------------------

def timing(steps: int) -> Dict[str, Any]:
    """Learner vs environment time per step, both measured inside the same loop."""
    from rtu_edge.tasks import make_env
    clock = time.perf_counter
    rows = []
    warm = max(steps // 10, 100)
    for kind in ("linear", "nonlinear"):
        task = TraceConditioning(isi=ISI, seed=0)
        td = TDLambda(task.obs_size, TIMING_N_HIDDEN, kind=kind, activation="relu", seed=0,
                      backend="c", dtype=np.float32, gamma=task.gamma, lambda_=TD_LAMBDA,
                      alpha=TD_ALPHA, kappa=TD_KAPPA)
        x = task.reset()
        td.step(x, 0.0)
        env_t = learn_t = 0.0
        xs, cs = [], []
        for i in range(warm + steps):
            a = clock()
            x, c = task.step()
            b = clock()
            td.step(x, c)
            e = clock()
            if i >= warm:
                env_t += b - a
                learn_t += e - b
                xs.append(x)
                cs.append(c)
        X, C = np.array(xs), np.array(cs)
        a = clock()
        td.run(X, C)
        run_t = clock() - a
        rows.append({"task": f"trace conditioning (TD), {kind}", "env_us": 1e6 * env_t / steps,
                     "learner_us": 1e6 * learn_t / steps, "learner_run_us": 1e6 * run_t / steps,
                     "env_call": "task.step()", "learner_call": "TDLambda.step(x, c)"})
    for label in ("RTU linear", "RTU nonlinear", "memoryless"):
        env, spec = make_env(CARTPOLE, 0)
        ac = make_ac(label, spec, 0, TIMING_N_HIDDEN)
        obs, _ = env.reset()
        env_t = learn_t = 0.0
        for i in range(warm + steps):
            a = clock()
            action = int(np.asarray(ac.act(obs)).ravel()[0])
            b = clock()
            next_obs, reward, terminated, truncated, _ = env.step(action)
            done = terminated or truncated
            if done:
                next_reset, _ = env.reset()
            e = clock()
            ac.learn(float(reward), next_obs, bool(terminated), bool(truncated))
            f = clock()
            obs = next_reset if done else next_obs
            if i >= warm:
                env_t += e - b
                learn_t += (b - a) + (f - e)
        env.close()
        name = label.replace("RTU ", "") if label.startswith("RTU") else "memoryless (numpy)"
        rows.append({"task": f"cartpole-p (AC), {name}", "env_us": 1e6 * env_t / steps,
                     "learner_us": 1e6 * learn_t / steps, "learner_run_us": None,
                     "env_call": "env.step (+ reset)", "learner_call": "act + learn"})
    for row in rows:
        row["ratio"] = row["learner_us"] / row["env_us"]
    return {"steps": steps, "n_hidden": TIMING_N_HIDDEN, "rows": rows}


# -- summaries and markdown --------------------------------------------------------------------

def mean_last(returns: List[float], k: int) -> float:
    return float(np.mean(returns[-k:])) if returns else float("nan")


def fmt(v: Optional[float], spec: str = ".3f") -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "n/a"
    return format(v, spec)


def trace_report(results: List[Dict[str, Any]], budget: Budget) -> List[str]:
    labels = list(TD_LEARNERS) + ["memoryless", "zero"]
    results = sorted(results, key=lambda r: r["seed"])
    lines = [f"## 1. Trace conditioning (ISI {ISI}): MSRE, lower is better", "",
             f"TD(lambda) with ObGD (alpha {TD_ALPHA}, kappa {TD_KAPPA}), lambda {TD_LAMBDA}, "
             f"gamma {results[0]['gamma']:.2f}; {budget.trace_steps:,} steps, MSRE over the last "
             f"{budget.trace_window:,}. RTU: C core, float32, relu. memoryless: MemorylessTD "
             "(same learner, v = w . x + b). zero: predicting 0. Seed s = task seed = learner "
             "seed.", "",
             "| seed | " + " | ".join(labels) + " |",
             "|---:|" + "---:|" * len(labels)]
    for r in results:
        lines.append(f"| {r['seed']} | " + " | ".join(fmt(r["msre"][k], ".4f") for k in labels)
                     + " |")
    means = {k: float(np.mean([r["msre"][k] for r in results])) for k in labels}
    lines.append("| **mean** | " + " | ".join(f"**{means[k]:.4f}**" for k in labels) + " |")
    lines.append("")
    for k in TD_LEARNERS:
        wins = sum(r["msre"][k] < r["msre"]["memoryless"] for r in results)
        lines.append(f"- {k}: mean MSRE {means[k] / means['memoryless']:.2f} x the memoryless "
                     f"baseline's, {means[k] / means['zero']:.2f} x predicting zero's; below the "
                     f"memoryless baseline on {wins}/{len(results)} seeds.")
    for r in results:
        for k, err in r.get("errors", {}).items():
            lines.append(f"- seed {r['seed']}, {k}: {err}")
    return lines


def ac_table(runs: List[Dict[str, Any]], randoms: List[Dict[str, Any]], last: int,
             target: Optional[float], value_fmt: str) -> (List[str], Dict[str, Any]):
    seeds = sorted({r["seed"] for r in runs})
    by = {(r["learner"], r["seed"]): r for r in runs}
    rnd = {r["seed"]: r for r in randoms}
    labels = [k for k in AC_LEARNERS if any((k, s) in by for s in seeds)]
    cols = labels + (["random"] if randoms else [])
    lines = ["| seed | " + " | ".join(cols) + " |", "|---:|" + "---:|" * len(cols)]
    summary: Dict[str, Any] = {}
    per = {k: [] for k in cols}
    for s in seeds:
        cells = []
        for k in labels:
            r = by.get((k, s))
            v = mean_last(r["returns"], last) if r else float("nan")
            per[k].append(v)
            note = f" (diverged, {len(r['returns'])} ep.)" if r and r["error"] else ""
            cells.append(fmt(v, value_fmt) + note)
        if randoms:
            v = float(np.mean(rnd[s]["returns"])) if s in rnd else float("nan")
            per["random"].append(v)
            cells.append(fmt(v, value_fmt))
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    lines.append("| **mean** | " + " | ".join(f"**{fmt(float(np.nanmean(per[k])), value_fmt)}**"
                                            for k in cols) + " |")
    if target is not None:
        lines.append(f"| seeds >= {target:g} | " + " | ".join(
            f"{sum(v >= target for v in per[k])}/{len(per[k])}" for k in cols) + " |")
    steps = {k: sorted({by[(k, s)]["steps"] for s in seeds if (k, s) in by}) for k in labels}
    eps = {k: [len(by[(k, s)]["returns"]) for s in seeds if (k, s) in by] for k in labels}
    us = {k: float(np.mean([by[(k, s)]["us_per_step"] for s in seeds if (k, s) in by]))
          for k in labels}
    lines += ["", "| learner | steps | episodes (min-max over seeds) | us per step (with env) |",
              "|---|---:|---:|---:|"]
    for k in labels:
        lines.append(f"| {k} | {', '.join(f'{n:,}' for n in steps[k])} | "
                     f"{min(eps[k]):,}-{max(eps[k]):,} | {us[k]:.1f} |")
    summary = {"per_seed": {k: dict(zip(seeds, per[k])) for k in cols},
               "mean": {k: float(np.nanmean(per[k])) for k in cols},
               "steps": steps, "episodes": eps, "us_per_step": us}
    if target is not None:
        summary["seeds_reaching_target"] = {k: int(sum(v >= target for v in per[k])) for k in cols}
    return lines, summary


def learner_notes() -> str:
    return (f"RTU: ActorCritic, C core, float32, n_hidden {AC_N_HIDDEN}, tanh, stream-x defaults "
            "(gamma 0.99, lambda 0.8, ObGD alpha 1, kappa 2 / 3, entropy 0.01, observation "
            "normalisation, reward scaling). memoryless: MemorylessAC (numpy), the same learner "
            "with linear heads on the normalised observation clipped to [-1, 1] and biases, no "
            "recurrence (rtu_edge.baselines). "
            f"memoryless SGD: the same with plain SGD, alpha {SGD_ALPHA}. random: a uniformly "
            f"random policy, mean return over {RANDOM_EPISODES} episodes. RTU linear tuned: "
            f"the linear RTU with {TUNED} (chosen by benchmarks/sweep_cartpole.py on seeds 0-9; "
            "CartPole here runs seeds 10 on, which the sweep did not see). Seed s = env seed "
            "= learner seed; episode i is reset with seed (s, i), as `rtu-edge train` does.")


def timing_report(t: Dict[str, Any]) -> List[str]:
    lines = [f"## 4. Time per step: learner (C core, float32, n_hidden {t['n_hidden']}) vs "
             "environment", "",
             f"Both timed inside the same loop over {t['steps']:,} steps (after a warm-up), with "
             "time.perf_counter around each call. ratio = learner / environment. `run` = "
             "TDLambda.run over the same stream (the loop in C, no per-step Python).", "",
             "| task, learner | env call | env us/step | learner call | learner us/step | ratio "
             "| learner `run` us/step |",
             "|---|---|---:|---|---:|---:|---:|"]
    for r in t["rows"]:
        lines.append(f"| {r['task']} | {r['env_call']} | {r['env_us']:.2f} | {r['learner_call']} "
                     f"| {r['learner_us']:.2f} | {r['ratio']:.2f} | "
                     f"{fmt(r['learner_run_us'], '.2f')} |")
    return lines


# -- main --------------------------------------------------------------------------------------

def progress(total: int):
    try:
        from tqdm import tqdm
        return tqdm(total=total, file=sys.stderr, unit="run", desc="learning runs")
    except ImportError:
        class Simple:
            n = 0

            def update(self, k=1):
                self.n += k
                print(f"  {self.n}/{total} runs done", file=sys.stderr, flush=True)

            def close(self):
                pass
        return Simple()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny budgets (a smoke test)")
    parser.add_argument("--only", choices=SECTIONS, help="run one section only")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (1 or 2)")
    args = parser.parse_args(argv)
    budget = QUICK if args.quick else FULL
    sections = (args.only,) if args.only else SECTIONS
    workers = max(1, min(2, args.workers))
    start = _T0

    results: Dict[str, Any] = {"budget": asdict(budget), "quick": args.quick,
                               "sections": list(sections), "python": platform.python_version(),
                               "machine": platform.machine(), "workers": workers}
    if "timing" in sections:  # first, alone, before the workers start
        print("timing learner vs environment ...", file=sys.stderr, flush=True)
        results["timing"] = timing(budget.timing_steps)

    jobs = []  # (estimated cost, (fn, args)): longest first, for load balance
    if "trace" in sections:
        jobs += [(budget.trace_steps * 20, (trace_run, (s, budget)))
                 for s in range(budget.trace_seeds)]
    for task, section, seeds, steps, base_steps in (
            (CARTPOLE, "cartpole", range(budget.cartpole_first_seed, budget.cartpole_first_seed +
                                         budget.cartpole_seeds), budget.cartpole_steps,
             budget.cartpole_baseline_steps),
            (POPGYM, "popgym", range(budget.popgym_seeds), budget.popgym_steps,
             budget.popgym_baseline_steps)):
        if section not in sections:
            continue
        for s in seeds:
            for label in AC_LEARNERS:
                n = base_steps if label.startswith("memoryless") else steps
                cost = n * (100 if label.startswith("memoryless") else 45)
                jobs.append((cost, (ac_run, (task, label, s, n))))
            jobs.append((2000, (random_run, (task, s, RANDOM_EPISODES))))
    jobs.sort(key=lambda j: -j[0])

    outputs = []
    if jobs:
        bar = progress(len(jobs))
        ctx = multiprocessing.get_context("spawn" if sys.platform == "win32" else "fork")
        with ctx.Pool(min(workers, len(jobs))) as pool:
            for out in pool.imap_unordered(run_job, [j[1] for j in jobs]):
                outputs.append(out)
                bar.update(1)
        bar.close()

    md = ["# rtu_edge learning benchmark" + (" (--quick: tiny budgets, numbers mean nothing)"
                                             if args.quick else ""), ""]
    if "trace" in sections:
        tr = [o for o in outputs if "msre" in o]
        md += trace_report(tr, budget) + [""]
        results["trace"] = {"runs": tr, "mean_msre": {
            k: float(np.mean([r["msre"][k] for r in tr])) for k in tr[0]["msre"]}}
    for task, section, number, title, last, target, vf in (
            (CARTPOLE, "cartpole", 2, "CartPole with velocities hidden (cartpole-p)",
             CARTPOLE_LAST, CARTPOLE_TARGET, ".1f"),
            (POPGYM, "popgym", 3, "POPGym RepeatPreviousEasy", POPGYM_LAST, None, ".3f")):
        if section not in sections:
            continue
        runs = [o for o in outputs if o.get("task") == task and o["learner"] != "random"]
        randoms = [o for o in outputs if o.get("task") == task and o["learner"] == "random"]
        steps = budget.cartpole_steps if section == "cartpole" else budget.popgym_steps
        base = (budget.cartpole_baseline_steps if section == "cartpole"
                else budget.popgym_baseline_steps)
        md += [f"## {number}. {title}: mean return of the last {last} episodes", "",
               f"{learner_notes()} RTU learners run {steps:,} steps"
               + (f"; the numpy memoryless baselines run {base:,} steps (about 100 us per step)."
                  if base != steps else "; the memoryless baselines the same.")
               + (f" Target: a mean return >= {target:g} over the last {last} episodes on most "
                  "seeds (500 is the maximum)." if target else
                  " The agent must name the suit of the card seen 4 steps before; episodes of 51 steps, "
                  "+1/48 per right answer, -1/48 per wrong one, so returns lie in [-1, 1] and "
                  "guessing gives about -0.5."), ""]
        lines, summary = ac_table(runs, randoms, last, target, vf)
        md += lines + [""]
        for r in runs:
            if r["error"]:
                md.append(f"- seed {r['seed']}, {r['learner']}: {r['error']}")
        results[section] = {"summary": summary, "runs": runs, "random": randoms}
    if "timing" in sections:
        md += timing_report(results["timing"]) + [""]

    wall = time.perf_counter() - start
    results["wall_seconds"] = wall
    md.append(f"Total wall time: {wall:.1f} s ({workers} worker processes).")
    print("\n".join(md))
    if args.json:
        path = os.path.abspath(args.json)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump(results, f, indent=1, default=float)
        print(f"JSON written to {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
