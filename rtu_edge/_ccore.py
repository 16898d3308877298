"""The C core through cffi: one precision's library, a numpy-owned buffer, and the plumbing that
RTUCell and the learners share (pointers, views into the buffer, status codes to exceptions)."""

from __future__ import annotations

import dataclasses
import functools
import importlib
import os

import numpy as np

from .reference.cell import INPUT_LIMIT
from .reference.config import c_name


class RTUError(RuntimeError):
    """A status code from the C core that no argument check explains (see rtu_status_str)."""


#: what a module's rtu_edge_build says (rtu_edge/_build.py): the baseline build (any x86-64 or
#: aarch64), its AVX2 variant, or the native build (RTU_EDGE_NATIVE=1)
BUILDS = ("default", "avx2", "native")


@functools.lru_cache(maxsize=None)
def load_lib(dtype: np.dtype):
    """The cffi module of the C build for dtype: _rtu_f32 or _rtu_f64, or its AVX2 variant
    (_rtu_f32_avx2, _rtu_f64_avx2; the same results) where it is installed and the CPU runs
    it, unless the environment variable RTU_EDGE_KERNELS is "default" when rtu_edge first loads
    the core."""
    name = "_rtu_f32" if np.dtype(dtype) == np.float32 else "_rtu_f64"
    mod = importlib.import_module(f".{name}", __package__)
    choice = os.environ.get("RTU_EDGE_KERNELS", "")
    if choice not in ("", "default"):
        raise ValueError(f"RTU_EDGE_KERNELS must be default (or unset), got {choice!r}")
    if not choice and mod.lib.rtu_edge_cpu_avx2():
        try:
            mod = importlib.import_module(f".{name}_avx2", __package__)
        except ImportError:  # not built here: the native build, or another CPU family
            pass
    return mod.ffi, mod.lib


def c_build() -> str:
    """Which build of the C core runs: "native" (RTU_EDGE_NATIVE=1 at install time:
    -march=native -DRTU_FUSED, for the installing machine's CPU), "avx2" (the default install's
    AVX2 variant, on a CPU that runs it: the same results as the baseline) or "default" (any
    x86-64 or aarch64, no fused multiply-add)."""
    _, lib = load_lib(np.float32)
    return BUILDS[lib.rtu_edge_build]


ALIGN = 64  # bytes: where CCore's buffers start


class CCore:
    """A C object living in a numpy buffer of ``nbytes`` (rtu_real elements)."""

    def __init__(self, dtype: np.dtype, nbytes: int):
        self.ffi, self.lib = load_lib(dtype)
        self.dtype = dtype
        self.real_p = "float *" if dtype == np.float32 else "double *"
        self.nbytes = nbytes
        # aligned to 64 bytes (a cache line): numpy's 16 would split every other 32-byte vector
        # of the C kernels across two lines (a cell step about a quarter slower)
        count, pad = nbytes // dtype.itemsize, ALIGN // dtype.itemsize
        raw = np.zeros(count + pad, dtype=dtype)
        start = (-raw.ctypes.data % ALIGN) // dtype.itemsize
        self.buffer = raw[start:start + count]
        self.buffer_p = self.ffi.from_buffer(self.buffer)

    @staticmethod
    def size(dtype: np.dtype, size_fn, *args) -> int:
        """Bytes from a C size query such as rtu_cell_buffer_size(kind, n_in, n_hidden, &bytes)."""
        ffi, lib = load_lib(dtype)
        out = ffi.new("size_t *")
        status = size_fn(lib)(*args, out)
        if status != lib.RTU_OK:
            raise RTUError(f"C core: {ffi.string(lib.rtu_status_str(status)).decode()}")
        return int(out[0])

    def view(self, ptr, count: int) -> np.ndarray:
        """The numpy view of count reals at ptr, a pointer into the buffer."""
        base = int(self.ffi.cast("uintptr_t", self.buffer_p))
        offset = (int(self.ffi.cast("uintptr_t", ptr)) - base) // self.dtype.itemsize
        assert 0 <= offset and offset + count <= self.buffer.size
        return self.buffer[offset:offset + count]

    def ptr(self, a: np.ndarray):
        return self.ffi.from_buffer(self.real_p, a)

    def message(self, status: int) -> str:
        """rtu_status_str of a status code."""
        return self.ffi.string(self.lib.rtu_status_str(status)).decode()

    def check(self, status: int, arg: str = "") -> None:
        """Raise the exception a status code stands for; arg names the input it concerns."""
        lib = self.lib
        if status == lib.RTU_OK:
            return
        message = self.ffi.string(lib.rtu_status_str(status)).decode()
        if status == lib.RTU_ERR_NONFINITE_INPUT:
            raise ValueError(f"{arg} contains NaN or Inf")
        if status == lib.RTU_ERR_INPUT_RANGE:
            raise ValueError(f"{arg} has a value beyond +-{INPUT_LIMIT:g}; scale the input")
        if status in (lib.RTU_ERR_OVERFLOW, lib.RTU_ERR_DIVERGED):
            raise FloatingPointError(message)
        raise RTUError(f"C core: {message} (status {status})")


# -- what the learners share: configs by field name, checkpoints, the reference's C twin --------

def config_struct(ffi, ctype: str, config):
    """A new C config struct (ctype, e.g. "rtu_ac_config") filled from a config dataclass by field
    name: ``lambda_`` is the member ``lambda``, an enum field its index in the field's choices."""
    struct = ffi.new(ctype + " *")
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        choices = f.metadata.get("choices")
        setattr(struct, c_name(f.name), choices.index(value) if choices else value)
    return struct


def config_from_struct(cls, struct):
    """The config dataclass cls of a C config struct, by field name."""
    values = {}
    for f in dataclasses.fields(cls):
        value = getattr(struct, c_name(f.name))
        choices = f.metadata.get("choices")
        values[f.name] = choices[value] if choices else value
    return cls(**values)


def config_error(core, check_fn, struct, config) -> ValueError:
    """The ValueError for a config that the C core refused: the config's own check (its rules
    across fields too, e.g. std_min < std_max), on its values or else on the values the C struct
    holds (rounded to float32); failing that, check_fn (rtu_*_check_config) names the faulty
    field, and the message its rule."""
    for values, where in ((config, ""), (config_from_struct(type(config), struct),
                                         f" (in {core.dtype.name})")):
        try:
            values.check()
        except ValueError as err:
            return ValueError(f"{err}{where}")
    what = core.ffi.new("char **")
    check_fn(struct, what)
    name = next(f.name for f in dataclasses.fields(config)
                if c_name(f.name) == core.ffi.string(what[0]).decode())
    given, held = getattr(config, name), getattr(struct, c_name(name))
    rounded = "" if held == given else f" ({held!r} in {core.dtype.name})"
    return ValueError(f"{name} must lie {config.rule(name)}, got {given!r}{rounded}")


MAGIC = b"RTUEDGE\0"  # rtu_ckpt.h's magic


def save_bytes(core, size_fn, save_fn, check_fn, obj) -> bytes:
    """A learner's checkpoint (rtu_*_checkpoint_size, rtu_*_save). The C core refuses a learner
    that could not be restored: ValueError naming, from rtu_*_check_checkpoint, what the loader
    would refuse (RuntimeError between act and learn)."""
    ffi, lib = core.ffi, core.lib
    size = ffi.new("size_t *")
    core.check(size_fn(obj, size))
    out = bytearray(int(size[0]))
    written = ffi.new("size_t *")
    status = save_fn(obj, ffi.from_buffer(out), len(out), written)
    if status == lib.RTU_ERR_ORDER:
        raise RuntimeError("cannot checkpoint the actor-critic between act and learn: save after "
                           "learn (the checkpoint holds no pending action)")
    if status != lib.RTU_OK:
        out[:len(MAGIC)] = MAGIC  # save wiped it; the rest is the refused checkpoint
        what = ffi.new("char **")
        check_fn(obj, ffi.from_buffer(out), len(out), what)
        detail = ffi.string(what[0]).decode() if what[0] != ffi.NULL else ""
        raise ValueError("cannot checkpoint this learner: " + (
            f"{detail} ({core.message(status)})" if detail else core.message(status)))
    return bytes(out[:int(written[0])])


def load_bytes(core, load_fn, check_fn, obj, data: bytes, where: str) -> None:
    """rtu_*_load (which checks everything first; on error obj is untouched); a refusal is a
    ValueError naming where and, from rtu_*_check_checkpoint, the faulty field."""
    ffi = core.ffi
    buf = ffi.from_buffer(data)
    status = load_fn(obj, buf, len(data))
    if status != core.lib.RTU_OK:
        what = ffi.new("char **")
        check_fn(obj, buf, len(data), what)
        detail = ffi.string(what[0]).decode() if what[0] != ffi.NULL else ""
        raise ValueError(f"{where} is refused: " + (f"{detail} ({core.message(status)})"
                                                    if detail else core.message(status)))


def copy_state(core, struct, ref, names, to_c: bool) -> None:
    """Copy the named fields between a C learner (struct) and its numpy reference mirror (ref),
    which share their names: arrays through views of the C buffer, scalars by value. A name is a
    path: "cell.c" is the field c of the member cell on both sides, "trunk.1.cell.c" the same
    in element 1 of the array (C) or list (reference) trunk. A field, or a member on its path,
    that is None in the reference (NULL in C, or a part this shape does not have) is skipped."""
    for name in names:
        *path, attr = name.split(".")
        c_obj, r_obj = struct, ref
        for member in path:
            if member.isdigit():
                c_obj, r_obj = c_obj[int(member)], r_obj[int(member)]
            else:
                c_obj, r_obj = getattr(c_obj, member), getattr(r_obj, member)
            if r_obj is None:
                break
        if r_obj is None:
            continue
        c_value, r_value = getattr(c_obj, attr), getattr(r_obj, attr)
        if r_value is None:  # a trace the linear kind does not have (NULL in C)
            continue
        if isinstance(c_value, core.ffi.CData):  # a pointer into the buffer
            view = core.view(c_value, r_value.size)
            # in memory order: an input-major (n, d) array is the transpose of a (d, n) block
            if r_value.flags.c_contiguous:
                memory = r_value.reshape(-1)
            elif r_value.flags.f_contiguous:
                memory = r_value.T.reshape(-1)
            else:  # a view that a flat copy would detach from
                raise TypeError(f"{name}: the reference array is not contiguous")
            if to_c:
                view[:] = memory
            else:
                memory[:] = view
        elif to_c:
            setattr(c_obj, attr, np.asarray(r_value).reshape(-1)[0].item())
        elif isinstance(r_value, np.ndarray):
            r_value[...] = c_value
        else:
            setattr(r_obj, attr, type(r_value)(c_value))
