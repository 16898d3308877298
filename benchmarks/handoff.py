"""The sim-to-robot hand-off: pretrain with PPO-RTRL in simulation, deploy to dynamics the network
never saw, and keep learning online with the streaming actor-critic.

    python benchmarks/handoff.py --seeds 100:120 --out runs/handoff [--jobs 2]

For each seed: PPO with RTRL (rtu_edge.ppo, the package's defaults, float32) trains on cartpole-p
for --pretrain steps; its checkpoint is the hand-off (an actor-critic checkpoint). Its pre-shift
return is the frozen policy's on cartpole-p (the mean of --eval-episodes episodes). Then, on
cartpole-p-long (a pole 4x as long and 10x as heavy, rtu_edge.tasks.control.LONG_POLE), for
--online steps each:
  - online:  the checkpoint as an ActorCritic (ACConfig's defaults, traces zero), learning;
  - frozen:  the checkpoint's policy without learning (rtu_edge.export's CModel, the exported
             inference step; actions sampled from it);
  - scratch: a new ActorCritic (same network and seed) learning from nothing.
A condition's score is the mean return of its last 20 episodes within --online steps. The table:
each condition's mean over seeds with a 95% BCa bootstrap interval (rtu_edge.report), the
recovery (online score / pre-shift return) and how many seeds recover 90%, and the paired
differences online - frozen and online - scratch with their intervals. Every seed's numbers go to
OUT/handoff.csv; the seeds are not chosen.
"""

from __future__ import annotations

import argparse
import csv
import time

import numpy as np

from _args import output_dir, positive_int, seed_range

WINDOW = 20  #: episodes of a score
#: the network of every learner here: the package's default before the gated sign became its
#: previous-reward input, on which the README's table was measured (on CartPole's rewards, all
#: +1, the gated sign is 0 throughout)
NETWORK = {"prev_reward": "none"}


def score(returns: list) -> float:
    return float(np.mean(returns[-WINDOW:])) if returns else float("nan")


def frozen_returns(data: bytes, task: str, seed: int, steps: int = 0, episodes: int = 0) -> list:
    """Episode returns of the checkpoint's policy, not learning, on task: episodes of the exported
    inference step (C), actions sampled with a seeded generator, until steps steps or episodes
    episodes."""
    from rtu_edge.export.model import CModel, InferenceModel
    from rtu_edge.tasks import make_env
    from rtu_edge.train import episode_seed
    model = InferenceModel.from_bytes(data)
    net = CModel(model)
    env, _ = make_env(task, seed)
    rng = np.random.default_rng(seed)
    n_logits = model.n_actions
    out, taken = [], 0
    while (steps and taken < steps) or (episodes and len(out) < episodes):
        obs, _ = env.reset(seed=episode_seed(seed, len(out)))
        net.reset()
        ret, done = 0.0, False
        while not done:
            logits = np.array(net.step(obs)[:n_logits], dtype=np.float64)
            p = np.exp(logits - logits.max())
            action = int(rng.choice(n_logits, p=p / p.sum()))
            net.feed(action, 0.0)
            obs, reward, terminated, truncated, _ = env.step(action)
            ret, taken, done = ret + float(reward), taken + 1, terminated or truncated
        out.append(ret)
    env.close()
    return out


def learning_returns(ac, task: str, seed: int, steps: int) -> list:
    """Episode returns of the actor-critic ac learning on task for steps steps (whole episodes,
    rtu_edge.train.run_episodes)."""
    from rtu_edge.tasks import make_env
    from rtu_edge.train import run_episodes
    env, spec = make_env(task, seed)
    out = []
    target = ac.steps + steps
    run_episodes(ac, env, spec, seed, target, lambda episode, ret, length: out.append(ret))
    env.close()
    return out


def one_seed(seed: int, pretrain: int, online: int, eval_episodes: int) -> dict:
    from rtu_edge.ac import ActorCritic
    from rtu_edge.ppo import PPO, make_vector_env, train_ppo
    started = time.perf_counter()
    envs, spec = make_vector_env("cartpole-p", 16, seed)
    agent = PPO(spec.obs_size, 32, spec.n_actions, seed=seed, dtype=np.float32, **NETWORK)
    trained = []
    train_ppo(agent, envs, spec, pretrain, seed=seed,
              on_episode=lambda step, ret, length: trained.append(ret))
    envs.close()
    data = agent.checkpoint_bytes()
    row = {"seed": seed, "ppo_steps": agent.steps, "ppo_final": score(trained),
           "pre_shift": float(np.mean(frozen_returns(data, "cartpole-p", seed,
                                                     episodes=eval_episodes)))}
    row["frozen"] = score(frozen_returns(data, "cartpole-p-long", seed, steps=online))
    row["online"] = score(learning_returns(ActorCritic.from_bytes(data), "cartpole-p-long", seed,
                                           online))
    scratch = ActorCritic(spec.obs_size, 32, spec.n_actions, seed=seed, dtype=np.float32,
                          **NETWORK)
    row["scratch"] = score(learning_returns(scratch, "cartpole-p-long", seed, online))
    row["seconds"] = time.perf_counter() - started
    return row


def table(rows: list) -> str:
    from rtu_edge.report import bootstrap_ci

    def ci(values) -> str:
        values = np.asarray(values, dtype=float)
        low, high = bootstrap_ci(values, np.mean, "BCa")
        if np.isnan(low):  # fewer than two seeds
            return f"{np.mean(values):.1f} (no interval)"
        return f"{np.mean(values):.1f} [{low:.1f}, {high:.1f}]"

    col = {k: np.array([r[k] for r in rows], dtype=float) for k in rows[0]}
    recovery = col["online"] / col["pre_shift"]
    over = ("mean over seeds [95% BCa bootstrap interval]" if len(rows) >= 2 else
            "one seed: no interval (a bootstrap interval needs at least two seeds)")
    lines = [f"{len(rows)} seeds ({min(col['seed']):.0f}-{max(col['seed']):.0f}); {over}", "",
             "| | return |", "|---|---|",
             f"| PPO-RTRL, end of pretraining (cartpole-p, last {WINDOW} episodes) | "
             f"{ci(col['ppo_final'])} |",
             f"| pre-shift: frozen policy on cartpole-p | {ci(col['pre_shift'])} |",
             f"| frozen policy on cartpole-p-long | {ci(col['frozen'])} |",
             f"| hand-off, learning online (AC(lambda)) on cartpole-p-long | "
             f"{ci(col['online'])} |",
             f"| from scratch (AC(lambda)) on cartpole-p-long | {ci(col['scratch'])} |",
             f"| online - frozen (paired) | {ci(col['online'] - col['frozen'])} |",
             f"| online - scratch (paired) | {ci(col['online'] - col['scratch'])} |", "",
             f"online / pre-shift: median {np.median(recovery):.2f}; "
             f"{int(np.sum(recovery >= 0.9))} of {len(rows)} seeds recover 90% of the pre-shift "
             f"return."]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=seed_range, default="100:120",
                        help="A:B, the seeds A..B-1")
    parser.add_argument("--pretrain", type=positive_int, default=500_000, help="PPO steps")
    parser.add_argument("--online", type=positive_int, default=100_000,
                        help="steps after the shift")
    parser.add_argument("--eval-episodes", type=positive_int, default=20)
    parser.add_argument("--jobs", type=positive_int, default=1)
    parser.add_argument("--out", type=output_dir, required=True)
    args = parser.parse_args(argv)
    start, stop = args.seeds
    import joblib
    rows = joblib.Parallel(n_jobs=args.jobs)(
        joblib.delayed(one_seed)(s, args.pretrain, args.online, args.eval_episodes)
        for s in range(start, stop))
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "handoff.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
