"""The metrics table's rows as they are recorded: columns, not a tuple per row.

A day of 200 services is millions of rows (time, scope, cluster, name, metric, value). The
minute's service rows arrive as one block of arrays (:meth:`MetricRows.add_block`), single rows
(a capacity provider's N, a cluster's instances) one by one (:meth:`MetricRows.add`); strings are
kept as codes into one list of the distinct strings, so the table is built at the end by one
``take`` per string column instead of converting millions of Python strings.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa


class MetricRows:
    def __init__(self):
        self._code_of: dict = {}          # string (or None) -> its code
        self._strings: list = []          # code -> string
        self._chunks: list = []           # finished blocks: (times, scopes, clusters, names, metrics, values)
        self._pending: tuple = self._empty()   # single rows since the last block, as Python lists
        self.count = 0

    @staticmethod
    def _empty() -> tuple:
        return [], [], [], [], [], []

    def code(self, text: str | None) -> int:
        """The code of a string (None: a null), given on first sight."""
        code = self._code_of.get(text)
        if code is None:
            code = self._code_of[text] = len(self._strings)
            self._strings.append(text)
        return code

    def add(self, time_ms: int, scope: str, cluster: str | None, name: str, metric: str, value) -> None:
        """One row (``value`` as a float)."""
        times, scopes, clusters, names, metrics, values = self._pending
        times.append(time_ms)
        scopes.append(self.code(scope))
        clusters.append(self.code(cluster))
        names.append(self.code(name))
        metrics.append(self.code(metric))
        values.append(float(value))
        self.count += 1

    def add_block(self, time_ms: int, scope: str, cluster: str | None, names: np.ndarray,
                  metrics: np.ndarray, values: np.ndarray) -> None:
        """Rows of one instant, scope and cluster: ``names`` and ``metrics`` are codes (int64
        arrays), ``values`` float64, one entry per row, in row order."""
        if not len(values):
            return
        self._flush()
        n = len(values)
        self._chunks.append((np.full(n, time_ms, np.int64), np.full(n, self.code(scope), np.int64),
                             np.full(n, self.code(cluster), np.int64), names, metrics,
                             np.asarray(values, np.float64)))
        self.count += n

    def _flush(self) -> None:
        times, scopes, clusters, names, metrics, values = self._pending
        if times:
            self._chunks.append((np.array(times, np.int64), np.array(scopes, np.int64),
                                 np.array(clusters, np.int64), np.array(names, np.int64),
                                 np.array(metrics, np.int64), np.array(values, np.float64)))
            self._pending = self._empty()

    def arrays(self, schema: pa.Schema) -> list[pa.Array]:
        """The six columns as Arrow arrays of ``schema``'s types (time, three strings, metric, value)."""
        self._flush()
        columns = [np.concatenate([chunk[k] for chunk in self._chunks]) if self._chunks
                   else np.empty(0, np.int64 if k < 5 else np.float64) for k in range(6)]
        strings = pa.array(self._strings, pa.string())
        out = []
        for k, field in enumerate(schema):
            if k == 0:
                out.append(pa.array(columns[0], field.type))
            elif k == 5:
                out.append(pa.array(columns[5], field.type))
            else:
                out.append(strings.take(pa.array(columns[k], pa.int64())))
        return out

    def rows(self) -> list[tuple]:
        """Every row as (time, scope, cluster, name, metric, value) tuples, in order (for tests and
        small tables: the table itself is built from :meth:`arrays`)."""
        self._flush()
        out = []
        for times, scopes, clusters, names, metrics, values in self._chunks:
            for row in zip(times.tolist(), scopes.tolist(), clusters.tolist(), names.tolist(),
                           metrics.tolist(), values.tolist()):
                out.append((row[0], *(self._strings[c] for c in row[1:5]), row[5]))
        return out
