"""The whole-column checks of model.coerce agree with the plain row-by-row rules.

Each table is also judged by a per-row reading of the same rules (written
here, one Python value at a time): the coerced columns must equal what the
rows give, and a refused table must name the column and row the first
failing row gives.
"""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model_support import WHEN
from quaymaster.errors import SchemaError
from quaymaster.model.attributes import attribute_value_problem
from quaymaster.model.coerce import coerce_instances, coerce_tasks
from quaymaster.model.schema import DEFAULT_RESERVED_PORTS, INSTANCE_STATUSES, instance_arn

PORTS = st.one_of(st.none(), st.lists(st.one_of(st.integers(-2, 70000), st.sampled_from([22, 80, 53]),
                                                st.none()), max_size=4))
VALUES = st.one_of(st.none(), st.sampled_from(["", "a", " a", "a ", "prod", "x" * 128, "x" * 129, "é",
                                               "us-east-1a", "a\n", "a:b@c/d\\e"]))


@st.composite
def instance_tables(draw):
    n = draw(st.integers(1, 8))
    ids = draw(st.lists(st.sampled_from(["i-a", "i-b", "i-c", "i-d", "i-e", "i-f", "i-g", "i-h", ""]),
                        min_size=n, max_size=n))
    columns = {"ec2_instance_id": ids, "cpu_registered": [1024] * n, "memory_registered": [2048] * n,
               "registered_at": [WHEN] * n}
    if draw(st.booleans()):
        columns["container_instance_arn"] = draw(st.lists(st.sampled_from([None, "arn-1", "arn-2", ""]),
                                                          min_size=n, max_size=n))
    if draw(st.booleans()):
        columns["status"] = draw(st.lists(st.sampled_from([None, "ACTIVE", "DRAINING", "BOGUS"]),
                                          min_size=n, max_size=n))
    for name in ("reserved_ports", "reserved_ports_udp"):
        if draw(st.booleans()):
            columns[name] = draw(st.lists(PORTS, min_size=n, max_size=n))
    if draw(st.booleans()):
        columns["attribute:stack"] = draw(st.lists(VALUES, min_size=n, max_size=n))
    return columns


def row_by_row(columns: dict) -> tuple[str, int | None] | dict:
    """The first problem as (column, row), or the expected coerced columns."""
    n = len(columns["ec2_instance_id"])
    ids = columns["ec2_instance_id"]
    given_arns = columns.get("container_instance_arn", [None] * n)
    arns = [a if a is not None else instance_arn("us-east-1", "000000000000", "default", i)
            for a, i in zip(given_arns, ids)]
    checks = [("ec2_instance_id", _first_duplicate(ids)),
              ("ec2_instance_id", next((r for r, v in enumerate(ids) if v == ""), None)),
              ("status", next((r for r, v in enumerate(columns.get("status", []))
                               if v is not None and v not in INSTANCE_STATUSES), None)),
              ("container_instance_arn", _first_duplicate(arns)),
              ("container_instance_arn", next((r for r, v in enumerate(arns) if v == ""), None))]
    for column, row in checks:
        if row is not None:
            return column, row
    tcp, udp = [], []
    for row in range(n):
        t = columns.get("reserved_ports", [None] * n)[row]
        u = columns.get("reserved_ports_udp", [None] * n)[row]
        for name, ports in (("reserved_ports", t), ("reserved_ports_udp", u)):
            if any(p is None or not 1 <= p <= 65535 for p in ports or ()):
                return name, row
        t = list(DEFAULT_RESERVED_PORTS) if t is None else sorted(set(t))
        u = [] if u is None else sorted(set(u))
        if len(t) + len(u) > 100:
            return "reserved_ports", row
        tcp.append(t)
        udp.append(u)
    for row, value in enumerate(columns.get("attribute:stack", [])):
        if value is not None and attribute_value_problem(value):
            return "attribute:stack", row
    return {"container_instance_arn": arns, "reserved_ports": tcp, "reserved_ports_udp": udp,
            "status": [s or "ACTIVE" for s in columns.get("status", [None] * n)]}


def _first_duplicate(values) -> int | None:
    seen = set()
    for row, value in enumerate(values):
        if value in seen:
            return row
        seen.add(value)
    return None


@settings(max_examples=300, deadline=None)
@given(instance_tables())
def test_instances_agree_with_the_row_by_row_rules(columns):
    expected = row_by_row(columns)
    typed = {name: pa.array(values, pa.list_(pa.int64())) if "ports" in name else values
             for name, values in columns.items()}
    if isinstance(expected, tuple):
        with pytest.raises(SchemaError) as caught:
            coerce_instances(typed)
        assert (caught.value.column, caught.value.row) == expected
        return
    table = coerce_instances(typed)
    for name, values in expected.items():
        assert table.column(name).to_pylist() == values, name


@settings(max_examples=150, deadline=None)
@given(st.lists(PORTS, min_size=1, max_size=6), st.lists(PORTS, min_size=1, max_size=6))
def test_task_host_ports_agree_with_the_row_by_row_rules(tcp, udp):
    n = min(len(tcp), len(udp))
    tasks = {"task_arn": [f"t{k}" for k in range(n)], "group": ["g"] * n,
             "host_ports": pa.array(tcp[:n], pa.list_(pa.int64())),
             "host_ports_udp": pa.array(udp[:n], pa.list_(pa.int64()))}
    bad = [(name, row) for name, lists in (("host_ports", tcp[:n]), ("host_ports_udp", udp[:n]))
           for row, ports in enumerate(lists) if any(p is None or not 1 <= p <= 65535 for p in ports or ())]
    if bad:
        with pytest.raises(SchemaError) as caught:
            coerce_tasks(tasks, {})
        assert (caught.value.column, caught.value.row) == bad[0]
        return
    table = coerce_tasks(tasks, {})
    assert table.column("host_ports").to_pylist() == [p or [] for p in tcp[:n]]
    assert table.column("host_ports_udp").to_pylist() == [p or [] for p in udp[:n]]


def test_sliced_and_chunked_port_columns():
    # A sliced list array still carries its parent's child values: only its own rows count.
    parent = pa.array([[70000], [22], [80, 80], None, [0]], pa.list_(pa.int32()))
    chunked = pa.chunked_array([parent.slice(1, 2), parent.slice(3, 1)])
    table = coerce_instances({"ec2_instance_id": ["i-1", "i-2", "i-3"], "cpu_registered": [1] * 3,
                              "memory_registered": [1] * 3, "reserved_ports": chunked})
    assert table.column("reserved_ports").to_pylist() == [[22], [80], list(DEFAULT_RESERVED_PORTS)]
