"""rtu_edge: Recurrent Trace Units with exact real-time recurrent learning, for online learning on
robots and edge devices. ``RTUCell`` runs the heap-free C99 core (float32 or float64) or the numpy
reference behind one API."""

from ._ccore import RTUError, c_build
from .ac import ActorCritic
from .batch import ActorCriticBatch, TDLambdaBatch
from .cell import RTUCell
from .ppo import PPO
from .reference.config import ACConfig, ACNetwork, PPOConfig, TDConfig
from .td import TDLambda
from .tasks.registry import register_envs

register_envs()  # rtu_edge/CartPoleP-v0, PendulumP-v0, MemoryChain-v0, when gymnasium is there

__version__ = "0.1.0"
__all__ = ["ACConfig", "ACNetwork", "ActorCritic", "ActorCriticBatch", "PPO", "PPOConfig",
           "RTUCell", "RTUError", "TDConfig", "TDLambda", "TDLambdaBatch", "__version__",
           "c_build"]
