# The only reason this file exists: setuptools takes cffi's `cffi_modules`
# keyword from setup() and not from pyproject.toml. The builder is build.py.
from setuptools import setup

setup(cffi_modules=["build.py:ffibuilder"])
