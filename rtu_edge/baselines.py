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
- ``MemorylessAC``: ``ActorCritic`` on the C core with a memoryless network
  (``ACNetwork(memoryless=True, prev_action=False, prev_reward=False)``): the same input layer,
  RTU-sized feature layer and heads, config and learning rule, but the RTU's state and traces are
  zeroed before every step, so its features depend on the current observation alone (a dense
  layer with the RTU's activation), and it sees no previous action or reward. Same size as the
  RTU agent it is compared with; it keeps checkpoints as any ActorCritic.
- ``MemorylessTD``: TD(lambda) with the same ObGD or SGD and config on features that are the
  observation itself, with no recurrence (``rtu_edge.reference.td.MemorylessTD``).
- Oracle: a task's full observation. ``cartpole-p``'s oracle is gymnasium's ``CartPole-v1``
  (``make_env("CartPole-v1", seed)``: [x, x_dot, theta, theta_dot]) and ``pendulum-p``'s is
  ``Pendulum-v1``; run the same learner on them.

The memoryless actor-critic before the streaming network read the normalised observation as its
features, unbounded, and collapsed below a random policy on CartPole-P: ObGD bounds a step so that
the prediction on the current input moves by at most |delta| max|x| / kappa, which prevents
overshooting only for features within about kappa, and normalised observations reached 11-16. The
streaming network's features are bounded by construction (LayerNorm, then the RTU's activation),
so the baseline is now the network itself with its memory removed. tests/test_baselines.py fails
if it falls below random on CartPole-P again.

Not fixed: ``MemorylessTD`` on trace conditioning (features already 0/1) stays a little worse
than predicting zero (MSRE 0.1895 against 0.1820, seeds 0-4): with so few weights, ObGD's
bounded step still moves every prediction at once and the predictions stay noisy (sd 0.17); a
step size of 0.01 gives 0.149, but choosing it would be tuning.
"""

from __future__ import annotations

import numbers
from typing import Optional

import numpy as np

from .ac import NETWORK_FIELDS, ActorCritic
from .reference.cell import check_input
from .reference.config import ACConfig, ACNetwork
from .reference.td import MemorylessTD, TDConfig

__all__ = ["RandomPolicy", "ZeroPredictor", "MemorylessAC", "MemorylessTD", "ACConfig",
           "ACNetwork", "TDConfig"]

#: what makes a network memoryless
MEMORYLESS = {"memoryless": True, "prev_action": False, "prev_reward": False}


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


class MemorylessAC(ActorCritic):
    """``ActorCritic`` without memory: ``MemorylessAC(n_in, n_hidden, n_actions, **kwargs)`` takes
    ActorCritic's arguments (the C core by default) and sets the network's memoryless on and
    prev_action, prev_reward off (a keyword asking otherwise is a ValueError). Its other network
    fields (n_embed, n_head, shared) default to ACNetwork's, so it is the RTU agent's size."""

    def __init__(self, n_in: int, n_hidden: int, n_actions: int, *,
                 network: ACNetwork | None = None, **kwargs):
        fields = {k: kwargs.pop(k) for k in NETWORK_FIELDS if k in kwargs}
        for key, value in MEMORYLESS.items():
            if key in fields and fields[key] != value:
                raise ValueError(f"{key} must be {value} for MemorylessAC, got {fields[key]!r}")
        network = self._config(ACNetwork, network, {**fields, **MEMORYLESS}, "network")
        super().__init__(n_in, n_hidden, n_actions, network=network, **kwargs)
