"""cffi (API mode) builder of the C core: two extension modules from the same c_src/ sources,
``rtu_edge._rtu_f32`` (rtu_real = float) and ``rtu_edge._rtu_f64`` (rtu_real = double, -DRTU_DOUBLE).
Run by setuptools during ``pip install`` (setup.py: cffi_modules); never imported at run time.

Every c_src/*.c is compiled. The declarations come from the public headers themselves (every
c_src/rtu*.h but rtu_internal.h), run through the C preprocessor so that their macros and comments
are gone and cffi can read them; no copy of them is kept here.

``RTU_EDGE_NATIVE=1`` at install time builds for the installing machine's CPU (NATIVE_FLAGS:
-march=native, on x86-64 with its widest vectors; -DRTU_FUSED, fused multiply-adds in the cell's
kernels, rtu_internal.h's RTU_FMA; -DRTU_FAST_DERIVED, the float build's derived cache without
libm's calls; results differ from the default build's by rounding). The extension then runs only
on CPUs like it; the default build runs on any x86-64 or aarch64 and fuses nothing.

On x86-64 the default install also builds the same sources for AVX2 (``_rtu_f32_avx2``,
``_rtu_f64_avx2``: -mavx2, still without contraction, so the same bits as the baseline modules:
vector width changes no operation's order). rtu_edge._ccore.load_lib takes them when the baseline
module's ``rtu_edge_cpu_avx2()`` says the CPU and OS run AVX2; setup.py lists the modules
(MODULES below).
"""

import glob
import os
import platform
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


#: every build's flags (the benchmarks' C programs too, benchmarks/_cprogram.py): no FMA
#: contraction, so the PRNG-driven initialisation stays bit-identical to Python's;
#: -fno-trapping-math: gcc vectorises the loops that compare or clamp floats (the float tanh),
#: with the same results (the core never reads the floating-point exception flags);
#: -fno-math-errno: the same for the loop with a sqrt (the float build's derived cache), with the
#: same results (the core never reads errno)
CORE_FLAGS = ["-std=c99", "-O3", "-ffp-contract=off", "-fno-trapping-math", "-fno-math-errno"]
#: the native build's flags (RTU_EDGE_NATIVE=1; the benchmarks and tests build it with these):
#: this CPU's instructions, fused multiply-adds in the cell's kernels, the derived cache without
#: libm's calls, and -fno-math-errno, without which gcc keeps that cache's loop scalar for its
#: sqrt (the core never reads errno); on x86-64 its widest vectors too (gcc and clang prefer
#: 256-bit ones on CPUs with AVX-512; with 512-bit ones the cell took 17-21% less time on an Intel
#: Xeon with AVX-512, bench_kernel.py), which change no operation's order
NATIVE_FLAGS = ["-march=native", "-DRTU_FUSED", "-DRTU_FAST_DERIVED", "-fno-math-errno",
                *(["-mprefer-vector-width=512"]
                  if platform.machine().lower() in ("x86_64", "amd64") else [])]
#: the AVX2 variant's flags (x86-64 only); the baseline module's rtu_edge_cpu_avx2() checks the
#: same feature
AVX2_FLAGS = ["-mavx2"]
#: what rtu_edge_build says: rtu_edge._ccore.BUILDS[rtu_edge_build]
BUILD_DEFAULT, BUILD_AVX2, BUILD_NATIVE = 0, 1, 2
#: the CPU check, compiled into the baseline modules only (gcc's and clang's builtin; on another
#: compiler or CPU family it says no)
CPU_CHECK = """
static int rtu_edge_cpu_avx2(void) {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
#else
    return 0;
#endif
}
"""


def make_ffi(real: str, variant: str = "") -> cffi.FFI:
    """The cffi builder of rtu_edge._rtu_{f32,f64}[_variant]: variant "" (the baseline, or the
    native build under RTU_EDGE_NATIVE=1) or "avx2"."""
    defines = ["-DRTU_DOUBLE"] if real == "double" else []
    ffi = cffi.FFI()
    ffi.cdef(header_declarations(defines))
    # which build this is, for rtu_edge.c_build(): the extension's own constant, not the core's
    ffi.cdef("static const int rtu_edge_build;")
    build = BUILD_AVX2 if variant else BUILD_NATIVE if NATIVE == "1" else BUILD_DEFAULT
    source = "".join(f'#include "{os.path.basename(h)}"\n' for h in HEADERS) + \
        f"static const int rtu_edge_build = {build};\n"
    if not variant:
        ffi.cdef("static int rtu_edge_cpu_avx2(void);")
        source += CPU_CHECK
    flags = {"": NATIVE_FLAGS if NATIVE == "1" else [],
             "avx2": AVX2_FLAGS}[variant]
    suffix = ("f64" if real == "double" else "f32") + (f"_{variant}" if variant else "")
    ffi.set_source(
        f"rtu_edge._rtu_{suffix}",
        source,
        sources=SOURCES,
        include_dirs=["c_src"],
        define_macros=[("RTU_DOUBLE", "1")] if real == "double" else [],
        extra_compile_args=CORE_FLAGS + flags,
        libraries=["m"],
    )
    return ffi


def ffi_f32():
    return make_ffi("float")


def ffi_f64():
    return make_ffi("double")


def ffi_f32_avx2():
    return make_ffi("float", "avx2")


def ffi_f64_avx2():
    return make_ffi("double", "avx2")


#: the builders setup.py hands to cffi: the AVX2 variants on x86-64, unless the native build
#: (already the machine's width) is asked for
MODULES = ["ffi_f32", "ffi_f64"] + (
    ["ffi_f32_avx2", "ffi_f64_avx2"]
    if platform.machine().lower() in ("x86_64", "amd64") and NATIVE != "1" else [])
