"""ActorCritic: streaming AC(lambda) with a shared RTU cell, on the C core or the numpy reference.

The algorithm is c_src/rtu_ac.c and rtu_edge/reference/ac.py (rtu-spec.md section 3, after
Elsayed et al. 2024): one ObGD step per eligibility trace, entropy bonus signed by the TD error,
observation normalisation and reward scaling, traces and state zeroed at episode ends.
"""

from __future__ import annotations

import numbers

import numpy as np

from . import _ccore
from ._ccore import CCore
from ._learner import Checkpointable, ReferenceCheckpoints, real_array, real_scalar
from .cell import KINDS
from .reference import ACTIVATIONS
from .reference.ac import AC, ACTION_KINDS, ACConfig
from .reference.cell import cell_layout, split
from .td import TWIN_FIELDS as _TD_TWIN

#: the fields a reference AC shares with rtu_ac, copied to and from its C twin by name
TWIN_FIELDS = tuple(f for f in _TD_TWIN if f.startswith("cell.")) + (
    "value", "policy", "z_v", "z_pi", "obs_mean", "obs_m2", "x", "obs_last", "ret_trace",
    "ret_mean", "ret_m2", "obs_count", "ret_count", "rng.state", "rng.inc", "fed", "acted",
    "steps", "episodes")

#: what a refused call out of turn (RTU_ERR_ORDER) means
ACT_TWICE = "act was called twice: call learn with the transition first"
WRONG_OBS = ("obs must be the next_obs given to learn while the episode goes on (learn with "
             "terminated or truncated ends it)")
LEARN_FIRST = "learn was called without act before it"


class _CAC:
    """rtu_ac through cffi, its buffer owned by numpy."""

    def __init__(self, kind, activation, n_in, n_hidden, action_kind, n_actions, dtype,
                 config: ACConfig, seed: int):
        args = (KINDS.index(kind), n_in, n_hidden, ACTION_KINDS.index(action_kind), n_actions)
        nbytes = CCore.size(dtype, lambda lib: lib.rtu_ac_buffer_size, *args)
        self.core = core = CCore(dtype, nbytes)
        self.memory_bytes = nbytes
        ffi, lib = core.ffi, core.lib
        self.lib = lib
        self.ac = ffi.new("rtu_ac *")
        cfg = _ccore.config_struct(ffi, "rtu_ac_config", config)
        status = lib.rtu_ac_init(self.ac, KINDS.index(kind), ACTIVATIONS.index(activation),
                                 n_in, n_hidden, ACTION_KINDS.index(action_kind), n_actions,
                                 cfg, seed, core.buffer_p, nbytes)
        if status == lib.RTU_ERR_CONFIG:
            raise _ccore.config_error(core, lib.rtu_ac_check_config, cfg, config)
        core.check(status)
        self.cell_params = core.view(self.ac.cell.params, int(self.ac.cell.n_params))
        self.value = core.view(self.ac.value, int(self.ac.n_value - self.ac.cell.n_params))
        self.policy = core.view(self.ac.policy, int(self.ac.n_policy - self.ac.cell.n_params))
        self.obs_last = core.view(self.ac.obs_last, n_in)
        self.obs_mean, self.obs_m2 = core.view(self.ac.obs_mean, n_in), core.view(self.ac.obs_m2,
                                                                                   n_in)
        self.obs = np.zeros(n_in, dtype=dtype)  # act's and learn's observation, copied in
        self.action = np.zeros(n_actions, dtype=dtype)
        self.obs_p, self.action_p = core.ptr(self.obs), core.ptr(self.action)

    steps = property(lambda self: int(self.ac.steps))
    episodes = property(lambda self: int(self.ac.episodes))
    config = property(lambda self: _ccore.config_from_struct(ACConfig, self.ac.config))
    struct = property(lambda self: self.ac)
    fed = property(lambda self: int(self.ac.fed))
    acted = property(lambda self: int(self.ac.acted))
    obs_count = property(lambda self: int(self.ac.obs_count))

    def act(self, obs) -> np.ndarray:
        self.obs[:] = obs
        status = self.lib.rtu_ac_act(self.ac, self.obs_p, self.action_p)
        if status == self.lib.RTU_ERR_ORDER:
            if self.ac.acted:
                raise RuntimeError(ACT_TWICE)
            raise ValueError(WRONG_OBS)
        self.core.check(status, "obs")
        return self.action

    def learn(self, reward, next_obs, terminated, truncated) -> None:
        self.obs[:] = next_obs
        status = self.lib.rtu_ac_learn(self.ac, reward, self.obs_p, terminated, truncated)
        if status == self.lib.RTU_ERR_ORDER:
            raise RuntimeError(LEARN_FIRST)
        self.core.check(status, "reward or next_obs")

    def begin_episode(self) -> None:
        self.lib.rtu_ac_begin_episode(self.ac)

    def to_bytes(self) -> bytes:
        return _ccore.save_bytes(self.core, self.lib.rtu_ac_checkpoint_size, self.lib.rtu_ac_save,
                                 self.ac)

    def restore(self, data: bytes, where: str) -> None:
        _ccore.load_bytes(self.core, self.lib.rtu_ac_load, self.lib.rtu_ac_check_checkpoint,
                          self.ac, data, where)


class _ReferenceAC(ReferenceCheckpoints):
    """The numpy reference AC (float64); checkpoints through a float64 C twin."""

    FIELDS = TWIN_FIELDS

    def __init__(self, kind, activation, n_in, n_hidden, action_kind, n_actions, dtype,
                 config: ACConfig, seed: int):
        self.impl = self.ref = AC(kind, activation, n_in, n_hidden, action_kind, n_actions, config, seed)
        self.memory_bytes = None
        self.cell_params, self.value, self.policy = (self.impl.cell.params, self.impl.value,
                                                     self.impl.policy)
        self.act, self.learn = self.impl.act, self.impl.learn
        self.begin_episode = self.impl.begin_episode

    steps = property(lambda self: self.impl.steps)
    episodes = property(lambda self: self.impl.episodes)
    config = property(lambda self: self.impl.config)
    fed = property(lambda self: self.impl.fed)
    acted = property(lambda self: self.impl.acted)
    obs_last = property(lambda self: self.impl.obs_last)
    obs_mean = property(lambda self: self.impl.obs_mean)
    obs_m2 = property(lambda self: self.impl.obs_m2)
    obs_count = property(lambda self: self.impl.obs_count)

    def _twin(self) -> _CAC:
        ac, cell = self.impl, self.impl.cell
        return _CAC(cell.kind, cell.activation, cell.n_in, cell.n_hidden, ac.action_kind,
                    ac.n_actions, np.dtype(np.float64), ac.config, 0)


class ActorCritic(Checkpointable):
    """Streaming actor-critic AC(lambda) with a shared RTU cell, learning online.

    Args:
        n_in: observation size; n_hidden, kind, activation, seed, backend, dtype: as for RTUCell
            (activation defaults to tanh here: with relu the policy collapsed on CartPole).
        n_actions: number of actions (discrete, >= 2) or action dimensions (continuous).
        action_kind: "discrete" (softmax over n_actions) or "continuous" (Gaussian over
            n_actions dimensions, learned state-independent log-std).
        config: an ACConfig (gamma, lambda_, alpha, kappa_value, kappa_policy, entropy_coef,
            optimizer, normalize_obs, scale_reward; the stream-x defaults; rtu_edge.ACConfig
            documents each); keyword arguments named as its fields replace those fields
            (``ActorCritic(2, 32, 2, entropy_coef=0.05)``).

    Use: ``a = ac.act(obs)`` (an int, or an (n_actions,) array to clip to the environment's
    bounds before stepping it), then ``ac.learn(reward, next_obs, terminated, truncated)``;
    after an episode ends, ``act`` takes the first observation of the next one, otherwise it must
    get the ``next_obs`` given to ``learn``. Actions are sampled from the learner's own PCG32
    stream: one seed, one trajectory, on every backend.
    """

    LEARNER = "actor-critic"

    def __init__(self, n_in: int, n_hidden: int, n_actions: int,
                 action_kind: str = "discrete", kind: str = "linear", activation: str = "tanh",
                 seed: int = 0, backend: str = "c", dtype=np.float64,
                 config: ACConfig | None = None, **hyperparameters):
        self._setup_cell(n_in, n_hidden, kind, activation, seed, backend, dtype)
        if action_kind not in ACTION_KINDS:
            raise ValueError(f"action_kind must be one of {ACTION_KINDS}, got {action_kind!r}")
        minimum = 2 if action_kind == "discrete" else 1
        if (isinstance(n_actions, bool) or not isinstance(n_actions, numbers.Integral)
                or not minimum <= n_actions <= 65536):
            raise ValueError(f"n_actions must be an integer in [{minimum}, 65536] for "
                             f"{action_kind} actions, got {n_actions!r}")
        config = self._config(ACConfig, config, hyperparameters)
        self.action_kind, self.n_actions = action_kind, int(n_actions)
        impl = _CAC if backend == "c" else _ReferenceAC
        self._impl = impl(kind, activation, self.n_in, self.n_hidden, action_kind,
                          self.n_actions, self.dtype, config, self.seed)

    def __repr__(self) -> str:
        return (f"ActorCritic(n_in={self.n_in}, n_hidden={self.n_hidden}, "
                f"{self.action_kind} x {self.n_actions}, kind={self.kind!r}, "
                f"backend={self.backend!r}, dtype={self.dtype.name})")

    def _size_query(self) -> tuple:
        return ("rtu_ac_buffer_size", KINDS.index(self.kind), self.n_in, self.n_hidden,
                ACTION_KINDS.index(self.action_kind), self.n_actions)

    def _dims(self) -> dict:
        dims = super()._dims()
        dims.update(action_kind=self.action_kind, n_actions=self.n_actions)
        return dims

    @classmethod
    def _from_dims(cls, dims, backend: str) -> "ActorCritic":
        return cls(dims.n_in, dims.n_hidden, dims.n_actions, action_kind=dims.action_kind,
                   kind=dims.kind, activation=dims.activation, backend=backend,
                   dtype=dims.dtype)

    @property
    def episodes(self) -> int:
        """Episode ends (terminated or truncated) since construction."""
        return self._impl.episodes

    @property
    def observation_statistics(self) -> dict:
        """Copies of the running observation statistics (Welford): "mean" (n_in,), "m2" (n_in,),
        the sum of squared deviations, and "count", the observations added."""
        impl = self._impl
        return {"mean": np.array(impl.obs_mean, dtype=self.dtype),
                "m2": np.array(impl.obs_m2, dtype=self.dtype), "count": int(impl.obs_count)}

    @property
    def acted(self) -> bool:
        """act was called and learn not yet (the next call must be learn)."""
        return bool(self._impl.acted)

    @property
    def expected_obs(self):
        """The observation the next act must get, (n_in,): the next_obs of the latest learn while
        its episode goes on; None when any observation may start an episode (or learn is due)."""
        if not self._impl.fed or self._impl.acted:
            return None
        return np.array(self._impl.obs_last, dtype=self.dtype)

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Copies: the cell's (nu_log, theta_log, w_c, w_d), the critic's w_v (2n,), b_v (1,),
        the actor's W (A, 2n), b (A,) and, for continuous actions, log_std (A,)."""
        n2, A = 2 * self.n_hidden, self.n_actions
        out = split(self._impl.cell_params.copy(), cell_layout(self.n_in, self.n_hidden))
        out.update(split(self._impl.value.copy(), [("w_v", (n2,)), ("b_v", (1,))]))
        policy = [("W", (A, n2)), ("b", (A,))]
        if self.action_kind == "continuous":
            policy.append(("log_std", (A,)))
        out.update(split(self._impl.policy.copy(), policy))
        return out

    def checkpoint_bytes(self) -> bytes:
        """As for every learner (config, counters, PRNG, parameters, state, every trace and the
        normalisation statistics). Take it after learn (or before the first act): between act and
        learn a RuntimeError says so (the pending action is not stored). The environment is not
        part of it: resume mid-episode with the same environment object, or save at an episode
        end; after a load the next call is act, with the next_obs of the saved learner's latest
        learn unless that ended an episode."""
        return self._impl.to_bytes()

    def act(self, obs):
        """Sample an action for obs (n_in,): an int (discrete) or an (n_actions,) array."""
        action = self._impl.act(real_array("obs", obs, (self.n_in,), self.dtype))
        if self.action_kind == "discrete":
            return int(action[0])
        return np.array(action, dtype=np.float64)

    def learn(self, reward: float, next_obs, terminated: bool, truncated: bool) -> None:
        """Learn from the transition of the latest act: reward, the next observation, and whether
        the episode terminated (no bootstrap) or was truncated (bootstrap, but the episode ends)."""
        reward = real_scalar("reward", reward)
        next_obs = real_array("next_obs", next_obs, (self.n_in,), self.dtype)
        for name, flag in (("terminated", terminated), ("truncated", truncated)):
            if not isinstance(flag, (bool, np.bool_)):
                raise ValueError(f"{name} must be a bool, got {flag!r}")
        self._impl.learn(reward, next_obs, bool(terminated), bool(truncated))

    def begin_episode(self) -> None:
        """Start a new episode without a transition, as learn does when an episode ends: zero the
        eligibility traces and the cell's state and RTRL traces, without counting an episode. For
        an episode cut off from outside (a robot restarted, a reset); a pending act is dropped
        and the next act may take any observation."""
        self._impl.begin_episode()
