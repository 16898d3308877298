"""Streaming actor-critic AC(lambda) with a shared RTU cell: c_src/rtu_ac.c in numpy (float64).

After Elsayed, Vasan, Mahmood (2024), "Streaming Deep Reinforcement Learning Finally Works";
rtu-spec.md section 3. One transition is ``act(s_t)`` then ``learn(r, s_{t+1}, terminated,
truncated)``:

    act:   feed s_t (normalised) to the cell unless learn already did; sample a_t ~ pi(.|h_t)
    learn: r~    = r / sqrt(var(u) + eps),  u = gamma (1 - terminated) u + r
           x'    = normalised s_{t+1}
           v'    = critic on the features a step on x' would give (a peek: state and RTRL traces
                   still belong to s_t)
           delta = r~ + gamma (1 - terminated) v' - v(s_t)
           z_v   = gamma lambda z_v  + grad v(s_t)
           z_pi  = gamma lambda z_pi + grad [log pi(a_t|s_t) + c_H sign(delta) H(pi(.|s_t))]
           theta += a_v delta z_v + a_pi delta z_pi,  a = alpha / max(alpha kappa max(|delta|,1) |z|_1, 1)
           episode end: zero z_v, z_pi, state and traces; else feed x' at the new parameters

Parameter groups: value = [cell params, w_v (2n), b_v]; policy = [cell params, W (A x 2n), b (A),
and log_std (A) for continuous actions].
"""

from __future__ import annotations

import math

import numpy as np

from . import obgd
from .cell import Cell, activate, check_input
from .prng import Prng
from .config import ACConfig

ACTION_KINDS = ("discrete", "continuous")
NORM_EPS = 1e-8


def welford(value: np.ndarray, count: int, mean: np.ndarray, m2: np.ndarray) -> np.ndarray:
    """Add value (count is the number of samples before it); update mean, m2 in place; return the
    sample variance (1 until two samples have been seen)."""
    count += 1
    delta = value - mean
    mean += delta / count
    m2 += delta * (value - mean)
    return m2 / (count - 1) if count >= 2 else np.ones_like(m2)


class AC:
    """AC(lambda) learner laid out as ``rtu_ac``.

    Shapes (n = n_hidden, d = n_in, A = n_actions, P = cell params): ``value`` (2n + 1,);
    ``policy`` (A*2n + A,) discrete or (A*2n + 2A,) continuous; ``z_v`` (P + 2n + 1,);
    ``z_pi`` (P + policy size,); ``pi`` (A,) log-probabilities or means; ``action`` (A,).
    """

    def __init__(self, kind: str, activation: str, n_in: int, n_hidden: int, action_kind: str,
                 n_actions: int, config: ACConfig, seed: int):
        config.check()
        if action_kind not in ACTION_KINDS:
            raise ValueError(f"action_kind must be one of {ACTION_KINDS}, got {action_kind!r}")
        self.cell = Cell(kind, activation, n_in, n_hidden)
        self.config, self.action_kind, self.n_actions = config, action_kind, n_actions
        n2, A = 2 * n_hidden, n_actions
        self.value = np.zeros(n2 + 1)
        self.policy = np.zeros(A * n2 + A * (2 if action_kind == "continuous" else 1))
        self.z_v = np.zeros(self.cell.n_params + self.value.size)
        self.z_pi = np.zeros(self.cell.n_params + self.policy.size)
        self.dh, self.pi, self.action = np.zeros(n2), np.zeros(A), np.zeros(A)
        self.obs_mean, self.obs_m2 = np.zeros(n_in), np.zeros(n_in)
        self.x, self.obs_last = np.zeros(n_in), np.zeros(n_in)
        self.ret_trace, self.ret_mean, self.ret_m2 = 0.0, np.zeros(1), np.zeros(1)
        self.obs_count = self.ret_count = 0
        self.fed = self.acted = False
        self.steps = self.episodes = 0
        self.rng = Prng(seed)
        self.cell.init_params(self.rng, 0.0, 1.0, 6.28)

    # -- views of the heads ---------------------------------------------------------------------

    @property
    def W(self) -> np.ndarray:
        n2 = 2 * self.cell.n_hidden
        return self.policy[:self.n_actions * n2].reshape(self.n_actions, n2)

    @property
    def b(self) -> np.ndarray:
        n2, A = 2 * self.cell.n_hidden, self.n_actions
        return self.policy[A * n2:A * n2 + A]

    @property
    def log_std(self) -> np.ndarray:
        n2, A = 2 * self.cell.n_hidden, self.n_actions
        return self.policy[A * n2 + A:]

    # -- observations ----------------------------------------------------------------------------

    def normalize_obs(self, obs: np.ndarray) -> None:
        """x = (obs - mean) / sqrt(var + eps), after adding obs to the statistics."""
        if self.config.normalize_obs:
            var = welford(obs, self.obs_count, self.obs_mean, self.obs_m2)
            self.x[:] = (obs - self.obs_mean) / np.sqrt(var + NORM_EPS)
        else:
            self.x[:] = obs
        self.obs_count += 1

    def feed(self, obs: np.ndarray) -> None:
        """Step the cell on x, the normalised obs; remember obs as the one the cell holds."""
        self.cell.step(self.x)
        self.obs_last[:] = obs
        self.fed = True

    # -- acting ----------------------------------------------------------------------------------

    def value_of_state(self) -> float:
        n2 = 2 * self.cell.n_hidden
        return float(self.value[n2] + self.value[:n2] @ self.cell.h)

    def policy_forward(self) -> None:
        """pi = W h + b: log-softmax of the logits (discrete) or the means (continuous)."""
        self.pi[:] = self.b + self.W @ self.cell.h
        if self.action_kind == "discrete":
            m = np.max(self.pi)
            self.pi -= m + np.log(np.sum(np.exp(self.pi - m)))

    def sample_action(self) -> None:
        A = self.n_actions
        if self.action_kind == "discrete":  # inverse CDF; the last action takes the rest
            u, cdf, chosen = self.rng.uniform(), 0.0, A - 1
            for i in range(A - 1):
                cdf += float(np.exp(self.pi[i]))
                if u < cdf:
                    chosen = i
                    break
            self.action[0] = chosen
        else:
            for i in range(A):
                self.action[i] = self.pi[i] + np.exp(self.log_std[i]) * self.rng.normal()

    def act(self, obs: np.ndarray) -> np.ndarray:
        obs = np.asarray(obs, dtype=np.float64)
        check_input("obs", obs)
        if self.acted:
            raise RuntimeError("act called twice without learn in between")
        if self.fed:
            if not np.array_equal(obs, self.obs_last):
                raise ValueError("obs must be the next_obs given to learn (the episode did not "
                                 "end)")
        else:
            self.normalize_obs(obs)
            self.feed(obs)
        self.policy_forward()
        self.sample_action()
        self.acted = True
        return self.action[:1].copy() if self.action_kind == "discrete" else self.action.copy()

    # -- learning --------------------------------------------------------------------------------

    def policy_gradient(self, entropy_scale: float) -> None:
        """z_pi (heads) += grad [log pi(a|s) + c sign(delta) H]; self.dh = its dL/dh."""
        p_cell, h, A = self.cell.n_params, self.cell.h, self.n_actions
        n2 = 2 * self.cell.n_hidden
        z_heads = self.z_pi[p_cell:]
        zW = z_heads[:A * n2].reshape(A, n2)
        zb = z_heads[A * n2:A * n2 + A]
        if self.action_kind == "discrete":
            # d/dlogit_i = [i == a] - p_i + c sign(delta) (-p_i (log p_i + H))
            p = np.exp(self.pi)
            entropy = -np.sum(p * self.pi)
            g = -p - entropy_scale * p * (self.pi + entropy)
            g[int(self.action[0])] += 1.0
        else:
            # d/dmu = (a - mu) / sigma^2;  d/dlog_std = (a - mu)^2 / sigma^2 - 1 + c sign(delta)
            inv_var = np.exp(-2.0 * self.log_std)
            diff = self.action - self.pi
            g = diff * inv_var
            z_heads[A * n2 + A:] += diff * diff * inv_var - 1.0 + entropy_scale
        zW += np.outer(g, h)
        zb += g
        self.dh[:] = self.W.T @ g

    def bootstrap_value(self, x: np.ndarray) -> float:
        """v(s') from the normalised next observation, by a peek at the current parameters."""
        n2 = 2 * self.cell.n_hidden
        return peek_value(self.cell, x, self.value[:n2], self.value[n2])

    def learn(self, reward: float, next_obs: np.ndarray, terminated: bool,
              truncated: bool) -> None:
        next_obs = np.asarray(next_obs, dtype=np.float64)
        check_input("next_obs", next_obs)
        check_input("reward", np.asarray([reward], dtype=np.float64))
        if not self.acted:
            raise RuntimeError("learn called without act before it")
        cell, cfg = self.cell, self.config
        n2, p_cell = 2 * cell.n_hidden, cell.n_params

        # reward scaling: r / sqrt(var(u) + eps), u the discounted return trace
        r = reward
        if cfg.scale_reward:
            self.ret_trace = cfg.gamma * (0.0 if terminated else 1.0) * self.ret_trace + reward
            var = welford(np.array([self.ret_trace]), self.ret_count, self.ret_mean, self.ret_m2)
            self.ret_count += 1
            r = reward / math.sqrt(var[0] + NORM_EPS)
        # delta = r + gamma (1 - terminated) v(s') - v(s), v(s') by a peek at theta_t
        self.normalize_obs(next_obs)
        v_s = self.value_of_state()
        v_next = 0.0 if terminated else self.bootstrap_value(self.x)
        delta = r + cfg.gamma * v_next - v_s
        sign = float(np.sign(delta))

        # z_v = gamma lambda z_v + grad v(s);  z_pi = gamma lambda z_pi + grad [log pi + c sign H]
        decay = cfg.gamma * cfg.lambda_
        self.z_v *= decay
        self.z_pi *= decay
        self.z_v[:p_cell] += cell.gradient_into(self.value[:n2])
        self.z_v[p_cell:p_cell + n2] += cell.h
        self.z_v[p_cell + n2] += 1.0
        self.policy_gradient(cfg.entropy_coef * sign)
        self.z_pi[:p_cell] += cell.gradient_into(self.dh)

        # one ObGD (or SGD) step per trace, the shared cell taking both; the phase wrap, the refresh
        traces = [obgd.Trace(z, head, kappa, float(np.sum(np.abs(z))))
                  for z, head, kappa in ((self.z_v, self.value, cfg.kappa_value),
                                         (self.z_pi, self.policy, cfg.kappa_policy))]
        obgd.update(cell, cfg.optimizer == "obgd", cfg.alpha, delta, traces)
        self.acted = False
        self.steps += 1

        if terminated or truncated:  # after the update: zero traces and state
            self.begin_episode()
            self.episodes += 1
            return
        self.feed(next_obs)  # s' at theta_{t+1}: the next act starts from it

    def begin_episode(self) -> None:
        """rtu_ac_begin_episode: what learn does at an episode end, outside learn and without
        counting an episode; a pending action is dropped."""
        self.z_v[:] = 0.0
        self.z_pi[:] = 0.0
        self.cell.reset()
        self.fed = self.acted = False


def peek_value(cell: Cell, x: np.ndarray, w: np.ndarray, b: float) -> float:
    """rtu_cell_peek_value: w . h' + b for the features h' a step on x would give, at the current
    parameters, without changing the state or the traces."""
    a = cell.g * cell.c - cell.phi * cell.d + cell.eta * (cell.w_c @ x)
    bb = cell.g * cell.d + cell.phi * cell.c + cell.eta * (cell.w_d @ x)
    # linear: h = [f(c'); f(d')] with c' = a; nonlinear: c' = f(a), h = [c'; d']: f(a) both ways
    act = cell.activation
    return float(b + w @ np.concatenate([activate(act, a), activate(act, bb)]))


def bounded(x: np.ndarray) -> np.ndarray:
    """The memoryless features of a normalised observation x: x clipped to [-1, 1], the range of
    the RTU agent's tanh features, within which ObGD's bound keeps an update from overshooting
    (see ``MemorylessAC``)."""
    return np.clip(x, -1.0, 1.0)


class _RawFeatures:
    """Stands in for the cell in ``MemorylessAC``: the features h are the normalised observation
    itself, clipped to [-1, 1] (``bounded``) and zero-padded to an even length (AC's heads read
    2 * n_hidden features); no parameters, no state beyond h, no traces."""

    n_params = 0
    params = np.zeros(0)

    def __init__(self, n_in: int):
        self.n_in, self.n_hidden = n_in, (n_in + 1) // 2
        self.h = np.zeros(2 * self.n_hidden)

    def step(self, x: np.ndarray) -> np.ndarray:
        self.h[:self.n_in] = bounded(x)
        return self.h

    def reset(self) -> None:
        self.h[:] = 0.0

    def gradient_into(self, dh: np.ndarray) -> np.ndarray:
        return np.zeros(0)  # no parameters

    def wrap_phases(self) -> np.ndarray:
        return np.zeros(0)  # no phases

    def refresh(self) -> None:
        pass


class MemorylessAC(AC):
    """The memoryless baseline: the same streaming AC(lambda) on the observation, with no
    recurrence. v = w_v . x + b_v and pi = softmax(W x + b) (or a Gaussian with mean W x + b and a
    learned log-std), x the Welford-normalised observation clipped to [-1, 1]; all the rest is
    ``AC``'s own code. ``value`` = (w_v, b_v), ``policy`` = (W, b[, log_std]), with a zero weight
    column when n_in is odd (padding).

    Why clipped: ObGD's step, alpha / max(alpha kappa max(|delta|, 1) |z|_1, 1), changes the
    prediction on the current input by alpha_eff delta z . x <= |delta| max|x| / kappa, so it
    cannot overshoot the target only while the features are bounded by kappa (2 for the critic).
    The RTU agent's features are tanh outputs, within [-1, 1]; normalised observations are not
    (on CartPole-P they reach 3-4 at the 99th percentile and 11-16 at most), and with them the
    critic diverged and the actor collapsed onto one action (rtu_edge/baselines.py).

    Use: ``MemorylessAC(n_in, n_actions, ACConfig(), seed)``, then ``act`` / ``learn`` as ``AC``.
    """

    def __init__(self, n_in: int, n_actions: int, config: ACConfig = ACConfig(), seed: int = 0,
                 action_kind: str = "discrete"):
        super().__init__("linear", "identity", n_in, (n_in + 1) // 2, action_kind, n_actions,
                         config, seed)
        self.cell = _RawFeatures(n_in)  # replaces the RTU built by AC.__init__
        self.z_v, self.z_pi = np.zeros(self.value.size), np.zeros(self.policy.size)
        self.rng = Prng(seed)  # AC.__init__ drew the discarded cell's parameters from it

    def bootstrap_value(self, x: np.ndarray) -> float:
        """v(s') = w_v . x' + b_v: with no recurrence the features are x' itself (bounded)."""
        return float(self.value[-1] + self.value[:self.cell.n_in] @ bounded(x))
