"""Numba kernels that turn per-value CQL decisions into per-instance masks.

A predicate on a dictionary-encoded column is decided once per distinct value
(``table[code]``); these kernels broadcast that decision over the instances.
Public functions allocate and validate; the ``_`` kernels only loop.
"""

from __future__ import annotations

import numpy as np

from quaymaster.kernels.jit import kernel


@kernel
def _gather_shifted(codes, shifted_table, out):
    # shifted_table[0] answers a missing value (code -1), shifted_table[c + 1] code c:
    # one branch-free load per instance, where "missing if code < 0 else table[code]"
    # mispredicts all over a column with gaps. Bytes rather than bools and an unsigned
    # index (no negative-index wraparound check) make it about twice as fast again.
    for i in range(codes.shape[0]):
        out[i] = shifted_table[np.uint32(codes[i] + 1)]


@kernel
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
    out = np.empty(codes.shape[0], dtype=np.bool_)
    if codes.shape[0]:
        _gather_shifted(codes, shifted_table.view(np.uint8), out.view(np.uint8))
    return out


def or_positive_into(out: np.ndarray, counts: np.ndarray) -> None:
    """``out[i] |= counts[i] > 0`` in place (one task group's live tasks per instance)."""
    if out.shape[0]:
        _or_positive(out, np.ascontiguousarray(counts, dtype=np.int64))
