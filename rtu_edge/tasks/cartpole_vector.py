"""CartPole-P as one numpy vector environment: ``CartPolePVectorEnv(num_envs)``.

B copies of ``make_env("cartpole-p", seed)`` advanced in one call, with no Python loop over the
environments: what PPO's rollouts step (``rtu_edge.ppo.make_vector_env``). Each environment is the
one gymnasium's ``CartPoleEnv`` simulates (its constants are read from a ``CartPoleEnv``, its
equations are the same operations in the same order, on arrays), observed as ``make_env`` observes
it: ``[x, theta]`` rounded to float32, as float64. So a ``SyncVectorEnv`` of ``make_env`` and this
environment, seeded alike and given the same actions, return the same observations, rewards,
terminations and truncations (tests/test_cartpole_vector.py checks it step by step).

Autoreset is gymnasium's ``SAME_STEP``: an environment that terminates (|x| > 2.4, |theta| > 12
degrees) or is truncated (``max_episode_steps``, 500 as CartPole-v1) starts its next episode in the
same step, and the observation returned is the new episode's first; the last one is in
``infos["final_obs"]`` (where ``infos["_final_obs"]``). Seeding as ``SyncVectorEnv``: ``reset(seed=s)``
seeds environment k with ``s + k`` (or a list of seeds), and each environment draws its first states
from its own generator, as ``CartPoleEnv.reset`` does.

gymnasium's own ``CartPoleVectorEnv`` observes the full state and resets on the next step, which
stores a step that is not a transition in every rollout; hence this one.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.envs.classic_control.cartpole import CartPoleEnv
from gymnasium.utils import seeding

from .control import set_pole

__all__ = ["CartPolePVectorEnv"]

#: the entries of CartPoleEnv's state [x, x_dot, theta, theta_dot] that CartPole-P observes
OBSERVED = (0, 2)
#: CartPoleEnv.reset's uniform range of each state entry
RESET_BOUND = 0.05


class CartPolePVectorEnv(gym.vector.VectorEnv):
    """``num_envs`` CartPole-P environments stepped together (see the module docstring).

    - observations: float64, shape ``(num_envs, 2)``, ``[x, theta]`` of each environment;
    - actions: integers 0 (push left) or 1 (push right), shape ``(num_envs,)``;
    - rewards: 1.0 per step, float64 ``(num_envs,)``; terminations and truncations: bool
      ``(num_envs,)``.

    ``pole=(half_length, mass)`` replaces CartPoleEnv's pole (0.5 m, 0.1 kg), as
    ``make_env("cartpole-p-long", ...)`` does with ``LONG_POLE``. Raises ValueError naming
    ``num_envs``, ``max_episode_steps``, ``pole``, ``actions`` or ``seed`` when one is invalid.
    """

    metadata = {"render_modes": [], "autoreset_mode": gym.vector.AutoresetMode.SAME_STEP}

    def __init__(self, num_envs: int = 1, max_episode_steps: int = 500,
                 pole: Optional[Tuple[float, float]] = None):
        for name, value in (("num_envs", num_envs), ("max_episode_steps", max_episode_steps)):
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
                    or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        plant = CartPoleEnv()
        if pole is not None:
            try:
                length, mass = (float(v) for v in pole)
            except (TypeError, ValueError):
                length = mass = float("nan")
            if not (np.isfinite(length) and np.isfinite(mass) and length > 0 and mass > 0):
                raise ValueError(f"pole must be (half_length, mass), both finite and > 0, "
                                 f"got {pole!r}")
            set_pole(plant, length, mass)
        self.plant = plant  #: the CartPoleEnv whose constants every environment uses
        self.num_envs = int(num_envs)
        self.max_episode_steps = int(max_episode_steps)
        full = plant.observation_space
        index = np.array(OBSERVED)
        self.single_observation_space = spaces.Box(full.low[index].astype(np.float64),
                                                   full.high[index].astype(np.float64),
                                                   dtype=np.float64)
        self.single_action_space = spaces.Discrete(2)
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space,
                                                              self.num_envs)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space,
                                                         self.num_envs)
        self.state = np.zeros((4, self.num_envs))     # rows x, x_dot, theta, theta_dot
        self.elapsed = np.zeros(self.num_envs, dtype=np.int64)
        self._obs32 = np.zeros((self.num_envs, len(OBSERVED)), dtype=np.float32)
        self._rngs = [None] * self.num_envs
        self._started = False

    def _observe(self, envs=slice(None)) -> np.ndarray:
        """[x, theta] of the environments envs, rounded to float32, as a new float64 array."""
        obs = self._obs32[envs]
        for column, row in enumerate(OBSERVED):
            obs[:, column] = self.state[row, envs]
        return obs.astype(np.float64)

    def _start(self, k: int) -> None:
        """Environment k's next episode: CartPoleEnv.reset's draw from its own generator."""
        if self._rngs[k] is None:
            self._rngs[k], _ = seeding.np_random(None)
        self.state[:, k] = self._rngs[k].uniform(low=-RESET_BOUND, high=RESET_BOUND, size=(4,))
        self.elapsed[k] = 0

    def reset(self, *, seed: Union[int, Sequence[int], None] = None, options=None):
        """Starts every environment's episode. ``seed``: None (go on with each environment's
        generator), an int s (environment k seeded with s + k) or one seed per environment."""
        if seed is not None:
            def whole(s):
                return not isinstance(s, (bool, np.bool_)) and isinstance(s, (int, np.integer)) \
                    and s >= 0
            if whole(seed):
                seeds = [int(seed) + k for k in range(self.num_envs)]
            elif isinstance(seed, (list, tuple, np.ndarray)) and len(seed) == self.num_envs \
                    and all(whole(s) for s in seed):
                seeds = list(seed)
            else:
                raise ValueError(f"seed must be None, an integer >= 0 or {self.num_envs} of them, "
                                 f"got {seed!r}")
            self._rngs = [seeding.np_random(int(s))[0] for s in seeds]
        for k in range(self.num_envs):
            self._start(k)
        self._started = True
        return self._observe(), {}

    def step(self, actions):
        if not self._started:
            raise gym.error.ResetNeeded("CartPolePVectorEnv: call reset() before step()")
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,) or not np.all((actions == 0) | (actions == 1)):
            raise ValueError(f"actions must be {self.num_envs} values, each 0 or 1, got "
                             f"{actions!r}")
        p = self.plant
        x, x_dot, theta, theta_dot = self.state  # views: the state is updated in place
        # CartPoleEnv.step's equations, operation for operation, on all environments at once
        force = np.where(actions == 1, p.force_mag, -p.force_mag)
        costheta = np.cos(theta)
        sintheta = np.sin(theta)
        temp = (force + p.polemass_length * np.square(theta_dot) * sintheta) / p.total_mass
        thetaacc = (p.gravity * sintheta - costheta * temp) / (
            p.length * (4.0 / 3.0 - p.masspole * np.square(costheta) / p.total_mass))
        xacc = temp - p.polemass_length * thetaacc * costheta / p.total_mass
        if p.kinematics_integrator == "euler":
            x += p.tau * x_dot
            x_dot += p.tau * xacc
            theta += p.tau * theta_dot
            theta_dot += p.tau * thetaacc
        else:  # semi-implicit euler
            x_dot += p.tau * xacc
            x += p.tau * x_dot
            theta_dot += p.tau * thetaacc
            theta += p.tau * theta_dot
        # x < -x_threshold or x > x_threshold, and the same of theta (NaN: neither)
        terminated = (np.abs(x) > p.x_threshold) | (np.abs(theta) > p.theta_threshold_radians)
        self.elapsed += 1
        truncated = self.elapsed >= self.max_episode_steps
        rewards = np.ones(self.num_envs)
        infos = {}
        done = (terminated | truncated).nonzero()[0]
        if done.size:
            final = np.full(self.num_envs, None, dtype=object)
            last = self._observe(done)
            for j, k in enumerate(done):
                final[k] = last[j]
                self._start(k)
            mask = np.zeros(self.num_envs, dtype=bool)
            mask[done] = True
            infos = {"final_obs": final, "_final_obs": mask}
        return self._observe(), rewards, terminated, truncated, infos
