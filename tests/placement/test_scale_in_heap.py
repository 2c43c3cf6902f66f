"""The O(k log n) scale-in kernel chooses exactly what the plain scan chooses.

Both kernels take the same inputs (as placement/scalein.py builds them); the
scan (kernels/scalein.py, one pass over every candidate per choice) is the
plain version.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from quaymaster.kernels.scalein import BINPACK, SPREAD, choose_victims
from quaymaster.kernels.scalein_heap import choose_victims_heap
from quaymaster.placement.scalein import _cells

# (kind, is the bucket per instance) — later strategies must be per instance for the heap
_FIRST = [(SPREAD, False), (SPREAD, True), (BINPACK, True)]
_LATER = [(SPREAD, True), (BINPACK, True)]


@st.composite
def _inputs(draw):
    n = draw(st.integers(1, 12))
    m = draw(st.integers(1, 60))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    chain = [draw(st.sampled_from(_FIRST))] if draw(st.booleans()) else []
    chain += draw(st.lists(st.sampled_from(_LATER), max_size=2)) if chain else []
    position = rng.integers(0, n + 1, m)  # n: a task on no instance
    zone = rng.integers(0, draw(st.integers(1, 4)), n + 1)
    kinds = np.array([kind for kind, _ in chain], dtype=np.int64)
    bucket = np.zeros((len(chain), m), dtype=np.int64)
    value = np.zeros((len(chain), m), dtype=np.int64)
    base = np.zeros((len(chain), n + 1), dtype=np.int64)
    counts, offset = [], 0
    for k, (kind, per_instance) in enumerate(chain):
        if kind == BINPACK:
            bucket[k] = position
            value[k] = rng.integers(0, 4, m)  # small values: many equal scores
            base[k, :n] = rng.integers(0, 6, n)
        else:
            _, local = np.unique(position if per_instance else zone[position], return_inverse=True)
            bucket[k] = local.reshape(-1) + offset
            counts.append(np.bincount(local.reshape(-1)))
            offset += len(counts[-1])
    bucket_count = np.concatenate(counts).astype(np.int64) if counts else np.zeros(1, np.int64)
    daemon = rng.random(m) < draw(st.sampled_from([0.0, 0.3, 1.0]))
    tie = rng.integers(0, draw(st.sampled_from([3, 2**63])), m, dtype=np.uint64)  # ties may repeat
    count = draw(st.integers(0, m + 2))
    return kinds, bucket, bucket_count, value, base, daemon, tie, count


@settings(max_examples=300, deadline=None)
@given(_inputs())
def test_heap_kernel_equals_the_scan(case):
    kinds, bucket, bucket_count, value, base, daemon, tie, count = case
    m = len(daemon)
    rows = np.arange(m, dtype=np.int64)
    plain = np.empty(m, dtype=np.int64)
    done = choose_victims(kinds, bucket, bucket_count.copy(), value, base.copy(), daemon, rows, tie,
                          count, np.uint64(0), plain)
    fast = np.empty(m, dtype=np.int64)
    order, cell_start, group_start = _cells(kinds, bucket, value, daemon, tie)
    got = choose_victims_heap(kinds, bucket, bucket_count.copy(), value, base.copy(), daemon, tie,
                              count, order, cell_start, group_start, fast)
    assert got == done == min(count, m)
    assert fast[:got].tolist() == plain[:done].tolist()
