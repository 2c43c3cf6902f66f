"""The two matchers of attribute values in model/coerce.py agree: Python's, used for the few
distinct values of one registration, and Arrow's (RE2), used for a fleet's."""

import pyarrow as pa
from hypothesis import given, settings, strategies as st

from quaymaster.model.coerce import _valid_few, _valid_many

ALLOWED = "abcXYZ019_-.@/\\: "
values = st.lists(st.one_of(st.text(alphabet=ALLOWED, max_size=130), st.text(max_size=12),
                            st.sampled_from(["", " ", "a ", " a", "a" * 128, "a" * 129, "é", "a\nb"])),
                  max_size=20, unique=True)


@settings(max_examples=300, deadline=None)
@given(values)
def test_python_and_arrow_matchers_agree(strings):
    array = pa.array(strings, pa.string())
    assert _valid_few(array).to_pylist() == _valid_many(array).to_pylist()


def test_the_rule_itself():
    array = pa.array(["", "web", "a b", " a", "a ", "x" * 128, "x" * 129, "é", "tier:front@1/2"], pa.string())
    expected = [True, True, True, False, False, True, False, False, True]
    assert _valid_few(array).to_pylist() == _valid_many(array).to_pylist() == expected
