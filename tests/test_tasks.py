"""The classical-conditioning tasks (rtu_edge.tasks): stream structure as specified, determinism,
return and error metric, argument checks."""

import itertools
import tracemalloc

import numpy as np
import pytest

from rtu_edge.tasks import TraceConditioning, TracePatterning, discounted_returns, msre, rollout


def runs(col):
    """(starts, lengths) of the runs of ones in a 0/1 column."""
    d = np.diff(np.concatenate(([0], col.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    return starts, ends - starts


@pytest.fixture(scope="module")
def conditioning():
    task = TraceConditioning(isi=10, seed=3)
    obs, cum = rollout(task, 60_000)
    return task, obs, cum


@pytest.fixture(scope="module")
def patterning():
    task = TracePatterning(isi=10, seed=5)
    obs, cum = rollout(task, 60_000)
    return task, obs, cum


def test_observation_layout_and_cumulant(conditioning, patterning):
    for task, obs, cum, n_cs in (conditioning + (1,), patterning + (6,)):
        assert task.obs_size == 1 + n_cs + 10 == obs.shape[1]
        assert task.gamma == 1 - 1 / 10
        assert obs.dtype == np.float64 and set(np.unique(obs)) == {0.0, 1.0}
        assert np.array_equal(cum, obs[:, 0])
    task = TraceConditioning(isi=10, seed=3)
    x0 = task.reset()
    assert x0.shape == (12,) and x0.dtype == np.float64 and x0[1] == 1.0   # first CS at t = 0
    x1, c1 = task.step()
    assert isinstance(c1, float) and c1 == x1[0]


def test_cs_on_for_4_steps_and_us_for_2_steps_isi_after_cs_onset(conditioning):
    task, obs, _ = conditioning
    cs_start, cs_len = runs(obs[:, 1])
    us_start, us_len = runs(obs[:, 0])
    assert cs_start[0] == 0 and np.all(cs_len[:-1] == 4)
    assert np.all(us_len[:-1] == 2)
    n = len(us_start)
    assert len(cs_start) - n in (0, 1)                       # at most the last trial is unfinished
    isi = us_start - cs_start[:n]
    lo, hi = task.isi_range
    assert (lo, hi) == (7, 13)
    assert set(isi) == set(range(lo, hi + 1))                # within the range, every value drawn


def test_inter_trial_interval_from_us_onset_to_next_cs_onset(conditioning):
    _, obs, _ = conditioning
    cs_start, _ = runs(obs[:, 1])
    us_start, _ = runs(obs[:, 0])
    iti = cs_start[1:len(us_start) + 1] - us_start[:len(cs_start) - 1]
    assert iti.min() >= 80 and iti.max() <= 120
    assert iti.min() <= 82 and iti.max() >= 118 and abs(iti.mean() - 100) < 2


def test_distractor_switch_on_rates():
    task = TraceConditioning(seed=11)
    obs, _ = rollout(task, 200_000)
    for k in range(10):
        on = obs[:, 2 + k]
        _, lengths = runs(on)
        assert np.all(lengths[:-1] % 4 == 0)                 # 4-step activations, possibly chained
        activations = on.sum() / 4
        tosses = (len(on) - on.sum()) + activations          # each off step, and each switch-on step
        p = 1 / (10 * (k + 1))
        assert task.distractor_probs[k] == pytest.approx(p)
        assert activations / tosses == pytest.approx(p, rel=0.07), k


@pytest.mark.parametrize("cls", [TraceConditioning, TracePatterning])
def test_same_seed_same_stream_other_seed_other_stream(cls):
    a, _ = rollout(cls(seed=1), 3000)
    b, _ = rollout(cls(seed=1), 3000)
    c, _ = rollout(cls(seed=2), 3000)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


@pytest.mark.parametrize("cls", [TraceConditioning, TracePatterning])
def test_step_by_step_equals_rollout_and_continues_it(cls):
    task = cls(isi=6, seed=4)
    obs, cum = rollout(task, 2500)
    task = cls(isi=6, seed=4)
    rows = [task.reset()]
    cums = [0.0]
    for _ in range(2499):
        x, c = task.step()
        rows.append(x)
        cums.append(c)
    assert np.array_equal(np.array(rows), obs[:2500]) and np.array_equal(cums[1:], cum[1:])
    more, _ = rollout(task, 2600)                             # rollout restarts the stream...
    assert np.array_equal(more[:2500], obs)
    x, _ = task.step()                                        # ...and step() carries on after it
    assert np.array_equal(x, rollout(cls(isi=6, seed=4), 2601)[0][-1])


@pytest.mark.parametrize("cls", [TraceConditioning, TracePatterning])
def test_a_stream_read_in_blocks_is_the_rollout_and_keeps_only_a_block(cls):
    """observations(start, stop) in consecutive blocks of any size is the rollout, also when
    reading starts far into the stream (a resumed run), which draws the schedules up to there
    without keeping them."""
    obs, _ = rollout(cls(seed=3), 30000)
    task, rng, parts, a = cls(seed=3), np.random.default_rng(0), [], 0
    while a < 30000:
        b = min(30000, a + int(rng.integers(1, 4000)))
        parts.append(task.observations(a, b))
        a = b
    assert np.array_equal(np.concatenate(parts), obs)
    late = cls(seed=3)
    assert np.array_equal(late.observations(25000, 30000), obs[25000:])
    assert np.array_equal(late.observations(100, 200), obs[100:200])  # earlier: restarts
    tracemalloc.start()
    try:
        cls(seed=3).observations(2_000_000, 2_000_010)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 500_000  # a batch of each schedule (the 2e6 steps' schedules take 6 MB)


def test_streamed_msre_is_msre_of_the_rollout():
    from rtu_edge import TDLambda
    from rtu_edge.tasks.trace_conditioning import streamed_msre
    for steps in (150, 23457):
        X, C = rollout(TraceConditioning(seed=1), steps)
        v = TDLambda(X.shape[1], 8, seed=1).run(X, C)
        want = (msre(v, C, 0.9), msre(np.zeros(steps), C, 0.9))
        got = streamed_msre(TDLambda(X.shape[1], 8, seed=1).run, TraceConditioning(seed=1),
                            steps, block=1000)
        assert got == pytest.approx(want, rel=1e-12)
    with pytest.raises(ValueError, match="steps must be more than the left-out tail of 100"):
        streamed_msre(lambda X, C: np.zeros(len(C)), TraceConditioning(), 100)


def test_patterning_three_of_six_cs_and_us_only_after_positive_patterns(patterning):
    task, obs, _ = patterning
    assert task.positive.sum() == 10
    patterns = {tuple(p) for p in task.patterns.astype(int)}
    assert patterns == {tuple(int(i in c) for i in range(6))
                        for c in itertools.combinations(range(6), 3)}
    positive = {tuple(p) for p in task.patterns[task.positive].astype(int)}
    cs = obs[:, 1:7]
    any_start, any_len = runs(cs.max(axis=1))
    assert np.all(any_len[:-1] == 4)
    us_start, us_len = runs(obs[:, 0])
    assert np.all(us_len[:-1] == 2)
    seen_pos, seen = set(), set()
    lo, hi = task.isi_range
    for s, nxt in zip(any_start[:-1], any_start[1:]):
        pattern = tuple(cs[s].astype(int))
        assert sum(pattern) == 3 and np.all(cs[s:s + 4] == cs[s])   # the same 3 CS, 4 steps
        seen.add(pattern)
        us_in_trial = us_start[(us_start > s) & (us_start < nxt)]
        if pattern in positive:
            seen_pos.add(pattern)
            assert len(us_in_trial) == 1 and lo <= us_in_trial[0] - s <= hi
        else:
            assert len(us_in_trial) == 0
    assert seen_pos == positive and seen == patterns


def test_positive_patterns_depend_on_seed():
    sets = {tuple(TracePatterning(seed=s).positive) for s in range(5)}
    assert len(sets) > 1


def test_discounted_returns_matches_brute_force():
    rng = np.random.default_rng(0)
    c = rng.normal(size=40)
    gamma = 0.8
    g = discounted_returns(c, gamma)
    T = len(c)
    brute = [sum(gamma ** (k - 1) * c[t + k] for k in range(1, T - t)) for t in range(T)]
    np.testing.assert_allclose(g, brute, rtol=1e-12, atol=1e-12)
    assert g[-1] == 0.0


def test_msre_of_exact_returns_is_zero_and_tail_is_left_out():
    _, cum = rollout(TraceConditioning(seed=0), 1000)
    gamma = 0.9
    g = discounted_returns(cum, gamma)
    assert msre(g, cum, gamma) == 0.0
    v = g.copy()
    v[-100:] += 5.0                                          # the left-out tail: 10 / (1 - 0.9)
    assert msre(v, cum, gamma) == 0.0
    v[-101] += 9.0
    assert msre(v, cum, gamma) == pytest.approx(81.0 / 900)
    assert msre(np.zeros(1000), cum, gamma) == pytest.approx(np.mean(g[:900] ** 2))


def test_step_before_reset_raises():
    with pytest.raises(RuntimeError, match="reset"):
        TraceConditioning().step()


@pytest.mark.parametrize("call, name", [
    (lambda: TraceConditioning(isi=2), "isi"),
    (lambda: TraceConditioning(isi=10.0), "isi"),
    (lambda: TraceConditioning(isi=True), "isi"),
    (lambda: TracePatterning(isi="10"), "isi"),
    (lambda: TraceConditioning(seed=-1), "seed"),
    (lambda: TracePatterning(seed=1.5), "seed"),
    (lambda: TraceConditioning(n_distractors=-1), "n_distractors"),
    (lambda: rollout(TraceConditioning(), 0), "steps"),
    (lambda: rollout("task", 10), "task"),
    (lambda: discounted_returns(np.zeros((3, 2)), 0.9), "cumulants"),
    (lambda: discounted_returns([0.0, np.nan], 0.9), "cumulants"),
    (lambda: discounted_returns(np.zeros(3), 1.0), "gamma"),
    (lambda: discounted_returns(np.zeros(3), -0.1), "gamma"),
    (lambda: msre(np.zeros(999), np.zeros(1000), 0.9), "predictions"),
    (lambda: msre(np.zeros(100), np.zeros(100), 0.9), "cumulants"),
])
def test_bad_arguments_raise_value_error_naming_them(call, name):
    with pytest.raises(ValueError, match=name):
        call()
