"""The partially observable tasks in gymnasium's registry, under the namespace ``rtu_edge``:

=========================  ============================================================  ======
id                         what                                                          limit
=========================  ============================================================  ======
rtu_edge/CartPoleP-v0      CartPole-v1's environment observing [x, theta] (HiddenVelocity)   500
rtu_edge/PendulumP-v0      Pendulum-v1's observing [cos theta, sin theta]                    200
rtu_edge/MemoryChain-v0    bsuite's memory chain, ``memory_length`` (default 16)            L + 1
=========================  ============================================================  ======

``import rtu_edge`` registers them when gymnasium is installed (``register_envs``), so
``gymnasium.make("rtu_edge/CartPoleP-v0")`` and ``gymnasium.make_vec(..., num_envs=8)`` work;
``rtu_edge.tasks.make_env("cartpole-p", seed)`` builds the same environments from here. The
entries name their wrappers (``additional_wrappers``), so ``env.spec.make()`` remakes an
environment. This module imports nothing of gymnasium until ``register_envs`` runs.
"""

from __future__ import annotations

CARTPOLE_P = "rtu_edge/CartPoleP-v0"
PENDULUM_P = "rtu_edge/PendulumP-v0"
MEMORY_CHAIN = "rtu_edge/MemoryChain-v0"


def register_envs() -> None:
    """Registers the three ids in gymnasium's registry (nothing if gymnasium is not installed;
    ids already registered are left as they are)."""
    try:
        from gymnasium.envs.registration import WrapperSpec, register, registry
    except ImportError:  # the core install: no gymnasium, nothing to register
        return
    hidden = "rtu_edge.tasks.control:HiddenVelocity"
    entries = {
        CARTPOLE_P: dict(entry_point="gymnasium.envs.classic_control.cartpole:CartPoleEnv",
                         max_episode_steps=500, reward_threshold=475.0,
                         additional_wrappers=(WrapperSpec("HiddenVelocity", hidden,
                                                          {"keep": (0, 2)}),)),
        PENDULUM_P: dict(entry_point="gymnasium.envs.classic_control.pendulum:PendulumEnv",
                         max_episode_steps=200,
                         additional_wrappers=(WrapperSpec("HiddenVelocity", hidden,
                                                          {"keep": (0, 1)}),)),
        MEMORY_CHAIN: dict(entry_point="rtu_edge.tasks.memory_chain:MemoryChain",
                           kwargs={"memory_length": 16}),
    }
    for env_id, entry in entries.items():
        if env_id not in registry:
            register(id=env_id, **entry)
