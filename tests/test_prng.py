"""One seed gives one random stream, and so one cell, in C and in Python."""

import numpy as np
import pytest

from rtu_edge import RTUCell
from rtu_edge._rtu_f32 import ffi, lib
from rtu_edge.reference import Prng

SEEDS = [0, 1, 12345, 2**63 + 7, 2**64 - 1]


@pytest.mark.parametrize("seed", SEEDS)
def test_c_and_python_streams_are_bit_identical(seed):
    c_rng = ffi.new("rtu_prng *")
    lib.rtu_prng_seed(c_rng, seed)
    py = Prng(seed)
    assert [lib.rtu_prng_next_u32(c_rng) for _ in range(200)] == \
        [py.next_u32() for _ in range(200)]
    assert [lib.rtu_prng_uniform(c_rng) for _ in range(200)] == [py.uniform() for _ in range(200)]
    assert [lib.rtu_prng_normal(c_rng) for _ in range(200)] == [py.normal() for _ in range(200)]
    assert (c_rng.state, c_rng.inc) == (py.state, py.inc)


def test_uniform_stays_in_the_open_interval_and_is_uniform():
    py = Prng(5)
    u = np.array([py.uniform() for _ in range(20000)])
    assert u.min() > 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.01 and abs(u.var() - 1 / 12) < 0.005
    z = np.array([py.normal() for _ in range(20000)])
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1.0) < 0.03


def test_distinct_seeds_give_distinct_streams():
    firsts = {tuple(Prng(s).next_u32() for _ in range(4)) for s in range(100)}
    assert len(firsts) == 100


@pytest.mark.parametrize("kind", ["linear", "nonlinear"])
def test_one_seed_gives_one_cell_on_every_backend(kind):
    ref = RTUCell(5, 9, kind, seed=42, backend="reference").params
    c64 = RTUCell(5, 9, kind, seed=42, backend="c", dtype=np.float64).params
    c32 = RTUCell(5, 9, kind, seed=42, backend="c", dtype=np.float32).params
    other = RTUCell(5, 9, kind, seed=43, backend="reference").params
    for k in ref:
        assert np.array_equal(c64[k], ref[k])
        assert np.array_equal(c32[k], ref[k].astype(np.float32))
        assert not np.array_equal(other[k], ref[k])


def test_init_follows_the_paper_distribution():
    p = RTUCell(64, 2000, seed=7, backend="reference").params
    r2 = np.exp(-2 * np.exp(p["nu_log"]))
    theta = np.exp(p["theta_log"])
    assert 0 < r2.min() and r2.max() < 1 and abs(r2.mean() - 0.5) < 0.03
    assert 0 < theta.min() and theta.max() < 6.28 and abs(theta.mean() - 3.14) < 0.15
    assert abs(p["w_c"].std() - 1 / 8) < 0.005 and abs(p["w_d"].std() - 1 / 8) < 0.005
    narrow = RTUCell(4, 500, seed=7, backend="reference", r_min=0.9, r_max=0.99,
                     max_phase=0.5).params
    r = np.exp(-np.exp(narrow["nu_log"]))
    assert r.min() >= 0.9 and r.max() <= 0.99 and np.exp(narrow["theta_log"]).max() <= 0.5
