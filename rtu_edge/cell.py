"""RTUCell: one API over the C core (float32 or float64 build) and the numpy reference."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import numpy as np

from .reference import ACTIVATIONS, KINDS, Cell, Prng, cell_reals
from ._ccore import CCore
from .reference.cell import LOG_PARAM_LIMIT, MAX_DIM, cell_layout, check_size, is_seed, join, \
    split

BACKENDS = ("c", "reference")
DERIVED_KEYS = ("g", "phi", "eta")  # RTUCell.derived
#: the fields that hold an rtu_cell's parameters, state and traces, by the name it shares with a
#: reference Cell (a learner's C twin copies them; one that is None in the reference, NULL in C,
#: is skipped)
CELL_FIELDS = ("params", "c", "d", "h", "x", "dc_dnu", "dd_dnu", "dc_dtheta", "dd_dtheta",
               "dc_dwc", "dd_dwc", "dc_dwd", "dd_dwd")


class _CBackend:
    """The C core through cffi. The numpy views below are computed from the rtu_cell struct's
    pointers, so no layout is repeated here."""

    def __init__(self, kind, activation, n_in, n_hidden, dtype):
        nbytes = CCore.size(dtype, lambda lib: lib.rtu_cell_buffer_size, KINDS.index(kind), n_in,
                            n_hidden)
        self.core = core = CCore(dtype, nbytes)
        self.lib, self.memory_bytes = core.lib, nbytes
        self.cell = core.ffi.new("rtu_cell *")
        core.check(self.lib.rtu_cell_init(self.cell, KINDS.index(kind),
                                          ACTIVATIONS.index(activation), n_in, n_hidden,
                                          core.buffer_p, nbytes))
        self.n_params = int(self.cell.n_params)
        self.params = core.view(self.cell.params, self.n_params)
        self.c, self.d, self.trace_views = cell_views(core, self.cell, kind)
        self.derived_views = {name: core.view(getattr(self.cell, name), n_hidden)
                              for name in DERIVED_KEYS}
        self.grad = np.zeros(self.n_params, dtype=dtype)
        self.grad_p = core.ptr(self.grad)

    def init_params(self, seed, r_min, r_max, max_phase):
        rng = self.core.ffi.new("rtu_prng *")
        self.lib.rtu_prng_seed(rng, seed)
        self.core.check(self.lib.rtu_cell_init_params(self.cell, rng, r_min, r_max, max_phase))

    def set_params(self, flat):
        self.core.check(self.lib.rtu_cell_set_params(self.cell, self.core.ptr(flat)), "params")

    def reset(self):
        self.lib.rtu_cell_reset(self.cell)

    def step(self, x, out):
        ptr = self.core.ptr
        self.core.check(self.lib.rtu_cell_step(self.cell, ptr(x), ptr(out)), "x")

    def gradient(self, dh):
        self.core.check(self.lib.rtu_cell_gradient(self.cell, self.core.ptr(dh), self.grad_p),
                        "dh")
        return self.grad

    def run(self, x_seq, h_seq):
        ptr = self.core.ptr
        self.core.check(self.lib.rtu_cell_run(self.cell, ptr(x_seq), len(x_seq), ptr(h_seq)), "X")

    def run_gradient(self, x_seq, dh_seq, h_seq):
        ptr = self.core.ptr
        status = self.lib.rtu_cell_run_gradient(self.cell, ptr(x_seq), ptr(dh_seq), len(x_seq),
                                                ptr(h_seq), self.grad_p)
        self.core.check(status, "X or dH")
        return self.grad


def cell_views(core: CCore, cell, kind: str):
    """Views of an rtu_cell's state (c, d) and traces (by field name) in core's buffer."""
    n, d = int(cell.n_hidden), int(cell.n_in)
    traces = {name: core.view(getattr(cell, name), n)
              for name in ("dc_dnu", "dd_dnu", "dc_dtheta", "dd_dtheta")}
    for name in ["dc_dwc", "dd_dwc"] + (["dc_dwd", "dd_dwd"] if kind == "nonlinear" else []):
        traces[name] = core.view(getattr(cell, name), n * d).reshape(d, n).T  # input-major
    return core.view(cell.c, n), core.view(cell.d, n), traces


class _ReferenceBackend:
    """The numpy reference (float64)."""

    def __init__(self, kind, activation, n_in, n_hidden, dtype):
        self.cell = Cell(kind, activation, n_in, n_hidden)
        self.dtype = dtype
        self.memory_bytes = cell_reals(kind, n_in, n_hidden) * dtype.itemsize
        self.n_params = self.cell.n_params
        self.params = self.cell.params
        self.c, self.d = self.cell.c, self.cell.d
        self.trace_views = {name: getattr(self.cell, name) for name in self.cell.traces()}
        self.derived_views = {name: getattr(self.cell, name) for name in DERIVED_KEYS}

    def init_params(self, seed, r_min, r_max, max_phase):
        self.cell.init_params(Prng(seed), r_min, r_max, max_phase)

    def set_params(self, flat):
        self.cell.set_params(flat)

    def reset(self):
        self.cell.reset()

    def step(self, x, out):
        out[:] = self.cell.step(x)

    def gradient(self, dh):
        return self.cell.gradient(dh)

    def run(self, x_seq, h_seq):
        h_seq[:] = self.cell.run(x_seq)

    def run_gradient(self, x_seq, dh_seq, h_seq):
        h, grad = self.cell.run_gradient(x_seq, dh_seq)
        h_seq[:] = h
        return grad


def real_dtype(dtype) -> np.dtype:
    """dtype as the numpy dtype of a C build, float32 or float64; ValueError naming it
    otherwise."""
    try:
        real = np.dtype(dtype)
    except TypeError:
        real = None
    if real not in (np.float32, np.float64):
        raise ValueError(f"dtype must be numpy.float32 or numpy.float64, got {dtype!r}")
    return real


def check_cell_arguments(n_in, n_hidden, kind, activation, seed, backend, dtype):
    """The checks every cell-based object makes; returns (n_in, n_hidden, numpy dtype, seed)."""
    n_in = check_size("n_in", n_in, 1, MAX_DIM)
    n_hidden = check_size("n_hidden", n_hidden, 1, MAX_DIM)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    dtype = real_dtype(dtype)
    if backend == "reference" and dtype != np.float64:
        raise ValueError("dtype must be numpy.float64 for backend='reference', got float32")
    if not is_seed(seed):
        raise ValueError(f"seed must be an integer in [0, 2**64), got {seed!r}")
    return n_in, n_hidden, dtype, int(seed)


def real_array(name: str, value, shape: tuple, dtype: np.dtype) -> np.ndarray:
    """value as a C-contiguous array of dtype and shape. ValueError naming it for another shape,
    values that are not real numbers (complex ones too: no imaginary part is dropped), or a finite
    value beyond the range of dtype (1e300 for float32, which would round to Inf); the C core (or
    the reference) checks the values themselves."""
    if type(value) is np.ndarray and value.shape == shape:
        if value.dtype == dtype and value.flags.c_contiguous:
            return value  # already what the backend takes: the per-step fast path
        if value.dtype == _F64 and dtype == _F32 and value.size <= 64 and max(
                map(abs, value.ravel().tolist()), default=0.0) <= _F32_MAX:
            # the other per-step case, a float32 learner fed float64 observations (gymnasium's):
            # every value within float32's range (a NaN first, an Inf or one beyond it takes the
            # path below, as any other value does)
            return value.astype(_F32, order="C")
    try:
        a = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be an array of shape {shape}: {err}") from err
    if a.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {a.shape}")
    if a.dtype.kind not in "biuf":  # numpy counts timedelta64 among its integers: not here
        raise ValueError(f"{name} must hold real numbers, got dtype {a.dtype}")
    _check_range(name, a, dtype)
    return np.ascontiguousarray(a, dtype=dtype)


_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
_F32_MAX = float(np.finfo(np.float32).max)
#: numpy's float and integer scalar types (a reward or an action index taken from an array):
#: sets, as the per-step paths test a value's type for membership
_NUMPY_FLOATS = frozenset((np.float16, np.float32, np.float64))
NUMPY_INTS = frozenset(np.dtype(c).type for c in np.typecodes["AllInteger"])


def real_scalar(name: str, value, dtype: np.dtype = np.dtype(np.float64)) -> float:
    """value as a float. ValueError naming it if it is not a real number (bools and complex
    numbers refused: no imaginary part is dropped) or is finite beyond the range of dtype."""
    if type(value) is float and abs(value) <= _F32_MAX:
        return value  # the per-step case: within every precision's range
    if type(value) in _NUMPY_FLOATS and abs(float(value)) <= _F32_MAX:
        return float(value)  # a numpy scalar (a reward from an array): the same, as a float
    if (isinstance(value, (bool, np.bool_, complex, np.complexfloating))
            or not isinstance(value, (numbers.Real, np.number))):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    if type(value) is float:  # no array made
        if abs(value) > float(np.finfo(dtype).max) and math.isfinite(value):
            _check_range(name, np.asarray(value), dtype)  # raises, with its message
        return value
    _check_range(name, np.asarray(value), dtype)
    return float(value)


def _check_range(name: str, a: np.ndarray, dtype: np.dtype) -> None:
    """ValueError if a holds a finite value that dtype cannot hold (it would round to Inf)."""
    if not np.issubdtype(a.dtype, np.floating) or np.finfo(a.dtype).max <= np.finfo(dtype).max:
        return
    big = np.isfinite(a) & (np.abs(a) > np.finfo(dtype).max)
    if np.any(big):
        v = a[big].reshape(-1)[0]
        raise ValueError(f"{name} has a value ({v:.6g}) beyond the range of "
                         f"{np.dtype(dtype).name} (+-{np.finfo(dtype).max:.4g})")


class RTUCell:
    """A Recurrent Trace Unit cell that learns by exact RTRL, one step at a time.

    Args:
        n_in: input size d.
        n_hidden: number of complex units n; the features h have 2n entries.
        kind: "linear" (linear recurrence, activation on the output), "nonlinear"
            (activation inside the recurrence) or "lru" (the online LRU: the linear recurrence,
            then h = f(c_re c - c_im d + d_skip x) by a dense complex readout of 2n rows, whose
            parameters learn by backprop at each step; rtu-spec.md section 7).
        activation: "relu", "tanh" or "identity".
        seed: seed of the project's PRNG; the same seed gives the same cell on every backend.
        backend: "c" (the C core through cffi) or "reference" (numpy, float64 only).
        dtype: numpy.float32 or numpy.float64 (the C build used); the reference needs float64.
        r_min, r_max, max_phase: initialisation ranges, r^2 ~ U(r_min^2, r_max^2),
            theta ~ U(0, max_phase) (the LRU's ring init too; c_src/rtu.h has its scales).

    Shapes (n = n_hidden, d = n_in): ``step`` x (d,) -> h (2n,); ``run`` X (T, d) -> H (T, 2n);
    ``gradient`` dh (2n,) -> {"nu_log": (n,), "theta_log": (n,), "w_c": (n, d), "w_d": (n, d)},
    and for the LRU (whose B is w_c + i w_d) also "c_re": (2n, n), "c_im": (2n, n), "d_skip":
    (2n, d); ``params`` the same dict. ``state`` {"c": (n,), "d": (n,)}; ``traces`` the RTRL
    traces by the C field names; ``derived`` {"g": (n,), "phi": (n,), "eta": (n,)}.
    ``memory_bytes`` is the exact size of the cell's buffer in this precision: parameters,
    derived cache, state and traces (and the LRU's scratch).
    """

    def __init__(self, n_in: int, n_hidden: int, kind: str = "linear", activation: str = "relu",
                 seed: int = 0, backend: str = "c", dtype=np.float64, r_min: float = 0.0,
                 r_max: float = 1.0, max_phase: float = 6.28):
        self.n_in, self.n_hidden, dtype, seed = check_cell_arguments(
            n_in, n_hidden, kind, activation, seed, backend, dtype)
        for name, value in (("r_min", r_min), ("r_max", r_max), ("max_phase", max_phase)):
            if not isinstance(value, numbers.Real) or not np.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
        if not 0.0 <= r_min < r_max <= 1.0:
            raise ValueError(f"r_min and r_max must satisfy 0 <= r_min < r_max <= 1, got "
                             f"r_min={r_min!r}, r_max={r_max!r}")
        if not math.exp(-LOG_PARAM_LIMIT) <= max_phase <= math.exp(LOG_PARAM_LIMIT):
            raise ValueError(f"max_phase must lie within exp(+-{LOG_PARAM_LIMIT:g}) (its log is a "
                             f"parameter), got {max_phase!r}")
        self.kind, self.activation, self.backend, self.dtype = kind, activation, backend, dtype
        impl = _CBackend if backend == "c" else _ReferenceBackend
        self._impl = impl(kind, activation, self.n_in, self.n_hidden, dtype)
        self._impl.init_params(seed, float(r_min), float(r_max), float(max_phase))
        self.memory_bytes = self._impl.memory_bytes

    def __repr__(self) -> str:
        return (f"RTUCell(n_in={self.n_in}, n_hidden={self.n_hidden}, kind={self.kind!r}, "
                f"activation={self.activation!r}, backend={self.backend!r}, "
                f"dtype={self.dtype.name})")

    # -- argument checks ------------------------------------------------------------------------

    def _array(self, name: str, value, shape: tuple) -> np.ndarray:
        return real_array(name, value, shape, self.dtype)

    def _finite(self, name: str, a: np.ndarray) -> None:
        """For set_params only: the C core checks the whole vector, this names the key."""
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} contains NaN or Inf")

    # -- parameters -----------------------------------------------------------------------------

    def _layout(self) -> list:
        """The parameters' (name, shape) in the flat layout (cell_layout of this kind)."""
        return cell_layout(self.kind, self.n_in, self.n_hidden)

    def _unflatten(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """Views of one fresh copy of a flat parameter-layout vector, by key."""
        return split(flat.copy(), self._layout())

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Copies of the parameters: nu_log (n,), theta_log (n,), w_c (n, d), w_d (n, d), and
        the LRU's c_re (2n, n), c_im (2n, n), d_skip (2n, d)."""
        return self._unflatten(self._impl.params)

    def set_params(self, params: Mapping) -> None:
        """Replace every parameter; the state and traces are kept (call reset() to clear them)."""
        shapes = dict(self._layout())
        keys = tuple(shapes)
        if not isinstance(params, Mapping):
            raise ValueError(f"params must be a dict with keys {keys}, got "
                             f"{type(params).__name__}")
        unknown = sorted(set(params) - set(keys))
        if unknown:
            raise ValueError(f"params has unknown keys {unknown}; expected {keys}")
        checked = {}
        for key in keys:
            if key not in params:
                raise ValueError(f"params is missing key {key!r}")
            a = self._array(f"params[{key!r}]", params[key], shapes[key])
            self._finite(f"params[{key!r}]", a)
            if key in ("nu_log", "theta_log") and np.max(np.abs(a)) > LOG_PARAM_LIMIT:
                raise ValueError(f"params[{key!r}] must lie in [-{LOG_PARAM_LIMIT}, "
                                 f"{LOG_PARAM_LIMIT}], got max |value| {np.max(np.abs(a))}")
            checked[key] = a
        self._impl.set_params(join(checked, self._layout()))

    @property
    def derived(self) -> dict[str, np.ndarray]:
        """Copies of the recurrence coefficients the step uses, each (n,) in the cell's dtype:
        g = r cos theta, phi = r sin theta and eta = max(sqrt(1 - r^2), RTU_ETA_MIN), with
        r = exp(-exp(nu_log)) and theta = exp(theta_log). They are the values the backend itself
        computed when the parameters were last set (rtu_cell_refresh in the C core, in double and
        rounded once; Cell.refresh in the reference), so an export built from them steps exactly
        as the cell did."""
        return {name: v.copy() for name, v in self._impl.derived_views.items()}

    # -- state ----------------------------------------------------------------------------------

    def reset(self) -> None:
        """Zero the state and every RTRL trace (call at an episode boundary)."""
        self._impl.reset()

    @property
    def state(self) -> dict[str, np.ndarray]:
        """Copies of the state: c (n,), d (n,) (real and imaginary parts for the linear kind and
        the LRU)."""
        return {"c": self._impl.c.copy(), "d": self._impl.d.copy()}

    @property
    def traces(self) -> dict[str, np.ndarray]:
        """Copies of the RTRL traces: dc_dnu, dd_dnu, dc_dtheta, dd_dtheta (n,); dc_dwc, dd_dwc
        (n, d), and for the nonlinear kind dc_dwd, dd_dwd (n, d)."""
        return {name: v.copy() for name, v in self._impl.trace_views.items()}

    # -- stepping -------------------------------------------------------------------------------

    def step(self, x, out: np.ndarray | None = None) -> np.ndarray:
        """Advance the state and the RTRL traces by one input x (n_in,); returns h (2n,).

        ``out``, an array of shape (2n,) and the cell's dtype, receives h without allocating.
        """
        x = self._array("x", x, (self.n_in,))
        if out is None:
            out = np.empty(2 * self.n_hidden, dtype=self.dtype)
        elif not (isinstance(out, np.ndarray) and out.shape == (2 * self.n_hidden,)
                  and out.dtype == self.dtype and out.flags.c_contiguous):
            raise ValueError(f"out must be a contiguous {self.dtype.name} array of shape "
                             f"({2 * self.n_hidden},)")
        self._impl.step(x, out)
        return out

    def gradient(self, dh) -> dict[str, np.ndarray]:
        """Gradient of a loss at the current step, given dh = dL/dh_t (2n,), by RTRL (the LRU's
        readout by backprop).

        Exact for parameters held fixed over the past. Returns the keys of ``params``.
        """
        dh = self._array("dh", dh, (2 * self.n_hidden,))
        return self._unflatten(self._impl.gradient(dh))

    def run(self, X) -> np.ndarray:
        """Step over a whole sequence X (T, n_in) in one call (the loop runs in C); returns H
        (T, 2n). The sequence is checked before the first step: bad input leaves the cell as
        it was."""
        X = self._sequence("X", X, self.n_in)
        H = np.empty((len(X), 2 * self.n_hidden), dtype=self.dtype)
        self._impl.run(X, H)
        return H

    def run_gradient(self, X, dH) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """As run, and the sum over t of the RTRL gradient from dH[t] = dL_t/dh_t (T, 2n):
        the gradient of sum_t L_t for fixed parameters. Returns (H, gradient dict)."""
        X = self._sequence("X", X, self.n_in)
        dH = self._sequence("dH", dH, 2 * self.n_hidden)
        if len(dH) != len(X):
            raise ValueError(f"dH must have as many rows as X ({len(X)}), got {len(dH)}")
        H = np.empty((len(X), 2 * self.n_hidden), dtype=self.dtype)
        return H, self._unflatten(self._impl.run_gradient(X, dH, H))

    def _sequence(self, name: str, value, width: int) -> np.ndarray:
        a = np.asarray(value)
        if a.ndim != 2 or a.shape[1] != width:
            raise ValueError(f"{name} must have shape (T, {width}), got {a.shape}")
        return self._array(name, a, a.shape)
