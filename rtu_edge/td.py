"""TDLambda: online TD(lambda) prediction with an RTU cell, on the C core or the numpy reference.

The algorithm, step by step, is c_src/rtu_td.c and rtu_edge/reference/td.py (rtu-spec.md
section 3): every gradient is taken at the parameters that produced its prediction, and the
update uses the eligibility trace from before the newest gradient is added.
"""

from __future__ import annotations

import numbers

import numpy as np

from . import checkpoint
from ._ccore import CCore
from ._learner import Checkpointable
from .cell import KINDS, check_cell_arguments
from .reference import ACTIVATIONS, Prng
from .reference.cell import INPUT_LIMIT
from .reference.td import OPTIMIZERS, TD, TDConfig


class _CTD:
    """rtu_td through cffi, its buffer owned by numpy."""

    def __init__(self, kind, activation, n_in, n_hidden, dtype, config: TDConfig, seed: int):
        nbytes = CCore.size(dtype, lambda lib: lib.rtu_td_buffer_size, KINDS.index(kind), n_in,
                            n_hidden)
        self.core = core = CCore(dtype, nbytes)
        self.memory_bytes = nbytes
        ffi, lib = core.ffi, core.lib
        self.lib = lib
        self.td = ffi.new("rtu_td *")
        cfg = ffi.new("rtu_td_config *", {
            "gamma": config.gamma, "lambda": config.lambda_, "alpha": config.alpha,
            "kappa": config.kappa, "optimizer": OPTIMIZERS.index(config.optimizer)})
        rng = ffi.new("rtu_prng *")
        lib.rtu_prng_seed(rng, seed)
        core.check(lib.rtu_td_init(self.td, KINDS.index(kind), ACTIVATIONS.index(activation),
                                   n_in, n_hidden, cfg, rng, core.buffer_p, nbytes))
        n_cell = int(self.td.cell.n_params)
        self.cell_params = core.view(self.td.cell.params, n_cell)
        self.head = core.view(self.td.head, 2 * n_hidden + 1)
        self.z = core.view(self.td.z, int(self.td.n_params))
        self.prediction = ffi.new("rtu_real *")

    @property
    def steps(self) -> int:
        return int(self.td.steps)

    def reset(self):
        self.lib.rtu_td_reset(self.td)

    def step(self, x, cumulant: float) -> float:
        self.core.check(self.lib.rtu_td_step(self.td, self.core.ptr(x), cumulant,
                                             self.prediction), "x or cumulant")
        return float(self.prediction[0])

    def run(self, x_seq, cumulants, out):
        ptr = self.core.ptr
        self.core.check(self.lib.rtu_td_run(self.td, ptr(x_seq), ptr(cumulants), len(x_seq),
                                            ptr(out)), "X or cumulants")

    def _message(self, status) -> str:
        return self.core.ffi.string(self.lib.rtu_status_str(status)).decode()

    def to_bytes(self) -> bytes:
        """rtu_td_save into a bytes buffer of rtu_td_checkpoint_size bytes."""
        ffi, lib = self.core.ffi, self.lib
        size = ffi.new("size_t *")
        self.core.check(lib.rtu_td_checkpoint_size(self.td, size))
        out = bytearray(int(size[0]))
        written = ffi.new("size_t *")
        status = lib.rtu_td_save(self.td, ffi.from_buffer(out), len(out), written)
        if status != lib.RTU_OK:
            raise ValueError(f"cannot checkpoint this learner: {self._message(status)}")
        return bytes(out[:int(written[0])])

    def restore(self, data: bytes, ckpt, path) -> None:
        """rtu_td_load (which checks everything again; on error the learner is untouched)."""
        status = self.lib.rtu_td_load(self.td, self.core.ffi.from_buffer(data), len(data))
        if status != self.lib.RTU_OK:
            raise ValueError(f"checkpoint {path}: {self._message(status)}")


class _ReferenceTD:
    """The numpy reference TD (float64)."""

    def __init__(self, kind, activation, n_in, n_hidden, dtype, config: TDConfig, seed: int):
        self.td = TD(kind, activation, n_in, n_hidden, config, Prng(seed))
        self.memory_bytes = None
        self.cell_params, self.head, self.z = self.td.cell.params, self.td.head, self.td.z

    @property
    def steps(self) -> int:
        return self.td.steps

    def reset(self):
        self.td.reset()

    def step(self, x, cumulant: float) -> float:
        return self.td.step(x, cumulant)

    def run(self, x_seq, cumulants, out):
        for t in range(len(x_seq)):
            out[t] = self.td.step(x_seq[t], float(cumulants[t]))

    def to_bytes(self) -> bytes:
        data = checkpoint.encode(checkpoint.from_reference(self.td))
        try:  # never write what load would refuse (a diverged learner)
            checkpoint.decode(data, "of this learner")
        except ValueError as err:
            raise ValueError(f"cannot checkpoint this learner: {err}") from None
        return data

    def restore(self, data: bytes, ckpt, path) -> None:
        checkpoint.restore_reference(self.td, ckpt, path)


class TDLambda(Checkpointable):
    """Online TD(lambda) prediction: an RTU cell, a linear value head v = w . h + b, and
    eligibility traces over every parameter (the cell's through its RTRL traces).

    Args:
        n_in, n_hidden, kind, activation, seed, backend, dtype: as for RTUCell.
        gamma: discount in [0, 1]; lambda_: trace decay in [0, 1].
        alpha: step size; kappa: the ObGD bound (optimizer "obgd"), ignored by "sgd".
        optimizer: "obgd" (overshooting-bounded gradient descent) or "sgd".

    ``step(x, cumulant)`` takes the observation x_{t+1} (n_in,) and the cumulant C_{t+1} that
    arrived with it, learns from the TD error of the previous prediction, and returns the new
    prediction v_{t+1} (a float). ``run(X, C)`` does the same over (T, n_in) and (T,) in one call
    (the loop in C). ``params``: the cell's (nu_log (n,), theta_log (n,), w_c (n, d), w_d (n, d))
    and the head's w (2n,), b (1,). ``memory_bytes``: the C learner's exact buffer size.
    """

    def __init__(self, n_in: int, n_hidden: int, kind: str = "linear",
                 activation: str = "relu", seed: int = 0, backend: str = "c", dtype=np.float64,
                 gamma: float = 0.9, lambda_: float = 0.9, alpha: float = 1.0,
                 kappa: float = 2.0, optimizer: str = "obgd"):
        self.n_in, self.n_hidden, dtype, seed = check_cell_arguments(
            n_in, n_hidden, kind, activation, seed, backend, dtype)
        for name, value in (("gamma", gamma), ("lambda_", lambda_), ("alpha", alpha),
                            ("kappa", kappa)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ValueError(f"{name} must be a number, got {value!r}")
        self.config = TDConfig(float(gamma), float(lambda_), float(alpha), float(kappa), optimizer)
        self.config.check()
        self.kind, self.activation, self.backend, self.dtype = kind, activation, backend, dtype
        impl = _CTD if backend == "c" else _ReferenceTD
        self._impl = impl(kind, activation, self.n_in, self.n_hidden, dtype, self.config, seed)

    def __repr__(self) -> str:
        return (f"TDLambda(n_in={self.n_in}, n_hidden={self.n_hidden}, kind={self.kind!r}, "
                f"backend={self.backend!r}, dtype={self.dtype.name}, {self.config})")

    @property
    def memory_bytes(self) -> int:
        """Exact bytes of the C learner's buffer (cell, head, eligibility traces, scratch)."""
        if self._impl.memory_bytes is not None:
            return self._impl.memory_bytes
        return CCore.size(np.dtype(np.float64), lambda lib: lib.rtu_td_buffer_size,
                          KINDS.index(self.kind), self.n_in, self.n_hidden)

    @property
    def steps(self) -> int:
        """Calls to step (and steps of run) since construction."""
        return self._impl.steps

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Copies of every learner parameter."""
        n, d = self.n_hidden, self.n_in
        cell, head = self._impl.cell_params.copy(), self._impl.head.copy()
        return {"nu_log": cell[:n], "theta_log": cell[n:2 * n],
                "w_c": cell[2 * n:2 * n + n * d].reshape(n, d),
                "w_d": cell[2 * n + n * d:].reshape(n, d), "w": head[:2 * n], "b": head[2 * n:]}

    def reset(self) -> None:
        """Zero the cell's state and traces and the eligibility traces (an episode boundary)."""
        self._impl.reset()

    # -- checkpoints (format: c_src/rtu_ckpt.h) ------------------------------------------------

    def checkpoint_bytes(self) -> bytes:
        """The learner's checkpoint (rtu_td_save, or rtu_edge.checkpoint for the reference):
        config, step counter, parameters, state and every trace. ValueError if the learner has
        diverged (a checkpoint that could not be loaded is never produced)."""
        return self._impl.to_bytes()

    def load_bytes(self, data: bytes, name: str = "<bytes>") -> None:
        """Restore from checkpoint bytes of the same precision, kind, activation, n_in and
        n_hidden; the config and step counter are restored too. ValueError (naming ``name`` and
        the fault) on a truncated, corrupted, foreign or mismatched checkpoint, and then the
        learner is untouched."""
        data = bytes(data)
        ckpt = checkpoint.decode(data, name, expect={
            "precision": self.dtype.itemsize, "kind": self.kind, "activation": self.activation,
            "n_in": self.n_in, "n_hidden": self.n_hidden})
        self._impl.restore(data, ckpt, name)
        self.config = ckpt.config

    @staticmethod
    def _decode_checkpoint(data: bytes, path):
        return checkpoint.decode(data, path)

    @classmethod
    def _from_checkpoint(cls, ckpt, backend: str) -> "TDLambda":
        cfg = ckpt.config
        return cls(ckpt.n_in, ckpt.n_hidden, kind=ckpt.kind, activation=ckpt.activation,
                   seed=0, backend=backend, dtype=ckpt.dtype, gamma=cfg.gamma,
                   lambda_=cfg.lambda_, alpha=cfg.alpha, kappa=cfg.kappa,
                   optimizer=cfg.optimizer)

    def step(self, x, cumulant: float) -> float:
        x = self._input("x", x, (self.n_in,))
        cumulant = self._cumulant(cumulant)
        return self._impl.step(x, cumulant)

    def run(self, X, cumulants) -> np.ndarray:
        """step over a whole stream: X (T, n_in), cumulants (T,); returns predictions (T,)."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_in:
            raise ValueError(f"X must have shape (T, {self.n_in}), got {X.shape}")
        X = self._input("X", X, X.shape)
        cumulants = self._input("cumulants", cumulants, (len(X),))
        out = np.empty(len(X), dtype=self.dtype)
        self._impl.run(X, cumulants, out)
        return out

    def _input(self, name: str, value, shape: tuple) -> np.ndarray:
        a = np.asarray(value)
        if a.shape != shape:
            raise ValueError(f"{name} must have shape {shape}, got {a.shape}")
        if not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
            raise ValueError(f"{name} must hold real numbers, got dtype {a.dtype}")
        a = np.ascontiguousarray(a, dtype=self.dtype)
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} contains NaN or Inf")
        if a.size and np.max(np.abs(a)) > INPUT_LIMIT:
            raise ValueError(f"{name} has a value beyond +-{INPUT_LIMIT:g}; scale the input")
        return a

    def _cumulant(self, value) -> float:
        if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating,
                                                             np.integer)):
            raise ValueError(f"cumulant must be a real number, got {value!r}")
        value = float(value)
        if not np.isfinite(value) or abs(value) > INPUT_LIMIT:
            raise ValueError(f"cumulant must be finite and within +-{INPUT_LIMIT:g}, "
                             f"got {value!r}")
        return value
