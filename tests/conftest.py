import pathlib
import shutil
import subprocess

import numpy as np
import pytest

from rtu_edge import RTUCell

BACKENDS = [("c", np.float32), ("c", np.float64), ("reference", np.float64)]


@pytest.fixture(params=BACKENDS, ids=["c-f32", "c-f64", "reference"])
def backend(request):
    """(backend, dtype) pairs that RTUCell accepts."""
    return request.param


C_SRC = pathlib.Path(__file__).resolve().parent.parent / "c_src"


def run_c_program(tmp_path, source: str, defines: list, compiler: str = "gcc",
                  flags: tuple = ()) -> str:
    """Compile source against the whole C core (every c_src/*.c, as a firmware build links it)
    and run it; returns its stdout. flags: more compiler flags (warnings, -I). Skips when the
    compiler is missing."""
    compiler = shutil.which(compiler) or (shutil.which("cc") if compiler == "gcc" else None)
    if compiler is None:
        pytest.skip("no C compiler")
    src, exe = tmp_path / "prog.c", tmp_path / "prog"
    src.write_text(source)
    build = subprocess.run([compiler, "-std=c99", "-O1", "-ffp-contract=off", *defines, *flags,
                            "-I", str(C_SRC), str(src), *map(str, sorted(C_SRC.glob("*.c"))),
                            "-o", str(exe), "-lm"], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True)
    assert run.returncode == 0, f"C check {run.returncode} failed"
    return run.stdout


def snapshot(cell: RTUCell) -> dict:
    """Everything a cell holds: parameters, state and traces (copies)."""
    return {**{"p_" + k: v for k, v in cell.params.items()}, **cell.state, **cell.traces}


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), k
