"""Scale-in choice in O(k log n) with two levels of heaps (docs/semantics.md, "Scale-in").

Every bucket a strategy uses is a function of the task's instance, so the
candidates fall into *cells* (equal buckets for every strategy). Within a cell
spread scores are equal and binpack scores differ only by the task's own value,
so each cell's candidates are ordered once (plain before daemon, binpack values
in strategy order descending, tie key, index) and only its head can be chosen.

Cells are grouped by the bucket of the first strategy. When every later
strategy is *cell-local* (binpack, spread(instanceId): its score changes only
when a task of that very cell stops), stopping a task changes the key of one
cell and of one group only: an inner heap per group (of its cells) and an outer
heap (of groups, by their best cell) then stay exact with O(log n) sifts. The
caller uses kernels/scalein.py's scan for other chains (random, or a later
attribute spread).
"""

from __future__ import annotations

import numpy as np

from quaymaster.kernels.jit import kernel
from quaymaster.kernels.scalein import BINPACK


@kernel
def _score(kinds, k, c, bucket, bucket_count, binpack_value, binpack_base):
    if kinds[k] == BINPACK:
        return binpack_base[k, bucket[k, c]] + binpack_value[k, c]
    return bucket_count[bucket[k, c]]


@kernel
def _before(ca, cb, kinds, bucket, bucket_count, binpack_value, binpack_base, daemon, tie):
    """Is candidate ca chosen before candidate cb (with the state as it is now)?"""
    if daemon[ca] != daemon[cb]:
        return not daemon[ca]
    for k in range(len(kinds)):
        sa = _score(kinds, k, ca, bucket, bucket_count, binpack_value, binpack_base)
        sb = _score(kinds, k, cb, bucket, bucket_count, binpack_value, binpack_base)
        if sa != sb:
            return sa > sb
    if tie[ca] != tie[cb]:
        return tie[ca] < tie[cb]
    return ca < cb


@kernel
def _sift_down(heap, base, size, i, head_of, st):
    """Restore heap order below slot i of heap[base:base + size]; head_of(entry) -> candidate.
    Only down: every change here is at the top (or a heapify), never below a settled parent."""
    kinds, bucket, bucket_count, binpack_value, binpack_base, daemon, tie = st
    while True:
        best, left = i, 2 * i + 1
        for child in (left, left + 1):
            if child < size and _before(head_of[heap[base + child]], head_of[heap[base + best]], kinds,
                                        bucket, bucket_count, binpack_value, binpack_base, daemon, tie):
                best = child
        if best == i:
            return
        heap[base + i], heap[base + best] = heap[base + best], heap[base + i]
        i = best


@kernel
def choose_victims_heap(kinds, bucket, bucket_count, binpack_value, binpack_base, daemon, tie,
                        count, order, cell_start, group_start, chosen):
    """Like kernels.scalein.choose_victims for chains whose strategies after the first are
    cell-local. ``order[cell_start[j]:cell_start[j+1]]``: cell j's candidates in choice
    order; cells ``group_start[g]:group_start[g+1]`` (numbered so) share the first bucket.
    Returns how many were chosen."""
    st = (kinds, bucket, bucket_count, binpack_value, binpack_base, daemon, tie)
    n_cells, n_groups = len(cell_start) - 1, len(group_start) - 1
    next_of = cell_start[:-1].copy()
    cell_head = order[next_of]  # the candidate each cell would give up next
    inner = np.arange(n_cells)  # one heap per group, in place: slots group_start[g]..
    inner_size = np.diff(group_start)
    group_head = np.empty(n_groups, dtype=np.int64)  # the best candidate of each group
    for g in range(n_groups):
        for i in range(inner_size[g] // 2 - 1, -1, -1):
            _sift_down(inner, group_start[g], inner_size[g], i, cell_head, st)
        group_head[g] = cell_head[inner[group_start[g]]]
    outer, outer_size = np.arange(n_groups), n_groups
    for i in range(outer_size // 2 - 1, -1, -1):
        _sift_down(outer, 0, outer_size, i, group_head, st)
    done = 0
    while done < count and outer_size > 0:
        g = outer[0]
        cell = inner[group_start[g]]
        c = cell_head[cell]
        chosen[done] = c
        done += 1
        for k in range(len(kinds)):
            if kinds[k] == BINPACK:
                binpack_base[k, bucket[k, c]] += binpack_value[k, c]
            else:
                bucket_count[bucket[k, c]] -= 1
        next_of[cell] += 1
        if next_of[cell] < cell_start[cell + 1]:
            cell_head[cell] = order[next_of[cell]]
        else:  # the cell is empty: its slot takes the group's last cell
            inner_size[g] -= 1
            inner[group_start[g]] = inner[group_start[g] + inner_size[g]]
        if inner_size[g] > 0:
            _sift_down(inner, group_start[g], inner_size[g], 0, cell_head, st)
            group_head[g] = cell_head[inner[group_start[g]]]
        else:
            outer_size -= 1
            outer[0] = outer[outer_size]
        if outer_size > 0:
            _sift_down(outer, 0, outer_size, 0, group_head, st)
    return done
