"""MuJoCo locomotion with velocities hidden: Hopper-P, HalfCheetah-P, Walker2d-P, Ant-P.

gymnasium's v5 environments (optional extra ``rtu_edge[mujoco]``: gymnasium's ``mujoco``
bindings) observing positions only. A v5 observation is, in order, ``qpos`` without the first
``skipped_qpos`` entries (the torso's x, and y for Ant: the policy must not depend on where the
robot is), then ``qvel``, then (Ant only, by default) the 78 clipped contact forces ``cfrc_ext``;
the environment reports the sizes in ``env.unwrapped.observation_structure``. The ``-p`` tasks
keep exactly the ``qpos`` part, the first ``observation_structure["qpos"]`` entries:

==============  =================  ===========  =====================================
task            environment        observation  kept (positions)
==============  =================  ===========  =====================================
hopper-p        Hopper-v5          11           5: torso z and angle, 3 joint angles
halfcheetah-p   HalfCheetah-v5     17           8: torso z and angle, 6 joint angles
walker2d-p      Walker2d-v5        17           8: torso z and angle, 6 joint angles
ant-p           Ant-v5             105          13: torso z, orientation quaternion,
                                                8 joint angles
==============  =================  ===========  =====================================

Everything else is the v5 environment's: continuous actions in [-1, 1] (3, 6, 6 and 8
dimensions), rewards, termination (Hopper, Walker2d and Ant when unhealthy; HalfCheetah never)
and truncation after 1000 steps. Score: the mean return of the last 20 episodes; threshold:
none (report only: no published score exists for these position-only variants with a streaming
learner).
"""

from __future__ import annotations

from typing import Any

from .._extras import require

gym = require("gymnasium", "rtu_edge.tasks.mujoco_p")

__all__ = ["MUJOCO_P", "make_mujoco_p"]

#: task name -> the gymnasium id whose observation loses its velocities
MUJOCO_P = {"hopper-p": "Hopper-v5", "halfcheetah-p": "HalfCheetah-v5",
            "walker2d-p": "Walker2d-v5", "ant-p": "Ant-v5"}


def make_mujoco_p(task: str, **kwargs: Any) -> gym.Env:
    """The gymnasium id ``MUJOCO_P[task]`` (kwargs to ``gymnasium.make``) wrapped in
    ``HiddenVelocity`` keeping the ``qpos`` entries of its observation. MissingExtra (naming
    ``rtu_edge[mujoco]``) when the mujoco package is not installed; ValueError for another task."""
    if task not in MUJOCO_P:
        raise ValueError(f"task must be one of {sorted(MUJOCO_P)}, got {task!r}")
    require("mujoco", f"task {task!r}")
    from .control import HiddenVelocity
    env = gym.make(MUJOCO_P[task], **kwargs)
    return HiddenVelocity(env, keep=range(env.unwrapped.observation_structure["qpos"]))
