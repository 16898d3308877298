"""The task registry of sweeps and reports: how each task is scored, and what counts as solved.

``task_info(name)`` gives a ``TaskInfo`` for every task ``rtu-edge train`` runs. A run's score is
computed from its ``metrics.csv`` (rtu_edge/train.py) by ``TaskInfo.final`` and ``TaskInfo.best``;
``reached`` and ``collapsed`` judge it. The entries:

====================  ==========  ======================================  =========================
task                  kind        score (final window)                    threshold
====================  ==========  ======================================  =========================
trace-conditioning    prediction  MSRE of the last metrics row (one        MSRE <= 0.5 x that of
trace-patterning                  --log-every window), lower is better     predicting zero
cartpole-p,           control     mean return of the last 20 episodes      400
cartpole-p-long
pendulum-p            control     mean return of the last 20 episodes      -400
memory-chain-<L>      control     mean return of the last 100 episodes     0.8 (90% correct recalls)
hopper-p, halfcheetah-p,          mean return of the last 20 episodes      none
walker2d-p, ant-p     control
popgym:<Name>         control     mean return of the last 100 episodes     none
a gymnasium id        control     mean return of the last 100 episodes     gymnasium's registered
                                                                           reward_threshold, if any
====================  ==========  ======================================  =========================

Why these thresholds:

- Prediction: predicting zero is the yardstick a learner must beat; a memoryless learner does not
  beat it on trace conditioning (README, "Learning results": 0.1895 against 0.1824), since the
  US arrives ~10 steps after the CS with distractors in between. Removing at least half of its
  error therefore needs memory. The threshold is relative (``baseline = "zero_msre"``, the MSRE
  of predicting zero over the same window, which train.py logs beside the learner's).
- cartpole-p: 400 of the 500 steps CartPole-v1 allows, the target of the learning results.
- pendulum-p: the cost per step is at least theta^2 (theta the angle from upright), so a pendulum
  left hanging scores about -200 pi^2 = -1974 over the 200 steps of an episode and one held
  upright 0; -400 asks for a swing-up held for most of the episode.
- memory-chain-<L>: each episode returns +1 (the bit recalled) or -1, so a mean return r is a
  fraction (r + 1) / 2 of correct recalls (``memory_chain.recall_rate``); 0.8 is 90% correct,
  where a learner blind to the context gets 50%.
- MuJoCo with velocities hidden: no published score exists for these position-only variants
  with a streaming learner; the report shows the scores only.
- POPGym: no threshold is published per environment; the report shows the scores only.

Collapse (``collapsed``): a run whose final score is worse than its best window by more than 10%.
Control: the final score below ``best - 0.1 |best|`` (for a positive best, below 90% of it), the
best being the best mean of 100 consecutive episodes (of all episodes if there are fewer). For
prediction the analogue is measured on the improvement over predicting zero, ``zero_msre -
msre``: the final window keeps less than 90% of the best window's improvement.

Adding a task: a ``TaskInfo`` in ``_FIXED`` (or a prefix rule in ``task_info``) whose ``score``
names the metrics.csv column train.py writes for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

#: the window of the best score of control tasks (and of the collapse test), in episodes
BEST_WINDOW = 100
#: a run collapsed if its final score keeps less than this fraction of its best
COLLAPSE_FRACTION = 0.9


@dataclass(frozen=True)
class TaskInfo:
    """How a task is scored.

    name: the task (as ``rtu-edge train --task`` takes it); kind: "prediction" or "control";
    score: the metrics.csv column scored ("msre" or "return"); threshold: the score that counts
    as solved (None: no threshold), relative to the ``baseline`` column when that is set;
    higher_is_better; final_window: metrics rows averaged for the final score (prediction: 1, a
    row being a window of --log-every steps; control: episodes); baseline: a metrics column with
    the score of a trivial predictor over the same window (prediction: "zero_msre"), or None.
    """

    name: str
    kind: str
    score: str
    threshold: Optional[float]
    higher_is_better: bool
    final_window: int  # prediction: 1 (describe() says so)
    baseline: Optional[str] = None

    def describe(self) -> str:
        """The score and threshold in words (report headers)."""
        if self.kind == "prediction":
            what = f"{self.score.upper()} of the final logged window, lower is better"
        else:
            what = f"mean {self.score} of the last {self.final_window} episodes"
        if self.threshold is None:
            return f"{what}; no threshold"
        if self.baseline is not None:
            return f"{what}; threshold {self.threshold:g} x {self.baseline}"
        return f"{what}; threshold {self.threshold:g}"

    def _column(self, rows: Sequence[dict], column: str) -> np.ndarray:
        return np.array([float(r[column]) for r in rows], dtype=float)

    def curve(self, rows: Sequence[dict]) -> tuple[np.ndarray, np.ndarray]:
        """(step, score) after each metrics row: the score of the final_window rows ending
        there (a running mean over episodes for control tasks)."""
        if not rows:
            return np.zeros(0), np.zeros(0)
        steps, values = self._column(rows, "step"), self._column(rows, self.score)
        w = min(self.final_window, len(values))
        cumulative = np.concatenate([[0.0], np.cumsum(values)])
        counts = np.minimum(np.arange(1, len(values) + 1), w)
        ends = np.arange(1, len(values) + 1)
        return steps, (cumulative[ends] - cumulative[ends - counts]) / counts

    def final(self, rows: Sequence[dict]) -> float:
        """The final score of a run's metrics rows; NaN if it has none."""
        values = self._column(rows, self.score)[-self.final_window:]
        return float(np.mean(values)) if len(values) else float("nan")

    def best(self, rows: Sequence[dict]) -> float:
        """The best window of a run: control, the best mean of BEST_WINDOW consecutive episodes
        (of all, if fewer); prediction, the best row."""
        values = self._column(rows, self.score)
        if not len(values):
            return float("nan")
        if self.kind == "control":
            w = min(BEST_WINDOW, len(values))
            values = np.convolve(values, np.ones(w) / w, "valid")
        return float(np.max(values) if self.higher_is_better else np.min(values))

    def reached(self, rows: Sequence[dict]) -> Optional[bool]:
        """Whether the final score meets the threshold (None: the task has none)."""
        if self.threshold is None or not rows:
            return None
        score = self.final(rows)
        bound = self.threshold
        if self.baseline is not None:
            bound *= float(np.mean(self._column(rows, self.baseline)[-self.final_window:]))
        return bool(score >= bound if self.higher_is_better else score <= bound)

    def collapsed(self, rows: Sequence[dict]) -> bool:
        """Whether the final score keeps less than COLLAPSE_FRACTION of the best (see the module
        docstring; prediction: of the best improvement over the baseline)."""
        if not rows:
            return False
        if self.baseline is not None:
            gain = self._column(rows, self.baseline) - self._column(rows, self.score)
            if self.higher_is_better:
                gain = -gain
            final = float(np.mean(gain[-self.final_window:]))
            best = float(np.max(gain))
        else:
            final, best = self.final(rows), self.best(rows)
            if not self.higher_is_better:
                final, best = -final, -best
        return final < best - (1 - COLLAPSE_FRACTION) * abs(best)


PREDICTION_THRESHOLD = 0.5  #: prediction tasks: MSRE at most half that of predicting zero

_FIXED = {
    **{name: TaskInfo(name, "prediction", "msre", PREDICTION_THRESHOLD, False, 1, "zero_msre")
       for name in ("trace-conditioning", "trace-patterning")},
    "cartpole-p": TaskInfo("cartpole-p", "control", "return", 400.0, True, 20),
    "cartpole-p-long": TaskInfo("cartpole-p-long", "control", "return", 400.0, True, 20),
    "pendulum-p": TaskInfo("pendulum-p", "control", "return", -400.0, True, 20),
}


#: MuJoCo tasks with velocities hidden (rtu_edge.tasks.mujoco_p): scores only
_FIXED.update({name: TaskInfo(name, "control", "return", None, True, 20)
               for name in ("hopper-p", "halfcheetah-p", "walker2d-p", "ant-p")})


def task_info(name: str) -> TaskInfo:
    """The TaskInfo of a task; ValueError naming it if no task of rtu_edge has that name.
    ``popgym:<Name>`` is accepted for any Name (make_env checks it when a run starts); a
    gymnasium id is accepted if gymnasium has it registered."""
    if not isinstance(name, str):
        raise ValueError(f"task must be a string, got {name!r}")
    if name in _FIXED:
        return _FIXED[name]
    known = ", ".join([*_FIXED, "memory-chain-<L>", "popgym:<Name>", "a gymnasium id"])
    try:
        from .control import POPGYM_PREFIX, gym
    except ImportError:  # gymnasium missing: the control tasks are unknown here
        raise ValueError(f"unknown task {name!r} (known: {known})") from None
    if name.startswith(POPGYM_PREFIX) and len(name) > len(POPGYM_PREFIX):
        return TaskInfo(name, "control", "return", None, True, 100)
    from . import memory_chain
    if name.startswith(memory_chain.PREFIX):
        memory_chain.memory_length(name)  # ValueError naming the task for a bad length
        return TaskInfo(name, "control", "return", memory_chain.RETURN_THRESHOLD, True,
                        memory_chain.SCORE_EPISODES)
    try:
        spec = gym.spec(name)
    except gym.error.Error:
        raise ValueError(f"unknown task {name!r} (known: {known})") from None
    return TaskInfo(name, "control", "return", spec.reward_threshold, True, 100)
