"""The learners' configurations, ``rtu_td_config`` and ``rtu_ac_config`` as dataclasses: the one
place where a hyperparameter is declared, with its default, its rule and its help text.

Everything else is derived from these fields by name: the C structs are filled from them (a field
``lambda_`` is the C member ``lambda``; an enum field is stored as its index), checkpoints store and
restore them, ``rtu-edge train`` makes a flag of each (``--kappa-policy``), and a run's config.json
records them. The rules are the C core's (``rtu_td_check_config``, ``rtu_ac_check_config``);
``check`` is their numpy mirror for the reference learners. Values are converted here (a number to
float, a flag to bool) and a value of the wrong type is refused naming the field; a value out of
range is refused by the learner that must check it anyway (the C core, or the reference's check).

Adding a hyperparameter: a field here, the member of the C struct (same name, same order) and its
use in the algorithm (C and reference).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field

OPTIMIZERS = ("sgd", "obgd")


def real(default: float, low: float, high: float, *, low_open: bool, help: str,
         obgd_only: bool = False):
    """A real hyperparameter in [low, high] (open at low if low_open; always finite)."""
    return field(default=default, metadata={"range": (low, high, low_open), "help": help,
                                            "obgd_only": obgd_only})


def flag(default: bool, help: str):
    return field(default=default, metadata={"help": help})


def choice(default: str, choices: tuple, help: str):
    return field(default=default, metadata={"choices": choices, "help": help})


def c_name(name: str) -> str:
    """The C struct member of a field (``lambda_`` is ``lambda``)."""
    return name.rstrip("_")


class LearnerConfig:
    """What TDConfig and ACConfig share: conversion on construction, the rules, the fields."""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if "choices" in f.metadata:
                if value not in f.metadata["choices"]:
                    raise ValueError(f"{f.name} must be one of {f.metadata['choices']}, "
                                     f"got {value!r}")
            elif "range" in f.metadata:
                if isinstance(value, bool) or not isinstance(value, numbers.Real):
                    raise ValueError(f"{f.name} must be a number, got {value!r}")
                object.__setattr__(self, f.name, float(value))
            else:
                if not isinstance(value, (bool, numbers.Integral)) or value not in (0, 1):
                    raise ValueError(f"{f.name} must be a bool, got {value!r}")
                object.__setattr__(self, f.name, bool(value))

    @classmethod
    def rule(cls, name: str) -> str:
        """The rule of a field in words (for messages and help)."""
        f = {f.name: f for f in dataclasses.fields(cls)}[name]
        if "choices" in f.metadata:
            return "one of " + ", ".join(f.metadata["choices"])
        if "range" not in f.metadata:
            return "true or false"
        low, high, low_open = f.metadata["range"]
        text = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if math.isinf(high) else ']'}"
        return text + (" (obgd only)" if f.metadata["obgd_only"] else "")

    def check(self) -> None:
        """The C core's rtu_*_check_config in numpy: ValueError naming the first faulty field."""
        for f in dataclasses.fields(self):
            if "range" not in f.metadata or (f.metadata["obgd_only"] and self.optimizer != "obgd"):
                continue
            low, high, low_open = f.metadata["range"]
            value = getattr(self, f.name)
            if not (low < value if low_open else low <= value) or not value <= high \
                    or not math.isfinite(value):
                raise ValueError(f"{f.name} must lie {self.rule(f.name)}, got {value!r}")


@dataclass(frozen=True)
class TDConfig(LearnerConfig):
    """rtu_td_config: TD(lambda) prediction (rtu-spec.md section 3)."""

    gamma: float = real(0.9, 0.0, 1.0, low_open=False, help="discount")
    lambda_: float = real(0.9, 0.0, 1.0, low_open=False, help="trace decay")
    alpha: float = real(1.0, 0.0, math.inf, low_open=True, help="step size")
    kappa: float = real(2.0, 0.0, math.inf, low_open=True, obgd_only=True,
                        help="ObGD bound of the eligibility trace")
    optimizer: str = choice("obgd", OPTIMIZERS, help="obgd (overshooting-bounded) or sgd")


@dataclass(frozen=True)
class ACConfig(LearnerConfig):
    """rtu_ac_config: the streaming actor-critic, with the stream-x defaults."""

    gamma: float = real(0.99, 0.0, 1.0, low_open=False, help="discount")
    lambda_: float = real(0.8, 0.0, 1.0, low_open=False, help="trace decay")
    alpha: float = real(1.0, 0.0, math.inf, low_open=True, help="step size")
    kappa_value: float = real(2.0, 0.0, math.inf, low_open=True, obgd_only=True,
                              help="ObGD bound of the critic's trace")
    kappa_policy: float = real(3.0, 0.0, math.inf, low_open=True, obgd_only=True,
                               help="ObGD bound of the actor's trace")
    entropy_coef: float = real(0.01, 0.0, math.inf, low_open=False,
                               help="entropy bonus c_H, signed by the TD error")
    optimizer: str = choice("obgd", OPTIMIZERS, help="obgd (overshooting-bounded) or sgd")
    normalize_obs: bool = flag(True, help="running mean/variance of each observation entry")
    scale_reward: bool = flag(True, help="divide rewards by the running std of the return")
