"""Malformed Arrow inputs only ever raise InvalidInputError subclasses (never an
Arrow, Unicode, overflow or type error), and a table that loads gives a cluster
whose tables can be read back."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quaymaster import Cluster
from quaymaster.errors import InvalidInputError
from quaymaster.model.schema import INSTANCE_FIELDS, TASK_FIELDS

INTS = st.one_of(st.integers(-(2**63), 2**63 - 1), st.sampled_from([0, 1, -1, 22, 80, 65535, 65536, 2**62]))
TEXT = st.one_of(st.text(max_size=6), st.sampled_from(["ACTIVE", "RUNNING", "i-1", "i-2", "", " x"]))


def _invalid_utf8(n: int) -> pa.Array:
    data = b"\xff" * n
    return pa.StringArray.from_buffers(n, pa.py_buffer(np.arange(n + 1, dtype=np.int32)), pa.py_buffer(data))


@st.composite
def columns(draw, n: int) -> pa.Array:
    kind = draw(st.sampled_from(["int", "float", "string", "large_string", "binary", "bool", "null", "ports",
                                 "ts_s", "ts_ms", "ts_ns", "dictionary", "bad_utf8", "nested"]))
    values = lambda strategy: draw(st.lists(st.one_of(st.none(), strategy), min_size=n, max_size=n))
    if kind == "int":
        return pa.array(values(INTS), pa.int64())
    if kind == "float":
        return pa.array(values(st.floats(allow_nan=True, allow_infinity=True)), pa.float64())
    if kind in ("string", "large_string"):
        return pa.array(values(TEXT), pa.string() if kind == "string" else pa.large_string())
    if kind == "binary":
        return pa.array(values(st.binary(max_size=4)), pa.binary())
    if kind == "bool":
        return pa.array(values(st.booleans()), pa.bool_())
    if kind == "null":
        return pa.nulls(n)
    if kind == "ports":
        return pa.array(values(st.lists(st.one_of(st.none(), INTS), max_size=3)), pa.list_(pa.int64()))
    if kind.startswith("ts_"):
        return pa.array(values(INTS), pa.timestamp(kind[3:]))
    if kind == "dictionary":
        return pa.array(values(TEXT), pa.string()).dictionary_encode()
    if kind == "bad_utf8":
        return _invalid_utf8(n)
    return pa.array(values(st.lists(TEXT, max_size=2)), pa.list_(pa.string()))


@st.composite
def tables(draw, fields, extra_names):
    n = draw(st.integers(0, 4))
    names = draw(st.lists(st.sampled_from([name for name, _, _ in fields] + extra_names),
                          max_size=8, unique=True))
    required = [name for name, _, req in fields if req]
    names = list(dict.fromkeys(required + names)) if draw(st.booleans()) else names
    return pa.table({name: draw(columns(n)) for name in names}) if names else pa.table({})


INSTANCES = tables(INSTANCE_FIELDS, ["attribute:stack", "attribute:bad name", "bogus"])
TASKS = tables(TASK_FIELDS, ["bogus"])
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(INSTANCES, st.one_of(st.none(), TASKS))
def test_malformed_tables_raise_only_invalid_input_errors(instances, tasks):
    try:
        cluster = Cluster.from_arrow(instances, tasks)
    except InvalidInputError:
        return
    assert cluster.instance_table().num_rows == instances.num_rows
    cluster.task_table()


def valid_instances(n: int) -> dict:
    return {"ec2_instance_id": [f"i-{k}" for k in range(n)], "cpu_registered": [1024] * n,
            "memory_registered": [2048] * n}


@FUZZ
@given(TASKS)
def test_malformed_task_tables_on_a_valid_fleet(tasks):
    try:
        cluster = Cluster.from_arrow(valid_instances(2), tasks)
    except InvalidInputError:
        return
    assert (cluster.state.cpu_remaining >= 0).all() and (cluster.state.memory_remaining >= 0).all()
