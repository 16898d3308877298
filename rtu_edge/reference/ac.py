"""Streaming actor-critic AC(lambda) on the streaming network: c_src/rtu_ac.c in numpy (float64).

After Elsayed, Vasan, Mahmood (2024), "Streaming Deep Reinforcement Learning Finally Works", and
Farr et al. (2026); rtu-spec.md sections 3 and 6; the C contract is c_src/rtu_ac.h.

The network. The critic and the actor are separate networks by default (network.shared False);
shared, they share the trunk (input layer and RTU) and keep heads of their own. Each:

    x_t = [normalised obs_t; prev action (one-hot if discrete); prev reward r_{t-1} as
           network.prev_reward says: normalized, sign(r), centered_sign, sign(r) - mean, or
           gated_sign, sign(r) once the signs have varied]
          (n_x reals; the extras are zero at an episode's first step)
    e_t = lrelu(LN(W_in x_t + b_in))     m = n_embed units (m = 0: no input layer, e_t = x_t)
    h_t = RTU(e_t)                       2n features (cell.py)
    q_t = lrelu(LN(W_1 h_t + b_1))       k = n_head units (k = 0: no hidden layer, q_t = h_t)
    out = W_2 q_t + b_2                  critic: v; actor: A logits (discrete), or A means mu
                                         then A std pre-activations (continuous)

The previous reward is normalised as an observation entry, by running statistics of its own
(``reward_count``, ``reward_mean``, ``reward_m2`` of the raw rewards, Welford; variance 1 until two
rewards): (r - mean) / sqrt(var + eps), the reward added first; the raw r with normalize_obs off
(the statistics then stay zero, the count counts). It is not the TD error's scaled reward r~.
With network.prev_reward "sign" it is sign(r), -1, 0 or 1 (the statistics stay zero, the count
counts): bounded, and a rare reward no larger an input than a common one. With "centered_sign" it
is sign(r) - mean, the statistics those of the signs (the sign added first), whatever normalize_obs:
bounded and of mean zero, so it is 0 where every reward has one sign (a cost on every step),
where the sign alone is a constant input that the RTU's slow units sum into a large offset.
With "gated_sign" it is sign(r) once two rewards' signs have differed and 0 before, the statistics
the signs' as with "centered_sign" (the gate: reward_m2 > 0, exactly 0 while every sign was the
same): the plain sign where rewards have both signs, nothing where they all share one.

LN is parameter-free (net.py); std = min(std_min + softplus(pre), std_max). Dense layers start
sparse (config.sparsity), the RTU as Cell.init_params. network.memoryless is the baseline without
memory: the RTU's state and traces are zeroed before every step.

Gradients of v (critic) and of log pi(a|s) + c_H sign(delta) H (actor): the heads by backprop, the
RTU by RTRL from dL/dh (both exact), the input layer by the one-step sensitivity
dL/de_t = Cell.input_gradient(dL/dh), the RTU's past held fixed, then back through lrelu and LN.

One transition is ``act(s_t)`` then ``learn(r, s_{t+1}, terminated, truncated)``:

    act:   unless learn already fed it: x_t from s_t (zero extras), forward every network;
           sample a_t ~ pi(.|s_t) with the learner's own PCG32 stream
    learn: r~    = r / sqrt(var(u) + eps),  u = gamma (1 - terminated) u + r
           x'    = [normalised s_{t+1}; a_t; normalised r, sign(r) or sign(r) - mean] (the
                   reward statistics take r first when normalised, sign(r) when centred)
           v'    = the critic on x' by a peek (the RTU's state and RTRL traces stay those of t)
           delta = r~ + gamma (1 - terminated) v' - v(s_t)
           z_v   = gamma lambda z_v  + grad v(s_t)
           z_pi  = gamma lambda z_pi + grad [log pi(a_t|s_t) + c_H sign(delta) H(pi(.|s_t))]
           each trace its ObGD (or SGD) step over its network's parameters (obgd.update); a
           shared trunk takes both
           episode end: zero z_v, z_pi, every RTU's state and traces; else forward x' at the new
           parameters (the next act uses it)

A network's parameters, which is also the layout of its trace (z_v, z_pi):
[W_in (m x n_x), b_in (m)] [cell params] [W_1 (k x 2n), b_1 (k)] [W_2 (o x k'), b_2 (o)],
k' = k or 2n when k = 0, o = 1 (critic), A (discrete actor) or 2A (continuous actor). The first two
are ``Trunk.params``, the last two ``Head.params``.

``GRUAC`` is the GRU baseline (no C counterpart): the same learner with a ``GRUTrunk`` (a GRU
trained by truncated BPTT over T steps, gru.py) in place of the input layer and the RTU; its
features h_t (n,) feed the same heads.
"""

from __future__ import annotations

import math

import numpy as np

from . import obgd
from .cell import COUNT_LIMIT, INPUT_LIMIT, Cell, cell_params, check_input, check_size, split
from .config import ACConfig, ACNetwork
from .gru import GRU
from .net import dense_backward, dense_forward, dense_init, dense_params, ln_lrelu, \
    ln_lrelu_backward
from .prng import Prng

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


def reward_gate(m2: float) -> float:
    """The gated sign's gate (reward_input of rtu_ac.c): 1 once two rewards' signs have
    differed, the signs' sum of squared deviations m2 above 0 (exactly 0 while every sign was the
    same), else 0."""
    return 1.0 if m2 > 0 else 0.0


def softplus(y: np.ndarray) -> np.ndarray:
    """log(1 + exp(y)) without overflow: log1p(exp(-|y|)) + max(y, 0)."""
    return np.log1p(np.exp(-np.abs(y))) + np.maximum(y, 0.0)


def policy_std(pre: np.ndarray, std_min: float, std_max: float) -> np.ndarray:
    """A continuous actor's std from its std pre-activations: min(std_min + softplus(pre),
    std_max)."""
    return np.minimum(std_min + softplus(pre), std_max)


class Trunk:
    """rtu_ac_trunk: the input layer and the RTU of one network. ``params`` (n_params,) holds
    W_in, b_in (``embed``, None when n_embed = 0) then the cell's params (``cell.params`` is a
    view of it); ``e_hat``, ``e`` (n_embed,) and ``e_inv_std`` are of the latest forward."""

    def __init__(self, kind: str, activation: str, n_x: int, n_hidden: int, n_embed: int):
        self.n_x, self.n_embed = n_x, n_embed
        p_embed = dense_params(n_x, n_embed)
        n_e = n_embed if n_embed else n_x
        self.n_params = p_embed + cell_params(kind, n_e, n_hidden)
        self.params = np.zeros(self.n_params)
        self.embed = self.params[:p_embed] if n_embed else None
        self.e_hat, self.e = np.zeros(n_embed), np.zeros(n_embed)
        self.e_inv_std = 0.0
        self.cell = Cell(kind, activation, n_e, n_hidden, self.params[p_embed:])

    def __setstate__(self, state: dict) -> None:
        """A copy or an unpickled trunk: embed and the cell's params, which copy.deepcopy and
        pickle detach, made views of its params again."""
        self.__dict__.update(state)
        p_embed = self.n_params - self.cell.n_params
        self.embed = self.params[:p_embed] if self.n_embed else None
        self.cell.bind(self.params[p_embed:])

    def init(self, sparsity: float, rng: Prng) -> None:
        """W_in sparse, b_in zero (if any), then the cell's parameters, from rng in that order."""
        if self.n_embed:
            dense_init(self.embed, self.n_x, self.n_embed, sparsity, rng)
        self.cell.init_params(rng, 0.0, 1.0, 6.28)

    def embed_forward(self, x: np.ndarray, e_hat: np.ndarray, e: np.ndarray) -> float:
        """e_hat = LN(W_in x + b_in), e = lrelu(e_hat); returns LN's inv_std."""
        dense_forward(self.embed, x, self.n_x, self.n_embed, e_hat)
        return ln_lrelu(e_hat, e)

    def forward(self, x: np.ndarray, memoryless: bool) -> None:
        """A step of the trunk on x: e_t (if an input layer), then the cell's step (its state and
        traces zeroed first when memoryless)."""
        if memoryless:
            self.cell.reset()
        if self.n_embed:
            self.e_inv_std = self.embed_forward(x, self.e_hat, self.e)
            self.cell.step(self.e)
        else:
            self.cell.step(x)

    def peek(self, x: np.ndarray, memoryless: bool, e_hat: np.ndarray, e: np.ndarray,
             h: np.ndarray) -> None:
        """h = the features a step on x would give (state and traces unchanged); e_hat, e are
        scratch."""
        if self.n_embed:
            self.embed_forward(x, e_hat, e)
            x = e
        h[:] = self.cell.peek(x, memoryless)

    def backward(self, x: np.ndarray, d_h: np.ndarray, decay: float, z: np.ndarray,
                 d_e: np.ndarray) -> None:
        """z (the trunk's part of a trace) = decay z + dL/dparams from d_h = dL/dh_t: the cell's
        by RTRL; W_in, b_in by the one-step sensitivity d_e = dL/de_t (the cell's past held
        fixed) back through lrelu and LN, x the trunk's input of step t. d_e is scratch
        (n_embed,)."""
        p_embed = self.n_params - self.cell.n_params
        z[p_embed:] *= decay
        z[p_embed:] += self.cell.gradient_into(d_h)
        if self.n_embed:
            d_e[:] = self.cell.input_gradient(d_h)
            ln_lrelu_backward(self.e_hat, self.e_inv_std, d_e)
            dense_backward(self.embed, x, d_e, self.n_x, self.n_embed, decay, z[:p_embed], None)


class Head:
    """rtu_ac_head: ``params`` (n_params,) = [W_1 (k x n_in), b_1 (k)] (when n_head = k > 0)
    then W_2 (n_out x k'), b_2 (n_out), k' = k or n_in = 2n; ``q_hat``, ``q`` (k,),
    ``q_inv_std`` and ``out`` (n_out,) are of the latest forward. (n_in is not a field of the C
    struct, which reads 2n off the trunk's cell.)"""

    def __init__(self, n_in: int, n_head: int, n_out: int):
        self.n_in, self.n_head, self.n_out = n_in, n_head, n_out
        self.p_hidden = dense_params(n_in, n_head)  # W_1, b_1
        self.n_params = self.p_hidden + dense_params(n_head if n_head else n_in, n_out)
        self.params = np.zeros(self.n_params)
        self.q_hat, self.q = np.zeros(n_head), np.zeros(n_head)
        self.q_inv_std = 0.0
        self.out = np.zeros(n_out)

    def init(self, sparsity: float, rng: Prng) -> None:
        """W_1 sparse, b_1 zero (if any), then W_2 sparse, b_2 zero, from rng in that order."""
        if self.n_head:
            dense_init(self.params[:self.p_hidden], self.n_in, self.n_head, sparsity, rng)
        dense_init(self.params[self.p_hidden:], self.n_head or self.n_in, self.n_out, sparsity,
                   rng)

    def forward(self, h: np.ndarray, q_hat: np.ndarray, q: np.ndarray, out: np.ndarray) -> float:
        """out = W_2 q + b_2, q = lrelu(q_hat), q_hat = LN(W_1 h + b_1) (or q = h when k = 0);
        returns LN's inv_std (0 when k = 0)."""
        k, n_in = self.n_head, self.n_in
        if not k:
            dense_forward(self.params, h, n_in, self.n_out, out)
            return 0.0
        dense_forward(self.params[:self.p_hidden], h, n_in, k, q_hat)
        inv_std = ln_lrelu(q_hat, q)
        dense_forward(self.params[self.p_hidden:], q, k, self.n_out, out)
        return inv_std

    def backward(self, h: np.ndarray, d_out: np.ndarray, decay: float, z: np.ndarray,
                 d_q: np.ndarray, d_h: np.ndarray) -> None:
        """z (the head's part of a trace) = decay z + dL/dparams by backprop from d_out = dL/dout
        at the latest forward on h; d_h = dL/dh (overwritten). d_q is scratch (k,)."""
        k, n_in, p1 = self.n_head, self.n_in, self.p_hidden
        if not k:
            dense_backward(self.params, h, d_out, n_in, self.n_out, decay, z, d_h)
            return
        dense_backward(self.params[p1:], self.q, d_out, k, self.n_out, decay, z[p1:], d_q)
        ln_lrelu_backward(self.q_hat, self.q_inv_std, d_q)
        dense_backward(self.params[:p1], h, d_q, n_in, k, decay, z[:p1], d_h)


class AC:
    """AC(lambda) learner laid out as ``rtu_ac``.

    ``trunk``: [the critic's, the actor's] (``trunk[1]`` None when shared: ``net_trunk(r)``
    is network r's); ``head``: [the critic's (1 output), the actor's (A or 2A)]; ``z_v``
    (n_value,), ``z_pi`` (n_policy,) the traces over the critic's and the actor's network;
    ``peek`` (e_hat, e, h, q_hat, q) and ``grad`` (d_out, d_q, d_h, d_e) scratch, ``pi`` (A,)
    log-probabilities or (2A,) mu then std; ``x``, ``x_next`` (n_x,); ``action`` (A,).
    """

    def __init__(self, kind: str, activation: str, n_obs: int, n_hidden: int, action_kind: str,
                 n_actions: int, config: ACConfig, seed: int,
                 network: ACNetwork = ACNetwork()):
        config.check()
        network.check()
        if action_kind not in ACTION_KINDS:
            raise ValueError(f"action_kind must be one of {ACTION_KINDS}, got {action_kind!r}")
        if n_actions < (2 if action_kind == "discrete" else 1):
            raise ValueError(f"a {action_kind} action space needs n_actions >= "
                             f"{2 if action_kind == 'discrete' else 1}, got {n_actions}")
        if n_obs < 1 or n_hidden < 1:
            raise ValueError(f"n_obs and n_hidden must be >= 1, got {n_obs}, {n_hidden}")
        self.kind, self.activation = kind, activation
        self.n_obs, self.n_hidden = n_obs, n_hidden
        self.config, self.network = config, network
        self.action_kind, self.n_actions = action_kind, n_actions
        A, m, k = n_actions, network.n_embed, network.n_head
        self.n_x = n_obs + (A if network.prev_action else 0) + (1 if network.reward_input else 0)
        o = 2 * A if action_kind == "continuous" else A
        self.trunk = [self.new_trunk(), None if network.shared else self.new_trunk()]
        self.n_features = n2 = self.trunk[0].cell.h.size
        self.head = [Head(n2, k, 1), Head(n2, k, o)]
        self.n_value = self.trunk[0].n_params + self.head[0].n_params
        self.n_policy = self.net_trunk(1).n_params + self.head[1].n_params
        self.z_v, self.z_pi = np.zeros(self.n_value), np.zeros(self.n_policy)
        self.peek = np.zeros(2 * m + n2 + 2 * k)
        self.grad = np.zeros(o + k + n2 + m)
        self.pi, self.action = np.zeros(o), np.zeros(A)
        self.x, self.x_next = np.zeros(self.n_x), np.zeros(self.n_x)
        self.obs_mean, self.obs_m2, self.obs_last = np.zeros((3, n_obs))
        self.ret_trace, self.ret_mean, self.ret_m2 = 0.0, np.zeros(1), np.zeros(1)
        self.obs_count = self.ret_count = 0
        self.reward_mean, self.reward_m2 = np.zeros(1), np.zeros(1)
        self.reward_count = 0
        self.fed = self.acted = False
        self.steps = self.episodes = 0
        # network by network (critic, then actor; shared: the trunk, then both heads), layer by
        # layer in forward order
        self.rng = Prng(seed)
        for r in (0, 1):
            if self.trunk[r] is not None:
                self.trunk[r].init(config.sparsity, self.rng)
            self.head[r].init(config.sparsity, self.rng)

    def new_trunk(self) -> Trunk:
        """A network's trunk: the input layer and the RTU."""
        return Trunk(self.kind, self.activation, self.n_x, self.n_hidden, self.network.n_embed)

    def net_trunk(self, r: int) -> Trunk:
        """The trunk of network r (0 the critic, 1 the actor)."""
        return self.trunk[r] if self.trunk[r] is not None else self.trunk[0]

    def scratch(self, name: str) -> dict:
        """Views of the peek ("peek") or backward ("grad") scratch by the names of rtu_ac.h."""
        m, k, n2, o = self.network.n_embed, self.network.n_head, self.n_features, self.pi.size
        if name == "peek":
            return split(self.peek, [("e_hat", (m,)), ("e", (m,)), ("h", (n2,)),
                                     ("q_hat", (k,)), ("q", (k,))])
        return split(self.grad, [("d_out", (o,)), ("d_q", (k,)), ("d_h", (n2,)), ("d_e", (m,))])

    # -- observations and the forward pass ------------------------------------------------------

    def normalized(self, obs: np.ndarray, mean: np.ndarray, m2: np.ndarray) -> np.ndarray:
        """obs normalised by the running statistics with it added, (obs - mean) / sqrt(var +
        eps); mean and m2 (the statistics, or copies of them) take obs in place."""
        var = welford(obs, self.obs_count, mean, m2)
        return (obs - mean) / np.sqrt(var + NORM_EPS)

    def normalize_obs(self, obs: np.ndarray, into: np.ndarray) -> None:
        """into[:n_obs] = obs normalised after adding it to the statistics (or obs)."""
        if self.config.normalize_obs:
            into[:self.n_obs] = self.normalized(obs, self.obs_mean, self.obs_m2)
        else:
            into[:self.n_obs] = obs
        self.obs_count = min(self.obs_count + 1, COUNT_LIMIT)  # counts stop there

    def normalized_obs(self, obs: np.ndarray, into: np.ndarray) -> None:
        """rtu_ac_normalized_obs: into[:n_obs] = obs normalised as normalize_obs would, the
        statistics unchanged."""
        if self.config.normalize_obs:
            into[:self.n_obs] = self.normalized(obs, self.obs_mean.copy(), self.obs_m2.copy())
        else:
            into[:self.n_obs] = obs

    def return_scale(self, u: float) -> float:
        """rtu_ac_return_scale: the return trace u added to its running statistics; returns
        sqrt(var + eps), the divisor of the reward."""
        var = welford(np.array([u]), self.ret_count, self.ret_mean, self.ret_m2)
        self.ret_count = min(self.ret_count + 1, COUNT_LIMIT)
        return math.sqrt(var[0] + NORM_EPS)

    def reward_input(self, reward: float) -> float:
        """reward_input of rtu_ac.c: the previous-reward input of reward (network.prev_reward):
        "sign", its sign; "centered_sign", its sign less the mean of the signs, the statistics'
        mean after adding the sign to them (whatever normalize_obs); "gated_sign", its sign where
        those statistics, the sign added, have reward_m2 > 0 (two signs have differed), else 0;
        "normalized", normalised as
        an observation entry by the reward statistics after adding it to them, (reward - mean) /
        sqrt(var + eps), or the raw reward with normalize_obs off (the statistics untouched). The
        count counts either way. Not yet clamped."""
        x = reward
        if self.network.prev_reward == "sign":  # its sign
            x = 1.0 if reward > 0 else (-1.0 if reward < 0 else 0.0)
        elif self.network.prev_reward in ("centered_sign", "gated_sign"):  # the signs' statistics
            value = np.array([1.0 if reward > 0 else (-1.0 if reward < 0 else 0.0)])
            welford(value, self.reward_count, self.reward_mean, self.reward_m2)
            if self.network.prev_reward == "centered_sign":  # less the signs' running mean
                x = float((value - self.reward_mean)[0])
            else:  # once the signs have varied: m2 is exactly 0 while every sign was the same
                x = float(value[0]) if reward_gate(self.reward_m2[0]) else 0.0
        elif self.config.normalize_obs:
            value = np.array([reward])
            var = welford(value, self.reward_count, self.reward_mean, self.reward_m2)
            x = float(((value - self.reward_mean) / np.sqrt(var + NORM_EPS))[0])
        self.reward_count = min(self.reward_count + 1, COUNT_LIMIT)  # counts stop there
        return x

    def check_normalized(self, name: str, obs: np.ndarray) -> None:
        """check_normalized of rtu_ac.c: obs (within INPUT_LIMIT), normalised as normalize_obs
        would, is within INPUT_LIMIT too, as every input of the networks; act and learn check
        it before they change anything. Changes nothing."""
        if self.config.normalize_obs:
            check_input(f"{name}, normalised by the running statistics,",
                        self.normalized(obs, self.obs_mean.copy(), self.obs_m2.copy()))

    def forward(self) -> None:
        """rtu_ac_forward: every network forward on x (every trunk, then the critic's and the
        actor's head)."""
        memoryless = self.network.memoryless
        for trunk in self.trunk:
            if trunk is not None:
                trunk.forward(self.x, memoryless)
        for r, head in enumerate(self.head):
            head.q_inv_std = head.forward(self.net_trunk(r).cell.h, head.q_hat, head.q, head.out)

    def feed(self, obs: np.ndarray) -> None:
        """Forward every network on x; remember obs as the observation the networks hold."""
        self.forward()
        self.obs_last[:] = obs
        self.fed = True

    def value(self) -> float:
        """rtu_ac_value: v(s) of the observation the networks hold."""
        return float(self.head[0].out[0])

    def peek_value(self, x: np.ndarray) -> float:
        """The critic's v on x at the current parameters by a peek: the RTU's state and traces
        stay as they are (the peek scratch takes the activations)."""
        s = self.scratch("peek")
        self.trunk[0].peek(x, self.network.memoryless, s["e_hat"], s["e"], s["h"])
        v = np.zeros(1)
        self.head[0].forward(s["h"], s["q_hat"], s["q"], v)
        return float(v[0])

    # -- acting ----------------------------------------------------------------------------------

    def policy_forward(self) -> None:
        """pi from the actor's out: log-softmax (discrete); mu, then
        std = min(std_min + softplus(pre), std_max) (continuous)."""
        out, A = self.head[1].out, self.n_actions
        if self.action_kind == "discrete":
            m = np.max(out)
            self.pi[:] = out - (m + np.log(np.sum(np.exp(out - m))))
        else:
            self.pi[:A] = out[:A]
            self.pi[A:] = policy_std(out[A:], self.config.std_min, self.config.std_max)

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
                self.action[i] = self.pi[i] + self.pi[A + i] * self.rng.normal()

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
            self.check_normalized("obs", obs)  # before the statistics take it
            self.normalize_obs(obs, self.x)
            self.x[self.n_obs:] = 0.0  # no previous action or reward at an episode's start
            self.feed(obs)
        self.policy_forward()
        if not np.all(np.isfinite(self.pi)):  # never a non-finite action
            raise FloatingPointError("learner diverged: the actor's outputs became non-finite")
        self.sample_action()
        self.acted = True
        return self.action[:1].copy() if self.action_kind == "discrete" else self.action.copy()

    # -- learning --------------------------------------------------------------------------------

    def policy_gradient(self, logp_scale: float, entropy_scale: float,
                        d_out: np.ndarray) -> None:
        """rtu_ac_policy_gradient: d_out = d [w log pi(a|s) + c H] / d out, w = logp_scale,
        c = entropy_scale (the actor-critic's: w = 1, c = c_H sign(delta))."""
        A = self.n_actions
        if self.action_kind == "discrete":
            # d/dlogit_i = w ([i == a] - p_i) - c p_i (log p_i + H)
            p = np.exp(self.pi)
            entropy = -np.sum(p * self.pi)
            chosen = (np.arange(A) == int(self.action[0])).astype(np.float64)
            d_out[:] = logp_scale * (chosen - p) - entropy_scale * p * (self.pi + entropy)
        else:
            # log pi = sum_i -(a_i - mu_i)^2 / (2 std_i^2) - log std_i - log sqrt(2 pi),
            # H = sum_i log std_i + const; d std / d pre = sigmoid(pre) below std_max, else 0
            mu, std, pre = self.pi[:A], self.pi[A:], self.head[1].out[A:]
            diff = self.action - mu
            inv = 1.0 / std
            d_std = logp_scale * (diff * diff * inv * inv * inv - inv) + entropy_scale * inv
            d_out[:A] = logp_scale * (diff * inv * inv)
            with np.errstate(over="ignore"):  # exp(-pre) = inf: sigmoid(pre) = 0
                d_out[A:] = np.where(std < self.config.std_max, d_std / (1.0 + np.exp(-pre)), 0.0)

    def backward(self, r: int, decay: float, z: np.ndarray) -> None:
        """z (network r's trace) = decay z + d L / d params of network r at step t, dL/dout in
        the grad scratch's d_out: the head by backprop, then the trunk (trunk.backward), each
        part decaying as its gradient is added."""
        s = self.scratch("grad")
        trunk, head = self.net_trunk(r), self.head[r]
        p = trunk.n_params
        head.backward(trunk.cell.h, s["d_out"][:head.n_out], decay, z[p:], s["d_q"], s["d_h"])
        trunk.backward(self.x, s["d_h"], decay, z[:p], s["d_e"])

    def learn(self, reward: float, next_obs: np.ndarray, terminated: bool,
              truncated: bool) -> None:
        next_obs = np.asarray(next_obs, dtype=np.float64)
        check_input("next_obs", next_obs)
        check_input("reward", np.asarray([reward], dtype=np.float64))
        if not self.acted:
            raise RuntimeError("learn called without act before it")
        self.check_normalized("next_obs", next_obs)  # before the statistics take it
        cfg = self.config

        # reward scaling: r / sqrt(var(u) + eps), u the discounted return trace
        r = reward
        if cfg.scale_reward:
            self.ret_trace = cfg.gamma * (0.0 if terminated else 1.0) * self.ret_trace + reward
            r = reward / self.return_scale(self.ret_trace)
        # x' = [normalised s'; a_t (one-hot if discrete); normalised r, sign(r) or sign(r) - mean]
        self.normalize_obs(next_obs, self.x_next)
        self.write_extras(reward, self.x_next)
        # delta = r~ + gamma (1 - terminated) v(s') - v(s), v(s') by a peek at theta_t
        v_s = self.value()
        v_next = 0.0 if terminated else self.peek_value(self.x_next)
        delta = r + cfg.gamma * v_next - v_s
        sign = float(np.sign(delta))

        # z_v = gamma lambda z_v + grad v(s);  z_pi = gamma lambda z_pi + grad [log pi + c sign H]
        decay = cfg.gamma * cfg.lambda_
        d_out = self.scratch("grad")["d_out"]
        d_out[0] = 1.0
        self.backward(0, decay, self.z_v)
        self.policy_gradient(1.0, cfg.entropy_coef * sign, d_out)
        self.backward(1, decay, self.z_pi)

        # one ObGD (or SGD) step per trace, a shared trunk taking both; the phase wraps, the
        # refreshes
        traces = [obgd.Trace(z, trunk.params, trunk.cell, head.params, kappa,
                             float(np.sum(np.abs(z))), phase_scale=cfg.phase_step_scale)
                  for z, trunk, head, kappa in (
                      (self.z_v, self.net_trunk(0), self.head[0], cfg.kappa_value),
                      (self.z_pi, self.net_trunk(1), self.head[1], cfg.kappa_policy))]
        obgd.update(cfg.optimizer == "obgd", cfg.alpha, delta, traces)
        self.acted = False
        self.steps += 1

        if terminated or truncated:  # after the update: zero traces and state
            self.begin_episode()
            self.episodes += 1
            return
        self.x[:] = self.x_next
        self.feed(next_obs)  # s' at theta_{t+1}: the next act starts from it

    def write_extras(self, reward: float, x: np.ndarray) -> None:
        """rtu_ac_write_extras: x[n_obs:] = the previous action (one-hot if discrete) and the
        previous reward as network.prev_reward says (normalized: the reward statistics take it;
        sign; centered_sign, gated_sign: the statistics take the sign), after self.action."""
        i, A = self.n_obs, self.n_actions
        if self.network.prev_action:
            if self.action_kind == "discrete":
                x[i:i + A] = 0.0
                x[i + int(self.action[0])] = 1.0
            else:  # within the cell's input range, so the forward of x cannot refuse it
                x[i:i + A] = np.clip(self.action, -INPUT_LIMIT, INPUT_LIMIT)
            i += A
        if self.network.reward_input:
            x[i] = min(max(self.reward_input(reward), -INPUT_LIMIT), INPUT_LIMIT)

    def refresh_forward(self) -> None:
        """rtu_ac_refresh_forward (after a checkpoint is loaded): the forward activations of a fed
        learner recomputed from x, the parameters and each cell's h, as the forward that fed x
        computed them, without stepping the cells (each trunk's e_hat, e, e_inv_std; each head's
        q_hat, q, q_inv_std, out)."""
        if not self.fed:
            return
        for trunk in self.trunk:
            if trunk is not None and trunk.n_embed:
                trunk.e_inv_std = trunk.embed_forward(self.x, trunk.e_hat, trunk.e)
        for r, head in enumerate(self.head):
            head.q_inv_std = head.forward(self.net_trunk(r).cell.h, head.q_hat, head.q, head.out)

    def begin_episode(self) -> None:
        """rtu_ac_begin_episode: what learn does at an episode end, outside learn and without
        counting an episode; a pending action is dropped."""
        self.z_v[:] = 0.0
        self.z_pi[:] = 0.0
        for trunk in self.trunk:
            if trunk is not None:
                trunk.cell.reset()
        self.fed = self.acted = False


class GRUTrunk:
    """The GRU baseline's trunk (no input layer): a GRU (gru.py) on x, its gradient by truncated
    BPTT over the last ``window`` steps; the interface of ``Trunk``. ``params`` (P,) is the GRU's
    (``cell.params`` is it)."""

    n_embed = 0

    def __init__(self, n_x: int, n_hidden: int, window: int):
        self.n_x = n_x
        self.cell = GRU(n_x, n_hidden, window)
        self.params, self.n_params = self.cell.params, self.cell.n_params

    def init(self, sparsity: float, rng: Prng) -> None:
        """The GRU's init (U(-1/sqrt(n), 1/sqrt(n)); it has no Dense layer to make sparse)."""
        self.cell.init_params(rng)

    def forward(self, x: np.ndarray, memoryless: bool) -> None:
        self.cell.step(x)

    def peek(self, x: np.ndarray, memoryless: bool, e_hat: np.ndarray, e: np.ndarray,
             h: np.ndarray) -> None:
        h[:] = self.cell.peek(x)

    def backward(self, x: np.ndarray, d_h: np.ndarray, decay: float, z: np.ndarray,
                 d_e: np.ndarray) -> None:
        """z (the trunk's part of a trace) = decay z + dL/dparams by T-BPTT from d_h = dL/dh_t."""
        z *= decay
        z += self.cell.gradient_into(d_h)


class GRUAC(AC):
    """The GRU baseline of the actor-critic: ``AC`` with a GRU trunk (``GRUTrunk``, n_hidden units,
    features h (n,)) in place of the input layer and the RTU; the same heads, traces, optimizer,
    normalisation and learn. ``network.n_embed`` must be 0 and ``network.memoryless`` off."""

    def __init__(self, n_obs: int, n_hidden: int, window: int, action_kind: str, n_actions: int,
                 config: ACConfig, seed: int, network: ACNetwork = ACNetwork()):
        self.window = check_size("window", window, 1)
        self.check_network(network)
        super().__init__("gru", "tanh", n_obs, n_hidden, action_kind, n_actions, config, seed,
                         network)

    @staticmethod
    def check_network(network: ACNetwork) -> None:
        """ValueError, starting with the field's name, if network asks for what the GRU baseline
        has not: an input layer (n_embed) or no memory (memoryless)."""
        if network.n_embed:
            raise ValueError(f"n_embed must be 0 for the GRU baseline (it has no input layer), "
                             f"got {network.n_embed}")
        if network.memoryless:
            raise ValueError("memoryless must be off for the GRU baseline (it keeps its memory)")

    def new_trunk(self) -> GRUTrunk:
        return GRUTrunk(self.n_x, self.n_hidden, self.window)
