"""The README's CartPole loop, timed: `ActorCritic.act` + `learn` from Python with the gymnasium
environment, against the C learner's own time per transition (benchmarks/bench_loop.c, the same
learner in C on the C CartPole-P plant, only rtu_ac_act + rtu_ac_learn timed) plus the
environment's own time per step (`env.step` alone, with random actions).

Target (issue "one source for each fact", point 3): the Python loop spends at most
2 x (C learner + environment) per step. The three are measured in alternating rounds in one run
and the medians compared, so that a shared machine's drift hits them alike.

    python benchmarks/bench_loop.py                 # the default network, float32 (the demo's)
    python benchmarks/bench_loop.py --steps 20000 --rounds 7 --json out.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cprogram import ROOT, build, cpu_model  # noqa: E402
from _args import output_file, positive_int  # noqa: E402

from rtu_edge import ACNetwork, ActorCritic, c_build  # noqa: E402
from rtu_edge.tasks import make_env  # noqa: E402
from rtu_edge.train import RunConfig  # noqa: E402

TARGET_RATIO = 2.0


def python_loop(n_hidden: int, kind: str, steps: int, seed: int) -> float:
    """us per transition of the README's loop: act, env.step, learn, in Python."""
    env, spec = make_env("cartpole-p", seed)
    ac = ActorCritic(spec.obs_size, n_hidden, spec.n_actions, kind=kind, seed=seed,
                     dtype=np.float32)
    obs, _ = env.reset(seed=seed)
    start = time.perf_counter()
    for _ in range(steps):
        action = ac.act(obs)
        obs, reward, terminated, truncated, _ = env.step(action)
        ac.learn(reward, obs, terminated, truncated)
        if terminated or truncated:
            obs, _ = env.reset()
    return 1e6 * (time.perf_counter() - start) / steps


def env_alone(steps: int, seed: int) -> float:
    """us per env.step (random actions, resets included)."""
    env, spec = make_env("cartpole-p", seed)
    rng = np.random.default_rng(seed)
    actions = rng.integers(0, spec.n_actions, size=steps)
    env.reset(seed=seed)
    start = time.perf_counter()
    for a in actions:
        _, _, terminated, truncated, _ = env.step(int(a))
        if terminated or truncated:
            env.reset()
    return 1e6 * (time.perf_counter() - start) / steps


def c_learner(binary: Path, n_hidden: int, kind: str, steps: int, seed: int) -> float:
    """us per rtu_ac_act + rtu_ac_learn on the C plant, the network ActorCritic's default."""
    net = ACNetwork()
    out = subprocess.run([str(binary), str(n_hidden), str(int(kind == "nonlinear")),
                          str(net.n_embed), str(net.n_head), str(steps), str(seed)],
                         capture_output=True, text=True, check=True).stdout
    return float(out.split()[1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    defaults = RunConfig(task="cartpole-p", steps=1)  # rtu-edge train's and the demo's
    parser.add_argument("--hidden", type=positive_int, default=defaults.hidden)
    parser.add_argument("--kind", choices=("linear", "nonlinear"), default=defaults.kind)
    parser.add_argument("--steps", type=positive_int, default=20000,
                        help="transitions per measurement")
    parser.add_argument("--rounds", type=positive_int, default=5,
                        help="alternating rounds (median)")
    parser.add_argument("--json", metavar="PATH", type=output_file,
                        help="also write the figures as JSON")
    args = parser.parse_args(argv)
    c_src = ROOT / "c_src"
    sources = sorted(c_src.glob("*.c")) + [ROOT / "firmware_examples/common/cartpole_p.c"]
    binary, _ = build(Path(__file__).with_name("bench_loop.c"), sources, "bench_loop")
    rows = {"python_loop": [], "c_learner": [], "env": []}
    for r in range(args.rounds):
        rows["c_learner"].append(c_learner(binary, args.hidden, args.kind, args.steps, r))
        rows["env"].append(env_alone(args.steps, r))
        rows["python_loop"].append(python_loop(args.hidden, args.kind, args.steps, r))
    med = {k: float(np.median(v)) for k, v in rows.items()}
    budget = TARGET_RATIO * (med["c_learner"] + med["env"])
    ratio = med["python_loop"] / (med["c_learner"] + med["env"])
    print(f"CartPole-P loop, ActorCritic {args.kind} RTU, {args.hidden} units, float32; "
          f"{args.steps} transitions x {args.rounds} rounds (medians, us per transition); "
          f"the extension's C core: {c_build()} build; CPU: {cpu_model()}")
    print(f"  C learner alone (rtu_ac_act + rtu_ac_learn): {med['c_learner']:8.2f}")
    print(f"  environment alone (env.step):                {med['env']:8.2f}")
    print(f"  Python loop (act + env.step + learn):        {med['python_loop']:8.2f}")
    print(f"  loop / (C learner + env) = {ratio:.2f} (target <= {TARGET_RATIO:g}: "
          f"{'met' if ratio <= TARGET_RATIO else 'NOT met'}; budget {budget:.2f} us)")
    if args.json:
        Path(args.json).write_text(json.dumps({"median_us": med, "rounds": rows, "ratio": ratio,
                                               "target": TARGET_RATIO, **vars(args),
                                               "json": str(args.json)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
