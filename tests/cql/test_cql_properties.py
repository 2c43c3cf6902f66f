"""Property tests: the column masks agree with the row-by-row reference (cql_ref) on
random expressions over random tables, and the parser reads back what was rendered."""

from __future__ import annotations

import dataclasses

import numpy as np
from cql_strategies import ATTRIBUTE_VALUES, GROUPS, expressions, tables
from cql_tables import rows_from_state
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import cql_ref

from quaymaster import Cluster, cql
from quaymaster.cql import ast
from quaymaster.model.attributes import AttributeColumn
from quaymaster.model.schema import INSTANCE_STATUSES


def expected_mask(tree, rows) -> list[bool]:
    return [cql_ref.evaluate_tree(tree, row) for row in rows]


def without_positions(node):
    """The tree with every position zeroed, to compare shapes and contents."""
    if isinstance(node, ast.Predicate):
        return dataclasses.replace(node, position=0,
                                   values=tuple(ast.Value(v.text) for v in node.values))
    if isinstance(node, ast.Not):
        return ast.Not(without_positions(node.operand))
    return type(node)(tuple(without_positions(child) for child in node.operands))


@settings(max_examples=150)
@given(tables(), expressions())
def test_masks_match_the_reference(data, expression):
    tree, text = expression
    instances, tasks = data
    cluster = Cluster.from_arrow(instances, tasks)
    rows = cql_ref.rows_from_tables(instances, tasks)
    mask = cql.compile(text).mask(cluster)
    assert mask.dtype == np.bool_ and mask.shape == (len(rows),)
    assert mask.tolist() == expected_mask(tree, rows), text


@settings(max_examples=100)
@given(expressions(max_leaves=12))
def test_rendered_text_parses_back_to_the_tree(expression):
    tree, text = expression
    assert without_positions(cql.parse(text)) == without_positions(tree), text


@settings(max_examples=60)
@given(tables(), expressions(), st.data())
def test_a_compiled_query_follows_the_state_as_it_changes(data, expression, draw):
    """Placement changes running tasks and groups in place, PutAttributes changes
    attribute codes: a query compiled once must see every change."""
    tree, text = expression
    cluster = Cluster.from_arrow(*data)
    query = cql.compile(text)
    assert query.mask(cluster).tolist() == expected_mask(tree, rows_from_state(cluster))
    state = cluster.state
    for _ in range(draw.draw(st.integers(1, 4)) if state.n else 0):
        position = draw.draw(st.integers(0, state.n - 1))
        change = draw.draw(st.sampled_from(["task", "attribute", "version"]))
        if change == "task":   # what placing a task does to the counters
            state.running_tasks[position] += 1
            state.group_count(draw.draw(st.sampled_from(GROUPS + ("service:new",))))[position] += 1
        elif change == "attribute":
            name = draw.draw(st.sampled_from(["a", "num", "fresh"]))
            column = state.attributes.setdefault(name, AttributeColumn.missing(state.n))
            column.set(position, draw.draw(st.one_of(st.none(), st.sampled_from(ATTRIBUTE_VALUES))))
        else:
            state.agent_version[position] = draw.draw(st.sampled_from(["1.14.5", "3.0", "weird"]))
        assert query.mask(cluster).tolist() == expected_mask(tree, rows_from_state(cluster)), text


@settings(max_examples=40)
@given(tables(), expressions(max_leaves=4), st.one_of(st.none(), st.sampled_from(INSTANCE_STATUSES)),
       st.booleans())
def test_listing_matches_the_reference(data, expression, status, with_filter):
    _, text = expression
    cluster = Cluster.from_arrow(*data)
    rows = cql_ref.rows_from_tables(*data)
    chosen = text if with_filter else None
    assert (cql.list_container_instances(cluster, chosen, status)
            == cql_ref.list_container_instances(rows, chosen, status))
