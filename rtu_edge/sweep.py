"""`rtu-edge sweep`: a grid of training runs, many seeds each, into one results table.

A sweep file (TOML or JSON, by its suffix) lists configurations and seeds::

    seeds = [0, 1, 2]            # or seeds = {start = 0, stop = 10} (stop excluded)

    [defaults]                   # optional: keys shared by every configuration
    task = "cartpole-p"
    steps = 200000

    [[configs]]
    label = "linear"             # names the runs' directory; letters, digits, . _ -
    kind = "linear"

    [[configs]]
    label = "linear-ent0.05"
    kind = "linear"
    entropy_coef = 0.05

A configuration's keys: ``label``, ``task`` and ``steps`` (required), ``agent`` (``rtu``, the
default, or a baseline: ``memoryless``, ``gru``, ``random`` for control tasks, ``zero`` and
``lookup`` for prediction tasks; as ``rtu-edge train --agent``), ``bptt_window`` (the gru agent's
window T, as ``--bptt-window``), ``hidden``, ``kind`` and ``activation``
(defaults as ``rtu-edge train``'s: rtu_edge/train.py, default_kind and default_activation),
``dtype``, ``log_every`` (prediction tasks), the learner's hyperparameters by their
``rtu-edge train`` names without the dashes (``gamma``, ``lambda``, ``entropy_coef``...; fields of
TDConfig for prediction tasks, of ACConfig for control tasks) and, for control tasks, the
actor-critic's network by its ACNetwork fields (``n_embed``, ``n_head``, ``shared``,
``prev_action``, ``prev_reward``, ``memoryless``); ``algo = "ppo"`` trains that network by PPO
with RTRL (as ``rtu-edge train --algo ppo``), with PPO's settings by their PPOConfig fields
(``n_envs``, ``n_steps``, ``learning_rate``, ``fresh_state``...). Runs use the C core (the gru
agent: numpy).
The whole file is checked before anything runs; a fault is one line naming the file and the key.
results.csv records each run's ``flops_per_step`` (its learner's, rtu_edge.train.learner_flops).

Each (configuration, seed) is what ``rtu-edge train`` does (rtu_edge.train.train, no progress
bar), into ``OUT/runs/<label>/seed-<seed>/``. As each run ends the sweep's process appends its
row to ``OUT/results.csv`` (one complete line, flushed and fsynced); a rerun of the same command
skips the (label, seed) pairs the table holds, and drops a torn last line, so a sweep killed at any
moment loses at most the runs in flight and never duplicates a row. A run that fails (divergence,
a value the learner refuses) is recorded with status ``error`` and its message; the others go on.
``OUT/sweep.json`` keeps the configurations a directory was run with, every default resolved: a
rerun may add labels and seeds, but a label whose settings changed, in its file or by a default of
the package, is refused (use a new label or a new --out).
``--only PATTERN...`` runs the configurations whose labels match one of the shell-style patterns
(part of a large sweep; the same command without it later runs the rest into the same OUT).

Engines: joblib's loky processes on the local cores (default), or Ray (``rtu_edge[ray]``): a
local instance, or an existing cluster with ``address`` (OUT must then be on a file system every
node sees at the same path, and rtu_edge installed on every node).
"""

from __future__ import annotations

import csv
import dataclasses
import fnmatch
import io
import json
import os
import re
import shutil
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

from ._extras import require
from .reference.cell import SEED_LIMIT, is_seed
from .reference.config import ACConfig, ACNetwork, PPOConfig, TDConfig, c_name
from .tasks.suite import task_info
from .train import Interrupted, Metrics, RunConfig, check_algo, check_setting

RESULTS = "results.csv"
SWEEP_RECORD = "sweep.json"
ENGINES = ("joblib", "ray")

#: learner hyperparameters as sweep keys (c_name: ``lambda``), TDConfig's first
LEARNER_KEYS = {c_name(f.name): f.name for cls in (TDConfig, ACConfig)
                for f in dataclasses.fields(cls)}
#: the actor-critic's network as sweep keys (ACNetwork's fields)
NETWORK_KEYS = tuple(f.name for f in dataclasses.fields(ACNetwork))
#: PPO's settings as sweep keys (PPOConfig's fields; with algo = "ppo")
PPO_KEYS = tuple(f.name for f in dataclasses.fields(PPOConfig))
#: the keys of a configuration besides the learner's
RUN_KEYS = ("label", "task", "steps", "agent", "bptt_window", "hidden", "kind", "activation",
            "dtype", "log_every", "algo")
TOP_KEYS = ("seeds", "defaults", "configs")
#: results.csv: what a run gave (flops_per_step: its learner's, as config.json records it), then
#: its settings
COLUMNS = ["label", "task", "seed", "steps", "status", "error", "final_score", "best_score",
           "reached", "collapsed", "seconds", "flops_per_step", *RUN_KEYS[3:], *LEARNER_KEYS,
           *NETWORK_KEYS, *PPO_KEYS]
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
#: the most seeds a sweep takes (each a run of every configuration)
MAX_SEEDS = 10000


class SweepError(ValueError):
    """A fault in a sweep file or an output directory; the message is one line."""


@dataclass(frozen=True)
class Config:
    """One configuration of a sweep: its label and its run (seed 0; each run sets its own)."""

    label: str
    run: RunConfig

    def record(self) -> dict:
        """The settings that identify this configuration (sweep.json): the run's arguments as
        given and, under ``resolved``, the learner's config, the network and PPO's settings with
        every default filled in (TD(lambda)'s gamma the task's), so that a package whose
        defaults changed does not add its runs to a label's runs at the old ones."""
        run = self.run
        ppo = run.ppo_config()
        resolved = {"learner": dataclasses.asdict(run.learner_config()),
                    "network": dataclasses.asdict(run.network_config()),
                    "ppo": None if ppo is None else dataclasses.asdict(ppo)}
        return dataclasses.asdict(run) | {"seed": None, "resolved": resolved}


@dataclass(frozen=True)
class Sweep:
    path: Path
    configs: list
    seeds: list


# -- the sweep file ------------------------------------------------------------------------------

def _read(path: Path) -> dict:
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise SweepError(f"{path}: a sweep file is .toml or .json, got {suffix or 'no suffix'!r}")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SweepError(f"{path}: cannot read: {err.strerror}") from None
    try:
        if suffix == ".json":
            content = json.loads(data)
        else:
            tomllib = (__import__("tomllib") if sys.version_info >= (3, 11)
                       else require("tomli", "reading a TOML sweep file"))
            content = tomllib.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        kind = "JSON" if suffix == ".json" else "TOML"
        raise SweepError(f"{path}: not valid {kind}: {err}") from None
    if not isinstance(content, dict):
        raise SweepError(f"{path}: the top level must be a table (an object)")
    return content


def seed_range(start: int, stop: int) -> list:
    """The seeds start .. stop - 1; ValueError saying what is wrong unless they are seeds (in [0,
    2**64)), the range is not empty and holds at most MAX_SEEDS."""
    if not 0 <= start < SEED_LIMIT or not 0 <= stop <= SEED_LIMIT:
        raise ValueError(f"seeds are integers in [0, 2**64) (start >= 0, stop <= 2**64), got "
                         f"start {start}, stop {stop}")
    if stop <= start:
        raise ValueError(f"an empty range of seeds: start {start}, stop {stop} (stop excluded)")
    if stop - start > MAX_SEEDS:
        raise ValueError(f"at most {MAX_SEEDS} seeds, got {stop - start} (start {start}, "
                         f"stop {stop})")
    return list(range(start, stop))


def parse_seeds(value) -> list:
    """Seeds as a sweep file gives them: a list of integers, or {start = a, stop = b}
    (range(a, b), seed_range). ValueError saying what is wrong."""
    if isinstance(value, dict):
        if set(value) != {"start", "stop"}:
            raise ValueError(f"a range is {{start = A, stop = B}}, got keys {sorted(value)}")
        for k in ("start", "stop"):
            if isinstance(value[k], bool) or not isinstance(value[k], int):
                raise ValueError(f"{k} must be an integer, got {value[k]!r}")
        value = seed_range(value["start"], value["stop"])
    if not isinstance(value, list) or not value:
        raise ValueError(f"must be a non-empty list of integers or {{start, stop}}, got {value!r}")
    if len(value) > MAX_SEEDS:
        raise ValueError(f"at most {MAX_SEEDS} seeds, got {len(value)}")
    for s in value:
        if not is_seed(s):
            raise ValueError(f"seeds are integers in [0, 2**64), got {s!r}")
    if len(set(value)) != len(value):
        raise ValueError(f"a seed is listed twice: {value}")
    return value


def _config(entry: dict, where: str, defaults: dict, path: Path) -> Config:
    """The configuration of entry (its own keys over defaults); a fault is named where the key
    was written (configs[i].key or defaults.key)."""
    def fail(key, message):
        place = "defaults" if key in defaults and key not in given else where
        return SweepError(f"{path}: {place}.{key}: {message}")

    given, entry = entry, {**defaults, **entry}

    for key in entry:
        if key not in (*RUN_KEYS, *LEARNER_KEYS, *NETWORK_KEYS, *PPO_KEYS):
            raise fail(key, "unknown key (known: "
                            f"{', '.join([*RUN_KEYS, *LEARNER_KEYS, *NETWORK_KEYS, *PPO_KEYS])})")
    for key in ("label", "task", "steps"):
        if key not in entry:
            raise SweepError(f"{path}: {where}: missing key {key!r}")
    label = entry["label"]
    if not isinstance(label, str) or not _LABEL.match(label):
        raise fail("label", f"must be letters, digits, '.', '_' or '-' (a directory name), "
                            f"got {label!r}")
    try:
        info = task_info(entry["task"])
        if info.kind == "control":  # make_env knows the control tasks' names (POPGym's too)
            from .tasks import make_env
            make_env(info.name, 0)[0].close()
    except ValueError as err:
        raise fail("task", str(err)) from None
    settings = {}
    for key in ("steps", "hidden", "log_every", "kind", "activation", "dtype", "agent", "algo"):
        if key in entry:
            try:
                settings[key] = check_setting(key, entry[key], info.kind)
            except ValueError as err:
                raise fail(key, str(err)) from None
    learner = {LEARNER_KEYS[k]: v for k, v in entry.items() if k in LEARNER_KEYS}
    network = {k: v for k, v in entry.items() if k in NETWORK_KEYS}
    ppo = {k: v for k, v in entry.items() if k in PPO_KEYS}
    plain = RunConfig(task=info.name, steps=1)  # the algo and agent of a run not given one
    try:
        check_algo(settings.get("algo", plain.algo), settings.get("agent", plain.agent),
                   info.name, info.kind)
    except ValueError as err:
        raise fail("algo", str(err)) from None
    try:  # bptt_window (RunConfig checks it), the learner's, the network's and PPO's fields
        run = RunConfig(task=info.name, backend="c", learner=learner, network=network,
                        bptt_window=entry.get("bptt_window"), ppo=ppo, **settings)
        run.learner_config().check()
        run.network_config().check()
        run.ppo_config()
    except ValueError as err:  # its message starts with the field's name
        field, _, message = str(err).partition(" ")
        raise fail(c_name(field), message) from None
    return Config(label, run)


def load(path, seeds: Optional[list] = None, only: Optional[list] = None) -> Sweep:
    """Read and check a sweep file; seeds (if given) replace the file's; only (shell-style
    patterns, if given) keeps the configurations whose label matches one of them. SweepError
    naming the file and the key of the first fault, or the pattern that matches no label."""
    path = Path(path)
    content = _read(path)
    for key in content:
        if key not in TOP_KEYS:
            raise SweepError(f"{path}: {key}: unknown key (known: {', '.join(TOP_KEYS)})")
    defaults = content.get("defaults", {})
    if not isinstance(defaults, dict):
        raise SweepError(f"{path}: defaults: must be a table, got {defaults!r}")
    if "label" in defaults:
        raise SweepError(f"{path}: defaults.label: each configuration has its own label")
    entries = content.get("configs")
    if not isinstance(entries, list) or not entries:
        raise SweepError(f"{path}: configs: must be a non-empty list of tables "
                         "([[configs]] in TOML)")
    configs = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise SweepError(f"{path}: configs[{i}]: must be a table, got {entry!r}")
        where = f"configs[{i}]"
        config = _config(entry, where, defaults, path)
        if any(c.label == config.label for c in configs):
            raise SweepError(f"{path}: {where}.label: {config.label!r} is used twice")
        configs.append(config)
    if only is not None:
        for pattern in only:
            if not any(fnmatch.fnmatchcase(c.label, pattern) for c in configs):
                raise SweepError(f"--only: {pattern!r} matches no label of {path} (its labels: "
                                 f"{', '.join(c.label for c in configs)})")
        configs = [c for c in configs if any(fnmatch.fnmatchcase(c.label, p) for p in only)]
    if seeds is None:
        if "seeds" not in content:
            raise SweepError(f"{path}: seeds: missing (a list, or {{start = 0, stop = N}}), "
                             "or give --seeds")
        try:
            seeds = parse_seeds(content["seeds"])
        except ValueError as err:
            raise SweepError(f"{path}: seeds: {err}") from None
    elif len(seeds) > MAX_SEEDS:
        raise SweepError(f"--seeds: at most {MAX_SEEDS} seeds, got {len(seeds)}")
    return Sweep(path, configs, list(seeds))


# -- the results table ---------------------------------------------------------------------------

class ResultsTable:
    """OUT/results.csv: a header, then one complete line per finished run, appended with one
    write and fsynced. Opening it drops a torn last line (a write cut by a kill)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        if self.path.exists():
            data = self.path.read_bytes()
            keep = data.rfind(b"\n") + 1
            if keep < len(data):
                with open(self.path, "r+b") as f:
                    f.truncate(keep)
                    os.fsync(f.fileno())
            if keep:
                header = data[:data.find(b"\n")].decode().split(",")
                if header != COLUMNS:
                    raise SweepError(f"{self.path}: its columns are not those of this rtu_edge "
                                     "(another version wrote it); use a new --out")
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if os.fstat(self.fd).st_size == 0:
            self._write(COLUMNS)

    def _write(self, values: list) -> None:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(values)
        os.write(self.fd, buffer.getvalue().encode())
        os.fsync(self.fd)

    def append(self, row: dict) -> None:
        self._write([str(v).lower() if isinstance(v, bool) else v
                     for v in (row.get(c, "") for c in COLUMNS)])

    def close(self) -> None:
        os.close(self.fd)

    @staticmethod
    def read(path) -> list:
        """The rows of a results table (a torn last line left out); ValueError naming the file
        if it has not the table's header, or the line of a row that no run wrote (another number
        of columns, an unknown status, a seed or a finished run's score that is no number)."""
        with open(path, newline="") as f:
            text = f.read()
        reader = csv.DictReader(io.StringIO(text[:text.rfind("\n") + 1]))
        missing = [c for c in ("label", "task", "seed", "status", "final_score")
                   if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path} is not a results table of rtu-edge sweep (it has no "
                             f"{', '.join(missing)} column)")
        rows = list(reader)
        for line, row in enumerate(rows, start=2):
            try:
                if None in row or None in row.values():
                    raise ValueError("another number of columns than the header's")
                if row["status"] not in ("ok", "error"):
                    raise ValueError(f"status {row['status']!r} is neither ok nor error")
                int(row["seed"])
                if row["status"] == "ok":
                    float(row["final_score"])
            except (KeyError, ValueError) as err:
                raise ValueError(f"{path}: line {line} is not a run's row ({err}); remove it "
                                 f"to go on") from None
        return rows


def _lock(out: Path):
    """An exclusive lock on OUT for the sweep's lifetime (the kernel drops it if the process
    dies): two sweeps into one directory would both run the missing pairs."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        return None
    handle = open(out / ".lock", "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise SweepError(f"--out: {out} is in use by another rtu-edge sweep") from None
    return handle


def _check_record(out: Path, sweep: Sweep) -> None:
    """OUT/sweep.json: refuse a label whose settings differ from those it ran with, defaults
    included (Config.record); add new ones. A label recorded without its resolved settings (by
    rtu_edge before it kept them) is compared on the settings given, and keeps its record."""
    path = out / SWEEP_RECORD
    record = json.loads(path.read_text()) if path.exists() else {}
    for config in sweep.configs:
        before, now = record.get(config.label), config.record()
        if before is not None and "resolved" not in before:
            now = {k: v for k, v in now.items() if k != "resolved"}
        if before is not None and before != json.loads(json.dumps(now)):
            raise SweepError(f"{sweep.path}: configs label {config.label!r}: its settings differ "
                             f"from those it ran with in {out} ({path}), defaults included; use "
                             "a new label or a new --out")
        record[config.label] = before if before is not None else now
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1) + "\n")
    os.replace(tmp, path)


# -- one run -------------------------------------------------------------------------------------

#: the suffix of a run's directory while it trains (then it is moved to run_dir)
ATTEMPT = ".attempt-"


def run_dir(out, label: str, seed: int) -> Path:
    return Path(out) / "runs" / label / f"seed-{seed}"


def read_metrics(path) -> list:
    """The rows of a run's metrics.csv; ValueError naming the file if it cannot be read, and the
    line of a row that no run wrote (another number of columns, a value that is no number)."""
    try:
        with open(path, newline="") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: cannot read: {getattr(err, 'strerror', None) or err}") \
            from None
    reader = csv.DictReader(io.StringIO(text))
    rows = []
    for row in reader:
        if None in row or None in row.values():
            fault = "another number of columns than the header's"
        else:
            fault = next((f"{k} {v!r} is no number" for k, v in row.items()
                          if not _is_number(v)), None)
        if fault is not None:
            raise ValueError(f"{path}: line {reader.line_num} is not a metrics row ({fault})")
        rows.append(row)
    return rows


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


_watching = False


def _exit_with(pid: int) -> None:
    """In a worker process: exit when the sweep's process (pid) is gone, so that a killed sweep
    leaves no run behind it writing into OUT."""
    global _watching
    if _watching:
        return
    _watching = True

    def watch():
        while True:
            time.sleep(0.5)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:
                pass

    threading.Thread(target=watch, daemon=True).start()


def _install(attempt: Path, where: Path) -> None:
    """Move a finished attempt's directory to the run directory, replacing what is there."""
    for _ in range(3):  # a worker of a killed sweep may still be renaming its own attempt
        if where.exists():
            shutil.rmtree(where, ignore_errors=True)
        try:
            os.replace(attempt, where)
            return
        except OSError:
            continue
    os.replace(attempt, where)


def run_one(config: Config, seed: int, out: str, sweep_pid: Optional[int] = None):
    """Train config on seed and return its results row, or None if the run was interrupted
    (Ctrl-C): it is not done. The run trains into a directory of its own attempt, moved to the
    run directory when it ends, so that a worker of a killed sweep, still running for a moment,
    never writes into the files of the run that replaces it."""
    if sweep_pid is not None and sweep_pid != os.getpid():
        _exit_with(sweep_pid)
    from .train import train
    cfg = dataclasses.replace(config.run, seed=seed)
    where = run_dir(out, config.label, seed)
    info = task_info(cfg.task)
    row = {"label": config.label, "task": cfg.task, "seed": seed, "steps": cfg.steps,
           **{k: getattr(cfg, k) for k in RUN_KEYS[3:]},
           **{c_name(k): v for k, v in cfg.learner.items()}, **cfg.network, **cfg.ppo}
    started = time.perf_counter()
    attempt = where.with_name(f"{where.name}{ATTEMPT}{os.getpid()}-{time.time_ns()}")
    try:
        try:
            train(cfg, attempt, resume=False, progress=False)
        finally:
            if attempt.exists():
                _install(attempt, where)
        recorded = json.loads((where / "config.json").read_text())
        row.update({c_name(k): v for k, v in recorded["learner"].items()})
        row.update(recorded["network"])
        row.update(recorded["ppo"])
        row["flops_per_step"] = recorded["flops_per_step"]
        metrics = Metrics.read(where / "metrics.csv")
        if not metrics:
            raise ValueError(f"no score: metrics.csv has no row (log_every {cfg.log_every} "
                             f"leaves no complete window in {cfg.steps} steps)")
        reached = info.reached(metrics)
        row.update(status="ok", error="", final_score=f"{info.final(metrics):.6g}",
                   best_score=f"{info.best(metrics):.6g}",
                   reached="" if reached is None else reached,
                   collapsed=info.collapsed(metrics))
    except Interrupted:
        return None
    except Exception as err:  # noqa: BLE001 - any failure of one run is recorded, not raised
        # one line; a path in it names the run's directory, not the attempt's it was written in
        message = " ".join(f"{type(err).__name__}: {err}".split()).replace(str(attempt),
                                                                            str(where))
        row.update(status="error", error=message)
    row["seconds"] = f"{time.perf_counter() - started:.1f}"
    return row


# -- engines -------------------------------------------------------------------------------------

#: how many times the joblib engine starts its processes again after a worker process died (Ray
#: retries a task whose worker died, 3 times by default)
WORKER_RESTARTS = 3


def _remove_attempts(out: Path) -> None:
    """Remove the directories of attempts that no process is running (a killed sweep's, or those
    of the workers of a broken process pool)."""
    for stale in (Path(out) / "runs").glob(f"*/*{ATTEMPT}*"):
        shutil.rmtree(stale, ignore_errors=True)


def _joblib(jobs, out: str, todo: list, echo: Callable[[str], None]) -> Iterator:
    """The rows of the runs of todo. A worker process that dies (the out-of-memory killer, a
    crash) breaks loky's pool, and with it the runs in flight on the other workers: the runs not
    finished go again on new processes, up to WORKER_RESTARTS times; then SweepError."""
    joblib = require("joblib", "rtu-edge sweep")
    from concurrent.futures.process import BrokenProcessPool  # loky's TerminatedWorkerError too
    left = {(c.label, s): (c, s) for c, s in todo}
    for restart in range(WORKER_RESTARTS + 1):
        parallel = joblib.Parallel(n_jobs=jobs or -1, backend="loky",
                                   return_as="generator_unordered")
        try:
            for row in parallel(joblib.delayed(run_one)(c, s, out, os.getpid())
                                for c, s in list(left.values())):
                if row is not None:
                    left.pop((row["label"], row["seed"]), None)
                yield row
            return
        except BrokenProcessPool:
            _remove_attempts(Path(out))
            if restart == WORKER_RESTARTS:
                raise SweepError(
                    f"a worker process died {restart + 1} times (killed, e.g. by the "
                    f"out-of-memory killer, or crashed); the finished runs are kept in "
                    f"{Path(out) / RESULTS}; the same command goes on from there") from None
            echo(f"a worker process died (killed, e.g. by the out-of-memory killer, or crashed); "
                 f"the {len(left)} runs not finished go again on new processes")


def _ray(jobs, address, out: str, todo: list) -> Iterator:
    ray = require("ray", "rtu-edge sweep --engine ray")
    started = not ray.is_initialized()
    if started:
        import logging
        if address:
            ray.init(address=address, logging_level=logging.WARNING)
        else:
            ray.init(num_cpus=jobs, include_dashboard=False, logging_level=logging.WARNING)
    try:
        remote = ray.remote(num_cpus=1)(run_one)
        waiting, pending = list(todo), {}
        cap = jobs or len(todo)
        while waiting or pending:
            while waiting and len(pending) < cap:
                config, seed = waiting.pop(0)
                pending[remote.remote(config, seed, out)] = (config, seed)
            (ready,), _ = ray.wait(list(pending), num_returns=1)
            config, seed = pending.pop(ready)
            try:
                yield ray.get(ready)
            except ray.exceptions.RayError as err:  # the worker died: record it, go on
                yield {"label": config.label, "task": config.run.task, "seed": seed,
                       "steps": config.run.steps, "status": "error",
                       "error": " ".join(f"{type(err).__name__}: {err}".split())[:500]}
    finally:
        if started:
            ray.shutdown()


def run(sweep: Sweep, out, engine: str = "joblib", jobs: Optional[int] = None,
        address: Optional[str] = None, echo: Callable[[str], None] = print) -> dict:
    """Run the pairs of sweep that OUT/results.csv does not hold yet; returns counts
    {"done_before", "ok", "error"}. KeyboardInterrupt propagates (the table stays valid)."""
    if engine not in ENGINES:
        raise ValueError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if address and engine != "ray":
        raise ValueError("--address goes with --engine ray")
    for module in ("matplotlib", "tqdm", "joblib" if engine == "joblib" else "ray"):
        require(module, "rtu-edge sweep")
    if any(task_info(c.run.task).kind == "control" for c in sweep.configs):
        require("gymnasium", "rtu-edge sweep")
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SweepError(f"--out: cannot create {out}: {err.strerror or err}") from None
    lock = _lock(out)
    try:
        _remove_attempts(out)  # attempts of a killed sweep
        table = ResultsTable(out / RESULTS)
        try:
            finished = {(r["label"], int(r["seed"])) for r in ResultsTable.read(table.path)}
            _check_record(out, sweep)
            todo = [(c, s) for s in sweep.seeds for c in sweep.configs
                    if (c.label, s) not in finished]
            counts = {"done_before": len(sweep.seeds) * len(sweep.configs) - len(todo),
                      "ok": 0, "error": 0}
            if counts["done_before"]:
                echo(f"{counts['done_before']} runs already in {table.path}; {len(todo)} to go")
            rows: Iterable = (_joblib(jobs, str(out), todo, echo) if engine == "joblib"
                              else _ray(jobs, address, str(out), todo))
            for row in rows:
                if row is None:  # Ctrl-C reached the run first: stop the sweep
                    raise KeyboardInterrupt
                table.append(row)
                counts[row["status"]] += 1
                done = counts["ok"] + counts["error"]
                outcome = (f"final {row['final_score']}" if row["status"] == "ok"
                           else row["error"][:200])
                echo(f"[{done}/{len(todo)}] {row['label']} seed {row['seed']}: {row['status']}, "
                     f"{outcome} ({row.get('seconds', '?')} s)")
        finally:
            table.close()
    finally:
        if lock is not None:
            lock.close()
    return counts


# -- the command ---------------------------------------------------------------------------------

def main(args) -> int:
    """`rtu-edge sweep [FILE] --out DIR [--report] ...` (arguments: cli.py)."""
    def say(message: str) -> None:
        print(f"rtu-edge sweep: {message}", flush=True)

    if args.file is not None:
        sweep = load(args.file, seeds=args.seeds, only=args.only)
        if args.report and args.versus is not None:  # refused before the runs, not after
            labels = {c.label for c in load(args.file, seeds=args.seeds).configs}
            table = Path(args.out) / RESULTS
            if table.exists():
                labels |= {row["label"] for row in ResultsTable.read(table)}
            if args.versus not in labels:
                raise SweepError(f"--versus: {args.versus!r} is a configuration neither of "
                                 f"{args.file} nor of {table}")
        say(f"{len(sweep.configs)} configurations x {len(sweep.seeds)} seeds on {args.engine} "
            f"into {args.out}")
        try:
            counts = run(sweep, args.out, args.engine, args.jobs, args.address, echo=say)
        except KeyboardInterrupt:
            print(f"rtu-edge sweep: interrupted; finished runs are in "
                  f"{Path(args.out) / RESULTS}; the same command goes on from there",
                  file=sys.stderr)
            return 130
        say(f"done: {counts['ok']} runs ok, {counts['error']} failed, {counts['done_before']} "
            f"done before; results {Path(args.out) / RESULTS}")
    if args.report:
        from .report import report
        text, plots = report(args.out, versus=args.versus)
        print(text, end="")
        say(f"wrote {Path(args.out) / 'report.md'}"
            + "".join(f", {p}" for p in plots))
    return 0
