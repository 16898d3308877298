"""The inference model every export starts from: a trained learner's networks, frozen.

``InferenceModel.from_checkpoint(path)`` reads a TD(lambda) or actor-critic checkpoint and keeps
what inference needs, in the layout of ``rtu_model`` (c_src/rtu_model.h): each trunk's input layer
and RTU (W_c, W_d and the derived g, phi, eta, computed by the C core's own rtu_cell_refresh, so
they are the values the learner stepped with; the LRU's readout C_re, C_im, D), each head's hidden
and output layers, the frozen observation and previous-reward normalisation, and a continuous
actor's std bounds.
``step_reference`` is the step in numpy (on the reference's kernels, rtu_edge/reference/net.py);
``CModel`` runs the C one through cffi.

One step (rtu_model.h), per network (critic and actor; one trunk with two heads when shared):

    x   = [(obs - obs_mean) * obs_inv_std; prev action; (prev reward - reward_mean) * reward_scale
           (prev_reward "normalized"), sign(prev reward) ("sign"), sign(prev reward) -
           reward_mean ("centered_sign") or sign(prev reward) * reward_scale ("gated_sign")]
    e   = lrelu(LN(W_in x + b_in))                   (n_embed > 0; else e = x)
    a   = g * c - phi * d + eta * (W_c e);   b = g * d + phi * c + eta * (W_d e)
    linear:    (c, d) = (a, b),        h = [f(a); f(b)]
    nonlinear: (c, d) = (f(a), f(b)),  h = [c; d]
    lru:       (c, d) = (a, b),        h = f(C_re c - C_im d + D e)
    q   = lrelu(LN(W_1 h + b_1))                     (n_head > 0; else q = h)
    out = W_2 q + b_2

Outputs: TD(lambda) ``[prediction]``; actor-critic ``[logit_0.., value]`` (discrete) or
``[mean_0.., std_0.., value]`` (continuous, std = min(std_min + softplus(pre), std_max)). The
state is [c; d] of each trunk, then the extras of x (the previous action, one-hot if discrete,
and the previous reward as prev_reward says): zero at every episode start; ``feed`` sets the
extras after an action, as the learner's learn does.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Optional

import numpy as np

from .. import checkpoint
from .._ccore import CCore
from ..cell import NUMPY_INTS, RTUCell, real_array, real_dtype, real_scalar
from ..reference.ac import NORM_EPS, reward_gate, softplus
from ..reference.config import REWARD_INPUTS
from ..reference.cell import (ACTIVATIONS, KINDS, MAX_BATCH, cell_layout, join, lru_readout,
                              split)
from ..reference.net import dense_forward, ln_lrelu


@dataclasses.dataclass
class Dense:
    """A Dense layer: w (n_out, n_in), b (n_out,); ``flat`` is rtu_dense's layout (W then b)."""

    w: np.ndarray
    b: np.ndarray

    @property
    def flat(self) -> np.ndarray:
        return np.concatenate([self.w.reshape(-1), self.b])


@dataclasses.dataclass
class Trunk:
    """rtu_model_trunk: the input layer (None when n_embed = 0) and the RTU of one network.
    w_c, w_d: (n, n_e); g, phi, eta: (n,); the LRU's c_re, c_im (2n, n) and d_skip (2n, n_e)
    (None for the RTU kinds)."""

    embed: Optional[Dense]
    w_c: np.ndarray
    w_d: np.ndarray
    g: np.ndarray
    phi: np.ndarray
    eta: np.ndarray
    c_re: Optional[np.ndarray] = None
    c_im: Optional[np.ndarray] = None
    d_skip: Optional[np.ndarray] = None


@dataclasses.dataclass
class Head:
    """rtu_model_head: the hidden layer (None when n_head = 0) and the output layer."""

    hidden: Optional[Dense]
    out: Dense


@dataclasses.dataclass
class InferenceModel:
    """A trained learner's networks, for inference only.

    ``learner`` is "td" or "actor-critic". ``trunks``: one (TD(lambda), a shared actor-critic)
    or two (the critic's, the actor's); ``heads``: [the critic's (TD: the prediction head)] and,
    for the actor-critic, the actor's. obs_mean, obs_inv_std: (n_in,) or None; the previous
    reward fed back enters x as prev_reward (the learner's network.prev_reward) says:
    "normalized", (reward - reward_mean) * reward_scale (the learner's running mean of the
    rewards and 1 / sqrt(var + 1e-8) at export, as it normalises that input; 0 and 1 with
    normalize_obs off); "sign", its sign; "centered_sign", sign(reward) - reward_mean (the
    learner's mean of the signs at export, whatever normalize_obs; reward_scale 1);
    "gated_sign", sign(reward) * reward_scale (1 where the learner's rewards had differed in sign
    by export, else 0: the gate, frozen; reward_mean 0); "none", not at all (reward_mean 0,
    reward_scale 1). std_min, std_max bound a continuous actor's std
    (else 0). ``output_names`` name the outputs.
    Arrays have the checkpoint's precision (``dtype``).
    """

    learner: str
    kind: str
    activation: str
    n_in: int
    n_hidden: int
    n_embed: int
    n_head: int
    prev_action: bool
    prev_reward: str  # REWARD_INPUTS: "none", "normalized", "sign", "centered_sign", "gated_sign"
    memoryless: bool
    action_kind: Optional[str]
    n_actions: int
    trunks: list
    heads: list
    obs_mean: Optional[np.ndarray]
    obs_inv_std: Optional[np.ndarray]
    reward_mean: float
    reward_scale: float
    std_min: float
    std_max: float
    output_names: tuple
    steps: int
    config: dict

    @property
    def dtype(self) -> np.dtype:
        return self.trunks[0].w_c.dtype

    @property
    def n_out(self) -> int:
        return len(self.output_names)

    @property
    def n_trunks(self) -> int:
        return len(self.trunks)

    @property
    def n_extra(self) -> int:
        """The extras of x: the previous action (n_actions) and reward (1), as configured."""
        return (self.n_actions if self.prev_action else 0) + (1 if self.reward_input else 0)

    @property
    def reward_input(self) -> int:
        """prev_reward as rtu_model holds it (rtu_reward_input): its index in REWARD_INPUTS."""
        return REWARD_INPUTS.index(self.prev_reward)

    @property
    def n_x(self) -> int:
        return self.n_in + self.n_extra

    @property
    def recurrent_size(self) -> int:
        """The RTUs' part of the state: [c; d] of each trunk."""
        return 2 * self.n_hidden * self.n_trunks

    @property
    def state_size(self) -> int:
        """rtu_model_state_reals: the RTUs' states, then the extras."""
        return self.recurrent_size + self.n_extra

    @property
    def action_size(self) -> int:
        """Reals of an action given to ``feed``: 1 (the index, discrete) or n_actions."""
        return self.n_actions if self.action_kind == "continuous" else 1

    def initial_state(self, batch: int = 1) -> np.ndarray:
        """The state at the start of an episode: zeros, (batch, state_size)."""
        return np.zeros((batch, self.state_size), dtype=self.dtype)

    # -- from a learner ------------------------------------------------------------------------

    @classmethod
    def from_checkpoint(cls, path) -> "InferenceModel":
        """The model of a checkpoint file (TD(lambda) or actor-critic, float32 or float64), read
        by the C core into its learner. ValueError or OSError naming path if it cannot be read or
        is not a valid checkpoint."""
        return cls.from_bytes(checkpoint.read_file(path), str(path))

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "<bytes>") -> "InferenceModel":
        """The model of checkpoint bytes (named ``name`` in messages), as from_checkpoint."""
        from ..ac import ActorCritic
        from ..td import TDLambda
        data = checkpoint.upgrade(data, name)
        dims = checkpoint.read_dims(data, name)
        learner_cls = TDLambda if dims.learner == "td" else ActorCritic
        model = cls.from_learner(learner_cls.from_bytes(data, name))
        model.check(checkpoint.where(name))
        return model

    def check(self, where: str) -> None:
        """ValueError naming where (the checkpoint, or the export's file) if the C core would not
        run this model (rtu_model_check): a weight, normalisation statistic or scale not finite,
        a recurrence that does not decay, eta outside (0, 1], std bounds out of order; checked in
        the model's precision and in float32, where the ONNX export and the C header's float
        build hold it (a float64 value beyond float32's range would be Inf there)."""
        for dtype in dict.fromkeys((self.dtype, np.dtype(np.float32))):
            try:
                with np.errstate(over="ignore"):
                    CModel(self, dtype)
            except ValueError as err:
                raise ValueError(f"{where}: cannot export this model, in {dtype.name}: "
                                 f"{err}") from None

    @classmethod
    def from_learner(cls, learner) -> "InferenceModel":
        """The model of a TDLambda or ActorCritic (its current parameters and statistics)."""
        if getattr(type(learner), "LEARNER", None) not in ("td", "actor-critic"):
            raise ValueError(f"learner must be a TDLambda or an ActorCritic (a PPO agent's "
                             f"network: its actor_critic()), got {type(learner).__name__}")
        n, dt = learner.n_hidden, learner.dtype
        p = learner.params
        config = dataclasses.asdict(learner.config)
        if learner.LEARNER == "td":
            trunk = _trunk(learner, p, "", learner.n_in)
            head = Head(None, Dense(p["w"].reshape(1, 2 * n), p["b"]))
            return cls("td", learner.kind, learner.activation, learner.n_in, n, 0, 0, False, "none",
                       False, None, 0, [trunk], [head], None, None, 0.0, 1.0, 0.0, 0.0,
                       ("prediction",), learner.steps, config)
        net, A = learner.network, learner.n_actions
        n_e = net.n_embed or learner.n_x
        owners = ("shared",) if net.shared else ("critic", "actor")
        trunks = [_trunk(learner, p, f"{owner}.", n_e) for owner in owners]
        heads = [Head(Dense(p[f"{o}.W_1"], p[f"{o}.b_1"]) if net.n_head else None,
                      Dense(p[f"{o}.W_2"], p[f"{o}.b_2"])) for o in ("critic", "actor")]
        obs_mean = obs_inv_std = None
        if learner.config.normalize_obs:
            stats = learner.observation_statistics
            obs_mean, obs_inv_std = stats["mean"], _inv_std(stats["m2"], stats["count"], dt)
        reward_mean, reward_scale = 0.0, 1.0  # the raw reward (normalize_obs off), its sign
        stats = learner.prev_reward_statistics
        normalized = net.prev_reward == "normalized" and learner.config.normalize_obs
        if normalized or net.prev_reward == "centered_sign":
            reward_mean = float(dt.type(stats["mean"]))
        if normalized:
            reward_scale = float(_inv_std(np.array([stats["m2"]], dtype=dt), stats["count"],
                                          dt)[0])
        if net.prev_reward == "gated_sign":  # the learner's gate, frozen
            reward_scale = reward_gate(stats["m2"])
        if learner.action_kind == "discrete":
            names = tuple(f"logit_{i}" for i in range(A))
        else:
            names = tuple(f"mean_{i}" for i in range(A)) + tuple(f"std_{i}" for i in range(A))
        cfg, continuous = learner.config, learner.action_kind == "continuous"
        return cls("actor-critic", learner.kind, learner.activation, learner.n_in, n, net.n_embed,
                   net.n_head, net.prev_action, net.prev_reward, net.memoryless,
                   learner.action_kind, A, trunks, heads, obs_mean, obs_inv_std, reward_mean,
                   reward_scale,
                   float(cfg.std_min) if continuous else 0.0,
                   float(cfg.std_max) if continuous else 0.0, names + ("value",), learner.steps,
                   config)

    # -- the step in numpy ---------------------------------------------------------------------

    def encode(self, action, reward) -> np.ndarray:
        """The extras of x after ``action`` (the index, or the n_actions-vector) and ``reward``:
        (n_extra,), as rtu_model_feed writes them."""
        extras = []
        if self.prev_action:
            if self.action_kind == "discrete":
                extras.append(np.eye(self.n_actions)[int(np.asarray(action).reshape(-1)[0])])
            else:
                extras.append(np.asarray(action, dtype=np.float64).reshape(-1))
        real = np.dtype(self.dtype).type  # in the model's precision, as rtu_model_feed
        if self.prev_reward == "sign":
            extras.append([np.sign(float(reward))])
        elif self.prev_reward == "centered_sign":
            extras.append([real(np.sign(reward)) - real(self.reward_mean)])
        elif self.prev_reward == "gated_sign":
            extras.append([real(np.sign(reward)) * real(self.reward_scale)])
        elif self.prev_reward == "normalized":
            extras.append([(real(reward) - real(self.reward_mean)) * real(self.reward_scale)])
        return (np.concatenate(extras) if extras else np.zeros(0)).astype(self.dtype)

    def step_reference(self, state: np.ndarray, obs: np.ndarray):
        """One step in numpy for a batch: state (B, state_size), obs (B, n_in) -> (out (B, n_out),
        next state (B, state_size)), computed in the model's dtype row by row with the
        reference's kernels (reference/net.py), in rtu_model.c's order."""
        dt = self.dtype
        obs = np.asarray(obs, dtype=dt)
        state = np.array(state, dtype=dt)
        out = np.zeros((len(obs), self.n_out), dtype=dt)
        for i in range(len(obs)):
            self._step_row(state[i], obs[i], out[i])
        return out, state

    def _step_row(self, state: np.ndarray, obs: np.ndarray, out: np.ndarray) -> None:
        n, m, dt = self.n_hidden, self.n_embed, self.dtype
        n2 = 2 * n
        x = np.empty(self.n_x, dtype=dt)
        x[:self.n_in] = obs if self.obs_mean is None else (obs - self.obs_mean) * self.obs_inv_std
        x[self.n_in:] = state[self.recurrent_size:]
        o_pi = self.n_out - 1
        for r, trunk in enumerate(self.trunks):
            e = x
            if m:
                e_hat, e = np.empty(m, dtype=dt), np.empty(m, dtype=dt)
                dense_forward(trunk.embed.flat, x, self.n_x, m, e_hat)
                ln_lrelu(e_hat, e)
            s = state[r * n2:(r + 1) * n2]
            if self.memoryless:
                s[:] = 0
            c, d = s[:n].copy(), s[n:].copy()
            pre = np.concatenate([trunk.g * c - trunk.phi * d + trunk.eta * (trunk.w_c @ e),
                                  trunk.g * d + trunk.phi * c + trunk.eta * (trunk.w_d @ e)])
            f = _ACTIVATION_FUNCTIONS[self.activation]
            s[:] = f(pre) if self.kind == "nonlinear" else pre
            h = (lru_readout(trunk.c_re, trunk.c_im, trunk.d_skip, self.activation, s[:n], s[n:],
                             e) if self.kind == "lru" else f(pre))
            if r == 0:
                out[o_pi:] = self._head_row(self.heads[0], h, 1)
            if self.n_actions and r + 1 == self.n_trunks:
                out[:o_pi] = self._head_row(self.heads[1], h, o_pi)
        if self.action_kind == "continuous":
            A = self.n_actions
            out[A:2 * A] = np.minimum(self.std_min + softplus(out[A:2 * A]), self.std_max)

    def _head_row(self, head: Head, h: np.ndarray, n_out: int) -> np.ndarray:
        k, n2, dt = self.n_head, 2 * self.n_hidden, self.dtype
        o = np.empty(n_out, dtype=dt)
        if k:
            q_hat, q = np.empty(k, dtype=dt), np.empty(k, dtype=dt)
            dense_forward(head.hidden.flat, h, n2, k, q_hat)
            ln_lrelu(q_hat, q)
            h = q
        dense_forward(head.out.flat, h, k or n2, n_out, o)
        return o


_ACTIVATION_FUNCTIONS = {"relu": lambda v: np.maximum(v, 0), "tanh": np.tanh,
                         "identity": lambda v: v}


def _inv_std(m2: np.ndarray, count: int, dt: np.dtype) -> np.ndarray:
    """1 / sqrt(var + NORM_EPS) of Welford statistics (var = m2 / (count - 1), 1 below two
    samples), as the learner normalises."""
    var = m2 / dt.type(count - 1) if count >= 2 else np.ones_like(m2)
    return (dt.type(1) / np.sqrt(var + dt.type(NORM_EPS))).astype(dt)


def _trunk(learner, p: dict, prefix: str, n_e: int) -> Trunk:
    """The trunk whose parameters are p[prefix + name]: its input layer and the cell's
    W_c, W_d with the derived g, phi, eta (and the LRU's readout)."""
    n, kind = learner.n_hidden, learner.kind
    embed = Dense(p[prefix + "W_in"], p[prefix + "b_in"]) if prefix + "W_in" in p else None
    params = join({k: p[prefix + k] for k, _ in cell_layout(kind, n_e, n)},
                  cell_layout(kind, n_e, n))
    g, phi, eta = _derived(kind, learner.activation, n_e, n, params)
    readout = [p.get(prefix + k) for k in ("c_re", "c_im", "d_skip")]
    return Trunk(embed, p[prefix + "w_c"], p[prefix + "w_d"], g, phi, eta, *readout)


def _derived(kind: str, activation: str, n_in: int, n_hidden: int, params: np.ndarray):
    """g, phi, eta (n,) each of these flat cell params (cell_layout), as the C core's
    rtu_cell_refresh computes them in the params' precision (RTUCell.derived)."""
    cell = RTUCell(n_in, n_hidden, kind, activation, backend="c", dtype=params.dtype)
    cell.set_params(split(params, cell_layout(kind, n_in, n_hidden)))
    derived = cell.derived
    return derived["g"], derived["phi"], derived["eta"]


def check_model(model) -> None:
    """ValueError unless model is an InferenceModel."""
    if not isinstance(model, InferenceModel):
        raise ValueError(f"model must be an InferenceModel (InferenceModel.from_learner or "
                         f"InferenceModel.load), got {type(model).__name__}")


class _CModelStruct:
    """The rtu_model struct of an InferenceModel (float32 or float64 build), checked by
    rtu_model_check, and the arrays it points into."""

    def __init__(self, model: InferenceModel, dtype=np.float32):
        check_model(model)
        self.dtype = dtype = real_dtype(dtype)
        self.core = core = CCore(dtype, dtype.itemsize)
        ffi, lib = core.ffi, core.lib
        self.lib = lib
        m = self.model = ffi.new("rtu_model *")
        self._arrays = []  # the struct points into these arrays; keep them alive with it

        def pointer(a):
            if a is None:
                return ffi.NULL
            self._arrays.append(np.ascontiguousarray(a, dtype=dtype).reshape(-1))
            return core.ptr(self._arrays[-1])

        m.kind = KINDS.index(model.kind)
        m.activation = ACTIVATIONS.index(model.activation)
        m.n_obs, m.n_hidden, m.n_embed, m.n_head = (model.n_in, model.n_hidden, model.n_embed,
                                                    model.n_head)
        m.n_trunks = model.n_trunks
        m.prev_action, m.prev_reward = int(model.prev_action), model.reward_input
        m.memoryless = int(model.memoryless)
        m.action_kind = 1 if model.action_kind == "continuous" else 0
        m.n_actions = model.n_actions
        for r, t in enumerate(model.trunks):
            mt = m.trunk[r]
            mt.embed = pointer(None if t.embed is None else t.embed.flat)
            mt.w_c, mt.w_d = pointer(t.w_c.T), pointer(t.w_d.T)  # input-major, as the cell's
            mt.g, mt.phi, mt.eta = pointer(t.g), pointer(t.phi), pointer(t.eta)
            mt.c_re, mt.c_im, mt.d_skip = pointer(t.c_re), pointer(t.c_im), pointer(t.d_skip)
        for r, h in enumerate(model.heads):
            m.head[r].hidden = pointer(None if h.hidden is None else h.hidden.flat)
            m.head[r].out = pointer(h.out.flat)
        m.obs_mean, m.obs_inv_std = pointer(model.obs_mean), pointer(model.obs_inv_std)
        m.reward_mean, m.reward_scale = model.reward_mean, model.reward_scale
        m.std_min, m.std_max = model.std_min, model.std_max
        status = lib.rtu_model_check(m)
        if status != lib.RTU_OK:
            raise ValueError("the model's weights are unusable: "
                             + ffi.string(lib.rtu_status_str(status)).decode())
        self.n_in, self.n_out = model.n_in, model.n_out
        self.action_size = model.action_size

    def _check(self, status: int, what: str = "action or reward",
               action: str = "the action") -> None:
        if status == self.lib.RTU_ERR_ACTION:
            raise ValueError(f"{action} is not one of the model's actions")
        self.core.check(status, what)

    def _obs(self, obs, shape) -> np.ndarray:
        a = np.ascontiguousarray(obs, dtype=self.dtype)
        if a.ndim != len(shape) or a.shape[-1] != self.n_in or \
                any(s >= 0 and s != a.shape[i] for i, s in enumerate(shape)):
            raise ValueError(f"obs must have shape {tuple('T' if s < 0 else s for s in shape)}"
                             f", got {np.shape(obs)}")
        return a


class CModel(_CModelStruct):
    """An InferenceModel on the C core's rtu_model (float32 or float64 build), batch 1.

    ``step(obs (n_in,)) -> out (n_out,)`` advances ``state`` (state_size,); ``feed(action,
    reward)`` gives it the action taken and the reward (its extras); ``reset()`` zeroes it;
    ``run(obs (T, n_in), actions, rewards) -> out (T, n_out)`` loops in C, feeding action t and
    reward t after step t. The returned arrays are reused: copy them to keep them.
    """

    def __init__(self, model: InferenceModel, dtype=np.float32):
        super().__init__(model, dtype)
        lib, m, core = self.lib, self.model, self.core
        self.state = np.zeros(lib.rtu_model_state_reals(m), dtype=dtype)
        self.work = np.zeros(lib.rtu_model_work_reals(m), dtype=dtype)
        self.out = np.zeros(model.n_out, dtype=dtype)
        self._action = np.zeros(self.action_size, dtype=dtype)
        # the C core reads the observation from this buffer: a copy into it costs half of
        # wrapping the caller's array for C (ffi.from_buffer), the per-step cost that matters
        self._obs_in = np.zeros(self.n_in, dtype=dtype)
        self._state_p, self._work_p, self._out_p = (core.ptr(self.state), core.ptr(self.work),
                                                    core.ptr(self.out))
        self._action_p, self._obs_p = core.ptr(self._action), core.ptr(self._obs_in)
        self._c_step, self._c_feed = lib.rtu_model_step, lib.rtu_model_feed
        self._obs_shape, self._action_shape = (self.n_in,), (self.action_size,)
        self._discrete = model.action_kind != "continuous"

    def reset(self) -> None:
        self.lib.rtu_model_reset(self.model, self._state_p)

    def step(self, obs) -> np.ndarray:
        """The outputs (n_out,) on obs (n_in,); ValueError for another shape, or a value that is
        not finite or beyond +-1e6 (the state unchanged)."""
        if type(obs) is np.ndarray and obs.shape == self._obs_shape and obs.dtype == self.dtype:
            self._obs_in[...] = obs  # the per-step case: the values as they are
        else:
            self._obs_in[...] = real_array("obs", obs, self._obs_shape, self.dtype)
        status = self._c_step(self.model, self._state_p, self._obs_p, self._work_p, self._out_p)
        if status:
            self.core.check(status, "obs")
        return self.out

    def feed(self, action, reward: float) -> None:
        """The action taken on the latest outputs (an index, or an n_actions-vector) and the
        reward it brought, for the next step (rtu_model_feed). ValueError naming the action or
        the reward for a bad one (the state unchanged)."""
        kind = type(action)
        if (kind is int or kind in NUMPY_INTS) and self._discrete and -2**24 < action < 2**24:
            self._action[0] = action  # the per-step case: an index, exact in any precision
        elif kind is np.ndarray and action.shape == self._action_shape and \
                action.dtype == self.dtype:
            self._action[...] = action  # the other: the vector itself (the C core checks values)
        else:
            self._action[:] = self._action_values(action)
        status = self._c_feed(self.model, self._state_p, self._action_p,
                              real_scalar("reward", reward, self.dtype))
        if status:
            self._check(status)

    def _action_values(self, action) -> np.ndarray:
        """action as action_size reals: an index (discrete: a number, or an array of one) or an
        n_actions-vector (continuous); ValueError naming it otherwise."""
        what = "an action index" if self._discrete else f"an array of {self.action_size} reals"
        try:
            a = np.asarray(action)
        except (TypeError, ValueError) as err:
            raise ValueError(f"action must be {what}: {err}") from None
        if a.dtype == np.bool_:
            raise ValueError(f"action must be {what}, got {action!r}")
        if a.size != self.action_size or a.ndim > 1 or (a.ndim == 0 and not self._discrete):
            raise ValueError(f"action must be {what}, got shape {a.shape}")
        return real_array("action", a.reshape(self.action_size), (self.action_size,),
                          self.dtype)

    def run(self, obs, actions=None, rewards=None) -> np.ndarray:
        """step over obs (T, n_in), feeding actions[t] (T, action_size) and rewards[t] (T,)
        after step t (both None: zeros)."""
        obs = self._obs(obs, (-1, self.n_in))
        T = len(obs)
        if actions is None:
            actions = np.zeros((T, self.action_size))
        elif self._discrete and np.ndim(actions) == 1:  # T indices
            if np.shape(actions) != (T,):
                raise ValueError(f"actions must have shape ({T},), got {np.shape(actions)}")
            actions = np.asarray(actions)[:, None]
        actions = real_array("actions", actions, (T, self.action_size), self.dtype)
        rewards = real_array("rewards", np.zeros(T) if rewards is None else rewards, (T,),
                             self.dtype)
        out = np.zeros((T, self.n_out), dtype=self.dtype)
        self._check(self.lib.rtu_model_run(
            self.model, self._state_p, self.core.ptr(obs), self.core.ptr(actions),
            self.core.ptr(rewards), T, self._work_p, self.core.ptr(out)), "obs, action or reward")
        return out


class CModelBatch(_CModelStruct):
    """``count`` = B independent sequences through one InferenceModel on the C core, one C call
    per step (rtu_model_step_batch): B environments of a vector environment.

    ``step(obs (B, n_in)) -> out (B, n_out)`` advances ``state`` (B, state_size);
    ``feed(actions (B, action_size), rewards (B,), ended=None)`` gives each sequence its action
    and reward, and resets those whose ``ended`` (B,) bools are True (their episode ended);
    ``reset()`` zeroes every state. Sequence i computes exactly what a CModel computes on its
    inputs alone (the dense layers run over the batch, the sequences as the inner loop). A refused
    input changes no state and names the sequence. The returned array is reused: copy it to keep
    it.
    """

    def __init__(self, model: InferenceModel, count: int, dtype=np.float32):
        if isinstance(count, bool) or not isinstance(count, numbers.Integral) or \
                not 1 <= count <= MAX_BATCH:
            raise ValueError(f"count must be an integer in [1, {MAX_BATCH}], got {count!r}")
        super().__init__(model, dtype)
        lib, m, core = self.lib, self.model, self.core
        self.count = count = int(count)
        self.state = np.zeros((count, lib.rtu_model_state_reals(m)), dtype=self.dtype)
        self.work = np.zeros(lib.rtu_model_batch_work_reals(m, count), dtype=self.dtype)
        self.out = np.zeros((count, model.n_out), dtype=self.dtype)
        self._actions = np.zeros((count, self.action_size), dtype=self.dtype)
        self._state_p, self._work_p, self._out_p = (core.ptr(self.state), core.ptr(self.work),
                                                    core.ptr(self.out))
        self._at = core.ffi.new("size_t *")
        if model.action_kind == "continuous":
            self._actions_shapes = [(count, self.action_size)]
            self._actions_what = f"an array of shape ({count}, {self.action_size})"
        else:
            self._actions_shapes = [(count,), (count, 1)]
            self._actions_what = f"{count} action indices"

    def reset(self) -> None:
        self.state[:] = 0

    def step(self, obs) -> np.ndarray:
        obs = self._obs(obs, (self.count, self.n_in))
        status = self.lib.rtu_model_step_batch(self.model, self.count, self._state_p,
                                               self.core.ptr(obs), self._work_p, self._out_p,
                                               self._at)
        self.core.check(status, f"obs[{int(self._at[0])}]")
        return self.out

    def feed(self, actions, rewards, ended=None) -> None:
        """Each sequence's action taken on the latest outputs (B indices, or (B, n_actions)) and
        its reward (B,), for the next step; sequences whose ended is True are reset instead."""
        if type(actions) is np.ndarray and actions.shape in self._actions_shapes and (
                actions.dtype == self.dtype or actions.dtype.kind in "iu"):
            # the per-step case, a vector environment's actions: the values as they are (an
            # integer too large for the precision rounds to one as far out of range; the C core
            # checks every action)
            self._actions[:] = actions.reshape(self.count, self.action_size)
        else:
            self._actions[:] = self._actions_values(actions)
        rewards = real_array("rewards", rewards, (self.count,), self.dtype)
        ffi, flags = self.core.ffi, None
        if ended is not None:
            flags = np.asarray(ended)
            if flags.shape != (self.count,) or flags.dtype != np.bool_:
                raise ValueError(f"ended must be an array of {self.count} bools, got "
                                 f"{flags.dtype} of shape {flags.shape}")
            flags = np.ascontiguousarray(flags, dtype=np.uint8)
        status = self.lib.rtu_model_feed_batch(
            self.model, self.count, self._state_p, self.core.ptr(self._actions),
            self.core.ptr(rewards), ffi.NULL if flags is None else ffi.from_buffer(
                "unsigned char[]", flags), self._at)
        at = int(self._at[0])
        self._check(status, f"actions[{at}] or rewards[{at}]", f"actions[{at}]")

    def _actions_values(self, actions) -> np.ndarray:
        """actions as (B, action_size) reals; ValueError naming them for a wrong shape or type."""
        try:
            a = np.asarray(actions)
        except (TypeError, ValueError) as err:
            raise ValueError(f"actions must be {self._actions_what}: {err}") from None
        if a.dtype == np.bool_ or a.shape not in self._actions_shapes:
            raise ValueError(f"actions must be {self._actions_what}, got "
                             f"{a.dtype} of shape {a.shape}")
        return real_array("actions", a, a.shape, self.dtype).reshape(self.count, self.action_size)

