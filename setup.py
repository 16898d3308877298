# Metadata lives in pyproject.toml; this file only hands the cffi builders to setuptools and tags
# the wheel abi3: both extensions use CPython's limited API (cffi's default), so one wheel per
# platform serves every Python >= 3.9.
from setuptools import setup

setup(cffi_modules=["rtu_edge/_build.py:ffi_f32", "rtu_edge/_build.py:ffi_f64"],
      options={"bdist_wheel": {"py_limited_api": "cp39"}})
