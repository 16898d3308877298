"""The C core builds warning-free as strict C99 under gcc and clang, in both precisions, and its
objects use no heap, no stdio and no global or static mutable data."""

import pathlib
import shutil
import subprocess

import pytest

C_SRC = pathlib.Path(__file__).resolve().parent.parent / "c_src"
SOURCES = sorted(C_SRC.glob("*.c"))
FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-O2", "-c"]
HEAP = {"malloc", "calloc", "realloc", "free", "aligned_alloc", "posix_memalign"}
STDIO = {"printf", "fprintf", "puts", "putchar", "fopen", "fwrite", "fputs", "sprintf",
         "snprintf", "perror"}


def compile_objects(compiler, tmp_path, defines):
    objects = []
    for src in SOURCES:
        obj = tmp_path / (src.stem + ".o")
        result = subprocess.run([compiler, *FLAGS, *defines, "-I", str(C_SRC), str(src), "-o",
                                 str(obj)], capture_output=True, text=True)
        assert result.returncode == 0 and not result.stderr, result.stderr
        objects.append(obj)
    return objects


def symbols(objects):
    out = subprocess.run(["nm", *map(str, objects)], capture_output=True, text=True, check=True)
    rows = [line.split() for line in out.stdout.splitlines() if line and not line.endswith(":")]
    return [(row[-2], row[-1]) for row in rows if len(row) >= 2]


def test_core_has_sources():
    assert {p.name for p in SOURCES} >= {"rtu_cell.c", "rtu_prng.c", "rtu_status.c"}


@pytest.mark.parametrize("compiler", ["gcc", "clang"])
@pytest.mark.parametrize("defines", [[], ["-DRTU_DOUBLE"]], ids=["float", "double"])
def test_core_builds_clean_without_heap_stdio_or_globals(compiler, defines, tmp_path):
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed (.ci/run installs it)")
    syms = symbols(compile_objects(compiler, tmp_path, defines))
    defined = {name for kind, name in syms if kind != "U"}
    undefined = {name for kind, name in syms if kind == "U"} - defined
    assert not undefined & HEAP, undefined & HEAP
    assert not undefined & STDIO, undefined & STDIO
    # no mutable globals: no data (D/d), bss (B/b) or common (C) symbols
    data = [(kind, name) for kind, name in syms if kind in "DdBbC"]
    assert not data, data
    # only libm beyond the core itself, and memset/memcpy/memmove, which compilers emit for
    # zeroing and copying loops (C requires them of freestanding implementations too)
    libm = {"exp", "expf", "expm1", "log", "logf", "log1p", "log1pf", "sqrt", "sqrtf", "cos", "sin",
            "sincos", "ceil",
            "tanh", "tanhf", "fabs", "fabsf", "floor", "memset", "memcpy",
            "memmove"}
    assert undefined <= libm, undefined - libm
    # every public symbol carries the one prefix
    public = {name for kind, name in syms if kind == "T"}
    assert public and all(name.startswith("rtu_") for name in public), public
