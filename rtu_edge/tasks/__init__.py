"""Tasks for online learners.

- Prediction: the classical-conditioning benchmarks of Rafiee et al. (2022), trace conditioning and
  trace patterning, with their return and error metric (``trace_conditioning``; numpy only).
- Partially observable control (``control``; needs gymnasium, from ``rtu_edge[train]``, imported
  on first use): CartPole and Pendulum with velocities hidden, and ``make_env`` for those, any
  gymnasium id, and POPGym memory tasks (``"popgym:<Name>"``, from ``rtu_edge[popgym]``), with
  flattened float observations and an ``EnvSpec``.
- ``memory_chain``: bsuite's memory chain, ``make_env("memory-chain-<L>", seed)`` (gymnasium).
- ``mujoco_p``: Hopper, HalfCheetah, Walker2d and Ant observing positions only
  (``make_env("hopper-p", seed)``, ...; needs ``rtu_edge[mujoco]``).
- ``suite``: how each task is scored and its threshold (``task_info(name)``).
"""

from .trace_conditioning import (TraceConditioning, TracePatterning, discounted_returns, msre,
                                 rollout)

_CONTROL = ("HiddenVelocity", "make_cartpole_p", "make_pendulum_p", "FlattenObservation",
            "DiscreteActions", "FlattenBoxAction", "EnvSpec", "env_spec", "make_env")

__all__ = ["TraceConditioning", "TracePatterning", "rollout", "discounted_returns", "msre",
           *_CONTROL]


def __getattr__(name):
    # The control tasks import gymnasium; load them only when one of their names is asked for, so
    # that the prediction tasks stay numpy-only.
    if name in _CONTROL:
        from . import control
        return getattr(control, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_CONTROL))
