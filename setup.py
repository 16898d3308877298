# Metadata lives in pyproject.toml; this file only hands the cffi builders to setuptools.
from setuptools import setup

setup(cffi_modules=["rtu_edge/_build.py:ffi_f32", "rtu_edge/_build.py:ffi_f64"])
