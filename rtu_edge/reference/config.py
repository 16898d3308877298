"""The learners' configurations, ``rtu_td_config`` and ``rtu_ac_config`` as dataclasses: the one
place where a hyperparameter is declared, with its default, its rule and its help text.

Everything else is derived from these fields by name: the C structs are filled from them (a field
``lambda_`` is the C member ``lambda``; an enum field is stored as its index), checkpoints store and
restore them, ``rtu-edge train`` makes a flag of each (``--kappa-policy``), and a run's config.json
records them. The rules are the C core's (``rtu_td_check_config``, ``rtu_ac_check_config``);
``check`` is their numpy mirror for the reference learners. Values are converted here (a number to
float, a flag to bool) and a value of the wrong type is refused naming the field; a value out of
range is refused by the learner that must check it anyway (the C core, or the reference's check).

The C side is generated from these classes: ``python c_src/make_config.py`` writes
c_src/rtu_config.h, X-macro lists of each config's reals (name, default, rule) and flags, from
which the C structs, their defaults (rtu_td_default_config, rtu_ac_default_config), their checks
and the checkpoint codec are built. Adding a hyperparameter: a field here, the header written
again, and its use in the algorithm (C and reference).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field

from .cell import MAX_BATCH, check_size, size_rule

OPTIMIZERS = ("sgd", "obgd")

#: how the actor-critic's input holds the previous reward (ACNetwork.prev_reward; the C core's
#: rtu_reward_input, RTU_REWARD_<NAME>, its index): not at all; normalised by running statistics
#: of its own (the raw reward with normalize_obs off); its sign, -1, 0 or 1; its sign less the
#: running mean of the signs (mean zero, 0 where every reward has one sign); its sign once the
#: signs have varied, 0 while every reward so far has had one sign (gated_sign)
REWARD_INPUTS = ("none", "normalized", "sign", "centered_sign", "gated_sign")

#: the rules a real hyperparameter can obey (the C core's rtu_rule): (low, high, low open)
RULES = {"unit": (0.0, 1.0, False), "positive": (0.0, math.inf, True),
         "nonnegative": (0.0, math.inf, False)}


def real(default: float, rule: str, *, help: str, obgd_only: bool = False):
    """A real hyperparameter obeying rule (a key of RULES; always finite); obgd_only: the rule
    applies with the ObGD optimizer only (SGD does not use the value)."""
    return field(default=default, metadata={"rule": rule, "help": help, "obgd_only": obgd_only})


def flag(default: bool, help: str):
    return field(default=default, metadata={"help": help})


def choice(default: str, choices: tuple, help: str):
    return field(default=default, metadata={"choices": choices, "help": help})


def size(default: int, help: str, low: int = 0, high: int = None):
    """A size: an integer >= low, and <= high if given (else the C core checks its upper
    bound)."""
    return field(default=default, metadata={"size": (low, high), "help": help})


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
            elif "size" in f.metadata:
                object.__setattr__(self, f.name, check_size(f.name, value, *f.metadata["size"]))
            elif "rule" in f.metadata:
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
        if "size" in f.metadata:
            return size_rule(*f.metadata["size"])
        if "rule" not in f.metadata:
            return "true or false"
        low, high, low_open = RULES[f.metadata["rule"]]
        text = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if math.isinf(high) else ']'}"
        return text + (" (obgd only)" if f.metadata["obgd_only"] else "")

    @classmethod
    def c_lists(cls) -> tuple:
        """The fields of rtu_config.h's lists, in their order: (reals, flags) of
        RTU_<L>_CONFIG_REALS and RTU_<L>_CONFIG_FLAGS (the optimizer is neither)."""
        fields = dataclasses.fields(cls)
        return ([f for f in fields if "rule" in f.metadata],
                [f for f in fields if "rule" not in f.metadata and "choices" not in f.metadata])

    def check(self) -> None:
        """The C core's rtu_*_check_config in numpy: ValueError naming the first faulty field."""
        for f in dataclasses.fields(self):
            if "rule" not in f.metadata or (f.metadata["obgd_only"] and self.optimizer != "obgd"):
                continue
            low, high, low_open = RULES[f.metadata["rule"]]
            value = getattr(self, f.name)
            if not (low < value if low_open else low <= value) or not value <= high \
                    or not math.isfinite(value):
                raise ValueError(f"{f.name} must lie {self.rule(f.name)}, got {value!r}")


@dataclass(frozen=True)
class TDConfig(LearnerConfig):
    """rtu_td_config: TD(lambda) prediction (rtu-spec.md section 3)."""

    gamma: float = real(0.9, "unit", help="discount")
    lambda_: float = real(0.9, "unit", help="trace decay")
    alpha: float = real(1.0, "positive", help="step size")
    kappa: float = real(2.0, "positive", obgd_only=True,
                        help="ObGD bound of the eligibility trace")
    optimizer: str = choice("obgd", OPTIMIZERS, help="obgd (overshooting-bounded) or sgd")


@dataclass(frozen=True)
class ACConfig(LearnerConfig):
    """rtu_ac_config: the streaming actor-critic, with the stream-x defaults."""

    gamma: float = real(0.99, "unit", help="discount")
    lambda_: float = real(0.8, "unit", help="trace decay")
    alpha: float = real(1.0, "positive", help="step size")
    kappa_value: float = real(2.0, "positive", obgd_only=True,
                              help="ObGD bound of the critic's trace")
    kappa_policy: float = real(3.0, "positive", obgd_only=True,
                               help="ObGD bound of the actor's trace")
    entropy_coef: float = real(0.01, "nonnegative",
                               help="entropy bonus c_H, signed by the TD error")
    sparsity: float = real(0.9, "unit",
                           help="fraction of each Dense unit's initial weights set to zero")
    std_min: float = real(0.01, "positive", help="lower bound of a continuous actor's std")
    std_max: float = real(2.0, "positive",
                          help="upper bound of a continuous actor's std (above std_min)")
    phase_step_scale: float = real(0.03, "unit",
                                   help="factor on the step of each RTU's phases (theta_log) "
                                        "beside every other parameter's in the streaming "
                                        "update (PPO's Adam does not use it): 1 the same step, "
                                        "0 phases fixed at their initial values; 0.03 holds a "
                                        "long memory once learned")
    optimizer: str = choice("obgd", OPTIMIZERS, help="obgd (overshooting-bounded) or sgd")
    normalize_obs: bool = flag(True, help="running mean/variance of each observation entry")
    scale_reward: bool = flag(True, help="divide rewards by the running std of the return")

    def check(self) -> None:
        super().check()
        if not self.std_min < self.std_max:
            raise ValueError(f"std_max must exceed std_min ({self.std_min!r}), got "
                             f"{self.std_max!r}")


@dataclass(frozen=True)
class ACNetwork(LearnerConfig):
    """The actor-critic's network around its RTU (rtu_ac_shape beside n_hidden, kind and
    activation; rtu-spec.md section 6). Sizes are checked by the C core (rtu_ac_check_shape)."""

    n_embed: int = size(0, help="input layer units (Dense + LayerNorm + leaky ReLU); 0: none")
    n_head: int = size(64, help="hidden units of each head (Dense + LayerNorm + leaky ReLU); "
                                "0: linear heads on the RTU's features")
    shared: bool = flag(False, help="actor and critic share the input layer and the RTU")
    prev_action: bool = flag(False, help="the network's input holds the previous action")
    prev_reward: str = choice("gated_sign", REWARD_INPUTS, help="how the network's input holds the "
                              "previous reward: none; normalized, by running statistics of its "
                              "own (raw with normalize_obs off); sign, -1, 0 or 1; centered_sign, "
                              "the sign less the running mean of the signs; gated_sign, the "
                              "sign once two rewards' signs have differed, 0 before")
    memoryless: bool = flag(False, help="the baseline without memory: the RTU's state is zeroed "
                                        "before every step (with prev_action or prev_reward, "
                                        "the past's last step is still an input)")

    @property
    def reward_input(self) -> int:
        """prev_reward as rtu_ac_shape holds it (rtu_reward_input): its index in REWARD_INPUTS,
        0 when the input holds no previous reward."""
        return REWARD_INPUTS.index(self.prev_reward)


@dataclass(frozen=True)
class PPOConfig(LearnerConfig):
    """PPO with RTRL (c_src/rtu_ppo.h; rtu_edge.ppo): the rollout, the update and Adam. The
    network, its initialisation, its normalisations, the discount gamma and the entropy
    coefficient are the actor-critic's (ACConfig, ACNetwork): one network, handed off to the
    streaming learner as it is. CleanRL's PPO defaults (classic control) where it has one."""

    n_envs: int = size(16, help="environments stepped together (a rollout's width)", low=1,
                       high=MAX_BATCH)
    n_steps: int = size(128, help="steps of each environment per rollout", low=1,
                        high=MAX_BATCH)
    learning_rate: float = real(2.5e-4, "positive", help="Adam's step size")
    anneal_lr: bool = flag(True, help="the step size falls linearly to 0 over the run")
    gae_lambda: float = real(0.95, "unit", help="lambda of generalised advantage estimation")
    n_minibatches: int = size(4, help="minibatches of each epoch (dividing n_envs x n_steps)",
                              low=1)
    update_epochs: int = size(4, help="passes over each rollout", low=1)
    norm_adv: bool = flag(True, help="advantages normalised within each minibatch")
    clip_coef: float = real(0.2, "positive", help="clip of the probability ratio (and of the "
                                                  "value with clip_vloss)")
    clip_vloss: bool = flag(True, help="the value loss clipped around the rollout's values")
    vf_coef: float = real(0.5, "nonnegative", help="weight of the value loss")
    max_grad_norm: float = real(0.5, "nonnegative",
                                help="global norm the gradient is clipped to; 0: no clipping")
    adam_beta1: float = real(0.9, "unit", help="Adam's first-moment decay (below 1)")
    adam_beta2: float = real(0.999, "unit", help="Adam's second-moment decay (below 1)")
    adam_eps: float = real(1e-5, "positive", help="Adam's epsilon")
    bootstrap_truncated: bool = flag(True, help="a truncated episode's return continues "
                                                 "with the value of the observation it ended "
                                                 "on (r + gamma v(s')); off: ended there, as "
                                                 "CleanRL's PPO ends it")
    target_kl: float = real(0.0, "nonnegative",
                            help="an update stops its epochs once the approximate KL exceeds "
                                 "it; 0: never")
    fresh_state: bool = flag(False, help="recompute the stored RTU states and RTRL traces with "
                                         "the new parameters after every epoch (the paper's "
                                         "stale_gradient off); off: the rollout's (stale)")
    fresh_targets: bool = flag(False, help="recompute the values and GAE targets too after "
                                           "every epoch (needs fresh_state)")

    def check(self) -> None:
        super().check()
        batch = self.n_envs * self.n_steps
        if batch % self.n_minibatches:
            raise ValueError(f"n_minibatches must divide the batch n_envs x n_steps = {batch}, "
                             f"got {self.n_minibatches}")
        for name in ("adam_beta1", "adam_beta2"):
            if not getattr(self, name) < 1:
                raise ValueError(f"{name} must be below 1, got {getattr(self, name)!r}")
        if self.fresh_targets and not self.fresh_state:
            raise ValueError("fresh_targets needs fresh_state (the values are recomputed with "
                             "the states)")


#: the ACNetwork fields of the memoryless baseline: no memory (its input holds the previous action
#: and reward only if asked, as any network's: ACNetwork's defaults leave them out)
MEMORYLESS = {"memoryless": True}


def memoryless_fields(fields: dict, who: str) -> dict:
    """ACNetwork fields with MEMORYLESS's values; ValueError naming a field of fields that asks
    otherwise (who: what is memoryless, for the message)."""
    for key, value in MEMORYLESS.items():
        if key in fields and fields[key] != value:
            raise ValueError(f"{key} must be {value} for {who}, got {fields[key]!r}")
    return {**fields, **MEMORYLESS}


# -- the C side: c_src/rtu_config.h ----------------------------------------------------------------

C_RULES = {"unit": "RTU_RULE_UNIT", "positive": "RTU_RULE_POSITIVE",
           "nonnegative": "RTU_RULE_NONNEGATIVE"}


def c_header() -> str:
    """The text of c_src/rtu_config.h, generated from TDConfig, ACConfig and ACNetwork."""
    out = ["/*",
           " * GENERATED from rtu_edge/reference/config.py (TDConfig, ACConfig, ACNetwork) by",
           " * `python c_src/make_config.py`. Do not edit; a test checks",
           " * that it is current.",
           " *",
           " * The learners' hyperparameters, declared once, as X-macro lists in the order of the",
           " * config structs (rtu_td_config, rtu_ac_config) and of their checkpoint payloads:",
           " *   RTU_<L>_CONFIG_REALS(X): X(name, default, rule, obgd_only) for each real;",
           " *     rule: RTU_RULE_UNIT [0, 1], RTU_RULE_POSITIVE (0, inf), RTU_RULE_NONNEGATIVE",
           " *     [0, inf), always finite; obgd_only: the rule applies with ObGD only",
           " *   RTU_<L>_CONFIG_FLAGS(X): X(name, default) for each flag (0 or 1)",
           " *   RTU_<L>_CONFIG_OPTIMIZER: the default optimizer",
           " *   RTU_<L>_CONFIG_REAL_COUNT, RTU_<L>_CONFIG_FLAG_COUNT",
           " * the optimizers (OPTIMIZERS) as rtu_optimizer, the previous reward's inputs",
           " * (REWARD_INPUTS) as rtu_reward_input, and the default network of the actor-critic",
           " * (ACNetwork) as RTU_AC_DEFAULT_<FIELD>.",
           " */",
           "#ifndef RTU_CONFIG_H", "#define RTU_CONFIG_H", "",
           "typedef enum { RTU_RULE_UNIT = 0, RTU_RULE_POSITIVE = 1, RTU_RULE_NONNEGATIVE = 2 }"
           " rtu_rule;", "",
           "/* sgd: params += alpha delta z; obgd: overshooting-bounded, alpha_eff = alpha /",
           " * max(alpha kappa max(|delta|, 1) |z|_1, 1) */",
           "typedef enum { " + ", ".join(f"RTU_OPT_{name.upper()} = {i}"
                                         for i, name in enumerate(OPTIMIZERS)) + " } rtu_optimizer;",
           "",
           "/* rtu_ac_shape's prev_reward, how the input x holds the previous reward (ACNetwork's",
           " * prev_reward): not; normalised by running statistics of its own (raw with",
           " * normalize_obs off); its sign; its sign less the running mean of the signs; its",
           " * sign once the signs have varied, 0 before */",
           "typedef enum {"] + [f"    RTU_REWARD_{name.upper()} = {i}{',' * (i + 1 < len(REWARD_INPUTS))}"
                                for i, name in enumerate(REWARD_INPUTS)] + [
           "} rtu_reward_input;",
           "/* their names, in rtu_reward_input's order (ACNetwork.prev_reward's values) */",
           "#define RTU_REWARD_INPUT_NAMES {" + ", ".join(f'"{name}"' for name in REWARD_INPUTS)
           + "}", ""]
    for prefix, cls in (("RTU_TD", TDConfig), ("RTU_AC", ACConfig)):
        fields = dataclasses.fields(cls)
        reals, flags = cls.c_lists()
        out.append(f"/* {cls.__name__}: {cls.__doc__.splitlines()[0]} */")
        for kind, group, fmt in (
                ("REALS", reals, lambda f: f"X({c_name(f.name)}, {float(f.default)!r}, "
                                           f"{C_RULES[f.metadata['rule']]}, "
                                           f"{int(f.metadata['obgd_only'])})"),
                ("FLAGS", flags, lambda f: f"X({c_name(f.name)}, {int(f.default)})")):
            lines = [f"    {fmt(f):<48} /* {f.metadata['help']} */" for f in group]
            out.append(f"#define {prefix}_CONFIG_{kind}(X)" + "".join(" \\\n" + line
                                                                  for line in lines))
            out.append(f"#define {prefix}_CONFIG_{kind[:-1]}_COUNT {len(group)}u")
        optimizer = next(f for f in fields if f.name == "optimizer")
        out.append(f"#define {prefix}_CONFIG_OPTIMIZER RTU_OPT_{optimizer.default.upper()}")
        out.append("")
    out.append("/* ACNetwork: the default network of a fresh actor-critic (rtu_ac_shape's fields) */")
    for f in dataclasses.fields(ACNetwork):
        value = (f"RTU_REWARD_{f.default.upper()}" if f.name == "prev_reward"
                 else f"{int(f.default)}{'u' * (f.type == 'int')}")
        line = f"#define RTU_AC_DEFAULT_{f.name.upper()} {value}"
        out.append(f"{line:<52} /* {f.metadata['help']} */")
    out += ["", "#endif /* RTU_CONFIG_H */", ""]
    return "\n".join(out)
