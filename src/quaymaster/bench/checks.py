"""Correctness checks run on a scenario's result before it is timed.

Each check returns a :class:`Check` (name, passed, detail) instead of raising,
so a report lists every check and a failing one does not hide the others.
The invariants are computed from the instance table with NumPy, not from the
engine's own state, except where the engine's bookkeeping itself is checked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str = ""

    def to_json(self) -> dict:
        return {"name": self.name, "passed": self.passed, "detail": self.detail}


def check_count(placed: int, expected: int) -> Check:
    """The number of placed tasks is what the capacity allows."""
    return Check("placed count", placed == expected, f"placed {placed}, expected {expected}")


def check_capacity(cluster, table: pa.Table, positions: np.ndarray, cpu: int, memory: int) -> Check:
    """No instance over capacity, and the engine's remaining resources equal
    registered-remaining minus what was placed on each instance."""
    placed = np.bincount(positions, minlength=table.num_rows)
    problems = []
    for name, need in (("cpu", cpu), ("memory", memory)):
        expected = table.column(f"{name}_remaining").to_numpy() - placed * need
        if (expected < 0).any():
            problems.append(f"{int((expected < 0).sum())} instances over {name} capacity")
        engine = getattr(cluster.state, f"{name}_remaining")
        if not np.array_equal(engine, expected):
            problems.append(f"engine {name}_remaining differs on "
                            f"{int((engine != expected).sum())} instances")
    return Check("capacity", not problems, "; ".join(problems) or
                 f"{int((placed > 0).sum())} instances used, none over capacity")


def check_member_of(positions: np.ndarray, eligible: np.ndarray) -> Check:
    """Every task is on an instance the memberOf constraint (and status) allows."""
    bad = int((~eligible[positions]).sum()) if len(positions) else 0
    return Check("memberOf", bad == 0, f"{bad} tasks on excluded instances")


def bucket_codes(table: pa.Table, column: str) -> np.ndarray:
    """Per instance, a small code for its value of ``column``; lacking it is one more code."""
    values = table.column(column).to_pylist() if column in table.column_names else [None] * table.num_rows
    distinct = {v: k for k, v in enumerate(sorted({v for v in values if v is not None}))}
    return np.array([distinct.get(v, len(distinct)) for v in values], dtype=np.int64)


def check_spread_prefix(positions: np.ndarray, buckets: np.ndarray, capacity: np.ndarray,
                        name: str) -> Check:
    """spread(field) first in the chain: after every task, the buckets that still have
    room hold counts that differ by at most one. Checked on every prefix up to the
    first task after which some bucket is full (from then on it no longer competes)."""
    bucket_capacity = np.bincount(buckets, weights=capacity).astype(np.int64)
    live = np.flatnonzero(bucket_capacity > 0)
    if len(positions) == 0 or len(live) < 2:
        return Check(f"spread {name}", True, "fewer than two buckets or no task: nothing to balance")
    chosen = buckets[positions]
    cumulative = np.stack([np.cumsum(chosen == b, dtype=np.int64) for b in live])
    full = (cumulative >= bucket_capacity[live][:, None]).any(axis=0)
    horizon = int(np.argmax(full)) if full.any() else len(positions)
    spread = cumulative[:, :horizon].max(axis=0) - cumulative[:, :horizon].min(axis=0)
    worst = int(spread.max()) if horizon else 0
    return Check(f"spread {name}", worst <= 1,
                 f"max imbalance {worst} over the first {horizon} of {len(positions)} tasks, "
                 f"{len(live)} buckets")


def check_spread_final(positions: np.ndarray, groups: np.ndarray, eligible: np.ndarray,
                       capacity: np.ndarray, name: str) -> Check:
    """spread(instanceId) after spread(group): within each group, the eligible instances'
    task counts differ by at most one at the end (valid while no instance is full)."""
    counts = np.bincount(positions, minlength=len(groups))
    if (counts[eligible] >= capacity[eligible]).any():
        return Check(f"spread {name}", True, "not applicable: some instance is full")
    worst = 0
    for group in np.unique(groups[eligible]):
        members = counts[eligible & (groups == group)]
        worst = max(worst, int(members.max() - members.min()))
    return Check(f"spread {name}", worst <= 1, f"max imbalance {worst} within a group")


def check_binpack_fill(positions: np.ndarray, groups: np.ndarray, capacity: np.ndarray,
                       name: str) -> Check:
    """binpack fills one instance at a time: within each group of instances that are
    always survivors together (a spread bucket, or the whole fleet when binpack comes
    first), at most one instance is used and still has room for another task.

    Why: once binpack picks an instance it has strictly less left than every untouched
    one, so it is picked again until it is full; a second partly used instance would
    have had to be picked while the first still had room."""
    used = np.bincount(positions, minlength=len(groups))
    partly = (used > 0) & (used < capacity)
    worst = int(np.bincount(groups[partly]).max()) if partly.any() else 0
    return Check(f"binpack {name}", worst <= 1,
                 f"at most {worst} partly filled instance(s) per group")


def compare_placements(name: str, got: list[dict], expected: list[dict],
                       keys=("task_index", "position", "ec2_instance_id")) -> Check:
    """Two lists of placements (or failures) are equal on ``keys``; names the first difference."""
    got_rows = [tuple(row[k] for k in keys) for row in got]
    expected_rows = [tuple(row[k] for k in keys) for row in expected]
    if got_rows == expected_rows:
        return Check(name, True, f"{len(got_rows)} rows equal")
    if len(got_rows) != len(expected_rows):
        detail = f"{len(got_rows)} rows vs {len(expected_rows)}"
    else:
        first = next(i for i, (a, b) in enumerate(zip(got_rows, expected_rows)) if a != b)
        detail = f"first difference at row {first}: {got_rows[first]} vs {expected_rows[first]}"
    return Check(name, False, detail)


def compare_positions(name: str, got: np.ndarray, expected: np.ndarray) -> Check:
    """The engine's first placements equal a baseline's (both as position arrays)."""
    size = min(len(got), len(expected))
    if len(expected) > len(got):
        return Check(name, False, f"baseline placed {len(expected)}, engine only {len(got)}")
    diff = np.flatnonzero(got[:size] != expected[:size])
    if diff.size:
        k = int(diff[0])
        return Check(name, False, f"task {k}: engine {int(got[k])}, baseline {int(expected[k])}")
    return Check(name, True, f"first {size} placements equal")
