"""TDLambda: online TD(lambda) prediction with an RTU cell, on the C core or the numpy reference.

The algorithm, step by step, is c_src/rtu_td.c and rtu_edge/reference/td.py (rtu-spec.md
section 3): every gradient is taken at the parameters that produced its prediction, and the
update uses the eligibility trace from before the newest gradient is added.
"""

from __future__ import annotations

import numpy as np

from . import _ccore
from ._ccore import CCore
from ._learner import (Checkpointable, ReferenceCheckpoints, config_with, real_array, real_rows,
                       real_scalar)
from .cell import CELL_FIELDS, KINDS
from .reference import ACTIVATIONS, Prng
from .reference.cell import cell_layout, split
from .reference.td import TD, TDConfig

#: the fields a reference TD shares with rtu_td, copied to and from its C twin by name
TWIN_FIELDS = tuple(f"cell.{name}" for name in CELL_FIELDS) + (
    "head", "z", "v_prev", "z_norm1", "has_prev", "steps")


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
        cfg = _ccore.config_struct(ffi, "rtu_td_config", config)
        rng = ffi.new("rtu_prng *")
        lib.rtu_prng_seed(rng, seed)
        status = lib.rtu_td_init(self.td, KINDS.index(kind), ACTIVATIONS.index(activation),
                                 n_in, n_hidden, cfg, rng, core.buffer_p, nbytes)
        if status == lib.RTU_ERR_CONFIG:
            raise _ccore.config_error(core, lib.rtu_td_check_config, cfg, config)
        core.check(status)
        self.cell_params = core.view(self.td.cell.params, int(self.td.cell.n_params))
        self.head = core.view(self.td.head, 2 * n_hidden + 1)
        self.prediction = ffi.new("rtu_real *")

    steps = property(lambda self: int(self.td.steps))
    config = property(lambda self: _ccore.config_from_struct(TDConfig, self.td.config))
    struct = property(lambda self: self.td)

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

    def to_bytes(self) -> bytes:
        return _ccore.save_bytes(self.core, self.lib.rtu_td_checkpoint_size, self.lib.rtu_td_save,
                                 self.lib.rtu_td_check_checkpoint, self.td)

    def restore(self, data: bytes, where: str) -> None:
        _ccore.load_bytes(self.core, self.lib.rtu_td_load, self.lib.rtu_td_check_checkpoint,
                          self.td, data, where)


class _ReferenceTD(ReferenceCheckpoints):
    """The numpy reference TD (float64); checkpoints through a float64 C twin."""

    FIELDS = TWIN_FIELDS

    def __init__(self, kind, activation, n_in, n_hidden, dtype, config: TDConfig, seed: int):
        self.td = self.ref = TD(kind, activation, n_in, n_hidden, config, Prng(seed))
        self.memory_bytes = None
        self.cell_params, self.head = self.td.cell.params, self.td.head
        self.step, self.reset = self.td.step, self.td.reset

    steps = property(lambda self: self.td.steps)
    config = property(lambda self: self.td.config)

    def run(self, x_seq, cumulants, out):
        out[:] = self.td.run(x_seq, cumulants)

    def _twin(self) -> _CTD:
        cell = self.td.cell
        return _CTD(cell.kind, cell.activation, cell.n_in, cell.n_hidden, np.dtype(np.float64),
                    self.td.config, 0)


class TDLambda(Checkpointable):
    """Online TD(lambda) prediction: an RTU cell, a linear value head v = w . h + b, and
    eligibility traces over every parameter (the cell's through its RTRL traces).

    Args:
        n_in, n_hidden, kind, activation, seed, backend, dtype: as for RTUCell.
        config: a TDConfig (gamma, lambda_, alpha, kappa, optimizer; rtu_edge.TDConfig documents
            each); keyword arguments named as its fields replace those fields
            (``TDLambda(12, 32, gamma=0.95)``).

    ``step(x, cumulant)`` takes the observation x_{t+1} (n_in,) and the cumulant C_{t+1} that
    arrived with it, learns from the TD error of the previous prediction, and returns the new
    prediction v_{t+1} (a float). ``run(X, C)`` does the same over (T, n_in) and (T,) in one call
    (the loop in C). ``params``: the cell's (nu_log (n,), theta_log (n,), w_c (n, d), w_d (n, d);
    the LRU's c_re, c_im (2n, n), d_skip (2n, d)) and the head's w (2n,), b (1,). ``memory_bytes``: the C learner's exact buffer size.
    """

    LEARNER = "td"

    def __init__(self, n_in: int, n_hidden: int, kind: str = "linear",
                 activation: str = "relu", seed: int = 0, backend: str = "c", dtype=np.float64,
                 config: TDConfig | None = None, **hyperparameters):
        self._setup_cell(n_in, n_hidden, kind, activation, seed, backend, dtype)
        config = config_with(TDConfig, config, hyperparameters)
        impl = _CTD if backend == "c" else _ReferenceTD
        self._impl = impl(kind, activation, self.n_in, self.n_hidden, self.dtype, config,
                          self.seed)

    def __repr__(self) -> str:
        return (f"TDLambda(n_in={self.n_in}, n_hidden={self.n_hidden}, kind={self.kind!r}, "
                f"backend={self.backend!r}, dtype={self.dtype.name}, {self.config})")

    def _size_query(self) -> tuple:
        return "rtu_td_buffer_size", KINDS.index(self.kind), self.n_in, self.n_hidden

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Copies of every learner parameter."""
        out = split(self._impl.cell_params.copy(), cell_layout(self.kind, self.n_in,
                                                                   self.n_hidden))
        out.update(split(self._impl.head.copy(), [("w", (2 * self.n_hidden,)), ("b", (1,))]))
        return out

    def reset(self) -> None:
        """Zero the cell's state and traces and the eligibility traces (an episode boundary)."""
        self._impl.reset()

    @classmethod
    def _from_dims(cls, dims, backend: str) -> "TDLambda":
        return cls(dims.n_in, dims.n_hidden, kind=dims.kind, activation=dims.activation,
                   backend=backend, dtype=dims.dtype)

    def step(self, x, cumulant: float) -> float:
        x = real_array("x", x, (self.n_in,), self.dtype)
        return self._impl.step(x, real_scalar("cumulant", cumulant, self.dtype))

    def run(self, X, cumulants) -> np.ndarray:
        """step over a whole stream: X (T, n_in), cumulants (T,); returns predictions (T,)."""
        X = real_rows("X", X, self.n_in, self.dtype)
        cumulants = real_array("cumulants", cumulants, (len(X),), self.dtype)
        out = np.empty(len(X), dtype=self.dtype)
        self._impl.run(X, cumulants, out)
        return out
