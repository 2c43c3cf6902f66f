"""Numba kernels that turn per-value CQL decisions into per-instance masks.

A predicate on a dictionary-encoded column is decided once per distinct value
(``table[code]``); these kernels broadcast that decision over the instances.
Public functions allocate and validate; the ``_`` kernels only loop.

Below :data:`NUMBA_FROM` instances the same answer comes from NumPy: importing
numba and loading the cached machine code costs about 0.4 s per process, which a
command-line query on a few thousand instances would otherwise pay for a loop
of microseconds. Both paths give the same arrays.
"""

from __future__ import annotations

import functools

import numpy as np

#: Instances from which the Numba kernels run (NumPy below: no numba import).
NUMBA_FROM = 65_536


@functools.cache
def _numba_kernels():
    """The compiled kernels, built (or loaded from numba's cache) on first use."""
    from quaymaster.kernels.jit import kernel

    return kernel(_gather_shifted), kernel(_or_positive)


def _gather_shifted(codes, shifted_table, out):
    # shifted_table[0] answers a missing value (code -1), shifted_table[c + 1] code c:
    # one branch-free load per instance, where "missing if code < 0 else table[code]"
    # mispredicts all over a column with gaps. Bytes rather than bools and an unsigned
    # index (no negative-index wraparound check) make it about twice as fast again.
    for i in range(codes.shape[0]):
        out[i] = shifted_table[np.uint32(codes[i] + 1)]


def _or_positive(out, counts):
    for i in range(out.shape[0]):
        if counts[i] > 0:
            out[i] = True


def gather_by_code(codes: np.ndarray, table: np.ndarray, missing: bool) -> np.ndarray:
    """``out[i] = table[codes[i]]``, or ``missing`` where ``codes[i] < 0``; a new array.

    Every non-negative code must index ``table`` (a column's codes always index
    its values, and the table has one entry per value).
    """
    codes = np.ascontiguousarray(codes, dtype=np.int32)
    shifted_table = np.empty(len(table) + 1, dtype=np.bool_)
    shifted_table[0] = missing
    shifted_table[1:] = table
    if codes.shape[0] < NUMBA_FROM:
        return shifted_table.take(codes.view(np.uint32) + np.uint32(1))  # -1 wraps to 0xFFFFFFFF, +1 to 0
    out = np.empty(codes.shape[0], dtype=np.bool_)
    _numba_kernels()[0](codes, shifted_table.view(np.uint8), out.view(np.uint8))
    return out


def or_positive_into(out: np.ndarray, counts: np.ndarray) -> None:
    """``out[i] |= counts[i] > 0`` in place (one task group's live tasks per instance)."""
    if out.shape[0] < NUMBA_FROM:
        out |= np.asarray(counts) > 0
    else:
        _numba_kernels()[1](out, np.ascontiguousarray(counts, dtype=np.int64))
