"""The CQL compliance suite (tests/cql/compliance/*.json), run on the column masks and
on the row-by-row reference.

Each file holds ``instances`` (columns of placement.md section 1), optional
``tasks``, and ``cases``: ``{"expression", "expected": [ids in table order]}``
or ``{"expression", "error": true, "position"?: p}``. The files are plain JSON
so any other implementation of cql.md can run them.
"""

from __future__ import annotations

import pytest
from cql_tables import compliance_documents, load
from reference import cql_ref

from quaymaster import cql

DOCUMENTS = compliance_documents()
CASES = [(name, k, case) for name, doc in DOCUMENTS for k, case in enumerate(doc["cases"])]
_LOADED: dict[str, tuple] = {}


def _fixture(name: str):
    if name not in _LOADED:
        _LOADED[name] = load(dict(DOCUMENTS)[name])
    return _LOADED[name]


def test_the_suite_is_large_enough():
    assert len(CASES) >= 150
    assert {name for name, _ in DOCUMENTS} >= {"ecs_documentation.json", "subjects.json",
                                               "precedence.json", "quoting.json", "errors.json"}


@pytest.mark.parametrize("name,index,case", CASES,
                         ids=[f"{name}:{k}" for name, k, _ in CASES])
def test_case(name, index, case):
    cluster, rows = _fixture(name)
    expression = case["expression"]
    if case.get("error"):
        with pytest.raises(cql.CQLError) as info:
            cql.compile(expression)
        position = info.value.position
        assert 0 <= position < max(1, len(expression))
        if "position" in case:
            assert position == case["position"], str(info.value)
        with pytest.raises(cql.CQLError):
            cql_ref.evaluate(expression, rows[0])
        return
    ids = cluster.state.ids
    mask = cql.compile(expression).mask(cluster)
    assert [ids[p] for p in range(len(ids)) if mask[p]] == case["expected"]
    assert cql_ref.select(expression, rows) == case["expected"]


def test_ecs_documentation_examples_are_the_spec_list():
    """Section 6 of cql.md lists 18 examples; every one is a case of the suite."""
    spec_examples = [case["expression"] for case in dict(DOCUMENTS)["ecs_documentation.json"]["cases"]]
    assert len(spec_examples) == 19  # the 18 of section 6 plus section 4's not(attribute:stack == prod)
    assert all("error" not in case for case in dict(DOCUMENTS)["ecs_documentation.json"]["cases"])
