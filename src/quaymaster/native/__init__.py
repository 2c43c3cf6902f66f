"""The cffi boundary: ``ffi``, ``lib`` and the one place C statuses become exceptions.

Everything that crosses into C goes through this package. Callers check their
arguments first; the C core bounds-checks again and answers with a status,
which :func:`check` turns into a :class:`~quaymaster.errors.NativeError`.
"""

from __future__ import annotations

import weakref

import numpy as np

from quaymaster._native import ffi, lib  # built by build.py at install time
from quaymaster.errors import NativeError

_STATUS_TEXT = {
    lib.QM_EINVAL: "an argument is out of range or inconsistent",
    lib.QM_ENULL: "a required pointer is NULL",
    lib.QM_EBOUNDS: "an index points outside its array",
    lib.QM_ECAPACITY: "a caller-provided buffer is too small",
}


def check(status: int, function: str) -> None:
    """Raise NativeError unless ``status`` is QM_OK."""
    if status != lib.QM_OK:
        reason = _STATUS_TEXT.get(status, "unknown status")
        raise NativeError(f"native core: {function} failed with status {status} ({reason})")


def version() -> str:
    """The native core's version, read from the compiled library itself."""
    return ffi.string(lib.qm_version()).decode()


_CTYPES: dict[np.dtype, str] = {
    np.dtype(np.int64): "int64_t *",
    np.dtype(np.int32): "int32_t *",
    np.dtype(np.uint64): "uint64_t *",
    np.dtype(np.uint8): "uint8_t *",
    np.dtype(np.int8): "int8_t *",
    np.dtype(np.bool_): "uint8_t *",
}


def ptr(array: np.ndarray):
    """A typed C pointer to a C-contiguous numpy array (no copy).

    The caller keeps ``array`` alive for as long as C uses the pointer.
    """
    if not array.flags.c_contiguous:
        raise NativeError("native core: array handed to C is not contiguous")
    return ffi.cast(_CTYPES[array.dtype], ffi.from_buffer(array, require_writable=False))


# kept_ptr's pointers, by id() of a live array: (a weak reference to it, its pointer).
_KEPT_PTRS: dict[int, tuple] = {}


def kept_ptr(array: np.ndarray):
    """:func:`ptr`, converted once per array object: an array's buffer stays where it is for
    the array's life (quaymaster never calls ``ndarray.resize``, the one call that moves it),
    so the pointer is kept until the array is freed. Plans rebound at every registration point
    at the same state columns again and again."""
    key = id(array)
    kept = _KEPT_PTRS.get(key)
    if kept is not None and kept[0]() is array:
        return kept[1]
    pointer = ptr(array)
    _KEPT_PTRS[key] = (weakref.ref(array, lambda ref: _forget_ptr(key, ref)), pointer)
    return pointer


def _forget_ptr(key: int, ref) -> None:
    """Drop the kept pointer of an array being freed (unless another array took its id)."""
    kept = _KEPT_PTRS.get(key)
    if kept is not None and kept[0] is ref:
        del _KEPT_PTRS[key]


_CTYPE_OF = {dtype.str: ffi.typeof(ctype) for dtype, ctype in _CTYPES.items()}


def address(array: np.ndarray):
    """Like :func:`ptr`, for the hot path: the array must be C-contiguous and of a
    dtype listed in _CTYPES, and the caller keeps it alive while C uses it."""
    return ffi.cast(_CTYPE_OF[array.dtype.str], array.__array_interface__["data"][0])


__all__ = ["ffi", "lib", "check", "version", "ptr", "kept_ptr", "address"]
