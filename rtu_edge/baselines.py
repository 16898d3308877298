"""Baselines for every results table: what a learner must beat for its score to mean something.

Control agents have ``ActorCritic``'s interface (``a = agent.act(obs)``, then
``agent.learn(reward, next_obs, terminated, truncated)``, ``steps`` and ``episodes``), so
``rtu_edge.train.run_episodes`` drives them as it drives the RTU learner; predictors have
``TDLambda``'s (``v = p.step(x, cumulant)``, ``p.run(X, C)``).

- ``RandomPolicy(n_actions, seed)`` / ``RandomPolicy(low=..., high=..., seed=...)``: uniform over
  the discrete actions, or uniform in the Box [low, high], from its own seeded numpy generator;
  it learns nothing.
- ``ZeroPredictor()``: predicts 0 at every step (prediction tasks; its MSRE is the mean squared
  return).
- ``MemorylessAC`` / ``MemorylessTD``: the same learner (same ObGD or SGD, same config, same
  observation normalisation and reward scaling) on features that are the normalised observation
  itself, with no recurrence (``rtu_edge.reference.ac.MemorylessAC`` and
  ``rtu_edge.reference.td.MemorylessTD``; ``MemorylessAC`` here returns actions as
  ``ActorCritic`` does: an int for discrete actions).
- Oracle: a task's full observation. ``cartpole-p``'s oracle is gymnasium's ``CartPole-v1``
  (``make_env("CartPole-v1", seed)``: [x, x_dot, theta, theta_dot]) and ``pendulum-p``'s is
  ``Pendulum-v1``; run the same learner on them.

Why the memoryless actor-critic scored below random on CartPole-P, and the fix. It used to read
the normalised observation as its features, unbounded; the learning benchmark of the time
measured 9.3 against 22.9 for a random policy (CartPole-P, 500k steps, seeds 10-19). Diagnosed on seeds 0-5 (20k-50k steps):

- It collapsed onto one action within about 100 episodes (probability about 0.96, policy
  entropy 0.04; pushing one way ends an episode after about 9 steps) and stayed there.
- Its critic diverged: the value bias reached 500-3000 while the scaled return is about 3, and
  the mean TD error was strongly negative. The critic alone, under a fixed uniform policy,
  diverged too (value sd 570-720 over the last 5k of 20k steps; true value about 2), so the
  critic is the cause and the actor's collapse follows from its TD errors.
- ObGD bounds the step so that the prediction on the current input moves by
  alpha_eff delta z . x <= |delta| max|x| / kappa: no overshoot needs features bounded by
  kappa (2 for the critic). The RTU agent's features are tanh outputs in [-1, 1]; normalised
  observations reached 3-4 at the 99th percentile and 11-16 at most, so updates overshot by up
  to 8 times and the critic diverged. Plain SGD (alpha 0.01), whose step does not rely on the
  bound, did not collapse (47.6 in that benchmark).

The fix: the memoryless features are the normalised observation clipped to [-1, 1], the range of
the RTU agent's features (``rtu_edge.reference.ac.bounded``). Chosen on seeds 0-5; on seeds
100-119 (``rtu-edge sweep benchmarks/sweeps/baselines.toml``, 50k steps, mean of the final
window, 95% BCa bootstrap over seeds, paired against random with ``--versus``) the memoryless agent matches or beats random on CartPole-P, Pendulum-P and
POPGym RepeatPreviousEasy (README, "Learning results"). tests/test_baselines.py fails if it
collapses again.

Not fixed: ``MemorylessTD`` on trace conditioning (features already 0/1) stays a little worse
than predicting zero (MSRE 0.1895 against 0.1820, seeds 0-4): with so few weights, ObGD's
bounded step still moves every prediction at once and the predictions stay noisy (sd 0.17); a
step size of 0.01 gives 0.149, but choosing it would be tuning.
"""

from __future__ import annotations

import numbers
from typing import Optional

import numpy as np

from .reference.ac import ACConfig, MemorylessAC as _MemorylessAC
from .reference.cell import check_input
from .reference.td import MemorylessTD, TDConfig

__all__ = ["RandomPolicy", "ZeroPredictor", "MemorylessAC", "MemorylessTD", "ACConfig",
           "TDConfig"]


class RandomPolicy:
    """Uniformly random actions, seeded: ``RandomPolicy(n_actions=2, seed=0)`` (discrete: ints in
    0 .. n_actions - 1) or ``RandomPolicy(low=[-2.0], high=[2.0], seed=0)`` (continuous: float64
    arrays uniform in [low, high], which must be finite). ``act`` ignores the observation;
    ``learn`` only counts steps and episodes. The same seed gives the same actions."""

    def __init__(self, n_actions: Optional[int] = None, *, low=None, high=None, seed: int = 0):
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
        if (n_actions is None) == (low is None or high is None):
            raise ValueError("give n_actions (discrete) or low and high (continuous), not both")
        if n_actions is not None:
            if isinstance(n_actions, bool) or not isinstance(n_actions, numbers.Integral) \
                    or n_actions < 1:
                raise ValueError(f"n_actions must be an integer >= 1, got {n_actions!r}")
            self.n_actions, self.low, self.high = int(n_actions), None, None
        else:
            self.low = np.array(low, dtype=np.float64).ravel()
            self.high = np.array(high, dtype=np.float64).ravel()
            if self.low.shape != self.high.shape or not self.low.size \
                    or not np.all(np.isfinite(self.low)) or not np.all(np.isfinite(self.high)) \
                    or np.any(self.low > self.high):
                raise ValueError(f"low and high must be finite vectors of one shape with "
                                 f"low <= high, got {low!r}, {high!r}")
            self.n_actions = None
        self.rng = np.random.default_rng(seed)
        self.steps = self.episodes = 0

    def act(self, obs):
        if self.n_actions is not None:
            return int(self.rng.integers(self.n_actions))
        return self.rng.uniform(self.low, self.high)

    def learn(self, reward: float, next_obs, terminated: bool, truncated: bool) -> None:
        self.steps += 1
        self.episodes += bool(terminated or truncated)


class ZeroPredictor:
    """Predicts 0 at every step, with ``TDLambda``'s ``step(x, cumulant)`` and ``run(X, C)``."""

    def __init__(self):
        self.steps = 0

    def step(self, x, cumulant: float) -> float:
        check_input("x", np.asarray(x, dtype=np.float64))
        self.steps += 1
        return 0.0

    def run(self, x_seq, cumulants) -> np.ndarray:
        x_seq = np.asarray(x_seq, dtype=np.float64)
        check_input("X", x_seq)
        if len(x_seq) != len(cumulants):
            raise ValueError(f"X and cumulants must have the same length, got {len(x_seq)} "
                             f"and {len(cumulants)}")
        self.steps += len(x_seq)
        return np.zeros(len(x_seq))


class MemorylessAC(_MemorylessAC):
    """``rtu_edge.reference.ac.MemorylessAC`` acting as ``ActorCritic`` does: ``act`` returns an
    int for discrete actions (gymnasium's Discrete spaces refuse arrays)."""

    def act(self, obs):
        action = super().act(obs)
        return int(action[0]) if self.action_kind == "discrete" else action
