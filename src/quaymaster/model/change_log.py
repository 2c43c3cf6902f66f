"""The change log: which instance positions changed, in order (model/state_owner.py
writes it; kept placement plans read it to repair themselves, placement/engine.py)."""

from __future__ import annotations

import numpy as np

from quaymaster.native import address

_LOG_LIMIT_FACTOR = 2  # a plan further behind than n * this many changes rebuilds


TASKS, STATUS, ATTRIBUTE, INSTANCES = 0, 1, 2, 3  # what a change-log entry records


class ChangeLog:
    """Which instance positions changed, in order, so that kept plans repair what they hold.

    One row per changed position, in numpy columns: ``kind`` (TASKS: ``delta``
    tasks of ``group`` came or went; STATUS; ATTRIBUTE ``group`` holding the
    attribute's id; INSTANCES: new positions). Log indexes only grow; rows
    older than a rebuild would cost are dropped (a plan that far behind builds
    afresh).
    """

    def __init__(self):
        self.start = 0      # the log index of row 0
        self.size = 0
        self.position = np.zeros(256, np.int64)
        self.group = np.zeros(256, np.int64)
        self.delta = np.zeros(256, np.int64)
        self.kind = np.zeros(256, np.int8)
        self.attribute_ids: dict[str, int] = {}
        # Attribute changes and new instances so far: what static memberOf verdicts read
        # (CQL reads attributes and registration facts, never the status).
        self.attribute_epoch = 0

    @property
    def end(self) -> int:
        return self.start + self.size

    def record(self, positions, group: int = -1, delta: int = 0, kind: int = TASKS) -> None:
        positions = np.atleast_1d(np.asarray(positions, dtype=np.int64))
        end = self.size + len(positions)
        if end > len(self.position):
            for name in ("position", "group", "delta", "kind"):
                old = getattr(self, name)
                grown = np.zeros(max(end, 2 * len(old)), old.dtype)
                grown[:self.size] = old[:self.size]
                setattr(self, name, grown)
        self.position[self.size:end] = positions
        self.group[self.size:end] = group
        self.delta[self.size:end] = delta
        self.kind[self.size:end] = kind
        self.size = end
        if kind in (ATTRIBUTE, INSTANCES):
            self.attribute_epoch += 1

    def record_counts(self, positions: np.ndarray, group: int, deltas: np.ndarray) -> None:
        """TASKS rows of one group with a delta per position (a big placement, summed)."""
        start = self.size
        self.record(positions, group, 0)
        self.delta[start:self.size] = deltas

    def record_one(self, position: int, group: int = -1, delta: int = 0, kind: int = TASKS) -> None:
        """:meth:`record` of one position, without making arrays."""
        if self.size == len(self.position):
            self.record(position, group, delta, kind)
            return
        at = self.size
        self.position[at], self.group[at], self.delta[at], self.kind[at] = position, group, delta, kind
        self.size = at + 1

    def record_attribute(self, position: int, name: str) -> None:
        code = self.attribute_ids.setdefault(name, len(self.attribute_ids))
        self.record(position, code, 0, ATTRIBUTE)

    def fill_rows(self, index: int, rows) -> bool:
        """Point a ``qm_log_rows`` at the rows since log index ``index`` (False when they
        were dropped). The columns' C addresses are kept until the columns grow."""
        if index < self.start:
            return False
        kept = self.__dict__.get("_addresses")
        if kept is None or kept[0] is not self.position:
            kept = self._addresses = (self.position, tuple(address(getattr(self, name)) for name in
                                                           ("position", "group", "delta", "kind")))
        at = index - self.start
        position, group, delta, kind = kept[1]
        rows.n = self.size - at
        rows.position, rows.group, rows.delta, rows.kind = position + at, group + at, delta + at, kind + at
        return True

    def since(self, index: int):
        """(position, group, delta, kind) rows recorded since log index ``index``, or None."""
        if index < self.start:
            return None
        at = index - self.start
        return (self.position[at:self.size], self.group[at:self.size], self.delta[at:self.size],
                self.kind[at:self.size])

    def trim(self, n_instances: int) -> None:
        """Forget the oldest rows once they describe more changes than a rebuild costs."""
        limit = _LOG_LIMIT_FACTOR * max(n_instances, 64)
        if self.size <= 2 * limit:
            return
        drop = self.size - limit
        for name in ("position", "group", "delta", "kind"):
            column = getattr(self, name)
            column[:limit] = column[drop:self.size]
        self.start += drop
        self.size = limit
