"""MemoryChain: recall a bit shown once, L steps earlier (bsuite's ``memory_chain`` with one bit).

The memory-length experiment of bsuite (Osband et al. 2020), as Farr et al. (2026) use it to
measure how far back a recurrent learner can carry information. An episode of
``MemoryChain(L)`` is L + 1 decisions:

- ``reset()`` draws a context bit ``c`` (0 or 1, each with probability 1/2, from the env's
  ``np_random``) and shows it in the first observation, as ``2c - 1`` (+1 or -1).
- The next L observations do not show it (the context entry is 0); actions taken on the first L
  observations do nothing and earn reward 0.
- The action taken on the last of them (step L + 1, ``time`` 0) is the recall: reward +1 if it
  equals ``c``, -1 otherwise, and the episode terminates.

Observation (float32, shape (3,)), bsuite's layout for one bit, ``t`` the steps since the reset:

=====  =========  ==============================================================================
entry  name       value
=====  =========  ==============================================================================
0      time       ``1 - t / L``: 1 at the reset, 0 on the observation the recall acts upon
1      query      which bit is asked for: always 0 (there is one bit)
2      context    ``2c - 1`` when t = 0, else 0
=====  =========  ==============================================================================

Actions: ``Discrete(2)``. The observation returned with the final (terminating) step has
t = L + 1 and is never acted upon. Seeding is gymnasium's: ``reset(seed=...)`` reseeds the
context stream; the same seed gives the same contexts.

Score: the fraction of correct recalls over the last 100 episodes, ``(mean return + 1) / 2``;
a policy blind to the context gets 0.5 on average. Threshold: >= 0.9 correct, a mean return
>= 0.8 (``RETURN_THRESHOLD``; rtu_edge/tasks/suite.py registers it). Memory lengths of the suite: L = 4 to 128
(``make_env("memory-chain-<L>", seed)``).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .._extras import require

gym = require("gymnasium", "rtu_edge.tasks.memory_chain")

__all__ = ["MemoryChain", "recall_rate", "memory_length", "PREFIX", "RETURN_THRESHOLD",
           "RECALL_THRESHOLD", "SCORE_EPISODES"]

PREFIX = "memory-chain-"  #: ``make_env("memory-chain-16", seed)`` builds ``MemoryChain(16)``
RETURN_THRESHOLD = 0.8    #: the mean return over the last SCORE_EPISODES that counts as solved
RECALL_THRESHOLD = (RETURN_THRESHOLD + 1) / 2  #: the same as a fraction of correct recalls: 0.9
SCORE_EPISODES = 100      #: the score is taken over this many final episodes


def memory_length(task: str) -> int:
    """L of a task named ``"memory-chain-<L>"``; ValueError naming the task otherwise."""
    length = task[len(PREFIX):] if task.startswith(PREFIX) else ""
    if not length.isdigit() or int(length) < 1:
        raise ValueError(f"task {task!r}: the memory length must be an integer >= 1, as in "
                         f"\"memory-chain-16\"")
    return int(length)


class MemoryChain(gym.Env):
    """Recall, after ``memory_length`` steps without it, a bit shown at the first step.

    ``MemoryChain(memory_length)``; ``memory_length`` (L) an integer >= 1. See the module
    docstring for the observation, the reward and the episode.
    """

    metadata = {"render_modes": []}

    def __init__(self, memory_length: int, render_mode: Optional[str] = None):
        if render_mode is not None:
            raise ValueError(f"render_mode: MemoryChain renders nothing (its render_modes are "
                             f"[]), got {render_mode!r}")
        self.render_mode = None
        if isinstance(memory_length, bool) or not isinstance(memory_length, (int, np.integer)) \
                or memory_length < 1:
            raise ValueError(f"memory_length must be an integer >= 1, got {memory_length!r}")
        self.memory_length = int(memory_length)
        self.observation_space = gym.spaces.Box(
            np.array([-1.0, 0.0, -1.0], dtype=np.float32), np.ones(3, dtype=np.float32),
            dtype=np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.context = 0
        self.t = 0

    def _observation(self) -> np.ndarray:
        obs = np.zeros(3, dtype=np.float32)
        obs[0] = 1.0 - self.t / self.memory_length
        if self.t == 0:
            obs[2] = 2 * self.context - 1
        return obs

    def reset(self, *, seed: Optional[int] = None, options=None):
        super().reset(seed=seed)
        self.context = int(self.np_random.integers(2))
        self.t = 0
        return self._observation(), {}

    def step(self, action):
        if not self.action_space.contains(action):
            raise ValueError(f"action must be 0 or 1, got {action!r}")
        if self.t > self.memory_length:
            raise RuntimeError("step called after the episode terminated: call reset first")
        recall = self.t == self.memory_length
        reward = (1.0 if int(action) == self.context else -1.0) if recall else 0.0
        self.t += 1
        return self._observation(), reward, recall, False, {}


def recall_rate(returns) -> float:
    """The score of MemoryChain: the fraction of correct recalls over the last ``SCORE_EPISODES``
    episode returns (each +1 or -1), ``(mean + 1) / 2``; NaN for no episodes."""
    last = np.asarray(returns, dtype=np.float64)[-SCORE_EPISODES:]
    return float((last.mean() + 1.0) / 2.0) if last.size else float("nan")
