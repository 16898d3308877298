"""PPO with RTRL: the seed paper's control trainer for the actor-critic's network, and the hand-off
to the streaming learner.

``PPO`` holds the network and N environments' contexts in one C buffer (c_src/rtu_ppo.h: the
algorithm, the stored RTRL traces, the loss and Adam; rtu_edge/reference/ppo.py is the same in
numpy). ``train_ppo`` is the outer loop, read top to bottom as CleanRL's ppo.py: rollouts of
n_steps on a gymnasium vector environment of n_envs, generalised advantage estimation, epochs of
shuffled minibatches, each minibatch one gradient (stored or recomputed traces) and one Adam
step. ``PPO.actor_critic()`` is the hand-off: the same network as an ``ActorCritic`` that keeps
learning online, one step at a time (on the Pi, on a microcontroller: its checkpoint is an
actor-critic checkpoint).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional

import numpy as np

from . import _ccore, checkpoint
from ._ccore import CCore
from ._learner import (bool_flags, check_action_space, real_array, real_scalar,
                       resets_next_step)
from .reference.cell import INPUT_LIMIT
from .ac import ActorCritic
from .reference.config import ACConfig, PPOConfig

#: the fields of rtu_ppo_loss and rtu_ppo_adam, PPOConfig's of the same names
LOSS_FIELDS = ("clip_coef", "vf_coef", "clip_vloss")
ADAM_FIELDS = ("learning_rate", "adam_beta1", "adam_beta2", "adam_eps", "max_grad_norm")


class PPO:
    """The actor-critic's network trained by PPO with RTRL, on the C core.

    Every argument but ``ppo`` is ActorCritic's (and checked as it checks them); ``ppo`` is a
    PPOConfig (n_envs N, n_steps T, the loss, Adam). Keyword arguments named as a PPOConfig
    field replace it, the others go to ActorCritic (``PPO(2, 32, 2, n_envs=8, n_head=0)``).

    ``act(obs)``: obs (N, n_in) -> actions (N,) int64 or (N, n_actions) float64, values (N,),
    log_probs (N,). ``feedback(rewards, terminated, truncated)``: (N,) each -> the rewards as
    scaled for the targets (N,). ``bootstrap(obs)``: v of each environment's next observation.
    ``refresh()``: the stored states and traces recomputed at the current parameters; returns
    the values (T, N). ``gradient(samples, advantages, returns)``: the loss's gradient over
    stored steps ``t * N + i``; returns its parts' means. ``adam_step(learning_rate)``.
    ``begin_rollout()`` before each rollout. ``actor_critic()``: the hand-off.
    ``checkpoint_bytes()`` / ``load_bytes()``: the network (an actor-critic checkpoint);
    ``adam_bytes()`` / ``load_adam_bytes()``: Adam's state beside it.

    ``memory_bytes``: the whole buffer; ``context_bytes``: what the stored RTU states and RTRL
    traces take of it ((T + 1) N contexts).
    """

    def __init__(self, n_in: int, n_hidden: int, n_actions: int, *, ppo: PPOConfig = None,
                 **kwargs):
        if ppo is not None and not isinstance(ppo, PPOConfig):
            raise ValueError(f"ppo must be a PPOConfig (or give its fields as keyword "
                             f"arguments: PPO(..., n_envs=8)), got {type(ppo).__name__}")
        names = {f.name for f in dataclasses.fields(PPOConfig)}
        given = {k: kwargs.pop(k) for k in list(kwargs) if k in names}
        ppo = dataclasses.replace(ppo or PPOConfig(), **given)
        ppo.check()
        self.ppo = ppo
        if kwargs.get("backend", "c") != "c":
            raise ValueError(f"backend must be 'c' for PPO (rtu_edge.reference.ppo is its numpy "
                             f"reference), got {kwargs['backend']!r}")
        # the network built as ActorCritic builds it: every argument checked at that one layer
        template = ActorCritic(n_in, n_hidden, n_actions, **kwargs)
        self._template = template
        self.n_in, self.n_actions, self.action_kind = template.n_in, n_actions, \
            template.action_kind
        self.dtype = template.dtype
        self.n_envs, self.n_steps = ppo.n_envs, ppo.n_steps
        ffi = _ccore.load_lib(self.dtype)[0]
        shape = template._shape.struct(ffi)
        nbytes = CCore.size(self.dtype, lambda lib: lib.rtu_ppo_buffer_size, shape,
                            self.n_envs, self.n_steps)
        self.core = core = CCore(self.dtype, nbytes)
        self.memory_bytes = nbytes
        self.lib = lib = core.lib
        self.c = ffi.new("rtu_ppo *")
        cfg = _ccore.config_struct(ffi, "rtu_ac_config", template.config)
        core.check(lib.rtu_ppo_init(self.c, shape, cfg, self.n_envs, self.n_steps,
                                    template.seed, core.buffer_p, nbytes))
        self.context_bytes = int((self.n_steps + 1) * self.n_envs * self.c.ctx) * \
            self.dtype.itemsize
        self._loss = ffi.new("rtu_ppo_loss *")
        for name in LOSS_FIELDS:
            setattr(self._loss, name, getattr(ppo, name))
        self._adam = ffi.new("rtu_ppo_adam *")
        for name in ADAM_FIELDS:
            setattr(self._adam, name, getattr(ppo, name))
        self._stats = ffi.new("rtu_ppo_stats *")
        self._at = ffi.new("size_t *")
        N, a = self.n_envs, int(self.c.action_reals)
        self._actions = np.zeros((N, a), dtype=self.dtype)
        self._values, self._log_probs, self._scaled, self._final_values = \
            np.zeros((4, N), dtype=self.dtype)
        self._all_values = np.zeros((self.n_steps, N), dtype=self.dtype)

    def __repr__(self) -> str:
        return f"PPO({self.n_envs} environments x {self.n_steps} steps, {self._template!r})"

    seed = property(lambda self: self._template.seed)
    kind = property(lambda self: self._template.kind)
    activation = property(lambda self: self._template.activation)
    n_hidden = property(lambda self: self._template.n_hidden)
    n_x = property(lambda self: self._template.n_x)
    network = property(lambda self: self._template.network)
    #: the AC(lambda) hyperparameters the network runs with (the loaded checkpoint's)
    config = property(lambda self: _ccore.config_from_struct(ACConfig, self.c.ac.config))
    #: the environments' steps and episode ends since construction (or the loaded checkpoint's)
    steps = property(lambda self: int(self.c.ac.steps))
    episodes = property(lambda self: int(self.c.ac.episodes))

    def _p(self, a: np.ndarray):
        return self.core.ptr(a)

    def _check(self, status: int, name: str) -> None:
        """status to an exception naming the environment (or sample) *at."""
        lib = self.lib
        if status == lib.RTU_OK:
            return
        i = int(self._at[0])
        if status == lib.RTU_ERR_ORDER:
            raise RuntimeError(f"PPO calls out of turn: act, then feedback, at most n_steps "
                               f"({self.n_steps}) times per rollout, begin_rollout between "
                               f"rollouts")
        if status in (lib.RTU_ERR_DIVERGED, lib.RTU_ERR_OVERFLOW):
            raise FloatingPointError(f"learner diverged ({self.core.message(status)}); load a "
                                     f"good checkpoint")
        if status in (lib.RTU_ERR_NONFINITE_INPUT, lib.RTU_ERR_INPUT_RANGE):
            raise ValueError(f"{name}[{i}]: {self.core.message(status)}")
        self.core.check(status, name)

    def act(self, obs) -> tuple:
        """Rollout step: actions, values v(s_t) and log pi(a_t|s_t) of every environment."""
        obs = real_array("obs", obs, (self.n_envs, self.n_in), self.dtype)
        self._check(self.lib.rtu_ppo_act(self.c, self._p(obs), self._p(self._actions),
                                         self._p(self._values), self._p(self._log_probs),
                                         self._at), "obs")
        actions = self._actions[:, 0].astype(np.int64) if self.action_kind == "discrete" \
            else self._actions.astype(np.float64)
        return actions, self._values.astype(np.float64), self._log_probs.astype(np.float64)

    def feedback(self, rewards, terminated, truncated, final_obs=None) -> tuple:
        """The environments' rewards and episode ends for the latest act; returns (the rewards
        scaled as the targets use them, final_values), (N,) float64 each. final_obs (N, n_in),
        the observations the steps ended on (a vector environment's ``infos["final_obs"]``
        where it reset one), gives final_values: v(s_{t+1}) of each environment truncated and not
        terminated (its other rows are not read), which continues that episode's return in the
        targets (r_t + gamma v(s_{t+1})); 0 elsewhere, and everywhere without final_obs."""
        rewards = real_array("rewards", rewards, (self.n_envs,), self.dtype)
        term = bool_flags("terminated", terminated, self.n_envs)
        trunc = bool_flags("truncated", truncated, self.n_envs)
        ffi = self.core.ffi
        final_p = final_v = ffi.NULL
        if final_obs is not None:
            final_obs = real_array("final_obs", final_obs, (self.n_envs, self.n_in), self.dtype)
            final_p, final_v = self._p(final_obs), self._p(self._final_values)
        status = self.lib.rtu_ppo_feedback(self.c, self._p(rewards),
                                           ffi.from_buffer("unsigned char[]", term),
                                           ffi.from_buffer("unsigned char[]", trunc), final_p,
                                           self._p(self._scaled), final_v, self._at)
        if status != self.lib.RTU_OK:  # the C core checks every reward, then final_obs
            rewards_ok = np.all(np.isfinite(rewards)) and np.all(np.abs(rewards) <= INPUT_LIMIT)
            self._check(status, "final_obs" if rewards_ok else "rewards")
        final = self._final_values.astype(np.float64) if final_obs is not None \
            else np.zeros(self.n_envs)
        return self._scaled.astype(np.float64), final

    def bootstrap(self, obs) -> np.ndarray:
        """v of each environment's next observation from its current state, changing nothing."""
        obs = real_array("obs", obs, (self.n_envs, self.n_in), self.dtype)
        self._check(self.lib.rtu_ppo_bootstrap(self.c, self._p(obs), self._p(self._values),
                                               self._at), "obs")
        return self._values.astype(np.float64)

    def refresh(self) -> np.ndarray:
        """Fresh states and traces: every stored one recomputed at the current parameters;
        returns the values (t, N) at them."""
        self._check(self.lib.rtu_ppo_refresh(self.c, self._p(self._all_values)), "refresh")
        return self._all_values[:int(self.c.t)].astype(np.float64)

    def gradient(self, samples, advantages, returns) -> dict:
        """The gradient of the PPO loss over stored steps (t * N + i), held for adam_step;
        returns the means of its parts (policy_loss, value_loss, entropy, approx_kl,
        clip_frac)."""
        def outside(got) -> ValueError:
            return ValueError(f"samples must be stored steps t * n_envs + i of the rollout "
                              f"(below {int(self.c.t) * self.n_envs}), at least one; got {got}")
        given = np.asarray(samples)
        if given.ndim != 1 or (given.size and given.dtype.kind not in "iu"):
            raise ValueError(f"samples must be a 1-D array of integers (stored steps "
                             f"t * n_envs + i), got {given.dtype} of shape {given.shape}")
        if given.size and given.min() < 0:
            raise outside(given.min())
        samples = np.ascontiguousarray(given, dtype=np.uintp)
        count = samples.size
        advantages = real_array("advantages", advantages, (count,), self.dtype)
        returns = real_array("returns", returns, (count,), self.dtype)
        status = self.lib.rtu_ppo_gradient(
            self.c, self._loss, count, self.core.ffi.from_buffer("size_t[]", samples),
            self._p(advantages), self._p(returns), self._stats, self._at)
        if status == self.lib.RTU_ERR_SIZE:  # the C core checks each is below t * n_envs
            raise outside(samples[int(self._at[0])] if count else "none")
        self._check(status, "advantages or returns")
        s = self._stats
        return {"policy_loss": float(s.policy_loss), "value_loss": float(s.value_loss),
                "entropy": float(s.entropy), "approx_kl": float(s.approx_kl),
                "clip_frac": float(s.clip_frac)}

    def adam_step(self, learning_rate: Optional[float] = None) -> float:
        """One Adam step on the latest gradient (at learning_rate, default the config's);
        returns the gradient's global norm before clipping."""
        self._adam.learning_rate = self.ppo.learning_rate if learning_rate is None \
            else real_scalar("learning_rate", learning_rate)
        norm = self.core.ffi.new("rtu_real *")
        status = self.lib.rtu_ppo_adam_step(self.c, self._adam, norm)
        if status == self.lib.RTU_ERR_CONFIG:
            raise ValueError(f"learning_rate must be > 0, got {learning_rate!r}")
        self._check(status, "adam")
        return float(norm[0])

    def begin_rollout(self) -> None:
        self._check(self.lib.rtu_ppo_begin_rollout(self.c), "begin_rollout")

    def params(self) -> list:
        """Views of the distinct parameter blocks (the critic's trunk and head, the actor's
        trunk unless shared, and head): write to them, then call params_changed()."""
        a, core, out = self.c.ac, self.core, []
        for r in (0, 1):
            if r == 0 or not self.network.shared:
                out.append(core.view(a.trunk[r].params, int(a.trunk[r].n_params)))
            out.append(core.view(a.head[r].params, int(a.head[r].n_params)))
        return out

    def params_changed(self) -> None:
        """The cells' derived caches recomputed after a write to params()."""
        for r in ([0] if self.network.shared else [0, 1]):
            self.core.check(self.lib.rtu_cell_refresh(self.core.ffi.addressof(
                self.c.ac.trunk[r], "cell")), "params")

    def checkpoint_bytes(self) -> bytes:
        """The network as an actor-critic checkpoint (the hand-off's file): parameters,
        observation and reward statistics, steps and episodes; traces and states zero."""
        self.lib.rtu_ppo_actor_critic(self.c)
        ac = self.core.ffi.addressof(self.c, "ac")
        return _ccore.save_bytes(self.core, self.lib.rtu_ac_checkpoint_size, self.lib.rtu_ac_save,
                                 self.lib.rtu_ac_check_checkpoint, ac)

    def load_bytes(self, data: bytes, name: str = "<bytes>") -> None:
        """Resume from checkpoint_bytes (of a network of this shape and precision, read as
        ActorCritic.load_bytes reads it): the parameters, statistics, counters and config (the
        AC(lambda) hyperparameters: gamma, the entropy coefficient...); every environment starts
        an episode, and Adam starts again (zero moments) unless load_adam_bytes then restores
        its state. ValueError naming name and the fault on a bad or mismatched checkpoint
        (nothing changes)."""
        data = self._template._fitting(data, name)  # ActorCritic.load_bytes's reading
        ac = self.core.ffi.addressof(self.c, "ac")
        _ccore.load_bytes(self.core, self.lib.rtu_ac_load, self.lib.rtu_ac_check_checkpoint, ac,
                          data, checkpoint.where(name))
        n = int(self.c.n_grad)
        self.core.view(self.c.adam_m, n)[:] = 0
        self.core.view(self.c.adam_v, n)[:] = 0
        self.c.adam_steps = 0

    def adam_bytes(self) -> bytes:
        """Adam's state (its step count and moments; rtu_ckpt.h's learner type 3), which goes
        beside checkpoint_bytes of the same step so that a resumed run keeps its optimizer."""
        return _ccore.save_bytes(self.core, self.lib.rtu_ppo_adam_checkpoint_size,
                                 self.lib.rtu_ppo_save_adam,
                                 self.lib.rtu_ppo_check_adam_checkpoint, self.c)

    def load_adam_bytes(self, data: bytes, name: str = "<bytes>") -> None:
        """Restore adam_bytes of this network at its current step (after load_bytes of the
        checkpoint saved with it). ValueError naming name on a bad state, one of another network
        or of another step (nothing changes)."""
        _ccore.load_bytes(self.core, self.lib.rtu_ppo_load_adam,
                          self.lib.rtu_ppo_check_adam_checkpoint, self.c, bytes(data), name)

    @property
    def adam_steps(self) -> int:
        """Adam steps taken (the bias corrections' t)."""
        return int(self.c.adam_steps)

    def actor_critic(self, backend: str = "c") -> ActorCritic:
        """The hand-off: the same network as an ActorCritic (its config's AC(lambda)
        hyperparameters), eligibility traces and RTU states at zero, the observation and
        reward statistics carried over."""
        return ActorCritic.from_bytes(self.checkpoint_bytes(), "<PPO hand-off>", backend)


def _final_obs(obs: np.ndarray, infos: dict):
    """The observations the vector environment's steps ended on: obs, with infos["final_obs"]
    where it reset an environment in the same step; None when it reset none."""
    mask = infos.get("_final_obs")
    if mask is None or not np.any(mask):
        return None
    final = np.array(obs, dtype=np.float64)
    for i in np.flatnonzero(mask):
        final[i] = infos["final_obs"][i]
    return final


def gae(rewards: np.ndarray, values: np.ndarray, dones: np.ndarray, next_value: np.ndarray,
        gamma: float, lam: float) -> tuple:
    """Generalised advantage estimation over a rollout (T, N): returns (advantages, returns).
    dones[t] = 1 where the episode ended at step t (no bootstrap past it)."""
    T = rewards.shape[0]
    advantages = np.zeros_like(rewards)
    last = np.zeros(rewards.shape[1])
    for t in reversed(range(T)):
        nonterminal = 1.0 - dones[t]
        next_v = next_value if t == T - 1 else values[t + 1]
        delta = rewards[t] + gamma * next_v * nonterminal - values[t]
        last = delta + gamma * lam * nonterminal * last
        advantages[t] = last
    return advantages, advantages + values


def make_vector_env(task: str, n_envs: int, seed: int):
    """n_envs environments of task (rtu_edge.tasks.make_env, seeds seed, seed + 1, ...) as one
    gymnasium vector environment that resets a finished environment in the same step (its
    observation is the next episode's first), and the task's EnvSpec. cartpole-p and
    cartpole-p-long are one numpy environment (CartPolePVectorEnv: the same observations,
    rewards and ends as make_env's, step for step); the other tasks a SyncVectorEnv of make_env."""
    import gymnasium as gym
    from .tasks import make_env
    from .tasks.cartpole_vector import CartPolePVectorEnv
    from .tasks.control import LONG_POLE, _SeedFirstVectorReset
    spec = make_env(task, seed)[1]
    if task in ("cartpole-p", "cartpole-p-long"):
        envs = _SeedFirstVectorReset(CartPolePVectorEnv(
            n_envs, pole=LONG_POLE if task == "cartpole-p-long" else None), seed)
    else:
        envs = gym.vector.SyncVectorEnv(
            [lambda k=k: make_env(task, seed + k)[0] for k in range(n_envs)],
            autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    return envs, spec


def train_ppo(agent: PPO, envs, spec, steps: int, *, on_episode: Callable = None,
              on_update: Callable = None, stop: Callable = None, seed: int = 0) -> None:
    """Train agent on the vector environment envs (make_vector_env, or another of autoreset
    mode SAME_STEP: NEXT_STEP, gymnasium's default, is refused; spec its EnvSpec) until
    agent.steps reaches steps (whole rollouts). on_episode(step, return, length) for each
    finished episode; on_update(update, stats) after each update; stop() is asked between
    updates. seed seeds the minibatches' shuffles. With anneal_lr the step size falls linearly
    from learning_rate at step 0 to 0 at steps, so an agent that has taken steps already (a
    resumed run) goes on at its place in that schedule."""
    cfg, gamma = agent.ppo, agent.config.gamma
    N, T = agent.n_envs, agent.n_steps
    if envs.num_envs != N:
        raise ValueError(f"envs has {envs.num_envs} environments; the agent's n_envs is {N}")
    check_action_space(envs.single_action_space, agent.action_kind, agent.n_actions, "envs")
    resets_next_step(envs, same_step_only=True)
    batch, minibatch = N * T, N * T // cfg.n_minibatches
    updates = max(1, -(-(steps - agent.steps) // batch))
    # the run's updates from step 0, so that a resumed agent goes on with its step size
    done, total = agent.steps // batch, max(1, -(-steps // batch))
    rng = np.random.default_rng(seed)
    obs, _ = envs.reset()
    ep_return, ep_length = np.zeros(N), np.zeros(N, dtype=np.int64)
    rewards, dones = np.zeros((T, N)), np.zeros((T, N))
    values = np.zeros((T, N))
    for update in range(1, updates + 1):
        if agent.steps >= steps or (stop and stop()):
            break
        # the step size falls linearly to 0 over the run (from step 0 to steps)
        lr = cfg.learning_rate * (1.0 - (done + update - 1.0) / total) if cfg.anneal_lr \
            else cfg.learning_rate

        # rollout: T steps of every environment, the network's states and RTRL traces stored
        agent.begin_rollout()
        for t in range(T):
            actions, values[t], _ = agent.act(obs)
            env_actions = actions if spec.discrete else np.clip(actions, spec.low, spec.high)
            obs, reward, terminated, truncated, infos = envs.step(env_actions)
            final_obs = _final_obs(obs, infos) if cfg.bootstrap_truncated else None
            scaled, final_values = agent.feedback(reward, terminated, truncated, final_obs)
            # a truncated episode's return goes on past its last step: r_t + gamma v(s_{t+1})
            rewards[t] = scaled + gamma * final_values
            dones[t] = np.logical_or(terminated, truncated)
            ep_return += reward
            ep_length += 1
            for i in np.flatnonzero(dones[t]):
                if on_episode:
                    on_episode(agent.steps, float(ep_return[i]), int(ep_length[i]))
                ep_return[i], ep_length[i] = 0.0, 0

        # generalised advantage estimation (no bootstrap across an episode's end: a truncated
        # one's went into its last reward)
        next_value = agent.bootstrap(obs)
        advantages, returns = gae(rewards, values, dones, next_value, gamma, cfg.gae_lambda)

        # epochs of shuffled minibatches: one gradient (stale, or fresh traces) and one Adam step
        stats = {}
        for epoch in range(cfg.update_epochs):
            order = rng.permutation(batch)
            for start in range(0, batch, minibatch):
                mb = order[start:start + minibatch]  # indices t * N + i
                adv = advantages.reshape(-1)[mb]
                if cfg.norm_adv:
                    adv = (adv - adv.mean()) / (adv.std() + 1e-8)
                stats = agent.gradient(mb, adv, returns.reshape(-1)[mb])
                stats["grad_norm"] = agent.adam_step(lr)
            if cfg.fresh_state:  # recompute the stored states and traces (and targets)
                fresh_values = agent.refresh()
                if cfg.fresh_targets:  # (a truncated step keeps the rollout's v(s_{t+1}))
                    advantages, returns = gae(rewards, fresh_values, dones,
                                              agent.bootstrap(obs), gamma, cfg.gae_lambda)
            if cfg.target_kl > 0 and stats["approx_kl"] > cfg.target_kl:
                break
        if on_update:
            stats["learning_rate"] = lr
            on_update(update, stats)

