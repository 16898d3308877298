# Metadata lives in pyproject.toml; this file only hands the cffi builders to setuptools (those
# rtu_edge/_build.py's MODULES names: the AVX2 variants on x86-64) and tags the wheel abi3: the
# extensions use CPython's limited API (cffi's default), so one wheel per platform serves every
# Python >= 3.9.
import runpy

from setuptools import setup

MODULES = runpy.run_path("rtu_edge/_build.py")["MODULES"]
setup(cffi_modules=[f"rtu_edge/_build.py:{name}" for name in MODULES],
      options={"bdist_wheel": {"py_limited_api": "cp39"}})
