"""Training runs for the command line: `rtu-edge train`, `eval` and `demo`.

A run directory holds ``config.json`` (the run's settings), ``metrics.csv`` (one row per logged
window or episode), ``curve.png`` (the learning curve) and ``checkpoint.rtu`` (the learner). Every
file but metrics.csv is replaced atomically (a temporary file beside it, renamed over it:
checkpoint.write_atomic); metrics.csv is appended to, a row at a time, each row written before
the checkpoint that follows it. A run killed at any point (kill -9) leaves a checkpoint that loads
and the config.json of that run; the temporary files it may leave are removed when it is resumed
(or a run started in its directory).

``--resume`` continues a run as it was: its settings come from its config.json (a setting given
again with another value is refused; the steps, the checkpoint interval and the backend may
change), its learner from its checkpoint, and metrics.csv is cut back to the rows the checkpoint
had seen, so that no row is written twice and, the learner being deterministic, the resumed
run's files are those of a run never interrupted.

Prediction tasks (trace-conditioning, trace-patterning) train TDLambda on the task's stream, which
is a pure function of the seed, read in blocks (the memory a run takes does not depend on
--steps), so a resumed run regenerates it from the learner's step count. A metrics row needs the
predictions of the H steps before it (its window ends H steps before its step count), so the
checkpoints taken during a run (every --checkpoint-every steps, on Ctrl-C) hold the learner of
H steps earlier, the start of the next row's window: a resumed run learns those steps again, and
writes every row an uninterrupted run would. The checkpoint at the end of a run holds its last
step; beside it ``resume.rtu`` holds the learner at the start of the window of the row a longer
run writes next, from which ``--resume --steps`` (more steps) goes on, so that an extended run's
files too are those of a run of that length (the first checkpoint the extended run writes
removes it). Control tasks train ActorCritic; the environment's own state cannot be saved, so
checkpoints are written at episode ends (the first one after every --checkpoint-every steps, and
at the end of the run or on Ctrl-C), and episode i is reset with seed (seed, i): a resumed run
continues exactly where the saved one would have.

``--algo ppo`` trains the same network by PPO with RTRL (rtu_edge.ppo) on a vector environment
of n_envs; its checkpoints are taken between updates and are actor-critic checkpoints (the
hand-off's file: ``rtu-edge eval``, the Pi and the Cortex-M examples take them); beside each,
``adam.rtu`` holds Adam's state of the same step (written first). A resumed PPO run goes on with
that Adam state, at its place in the annealed step size's schedule (that of its --steps; resumed
with more steps, the step size a run of that length has there), but starts every environment's
episode again (an environment's state cannot be saved) and shuffles its minibatches from
another seed, so unlike an actor-critic run it is not the run that was never interrupted.

A learner that diverges (its parameters or state become non-finite: FloatingPointError from the
learner) stops the run with ``Diverged``, a one-line message naming the step and the run
directory; checkpoint.rtu then holds the last good state: the latest checkpoint taken, or the
learner's state at the start of the run if none was.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import shutil
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from . import checkpoint
from ._extras import require
from .ac import ActorCritic
from .ppo import PPO, make_vector_env, train_ppo
from .baselines import GRUActorCritic, GRUTDLambda
from .flops import flops_per_step
from .reference.ac import GRUAC
from .reference import ACTIVATIONS, KINDS
from .reference.cell import MAX_DIM
from .reference.config import ACConfig, ACNetwork, PPOConfig, TDConfig, memoryless_fields
from .reference.cell import check_size, size_rule
from .td import TDLambda

PREDICTION_TASKS = ("trace-conditioning", "trace-patterning")
#: what learns: the RTU learner, or a baseline of rtu_edge.baselines (the same learner without
#: recurrence; the same learner with a GRU trained by truncated BPTT; a random policy on control
#: tasks; predicting zero, or the pattern-aware lookup table, on prediction tasks)
AGENTS = {"prediction": ("rtu", "memoryless", "gru", "zero", "lookup"),
          "control": ("rtu", "memoryless", "gru", "random")}
CHECKPOINT = "checkpoint.rtu"
#: a finished prediction run's learner at the start of the next row's window (train_prediction)
RESUME = "resume.rtu"
#: a PPO run's Adam state (rtu_ckpt.h's learner type 3) beside CHECKPOINT, of the same step
ADAM = "adam.rtu"
CONFIG = "config.json"
METRICS = "metrics.csv"
CURVE = "curve.png"
#: the files of a run (and its tensorboard directory, TENSORBOARD, with --tensorboard)
RUN_FILES = (CONFIG, CHECKPOINT, RESUME, ADAM, METRICS, CURVE)
#: RunConfig fields that a resumed run may change (the others are the run's as it was)
RESUMABLE = ("steps", "checkpoint_every", "backend")
BACKENDS = ("c", "reference")
#: how the control tasks' network learns: the streaming actor-critic AC(lambda), or PPO with RTRL
ALGOS = ("ac", "ppo")
DTYPES = ("float32", "float64")
#: the gru agent's window of truncated BPTT when none is given
DEFAULT_BPTT_WINDOW = 8


def keeps_checkpoints(agent: str, kind: str) -> bool:
    """The RTU learner keeps checkpoints, and so does the memoryless actor-critic (an
    ActorCritic); the other baselines keep none, so a run of one cannot resume."""
    return agent == "rtu" or (agent == "memoryless" and kind == "control")


def default_activation(task: str) -> str:
    """relu predicted trace conditioning best; with relu the actor-critic collapsed on CartPole."""
    return "relu" if task in PREDICTION_TASKS else "tanh"


def default_kind(task: str) -> str:
    """The nonlinear RTU for TD(lambda) on the prediction tasks (the trace results were measured
    with it); the linear RTU for the actor-critic, which held a memory longer and learned CartPole-P
    on more training seeds (benchmarks/sweeps/network_settings.toml)."""
    return "nonlinear" if task in PREDICTION_TASKS else "linear"


@dataclass
class RunConfig:
    """The arguments of a run (config.json)."""

    task: str
    steps: int
    hidden: int = 32
    #: the RTU kind and activation; None: the task's default (default_kind, default_activation)
    kind: Optional[str] = None
    activation: Optional[str] = None
    backend: str = "c"
    dtype: str = "float32"
    seed: int = 0
    checkpoint_every: int = 50000
    log_every: int = 10000
    #: "rtu", or a baseline (AGENTS; keeps_checkpoints says which can resume)
    agent: str = "rtu"
    #: the gru agent's window T of truncated BPTT (default DEFAULT_BPTT_WINDOW); None for the
    #: other agents
    bptt_window: Optional[int] = None
    #: the learner's hyperparameters (fields of TDConfig for the prediction tasks, of ACConfig for
    #: the control tasks); those not given take the config's defaults (TD: gamma is the task's)
    learner: dict = field(default_factory=dict)
    #: the actor-critic's network (fields of ACNetwork; control tasks only); those not given take
    #: ACNetwork's defaults (the memoryless agent's is memoryless)
    network: dict = field(default_factory=dict)
    #: "ac" (the streaming actor-critic) or "ppo" (PPO with RTRL; control tasks, the rtu and
    #: memoryless agents)
    algo: str = "ac"
    #: PPO's settings (fields of PPOConfig; algo "ppo" only); those not given take its defaults
    ppo: dict = field(default_factory=dict)
    #: recorded by train, not an argument: the FLOPs per step of the learner's recurrent cells
    #: (learner_flops); None for a baseline without one
    flops_per_step: Optional[int] = None

    def __post_init__(self):
        """The defaults of kind, activation and bptt_window; ValueError starting with
        bptt_window if it is not an integer >= 1 or is given to another agent than gru."""
        if self.kind is None:
            self.kind = default_kind(self.task)
        if self.activation is None:
            self.activation = default_activation(self.task)
        if self.agent != "gru":
            if self.bptt_window is not None:
                raise ValueError(f"bptt_window goes with the gru agent, not with {self.agent}")
        elif self.bptt_window is None:
            self.bptt_window = DEFAULT_BPTT_WINDOW
        else:
            self.bptt_window = check_size("bptt_window", self.bptt_window, 1)

    def learner_config(self, task_gamma: float = None):
        """The learner's config: TDConfig (prediction; gamma defaults to the task's, task_gamma or
        make_prediction_task's) or ACConfig, with the fields of ``learner``. ValueError naming a
        field the learner does not have."""
        cls = TDConfig if self.task in PREDICTION_TASKS else ACConfig
        names = {f.name for f in dataclasses.fields(cls)}
        every = {f.name for c in (TDConfig, ACConfig) for f in dataclasses.fields(c)}
        for key in self.learner:
            if key not in every:
                raise ValueError(f"{key} is not a learner hyperparameter (TD(lambda): "
                                 f"{', '.join(f.name for f in dataclasses.fields(TDConfig))}; "
                                 "the actor-critic: "
                                 f"{', '.join(f.name for f in dataclasses.fields(ACConfig))})")
            if key not in names:
                other = "control tasks (the actor-critic)" if cls is TDConfig else \
                    "prediction tasks (TD(lambda))"
                raise ValueError(f"{key} applies to {other}, not to {self.task}")
        if task_gamma is None and cls is TDConfig:
            task_gamma = make_prediction_task(self).gamma
        base = cls(gamma=task_gamma) if task_gamma is not None else cls()
        return dataclasses.replace(base, **self.learner)

    def ppo_config(self) -> Optional[PPOConfig]:
        """PPO's PPOConfig (algo "ppo"), checked, with the fields of ``ppo``; None for algo
        "ac". ValueError starting with the name of the field at fault."""
        names = {f.name for f in dataclasses.fields(PPOConfig)}
        for key in self.ppo:
            if key not in names:
                raise ValueError(f"{key} is not a PPO setting ({', '.join(sorted(names))})")
            if self.algo != "ppo":
                raise ValueError(f"{key} is a PPO setting: it goes with --algo ppo")
        if self.algo != "ppo":
            return None
        cfg = PPOConfig(**self.ppo)
        cfg.check()
        return cfg

    def network_config(self) -> ACNetwork:
        """The actor-critic's ACNetwork, with the fields of ``network`` (the memoryless agent's
        is memoryless). ValueError naming a field that is not ACNetwork's, a network for a
        prediction task, or a memoryless agent given memoryless false."""
        names = {f.name for f in dataclasses.fields(ACNetwork)}
        for key in self.network:
            if key not in names:
                raise ValueError(f"{key} is not a field of the actor-critic's network "
                                 f"({', '.join(sorted(names))})")
            if self.task in PREDICTION_TASKS:
                raise ValueError(f"{key} applies to control tasks (the actor-critic's network), "
                                 f"not to {self.task}")
        if self.agent == "gru" and self.task not in PREDICTION_TASKS:
            network = ACNetwork(**self.network)
            GRUAC.check_network(network)
            return network
        if self.agent != "memoryless" or self.task in PREDICTION_TASKS:
            return ACNetwork(**self.network)
        return ACNetwork(**memoryless_fields(self.network, "the memoryless agent"))


class Interrupted(Exception):
    """Ctrl-C or SIGTERM arrived; the run stops at the next safe point."""


class Diverged(ValueError):
    """The learner diverged; the message (one line) names the step, the run directory and the
    checkpoint of the last good state."""


class LastGood:
    """The latest checkpoint of a run's learner (the run's checkpoint.rtu), kept as bytes so that a
    learner that diverges leaves its last good state on disk."""

    def __init__(self, learner, path: Path):
        self.learner, self.path = learner, path
        self.data = learner.checkpoint_bytes() if _checkpointed(learner) else None
        self.steps = learner.steps
        # PPO: Adam's state of the same step, in ADAM beside path (written before it)
        self.adam = learner.adam_bytes() if isinstance(learner, PPO) else None

    def save(self, data: Optional[bytes] = None, steps: Optional[int] = None) -> None:
        """Checkpoint a good state to path: the learner's now, or data, its checkpoint at steps
        taken earlier in the run."""
        if _checkpointed(self.learner):
            if data is None:
                data, steps = self.learner.checkpoint_bytes(), self.learner.steps
                if self.adam is not None:
                    self.adam = self.learner.adam_bytes()
            self.data, self.steps = data, steps
            self._write()

    def keep(self) -> None:
        """Make sure path holds the last good state (a run that has not checkpointed yet)."""
        if self.data is not None and any(
                data is not None and (not p.exists() or p.read_bytes() != data)
                for p, data in ((self.path, self.data), (self.path.with_name(ADAM), self.adam))):
            self._write()

    def _write(self) -> None:
        """path := data (PPO: its Adam state first); a finished run's resume.rtu beside it no
        longer goes with it."""
        if self.adam is not None:
            checkpoint.write_atomic(self.path.with_name(ADAM), self.adam, what="Adam state")
        checkpoint.write_atomic(self.path, self.data)
        self.path.with_name(RESUME).unlink(missing_ok=True)

    def diverged(self, err: ArithmeticError, out: Path) -> Diverged:
        """Leave the last good state at path; the one-line error of the run (out its
        directory)."""
        what = " ".join(str(err).split()) or type(err).__name__
        text = f"the learner diverged at step {self.learner.steps + 1} ({what})"
        if self.data is None:
            return Diverged(f"{text}; run directory {out}")
        self.keep()
        return Diverged(f"{text}; its last good state (step {self.steps}) is {self.path}")


def _checkpointed(learner) -> bool:
    """The learner keeps checkpoints: TDLambda and ActorCritic (the memoryless actor-critic is
    one); the other baselines keep none."""
    return isinstance(learner, (TDLambda, ActorCritic, PPO))


class _StopFlag:
    """Turns SIGINT/SIGTERM into a flag checked between steps, so that a checkpoint is never
    half-written and the learner is never left between act and learn."""

    def __init__(self):
        self.raised = False

    def __enter__(self):
        self.previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        for s in self.previous:
            signal.signal(s, self._handle)
        return self

    def _handle(self, signum, frame):
        self.raised = True

    def __exit__(self, *exc):
        for s, handler in self.previous.items():
            signal.signal(s, handler)
        return False


def _progress(total: int, initial: int, enabled: bool):
    from tqdm import tqdm
    return tqdm(total=total, initial=initial, disable=not enabled, unit="step", smoothing=0.05,
                dynamic_ncols=True)


#: the run directory's TensorBoard log (``rtu-edge train --tensorboard``)
TENSORBOARD = "tensorboard"


class Metrics:
    """metrics.csv, a row at a time; with tensorboard (a directory) every row's values but its
    step also go there as TensorBoard scalars at that step (tensorboardX's SummaryWriter, from
    rtu_edge[tensorboard]; a resumed run adds an event file beside the first).

    A resumed run (keep given) keeps the file's leading rows that keep(row) accepts, those its
    checkpoint had seen, and drops the rest (rows written after that checkpoint, and a row a
    kill cut short), rewriting the file atomically before it appends; TensorBoard is told to
    forget the dropped steps (purge_step). ``kept`` holds the rows kept."""

    def __init__(self, path: Path, fields: list[str], keep=None,
                 tensorboard: Optional[Path] = None):
        self.path, self.fields = path, fields
        self.kept: list[dict] = []
        purge = None
        if keep is not None and path.exists():
            rows = self._complete_rows(path, fields)
            n = next((i for i, row in enumerate(rows) if not keep(row)), len(rows))
            self.kept = rows[:n]
            if n < len(rows):
                purge = int(rows[n]["step"])
        if keep is not None and path.exists() and self._text(self.kept) != path.read_text():
            checkpoint.write_atomic(path, self._text(self.kept).encode(), what="metrics")
        self.board = None
        if tensorboard is not None:
            tbx = require("tensorboardX", "--tensorboard")
            self.board = tbx.SummaryWriter(logdir=str(tensorboard), purge_step=purge)
        exists = keep is not None and path.exists()
        self.file = open(path, "a" if exists else "w", newline="")
        self.writer = csv.DictWriter(self.file, fieldnames=fields)
        if not exists:
            self.writer.writeheader()
            self.file.flush()

    def _text(self, rows: list[dict]) -> str:
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=self.fields)
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()

    @staticmethod
    def _complete_rows(path: Path, fields: list[str]) -> list[dict]:
        """The rows of path whose line is whole (ends in a newline); ValueError naming the file
        if its columns are not fields."""
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as err:
            raise ValueError(f"--resume: cannot read {path}: {err}") from None
        whole = text[:text.rfind("\n") + 1]
        if not whole:  # killed before its header was written
            return []
        rows = list(csv.DictReader(io.StringIO(whole, newline="")))
        header = whole.split("\n", 1)[0].rstrip("\r")
        if header != ",".join(fields):
            raise ValueError(f"--resume: {path} is not this run's metrics (its columns are "
                             f"{header[:80]!r}, not {','.join(fields)!r})")
        return [row for row in rows if None not in row and None not in row.values()]

    def write(self, row: dict) -> None:
        self.writer.writerow(row)
        self.file.flush()
        if self.board is not None:
            for key, value in row.items():
                if key != "step":
                    self.board.add_scalar(key, float(value), int(row["step"]))

    def close(self) -> None:
        self.file.close()
        if self.board is not None:
            self.board.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    @staticmethod
    def read(path: Path) -> list[dict]:
        with open(path, newline="") as f:
            return list(csv.DictReader(f))


def plot_curve(metrics_path: Path, out: Path, x: str, y: str, title: str) -> Optional[str]:
    """The learning curve of metrics.csv as a PNG (a moving average over episodes for returns);
    returns the path written, or None if metrics.csv has no rows (nothing is written)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = Metrics.read(metrics_path)
    if not rows:
        return None
    xs = np.array([float(r[x]) for r in rows])
    ys = np.array([float(r[y]) for r in rows])
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(xs, ys, lw=0.6, alpha=0.4 if y == "return" else 1.0, label=y)
    if y == "return" and len(ys) >= 20:
        window = 20
        ax.plot(xs[window - 1:], np.convolve(ys, np.ones(window) / window, "valid"), lw=1.5,
                label=f"mean of {window} episodes")
    ax.set_xlabel("step")
    ax.set_ylabel(y)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=100)
    plt.close(fig)
    checkpoint.write_atomic(out, png.getvalue(), what="learning curve")
    return str(out)


# -- prediction: TD(lambda) on trace conditioning or patterning ----------------------------------

def make_prediction_task(cfg: RunConfig):
    from .tasks import TraceConditioning, TracePatterning
    cls = TraceConditioning if cfg.task == "trace-conditioning" else TracePatterning
    return cls(isi=10, seed=cfg.seed)


#: the most steps of a prediction task rendered and learned at once
BLOCK = 10000


def train_prediction(cfg: RunConfig, out: Path, resume: bool, progress: bool,
                     tensorboard: bool = False) -> dict:
    """TD(lambda) on the task's stream, read in blocks of at most BLOCK steps; a metrics row at
    every multiple of --log-every steps and at the end: the MSRE of the window of log_every
    steps ending H = 10 / (1 - gamma) steps earlier (whose returns are known) next to that of
    predicting zero. It keeps the predictions of log_every + H steps, whatever --steps.

    Checkpoints during the run hold the learner at the start of the next row's window (H steps
    before the row's step count), taken on the way and written once the row is (module
    docstring); the last one holds the learner at --steps."""
    from .tasks import msre
    from .tasks.trace_conditioning import return_horizon
    task = make_prediction_task(cfg)
    ckpt = out / CHECKPOINT
    if resume:  # a finished run goes on from the start of its next row's window
        source = out / RESUME if (out / RESUME).exists() else ckpt
        td = TDLambda.from_checkpoint(source, backend=cfg.backend)
        cfg = _check_resumed(td, cfg, task.obs_size, None, source)
    elif cfg.agent == "rtu":
        td = TDLambda(task.obs_size, cfg.hidden, kind=cfg.kind, activation=cfg.activation,
                      seed=cfg.seed, backend=cfg.backend, dtype=np.dtype(cfg.dtype),
                      config=cfg.learner_config(task.gamma))
    elif cfg.agent == "gru":
        td = GRUTDLambda(task.obs_size, cfg.hidden, cfg.bptt_window,
                         config=cfg.learner_config(task.gamma), seed=cfg.seed)
    else:
        from .baselines import MemorylessTD, PatternLookup, ZeroPredictor
        td = ZeroPredictor() if cfg.agent == "zero" else \
            PatternLookup.for_task(task) if cfg.agent == "lookup" else \
            MemorylessTD(task.obs_size, cfg.learner_config(task.gamma))
    start, every, horizon = td.steps, cfg.log_every, return_horizon(task.gamma)
    last_good = _begin(cfg, td, out, resume)
    # the rows of the steps before start: those whose window starts before it, but for a
    # finished run's row at its end (not a multiple of every), which a longer run does not write
    keep = (lambda row: int(row["step"]) - every < start
            and (int(row["step"]) + horizon) % every == 0) if resume else None
    metrics = Metrics(out / METRICS, ["step", "msre", "zero_msre"], keep,
                      out / TENSORBOARD if tensorboard else None)
    snapshots = {}  # step -> the learner's checkpoint then: the start of a coming row's window
    # the start of the window of the row a longer run writes after --steps (resume.rtu)
    after = (cfg.steps // every) * every - horizon
    if _checkpointed(td) and (start + horizon) % every == 0:
        snapshots[start] = td.checkpoint_bytes()

    def next_cut(u: int, end: int) -> int:
        """Where the block from u stops: end, BLOCK steps on, or the next snapshot's step."""
        cut = min(end, u + BLOCK)
        if _checkpointed(td):
            p = ((u + horizon) // every + 1) * every - horizon  # the next window start > u
            if p + horizon <= cfg.steps:
                cut = min(cut, p)
        return cut

    bar = _progress(cfg.steps, start, progress)
    # the predictions and cumulants of the steps tail_from .. t - 1 (at most every + H of them)
    tail_v, tail_c, t = np.zeros(0), np.zeros(0), start
    with _StopFlag() as stop, metrics, bar:
        while t < cfg.steps and not stop.raised:
            end = min((t // every + 1) * every, cfg.steps)
            parts_v, parts_c, u = [tail_v], [tail_c], t
            while u < end:
                w = next_cut(u, end)
                X = task.observations(u, w)
                try:
                    parts_v.append(td.run(X, X[:, 0]))
                except ArithmeticError as err:
                    raise last_good.diverged(err, out) from None
                parts_c.append(X[:, 0])
                bar.update(w - u)
                u = w
                if _checkpointed(td) and (u + horizon) % every == 0 and u + horizon <= cfg.steps:
                    snapshots[u] = td.checkpoint_bytes()
            v, c = np.concatenate(parts_v), np.concatenate(parts_c)
            a = end - every - horizon
            if a >= start:  # a whole window of this run's predictions
                n = end - a
                error = msre(v[-n:], c[-n:], task.gamma)
                zero = msre(np.zeros(n), c[-n:], task.gamma)
                metrics.write({"step": end - horizon, "msre": f"{error:.6g}",
                               "zero_msre": f"{zero:.6g}"})
                bar.set_postfix(msre=f"{error:.4f}")
            tail_v, tail_c = v[-(every + horizon):], c[-(every + horizon):]
            due = end // cfg.checkpoint_every != t // cfg.checkpoint_every
            t = end
            window = snapshots.get(t - horizon)  # the learner at the next window's start
            for step in [k for k in snapshots if k <= t - horizon and k != after]:
                del snapshots[step]
            if t < cfg.steps and (due or stop.raised) and window is not None:
                last_good.save(window, t - horizon)
        if t >= cfg.steps:
            last_good.save()  # a finished run: the learner at its last step
            if 0 <= after < cfg.steps and after in snapshots:
                checkpoint.write_atomic(out / RESUME, snapshots[after])
        else:  # stopped: the latest state a resumed run can go on from without losing a row
            last_good.keep()
    curve = plot_curve(out / METRICS, out / CURVE, "step", "msre",
                       f"TD(lambda), {_who(cfg)}, {cfg.task}")
    if stop.raised:
        raise Interrupted(f"stopped at step {t}; checkpoint {ckpt} (step {last_good.steps}, "
                          "where the next metrics window starts)")
    return {"steps": td.steps, "checkpoint": str(ckpt) if _checkpointed(td) else None,
            "curve": curve}


# -- control: streaming actor-critic ------------------------------------------------------------

def _who(cfg: RunConfig) -> str:
    if cfg.agent == "gru":
        return f"GRU n={cfg.hidden}, T-BPTT T={cfg.bptt_window}"
    return f"RTU {cfg.kind} n={cfg.hidden}" if cfg.agent == "rtu" else f"{cfg.agent} baseline"


def make_learner(cfg: RunConfig, spec):
    """The run's actor-critic, or its baseline (rtu_edge.baselines) with the same interface."""
    n_actions = spec.n_actions if spec.discrete else spec.action_dim
    action_kind = "discrete" if spec.discrete else "continuous"
    if cfg.agent == "random":
        from .baselines import RandomPolicy
        return RandomPolicy(n_actions, seed=cfg.seed) if spec.discrete else \
            RandomPolicy(low=spec.low, high=spec.high, seed=cfg.seed)
    if cfg.agent == "gru":
        return GRUActorCritic(spec.obs_size, cfg.hidden, n_actions, cfg.bptt_window,
                              action_kind=action_kind, config=cfg.learner_config(),
                              network=cfg.network_config(), seed=cfg.seed)
    # the memoryless agent (rtu_edge.baselines.MemorylessAC) is this learner with a memoryless
    # network (network_config)
    return ActorCritic(spec.obs_size, cfg.hidden, n_actions, action_kind=action_kind,
                       kind=cfg.kind, activation=cfg.activation, seed=cfg.seed,
                       backend=cfg.backend, dtype=np.dtype(cfg.dtype),
                       config=cfg.learner_config(), network=cfg.network_config())


def episode_seed(seed: int, episode: int) -> int:
    """The reset seed of episode (0, 1, ...) of a run of seed: one stream per episode."""
    return int(np.random.SeedSequence([seed, episode]).generate_state(1)[0])


def run_episodes(ac: ActorCritic, env, spec, seed: int, steps: int, on_episode, stop=None,
                 on_step=None) -> None:
    """act/learn until ac.steps reaches steps, whole episodes only; episode i is reset with seed
    (seed, i). on_step(action) after each learn, on_episode(episode, return, length) after each
    episode; stop() is asked between episodes."""
    while ac.steps < steps and not (stop and stop()):
        obs, _ = env.reset(seed=episode_seed(seed, ac.episodes))
        ret, length, done = 0.0, 0, False
        while not done:
            action = ac.act(obs)
            if not spec.discrete:
                action = np.clip(action, spec.low, spec.high)
            obs_next, reward, terminated, truncated, _ = env.step(action)
            ac.learn(float(reward), obs_next, bool(terminated), bool(truncated))
            ret, length, obs = ret + float(reward), length + 1, obs_next
            done = terminated or truncated
            if on_step:
                on_step(action)
        on_episode(ac.episodes, ret, length)


def _mean_return(recent: list) -> Optional[float]:
    """The summary's mean return of the latest episodes (recent); None if none finished."""
    return float(np.mean(recent)) if recent else None


def _episode_run(cfg: RunConfig, learner, out: Path, resume: bool, progress: bool,
                 tensorboard: bool) -> tuple:
    """What a control run starts with, its learner made (or loaded): the last good state
    (_begin), metrics.csv (a resumed run's cut back to the rows its checkpoint had seen), the
    progress bar, the returns of the latest 20 episodes, and the step of the next checkpoint."""
    last_good = _begin(cfg, learner, out, resume)
    start = learner.steps
    keep = (lambda row: int(row["step"]) <= start) if resume else None
    metrics = Metrics(out / METRICS, ["step", "episode", "return", "length"], keep,
                      out / TENSORBOARD if tensorboard else None)
    bar = _progress(cfg.steps, learner.steps, progress)
    recent = [float(row["return"]) for row in metrics.kept[-20:]]
    next_checkpoint = (learner.steps // cfg.checkpoint_every + 1) * cfg.checkpoint_every
    return last_good, metrics, bar, recent, next_checkpoint


def train_control(cfg: RunConfig, out: Path, resume: bool, progress: bool, env, spec,
                  tensorboard: bool = False) -> dict:
    ckpt = out / CHECKPOINT
    if resume:
        ac = ActorCritic.from_checkpoint(ckpt, backend=cfg.backend)
        cfg = _check_resumed(ac, cfg, spec.obs_size, spec, ckpt)
    else:
        ac = make_learner(cfg, spec)
    last_good, metrics, bar, recent, next_checkpoint = _episode_run(cfg, ac, out, resume,
                                                                    progress, tensorboard)

    def on_episode(episode, ret, length):
        nonlocal next_checkpoint
        metrics.write({"step": ac.steps, "episode": episode, "return": f"{ret:.6g}",
                       "length": length})
        recent.append(ret)
        del recent[:-20]
        bar.set_postfix(episode=episode, mean20=f"{np.mean(recent):.1f}")
        if ac.steps >= next_checkpoint:
            last_good.save()
            next_checkpoint += cfg.checkpoint_every

    with _StopFlag() as stop, metrics, bar:
        try:
            run_episodes(ac, env, spec, cfg.seed, cfg.steps, on_episode, lambda: stop.raised,
                         on_step=lambda action: bar.update(1))
        except ArithmeticError as err:
            raise last_good.diverged(err, out) from None
        last_good.save()  # at an episode end; after an error the last good checkpoint stays
    curve = plot_curve(out / METRICS, out / CURVE, "step", "return",
                       f"AC(lambda), {_who(cfg)}, {cfg.task}")
    if stop.raised:
        raise Interrupted(f"stopped at step {ac.steps}; checkpoint {ckpt}")
    return {"steps": ac.steps, "episodes": ac.episodes,
            "checkpoint": str(ckpt) if _checkpointed(ac) else None,
            "mean_return_last_20": _mean_return(recent), "curve": curve}


def train_ppo_run(cfg: RunConfig, out: Path, resume: bool, progress: bool, spec,
                  tensorboard: bool = False) -> dict:
    """A control run of --algo ppo: PPO with RTRL (rtu_edge.ppo.train_ppo) on n_envs
    environments; checkpoints (actor-critic checkpoints of the network) between updates."""
    ckpt, ppo = out / CHECKPOINT, cfg.ppo_config()
    n_actions = spec.n_actions if spec.discrete else spec.action_dim
    data = checkpoint.read_file(ckpt) if resume else None
    # resumed, the network is the checkpoint's, as an actor-critic run's is (its config.json
    # records the fields given, and a default may have changed since: prev_reward's did)
    network = checkpoint.read_dims(data, ckpt).network if resume else cfg.network_config()
    agent = PPO(spec.obs_size, cfg.hidden, n_actions, action_kind=spec.action_kind,
                kind=cfg.kind, activation=cfg.activation, seed=cfg.seed,
                dtype=np.dtype(cfg.dtype), config=cfg.learner_config(),
                network=network, ppo=ppo)
    # resumed: the network, its statistics and its counters (so the step size's place in its
    # schedule), and Adam's state of the same step; the episodes start again
    if resume:
        agent.load_bytes(data, str(ckpt))
        cfg = _check_resumed(agent, cfg, spec.obs_size, spec, ckpt)
        _load_adam(agent, out / ADAM)
    start = agent.steps
    last_good, metrics, bar, recent, next_checkpoint = _episode_run(cfg, agent, out, resume,
                                                                    progress, tensorboard)
    episode = agent.episodes
    # a resumed run's environments start from other seeds than the first run's
    env_seed = cfg.seed if not resume else episode_seed(cfg.seed, agent.episodes)
    envs, _ = make_vector_env(cfg.task, ppo.n_envs, env_seed)

    def on_episode(step, ret, length):
        nonlocal episode
        episode += 1
        metrics.write({"step": step, "episode": episode, "return": f"{ret:.6g}",
                       "length": length})
        recent.append(ret)
        del recent[:-20]

    def on_update(update, stats):
        nonlocal next_checkpoint
        bar.update(agent.steps - bar.n)
        bar.set_postfix(episode=episode, mean20=f"{np.mean(recent) if recent else 0:.1f}")
        if agent.steps >= next_checkpoint:
            last_good.save()
            next_checkpoint = (agent.steps // cfg.checkpoint_every + 1) * cfg.checkpoint_every

    with _StopFlag() as stop, metrics, bar:
        try:
            train_ppo(agent, envs, spec, cfg.steps, on_episode=on_episode, on_update=on_update,
                      stop=lambda: stop.raised, seed=episode_seed(cfg.seed, start))
        except ArithmeticError as err:
            raise last_good.diverged(err, out) from None
        finally:
            envs.close()
        last_good.save()
    curve = plot_curve(out / METRICS, out / CURVE, "step", "return",
                       f"PPO-RTRL, {_who(cfg)}, {cfg.task}")
    if stop.raised:
        raise Interrupted(f"stopped at step {agent.steps}; checkpoint {ckpt}")
    return {"steps": agent.steps, "episodes": agent.episodes, "checkpoint": str(ckpt),
            "mean_return_last_20": _mean_return(recent), "context_bytes": agent.context_bytes,
            "curve": curve}


def _load_adam(agent: PPO, path: Path) -> None:
    """Adam's state at path into the resumed agent. Missing (a run of an earlier rtu_edge), or of
    another step than the checkpoint's (the run stopped between writing the two): Adam starts
    again, said on stderr. Unreadable or refused: ValueError naming the file."""
    if not path.exists():
        print(f"rtu-edge train: {path} is missing: Adam's moments start again",
              file=sys.stderr)
        return
    try:
        data = checkpoint.read_file(path)
        dims = checkpoint.read_dims(data, path)
        if dims.learner == "ppo-adam" and dims.steps != agent.steps:
            print(f"rtu-edge train: {path} is of step {dims.steps}, the checkpoint of step "
                  f"{agent.steps}: Adam's moments start again", file=sys.stderr)
            return
        agent.load_adam_bytes(data, checkpoint.where(path))
    except ValueError as err:
        raise ValueError(f"--resume: {err} (remove it to resume with Adam's moments started "
                         "again)") from None


def _actions(action_kind: str, n: int) -> str:
    return f"{n} discrete actions" if action_kind == "discrete" else \
        f"a continuous action of dimension {n}"


def check_fits(learner, task: str, obs_size: int, spec, path: Path) -> None:
    """ValueError naming the checkpoint at path if its learner does not fit task: it takes
    another number of inputs than obs_size, or (the actor-critic; spec the task's EnvSpec)
    other actions (discrete n, continuous dimension)."""
    if learner.n_in != obs_size:
        raise ValueError(f"--task: checkpoint {path} is of a learner of {learner.n_in} inputs; "
                         f"{task} observes {obs_size} values")
    if spec is not None:
        n = spec.n_actions if spec.discrete else spec.action_dim
        if (learner.action_kind, learner.n_actions) != (spec.action_kind, n):
            raise ValueError(f"--task: checkpoint {path} is of a learner of "
                             f"{_actions(learner.action_kind, learner.n_actions)}; {task} "
                             f"takes {_actions(spec.action_kind, n)}")


def _check_resumed(learner, cfg: RunConfig, obs_size: int, spec, path: Path) -> RunConfig:
    """The checkpoint at path, of the run being resumed, fits its task (check_fits) and holds
    the cell, precision and learner hyperparameters its config.json records (a real compared in
    the learner's precision; a field it does not list is not compared); ValueError naming both
    otherwise. Returns cfg with the fields config.json does not list taken from the learner, as
    the resumed run records them."""
    check_fits(learner, cfg.task, obs_size, spec, path)
    held = (learner.kind, learner.activation, learner.n_hidden)
    if held != (cfg.kind, cfg.activation, cfg.hidden):
        raise ValueError(f"--resume: checkpoint {path} holds a {held[0]} cell ({held[1]}) of "
                         f"{held[2]} units; the run's {CONFIG} records {cfg.kind} "
                         f"({cfg.activation}) of {cfg.hidden}")
    if learner.dtype != np.dtype(cfg.dtype):
        raise ValueError(f"--resume: checkpoint {path} holds {learner.dtype.name} reals; the "
                         f"run's {CONFIG} records {cfg.dtype}")
    # the fields config.json lists: one written before a field existed lists it not (the
    # checkpoint's upgrade fills in what that run used, which the field's default may not be)
    real = learner.dtype.type
    listed = read_config(path.parent / CONFIG, "--resume").learner
    recorded = {k: v for k, v in cfg.learner.items() if k in listed}

    def same(a, b) -> bool:
        return real(a) == real(b) if isinstance(a, float) else a == b

    def shown(values: dict) -> str:
        return ", ".join(f"{k} {real(v).item():g}" if isinstance(v, float) else f"{k} {v!r}"
                         for k, v in values.items())
    held = asdict(learner.config)
    differ = [k for k in held if k in recorded and not same(held[k], recorded[k])]
    if differ:
        raise ValueError(f"--resume: checkpoint {path} holds "
                         f"{shown({k: held[k] for k in differ})}; the run's {CONFIG} records "
                         f"{shown({k: recorded[k] for k in differ})}")
    # what config.json will record: the fields it lists, and the learner's own for the rest
    return dataclasses.replace(cfg, learner={**cfg.learner,
                                             **{k: v for k, v in held.items() if k not in listed}})


def _begin(cfg: RunConfig, learner, out: Path, resume: bool) -> LastGood:
    """The files a run starts with, its learner made (or loaded): a new run removes the files of
    the run it replaces (train's overwrite; only now, so that a refusal in making the learner
    leaves them), then checkpoints its initial state, so that its config.json never sits beside
    another run's checkpoint; then config.json. The last good state is the learner's now."""
    last_good = LastGood(learner, out / CHECKPOINT)
    if not resume:
        for name in run_files(out):
            if (out / name).is_dir():
                shutil.rmtree(out / name)
            else:
                (out / name).unlink()
        last_good.keep()
    record(cfg, learner, out)
    return last_good


def learner_flops(learner) -> Optional[int]:
    """FLOPs per step of the learner's recurrent cells, forward and gradient as
    rtu_edge.flops.flops_per_step counts them (the O(nd) and O(n^2) terms): TD(lambda)'s cell;
    the actor-critic's, one per network (critic and actor; a shared trunk once, its second
    gradient not counted), on the cell's input (n_embed, or n_x without an input layer). None for
    a baseline without a recurrent cell (memoryless TD, zero, lookup, random)."""
    if isinstance(learner, TDLambda):
        return flops_per_step(learner.kind, learner.n_hidden, learner.n_in)
    if isinstance(learner, GRUTDLambda):
        return flops_per_step("gru", learner.n_hidden, learner.n_in, learner.window)
    if isinstance(learner, (ActorCritic, GRUActorCritic, PPO)):
        net = learner.network
        if isinstance(learner, GRUActorCritic):
            cell = flops_per_step("gru", learner.n_hidden, learner.n_x, learner.window)
        else:
            cell = flops_per_step(learner.kind, learner.n_hidden, net.n_embed or learner.n_x)
        return cell * (1 if net.shared else 2)
    return None


#: the sizes' bounds (low, high; None: none)
_SIZES = {"steps": (1, None), "hidden": (1, MAX_DIM), "checkpoint_every": (1, None),
          "log_every": (1, None), "seed": (0, None)}
_CHOICES = {"kind": KINDS, "activation": ACTIVATIONS, "backend": BACKENDS, "dtype": DTYPES,
            "algo": ALGOS}


def check_algo(algo: str, agent: str, task: str, task_kind: str) -> None:
    """ValueError unless algo trains agent on task (of task_kind): ppo trains the actor-critic's
    network, so control tasks and the rtu and memoryless agents only."""
    if algo == "ppo" and (task_kind != "control" or agent not in ("rtu", "memoryless")):
        raise ValueError(f"ppo trains the actor-critic's network (control tasks, the rtu and "
                         f"memoryless agents), not the {agent} agent on {task}")


def check_setting(key: str, value, task_kind: str):
    """value, if it is a valid value of the RunConfig field key (one of steps, hidden,
    checkpoint_every, log_every, seed, kind, activation, backend, dtype, agent) for a task of
    task_kind ("prediction" or "control"); else ValueError saying what is wrong, for the caller
    to prefix with where the value came from (read_config: a config.json; sweep: a sweep file)."""
    if key in _SIZES:
        try:
            return check_size(key, value, *_SIZES[key])
        except ValueError:  # the caller names the key
            raise ValueError(f"must be {size_rule(*_SIZES[key])}, got {value!r}") from None
    choices = AGENTS[task_kind] if key == "agent" else _CHOICES[key]
    if value not in choices:
        tail = f" for {task_kind} tasks" if key == "agent" else ""
        raise ValueError(f"must be one of {', '.join(choices)}{tail}, got {value!r}")
    return value


def read_config(path: Path, what: str) -> RunConfig:
    """The RunConfig of a run's config.json (as ``record`` writes it), every value checked;
    ValueError starting with what and naming the file and the key of the first fault.
    flops_per_step, recorded and not an argument, is recomputed by the run."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as err:
        raise ValueError(f"{what}: cannot read {path}: {err.strerror or err}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{what}: {path} is not a JSON run config: {err}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{what}: {path} is not a JSON run config (an object of its fields)")
    known = [f.name for f in dataclasses.fields(RunConfig)]
    for key in data:
        if key not in known:
            raise ValueError(f"{what}: {path}: unknown key {key!r} (a run's config.json has "
                             f"{', '.join(known)})")
    for key in ("task", "steps"):
        if key not in data:
            raise ValueError(f"{what}: {path}: missing key {key!r}")

    def fault(key: str, message: str) -> ValueError:
        return ValueError(f"{what}: {path}: {key}: {message}")

    from .tasks.suite import task_info
    try:
        kind = "prediction" if task_info(data["task"]).kind == "prediction" else "control"
    except ValueError as err:
        raise fault("task", str(err)) from None
    for key in (*_SIZES, *_CHOICES, "agent"):
        if key in data and not (key in ("kind", "activation") and data[key] is None):
            try:  # kind and activation None: the task's defaults
                check_setting(key, data[key], kind)
            except ValueError as err:
                raise fault(key, str(err)) from None
    for key in ("learner", "network", "ppo"):
        if not isinstance(data.get(key, {}), dict):
            raise fault(key, f"must be an object of fields, got {data[key]!r}")
    try:  # bptt_window (RunConfig checks it), the learner's and the network's fields
        cfg = RunConfig(**{**data, "flops_per_step": None})
        cfg.learner_config().check()
        cfg.network_config().check()
        cfg.ppo_config()
    except (TypeError, ValueError) as err:  # its message starts with the field's name
        raise ValueError(f"{what}: {path}: {err}") from None
    return cfg


def record(cfg: RunConfig, learner, out: Path) -> None:
    """config.json: every field of cfg as the run uses it, with its learner's FLOPs per step
    (replaced atomically)."""
    cfg = dataclasses.replace(cfg, flops_per_step=learner_flops(learner))
    checkpoint.write_atomic(out / CONFIG, (json.dumps(asdict(cfg), indent=1) + "\n").encode(),
                            what="run config")


def _flag(key: str) -> str:
    return "--" + key.rstrip("_").replace("_", "-")


def _resumed(cfg: RunConfig, saved: RunConfig, path: Path) -> RunConfig:
    """The run being resumed, saved (its config.json at path): a setting of cfg that is not
    saved's is refused, naming its flag and the recorded value, but the RESUMABLE ones (steps,
    checkpoint_every, backend), which are cfg's. The learner and network fields of cfg are
    those given (the others keep their recorded values)."""
    def refuse(flag: str, key: str, value) -> ValueError:
        return ValueError(f"{flag}: the run being resumed has {key} = {value!r} ({path}); "
                          "--resume continues it as it was")

    for f in dataclasses.fields(RunConfig):
        if f.name in (*RESUMABLE, "flops_per_step"):
            continue
        given, held = getattr(cfg, f.name), getattr(saved, f.name)
        if f.name in ("learner", "network", "ppo"):
            for key, value in given.items():
                if held.get(key) != value:
                    raise refuse(_flag(key), key, held.get(key))
        elif given != held:
            raise refuse(_flag(f.name), f.name, held)
    return dataclasses.replace(saved, **{key: getattr(cfg, key) for key in RESUMABLE})


def _recorded(out: Path) -> RunConfig:
    """The settings of the run in out to resume: ValueError if it has no checkpoint, or naming
    its config.json and the fault."""
    if not (out / CHECKPOINT).exists():
        if (out / CONFIG).exists():
            saved = read_config(out / CONFIG, "--resume")
            kind = "prediction" if saved.task in PREDICTION_TASKS else "control"
            if not keeps_checkpoints(saved.agent, kind):
                raise ValueError(f"--resume: the {saved.agent} baseline keeps no checkpoint")
        raise ValueError(f"--resume: no checkpoint at {out / CHECKPOINT}")
    return read_config(out / CONFIG, "--resume")


def resume_config(out: Path, given: dict) -> RunConfig:
    """The settings of the run in out (its config.json) with given, the settings given on the
    command line (RunConfig fields; learner and network: dicts of the fields given); train
    refuses those that contradict the recorded ones."""
    saved = _recorded(Path(out))
    given = dict(given)
    learner, network = given.pop("learner", {}), given.pop("network", {})
    ppo = given.pop("ppo", {})
    return dataclasses.replace(saved, **given, learner={**saved.learner, **learner},
                               network={**saved.network, **network}, ppo={**saved.ppo, **ppo})


def _remove_temporaries(out: Path) -> None:
    """The temporary files checkpoint.write_atomic leaves beside a run's files when the run is
    killed while it writes them."""
    for name in RUN_FILES:
        checkpoint.remove_temporaries(out / name)


def make_task_env(task: str, seed: int):
    """make_env(task, seed) (rtu_edge.tasks), its refusal naming --task."""
    from .tasks import make_env
    try:
        return make_env(task, seed)
    except ValueError as err:
        raise ValueError(f"--task: {err}") from None


def run_files(out: Path) -> list:
    """The files of a run that out holds (none if out is not a directory)."""
    out = Path(out)
    return [name for name in (*RUN_FILES, TENSORBOARD)
            if (out / name).exists()] if out.is_dir() else []


def _steps_taken(out: Path) -> int:
    """The steps the run in out has taken: its checkpoint's."""
    path = out / CHECKPOINT
    return checkpoint.read_dims(checkpoint.read_file(path), path).steps


def train(cfg: RunConfig, out: Path, resume: bool = False, progress: bool = True,
          tensorboard: bool = False, overwrite: bool = False) -> dict:
    """Run (or resume) training into the directory out (with tensorboard, its metrics also as
    TensorBoard scalars in out/tensorboard). A resumed run's cfg is its config.json's
    (resume_config) but for the RESUMABLE fields; any other difference is refused (ValueError
    naming the flag), and so are steps the run has taken already. A new run into a directory
    that holds a run is refused unless overwrite (its files are then removed once the new
    learner is made, _begin). Every refusal comes before anything is written. Returns the
    run's summary: steps, the checkpoint's path, the learning curve's (None if metrics.csv has
    no rows, and then none is written), and for a control run its episodes and the mean return
    of the latest 20 (None if no episode finished)."""
    for module in ("matplotlib", "tqdm"):  # curve.png, the progress bar: refuse before any work
        require(module, "training")
    if tensorboard:
        require("tensorboardX", "--tensorboard")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out: {out} is not a directory")
    kind = "prediction" if cfg.task in PREDICTION_TASKS else "control"
    if cfg.agent not in AGENTS[kind]:
        raise ValueError(f"--agent: {cfg.agent!r} is not an agent of {kind} tasks "
                         f"({', '.join(AGENTS[kind])})")
    if resume and not keeps_checkpoints(cfg.agent, kind):
        raise ValueError(f"--resume: the {cfg.agent} baseline keeps no checkpoint")
    if resume:
        cfg = _resumed(cfg, _recorded(out), out / CONFIG)
    if cfg.backend == "reference" and cfg.dtype != "float64":  # --backend may change on resume
        raise ValueError(f"{'--backend' if resume else '--dtype'}: the reference backend is "
                         f"float64 only, the run's reals are {cfg.dtype}")
    if resume:
        taken = _steps_taken(out)
        if cfg.steps <= taken:
            raise ValueError(f"--steps: the run being resumed has taken {taken} steps "
                             f"({out / CHECKPOINT}); --steps above that goes on, got {cfg.steps}")
    elif run_files(out) and not overwrite:
        raise ValueError(f"--out: {out} holds a run already ({', '.join(run_files(out))}); "
                         f"--resume continues it, --overwrite replaces it")
    if cfg.algo not in ALGOS:
        raise ValueError(f"--algo: must be one of {', '.join(ALGOS)}, got {cfg.algo!r}")
    try:
        check_algo(cfg.algo, cfg.agent, cfg.task, kind)
    except ValueError as err:
        raise ValueError(f"--algo: {err}") from None
    if cfg.algo == "ppo" and cfg.backend != "c":
        raise ValueError("--backend: --algo ppo runs on the C core (c)")
    gamma = make_prediction_task(cfg).gamma if kind == "prediction" else None
    learner, network = cfg.learner_config(gamma), cfg.network_config()
    learner.check()  # before anything is written: a refused run leaves no directory behind
    network.check()
    try:
        ppo = cfg.ppo_config()
    except ValueError as err:
        raise ValueError(f"--{_flag(str(err).split()[0])[2:]}: {err}") from None
    env, spec = make_task_env(cfg.task, cfg.seed) if kind == "control" else (None, None)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"--out: cannot create {out}: {err.strerror or err}") from None
    if not os.access(out, os.W_OK):
        raise ValueError(f"--out: {out} is not writable")
    _remove_temporaries(out)
    # every field, as the run uses it (config.json: record, once the learner is made)
    cfg = dataclasses.replace(cfg, learner=asdict(learner),
                              network={} if kind == "prediction" else asdict(network),
                              ppo={} if ppo is None else asdict(ppo))
    started = time.perf_counter()
    if kind == "prediction":
        result = train_prediction(cfg, out, resume, progress, tensorboard)
    elif cfg.algo == "ppo":
        result = train_ppo_run(cfg, out, resume, progress, spec, tensorboard)
    else:
        result = train_control(cfg, out, resume, progress, env, spec, tensorboard)
    result["seconds"] = time.perf_counter() - started
    return result
