"""A NumPy per-task scan: the simple vectorised baseline the engine is compared with.

For each task, every instance is looked at with whole-array operations: the
feasible ones are found (resources and a fixed eligibility mask), each
strategy of the chain keeps the survivors with the smallest value, ``random``
ends the chain with draw ``j(t, n)``, otherwise the smallest tie key wins
(the tie and random keys of quaymaster.keys). The cost is O(instances) per task: what an
implementation without indexes does.

It covers what the benchmarks need, nothing more: one resource shape (cpu,
memory), no ports, GPUs or ENIs, one task group, memberOf given as a
precomputed mask. Its tie keys and draws come from :mod:`quaymaster.keys`, as
the engine's do; the rest (filtering, the strategy chain) is its own, so
agreeing with the engine is evidence for both. The keys themselves are checked
against the test reference's independent splitmix64 and hand arithmetic.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from quaymaster.keys import random_index, tie_keys

_ATTRIBUTE = "attribute:"


class NumpyBaseline:
    """The cluster state of one task group, placed into task by task.

    ``table`` is an instance table (docs/semantics.md) whose
    ``*_remaining`` columns are set; ``eligible`` marks the instances the
    request may use (ACTIVE, agent connected, memberOf true). State persists
    across :meth:`place` calls, as consecutive RunTask calls of one group.
    """

    def __init__(self, table: pa.Table, eligible: np.ndarray, *, seed: int = 0):
        self.cpu_remaining = table.column("cpu_remaining").to_numpy().astype(np.int64)
        self.memory_remaining = table.column("memory_remaining").to_numpy().astype(np.int64)
        self.eligible = np.asarray(eligible, dtype=bool)
        self.group_count = np.zeros(table.num_rows, dtype=np.int64)
        self.seed = seed
        self.tie_key = tie_keys(seed, table.num_rows)
        self._table = table
        self._buckets: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def _bucket(self, attribute: str) -> tuple[np.ndarray, np.ndarray]:
        """(bucket per instance, group tasks per bucket); lacking the attribute is one bucket."""
        if attribute not in self._buckets:
            name = _ATTRIBUTE + attribute
            values = (self._table.column(name).to_pylist() if name in self._table.column_names
                      else [None] * self._table.num_rows)
            distinct = {v: k for k, v in enumerate(sorted({v for v in values if v is not None}))}
            missing = len(distinct)
            bucket = np.array([distinct.get(v, missing) if v is not None else missing for v in values],
                              dtype=np.int64)
            counts = np.bincount(bucket, weights=self.group_count, minlength=missing + 1)
            self._buckets[attribute] = (bucket, counts.astype(np.int64))
        return self._buckets[attribute]

    def _values(self, kind: str, field: str, survivors: np.ndarray) -> np.ndarray:
        if kind == "binpack":
            return (self.cpu_remaining if field == "cpu" else self.memory_remaining)[survivors]
        if field in ("instanceId", "host"):
            return self.group_count[survivors]
        bucket, counts = self._bucket(field[len(_ATTRIBUTE):])
        return counts[bucket[survivors]]

    def _choose(self, survivors: np.ndarray, chain, t: int) -> int:
        for kind, field in chain:
            if kind == "random":  # survivors are in position order (flatnonzero)
                return int(survivors[random_index(self.seed, t, len(survivors))])
            values = self._values(kind, field, survivors)
            survivors = survivors[values == values.min()]
        return int(survivors[np.argmin(self.tie_key[survivors])])

    def _take(self, position: int, cpu: int, memory: int) -> None:
        self.cpu_remaining[position] -= cpu
        self.memory_remaining[position] -= memory
        self.group_count[position] += 1
        for bucket, counts in self._buckets.values():
            counts[bucket[position]] += 1

    def place(self, cpu: int, memory: int, count: int, strategy) -> np.ndarray:
        """Place up to ``count`` tasks of one request; returns the positions of the placed
        ones (fewer than ``count`` when the feasible set ran empty).

        ``strategy`` is a sequence of ``(type, field)``; empty means random.
        """
        chain = [(kind, field) for kind, field in strategy] or [("random", None)]
        for kind, field in chain:  # build attribute buckets before the first placement
            if kind == "spread" and field and field.startswith(_ATTRIBUTE):
                self._bucket(field[len(_ATTRIBUTE):])
        feasible = self.eligible & (self.cpu_remaining >= cpu) & (self.memory_remaining >= memory)
        placed = np.empty(count, dtype=np.int64)
        for t in range(count):
            survivors = np.flatnonzero(feasible)
            if survivors.size == 0:
                return placed[:t]
            position = self._choose(survivors, chain, t)
            self._take(position, cpu, memory)
            # only the winner's feasibility can have changed
            feasible[position] = (self.cpu_remaining[position] >= cpu
                                  and self.memory_remaining[position] >= memory)
            placed[t] = position
        return placed
