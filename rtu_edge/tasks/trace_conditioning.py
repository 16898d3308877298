"""Classical-conditioning prediction tasks of Rafiee et al., "From eye-blinks to state construction:
diagnostic benchmarks for online representation learning" (Adaptive Behavior, 2022).

A task is an endless stream of binary observations. The learner predicts, at every step, the
discounted sum of the future US (the "unconditioned stimulus", e.g. an air puff): the CS (the
"conditioned stimulus", e.g. a tone) announces the US some ISI steps ahead, but the CS is off again
before the US comes, so the gap must be bridged by memory. Distractors are irrelevant inputs.

Time and returns (the convention used by every function here)
-------------------------------------------------------------
Steps are numbered t = 0, 1, 2, ...  ``reset()`` returns x_0; the n-th ``step()`` returns
``(x_n, C_n)`` where the cumulant C_n = x_n[0] is the US entry of the observation of that same step.
The learner's prediction v_t is made after it has seen x_t, and its target is the return

    G_t = sum_{k >= 1} gamma^(k-1) C_{t+k} = C_{t+1} + gamma * G_{t+1},

which starts with the cumulant that arrives *with the next observation*. This is the target of
TD(lambda) with delta_t = C_{t+1} + gamma v_{t+1} - v_t (rtu-spec section 3). ``rollout`` returns
``observations[t] = x_t`` and ``cumulants[t] = C_t = observations[t, 0]``, so
``discounted_returns(cumulants, gamma)[t]`` is the target of the prediction made from
``observations[:t + 1]``.

Stream (both tasks)
-------------------
- Trials. The first trial's CS onset is at t = 0. A trial with CS onset s draws its
  ISI_i ~ U{ISI - floor(ISI/3), ..., ISI + floor(ISI/3)} and ITI_i ~ U{80, ..., 120} (uniform
  integers, bounds included). The CS is on at steps s .. s+3 (4 steps); the US, when the trial has
  one, is on at steps s + ISI_i and s + ISI_i + 1 (2 steps). The next trial's CS onset is at
  s + ISI_i + ITI_i: the inter-trial interval is measured from the US *onset* (as in the authors'
  public code), so exactly ITI_i - 2 steps lie strictly between the last US step of a trial and the
  next CS onset (78 to 118 steps). For ISI = 3 or 4 the shortest ISI_i are below 4, and then the
  US overlaps the last step(s) of the CS.
- Distractors. Distractor k (k = 0 .. n_distractors-1) is on for 4 steps at a time. At every step
  t at which it is not active (its last 4-step activation, if any, ended before t), it switches on
  with probability p_k = 1 / (10 (k + 1)), and is then on at t .. t+3. So its off-gaps are
  independent Geometric(p_k) numbers of steps counting from 0 (two activations may follow each
  other directly: an 8-step run is two activations). All distractors start inactive at t = 0 and
  are independent of each other and of the trials.
- Cumulant: C_t = US_t. Discount: gamma = 1 - 1/ISI.

Randomness. Everything is drawn with ``numpy.random.default_rng`` from children of
``numpy.random.SeedSequence(seed)``: child 0 for the trials (ISI_i, ITI_i, pattern), child 1 for
the choice of positive patterns (TracePatterning), child 2 + k for distractor k. Each process draws
in fixed-size batches, so the stream is a pure function of (class, isi, seed, n_distractors): the
same seed gives the same stream, whether it is read by ``step()``, by ``rollout()`` or in blocks
by ``observations()``, and ``reset()`` starts the same stream again. Events are forgotten once
they end before the block being rendered, so reading a stream takes memory of one block.

Metric. ``msre`` is the mean squared return error of Rafiee et al.; see its docstring for how the
truncated returns at the end of a finite stream are left out.
"""

from __future__ import annotations

import itertools
import math
import numbers
from typing import Tuple, Union

import numpy as np

__all__ = ["TraceConditioning", "TracePatterning", "rollout", "discounted_returns", "msre",
           "streamed_msre"]

CS_STEPS = 4                #: steps a CS stays on
US_STEPS = 2                #: steps the US stays on
DISTRACTOR_STEPS = 4        #: steps a distractor stays on once switched on
ITI_RANGE = (80, 120)       #: inter-trial interval bounds (inclusive), from US onset to next CS onset
RETURN_HORIZON = 10.0       #: msre leaves out the last ceil(RETURN_HORIZON / (1 - gamma)) steps

_TRIAL_BATCH = 64           # trials drawn per refill (fixed: it fixes the stream for a seed)
_ONSET_BATCH = 256          # distractor activations drawn per refill (fixed, likewise)
_CHUNK = 1024               # steps rendered at once for step()


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class _ConditioningTask:
    """Shared machinery: trial and distractor schedules, rendered to observations on demand."""

    n_cs = 1

    def __init__(self, isi: int = 10, seed: int = 0, n_distractors: int = 10):
        self.isi = _check_int("isi", isi, 3)
        self.seed = _check_int("seed", seed, 0)
        self.n_distractors = _check_int("n_distractors", n_distractors, 0)
        half = self.isi // 3
        self.isi_range: Tuple[int, int] = (self.isi - half, self.isi + half)
        self.iti_range: Tuple[int, int] = ITI_RANGE
        self.gamma: float = 1.0 - 1.0 / self.isi
        self.obs_size: int = 1 + self.n_cs + self.n_distractors
        self.distractor_probs = 1.0 / (10.0 * np.arange(1, self.n_distractors + 1))
        self._seeds = np.random.SeedSequence(self.seed).spawn(2 + self.n_distractors)
        # Pattern table: row j = CS on/off of pattern j; positive[j]: the US follows pattern j.
        self._cs_table = np.ones((1, 1), dtype=bool)
        self._positive = np.ones(1, dtype=bool)
        self._time = None

    # ---------------------------------------------------------------- public API
    def reset(self) -> np.ndarray:
        """Start the stream from its beginning (the same stream for the same seed).

        Returns
        -------
        x_0 : ndarray, shape (obs_size,), float64, entries in {0, 1}
            [US, CS..., distractors...] at step 0 (the first CS is on at step 0).
        """
        self._restart()
        self._time = 0
        return self._row(0)

    def step(self) -> Tuple[np.ndarray, float]:
        """Advance one step.

        Returns
        -------
        x : ndarray, shape (obs_size,), float64
            The observation x_{t+1}.
        cumulant : float
            C_{t+1} = x[0], the US at that step (0.0 or 1.0).
        """
        if self._time is None:
            raise RuntimeError("call reset() before step()")
        self._time += 1
        x = self._row(self._time)
        return x, float(x[0])

    def observations(self, start: int, stop: int) -> np.ndarray:
        """The observations x_start .. x_{stop-1} at once, shape (stop - start, obs_size): the
        rows ``rollout(task, stop)[0][start:]``, generated without keeping the steps before
        start, so that a stream read in consecutive blocks takes memory of one block, however
        long it runs. Reading forward from the previous block's start costs only the new steps;
        an earlier start restarts the stream. Leaves the task at step stop - 1 (as ``rollout``
        does: a later ``step()`` returns x_stop)."""
        start = _check_int("start", start, 0)
        stop = _check_int("stop", stop, start + 1)
        if self._time is None or start < self._known_from:
            self._restart()
        obs = self._render(start, stop)
        self._time, self._chunk = stop - 1, None
        return obs

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(isi={self.isi}, seed={self.seed}, "
                f"n_distractors={self.n_distractors})")

    # ---------------------------------------------------------------- schedules
    def _restart(self) -> None:
        self._trial_rng = np.random.default_rng(self._seeds[0])
        self._d_rngs = [np.random.default_rng(s) for s in self._seeds[2:]]
        empty = np.zeros(0, dtype=np.int64)
        self._onsets, self._isis, self._patterns = empty, empty, empty
        self._next_onset = 0                                  # onset of the next undrawn trial
        self._d_onsets = [empty] * self.n_distractors
        self._d_free = [0] * self.n_distractors               # first step of the undrawn off-gap
        self._chunk, self._chunk_start = None, 0
        self._known_from = 0                                  # events ended before it are gone

    def _draw_patterns(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.zeros(n, dtype=np.int64)

    def _extend(self, end: int, keep_from: int = 0) -> None:
        """Draw trials and activations until every one with onset < end is known, forgetting
        after each batch those ended before keep_from (so memory does not grow with end)."""
        lo, hi = self.isi_range
        while self._next_onset < end:
            rng = self._trial_rng
            isis = rng.integers(lo, hi + 1, _TRIAL_BATCH)
            itis = rng.integers(ITI_RANGE[0], ITI_RANGE[1] + 1, _TRIAL_BATCH)
            pats = self._draw_patterns(rng, _TRIAL_BATCH)
            periods = np.cumsum(isis + itis)
            onsets = self._next_onset + np.concatenate(([0], periods[:-1]))
            self._next_onset += int(periods[-1])
            self._onsets = np.concatenate((self._onsets, onsets))
            self._isis = np.concatenate((self._isis, isis))
            self._patterns = np.concatenate((self._patterns, pats))
            self._forget_trials(keep_from)
        for k in range(self.n_distractors):
            while self._d_free[k] < end:
                gaps = self._d_rngs[k].geometric(self.distractor_probs[k], _ONSET_BATCH) - 1
                periods = np.cumsum(gaps + DISTRACTOR_STEPS)
                onsets = self._d_free[k] + periods - DISTRACTOR_STEPS
                self._d_free[k] += int(periods[-1])
                self._d_onsets[k] = np.concatenate((self._d_onsets[k], onsets))
                self._forget_distractor(k, keep_from)

    def _forget_trials(self, a: int) -> None:
        """Drop the trials that end before a (end = onset + ISI_i + 2 >= onset + 4)."""
        first = int(np.searchsorted(self._onsets + self._isis + US_STEPS, a, side="right"))
        self._onsets, self._isis, self._patterns = (
            self._onsets[first:], self._isis[first:], self._patterns[first:])

    def _forget_distractor(self, k: int, a: int) -> None:
        """Drop the activations of distractor k that end before a."""
        d = self._d_onsets[k]
        self._d_onsets[k] = d[np.searchsorted(d + DISTRACTOR_STEPS, a, side="right"):]

    def _render(self, a: int, b: int) -> np.ndarray:
        """Observations of steps a .. b-1, shape (b - a, obs_size). Forgets events ended before a."""
        self._extend(b, a)
        self._known_from = a
        obs = np.zeros((b - a, self.obs_size))
        # trials: those that end after a and start before b
        self._forget_trials(a)
        last = int(np.searchsorted(self._onsets, b, side="left"))
        onsets, isis, pats = self._onsets[:last], self._isis[:last], self._patterns[:last]
        t = onsets[:, None, None] + np.arange(CS_STEPS)[None, :, None]        # (m, 4, 1)
        col = np.broadcast_to(np.arange(self.n_cs), (len(onsets), CS_STEPS, self.n_cs))
        on = self._cs_table[pats][:, None, :] & (t >= a) & (t < b)            # (m, 4, n_cs)
        obs[np.broadcast_to(t, on.shape)[on] - a, 1 + col[on]] = 1.0
        us = (onsets + isis)[self._positive[pats]][:, None] + np.arange(US_STEPS)
        us = us[(us >= a) & (us < b)]
        obs[us - a, 0] = 1.0
        for k in range(self.n_distractors):
            self._forget_distractor(k, a)
            d = self._d_onsets[k]
            d = d[:np.searchsorted(d, b, side="left")]
            t = (d[:, None] + np.arange(DISTRACTOR_STEPS)).ravel()
            t = t[(t >= a) & (t < b)]
            obs[t - a, 1 + self.n_cs + k] = 1.0
        return obs

    def _row(self, t: int) -> np.ndarray:
        if self._chunk is None or not (self._chunk_start <= t < self._chunk_start + len(self._chunk)):
            self._chunk, self._chunk_start = self._render(t, t + _CHUNK), t
        return self._chunk[t - self._chunk_start].copy()


class TraceConditioning(_ConditioningTask):
    """Trace conditioning (Rafiee et al. 2022): one CS announces the US ISI steps ahead.

    Parameters
    ----------
    isi : int, >= 3
        Mean inter-stimulus interval (CS onset to US onset); each trial draws
        ISI_i ~ U{isi - floor(isi/3), ..., isi + floor(isi/3)}. Also sets gamma = 1 - 1/isi.
    seed : int, >= 0
        Seed of the stream (see the module docstring for how it is used).
    n_distractors : int, >= 0
        Number of distractor inputs; distractor k switches on with probability 1/(10(k+1)).

    Attributes
    ----------
    obs_size : int
        2 + n_distractors (12 by default).
    gamma : float
        1 - 1/isi.
    isi_range, iti_range : (int, int)
        Inclusive bounds of the per-trial ISI and ITI (ITI: US onset to the next CS onset).
    distractor_probs : ndarray, shape (n_distractors,)
        Per-step switch-on probability of each distractor.

    Observation layout: ``[US, CS, distractor_0, ..., distractor_{n-1}]``, float64 in {0, 1}.
    Every trial is followed by the US. Timing and return conventions: module docstring.
    """


class TracePatterning(_ConditioningTask):
    """Trace patterning (Rafiee et al. 2022): the US follows only some patterns of 6 CS.

    Every trial turns on exactly 3 of the 6 CS together (for 4 steps). The 20 possible patterns
    are numbered in the lexicographic order of ``itertools.combinations(range(6), 3)`` (pattern 0
    = CS 0, 1, 2). The task seed chooses 10 of the 20 as positive (uniformly at random without
    replacement, with ``default_rng`` on child 1 of ``SeedSequence(seed)``; fixed for the life of
    the task, see ``patterns`` and ``positive``). Each trial's pattern is drawn uniformly from all
    20, independently; a positive trial is followed by the US (2 steps from CS onset + ISI_i), a
    negative trial by nothing. The timing of the next trial is the same either way (next CS onset
    at CS onset + ISI_i + ITI_i), so only the pattern tells whether the US comes. Distractors,
    ISI, ITI and gamma are as in :class:`TraceConditioning`.

    Parameters
    ----------
    isi, seed, n_distractors
        As for :class:`TraceConditioning`.

    Attributes
    ----------
    obs_size : int
        7 + n_distractors (17 by default). Layout ``[US, CS_0..CS_5, distractor_0..]``.
    patterns : ndarray, shape (20, 6), float64
        Row j holds the CS of pattern j (three ones).
    positive : ndarray, shape (20,), bool
        positive[j]: pattern j is followed by the US. Exactly 10 are True.
    gamma, isi_range, iti_range, distractor_probs
        As for :class:`TraceConditioning`.
    """

    n_cs = 6
    n_on = 3
    n_positive = 10

    def __init__(self, isi: int = 10, seed: int = 0, n_distractors: int = 10):
        super().__init__(isi, seed, n_distractors)
        combos = list(itertools.combinations(range(self.n_cs), self.n_on))
        table = np.zeros((len(combos), self.n_cs), dtype=bool)
        for j, c in enumerate(combos):
            table[j, list(c)] = True
        chosen = np.random.default_rng(self._seeds[1]).choice(len(combos), self.n_positive,
                                                               replace=False)
        self._cs_table = table
        self._positive = np.zeros(len(combos), dtype=bool)
        self._positive[chosen] = True

    @property
    def patterns(self) -> np.ndarray:
        return self._cs_table.astype(np.float64)

    @property
    def positive(self) -> np.ndarray:
        return self._positive.copy()

    def _draw_patterns(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.integers(0, len(self._cs_table), n)


Task = Union[TraceConditioning, TracePatterning]


def rollout(task: Task, steps: int) -> Tuple[np.ndarray, np.ndarray]:
    """Reset ``task`` and generate its first ``steps`` steps at once (vectorised).

    The result is exactly what ``task.reset()`` followed by ``steps - 1`` calls of ``task.step()``
    gives, and the task is left at step ``steps - 1``: a later ``task.step()`` returns x_steps.

    Parameters
    ----------
    task : TraceConditioning or TracePatterning
    steps : int, >= 1
        T, the number of observations.

    Returns
    -------
    observations : ndarray, shape (T, obs_size), float64
        observations[t] = x_t.
    cumulants : ndarray, shape (T,), float64
        cumulants[t] = C_t = observations[t, 0] (the US at step t).
    """
    if not isinstance(task, _ConditioningTask):
        raise ValueError(f"task must be a TraceConditioning or TracePatterning, got {task!r}")
    steps = _check_int("steps", steps, 1)
    task.reset()
    obs = task.observations(0, steps)
    return obs, obs[:, 0].copy()


def _check_gamma(gamma) -> float:
    if isinstance(gamma, (bool, np.bool_)) or not isinstance(gamma, numbers.Real) \
            or not 0.0 <= float(gamma) < 1.0:
        raise ValueError(f"gamma must be a real number in [0, 1), got {gamma!r}")
    return float(gamma)


def _check_series(name: str, a) -> np.ndarray:
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a 1-D array of real numbers: {err}") from err
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (shape (T,)), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or Inf")
    return arr


def discounted_returns(cumulants, gamma: float) -> np.ndarray:
    """Returns G_t = sum_{k>=1} gamma^(k-1) C_{t+k} of a finite stream, computed backwards.

    Parameters
    ----------
    cumulants : array_like, shape (T,)
        cumulants[t] = C_t, the cumulant that arrives with observation x_t (as from ``rollout``).
    gamma : float in [0, 1)

    Returns
    -------
    G : ndarray, shape (T,), float64
        G[T-1] = 0 and G[t] = C_{t+1} + gamma G[t+1]: the target of the prediction v_t made after
        x_t. The sum is truncated at the end of the stream, so G[t] falls short of the infinite
        return by gamma^(T-1-t) times the return from step T-1 (``msre`` leaves those steps out).
    """
    c = _check_series("cumulants", cumulants)
    gamma = _check_gamma(gamma)
    out = [0.0] * len(c)
    g = 0.0
    cl = c.tolist()
    for t in range(len(cl) - 2, -1, -1):
        g = cl[t + 1] + gamma * g
        out[t] = g
    return np.array(out, dtype=np.float64)


def return_horizon(gamma: float) -> int:
    """H = ceil(RETURN_HORIZON / (1 - gamma)), with a 1e-9 slack so that gamma = 1 - 1/ISI gives
    10 ISI exactly: the steps after which a return is complete to within e^-10 (``msre`` leaves
    out the last H steps; the learners' windows end H steps back)."""
    return math.ceil(RETURN_HORIZON / (1.0 - gamma) - 1e-9)


def msre(predictions, cumulants, gamma: float) -> float:
    """Mean squared return error: mean over t of (v_t - G_t)^2, without the truncated tail.

    Parameters
    ----------
    predictions : array_like, shape (T,)
        predictions[t] = v_t, made after observing x_t.
    cumulants : array_like, shape (T,)
        cumulants[t] = C_t (as from ``rollout``); G = ``discounted_returns(cumulants, gamma)``.
    gamma : float in [0, 1)

    Returns
    -------
    float
        mean_{t < T - H} (v_t - G_t)^2 with H = ceil(RETURN_HORIZON / (1 - gamma)) = ceil(10/(1-gamma))
        (computed with a 1e-9 slack, so gamma = 1 - 1/ISI gives H = 10 ISI exactly; H = 100 for the
        default ISI 10). The last H steps are left out because their returns are cut short by the
        end of the stream; for the kept steps the cut changes G_t by at most
        gamma^H * max|C| / (1 - gamma) <= e^-10 * max|C| / (1 - gamma).
        Raises ValueError (naming cumulants) if T <= H.
    """
    c = _check_series("cumulants", cumulants)
    v = _check_series("predictions", predictions)
    if v.shape != c.shape:
        raise ValueError(f"predictions must have the shape of cumulants {c.shape}, got {v.shape}")
    gamma = _check_gamma(gamma)
    horizon = return_horizon(gamma)
    if len(c) <= horizon:
        raise ValueError(f"cumulants must be longer than the left-out tail of {horizon} steps "
                         f"(ceil(10/(1-gamma))), got {len(c)}")
    n = len(c) - horizon
    err = v[:n] - discounted_returns(c, gamma)[:n]
    return float(np.mean(err * err))


def streamed_msre(predict, task: Task, steps: int, block: int = 10000) -> Tuple[float, float]:
    """``msre`` of the predictions ``predict(X, C)`` makes over the first steps of task's
    stream (read by ``observations`` in blocks; predict is called on them in order), and that of
    predicting zero, without keeping the stream: memory O(block + 40 / (1 - gamma)) whatever
    steps. Each error is summed once the return it needs is known to within float64 rounding:
    40 / (1 - gamma) steps later (gamma^k <= e^-40 beyond), or at the stream's end, where the
    returns are truncated as msre's are. Equals ``msre`` over ``rollout(task, steps)`` to within
    rounding. ValueError (naming steps) if steps <= H, the left-out tail."""
    steps = _check_int("steps", steps, 1)
    block = _check_int("block", block, 1)
    horizon = return_horizon(task.gamma)
    if steps <= horizon:
        raise ValueError(f"steps must be more than the left-out tail of {horizon} steps "
                         f"(ceil(10/(1-gamma))), got {steps}")
    ahead = max(horizon, math.ceil(40.0 / (1.0 - task.gamma)))
    error = zero = 0.0
    v, c = np.zeros(0), np.zeros(0)  # predictions and cumulants not summed yet
    for t in range(0, steps, block):
        X = task.observations(t, min(t + block, steps))
        v = np.concatenate((v, np.asarray(predict(X, X[:, 0]), dtype=np.float64)))
        c = np.concatenate((c, X[:, 0]))
        n = len(v) - (horizon if t + block >= steps else ahead)
        if n > 0:
            g = discounted_returns(c, task.gamma)[:n]
            error += float(np.sum((v[:n] - g) ** 2))
            zero += float(np.sum(g * g))
            v, c = v[n:], c[n:]
    return error / (steps - horizon), zero / (steps - horizon)
