"""Checkpoints in Python: the binary format of c_src/rtu_ckpt.h (the table of fields is there),
written and read for the numpy reference TD learner, byte for byte what rtu_td_save writes for
the same state, and the atomic file writing that every backend uses.

- ``encode(ckpt)`` / ``decode(data, path, expect)``: a ``TDCheckpoint`` to bytes and back; decode
  checks everything rtu_td_load checks (length, magic, version, CRC, learner type, precision,
  sizes, config ranges, finite reals, |nu_log|, |theta_log| <= 20) and raises a ``ValueError``
  that names the path and what is wrong.
- ``from_reference(td)`` / ``restore_reference(td, ckpt)``: a reference ``TD``'s state in and out.
- ``write_atomic(path, data)``: temporary file in the same directory, flush, fsync, os.replace,
  fsync of the directory; on failure the previous file is intact and no temporary file is left.
- ``save_reference(td, path)`` / ``load_reference(td, path)``: the two together.

Unlike rtu_td_load, which ignores bytes after the CRC (a checkpoint read from a larger flash
sector), ``decode`` refuses them: a checkpoint file holds exactly one checkpoint.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import struct
import tempfile
import zlib
from typing import Dict, Optional, Union

import numpy as np

from .reference.cell import ACTIVATIONS, KINDS, LOG_PARAM_LIMIT, cell_params
from .reference.td import OPTIMIZERS, TD, TDConfig

MAGIC = b"RTUEDGE\0"
VERSION = 1
LEARNER_TD = 1
LEARNER_ACTOR_CRITIC = 2  # reserved
LEARNER_NAMES = {LEARNER_TD: "TD(lambda)", LEARNER_ACTOR_CRITIC: "actor-critic"}
#: magic, version, learner type, precision, kind, activation, n_in, n_hidden, optimizer, steps,
#: payload length
HEADER = struct.Struct("<8s8IQQ")
HEADER_BYTES = HEADER.size  # 56
CRC_BYTES = 4
TD_FIXED = struct.Struct("<I")  # has_prev, after the six leading reals

PathLike = Union[str, os.PathLike]


def td_array_sizes(kind: str, n_in: int, n_hidden: int) -> Dict[str, int]:
    """The arrays of a TD payload, in their order, with their lengths in reals."""
    n, nd = n_hidden, n_hidden * n_in
    p_cell = cell_params(n_in, n_hidden)
    traces = 4 * nd if kind == "nonlinear" else 2 * nd
    return {"params": p_cell, "state": 4 * n, "traces_unit": 4 * n, "traces_weight": traces,
            "head": 2 * n + 1, "z": p_cell + 2 * n + 1}


def td_payload_bytes(kind: str, n_in: int, n_hidden: int, precision: int) -> int:
    return TD_FIXED.size + precision * (6 + sum(td_array_sizes(kind, n_in, n_hidden).values()))


def td_checkpoint_bytes(kind: str, n_in: int, n_hidden: int, precision: int) -> int:
    """rtu_td_checkpoint_size: header, payload and CRC."""
    return HEADER_BYTES + td_payload_bytes(kind, n_in, n_hidden, precision) + CRC_BYTES


@dataclasses.dataclass
class TDCheckpoint:
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

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float32 if self.precision == 4 else np.float64)


def _real_dtype(precision: int) -> np.dtype:
    return np.dtype("<f4" if precision == 4 else "<f8")


def encode(ckpt: TDCheckpoint) -> bytes:
    """The bytes of ckpt, as rtu_td_save writes them."""
    if ckpt.precision not in (4, 8):
        raise ValueError(f"precision must be 4 or 8 bytes, got {ckpt.precision!r}")
    dt = _real_dtype(ckpt.precision)
    sizes = td_array_sizes(ckpt.kind, ckpt.n_in, ckpt.n_hidden)
    cfg = ckpt.config
    parts = [np.array([cfg.gamma, cfg.lambda_, cfg.alpha, cfg.kappa, ckpt.v_prev, ckpt.z_norm1],
                      dtype=dt).tobytes(),
             TD_FIXED.pack(1 if ckpt.has_prev else 0)]
    for name, size in sizes.items():
        a = np.asarray(ckpt.arrays[name]).reshape(-1)
        if a.size != size:
            raise ValueError(f"array {name} must have {size} reals, got {a.size}")
        parts.append(a.astype(dt).tobytes())
    payload = b"".join(parts)
    header = HEADER.pack(MAGIC, VERSION, LEARNER_TD, ckpt.precision, KINDS.index(ckpt.kind),
                         ACTIVATIONS.index(ckpt.activation), ckpt.n_in, ckpt.n_hidden,
                         OPTIMIZERS.index(cfg.optimizer), ckpt.steps, len(payload))
    body = header + payload
    return body + struct.pack("<I", zlib.crc32(body))


def decode(data: bytes, path: PathLike = "<bytes>", expect: Optional[dict] = None) -> TDCheckpoint:
    """Parse and check a TD(lambda) checkpoint. ``expect`` may hold any of precision, kind,
    activation, n_in, n_hidden that the checkpoint must match (the learner it will go into).
    Raises ValueError naming path and the fault."""
    data = bytes(data)
    where = f"checkpoint {os.fspath(path)}"
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
                         f"{VERSION}")
    if size < HEADER_BYTES + CRC_BYTES:
        raise ValueError(f"{where} is truncated: {size} bytes, shorter than the "
                         f"{HEADER_BYTES + CRC_BYTES}-byte header and CRC")
    (_, _, learner, precision, kind_i, act_i, n_in, n_hidden, opt_i, steps,
     payload_len) = HEADER.unpack_from(data, 0)
    total = HEADER_BYTES + payload_len + CRC_BYTES
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
    if learner != LEARNER_TD:
        name = LEARNER_NAMES.get(learner, f"unknown learner type {learner}")
        raise ValueError(f"{where} holds a {name} learner, not a TD(lambda) learner")
    if precision not in (4, 8):
        raise ValueError(f"{where} has {precision} bytes per real; 4 or 8 expected")
    if kind_i >= len(KINDS):
        raise ValueError(f"{where} has an unknown cell kind {kind_i}")
    if act_i >= len(ACTIVATIONS):
        raise ValueError(f"{where} has an unknown activation {act_i}")
    if opt_i >= len(OPTIMIZERS):
        raise ValueError(f"{where} has an unknown optimizer {opt_i}")
    if not (1 <= n_in <= 65536 and 1 <= n_hidden <= 65536):
        raise ValueError(f"{where} has n_in={n_in}, n_hidden={n_hidden}; each must lie in "
                         "[1, 65536]")
    kind, activation, optimizer = KINDS[kind_i], ACTIVATIONS[act_i], OPTIMIZERS[opt_i]
    found = {"precision": precision, "kind": kind, "activation": activation, "n_in": n_in,
             "n_hidden": n_hidden}
    for key, value in (expect or {}).items():
        if found[key] != value:
            what = {"precision": "bytes per real (4: float32, 8: float64)"}.get(key, key)
            raise ValueError(f"{where} does not match this learner: its {what} is "
                             f"{found[key]!r}, the learner's is {value!r}")
    expected_payload = td_payload_bytes(kind, n_in, n_hidden, precision)
    if payload_len != expected_payload:
        raise ValueError(f"{where} has a {payload_len}-byte payload; a {kind} TD learner with "
                         f"n_in={n_in}, n_hidden={n_hidden} and {precision}-byte reals has "
                         f"{expected_payload}")
    dt = _real_dtype(precision)
    offset = HEADER_BYTES
    scalars = np.frombuffer(data, dtype=dt, count=6, offset=offset)
    offset += 6 * precision
    has_prev = TD_FIXED.unpack_from(data, offset)[0]
    offset += TD_FIXED.size
    if not np.all(np.isfinite(scalars)):
        raise ValueError(f"{where} has a non-finite hyperparameter or scalar "
                         "(gamma, lambda, alpha, kappa, v_prev, z_norm1)")
    gamma, lambda_, alpha, kappa, v_prev, z_norm1 = (float(v) for v in scalars)
    config = TDConfig(gamma, lambda_, alpha, kappa, optimizer)
    try:
        config.check()
    except ValueError as err:
        raise ValueError(f"{where} has an invalid config: {err}") from None
    if has_prev > 1:
        raise ValueError(f"{where} has has_prev={has_prev}; 0 or 1 expected")
    arrays = {}
    for name, count in td_array_sizes(kind, n_in, n_hidden).items():
        a = np.frombuffer(data, dtype=dt, count=count, offset=offset).astype(dt.newbyteorder("="))
        offset += count * precision
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{where} has NaN or Inf in {name}")
        arrays[name] = a
    if np.max(np.abs(arrays["params"][:2 * n_hidden])) > LOG_PARAM_LIMIT:
        raise ValueError(f"{where} has |nu_log| or |theta_log| beyond {LOG_PARAM_LIMIT}")
    return TDCheckpoint(precision, kind, activation, n_in, n_hidden, config, steps, v_prev,
                        z_norm1, bool(has_prev), arrays)


# -- the reference TD learner ------------------------------------------------------------------

def from_reference(td: TD) -> TDCheckpoint:
    """The checkpoint of a reference TD (float64), as copies."""
    cell = td.cell
    traces_weight = [cell.dc_dwc, cell.dd_dwc]
    if cell.kind == "nonlinear":
        traces_weight += [cell.dc_dwd, cell.dd_dwd]
    arrays = {
        "params": cell.params.copy(),
        "state": np.concatenate([cell.c, cell.d, cell.h]),
        "traces_unit": np.concatenate([cell.dc_dnu, cell.dd_dnu, cell.dc_dtheta, cell.dd_dtheta]),
        "traces_weight": np.concatenate([t.reshape(-1) for t in traces_weight]),
        "head": td.head.copy(),
        "z": td.z.copy(),
    }
    return TDCheckpoint(8, cell.kind, cell.activation, cell.n_in, cell.n_hidden, td.config,
                        int(td.steps), float(td.v_prev), float(td.z_norm1), bool(td.has_prev),
                        arrays)


def restore_reference(td: TD, ckpt: TDCheckpoint, path: PathLike = "<bytes>") -> None:
    """Copy a decoded checkpoint into a reference TD of the same configuration, then recompute
    the cell's derived cache (Cell.refresh). The checkpoint must be float64."""
    cell = td.cell
    expect = {"precision": 8, "kind": cell.kind, "activation": cell.activation,
              "n_in": cell.n_in, "n_hidden": cell.n_hidden}
    for key, value in expect.items():
        if getattr(ckpt, key) != value:
            raise ValueError(f"checkpoint {os.fspath(path)} does not match this learner: its "
                             f"{key} is {getattr(ckpt, key)!r}, the learner's is {value!r}")
    n, nd = cell.n_hidden, cell.n_hidden * cell.n_in
    a = ckpt.arrays
    cell.params[:] = a["params"]
    cell.c[:], cell.d[:], cell.h[:] = a["state"][:n], a["state"][n:2 * n], a["state"][2 * n:]
    u = a["traces_unit"]
    cell.dc_dnu[:], cell.dd_dnu[:] = u[:n], u[n:2 * n]
    cell.dc_dtheta[:], cell.dd_dtheta[:] = u[2 * n:3 * n], u[3 * n:]
    w = a["traces_weight"].reshape(-1, n, cell.n_in)
    cell.dc_dwc[:], cell.dd_dwc[:] = w[0], w[1]
    if cell.kind == "nonlinear":
        cell.dc_dwd[:], cell.dd_dwd[:] = w[2], w[3]
    assert w.shape[0] * nd == a["traces_weight"].size
    td.head[:] = a["head"]
    td.z[:] = a["z"]
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
    cell = td.cell
    ckpt = decode(read_file(path), path, expect={
        "precision": 8, "kind": cell.kind, "activation": cell.activation, "n_in": cell.n_in,
        "n_hidden": cell.n_hidden})
    restore_reference(td, ckpt, path)


# -- files ---------------------------------------------------------------------------------------

def read_file(path: PathLike) -> bytes:
    """The bytes of a checkpoint file (OSError, naming the path, if it cannot be read)."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as err:
        raise type(err)(err.errno, f"cannot read checkpoint {os.fspath(path)}: "
                        f"{err.strerror or err}") from err


def write_atomic(path: PathLike, data: bytes) -> None:
    """Write data to path atomically: a temporary file in the same directory, flushed and
    fsynced, renamed over path (os.replace), then the directory fsynced so the rename itself is
    durable. On any failure the temporary file is removed and a previous file at path is left
    as it was; the error (an OSError) names the path."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.",
                                   suffix=".tmp")
        try:
            f = os.fdopen(fd, "wb")
        except BaseException:
            os.close(fd)
            raise
        with f:
            f.write(data)
            f.flush()
            try:  # a replaced checkpoint keeps its permissions (a new one: mkstemp's 0600)
                os.chmod(f.fileno(), stat.S_IMODE(os.stat(path).st_mode))
            except (OSError, NotImplementedError, TypeError):
                pass
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
        _fsync_directory(directory)
    except OSError as err:
        raise OSError(err.errno, f"cannot write checkpoint {path}: {err.strerror or err}") \
            from err
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _fsync_directory(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows, where a directory cannot be opened: nothing to sync
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
