"""What TDLambda and ActorCritic share: their configuration, the Python-side conversion of inputs,
and checkpoints (bytes and files) on top of their backend's to_bytes and restore.

Checks live at one layer: the C core (or the reference, its numpy mirror) refuses NaN, Inf, values
out of range, configs out of range and calls out of order, and leaves the learner unchanged; the
Python side converts (shape, dtype) and names the argument in the message.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import checkpoint
from ._ccore import CCore, copy_state
from .cell import check_cell_arguments, real_array, real_scalar  # noqa: F401 (the learners')


def real_rows(name: str, value, width: int, dtype: np.dtype, rows=None) -> np.ndarray:
    """value as a C-contiguous array of dtype and shape (T, width), T = rows when given (a batch's
    learners); ValueError naming it otherwise."""
    a = np.asarray(value)
    if a.ndim != 2 or a.shape[1] != width or a.shape[0] != (a.shape[0] if rows is None else rows):
        raise ValueError(f"{name} must have shape ({'T' if rows is None else rows}, {width}), got "
                         f"{a.shape}")
    return real_array(name, a, a.shape, dtype)


def check_action_space(space, action_kind: str, n_actions: int, name: str) -> None:
    """ValueError naming name unless space, a gymnasium space, is the one the learner acts in:
    Discrete(n_actions) from 0 (action_kind "discrete") or a Box of shape (n_actions,)."""
    import gymnasium as gym

    if action_kind == "discrete":
        ok = isinstance(space, gym.spaces.Discrete) and int(space.n) == n_actions and \
            int(space.start) == 0
        want = f"Discrete({n_actions})"
    else:
        ok = isinstance(space, gym.spaces.Box) and space.shape == (n_actions,)
        want = f"a Box of shape ({n_actions},)"
    if not ok:
        raise ValueError(f"{name}: the action space is {space}; the learner acts in {want}")


def resets_next_step(envs, same_step_only: bool = False) -> bool:
    """Whether envs, a gymnasium vector environment, resets an ended sub-environment in the step
    after its end (autoreset mode NEXT_STEP, gymnasium's default when its metadata does not say;
    that step is no transition) rather than in the same step (SAME_STEP, the ended episode's last
    observation in info["final_obs"]). ValueError naming envs for another mode, and for NEXT_STEP
    when same_step_only."""
    import gymnasium as gym

    modes = gym.vector.AutoresetMode
    mode = envs.metadata.get("autoreset_mode", modes.NEXT_STEP)
    if mode not in (modes.NEXT_STEP, modes.SAME_STEP):
        raise ValueError(f"envs: autoreset mode {mode} is not supported; use NEXT_STEP or "
                         "SAME_STEP (the learners need each episode's next observation)")
    if same_step_only and mode == modes.NEXT_STEP:
        raise ValueError(f"envs: autoreset mode {mode} is not supported (each reset step would "
                         "be a transition, and no episode's final observation is given); use "
                         "SAME_STEP (rtu_edge.ppo.make_vector_env)")
    return mode == modes.NEXT_STEP


def bool_flags(name: str, value, count: int) -> np.ndarray:
    """value, count bools, as a C-contiguous uint8 array of 0/1 entries; ValueError naming it
    otherwise (integers too: a 2 is no episode end)."""
    a = np.asarray(value)
    if a.shape != (count,) or a.dtype != np.bool_:
        raise ValueError(f"{name} must be an array of {count} bools, got {a.dtype} of shape "
                         f"{a.shape}")
    return np.ascontiguousarray(a, dtype=np.uint8)


def bool_flag(name: str, value) -> bool:
    """value as a bool; ValueError naming it if it is not one (numpy's bool too)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be a bool, got {value!r}")
    return bool(value)


class ReferencePrecision(ValueError):
    """A float32 checkpoint given to the reference backend, which is float64 only."""


class ReferenceCheckpoints:
    """to_bytes and restore of a reference backend (self.ref, its TD or AC) through a float64 C
    twin of the same configuration (self._twin(), whose ``struct`` is the rtu_td or rtu_ac), so
    that the C core is the one codec: the FIELDS the two share by name are copied in and saved,
    or loaded (checked by C) and copied out."""

    FIELDS: tuple = ()

    def to_bytes(self) -> bytes:
        twin = self._twin()
        copy_state(twin.core, twin.struct, self.ref, self.FIELDS, to_c=True)
        return twin.to_bytes()

    def restore(self, data: bytes, where: str) -> None:
        twin = self._twin()
        twin.restore(data, where)
        copy_state(twin.core, twin.struct, self.ref, self.FIELDS, to_c=False)
        self.ref.config = twin.config
        self._refresh()

    def _refresh(self) -> None:
        """Recompute what the reference derives from its parameters (the cell's cache)."""
        self.ref.cell.refresh()


def config_with(cls, config, hyperparameters: dict, argument: str = "config", also=()):
    """config (default cls(); the argument named argument) with the fields named in
    hyperparameters replaced; also: other keyword names the learner takes (for the message on an
    unknown one). ValueError naming argument if config is not a cls; TypeError on an unknown
    field."""
    if config is None:
        config = cls()
    elif not isinstance(config, cls):
        raise ValueError(f"{argument} must be a {cls.__name__}, got {type(config).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    for key in hyperparameters:
        if key not in names:
            raise TypeError(f"unknown hyperparameter {key!r}; {cls.__name__} has "
                            f"{', '.join(sorted(names))}"
                            + (f", and the learner also takes {', '.join(also)}"
                               if also else ""))
    return dataclasses.replace(config, **hyperparameters)


class Checkpointable:
    """The shared part of a learner class. A subclass sets LEARNER ("td", "actor-critic") and
    defines _size_query() (the name of its C size query and its arguments), _from_dims(dims, backend) and
    _dims() (what a checkpoint must match), and builds self._impl, a backend with steps, config,
    to_bytes() and restore(data, where)."""

    LEARNER = ""

    def _setup_cell(self, n_in, n_hidden, kind, activation, seed, backend, dtype) -> None:
        self.n_in, self.n_hidden, self.dtype, self.seed = check_cell_arguments(
            n_in, n_hidden, kind, activation, seed, backend, dtype)
        self.kind, self.activation, self.backend = kind, activation, backend

    @property
    def config(self):
        """The learner's configuration (a TDConfig or ACConfig), as the learner holds it."""
        return self._impl.config

    @property
    def steps(self) -> int:
        """Learning steps (TD: step calls; actor-critic: learn calls) since construction."""
        return self._impl.steps

    @property
    def memory_bytes(self) -> int:
        """Exact bytes of the C learner's buffer in this precision (float64 for the reference)."""
        if self._impl.memory_bytes is not None:
            return self._impl.memory_bytes
        name, *args = self._size_query()
        return CCore.size(np.dtype(np.float64), lambda lib: getattr(lib, name), *args)

    def _dims(self) -> dict:
        return {"precision": self.dtype.itemsize, "kind": self.kind,
                "activation": self.activation, "n_in": self.n_in, "n_hidden": self.n_hidden}

    # -- checkpoints (format: c_src/rtu_ckpt.h; the C core reads and writes them) ---------------

    def checkpoint_bytes(self) -> bytes:
        """The learner's checkpoint (rtu_td_save / rtu_ac_save): config, counters, parameters,
        state and every trace. ValueError if the learner has diverged (a checkpoint that could not
        be loaded is never produced)."""
        return self._impl.to_bytes()

    def load_bytes(self, data: bytes, name: str = "<bytes>") -> None:
        """Restore from checkpoint bytes of the same learner type, precision, kind, activation
        and sizes; the config and counters are restored too. ValueError (naming ``name`` and the
        fault) on a truncated, corrupted, foreign, mismatched or impossible checkpoint, and then
        the learner is untouched."""
        self._impl.restore(self._fitting(data, name), checkpoint.where(name))

    def _fitting(self, data: bytes, name: str) -> bytes:
        """data (upgraded from version 4) if its header says it is a checkpoint of this learner's
        type, precision, kind, activation and sizes; ValueError naming name otherwise (the
        loader checks the rest)."""
        data = checkpoint.upgrade(data, name)
        dims = checkpoint.read_dims(data, name)
        checkpoint.check_dims(dims, self.LEARNER, self._dims(), name)
        return data

    def save(self, path) -> None:
        """Write the checkpoint to path atomically (temporary file, fsync, rename, fsync of the
        directory): on any error the previous file at path is intact (OSError naming path)."""
        checkpoint.write_atomic(path, self.checkpoint_bytes())

    def load(self, path) -> None:
        """Restore this learner from the checkpoint file at path (see load_bytes)."""
        self.load_bytes(checkpoint.read_file(path), str(path))

    @classmethod
    def from_checkpoint(cls, path, backend: str = "c"):
        """A learner built from the checkpoint file at path, on backend "c" (float32 or float64,
        the checkpoint's precision) or "reference" (float64 checkpoints only)."""
        return cls.from_bytes(checkpoint.read_file(path), str(path), backend)

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "<bytes>", backend: str = "c"):
        """A learner built from checkpoint bytes (named ``name`` in messages), as
        from_checkpoint."""
        data = checkpoint.upgrade(data, name)
        dims = checkpoint.read_dims(data, name)
        checkpoint.check_dims(dims, cls.LEARNER, {}, name)
        if backend == "reference" and dims.precision != 8:
            raise ReferencePrecision(f"checkpoint {name} holds float32 reals; the reference "
                                     "backend is float64 (load it with backend='c')")
        learner = cls._from_dims(dims, backend)
        learner.load_bytes(data, name)
        return learner
