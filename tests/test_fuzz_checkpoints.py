"""The mutation fuzzer over the checkpoint loaders (tests/ckpt_fuzz.py, issue 16), a bounded run: no
mutated checkpoint (CRC recomputed, so the content checks are reached) loads into the C learner
(float32 and float64) or the reference and then fails three act/learn steps and a save; the C
loader, the reference's and tests/ckpt_codec.py's decoder refuse the same files; a refused load
leaves the learner as it was. The long run (200,000 cases) is

    PYTHONPATH=. python tests/ckpt_fuzz.py --cases 200000
"""

import struct
import zlib

import numpy as np
import pytest

import ckpt_fuzz as fz
from rtu_edge import ActorCritic

CASES = 3000


@pytest.fixture(scope="module")
def fuzzer():
    f = fz.Fuzzer(seed=1)
    f.run(CASES, seed=1)
    return f


def test_no_mutated_checkpoint_loads_and_then_fails(fuzzer):
    for backend, out in fuzzer.outcome.items():
        assert not out.failures, (backend, [failure[:4] for failure in out.failures[:5]])


def test_the_mutations_reach_both_verdicts_and_the_content_checks(fuzzer):
    """Not a vacuous run: many files load and pass, many are refused, and among the refusals are
    the content checks of issue 16, not only the CRC's and the header's."""
    for backend, share in (("c", 1.0), ("reference", 0.5)):  # the reference: float64 files
        out = fuzzer.outcome[backend]
        assert out.ran > 0.2 * share * CASES and out.refused > 0.2 * share * CASES, backend
    reasons = " ".join(fuzzer.outcome["c"].reasons)
    for fragment in ("beyond +-RTU_VALUE_LIMIT", "NaN or Inf", "features h", "gamma"):
        assert fragment in reasons, fragment


def test_mutations_keep_a_valid_crc():
    src = fz.sources(dtypes=(np.float32,))[4]  # an actor-critic
    rng = np.random.default_rng(0)
    changed = 0
    for _ in range(200):
        data, what = fz.mutate(src, rng)
        changed += data != src.data  # a field may be set to the value it has
        assert struct.unpack_from("<I", data, len(data) - 4)[0] == zlib.crc32(data[:-4]), what
    assert changed >= 190


def test_the_3_step_check_catches_a_learner_that_diverges():
    """A learner that diverges (SGD with a huge step) is caught by the check the fuzzer applies,
    as a divergence; a learner whose checkpoint cannot be taken is a failure."""
    ac = ActorCritic(3, 4, 2, optimizer="sgd", alpha=1e6, normalize_obs=False)
    with pytest.raises(fz.Diverged):
        for seed in range(20):
            fz.three_steps(ac, np.random.default_rng(seed))

    class Unsaveable(ActorCritic):
        def checkpoint_bytes(self):
            raise ValueError("cannot checkpoint this learner")

    with pytest.raises(fz.Failure, match="cannot checkpoint"):
        fz.three_steps(Unsaveable(3, 4, 2), np.random.default_rng(0))
