"""Cheap answers for the string checks of loading (model/coerce.py), vectorised.

Both functions answer only when they can be sure and return None otherwise;
the caller then runs the exact (slower) check. Loading 100,000 instances
would otherwise spend most of its time validating every string column
byte by byte and hashing every instance id.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_HASH_WEIGHTS = np.uint64(0x100000001B3)


def _string_chunk_parts(chunk: pa.Array):
    """(offsets, data) of a string chunk as numpy arrays (its own rows only), or None."""
    if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
        return None
    _, offsets_buffer, data_buffer = chunk.buffers()
    if offsets_buffer is None:
        return None
    dtype = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    offsets = np.frombuffer(offsets_buffer, dtype=dtype)
    if len(offsets) < chunk.offset + len(chunk) + 1:
        return None
    offsets = offsets[chunk.offset:chunk.offset + len(chunk) + 1]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
    return offsets, data


def ascii_strings(column: pa.ChunkedArray) -> bool:
    """True when every chunk's offsets are sound (non-decreasing, inside the data) and the
    bytes they cover are ASCII: the column is then valid UTF-8 without a full validation.
    False means "not shown", not "invalid"."""
    for chunk in column.chunks:
        parts = _string_chunk_parts(chunk)
        if parts is None:
            return False
        offsets, data = parts
        if len(offsets) == 1:
            continue
        start, end = int(offsets[0]), int(offsets[-1])
        if start < 0 or end > len(data) or (np.diff(offsets) < 0).any():
            return False
        if end > start and data[start:end].max() >= 0x80:
            return False
    return True


def distinct_by_hash(column: pa.ChunkedArray) -> bool | None:
    """True when the column's values are shown pairwise distinct by a 64-bit hash of each
    value (no nulls, every value of one length): equal hashes of different values only
    send the caller to its exact check. None when this cannot tell."""
    if column.null_count or len(column) < 2:
        return None
    hashes = []
    width = None
    for chunk in column.chunks:
        parts = _string_chunk_parts(chunk)
        if parts is None:
            return None
        offsets, data = parts
        lengths = np.diff(offsets)
        if len(lengths) == 0:
            continue
        chunk_width = int(lengths[0])
        if (lengths != chunk_width).any() or (width is not None and chunk_width != width):
            return None
        width = chunk_width
        start = int(offsets[0])
        if start < 0 or start + chunk_width * len(lengths) > len(data):
            return None
        rows = data[start:start + chunk_width * len(lengths)].reshape(len(lengths), chunk_width)
        hashes.append(_row_hashes(rows))
    if not hashes:
        return None
    joined = np.sort(np.concatenate(hashes))
    return True if not (joined[1:] == joined[:-1]).any() else None


def _row_hashes(rows: np.ndarray) -> np.ndarray:
    """FNV-1a over the bytes of each row, column by column (numpy uint64 arithmetic wraps)."""
    value = np.full(len(rows), 0xCBF29CE484222325, dtype=np.uint64)
    for k in range(rows.shape[1]):
        value ^= rows[:, k].astype(np.uint64)
        value *= _HASH_WEIGHTS
    return value
