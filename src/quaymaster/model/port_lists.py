"""Per-instance port lists (reserved TCP/UDP ports) held as offsets + values arrays.

``lists[p]`` is the tuple of instance ``p``'s ports; ``values[offsets[p]:offsets[p + 1]]``
holds them. Kept as two numpy arrays so that loading 100,000 instances builds no
Python object per instance. A PortLists is never changed in place: appending
instances makes a new one, so copies of a cluster may share it.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa


class PortLists:
    """An immutable sequence of port tuples, one per instance position."""

    __slots__ = ("offsets", "values")

    def __init__(self, offsets: np.ndarray, values: np.ndarray):
        self.offsets = np.ascontiguousarray(offsets, dtype=np.int64)
        self.values = np.ascontiguousarray(values, dtype=np.int64)

    @classmethod
    def from_arrow(cls, column) -> PortLists:
        """From a ``list<int>`` column without null rows (as model.coerce leaves it)."""
        lists = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        if len(lists) == 0:
            return cls(np.zeros(1, dtype=np.int64), np.empty(0, dtype=np.int64))
        offsets = lists.offsets.to_numpy().astype(np.int64)
        values = lists.values.to_numpy(zero_copy_only=False).astype(np.int64)
        return cls(offsets - offsets[0], values[offsets[0]:offsets[-1]])

    @classmethod
    def from_tuples(cls, port_lists) -> PortLists:
        """From a sequence of port sequences (the plain form)."""
        lengths = np.fromiter((len(p) for p in port_lists), dtype=np.int64, count=len(port_lists))
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        values = np.fromiter((x for p in port_lists for x in p), dtype=np.int64, count=int(offsets[-1]))
        return cls(offsets, values)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, position: int) -> tuple[int, ...]:
        if position < 0:
            position += len(self)
        if not 0 <= position < len(self):
            raise IndexError(f"position {position} out of range")
        start, stop = self.offsets[position:position + 2].tolist()
        return tuple(self.values[start:stop].tolist())

    def __iter__(self):
        values, offsets = self.values.tolist(), self.offsets.tolist()
        return (tuple(values[a:b]) for a, b in zip(offsets, offsets[1:]))

    def __eq__(self, other) -> bool:
        if isinstance(other, PortLists):
            return np.array_equal(self.offsets, other.offsets) and np.array_equal(self.values, other.values)
        return NotImplemented


    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def concat(self, other: PortLists) -> PortLists:
        """The lists of self followed by other's (a new object)."""
        return PortLists(np.concatenate([self.offsets, other.offsets[1:] + self.offsets[-1]]),
                         np.concatenate([self.values, other.values]))

    def to_arrow(self, value_type=pa.int32()) -> pa.ListArray:
        return pa.ListArray.from_arrays(pa.array(self.offsets.astype(np.int32), pa.int32()),
                                        pa.array(self.values, value_type))


def lengths_and_values(port_lists) -> tuple[np.ndarray, np.ndarray]:
    """(ports per instance, all ports in order) of a PortLists or a sequence of port sequences."""
    if not isinstance(port_lists, PortLists):
        port_lists = PortLists.from_tuples(port_lists)
    return port_lists.lengths(), port_lists.values
