"""A mutation fuzzer over the checkpoint loaders (issue 16: nothing broken gets in).

Valid checkpoints of small learners (TD(lambda) and the actor-critic, every cell kind, discrete and
continuous actions, float32 and float64, some taken mid-episode, some at an episode's start) are
mutated (bit flips, bytes set, reals set to boundary values: 0, -0, +-Inf, NaN, the largest
finite, tiny, huge, a negative variance...; integers set to boundaries: 0, 2^32 - 1, 2^64 - 1...;
reals scaled; truncation and extension) and their CRC recomputed, so that the content checks are
reached. Each mutated file goes to

- the C loader (rtu_td_load / rtu_ac_load, the build of the file's precision, through cffi),
- the Python loader of the reference backend (float64 files), and
- tests/ckpt_codec.py's independent decoder,

and must be either refused by all three (a ValueError naming the file; the refused learner
unchanged: its checkpoint bytes are the same before and after) or accepted by all three and then
pass a 3-step check on the C and the reference learner alike: three act/learn steps (TD: three
steps) on seeded benign inputs give finite actions (values, predictions) and no error (a numpy
warning of the reference's counts as one), and the learner then saves a checkpoint that loads
again.

A file whose learner reports divergence on one of the three steps (FloatingPointError: a state,
trace or parameter left RTU_VALUE_LIMIT, as it does in training) is counted apart too, with its
reason: its content is within every bound a learner that has not diverged keeps (e.g. a state of
1e14 whose phase trace passes 1e15 within two steps), so no loader can tell it from a learner one
step from diverging, and the learner says so with a clear error. Everything else
that goes wrong after a load is a failure: a non-finite or out-of-range output returned as if
valid, a save refused after steps that returned, any other error.

A file that loads and fails only with its mutated config (the same file with the source's
config put back passes) is counted apart: a config is checked as a learner's init checks it, and
init accepts configs whose learner diverges (SGD, whose step nothing bounds, an ObGD bound
kappa of 1e-30, an entropy coefficient of 1e18); that is not a loader's to refuse.

The sources are ObGD learners (the default optimizer). The test suite runs a few thousand cases
(tests/test_fuzz_checkpoints.py); the long run is

    PYTHONPATH=. python tests/ckpt_fuzz.py --cases 200000 [--seed S] [--no-reference]

which prints what it found (and exits 1 if any file loads and then fails, or if the loaders
disagree), with the files that failed written to --out DIR if given.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import re
import struct
import sys
import time
import warnings
import zlib
from typing import Callable, List, Optional

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ckpt_codec as ck  # noqa: E402
from rtu_edge import ActorCritic, TDLambda  # noqa: E402

HEADER = ck.HEADER_BYTES


@dataclasses.dataclass
class Source:
    """A valid checkpoint and the learners it goes into (C of its precision; the reference for
    float64)."""

    name: str
    data: bytes
    make: Callable  # make(backend, dtype) -> a learner of this shape
    dtype: np.dtype
    reals_at: List[int]  # the byte offset of every real of the payload
    ints_at: List[tuple]  # (offset, bytes) of every integer field, header and payload
    names: dict  # byte offset of a real -> its name ("z_v[3]", "gamma")

    @property
    def precision(self) -> int:
        return self.dtype.itemsize

    @property
    def learner(self) -> str:
        return "td" if struct.unpack_from("<I", self.data, 12)[0] == ck.LEARNER_TD else "ac"

    @property
    def expect(self) -> dict:
        """What ckpt_codec's decoder must find for the checkpoint to go into the learners."""
        if self.learner == "td":
            c = ck.decode(self.data)
            return {"precision": c.precision, "kind": c.kind, "activation": c.activation,
                    "n_in": c.n_in, "n_hidden": c.n_hidden}
        c = ck.decode_ac(self.data)
        return {"precision": c.precision, "kind": c.kind, "activation": c.activation,
                "n_in": c.n_obs, "n_hidden": c.n_hidden, "action_kind": c.action_kind,
                "n_actions": c.n_actions, **dataclasses.asdict(c.network)}


def _td_maker(kind, activation, **cfg):
    def make(backend, dtype, seed=3):
        return TDLambda(3, 4, kind=kind, activation=activation, seed=seed, backend=backend,
                        dtype=dtype, **cfg)
    return make


def _ac_maker(kind, action_kind, **net):
    n_actions = 3 if action_kind == "discrete" else 2

    def make(backend, dtype, seed=3):
        return ActorCritic(3, 4, n_actions, action_kind=action_kind, kind=kind, seed=seed,
                           backend=backend, dtype=dtype, **net)
    return make


#: the learners whose checkpoints are mutated: (name, maker, steps to train, end on an episode
#: boundary)
SHAPES = [
    ("td-linear-relu", _td_maker("linear", "relu"), 20, False),
    ("td-nonlinear-tanh", _td_maker("nonlinear", "tanh"), 20, False),
    ("td-lru-identity", _td_maker("lru", "identity"), 20, False),
    ("td-linear-reset", _td_maker("linear", "tanh"), 20, True),
    ("ac-discrete-full", _ac_maker("nonlinear", "discrete", n_embed=4, n_head=4, prev_action=True,
                                   prev_reward="normalized"), 30, False),
    ("ac-continuous-full", _ac_maker("linear", "continuous", n_embed=4, n_head=4,
                                     prev_action=True, prev_reward="normalized"), 30, False),
    ("ac-continuous-plain", _ac_maker("lru", "continuous", n_embed=0, n_head=0), 30, False),
    ("ac-discrete-shared", _ac_maker("linear", "discrete", n_embed=4, n_head=4, shared=True,
                                     prev_reward="normalized"), 30, True),
    ("ac-continuous-memoryless", _ac_maker("nonlinear", "continuous", n_head=4,
                                           memoryless=True), 30, False),
    ("ac-discrete-raw", _ac_maker("linear", "discrete", n_head=0, normalize_obs=False,
                                  scale_reward=False), 30, False),
]


def train(learner, steps: int, boundary: bool, rng: np.random.Generator) -> None:
    """steps of benign inputs; with boundary, the last one ends an episode (TD: a reset)."""
    if isinstance(learner, TDLambda):
        for _ in range(steps):
            learner.step(rng.normal(size=learner.n_in), float(rng.normal()))
        if boundary:
            learner.reset()
        return
    obs = rng.normal(size=learner.n_in)
    for t in range(steps):
        learner.act(obs)
        obs = rng.normal(size=learner.n_in)
        end = boundary and t == steps - 1
        learner.learn(float(rng.normal()), obs, end, t % 11 == 10)


def _layout(data: bytes, precision: int) -> tuple:
    """The byte offsets of every real and every integer field of a checkpoint."""
    learner = struct.unpack_from("<I", data, 12)[0]
    ints = [(8, 4), (12, 4), (16, 4), (20, 4), (24, 4), (28, 4), (32, 4), (36, 4), (40, 8),
            (48, 8)] + [(56 + 4 * i, 4) for i in range(8)]
    end = len(data) - 4
    if learner == ck.LEARNER_TD:
        reals = [HEADER + precision * i for i in range(6)]
        ints.append((HEADER + 6 * precision, 4))
        reals += list(range(HEADER + 6 * precision + 4, end, precision))
    else:
        ints += [(HEADER + 4 * i, 4) for i in range(4)] + [(HEADER + 16 + 8 * i, 8)
                                                          for i in range(5)]
        # the arrays, then reward_count (u64), reward_mean, reward_m2
        stats = end - len(ck.AC_REWARD_STATS) * precision
        count = stats - ck.AC_REWARD_COUNT.size
        reals = list(range(HEADER + ck.AC_FIXED.size, count, precision))
        ints.append((count, ck.AC_REWARD_COUNT.size))
        reals += list(range(stats, end, precision))
    return reals, ints


def _names(data: bytes, reals_at: list) -> dict:
    """The name of every real of a checkpoint, by its byte offset."""
    if struct.unpack_from("<I", data, 12)[0] == ck.LEARNER_TD:
        c = ck.decode(data)
        names = ["gamma", "lambda", "alpha", "kappa", "v_prev", "z_norm1"]
        sizes = ck.td_array_sizes(c.kind, c.n_in, c.n_hidden)
    else:
        c = ck.decode_ac(data)
        names = list(ck.AC_CONFIG_REALS + ck.AC_STATS)
        sizes = c.sizes()
    for name, size in sizes.items():
        names += [f"{name}[{i}]" for i in range(size)]
    if struct.unpack_from("<I", data, 12)[0] != ck.LEARNER_TD:
        names += list(ck.AC_REWARD_STATS)
    return dict(zip(reals_at, names))


def sources(seed: int = 0, dtypes=(np.float64, np.float32)) -> List[Source]:
    out = []
    for name, make, steps, boundary in SHAPES:
        for dtype in dtypes:
            dtype = np.dtype(dtype)
            learner = make("c", dtype)
            train(learner, steps, boundary, np.random.default_rng(seed))
            data = learner.checkpoint_bytes()
            reals, ints = _layout(data, dtype.itemsize)
            out.append(Source(f"{name}-{dtype.name}", data, make, dtype, reals, ints,
                              _names(data, reals)))
    return out


# -- mutations ------------------------------------------------------------------------------------

def _boundary_reals(precision: int) -> list:
    big = float(np.finfo(np.float32 if precision == 4 else np.float64).max)
    tiny = float(np.finfo(np.float32 if precision == 4 else np.float64).smallest_subnormal)
    return [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, math.inf, -math.inf, math.nan, big, -big, tiny,
            -tiny, 1e-30, 1e6, -1e6, 1.0000001e6, 1e10, -1e10, 1e20, 1e30, -1e30, 3e38, -3e38,
            1e100, 1e300, 20.0, -20.0, 21.0, -21.0, 1e-8, 4.0, 100.0, -100.0]


BOUNDARY_INTS = [0, 1, 2, 3, 4, 7, 255, 2**16, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**53,
                 2**53 + 1, 2**63, 2**64 - 2, 2**64 - 1]


def _put_real(b: bytearray, at: int, value: float, precision: int) -> None:
    with np.errstate(over="ignore"):
        raw = np.array([value], dtype="<f4" if precision == 4 else "<f8").tobytes()
    b[at:at + precision] = raw


def _get_real(b: bytearray, at: int, precision: int) -> float:
    return float(np.frombuffer(bytes(b[at:at + precision]),
                               dtype="<f4" if precision == 4 else "<f8")[0])


def mutate(src: Source, rng: np.random.Generator) -> tuple:
    """A mutated copy of src.data with its CRC recomputed, and a description of the mutations."""
    b = bytearray(src.data)
    p = src.precision
    what = []
    for _ in range(1 + int(rng.integers(0, 3)) if rng.random() < 0.5 else 1):
        u = rng.random()
        if len(b) < len(src.data) and u < 0.95:
            continue  # truncated already: the offsets no longer hold
        if u < 0.2:  # a bit flip, mostly in the payload
            at = int(rng.integers(HEADER if rng.random() < 0.85 else 0, len(b) - 4))
            bit = int(rng.integers(0, 8))
            b[at] ^= 1 << bit
            what.append(f"flip byte {at} bit {bit}")
        elif u < 0.3:  # a byte set
            at = int(rng.integers(0, len(b) - 4))
            b[at] = int(rng.integers(0, 256))
            what.append(f"byte {at} = {b[at]}")
        elif u < 0.65:  # a real set to a boundary value
            at = src.reals_at[int(rng.integers(0, len(src.reals_at)))]
            values = _boundary_reals(p)
            v = values[int(rng.integers(0, len(values)))]
            _put_real(b, at, v, p)
            what.append(f"{src.names[at]} = {v!r}")
        elif u < 0.8:  # a real scaled (a plausible value of another size or sign)
            at = src.reals_at[int(rng.integers(0, len(src.reals_at)))]
            factor = float(rng.choice([-1.0, 10.0, -10.0, 1e3, 1e6, 1e10, 1e20, 1e-10]))
            with np.errstate(over="ignore"):
                _put_real(b, at, _get_real(b, at, p) * factor, p)
            what.append(f"{src.names[at]} *= {factor!r}")
        elif u < 0.95:  # an integer field set to a boundary value
            at, size = src.ints_at[int(rng.integers(0, len(src.ints_at)))]
            v = int(rng.choice(BOUNDARY_INTS)) % (1 << (8 * size))
            if rng.random() < 0.3:  # or near its value
                v = (int.from_bytes(b[at:at + size], "little") + int(rng.integers(-3, 4))) \
                    % (1 << (8 * size))
            b[at:at + size] = v.to_bytes(size, "little")
            what.append(f"u{8 * size} at {at} = {v}")
        else:  # truncated or extended (then resealed at its new end)
            if rng.random() < 0.5:
                n = int(rng.integers(4, len(b)))
                b = b[:n]
                what.append(f"truncated to {n}")
            else:
                n = int(rng.integers(1, 64))
                b = b[:-4] + bytearray(rng.integers(0, 256, n, dtype=np.uint8).tobytes()) \
                    + b[-4:]
                what.append(f"extended by {n}")
    if len(b) >= 4:
        b[-4:] = struct.pack("<I", zlib.crc32(bytes(b[:-4])))
    return bytes(b), "; ".join(what)


# -- the check of one file -------------------------------------------------------------------------

class Failure(Exception):
    """A file that loaded and then failed, or loaders that disagree."""


class Diverged(Exception):
    """A learner that reported divergence (FloatingPointError) on one of the three steps."""


def _finite(name, v):
    if not np.all(np.isfinite(np.asarray(v, dtype=np.float64))):
        raise Failure(f"{name} is not finite: {v!r}")


def three_steps(learner, rng: np.random.Generator) -> None:
    """The 3-step check: act/learn (TD: step) three times on benign inputs, every output finite,
    then save and load again. Raises Diverged if a step reports divergence, else Failure on any
    fault."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # numpy's overflow warnings of the reference too
            if isinstance(learner, TDLambda):
                for _ in range(3):
                    _finite("prediction", learner.step(rng.normal(size=learner.n_in),
                                                       float(rng.normal())))
            else:
                obs = learner.expected_obs
                if obs is None:
                    obs = rng.normal(size=learner.n_in)
                for _ in range(3):
                    a = learner.act(obs)
                    if learner.action_kind == "discrete":
                        if not 0 <= a < learner.n_actions:
                            raise Failure(f"action {a} out of range")
                    else:
                        _finite("action", a)
                    obs = rng.normal(size=learner.n_in)
                    learner.learn(float(rng.normal()), obs, False, False)
                    _finite("value", learner.value())
            data = learner.checkpoint_bytes()
            learner.load_bytes(data, "<re-saved>")
    except Failure:
        raise
    except FloatingPointError as err:  # the learner's own report that a step diverged
        raise Diverged(str(err)) from None
    except Exception as err:  # an error status, a refused save, a numpy warning
        raise Failure(f"{type(err).__name__}: {err}") from None


@dataclasses.dataclass
class Outcome:
    refused: int = 0
    ran: int = 0
    failures: list = dataclasses.field(default_factory=list)
    reasons: dict = dataclasses.field(default_factory=dict)
    config: int = 0  # loaded and failed only with their mutated config (_config_fails)
    config_reasons: dict = dataclasses.field(default_factory=dict)
    diverged: int = 0  # loaded and reported divergence on a step (Diverged)
    diverged_cases: list = dataclasses.field(default_factory=list)  # (case, source, mutation)


class Fuzzer:
    """Runs cases over sources; reference: also the reference backend (float64 files)."""

    def __init__(self, seed: int = 0, reference: bool = True, dtypes=(np.float64, np.float32)):
        self.sources = sources(seed, dtypes)
        self.reference = reference
        self.targets = {}
        for s in self.sources:
            backends = ["c"] + (["reference"] if reference and s.precision == 8 else [])
            self.targets[s.name] = {b: s.make(b, s.dtype, seed=9) for b in backends}
        self.outcome = {b: Outcome() for b in ("c", "reference")}

    def case(self, i: int, rng: np.random.Generator) -> None:
        src = self.sources[i % len(self.sources)]
        data, what = mutate(src, rng)
        verdicts = {}
        for backend, target in self.targets[src.name].items():
            verdicts[backend] = self._one(backend, target, src, data, what, i)
        try:
            if src.learner == "td":
                ck.decode(data, "<fuzzed>", expect=src.expect)
            else:
                ck.decode_ac(data, "<fuzzed>", expect=src.expect)
            verdicts["codec"] = "accepted"
        except ValueError:
            verdicts["codec"] = "refused"
        if len(set(verdicts.values())) > 1:
            self.outcome["c"].failures.append(
                (i, src.name, what, f"the loaders disagree: {verdicts}", data))

    def _one(self, backend, target, src, data, what, i) -> str:
        out = self.outcome[backend]
        before = target.checkpoint_bytes()
        try:
            target.load_bytes(data, "<fuzzed>")
        except ValueError as err:
            out.refused += 1
            reason = re.sub(r"\d+", "N", str(err).replace("checkpoint <fuzzed> ", ""))[:100]
            out.reasons[reason] = out.reasons.get(reason, 0) + 1
            if target.checkpoint_bytes() != before:
                out.failures.append((i, src.name, what, "a refused load changed the learner",
                                     data))
            return "refused"
        try:
            three_steps(target, np.random.default_rng(i))
            out.ran += 1
        except (Diverged, Failure) as err:
            if self._config_fails(target, src, data, i):
                out.config += 1
                reason = str(err)[:70]
                out.config_reasons[reason] = out.config_reasons.get(reason, 0) + 1
            elif isinstance(err, Diverged):
                out.diverged += 1
                out.diverged_cases.append((i, src.name, what))
            else:
                out.failures.append((i, src.name, what, str(err), data))
            target.load_bytes(src.data)
        return "accepted"

    @staticmethod
    def _config_fails(target, src, data, i) -> bool:
        """Whether the failure needs the mutated config: the mutated file with the source's config
        put back (optimizer, hyperparameters and flags; all else as mutated) loads and passes the
        3-step check. A config is checked as init checks it (rtu_*_check_config) and init accepts
        those that fail too: SGD, whose step nothing bounds, or an extreme step size, ObGD bound
        or entropy coefficient; the loader is not at fault then."""
        p = src.precision
        if len(data) != len(src.data):
            return False
        b = bytearray(data)
        b[36:40] = src.data[36:40]  # the optimizer
        if src.learner == "td":
            b[HEADER:HEADER + 4 * p] = src.data[HEADER:HEADER + 4 * p]
        else:
            b[HEADER:HEADER + 8] = src.data[HEADER:HEADER + 8]  # normalize_obs, scale_reward
            at = HEADER + ck.AC_FIXED.size
            b[at:at + p * len(ck.AC_CONFIG_REALS)] = src.data[at:at + p * len(ck.AC_CONFIG_REALS)]
        if bytes(b[:-4]) == data[:-4]:
            return False  # the config was not mutated
        b[-4:] = struct.pack("<I", zlib.crc32(bytes(b[:-4])))
        try:
            target.load_bytes(bytes(b), "<control>")
            three_steps(target, np.random.default_rng(i))
        except (ValueError, Failure, Diverged):
            return False
        return True

    def run(self, cases: int, seed: int = 0, first: int = 0) -> None:
        rng = np.random.default_rng(seed)
        for i in range(first, first + cases):
            self.case(i, rng)


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-reference", action="store_true",
                        help="the C loaders only (the reference backend is slower)")
    parser.add_argument("--out", help="write each failing file to this directory")
    args = parser.parse_args(argv)
    start = time.time()
    fuzzer = Fuzzer(args.seed, reference=not args.no_reference)
    fuzzer.run(args.cases, args.seed)
    elapsed = time.time() - start
    bad = 0
    for backend, out in fuzzer.outcome.items():
        if out.refused + out.ran == 0 and not out.failures:
            continue
        print(f"{backend}: {out.refused + out.ran + out.config + out.diverged + len(out.failures)} "
              f"loads: {out.refused} refused, {out.ran} loaded and passed the 3-step check, "
              f"{out.config} loaded and failed only with their mutated config, "
              f"{out.diverged} loaded and reported divergence on a step, "
              f"{len(out.failures)} failures")
        for i, name, what in out.diverged_cases[:30]:
            print(f"    diverged: case {i} ({name}; {what})")
        for reason, n in sorted(out.config_reasons.items(), key=lambda kv: -kv[1]):
            print(f"    config {n:7d}  {reason}")
        for reason, n in sorted(out.reasons.items(), key=lambda kv: -kv[1])[:40]:
            print(f"    {n:7d}  {reason}")
        for i, name, what, why, data in out.failures[:30]:
            print(f"  case {i} ({name}; {what}): {why}")
        if args.out:
            os.makedirs(args.out, exist_ok=True)
            for i, name, what, why, data in out.failures:
                with open(os.path.join(args.out, f"{backend}-{i}-{name}.ckpt"), "wb") as f:
                    f.write(data)
        bad += len(out.failures)
    print(f"{args.cases} cases in {elapsed:.0f} s; {bad} failures")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
