"""The one decorator every Numba kernel is compiled with.

``cache=True`` keeps compiled machine code on disk (numba's __pycache__ next
to the module, or NUMBA_CACHE_DIR), so only the very first import pays the
compile. ``fastmath`` stays off: it may reorder or fuse arithmetic and change
a comparison, and placement is exact. Set NUMBA_DISABLE_JIT=1 to run kernels
as plain Python (coverage, debugging).
"""

from __future__ import annotations

import numba

_OPTIONS = {"cache": True, "nogil": True, "fastmath": False, "error_model": "numpy"}


def kernel(function=None, /, **overrides):
    """``@kernel`` or ``@kernel(parallel=True)``: numba.njit with the project's options."""
    options = {**_OPTIONS, **overrides}
    if function is None:
        return lambda f: numba.njit(**options)(f)
    return numba.njit(**options)(function)
