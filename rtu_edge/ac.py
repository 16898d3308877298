"""ActorCritic: streaming AC(lambda) with a shared RTU cell, on the C core or the numpy reference.

The algorithm is c_src/rtu_ac.c and rtu_edge/reference/ac.py (rtu-spec.md section 3, after
Elsayed et al. 2024): one ObGD step per eligibility trace, entropy bonus signed by the TD error,
observation normalisation and reward scaling, traces and state zeroed at episode ends.
"""

from __future__ import annotations

import numbers

import numpy as np

from . import checkpoint
from ._ccore import CCore
from ._learner import Checkpointable
from .cell import KINDS, check_cell_arguments
from .reference import ACTIVATIONS
from .reference.ac import AC, ACTION_KINDS, ACConfig
from .reference.cell import INPUT_LIMIT
from .reference.td import OPTIMIZERS


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
        cfg = ffi.new("rtu_ac_config *", {
            "gamma": config.gamma, "lambda": config.lambda_, "alpha": config.alpha,
            "kappa_value": config.kappa_value, "kappa_policy": config.kappa_policy,
            "entropy_coef": config.entropy_coef,
            "optimizer": OPTIMIZERS.index(config.optimizer),
            "normalize_obs": int(config.normalize_obs), "scale_reward": int(config.scale_reward)})
        core.check(lib.rtu_ac_init(self.ac, KINDS.index(kind), ACTIVATIONS.index(activation),
                                   n_in, n_hidden, ACTION_KINDS.index(action_kind), n_actions,
                                   cfg, seed, core.buffer_p, nbytes))
        self.cell_params = core.view(self.ac.cell.params, int(self.ac.cell.n_params))
        self.value = core.view(self.ac.value, int(self.ac.n_value - self.ac.cell.n_params))
        self.policy = core.view(self.ac.policy, int(self.ac.n_policy - self.ac.cell.n_params))
        self.action = np.zeros(n_actions, dtype=dtype)
        self.action_p = core.ptr(self.action)

    steps = property(lambda self: int(self.ac.steps))
    episodes = property(lambda self: int(self.ac.episodes))

    def act(self, obs) -> np.ndarray:
        self.core.check(self.lib.rtu_ac_act(self.ac, self.core.ptr(obs), self.action_p), "obs")
        return self.action

    def learn(self, reward, next_obs, terminated, truncated) -> None:
        self.core.check(self.lib.rtu_ac_learn(self.ac, reward, self.core.ptr(next_obs),
                                              int(terminated), int(truncated)),
                        "reward or next_obs")

    def begin_episode(self) -> None:
        self.lib.rtu_ac_begin_episode(self.ac)

    def _message(self, status) -> str:
        return self.core.ffi.string(self.lib.rtu_status_str(status)).decode()

    def to_bytes(self) -> bytes:
        """rtu_ac_save into a bytes buffer of rtu_ac_checkpoint_size bytes."""
        ffi, lib = self.core.ffi, self.lib
        size = ffi.new("size_t *")
        self.core.check(lib.rtu_ac_checkpoint_size(self.ac, size))
        out = bytearray(int(size[0]))
        written = ffi.new("size_t *")
        status = lib.rtu_ac_save(self.ac, ffi.from_buffer(out), len(out), written)
        if status == lib.RTU_ERR_ORDER:
            raise RuntimeError(checkpoint.SAVE_AFTER_LEARN)
        if status != lib.RTU_OK:
            raise ValueError(f"cannot checkpoint this learner: {self._message(status)}")
        return bytes(out[:int(written[0])])

    def restore(self, data: bytes, ckpt, path) -> None:
        """rtu_ac_load (which checks everything again; on error the learner is untouched)."""
        status = self.lib.rtu_ac_load(self.ac, self.core.ffi.from_buffer(data), len(data))
        if status != self.lib.RTU_OK:
            raise ValueError(f"checkpoint {path}: {self._message(status)}")


class _ReferenceAC:
    """The numpy reference AC (float64)."""

    def __init__(self, kind, activation, n_in, n_hidden, action_kind, n_actions, dtype,
                 config: ACConfig, seed: int):
        self.impl = AC(kind, activation, n_in, n_hidden, action_kind, n_actions, config, seed)
        self.memory_bytes = None
        self.cell_params, self.value, self.policy = (self.impl.cell.params, self.impl.value,
                                                     self.impl.policy)

    steps = property(lambda self: self.impl.steps)
    episodes = property(lambda self: self.impl.episodes)

    def act(self, obs) -> np.ndarray:
        return self.impl.act(obs)

    def learn(self, reward, next_obs, terminated, truncated) -> None:
        self.impl.learn(reward, next_obs, terminated, truncated)

    def begin_episode(self) -> None:
        self.impl.begin_episode()

    def to_bytes(self) -> bytes:
        try:
            return checkpoint.reference_ac_bytes(self.impl)
        except ValueError as err:
            raise ValueError(f"cannot checkpoint this learner: {err}") from None

    def restore(self, data: bytes, ckpt, path) -> None:
        checkpoint.restore_reference_ac(self.impl, ckpt, path)


class ActorCritic(Checkpointable):
    """Streaming actor-critic AC(lambda) with a shared RTU cell, learning online.

    Args:
        n_in: observation size; n_hidden, kind, activation, seed, backend, dtype: as for RTUCell
            (activation defaults to tanh here: with relu the policy collapsed on CartPole).
        action_kind: "discrete" (softmax over n_actions) or "continuous" (Gaussian over
            n_actions dimensions, learned state-independent log-std).
        n_actions: number of actions (discrete, >= 2) or action dimensions (continuous).
        gamma, lambda_, alpha, kappa_value, kappa_policy, entropy_coef, optimizer: the learner
            (stream-x defaults); normalize_obs, scale_reward: the running normalisations.

    Use: ``a = ac.act(obs)`` (an int, or an (n_actions,) array to clip to the environment's
    bounds before stepping it), then ``ac.learn(reward, next_obs, terminated, truncated)``;
    after an episode ends, ``act`` takes the first observation of the next one, otherwise it must
    get the ``next_obs`` given to ``learn``. Actions are sampled from the learner's own PCG32
    stream: one seed, one trajectory, on every backend.
    """

    def __init__(self, n_in: int, n_hidden: int, n_actions: int,
                 action_kind: str = "discrete", kind: str = "linear", activation: str = "tanh",
                 seed: int = 0, backend: str = "c", dtype=np.float64, gamma: float = 0.99,
                 lambda_: float = 0.8, alpha: float = 1.0, kappa_value: float = 2.0,
                 kappa_policy: float = 3.0, entropy_coef: float = 0.01,
                 optimizer: str = "obgd", normalize_obs: bool = True,
                 scale_reward: bool = True):
        self.n_in, self.n_hidden, dtype, seed = check_cell_arguments(
            n_in, n_hidden, kind, activation, seed, backend, dtype)
        if action_kind not in ACTION_KINDS:
            raise ValueError(f"action_kind must be one of {ACTION_KINDS}, got {action_kind!r}")
        minimum = 2 if action_kind == "discrete" else 1
        if (isinstance(n_actions, bool) or not isinstance(n_actions, numbers.Integral)
                or not minimum <= n_actions <= 65536):
            raise ValueError(f"n_actions must be an integer in [{minimum}, 65536] for "
                             f"{action_kind} actions, got {n_actions!r}")
        for name, value in (("gamma", gamma), ("lambda_", lambda_), ("alpha", alpha),
                            ("kappa_value", kappa_value), ("kappa_policy", kappa_policy),
                            ("entropy_coef", entropy_coef)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ValueError(f"{name} must be a number, got {value!r}")
        self.config = ACConfig(float(gamma), float(lambda_), float(alpha), float(kappa_value),
                               float(kappa_policy), float(entropy_coef), optimizer,
                               bool(normalize_obs), bool(scale_reward))
        self.config.check()
        self.kind, self.activation, self.backend, self.dtype = kind, activation, backend, dtype
        self.action_kind, self.n_actions = action_kind, int(n_actions)
        impl = _CAC if backend == "c" else _ReferenceAC
        self._impl = impl(kind, activation, self.n_in, self.n_hidden, action_kind,
                          self.n_actions, dtype, self.config, seed)
        self._acted = False
        self._expected_obs = None  # the next_obs act must get while an episode goes on

    def __repr__(self) -> str:
        return (f"ActorCritic(n_in={self.n_in}, n_hidden={self.n_hidden}, "
                f"{self.action_kind} x {self.n_actions}, kind={self.kind!r}, "
                f"backend={self.backend!r}, dtype={self.dtype.name})")

    @property
    def memory_bytes(self) -> int:
        """Exact bytes of the C learner's buffer in this precision."""
        if self._impl.memory_bytes is not None:
            return self._impl.memory_bytes
        return CCore.size(np.dtype(np.float64), lambda lib: lib.rtu_ac_buffer_size,
                          KINDS.index(self.kind), self.n_in, self.n_hidden,
                          ACTION_KINDS.index(self.action_kind), self.n_actions)

    @property
    def steps(self) -> int:
        """learn calls since construction."""
        return self._impl.steps

    @property
    def episodes(self) -> int:
        """Episode ends (terminated or truncated) since construction."""
        return self._impl.episodes

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Copies: the cell's (nu_log, theta_log, w_c, w_d), the critic's w_v (2n,), b_v (1,),
        the actor's W (A, 2n), b (A,) and, for continuous actions, log_std (A,)."""
        n, d, A = self.n_hidden, self.n_in, self.n_actions
        cell, value, policy = (self._impl.cell_params.copy(), self._impl.value.copy(),
                               self._impl.policy.copy())
        out = {"nu_log": cell[:n], "theta_log": cell[n:2 * n],
               "w_c": cell[2 * n:2 * n + n * d].reshape(n, d), "w_d": cell[2 * n + n * d:].reshape(n, d),
               "w_v": value[:2 * n], "b_v": value[2 * n:],
               "W": policy[:A * 2 * n].reshape(A, 2 * n), "b": policy[A * 2 * n:A * 2 * n + A]}
        if self.action_kind == "continuous":
            out["log_std"] = policy[A * 2 * n + A:]
        return out

    # -- checkpoints (format: c_src/rtu_ckpt.h, learner type 2) ---------------------------------

    def checkpoint_bytes(self) -> bytes:
        """The learner's checkpoint (rtu_ac_save, or rtu_edge.checkpoint for the reference):
        config, counters, PRNG, parameters, state, every trace and the normalisation statistics.
        Take it after learn (or before the first act): between act and learn a RuntimeError says
        so (the pending action is not stored). ValueError if the learner has diverged (a
        checkpoint that could not be loaded is never produced). The environment is not part of
        it: resume mid-episode with the same environment object, or save at an episode end."""
        return self._impl.to_bytes()

    def load_bytes(self, data: bytes, name: str = "<bytes>") -> None:
        """Restore from checkpoint bytes of the same precision, kind, activation, n_in, n_hidden,
        action kind and n_actions; the config, counters and PRNG are restored too, and the next
        call is act (with the next_obs of the saved learner's latest learn, unless that ended an
        episode). ValueError (naming ``name`` and the fault) on a truncated, corrupted, foreign or
        mismatched checkpoint, and then the learner is untouched."""
        data = bytes(data)
        ckpt = checkpoint.decode_ac(data, name, expect={
            "precision": self.dtype.itemsize, "kind": self.kind, "activation": self.activation,
            "n_in": self.n_in, "n_hidden": self.n_hidden, "action_kind": self.action_kind,
            "n_actions": self.n_actions})
        self._impl.restore(data, ckpt, name)
        self.config = ckpt.config
        self._acted = False
        self._expected_obs = (np.array(ckpt.arrays["obs_last"], dtype=self.dtype)
                              if ckpt.fed else None)

    @staticmethod
    def _decode_checkpoint(data: bytes, path):
        return checkpoint.decode_ac(data, path)

    @classmethod
    def _from_checkpoint(cls, ckpt, backend: str) -> "ActorCritic":
        cfg = ckpt.config
        return cls(ckpt.n_in, ckpt.n_hidden, ckpt.n_actions, action_kind=ckpt.action_kind,
                   kind=ckpt.kind, activation=ckpt.activation, seed=0, backend=backend,
                   dtype=ckpt.dtype, gamma=cfg.gamma, lambda_=cfg.lambda_, alpha=cfg.alpha,
                   kappa_value=cfg.kappa_value, kappa_policy=cfg.kappa_policy,
                   entropy_coef=cfg.entropy_coef, optimizer=cfg.optimizer,
                   normalize_obs=cfg.normalize_obs, scale_reward=cfg.scale_reward)

    def act(self, obs):
        """Sample an action for obs (n_in,): an int (discrete) or an (n_actions,) array."""
        obs = self._observation("obs", obs)
        if self._acted:
            raise RuntimeError("act was called twice: call learn with the transition first")
        if self._expected_obs is not None and not np.array_equal(obs, self._expected_obs):
            raise ValueError("obs must be the next_obs given to learn while the episode goes on "
                             "(learn with terminated or truncated ends it)")
        action = self._impl.act(obs)
        self._acted = True
        if self.action_kind == "discrete":
            return int(action[0])
        return np.array(action, dtype=np.float64)

    def learn(self, reward: float, next_obs, terminated: bool, truncated: bool) -> None:
        """Learn from the transition of the latest act: reward, the next observation, and whether
        the episode terminated (no bootstrap) or was truncated (bootstrap, but the episode ends)."""
        if isinstance(reward, bool) or not isinstance(reward, (numbers.Real, np.number)):
            raise ValueError(f"reward must be a real number, got {reward!r}")
        reward = float(reward)
        if not np.isfinite(reward) or abs(reward) > INPUT_LIMIT:
            raise ValueError(f"reward must be finite and within +-{INPUT_LIMIT:g}, got {reward!r}")
        next_obs = self._observation("next_obs", next_obs)
        for name, flag in (("terminated", terminated), ("truncated", truncated)):
            if not isinstance(flag, (bool, np.bool_)):
                raise ValueError(f"{name} must be a bool, got {flag!r}")
        if not self._acted:
            raise RuntimeError("learn was called without act before it")
        self._impl.learn(reward, next_obs, bool(terminated), bool(truncated))
        self._acted = False
        self._expected_obs = None if (terminated or truncated) else next_obs.copy()

    def begin_episode(self) -> None:
        """Start a new episode without a transition, as learn does when an episode ends: zero the
        eligibility traces and the cell's state and RTRL traces, without counting an episode. For
        an episode cut off from outside (a robot restarted, a reset); a pending act is dropped
        and the next act may take any observation."""
        self._impl.begin_episode()
        self._acted = False
        self._expected_obs = None

    def _observation(self, name: str, value) -> np.ndarray:
        a = np.asarray(value)
        if a.shape != (self.n_in,):
            raise ValueError(f"{name} must have shape ({self.n_in},), got {a.shape}")
        if not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
            raise ValueError(f"{name} must hold real numbers, got dtype {a.dtype}")
        a = np.ascontiguousarray(a, dtype=self.dtype)
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} contains NaN or Inf")
        if np.max(np.abs(a)) > INPUT_LIMIT:
            raise ValueError(f"{name} has a value beyond +-{INPUT_LIMIT:g}; scale the input")
        return a
