"""The C core builds on its own (c_src/Makefile, no Python) for every target, and its C unit tests
(c_src/tests/) pass on the host and, under qemu, on aarch64 and armhf, in both precisions, and on
the host under ASan and UBSan (make test-sanitize), in the native build (rtu_edge._build's
NATIVE_FLAGS) and in the AVX2 variant's (AVX2_FLAGS); the Cortex-M4 library builds warning-free;
c_src/tests/golden.h is what make_golden.py writes.

A missing cross compiler or qemu skips its test, except under CI (CI=true), where .ci/run
installs them and a missing tool is a failure. Builds go to a temporary directory
(RTU_BUILD_ROOT), not to c_src/build/.
"""

import dataclasses
import os
import pathlib
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import ckpt_codec as ck
from rtu_edge._build import AVX2_FLAGS, NATIVE_FLAGS

ROOT = pathlib.Path(__file__).resolve().parent.parent
C_SRC = ROOT / "c_src"
TIMEOUT = 300

TOOLS = {  # what each target needs on this machine
    "host": ["make", "gcc", "ar"],
    "aarch64": ["make", "aarch64-linux-gnu-gcc", "aarch64-linux-gnu-ar", "qemu-aarch64"],
    "armhf": ["make", "arm-linux-gnueabihf-gcc", "arm-linux-gnueabihf-ar", "qemu-arm"],
    "cortex-m4": ["make", "arm-none-eabi-gcc", "arm-none-eabi-ar"],
}
SYSROOTS = {"aarch64": "/usr/aarch64-linux-gnu", "armhf": "/usr/arm-linux-gnueabihf"}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require(target: str, extra=()) -> None:
    """Skip (or, under CI, fail) when a tool the target needs is missing."""
    missing = [tool for tool in [*TOOLS[target], *extra] if shutil.which(tool) is None]
    if target in SYSROOTS and not pathlib.Path(SYSROOTS[target]).is_dir():
        missing.append(f"the {SYSROOTS[target]} libraries")
    if target == "cortex-m4" and not missing:
        libc = subprocess.run(["arm-none-eabi-gcc", "-print-file-name=libc.a"],
                              capture_output=True, text=True).stdout.strip()
        if not os.path.isabs(libc):
            missing.append("newlib (libnewlib-arm-none-eabi)")
    if missing:
        message = f"TARGET={target} needs {', '.join(missing)} (.ci/run installs them)"
        if in_ci():
            pytest.fail(message + "; missing under CI")
        pytest.skip(message)


def make(tmp_path, *args) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("CFLAGS", "MAKEFLAGS")}
    return subprocess.run(["make", "-j2", "-C", str(C_SRC), f"RTU_BUILD_ROOT={tmp_path}", *args],
                          capture_output=True, text=True, timeout=TIMEOUT, env=env)


def check_clean_build(result) -> None:
    assert "warning" not in result.stderr.lower(), result.stderr


def check_test_output(result, precision: str) -> None:
    out = result.stdout
    assert result.returncode == 0, out[-4000:] + result.stderr[-2000:]
    summary = re.search(r"^(\d+) passed, (\d+) failed(?:, (\d+) known core bugs \(XFAIL\))? of "
                        r"(\d+) tests \((\d+) checks\), (\w+) build$", out, re.M)
    assert summary, out[-4000:]
    passed, failed, xfailed, total, _, build = summary.groups()
    assert failed == "0" and build == precision
    assert int(passed) + int(xfailed or 0) == int(total) >= 38
    # one line per test; a known core bug may only XFAIL, never silently disappear
    lines = re.findall(r"^(PASS|FAIL|XFAIL) ", out, re.M)
    assert len(lines) == int(total) and "FAIL" not in lines


@pytest.mark.parametrize("precision", ["float", "double"])
@pytest.mark.parametrize("target", ["host", "aarch64", "armhf"])
def test_c_unit_tests_pass(target, precision, tmp_path):
    require(target)
    result = make(tmp_path, "test", f"TARGET={target}", f"PRECISION={precision}")
    check_clean_build(result)
    check_test_output(result, precision)
    assert (tmp_path / f"{target}-{precision}" / "librtu_edge.a").is_file()


@pytest.mark.parametrize("target", ["host", "armhf"])
def test_c_unit_tests_pass_with_the_derived_cache_in_float(target, tmp_path):
    """-DRTU_DERIVED_FLOAT (the Cortex-M example's setting) keeps the float tolerance."""
    require(target)
    result = make(tmp_path, "test", f"TARGET={target}", "EXTRA_CFLAGS=-DRTU_DERIVED_FLOAT")
    assert "-DRTU_DERIVED_FLOAT" in result.stdout
    check_clean_build(result)
    check_test_output(result, "float")


@pytest.mark.parametrize("precision", ["float", "double"])
def test_c_unit_tests_pass_in_the_native_build(precision, tmp_path):
    """NATIVE_FLAGS (what RTU_EDGE_NATIVE=1 builds the extension with): on an FMA machine the
    cell's kernels fuse (RTU_FMA), the float build's derived cache runs without libm's calls
    (RTU_FAST_DERIVED), and the tolerances against the reference hold."""
    require("host")
    flags = " ".join(NATIVE_FLAGS)
    result = make(tmp_path, "test", f"PRECISION={precision}", f"EXTRA_CFLAGS={flags}")
    assert flags in result.stdout
    check_clean_build(result)
    check_test_output(result, precision)


def test_c_unit_tests_pass_in_the_avx2_variant(tmp_path):
    """AVX2_FLAGS with the extension's -fno-math-errno (what a default install runs on an x86-64
    CPU with AVX2): the float derived cache from the checked polynomial pass is libm's, bit for
    bit (cell/derived_cache_is_libms, which says which cache it checked)."""
    require("host")
    from rtu_edge import _rtu_f32
    if not (hasattr(_rtu_f32.lib, "rtu_edge_cpu_avx2") and _rtu_f32.lib.rtu_edge_cpu_avx2()):
        pytest.skip("this CPU does not run the AVX2 variant")
    flags = " ".join([*AVX2_FLAGS, "-fno-math-errno"])
    result = make(tmp_path, "test", f"EXTRA_CFLAGS={flags}")
    assert flags in result.stdout
    check_clean_build(result)
    check_test_output(result, "float")
    checked = r"^PASS  cell/derived_cache_is_libms .*the polynomial pass checked"
    assert re.search(checked, result.stdout, re.M), result.stdout[-4000:]


def test_c_unit_tests_pass_with_one_running_sum(tmp_path):
    """-DRTU_LANES=1 (the Cortex-M4F example's: one running sum in every reduction instead of 16
    partial sums): other bits, the same tolerances against the reference."""
    require("host")
    result = make(tmp_path, "test", "EXTRA_CFLAGS=-DRTU_LANES=1")
    assert "-DRTU_LANES=1" in result.stdout
    check_clean_build(result)
    check_test_output(result, "float")


@pytest.mark.parametrize("precision", ["float", "double"])
def test_c_unit_tests_pass_with_clang(precision, tmp_path):
    require("host", extra=["clang"])
    result = make(tmp_path, "test", "CC=clang", f"PRECISION={precision}")
    assert "clang -std=c99" in result.stdout
    check_clean_build(result)
    check_test_output(result, precision)


def require_sanitizers(compiler: str, tmp_path) -> None:
    """Skip (or, under CI, fail) when compiler cannot build and run a program with ASan and
    UBSan (their runtimes, libasan and libubsan, come with gcc on Debian and Ubuntu)."""
    require("host", extra=[compiler])
    src, exe = tmp_path / "probe.c", tmp_path / "probe"
    src.write_text("int main(void) { return 0; }\n")
    build = subprocess.run([compiler, "-fsanitize=address,undefined", str(src), "-o", str(exe)],
                           capture_output=True, text=True, timeout=TIMEOUT)
    ran = build.returncode == 0 and subprocess.run([str(exe)], capture_output=True,
                                                   timeout=TIMEOUT).returncode == 0
    if not ran:
        message = (f"{compiler} cannot build and run a program with -fsanitize=address,undefined "
                   f"(the ASan and UBSan runtimes): {build.stderr.strip()[-300:]}")
        if in_ci():
            pytest.fail(message + "; missing under CI")
        pytest.skip(message)


@pytest.mark.parametrize("precision", ["float", "double"])
def test_c_unit_tests_pass_under_asan_and_ubsan(precision, tmp_path):
    """make test-sanitize: the C tests built with AddressSanitizer and UndefinedBehaviorSanitizer,
    every report fatal (an out-of-bounds access, a misaligned load, a signed overflow, a shift
    too far... fails the run)."""
    require_sanitizers("gcc", tmp_path)
    result = make(tmp_path, "test-sanitize", f"PRECISION={precision}")
    assert "-fsanitize=address,undefined -fno-sanitize-recover=all" in result.stdout
    check_clean_build(result)
    check_test_output(result, precision)
    assert (tmp_path / "sanitize" / f"host-{precision}" / "rtu_tests").is_file()


@pytest.mark.parametrize("precision", ["float", "double"])
def test_cortex_m4_library_builds_warning_free(precision, tmp_path):
    require("cortex-m4")
    result = make(tmp_path, "TARGET=cortex-m4", f"PRECISION={precision}")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    check_clean_build(result)
    assert "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16" in result.stdout
    lib = tmp_path / f"cortex-m4-{precision}" / "librtu_edge.a"
    members = subprocess.run(["arm-none-eabi-ar", "t", str(lib)], capture_output=True,
                             text=True, check=True).stdout.split()
    assert sorted(members) == sorted(p.stem + ".o" for p in C_SRC.glob("*.c"))


def test_makefile_tells_other_makefiles_the_toolchain():
    if shutil.which("make") is None:
        pytest.skip("make is not installed")

    def ask(*args):
        out = subprocess.run(["make", "-s", "--no-print-directory", "-C", str(C_SRC), *args],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    assert ask("print-cc", "TARGET=aarch64") == "aarch64-linux-gnu-gcc"
    assert ask("print-run", "TARGET=armhf") == "qemu-arm -L /usr/arm-linux-gnueabihf"
    assert ask("print-run", "TARGET=host") == ""
    cflags = ask("print-cflags", "TARGET=cortex-m4", "PRECISION=double")
    assert cflags.startswith("-std=c99 -Wall -Wextra -Wpedantic -Werror -O2") and \
        cflags.endswith("-DRTU_DOUBLE")
    assert ask("print-lib", "TARGET=armhf") == str(C_SRC / "build" / "armhf-float" /
                                                    "librtu_edge.a")
    assert ask("print-cc", "CC=clang") == "clang"
    bad = subprocess.run(["make", "-s", "-C", str(C_SRC), "TARGET=riscv"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode != 0 and "TARGET=riscv is not one of" in bad.stderr


NUMBER = re.compile(r"-?\d+\.\d*(?:e[-+]?\d+)?|-?\d+e[-+]?\d+")
BYTES = re.compile(r"static const unsigned char (\w+)\[\d+\] = \{([^}]*)\};")
DOUBLES = re.compile(r"static const double (\w+)\[\d+\] = \{([^}]*)\};")
REL = {4: 2.0 ** -22, 8: 1e-12}  # two float32 ulps: a float64 difference may round either way


def close(x, y, precision: int) -> bool:
    """Normwise, as the C tests compare: the largest difference within REL of the largest
    magnitude (an element near zero may lose its relative digits to cancellation)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    scale = max(float(np.max(np.abs(x), initial=0.0)), float(np.max(np.abs(y), initial=0.0)))
    return x.shape == y.shape and float(np.max(np.abs(x - y), initial=0.0)) <= \
        REL[precision] * max(scale, 1e-300)


def check_same_checkpoint(name: str, fresh: bytes, committed: bytes) -> None:
    """Two checkpoints that hold the same learner: every field equal, every array of reals
    within REL of its precision (the header and the CRC follow from those)."""
    a, b = ck.decode_any(fresh, name), ck.decode_any(committed, name)
    assert type(a) is type(b) and len(fresh) == len(committed), name
    for field in dataclasses.fields(a):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if field.name == "arrays":
            assert x.keys() == y.keys(), name
            for key in x:
                assert close(x[key], y[key], a.precision), (name, key)
        elif isinstance(x, float):
            assert close(x, y, a.precision), (name, field.name, x, y)
        else:
            assert x == y, (name, field.name, x, y)


def test_golden_vectors_are_up_to_date(tmp_path):
    """make_golden.py, run now, writes c_src/tests/golden.h again. Byte for byte on the machine
    that generated it; elsewhere numpy's BLAS may round the reference's last bits otherwise, so
    the text must match, each array of reals within 1e-12 normwise (far below the C tests'
    1e-9), the other numbers within 1e-12 relative, and each embedded checkpoint must decode to
    the same fields, its arrays within 1e-12 (float64) or two ulps (float32) normwise."""
    out = tmp_path / "golden.h"
    result = subprocess.run([sys.executable, str(C_SRC / "tests" / "make_golden.py"), "--out",
                             str(out)], capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    committed = (C_SRC / "tests" / "golden.h").read_text()
    fresh = out.read_text()
    if fresh == committed:
        return
    stale = "golden.h is out of date: run python c_src/tests/make_golden.py"
    pairs = {}
    for pattern in (BYTES, DOUBLES):  # each named array of both files, then the text without them
        found, kept = pattern.findall(fresh), pattern.findall(committed)
        assert found and [n for n, _ in found] == [n for n, _ in kept], stale
        pairs[pattern] = [(name, x, y) for (name, x), (_, y) in zip(found, kept) if x != y]
        fresh, committed = pattern.sub("#", fresh), pattern.sub("#", committed)
    for name, x, y in pairs[BYTES]:
        check_same_checkpoint(name, bytes(int(v) for v in x.split(",")),
                              bytes(int(v) for v in y.split(",")))
    for name, x, y in pairs[DOUBLES]:
        assert close([float(v) for v in x.split(",")], [float(v) for v in y.split(",")], 8), \
            f"{name}: {stale}"
    assert NUMBER.sub("#", fresh) == NUMBER.sub("#", committed), stale
    for a, b in zip(NUMBER.findall(fresh), NUMBER.findall(committed)):
        x, y = float(a), float(b)
        assert abs(x - y) <= 1e-12 * max(abs(x), abs(y), 1e-300), (a, b)
