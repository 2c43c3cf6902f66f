"""CQL patterns are matched by RE2: linear in the value, and patterns that need
backtracking are refused with a CQLError naming the pattern."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quaymaster import Cluster
from quaymaster.cql.values import compile_pattern
from quaymaster.errors import CQLError


def cluster(values):
    n = len(values)
    return Cluster.from_arrow({"ec2_instance_id": [f"i-{k}" for k in range(n)], "cpu_registered": [1] * n,
                               "memory_registered": [1] * n, "attribute:x": values})


def test_nested_repetition_is_linear_on_a_128_character_value():
    c = cluster(["a" * 127 + "c", "a" * 128, "a" * 127 + "b"])
    started = time.perf_counter()
    listed = c.list_container_instances(filter="attribute:x =~ '(a+)+b'")
    # Python's backtracking takes about 2^127 steps here; RE2 answers in microseconds.
    assert time.perf_counter() - started < 1.0
    assert [arn.rsplit("/", 1)[1] for arn in listed] == ["i-2"]


@pytest.mark.parametrize("pattern", [r"(a)\1", "(?=a)a", "(?<=a)b", "(?!a)b", "(?P<x>a)(?P=x)", "a++",
                                     "(?>a)", r"a\Z", "a{1001}", "(?(1)a|b)"])
def test_patterns_that_need_backtracking_are_refused(pattern):
    expression = f"attribute:x =~ '{pattern}'"
    with pytest.raises(CQLError) as caught:
        cluster(["a"]).list_container_instances(filter=expression)
    assert pattern.replace("\\", "\\\\") in caught.value.message or pattern in caught.value.message
    assert caught.value.position == expression.index("'")


def test_syntax_errors_keep_pythons_message():
    with pytest.raises(CQLError, match="invalid pattern .*unterminated character set"):
        cluster(["a"]).list_container_instances(filter="attribute:x =~ '[a-'")


def test_python_style_open_lower_bound_keeps_its_meaning():
    assert compile_pattern("a{,3}").fullmatch("aaa") and not compile_pattern("a{,3}").fullmatch("a{,3}")
    assert compile_pattern("[{,3}]").fullmatch(",") and not compile_pattern("[{,3}]").fullmatch("0")
    assert compile_pattern("a{,x}").fullmatch("a{,x}")


SUPPORTED = st.sampled_from(["a", "b", ".", "[ab]", "[^a]", "a*", "(a|b)+", "a?", "b{2}", "a{1,3}", r"\d",
                             r"\w", r"\.", "-", "(?i:A)", "a{,2}", "x|y"])
TEXT = st.text(alphabet="ab.-1xyA", max_size=8)


@settings(max_examples=300, deadline=None)
@given(st.lists(SUPPORTED, min_size=1, max_size=4).map("".join), TEXT)
def test_supported_patterns_match_as_python_does(pattern, value):
    assert compile_pattern(pattern).fullmatch(value) == (re.fullmatch(pattern, value) is not None)
