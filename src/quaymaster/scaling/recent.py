"""The last points of every service's metric series, kept as one array.

Each whole minute the quiet test of target tracking (``appautoscaling._quiet_targets``) reads the
last SCALE_IN_MINUTES points of one series per policy. Slicing ~200 Python lists and turning
~3,000 floats into an array every minute is most of that test's cost; :class:`RecentPoints`
keeps those points as rows of one array, updated as the minute's metrics are appended, so the
windows come out of one fancy index. It holds the same floats as the series' tails (NaN in front
where a series is shorter): the plain run reads the tails themselves.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from quaymaster.scaling.decide import SCALE_IN_MINUTES


class RecentPoints:
    """Per resource id and metric the last SCALE_IN_MINUTES points appended, oldest first."""

    def __init__(self, metrics: Sequence[str]):
        self.metric_index = {name: k for k, name in enumerate(metrics)}
        self.slot_of: dict[str, int] = {}     # resource id -> its row, given on first sight
        self.points = np.full((0, len(metrics), SCALE_IN_MINUTES), np.nan)

    def slots(self, resource_ids: Sequence[str]) -> np.ndarray:
        """The rows of these resource ids (new ones get rows of NaN: no points yet)."""
        slot_of = self.slot_of
        for resource_id in resource_ids:
            if resource_id not in slot_of:
                slot_of[resource_id] = len(slot_of)
        if len(slot_of) > len(self.points):     # room for twice as many: rows are rarely added
            grown = np.full((2 * len(slot_of), *self.points.shape[1:]), np.nan)
            grown[:len(self.points)] = self.points
            self.points = grown
        return np.array([slot_of[resource_id] for resource_id in resource_ids], np.int64)

    def push(self, slots: np.ndarray, values: np.ndarray) -> None:
        """Append one point per metric to each row of ``slots`` (distinct rows; ``values``: one
        row per slot, one column per metric, in the order given at construction)."""
        points = self.points
        points[slots, :, :-1] = points[slots, :, 1:]    # the fancy index copies: no overlap
        points[slots, :, -1] = values

    def windows(self, resource_ids: Sequence[str], metrics: Sequence[str]) -> np.ndarray:
        """Per (resource id, metric) pair the last SCALE_IN_MINUTES points, NaN-padded in front;
        all NaN for a resource id or a metric with no points."""
        rows = np.array([self.slot_of.get(r, -1) for r in resource_ids], np.int64)
        columns = np.array([self.metric_index.get(m, -1) for m in metrics], np.int64)
        out = self.points[rows.clip(0), columns.clip(0)] if len(self.points) else \
            np.full((len(rows), SCALE_IN_MINUTES), np.nan)
        out[(rows < 0) | (columns < 0)] = np.nan
        return out
