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
  (``ACNetwork(memoryless=True)``): the same input layer, RTU-sized feature layer and heads,
  config and learning rule, but the RTU's state and traces are zeroed before every step, so its
  features depend on the current input alone (a dense layer with the RTU's activation). By
  default its input is the default network's: no previous action, the previous reward's gated
  sign; with ``prev_action=True`` and a ``prev_reward`` (``"normalized"``, ``"sign"``,
  ``"centered_sign"``, ``"gated_sign"``; ``"none"``: not at all) its input holds them, as the RTU
  agent's does when it takes them: the baseline for an agent given the last step's action and
  reward (one step of the past as input, no memory). Same size as
  the RTU agent it is compared with; it keeps checkpoints as any ActorCritic.
- ``MemorylessTD``: TD(lambda) with the same ObGD or SGD and config on features that are the
  observation itself, with no recurrence (``rtu_edge.reference.td.MemorylessTD``).
- ``GRUTDLambda`` and ``GRUActorCritic`` (``--agent gru``): the RTU's TD(lambda) and
  actor-critic with a GRU in place of the RTU, its gradient by truncated BPTT over the last T
  steps (``window``) instead of RTRL (rtu_edge/reference/gru.py); the same heads, traces and
  optimizer, in numpy (float64). They have ``TDLambda``'s ``step`` and ``run`` and
  ``ActorCritic``'s ``act`` and ``learn``, with its checks, over the reference learners ``GRUTD``
  and ``GRUAC`` (rtu_edge.reference.td and .ac). They keep no checkpoint.
- ``PatternLookup``: the reference a learner with perfect memory of the trial is measured against
  on trace conditioning and trace patterning: a table indexed by the CS pattern seen at the
  trial's CS onset and the steps since that onset, holding the average of the realised returns
  (prediction tasks; ``PatternLookup.for_task(task)``).
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

from ._learner import bool_flag, config_with, real_array, real_rows, real_scalar
from .ac import NETWORK_FIELDS, ActorCritic
from .reference.ac import ACTION_KINDS, GRUAC
from .reference.cell import check_input
from .reference.config import ACConfig, ACNetwork, memoryless_fields
from .reference.prng import Prng
from .reference.td import GRUTD, MemorylessTD, TDConfig
from .tasks.trace_conditioning import _check_gamma, _check_int, return_horizon

__all__ = ["RandomPolicy", "ZeroPredictor", "PatternLookup", "MemorylessAC", "MemorylessTD",
           "GRUTDLambda", "GRUActorCritic", "GRUTD", "GRUAC", "ACConfig", "ACNetwork",
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


class PatternLookup:
    """The pattern-aware lookup predictor of the conditioning tasks: how well a predictor that
    remembers the trial's CS pattern and its timing perfectly does, learning online.

    ``PatternLookup(n_in, n_cs, gamma, horizon)``, or ``PatternLookup.for_task(task)`` for a
    TraceConditioning or TracePatterning (n_in = obs_size, n_cs = 1 or 6, gamma = the task's,
    horizon = the longest trial, isi_range[1] + iti_range[1] = 133 for ISI 10, so that the cap is
    never reached within a trial). It knows the task's structure (observation layout
    ``[US, CS_0 .. CS_{n_cs-1}, distractors...]``, trials announced by a CS onset), not its
    answer: which patterns are followed by the US, and when, it learns from the stream.
    ``step(x, cumulant)`` and ``run(X, C)`` as ``TDLambda``'s: x_t (n_in,) with the cumulant C_t
    that arrived with it; returns v_t. It keeps no checkpoint.

    State, updated from x_t alone (a CS counts as on when its entry is above 0.5):
      - a CS onset at t: some CS is on at t and none was at t - 1 (none before x_0). At an onset,
        ``pattern`` = sum_i 2^i [CS_i on at t] (a bitmask: 0 .. 2^n_cs - 1) and ``since`` = 0;
        otherwise ``since`` = min(since + 1, horizon). Before the first onset pattern = 0 and
        since = horizon.
      - the cell of step t: s_t = (pattern, since).

    Table, shapes (2^n_cs, horizon + 1): ``sums`` and ``counts`` of the realised returns of the
    steps that fell in each cell. The return of step s, truncated as ``msre`` truncates its tail,
    is G_s = sum_{k=1}^{L} gamma^(k-1) C_{s+k} with L = ceil(10 / (1 - gamma)) (100 for ISI 10;
    the part left out is at most e^-10 max|C| / (1 - gamma)). It is complete once C_{s+L} has
    arrived, so at step t, before predicting, the return of step t - L is added to the cell
    s_{t-L}: sums[s_{t-L}] += G_{t-L}, counts[s_{t-L}] += 1. The prediction is the average

        v_t = sums[s_t] / counts[s_t]   (0 while counts[s_t] = 0),

    which uses x_0 .. x_t and C_0 .. C_t only (causal: a prediction never sees a later input).
    Each cell's average converges to E[G_t | s_t], the best prediction any function of
    (pattern, steps since onset) can make; the steps since the US, the distractors and the ITI
    elapsed before the first onset it does not use. ``steps`` counts steps.
    """

    def __init__(self, n_in: int, n_cs: int, gamma: float, horizon: int):
        self.n_cs = _check_int("n_cs", n_cs, 1)
        if self.n_cs > 16:
            raise ValueError(f"n_cs must be at most 16 (the table has 2^n_cs rows), got {n_cs!r}")
        self.n_in = _check_int("n_in", n_in, 1 + self.n_cs)
        self.gamma = _check_gamma(gamma)
        self.horizon = _check_int("horizon", horizon, 0)
        self.return_steps = return_horizon(self.gamma)
        shape = (2 ** self.n_cs, self.horizon + 1)
        self.sums, self.counts = np.zeros(shape), np.zeros(shape, dtype=np.int64)
        self._powers = [self.gamma ** j for j in range(self.return_steps)]
        self._bits = 2 ** np.arange(self.n_cs, dtype=np.int64)
        # the last return_steps steps, whose returns are not complete: cell and partial return,
        # in slot s % return_steps
        self._cells = [(0, 0)] * self.return_steps
        self._partial = [0.0] * self.return_steps
        self.pattern, self.since, self._cs_was_on, self.steps = 0, self.horizon, False, 0

    @classmethod
    def for_task(cls, task) -> "PatternLookup":
        """The predictor of a TraceConditioning or TracePatterning (its layout, gamma and
        longest trial)."""
        return cls(task.obs_size, task.n_cs, task.gamma, task.isi_range[1] + task.iti_range[1])

    def step(self, x, cumulant: float) -> float:
        return float(self.run(np.asarray(x, dtype=np.float64)[None], [cumulant])[0])

    def run(self, x_seq, cumulants) -> np.ndarray:
        """step over a whole stream: X (T, n_in), cumulants (T,); returns predictions (T,)."""
        x_seq = np.asarray(x_seq, dtype=np.float64)
        if x_seq.ndim != 2 or x_seq.shape[1] != self.n_in:
            raise ValueError(f"X must have shape (T, {self.n_in}), got {x_seq.shape}")
        check_input("X", x_seq)
        cumulants = np.asarray(cumulants, dtype=np.float64)
        if cumulants.shape != (len(x_seq),):
            raise ValueError(f"X and cumulants must have the same length, got {len(x_seq)} "
                             f"and {cumulants.shape}")
        if not np.all(np.isfinite(cumulants)):
            raise ValueError("cumulants contains NaN or Inf")
        cs = x_seq[:, 1:1 + self.n_cs] > 0.5
        keys, on = (cs @ self._bits).tolist(), cs.any(axis=1).tolist()
        return np.array([self._advance(k, o, c) for k, o, c in zip(keys, on, cumulants.tolist())],
                        dtype=np.float64)

    def _advance(self, key: int, on: bool, cumulant: float) -> float:
        """One step: key and on are the CS bitmask and whether any CS is on in x_t."""
        t, n = self.steps, self.return_steps
        if cumulant != 0.0:  # C_t is term t - s of every pending return (s = t-1 .. t-n)
            for j in range(min(t, n)):
                self._partial[(t - 1 - j) % n] += self._powers[j] * cumulant
        slot = t % n
        if t >= n:  # the return of step t - n is complete
            self.sums[self._cells[slot]] += self._partial[slot]
            self.counts[self._cells[slot]] += 1
        if on and not self._cs_was_on:
            self.pattern, self.since = key, 0
        else:
            self.since = min(self.since + 1, self.horizon)
        self._cs_was_on = on
        cell = (self.pattern, self.since)
        self._cells[slot], self._partial[slot] = cell, 0.0
        self.steps += 1
        count = self.counts[cell]
        return float(self.sums[cell] / count) if count else 0.0


class MemorylessAC(ActorCritic):
    """``ActorCritic`` without memory: ``MemorylessAC(n_in, n_hidden, n_actions, **kwargs)`` takes
    ActorCritic's arguments (the C core by default) and sets the network's memoryless on
    (``memoryless=False`` is a ValueError). Its other network fields (n_embed, n_head, shared,
    prev_action, prev_reward) default to ACNetwork's, so it is the RTU agent's size."""

    def __init__(self, n_in: int, n_hidden: int, n_actions: int, *,
                 network: ACNetwork | None = None, **kwargs):
        fields = {k: kwargs.pop(k) for k in NETWORK_FIELDS if k in kwargs}
        network = config_with(ACNetwork, network, memoryless_fields(fields, "MemorylessAC"),
                              "network")
        super().__init__(n_in, n_hidden, n_actions, network=network, **kwargs)


class GRUTDLambda:
    """TD(lambda) with a GRU trained by truncated BPTT (``GRUTD``), with ``TDLambda``'s interface:
    ``GRUTDLambda(n_in, n_hidden, window, config=TDConfig(), seed=0)``, window = T >= 1 the steps
    the gradient goes back through. ``step(x, cumulant)``: x (n_in,), cumulant a real; returns
    v (a float). ``run(X, cumulants)``: X (T, n_in), cumulants (T,), all checked before the first
    step; returns the predictions (T,). ``steps`` counts steps; ``learner`` is the GRUTD (float64:
    its GRU ``learner.cell``, head ``learner.head`` (n_hidden + 1,), trace ``learner.z``)."""

    def __init__(self, n_in: int, n_hidden: int, window: int, *, config: TDConfig | None = None,
                 seed: int = 0):
        self.learner = GRUTD(n_in, n_hidden, window, config_with(TDConfig, config, {}),
                             Prng(seed))
        self.n_in, self.n_hidden, self.window = n_in, n_hidden, window

    steps = property(lambda self: self.learner.steps)

    def step(self, x, cumulant: float) -> float:
        x = real_array("x", x, (self.n_in,), np.float64)
        return self.learner.step(x, real_scalar("cumulant", cumulant))

    def run(self, X, cumulants) -> np.ndarray:
        X = real_rows("X", X, self.n_in, np.float64)
        cumulants = real_array("cumulants", cumulants, (len(X),), np.float64)
        return self.learner.run(X, cumulants)


class GRUActorCritic:
    """The actor-critic with a GRU trained by truncated BPTT (``GRUAC``), with ``ActorCritic``'s
    interface: ``GRUActorCritic(n_in, n_hidden, n_actions, window, action_kind="discrete",
    config=ACConfig(), network=ACNetwork(), seed=0)``; the network without an input layer
    (n_embed 0) and with its memory (memoryless off). ``act(obs)``: obs (n_in,); returns an int in
    0 .. n_actions - 1 (discrete) or an (n_actions,) float64 array. ``learn(reward, next_obs,
    terminated, truncated)``: a real, (n_in,), two bools. ``steps`` and ``episodes`` count learn
    calls and ended episodes; ``learner`` is the GRUAC (float64)."""

    def __init__(self, n_in: int, n_hidden: int, n_actions: int, window: int, *,
                 action_kind: str = "discrete", config: ACConfig | None = None,
                 network: ACNetwork | None = None, seed: int = 0):
        if action_kind not in ACTION_KINDS:
            raise ValueError(f"action_kind must be one of {ACTION_KINDS}, got {action_kind!r}")
        self.learner = GRUAC(n_in, n_hidden, window, action_kind, n_actions,
                             config_with(ACConfig, config, {}), seed,
                             config_with(ACNetwork, network, {}, "network"))
        self.n_in, self.n_hidden, self.window = n_in, n_hidden, window
        self.action_kind, self.n_actions = action_kind, n_actions

    steps = property(lambda self: self.learner.steps)
    episodes = property(lambda self: self.learner.episodes)
    #: the network's input size (n_in, plus n_actions with prev_action, plus 1 with prev_reward)
    n_x = property(lambda self: self.learner.n_x)
    network = property(lambda self: self.learner.network)

    def act(self, obs):
        action = self.learner.act(real_array("obs", obs, (self.n_in,), np.float64))
        return int(action[0]) if self.action_kind == "discrete" else action

    def learn(self, reward: float, next_obs, terminated: bool, truncated: bool) -> None:
        reward = real_scalar("reward", reward)
        next_obs = real_array("next_obs", next_obs, (self.n_in,), np.float64)
        self.learner.learn(reward, next_obs, bool_flag("terminated", terminated),
                           bool_flag("truncated", truncated))
