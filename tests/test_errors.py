"""Bad input is refused with an error that names the argument, and the cell is left untouched."""

import warnings

import numpy as np
import pytest
from conftest import assert_same, snapshot

from rtu_edge import ActorCritic, RTUCell, TDLambda
from rtu_edge._rtu_f32 import ffi as ffi32
from rtu_edge._rtu_f32 import lib as lib32
from rtu_edge._rtu_f64 import ffi as ffi64
from rtu_edge._rtu_f64 import lib as lib64
from rtu_edge.reference import KINDS

N_IN, N = 3, 4


def warm_cell(backend, kind="linear"):
    name, dtype = backend
    cell = RTUCell(N_IN, N, kind, "tanh", seed=1, backend=name, dtype=dtype)
    cell.run(np.random.default_rng(0).normal(size=(5, N_IN)))  # non-zero state and traces
    return cell


# -- constructor -----------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,argument", [
    ({"n_in": 0}, "n_in"), ({"n_hidden": 0}, "n_hidden"), ({"n_in": -2}, "n_in"),
    ({"n_hidden": 2.5}, "n_hidden"), ({"n_in": True}, "n_in"), ({"n_hidden": 10**6}, "n_hidden"),
    ({"kind": "lstm"}, "kind"), ({"activation": "sigmoid"}, "activation"),
    ({"backend": "gpu"}, "backend"), ({"dtype": np.int32}, "dtype"), ({"dtype": "nope"}, "dtype"),
    ({"seed": -1}, "seed"), ({"seed": 2**64}, "seed"), ({"seed": 1.5}, "seed"),
    ({"r_min": 0.5, "r_max": 0.5}, "r_min"), ({"r_max": 1.5}, "r_max"),
    ({"max_phase": 0.0}, "max_phase"), ({"max_phase": float("nan")}, "max_phase"),
    ({"max_phase": 1e300}, "max_phase"), ({"max_phase": 1e-12}, "max_phase"),
    ({"backend": "reference", "dtype": np.float32}, "dtype"),
])
def test_bad_constructor_arguments_name_the_argument(kwargs, argument):
    args = {"n_in": 3, "n_hidden": 4, **kwargs}
    with pytest.raises(ValueError, match=argument):
        RTUCell(**args)


def test_an_unknown_kind_is_refused_with_the_kinds():
    """Every entry point that takes a kind names the three it knows."""
    for make in (lambda: RTUCell(3, 4, "gru"), lambda: TDLambda(3, 4, kind="gru"),
                 lambda: ActorCritic(2, 4, 2, kind="gru")):
        with pytest.raises(ValueError, match=r"kind must be one of \('linear', 'nonlinear', "
                                             r"'lru'\), got 'gru'"):
            make()


# -- per-step inputs ---------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [np.zeros(N_IN + 1), np.zeros((1, N_IN)), np.zeros(0), "abc",
                                 [np.nan, 0, 0], [0, np.inf, 0], [0, 0, -np.inf]])
def test_bad_x_is_refused_and_cell_untouched(backend, bad):
    cell = warm_cell(backend)
    before = snapshot(cell)
    with pytest.raises(ValueError, match="x"):
        cell.step(bad)
    assert_same(snapshot(cell), before)


@pytest.mark.parametrize("bad", [np.zeros(2 * N - 1), np.zeros((2, N)),
                                 np.r_[np.zeros(2 * N - 1), np.nan],
                                 np.r_[np.inf, np.zeros(2 * N - 1)]])
def test_bad_dh_is_refused(backend, bad):
    cell = warm_cell(backend)
    before = snapshot(cell)
    with pytest.raises(ValueError, match="dh"):
        cell.gradient(bad)
    assert_same(snapshot(cell), before)


@pytest.mark.parametrize("kind", KINDS)
def test_input_beyond_the_limit_is_refused(backend, kind):
    """A huge finite x would saturate tanh and leave 0 * inf = NaN in the traces: refused."""
    cell = warm_cell(backend, kind)
    before = snapshot(cell)
    with pytest.raises(ValueError, match="x has a value beyond"):
        cell.step(np.full(N_IN, 3e38))
    with pytest.raises(ValueError, match="dh has a value beyond"):
        cell.gradient(np.full(2 * N, -2e6))
    assert_same(snapshot(cell), before)
    cell.step(np.full(N_IN, 1e6))  # the limit itself is fine
    assert all(np.all(np.isfinite(v)) for v in snapshot(cell).values())


def test_state_overflow_is_an_error_not_a_silent_nan(backend):
    cell = warm_cell(backend, kind="linear")
    params = cell.params
    params["w_c"][:] = 1e305 if backend[1] == np.float64 else 1e37
    cell.set_params(params)
    with pytest.raises(FloatingPointError, match="state or its traces beyond RTU_VALUE_LIMIT"):
        for _ in range(3):
            cell.step(np.full(N_IN, 1e6))


def test_out_buffer_must_fit(backend):
    cell = warm_cell(backend)
    with pytest.raises(ValueError, match="out"):
        cell.step(np.zeros(N_IN), out=np.zeros(2 * N + 1, dtype=backend[1]))


@pytest.mark.parametrize("kind", KINDS)
def test_bad_sequence_leaves_cell_untouched(backend, kind):
    cell = warm_cell(backend, kind)
    before = snapshot(cell)
    xs = np.ones((6, N_IN))
    xs[4, 1] = np.nan  # late in the sequence: nothing may have been stepped before the check
    with pytest.raises(ValueError, match="X"):
        cell.run(xs)
    with pytest.raises(ValueError, match="X"):
        cell.run(np.ones((6, N_IN + 1)))
    with pytest.raises(ValueError, match="dH"):
        cell.run_gradient(np.ones((6, N_IN)), np.ones((5, 2 * N)))
    dh = np.ones((6, 2 * N))
    dh[5, 0] = np.inf
    with pytest.raises(ValueError, match="dH"):
        cell.run_gradient(np.ones((6, N_IN)), dh)
    assert_same(snapshot(cell), before)


# -- parameters --------------------------------------------------------------------------------

def good_params():
    return {"nu_log": np.zeros(N), "theta_log": np.zeros(N), "w_c": np.zeros((N, N_IN)),
            "w_d": np.zeros((N, N_IN))}


@pytest.mark.parametrize("change,argument", [
    (lambda p: p.pop("w_c"), "w_c"),
    (lambda p: p.update(w_d=np.zeros((N_IN, N))), "w_d"),
    (lambda p: p.update(nu_log=np.zeros(N + 1)), "nu_log"),
    (lambda p: p.update(extra=np.zeros(1)), "extra"),
    (lambda p: p["theta_log"].__setitem__(0, np.nan), "theta_log"),
    (lambda p: p["w_c"].__setitem__((0, 0), np.inf), "w_c"),
    (lambda p: p["nu_log"].__setitem__(1, 50.0), "nu_log"),
])
def test_bad_params_name_the_key_and_leave_the_cell(backend, change, argument):
    cell = warm_cell(backend)
    before = snapshot(cell)
    params = good_params()
    change(params)
    with pytest.raises(ValueError, match=argument):
        cell.set_params(params)
    assert_same(snapshot(cell), before)


def test_params_must_be_a_dict(backend):
    with pytest.raises(ValueError, match="params"):
        warm_cell(backend).set_params([1, 2, 3])


# -- the C core itself: status codes, cell untouched -------------------------------------------

@pytest.fixture(params=[(ffi32, lib32, np.float32), (ffi64, lib64, np.float64)],
                ids=["float", "double"])
def core(request):
    return request.param


def c_cell(ffi, lib, dtype, kind=0, n_in=N_IN, n_hidden=N):
    size = ffi.new("size_t *")
    assert lib.rtu_cell_buffer_size(kind, n_in, n_hidden, size) == lib.RTU_OK
    buf = np.zeros(size[0] // np.dtype(dtype).itemsize, dtype=dtype)
    cell = ffi.new("rtu_cell *")
    assert lib.rtu_cell_init(cell, kind, 1, n_in, n_hidden, ffi.from_buffer(buf),
                             size[0]) == lib.RTU_OK
    rng = ffi.new("rtu_prng *")
    lib.rtu_prng_seed(rng, 3)
    assert lib.rtu_cell_init_params(cell, rng, 0.0, 1.0, 6.28) == lib.RTU_OK
    return cell, buf


def real_ptr(ffi, a):
    return ffi.from_buffer("float *" if a.dtype == np.float32 else "double *", a)


def test_c_size_query_and_init_refuse_bad_configurations(core):
    ffi, lib, dtype = core
    size = ffi.new("size_t *")
    assert lib.rtu_cell_buffer_size(0, 0, 4, size) == lib.RTU_ERR_SIZE
    assert lib.rtu_cell_buffer_size(0, 3, 0, size) == lib.RTU_ERR_SIZE
    assert lib.rtu_cell_buffer_size(0, 3, 65537, size) == lib.RTU_ERR_SIZE
    assert lib.rtu_cell_buffer_size(7, 3, 4, size) == lib.RTU_ERR_KIND
    assert lib.rtu_cell_buffer_size(0, 3, 4, ffi.NULL) == lib.RTU_ERR_NULL
    assert lib.rtu_cell_buffer_size(1, 3, 4, size) == lib.RTU_OK
    need = size[0]
    buf = np.zeros(need // np.dtype(dtype).itemsize + 1, dtype=dtype)
    cell = ffi.new("rtu_cell *")
    p = ffi.from_buffer(buf)
    assert lib.rtu_cell_init(cell, 1, 9, 3, 4, p, need) == lib.RTU_ERR_ACTIVATION
    assert lib.rtu_cell_init(cell, 1, 0, 3, 4, p, need - 1) == lib.RTU_ERR_BUFFER_SMALL
    assert lib.rtu_cell_init(cell, 1, 0, 3, 4, p + 1, need) == lib.RTU_ERR_BUFFER_ALIGN
    assert lib.rtu_cell_init(ffi.NULL, 1, 0, 3, 4, p, need) == lib.RTU_ERR_NULL
    assert lib.rtu_cell_init(cell, 1, 0, 3, 4, p, need) == lib.RTU_OK
    rng = ffi.new("rtu_prng *")
    assert lib.rtu_cell_init_params(cell, rng, 0.5, 0.5, 6.28) == lib.RTU_ERR_INIT_RANGE
    assert lib.rtu_cell_init_params(cell, rng, 0.0, 1.0, -1.0) == lib.RTU_ERR_INIT_RANGE
    assert lib.rtu_cell_init_params(cell, ffi.NULL, 0.0, 1.0, 6.28) == lib.RTU_ERR_NULL


@pytest.mark.parametrize("kind", range(len(KINDS)))
def test_c_refuses_bad_inputs_and_leaves_the_buffer(core, kind):
    ffi, lib, dtype = core
    cell, buf = c_cell(ffi, lib, dtype, kind)
    x = np.ones(N_IN, dtype=dtype)
    assert lib.rtu_cell_step(cell, real_ptr(ffi, x), ffi.NULL) == lib.RTU_OK
    before = buf.copy()
    h = np.zeros(2 * N, dtype=dtype)
    for bad in (np.nan, np.inf, -np.inf):
        x[1] = bad
        assert lib.rtu_cell_step(cell, real_ptr(ffi, x), real_ptr(ffi, h)) == \
            lib.RTU_ERR_NONFINITE_INPUT
        xs = np.ones((4, N_IN), dtype=dtype)
        xs[3, 0] = bad
        assert lib.rtu_cell_run(cell, real_ptr(ffi, xs), 4, ffi.NULL) == \
            lib.RTU_ERR_NONFINITE_INPUT
    assert lib.rtu_cell_step(cell, ffi.NULL, ffi.NULL) == lib.RTU_ERR_NULL
    assert lib.rtu_cell_step(ffi.NULL, real_ptr(ffi, x), ffi.NULL) == lib.RTU_ERR_NULL
    grad = np.full(int(cell.n_params), 7.0, dtype=dtype)
    dh = np.ones(2 * N, dtype=dtype)
    dh[0] = np.nan
    assert lib.rtu_cell_gradient(cell, real_ptr(ffi, dh), real_ptr(ffi, grad)) == \
        lib.RTU_ERR_NONFINITE_INPUT
    assert np.all(grad == 7.0)
    params = buf[:int(cell.n_params)].copy()
    params[0] = np.nan
    assert lib.rtu_cell_set_params(cell, real_ptr(ffi, params)) == lib.RTU_ERR_NONFINITE_PARAM
    params[0] = 25.0
    assert lib.rtu_cell_set_params(cell, real_ptr(ffi, params)) == lib.RTU_ERR_PARAM_RANGE
    assert np.array_equal(buf, before)
    x[1] = 2e6
    assert lib.rtu_cell_step(cell, real_ptr(ffi, x), ffi.NULL) == lib.RTU_ERR_INPUT_RANGE
    dh[0] = -2e6
    assert lib.rtu_cell_gradient(cell, real_ptr(ffi, dh), real_ptr(ffi, grad)) == \
        lib.RTU_ERR_INPUT_RANGE
    assert np.all(grad == 7.0)
    assert np.array_equal(buf, before)


def test_c_status_strings_cover_every_code(core):
    ffi, lib, _ = core
    messages = [ffi.string(lib.rtu_status_str(s)).decode() for s in range(lib.RTU_STATUS_COUNT)]
    assert messages[0] == "ok"
    assert len(set(messages)) == len(messages)  # one distinct message per status
    assert "unknown status" not in messages
    assert ffi.string(lib.rtu_status_str(lib.RTU_STATUS_COUNT)).decode() == "unknown status"
    assert ffi.string(lib.rtu_status_str(lib.RTU_STATUS_COUNT + 9)).decode() == "unknown status"


# -- issue 16: complex numbers, and values that float32 cannot hold ------------------------------

LEARNER_BACKENDS = [("c", np.float32), ("c", np.float64), ("reference", np.float64)]


@pytest.mark.parametrize("backend,dtype", LEARNER_BACKENDS, ids=["c-f32", "c-f64", "reference"])
def test_complex_inputs_are_refused_not_truncated(backend, dtype):
    """No imaginary part is dropped (it was, with numpy's ComplexWarning): a complex observation,
    reward, cumulant or cell input is refused, naming the argument, and nothing changes."""
    ac = ActorCritic(2, 4, 2, backend=backend, dtype=dtype)
    td = TDLambda(2, 4, backend=backend, dtype=dtype)
    cell = RTUCell(2, 4, backend=backend, dtype=dtype)
    ac_before, td_before, cell_before = ac.checkpoint_bytes(), td.checkpoint_bytes(), \
        snapshot(cell)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ComplexWarning would be an error
        for call, name in ((lambda: ac.act(np.array([1 + 2j, 0])), "obs"),
                           (lambda: ac.act([1j, 0.0]), "obs"),
                           (lambda: td.step(np.array([0, 1j]), 0.0), "x"),
                           (lambda: td.step(np.zeros(2), 1 + 1j), "cumulant"),
                           (lambda: td.step(np.zeros(2), np.complex64(1)), "cumulant"),
                           (lambda: cell.step(np.array([1j, 0])), "x")):
            with pytest.raises(ValueError, match=f"{name} must"):
                call()
        assert ac.checkpoint_bytes() == ac_before and td.checkpoint_bytes() == td_before
        assert_same(snapshot(cell), cell_before)
        ac.act(np.zeros(2))
        params, stats = ac.params, ac.observation_statistics
        for reward, next_obs, name in ((np.complex128(1 + 2j), np.zeros(2), "reward"),
                                       (1 + 0j, np.zeros(2), "reward"),
                                       (1.0, np.array([0, 2j]), "next_obs")):
            with pytest.raises(ValueError, match=f"{name} must"):
                ac.learn(reward, next_obs, False, False)
        assert ac.steps == 0 and ac.observation_statistics["count"] == stats["count"]
        assert all(np.array_equal(ac.params[k], params[k]) for k in params)


def test_values_beyond_float32_are_named_as_such_not_nan_or_inf():
    """A finite float64 beyond float32's range, given to a float32 learner or cell, is refused as
    such (it was rounded to Inf, then reported as "NaN or Inf", with numpy's overflow warning)."""
    ac = ActorCritic(2, 4, 2, dtype=np.float32)
    td = TDLambda(2, 4, dtype=np.float32)
    cell = RTUCell(2, 4, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "overflow encountered in cast" would be one
        for call, name in ((lambda: ac.act(np.array([1e300, 0.0])), "obs"),
                           (lambda: ac.act(np.array([np.nan, 1e300])), "obs"),
                           (lambda: td.step(np.array([0.0, -1e39]), 0.0), "x"),
                           (lambda: td.step(np.zeros(2), 1e300), "cumulant"),
                           (lambda: cell.step([4e38, 0.0]), "x")):
            with pytest.raises(ValueError, match=rf"{name} has a value \(.*\) beyond the range "
                                                 r"of float32 \(\+-3\.403e\+38\)"):
                call()
        ac.act(np.zeros(2))
        with pytest.raises(ValueError, match=r"reward has a value \(1e\+300\) beyond the range "
                                             "of float32"):
            ac.learn(1e300, np.zeros(2), False, False)
        # within float32's range but beyond the inputs' limit: the C core's own message
        with pytest.raises(ValueError, match=r"has a value beyond \+-1e\+06"):
            ac.learn(1e30, np.zeros(2), False, False)
        assert ac.steps == 0 and td.steps == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_scalar_rewards_are_taken_and_refused_as_floats(dtype):
    """A reward that is a numpy scalar (one read from an array) is the float it holds: the same
    learning as the Python float, and the same refusals (beyond the precision's range, NaN)."""
    from rtu_edge.cell import real_scalar
    for value in (np.float16(0.5), np.float32(-1.25), np.float64(3.0), np.float64(-1e38)):
        taken = real_scalar("reward", value, np.dtype(dtype))
        assert type(taken) is float and taken == float(value)
    with pytest.raises(ValueError, match=r"reward has a value \(1e\+300\) beyond the range"):
        real_scalar("reward", np.float64(1e300), np.dtype(np.float32))
    runs = []
    for reward in (0.75, np.float32(0.75), np.float64(0.75)):
        ac = ActorCritic(2, 4, 2, seed=0, dtype=dtype)
        ac.act(np.ones(2))
        ac.learn(reward, np.zeros(2), False, False)
        runs.append({k: v.copy() for k, v in ac.params.items()})
    for run in runs[1:]:
        assert_same(runs[0], run)
    ac = ActorCritic(2, 4, 2, seed=0, dtype=dtype)
    ac.act(np.ones(2))
    before = {k: v.copy() for k, v in ac.params.items()}
    with pytest.raises(ValueError, match="reward"):
        ac.learn(np.float32("nan"), np.zeros(2), False, False)
    assert_same(before, ac.params)
    assert ac.steps == 0


# -- the other public objects: a wrong argument is named, and changes nothing --------------------

def test_wrong_objects_and_types_are_named():
    """Arguments of the wrong type get a ValueError naming them, not an error from deep inside."""
    from rtu_edge import PPO, ActorCriticBatch, TDLambdaBatch
    from rtu_edge.export.model import CModel, CModelBatch, InferenceModel

    model = InferenceModel.from_learner(ActorCritic(2, 8, 2, seed=0))
    cases = [
        (lambda: CModel(None), "model must be an InferenceModel"),
        (lambda: CModel("x.rtu"), "model must be an InferenceModel"),
        (lambda: CModelBatch(None, 2), "model must be an InferenceModel"),
        (lambda: CModel(model, dtype=np.int32), "dtype must be numpy.float32 or numpy.float64"),
        (lambda: CModelBatch(model, 2, dtype=np.float16), "dtype must be numpy.float32"),
        (lambda: InferenceModel.from_learner(None), "learner must be a TDLambda or an ActorCritic"),
        (lambda: ActorCritic.from_bytes("garbage"), "a checkpoint is bytes"),
        (lambda: ActorCriticBatch(2, 8, 2, seeds=[1], backend="reference"), "backend must be 'c'"),
        (lambda: TDLambdaBatch(2, 8, seeds=[1], backend="reference"), "backend must be 'c'"),
        (lambda: PPO(2, 8, 2, n_envs=2, n_steps=4).adam_step("a"), "learning_rate must be"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()


def test_a_models_actions_are_checked_whether_or_not_it_takes_them_as_input():
    """An action index out of range, negative or fractional is refused by CModel.feed,
    CModelBatch.feed and CModel.run on a network without the previous action as input too
    (the C core checks every action given), and leaves the state; run's actions and rewards must
    have the sequence's length."""
    from rtu_edge.export.model import CModel, CModelBatch, InferenceModel

    ac = ActorCritic(2, 8, 2, seed=0)
    assert not ac.network.prev_action
    model = InferenceModel.from_learner(ac)
    c, batch = CModel(model), CModelBatch(model, 3)
    c.step(np.ones(2))
    batch.step(np.ones((3, 2)))
    state, batch_state = c.state.copy(), batch.state.copy()
    for bad in (2, -1, 1.5):
        with pytest.raises(ValueError, match="not one of the model's actions"):
            c.feed(bad, 1.0)
    for bad in (np.array([0, 1, 2]), np.array([0.0, 1.0, 0.5]),
                np.array([0, 1, 2**63], dtype=np.uint64)):
        with pytest.raises(ValueError, match=r"actions\[2\] is not one of the model's actions"):
            batch.feed(bad, np.zeros(3))
    np.testing.assert_array_equal(c.state, state)
    np.testing.assert_array_equal(batch.state, batch_state)
    obs = np.zeros((5, 2))
    with pytest.raises(ValueError, match="not one of the model's actions"):
        c.run(obs, actions=np.full(5, 7), rewards=np.zeros(5))
    with pytest.raises(ValueError, match=r"actions must have shape \(5,\), got \(4,\)"):
        c.run(obs, actions=np.zeros(4, int), rewards=np.zeros(5))
    with pytest.raises(ValueError, match=r"rewards must have shape \(5,\), got \(3,\)"):
        c.run(obs, actions=np.zeros(5, int), rewards=np.zeros(3))
    np.testing.assert_array_equal(c.state, state)
    assert c.run(obs, actions=np.zeros(5, int), rewards=np.zeros(5)).shape == (5, c.n_out)


def test_a_vector_environment_of_other_actions_is_refused_before_acting():
    """ActorCriticBatch.step_env and train_ppo refuse a vector environment whose action space is
    not the learners' (a discrete learner on Pendulum-P), naming envs, before any learner acts:
    the learners go on afterwards as if the call had not been made."""
    gym = pytest.importorskip("gymnasium")
    from rtu_edge import PPO, ActorCriticBatch
    from rtu_edge.ppo import make_vector_env, train_ppo

    batch = ActorCriticBatch(3, 8, 2, seeds=range(2))
    envs = gym.make_vec("rtu_edge/PendulumP-v0", num_envs=2)
    obs, _ = envs.reset(seed=0)
    before = batch.checkpoint_bytes(0)
    with pytest.raises(ValueError, match=r"envs: the action space is Box.*Discrete\(2\)"):
        batch.step_env(envs, obs)
    assert batch.checkpoint_bytes(0) == before
    batch.act(np.zeros((2, 3)))  # not half-way through a step
    vec, spec = make_vector_env("pendulum-p", 2, 0)
    agent = PPO(spec.obs_size, 8, 2, n_envs=2, n_steps=4, n_minibatches=1)
    with pytest.raises(ValueError, match="envs: the action space is Box"):
        train_ppo(agent, vec, spec, 100)
    assert agent.steps == 0
