"""The public surface of quaymaster.cql: the tree the parser builds, Query's flags,
the compile cache, error rendering, and ListContainerInstances."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import quaymaster
from quaymaster import Cluster, cql
from quaymaster.cql import ast
from quaymaster.errors import CQLError, InvalidInputError, InvalidParameterError


def P(subject: str, operator: str, *values: str) -> ast.Predicate:
    """A predicate without positions, for comparing tree shapes."""
    kind, _, name = subject.partition(":") if subject.startswith("attribute:") else (subject, "", "")
    return ast.Predicate(kind if name else subject, name or None, operator,
                         tuple(ast.Value(v) for v in values))


def shape(node):
    """The tree with positions dropped."""
    if isinstance(node, ast.Predicate):
        return ast.Predicate(node.kind, node.attribute, node.operator,
                             tuple(ast.Value(v.text) for v in node.values))
    if isinstance(node, ast.Not):
        return ast.Not(shape(node.operand))
    return type(node)(tuple(shape(c) for c in node.operands))


A, B, C = (P("attribute:a", "exists"), P("attribute:b", "exists"), P("attribute:c", "exists"))


@pytest.mark.parametrize("text,tree", [
    ("attribute:a exists or attribute:b exists and attribute:c exists", ast.Or((A, ast.And((B, C))))),
    ("attribute:a exists and attribute:b exists or attribute:c exists", ast.Or((ast.And((A, B)), C))),
    ("not attribute:a exists and attribute:b exists", ast.And((ast.Not(A), B))),
    ("not(attribute:a exists and attribute:b exists)", ast.Not(ast.And((A, B)))),
    ("not (attribute:a exists and attribute:b exists)", ast.Not(ast.And((A, B)))),
    ("!!attribute:a exists", ast.Not(ast.Not(A))),
    ("attribute:a exists || attribute:b exists || attribute:c exists", ast.Or((A, B, C))),
    ("(attribute:a exists or attribute:b exists) or attribute:c exists", ast.Or((ast.Or((A, B)), C))),
    ("attribute:a exists && (attribute:b exists)", ast.And((A, B))),
])
def test_precedence_and_grouping(text, tree):
    assert shape(cql.parse(text)) == tree


@pytest.mark.parametrize("word,symbol", [
    ("equals", "=="), ("not_equals", "!="), ("greater_than", ">"), ("greater_than_equal", ">="),
    ("less_than", "<"), ("less_than_equal", "<="), ("not_exists", "!exists"), ("not_in", "!in"),
    ("matches", "=~"), ("not_matches", "!~"),
])
def test_word_operators_are_the_symbol_operators(word, symbol):
    argument = "" if "exists" in symbol else " 5"
    assert shape(cql.parse(f"attribute:a {word}{argument}")) == shape(cql.parse(f"attribute:a {symbol}{argument}"))


def test_values_keep_their_positions_and_lists_their_items():
    tree = cql.parse("attribute:a in [x, 'y z', \"w\"]")
    assert [(v.text, v.position) for v in tree.values] == [("x", 16), ("y z", 19), ("w", 26)]
    assert tree.position == 0 and tree.operator == "in"
    assert cql.parse("attribute:a in x").values == (ast.Value("x", 15),)


def test_query_subjects_and_dynamic_flag():
    query = cql.compile("not(task:group == a) and attribute:x exists or agentVersion > 1")
    assert query.subjects == {"task:group", "attribute:x", "agentVersion"}
    assert query.dynamic
    assert cql.compile("runningTasksCount > 1").dynamic
    assert not cql.compile("attribute:x exists and ec2InstanceId == i-1 and registeredAt < 2020-01-01").dynamic


def test_compile_is_cached_by_text():
    assert cql.compile("attribute:cache-me exists") is cql.compile("attribute:cache-me exists")


@pytest.mark.parametrize("entry", [cql.compile, cql.parse])
@pytest.mark.parametrize("text", [b"attribute:a exists", None, 7, ["attribute:a exists"]])
def test_compile_and_parse_refuse_non_strings(entry, text):
    with pytest.raises(InvalidInputError) as info:
        entry(text)
    assert info.value.field == "expression"


def test_error_prints_message_expression_and_caret():
    with pytest.raises(CQLError) as info:
        cql.compile("attribute:ecs.instance-type t2.small")
    assert str(info.value) == (
        "CQL error at position 28: expected an operator after subject "
        "'attribute:ecs.instance-type', found 't2.small'\n"
        "attribute:ecs.instance-type t2.small\n"
        "                            ^")
    assert isinstance(info.value, ValueError) and cql.CQLError is quaymaster.CQLError


CLUSTER = Cluster.from_arrow(pa.table({
    "ec2_instance_id": ["i-1", "i-2", "i-3", "i-4"],
    "cpu_registered": [1, 1, 1, 1], "memory_registered": [1, 1, 1, 1],
    "status": ["ACTIVE", "INACTIVE", "DRAINING", "ACTIVE"],
    "attribute:stack": pa.array(["prod", "prod", "prod", None], pa.string()),
}))


def test_mask_takes_a_cluster_or_its_state_and_returns_a_fresh_array():
    query = cql.compile("attribute:stack == prod")
    first = query.mask(CLUSTER)
    assert first.tolist() == [True, True, True, False]
    first[:] = False
    assert query.mask(CLUSTER.state).tolist() == [True, True, True, False]
    with pytest.raises(InvalidInputError):
        query.mask(object())


def test_list_container_instances_leaves_out_inactive_unless_asked():
    arn = "arn:aws:ecs:us-east-1:000000000000:container-instance/default/"
    assert cql.list_container_instances(CLUSTER) == [arn + "i-1", arn + "i-3", arn + "i-4"]
    assert cql.list_container_instances(CLUSTER, "attribute:stack == prod") == [arn + "i-1", arn + "i-3"]
    assert cql.list_container_instances(CLUSTER, "attribute:stack == prod", "INACTIVE") == [arn + "i-2"]
    assert cql.list_container_instances(CLUSTER, status="DRAINING") == [arn + "i-3"]
    assert cql.list_container_instances(CLUSTER, status="REGISTRATION_FAILED") == []
    query = cql.compile("attribute:stack !exists")
    assert cql.list_container_instances(CLUSTER, query) == [arn + "i-4"]
    positions = cql.matching_positions(CLUSTER, "attribute:stack exists")
    assert positions.dtype == np.int64 and positions.tolist() == [0, 2]
    on_state = cql.list_container_instances(CLUSTER.state, "attribute:stack == prod")
    assert on_state == [arn + "i-1", arn + "i-3"]


@pytest.mark.parametrize("listing", [cql.list_container_instances, cql.matching_positions])
def test_listing_refuses_what_is_neither_a_cluster_nor_its_state(listing):
    with pytest.raises(InvalidInputError) as info:
        listing(None, "attribute:stack exists")
    assert info.value.field == "target"


@pytest.mark.parametrize("kwargs,field", [({"status": "active"}, "status"), ({"status": 3}, "status"), ({"status": ["ACTIVE"]}, "status"),
                                          ({"filter": 7}, "filter")])
def test_list_container_instances_refuses_bad_parameters(kwargs, field):
    with pytest.raises(InvalidParameterError) as info:
        cql.list_container_instances(CLUSTER, **kwargs)
    assert info.value.field == field


def test_an_empty_filter_is_an_empty_expression():
    with pytest.raises(CQLError) as info:
        cql.list_container_instances(CLUSTER, "")
    assert info.value.position == 0
