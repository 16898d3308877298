"""ActorCriticBatch and TDLambdaBatch: many independent learners advanced by one C call.

One learner per seed, or one per environment of a gymnasium vector environment (or per stream):
each is exactly the ``ActorCritic`` (``TDLambda``) of the same arguments and seed (same network,
same algorithm, same trajectory for the same inputs), and the batch lives in one contiguous C
buffer (c_src/rtu_ac.h: ``rtu_ac_batch_init``, ``rtu_ac_act_batch``, ``rtu_ac_learn_batch``;
c_src/rtu_td.h: ``rtu_td_batch_init``, ``rtu_td_run_batch``). The loop over the learners runs in
C, so a step of B learners costs one Python call instead of B.
"""

from __future__ import annotations

import dataclasses
import numbers

import numpy as np

from . import _ccore, checkpoint
from ._ccore import CCore
from ._learner import bool_flags, check_action_space, real_array, real_rows, resets_next_step
from .cell import KINDS
from .reference import ACTIVATIONS
from .ac import ACT_TWICE, LEARN_FIRST, WRONG_OBS, ActorCritic
from .td import TDLambda
from .reference.cell import INPUT_LIMIT, MAX_BATCH, is_seed


def _seeds(seeds) -> list:
    try:
        out = list(seeds)
    except TypeError:
        raise ValueError(f"seeds must be a sequence of integers, got {seeds!r}") from None
    if not 1 <= len(out) <= MAX_BATCH:
        raise ValueError(f"seeds must hold 1 to {MAX_BATCH} seeds (one learner per seed), got "
                         f"{len(out)}")
    for s in out:
        if not is_seed(s):
            raise ValueError(f"seeds must be integers in [0, 2**64), got {s!r}")
    return [int(s) for s in out]


def _learner_index(i, count: int) -> int:
    """i as a learner's index in [0, count); ValueError naming it otherwise."""
    if isinstance(i, (bool, np.bool_)) or not isinstance(i, numbers.Integral) \
            or not 0 <= i < count:
        raise ValueError(f"i must be a learner's index in [0, {count}), got {i!r}")
    return int(i)


def _diverged(core, status: int, flags: np.ndarray) -> None:
    """FloatingPointError naming every learner flagged in flags (those that diverged in a batch
    call, rtu_ac.h) if status is a divergence (RTU_ERR_DIVERGED, RTU_ERR_OVERFLOW)."""
    if status in (core.lib.RTU_ERR_OVERFLOW, core.lib.RTU_ERR_DIVERGED):
        which = [int(i) for i in np.flatnonzero(flags)]
        who = f"learner {which[0]}" if len(which) == 1 else \
            "learners " + ", ".join(map(str, which))
        raise FloatingPointError(f"{who} diverged: {core.message(status)}")


def _load_learner(template, core, load_fn, check_fn, obj, data, name: str) -> None:
    """Learner obj of a batch (built as template) from checkpoint bytes: checked as
    template.load_bytes checks them, and with the batch's hyperparameters (its learners share
    them); ValueError naming name otherwise, and then no learner changed."""
    data = template._fitting(data, name)
    theirs = type(template).from_bytes(data, name).config
    for field in dataclasses.fields(theirs):
        mine, found = (getattr(c, field.name) for c in (template.config, theirs))
        if found != mine:
            shown = [f"{v:.7g}" if isinstance(v, float) else repr(v) for v in (mine, found)]
            mine, found = shown if shown[0] != shown[1] else (repr(mine), repr(found))
            raise ValueError(f"{checkpoint.where(name)} does not match this batch: its "
                             f"{field.name} is {found}, the batch's is {mine} (its learners "
                             "share their hyperparameters)")
    _ccore.load_bytes(core, load_fn, check_fn, obj, data, checkpoint.where(name))


def _c_backend(hyperparameters: dict) -> None:
    """A batch runs on the C core: a backend given among its keyword arguments must be "c" (and
    is taken out of them)."""
    backend = hyperparameters.pop("backend", "c")
    if backend != "c":
        raise ValueError(f"backend must be 'c' for a batch (its learners step in one C call), "
                         f"got {backend!r}")


class ActorCriticBatch:
    """``len(seeds)`` = B independent ``ActorCritic`` learners on the C core, learner i seeded with
    ``seeds[i]``; every other argument is ActorCritic's (and checked as it checks them), the
    backend is the C core.

    ``act(obs)``: obs (B, n_in) -> actions, (B,) int64 (discrete) or (B, n_actions) float64.
    ``learn(rewards, next_obs, terminated, truncated)``: (B,), (B, n_in), (B,) bools, (B,) bools.
    Both take ``active`` (B,) bools (default: all): learners with False are left untouched and
    their rows ignored (for an environment that is resetting). A refused input (NaN, Inf, a value
    beyond the input range, a call out of turn) is an exception naming the learner and changes no
    learner; learners that diverge raise FloatingPointError naming every one of them, after the
    others have stepped (restore each from a checkpoint: ``load_bytes(i, data)``).

    ``step_env(envs, obs)``: one transition of every learner on a gymnasium vector environment
    of B sub-environments (act, ``envs.step``, learn), in either autoreset mode.

    Per learner: ``steps`` and ``episodes`` (B,) arrays, ``checkpoint_bytes(i)`` (a checkpoint
    ``ActorCritic.from_bytes`` loads), ``load_bytes(i, data)`` (learner i from such a checkpoint)
    and ``learner(i)`` (a copy); ``memory_bytes`` is the whole buffer's exact size.
    """

    def __init__(self, n_in: int, n_hidden: int, n_actions: int, *, seeds,
                 action_kind: str = "discrete", kind: str = "linear", activation: str = "tanh",
                 dtype=np.float64, config=None, network=None, **hyperparameters):
        seeds = _seeds(seeds)
        _c_backend(hyperparameters)
        # one learner built as ActorCritic builds it: every argument checked at that one layer
        template = ActorCritic(n_in, n_hidden, n_actions, action_kind=action_kind, kind=kind,
                               activation=activation, seed=seeds[0], backend="c", dtype=dtype,
                               config=config, network=network, **hyperparameters)
        self._template = template
        self.n_in, self.n_actions, self.action_kind = template.n_in, n_actions, action_kind
        self.dtype, self.count, self.seeds = template.dtype, len(seeds), seeds
        shape = template._shape
        ffi = _ccore.load_lib(self.dtype)[0]
        nbytes = CCore.size(self.dtype, lambda lib: lib.rtu_ac_batch_buffer_size,
                            shape.struct(ffi), self.count)
        self.core = core = CCore(self.dtype, nbytes)
        self.memory_bytes = nbytes
        self.lib = lib = core.lib
        self.acs = ffi.new("rtu_ac[]", self.count)
        cfg = _ccore.config_struct(ffi, "rtu_ac_config", template.config)
        core.check(lib.rtu_ac_batch_init(self.acs, self.count, shape.struct(ffi), cfg,
                                         ffi.new("uint64_t[]", seeds), core.buffer_p, nbytes))
        self._action_reals = n_actions if action_kind == "continuous" else 1
        self._actions = np.zeros((self.count, self._action_reals), dtype=self.dtype)
        self._at = ffi.new("size_t *")
        self._diverged = np.zeros(self.count, dtype=np.uint8)  # flags of a batch call
        self._resetting = np.zeros(self.count, dtype=bool)  # step_env, NEXT_STEP autoreset

    def __repr__(self) -> str:
        return f"ActorCriticBatch({self.count} x {self._template!r})"

    @property
    def network(self):
        """The network's shape beside the RTU (an ACNetwork), every learner's."""
        return self._template.network

    @property
    def config(self):
        """The hyperparameters (an ACConfig), every learner's."""
        return self._template.config

    @property
    def steps(self) -> np.ndarray:
        """Learn calls of each learner since construction, (B,)."""
        return np.array([int(self.acs[i].steps) for i in range(self.count)], dtype=np.int64)

    @property
    def episodes(self) -> np.ndarray:
        """Episode ends of each learner since construction, (B,)."""
        return np.array([int(self.acs[i].episodes) for i in range(self.count)], dtype=np.int64)

    def _active(self, active):
        if active is None:
            return self.core.ffi.NULL, None
        flags = bool_flags("active", active, self.count)
        return self.core.ffi.from_buffer("unsigned char[]", flags), flags

    def _refused(self, status: int, name: str, rows: np.ndarray, call: str) -> None:
        """The exception for a status of a batch call, naming learner *at (every diverged one)."""
        lib, i = self.lib, int(self._at[0])
        if status == lib.RTU_OK:
            return
        _diverged(self.core, status, self._diverged)
        if status == lib.RTU_ERR_ORDER:
            if call == "learn":
                raise RuntimeError(f"learner {i}: {LEARN_FIRST}")
            if self.acs[i].acted:
                raise RuntimeError(f"learner {i}: {ACT_TWICE}")
            raise ValueError(f"{name}[{i}]: {WRONG_OBS}")
        if status == lib.RTU_ERR_INPUT_RANGE and np.all(np.abs(rows[i]) <= INPUT_LIMIT):
            raise ValueError(f"{name}[{i}], normalised by learner {i}'s running statistics, has a "
                             f"value beyond +-{INPUT_LIMIT:g}; scale the input")
        self.core.check(status, f"{name}[{i}]")

    def act(self, obs, active=None) -> np.ndarray:
        """Sample an action for each learner's row of obs (B, n_in): (B,) int64 for discrete
        actions, (B, n_actions) float64 for continuous ones (rows of inactive learners: 0)."""
        obs = real_rows("obs", obs, self.n_in, self.dtype, self.count)
        active_p, flags = self._active(active)  # flags: the memory active_p points at
        self._actions[:] = 0
        status = self.lib.rtu_ac_act_batch(self.acs, self.count, self.core.ptr(obs), active_p,
                                           self.core.ptr(self._actions), self._at,
                                           self.core.ffi.from_buffer("unsigned char[]",
                                                                     self._diverged))
        self._refused(status, "obs", obs, "act")
        if self.action_kind == "discrete":
            return self._actions[:, 0].astype(np.int64)
        return self._actions.astype(np.float64)

    def learn(self, rewards, next_obs, terminated, truncated, active=None) -> None:
        """Learn from each learner's transition of the latest act: rewards (B,), next_obs
        (B, n_in), terminated and truncated (B,) bools (as ActorCritic.learn's)."""
        rewards = real_array("rewards", rewards, (self.count,), self.dtype)
        next_obs = real_rows("next_obs", next_obs, self.n_in, self.dtype, self.count)
        term = bool_flags("terminated", terminated, self.count)
        trunc = bool_flags("truncated", truncated, self.count)
        ffi = self.core.ffi
        active_p, flags = self._active(active)  # flags: the memory active_p points at
        status = self.lib.rtu_ac_learn_batch(
            self.acs, self.count, self.core.ptr(rewards), self.core.ptr(next_obs),
            ffi.from_buffer("unsigned char[]", term), ffi.from_buffer("unsigned char[]", trunc),
            active_p, self._at, ffi.from_buffer("unsigned char[]", self._diverged))
        if status == self.lib.RTU_ERR_NONFINITE_INPUT or status == self.lib.RTU_ERR_INPUT_RANGE:
            i = int(self._at[0])
            if not abs(rewards[i]) <= INPUT_LIMIT:
                self.core.check(status, f"rewards[{i}]")
        self._refused(status, "next_obs", next_obs, "learn")

    def begin_episode(self, i: int) -> None:
        """Start a new episode of learner i outside learn (ActorCritic.begin_episode)."""
        self.lib.rtu_ac_begin_episode(self.acs + self._index(i))

    def _index(self, i) -> int:
        return _learner_index(i, self.count)

    def checkpoint_bytes(self, i: int) -> bytes:
        """Learner i's checkpoint, as ActorCritic.checkpoint_bytes gives it (ActorCritic.from_bytes
        loads it)."""
        lib = self.lib
        return _ccore.save_bytes(self.core, lib.rtu_ac_checkpoint_size, lib.rtu_ac_save,
                                 lib.rtu_ac_check_checkpoint, self.acs + self._index(i))

    def load_bytes(self, i: int, data: bytes, name: str = "<bytes>") -> None:
        """Restore learner i from checkpoint bytes (named ``name`` in messages), e.g. a learner
        that diverged from its latest ``checkpoint_bytes(i)``: checked as
        ``ActorCritic.load_bytes`` checks them (learner type, precision, kind, activation, sizes,
        network, action space), and the batch's hyperparameters; a refused checkpoint is a
        ValueError naming the fault, and changes no learner."""
        lib = self.lib
        _load_learner(self._template, self.core, lib.rtu_ac_load, lib.rtu_ac_check_checkpoint,
                      self.acs + self._index(i), data, name)

    def learner(self, i: int) -> ActorCritic:
        """A copy of learner i as an ActorCritic on the C core (through its checkpoint)."""
        return ActorCritic.from_bytes(self.checkpoint_bytes(i), f"learner {i}")

    def step_env(self, envs, obs):
        """One transition of every learner on ``envs``, a gymnasium vector environment of B
        sub-environments (sub-environment i is learner i's): act on obs, step, learn. Returns
        (obs, rewards, terminated, truncated): the observations for the next call, and the
        transition's rewards and episode ends.

        Continuous actions are clipped to ``envs.single_action_space``'s bounds before
        ``envs.step``; the learners learn from the actions they sampled.

        Autoreset: in SAME_STEP mode an ended environment's final observation (info["final_obs"])
        is what its learner learns from; in NEXT_STEP mode (gymnasium's default) the step after an
        end only resets that environment, and its learner sits that step out (``active``).

        If a learner diverges as it acts, or ``envs.step`` (or the learn on what it returned)
        raises, the exception propagates and every learner that acted drops that action and
        starts a new episode, as ``begin_episode(i)`` does (its parameters and statistics kept):
        the batch can still be checkpointed and stepped (a diverged learner once restored with
        ``load_bytes``); reset ``envs`` before the next call.
        """
        next_mode = resets_next_step(envs)
        if envs.num_envs != self.count:
            raise ValueError(f"envs has {envs.num_envs} environments; this batch has "
                             f"{self.count} learners")
        check_action_space(envs.single_action_space, self.action_kind, self.n_actions, "envs")
        live = ~self._resetting if next_mode else None
        try:
            actions = self.act(obs, active=live)
        except FloatingPointError:  # a learner diverged: those that acted drop their action
            self._drop_pending()
            raise
        sent = actions
        if self.action_kind == "continuous":  # the learners learn from the unclipped actions
            space = envs.single_action_space
            sent = np.clip(actions, space.low, space.high)
        try:
            obs, rewards, terminated, truncated, info = envs.step(sent)
            terminated, truncated = np.asarray(terminated, bool), np.asarray(truncated, bool)
            final = np.array(obs, dtype=self.dtype, copy=True)
            ended = terminated | truncated
            if not next_mode and ended.any():
                for i in np.flatnonzero(ended):
                    final[i] = info["final_obs"][i]
            if next_mode:
                self._resetting = ended & live
            self.learn(rewards, final, terminated, truncated, active=live)
        except BaseException:
            self._drop_pending()
            self._resetting[:] = False  # envs are reset before the next call
            raise
        return obs, rewards, terminated, truncated

    def _drop_pending(self) -> None:
        """Every learner that acted and has not learned drops that action and starts a new
        episode (begin_episode), its parameters and statistics kept: step_env's transition, whose
        step or learn failed, cannot be learned."""
        for i in range(self.count):
            if self.acs[i].acted:
                self.lib.rtu_ac_begin_episode(self.acs + i)


class TDLambdaBatch:
    """``len(seeds)`` = B independent ``TDLambda`` learners on the C core, learner i seeded with
    ``seeds[i]``; every other argument is TDLambda's (and checked as it checks them).

    ``step(X (B, n_in), cumulants (B,)) -> (B,)`` steps every learner once (learner i on row i);
    ``run(X (T, B, n_in), cumulants (T, B)) -> (T, B)`` steps all of them over T time steps in one
    C call (time-major: step t of every learner before step t + 1). A refused input (NaN, Inf,
    beyond 1e6) changes no learner and names it; a learner that diverges raises
    FloatingPointError naming it, and the run ends with the time step in which it did.
    ``reset(i)``, ``steps`` (B,), ``checkpoint_bytes(i)``, ``load_bytes(i, data)`` (learner i from
    such a checkpoint) and ``learner(i)`` (a TDLambda copy), ``memory_bytes`` (the whole buffer).
    """

    def __init__(self, n_in: int, n_hidden: int, kind: str = "linear",
                 activation: str = "relu", *, seeds, dtype=np.float64, config=None,
                 **hyperparameters):
        seeds = _seeds(seeds)
        _c_backend(hyperparameters)
        template = TDLambda(n_in, n_hidden, kind=kind, activation=activation, seed=seeds[0],
                            backend="c", dtype=dtype, config=config, **hyperparameters)
        self._template = template
        self.n_in, self.n_hidden, self.kind = template.n_in, template.n_hidden, kind
        self.dtype, self.count, self.seeds = template.dtype, len(seeds), seeds
        args = (KINDS.index(kind), self.n_in, self.n_hidden)
        nbytes = CCore.size(self.dtype, lambda lib: lib.rtu_td_batch_buffer_size, *args,
                            self.count)
        self.core = core = CCore(self.dtype, nbytes)
        self.memory_bytes = nbytes
        ffi, self.lib = core.ffi, core.lib
        self.tds = ffi.new("rtu_td[]", self.count)
        cfg = _ccore.config_struct(ffi, "rtu_td_config", template.config)
        core.check(self.lib.rtu_td_batch_init(
            self.tds, self.count, KINDS.index(kind), ACTIVATIONS.index(activation), self.n_in,
            self.n_hidden, cfg, ffi.new("uint64_t[]", seeds), core.buffer_p, nbytes))
        self._at = ffi.new("size_t *")

    def __repr__(self) -> str:
        return f"TDLambdaBatch({self.count} x {self._template!r})"

    @property
    def config(self):
        """The hyperparameters (a TDConfig), every learner's."""
        return self._template.config

    @property
    def steps(self) -> np.ndarray:
        """Steps of each learner since construction, (B,)."""
        return np.array([int(self.tds[i].steps) for i in range(self.count)], dtype=np.int64)

    def _index(self, i) -> int:
        return _learner_index(i, self.count)

    def step(self, X, cumulants) -> np.ndarray:
        """One step of every learner: X (B, n_in), cumulants (B,); returns the predictions (B,)."""
        X = real_rows("X", X, self.n_in, self.dtype, self.count)
        cumulants = real_array("cumulants", cumulants, (self.count,), self.dtype)
        return self.run(X[None], cumulants[None])[0]

    def run(self, X, cumulants) -> np.ndarray:
        """T steps of every learner: X (T, B, n_in), cumulants (T, B); predictions (T, B)."""
        X = np.asarray(X)
        if X.ndim != 3 or X.shape[1:] != (self.count, self.n_in):
            raise ValueError(f"X must have shape (T, {self.count}, {self.n_in}), got {X.shape}")
        X = real_array("X", X, X.shape, self.dtype)
        T = X.shape[0]
        cumulants = real_array("cumulants", cumulants, (T, self.count), self.dtype)
        out = np.empty((T, self.count), dtype=self.dtype)
        ptr = self.core.ptr
        status = self.lib.rtu_td_run_batch(self.tds, self.count, ptr(X), ptr(cumulants), T,
                                           ptr(out), self._at)
        i = int(self._at[0])
        if status in (self.lib.RTU_ERR_OVERFLOW, self.lib.RTU_ERR_DIVERGED):
            raise FloatingPointError(f"learner {i} diverged: {self.core.message(status)} (the run "
                                     "ended with that step)")
        self.core.check(status, f"X or cumulants of learner {i}")
        return out

    def reset(self, i: int) -> None:
        """Zero learner i's cell state and traces and eligibility traces (TDLambda.reset)."""
        self.lib.rtu_td_reset(self.tds + self._index(i))

    def checkpoint_bytes(self, i: int) -> bytes:
        """Learner i's checkpoint, as TDLambda.checkpoint_bytes gives it."""
        lib = self.lib
        return _ccore.save_bytes(self.core, lib.rtu_td_checkpoint_size, lib.rtu_td_save,
                                 lib.rtu_td_check_checkpoint, self.tds + self._index(i))

    def load_bytes(self, i: int, data: bytes, name: str = "<bytes>") -> None:
        """Restore learner i from checkpoint bytes (named ``name`` in messages), checked as
        ``TDLambda.load_bytes`` checks them and with the batch's hyperparameters; a refused
        checkpoint is a ValueError naming the fault, and changes no learner."""
        lib = self.lib
        _load_learner(self._template, self.core, lib.rtu_td_load, lib.rtu_td_check_checkpoint,
                      self.tds + self._index(i), data, name)

    def learner(self, i: int) -> TDLambda:
        """A copy of learner i as a TDLambda on the C core (through its checkpoint)."""
        return TDLambda.from_bytes(self.checkpoint_bytes(i), f"learner {i}")

