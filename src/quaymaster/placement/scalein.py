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
from quaymaster.keys import seed_state, splitmix64_array
from quaymaster.kernels.scalein import BINPACK, RANDOM, SPREAD, choose_victims
from quaymaster.kernels.scalein_heap import choose_victims_heap
from quaymaster.model.tasks import sequence_at
from quaymaster.placement.request import _check_seed
from quaymaster.placement.strategy import DEFAULT_SERVICE, parse_strategies


class _Candidates:
    """The live tasks of one group, in task-table order, as columns (no Python row objects).

    ``rows`` is each task's row q in the task table; ``parts`` says where they
    are kept: (chunk, its rows that are candidates), in chunk order, so the
    candidates of one chunk are consecutive.
    """

    def __init__(self, tasks, code):
        self.parts, table_rows, q = [], [], 0
        for chunk in tasks.chunks:
            alive = np.asarray(chunk.alive)
            live_here = int(np.count_nonzero(alive))
            if code is not None and live_here:
                hits = np.flatnonzero(alive & (np.asarray(chunk.group_code) == code))
                if len(hits):
                    self.parts.append((chunk, hits))
                    table_rows.append(q + np.cumsum(alive)[hits] - 1)  # live rows before it in the chunk
            q += live_here
        self.rows = np.concatenate(table_rows).astype(np.int64) if table_rows else np.empty(0, np.int64)

    def __len__(self) -> int:
        return len(self.rows)

    def arn(self, tasks, index: int) -> str:
        """The ARN of candidate ``index``."""
        for chunk, hits in self.parts:
            if index < len(hits):
                return tasks.arn_of(sequence_at(chunk, int(hits[index])))
            index -= len(hits)
        raise IndexError(index)

    def column(self, name: str) -> np.ndarray:
        columns = [np.asarray(getattr(chunk, name))[hits] for chunk, hits in self.parts]
        return columns[0] if len(columns) == 1 else np.concatenate(columns)


def choose_tasks_to_stop(cluster, group: str, count: int, placement_strategy=None,
                         seed: int = 0) -> list[str]:
    """ARNs of the ``count`` tasks of ``group`` to stop, in the order they are chosen."""
    seed = _check_count_and_seed(count, seed)
    ranking = GroupRanking(cluster, group, placement_strategy)
    return _arns_of(cluster.tasks, ranking.candidates, ranking.chosen(count, seed))


def first_chosen_among(cluster, group: str, count: int, wanted, take: int, placement_strategy=None,
                       seed: int = 0, ranking: GroupRanking | None = None) -> list[str]:
    """The first ``take`` ARNs in ``wanted`` (a set or dict of ARNs) of what
    :func:`choose_tasks_to_stop` answers, in its order; the ARNs of the others are never made
    (a service scale-in ranks its whole group to stop a few of its candidates). ``ranking``:
    a :class:`GroupRanking` of the same group and strategies on the cluster as it is now."""
    seed = _check_count_and_seed(count, seed)
    if ranking is None:
        ranking = GroupRanking(cluster, group, placement_strategy)
    out: list[str] = []
    if take <= 0:
        return out
    candidates = ranking.candidates
    for index in ranking.chosen(count, seed).tolist():
        arn = candidates.arn(cluster.tasks, index)
        if arn in wanted:
            out.append(arn)
            if len(out) == take:
                break
    return out


class GroupRanking:
    """What choosing among a group's live tasks reads, but for the seed: the candidates and
    the kernels' columns of the group's strategies.

    A service scale-in under a capacity provider strategy ranks its group once per provider
    holding too many, each time with a seed of its own, before it stops any: every ranking
    reads the same cluster, so these are read once (:meth:`chosen` leaves them unchanged).
    """

    def __init__(self, cluster, group: str, placement_strategy=None):
        strategies = parse_strategies(placement_strategy, default=DEFAULT_SERVICE)
        self.ranked = []   # the strategies up to the first random: none after it decides
        for s in strategies:
            self.ranked.append(s)
            if s.type == "random":
                break
        self.candidates = _Candidates(cluster.tasks, cluster.tasks._group_index.get(group))
        self._columns: tuple = ()
        if len(self.candidates):
            self._columns = _strategy_columns(self.ranked, self.candidates, cluster.state)
            self._daemon = self.candidates.column("daemon").astype(np.bool_)

    def chosen(self, count: int, seed: int) -> np.ndarray:
        """The indexes of the ``count`` candidates chosen with ``seed``, in order."""
        m = len(self.candidates)
        if m == 0 or count == 0:
            return np.empty(0, np.int64)
        count = min(count, m)  # no more than the group has: a huge count (2**63) chooses them all
        kinds, bucket, bucket_count, binpack_value, binpack_base = self._columns
        # the kernels count each choice down in these two: a copy for each ranking
        bucket_count, binpack_base = bucket_count.copy(), binpack_base.copy()
        daemon, rows = self._daemon, self.candidates.rows
        tie = _tie_keys_at(seed, rows)
        chosen = np.empty(count, dtype=np.int64)
        if count > _SCAN_UP_TO and count * m > _SCAN_WORK and _heap_fits(self.ranked):
            order, cell_start, group_start = _cells(kinds, bucket, binpack_value, daemon, tie)
            done = choose_victims_heap(kinds, bucket, bucket_count, binpack_value, binpack_base,
                                       daemon, tie, count, order, cell_start, group_start, chosen)
        else:  # random's j(t, n)-th draw, or a later attribute spread: the scan
            done = choose_victims(kinds, bucket, bucket_count, binpack_value, binpack_base,
                                  daemon, rows, tie, count, np.uint64(seed_state(seed)), chosen)
        return chosen[:done]


def _check_count_and_seed(count: int, seed: int) -> int:
    """Refuse a bad ``count`` or ``seed`` (in that order, before the strategies); the seed as an int."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise InvalidParameterError(f"count must be an integer >= 0, found {count!r}", field="count",
                                    value=count)
    return _check_seed(seed)


def _strategy_columns(ranked, candidates, state) -> tuple:
    """The kernels' view of the strategies: (kinds, bucket, bucket_count, binpack_value, binpack_base)."""
    m, n = len(candidates), state.n
    position = candidates.column("instance_pos").astype(np.int64)
    position[position < 0] = n  # Fargate: a bucket of its own
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
    return kinds, bucket, bucket_count.astype(np.int64), binpack_value, binpack_base


# Up to this many choices, or this much work (count * m: a service's group of a few dozen
# tasks), the scan (O(count * m), all in the kernel) costs less than the heaps' O(m log m)
# setup (numpy sorts and groupings, tens of microseconds of calls). Both choose the same.
_SCAN_UP_TO = 8
_SCAN_WORK = 16_384


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


def _tie_keys_at(seed: int, rows: np.ndarray) -> np.ndarray:
    """k(q) = splitmix64(s ^ q) of just these rows (keys.tie_keys of every row up to them, taken)."""
    return splitmix64_array(rows.astype(np.uint64) ^ np.uint64(seed_state(seed)))


def _arns_of(tasks, candidates, chosen: np.ndarray) -> list[str]:
    """ARNs of the chosen candidates in order, built one batch per chunk."""
    arns: list[str | None] = [None] * len(chosen)
    start = 0
    for chunk, hits in candidates.parts:
        at = np.flatnonzero((chosen >= start) & (chosen < start + len(hits)))
        if len(at):
            for slot, arn in zip(at.tolist(), tasks.chunk_arns(chunk, hits[chosen[at] - start])):
                arns[slot] = arn
        start += len(hits)
    return arns
