"""Dictionary-encoded attribute columns.

An instance attribute (`attribute:<name>`) is stored as an int32 code per
instance into a list of distinct values, -1 meaning the instance lacks it.
Predicates and spread buckets are then decided once per distinct value and
broadcast, instead of once per instance.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MISSING = -1

#: The value stored for an attribute that is present without a value (ECS allows
#: PutAttributes without ``value``, and the agent's capability attributes such as
#: ``ecs.capability.external`` have none). ECS values are 1..128 characters, so an
#: empty string can never collide with a real value.
NO_VALUE = ""

# ECS's rules (API reference, ``Attribute``).
_NAME_RE = re.compile(r"[A-Za-z0-9_\-/\\.]{1,128}")
ATTRIBUTE_NAME_RULE = "1..128 letters, digits, '-', '_', '/', '\\' or '.'"
_VALUE_RE = re.compile(r"[A-Za-z0-9_\-.@/\\: ]{1,128}")

#: Attributes set by ECS or its agent, which do not count against the limit of
#: custom attributes per instance.
BUILTIN_PREFIXES = ("ecs.", "com.amazonaws.ecs.")


def attribute_name_problem(name) -> str | None:
    """Why ``name`` is not a valid ECS attribute name, or None if it is."""
    if not isinstance(name, str):
        return f"attribute name must be a string, found {type(name).__name__}"
    if not _NAME_RE.fullmatch(name):
        return f"invalid attribute name {name!r}: {ATTRIBUTE_NAME_RULE}"
    return None


def attribute_value_problem(value) -> str | None:
    """Why ``value`` is not a valid ECS attribute value, or None (also for NO_VALUE)."""
    if value == NO_VALUE:
        return None
    if not isinstance(value, str):
        return f"attribute value must be a string, found {type(value).__name__}"
    if not _VALUE_RE.fullmatch(value) or value != value.strip(" "):
        return (f"invalid attribute value {value!r}: 1..128 letters, digits, '-', '_', '.', "
                "'@', '/', '\\', ':' or spaces, not at the start or end")
    return None


def is_custom(name: str) -> bool:
    """True for a user's attribute, False for one ECS or its agent sets (``ecs.*``)."""
    return not name.startswith(BUILTIN_PREFIXES)


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
    def from_arrow(cls, column) -> AttributeColumn:
        """From an Arrow string column; the same codes as from_strings (first appearance),
        found by Arrow's dictionary encoding instead of a Python loop."""
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        encoded = pc.dictionary_encode(column)  # codes in order of first appearance; nulls stay null
        codes = pc.fill_null(encoded.indices, MISSING).to_numpy(zero_copy_only=False).astype(np.int32)  # writable
        return cls(codes, encoded.dictionary.to_pylist())

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
