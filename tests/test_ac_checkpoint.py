"""Actor-critic checkpoints (learner type 2 of c_src/rtu_ckpt.h, format version 5,
rtu_edge/checkpoint.py): resuming mid-episode is exact for every network shape, C and Python write
the same bytes, a learner is built from a file's shape, every corruption or mismatch is refused
with the learner untouched, and no checkpoint is taken between act and learn or of a diverged
learner."""

import pickle
import struct
import zlib
from dataclasses import replace

import numpy as np
import pytest

from conftest import run_c_program
from rtu_edge import ActorCritic, TDLambda, checkpoint
import ckpt_codec as ck
from rtu_edge.reference.config import ACNetwork
from rtu_edge.tasks import make_env

BACKENDS = [("c", np.float64), ("c", np.float32), ("reference", np.float64)]
BACKEND_IDS = ["c-f64", "c-f32", "reference"]
ACTIONS = {"discrete": ("cartpole-p", 2), "continuous": ("pendulum-p", 1)}
N_HIDDEN = 8
HEADER = 88  # the header; the payload's leading integers follow it
PAYLOAD_INTS = 56  # normalize_obs, scale_reward, fed, acted (u32); 5 u64
FIXED = HEADER + PAYLOAD_INTS  # the reals start here
#: the networks the exactness tests run on
NETWORKS = {"default": ACNetwork(),
            "full": ACNetwork(n_embed=32, n_head=32, prev_action=True, prev_reward="normalized"),
            "shared": ACNetwork(n_embed=32, n_head=32, prev_action=True, prev_reward="normalized",
                                shared=True),
            "plain": ACNetwork(n_embed=0, n_head=0),
            "memoryless": ACNetwork(memoryless=True, prev_action=False, prev_reward="none"),
            "memoryless with the past": ACNetwork(memoryless=True, prev_action=True,
                                                  prev_reward="normalized"),
            "reward sign": ACNetwork(prev_reward="sign"),
            "reward sign centred": ACNetwork(prev_reward="centered_sign"),
            "reward sign gated": ACNetwork(prev_reward="gated_sign")}


class Stream:
    """An environment and its current observation, stepped by a learner (run) or by recorded
    actions (replay: the environment is deterministic given its seed and the actions, so a second
    copy reaches the same point mid-episode)."""

    def __init__(self, task, seed=0):
        self.env, _ = make_env(task, seed)
        self.obs, _ = self.env.reset()

    def step(self, a):
        if not np.isscalar(a):
            a = np.clip(a, self.env.action_space.low, self.env.action_space.high)
        obs_next, reward, terminated, truncated, _ = self.env.step(a)
        transition = (float(reward), obs_next, bool(terminated), bool(truncated))
        if terminated or truncated:
            self.obs, _ = self.env.reset()
        else:
            self.obs = obs_next
        return transition

    def run(self, ac, steps):
        actions = []
        for _ in range(steps):
            a = ac.act(self.obs)
            actions.append(a)
            ac.learn(*self.step(a))
        return np.array(actions)

    def replay(self, actions):
        for a in actions:
            self.step(a)


#: every part of the network, so that every field of the checkpoint is exercised (the package's
#: default network has no input layer and no previous action or reward)
FULL = {"n_embed": 32, "n_head": 32, "prev_action": True, "prev_reward": "normalized"}


def learner(backend="c", dtype=np.float64, action_kind="discrete", kind="nonlinear", seed=4,
            n_hidden=N_HIDDEN, **kw):
    n_actions = ACTIONS[action_kind][1]
    return ActorCritic(2, n_hidden, n_actions, action_kind=action_kind, kind=kind, seed=seed,
                       backend=backend, dtype=dtype, **kw if "network" in kw else {**FULL, **kw})


def trained(steps, action_kind="discrete", **kw):
    ac = learner(action_kind=action_kind, **kw)
    Stream(ACTIONS[action_kind][0]).run(ac, steps)
    return ac


def snapshot(ac):
    """Everything a load could change (for C the whole buffer, scratch included)."""
    impl = ac._impl
    order = (ac.acted, None if ac.expected_obs is None else ac.expected_obs.tobytes(),
             ac.config, ac.steps, ac.episodes)
    if ac.backend == "c":
        a = impl.ac
        return order + (impl.core.buffer.tobytes(), int(a.rng.state), int(a.rng.inc),
                        int(a.obs_count), int(a.ret_count), float(a.ret_trace),
                        float(a.ret_mean), float(a.ret_m2), int(a.reward_count),
                        float(a.reward_mean), float(a.reward_m2), int(a.fed), int(a.acted),
                        a.config.gamma, a.config.entropy_coef, int(a.config.normalize_obs))
    r = impl.impl
    derived = b"".join(t.cell.g.tobytes() + t.e_hat.tobytes() for t in r.trunk if t is not None)
    heads = b"".join(h.q_hat.tobytes() + h.out.tobytes() for h in r.head)
    return order + (ac.checkpoint_bytes(), derived, heads, r.pi.tobytes(), r.config)


def ffi_bytes(impl):
    """The bytes of a C learner's rtu_ac struct (its scalars, counters, PRNG and flags)."""
    return impl.core.ffi.buffer(impl.ac)


def recrc(data: bytes) -> bytes:
    body = data[:-4]
    return body + struct.pack("<I", zlib.crc32(body))


def with_u32(data, offset, value):
    b = bytearray(data)
    struct.pack_into("<I", b, offset, value)
    return recrc(bytes(b))


def with_u64(data, offset, value):
    b = bytearray(data)
    struct.pack_into("<Q", b, offset, value)
    return recrc(bytes(b))


def with_real(data, index, value, precision):
    """data with real number index of the payload (0 = gamma) set to value, CRC fixed."""
    b = bytearray(data)
    struct.pack_into("<f" if precision == 4 else "<d", b, FIXED + precision * index, value)
    return recrc(bytes(b))


def real_index(data, name, offset=0):
    """The payload index of the first real of array name (ckpt_codec's names) plus offset: the
    config's 9 reals and 3 statistics come first (0 = gamma)."""
    ckpt = ck.decode_ac(data)
    index = len(ck.AC_CONFIG_REALS) + len(ck.AC_STATS)
    for key, size in ckpt.sizes().items():
        if key == name:
            return index + offset
        index += size
    raise KeyError(name)


# -- size and layout ------------------------------------------------------------------------------

@pytest.mark.parametrize("backend,dtype", BACKENDS, ids=BACKEND_IDS)
@pytest.mark.parametrize("action_kind", ["discrete", "continuous"])
@pytest.mark.parametrize("kind,network", [("linear", "default"), ("linear", "full"),
                                          ("nonlinear", "full"), ("nonlinear", "shared"),
                                          ("linear", "plain"), ("lru", "full"), ("lru", "plain"),
                                          ("linear", "reward sign"),
                                          ("linear", "reward sign centred")])
def test_size_and_layout(backend, dtype, action_kind, kind, network):
    net = NETWORKS[network]
    ac = trained(30, action_kind, backend=backend, dtype=dtype, kind=kind, network=net)
    data = ac.checkpoint_bytes()
    R, n, d, A = np.dtype(dtype).itemsize, N_HIDDEN, 2, ACTIONS[action_kind][1]
    m, k = net.n_embed, net.n_head
    n_x = d + (A if net.prev_action else 0) + (1 if net.prev_reward != "none" else 0)
    n_e = m if m else n_x
    o = (2 if action_kind == "continuous" else 1) * A
    E, P = m * (n_x + 1), 2 * n + 2 * n * n_e
    S = 4 * n  # c, d, h
    if kind == "lru":  # the readout c_re, c_im (2n x n), d_skip (2n x n_e); the input x
        P, S = P + 4 * n * n + 2 * n * n_e, S + n_e
    T = 4 * n + (4 if kind == "nonlinear" else 2) * n * n_e
    head = (lambda out: k * (2 * n + 1) + out * (k + 1)) if k else \
        (lambda out: out * (2 * n + 1))
    trunks = 1 if net.shared else 2
    reals = 15 + trunks * (E + P + S + T) + 2 * (head(1) + head(o) + E + P) + 3 * d + n_x
    assert len(data) == HEADER + PAYLOAD_INTS + 8 + R * reals + 4 == \
        ck.ac_checkpoint_bytes(kind, d, n, net, action_kind, A, R)
    magic, version, learner_type, precision, kind_i, act, n_in, n_hidden, opt, steps, payload, \
        *shape = struct.unpack_from("<8s8IQQ8I", data)
    assert (magic, version, learner_type, precision) == (b"RTUEDGE\0", 5, 2, R)
    assert (kind_i, act, n_in, n_hidden, opt, steps) == (["linear", "nonlinear", "lru"].index(kind),
                                                         1, d, n, 1, 30)
    assert shape == [m, k, int(net.shared), int(net.prev_action),
                     ck.PREV_REWARD.index(net.prev_reward),
                     int(net.memoryless), ["discrete", "continuous"].index(action_kind), A]
    assert payload == len(data) - HEADER - 4
    fixed = struct.unpack_from("<4I5Q", data, HEADER)
    assert fixed[:4] == (1, 1, fixed[2], 0)
    assert fixed[4] == ac.episodes and fixed[8] % 2 == 1
    assert struct.unpack_from("<I", data, len(data) - 4)[0] == zlib.crc32(data[:-4])
    # the previous-reward input's statistics end the payload: kept with prev_reward only
    reward_count = struct.unpack_from("<Q", data, len(data) - 4 - 2 * R - 8)[0]
    reward_mean, reward_m2 = np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder("<"), count=2,
                                           offset=len(data) - 4 - 2 * R)
    stats = ac.prev_reward_statistics
    assert reward_count == stats["count"] == (30 if net.prev_reward != "none" else 0)
    assert (reward_mean, reward_m2) == (stats["mean"], stats["m2"])
    assert (reward_mean != 0) == (net.prev_reward in ("normalized", "centered_sign", "gated_sign"))
    if backend == "c":
        size = ac._impl.core.ffi.new("size_t *")
        assert ac._impl.lib.rtu_ac_checkpoint_size(ac._impl.ac, size) == 0
        assert size[0] == len(data)


# -- exact resume -----------------------------------------------------------------------------

EXACT = [("c", np.float64, "discrete", "full", "nonlinear"),
         ("c", np.float32, "discrete", "full", "nonlinear"),
         ("reference", np.float64, "discrete", "full", "nonlinear"),
         ("c", np.float64, "continuous", "full", "nonlinear"),
         ("c", np.float32, "continuous", "shared", "nonlinear"),
         ("reference", np.float64, "continuous", "shared", "nonlinear"),
         ("c", np.float32, "discrete", "plain", "nonlinear"),
         ("reference", np.float64, "discrete", "plain", "nonlinear"),
         ("c", np.float32, "discrete", "memoryless", "nonlinear"),
         ("reference", np.float64, "continuous", "memoryless", "nonlinear"),
         ("c", np.float32, "discrete", "full", "lru"),
         ("reference", np.float64, "continuous", "shared", "lru"),
         ("c", np.float32, "discrete", "reward sign", "linear"),
         ("reference", np.float64, "discrete", "reward sign", "linear"),
         ("c", np.float32, "discrete", "reward sign centred", "linear"),
         ("reference", np.float64, "continuous", "reward sign centred", "linear")]


@pytest.mark.parametrize("backend,dtype,action_kind,network,kind", EXACT,
                         ids=[f"{b}-{np.dtype(t).name}-{a}-{n}-{k}" for b, t, a, n, k in EXACT])
def test_resume_mid_episode_is_bit_exact(tmp_path, backend, dtype, action_kind, network, kind):
    """1000 transitions (1100 on Pendulum, whose 200-step episodes end at 1000; more if an episode
    ends there), save mid-episode,
    load into a fresh learner (other seed and config), the rest of 2000 on the same environment:
    the same actions, parameters and final checkpoint bytes as 2000 uninterrupted transitions."""
    task = ACTIONS[action_kind][0]
    net = NETWORKS[network]
    split = 1000 if action_kind == "discrete" else 1100
    path = tmp_path / "ac.ckpt"
    a, env_a = learner(backend, dtype, action_kind, kind, network=net), Stream(task)
    first = env_a.run(a, split)
    while a.expected_obs is None:  # an episode ended at the split: on to mid-episode, where
        first = np.concatenate([first, env_a.run(a, 1)])  # the cell holds the next observation
    split = len(first)
    a.save(path)
    rest = env_a.run(a, 2000 - split)  # a ran 2000 transitions uninterrupted
    assert a.steps == 2000 and a.episodes >= 5

    b, env_b = learner(backend, dtype, action_kind, kind, seed=11, alpha=0.5, entropy_coef=0.1,
                       network=net), Stream(task)
    env_b.replay(first)  # the environment is not in the checkpoint: bring a copy to the split
    b.load(path)
    assert b.steps == split and b.config == ck.decode_ac(path.read_bytes()).config
    assert np.array_equal(env_b.run(b, 2000 - split), rest)
    assert b.steps == a.steps and b.episodes == a.episodes
    for key, value in a.params.items():
        assert np.array_equal(b.params[key], value), key
    assert b.checkpoint_bytes() == a.checkpoint_bytes()

    c, env_c = ActorCritic.from_checkpoint(path, backend=backend), Stream(task)
    assert (c.dtype, c.steps, c.action_kind, c.kind, c.network) == \
        (dtype, split, action_kind, kind, net)  # the file's shape
    env_c.replay(first)
    assert np.array_equal(env_c.run(c, 2000 - split), rest)
    assert c.checkpoint_bytes() == a.checkpoint_bytes()


@pytest.mark.parametrize("backend,dtype", BACKENDS, ids=BACKEND_IDS)
def test_order_state_is_restored(backend, dtype):
    """Mid-episode the next act must get the saved learner's latest next_obs; after an episode
    end any observation starts the next episode."""
    ac, env = learner(backend, dtype), Stream("cartpole-p")
    env.run(ac, 50)
    data = ac.checkpoint_bytes()
    fresh = learner(backend, dtype, seed=1)
    fresh.load_bytes(data)
    if ac.expected_obs is not None:
        assert np.array_equal(fresh.expected_obs, ac.expected_obs)
        with pytest.raises(ValueError, match="next_obs given to learn"):
            fresh.act(ac.expected_obs + 1.0)
    assert fresh.act(env.obs) == ac.act(env.obs)
    # an episode end: no expected observation
    ends = learner(backend, dtype)
    ends.act(np.array([0.01, 0.02]))
    ends.learn(1.0, np.array([0.03, 0.04]), True, False)
    fresh.load_bytes(ends.checkpoint_bytes())
    assert fresh.expected_obs is None and not fresh.acted
    fresh.act(np.array([0.5, -0.5]))



# -- C and Python write the same bytes -----------------------------------------------------------

@pytest.mark.parametrize("action_kind,kind,network", [
    ("discrete", "linear", "full"), ("discrete", "nonlinear", "shared"),
    ("continuous", "nonlinear", "full"), ("continuous", "linear", "plain"),
    ("discrete", "lru", "full"), ("continuous", "lru", "shared")])
def test_c_and_python_write_identical_bytes(tmp_path, action_kind, kind, network):
    net = NETWORKS[network]
    c = trained(300, action_kind, kind=kind, network=net)
    c_path, py_path = tmp_path / "c.ckpt", tmp_path / "py.ckpt"
    c.save(c_path)
    ref = learner("reference", action_kind=action_kind, kind=kind, seed=9, network=net)
    ref.load(c_path)  # C-written, read by Python
    ref.save(py_path)  # written by Python
    assert py_path.read_bytes() == c_path.read_bytes()
    assert (ref.steps, ref.episodes) == (c.steps, c.episodes) == (300, c.episodes)
    for key, value in c.params.items():
        assert np.array_equal(ref.params[key], value), key
    back = learner("c", action_kind=action_kind, kind=kind, seed=3, network=net)
    back.load(py_path)  # Python-written, read by C
    assert back.checkpoint_bytes() == c_path.read_bytes()
    # from an independent reference run of the same seed: Python's own bytes load in C, and the
    # independent encoder (tests/ckpt_codec.py) writes the same bytes from the reference learner
    own = trained(300, action_kind, backend="reference", kind=kind, network=net)
    data = own.checkpoint_bytes()
    assert ck.reference_ac_bytes(own._impl.impl) == data
    twin = learner("c", action_kind=action_kind, kind=kind, seed=5, network=net)
    twin.load_bytes(data)
    assert twin.checkpoint_bytes() == data


def test_python_encoder_writes_what_c_writes_for_float32():
    for action_kind in ("discrete", "continuous"):
        for net in NETWORKS.values():
            data = trained(200, action_kind, dtype=np.float32, network=net).checkpoint_bytes()
            assert ck.encode_ac(ck.decode_ac(data)) == data


def test_reference_refuses_float32_checkpoints(tmp_path):
    path = tmp_path / "f32.ckpt"
    trained(10, dtype=np.float32).save(path)
    with pytest.raises(ValueError, match="float32"):
        ActorCritic.from_checkpoint(path, backend="reference")
    assert ActorCritic.from_checkpoint(path).dtype == np.float32


# -- no checkpoint between act and learn, nor of a diverged learner -------------------------------

@pytest.mark.parametrize("backend,dtype", BACKENDS, ids=BACKEND_IDS)
def test_save_between_act_and_learn_is_refused(tmp_path, backend, dtype):
    ac = trained(20, backend=backend, dtype=dtype)
    path = tmp_path / "ac.ckpt"
    ac.save(path)
    good = path.read_bytes()
    obs = ac.expected_obs if ac.expected_obs is not None else np.zeros(2)
    ac.act(obs)
    with pytest.raises(RuntimeError, match="save after learn"):
        ac.save(path)
    assert path.read_bytes() == good
    if backend == "c":  # rtu_ac_save says RTU_ERR_ORDER and leaves no valid checkpoint
        lib, ffi = ac._impl.lib, ac._impl.core.ffi
        out, written = bytearray(len(good)), ffi.new("size_t *")
        assert lib.rtu_ac_save(ac._impl.ac, ffi.from_buffer(out), len(out), written) == \
            lib.RTU_ERR_ORDER
        assert written[0] == 0 and out[:8] == bytes(8)
    ac.learn(0.5, obs, False, False)
    ac.save(path)  # after learn it saves again
    assert ck.decode_ac(path.read_bytes()).steps == 21


@pytest.mark.parametrize("backend,dtype", BACKENDS, ids=BACKEND_IDS)
def test_diverged_learner_is_not_saved_over_a_good_checkpoint(tmp_path, backend, dtype):
    ac = learner(backend, dtype, optimizer="sgd", alpha=1e4, scale_reward=False,
                 normalize_obs=False)
    path = tmp_path / "ac.ckpt"
    ac.save(path)
    good = path.read_bytes()
    obs = np.array([1.0, -1.0])
    with pytest.raises(ArithmeticError):  # FloatingPointError (or OverflowError)
        for _ in range(2000):
            ac.act(obs)
            ac.learn(1e5, obs, False, False)
    with pytest.raises(ValueError, match="cannot checkpoint"):
        ac.save(path)
    assert path.read_bytes() == good
    ac.load(path)  # the good checkpoint restores it, and it runs again
    assert ac.steps == 0 and ac.checkpoint_bytes() == good and not ac.acted
    ac.act(obs)


# -- corruption and mismatch are refused, the learner untouched -----------------------------------

def corruptions(data: bytes):
    """(name, bytes, C status suffix) each of which must be refused."""
    size = len(data)

    def flip(offset):
        b = bytearray(data)
        b[offset] ^= 0x40
        return bytes(b)

    out = [(f"flip byte {i}", flip(i), None) for i in (0, 8, 12, 20, 28, 40, 56, 64, 84, HEADER,
                                                       HEADER + 8, HEADER + 24, FIXED, size // 2,
                                                       size - 5, size - 1)]
    out += [(f"truncated to {n}", data[:n], "CKPT_TRUNCATED")
            for n in (0, 7, 8, 12, 59, 60, 91, 92, 100, size // 2, size - 1)]
    out += [
        ("wrong magic, CRC fixed", recrc(b"NOTACKPT" + data[8:]), "CKPT_MAGIC"),
        ("version 6, CRC fixed", with_u32(data, 8, 6), "CKPT_VERSION"),
        ("version 3, CRC fixed", with_u32(data, 8, 3), "CKPT_VERSION"),
        ("TD learner type", with_u32(data, 12, 1), "CKPT_MISMATCH"),
        ("learner type 3", with_u32(data, 12, 3), "CKPT_MISMATCH"),
        ("precision", with_u32(data, 16, 12 - struct.unpack_from("<I", data, 16)[0]),
         "CKPT_MISMATCH"),
        ("n_hidden", with_u32(data, 32, N_HIDDEN + 1), "CKPT_MISMATCH"),
        ("n_embed 31", with_u32(data, 56, 31), "CKPT_MISMATCH"),
        ("n_head 0", with_u32(data, 60, 0), "CKPT_MISMATCH"),
        ("shared 1 (another payload)", with_u32(data, 64, 1), "CKPT_MISMATCH"),
        ("shared 2", with_u32(data, 64, 2), "CKPT_MISMATCH"),
        ("prev_reward 0", with_u32(data, 72, 0), "CKPT_MISMATCH"),
        ("memoryless with the past", with_u32(data, 76, 1), "CKPT_MISMATCH"),
        ("action kind 7", with_u32(data, 80, 7), "CKPT_MISMATCH"),
        ("n_actions 3", with_u32(data, 84, 3), "CKPT_MISMATCH"),
        ("payload length huge", data[:48] + struct.pack("<Q", 2**64 - 1) + data[56:],
         "CKPT_TRUNCATED"),
    ]
    short = data[:48] + struct.pack("<Q", size - HEADER - 12) + data[56:size - 12]
    out.append(("payload 8 bytes short, CRC fixed", short + struct.pack("<I", zlib.crc32(short)),
                "CKPT_MISMATCH"))
    return out


def semantic_corruptions(data, precision):
    """Valid framing and CRC, bad contents: (name, bytes, C status suffix, Python message)."""
    n = N_HIDDEN
    tail = 8 + 2 * precision  # reward_count (u64), reward_mean, reward_m2 end the payload
    reals = (len(data) - FIXED - tail - 4) // precision  # the config, statistics and arrays
    reward_mean = reals + 8 // precision  # the index of reward_mean
    b = bytearray(data)
    inc_at = HEADER + 16 + 4 * 8
    struct.pack_into("<Q", b, inc_at, struct.unpack_from("<Q", data, inc_at)[0] & ~1)
    even_inc = recrc(bytes(b))
    cell = real_index(data, "critic.params")  # nu_log[0] of the critic's cell
    return [
        ("gamma 1.5", with_real(data, 0, 1.5, precision), "CONFIG", "gamma"),
        ("lambda -0.1", with_real(data, 1, -0.1, precision), "CONFIG", "lambda"),
        ("alpha 0", with_real(data, 2, 0.0, precision), "CONFIG", "alpha"),
        ("kappa_value 0", with_real(data, 3, 0.0, precision), "CONFIG", "kappa_value"),
        ("kappa_policy -1", with_real(data, 4, -1.0, precision), "CONFIG", "kappa_policy"),
        ("entropy_coef -0.1", with_real(data, 5, -0.1, precision), "CONFIG", "entropy_coef"),
        ("sparsity 1.5", with_real(data, 6, 1.5, precision), "CONFIG", "sparsity"),
        ("std_min 0", with_real(data, 7, 0.0, precision), "CONFIG", "std_min"),
        ("std_max below std_min", with_real(data, 8, 0.005, precision), "CONFIG", "std_max"),
        ("phase_step_scale 1.5", with_real(data, 9, 1.5, precision), "CONFIG",
         "phase_step_scale"),
        ("ret_m2 NaN", with_real(data, 12, float("nan"), precision), "NONFINITE_PARAM",
         "non-finite"),
        ("ret_m2 -1", with_real(data, 12, -1.0, precision), "PARAM_RANGE", "ret_m2"),
        ("obs_m2 -1", with_real(data, real_index(data, "obs_m2", 1), -1.0, precision),
         "PARAM_RANGE", "obs_m2"),
        ("optimizer 7", with_u32(data, 36, 7), "CONFIG", "optimizer"),
        ("normalize_obs 2", with_u32(data, HEADER, 2), "CONFIG", "normalize_obs"),
        ("scale_reward 5", with_u32(data, HEADER + 4, 5), "CONFIG", "scale_reward"),
        ("fed 2", with_u32(data, HEADER + 8, 2), "CONFIG", "fed"),
        ("acted 2", with_u32(data, HEADER + 12, 2), "CONFIG", "acted"),
        ("acted 1", with_u32(data, HEADER + 12, 1), "ORDER", "between act and learn"),
        ("even PRNG increment", even_inc, "CONFIG", "PRNG"),
        ("nu_log 25", with_real(data, cell, 25.0, precision), "PARAM_RANGE", "nu_log"),
        ("theta_log -21", with_real(data, cell + n, -21.0, precision), "PARAM_RANGE",
         "theta_log"),
        ("w_c Inf", with_real(data, cell + 2 * n, float("inf"), precision), "NONFINITE_PARAM",
         "in critic.params"),
        ("W_in NaN", with_real(data, real_index(data, "actor.embed", 3), float("nan"),
                               precision), "NONFINITE_PARAM", "in actor.embed"),
        ("actor head Inf", with_real(data, real_index(data, "actor.head", 1), float("inf"),
                                     precision), "NONFINITE_PARAM", "in actor.head"),
        ("z_pi NaN", with_real(data, real_index(data, "z_pi"), float("nan"), precision),
         "NONFINITE_PARAM", "in z_pi"),
        ("x NaN", with_real(data, reals - 1, float("nan"), precision), "NONFINITE_PARAM",
         "in x"),
        ("obs_last NaN", with_real(data, real_index(data, "obs_last", 1), float("nan"),
                                   precision), "NONFINITE_PARAM", "in obs_last"),
        ("obs_m2 Inf", with_real(data, real_index(data, "obs_m2"), float("inf"), precision),
         "NONFINITE_PARAM", "in obs_m2"),
        # issue 16: contents no learner holds, each of which loaded and then failed
        ("obs_count 2^64 - 1", with_u64(data, HEADER + 24, 2**64 - 1), "PARAM_RANGE",
         "obs_count or ret_count beyond RTU_COUNT_LIMIT"),
        ("episodes above steps", with_u64(data, HEADER + 16, 101), "PARAM_RANGE",
         "episodes or ret_count above steps"),
        ("an actor.head weight 1e30", with_real(data, real_index(data, "actor.head"), 1e30,
                                                precision), "PARAM_RANGE",
         "actor.head beyond"),
        ("a critic.traces_weight 1e20", with_real(data, real_index(data, "critic.traces_weight"),
                                                  1e20, precision), "PARAM_RANGE",
         "critic.traces_weight beyond"),
        ("z_v 1e31", with_real(data, real_index(data, "z_v", 3), 1e31, precision), "PARAM_RANGE",
         r"z_v beyond \+-RTU_VALUE_LIMIT\^2"),
        ("c[0] = 2 under tanh", with_real(data, real_index(data, "critic.state"), 2.0,
                                          precision), "PARAM_RANGE",
         "critic.state: features h that its c, d and activation cannot give"),
        ("actor's d[1] = 3e15", with_real(data, real_index(data, "actor.state", n + 1), 3e15,
                                          precision), "PARAM_RANGE", "actor.state beyond"),
        ("fed 0 mid-episode", with_u32(data, HEADER + 8, 0), "PARAM_RANGE",
         "critic.state not zero at an episode's start"),
        ("normalize_obs 0 with statistics", with_u32(data, HEADER, 0), "PARAM_RANGE",
         "obs_mean or obs_m2 not zero with normalize_obs off"),
        ("ret_trace 1e30", with_real(data, 10, 1e30, precision), "PARAM_RANGE",
         "ret_trace, ret_mean or ret_m2 beyond"),
        ("obs_mean 2e6", with_real(data, real_index(data, "obs_mean"), 2e6, precision),
         "PARAM_RANGE", "obs_mean beyond"),
        ("obs_m2 1e30", with_real(data, real_index(data, "obs_m2"), 1e30, precision),
         "PARAM_RANGE", "obs_m2 beyond what obs_count observations"),
        ("x 2e6", with_real(data, reals - 1, 2e6, precision), "PARAM_RANGE", "x beyond"),
        # the previous-reward input's statistics (the network has prev_reward; 100 steps)
        ("reward_count 101", with_u64(data, len(data) - 4 - tail, 101), "PARAM_RANGE",
         "reward_count above steps"),
        ("reward_count 0", with_u64(data, len(data) - 4 - tail, 0), "PARAM_RANGE",
         "reward_mean or reward_m2 not zero before reward_count rewards make them"),
        ("reward_count 2^54", with_u64(data, len(data) - 4 - tail, 2**54), "PARAM_RANGE",
         "reward_count beyond RTU_COUNT_LIMIT"),
        ("reward_mean NaN", with_real(data, reward_mean, float("nan"), precision),
         "NONFINITE_PARAM", "NaN or Inf in reward_mean or reward_m2"),
        ("reward_m2 -1", with_real(data, reward_mean + 1, -1.0, precision), "PARAM_RANGE",
         "reward_m2 below 0"),
        ("reward_mean 2e6", with_real(data, reward_mean, 2e6, precision), "PARAM_RANGE",
         "reward_mean or reward_m2 beyond what reward_count rewards"),
    ]


@pytest.mark.parametrize("backend,dtype", BACKENDS, ids=BACKEND_IDS)
def test_every_corruption_is_refused_and_the_learner_is_untouched(backend, dtype):
    precision = np.dtype(dtype).itemsize
    data = trained(100, backend=backend, dtype=dtype).checkpoint_bytes()
    target = trained(30, backend=backend, dtype=dtype, seed=8)
    before = snapshot(target)
    for name, bad, _ in corruptions(data):
        with pytest.raises(ValueError, match="checkpoint <bad>"):
            target.load_bytes(bad, "<bad>")
        assert snapshot(target) == before, name
    for name, bad, _, fragment in semantic_corruptions(data, precision):
        with pytest.raises(ValueError, match=fragment):
            target.load_bytes(bad, "x.ckpt")
        assert snapshot(target) == before, name
    target.load_bytes(data)  # the good one still loads
    assert target.steps == 100


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_c_load_checks_everything_itself(dtype):
    """rtu_ac_load called directly (no Python check in front): the status of each fault, and the
    learner untouched."""
    precision = np.dtype(dtype).itemsize
    data = trained(100, dtype=dtype).checkpoint_bytes()
    target = trained(30, dtype=dtype, seed=8)
    lib, ffi, ac = target._impl.lib, target._impl.core.ffi, target._impl.ac
    before = snapshot(target)

    def load(bad):
        return lib.rtu_ac_load(ac, ffi.from_buffer(bad) if bad else ffi.new("char[1]"), len(bad))

    for name, bad, status in corruptions(data):
        if status is None:  # a flipped byte: the CRC catches it, or the magic or version first
            offset = int(name.split()[-1])
            status = {0: "CKPT_MAGIC", 8: "CKPT_VERSION"}.get(offset, "CKPT_CRC")
        assert load(bad) == getattr(lib, "RTU_ERR_" + status), name
        assert snapshot(target) == before, name
    for name, bad, status, _ in semantic_corruptions(data, precision):
        assert load(bad) == getattr(lib, "RTU_ERR_" + status), name
        assert snapshot(target) == before, name
    assert load(data + b"\xff" * 13) == lib.RTU_OK  # bytes after the CRC are ignored by C
    assert target.steps == 100
    assert lib.rtu_ac_load(ffi.NULL, ffi.from_buffer(data), len(data)) == lib.RTU_ERR_NULL
    assert lib.rtu_ac_load(ac, ffi.NULL, len(data)) == lib.RTU_ERR_NULL


@pytest.mark.parametrize("backend,dtype", BACKENDS, ids=BACKEND_IDS)
@pytest.mark.parametrize("network", ["full", "plain"])
def test_refused_act_and_learn_change_nothing(backend, dtype, network):
    """Issue 16: a refused act or learn leaves the learner as it was, its observation statistics
    included (act updated them, then its cell refused the observation). After 1e14 observations
    of 0 (a checkpoint's count), an observation of 1000 normalises to about 7e6, beyond the
    networks' input range; with an input layer ("full") it went in unchecked."""
    ac = learner(backend, dtype, network=NETWORKS[network])
    ac.act(np.zeros(2))
    ac.learn(0.0, np.zeros(2), True, False)  # an episode's end: the next act takes any obs
    data = ac.checkpoint_bytes()
    b = bytearray(data)
    struct.pack_into("<Q", b, HEADER + 24, 10**14)  # obs_count
    for index in (real_index(data, "obs_mean"), real_index(data, "obs_m2")):
        for i in range(2):
            struct.pack_into("<f" if ac.dtype == np.float32 else "<d", b,
                             FIXED + ac.dtype.itemsize * (index + i), 0.0)
    ac.load_bytes(recrc(bytes(b)))

    def everything():  # between act and learn too (a checkpoint is not taken then)
        impl = ac._impl
        if ac.backend == "c":
            return impl.core.buffer.tobytes(), bytes(ffi_bytes(impl))
        return pickle.dumps(impl.impl)

    before = everything()
    with pytest.raises(ValueError, match="obs, normalised by the running statistics, has a "
                                         "value beyond"):
        ac.act(np.array([1000.0, 0.0]))
    assert everything() == before
    ac.act(np.zeros(2))
    before = everything()
    with pytest.raises(ValueError, match="next_obs, normalised by the running statistics"):
        ac.learn(1.0, np.array([1000.0, 0.0]), False, False)
    assert everything() == before
    ac.learn(1.0, np.zeros(2), False, False)
    assert ac.observation_statistics["count"] == 10**14 + 2


@pytest.mark.parametrize("backend,dtype", BACKENDS, ids=BACKEND_IDS)
def test_mismatched_learners_are_refused(backend, dtype):
    target = trained(30, backend=backend, dtype=dtype)
    before = snapshot(target)
    other_dtype = np.float32 if dtype == np.float64 else np.float64
    cases = [(dict(n_hidden=N_HIDDEN + 1), "n_hidden"), (dict(kind="linear"), "kind"),
             (dict(activation="relu"), "activation"),
             (dict(backend="c", dtype=other_dtype), "bytes per real"),
             (dict(action_kind="continuous"), "action_kind"),
             (dict(network=replace(NETWORKS["full"], n_head=16)), "n_head"),
             (dict(network=replace(NETWORKS["full"], n_embed=0)), "n_embed"),
             (dict(network=NETWORKS["shared"]), "shared"),
             (dict(network=replace(NETWORKS["full"], prev_reward="none")), "prev_reward"),
             (dict(network=replace(NETWORKS["full"], prev_reward="sign")), "prev_reward"),
             (dict(network=replace(NETWORKS["full"], prev_reward="centered_sign")),
              "prev_reward"),
             (dict(network=replace(NETWORKS["full"], memoryless=True, prev_action=False,
                                   prev_reward="none")), "prev_action")]
    for kw, fragment in cases:
        args = dict(backend=backend, dtype=dtype)
        args.update(kw)
        data = trained(20, **args).checkpoint_bytes()
        with pytest.raises(ValueError, match=fragment):
            target.load_bytes(data, "m.ckpt")
        assert snapshot(target) == before
        if backend == "c":
            lib, ffi = target._impl.lib, target._impl.core.ffi
            status = lib.rtu_ac_load(target._impl.ac, ffi.from_buffer(data), len(data))
            assert status == lib.RTU_ERR_CKPT_MISMATCH
            assert snapshot(target) == before
    # three discrete actions: another n_actions
    three = ActorCritic(2, N_HIDDEN, 3, kind="nonlinear", backend=backend, dtype=dtype, **FULL)
    three.act(np.zeros(2))
    three.learn(1.0, np.ones(2), False, False)
    with pytest.raises(ValueError, match="n_actions"):
        target.load_bytes(three.checkpoint_bytes(), "m.ckpt")
    assert snapshot(target) == before


@pytest.mark.parametrize("backend,dtype", BACKENDS, ids=BACKEND_IDS)
def test_reward_sign_checkpoints_hold_no_reward_statistics_and_no_other_mode(backend, dtype):
    """A checkpoint of a prev_reward "sign" learner whose previous-reward mean or m2 is not zero
    (a learner of that mode never has them), or whose header's prev_reward is 5 (no such mode),
    is refused, the learner untouched; one of the sign centred (3) does not go into a "sign"
    learner, nor one of the plain sign into a "centered_sign" one."""
    target = trained(30, backend=backend, dtype=dtype, network=NETWORKS["reward sign"])
    before, data = snapshot(target), target.checkpoint_bytes()
    for field in ("reward_mean", "reward_m2"):
        bad = ck.encode_ac(replace(ck.decode_ac(data), **{field: 0.5}))
        with pytest.raises(ValueError, match="reward_mean or reward_m2 not zero with the reward's"):
            target.load_bytes(bad, "m.ckpt")
        assert snapshot(target) == before
    five = bytearray(data)
    struct.pack_into("<I", five, 72, 5)
    struct.pack_into("<I", five, len(five) - 4, zlib.crc32(bytes(five[:-4])))
    with pytest.raises(ValueError, match="prev_reward=5"):
        target.load_bytes(bytes(five), "m.ckpt")
    assert snapshot(target) == before
    centered = trained(30, backend=backend, dtype=dtype,
                       network=NETWORKS["reward sign centred"])
    with pytest.raises(ValueError, match="its prev_reward is 'centered_sign', the learner's is "
                                         "'sign'"):
        target.load_bytes(centered.checkpoint_bytes(), "m.ckpt")
    assert snapshot(target) == before
    before = snapshot(centered)
    with pytest.raises(ValueError, match="its prev_reward is 'sign', the learner's is "
                                         "'centered_sign'"):
        centered.load_bytes(data, "m.ckpt")
    assert snapshot(centered) == before


def _mixed_rewards(ac, rng, steps, obs):
    """steps transitions from obs on random observations with rewards of both signs and zero
    (the control tasks' streams have rewards of one sign, whose centred sign is 0 throughout);
    returns the last observation."""
    for t in range(steps):
        ac.act(obs)
        obs = rng.normal(size=2)
        ac.learn(float(rng.choice([-2.0, -0.5, 0.0, 1.0])), obs, False, t % 40 == 39)
    return obs


@pytest.mark.parametrize("backend,dtype", BACKENDS, ids=BACKEND_IDS)
def test_centered_reward_sign_checkpoints_keep_the_statistics_and_resume_exactly(backend, dtype):
    """The sign centred keeps the signs' mean and m2 whatever normalize_obs: a learner with
    normalize_obs off saved mid-stream (rewards of both signs) and loaded into a fresh one
    resumes bit for bit (the same parameters and checkpoint after 200 more steps as the learner
    that went on), where the normalised reward's statistics with normalize_obs off are refused."""
    net = NETWORKS["reward sign centred"]
    source = learner(backend, dtype, network=net, normalize_obs=False)
    rng = np.random.default_rng(8)
    obs = _mixed_rewards(source, rng, 300, np.zeros(2))  # mid-episode
    stats, data = source.prev_reward_statistics, source.checkpoint_bytes()
    assert stats["count"] == 300 and stats["mean"] != 0 and stats["m2"] > 0
    target = learner(backend, dtype, network=net, normalize_obs=False, seed=11)
    target.load_bytes(data, "m.ckpt")
    assert target.prev_reward_statistics == stats
    state = rng.bit_generator.state
    _mixed_rewards(source, rng, 200, obs)
    rng.bit_generator.state = state
    _mixed_rewards(target, rng, 200, obs)
    for key, value in source.params.items():
        assert np.array_equal(target.params[key], value), key
    assert target.checkpoint_bytes() == source.checkpoint_bytes()
    plain = trained(5, backend=backend, dtype=dtype, network=NETWORKS["full"],
                    normalize_obs=False)
    before = snapshot(plain)
    bad = ck.encode_ac(replace(ck.decode_ac(plain.checkpoint_bytes()), reward_mean=0.5))
    with pytest.raises(ValueError, match="reward normalised and normalize_obs off"):
        plain.load_bytes(bad, "m.ckpt")
    assert snapshot(plain) == before


@pytest.mark.parametrize("backend,dtype", BACKENDS, ids=BACKEND_IDS)
def test_td_and_actor_critic_checkpoints_are_not_interchangeable(tmp_path, backend, dtype):
    ac = trained(30, backend=backend, dtype=dtype)
    td = TDLambda(2, N_HIDDEN, kind="nonlinear", activation="tanh", backend=backend, dtype=dtype)
    td.step(np.ones(2), 1.0)
    ac_before, td_before = snapshot(ac), td.checkpoint_bytes()
    with pytest.raises(ValueError, match="holds a TD\\(lambda\\) learner, not an actor-critic"):
        ac.load_bytes(td.checkpoint_bytes(), "td.ckpt")
    with pytest.raises(ValueError, match="holds an actor-critic learner, not a TD"):
        td.load_bytes(ac.checkpoint_bytes(), "ac.ckpt")
    assert snapshot(ac) == ac_before and td.checkpoint_bytes() == td_before
    path = tmp_path / "td.ckpt"
    td.save(path)
    with pytest.raises(ValueError, match="TD\\(lambda\\)"):
        ActorCritic.from_checkpoint(path, backend=backend)
    if backend == "c":
        lib, ffi = ac._impl.lib, ac._impl.core.ffi
        data = td.checkpoint_bytes()
        assert lib.rtu_ac_load(ac._impl.ac, ffi.from_buffer(data), len(data)) == \
            lib.RTU_ERR_CKPT_MISMATCH
        data = ac.checkpoint_bytes()
        assert lib.rtu_td_load(td._impl.td, ffi.from_buffer(data), len(data)) == \
            lib.RTU_ERR_CKPT_MISMATCH
        assert snapshot(ac) == ac_before and td.checkpoint_bytes() == td_before


def test_corrupt_files_name_the_path(tmp_path):
    ac = trained(20)
    path = tmp_path / "ac.ckpt"
    ac.save(path)
    data = bytearray(path.read_bytes())
    data[130] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f"{path}.*corrupted.*CRC32"):
        ac.load(path)
    path.write_bytes(bytes(data[:100]))
    with pytest.raises(ValueError, match=f"{path}.*truncated"):
        ActorCritic.from_checkpoint(path)
    with pytest.raises(FileNotFoundError, match="missing.ckpt"):
        ac.load(tmp_path / "missing.ckpt")


# -- C alone --------------------------------------------------------------------------------------

C_PROGRAM = r"""
#include <stdio.h>
#include <string.h>
#include "rtu_ckpt.h"

/* a learner trained on a toy stream, saved into a static buffer sized by the macro, loaded into a
   second learner, saved again: the same bytes; then written to stdout for Python to compare.
   Every pair of action kind and shared trunk; the buffers are sized for the largest (continuous,
   separate networks) */
#define D 2
#define N 4
#define M 5
#define K 3
#define A 3
#define LARGEST(macro) macro(RTU_KIND_NONLINEAR, D, N, M, K, 0, 1, 1, RTU_ACTIONS_CONTINUOUS, A)
static rtu_real buf_a[LARGEST(RTU_AC_REALS)];
static rtu_real buf_b[LARGEST(RTU_AC_REALS)];
static unsigned char ck_a[LARGEST(RTU_AC_CHECKPOINT_BYTES)];
static unsigned char ck_b[LARGEST(RTU_AC_CHECKPOINT_BYTES)];

int main(void)
{
    rtu_ac a, b;
    rtu_ac_config cfg = rtu_ac_default_config();
    rtu_ac_shape shape;
    size_t size, written, i;
    rtu_real obs[D], action[A];
    int t, ak, shared;
    for (ak = 0; ak < 2; ++ak) {
        for (shared = 0; shared < 2; ++shared) {
            rtu_ac_shape s = {.kind = RTU_KIND_NONLINEAR, .activation = RTU_ACT_TANH,
                              .n_obs = D, .n_hidden = N, .n_embed = M, .n_head = K,
                              .shared = shared, .prev_action = 1, .prev_reward = 1,
                              .action_kind = (rtu_action_kind)ak, .n_actions = A};
            shape = s; /* memoryless 0 */
            if (rtu_ac_init(&a, &shape, &cfg, 3, buf_a, sizeof buf_a)) return 1;
            if (rtu_ac_init(&b, &shape, &cfg, 4, buf_b, sizeof buf_b)) return 2;
            for (i = 0; i < D; ++i) obs[i] = 0;
            for (t = 0; t < 40; ++t) {
                if (rtu_ac_act(&a, obs, action)) return 3;
                for (i = 0; i < D; ++i) obs[i] = (rtu_real)((t * 7 + (int)i) % 5) / 4;
                if (rtu_ac_learn(&a, (rtu_real)(t % 3), obs, 0, t % 10 == 9)) return 4;
            }
            if (rtu_ac_checkpoint_size(&a, &size)) return 5;
            if (size != RTU_AC_CHECKPOINT_BYTES(RTU_KIND_NONLINEAR, D, N, M, K, shared, 1, 1,
                                                (rtu_action_kind)ak, A)) return 6;
            if (rtu_ac_save(&a, ck_a, size - 1, &written) != RTU_ERR_BUFFER_SMALL || written)
                return 7;
            if (rtu_ac_save(&a, ck_a, sizeof ck_a, &written) || written != size) return 8;
            if (rtu_ac_load(&b, ck_a, size)) return 9;
            if (rtu_ac_save(&b, ck_b, sizeof ck_b, &written) || memcmp(ck_a, ck_b, size))
                return 10;
            if (b.steps != 40 || b.episodes != 4) return 11;
            if (rtu_ac_act(&b, obs, action)) return 12;
            if (rtu_ac_save(&b, ck_b, sizeof ck_b, &written) != RTU_ERR_ORDER || written)
                return 13;
            for (i = 0; i < size; ++i) printf("%02x", ck_a[i]);
            printf("\n");
        }
    }
    return 0;
}
"""


@pytest.mark.parametrize("defines,dtype", [([], np.float32), (["-DRTU_DOUBLE"], np.float64)],
                         ids=["float", "double"])
def test_plain_c_program_round_trip(tmp_path, defines, dtype):
    """Static buffers sized by RTU_AC_CHECKPOINT_BYTES, save/load/save in C alone; the bytes
    decode in Python and re-encode to the same bytes."""
    lines = run_c_program(tmp_path, C_PROGRAM, defines).split()
    assert len(lines) == 4
    cases = [(a, s) for a in ("discrete", "continuous") for s in (False, True)]
    for (action_kind, shared), line in zip(cases, lines):
        data = bytes.fromhex(line)
        ckpt = ck.decode_ac(data)
        assert (ckpt.kind, ckpt.activation, ckpt.n_obs, ckpt.n_hidden, ckpt.action_kind,
                ckpt.n_actions, ckpt.steps, ckpt.episodes) == \
            ("nonlinear", "tanh", 2, 4, action_kind, 3, 40, 4)
        assert ckpt.network == ACNetwork(n_embed=5, n_head=3, shared=shared, prev_action=True,
                                         prev_reward="normalized")
        assert ckpt.precision == np.dtype(dtype).itemsize and ck.encode_ac(ckpt) == data
        built = ActorCritic.from_bytes(data)  # the file's shape builds the learner
        assert built.network == ckpt.network and built.checkpoint_bytes() == data


def as_version_4(data: bytes) -> bytes:
    """A version-5 checkpoint as version 4 wrote it: an actor-critic's config without its
    phase_step_scale (the last of its reals, index 9), the version and payload length to match."""
    precision = struct.unpack_from("<I", data, 16)[0]
    body = bytearray(data[:-4])
    if struct.unpack_from("<I", data, 12)[0] == 2:
        at = FIXED + 9 * precision
        assert struct.unpack_from("<f" if precision == 4 else "<d", body, at)[0] == 1.0
        del body[at:at + precision]
    struct.pack_into("<I", body, 8, 4)
    struct.pack_into("<Q", body, 48, len(body) - HEADER)
    return bytes(body) + struct.pack("<I", zlib.crc32(body))


@pytest.mark.parametrize("backend,dtype", BACKENDS, ids=BACKEND_IDS)
def test_a_version_4_checkpoint_loads_as_the_learner_it_was(tmp_path, backend, dtype):
    """A checkpoint of format version 4 (before ACConfig.phase_step_scale) still loads, from a
    file or from bytes, as the learner that wrote it: its phases stepped as every other
    parameter, phase_step_scale 1, and it goes on as that learner does, action for action."""
    ac, env_a = learner(backend, dtype, phase_step_scale=1.0), Stream("cartpole-p")
    first = env_a.run(ac, 60)
    data = ac.checkpoint_bytes()
    old = as_version_4(data)
    assert len(old) == len(data) - np.dtype(dtype).itemsize
    path = tmp_path / "v4.rtu"
    path.write_bytes(old)
    assert checkpoint.read_file(path) == data  # as train --resume and the exports read it
    for loaded in (ActorCritic.from_checkpoint(path, backend=backend),
                   ActorCritic.from_bytes(old, backend=backend)):
        assert loaded.config.phase_step_scale == 1.0
        assert loaded.checkpoint_bytes() == data
    target = trained(30, backend=backend, dtype=dtype, seed=9)
    target.load(path)
    assert target.checkpoint_bytes() == data
    env_b = Stream("cartpole-p")
    env_b.replay(first)
    assert np.array_equal(env_b.run(target, 40), env_a.run(ac, 40))
    assert target.checkpoint_bytes() == ac.checkpoint_bytes()
    td = TDLambda(3, 4, seed=2, dtype=dtype, backend=backend)
    assert TDLambda.from_bytes(as_version_4(td.checkpoint_bytes()),
                               backend=backend).checkpoint_bytes() == td.checkpoint_bytes()


def test_a_damaged_version_4_checkpoint_is_refused_with_a_clear_message(tmp_path):
    """A version-4 checkpoint whose CRC32 or length does not match is not upgraded: every reader
    refuses it, saying so, and a learner it is loaded into is untouched."""
    old = as_version_4(trained(20, phase_step_scale=1.0).checkpoint_bytes())
    target = trained(30, seed=9)
    before = target.checkpoint_bytes()
    for name, bad in (("flipped", old[:200] + bytes([old[200] ^ 1]) + old[201:]),
                      ("truncated", old[:-9])):
        path = tmp_path / f"{name}.rtu"
        path.write_bytes(bad)
        message = f"{path} has format version 4 and is truncated or corrupted"
        with pytest.raises(ValueError, match=message):
            ActorCritic.from_checkpoint(path)
        with pytest.raises(ValueError, match=message):
            target.load(path)
        assert target.checkpoint_bytes() == before
