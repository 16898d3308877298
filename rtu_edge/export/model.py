"""The inference model every export starts from: a trained learner's forward pass, frozen.

``InferenceModel.from_checkpoint(path)`` reads a TD(lambda) or actor-critic checkpoint and keeps
what inference needs, in the layout of ``rtu_model`` (c_src/rtu_model.h): the cell's W_c, W_d and
its derived g, phi, eta (computed by the C core's own rtu_cell_refresh, so they are the values the
learner stepped with), one linear head over the features, and the frozen observation
normalisation. ``step_reference`` is the step in numpy, line for line the C function
``model_step``; ``CModel`` runs the C one through cffi.

One step (rtu_model.h):

    x   = (obs - obs_mean) * obs_inv_std          (no normalisation: x = obs)
    a   = g * c - phi * d + eta * (W_c x);   b = g * d + phi * c + eta * (W_d x)
    linear:    (c, d) = (a, b),        h = [f(a); f(b)]
    nonlinear: (c, d) = (f(a), f(b)),  h = [c; d]
    out = head_w h + head_b

Outputs: TD(lambda) ``[prediction]``; actor-critic ``[logits..., value]`` (discrete) or
``[mean..., value]`` (continuous, ``log_std`` kept beside). The state ``[c; d]`` starts at zero at
every episode start.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from .. import checkpoint
from .._ccore import CCore
from ..cell import RTUCell
from ..reference.ac import NORM_EPS
from ..reference.cell import ACTIVATIONS, KINDS, cell_layout, split


@dataclasses.dataclass
class InferenceModel:
    """A trained RTU and its linear head, for inference only.

    Shapes (n = n_hidden, A = n_actions):
      w_c, w_d: (n, n_in); g, phi, eta: (n,); head_w: (n_out, 2n); head_b: (n_out,);
      obs_mean, obs_inv_std: (n_in,) or None; log_std: (A,) or None (continuous actions).
    ``learner`` is "td" or "actor-critic"; ``output_names`` name the rows of the head.
    Arrays have the checkpoint's precision (``dtype``).
    """

    learner: str
    kind: str
    activation: str
    n_in: int
    n_hidden: int
    action_kind: Optional[str]
    n_actions: int
    w_c: np.ndarray
    w_d: np.ndarray
    g: np.ndarray
    phi: np.ndarray
    eta: np.ndarray
    head_w: np.ndarray
    head_b: np.ndarray
    obs_mean: Optional[np.ndarray]
    obs_inv_std: Optional[np.ndarray]
    log_std: Optional[np.ndarray]
    output_names: tuple
    steps: int
    config: dict

    @property
    def dtype(self) -> np.dtype:
        return self.w_c.dtype

    @property
    def n_out(self) -> int:
        return len(self.output_names)

    @property
    def state_size(self) -> int:
        return 2 * self.n_hidden

    def initial_state(self, batch: int = 1) -> np.ndarray:
        """The state at the start of an episode: zeros, (batch, 2n)."""
        return np.zeros((batch, self.state_size), dtype=self.dtype)

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
        dims = checkpoint.read_dims(data, name)
        learner_cls = TDLambda if dims.learner == "td" else ActorCritic
        return cls.from_learner(learner_cls.from_bytes(data, name))

    @classmethod
    def from_learner(cls, learner) -> "InferenceModel":
        """The model of a TDLambda or ActorCritic (its current parameters and statistics)."""
        n, d, dt = learner.n_hidden, learner.n_in, learner.dtype
        p = learner.params
        params = np.concatenate([p[k].reshape(-1) for k, _ in cell_layout(d, n)])
        g, phi, eta = _derived(learner.kind, learner.activation, d, n, params)
        w_c, w_d = p["w_c"], p["w_d"]
        config = dataclasses.asdict(learner.config)
        if learner.LEARNER == "td":
            return cls("td", learner.kind, learner.activation, d, n, None, 0, w_c, w_d, g, phi,
                       eta, p["w"].reshape(1, 2 * n), p["b"], None, None, None, ("prediction",),
                       learner.steps, config)
        A = learner.n_actions
        log_std = p.get("log_std")
        head_w = np.concatenate([p["W"], p["w_v"].reshape(1, 2 * n)]).astype(dt)
        head_b = np.concatenate([p["b"], p["b_v"]]).astype(dt)
        stats = learner.observation_statistics
        obs_mean = obs_inv_std = None
        if learner.config.normalize_obs:
            obs_mean = stats["mean"]
            count = stats["count"]
            var = stats["m2"] / dt.type(count - 1) if count >= 2 else np.ones(d, dtype=dt)
            obs_inv_std = (dt.type(1) / np.sqrt(var + dt.type(NORM_EPS))).astype(dt)
        prefix = "logit" if learner.action_kind == "discrete" else "mean"
        names = tuple(f"{prefix}_{i}" for i in range(A)) + ("value",)
        return cls("actor-critic", learner.kind, learner.activation, d, n, learner.action_kind, A,
                   w_c, w_d, g, phi, eta, head_w, head_b, obs_mean, obs_inv_std, log_std, names,
                   learner.steps, config)

    def step_reference(self, state: np.ndarray, obs: np.ndarray):
        """One step in numpy for a batch: state (B, 2n), obs (B, n_in) -> (out (B, n_out),
        next state (B, 2n)), computed in the model's dtype."""
        n = self.n_hidden
        dt = self.dtype
        obs = np.asarray(obs, dtype=dt)
        state = np.asarray(state, dtype=dt)
        x = obs if self.obs_mean is None else (obs - self.obs_mean) * self.obs_inv_std
        c, d = state[:, :n], state[:, n:]
        a = self.g * c - self.phi * d + self.eta * (x @ self.w_c.T)
        b = self.g * d + self.phi * c + self.eta * (x @ self.w_d.T)
        f = _ACTIVATION_FUNCTIONS[self.activation]
        if self.kind == "linear":
            new_state = np.concatenate([a, b], axis=1)
            h = f(new_state)
        else:
            new_state = f(np.concatenate([a, b], axis=1))
            h = new_state
        return (h @ self.head_w.T + self.head_b).astype(dt), new_state.astype(dt)


_ACTIVATION_FUNCTIONS = {"relu": lambda v: np.maximum(v, 0), "tanh": np.tanh,
                         "identity": lambda v: v}


def _derived(kind: str, activation: str, n_in: int, n_hidden: int, params: np.ndarray):
    """g, phi, eta (n,) each of these flat cell params (cell_layout), as the C core's
    rtu_cell_refresh computes them in the params' precision (RTUCell.derived)."""
    cell = RTUCell(n_in, n_hidden, kind, activation, backend="c", dtype=params.dtype)
    cell.set_params(split(params, cell_layout(n_in, n_hidden)))
    derived = cell.derived
    return derived["g"], derived["phi"], derived["eta"]


class CModel:
    """An InferenceModel on the C core's rtu_model (float32 or float64 build), batch 1.

    ``step(obs (n_in,)) -> out (n_out,)`` advances ``state`` (2n,); ``reset()`` zeroes it;
    ``run(obs (T, n_in)) -> out (T, n_out)`` loops in C. The returned arrays are reused: copy them
    to keep them.
    """

    def __init__(self, model: InferenceModel, dtype=np.float32):
        self.dtype = dtype = np.dtype(dtype)
        self.core = core = CCore(dtype, dtype.itemsize)
        ffi, lib = core.ffi, core.lib
        self.lib = lib
        # the struct points into these arrays; keep them alive with the model
        self._arrays = {name: np.ascontiguousarray(getattr(model, name), dtype=dtype)
                        for name in ("w_c", "w_d", "g", "phi", "eta", "head_w", "head_b")}
        normalised = model.obs_mean is not None
        if normalised:
            self._arrays["obs_mean"] = np.ascontiguousarray(model.obs_mean, dtype=dtype)
            self._arrays["obs_inv_std"] = np.ascontiguousarray(model.obs_inv_std, dtype=dtype)
        self.model = ffi.new("rtu_model *")
        m = self.model
        m.kind = KINDS.index(model.kind)
        m.activation = ACTIVATIONS.index(model.activation)
        m.n_in, m.n_hidden, m.n_out = model.n_in, model.n_hidden, model.n_out
        for name, a in self._arrays.items():
            setattr(m, name, core.ptr(a))
        if not normalised:
            m.obs_mean = m.obs_inv_std = ffi.NULL
        status = lib.rtu_model_check(m)
        if status != lib.RTU_OK:
            raise ValueError("the model's weights are unusable: "
                             + ffi.string(lib.rtu_status_str(status)).decode())
        self.n_in, self.n_out = model.n_in, model.n_out
        self.state = np.zeros(2 * model.n_hidden, dtype=dtype)
        self.work = np.zeros(model.n_in + 2 * model.n_hidden, dtype=dtype)
        self.out = np.zeros(model.n_out, dtype=dtype)
        self._state_p, self._work_p, self._out_p = (core.ptr(self.state), core.ptr(self.work),
                                                    core.ptr(self.out))

    def reset(self) -> None:
        self.lib.rtu_model_reset(self.model, self._state_p)

    def step(self, obs) -> np.ndarray:
        obs = self._obs(obs, (self.n_in,))
        self.core.check(self.lib.rtu_model_step(self.model, self._state_p, self.core.ptr(obs),
                                                self._work_p, self._out_p), "obs")
        return self.out

    def run(self, obs) -> np.ndarray:
        obs = self._obs(obs, (-1, self.n_in))
        out = np.zeros((len(obs), self.n_out), dtype=self.dtype)
        self.core.check(self.lib.rtu_model_run(self.model, self._state_p, self.core.ptr(obs),
                                               len(obs), self._work_p, self.core.ptr(out)), "obs")
        return out

    def _obs(self, obs, shape) -> np.ndarray:
        a = np.ascontiguousarray(obs, dtype=self.dtype)
        if a.ndim != len(shape) or a.shape[-1] != self.n_in:
            raise ValueError(f"obs must have shape {tuple('T' if s < 0 else s for s in shape)}"
                             f", got {np.shape(obs)}")
        return a
