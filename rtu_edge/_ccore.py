"""The C core through cffi: one precision's library, a numpy-owned buffer, and the plumbing that
RTUCell and the learners share (pointers, views into the buffer, status codes to exceptions)."""

from __future__ import annotations

import numpy as np

from .reference.cell import INPUT_LIMIT


class RTUError(RuntimeError):
    """A status code from the C core that no argument check explains (see rtu_status_str)."""


def load_lib(dtype: np.dtype):
    """The cffi module of the C build for dtype: _rtu_f32 or _rtu_f64."""
    if dtype == np.float32:
        from . import _rtu_f32 as mod
    else:
        from . import _rtu_f64 as mod
    return mod.ffi, mod.lib


class CCore:
    """A C object living in a numpy buffer of ``nbytes`` (rtu_real elements)."""

    def __init__(self, dtype: np.dtype, nbytes: int):
        self.ffi, self.lib = load_lib(dtype)
        self.dtype = dtype
        self.real_p = "float *" if dtype == np.float32 else "double *"
        self.nbytes = nbytes
        self.buffer = np.zeros(nbytes // dtype.itemsize, dtype=dtype)
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
