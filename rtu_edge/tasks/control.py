"""Partially observable control tasks (rtu-spec section 4) as gymnasium environments.

Two hidden-velocity tasks, in which the learner sees positions only and must build the velocities
from its memory:

- **cartpole-p**: gymnasium's ``CartPole-v1`` observing ``[x, theta]`` (cart position, pole angle);
  the cart velocity and the pole's angular velocity are hidden.
- **pendulum-p**: gymnasium's ``Pendulum-v1`` observing ``[cos(theta), sin(theta)]``; the angular
  velocity is hidden.

Everything else is the underlying task's, unchanged: dynamics, actions, reward (CartPole +1 per
step; Pendulum -(theta^2 + 0.1 theta_dot^2 + 0.001 u^2)), termination (CartPole: |x| > 2.4 or
|theta| > 12 degrees) and truncation (``TimeLimit``: 500 steps for CartPole-v1, 200 for
Pendulum-v1).

``make_env(task, seed)`` builds any of these, any registered gymnasium id with a Discrete, Box or
MultiDiscrete action space, or a POPGym memory task (``"popgym:<Name>"``, optional package
``popgym``), behind one convention for a learner:

- **Observations** are 1-D ``float64`` vectors of length ``EnvSpec.obs_size``, flattened by
  ``FlattenObservation`` (see there: Box entries as they are, Discrete and MultiDiscrete values
  one-hot, Tuple and Dict parts concatenated).
- **Actions**: discrete tasks take an integer ``a`` in ``0 .. n_actions - 1``; continuous tasks take
  a float vector of shape ``(action_dim,)`` within ``[low, high]`` (the environment clips or not as
  the underlying task does; Pendulum clips to [-2, 2]).
- **Seeding**: gymnasium's convention, ``reset(seed=...)``. ``make_env(task, seed)`` stores
  ``seed``: the first ``reset()`` called without a seed is ``reset(seed=seed)``, and later resets
  continue that random stream; the action space is seeded with ``seed`` too, so
  ``env.action_space.sample()`` is reproducible. The same (task, seed) and the same actions give
  the same observations, rewards and episode ends.

Steps follow gymnasium: ``obs, info = env.reset()``, then ``obs, reward, terminated, truncated,
info = env.step(action)``. ``terminated`` marks a true end (bootstrap with 0); ``truncated`` a
time limit (the state still has a value).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Tuple

import numpy as np

from .._extras import require

# rtu_edge[train]; rtu_edge.tasks imports this module on first use of one of its names
gym = require("gymnasium", "rtu_edge.tasks.control")
from . import memory_chain, mujoco_p, registry  # noqa: E402 (they need gymnasium too)
spaces = gym.spaces

__all__ = ["HiddenVelocity", "make_cartpole_p", "make_pendulum_p", "FlattenObservation",
           "DiscreteActions", "FlattenBoxAction", "EnvSpec", "env_spec", "make_env",
           "POPGYM_PREFIX"]

POPGYM_PREFIX = "popgym:"   #: ``make_env("popgym:RepeatPreviousEasy", seed)`` builds a POPGym task

_ACCEPTED = ('"cartpole-p", "cartpole-p-long", "pendulum-p", "memory-chain-<L>", "hopper-p", "halfcheetah-p", '
             '"walker2d-p", "ant-p", a registered gymnasium id such as "CartPole-v1", '
             '"Pendulum-v1" or "MountainCarContinuous-v0", or "popgym:<Name>" such as '
             '"popgym:RepeatPreviousEasy"')


# --------------------------------------------------------------------------- hidden velocity

class HiddenVelocity(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """CartPole or Pendulum with the velocities removed from the observation.

    ``HiddenVelocity(env)`` keeps only the entries ``keep`` of the wrapped environment's
    observation (a 1-D Box). By default ``keep`` is chosen from the unwrapped environment's class:

    =================  ==========================================  =========  ===================
    environment        full observation                            keep       observation
    =================  ==========================================  =========  ===================
    CartPole (v0, v1)  [x, x_dot, theta, theta_dot]                (0, 2)     [x, theta]
    Pendulum (v1)      [cos(theta), sin(theta), theta_dot]         (0, 1)     [cos, sin]
    =================  ==========================================  =========  ===================

    with x the cart position (m, positive to the right), theta the pole angle (rad, 0 upright,
    positive clockwise) for CartPole, and theta the pendulum angle (rad, 0 upright) for Pendulum.
    The observation has shape ``(len(keep),)`` = ``(2,)`` and the wrapped environment's dtype
    (float32 for both), and its space is the wrapped Box restricted to ``keep`` (same bounds).
    Rewards, termination, truncation, actions, ``info`` and seeding (``reset(seed=...)``) are the
    wrapped environment's, untouched. For another environment pass ``keep`` explicitly.
    """

    KEEP = {"CartPoleEnv": (0, 2), "PendulumEnv": (0, 1)}   #: default ``keep`` by env class

    def __init__(self, env: gym.Env, keep: Optional[Tuple[int, ...]] = None):
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, spaces.Box) or len(space.shape) != 1:
            raise ValueError(f"env: HiddenVelocity needs a 1-D Box observation space, got {space}")
        if keep is None:
            name = type(env.unwrapped).__name__
            if name not in self.KEEP:
                raise ValueError(f"env: no default entries to keep for {name}; "
                                 f"known: {sorted(self.KEEP)}; pass keep=(...)")
            keep = self.KEEP[name]
        keep = tuple(int(i) for i in keep)
        if not keep or any(not 0 <= i < space.shape[0] for i in keep):
            raise ValueError(f"keep must be indices in 0..{space.shape[0] - 1}, got {keep!r}")
        gym.utils.RecordConstructorArgs.__init__(self, keep=keep)  # env.spec can remake it
        self.keep = keep
        self._index = np.array(keep, dtype=np.intp)
        self.observation_space = spaces.Box(space.low[self._index], space.high[self._index],
                                            dtype=space.dtype)

    def observation(self, observation):
        return np.asarray(observation)[self._index]


def make_cartpole_p(**kwargs: Any) -> gym.Env:
    """CartPole-v1 with velocities hidden: observation ``[x, theta]``, float32, shape (2,).

    ``gym.make("rtu_edge/CartPoleP-v0", **kwargs)`` (registry.py: CartPole-v1's environment and
    time limit, wrapped in ``HiddenVelocity``): actions Discrete(2) (0 pushes the cart left, 1
    right), reward +1 per step, terminated when |x| > 2.4 or |theta| > 12 degrees, truncated
    after 500 steps. Seed with ``env.reset(seed=...)``.
    """
    return gym.make(registry.CARTPOLE_P, **kwargs)


#: cartpole-p-long's pole: half-length (m) and mass (kg), CartPole-v1's 0.5 and 0.1
LONG_POLE = (2.0, 1.0)


def set_pole(plant, half_length: float, mass: float) -> None:
    """Give a gymnasium CartPoleEnv (plant) another pole: its half-length (m) and mass (kg), and
    the constants CartPoleEnv derives from them."""
    plant.length, plant.masspole = half_length, mass
    plant.total_mass = plant.masspole + plant.masscart
    plant.polemass_length = plant.masspole * plant.length


def make_cartpole_p_long(**kwargs: Any) -> gym.Env:
    """CartPole-P with a pole four times as long and ten times as heavy (``LONG_POLE``): the
    dynamics shift of the hand-off experiment (a robot whose real plant differs from the
    simulation it was trained in). Observation, actions, rewards and limits as cartpole-p."""
    env = make_cartpole_p(**kwargs)
    set_pole(env.unwrapped, *LONG_POLE)
    return env


def make_pendulum_p(**kwargs: Any) -> gym.Env:
    """Pendulum-v1 with velocity hidden: observation ``[cos(theta), sin(theta)]``, float32, (2,).

    ``gym.make("rtu_edge/PendulumP-v0", **kwargs)`` (registry.py: Pendulum-v1's environment and
    time limit, wrapped in ``HiddenVelocity``): action a torque, Box [-2, 2] of shape (1,), reward
    -(theta^2 + 0.1 theta_dot^2 + 0.001 u^2) (theta normalised to [-pi, pi)), never terminated,
    truncated after 200 steps. Seed with ``env.reset(seed=...)``.
    """
    return gym.make(registry.PENDULUM_P, **kwargs)


# --------------------------------------------------------------------------- adapters

class FlattenObservation(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Flattens any observation to a 1-D float vector (``gymnasium.spaces.flatten``, then a cast).

    Layout of the vector, by observation space (recursively, parts concatenated in order):

    - ``Box(shape)``: its entries in C order (``obs.ravel()``), ``prod(shape)`` entries.
    - ``Discrete(n, start=s)``: one-hot, ``n`` entries, a 1 at ``obs - s``.
    - ``MultiDiscrete(nvec, start=s)``: one one-hot block per component (C order over ``nvec``),
      block i has ``nvec[i]`` entries with a 1 at ``obs[i] - s[i]``; ``sum(nvec)`` entries.
    - ``MultiBinary(n)``: the 0/1 bits, ``prod(n)`` entries.
    - ``Tuple``: the flattened parts in tuple order; ``Dict``: in the order of the space's keys.

    So POPGym's ``RepeatPrevious`` (``Discrete(4)``) gives a 4-vector one-hot of the card's suit,
    ``CountRecall`` (``MultiDiscrete([k, k])``) two one-hot blocks of k, and ``Autoencode``
    (``Tuple(Discrete(2), Discrete(4))``) 2 + 4 entries. The observation space becomes a Box of
    shape ``(obs_size,)`` and ``dtype`` (float64 by default) with the flattened bounds. Spaces
    that do not flatten to a fixed-size vector (Text, Graph, Sequence, OneOf) raise ValueError.
    """

    def __init__(self, env: gym.Env, dtype=np.float64):
        gym.utils.RecordConstructorArgs.__init__(self, dtype=dtype)
        super().__init__(env)
        self._inner_space = env.observation_space
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise ValueError(f"dtype must be a floating type, got {dtype}")
        try:
            flat = spaces.flatten_space(self._inner_space)
        except (NotImplementedError, TypeError, ValueError) as exc:
            raise ValueError(f"env: observation space {self._inner_space} cannot be flattened "
                             f"to a fixed-size vector ({exc})") from exc
        if not isinstance(flat, spaces.Box) or len(flat.shape) != 1:
            raise ValueError(f"env: observation space {self._inner_space} does not flatten to "
                             f"a fixed-size vector")
        self.dtype = dtype
        self.observation_space = spaces.Box(flat.low.astype(dtype), flat.high.astype(dtype),
                                            shape=flat.shape, dtype=dtype)

    def observation(self, observation):
        return np.asarray(spaces.flatten(self._inner_space, observation), dtype=self.dtype)


class DiscreteActions(gym.ActionWrapper, gym.utils.RecordConstructorArgs):
    """Presents a Discrete (any ``start``) or MultiDiscrete action space as ``Discrete(n)``.

    The learner picks an integer ``a`` in ``0 .. n - 1``. For ``Discrete(n, start=s)`` the wrapped
    environment receives ``a + s``. For ``MultiDiscrete(nvec, start=s)``, ``n = prod(nvec)`` and
    ``a`` is a mixed-radix index, last component fastest (``numpy.unravel_index(a, nvec)``): the
    wrapped environment receives that index array plus ``s``. POPGym's Battleship
    (``MultiDiscrete([8, 8])``) thus becomes Discrete(64) with ``a = 8 * row + column``.
    """

    def __init__(self, env: gym.Env):
        gym.utils.RecordConstructorArgs.__init__(self)
        super().__init__(env)
        space = env.action_space
        if isinstance(space, spaces.Discrete):
            self._nvec = None
            self._start = int(space.start)
            n = int(space.n)
        elif isinstance(space, spaces.MultiDiscrete):
            self._nvec = np.asarray(space.nvec)
            self._start = np.asarray(getattr(space, "start", 0), dtype=space.dtype)
            self._dtype = space.dtype
            n = int(np.prod(self._nvec))
        else:
            raise ValueError(f"env: DiscreteActions needs a Discrete or MultiDiscrete action "
                             f"space, got {space}")
        self.action_space = spaces.Discrete(n)

    def action(self, action):
        a = int(action)
        if not 0 <= a < self.action_space.n:
            raise ValueError(f"action must be an integer in 0..{self.action_space.n - 1}, "
                             f"got {action!r}")
        if self._nvec is None:
            return a + self._start
        idx = np.array(np.unravel_index(a, self._nvec), dtype=self._dtype)
        return idx + self._start


class FlattenBoxAction(gym.ActionWrapper, gym.utils.RecordConstructorArgs):
    """Presents a Box action space of any shape as a 1-D Box of ``prod(shape)`` entries (C order);
    the action is reshaped back before it reaches the wrapped environment."""

    def __init__(self, env: gym.Env):
        gym.utils.RecordConstructorArgs.__init__(self)
        super().__init__(env)
        space = env.action_space
        if not isinstance(space, spaces.Box):
            raise ValueError(f"env: FlattenBoxAction needs a Box action space, got {space}")
        self._shape = space.shape
        self.action_space = spaces.Box(space.low.ravel(), space.high.ravel(), dtype=space.dtype)

    def action(self, action):
        return np.reshape(np.asarray(action, dtype=self.action_space.dtype), self._shape)


class _FirstResetSeeded:
    """A wrapper's reset: the first ``reset()`` without a seed is ``reset(seed=_pending_seed)``."""

    _pending_seed: Optional[int] = None

    def reset(self, *, seed: Optional[int] = None, options=None):
        if seed is None:
            seed = self._pending_seed
        self._pending_seed = None
        return self.env.reset(seed=seed, options=options)


class _SeedFirstReset(_FirstResetSeeded, gym.Wrapper, gym.utils.RecordConstructorArgs):
    """The first ``reset()`` without a seed is ``reset(seed=seed)``; the action and observation
    spaces are seeded with ``seed`` at construction."""

    def __init__(self, env: gym.Env, seed: int):
        gym.utils.RecordConstructorArgs.__init__(self, seed=seed)
        super().__init__(env)
        self._pending_seed = seed
        self.action_space.seed(seed)
        self.observation_space.seed(seed)


class _SeedFirstVectorReset(_FirstResetSeeded, gym.vector.VectorWrapper):
    """``_SeedFirstReset`` for a vector environment: its first ``reset()`` without a seed is
    ``reset(seed=seed)`` (environment k seeded with seed + k, as ``SyncVectorEnv`` seeds)."""

    def __init__(self, env: gym.vector.VectorEnv, seed: int):
        super().__init__(env)
        self._pending_seed = seed


@dataclass(frozen=True, eq=False)
class EnvSpec:
    """What a learner needs to know about an environment made by ``make_env``.

    - ``task``: the name given to ``make_env``.
    - ``obs_size``: length of the (1-D, float64) observation vector.
    - ``action_kind``: ``"discrete"`` or ``"continuous"``.
    - ``n_actions``: discrete only, actions are the integers ``0 .. n_actions - 1``; else None.
    - ``action_dim``: continuous only, actions have shape ``(action_dim,)``; else None.
    - ``low``, ``high``: continuous only, float64 arrays of shape ``(action_dim,)`` (entries may
      be +-inf for unbounded actions); else None.
    - ``max_episode_steps``: the time limit (truncation) if the environment's gymnasium
      registration has one (500 for CartPole-v1 and cartpole-p, 200 for Pendulum-v1 and
      pendulum-p), else None (POPGym tasks end their episodes themselves).
    - ``discrete`` (property): ``action_kind == "discrete"``.
    """

    task: str
    obs_size: int
    action_kind: str
    n_actions: Optional[int] = None
    action_dim: Optional[int] = None
    low: Optional[np.ndarray] = None
    high: Optional[np.ndarray] = None
    max_episode_steps: Optional[int] = None

    @property
    def discrete(self) -> bool:
        return self.action_kind == "discrete"


def env_spec(env: gym.Env, task: str = "") -> EnvSpec:
    """The ``EnvSpec`` of an environment whose observation space is a 1-D Box and whose action
    space is ``Discrete`` with start 0 or a 1-D ``Box`` (what ``make_env`` returns)."""
    obs = env.observation_space
    if not isinstance(obs, spaces.Box) or len(obs.shape) != 1:
        raise ValueError(f"env: observation space must be a 1-D Box, got {obs}")
    act = env.action_space
    steps = env.spec.max_episode_steps if env.spec is not None else None
    if isinstance(act, spaces.Discrete) and int(act.start) == 0:
        return EnvSpec(task, int(obs.shape[0]), "discrete", n_actions=int(act.n),
                       max_episode_steps=steps)
    if isinstance(act, spaces.Box) and len(act.shape) == 1:
        low = np.array(act.low, dtype=np.float64)
        high = np.array(act.high, dtype=np.float64)
        low.flags.writeable = high.flags.writeable = False
        return EnvSpec(task, int(obs.shape[0]), "continuous", action_dim=int(act.shape[0]),
                       low=low, high=high, max_episode_steps=steps)
    raise ValueError(f"env: action space must be Discrete(n) or a 1-D Box, got {act}")


def _make_popgym(task: str, name: str) -> gym.Env:
    popgym_envs = require("popgym.envs", f"task {task!r}")
    classes = {cls.__name__: cls for cls in {**popgym_envs.ALL_BASE, **popgym_envs.ALL}}
    if name not in classes:
        raise ValueError(f"task {task!r}: unknown POPGym environment {name!r}; available: "
                         f"{', '.join(sorted(classes))}")
    env = classes[name]()
    # popgym's own registry entries disable gymnasium's order enforcement; keep it.
    return gym.wrappers.OrderEnforcing(env)


def make_env(task: str, seed: int) -> Tuple[gym.Env, EnvSpec]:
    """Builds a task for an online learner: ``env, spec = make_env(task, seed)``.

    ``task`` is one of:

    - ``"cartpole-p"``: CartPole-v1 observing [x, theta] (``make_cartpole_p``), obs_size 2,
      Discrete(2).
    - ``"cartpole-p-long"``: cartpole-p with a pole 4x as long and 10x as heavy
      (``make_cartpole_p_long``), the hand-off experiment's unseen dynamics.
    - ``"pendulum-p"``: Pendulum-v1 observing [cos(theta), sin(theta)] (``make_pendulum_p``),
      obs_size 2, continuous torque of dimension 1 in [-2, 2].
    - a registered gymnasium id, e.g. ``"CartPole-v1"``, ``"Pendulum-v1"``,
      ``"MountainCarContinuous-v0"`` (``gymnasium.make(task)``, with its default time limit).
    - ``"memory-chain-<L>"``: bsuite's memory chain with memory length L >= 1
      (``memory_chain.MemoryChain``), obs_size 3, Discrete(2).
    - ``"hopper-p"``, ``"halfcheetah-p"``, ``"walker2d-p"``, ``"ant-p"``: gymnasium's MuJoCo v5
      tasks observing positions only (``mujoco_p``; needs ``pip install rtu_edge[mujoco]``).
    - ``"popgym:<Name>"``, a POPGym environment class by name, e.g. ``"popgym:RepeatPreviousEasy"``,
      ``"popgym:CountRecallMedium"``, ``"popgym:Autoencode"`` (needs ``pip install
      rtu_edge[popgym]``).

    The returned ``env`` is a ``gymnasium.Env`` whose observations are float64 vectors of shape
    ``(spec.obs_size,)`` (``FlattenObservation``: Discrete / MultiDiscrete observations one-hot,
    Tuple / Dict concatenated) and whose action space is ``Discrete(spec.n_actions)`` (a
    MultiDiscrete or offset Discrete action space is re-indexed by ``DiscreteActions``) or a
    1-D ``Box`` of shape ``(spec.action_dim,)`` with bounds ``spec.low``, ``spec.high``
    (``FlattenBoxAction`` for a Box of more dimensions). ``seed`` (an int >= 0) seeds the first
    ``reset()`` and the action space; see the module docstring.

    Raises ValueError naming ``task`` for an unknown task, a bad seed, a gymnasium id whose
    environment gymnasium cannot make (a dependency missing), or an environment whose action
    space is neither Discrete, MultiDiscrete nor Box; MissingExtra (a ModuleNotFoundError)
    for ``"popgym:..."`` when popgym is not installed, or a MuJoCo task without mujoco.
    """
    if not isinstance(task, str):
        raise ValueError(f"task must be a string: {_ACCEPTED}; got {task!r}")
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    seed = int(seed)

    if task == "cartpole-p":
        env = make_cartpole_p()
    elif task == "cartpole-p-long":
        env = make_cartpole_p_long()
    elif task == "pendulum-p":
        env = make_pendulum_p()
    elif task.startswith(memory_chain.PREFIX):
        env = gym.make(registry.MEMORY_CHAIN, memory_length=memory_chain.memory_length(task))
    elif task in mujoco_p.MUJOCO_P:
        env = mujoco_p.make_mujoco_p(task)
    elif task.startswith(POPGYM_PREFIX):
        env = _make_popgym(task, task[len(POPGYM_PREFIX):])
    else:
        try:
            gym.spec(task)
        except gym.error.Error as exc:
            raise ValueError(f"task {task!r} is not a known task; accepted: {_ACCEPTED} "
                             f"({exc})") from exc
        try:
            env = gym.make(task)
        except gym.error.Error as exc:  # e.g. DependencyNotInstalled (Box2D, ALE...)
            raise ValueError(f"task {task!r}: {exc}") from exc

    act = env.action_space
    if isinstance(act, spaces.MultiDiscrete) or (isinstance(act, spaces.Discrete)
                                                 and int(act.start) != 0):
        env = DiscreteActions(env)
    elif isinstance(act, spaces.Box) and len(act.shape) != 1:
        env = FlattenBoxAction(env)
    elif not isinstance(act, (spaces.Discrete, spaces.Box)):
        env.close()
        raise ValueError(f"task {task!r}: action space {act} is not supported (Discrete, "
                         f"MultiDiscrete or Box)")
    try:
        env = FlattenObservation(env)
    except ValueError as exc:
        env.close()
        raise ValueError(f"task {task!r}: {exc}") from exc
    env = _SeedFirstReset(env, seed)
    return env, env_spec(env, task)
