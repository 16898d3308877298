"""PPO with RTRL in numpy: c_src/rtu_ppo.c, name for name (its header, c_src/rtu_ppo.h, writes the
algorithm out). One network (an ``AC``) serves N environments, each with a context of its own
(every trunk's cell state and RTRL traces, and the extras of its next input); a rollout stores the
context before each step; the update takes one step from a stored context at the current
parameters and contracts dL/dh with the traces of that step (the paper's stale gradient), or
from contexts recomputed by ``refresh`` (fresh).
"""

from __future__ import annotations

import math

import numpy as np

from .ac import AC
from .cell import check_input, VALUE_LIMIT
from .config import ACConfig, ACNetwork, PPOConfig

#: a cell's context: its state and RTRL traces (rtu_cell's span from c to its scratch)
CONTEXT_FIELDS = ("c", "d", "h", "x", "dc_dnu", "dd_dnu", "dc_dtheta", "dd_dtheta", "dc_dwc",
                  "dd_dwc", "dc_dwd", "dd_dwd")
LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


class PPO:
    """rtu_ppo: the network ``ac`` (an AC: parameters, statistics, PRNG) of N = n_envs
    environments and rollouts of T = n_steps.

    Stores: ``contexts`` [(T + 1)][N] (per trunk, a dict of the cell's CONTEXT_FIELDS; then the
    extras, (n_x - n_obs,)); ``inputs`` (T, N, n_x); ``actions`` (T, N, a) (a = 1 discrete, A
    continuous); ``log_probs``, ``values``, ``dones`` (T, N); ``ret_traces`` (N,); ``grad``,
    ``adam_m``, ``adam_v`` (n_value + n_policy,): the critic's parameters, then the actor's.
    """

    def __init__(self, kind: str, activation: str, n_obs: int, n_hidden: int, action_kind: str,
                 n_actions: int, config: ACConfig, seed: int, network: ACNetwork,
                 n_envs: int, n_steps: int):
        self.ac = ac = AC(kind, activation, n_obs, n_hidden, action_kind, n_actions, config, seed,
                          network)
        self.n_envs, self.n_steps = N, T = n_envs, n_steps
        self.action_reals = a = 1 if action_kind == "discrete" else n_actions
        self.contexts = [[self.zero_context() for _ in range(N)] for _ in range(T + 1)]
        self.inputs = np.zeros((T, N, ac.n_x))
        self.actions = np.zeros((T, N, a))
        self.log_probs, self.values, self.dones = np.zeros((3, T, N))
        self.ret_traces = np.zeros(N)
        self.n_grad = ac.n_value + ac.n_policy
        self.grad, self.adam_m, self.adam_v = np.zeros((3, self.n_grad))
        self.adam_steps = 0
        self.t = 0
        self.acted = False

    # -- contexts --------------------------------------------------------------------------------

    def trunks(self) -> list:
        return [t for t in self.ac.trunk if t is not None]

    def zero_context(self) -> tuple:
        cells = [{f: np.zeros_like(getattr(t.cell, f)) for f in CONTEXT_FIELDS
                  if getattr(t.cell, f) is not None} for t in self.trunks()]
        return cells, np.zeros(self.ac.n_x - self.ac.n_obs)

    def load_context(self, ctx: tuple) -> None:
        """The cells take ctx's states and traces; x's extras take ctx's."""
        cells, extras = ctx
        for trunk, saved in zip(self.trunks(), cells):
            for f, v in saved.items():
                getattr(trunk.cell, f)[...] = v
        self.ac.x[self.ac.n_obs:] = extras

    def save_cells(self, ctx: tuple) -> None:
        """ctx's states and traces take the cells' (its extras are written by the feedback)."""
        for trunk, saved in zip(self.trunks(), ctx[0]):
            for f, v in saved.items():
                v[...] = getattr(trunk.cell, f)

    def log_prob(self) -> tuple:
        """(log pi(action | s), H(pi(.|s))) of the latest policy forward."""
        ac, A = self.ac, self.ac.n_actions
        if ac.action_kind == "discrete":
            return float(ac.pi[int(ac.action[0])]), float(-np.sum(np.exp(ac.pi) * ac.pi))
        std = ac.pi[A:]
        u = (ac.action - ac.pi[:A]) / std
        log_std = np.log(std)
        return (float(-np.sum(0.5 * u * u + log_std + LOG_SQRT_2PI)),
                float(np.sum(0.5 + LOG_SQRT_2PI + log_std)))

    # -- rollouts --------------------------------------------------------------------------------

    def act(self, obs: np.ndarray) -> tuple:
        """rtu_ppo_act: obs (N, n_obs) -> actions (N, a), values (N,), log_probs (N,)."""
        ac, N = self.ac, self.n_envs
        if self.acted or self.t >= self.n_steps:
            raise RuntimeError("rtu_ppo_act out of turn")
        for i in range(N):
            check_input("obs", obs[i])
            ac.check_normalized("obs", obs[i])
        t = self.t
        for i in range(N):
            self.load_context(self.contexts[t][i])
            ac.normalize_obs(obs[i], ac.x)
            ac.forward()
            ac.policy_forward()
            if not np.all(np.isfinite(ac.pi)):
                raise FloatingPointError("learner diverged: the actor's outputs became "
                                         "non-finite")
            self.inputs[t, i] = ac.x
            self.save_cells(self.contexts[t + 1][i])
            ac.sample_action()
            self.actions[t, i] = ac.action[:self.action_reals]
            self.values[t, i] = ac.value()
            self.log_probs[t, i] = self.log_prob()[0]
        self.acted = True
        return self.actions[t].copy(), self.values[t].copy(), self.log_probs[t].copy()

    def feedback(self, rewards: np.ndarray, terminated: np.ndarray, truncated: np.ndarray,
                 final_obs: np.ndarray = None) -> tuple:
        """rtu_ppo_feedback: (the rewards scaled (N,), final_values (N,)): v(s_{t+1}) of the
        environments truncated and not terminated, from final_obs (N, n_obs; its other rows
        unread), 0 elsewhere (and everywhere without final_obs); then the next contexts'
        extras, or zero ones."""
        ac, N, t = self.ac, self.n_envs, self.t
        if not self.acted:
            raise RuntimeError("rtu_ppo_feedback without act")
        check_input("rewards", np.asarray(rewards, dtype=np.float64))
        truncated_only = [bool(truncated[i]) and not terminated[i] for i in range(N)]
        if final_obs is not None:
            for i in range(N):
                if truncated_only[i]:
                    check_input("final_obs", final_obs[i])
                    ac.check_normalized("final_obs", final_obs[i])
        scaled, final_values = np.array(rewards, dtype=np.float64), np.zeros(N)
        for i in range(N):
            done = bool(terminated[i]) or bool(truncated[i])
            if ac.config.scale_reward:
                self.ret_traces[i] = (ac.config.gamma * (0.0 if terminated[i] else 1.0) *
                                      self.ret_traces[i] + rewards[i])
                scaled[i] = rewards[i] / ac.return_scale(self.ret_traces[i])
            self.dones[t, i] = 1.0 if done else 0.0
            if done:
                if final_obs is not None and truncated_only[i]:
                    final_values[i] = self.final_value(i, float(rewards[i]), final_obs[i])
                self.contexts[t + 1][i] = self.zero_context()
            else:  # x_{t+1}'s extras: this environment's a_t and r_t
                ac.action[:self.action_reals] = self.actions[t, i]
                ac.write_extras(float(rewards[i]), ac.x)
                self.contexts[t + 1][i][1][:] = ac.x[ac.n_obs:]
        self.acted = False
        self.t += 1
        return scaled, final_values

    def final_value(self, i: int, reward: float, final_obs: np.ndarray) -> float:
        """v(s_{t+1}) of environment i truncated at step t: the cells after step t (context
        t + 1) on final_obs normalised as it stands, with the extras of a_t and r_t."""
        ac, t = self.ac, self.t
        self.load_context(self.contexts[t + 1][i])
        ac.action[:self.action_reals] = self.actions[t, i]
        ac.write_extras(reward, ac.x)
        return self.value_from_context(final_obs)

    def value_from_context(self, obs: np.ndarray) -> float:
        """The critic's value of obs from the loaded context (its cells, x's extras), changing no
        state: obs normalised by the statistics as they are."""
        ac = self.ac
        ac.x_next[:] = ac.x
        ac.normalized_obs(obs, ac.x_next)
        return ac.peek_value(ac.x_next)

    def bootstrap(self, obs: np.ndarray) -> np.ndarray:
        """rtu_ppo_bootstrap: v of each environment's next step (N,), changing nothing."""
        ac, values = self.ac, np.zeros(self.n_envs)
        for i in range(self.n_envs):
            check_input("obs", obs[i])
            ac.check_normalized("obs", obs[i])
        for i in range(self.n_envs):
            self.load_context(self.contexts[self.t][i])
            values[i] = self.value_from_context(obs[i])
        return values

    def refresh(self) -> np.ndarray:
        """rtu_ppo_refresh: every context after the first recomputed at the current parameters;
        returns the values (t, N)."""
        ac, values = self.ac, np.zeros((self.t, self.n_envs))
        for i in range(self.n_envs):
            self.load_context(self.contexts[0][i])
            for t in range(self.t):
                if t > 0:
                    self.save_cells(self.contexts[t][i])
                ac.x[:] = self.inputs[t, i]
                ac.forward()
                values[t, i] = ac.value()
                if self.dones[t, i]:
                    for trunk in self.trunks():
                        trunk.cell.reset()
            self.save_cells(self.contexts[self.t][i])
        return values

    # -- the update ------------------------------------------------------------------------------

    def gradient(self, cfg: PPOConfig, samples: np.ndarray, advantages: np.ndarray,
                 returns: np.ndarray) -> dict:
        """rtu_ppo_gradient: grad = dL/dparams, the mean over samples (t * N + i); returns the
        means of the loss's parts."""
        ac, N, a, eps = self.ac, self.n_envs, self.action_reals, cfg.clip_coef
        count = len(samples)
        if count == 0 or np.any(np.asarray(samples) >= self.t * N):
            raise ValueError("samples must be stored steps of the rollout")
        check_input("advantages", np.asarray(advantages, dtype=np.float64))
        check_input("returns", np.asarray(returns, dtype=np.float64))
        inv_count = 1.0 / count
        sums = np.zeros(5)
        self.grad[:] = 0.0
        d_out = ac.scratch("grad")["d_out"]
        for j, s in enumerate(samples):
            t, i = divmod(int(s), N)
            adv, ret = float(advantages[j]), float(returns[j])
            # one step from the stored context of t-1 on the stored x_t, at the current params
            self.load_context(self.contexts[t][i])
            ac.x[:] = self.inputs[t, i]
            ac.forward()
            ac.policy_forward()
            ac.action[:a] = self.actions[t, i]
            lp, entropy = self.log_prob()
            # the clipped surrogate: dL/dlog pi = -A r where the unclipped term is the larger
            log_ratio = lp - self.log_probs[t, i]
            ratio = math.exp(log_ratio)
            pg1, pg2 = -adv * ratio, -adv * min(max(ratio, 1.0 - eps), 1.0 + eps)
            w = pg1 if pg1 >= pg2 else 0.0
            # the value loss, clipped around the rollout's value or not
            v, v_old = ac.value(), self.values[t, i]
            l1, d_v = (v - ret) ** 2, v - ret
            if cfg.clip_vloss:
                v_clip = v_old + min(max(v - v_old, -eps), eps)
                l2 = (v_clip - ret) ** 2
                if l2 > l1:
                    d_v = v_clip - ret if abs(v - v_old) < eps else 0.0
                    l1 = l2
            sums += (max(pg1, pg2), 0.5 * l1, entropy, (ratio - 1.0) - log_ratio,
                     1.0 if abs(ratio - 1.0) > eps else 0.0)
            # backward, accumulating the mean's gradient: the critic's, then the actor's
            d_out[0] = d_v * cfg.vf_coef * inv_count
            ac.backward(0, 1.0, self.grad[:ac.n_value])
            ac.policy_gradient(w * inv_count, -ac.config.entropy_coef * inv_count, d_out)
            ac.backward(1, 1.0, self.grad[ac.n_value:])
        stats = dict(zip(("policy_loss", "value_loss", "entropy", "approx_kl", "clip_frac"),
                         (sums * inv_count).tolist()))
        if not (np.all(np.isfinite(sums)) and np.all(np.isfinite(self.grad))):
            raise FloatingPointError("learner diverged: the PPO loss or its gradient became "
                                     "non-finite")
        return stats

    def blocks(self) -> list:
        """The distinct parameter blocks (params, offset into grad): the critic's trunk and
        head, the actor's trunk (unless shared) and head."""
        ac, out = self.ac, []
        for r, base in ((0, 0), (1, ac.n_value)):
            trunk = ac.net_trunk(r)
            if r == 0 or ac.trunk[1] is not None:
                out.append((trunk.params, base))
            out.append((ac.head[r].params, base + trunk.n_params))
        return out

    def adam_step(self, cfg: PPOConfig, learning_rate: float) -> float:
        """rtu_ppo_adam_step at learning_rate (cfg's, or annealed): returns the gradient's
        global norm before clipping."""
        ac = self.ac
        if ac.trunk[1] is None:  # the trunk's gradient is the sum of both networks'
            p = ac.trunk[0].n_params
            self.grad[:p] += self.grad[ac.n_value:ac.n_value + p]
            self.grad[ac.n_value:ac.n_value + p] = 0.0
        blocks = self.blocks()
        norm = math.sqrt(sum(float(np.sum(self.grad[o:o + p.size] ** 2)) for p, o in blocks))
        scale = 1.0
        if cfg.max_grad_norm > 0 and norm > cfg.max_grad_norm:
            scale = cfg.max_grad_norm / (norm + 1e-6)
        self.adam_steps += 1
        c1 = 1.0 - cfg.adam_beta1 ** self.adam_steps
        c2 = 1.0 - cfg.adam_beta2 ** self.adam_steps
        b1, b2, step, inv_c2 = cfg.adam_beta1, cfg.adam_beta2, learning_rate / c1, 1.0 / c2
        for params, o in blocks:
            sl = slice(o, o + params.size)
            g = self.grad[sl] * scale
            self.adam_m[sl] = b1 * self.adam_m[sl] + (1.0 - b1) * g
            self.adam_v[sl] = b2 * self.adam_v[sl] + (1.0 - b2) * g * g
            params -= step * self.adam_m[sl] / (np.sqrt(self.adam_v[sl] * inv_c2) + cfg.adam_eps)
        diverged = False
        for trunk in self.trunks():
            trunk.cell.hold_logs()
            try:
                trunk.cell.refresh()
            except ValueError:
                diverged = True
        if diverged or not all(np.all(np.abs(p) <= VALUE_LIMIT) for p, _ in blocks):
            raise FloatingPointError(f"learner diverged: a parameter became non-finite or beyond "
                                     f"+-{VALUE_LIMIT:g}")
        return norm

    def begin_rollout(self) -> None:
        """rtu_ppo_begin_rollout: the phases wrap (the environments' theta traces follow), each
        environment's current context becomes its first, t = 0."""
        if self.acted:
            raise RuntimeError("rtu_ppo_begin_rollout between act and feedback")
        for r, trunk in enumerate(self.trunks()):
            ratio = trunk.cell.wrap_phases()
            for cells, _ in self.contexts[self.t]:
                cells[r]["dc_dtheta"] *= ratio
                cells[r]["dd_dtheta"] *= ratio
            trunk.cell.refresh()
        if self.t != 0:
            self.contexts[0] = self.contexts[self.t]
            self.contexts[self.t] = [self.zero_context() for _ in range(self.n_envs)]
        self.t = 0

    def actor_critic(self) -> AC:
        """rtu_ppo_actor_critic: the network as a streaming actor-critic that has just begun an
        episode."""
        self.ac.begin_episode()
        self.ac.ret_trace = 0.0
        return self.ac
