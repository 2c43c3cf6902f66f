"""Fuzzing the CQL front end (cql.md section 5).

Invariant: any string compiles to a Query or raises CQLError with
``0 <= position < max(1, len)``, never anything else; a compiled query always
evaluates. Plus the limits: 2000 characters, nesting depth 100, and work that
grows linearly with the length (counted as executed lines, not timed).
"""

from __future__ import annotations

import itertools
import sys

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quaymaster import Cluster, cql

CLUSTER = Cluster.from_arrow(
    pa.table({"ec2_instance_id": ["i-1", "i-2", "i-3"], "cpu_registered": [1, 1, 1],
              "memory_registered": [1, 1, 1], "agent_version": ["1.14.5", "x", "2"],
              "attribute:a": pa.array(["x", None, "10"], pa.string())}),
    pa.table({"task_arn": ["t1"], "ec2_instance_id": ["i-1"], "group": ["service:web"]}))

TOKENS = ("attribute:a", "attribute:b", "attribute:", "agentConnected", "agentVersion", "ec2InstanceId",
          "registeredAt", "runningTasksCount", "task:group", "Attribute:a", "==", "!=", ">", ">=", "<",
          "<=", "=~", "!~", "exists", "!exists", "not_exists", "in", "!in", "not_in", "equals",
          "matches", "not_matches", "greater_than", "less_than_equal", "and", "or", "not", "&&", "||",
          "!", "(", ")", "[", "]", ",", "'", '"', "\\", "'x'", '"y"', "'a\\'b'", "x", "10", "1.14",
          "-1", "2018-02-13", "2018-06-18T22:28:28Z", "t2.*", "'[0-9]+'", "'('", "=", "&", "|", "~",
          "AND", "true", "\u00a0", "\x00", "é")
CQL_ALPHABET = "()[],'\"=!<>&|~ \t\\abnotiexsdrgu:.*0123456789-_TZ"


def check(expression: str) -> None:
    """The fuzz invariant for one string."""
    try:
        query = cql.compile(expression)
    except cql.CQLError as error:
        assert 0 <= error.position < max(1, len(expression)), (expression, error.position)
        assert error.expression == expression
        lines = str(error).split("\n")
        assert lines[0].startswith(f"CQL error at position {error.position}: ")
        assert lines[-1] == " " * error.position + "^"
        return
    mask = query.mask(CLUSTER)
    assert mask.dtype == np.bool_ and mask.shape == (CLUSTER.state.n,)
    assert isinstance(query.dynamic, bool) and query.subjects


@settings(max_examples=300)
@given(st.text(max_size=120))
def test_any_text(expression):
    check(expression)


@settings(max_examples=300)
@given(st.text(alphabet=CQL_ALPHABET, max_size=80))
def test_text_over_the_cql_alphabet(expression):
    check(expression)


@settings(max_examples=300)
@given(st.lists(st.tuples(st.sampled_from(TOKENS), st.sampled_from(["", " ", "  ", "\t"])), max_size=14))
def test_token_soup(parts):
    check("".join(token + space for token, space in parts))


@pytest.mark.parametrize("expression", [
    "(" * 2000, ")" * 2000, "!" * 2000, "not " * 500, "[" * 2000, "'" * 2000, "\\" * 2000,
    "attribute:a == '" + "\\" * 1990, "attribute:a in [" + "x," * 900,
    "attribute:a =~ '" + "(" * 1000 + ")" * 980 + "'",
], ids=["parens", "closing", "bangs", "nots", "brackets", "quotes", "backslashes", "escaped-end",
        "open-list", "deep-pattern"])
def test_pathological_inputs_fail_cleanly(expression):
    check(expression)
    with pytest.raises(cql.CQLError):
        cql.compile(expression)


def test_no_non_cql_exception_for_non_strings():
    with pytest.raises(cql.CQLError.__mro__[1]):  # InvalidInputError: not a string at all
        cql.compile(None)


# -- limits -----------------------------------------------------------------------------

def _padded(expression: str, length: int) -> str:
    return expression + " " * (length - len(expression))


def test_length_limit_is_2000_characters():
    chain = " or ".join(["attribute:a exists"] * 90)
    assert len(chain) < 2000
    assert cql.compile(_padded(chain, 2000)).mask(CLUSTER).tolist() == [True, False, True]
    with pytest.raises(cql.CQLError) as info:
        cql.compile(_padded(chain, 2001))
    assert info.value.position == 2000


@pytest.mark.parametrize("opening,closing", [("(", ")"), ("not ", ""), ("!", ""), ("not(", ")"),
                                             ("!(", ")")])
def test_nesting_is_capped_at_100_levels(opening, closing):
    """Every '(' and every negation is one level (so 'not(' is two)."""
    per_level = 2 if opening.endswith("(") and opening != "(" else 1
    ok_levels = 100 // per_level
    ok = opening * ok_levels + "attribute:a == x" + closing * ok_levels
    negations = ok_levels if opening != "(" else 0
    assert cql.compile(ok).mask(CLUSTER).tolist() == [negations % 2 == 0, False, negations % 2 == 1]
    bad = opening * (ok_levels + 1) + "attribute:a == x" + closing * (ok_levels + 1)
    with pytest.raises(cql.CQLError) as info:
        cql.compile(bad)
    assert "nested more than 100" in info.value.message
    assert info.value.position == len(opening) * ok_levels  # the token opening level 101


def _work(expression: str) -> int:
    """Lines executed inside quaymaster.cql while parsing ``expression``."""
    count = 0

    def tracer(frame, event, arg):
        nonlocal count
        if "quaymaster/cql" not in frame.f_code.co_filename.replace("\\", "/"):
            return None
        if event == "line":
            count += 1
        return tracer

    sys.settrace(tracer)
    try:
        cql.parse(expression)
    except cql.CQLError:
        pass
    finally:
        sys.settrace(None)
    return count


@pytest.mark.parametrize("shape", [
    lambda k: " or ".join(["attribute:a exists"] * k),
    lambda k: " and ".join(["(attribute:a == 'x' or not task:group =~ t2.*)"] * k),
    lambda k: "attribute:a in [" + ",".join(["v"] * k) + "]",
    lambda k: "attribute:a == '" + "\\'" * k + "'",
    lambda k: " " * k + "attribute:a exists",
    lambda k: "attribute:a == '" + "x" * k,            # unterminated: an error at the end
    lambda k: "attribute:a in [" + "x," * k + "x x]",  # an error after a long list
], ids=["or-chain", "nested-groups", "long-list", "escapes", "white-space", "unterminated", "late-error"])
def test_parsing_work_grows_linearly(shape):
    """Doubling the length at most doubles the work (plus a little constant)."""
    sizes = []
    for target in (450, 900, 1800):
        k = 1
        while len(shape(k * 2)) <= target:
            k *= 2
        while len(shape(k + 1)) <= target:
            k += 1
        sizes.append((len(shape(k)), _work(shape(k))))
    for (short_len, short_work), (long_len, long_work) in itertools.pairwise(sizes):
        assert long_work <= (long_len / short_len) * short_work * 1.1 + 50, sizes
