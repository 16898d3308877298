"""rtu_edge: Recurrent Trace Units with exact real-time recurrent learning, for online learning on
robots and edge devices. ``RTUCell`` runs the heap-free C99 core (float32 or float64) or the numpy
reference behind one API."""

from ._ccore import RTUError
from .ac import ActorCritic
from .cell import RTUCell
from .reference.config import ACConfig, ACNetwork, TDConfig
from .td import TDLambda

__version__ = "0.1.0"
__all__ = ["ACConfig", "ACNetwork", "ActorCritic", "RTUCell", "RTUError", "TDConfig", "TDLambda",
           "__version__"]
