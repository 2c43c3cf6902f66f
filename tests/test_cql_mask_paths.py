"""The CQL mask helpers answer the same through NumPy (small clusters) and Numba (large)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from quaymaster.kernels import cql_masks


def both_paths(monkeypatch, function, *args):
    """``function(*args)`` below and above the Numba threshold, each on its own copies."""
    answers = []
    for threshold in (10**9, 0):  # everything through NumPy, then everything through Numba
        monkeypatch.setattr(cql_masks, "NUMBA_FROM", threshold)
        copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        answers.append((function(*copies), copies))
    return answers


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 8), st.data())
def test_gather_by_code_paths_agree(size, data):
    import pytest

    with pytest.MonkeyPatch.context() as monkeypatch:
        table = np.array(data.draw(st.lists(st.booleans(), min_size=size, max_size=size)), dtype=np.bool_)
        codes = np.array(data.draw(st.lists(st.integers(-1, size - 1), max_size=50)), dtype=np.int32)
        missing = data.draw(st.booleans())
        (small, _), (large, _) = both_paths(monkeypatch, cql_masks.gather_by_code, codes, table, missing)
        expected = np.array([missing if c < 0 else table[c] for c in codes.tolist()], dtype=np.bool_)
        assert small.dtype == large.dtype == np.bool_
        assert np.array_equal(small, expected) and np.array_equal(large, expected)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(-3, 3)), max_size=50))
def test_or_positive_paths_agree(pairs):
    import pytest

    with pytest.MonkeyPatch.context() as monkeypatch:
        out = np.array([p[0] for p in pairs], dtype=np.bool_)
        counts = np.array([p[1] for p in pairs], dtype=np.int64)
        (_, (small, _)), (_, (large, _)) = both_paths(monkeypatch, cql_masks.or_positive_into, out, counts)
        assert np.array_equal(small, out | (counts > 0)) and np.array_equal(large, small)
