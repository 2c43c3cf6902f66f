"""The vectorized load columns agree with their plain per-row forms."""

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from quaymaster.model.attributes import AttributeColumn
from quaymaster.model.port_lists import PortLists

_values = st.one_of(st.none(), st.sampled_from(["a", "b", "us-east-1a", "", "x y"]), st.text(max_size=4))


@settings(max_examples=200, deadline=None)
@given(st.lists(_values, max_size=40), st.integers(1, 4))
def test_attribute_column_from_arrow_equals_from_strings(strings, chunks):
    step = max(1, len(strings) // chunks)
    pieces = [strings[i:i + step] for i in range(0, len(strings), step)] or [[]]
    column = pa.chunked_array([pa.array(p, pa.string()) for p in pieces], pa.string())
    fast, plain = AttributeColumn.from_arrow(column), AttributeColumn.from_strings(strings)
    assert fast.values == plain.values
    assert fast.codes.tolist() == plain.codes.tolist()
    fast.set(0, "new") if strings else None  # writable, and the dictionary still grows
    assert fast.strings()[:1] == (["new"] if strings else [])


_port_lists = st.lists(st.lists(st.integers(0, 65535), max_size=5).map(tuple), max_size=20)


@settings(max_examples=200, deadline=None)
@given(_port_lists, _port_lists, st.integers(0, 3))
def test_port_lists_behave_like_tuples(first, second, sliced):
    array = pa.array([list(p) for p in first], pa.list_(pa.int32()))
    lists = PortLists.from_arrow(array.slice(min(sliced, len(first))))
    expected = first[min(sliced, len(first)):]
    assert len(lists) == len(expected) and list(lists) == expected
    assert [lists[p] for p in range(len(expected))] == expected
    both = lists.concat(PortLists.from_tuples(second))
    assert list(both) == expected + second
    assert both.to_arrow().to_pylist() == [list(p) for p in expected + second]
    assert both.lengths().tolist() == [len(p) for p in expected + second]
    assert both == PortLists.from_tuples(expected + second)
    if both:
        assert both[-1] == (expected + second)[-1]


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**64 - 1))
def test_sequence_of_inverts_task_id(sequence):
    from quaymaster.model.tasks import sequence_of, task_id
    text = task_id(np.array([sequence], np.uint64))[0]
    assert sequence_of(text) == sequence
    assert sequence_of(text[:-1] + ("0" if text[-1] != "0" else "1")) is None
