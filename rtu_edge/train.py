"""Training runs for the command line: `rtu-edge train`, `eval` and `demo`.

A run directory holds ``config.json`` (the run's arguments), ``metrics.csv`` (one row per logged
window or episode), ``curve.png`` (the learning curve) and ``checkpoint.rtu`` (the learner, written
atomically). ``--resume`` continues a run from its checkpoint and appends to its metrics.

Prediction tasks (trace-conditioning, trace-patterning) train TDLambda on the task's stream, which
is a pure function of the seed, so a resumed run regenerates it and goes on from the learner's
step count. Control tasks train ActorCritic; the environment's own state cannot be saved, so
checkpoints are written at episode ends (the first one after every --checkpoint-every steps, and
at the end of the run or on Ctrl-C), and episode i is reset with seed (seed, i): a resumed run
continues exactly where the saved one would have.

A learner that diverges (its parameters or state become non-finite: FloatingPointError from the
learner) stops the run with ``Diverged``, a one-line message naming the step and the run
directory; checkpoint.rtu then holds the last good state: the latest checkpoint taken, or the
learner's state at the start of the run if none was.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from . import checkpoint
from ._extras import require
from .ac import ActorCritic
from .baselines import GRUActorCritic, GRUTDLambda
from .flops import flops_per_step
from .reference.ac import GRUAC
from .reference import ACTIVATIONS, KINDS
from .reference.config import ACConfig, ACNetwork, TDConfig, memoryless_fields
from .reference.gru import check_size
from .td import TDLambda

PREDICTION_TASKS = ("trace-conditioning", "trace-patterning")
#: what learns: the RTU learner, or a baseline of rtu_edge.baselines (the same learner without
#: recurrence; the same learner with a GRU trained by truncated BPTT; a random policy on control
#: tasks; predicting zero, or the pattern-aware lookup table, on prediction tasks)
AGENTS = {"prediction": ("rtu", "memoryless", "gru", "zero", "lookup"),
          "control": ("rtu", "memoryless", "gru", "random")}
CHECKPOINT = "checkpoint.rtu"
BACKENDS = ("c", "reference")
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
    #: ACNetwork's defaults (the memoryless agent: memoryless, without previous action and reward)
    network: dict = field(default_factory=dict)
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
        """The learner's config: TDConfig (prediction; gamma defaults to the task's) or ACConfig,
        with the fields of ``learner``. ValueError naming a field the learner does not have."""
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
        base = cls(gamma=task_gamma) if task_gamma is not None else cls()
        return dataclasses.replace(base, **self.learner)

    def network_config(self) -> ACNetwork:
        """The actor-critic's ACNetwork, with the fields of ``network`` (the memoryless agent's
        is memoryless and sees no previous action or reward). ValueError naming a field that is
        not ACNetwork's, a network for a prediction task, or a memoryless agent given the past."""
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
        return ACNetwork(**memoryless_fields(self.network, "the memoryless agent (its network "
                                                           "sees no past)"))


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

    def save(self) -> None:
        """Checkpoint the learner now (a good state) to path."""
        if _checkpointed(self.learner):
            self.data = self.learner.checkpoint_bytes()
            self.steps = self.learner.steps
            checkpoint.write_atomic(self.path, self.data)

    def diverged(self, err: ArithmeticError, out: Path) -> Diverged:
        """Leave the last good state at path; the one-line error of the run (out its
        directory)."""
        what = " ".join(str(err).split()) or type(err).__name__
        text = f"the learner diverged at step {self.learner.steps + 1} ({what})"
        if self.data is None:
            return Diverged(f"{text}; run directory {out}")
        if not self.path.exists() or self.path.read_bytes() != self.data:
            checkpoint.write_atomic(self.path, self.data)
        return Diverged(f"{text}; its last good state (step {self.steps}) is {self.path}")


def _checkpointed(learner) -> bool:
    """The learner keeps checkpoints: TDLambda and ActorCritic (the memoryless actor-critic is
    one); the other baselines keep none."""
    return isinstance(learner, (TDLambda, ActorCritic))


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
    """metrics.csv, appended to on resume; with tensorboard (a directory) every row's values but
    its step also go there as TensorBoard scalars at that step (tensorboardX's SummaryWriter,
    from rtu_edge[tensorboard]; a resumed run adds an event file beside the first)."""

    def __init__(self, path: Path, fields: list[str], resume: bool,
                 tensorboard: Optional[Path] = None):
        self.path, self.fields = path, fields
        exists = path.exists() and resume
        self.board = None
        if tensorboard is not None:
            tbx = require("tensorboardX", "--tensorboard")
            self.board = tbx.SummaryWriter(logdir=str(tensorboard))
        self.file = open(path, "a" if exists else "w", newline="")
        self.writer = csv.DictWriter(self.file, fieldnames=fields)
        if not exists:
            self.writer.writeheader()

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


def plot_curve(metrics_path: Path, out: Path, x: str, y: str, title: str) -> None:
    """The learning curve of metrics.csv as a PNG (a moving average over episodes for returns)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = Metrics.read(metrics_path)
    if not rows:
        return
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
    fig.savefig(out, dpi=100)
    plt.close(fig)


# -- prediction: TD(lambda) on trace conditioning or patterning ----------------------------------

def make_prediction_task(cfg: RunConfig):
    from .tasks import TraceConditioning, TracePatterning
    cls = TraceConditioning if cfg.task == "trace-conditioning" else TracePatterning
    return cls(isi=10, seed=cfg.seed)


def train_prediction(cfg: RunConfig, out: Path, resume: bool, progress: bool,
                     tensorboard: bool = False) -> dict:
    """TD(lambda) on the task's stream; a metrics row per --log-every steps: the MSRE of the
    window of that many steps ending H = 10 / (1 - gamma) steps earlier (whose returns are known)
    next to that of predicting zero."""
    from .tasks import msre, rollout
    from .tasks.trace_conditioning import return_horizon
    task = make_prediction_task(cfg)
    ckpt = out / CHECKPOINT
    if resume:
        td = TDLambda.from_checkpoint(ckpt, backend=cfg.backend)
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
    record(cfg, td, out)
    start = td.steps
    last_good = LastGood(td, ckpt)
    horizon = return_horizon(task.gamma)
    X, C = rollout(task, cfg.steps)  # a pure function of the seed: the same stream on resume
    predictions = np.zeros(cfg.steps)
    metrics = Metrics(out / "metrics.csv", ["step", "msre", "zero_msre"], resume,
                      out / TENSORBOARD if tensorboard else None)
    bar = _progress(cfg.steps, start, progress)
    with _StopFlag() as stop, metrics, bar:
        t = start
        while t < cfg.steps and not stop.raised:
            end = min(t + cfg.log_every, cfg.steps)
            try:
                predictions[t:end] = td.run(X[t:end], C[t:end])
            except ArithmeticError as err:
                raise last_good.diverged(err, out) from None
            a = end - cfg.log_every - horizon
            if a >= start:  # a whole window of this run's predictions
                error = msre(predictions[a:end], C[a:end], task.gamma)
                zero = msre(np.zeros(end - a), C[a:end], task.gamma)
                metrics.write({"step": end - horizon, "msre": f"{error:.6g}",
                               "zero_msre": f"{zero:.6g}"})
                bar.set_postfix(msre=f"{error:.4f}")
            bar.update(end - t)
            if end // cfg.checkpoint_every != t // cfg.checkpoint_every:
                last_good.save()
            t = end
        last_good.save()  # after a normal end or a clean stop only: an error keeps the last good
    plot_curve(out / "metrics.csv", out / "curve.png", "step", "msre",
               f"TD(lambda), {_who(cfg)}, {cfg.task}")
    if stop.raised:
        raise Interrupted(f"stopped at step {td.steps}; checkpoint {ckpt}")
    return {"steps": td.steps, "checkpoint": str(ckpt) if _checkpointed(td) else None}


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


def train_control(cfg: RunConfig, out: Path, resume: bool, progress: bool,
                  tensorboard: bool = False) -> dict:
    from .tasks import make_env
    env, spec = make_env(cfg.task, cfg.seed)
    ckpt = out / CHECKPOINT
    ac = ActorCritic.from_checkpoint(ckpt, backend=cfg.backend) if resume else \
        make_learner(cfg, spec)
    record(cfg, ac, out)
    metrics = Metrics(out / "metrics.csv", ["step", "episode", "return", "length"], resume,
                      out / TENSORBOARD if tensorboard else None)
    bar = _progress(cfg.steps, ac.steps, progress)
    last_good = LastGood(ac, ckpt)
    recent: list[float] = []
    next_checkpoint = (ac.steps // cfg.checkpoint_every + 1) * cfg.checkpoint_every

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
    plot_curve(out / "metrics.csv", out / "curve.png", "step", "return",
               f"AC(lambda), {_who(cfg)}, {cfg.task}")
    if stop.raised:
        raise Interrupted(f"stopped at step {ac.steps}; checkpoint {ckpt}")
    return {"steps": ac.steps, "episodes": ac.episodes,
            "checkpoint": str(ckpt) if _checkpointed(ac) else None,
            "mean_return_last_20": float(np.mean(recent)) if recent else float("nan")}


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
    if isinstance(learner, (ActorCritic, GRUActorCritic)):
        net = learner.network
        if isinstance(learner, GRUActorCritic):
            cell = flops_per_step("gru", learner.n_hidden, learner.n_x, learner.window)
        else:
            cell = flops_per_step(learner.kind, learner.n_hidden, net.n_embed or learner.n_x)
        return cell * (1 if net.shared else 2)
    return None


_SIZES = {"steps": 1, "hidden": 1, "checkpoint_every": 1, "log_every": 1, "seed": 0}
_CHOICES = {"kind": KINDS, "activation": ACTIVATIONS, "backend": BACKENDS, "dtype": DTYPES}


def check_setting(key: str, value, task_kind: str):
    """value, if it is a valid value of the RunConfig field key (one of steps, hidden,
    checkpoint_every, log_every, seed, kind, activation, backend, dtype, agent) for a task of
    task_kind ("prediction" or "control"); else ValueError saying what is wrong, for the caller
    to prefix with where the value came from (read_config: a config.json; sweep: a sweep file)."""
    if key in _SIZES:
        low = _SIZES[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            what = "a positive integer" if low == 1 else f"an integer >= {low}"
            raise ValueError(f"must be {what}, got {value!r}")
        return value
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
    for key in ("learner", "network"):
        if not isinstance(data.get(key, {}), dict):
            raise fault(key, f"must be an object of fields, got {data[key]!r}")
    try:  # bptt_window (RunConfig checks it), the learner's and the network's fields
        cfg = RunConfig(**{**data, "flops_per_step": None})
        task = make_prediction_task(cfg) if kind == "prediction" else None
        cfg.learner_config(task.gamma if task else None).check()
        cfg.network_config().check()
    except (TypeError, ValueError) as err:  # its message starts with the field's name
        raise ValueError(f"{what}: {path}: {err}") from None
    return cfg


def record(cfg: RunConfig, learner, out: Path) -> None:
    """config.json: every field of cfg as the run uses it, with its learner's FLOPs per step."""
    cfg = dataclasses.replace(cfg, flops_per_step=learner_flops(learner))
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=1) + "\n")


def _resumed(cfg: RunConfig, saved: RunConfig) -> RunConfig:
    """The run being resumed: its learner comes from the checkpoint, so its saved agent, network
    and hyperparameters stand; one given again with another value is refused, naming the flag.
    The new steps and the logging and checkpoint intervals are taken."""
    if cfg.agent != saved.agent:
        raise ValueError(f"--agent: the run being resumed is of the {saved.agent} agent; "
                         "--resume continues it as it was")
    for given, held in ((cfg.learner, saved.learner), (cfg.network, saved.network)):
        for key, value in given.items():
            if key in held and held[key] != value:
                flag = "--" + key.rstrip("_").replace("_", "-")
                raise ValueError(f"{flag}: the run being resumed has {key} = {held[key]!r}; "
                                 "--resume continues it as it was")
    return dataclasses.replace(saved, steps=cfg.steps, checkpoint_every=cfg.checkpoint_every,
                               log_every=cfg.log_every, backend=cfg.backend)


def make_task_env(task: str, seed: int):
    """make_env(task, seed) (rtu_edge.tasks), its refusal naming --task."""
    from .tasks import make_env
    try:
        return make_env(task, seed)
    except ValueError as err:
        raise ValueError(f"--task: {err}") from None


def train(cfg: RunConfig, out: Path, resume: bool = False, progress: bool = True,
          tensorboard: bool = False) -> dict:
    """Run (or resume) training into the directory out (with tensorboard, its metrics also as
    TensorBoard scalars in out/tensorboard)."""
    for module in ("matplotlib", "tqdm"):  # curve.png, the progress bar: refuse before any work
        require(module, "training")
    if tensorboard:
        require("tensorboardX", "--tensorboard")
    out = Path(out)
    kind = "prediction" if cfg.task in PREDICTION_TASKS else "control"
    if cfg.agent not in AGENTS[kind]:
        raise ValueError(f"--agent: {cfg.agent!r} is not an agent of {kind} tasks "
                         f"({', '.join(AGENTS[kind])})")
    if resume and not keeps_checkpoints(cfg.agent, kind):
        raise ValueError(f"--resume: the {cfg.agent} baseline keeps no checkpoint")
    if resume:
        if not (out / CHECKPOINT).exists():
            raise ValueError(f"--resume: no checkpoint at {out / CHECKPOINT}")
        saved = read_config(out / "config.json", "--resume")
        if saved.task != cfg.task:
            raise ValueError(f"--resume: {out} holds a run of task {saved.task!r}, "
                             f"not {cfg.task!r}")
        cfg = _resumed(cfg, saved)
    gamma = make_prediction_task(cfg).gamma if cfg.task in PREDICTION_TASKS else None
    learner, network = cfg.learner_config(gamma), cfg.network_config()
    learner.check()  # before anything is written: a refused run leaves no directory behind
    network.check()
    out.mkdir(parents=True, exist_ok=True)
    if not os.access(out, os.W_OK):
        raise ValueError(f"--out: {out} is not writable")
    # every field, as the run uses it (config.json: record, once the learner is made)
    cfg = dataclasses.replace(cfg, learner=asdict(learner),
                              network={} if kind == "prediction" else asdict(network))
    started = time.perf_counter()
    if cfg.task in PREDICTION_TASKS:
        result = train_prediction(cfg, out, resume, progress, tensorboard)
    else:
        result = train_control(cfg, out, resume, progress, tensorboard)
    result["seconds"] = time.perf_counter() - started
    return result
