"""The optional packages of rtu_edge and the extra that installs each (pyproject.toml).

The core (cells, learners, checkpoints, ``rtu-edge validate``, the C-header export and the
prediction tasks) needs numpy and cffi only. Everything else is imported where it is used, through
``require``, so that a missing package raises ``MissingExtra`` naming the extra to install;
``rtu-edge`` prints it as one line and exits 2.
"""

from __future__ import annotations

import sys
from types import ModuleType

#: top-level module -> the extra of pyproject.toml that installs it
EXTRAS = {"gymnasium": "train", "matplotlib": "train", "tqdm": "train", "joblib": "train",
          "scipy": "train", "tomli": "train", "onnx": "onnx", "onnxruntime": "onnx",
          "popgym": "popgym", "mujoco": "mujoco", "ray": "ray", "tensorboardX": "tensorboard"}


class MissingExtra(ModuleNotFoundError):
    """An optional package is not installed; ``extra`` is the one that installs it."""

    def __init__(self, module: str, user: str):
        self.package = module.partition(".")[0]
        self.extra = EXTRAS[self.package]
        super().__init__(self.message(user), name=self.package)

    def message(self, user: str) -> str:
        """The error as "<user> needs <package>; install it with: pip install ..."."""
        return (f"{user} needs {self.package}; install it with: "
                f"pip install 'rtu_edge[{self.extra}]'")


def require(module: str, user: str) -> ModuleType:
    """Import module (an optional package, or one of its submodules) and return it; if its
    package is not installed raise MissingExtra, whose message starts with user (what needs it,
    e.g. "the ONNX export"). An installed package that fails to import for another reason (one of
    its own dependencies missing) raises its own ImportError unchanged."""
    package = module.partition(".")[0]
    if package not in EXTRAS:
        raise ValueError(f"module: {module!r} is not an optional package of rtu_edge")
    try:
        __import__(module)  # the builtin, not importlib: tests stand in for a missing package
    except ImportError as err:
        if err.name is not None and err.name.partition(".")[0] != package:
            raise
        raise MissingExtra(module, user) from err
    return sys.modules[module]
