"""Choosing the tasks to stop when a service scales in (docs/semantics.md (placement, ECS contract section 7)).

The service's strategies are applied to its live tasks, in order:
binpack(field) keeps the tasks on the instance that will have the most of the
field left once the task stops, spread(field) the tasks whose value of the
field has the most live tasks of the service, random one task by j(t, n) over
the survivors ordered by their row q of the tasks table; the smallest k(q)
breaks ties. Daemon tasks go last. Tasks are chosen one at a time, each choice
seeing the earlier ones stopped. The kernel is kernels/scalein.py.

Tasks with no instance (Fargate) sit in a bucket of their own for every
strategy, with nothing remaining on it.
"""

from __future__ import annotations

import numpy as np

from quaymaster.errors import InvalidParameterError
from quaymaster.keys import seed_state, tie_keys
from quaymaster.kernels.scalein import BINPACK, RANDOM, SPREAD, choose_victims
from quaymaster.kernels.scalein_heap import choose_victims_heap
from quaymaster.placement.request import _check_seed
from quaymaster.placement.strategy import DEFAULT_SERVICE, parse_strategies


class _Candidates:
    """The live tasks of one group, in task-table order, as columns (no Python row objects).

    ``rows`` is each task's row q in the task table; ``chunk_of``/``row_in`` say
    where it is kept.
    """

    def __init__(self, tasks, code):
        parts, q = [], 0
        for k, chunk in enumerate(tasks.chunks):
            alive = np.asarray(chunk.alive)
            mine = alive & (np.asarray(chunk.group_code) == code) if code is not None else alive & False
            hits = np.flatnonzero(mine)
            if len(hits):
                table_row = q + np.cumsum(alive)[hits] - 1  # live rows before it in the chunk
                parts.append((k, hits, table_row))
            q += int(alive.sum())
        self.chunks = tasks.chunks
        self.chunk_of = np.concatenate([np.full(len(h), k) for k, h, _ in parts]) if parts else np.empty(0, int)
        self.row_in = np.concatenate([h for _, h, _ in parts]) if parts else np.empty(0, int)
        self.rows = np.concatenate([r for _, _, r in parts]).astype(np.int64) if parts else np.empty(0, np.int64)

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, name: str) -> np.ndarray:
        out = np.empty(len(self.rows), dtype=np.asarray(getattr(self.chunks[0], name)).dtype) if len(self) else None
        for k in np.unique(self.chunk_of).tolist():
            at = self.chunk_of == k
            out[at] = np.asarray(getattr(self.chunks[k], name))[self.row_in[at]]
        return out


def choose_tasks_to_stop(cluster, group: str, count: int, placement_strategy=None,
                         seed: int = 0) -> list[str]:
    """ARNs of the ``count`` tasks of ``group`` to stop, in the order they are chosen."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise InvalidParameterError(f"count must be an integer >= 0, found {count!r}", field="count",
                                    value=count)
    seed = _check_seed(seed)
    strategies = parse_strategies(placement_strategy, default=DEFAULT_SERVICE)
    state = cluster.state
    candidates = _Candidates(cluster.tasks, cluster.tasks._group_index.get(group))
    m, n = len(candidates), state.n
    if m == 0 or count == 0:
        return []
    count = min(count, m)  # no more than the group has: a huge count (2**63) chooses them all
    position = candidates.column("instance_pos").astype(np.int64)
    position[position < 0] = n  # Fargate: a bucket of its own
    rows = candidates.rows
    ranked = []
    for s in strategies:
        ranked.append(s)
        if s.type == "random":
            break
    kinds = np.array([{"binpack": BINPACK, "spread": SPREAD, "random": RANDOM}[s.type] for s in ranked],
                     dtype=np.int64)
    bucket = np.zeros((len(ranked), m), dtype=np.int64)
    binpack_value = np.zeros((len(ranked), m), dtype=np.int64)
    binpack_base = np.zeros((len(ranked), n + 1), dtype=np.int64)
    bucket_counts, offset = [], 0
    for k, s in enumerate(ranked):
        if s.type == "binpack":
            bucket[k] = position
            binpack_value[k] = candidates.column(s.field)
            binpack_base[k, :n] = getattr(state, f"{s.field}_remaining")
        elif s.type == "spread":
            if s.attribute is None:
                values = position
            else:
                codes = np.append(state.attribute(s.attribute).codes, -1)  # Fargate -> missing slot
                values = np.where(codes[position] < 0, -1, codes[position])
                values = np.where(position == n, -2, values)
            _, local = np.unique(values, return_inverse=True)
            bucket[k] = local + offset
            bucket_counts.append(np.bincount(local))
            offset += len(bucket_counts[-1])
    bucket_count = np.concatenate(bucket_counts) if bucket_counts else np.zeros(1, np.int64)
    daemon = candidates.column("daemon").astype(np.bool_)
    tie = tie_keys(seed, int(rows.max()) + 1)[rows]
    chosen = np.empty(min(count, m), dtype=np.int64)
    bucket_count = bucket_count.astype(np.int64)
    if count > _SCAN_UP_TO and _heap_fits(ranked):
        order, cell_start, group_start = _cells(kinds, bucket, binpack_value, daemon, tie)
        done = choose_victims_heap(kinds, bucket, bucket_count, binpack_value, binpack_base,
                                   daemon, tie, count, order, cell_start, group_start, chosen)
    else:  # random's j(t, n)-th draw, or a later attribute spread: the scan
        done = choose_victims(kinds, bucket, bucket_count, binpack_value, binpack_base,
                              daemon, rows, tie, count, np.uint64(seed_state(seed)), chosen)
    return _arns_of(cluster.tasks, candidates, chosen[:done])


# Up to this many choices the scan (O(count * m)) costs less than the heaps' O(m log m) setup.
_SCAN_UP_TO = 8


def _heap_fits(ranked) -> bool:
    """kernels/scalein_heap.py applies: no random, and every strategy after the first changes
    only with the tasks of one instance (binpack, spread(instanceId))."""
    if any(s.type == "random" for s in ranked):
        return False
    return all(s.type == "binpack" or s.attribute is None for s in ranked[1:])


def _cells(kinds, bucket, binpack_value, daemon, tie):
    """Candidates grouped into cells (equal buckets over every strategy) in choice order
    (plain first, binpack values descending in strategy order, tie key, index); cells are
    numbered by their buckets, the first strategy's most significant, so cells that share
    the first bucket are consecutive. Returns (order, cell_start, group_start)."""
    m = bucket.shape[1]
    cell = np.zeros(m, dtype=np.int64)
    first = np.zeros(m, dtype=np.int64)
    for k, row in enumerate(bucket):  # ranks at each step: no product of ranges can overflow
        _, cell = np.unique(cell * (int(row.max()) + 1) + row, return_inverse=True)
        cell = cell.reshape(-1).astype(np.int64)
        if k == 0:
            first = cell.copy()
    keys = [tie]  # np.lexsort: the last key is the primary one; it is stable (index last)
    keys += [-binpack_value[k] for k in reversed(range(len(kinds))) if kinds[k] == BINPACK]
    keys += [daemon, cell]
    order = np.lexsort(keys).astype(np.int64)
    n_cells = int(cell.max()) + 1
    cell_start = np.zeros(n_cells + 1, dtype=np.int64)
    np.cumsum(np.bincount(cell, minlength=n_cells), out=cell_start[1:])
    group_of_cell = first[order[cell_start[:-1]]]  # ascending: first ranks order the cells
    group_start = np.zeros(int(group_of_cell.max()) + 2, dtype=np.int64)
    np.cumsum(np.bincount(group_of_cell), out=group_start[1:])
    return order, cell_start, group_start


def _arns_of(tasks, candidates, chosen: np.ndarray) -> list[str]:
    """ARNs of the chosen candidates in order, built one batch per chunk."""
    arns: list[str | None] = [None] * len(chosen)
    chunk_of = candidates.chunk_of[chosen]
    for k in np.unique(chunk_of).tolist():
        at = np.flatnonzero(chunk_of == k)
        for slot, arn in zip(at.tolist(), tasks.chunk_arns(candidates.chunks[k], candidates.row_in[chosen[at]])):
            arns[slot] = arn
    return arns
