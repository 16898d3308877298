"""A GRU trained by truncated backpropagation through time over a window of T steps: the baseline
the RTU is compared with (rtu-spec.md section 7; numpy only, not for the device).

The cell (Cho et al. 2014), n = n_hidden units, d = n_in inputs, sigma the logistic function:

    z_t = sigma(W_z x_t + U_z h_{t-1} + b_z)                  update gate
    r_t = sigma(W_r x_t + U_r h_{t-1} + b_r)                  reset gate
    n_t = tanh(W_n x_t + U_n (r_t * h_{t-1}) + b_n)           candidate
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}                     n features

Parameters, one flat array (``params``, P = 3n(d + n + 1) reals): W (3n x d, rows z, r, n), then
U (3n x n, rows z, r, n), then b (3n), row-major.

Truncated BPTT over T steps. The cell keeps a ring buffer of the last T inputs and of the state
before each of them (T(d + n) reals, fixed). A step on x_t runs the window x_{t-T+1} .. x_t forward
from h_{t-T}, at the current parameters, keeping the gates of each step (4Tn reals); its last
state is h_t. ``gradient(dh)`` is then the gradient of dh . h_t with respect to the parameters,
backpropagated through those T steps with h_{t-T} held constant (T = 1: the one-step gradient).
Within T steps of a reset the window starts at the reset (h = 0), and the gradient is exact.
With constant parameters the window's forward gives the ordinary GRU's state; when they change,
h_t is the state of the window at the parameters the gradient is taken at.

Backward through one step k of the window, from a = dL/dh_k (pre-activations p_z, p_r, p_n):

    dp_n = a (1 - z) (1 - n^2)
    dp_z = a (h_{k-1} - n) z (1 - z)
    dp_r = (U_n^T dp_n) h_{k-1} r (1 - r)
    dW += [dp_z; dp_r; dp_n] x_k^T;  dU += [dp_z h_{k-1}^T; dp_r h_{k-1}^T; dp_n (r h_{k-1})^T]
    db += [dp_z; dp_r; dp_n]
    dL/dh_{k-1} = a z + U_z^T dp_z + U_r^T dp_r + r (U_n^T dp_n)      (not at the window's start)

``tbptt_gradient`` is the same computation over a whole given window with a loss on every step
(sum_k dh_k . h_k), for the tests and for BPTT over a sequence. ``flops_per_step`` counts the cost.
"""

from __future__ import annotations

import numpy as np

from .cell import check_input, check_size, split
from .prng import Prng


def gru_params(n_in: int, n_hidden: int) -> int:
    """P, the reals of a GRU's parameters: W (3n x d), U (3n x n), b (3n)."""
    return 3 * n_hidden * (n_in + n_hidden + 1)


def gru_layout(n_in: int, n_hidden: int) -> list:
    return [("w", (3 * n_hidden, n_in)), ("u", (3 * n_hidden, n_hidden)), ("b", (3 * n_hidden,))]


def sigmoid(v: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * v))


def check_vector(name: str, v, size: int) -> np.ndarray:
    """v as a float64 array of shape (size,), finite and within the input limit, or ValueError
    naming it."""
    v = np.asarray(v, dtype=np.float64)
    if v.shape != (size,):
        raise ValueError(f"{name} must have shape ({size},), got {v.shape}")
    check_input(name, v)
    return v


def forward_step(w, u, b, x, h_prev, out: np.ndarray) -> None:
    """One step of the cell: out (4, n) = z, r, n, h (rows) from x (d,) and h_prev (n,)."""
    n = h_prev.size
    a = w @ x + b
    a[:2 * n] += u[:2 * n] @ h_prev
    z, r = sigmoid(a[:n]), sigmoid(a[n:2 * n])
    cand = np.tanh(a[2 * n:] + u[2 * n:] @ (r * h_prev))
    out[0], out[1], out[2] = z, r, cand
    out[3] = (1.0 - z) * cand + z * h_prev


def backward(w, u, x_seq, h_prev_seq, gates, dh_seq, grad: np.ndarray) -> None:
    """grad (P,) = the gradient of sum_k dh_seq[k] . h_k over a window whose forward is gates
    (T, 4, n) from inputs x_seq (T, d) and states before each step h_prev_seq (T, n); the state
    before the window is held constant. The recursion of the module docstring."""
    steps, n = len(x_seq), h_prev_seq.shape[1]
    g = split(grad, [("w", w.shape), ("u", u.shape), ("b", (3 * n,))])
    grad[:] = 0.0
    adj = np.zeros(n)  # dL/dh_k from the steps after k
    dp = np.zeros(3 * n)
    for k in reversed(range(steps)):
        z, r, cand, _ = gates[k]
        h_prev = h_prev_seq[k]
        a = adj + dh_seq[k]
        dp[2 * n:] = a * (1.0 - z) * (1.0 - cand * cand)
        dp[:n] = a * (h_prev - cand) * z * (1.0 - z)
        un_dn = u[2 * n:].T @ dp[2 * n:]
        dp[n:2 * n] = un_dn * h_prev * r * (1.0 - r)
        g["w"] += np.outer(dp, x_seq[k])
        g["u"][:2 * n] += np.outer(dp[:2 * n], h_prev)
        g["u"][2 * n:] += np.outer(dp[2 * n:], r * h_prev)
        g["b"] += dp
        if k:  # the state before the window is held constant
            adj = a * z + u[:n].T @ dp[:n] + u[n:2 * n].T @ dp[n:2 * n] + r * un_dn


def tbptt_gradient(params: np.ndarray, n_in: int, n_hidden: int, x_seq: np.ndarray,
                   dh_seq: np.ndarray, h0: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """BPTT over a window: params (P,), x_seq (T, d), dh_seq (T, n), h0 (n,) the state before the
    window (zeros if None), held constant. Returns (H (T, n) the states, grad (P,) the gradient of
    sum_k dh_seq[k] . h_k)."""
    p = split(np.asarray(params, dtype=np.float64), gru_layout(n_in, n_hidden))
    x_seq, dh_seq = np.asarray(x_seq, dtype=np.float64), np.asarray(dh_seq, dtype=np.float64)
    steps = len(x_seq)
    h = np.zeros(n_hidden) if h0 is None else np.asarray(h0, dtype=np.float64)
    gates, h_prev = np.zeros((steps, 4, n_hidden)), np.zeros((steps, n_hidden))
    for k in range(steps):
        h_prev[k] = h
        forward_step(p["w"], p["u"], p["b"], x_seq[k], h, gates[k])
        h = gates[k, 3]
    grad = np.zeros(gru_params(n_in, n_hidden))
    backward(p["w"], p["u"], x_seq, h_prev, gates, dh_seq, grad)
    return gates[:, 3].copy(), grad


class GRU:
    """A GRU with a T-step window for truncated BPTT, stepped online.

    Shapes (n = n_hidden, d = n_in, T = window, P = 3n(d + n + 1)): ``params`` (P,) with views
    ``w`` (3n, d), ``u`` (3n, n), ``b`` (3n,); ``h`` (n,) the features; the ring buffer
    ``x_ring`` (T, d) and ``h_ring`` (T, n) (the input of step k in slot k % T and the state before
    it); ``gates`` (T, 4, n) z, r, n, h of the window's latest forward, oldest first, and
    ``h_prev`` (T, n) the state before each of its steps; ``dh`` (T, n) and ``grad`` (P,) the
    backward's scratch. ``count`` the window's length (min(steps since
    reset, T)). Nothing grows with time.
    """

    def __init__(self, n_in: int, n_hidden: int, window: int, params: np.ndarray | None = None):
        self.n_in = check_size("n_in", n_in, 1)
        self.n_hidden = n = check_size("n_hidden", n_hidden, 1)
        self.window = check_size("window", window, 1)
        self.n_params = gru_params(self.n_in, n)
        self.n_features = n
        self.bind(np.zeros(self.n_params) if params is None else params)
        self.h = np.zeros(n)
        self.x_ring, self.h_ring = np.zeros((window, n_in)), np.zeros((window, n))
        self.gates, self.h_prev = np.zeros((window, 4, n)), np.zeros((window, n))
        self.dh, self.grad = np.zeros((window, n)), np.zeros(self.n_params)
        self.reset()

    def bind(self, params: np.ndarray) -> None:
        """Make params (P,) the cell's parameter array (w, u, b are views of it)."""
        if params.shape != (self.n_params,):
            raise ValueError(f"params must have shape ({self.n_params},), got {params.shape}")
        self.params = params
        views = split(params, gru_layout(self.n_in, self.n_hidden))
        self.w, self.u, self.b = views["w"], views["u"], views["b"]

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.bind(self.params)

    def init_params(self, rng: Prng) -> None:
        """Every parameter U(-1/sqrt(n), 1/sqrt(n)) (as PyTorch's GRU), in params order."""
        bound = 1.0 / np.sqrt(self.n_hidden)
        for i in range(self.n_params):
            self.params[i] = (2.0 * rng.uniform() - 1.0) * bound

    def reset(self) -> None:
        """Zero the state and empty the window (an episode boundary)."""
        self.h[:] = 0.0
        self.count = self.steps = 0

    def slots(self) -> list:
        """The ring's slots of the window, oldest first."""
        return [(self.steps - self.count + k) % self.window for k in range(self.count)]

    def step(self, x: np.ndarray) -> np.ndarray:
        """Feed x_t (d,): into the ring with the state before it, then the window's forward from
        its start state at the current parameters; returns h_t (n,)."""
        x = check_vector("x", x, self.n_in)
        slot = self.steps % self.window
        self.x_ring[slot], self.h_ring[slot] = x, self.h
        self.steps += 1
        self.count = min(self.count + 1, self.window)
        slots = self.slots()
        h = self.h_ring[slots[0]]  # h_{t-T}: the window's start, held constant
        for k, s in enumerate(slots):
            self.h_prev[k] = h
            forward_step(self.w, self.u, self.b, self.x_ring[s], h, self.gates[k])
            h = self.gates[k, 3]
        self.h[:] = h
        if not np.all(np.isfinite(self.h)):
            raise FloatingPointError("learner diverged: the GRU's state became non-finite")
        return self.h.copy()

    def gradient_into(self, dh: np.ndarray) -> np.ndarray:
        """grad = d (dh . h_t) / d params (P,) by BPTT through the window of the latest step, the
        state before it held constant; dh (n,). Returns the cell's grad array."""
        self.dh[:] = 0.0
        self.dh[self.count - 1] = dh
        backward(self.w, self.u, self.x_ring[self.slots()], self.h_prev[:self.count],
                 self.gates[:self.count], self.dh[:self.count], self.grad)
        return self.grad

    def peek(self, x: np.ndarray) -> np.ndarray:
        """The features a step on x would give (n,): one step from h_t; nothing changes."""
        out = np.zeros((4, self.n_hidden))
        forward_step(self.w, self.u, self.b, x, self.h, out)
        return out[3].copy()


def flops_per_step(n_hidden: int, n_in: int, window: int) -> dict:
    """FLOPs of one online step of the GRU with T-step truncated BPTT, counted in the code above
    (a multiply and an add for each term of a product; only the O(nd) and O(n^2) loops, as the
    RTU's count in benchmarks/bench_cell.py, and the learner's trace in full):

      forward (GRU.step): T steps of forward_step, each W x 3n x d, U_z h and U_r h 2n x n,
        U_n (r h) n x n: 2(3nd + 3n^2) = 6nd + 6n^2                           T (6nd + 6n^2)
      backward (gradient_into, backward): per step dW += dp x^T 3n x d, dU += outer 3n x n
        (6nd + 6n^2), U_n^T dp_n n x n (2n^2); below the window's start, U_z^T dp_z and
        U_r^T dp_r (4n^2)                              T (6nd + 8n^2) + (T - 1) 4n^2
      trace (the learner's z = gamma lambda z + grad): 2P, P = 3n(d + n + 1)
    """
    n, d, T = n_hidden, n_in, window
    return {"forward": T * (6 * n * d + 6 * n * n),
            "backward": T * (6 * n * d + 8 * n * n) + (T - 1) * 4 * n * n,
            "trace": 2 * gru_params(d, n)}
