"""Checkpoints: the C core is the codec (c_src/rtu_ckpt.h has the format and its table of fields).

Every learner, on either backend, saves with rtu_td_save / rtu_ac_save and restores with
rtu_td_load / rtu_ac_load, which check everything before they change the learner (the reference
learners go through a float64 C twin: ``copy_state`` in _ccore.py). This module only:

- ``read_dims(data, where)``: what a checkpoint holds (rtu_ckpt_read_dims), so that a learner can
  be built for it before it is loaded; a refusal is a ValueError that names the file and says what
  is wrong (reading the few header fields it needs for that message);
- ``check_dims(dims, learner_type, expect, where)``: the checkpoint is of the learner it goes into;
- ``read_file(path)`` and ``write_atomic(path, data)``: the files (temporary file in the same
  directory, flush, fsync, os.replace, fsync of the directory; on failure the previous file is
  intact and no temporary file is left);
- ``upgrade(data)``: a checkpoint of format version 4 as version 5 (read_file and the learners'
  ``from_bytes`` and ``load_bytes`` apply it, so a version-4 file still loads).

A checkpoint file holds exactly one checkpoint: bytes after its CRC are refused here (the C loaders
ignore them, for a checkpoint read from a larger flash sector).
"""

from __future__ import annotations

import dataclasses
import glob
import os
import stat
import struct
import tempfile
import zlib
from typing import Optional, Union

import numpy as np

from ._ccore import MAGIC, load_lib
from .reference.ac import ACTION_KINDS
from .reference.cell import ACTIVATIONS, KINDS, MAX_DIM
from .reference.config import REWARD_INPUTS, ACNetwork

#: rtu_ckpt.h's RTU_CKPT_VERSION, RTU_CKPT_HEADER_BYTES, RTU_CKPT_CRC_BYTES (macros, which cffi
#: does not see), for messages
VERSION, HEADER_BYTES, CRC_BYTES = 5, 88, 4

#: the format version that upgrade reads: version 5 less the actor-critic's phase_step_scale,
#: the last of its config's reals, which it stored 9 of after the payload's 56 leading bytes
#: (RTU_AC_CKPT_FIXED_BYTES)
UPGRADED_VERSION, V4_AC_CONFIG_REALS, AC_FIXED_BYTES = 4, 9, 56

#: rtu_learner_type: value -> (the name used in the API, the name used in messages)
LEARNER_TYPES = {1: ("td", "TD(lambda)"), 2: ("actor-critic", "actor-critic"),
                 3: ("ppo-adam", "PPO Adam state")}

PathLike = Union[str, os.PathLike]


def where(path: PathLike) -> str:
    """How messages name a checkpoint."""
    return f"checkpoint {os.fspath(path)}"


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


@dataclasses.dataclass(frozen=True)
class Dims:
    """rtu_ckpt_dims: what a checkpoint holds, to build the learner it goes into. The actor-critic's
    fields (its rtu_ac_shape beside kind, activation, n_in = n_obs and n_hidden) are 0, False or
    "discrete" for TD."""

    learner: str       # "td", "actor-critic" or "ppo-adam" (PPO's Adam state: its network's dims)
    precision: int     # bytes per real: 4 (float32) or 8 (float64)
    kind: str
    activation: str
    n_in: int          # TD: the cell's input size; actor-critic: n_obs
    n_hidden: int
    action_kind: str   # actor-critic ("discrete" for TD)
    n_actions: int     # actor-critic (0 for TD)
    steps: int
    bytes: int         # the checkpoint's length: header, payload and CRC
    n_embed: int = 0
    n_head: int = 0
    shared: bool = False
    prev_action: bool = False
    prev_reward: str = "none"  # REWARD_INPUTS[the header's prev_reward]
    memoryless: bool = False
    version: int = VERSION  # the format version

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float32 if self.precision == 4 else np.float64)

    @property
    def network(self) -> ACNetwork:
        """The actor-critic's network around its RTU."""
        return ACNetwork(n_embed=self.n_embed, n_head=self.n_head, shared=self.shared,
                         prev_action=self.prev_action, prev_reward=self.prev_reward,
                         memoryless=self.memoryless)


def read_dims(data: bytes, path: PathLike = "<bytes>") -> Dims:
    """What data holds (rtu_ckpt_read_dims: framing, CRC, learner type, dimensions); ValueError
    naming path and the fault."""
    ffi, lib = load_lib(np.dtype(np.float64))  # either build reads checkpoints of both precisions
    dims = ffi.new("rtu_ckpt_dims *")
    status = lib.rtu_ckpt_read_dims(ffi.from_buffer(data) if data else ffi.new("char[1]"),
                                    len(data), dims)
    at = where(path)
    size = len(data)
    if status == lib.RTU_ERR_CKPT_MAGIC:
        raise ValueError(f"{at} is not an rtu_edge checkpoint: bad magic {bytes(data[:8])!r}")
    if status == lib.RTU_ERR_CKPT_VERSION:
        version = struct.unpack_from("<I", data, 8)[0]
        if version == UPGRADED_VERSION:  # upgrade returned it as it was: not intact
            raise ValueError(f"{at} has format version {version} and is truncated or "
                             "corrupted (its length or CRC32 does not match its header), so it "
                             "cannot be upgraded to this rtu_edge's format")
        if version < VERSION:
            raise ValueError(f"{at} has format version {version}, written by an earlier rtu_edge "
                             "(its weights are stored in another layout, or its network no "
                             f"longer exists): this rtu_edge reads version {VERSION} only; "
                             "retrain the learner")
        raise ValueError(f"{at} has format version {version}, which this rtu_edge does not read "
                         f"(it reads version {VERSION}): update rtu_edge")
    if status == lib.RTU_ERR_CKPT_TRUNCATED:
        said = (f", its header says "
                f"{struct.unpack_from('<Q', data, 48)[0] + HEADER_BYTES + CRC_BYTES}"
                if size >= HEADER_BYTES else "")
        raise ValueError(f"{at} is truncated: {size} bytes{said}")
    if status == lib.RTU_ERR_CKPT_CRC:
        raise ValueError(f"{at} is corrupted: the CRC32 of its contents does not match the "
                         "stored one")
    if status == lib.RTU_ERR_CKPT_MISMATCH:
        raise ValueError(f"{at} {_header_fault(data)}")
    if status != lib.RTU_OK:
        raise ValueError(f"{at}: {ffi.string(lib.rtu_status_str(status)).decode()}")
    if dims.bytes < size:
        raise ValueError(f"{at} has {size - dims.bytes} unexpected bytes after its CRC "
                         f"({size} bytes, its header says {dims.bytes})")
    shape = dims.shape
    return Dims(LEARNER_TYPES[dims.learner_type][0], dims.precision, KINDS[dims.kind],
                ACTIVATIONS[dims.activation], dims.n_in, dims.n_hidden,
                ACTION_KINDS[shape.action_kind], shape.n_actions, dims.steps, dims.bytes,
                shape.n_embed, shape.n_head, bool(shape.shared), bool(shape.prev_action),
                REWARD_INPUTS[shape.prev_reward], bool(shape.memoryless), dims.version)


#: the actor-critic's shape fields of a header (offsets 56 to 84)
SHAPE_FIELDS = ("n_embed", "n_head", "shared", "prev_action", "prev_reward", "memoryless",
                "action_kind", "n_actions")


def _header_fault(data: bytes) -> str:
    """What rtu_ckpt_read_dims refused in a well-framed checkpoint, in words (the header's
    learner type, precision, kind, activation, n_in, n_hidden at offsets 12 to 32, and the
    actor-critic's shape at 56 to 84)."""
    learner, precision, kind, activation, n_in, n_hidden = struct.unpack_from("<6I", data, 12)
    shape = dict(zip(SHAPE_FIELDS, struct.unpack_from("<8I", data, 56)))
    if learner not in LEARNER_TYPES:
        return (f"holds an unknown learner type {learner} (1: TD(lambda), 2: actor-critic, "
                "3: PPO's Adam state)")
    if precision not in (4, 8):
        return f"has {precision} bytes per real; 4 or 8 expected"
    if kind >= len(KINDS) or activation >= len(ACTIVATIONS):
        return f"has an unknown cell kind {kind} or activation {activation}"
    if not (1 <= n_in <= MAX_DIM and 1 <= n_hidden <= MAX_DIM):
        return f"has n_in={n_in}, n_hidden={n_hidden}; each must lie in [1, {MAX_DIM}]"
    listed = ", ".join(f"{k}={v}" for k, v in shape.items())
    if learner == 1 and any(shape.values()):
        return f"is a TD(lambda) checkpoint with actor-critic fields in its header ({listed})"
    if learner in (2, 3):
        return (f"holds an actor-critic shape that this rtu_edge cannot build, or a payload whose "
                f"length does not fit it (n_in={n_in}, n_hidden={n_hidden}, {listed})")
    return "has a payload whose length does not fit its learner type and dimensions"


def check_dims(dims: Dims, learner: str, expect: dict, path: PathLike) -> None:
    """The checkpoint holds the learner type learner ("td", "actor-critic", "ppo-adam") and matches
    expect (any field of Dims: precision, kind, activation, n_in, n_hidden, action_kind,
    n_actions, n_embed, n_head, shared, prev_action, prev_reward, memoryless)."""
    at = where(path)
    if dims.learner != learner:
        found, wanted = (dict(LEARNER_TYPES.values())[x] for x in (dims.learner, learner))
        found = ("PPO's Adam state (a PPO run's optimizer, kept beside its checkpoint)"
                 if dims.learner == "ppo-adam" else f"{_article(found)} {found} learner")
        wanted = ("PPO's Adam state" if learner == "ppo-adam"
                  else f"{_article(wanted)} {wanted} learner")
        raise ValueError(f"{at} holds {found}, not {wanted}")
    for key, value in expect.items():
        if getattr(dims, key) != value:
            what = {"precision": "bytes per real (4: float32, 8: float64)"}.get(key, key)
            raise ValueError(f"{at} does not match this learner: its {what} is "
                             f"{getattr(dims, key)!r}, the learner's is {value!r}")


# -- files ---------------------------------------------------------------------------------------

def upgrade(data: bytes, name: PathLike = "<bytes>") -> bytes:
    """An intact checkpoint of format version 4 as the same checkpoint in version 5: an
    actor-critic's config gains phase_step_scale 1 after its std_max (its learner stepped its
    phases as every other parameter); the payloads of the other learner types are unchanged; the
    header's version and payload length and the CRC32 follow. Any other bytes (a version-5
    checkpoint, or bytes that are not an intact version-4 one) are returned as they are, for
    read_dims to accept or refuse. ValueError naming name if data is not bytes."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError(f"checkpoint {name}: a checkpoint is bytes (its file's contents), got "
                         f"{type(data).__name__}")
    data = bytes(data)
    if len(data) < HEADER_BYTES + CRC_BYTES or data[:len(MAGIC)] != MAGIC \
            or struct.unpack_from("<I", data, 8)[0] != UPGRADED_VERSION:
        return data
    length = struct.unpack_from("<Q", data, 48)[0]
    end = HEADER_BYTES + length
    if len(data) < end + CRC_BYTES or zlib.crc32(data[:end]) != \
            struct.unpack_from("<I", data, end)[0]:
        return data
    learner, precision = struct.unpack_from("<2I", data, 12)
    body = bytearray(data[:end])
    if learner == 2 and precision in (4, 8) and length >= AC_FIXED_BYTES + \
            V4_AC_CONFIG_REALS * precision:
        at = HEADER_BYTES + AC_FIXED_BYTES + V4_AC_CONFIG_REALS * precision
        body[at:at] = struct.pack("<f" if precision == 4 else "<d", 1.0)
        length += precision
    struct.pack_into("<I", body, 8, VERSION)
    struct.pack_into("<Q", body, 48, length)
    return bytes(body) + struct.pack("<I", zlib.crc32(body)) + data[end + CRC_BYTES:]


def read_file(path: PathLike) -> bytes:
    """The bytes of a checkpoint file, a version-4 one upgraded (``upgrade``); OSError, naming the
    path, if it cannot be read."""
    try:
        with open(path, "rb") as f:
            return upgrade(f.read())
    except OSError as err:
        raise type(err)(err.errno, f"cannot read checkpoint {os.fspath(path)}: "
                        f"{err.strerror or err}") from err


def _temporary_affixes(path: str) -> tuple:
    """The prefix and suffix of write_atomic's temporary files for path: ".NAME." and ".tmp"."""
    return f".{os.path.basename(path)}.", ".tmp"


def remove_temporaries(path: PathLike) -> None:
    """Remove the temporary files write_atomic(path, ...) leaves beside path when the process is
    killed while it writes (".NAME.XXXXXXXX.tmp")."""
    path = os.fspath(path)
    prefix, suffix = _temporary_affixes(path)
    directory = os.path.dirname(os.path.abspath(path))
    for tmp in glob.glob(os.path.join(glob.escape(directory), glob.escape(prefix) + "*" + suffix)):
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def unwritable(path: PathLike) -> Optional[str]:
    """Why a file at path cannot be written (write_atomic's temporary goes beside it: its
    directory must exist and be writable), or None if it can."""
    where = os.path.realpath(path)
    directory = os.path.dirname(where)
    if os.path.isdir(where):
        return f"{os.fspath(path)} is a directory"
    if not os.path.isdir(directory):
        return f"cannot write {os.fspath(path)}: no directory {directory}"
    if not os.access(directory, os.W_OK):
        return f"cannot write {os.fspath(path)}: {directory} is not writable"
    return None


def write_atomic(path: PathLike, data: bytes, what: str = "checkpoint") -> None:
    """Write data to path atomically: a temporary file in the same directory, flushed and
    fsynced, renamed over path (os.replace), then the directory fsynced so the rename itself is
    durable. On any failure the temporary file is removed and a previous file at path is left
    as it was; the error (an OSError) names what the file is and its path. A replaced file keeps
    its permissions; a new one gets those of a plain open() (0666 less the umask)."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        prefix, suffix = _temporary_affixes(path)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=prefix, suffix=suffix)
        try:
            f = os.fdopen(fd, "wb")
        except BaseException:
            os.close(fd)
            raise
        with f:
            f.write(data)
            f.flush()
            try:
                os.chmod(f.fileno(), _mode_for(path))
            except (OSError, NotImplementedError, TypeError):
                pass  # platforms without fchmod keep mkstemp's 0600
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
        _fsync_directory(directory)
    except OSError as err:
        raise OSError(err.errno, f"cannot write {what} {path}: {err.strerror or err}") from err
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _mode_for(path: str) -> int:
    """The permissions a file written to path gets: those of the file it replaces, or 0666 less
    the process umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


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
