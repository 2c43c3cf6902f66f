"""The cheap load checks (model/string_checks.py) and lazily made lists agree with the
exact checks and with eagerly made lists, on many random inputs."""

from __future__ import annotations

import copy
import pickle

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quaymaster import Cluster
from quaymaster.errors import SchemaError
from quaymaster.model.string_checks import ascii_strings, distinct_by_hash

texts = st.lists(st.one_of(st.none(), st.text(alphabet="ab\u00e9\u4e2d-0", min_size=0, max_size=4)),
                 min_size=0, max_size=30)


def chunked(values, split: int) -> pa.ChunkedArray:
    split = min(split, len(values))
    parts = [values[:split], values[split:]]
    return pa.chunked_array([pa.array(p, pa.string()) for p in parts], pa.string())


@settings(max_examples=200, deadline=None)
@given(texts, st.integers(0, 30), st.integers(0, 5))
def test_ascii_strings_only_claims_what_holds(values, split, offset):
    column = chunked(values, split)
    sliced = column.slice(min(offset, len(column)))
    for col in (column, sliced):
        if ascii_strings(col):
            assert all(v is None or v.isascii() for v in col.to_pylist())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="abc", min_size=3, max_size=3), min_size=0, max_size=40),
       st.integers(0, 40))
def test_distinct_by_hash_only_claims_distinct_columns(values, split):
    column = chunked(values, split)
    if distinct_by_hash(column):
        assert len(set(values)) == len(values)
    elif len(values) >= 2 and len(set(values)) == len(values):
        pass  # allowed: "cannot tell" sends the caller to the exact check


def test_invalid_utf8_is_still_refused():
    data = pa.py_buffer(b"i-1i-\xff")
    offsets = pa.py_buffer(pa.array([0, 3, 6], pa.int32()).buffers()[1])
    bad = pa.StringArray.from_buffers(2, offsets, data)
    assert not ascii_strings(pa.chunked_array([bad]))
    with pytest.raises(SchemaError, match="UTF-8"):
        Cluster.from_arrow(pa.table({"ec2_instance_id": bad, "cpu_registered": [1, 1],
                                     "memory_registered": [1, 1]}))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="xyz", min_size=2, max_size=2), min_size=2, max_size=12))
def test_duplicate_ids_are_refused_whatever_path(ids):
    table = pa.table({"ec2_instance_id": ids, "cpu_registered": [1] * len(ids),
                      "memory_registered": [1] * len(ids)})
    if len(set(ids)) == len(ids):
        assert Cluster.from_arrow(table).state.ids == ids
    else:
        with pytest.raises(SchemaError, match="duplicate"):
            Cluster.from_arrow(table)


def test_lazy_lists_equal_eager_ones_through_copy_and_pickle():
    ids = [f"i-{k:04d}" for k in range(50)]
    table = pa.table({"ec2_instance_id": ids, "cpu_registered": [1024] * 50, "memory_registered": [2048] * 50,
                      "agent_version": ["1.2.3"] * 50, "capacity_provider": ["cp"] * 25 + [None] * 25,
                      "registered_at": pa.array([0] * 50, pa.timestamp("us", tz="UTC"))})
    lazy = Cluster.from_arrow(table)
    eager = Cluster.from_arrow(table)
    _ = eager.state.ids, eager.state.arns, eager.state.agent_version, eager.state.capacity_provider
    for twin in (lazy.copy(), pickle.loads(pickle.dumps(lazy)), copy.deepcopy(lazy)):
        assert twin.instance_table().equals(eager.instance_table())
        assert twin.state.ids == eager.state.ids and twin.state.arns == eager.state.arns
    assert lazy.instance_table().equals(eager.instance_table())
    assert lazy.state.capacity_provider == eager.state.capacity_provider
    lazy.register_container_instance("i-new", total_resources=[
        {"name": "CPU", "type": "INTEGER", "integerValue": 2048},
        {"name": "MEMORY", "type": "INTEGER", "integerValue": 4096}])
    assert lazy.state.ids[-1] == "i-new" and lazy.state.n == 51
