"""Dictionary-encoded attribute columns.

An instance attribute (`attribute:<name>`) is stored as an int32 code per
instance into a list of distinct values, -1 meaning the instance lacks it.
Predicates and spread buckets are then decided once per distinct value and
broadcast, instead of once per instance.
"""

from __future__ import annotations

import numpy as np

MISSING = -1


class AttributeColumn:
    """One attribute over all instances: ``codes[i]`` indexes ``values`` (-1: absent)."""

    __slots__ = ("codes", "values", "_index")

    def __init__(self, codes: np.ndarray, values: list[str]):
        self.codes = np.ascontiguousarray(codes, dtype=np.int32)
        self.values = list(values)
        self._index = {v: k for k, v in enumerate(self.values)}

    @classmethod
    def from_strings(cls, strings) -> AttributeColumn:
        """From a sequence of str/None, codes in order of first appearance."""
        values: list[str] = []
        index: dict[str, int] = {}
        codes = np.empty(len(strings), dtype=np.int32)
        for i, s in enumerate(strings):
            if s is None:
                codes[i] = MISSING
                continue
            code = index.get(s)
            if code is None:
                code = index[s] = len(values)
                values.append(s)
            codes[i] = code
        return cls(codes, values)

    @classmethod
    def missing(cls, n: int) -> AttributeColumn:
        return cls(np.full(n, MISSING, dtype=np.int32), [])

    def __len__(self) -> int:
        return len(self.codes)

    def code_of(self, value: str) -> int:
        """The code of ``value``, adding it to the dictionary if new."""
        code = self._index.get(value)
        if code is None:
            code = self._index[value] = len(self.values)
            self.values.append(value)
        return code

    def lookup(self, value: str) -> int:
        """The code of ``value``, or -1 if no instance has it."""
        return self._index.get(value, MISSING)

    def get(self, position: int) -> str | None:
        code = int(self.codes[position])
        return None if code == MISSING else self.values[code]

    def set(self, position: int, value: str | None) -> None:
        self.codes[position] = MISSING if value is None else self.code_of(value)

    def extend(self, strings) -> None:
        new = np.array([MISSING if s is None else self.code_of(s) for s in strings], dtype=np.int32)
        self.codes = np.concatenate([self.codes, new])

    def strings(self) -> list[str | None]:
        values = self.values
        return [None if c == MISSING else values[c] for c in self.codes.tolist()]

    def is_empty(self) -> bool:
        return not (self.codes != MISSING).any()
