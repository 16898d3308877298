"""The C core in other build systems: CMake (c_src/CMakeLists.txt: build, install, and a project
that finds it with find_package, on the host in both precisions and cross-compiled for aarch64
with c_src/cmake/aarch64-linux-gnu.cmake, run under qemu), PlatformIO (library.json) and Zephyr
(zephyr/module.yml, Kconfig, CMakeLists.txt), checked as far as the tools here allow: PlatformIO's
own manifest schema and packer (no platform to build with: those are downloads from its
registry), Zephyr not at all (not installed; its files are checked against the sources). A missing cmake, cross compiler or qemu skips, except under CI (.ci/run
installs them), where it fails."""

import json
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from test_c_targets import in_ci

try:
    import tomllib
except ImportError:  # Python < 3.11: tomli, from rtu_edge[train]
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
C_SRC = ROOT / "c_src"
TOOLCHAIN = C_SRC / "cmake" / "aarch64-linux-gnu.cmake"
SOURCES = sorted(p.name for p in C_SRC.glob("*.c"))
PUBLIC_HEADERS = sorted(p.name for p in C_SRC.glob("rtu*.h") if p.name != "rtu_internal.h")

CONSUMER_CMAKE = """cmake_minimum_required(VERSION 3.16)
project(consumer LANGUAGES C)
find_package(rtu_edge 0.1 REQUIRED)
add_executable(consumer main.c)
target_link_libraries(consumer PRIVATE rtu_edge::rtu_edge)
"""
# every public header, and a cell stepped: the installed headers stand alone, the library links
CONSUMER_MAIN = "".join(f'#include "{h}"\n' for h in PUBLIC_HEADERS) + """#include <stdio.h>
int main(void) {
    static unsigned char buf[RTU_CELL_BUFFER_BYTES(RTU_KIND_LINEAR, 3, 4)];
    rtu_cell cell;
    rtu_prng rng;
    rtu_real x[3] = {1.0f, 0.5f, -1.0f}, h[8];
    rtu_status s = rtu_cell_init(&cell, RTU_KIND_LINEAR, RTU_ACT_TANH, 3, 4, buf, sizeof buf);
    rtu_prng_seed(&rng, 7);
    if (s == RTU_OK) s = rtu_cell_init_params(&cell, &rng, 0.0, 1.0, 6.28);
    if (s == RTU_OK) s = rtu_cell_step(&cell, x, h);
    printf("%s %u %.5f\\n", rtu_status_str(s), (unsigned)sizeof(rtu_real), (double)h[0]);
    return s == RTU_OK ? 0 : 1;
}
"""


def need(*tools):
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        message = f"needs {', '.join(missing)} (.ci/run installs them)"
        if in_ci():
            pytest.fail(message + "; missing under CI")
        pytest.skip(message)


def cmake(*args, cwd=None):
    r = subprocess.run(["cmake", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return r


def build_install_and_consume(tmp_path, name, *options):
    """Configure, build (warnings as errors) and install c_src, then build a project that finds
    it; the consumer executable's path."""
    build, prefix, consumer = tmp_path / f"{name}-build", tmp_path / f"{name}-prefix", \
        tmp_path / f"{name}-consumer"
    cmake("-S", C_SRC, "-B", build, "-DRTU_EDGE_WERROR=ON", "-DCMAKE_BUILD_TYPE=Release",
          *options)
    cmake("--build", build, "-j", "2")
    cmake("--install", build, "--prefix", prefix)
    installed = sorted(p.name for p in (prefix / "include" / "rtu_edge").iterdir())
    assert installed == PUBLIC_HEADERS
    consumer.mkdir()
    (consumer / "CMakeLists.txt").write_text(CONSUMER_CMAKE)
    (consumer / "main.c").write_text(CONSUMER_MAIN)
    cmake("-S", consumer, "-B", consumer / "build", f"-DCMAKE_PREFIX_PATH={prefix}",
          *[o for o in options if o.startswith("-DCMAKE_TOOLCHAIN_FILE")])
    cmake("--build", consumer / "build")
    return consumer / "build" / "consumer"


def test_cmake_builds_installs_and_is_found_on_the_host(tmp_path):
    need("cmake", "cc")
    outputs = {}
    for precision, options in (("float", ()), ("double", ("-DRTU_EDGE_DOUBLE=ON",))):
        exe = build_install_and_consume(tmp_path, precision, *options)
        r = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        outputs[precision] = r.stdout.split()
    assert outputs["float"][:2] == ["ok", "4"] and outputs["double"][:2] == ["ok", "8"]
    assert abs(float(outputs["float"][2]) - float(outputs["double"][2])) < 1e-4


def test_cmake_cross_builds_for_aarch64(tmp_path):
    need("cmake", "aarch64-linux-gnu-gcc", "qemu-aarch64")
    exe = build_install_and_consume(tmp_path, "aarch64", f"-DCMAKE_TOOLCHAIN_FILE={TOOLCHAIN}")
    assert b"\x7fELF" == exe.read_bytes()[:4] and exe.read_bytes()[18] == 183  # EM_AARCH64
    r = subprocess.run(["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu", str(exe)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.split()[:2] == ["ok", "4"], r.stdout + r.stderr


def project_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_the_cmake_package_has_the_projects_version():
    text = (C_SRC / "CMakeLists.txt").read_text()
    assert re.search(r"project\(rtu_edge VERSION (\S+) ", text).group(1) == project_version()


def test_the_platformio_manifest_describes_the_core():
    manifest = json.loads((ROOT / "library.json").read_text())
    assert manifest["name"] == "rtu_edge" and manifest["version"] == project_version()
    assert manifest["license"] == "MIT" and (ROOT / "LICENSE").is_file()
    build = manifest["build"]
    assert (ROOT / build["srcDir"]) == C_SRC and (ROOT / build["includeDir"]) == C_SRC
    assert build["srcFilter"] == ["+<*.c>", "-<tests/>"]  # c_src/*.c, not the C unit tests
    assert sorted(manifest["headers"]) == PUBLIC_HEADERS
    assert "-std=c99" in build["flags"]
    exported = manifest["export"]["include"]
    assert "c_src/*.c" in exported and "c_src/*.h" in exported


def test_the_zephyr_module_builds_the_core_behind_its_kconfig():
    yaml = pytest.importorskip("yaml")
    module = yaml.safe_load((ROOT / "zephyr" / "module.yml").read_text())
    assert module["name"] == "rtu_edge"
    assert (ROOT / module["build"]["cmake"] / "CMakeLists.txt").is_file()
    kconfig = (ROOT / module["build"]["kconfig"]).read_text()
    defined = set(re.findall(r"^config (\w+)$", kconfig, re.M))
    cmake_text = (ROOT / "zephyr" / "CMakeLists.txt").read_text()
    used = set(re.findall(r"CONFIG_(\w+)", cmake_text))
    assert used == defined == {"RTU_EDGE", "RTU_EDGE_DOUBLE"}
    assert "${CMAKE_CURRENT_LIST_DIR}/../c_src" in cmake_text and \
        (ROOT / "zephyr" / ".." / "c_src").resolve() == C_SRC
    assert "zephyr_library_sources" in cmake_text and "RTU_DOUBLE" in cmake_text


def test_platformio_validates_and_packs_the_manifest(tmp_path, monkeypatch):
    pytest.importorskip("platformio")
    from platformio.package.manifest import schema
    from platformio.package.manifest.parser import ManifestParserFactory
    from platformio.package.pack import PackagePacker
    # the schema checks the license against SPDX's list, which it downloads: MIT stands in for it
    monkeypatch.setattr(schema.ManifestSchema, "load_spdx_licenses",
                        staticmethod(lambda: {"licenses": [{"licenseId": "MIT"}]}))
    manifest = ManifestParserFactory.new_from_file(str(ROOT / "library.json")).as_dict()
    loaded = schema.ManifestSchema().load_manifest(manifest)  # ManifestValidationError if not
    assert loaded["name"] == "rtu_edge" and loaded["license"] == "MIT"
    package = PackagePacker(str(ROOT)).pack(str(tmp_path))
    with tarfile.open(package) as tar:
        packed = sorted(tar.getnames())
    assert packed == sorted(["LICENSE", "README.md", "library.json",
                             *(f"c_src/{p.name}" for p in C_SRC.glob("*.[ch]"))])
