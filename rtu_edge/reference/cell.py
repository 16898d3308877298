"""The RTU cell and its exact RTRL traces in numpy, float64: c_src/rtu_cell.c, name for name.

``Cell.init_params/set_params/refresh/reset/features/step/gradient/run/run_gradient`` are
``rtu_cell_init_params/...``; ``gradient_into``, ``input_gradient``, ``peek``, ``wrap_phases``
and ``lru_readout`` are the internal kernels of rtu_internal.h that the learners use. The arrays
carry the names of the ``rtu_cell`` fields and live in one flat ``params`` vector (nu_log,
theta_log, w_c, w_d; the LRU's c_re, c_im, d_skip after them) plus the derived cache, state and
traces, as in the C buffer. The C loops over units are vectorised here; the equations are the
same lines. Mathematics: ../shared/rtu-spec.md sections 1 and 2; the LRU kind, section 7 (the
linear RTU's recurrence and traces, a dense readout y = c_re c - c_im d + d_skip x, h = f(y),
2n rows, by backprop; c_src/rtu.h).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .prng import Prng

KINDS = ("linear", "nonlinear", "lru")  # rtu_kind, in its order
ACTIVATIONS = ("relu", "tanh", "identity")
ETA_MIN = 1e-8  # RTU_ETA_MIN of the double build
LOG_PARAM_LIMIT = 20.0  # RTU_LOG_PARAM_LIMIT
INPUT_LIMIT = 1e6  # RTU_INPUT_LIMIT
VALUE_LIMIT = 1e15  # RTU_VALUE_LIMIT: the largest |value| in a learner that has not diverged
OVERFLOW = ("state or its traces beyond RTU_VALUE_LIMIT (weights too large); reset the "
            "cell")  # rtu_status_str(RTU_ERR_OVERFLOW)
COUNT_LIMIT = 2**53  # RTU_COUNT_LIMIT: the largest count of a learner's running statistics
MAX_DIM = 65536  # RTU_MAX_DIM: the largest n_in, n_hidden (and the actor-critic's sizes)
MAX_BATCH = 65536  # RTU_MAX_BATCH: the most learners or models of one batch call
LOG_3PI, LOG_1E15 = 2.24334217451751, 34.538776394910684  # bounds of rtu_cell_wrap_phases


SEED_LIMIT = 2**64  # seeds are uint64 in the C core (rtu_prng_seed)


def is_seed(value) -> bool:
    """value is a seed: an integer, not a bool, in [0, SEED_LIMIT)."""
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, numbers.Integral) \
        and 0 <= value < SEED_LIMIT


def size_rule(low: int, high: int = None) -> str:
    """A size's rule in words: an integer >= low, or in [low, high]."""
    return f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"


def check_size(name: str, value, low: int, high: int = None) -> int:
    """value as an int if it is an integer (not a bool) >= low and, if high is given, <= high;
    else ValueError naming name and the rule."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low or \
            (high is not None and value > high):
        raise ValueError(f"{name} must be {size_rule(low, high)}, got {value!r}")
    return int(value)


def check_input(name: str, v: np.ndarray) -> None:
    """As check_input in rtu_cell.c: finite, and within +-INPUT_LIMIT."""
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} contains NaN or Inf")
    if v.size and np.max(np.abs(v)) > INPUT_LIMIT:
        raise ValueError(f"{name} has a value beyond +-{INPUT_LIMIT:g}; scale the input")


def cell_state(kind: str, n_in: int, n_hidden: int) -> int:
    """RTU_CELL_STATE: c, d, h (4n), and the LRU's latest input x (n_in)."""
    return 4 * n_hidden + (n_in if kind == "lru" else 0)


def cell_traces(kind: str, n_in: int, n_hidden: int) -> int:
    """RTU_CELL_TRACES: 4n, and 2 n n_in (linear, LRU) or 4 n n_in (nonlinear)."""
    return 4 * n_hidden + (4 if kind == "nonlinear" else 2) * n_hidden * n_in


def cell_reals(kind: str, n_in: int, n_hidden: int) -> int:
    """RTU_CELL_REALS: reals in a cell's buffer (params, derived cache, state, traces, and a
    scratch of 2n)."""
    return (cell_params(kind, n_in, n_hidden) + 6 * n_hidden + cell_state(kind, n_in, n_hidden)
            + cell_traces(kind, n_in, n_hidden) + 2 * n_hidden)


def cell_params(kind: str, n_in: int, n_hidden: int) -> int:
    """RTU_CELL_PARAMS: the size of cell_layout."""
    return sum(math.prod(shape) for _, shape in cell_layout(kind, n_in, n_hidden))


#: Arrays stored input-major (rtu.h): an (n, n_in) W is kept as the n_in rows of n of W^T, so
#: that the C core's inner loops run over the units with unit stride. split and join apply it.
INPUT_MAJOR = ("w_c", "w_d")


def cell_layout(kind: str, n_in: int, n_hidden: int) -> list:
    """The cell's parameter layout (rtu_cell.params): (name, shape) in order. nu_log, theta_log
    (n,), w_c, w_d (n, n_in; stored input-major, see INPUT_MAJOR); for the LRU then its readout
    c_re, c_im (2n, n) and d_skip (2n, n_in)."""
    n, d = n_hidden, n_in
    layout = [("nu_log", (n,)), ("theta_log", (n,)), ("w_c", (n, d)), ("w_d", (n, d))]
    if kind == "lru":
        layout += [("c_re", (2 * n, n)), ("c_im", (2 * n, n)), ("d_skip", (2 * n, d))]
    return layout


def split(flat: np.ndarray, layout: list) -> dict:
    """Views of a flat vector by a layout of (name, shape), in order: the one function that slices
    parameter vectors (the cell's, the heads', a gradient's). An INPUT_MAJOR array is the
    transposed view of its block."""
    out, offset = {}, 0
    for name, shape in layout:
        size = math.prod(shape)
        block = flat[offset:offset + size]
        out[name] = block.reshape(shape[::-1]).T if name in INPUT_MAJOR else block.reshape(shape)
        offset += size
    if offset != flat.size:
        raise ValueError(f"a vector of {flat.size} values does not fit the layout "
                         f"{[name for name, _ in layout]} ({offset} values)")
    return out


def join(values: dict, layout: list) -> np.ndarray:
    """The flat vector of named arrays (each of its layout shape): the inverse of split."""
    return np.concatenate([np.asarray(values[name]).T.reshape(-1) if name in INPUT_MAJOR
                           else np.asarray(values[name]).reshape(-1) for name, _ in layout])


def input_major(n: int, n_in: int) -> np.ndarray:
    """A zero (n, n_in) array stored input-major (the C layout of w_c, w_d and their traces)."""
    return np.zeros((n_in, n)).T


def activate(act: str, v: np.ndarray) -> np.ndarray:
    if act == "relu":
        return np.maximum(v, 0.0)
    if act == "tanh":
        return np.tanh(v)
    return v


def activate_grad_from_output(act: str, y: np.ndarray) -> np.ndarray:
    """f'(a) from y = f(a): relu'(a) = [y > 0] (so relu'(0) = 0), tanh'(a) = 1 - y^2."""
    if act == "relu":
        return (y > 0).astype(np.float64)
    if act == "tanh":
        return 1.0 - y * y
    return np.ones_like(y)


def lru_readout(c_re: np.ndarray, c_im: np.ndarray, d_skip: np.ndarray, act: str, c: np.ndarray,
                d: np.ndarray, x: np.ndarray) -> np.ndarray:
    """rtu_lru_readout: h = f((c_re c - c_im d) + d_skip x), (2n,)."""
    return activate(act, (c_re @ c - c_im @ d) + d_skip @ x)


def fill_normal(w: np.ndarray, std: float, rng: Prng) -> None:
    """w ~ N(0, std^2) from rng, in w's row-major order whatever its storage (fill_normal and
    fill_normal_input_major of rtu_cell.c)."""
    for index in np.ndindex(w.shape):
        w[index] = std * rng.normal()


class Cell:
    """An RTU cell, or the LRU (float64), laid out as ``rtu_cell``.

    Shapes (n = n_hidden, d = n_in): ``params`` (cell_params,) with views ``nu_log`` (n,),
    ``theta_log`` (n,), ``w_c`` (n, d), ``w_d`` (n, d), and for the LRU ``c_re``, ``c_im``
    (2n, n), ``d_skip`` (2n, d) (None for the RTU kinds); derived ``nu, theta, g, phi, eta, deta``
    (n,); state ``c, d`` (n,) and ``h`` (2n,), the features of (c, d), and for the LRU ``x``
    (d,), the latest input (None for the RTU kinds); traces ``dc_dnu, dd_dnu, dc_dtheta,
    dd_dtheta`` (n,) and ``dc_dwc, dd_dwc`` (n, d), plus ``dc_dwd, dd_dwd`` (n, d) for the
    nonlinear kind (None for the linear kind and the LRU, where dc/dW_d = -dd_dwc and
    dd/dW_d = dc_dwc). w_c, w_d and the weight traces are stored input-major, as in C
    (INPUT_MAJOR): their (n, d) arrays are transposed views. The C cell's scratch has no field
    here: its values are locals.
    """

    def __init__(self, kind: str, activation: str, n_in: int, n_hidden: int,
                 params: np.ndarray | None = None):
        """params: the float64 array (cell_params(kind, n_in, n_hidden) reals) to keep the
        parameters in, a view into a learner's flat parameter vector (rtu_ac's trunk); a new one
        if None."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        n, d = n_hidden, n_in
        self.kind, self.activation, self.n_in, self.n_hidden = kind, activation, n_in, n_hidden
        self.n_params = cell_params(kind, n_in, n_hidden)
        if params is None:
            params = np.zeros(self.n_params)
        elif params.dtype != np.float64 or params.shape != (self.n_params,):
            raise ValueError(f"params must be a float64 array of {self.n_params} reals")
        self.bind(params)
        self.nu, self.theta, self.g, self.phi, self.eta, self.deta = np.zeros((6, n))
        self.c, self.d = np.zeros((2, n))
        self.h = np.zeros(2 * n)
        self.x = np.zeros(d) if kind == "lru" else None
        self.dc_dnu, self.dd_dnu, self.dc_dtheta, self.dd_dtheta = np.zeros((4, n))
        self.dc_dwc, self.dd_dwc = input_major(n, d), input_major(n, d)
        if kind == "nonlinear":
            self.dc_dwd, self.dd_dwd = input_major(n, d), input_major(n, d)
        else:
            self.dc_dwd = self.dd_dwd = None
        self.refresh()

    def bind(self, params: np.ndarray) -> None:
        """Keep the parameters in params (their values), with the views of cell_layout (nu_log,
        theta_log, w_c, w_d; the LRU's c_re, c_im, d_skip, else None) of it."""
        self.params = params
        self.c_re = self.c_im = self.d_skip = None
        for name, view in split(params, cell_layout(self.kind, self.n_in,
                                                    self.n_hidden)).items():
            setattr(self, name, view)

    def __setstate__(self, state: dict) -> None:
        """A copy or an unpickled cell: its views, which copy.deepcopy and pickle detach, made
        views of its params again."""
        self.__dict__.update(state)
        self.bind(self.params)

    # -- parameters -------------------------------------------------------------------------

    def init_params(self, rng: Prng, r_min: float = 0.0, r_max: float = 1.0,
                    max_phase: float = 6.28) -> None:
        """The paper's initialisation, drawn in the order of rtu_cell_init_params (rtu.h has the
        LRU's scales)."""
        if not (0.0 <= r_min < r_max <= 1.0 and
                math.exp(-LOG_PARAM_LIMIT) <= max_phase <= math.exp(LOG_PARAM_LIMIT)):
            raise ValueError(f"initialisation needs 0 <= r_min < r_max <= 1 and max_phase "
                             f"within exp(+-{LOG_PARAM_LIMIT:g}), got r_min={r_min!r}, "
                             f"r_max={r_max!r}, max_phase={max_phase!r}")
        n = self.n_hidden
        # the logs held above -LOG_PARAM_LIMIT (a draw within about 1e-9 of r^2 = 1 or phase 0)
        for k in range(n):  # r^2 ~ U(r_min^2, r_max^2), nu_log = log(-log(r^2) / 2)
            r2 = r_min * r_min + rng.uniform() * (r_max * r_max - r_min * r_min)
            self.nu_log[k] = max(math.log(-0.5 * math.log(r2)), -LOG_PARAM_LIMIT)
        for k in range(n):  # theta ~ U(0, max_phase)
            self.theta_log[k] = max(math.log(max_phase * rng.uniform()), -LOG_PARAM_LIMIT)
        # RTU: w_c, w_d ~ N(0, 1/n_in); LRU: B = w_c + i w_d complex normal of variance 1/n_in,
        # then the readout c_re, c_im ~ N(0, 1/(2n)) and d_skip ~ N(0, 1/n_in)
        fan_in = float(self.n_in)
        lru = self.kind == "lru"
        for w in (self.w_c, self.w_d):
            fill_normal(w, 1.0 / math.sqrt(2.0 * fan_in if lru else fan_in), rng)
        if lru:
            fill_normal(self.c_re, 1.0 / math.sqrt(2.0 * n), rng)
            fill_normal(self.c_im, 1.0 / math.sqrt(2.0 * n), rng)
            fill_normal(self.d_skip, 1.0 / math.sqrt(fan_in), rng)
        self.reset()
        self.refresh()

    def check_params(self, params: np.ndarray) -> None:
        if not np.all(np.isfinite(params)):
            raise ValueError("params contain NaN or Inf")
        if np.max(np.abs(params[: 2 * self.n_hidden])) > LOG_PARAM_LIMIT:
            raise ValueError(f"|nu_log| or |theta_log| exceeds {LOG_PARAM_LIMIT}")

    def set_params(self, params: np.ndarray) -> None:
        self.check_params(params)
        self.params[:] = params
        self.refresh()

    def refresh(self) -> None:
        """Derived cache from params: nu, theta, g = r cos theta, phi = r sin theta, eta, deta."""
        self.check_params(self.params)
        nu = np.exp(self.nu_log)
        theta = np.exp(self.theta_log)
        r = np.exp(-nu)
        eta = np.sqrt(-np.expm1(-2.0 * nu))  # 1 - r^2 without cancellation
        floored = eta < ETA_MIN
        self.nu[:] = nu
        self.theta[:] = theta
        self.g[:] = r * np.cos(theta)
        self.phi[:] = r * np.sin(theta)
        self.eta[:] = np.where(floored, ETA_MIN, eta)
        self.deta[:] = np.where(floored, 0.0, r * r * nu / np.maximum(eta, ETA_MIN))

    def wrap_phases(self) -> np.ndarray:
        """rtu_cell_wrap_phases: theta >= 3 pi goes into [pi, 3 pi) by whole turns (the same
        function); the theta traces are rescaled by ratio = theta' / theta, which is returned
        (1 where nothing wrapped) for the caller's eligibility traces."""
        ratio = np.ones(self.n_hidden)
        for k in range(self.n_hidden):
            if LOG_3PI <= self.theta_log[k] < LOG_1E15:  # theta >= 3 pi, decided on theta_log
                theta = math.exp(self.theta_log[k])
                wrapped = theta - 2.0 * math.pi * math.floor((theta - math.pi) / (2.0 * math.pi))
                self.theta_log[k] = math.log(wrapped)
                ratio[k] = wrapped / theta
        self.dc_dtheta *= ratio
        self.dd_dtheta *= ratio
        return ratio

    def hold_logs(self) -> None:
        """rtu_cell_hold_logs: each nu_log held within +-LOG_PARAM_LIMIT and each theta_log above
        -LOG_PARAM_LIMIT after a learning step, where their gradients have vanished (NaN and Inf
        left for refresh to refuse)."""
        finite = np.isfinite(self.nu_log)
        self.nu_log[finite] = np.clip(self.nu_log[finite], -LOG_PARAM_LIMIT, LOG_PARAM_LIMIT)
        below = np.isfinite(self.theta_log) & (self.theta_log < -LOG_PARAM_LIMIT)
        self.theta_log[below] = -LOG_PARAM_LIMIT

    def reset(self) -> None:
        """Zero the state and every trace (an episode boundary)."""
        for a in (self.c, self.d, self.h, self.x, self.dc_dnu, self.dd_dnu, self.dc_dtheta,
                  self.dd_dtheta, self.dc_dwc, self.dd_dwc, self.dc_dwd, self.dd_dwd):
            if a is not None:
                a[...] = 0.0

    # -- forward step with the RTRL trace update ----------------------------------------------

    def features(self) -> np.ndarray:
        """h (2n,): the features of the current state (a copy)."""
        return self.h.copy()

    def update_features(self) -> None:
        """h = [f(c); f(d)] (linear), [c; d] (nonlinear) or the readout of (c, d, x) (LRU),
        after each step."""
        if self.kind == "lru":
            self.h[:] = lru_readout(self.c_re, self.c_im, self.d_skip, self.activation, self.c,
                                    self.d, self.x)
        elif self.kind == "linear":
            self.h[:] = np.concatenate([activate(self.activation, self.c),
                                        activate(self.activation, self.d)])
        else:
            self.h[:] = np.concatenate([self.c, self.d])

    def step(self, x: np.ndarray) -> np.ndarray:
        """Advance state and traces by one input x (n_in,); returns h (2n,)."""
        x = np.asarray(x, dtype=np.float64)
        check_input("x", x)
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported just below
            if self.kind == "nonlinear":
                self.step_nonlinear(x)
            else:  # linear, LRU: the same recurrence and traces
                self.step_linear(x)
        if not self.state_within():
            raise FloatingPointError(OVERFLOW)
        if self.kind == "lru":  # the input, for the readout and the gradient of d_skip
            self.x[:] = x
        with np.errstate(over="ignore", invalid="ignore"):
            self.update_features()
        # a huge LRU readout can leave a state within its limit
        if self.kind == "lru" and not np.all(np.abs(self.h) <= VALUE_LIMIT):
            raise FloatingPointError(OVERFLOW)
        return self.features()

    def state_within(self) -> bool:
        """state_within of rtu_cell.c: the state (c, d) and the unit traces within VALUE_LIMIT,
        as a checkpoint's loader asks of them; false for NaN. (The weight traces stay within
        eta max|x| / (1 - r), about 3e10.)"""
        values = np.concatenate([self.c, self.d, self.dc_dnu, self.dd_dnu, self.dc_dtheta,
                                 self.dd_dtheta])
        return bool(np.all(np.abs(values) <= VALUE_LIMIT))

    def step_linear(self, x: np.ndarray) -> None:
        g, phi, eta, nu, theta, deta = self.g, self.phi, self.eta, self.nu, self.theta, self.deta
        c0, d0 = self.c.copy(), self.d.copy()
        uc = self.w_c @ x
        ud = self.w_d @ x
        # lambda z_{t-1}
        lz_re = g * c0 - phi * d0
        lz_im = g * d0 + phi * c0
        # s_nu' = lambda s_nu - nu lambda z + deta u
        a_re, a_im = self.dc_dnu.copy(), self.dd_dnu.copy()
        self.dc_dnu[:] = g * a_re - phi * a_im - nu * lz_re + deta * uc
        self.dd_dnu[:] = g * a_im + phi * a_re - nu * lz_im + deta * ud
        # s_theta' = lambda s_theta + i theta lambda z
        b_re, b_im = self.dc_dtheta.copy(), self.dd_dtheta.copy()
        self.dc_dtheta[:] = g * b_re - phi * b_im - theta * lz_im
        self.dd_dtheta[:] = g * b_im + phi * b_re + theta * lz_re
        # z' = lambda z + eta u
        self.c[:] = lz_re + eta * uc
        self.d[:] = lz_im + eta * ud
        # E' = lambda E + eta x
        G, P, ex = g[:, None], phi[:, None], eta[:, None] * x[None, :]
        er, ei = self.dc_dwc.copy(), self.dd_dwc.copy()
        self.dc_dwc[:] = G * er - P * ei + ex
        self.dd_dwc[:] = G * ei + P * er

    def step_nonlinear(self, x: np.ndarray) -> None:
        act = self.activation
        g, phi, eta, nu, theta, deta = self.g, self.phi, self.eta, self.nu, self.theta, self.deta
        c0, d0 = self.c.copy(), self.d.copy()
        uc = self.w_c @ x
        ud = self.w_d @ x
        c1 = activate(act, g * c0 - phi * d0 + eta * uc)
        d1 = activate(act, g * d0 + phi * c0 + eta * ud)
        fa = activate_grad_from_output(act, c1)
        fb = activate_grad_from_output(act, d1)
        # nu_log: g' = -nu g, phi' = -nu phi, eta' = deta
        sc, sd = self.dc_dnu.copy(), self.dd_dnu.copy()
        self.dc_dnu[:] = fa * (-nu * g * c0 + g * sc + nu * phi * d0 - phi * sd + deta * uc)
        self.dd_dnu[:] = fb * (-nu * g * d0 + g * sd - nu * phi * c0 + phi * sc + deta * ud)
        # theta_log: g' = -theta phi, phi' = theta g, eta' = 0
        sc, sd = self.dc_dtheta.copy(), self.dd_dtheta.copy()
        self.dc_dtheta[:] = fa * (-theta * phi * c0 + g * sc - theta * g * d0 - phi * sd)
        self.dd_dtheta[:] = fb * (-theta * phi * d0 + g * sd + theta * g * c0 + phi * sc)
        self.c[:] = c1
        self.d[:] = d1
        # A = dc/dW_c, B = dd/dW_c, C = dc/dW_d, D = dd/dW_d
        G, P, FA, FB = g[:, None], phi[:, None], fa[:, None], fb[:, None]
        ex = eta[:, None] * x[None, :]
        a, b = self.dc_dwc.copy(), self.dd_dwc.copy()
        c, d = self.dc_dwd.copy(), self.dd_dwd.copy()
        self.dc_dwc[:] = FA * (G * a - P * b + ex)
        self.dd_dwc[:] = FB * (G * b + P * a)
        self.dc_dwd[:] = FA * (G * c - P * d)
        self.dd_dwd[:] = FB * (G * d + P * c + ex)

    # -- gradient from dL/dh ------------------------------------------------------------------

    def gradient(self, dh: np.ndarray) -> np.ndarray:
        """dL/dparams (flat, the params layout) at the current step from dh = dL/dh (2n,)."""
        dh = np.asarray(dh, dtype=np.float64)
        check_input("dh", dh)
        return self.gradient_into(dh)

    def lru_backward(self, dh: np.ndarray) -> tuple:
        """lru_backward of rtu_cell.c: the LRU's backward through its readout from dh = dL/dh,
        dy = f'(y) dh with f' read off h. Returns (dy (2n,), dL/dc = c_re^T dy (n,),
        dL/dd = -c_im^T dy (n,))."""
        dy = dh * activate_grad_from_output(self.activation, self.h)
        return dy, self.c_re.T @ dy, -(self.c_im.T @ dy)

    def gradient_into(self, dh: np.ndarray) -> np.ndarray:
        """As gradient, without checking dh (rtu_cell_gradient_into, for the learners)."""
        n = self.n_hidden
        grad = np.empty(self.n_params)
        views = split(grad, cell_layout(self.kind, self.n_in, n))
        dc, dd = dh[:n].copy(), dh[n:].copy()
        if self.kind == "lru":  # delta = dL/dc, dL/dd of the readout; its gradient after w_d
            dy, dc, dd = self.lru_backward(dh)
            views["c_re"][:] = np.outer(dy, self.c)
            views["c_im"][:] = np.outer(-dy, self.d)
            views["d_skip"][:] = np.outer(dy, self.x)
        elif self.kind == "linear":  # h = [f(c); f(d)]: delta = f'(.) dL/dh, f' read off h
            dc *= activate_grad_from_output(self.activation, self.h[:n])
            dd *= activate_grad_from_output(self.activation, self.h[n:])
        grad[:n] = dc * self.dc_dnu + dd * self.dd_dnu
        grad[n : 2 * n] = dc * self.dc_dtheta + dd * self.dd_dtheta
        DC, DD = dc[:, None], dd[:, None]
        g_wc = DC * self.dc_dwc + DD * self.dd_dwc
        if self.kind == "nonlinear":
            g_wd = DC * self.dc_dwd + DD * self.dd_dwd
        else:  # linear, LRU: dz/dW_c = E, dz/dW_d = i E
            g_wd = -DC * self.dd_dwc + DD * self.dc_dwc
        views["w_c"][:] = g_wc
        views["w_d"][:] = g_wd
        return grad

    def input_gradient(self, dh: np.ndarray) -> np.ndarray:
        """rtu_cell_input_gradient: de = dL/dx (n_in,) at the current step with the state and
        traces of the previous step held fixed, from dh = dL/dh (2n,), unchecked:
            de[j] = sum_k eta_k (delta_c_k W_c[k,j] + delta_d_k W_d[k,j])  (+ (d_skip^T dy)[j])
        delta = dL/dc_t, dL/dd_t (linear: f'(c) dh, f' read off h; LRU: of its readout) and,
        nonlinear, dL/da_t, dL/db_t = dh f'(a) (f' read off c = f(a), which h holds): f' read
        off h both ways."""
        n = self.n_hidden
        if self.kind == "lru":
            dy, dc, dd = self.lru_backward(dh)
            return dy @ self.d_skip + (self.eta * dc) @ self.w_c + (self.eta * dd) @ self.w_d
        fh = activate_grad_from_output(self.activation, self.h)
        dc = self.eta * dh[:n] * fh[:n]
        dd = self.eta * dh[n:] * fh[n:]
        return dc @ self.w_c + dd @ self.w_d

    def peek(self, x: np.ndarray, from_zero: bool) -> np.ndarray:
        """rtu_cell_peek: the features h (2n,) that a step on x would give, at the current
        parameters, without changing the state or the traces (x unchecked); from the zero state
        when from_zero (the memoryless baseline, whose state is zeroed before every step)."""
        c0 = np.zeros(self.n_hidden) if from_zero else self.c
        d0 = np.zeros(self.n_hidden) if from_zero else self.d
        a = self.g * c0 - self.phi * d0 + self.eta * (self.w_c @ x)
        b = self.g * d0 + self.phi * c0 + self.eta * (self.w_d @ x)
        if self.kind == "lru":  # the state it steps to, read out
            return lru_readout(self.c_re, self.c_im, self.d_skip, self.activation, a, b, x)
        # linear: h = [f(c'); f(d')] with c' = a; nonlinear: c' = f(a), h = [c'; d']: f(a) both
        return np.concatenate([activate(self.activation, a), activate(self.activation, b)])

    # -- sequences ----------------------------------------------------------------------------

    def run(self, x_seq: np.ndarray) -> np.ndarray:
        """Step over x_seq (T, n_in); returns H (T, 2n). As rtu_cell_run, the whole sequence is
        checked before the first step."""
        check_input("X", np.asarray(x_seq, dtype=np.float64))
        return np.array([self.step(x) for x in x_seq]).reshape(len(x_seq), 2 * self.n_hidden)

    def run_gradient(self, x_seq: np.ndarray, dh_seq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """As run; also the sum over steps of gradient(dh_seq[t]): returns (H, grad_sum). Both
        sequences are checked before the first step."""
        check_input("X", np.asarray(x_seq, dtype=np.float64))
        check_input("dH", np.asarray(dh_seq, dtype=np.float64))
        h_seq = np.zeros((len(x_seq), 2 * self.n_hidden))
        grad_sum = np.zeros(self.n_params)
        for t, x in enumerate(x_seq):
            h_seq[t] = self.step(x)
            grad_sum += self.gradient(dh_seq[t])
        return h_seq, grad_sum

    def traces(self) -> dict[str, np.ndarray]:
        """The RTRL traces by field name (copies)."""
        names = ["dc_dnu", "dd_dnu", "dc_dtheta", "dd_dtheta", "dc_dwc", "dd_dwc"]
        if self.kind == "nonlinear":
            names += ["dc_dwd", "dd_dwd"]
        return {name: getattr(self, name).copy() for name in names}
