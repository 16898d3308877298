"""TD(lambda) prediction: C and reference agree, it learns with memory, and it refuses bad input."""

import numpy as np
import pytest

from rtu_edge import TDLambda
from rtu_edge.reference import KINDS
from rtu_edge.reference.td import MemorylessTD, TDConfig
from rtu_edge.tasks import TraceConditioning, msre, rollout

ISI = 10


@pytest.fixture(scope="module")
def stream():
    task = TraceConditioning(isi=ISI, seed=0)
    X, C = rollout(task, 30000)
    return X, C, task.gamma


def learner(backend, dtype=np.float64, kind="nonlinear", n_hidden=8, seed=1, **kw):
    args = dict(gamma=1 - 1 / ISI, lambda_=0.9, alpha=1.0, optimizer="obgd")
    args.update(kw)
    return TDLambda(12, n_hidden, kind=kind, activation="relu", seed=seed, backend=backend,
                    dtype=dtype, **args)


def relative(a, ref):
    return np.max(np.abs(np.asarray(a, dtype=float) - ref)) / max(np.max(np.abs(ref)), 1e-300)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("optimizer,alpha", [("obgd", 1.0), ("sgd", 0.01)])
def test_c_float64_matches_reference_over_1000_steps(stream, kind, optimizer, alpha):
    X, C, _ = stream
    ref = learner("reference", kind=kind, optimizer=optimizer, alpha=alpha)
    c = learner("c", kind=kind, optimizer=optimizer, alpha=alpha)
    assert relative(c.run(X[:1000], C[:1000]), ref.run(X[:1000], C[:1000])) < 1e-9
    for key, value in ref.params.items():
        assert relative(c.params[key], value) < 1e-9, key
    assert c.steps == ref.steps == 1000


def test_step_and_run_agree(stream):
    X, C, _ = stream
    a, b = learner("c"), learner("c")
    assert np.array_equal(a.run(X[:300], C[:300]), [b.step(x, c) for x, c in zip(X[:300], C[:300])])


def test_rtu_beats_the_memoryless_baseline_on_trace_conditioning(stream):
    """Same learner and optimizer; with memory the prediction error of the US falls well below
    that of the memoryless learner and of predicting zero (second half of 30k steps)."""
    X, C, gamma = stream
    half = slice(len(X) // 2, None)
    baseline = MemorylessTD(12, TDConfig(gamma, 0.9, 1.0, 2.0, "obgd")).run(X, C)
    baseline_error = msre(baseline[half], C[half], gamma)
    zero_error = msre(np.zeros(len(X))[half], C[half], gamma)
    rtu_errors = [msre(learner("c", np.float32, seed=s).run(X, C)[half], C[half], gamma)
                  for s in (1, 2)]
    assert max(rtu_errors) < 0.8 * baseline_error
    assert np.mean(rtu_errors) < 0.5 * zero_error


def test_first_step_predicts_without_updating():
    td = learner("c")
    before = td.params
    td.step(np.ones(12), 5.0)
    for key in before:
        assert np.array_equal(td.params[key], before[key])


@pytest.mark.parametrize("kind", ["nonlinear", "lru"])
def test_memory_is_exact(kind):
    n, d = 8, 12
    if kind == "nonlinear":  # 16n + 6nd and the scratch (2n)
        cell_reals = 18 * n + 6 * n * d
        params = 2 * n + 2 * n * d + 2 * n + 1
    else:  # the linear cell's 18n + 4nd (scratch included), the readout (4n^2 + 2nd) and x (d)
        cell_reals = 18 * n + 4 * n * d + 4 * n * n + 2 * n * d + d
        params = 2 * n + 2 * n * d + 4 * n * n + 2 * n * d + 2 * n + 1
    expected = (cell_reals + 2 * n + 1 + 2 * params) * 8
    assert (learner("c", kind=kind).memory_bytes == expected
            == learner("reference", kind=kind).memory_bytes)
    assert learner("c", np.float32, kind=kind).memory_bytes == expected // 2


@pytest.mark.parametrize("backend,dtype", [("c", np.float32), ("c", np.float64),
                                           ("reference", np.float64)])
def test_bad_input_is_refused_and_nothing_changes(backend, dtype, stream):
    X, C, _ = stream
    td = learner(backend, dtype)
    td.run(X[:50], C[:50])
    before, steps = td.params, td.steps
    for x, c, name in ((np.ones(11), 0.0, "x"), (np.full(12, np.nan), 0.0, "x"),
                       (np.ones(12), np.nan, "cumulant"), (np.ones(12), 1e9, "cumulant"),
                       (np.ones(12), "1", "cumulant")):
        with pytest.raises(ValueError, match=name):
            td.step(x, c)
    bad = C[:10].copy()
    bad[7] = np.inf
    with pytest.raises(ValueError, match="cumulants"):
        td.run(X[:10], bad)
    with pytest.raises(ValueError, match="cumulants"):
        td.run(X[:10], C[:9])
    assert td.steps == steps
    for key in before:
        assert np.array_equal(td.params[key], before[key])


@pytest.mark.parametrize("kwargs,name", [({"gamma": 1.5}, "gamma"), ({"lambda_": -0.1}, "lambda_"),
                                         ({"alpha": 0.0}, "alpha"), ({"kappa": -1.0}, "kappa"),
                                         ({"optimizer": "adam"}, "optimizer"),
                                         ({"alpha": "big"}, "alpha")])
def test_bad_hyperparameters_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        learner("c", **kwargs)


@pytest.mark.parametrize("backend", ["c", "reference"])
def test_divergence_stops_with_an_error_not_a_silent_nan(backend):
    td = learner(backend, optimizer="sgd", alpha=1e3)
    rng = np.random.default_rng(0)
    with pytest.raises(FloatingPointError):
        for _ in range(2000):
            td.step(rng.normal(size=12) * 100, 1e5)


@pytest.mark.parametrize("kind", ["linear", "lru"])
def test_a_step_refuses_before_the_learner_could_not_be_saved(kind):
    """issue 16: a learner whose state grows without bound (huge input weights, r near 1) steps
    until its state would leave RTU_VALUE_LIMIT; every step that returned leaves a learner whose
    checkpoint saves and loads, and the step that would cross raises FloatingPointError naming
    the limit, at the same step on every backend. (Before, a step took the state or traces beyond
    what a checkpoint may hold, and only the save refused.)"""
    import ckpt_codec as ck

    refused_at = {}
    for backend, dtype in (("c", np.float32), ("c", np.float64), ("reference", np.float64)):
        td = TDLambda(2, 3, kind=kind, activation="identity", seed=0, backend=backend,
                      dtype=dtype, alpha=1e-12)
        ckpt = ck.decode(td.checkpoint_bytes())
        params = ckpt.arrays["params"]
        params[:3] = -12.0  # nu_log: r = 1 - 6e-6
        params[3:6] = np.log(1e-4)  # theta_log: a slow turn
        params[6:18] = 1e9  # w_c, w_d
        td.load_bytes(ck.encode(ckpt))
        x = np.full(2, 1e6)
        steps = 0
        with pytest.raises(FloatingPointError, match="RTU_VALUE_LIMIT"):
            for steps in range(1, 1000):
                td.step(x, 0.0)
                again = TDLambda(2, 3, kind=kind, activation="identity", backend=backend,
                                 dtype=dtype)
                again.load_bytes(td.checkpoint_bytes())
        refused_at[(backend, np.dtype(dtype).name)] = steps
    assert 10 < refused_at[("c", "float64")] < 1000, refused_at
    assert refused_at[("reference", "float64")] == refused_at[("c", "float64")], refused_at
    assert abs(refused_at[("c", "float32")] - refused_at[("c", "float64")]) <= 1
