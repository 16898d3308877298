"""The numpy reference (float64) of the C core in c_src/.

Naming rule: a C function ``rtu_<struct>_<verb>(obj, ...)`` is the method ``<Struct>.<verb>(...)``
here, and struct fields keep their names (``rtu_cell.dc_dwc`` is ``Cell.dc_dwc``), so the two can be
read side by side: ``prng.py`` is ``rtu_prng.c``, ``cell.py`` is ``rtu_cell.c``, ``net.py`` is
``rtu_dense.c``, ``td.py``, ``ac.py`` and ``obgd.py`` are ``rtu_td.c``, ``rtu_ac.c`` and
``rtu_obgd.c``. ``config.py`` declares the
learners' hyperparameters once; c_src/rtu_config.h is generated from it. ``bptt.py`` has no C
counterpart: it is the independent check on the RTRL traces.
"""

from .bptt import bptt_gradient
from .cell import ACTIVATIONS, KINDS, Cell, cell_params, cell_reals
from .prng import Prng

__all__ = ["ACTIVATIONS", "KINDS", "Cell", "Prng", "bptt_gradient", "cell_params", "cell_reals"]
