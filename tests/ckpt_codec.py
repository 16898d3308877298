"""An independent Python codec of the checkpoint format of c_src/rtu_ckpt.h (the table of fields is
there), for the tests and the golden vectors only: the package reads and writes checkpoints through
the C core (rtu_edge/checkpoint.py), and this decoder cross-checks its bytes field by field; it
writes, for the reference learners, byte for byte what rtu_td_save and rtu_ac_save write for the
same state.

Both learner types share the framing (header, CRC: ``_frame``, ``_unframe``, ``_check_header``)
and the cell's arrays (``cell_array_sizes``, ``_cell_arrays``, ``_restore_cell``, ``_read_arrays``).
Format version 5 (an 88-byte header that holds the actor-critic's whole shape; the cell's w_c, w_d
and weight traces input-major); earlier versions are refused, as the C core refuses them.

TD(lambda), learner type 1:

- ``encode(ckpt)`` / ``decode(data, path, expect)``: a ``TDCheckpoint`` to bytes and back; decode
  checks everything rtu_td_load checks (length, magic, version, CRC, learner type, precision,
  sizes, config ranges, finite reals, |nu_log|, |theta_log| <= 20) and raises a ``ValueError``
  that names the path and what is wrong.
- ``from_reference(td)`` / ``restore_reference(td, ckpt)``: a reference ``TD``'s state in and out.
- ``save_reference(td, path)`` / ``load_reference(td, path)``: with the file.

Actor-critic, learner type 2: ``encode_ac`` / ``decode_ac`` (an ``ACCheckpoint``; decode checks
everything rtu_ac_load checks, the shape too), ``from_reference_ac`` / ``restore_reference_ac`` for
a reference ``AC``. A checkpoint is never taken between act and learn (the acted flag is always 0;
see rtu_ckpt.h). The forward activations are not stored: ``restore_reference_ac`` recomputes them
when the learner was fed, as rtu_ac_load does.

Unlike the C loaders, which ignore bytes after the CRC (a checkpoint read from a larger flash
sector), the decoders refuse them: a checkpoint file holds exactly one checkpoint.
"""

from __future__ import annotations

import dataclasses
import math
import os
import struct
import zlib
from typing import Dict, Optional, Union

import numpy as np

from rtu_edge.checkpoint import read_file, write_atomic  # noqa: F401 (the files, for the tests)
from rtu_edge.reference.ac import AC, ACTION_KINDS
from rtu_edge.reference.cell import (ACTIVATIONS, COUNT_LIMIT, INPUT_LIMIT, KINDS,
                                     LOG_PARAM_LIMIT, VALUE_LIMIT, Cell, cell_params)
from rtu_edge.reference.config import OPTIMIZERS, ACConfig, ACNetwork
from rtu_edge.reference.td import TD, TDConfig

MAGIC = b"RTUEDGE\0"
VERSION = 5
LEARNER_TD = 1
LEARNER_ACTOR_CRITIC = 2
LEARNER_PPO_ADAM = 3  # PPO's Adam state: not a learner, its network's header
LEARNER_NAMES = {LEARNER_TD: "TD(lambda)", LEARNER_ACTOR_CRITIC: "actor-critic",
                 LEARNER_PPO_ADAM: "PPO Adam state"}
#: magic, version, learner type, precision, kind, activation, n_in, n_hidden, optimizer, steps,
#: payload length, then the actor-critic's shape (SHAPE_FIELDS; 0 for TD)
HEADER = struct.Struct("<8s8IQQ8I")
HEADER_BYTES = HEADER.size  # 88
#: the header's prev_reward: how the network's input holds the previous reward
PREV_REWARD = ("none", "normalized", "sign", "centered_sign", "gated_sign")
SHAPE_FIELDS = ("n_embed", "n_head", "shared", "prev_action", "prev_reward", "memoryless",
                "action_kind", "n_actions")
CRC_BYTES = 4
TD_FIXED = struct.Struct("<I")  # has_prev, after the six leading reals
#: the actor-critic payload's leading integers: normalize_obs, scale_reward, fed, acted (u32);
#: episodes, obs_count, ret_count, PRNG state, PRNG inc (u64)
AC_FIXED = struct.Struct("<4I5Q")  # 56 bytes (RTU_AC_CKPT_FIXED_BYTES)
AC_CONFIG_REALS = ("gamma", "lambda_", "alpha", "kappa_value", "kappa_policy", "entropy_coef",
                   "sparsity", "std_min", "std_max", "phase_step_scale")
AC_STATS = ("ret_trace", "ret_mean", "ret_m2")
#: after the actor-critic's arrays: reward_count (u64), then reward_mean, reward_m2
AC_REWARD_COUNT = struct.Struct("<Q")
AC_REWARD_STATS = ("reward_mean", "reward_m2")
MAX_DIM = 65536
#: what the actor-critic refuses to save between act and learn, and its remedy
SAVE_AFTER_LEARN = ("cannot checkpoint the actor-critic between act and learn: save after learn "
                    "(the checkpoint holds no pending action)")

PathLike = Union[str, os.PathLike]


def _real_dtype(precision: int) -> np.dtype:
    return np.dtype("<f4" if precision == 4 else "<f8")


def _encoding_dtype(precision: int) -> np.dtype:
    """The little-endian dtype that encode and encode_ac write reals in."""
    if precision not in (4, 8):
        raise ValueError(f"precision must be 4 or 8 bytes, got {precision!r}")
    return _real_dtype(precision)


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _where(path: PathLike) -> str:
    return f"checkpoint {os.fspath(path)}"


# -- shared by every learner type -----------------------------------------------------------------

def cell_array_sizes(kind: str, n_in: int, n_hidden: int, prefix: str = "") -> Dict[str, int]:
    """The cell's arrays of a payload (params, state, RTRL traces), in order, in reals; their
    names start with prefix (the actor-critic's "critic.", "actor." or "shared.")."""
    n, nd = n_hidden, n_hidden * n_in
    return {f"{prefix}params": cell_params(kind, n_in, n_hidden),
            f"{prefix}state": 4 * n + (n_in if kind == "lru" else 0),  # c, d, h (, x)
            f"{prefix}traces_unit": 4 * n,
            f"{prefix}traces_weight": 4 * nd if kind == "nonlinear" else 2 * nd}


def _frame(learner: int, precision: int, kind: str, activation: str, n_in: int, n_hidden: int,
           optimizer: str, steps: int, payload: bytes, shape: tuple = (0,) * 8) -> bytes:
    """Header, payload and CRC."""
    header = HEADER.pack(MAGIC, VERSION, learner, precision, KINDS.index(kind),
                         ACTIVATIONS.index(activation), n_in, n_hidden,
                         OPTIMIZERS.index(optimizer), steps, len(payload), *shape)
    body = header + payload
    return body + struct.pack("<I", zlib.crc32(body))


def _encode_arrays(arrays: Dict[str, np.ndarray], sizes: Dict[str, int], dt: np.dtype) -> bytes:
    parts = []
    for name, size in sizes.items():
        a = np.asarray(arrays[name]).reshape(-1)
        if a.size != size:
            raise ValueError(f"array {name} must have {size} reals, got {a.size}")
        parts.append(a.astype(dt).tobytes())
    return b"".join(parts)


@dataclasses.dataclass
class _Header:
    version: int
    learner: int
    precision: int
    kind: str
    activation: str
    n_in: int
    n_hidden: int
    optimizer: str
    steps: int
    payload_len: int
    shape: Dict[str, int]  # SHAPE_FIELDS
    payload_at: int        # the header's length


def _unframe(data: bytes, where: str) -> tuple:
    """The raw header fields of data and the header's length, after checking length, magic,
    version, trailing bytes and CRC (in that order, as rtu_ckpt_inspect)."""
    size = len(data)
    if size < len(MAGIC):
        raise ValueError(f"{where} is truncated: {size} bytes, not even the 8-byte magic")
    if data[:8] != MAGIC:
        raise ValueError(f"{where} is not an rtu_edge checkpoint: bad magic {data[:8]!r} "
                         f"(expected {MAGIC!r})")
    if size < 12:
        raise ValueError(f"{where} is truncated: {size} bytes, no format version")
    version = struct.unpack_from("<I", data, 8)[0]
    if version != VERSION:
        raise ValueError(f"{where} has format version {version}; this rtu_edge reads version "
                         f"{VERSION} only")
    if size < HEADER_BYTES + CRC_BYTES:
        raise ValueError(f"{where} is truncated: {size} bytes, shorter than the "
                         f"{HEADER_BYTES + CRC_BYTES}-byte header and CRC")
    fields = HEADER.unpack_from(data, 0)
    total = HEADER_BYTES + fields[10] + CRC_BYTES
    if total > size:
        raise ValueError(f"{where} is truncated: {size} bytes, its header says {total}")
    if total < size:
        raise ValueError(f"{where} has {size - total} unexpected bytes after its CRC "
                         f"({size} bytes, its header says {total})")
    stored = struct.unpack_from("<I", data, total - CRC_BYTES)[0]
    computed = zlib.crc32(memoryview(data)[:total - CRC_BYTES])
    if stored != computed:
        raise ValueError(f"{where} is corrupted: CRC32 {computed:#010x} of its contents does not "
                         f"match the stored {stored:#010x}")
    return fields, HEADER_BYTES


def _check_header(framed: tuple, where: str, learner_type: int) -> _Header:
    """The header's learner type, precision, enums and sizes."""
    fields, payload_at = framed
    (_, version, learner, precision, kind_i, act_i, n_in, n_hidden, opt_i, steps,
     payload_len) = fields[:11]
    shape = dict(zip(SHAPE_FIELDS, fields[11:]))
    if learner != learner_type:
        name = LEARNER_NAMES.get(learner, f"unknown learner type {learner}")
        wanted = LEARNER_NAMES[learner_type]
        raise ValueError(f"{where} holds {_article(name)} {name} learner, not "
                         f"{_article(wanted)} {wanted} learner")
    if precision not in (4, 8):
        raise ValueError(f"{where} has {precision} bytes per real; 4 or 8 expected")
    if kind_i >= len(KINDS):
        raise ValueError(f"{where} has an unknown cell kind {kind_i}")
    if act_i >= len(ACTIVATIONS):
        raise ValueError(f"{where} has an unknown activation {act_i}")
    if opt_i >= len(OPTIMIZERS):
        raise ValueError(f"{where} has an unknown optimizer {opt_i}")
    if not (1 <= n_in <= MAX_DIM and 1 <= n_hidden <= MAX_DIM):
        raise ValueError(f"{where} has n_in={n_in}, n_hidden={n_hidden}; each must lie in "
                         f"[1, {MAX_DIM}]")
    return _Header(version, learner, precision, KINDS[kind_i], ACTIVATIONS[act_i], n_in,
                   n_hidden, OPTIMIZERS[opt_i], steps, payload_len, shape, payload_at)


def _check_expect(found: dict, expect: Optional[dict], where: str) -> None:
    for key, value in (expect or {}).items():
        if found[key] != value:
            what = {"precision": "bytes per real (4: float32, 8: float64)"}.get(key, key)
            raise ValueError(f"{where} does not match this learner: its {what} is "
                             f"{found[key]!r}, the learner's is {value!r}")


def _header_fields(h: _Header) -> dict:
    return {"precision": h.precision, "kind": h.kind, "activation": h.activation,
            "n_in": h.n_in, "n_hidden": h.n_hidden}


def _read_arrays(data: bytes, offset: int, sizes: Dict[str, int], dt: np.dtype,
                 where: str) -> Dict[str, np.ndarray]:
    """The arrays at offset, each finite (native byte order copies)."""
    arrays = {}
    for name, count in sizes.items():
        a = np.frombuffer(data, dtype=dt, count=count, offset=offset).astype(dt.newbyteorder("="))
        offset += count * dt.itemsize
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{where} has NaN or Inf in {name}")
        arrays[name] = a
    return arrays


def _check_log_params(params: np.ndarray, n_hidden: int, where: str) -> None:
    if np.max(np.abs(params[:2 * n_hidden])) > LOG_PARAM_LIMIT:
        raise ValueError(f"{where} has |nu_log| or |theta_log| beyond {LOG_PARAM_LIMIT}")


#: the arrays bounded by INPUT_LIMIT (an observation, the networks' input, a mean of
#: observations), by VALUE_LIMIT^2 (eligibility traces, sums of products of a parameter and a
#: trace), and obs_m2, bounded by its count (_check_ac_stats); every other by VALUE_LIMIT
INPUT_ARRAYS = ("obs_mean", "obs_last", "x")
ELIGIBILITY_ARRAYS = ("z", "z_v", "z_pi")


def _check_features(state: np.ndarray, kind: str, activation: str, n_hidden: int,
                    name: str, where: str) -> None:
    """The features h of a cell's stored state (c, d, h) are what its step leaves: the linear
    kind's h = f([c; d]) (tanh within rounding), the nonlinear kind's c, d in f's range and
    h = [c; d], the LRU's h in f's range (features_ok of rtu_ckpt.c)."""
    n = n_hidden
    cd, h = state[:2 * n].astype(np.float64), state[2 * n:4 * n].astype(np.float64)
    # tanh by libm's (math.tanh), as the C loader computes it: np.tanh may differ by an ulp, which
    # decides a case at the tolerance's edge
    f = {"relu": lambda v: np.maximum(v, 0.0), "identity": lambda v: v,
         "tanh": lambda v: np.array([math.tanh(x) for x in v.tolist()])}
    in_range = {"relu": lambda v: np.all(v >= 0), "tanh": lambda v: np.all(np.abs(v) <= 1),
                "identity": lambda v: True}[activation]
    tol = (16 * np.finfo(state.dtype).eps) if activation == "tanh" else 0.0
    if (not in_range(h) or (kind == "linear" and np.any(np.abs(h - f[activation](cd)) > tol))
            or (kind == "nonlinear" and np.any(h != cd))):
        raise ValueError(f"{where} has {name}: features h that its c, d and activation cannot "
                         "give")


def _check_arrays(arrays: Dict[str, np.ndarray], fresh: bool, where: str) -> None:
    """Every array (finite already) within its bound; in a learner that holds no step yet
    (fresh: TD's has_prev 0, the actor-critic's fed 0) the states and traces all zero."""
    for name, a in arrays.items():
        if name == "obs_m2":
            continue
        limit = (INPUT_LIMIT if name in INPUT_ARRAYS else
                 VALUE_LIMIT ** 2 if name in ELIGIBILITY_ARRAYS else VALUE_LIMIT)
        if a.size and np.max(np.abs(a.astype(np.float64))) > limit:  # in double, as C
            raise ValueError(f"{where} has {name} beyond +-{limit:g}")
    for name, a in arrays.items():
        if fresh and name.split(".")[-1] in ("state", "traces_unit", "traces_weight", "z",
                                             "z_v", "z_pi") and np.any(a != 0):
            raise ValueError(f"{where} has {name} not zero in a learner that holds no step yet")


def _cell_arrays(cell: Cell, prefix: str = "") -> Dict[str, np.ndarray]:
    """The cell's arrays of a payload, as copies (names as cell_array_sizes)."""
    traces_weight = [cell.dc_dwc, cell.dd_dwc]
    if cell.kind == "nonlinear":
        traces_weight += [cell.dc_dwd, cell.dd_dwd]
    return {
        f"{prefix}params": cell.params.copy(),
        f"{prefix}state": np.concatenate([cell.c, cell.d, cell.h] +
                                         ([cell.x] if cell.kind == "lru" else [])),
        f"{prefix}traces_unit": np.concatenate([cell.dc_dnu, cell.dd_dnu, cell.dc_dtheta,
                                                cell.dd_dtheta]),
        # input-major, as the cell stores them (rtu.h)
        f"{prefix}traces_weight": np.concatenate([t.T.reshape(-1) for t in traces_weight]),
    }


def _check_target(ckpt, expect: dict, path: PathLike) -> None:
    """A decoded checkpoint matches the learner it goes into (expect: attribute -> value)."""
    for key, value in expect.items():
        if getattr(ckpt, key) != value:
            raise ValueError(f"{_where(path)} does not match this learner: its {key} is "
                             f"{getattr(ckpt, key)!r}, the learner's is {value!r}")


def _cell_expect(cell: Cell) -> dict:
    return {"precision": 8, "kind": cell.kind, "activation": cell.activation,
            "n_in": cell.n_in, "n_hidden": cell.n_hidden}


def _restore_cell(cell: Cell, a: Dict[str, np.ndarray], prefix: str = "") -> None:
    """Copy the cell's arrays in (the derived cache is the caller's: Cell.refresh)."""
    n, nd = cell.n_hidden, cell.n_hidden * cell.n_in
    cell.params[:] = a[f"{prefix}params"]
    state = a[f"{prefix}state"]
    cell.c[:], cell.d[:], cell.h[:] = state[:n], state[n:2 * n], state[2 * n:4 * n]
    if cell.kind == "lru":
        cell.x[:] = state[4 * n:]
    u = a[f"{prefix}traces_unit"]
    cell.dc_dnu[:], cell.dd_dnu[:] = u[:n], u[n:2 * n]
    cell.dc_dtheta[:], cell.dd_dtheta[:] = u[2 * n:3 * n], u[3 * n:]
    w = a[f"{prefix}traces_weight"].reshape(-1, cell.n_in, n).transpose(0, 2, 1)
    cell.dc_dwc[:], cell.dd_dwc[:] = w[0], w[1]
    if cell.kind == "nonlinear":
        cell.dc_dwd[:], cell.dd_dwd[:] = w[2], w[3]
    assert w.shape[0] * nd == a[f"{prefix}traces_weight"].size


# -- TD(lambda), learner type 1 -------------------------------------------------------------------

def td_array_sizes(kind: str, n_in: int, n_hidden: int) -> Dict[str, int]:
    """The arrays of a TD payload, in their order, with their lengths in reals."""
    sizes = cell_array_sizes(kind, n_in, n_hidden)
    sizes.update(head=2 * n_hidden + 1, z=cell_params(kind, n_in, n_hidden) + 2 * n_hidden + 1)
    return sizes


def td_payload_bytes(kind: str, n_in: int, n_hidden: int, precision: int) -> int:
    return TD_FIXED.size + precision * (6 + sum(td_array_sizes(kind, n_in, n_hidden).values()))


def td_checkpoint_bytes(kind: str, n_in: int, n_hidden: int, precision: int) -> int:
    """rtu_td_checkpoint_size: header, payload and CRC."""
    return HEADER_BYTES + td_payload_bytes(kind, n_in, n_hidden, precision) + CRC_BYTES


class _Reals:
    """What both checkpoint records share: the numpy dtype of their precision (4 or 8 bytes)."""

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float32 if self.precision == 4 else np.float64)


@dataclasses.dataclass
class TDCheckpoint(_Reals):
    """Everything a TD(lambda) checkpoint holds. ``arrays`` maps the names of td_array_sizes to
    1-d arrays of the checkpoint's precision (float32 for 4, float64 for 8)."""

    precision: int
    kind: str
    activation: str
    n_in: int
    n_hidden: int
    config: TDConfig
    steps: int
    v_prev: float
    z_norm1: float
    has_prev: bool
    arrays: Dict[str, np.ndarray]


def encode(ckpt: TDCheckpoint) -> bytes:
    """The bytes of ckpt, as rtu_td_save writes them."""
    dt = _encoding_dtype(ckpt.precision)
    cfg = ckpt.config
    payload = b"".join([
        np.array([cfg.gamma, cfg.lambda_, cfg.alpha, cfg.kappa, ckpt.v_prev, ckpt.z_norm1],
                 dtype=dt).tobytes(),
        TD_FIXED.pack(1 if ckpt.has_prev else 0),
        _encode_arrays(ckpt.arrays, td_array_sizes(ckpt.kind, ckpt.n_in, ckpt.n_hidden), dt)])
    return _frame(LEARNER_TD, ckpt.precision, ckpt.kind, ckpt.activation, ckpt.n_in,
                  ckpt.n_hidden, cfg.optimizer, ckpt.steps, payload)


def decode(data: bytes, path: PathLike = "<bytes>", expect: Optional[dict] = None) -> TDCheckpoint:
    """Parse and check a TD(lambda) checkpoint. ``expect`` may hold any of
    precision, kind, activation, n_in, n_hidden that the checkpoint must match (the learner it will
    go into). Raises ValueError naming path and the fault."""
    data = bytes(data)
    where = _where(path)
    h = _check_header(_unframe(data, where), where, LEARNER_TD)
    if any(h.shape.values()):
        raise ValueError(f"{where} is a TD(lambda) checkpoint with actor-critic fields in its "
                         f"header: {h.shape}")
    _check_expect(_header_fields(h), expect, where)
    kind, n_in, n_hidden, precision = h.kind, h.n_in, h.n_hidden, h.precision
    expected_payload = td_payload_bytes(kind, n_in, n_hidden, precision)
    if h.payload_len != expected_payload:
        raise ValueError(f"{where} has a {h.payload_len}-byte payload; a {kind} TD learner with "
                         f"n_in={n_in}, n_hidden={n_hidden} and {precision}-byte reals has "
                         f"{expected_payload}")
    dt = _real_dtype(precision)
    offset = h.payload_at
    scalars = np.frombuffer(data, dtype=dt, count=6, offset=offset)
    offset += 6 * precision
    has_prev = TD_FIXED.unpack_from(data, offset)[0]
    offset += TD_FIXED.size
    if not np.all(np.isfinite(scalars)):
        raise ValueError(f"{where} has a non-finite hyperparameter or scalar "
                         "(gamma, lambda, alpha, kappa, v_prev, z_norm1)")
    gamma, lambda_, alpha, kappa, v_prev, z_norm1 = (float(v) for v in scalars)
    config = TDConfig(gamma, lambda_, alpha, kappa, h.optimizer)
    try:
        config.check()
    except ValueError as err:
        raise ValueError(f"{where} has an invalid config: {err}") from None
    if has_prev > 1:
        raise ValueError(f"{where} has has_prev={has_prev}; 0 or 1 expected")
    if abs(v_prev) > VALUE_LIMIT:
        raise ValueError(f"{where} has v_prev beyond +-{VALUE_LIMIT:g}")
    if not has_prev and (v_prev != 0 or z_norm1 != 0):
        raise ValueError(f"{where} has v_prev or z_norm1 not zero before the first step")
    arrays = _read_arrays(data, offset, td_array_sizes(kind, n_in, n_hidden), dt, where)
    _check_log_params(arrays["params"], n_hidden, where)
    _check_arrays(arrays, not has_prev, where)
    _check_features(arrays["state"], kind, h.activation, n_hidden, "state", where)
    norm = float(np.sum(np.abs(arrays["z"].astype(np.float64))))
    if not z_norm1 >= 0.5 * norm:  # not below |z|_1 but for rounding (the wrap may lower |z|_1)
        raise ValueError(f"{where} has z_norm1 {z_norm1!r} below |z|_1 = {norm!r}")
    return TDCheckpoint(precision, kind, h.activation, n_in, n_hidden, config, h.steps, v_prev,
                        z_norm1, bool(has_prev), arrays)


def from_reference(td: TD) -> TDCheckpoint:
    """The checkpoint of a reference TD (float64), as copies."""
    cell = td.cell
    arrays = _cell_arrays(cell)
    arrays.update(head=td.head.copy(), z=td.z.copy())
    return TDCheckpoint(8, cell.kind, cell.activation, cell.n_in, cell.n_hidden, td.config,
                        int(td.steps), float(td.v_prev), float(td.z_norm1), bool(td.has_prev),
                        arrays)


def restore_reference(td: TD, ckpt: TDCheckpoint, path: PathLike = "<bytes>") -> None:
    """Copy a decoded checkpoint into a reference TD of the same configuration, then recompute
    the cell's derived cache (Cell.refresh). The checkpoint must be float64."""
    cell = td.cell
    _check_target(ckpt, _cell_expect(cell), path)
    _restore_cell(cell, ckpt.arrays)
    td.head[:] = ckpt.arrays["head"]
    td.z[:] = ckpt.arrays["z"]
    td.config = ckpt.config
    td.v_prev, td.z_norm1, td.has_prev = ckpt.v_prev, ckpt.z_norm1, ckpt.has_prev
    td.steps = ckpt.steps
    cell.refresh()


def save_reference(td: TD, path: PathLike) -> None:
    data = encode(from_reference(td))
    decode(data, path)  # never write what load would refuse (a diverged learner)
    write_atomic(path, data)


def load_reference(td: TD, path: PathLike) -> None:
    """Restore td from the file at path; on any error td is untouched."""
    ckpt = decode(read_file(path), path, expect=_cell_expect(td.cell))
    restore_reference(td, ckpt, path)


# -- actor-critic, learner type 2 ------------------------------------------------------------------

def ac_n_x(n_obs: int, network: ACNetwork, n_actions: int) -> int:
    """The network's input: the observation, the previous action, the previous reward."""
    return n_obs + (n_actions if network.prev_action else 0) + (network.prev_reward != "none")


def ac_head_params(n_hidden: int, n_head: int, n_out: int) -> int:
    """A head's parameters: [W_1 (k x 2n), b_1 (k)] then W_2 (o x k'), b_2 (o)."""
    n2 = 2 * n_hidden
    return n_head * (n2 + 1) + n_out * (n_head + 1) if n_head else n_out * (n2 + 1)


def ac_trunks(network: ACNetwork) -> tuple:
    """The name prefixes of the trunks, in payload order."""
    return ("shared.",) if network.shared else ("critic.", "actor.")


def ac_array_sizes(kind: str, n_obs: int, n_hidden: int, network: ACNetwork, action_kind: str,
                   n_actions: int) -> Dict[str, int]:
    """The arrays of an actor-critic payload, in their order, with their lengths in reals."""
    n_x = ac_n_x(n_obs, network, n_actions)
    m, k = network.n_embed, network.n_head
    n_e = m if m else n_x
    embed = m * (n_x + 1)
    heads = {"critic.head": ac_head_params(n_hidden, k, 1),
             "actor.head": ac_head_params(
                 n_hidden, k, (2 if action_kind == "continuous" else 1) * n_actions)}
    sizes = {}
    for prefix in ac_trunks(network):
        if m:
            sizes[f"{prefix}embed"] = embed
        sizes.update(cell_array_sizes(kind, n_e, n_hidden, prefix))
    sizes.update(heads)
    trunk_params = embed + cell_params(kind, n_e, n_hidden)
    sizes.update(z_v=trunk_params + heads["critic.head"], z_pi=trunk_params + heads["actor.head"],
                 obs_mean=n_obs, obs_m2=n_obs, obs_last=n_obs, x=n_x)
    return sizes


def ac_payload_bytes(kind: str, n_obs: int, n_hidden: int, network: ACNetwork, action_kind: str,
                     n_actions: int, precision: int) -> int:
    """The payload's bytes."""
    sizes = ac_array_sizes(kind, n_obs, n_hidden, network, action_kind, n_actions)
    reward = AC_REWARD_COUNT.size + precision * len(AC_REWARD_STATS)
    return AC_FIXED.size + precision * (len(AC_CONFIG_REALS) + len(AC_STATS) +
                                        sum(sizes.values())) + reward


def ac_checkpoint_bytes(kind: str, n_obs: int, n_hidden: int, network: ACNetwork,
                        action_kind: str, n_actions: int, precision: int) -> int:
    """rtu_ac_checkpoint_size (RTU_AC_CHECKPOINT_BYTES): header, payload and CRC."""
    return (HEADER_BYTES + CRC_BYTES +
            ac_payload_bytes(kind, n_obs, n_hidden, network, action_kind, n_actions, precision))


@dataclasses.dataclass
class ACCheckpoint(_Reals):
    """Everything an actor-critic checkpoint holds. ``arrays`` maps the names of ac_array_sizes
    to 1-d arrays of the checkpoint's precision; ``acted`` is always False in a checkpoint that
    decodes (none is taken between act and learn)."""

    precision: int
    kind: str
    activation: str
    n_obs: int
    n_hidden: int
    network: ACNetwork
    action_kind: str
    n_actions: int
    config: ACConfig
    steps: int
    episodes: int
    obs_count: int
    ret_count: int
    rng_state: int
    rng_inc: int
    fed: bool
    acted: bool
    ret_trace: float
    ret_mean: float
    ret_m2: float
    arrays: Dict[str, np.ndarray]
    reward_count: int = 0       # the previous-reward input's statistics (0 in version 2)
    reward_mean: float = 0.0
    reward_m2: float = 0.0

    def sizes(self) -> Dict[str, int]:
        return ac_array_sizes(self.kind, self.n_obs, self.n_hidden, self.network,
                              self.action_kind, self.n_actions)


def _shape_fields(network: ACNetwork, action_kind: str, n_actions: int) -> tuple:
    return (network.n_embed, network.n_head, int(network.shared), int(network.prev_action),
            PREV_REWARD.index(network.prev_reward),
            int(network.memoryless), ACTION_KINDS.index(action_kind),
            n_actions)


def encode_ac(ckpt: ACCheckpoint) -> bytes:
    """The bytes of ckpt, as rtu_ac_save writes them."""
    dt = _encoding_dtype(ckpt.precision)
    cfg = ckpt.config
    reward = [AC_REWARD_COUNT.pack(ckpt.reward_count),
              np.array([ckpt.reward_mean, ckpt.reward_m2], dtype=dt).tobytes()]
    payload = b"".join([
        AC_FIXED.pack(int(bool(cfg.normalize_obs)), int(bool(cfg.scale_reward)),
                      int(bool(ckpt.fed)), int(bool(ckpt.acted)), ckpt.episodes, ckpt.obs_count,
                      ckpt.ret_count, ckpt.rng_state, ckpt.rng_inc),
        np.array([getattr(cfg, name) for name in AC_CONFIG_REALS] +
                 [ckpt.ret_trace, ckpt.ret_mean, ckpt.ret_m2], dtype=dt).tobytes(),
        _encode_arrays(ckpt.arrays, ckpt.sizes(), dt), *reward])
    return _frame(LEARNER_ACTOR_CRITIC, ckpt.precision, ckpt.kind, ckpt.activation, ckpt.n_obs,
                  ckpt.n_hidden, cfg.optimizer, ckpt.steps, payload,
                  _shape_fields(ckpt.network, ckpt.action_kind, ckpt.n_actions))


def _ac_shape(h: _Header, where: str) -> tuple:
    """The network, action kind and n_actions of an actor-critic header (rtu_ac_check_shape's
    rules)."""
    s = h.shape
    for name in ("shared", "prev_action", "memoryless"):
        if s[name] > 1:
            raise ValueError(f"{where} has {name}={s[name]}; 0 or 1 expected")
    if s["prev_reward"] >= len(PREV_REWARD):
        raise ValueError(f"{where} has prev_reward={s['prev_reward']}; 0 to "
                         f"{len(PREV_REWARD) - 1} expected")
    if s["n_embed"] > MAX_DIM or s["n_head"] > MAX_DIM:
        raise ValueError(f"{where} has n_embed={s['n_embed']}, n_head={s['n_head']}; each must "
                         f"lie in [0, {MAX_DIM}]")
    if s["action_kind"] >= len(ACTION_KINDS):
        raise ValueError(f"{where} has an unknown action kind {s['action_kind']}")
    action_kind = ACTION_KINDS[s["action_kind"]]
    minimum = 2 if action_kind == "discrete" else 1
    if not minimum <= s["n_actions"] <= MAX_DIM:
        raise ValueError(f"{where} has n_actions={s['n_actions']}; {action_kind} actions need "
                         f"[{minimum}, {MAX_DIM}]")
    network = ACNetwork(n_embed=s["n_embed"], n_head=s["n_head"], shared=bool(s["shared"]),
                        prev_action=bool(s["prev_action"]),
                        prev_reward=PREV_REWARD[s["prev_reward"]],
                        memoryless=bool(s["memoryless"]))
    try:
        network.check()
    except ValueError as err:
        raise ValueError(f"{where} has an invalid network: {err}") from None
    return network, action_kind, s["n_actions"]


def decode_ac(data: bytes, path: PathLike = "<bytes>",
              expect: Optional[dict] = None) -> ACCheckpoint:
    """Parse and check an actor-critic checkpoint (in rtu_ac_load's order). ``expect`` may hold
    any of precision, kind, activation, n_in (= n_obs), n_hidden, action_kind, n_actions and the
    fields of ACNetwork (n_embed, n_head, shared, prev_action, prev_reward, memoryless) that the
    checkpoint must match. Raises ValueError naming path and the fault."""
    data = bytes(data)
    where = _where(path)
    h = _check_header(_unframe(data, where), where, LEARNER_ACTOR_CRITIC)
    network, action_kind, n_actions = _ac_shape(h, where)
    found = _header_fields(h)
    found.update(dataclasses.asdict(network), n_obs=h.n_in, action_kind=action_kind,
                 n_actions=n_actions)
    _check_expect(found, expect, where)
    kind, n_obs, n_hidden, precision = h.kind, h.n_in, h.n_hidden, h.precision
    expected_payload = ac_payload_bytes(kind, n_obs, n_hidden, network, action_kind, n_actions,
                                        precision)
    if h.payload_len != expected_payload:
        raise ValueError(f"{where} has a {h.payload_len}-byte payload; a {kind} actor-critic "
                         f"with n_obs={n_obs}, n_hidden={n_hidden}, {network}, {n_actions} "
                         f"{action_kind} actions and {precision}-byte reals has "
                         f"{expected_payload}")
    (normalize_obs, scale_reward, fed, acted, episodes, obs_count, ret_count, rng_state,
     rng_inc) = AC_FIXED.unpack_from(data, h.payload_at)
    dt = _real_dtype(precision)
    offset = h.payload_at + AC_FIXED.size
    count = len(AC_CONFIG_REALS) + len(AC_STATS)
    scalars = np.frombuffer(data, dtype=dt, count=count, offset=offset)
    offset += count * precision
    if not np.all(np.isfinite(scalars)):
        raise ValueError(f"{where} has a non-finite hyperparameter or statistic "
                         f"({', '.join(AC_CONFIG_REALS + AC_STATS)})")
    values = [float(v) for v in scalars]
    for name, flag in (("normalize_obs", normalize_obs), ("scale_reward", scale_reward),
                       ("fed", fed), ("acted", acted)):
        if flag > 1:
            raise ValueError(f"{where} has {name}={flag}; 0 or 1 expected")
    config = ACConfig(**dict(zip(AC_CONFIG_REALS, values)), optimizer=h.optimizer,
                      normalize_obs=bool(normalize_obs), scale_reward=bool(scale_reward))
    try:
        config.check()
    except ValueError as err:
        raise ValueError(f"{where} has an invalid config: {err}") from None
    if rng_inc % 2 == 0:
        raise ValueError(f"{where} has an even PRNG increment {rng_inc:#x}; PCG32 needs it odd")
    sizes = ac_array_sizes(kind, n_obs, n_hidden, network, action_kind, n_actions)
    arrays = _read_arrays(data, offset, sizes, dt, where)
    offset += precision * sum(sizes.values())
    reward_count = AC_REWARD_COUNT.unpack_from(data, offset)[0]
    reward_stats = np.frombuffer(data, dtype=dt, count=2,
                                 offset=offset + AC_REWARD_COUNT.size).astype(np.float64)
    for prefix in ac_trunks(network):
        _check_log_params(arrays[f"{prefix}params"], n_hidden, where)
    _check_arrays(arrays, not fed, where)
    if not np.all(np.isfinite(reward_stats)):
        raise ValueError(f"{where} has NaN or Inf in reward_mean or reward_m2")
    reward_mean, reward_m2 = (float(v) for v in reward_stats)
    for prefix in ac_trunks(network):
        _check_features(arrays[f"{prefix}state"], kind, h.activation, n_hidden,
                        f"{prefix}state", where)
    _check_ac_stats(config, h.steps, episodes, obs_count, ret_count,
                    *values[len(AC_CONFIG_REALS):], arrays, where)
    _check_reward_stats(config, network, h.steps, reward_count, reward_mean, reward_m2, where)
    if acted:
        raise ValueError(f"{where} was taken between act and learn (acted = 1); checkpoints are "
                         "taken after learn")
    return ACCheckpoint(precision, kind, h.activation, n_obs, n_hidden, network, action_kind,
                        n_actions, config, h.steps, episodes, obs_count, ret_count, rng_state,
                        rng_inc, bool(fed), False, *values[len(AC_CONFIG_REALS):], arrays,
                        reward_count, reward_mean, reward_m2)


def _check_ac_stats(config: ACConfig, steps: int, episodes: int, obs_count: int, ret_count: int,
                    ret_trace: float, ret_mean: float, ret_m2: float, arrays: dict,
                    where: str) -> None:
    """The counters and the running statistics as a learner can hold them (check_stats of
    rtu_ckpt.c)."""
    if obs_count > COUNT_LIMIT or ret_count > COUNT_LIMIT:
        raise ValueError(f"{where} has obs_count {obs_count} or ret_count {ret_count} beyond "
                         "2^53")
    if episodes > steps or ret_count > steps or steps > obs_count:
        raise ValueError(f"{where} has episodes {episodes} or ret_count {ret_count} above steps "
                         f"{steps}, or steps above obs_count {obs_count}")
    if ret_m2 < 0:
        raise ValueError(f"{where} has ret_m2 below 0 (a sum of squares)")
    if not config.scale_reward and (ret_count or ret_trace or ret_mean or ret_m2):
        raise ValueError(f"{where} has reward statistics with scale_reward off")
    if (ret_count == 0 and (ret_trace or ret_mean)) or (ret_count <= 1 and ret_m2):
        raise ValueError(f"{where} has reward statistics before ret_count returns make them")
    bound = 2.0 * INPUT_LIMIT * ret_count
    if abs(ret_trace) > bound or abs(ret_mean) > bound or ret_m2 > ret_count * 4 * bound ** 2:
        raise ValueError(f"{where} has reward statistics beyond what {ret_count} rewards give")
    mean, m2 = arrays["obs_mean"].astype(np.float64), arrays["obs_m2"].astype(np.float64)
    if np.any(m2 < 0):
        raise ValueError(f"{where} has obs_m2 below 0 (a sum of squares)")
    if not config.normalize_obs and (np.any(mean != 0) or np.any(m2 != 0)):
        raise ValueError(f"{where} has observation statistics with normalize_obs off")
    if (obs_count == 0 and np.any(mean != 0)) or (obs_count <= 1 and np.any(m2 != 0)):
        raise ValueError(f"{where} has observation statistics before obs_count observations "
                         "make them")
    if np.any(m2 > 8.0 * INPUT_LIMIT ** 2 * obs_count):
        raise ValueError(f"{where} has obs_m2 beyond what {obs_count} observations give")


def _check_reward_stats(config: ACConfig, network: ACNetwork, steps: int, count: int,
                        mean: float, m2: float, where: str) -> None:
    """The previous-reward input's statistics as a learner can hold them (check_stats of
    rtu_ckpt.c): kept with prev_reward (mean and m2 with normalize_obs too when normalised,
    always with the sign centred or gated (the signs'), never with the plain sign), counted by
    learn."""
    if count > COUNT_LIMIT:
        raise ValueError(f"{where} has reward_count {count} beyond 2^53")
    if count > steps:
        raise ValueError(f"{where} has reward_count {count} above steps {steps}")
    if m2 < 0:
        raise ValueError(f"{where} has reward_m2 below 0 (a sum of squares)")
    if network.prev_reward == "none" and (count or mean or m2):
        raise ValueError(f"{where} has previous-reward statistics with prev_reward off")
    if network.prev_reward == "normalized" and not config.normalize_obs and (mean or m2):
        raise ValueError(f"{where} has previous-reward statistics with normalize_obs off")
    if network.prev_reward == "sign" and (mean or m2):
        raise ValueError(f"{where} has previous-reward statistics with the reward's sign as input")
    if (count == 0 and mean) or (count <= 1 and m2):
        raise ValueError(f"{where} has previous-reward statistics before reward_count rewards "
                         "make them")
    if abs(mean) > INPUT_LIMIT or m2 > 8.0 * INPUT_LIMIT ** 2 * count:
        raise ValueError(f"{where} has previous-reward statistics beyond what {count} rewards "
                         "give")


def from_reference_ac(ac: AC) -> ACCheckpoint:
    """The checkpoint of a reference AC (float64), as copies."""
    arrays = {}
    for prefix, trunk in zip(ac_trunks(ac.network), ac.trunk):
        if trunk.n_embed:
            arrays[f"{prefix}embed"] = trunk.embed.copy()
        arrays.update(_cell_arrays(trunk.cell, prefix))
    arrays.update({"critic.head": ac.head[0].params.copy(), "actor.head": ac.head[1].params.copy(),
                   "z_v": ac.z_v.copy(), "z_pi": ac.z_pi.copy(), "obs_mean": ac.obs_mean.copy(),
                   "obs_m2": ac.obs_m2.copy(), "obs_last": ac.obs_last.copy(), "x": ac.x.copy()})
    return ACCheckpoint(8, ac.kind, ac.activation, ac.n_obs, ac.n_hidden, ac.network,
                        ac.action_kind, int(ac.n_actions), ac.config, int(ac.steps),
                        int(ac.episodes), int(ac.obs_count), int(ac.ret_count),
                        int(ac.rng.state), int(ac.rng.inc), bool(ac.fed), bool(ac.acted),
                        float(ac.ret_trace), float(np.asarray(ac.ret_mean).reshape(-1)[0]),
                        float(np.asarray(ac.ret_m2).reshape(-1)[0]), arrays,
                        int(ac.reward_count), float(ac.reward_mean[0]), float(ac.reward_m2[0]))


def reference_ac_bytes(ac: AC, path: PathLike = "of this learner") -> bytes:
    """The checkpoint bytes of a reference AC, checked as decode_ac checks them: ValueError for
    a learner that could not be restored (diverged), RuntimeError between act and learn (a
    diverged learn leaves the learner there: its divergence is reported first), as rtu_ac_save."""
    ckpt = from_reference_ac(ac)
    pending = ckpt.acted
    data = encode_ac(dataclasses.replace(ckpt, acted=False))
    decode_ac(data, path)  # never write what load would refuse (a diverged learner)
    if pending:
        raise RuntimeError(SAVE_AFTER_LEARN)
    return data


def _ac_expect(ac: AC) -> dict:
    """What a checkpoint must match to go into the reference AC ac."""
    return {"precision": 8, "kind": ac.kind, "activation": ac.activation, "n_obs": ac.n_obs,
            "n_hidden": ac.n_hidden, "network": ac.network, "action_kind": ac.action_kind,
            "n_actions": ac.n_actions}


def restore_reference_ac(ac: AC, ckpt: ACCheckpoint, path: PathLike = "<bytes>") -> None:
    """Copy a decoded checkpoint into a reference AC of the same shape, then recompute each
    cell's derived cache (Cell.refresh) and, when fed, the forward activations (AC.refresh_forward),
    as rtu_ac_load does. The checkpoint must be float64."""
    _check_target(ckpt, _ac_expect(ac), path)
    a = ckpt.arrays
    for prefix, trunk in zip(ac_trunks(ac.network), ac.trunk):
        if trunk.n_embed:
            trunk.embed[:] = a[f"{prefix}embed"]
        _restore_cell(trunk.cell, a, prefix)
    ac.head[0].params[:] = a["critic.head"]
    ac.head[1].params[:] = a["actor.head"]
    for name in ("z_v", "z_pi", "obs_mean", "obs_m2", "obs_last", "x"):
        getattr(ac, name)[:] = a[name]
    ac.config = ckpt.config
    ac.steps, ac.episodes = ckpt.steps, ckpt.episodes
    ac.obs_count, ac.ret_count = ckpt.obs_count, ckpt.ret_count
    ac.rng.state, ac.rng.inc = ckpt.rng_state, ckpt.rng_inc
    ac.fed, ac.acted = ckpt.fed, False
    ac.ret_trace = ckpt.ret_trace
    ac.ret_mean[:] = ckpt.ret_mean
    ac.ret_m2[:] = ckpt.ret_m2
    ac.reward_count = ckpt.reward_count
    ac.reward_mean[:] = ckpt.reward_mean
    ac.reward_m2[:] = ckpt.reward_m2
    for trunk in ac.trunk:
        if trunk is not None:
            trunk.cell.refresh()
    ac.refresh_forward()


def ppo_adam_reals(kind: str, n_obs: int, n_hidden: int, network: ACNetwork, action_kind: str,
                   n_actions: int) -> int:
    """G, the reals of each Adam moment: the critic network's parameters, then the actor's (as
    z_v and z_pi; a shared trunk's twice)."""
    sizes = ac_array_sizes(kind, n_obs, n_hidden, network, action_kind, n_actions)
    return sizes["z_v"] + sizes["z_pi"]


@dataclasses.dataclass
class PPOAdamCheckpoint:
    """Everything PPO's Adam state holds (learner type 3): its network's header fields, the
    step counter, Adam's steps and the two moments (G reals each)."""

    precision: int
    kind: str
    activation: str
    n_obs: int
    n_hidden: int
    network: ACNetwork
    action_kind: str
    n_actions: int
    steps: int
    adam_steps: int
    adam_m: np.ndarray
    adam_v: np.ndarray


def decode_ppo_adam(data: bytes, path: PathLike = "<bytes>") -> PPOAdamCheckpoint:
    """Parse and check PPO's Adam state: framing, header, payload length (8 + 2G reals), every
    real finite, adam_v >= 0, both moments zero before the first Adam step. ValueError naming
    path and the fault."""
    data = bytes(data)
    where = _where(path)
    h = _check_header(_unframe(data, where), where, LEARNER_PPO_ADAM)
    network, action_kind, n_actions = _ac_shape(h, where)
    g = ppo_adam_reals(h.kind, h.n_in, h.n_hidden, network, action_kind, n_actions)
    if h.payload_len != 8 + 2 * g * h.precision:
        raise ValueError(f"{where} has a payload of {h.payload_len} bytes; its network's Adam "
                         f"state takes {8 + 2 * g * h.precision}")
    adam_steps = struct.unpack_from("<Q", data, h.payload_at)[0]
    a = _read_arrays(data, h.payload_at + 8, {"adam_m": g, "adam_v": g},
                     _encoding_dtype(h.precision), where)
    if np.any(a["adam_v"] < 0):
        raise ValueError(f"{where} has adam_v below 0")
    if adam_steps == 0 and (np.any(a["adam_m"] != 0) or np.any(a["adam_v"] != 0)):
        raise ValueError(f"{where} has nonzero moments before the first Adam step")
    return PPOAdamCheckpoint(h.precision, h.kind, h.activation, h.n_in, h.n_hidden, network,
                             action_kind, n_actions, h.steps, adam_steps, a["adam_m"],
                             a["adam_v"])


def decode_any(data: bytes, path: PathLike = "<bytes>"
               ) -> Union[TDCheckpoint, ACCheckpoint, PPOAdamCheckpoint]:
    """A TD or actor-critic checkpoint or PPO's Adam state, whichever data holds (its header's
    learner type), fully checked as decode / decode_ac / decode_ppo_adam check them."""
    data = bytes(data)
    where = _where(path)
    learner = _unframe(data, where)[0][2]  # length, magic, version and CRC checked first
    if learner == LEARNER_TD:
        return decode(data, path)
    if learner == LEARNER_ACTOR_CRITIC:
        return decode_ac(data, path)
    if learner == LEARNER_PPO_ADAM:
        return decode_ppo_adam(data, path)
    raise ValueError(f"{where} holds an unknown learner type {learner} (1: TD(lambda), "
                     "2: actor-critic, 3: PPO's Adam state)")
