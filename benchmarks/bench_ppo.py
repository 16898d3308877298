"""PPO with RTRL against the streaming actor-critic: environment steps per second on CartPole-P, and
the memory PPO's stored RTU states and RTRL traces take.

Both learn on cartpole-p with the package's defaults (rtu-edge train's network, float32): PPO
(rtu_edge.ppo.train_ppo, 16 environments x 128 steps, 4 epochs of 4 minibatches) on
rtu_edge.ppo.make_vector_env's environments (CartPolePVectorEnv: 16 CartPoles in one numpy call),
the actor-critic (rtu_edge.train.run_episodes) on one environment, each round
--steps environment steps, in alternating rounds in one run (A B A B); the ratio of each pair of
rounds is reported, with its median. Everything is counted: the environments, Python's loop, the
learner's work (PPO's: the rollout and every epoch's gradients and Adam steps).

Target (issue "PPO with RTRL", point 4): PPO's throughput with 16 environments at least 5x the
streaming learner's. Beside the ratio, what that needs: the time an environment step may take in
all, against two parts of PPO's that nothing in the core can shorten, the environments' own time
(their step calls, timed) and the update's arithmetic at the peak (its FLOPs,
rtu_edge.flops.ppo_flops_per_sample, over the float32 FMA throughput of one core that
benchmarks/bench_peak.c measures between the rounds; so the script needs a C compiler), and at
the ceiling of the build the extension runs (rtu_edge.c_build(): the default build and the AVX2
variant fuse no multiply-add, so that every build computes the same bits; their ceiling is
bench_peak.c unfused, with their flags, as bench_kernel.py measures it; the native build's is
the peak).

    python benchmarks/bench_ppo.py [--rounds 5] [--steps 20480] [--json out.json]
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
from _args import output_file, positive_int  # noqa: E402

from rtu_edge import ActorCritic, PPOConfig, c_build  # noqa: E402
from rtu_edge.flops import ppo_flops_per_sample  # noqa: E402
from rtu_edge.ppo import PPO, make_vector_env, train_ppo  # noqa: E402
from rtu_edge.tasks import make_env  # noqa: E402
from rtu_edge.train import RunConfig, run_episodes  # noqa: E402

TARGET_RATIO = 5.0
PEAK_REPS = 2000000  # bench_peak.c's repeats per timed run, as bench_kernel.py's
TASK = "cartpole-p"


class Clock:
    """Seconds spent in the named methods of obj (timed around each call, on that object
    only)."""

    def __init__(self, obj, names: tuple):
        self.seconds = 0.0
        for name in names:
            setattr(obj, name, self.timed(getattr(obj, name)))

    def timed(self, method):
        def call(*args, **kwargs):
            began = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - began
        return call


def ppo_round(agent: PPO, envs, spec, steps: int, update: Clock, env: Clock) -> tuple:
    """Environment steps per second of steps more PPO steps (whole rollouts), the fraction of
    the time in the update's gradients and Adam steps, and the environments' seconds per
    environment step."""
    start, began = agent.steps, time.perf_counter()
    in_update, in_env = update.seconds, env.seconds
    train_ppo(agent, envs, spec, agent.steps + steps)
    seconds, taken = time.perf_counter() - began, agent.steps - start
    return (taken / seconds, (update.seconds - in_update) / seconds,
            (env.seconds - in_env) / taken)


def ac_round(ac: ActorCritic, env, spec, steps: int, seed: int) -> float:
    start, began = ac.steps, time.perf_counter()
    run_episodes(ac, env, spec, seed, ac.steps + steps, lambda *row: None)
    return (ac.steps - start) / (time.perf_counter() - began)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=positive_int, default=5)
    parser.add_argument("--steps", type=positive_int, default=20480,
                        help="environment steps per round")
    parser.add_argument("--json", type=output_file)
    args = parser.parse_args(argv)
    run = RunConfig(task=TASK, steps=args.steps)
    network, hidden = run.network_config(), run.hidden
    ppo_cfg = PPOConfig()
    envs, spec = make_vector_env(TASK, ppo_cfg.n_envs, 0)
    agent = PPO(spec.obs_size, hidden, spec.n_actions, seed=0, dtype=np.float32,
                network=network, ppo=ppo_cfg)
    env, _ = make_env(TASK, 0)
    ac = ActorCritic(spec.obs_size, hidden, spec.n_actions, seed=0, dtype=np.float32,
                     network=network)
    update, env_clock = Clock(agent, ("gradient", "adam_step")), Clock(envs, ("step",))
    probe = _cprogram.peak_probe()
    build = c_build()
    flags = _cprogram.BUILD_FLAGS[build]  # the running build's, for its ceiling
    ceiling_probe = None if build == "native" else _cprogram.ceiling_probe(build, flags)
    ppo_sps, ac_sps, update_share, env_seconds, peak, ceiling = [], [], [], [], 0.0, 0.0
    for r in range(args.rounds):
        sps, share, env_s = ppo_round(agent, envs, spec, args.steps, update, env_clock)
        ppo_sps.append(sps)
        update_share.append(share)
        env_seconds.append(env_s)
        ac_sps.append(ac_round(ac, env, spec, args.steps, r))
        peak = max(peak, _cprogram.peak_gflops(probe, PEAK_REPS))
        if ceiling_probe is not None:
            ceiling = max(ceiling, _cprogram.peak_gflops(ceiling_probe, PEAK_REPS))
    ceiling = peak if ceiling_probe is None else ceiling
    ratios = np.array(ppo_sps) / np.array(ac_sps)
    # what the target needs: every environment step within 1 / (5 x the learner's rate), of
    # which the environments take theirs and the update its arithmetic, at the peak the probe
    # measured (its best: the hardware may do a little more)
    budget_us = 1e6 / (TARGET_RATIO * float(np.median(ac_sps)))
    env_us = 1e6 * float(np.median(env_seconds))
    sample_flops = ppo_flops_per_sample(run.kind, spec.obs_size, hidden,
                                        "discrete" if spec.discrete else "continuous",
                                        spec.n_actions, network)
    update_flops = ppo_cfg.update_epochs * sample_flops  # per environment step
    arithmetic_us = update_flops / peak * 1e-3
    ceiling_us = update_flops / ceiling * 1e-3
    result = {
        "cpu": cpu_model(), "c_build": build, "task": TASK, "hidden": hidden,
        "network": str(network),
        "n_envs": ppo_cfg.n_envs, "n_steps": ppo_cfg.n_steps, "rounds": args.rounds,
        "steps_per_round": args.steps,
        "ppo_steps_per_second": float(np.median(ppo_sps)),
        "ac_steps_per_second": float(np.median(ac_sps)),
        "ratios": [float(x) for x in ratios], "median_ratio": float(np.median(ratios)),
        "target_ratio": TARGET_RATIO,
        "ppo_update_share": float(np.median(update_share)),
        "target_us_per_step": budget_us, "ppo_env_us_per_step": env_us,
        "ppo_update_flops_per_step": update_flops, "ppo_flops_per_sample": sample_flops,
        "peak_gflops": peak, "update_arithmetic_us_at_peak": arithmetic_us,
        "build_ceiling_gflops": ceiling, "build_ceiling_flags": flags,
        "update_arithmetic_us_at_build_ceiling": ceiling_us,
        "ppo_memory_bytes": agent.memory_bytes, "ppo_context_bytes": agent.context_bytes,
        "ac_memory_bytes": ac.memory_bytes,
    }
    print(f"{TASK}, hidden {hidden}, {network}, float32 (C core: {build} build; "
          f"{result['cpu']})")
    print(f"PPO-RTRL, {ppo_cfg.n_envs} environments x {ppo_cfg.n_steps} steps: "
          f"{result['ppo_steps_per_second']:,.0f} environment steps/s (median of {args.rounds})")
    print(f"  of PPO's time, the update's gradients and Adam steps (C): "
          f"{result['ppo_update_share']:.0%} (median); the rollouts, environments and Python "
          f"the rest")
    print(f"streaming AC(lambda), 1 environment: {result['ac_steps_per_second']:,.0f} "
          f"environment steps/s")
    print(f"ratio PPO / AC, pair by pair: {', '.join(f'{x:.2f}' for x in ratios)}; median "
          f"{result['median_ratio']:.2f}x (target {TARGET_RATIO:g}x: "
          f"{'met' if result['median_ratio'] >= TARGET_RATIO else 'not met'})")
    within = env_us + arithmetic_us <= budget_us
    print(f"what {TARGET_RATIO:g}x needs: {budget_us:.2f} us an environment step for everything; "
          f"PPO's environments alone take {env_us:.2f} us (median), and its update's "
          f"{update_flops:,} FLOPs an environment step ({ppo_cfg.update_epochs} epochs x "
          f"{sample_flops:,} a sample, rtu_edge.flops.ppo_flops_per_sample) "
          f"{arithmetic_us:.2f} us at the peak the probe measured ({peak:.1f} GFLOP/s float32 "
          f"FMA, one core, its widest vectors, benchmarks/bench_peak.c): "
          f"{env_us + arithmetic_us:.2f} us, "
          f"{'within' if within else 'beyond'} it before the rollout, Python or any other "
          f"work")
    within = env_us + ceiling_us <= budget_us
    kind = ("fused multiply-adds: the peak" if build == "native" else
            "a multiply and an add apiece, bench_peak.c unfused with its flags")
    print(f"  at the {build} build's own ceiling ({ceiling:.1f} GFLOP/s, {kind}) the update's "
          f"arithmetic takes {ceiling_us:.2f} us: {env_us + ceiling_us:.2f} us with the "
          f"environments, {'within' if within else 'beyond'} the {budget_us:.2f} us")
    print(f"memory: PPO buffer {agent.memory_bytes:,} bytes, of which the stored RTU states and "
          f"RTRL traces {agent.context_bytes:,} ((n_steps + 1) x n_envs contexts); the "
          f"actor-critic's buffer {ac.memory_bytes:,} bytes")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
