"""Batched learners: B actor-critic learners advanced by one C call each way (ActorCriticBatch)
against the same B learners as separate ActorCritic objects stepped from Python.

Both run the same learners (the same seeds, float32) on the same observations, rewards and episode
ends (drawn once; an episode is truncated every 500 steps, so rounds of the default 200 steps have
none), act then learn, in alternating rounds in one run; the medians are compared as per-learner
throughput (learner steps per second).

Target (issue "a core near the hardware limit", point 4): at B = 64 the batch's per-learner
throughput is at least 5x that of 64 separate Python learners. Batching removes Python's cost
per learner call; what it cannot remove is the C learner's own step. 5x needs the batch's step
at most separate / 5; and since the separate learners run the same C step (any speed-up of it
is theirs too), with P = separate - batch what batching removed, 5x needs the batch's step C at
most P / 4 ((P + C) / C >= 5). No step can be shorter than moving the state every step of
AC(lambda) reads and writes, each learner's parameters and eligibility traces:
benchmarks/bench_traffic.c times just that for the batch's learners (so the script needs a C
compiler), the floor of a step on this machine, which the report sets beside both.

    python benchmarks/bench_batch.py                 # rtu-edge train's network for CartPole-P
    python benchmarks/bench_batch.py --hidden 16 --head 0 --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _cprogram  # noqa: E402
from _cprogram import cpu_model  # noqa: E402
from _args import nonnegative_int, output_file, positive_int  # noqa: E402

from rtu_edge import ACNetwork, ActorCritic, ActorCriticBatch, c_build  # noqa: E402
from rtu_edge.train import RunConfig  # noqa: E402

TARGET_RATIO = 5.0
N_OBS, N_ACTIONS, EPISODE = 2, 2, 500  # CartPole-P's sizes


def inputs(count: int, steps: int, seed: int):
    rng = np.random.default_rng(seed)
    obs = rng.standard_normal((steps + 1, count, N_OBS)).astype(np.float32)
    rewards = np.ones((steps, count), dtype=np.float32)
    ends = np.zeros((steps, count), dtype=bool)
    ends[EPISODE - 1::EPISODE] = True
    return obs, rewards, ends


def separate(learners, obs, rewards, ends) -> float:
    """us per learner step: each learner's act and learn called from Python."""
    steps, never = len(rewards), False
    start = time.perf_counter()
    for t in range(steps):
        o, o2 = obs[t], obs[t + 1]
        for i, learner in enumerate(learners):
            learner.act(o[i])
            learner.learn(rewards[t, i], o2[i], never, bool(ends[t, i]))
    return 1e6 * (time.perf_counter() - start) / (steps * len(learners))


def batched(batch, obs, rewards, ends) -> float:
    """us per learner step: one act and one learn call for the whole batch."""
    steps, never = len(rewards), np.zeros(batch.count, dtype=bool)
    start = time.perf_counter()
    for t in range(steps):
        batch.act(obs[t])
        batch.learn(rewards[t], obs[t + 1], never, ends[t])
    return 1e6 * (time.perf_counter() - start) / (steps * batch.count)


def c_alone(learner, obs, rewards) -> float:
    """us per step of one learner's rtu_ac_act + rtu_ac_learn called straight through cffi (the
    cost batching cannot remove)."""
    impl = learner._impl
    lib, ac, obs_p, action_p = impl.lib, impl.ac, impl.obs_p, impl.action_p
    steps = len(rewards)
    start = time.perf_counter()
    for t in range(steps):
        impl.obs[:] = obs[t, 0]
        lib.rtu_ac_act(ac, obs_p, action_p)
        impl.obs[:] = obs[t + 1, 0]
        lib.rtu_ac_learn(ac, float(rewards[t, 0]), obs_p, 0, int((t + 1) % EPISODE == 0))
    return 1e6 * (time.perf_counter() - start) / steps


def traffic_floor(reals: int, count: int) -> float:
    """us per learner of benchmarks/bench_traffic.c (built with NATIVE_FLAGS): one read and
    write of reals floats of each of count learners."""
    return float(_cprogram.run_json([_cprogram.traffic_probe(), reals, count])["us_per_learner"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    defaults = RunConfig(task="cartpole-p", steps=1)  # rtu-edge train's network
    parser.add_argument("--count", type=positive_int, default=64, help="learners B")
    parser.add_argument("--hidden", type=positive_int, default=defaults.hidden)
    parser.add_argument("--head", type=nonnegative_int, default=ACNetwork().n_head, help="n_head")
    parser.add_argument("--kind", choices=("linear", "nonlinear"), default=defaults.kind)
    parser.add_argument("--steps", type=positive_int, default=200,
                        help="steps of every learner a round")
    parser.add_argument("--rounds", type=positive_int, default=5,
                        help="alternating rounds (median)")
    parser.add_argument("--json", metavar="PATH", type=output_file,
                        help="also write the figures as JSON")
    args = parser.parse_args(argv)
    B, seeds = args.count, range(args.count)
    kw = dict(kind=args.kind, dtype=np.float32, n_head=args.head)
    learners = [ActorCritic(N_OBS, args.hidden, N_ACTIONS, seed=s, **kw) for s in seeds]
    batch = ActorCriticBatch(N_OBS, args.hidden, N_ACTIONS, seeds=seeds, **kw)
    single = ActorCritic(N_OBS, args.hidden, N_ACTIONS, seed=0, **kw)
    rows = {"separate": [], "batch": [], "c_alone": []}
    for r in range(args.rounds):
        obs, rewards, ends = inputs(B, args.steps, r)
        rows["separate"].append(separate(learners, obs, rewards, ends))
        rows["batch"].append(batched(batch, obs, rewards, ends))
        single_obs, single_rewards, _ = inputs(1, 20 * args.steps, r)
        rows["c_alone"].append(c_alone(single, single_obs, single_rewards))
        for learner in learners:  # every learner starts the next round's observations afresh
            learner.begin_episode()
        for i in range(B):
            batch.begin_episode(i)
    med = {k: float(np.median(v)) for k, v in rows.items()}
    ratio = med["separate"] / med["batch"]
    bound = med["separate"] / med["c_alone"]
    # the state every step reads and writes: each parameter once (a shared trunk's too) and
    # each network's eligibility trace over its own parameters (n_value + n_policy)
    params = sum(v.size for v in single.params.values())
    traces = int(single._impl.ac.n_value) + int(single._impl.ac.n_policy)
    floor = traffic_floor(params + traces, B)
    allowed = med["separate"] / TARGET_RATIO
    removed = med["separate"] - med["batch"]
    shared_allowed = removed / (TARGET_RATIO - 1)
    print(f"{B} actor-critic learners: {args.kind} RTU, {args.hidden} units, n_head {args.head}, "
          f"CartPole-P sizes (2 observations, 2 actions), float32; {args.steps} steps x "
          f"{args.rounds} rounds (medians, us per learner step); "
          f"memory {batch.memory_bytes} bytes; C core: {c_build()} build; CPU: {cpu_model()}")
    print(f"  {B} separate ActorCritic, act + learn from Python: {med['separate']:8.2f}")
    print(f"  ActorCriticBatch of {B}, one act + one learn call:  {med['batch']:8.2f}")
    print(f"  one learner's rtu_ac_act + rtu_ac_learn via cffi:    {med['c_alone']:8.2f}")
    print(f"  per-learner throughput, batch / separate = {ratio:.2f} (target >= "
          f"{TARGET_RATIO:g}: {'met' if ratio >= TARGET_RATIO else 'NOT met'}; separate / "
          f"one learner via cffi = {bound:.2f})")
    print(f"  what {TARGET_RATIO:g}x needs: the batch's step at most separate / {TARGET_RATIO:g} = "
          f"{allowed:.2f} us; if the separate learners share every speed-up of the C step, at "
          f"most what batching removed (separate - batch) / {TARGET_RATIO - 1:g} = {removed:.2f} / "
          f"{TARGET_RATIO - 1:g} = {shared_allowed:.2f} us")
    print(f"  the floor of a step: one read and write of each learner's {params:,} parameters "
          f"and {traces:,} eligibility traces, as every step moves them, takes {floor:.2f} us a "
          f"learner at B = {B} (benchmarks/bench_traffic.c, native build): "
          f"{'below' if floor < allowed else 'not below'} separate / {TARGET_RATIO:g}, "
          f"{'below' if floor < shared_allowed else 'not below'} (separate - batch) / "
          f"{TARGET_RATIO - 1:g}")
    if args.json:
        Path(args.json).write_text(json.dumps({"median_us": med, "round_us": rows,
                                               "ratio": ratio, "bound": bound,
                                               "target": TARGET_RATIO, "params": params,
                                               "traces": traces, "floor_us": floor,
                                               "allowed_us": allowed,
                                               "shared_allowed_us": shared_allowed,
                                               "memory_bytes": batch.memory_bytes,
                                               **vars(args), "json": str(args.json)},
                                              indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
