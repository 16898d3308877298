"""ActorCritic: the streaming actor-critic AC(lambda) on the streaming network, on the C core or
the numpy reference.

The algorithm is c_src/rtu_ac.c and rtu_edge/reference/ac.py (rtu-spec.md sections 3 and 6, after
Elsayed et al. 2024 and Farr et al. 2026): per network (critic and actor, separate by default) an
optional input layer (Dense, LayerNorm, leaky ReLU), the RTU, and an MLP head; one ObGD step per
eligibility trace, entropy bonus signed by the TD error, observation normalisation and reward
scaling, traces and state zeroed at episode ends. The network's shape beside the RTU (input layer,
head, shared trunk, previous action and reward as inputs, the memoryless baseline) is an
``ACNetwork``; the hyperparameters are an ``ACConfig``.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import NamedTuple

import numpy as np

from . import _ccore
from ._ccore import CCore, load_lib
from ._learner import (Checkpointable, ReferenceCheckpoints, bool_flag, config_with, real_array,
                       real_scalar)
from .cell import CELL_FIELDS, KINDS
from .reference import ACTIVATIONS
from .reference.ac import AC, ACTION_KINDS, policy_std
from .reference.cell import INPUT_LIMIT, MAX_DIM, cell_layout, split
from .reference.config import ACConfig, ACNetwork

#: the fields of an ACNetwork (rtu_ac_shape's members of the same names)
NETWORK_FIELDS = tuple(f.name for f in dataclasses.fields(ACNetwork))

#: the fields a reference AC shares with rtu_ac, copied to and from its C twin by name ("trunk.1"
#: is skipped when the trunk is shared: the reference has None there)
TWIN_FIELDS = tuple(
    f"trunk.{r}.{name}" for r in (0, 1)
    for name in ("params", "e_hat", "e", "e_inv_std", *(f"cell.{c}" for c in CELL_FIELDS))) + \
    tuple(f"head.{r}.{name}" for r in (0, 1)
          for name in ("params", "q_hat", "q", "q_inv_std", "out")) + (
    "z_v", "z_pi", "pi", "x", "x_next", "obs_mean", "obs_m2", "obs_last", "action", "ret_trace",
    "ret_mean", "ret_m2", "obs_count", "ret_count", "reward_mean", "reward_m2", "reward_count",
    "rng.state", "rng.inc", "fed", "acted",
    "steps", "episodes")

#: what a refused call out of turn (RTU_ERR_ORDER) means
ACT_TWICE = "act was called twice: call learn with the transition first"
WRONG_OBS = ("obs must be the next_obs given to learn while the episode goes on (learn with "
             "terminated or truncated ends it)")
LEARN_FIRST = "learn was called without act before it"


class Shape(NamedTuple):
    """rtu_ac_shape: what the learner's buffer depends on."""

    kind: str
    activation: str
    n_obs: int
    n_hidden: int
    action_kind: str
    n_actions: int
    network: ACNetwork

    @property
    def n_x(self) -> int:
        """The network's input: the observation, the previous action, the previous reward."""
        net = self.network
        return self.n_obs + (self.n_actions if net.prev_action else 0) + int(net.reward_input > 0)

    @property
    def n_out_policy(self) -> int:
        return (2 if self.action_kind == "continuous" else 1) * self.n_actions

    def struct(self, ffi):
        """A new rtu_ac_shape of this shape. A size beyond RTU_MAX_DIM (or below 0) is stored as
        RTU_MAX_DIM + 1 (0), which rtu_ac_check_shape refuses alike, so that any integer fits
        a size_t."""
        def size(value):
            return min(max(int(value), 0), MAX_DIM + 1)

        s = ffi.new("rtu_ac_shape *")
        s.kind, s.activation = KINDS.index(self.kind), ACTIVATIONS.index(self.activation)
        s.n_obs, s.n_hidden = size(self.n_obs), size(self.n_hidden)
        s.action_kind = ACTION_KINDS.index(self.action_kind)
        s.n_actions = size(self.n_actions)
        for name in NETWORK_FIELDS:
            setattr(s, name, self.network.reward_input if name == "prev_reward"  # its C enum
                    else size(getattr(self.network, name)))
        return s

    def check(self) -> None:
        """rtu_ac_check_shape (the float64 build's; both builds check alike): ValueError naming
        the argument at fault."""
        self.network.check()
        ffi, lib = load_lib(np.dtype(np.float64))
        status = lib.rtu_ac_check_shape(self.struct(ffi))
        if status == lib.RTU_OK:
            return
        if status == lib.RTU_ERR_ACTION:
            minimum = 2 if self.action_kind == "discrete" else 1
            raise ValueError(f"n_actions must be an integer in [{minimum}, {MAX_DIM}] for "
                             f"{self.action_kind} actions, got {self.n_actions!r}")
        # RTU_ERR_SIZE: which size (n_in and n_hidden were checked as the cell's)
        net = self.network
        for name in ("n_embed", "n_head"):
            if getattr(net, name) == 1:
                raise ValueError(f"{name} must be 0 (no layer) or at least 2 (a LayerNorm of one "
                                 f"unit outputs 0 whatever its input), got 1")
            if getattr(net, name) > MAX_DIM:
                raise ValueError(f"{name} must be at most {MAX_DIM}, got {getattr(net, name)!r}")
        if self.n_x > MAX_DIM:
            raise ValueError(f"n_in: the network's input (n_in, plus n_actions with prev_action, "
                             f"plus 1 with a prev_reward) must be at most {MAX_DIM}, got "
                             f"{self.n_x}")
        net.check()
        raise ValueError(f"this network is too large to lay out (n_in {self.n_obs}, n_hidden "
                         f"{self.n_hidden}, n_embed {net.n_embed}, n_head {net.n_head}): "
                         f"{ffi.string(lib.rtu_status_str(status)).decode()}")

    def trunk_layout(self) -> list:
        """A trunk's parameters (rtu_ac_trunk.params): W_in, b_in (if n_embed), then the
        cell's."""
        m, n_x = self.network.n_embed, self.n_x
        embed = [("W_in", (m, n_x)), ("b_in", (m,))] if m else []
        return embed + cell_layout(self.kind, m if m else n_x, self.n_hidden)

    def head_layout(self, r: int) -> list:
        """Head r's parameters (rtu_ac_head.params; 0 the critic, 1 the actor): W_1, b_1 (if
        n_head), then W_2, b_2."""
        k, n2 = self.network.n_head, 2 * self.n_hidden
        o = 1 if r == 0 else self.n_out_policy
        hidden = [("W_1", (k, n2)), ("b_1", (k,))] if k else []
        return hidden + [("W_2", (o, k if k else n2)), ("b_2", (o,))]


class _CAC:
    """rtu_ac through cffi, its buffer owned by numpy."""

    def __init__(self, shape: Shape, dtype, config: ACConfig, seed: int):
        nbytes = CCore.size(dtype, lambda lib: lib.rtu_ac_buffer_size,
                            shape.struct(load_lib(dtype)[0]))
        self.core = core = CCore(dtype, nbytes)
        self.memory_bytes = nbytes
        ffi, lib = core.ffi, core.lib
        self.lib = lib
        self.ac = ffi.new("rtu_ac *")
        cfg = _ccore.config_struct(ffi, "rtu_ac_config", config)
        status = lib.rtu_ac_init(self.ac, shape.struct(ffi), cfg, seed, core.buffer_p, nbytes)
        if status == lib.RTU_ERR_CONFIG:
            raise _ccore.config_error(core, lib.rtu_ac_check_config, cfg, config)
        core.check(status)
        a = self.ac
        self.trunk_params = [core.view(a.trunk[r].params, int(a.trunk[r].n_params))
                             for r in range(1 if shape.network.shared else 2)]
        self.head_params = [core.view(a.head[r].params, int(a.head[r].n_params)) for r in (0, 1)]
        self.policy_out = core.view(a.head[1].out, shape.n_out_policy)
        n_obs = shape.n_obs
        self.obs_last = core.view(a.obs_last, n_obs)
        self.obs_mean, self.obs_m2 = core.view(a.obs_mean, n_obs), core.view(a.obs_m2, n_obs)
        self.obs = np.zeros(n_obs, dtype=dtype)  # act's and learn's observation, copied in
        self.action = np.zeros(shape.n_actions, dtype=dtype)
        self.obs_p, self.action_p = core.ptr(self.obs), core.ptr(self.action)

    steps = property(lambda self: int(self.ac.steps))
    episodes = property(lambda self: int(self.ac.episodes))
    config = property(lambda self: _ccore.config_from_struct(ACConfig, self.ac.config))
    struct = property(lambda self: self.ac)
    fed = property(lambda self: int(self.ac.fed))
    acted = property(lambda self: int(self.ac.acted))
    obs_count = property(lambda self: int(self.ac.obs_count))

    def value(self) -> float:
        return float(self.lib.rtu_ac_value(self.ac))

    def act(self, obs) -> np.ndarray:
        self.obs[:] = obs
        status = self.lib.rtu_ac_act(self.ac, self.obs_p, self.action_p)
        if status == self.lib.RTU_ERR_ORDER:
            if self.ac.acted:
                raise RuntimeError(ACT_TWICE)
            raise ValueError(WRONG_OBS)
        self._check(status, "obs", [])
        return self.action

    def learn(self, reward, next_obs, terminated, truncated) -> None:
        self.obs[:] = next_obs
        status = self.lib.rtu_ac_learn(self.ac, reward, self.obs_p, terminated, truncated)
        if status == self.lib.RTU_ERR_ORDER:
            raise RuntimeError(LEARN_FIRST)
        self._check(status, "next_obs", [reward], "reward or next_obs")

    def _check(self, status, name: str, others: list, names: str = "") -> None:
        """core.check, and for inputs within INPUT_LIMIT that the C core found beyond it once
        normalised (rtu_ac_act and rtu_ac_learn check that before they change anything), the
        reference's message."""
        if (status == self.lib.RTU_ERR_INPUT_RANGE and np.all(np.abs(self.obs) <= INPUT_LIMIT)
                and all(abs(v) <= INPUT_LIMIT for v in others)):
            raise ValueError(f"{name}, normalised by the running statistics, has a value beyond "
                             f"+-{INPUT_LIMIT:g}; scale the input")
        self.core.check(status, names or name)

    def begin_episode(self) -> None:
        self.lib.rtu_ac_begin_episode(self.ac)

    def to_bytes(self) -> bytes:
        return _ccore.save_bytes(self.core, self.lib.rtu_ac_checkpoint_size, self.lib.rtu_ac_save,
                                 self.lib.rtu_ac_check_checkpoint, self.ac)

    def restore(self, data: bytes, where: str) -> None:
        _ccore.load_bytes(self.core, self.lib.rtu_ac_load, self.lib.rtu_ac_check_checkpoint,
                          self.ac, data, where)


class _ReferenceAC(ReferenceCheckpoints):
    """The numpy reference AC (float64); checkpoints through a float64 C twin."""

    FIELDS = TWIN_FIELDS

    def __init__(self, shape: Shape, dtype, config: ACConfig, seed: int):
        self.shape = shape
        self.impl = self.ref = AC(shape.kind, shape.activation, shape.n_obs, shape.n_hidden,
                                  shape.action_kind, shape.n_actions, config, seed, shape.network)
        self.memory_bytes = None
        impl = self.impl
        self.trunk_params = [t.params for t in impl.trunk if t is not None]
        self.head_params = [h.params for h in impl.head]
        self.policy_out = impl.head[1].out
        self.act, self.learn = impl.act, impl.learn
        self.begin_episode, self.value = impl.begin_episode, impl.value

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
        return _CAC(self.shape, np.dtype(np.float64), self.impl.config, 0)

    def _refresh(self) -> None:
        """After a restore: each cell's derived cache and, when the networks hold an
        observation, the forward activations recomputed in numpy, as rtu_ac_load recomputes them
        in C (rtu_ac_refresh_forward: from x, the parameters and each cell's h, without stepping
        the cells), so that the reference goes on bit for bit as it would have."""
        ac = self.impl
        for trunk in ac.trunk:
            if trunk is not None:
                trunk.cell.refresh()
        ac.refresh_forward()


class ActorCritic(Checkpointable):
    """Streaming actor-critic AC(lambda) on the streaming network with an RTU, learning online.

    Each of the critic and the actor is a network (separate by default; ``shared=True`` gives
    them one trunk and heads of their own)::

        x_t = [normalised obs_t (n_in); previous action (n_actions, one-hot if discrete);
               previous reward (1): normalized,     the extras if prev_action, prev_reward
               sign, centered_sign or gated_sign]
        e_t = lrelu(LN(W_in x_t + b_in))            (n_embed,), or x_t when n_embed = 0
        h_t = RTU(e_t)                              (2 n_hidden,)
        q_t = lrelu(LN(W_1 h_t + b_1))              (n_head,), or h_t when n_head = 0
        out = W_2 q_t + b_2                         critic: v (1,); actor: logits (n_actions,)
                                                    or means then std pre-activations (2 A,)

    A continuous actor's std is min(std_min + softplus(pre), std_max). Gradients: heads by
    backprop, the RTU by RTRL (exact); the input layer by the one-step sensitivity (the RTU's
    past held fixed), as stream-x's code does.

    Args:
        n_in: observation size; n_hidden (RTU units), kind, activation, seed, backend, dtype: as
            for RTUCell (activation defaults to tanh here).
        n_actions: number of actions (discrete, >= 2) or action dimensions (continuous).
        action_kind: "discrete" (softmax over n_actions) or "continuous" (Gaussian over
            n_actions dimensions with a state-dependent, bounded std).
        config: an ACConfig (gamma, lambda_, alpha, kappa_value, kappa_policy, entropy_coef,
            sparsity, std_min, std_max, phase_step_scale, optimizer, normalize_obs,
            scale_reward; the stream-x defaults, but for phase_step_scale, 0.03: the phases
            step at 0.03 of every other parameter's step, where 1 steps them as stream-x's;
            rtu_edge.ACConfig documents each).
        network: an ACNetwork (n_embed, n_head, shared, prev_action, prev_reward, memoryless;
            its defaults are the package's).
        Keyword arguments named as a field of either replace that field
        (``ActorCritic(2, 32, 2, entropy_coef=0.05, n_head=0)``).

    Use: ``a = ac.act(obs)`` (an int, or an (n_actions,) array to clip to the environment's
    bounds before stepping it), then ``ac.learn(reward, next_obs, terminated, truncated)``;
    after an episode ends, ``act`` takes the first observation of the next one, otherwise it must
    get the ``next_obs`` given to ``learn``. Actions are sampled from the learner's own PCG32
    stream: one seed, one trajectory, on every backend.

    Views: ``params`` (copies, by network and layer), ``value()`` and ``policy()`` (at the
    observation the networks hold), ``network``, ``config``, ``memory_bytes`` (the C buffer's
    exact size); checkpoints as every learner (``save``, ``load``, ``from_checkpoint``: the file's
    shape builds the learner).
    """

    LEARNER = "actor-critic"

    def __init__(self, n_in: int, n_hidden: int, n_actions: int, *,
                 action_kind: str = "discrete", kind: str = "linear", activation: str = "tanh",
                 seed: int = 0, backend: str = "c", dtype=np.float64,
                 config: ACConfig | None = None, network: ACNetwork | None = None,
                 **hyperparameters):
        self._setup_cell(n_in, n_hidden, kind, activation, seed, backend, dtype)
        if action_kind not in ACTION_KINDS:
            raise ValueError(f"action_kind must be one of {ACTION_KINDS}, got {action_kind!r}")
        if isinstance(n_actions, bool) or not isinstance(n_actions, numbers.Integral):
            raise ValueError(f"n_actions must be an integer, got {n_actions!r}")
        network_fields = {k: hyperparameters.pop(k) for k in NETWORK_FIELDS
                          if k in hyperparameters}
        config = config_with(ACConfig, config, hyperparameters, also=NETWORK_FIELDS)
        network = config_with(ACNetwork, network, network_fields, "network")
        shape = Shape(kind, activation, self.n_in, self.n_hidden, action_kind, int(n_actions),
                      network)
        shape.check()
        self._shape = shape
        self.action_kind, self.n_actions = action_kind, int(n_actions)
        impl = _CAC if backend == "c" else _ReferenceAC
        self._impl = impl(shape, self.dtype, config, self.seed)

    def __repr__(self) -> str:
        return (f"ActorCritic(n_in={self.n_in}, n_hidden={self.n_hidden}, "
                f"{self.action_kind} x {self.n_actions}, kind={self.kind!r}, "
                f"backend={self.backend!r}, dtype={self.dtype.name}, {self.network})")

    @property
    def network(self) -> ACNetwork:
        """The network's shape beside the RTU (an ACNetwork)."""
        return self._shape.network

    @property
    def n_x(self) -> int:
        """The size of each network's input x_t: n_in, plus n_actions with prev_action, plus 1
        with a prev_reward other than "none"."""
        return self._shape.n_x

    def _size_query(self) -> tuple:
        return "rtu_ac_buffer_size", self._shape.struct(load_lib(np.dtype(np.float64))[0])

    def _dims(self) -> dict:
        dims = super()._dims()
        dims.update(action_kind=self.action_kind, n_actions=self.n_actions,
                    **{name: getattr(self.network, name) for name in NETWORK_FIELDS})
        return dims

    @classmethod
    def _from_dims(cls, dims, backend: str) -> "ActorCritic":
        return cls(dims.n_in, dims.n_hidden, dims.n_actions, action_kind=dims.action_kind,
                   kind=dims.kind, activation=dims.activation, backend=backend,
                   dtype=dims.dtype, network=dims.network)

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
    def reward_statistics(self) -> dict:
        """The reward scaling's running statistics of the discounted return trace u (Welford):
        "trace" (u), "mean", "m2" (the sum of squared deviations) and "count" (returns added);
        rewards are divided by sqrt(m2 / (count - 1) + 1e-8)."""
        impl = self._impl
        if hasattr(impl, "struct"):
            s = impl.struct
            return {"trace": float(s.ret_trace), "mean": float(s.ret_mean), "m2": float(s.ret_m2),
                    "count": int(s.ret_count)}
        r = impl.impl
        return {"trace": float(r.ret_trace), "mean": float(r.ret_mean[0]),
                "m2": float(r.ret_m2[0]), "count": int(r.ret_count)}

    @property
    def prev_reward_statistics(self) -> dict:
        """The running statistics (Welford) of the raw rewards that normalise the previous-reward
        input (prev_reward "normalized"): "mean", "m2" (the sum of squared deviations) and
        "count" (rewards added); that input is (r - mean) / sqrt(m2 / (count - 1) + 1e-8), the reward added first
        (the variance 1 until two rewards), or r itself with normalize_obs off (mean and m2 then
        stay 0). With prev_reward "sign" the input is sign(r): mean and m2 stay 0, the count
        counts; with "centered_sign" it is sign(r) - mean, the statistics those of the signs,
        kept whatever normalize_obs; with "gated_sign" it is sign(r) where those statistics'
        m2 is above 0 (two signs have differed), else 0. All 0 with prev_reward "none"."""
        impl = self._impl
        if hasattr(impl, "struct"):
            s = impl.struct
            return {"mean": float(s.reward_mean), "m2": float(s.reward_m2),
                    "count": int(s.reward_count)}
        r = impl.impl
        return {"mean": float(r.reward_mean[0]), "m2": float(r.reward_m2[0]),
                "count": int(r.reward_count)}

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
        """Copies of every parameter, by network and layer. Separate networks: "critic.<p>" and
        "actor.<p>" for each p of the trunk, W_in (n_embed, n_x), b_in (n_embed,) (with an
        input layer), nu_log, theta_log (n_hidden,), w_c, w_d (n_hidden, n_embed or n_x) (and
        the LRU's c_re, c_im (2 n_hidden, n_hidden), d_skip (2 n_hidden, n_embed or n_x)), and of
        the head, W_1 (n_head, 2 n_hidden), b_1 (n_head,) (with a hidden layer), W_2 (o, n_head
        or 2 n_hidden), b_2 (o,); o = 1 for the critic, n_actions for a discrete actor (logits)
        and 2 n_actions for a continuous one (means, then std pre-activations). A shared trunk's
        are "shared.<p>" (the names of rtu_ckpt.h's messages)."""
        shape, impl = self._shape, self._impl
        owners = ("shared",) if self.network.shared else ("critic", "actor")
        out = {}
        for owner, flat in zip(owners, impl.trunk_params):
            out.update({f"{owner}.{k}": v for k, v in
                        split(flat.copy(), shape.trunk_layout()).items()})
        for r, owner in enumerate(("critic", "actor")):
            out.update({f"{owner}.{k}": v for k, v in
                        split(impl.head_params[r].copy(), shape.head_layout(r)).items()})
        return out

    def _held(self, what: str) -> None:
        if not self._impl.fed:
            raise RuntimeError(f"{what}: the networks hold no observation (call act first; an "
                               "episode's end, begin_episode and a fresh learner hold none)")

    def value(self) -> float:
        """v(s) of the observation the networks hold (the latest act's, or the next_obs of the
        latest learn while its episode goes on), at the current parameters, in the scale of
        the scaled rewards. RuntimeError when no observation is held."""
        self._held("value")
        return float(self._impl.value())

    def policy(self) -> dict[str, np.ndarray]:
        """The policy at the observation the networks hold, at the current parameters, as
        float64 copies: {"probs": (n_actions,)} for discrete actions; {"mean": (n_actions,),
        "std": (n_actions,)} for continuous ones, std = min(std_min + softplus(pre), std_max).
        RuntimeError when no observation is held."""
        self._held("policy")
        out = np.array(self._impl.policy_out, dtype=np.float64)
        A = self.n_actions
        if self.action_kind == "discrete":
            e = np.exp(out - np.max(out))
            return {"probs": e / np.sum(e)}
        cfg = self.config
        return {"mean": out[:A], "std": policy_std(out[A:], cfg.std_min, cfg.std_max)}

    def checkpoint_bytes(self) -> bytes:
        """As for every learner (config, network shape, counters, PRNG, parameters, state,
        every trace and the normalisation statistics). Take it after learn (or before the first
        act): between act and learn a RuntimeError says so (the pending action is not stored).
        The environment is not part of it: resume mid-episode with the same environment object,
        or save at an episode end; after a load the next call is act, with the next_obs of the
        saved learner's latest learn unless that ended an episode."""
        return self._impl.to_bytes()

    def act(self, obs):
        """Sample an action for obs (n_in,): an int (discrete) or an (n_actions,) array."""
        action = self._impl.act(real_array("obs", obs, (self.n_in,), self.dtype))
        if self.action_kind == "discrete":
            return int(action[0])
        return np.array(action, dtype=np.float64)

    def learn(self, reward: float, next_obs, terminated: bool, truncated: bool) -> None:
        """Learn from the transition of the latest act: reward, the next observation, and whether
        the episode terminated (no bootstrap) or was truncated (bootstrap, but the episode ends).
        FloatingPointError if the learner diverged (its parameters or state became non-finite):
        it cannot go on, and a checkpoint of it is refused; load a good one."""
        reward = real_scalar("reward", reward, self.dtype)
        next_obs = real_array("next_obs", next_obs, (self.n_in,), self.dtype)
        self._impl.learn(reward, next_obs, bool_flag("terminated", terminated),
                         bool_flag("truncated", truncated))

    def begin_episode(self) -> None:
        """Start a new episode without a transition, as learn does when an episode ends: zero the
        eligibility traces and every RTU's state and RTRL traces, without counting an episode.
        For an episode cut off from outside (a robot restarted, a reset); a pending act is
        dropped and the next act may take any observation."""
        self._impl.begin_episode()
