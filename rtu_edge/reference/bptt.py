"""Backpropagation through time over a window, for the same cell: the check on RTRL and the
truncated-BPTT baseline.

Given a window x_1..x_T and dL/dh_t for each step, the gradient of L = sum_t dh_t . h_t with
respect to the parameters, with the state at the window's start held constant (truncation). It
stores the window's states and runs the adjoint recursion backwards; it shares no code with the
RTRL traces in cell.py (only the LRU's forward readout), so agreement between the two is evidence
for both.
"""

from __future__ import annotations

import numpy as np

from .cell import Cell, activate, activate_grad_from_output, cell_layout, join, lru_readout


def bptt_gradient(cell: Cell, x_seq: np.ndarray, dh_seq: np.ndarray,
                  c0: np.ndarray | None = None, d0: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Truncated BPTT through ``cell``'s parameters; the cell itself is not modified.

    x_seq (T, n_in), dh_seq (T, 2n); c0, d0 (n,) the state before the window (zeros if None).
    Returns (H (T, 2n), grad (n_params,) in the params layout nu_log, theta_log, w_c, w_d (and
    the LRU's c_re, c_im, d_skip)).
    """
    act, n, lru = cell.activation, cell.n_hidden, cell.kind == "lru"
    linear = cell.kind == "linear" or lru  # the linear recurrence
    g, phi, eta = cell.g, cell.phi, cell.eta
    x_seq = np.asarray(x_seq, dtype=np.float64)
    dh_seq = np.asarray(dh_seq, dtype=np.float64)
    steps = len(x_seq)
    c = np.zeros(n) if c0 is None else np.array(c0, dtype=np.float64)
    d = np.zeros(n) if d0 is None else np.array(d0, dtype=np.float64)

    # forward: keep what the backward pass needs
    c_prev, d_prev = np.zeros((steps, n)), np.zeros((steps, n))
    u_c, u_d = np.zeros((steps, n)), np.zeros((steps, n))
    c_out, d_out = np.zeros((steps, n)), np.zeros((steps, n))
    h_seq = np.zeros((steps, 2 * n))
    for t in range(steps):
        c_prev[t], d_prev[t] = c, d
        u_c[t], u_d[t] = cell.w_c @ x_seq[t], cell.w_d @ x_seq[t]
        a = g * c - phi * d + eta * u_c[t]
        b = g * d + phi * c + eta * u_d[t]
        c, d = (a, b) if linear else (activate(act, a), activate(act, b))
        c_out[t], d_out[t] = c, d
        if lru:
            h_seq[t] = lru_readout(cell.c_re, cell.c_im, cell.d_skip, act, c, d, x_seq[t])
        else:
            h_seq[t] = np.concatenate([activate(act, c), activate(act, d)] if linear else [c, d])

    # backward: adj_c, adj_d = dL/dc_t, dL/dd_t; p_c, p_d = dL/d(pre-activation)
    grad_g, grad_phi, grad_eta = np.zeros(n), np.zeros(n), np.zeros(n)
    grad_wc, grad_wd = np.zeros_like(cell.w_c), np.zeros_like(cell.w_d)
    adj_c, adj_d = np.zeros(n), np.zeros(n)
    readout = {name: np.zeros(shape) for name, shape in cell_layout(cell.kind, cell.n_in, n)[4:]}
    for t in reversed(range(steps)):
        if lru:  # h_t = f(y_t), y_t = c_re c_t - c_im d_t + d_skip x_t
            dy = dh_seq[t] * activate_grad_from_output(act, h_seq[t])
            readout["c_re"] += np.outer(dy, c_out[t])
            readout["c_im"] -= np.outer(dy, d_out[t])
            readout["d_skip"] += np.outer(dy, x_seq[t])
            p_c = adj_c + cell.c_re.T @ dy
            p_d = adj_d - cell.c_im.T @ dy
        elif linear:  # h_t = f(z_t): the activation sits on the output
            p_c = adj_c + dh_seq[t, :n] * activate_grad_from_output(act, activate(act, c_out[t]))
            p_d = adj_d + dh_seq[t, n:] * activate_grad_from_output(act, activate(act, d_out[t]))
        else:  # c_t = f(a_t) and h_t = c_t
            p_c = (adj_c + dh_seq[t, :n]) * activate_grad_from_output(act, c_out[t])
            p_d = (adj_d + dh_seq[t, n:]) * activate_grad_from_output(act, d_out[t])
        grad_g += p_c * c_prev[t] + p_d * d_prev[t]
        grad_phi += -p_c * d_prev[t] + p_d * c_prev[t]
        grad_eta += p_c * u_c[t] + p_d * u_d[t]
        grad_wc += np.outer(p_c * eta, x_seq[t])
        grad_wd += np.outer(p_d * eta, x_seq[t])
        adj_c = g * p_c + phi * p_d
        adj_d = -phi * p_c + g * p_d

    # chain rule to the log-parameters: g = r cos(theta), phi = r sin(theta), r = exp(-nu)
    nu, theta = cell.nu, cell.theta
    grad_nu_log = grad_g * (-nu * g) + grad_phi * (-nu * phi) + grad_eta * cell.deta
    grad_theta_log = grad_g * (-theta * phi) + grad_phi * (theta * g)
    grad = join({"nu_log": grad_nu_log, "theta_log": grad_theta_log, "w_c": grad_wc,
                 "w_d": grad_wd, **readout}, cell_layout(cell.kind, cell.n_in, n))
    return h_seq, grad
