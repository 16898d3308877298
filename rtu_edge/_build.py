"""cffi (API mode) builder of the C core: two extension modules from the same c_src/ sources,
``rtu_edge._rtu_f32`` (rtu_real = float) and ``rtu_edge._rtu_f64`` (rtu_real = double, -DRTU_DOUBLE).
Run by setuptools during ``pip install`` (setup.py: cffi_modules); never imported at run time.

Every c_src/*.c is compiled. The declarations come from the public headers themselves (every
c_src/rtu*.h but rtu_internal.h), run through the C preprocessor so that their macros and comments
are gone and cffi can read them; no copy of them is kept here.

``RTU_EDGE_NATIVE=1`` at install time builds for the installing machine's CPU (-march=native: its
vector width; and -DRTU_FUSED: fused multiply-adds in the cell's kernels, rtu_internal.h's
RTU_FMA, whose results differ from the default build's by rounding). The extension then runs only
on CPUs like it; the default build runs on any x86-64 or aarch64 and fuses nothing.
"""

import glob
import os
import shlex
import subprocess
import sysconfig

import cffi

SOURCES = sorted(glob.glob("c_src/*.c"))
NATIVE = os.environ.get("RTU_EDGE_NATIVE", "")
if NATIVE not in ("", "0", "1"):
    raise RuntimeError(f"RTU_EDGE_NATIVE must be 1 (build for this CPU) or 0, got {NATIVE!r}")
HEADERS = sorted(h for h in glob.glob("c_src/rtu*.h") if not h.endswith("rtu_internal.h"))


def header_declarations(defines: list) -> str:
    """The public headers preprocessed together with RTU_CFFI_CDEF (which leaves out the
    standard headers); include guards keep each declaration once."""
    compiler = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    cmd = [*compiler, "-E", "-P", "-x", "c", "-Ic_src", "-DRTU_CFFI_CDEF", *defines, "-"]
    unit = "".join(f'#include "{os.path.basename(h)}"\n' for h in HEADERS)
    try:
        result = subprocess.run(cmd, input=unit, capture_output=True, text=True)
    except OSError as err:
        raise RuntimeError(f"rtu_edge needs a C compiler to build ({shlex.join(cmd)}): {err}")
    if result.returncode != 0:
        raise RuntimeError(f"preprocessing {HEADERS} failed:\n{shlex.join(cmd)}\n{result.stderr}")
    return result.stdout


def make_ffi(real: str) -> cffi.FFI:
    defines = ["-DRTU_DOUBLE"] if real == "double" else []
    ffi = cffi.FFI()
    ffi.cdef(header_declarations(defines))
    # which build this is, for rtu_edge.c_build(): the extension's own constant, not the core's
    ffi.cdef("static const int rtu_edge_native_build;")
    suffix = "f64" if real == "double" else "f32"
    ffi.set_source(
        f"rtu_edge._rtu_{suffix}",
        "".join(f'#include "{os.path.basename(h)}"\n' for h in HEADERS) +
        f"static const int rtu_edge_native_build = {1 if NATIVE == '1' else 0};\n",
        sources=SOURCES,
        include_dirs=["c_src"],
        define_macros=[("RTU_DOUBLE", "1")] if real == "double" else [],
        # no FMA contraction: the PRNG-driven initialisation stays bit-identical to Python's;
        # -fno-trapping-math: gcc vectorises the loops that compare or clamp floats (the float
        # tanh), with the same results (the core never reads the floating-point exception flags)
        extra_compile_args=["-std=c99", "-O3", "-ffp-contract=off", "-fno-trapping-math"] +
        (["-march=native", "-DRTU_FUSED"] if NATIVE == "1" else []),
        libraries=["m"],
    )
    return ffi


ffi_f32 = make_ffi("float")
ffi_f64 = make_ffi("double")
