"""Inputs an adversarial run slipped past the loader, now refused with a SchemaError
naming the column and the first bad row: sums past int64, tasks holding more than
their instance, host-port conflicts, out-of-range timestamps, invalid UTF-8."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from quaymaster import Cluster
from quaymaster.errors import SchemaError

INSTANCES = {"ec2_instance_id": ["i-a", "i-b"], "cpu_registered": [100, 100],
             "memory_registered": [1000, 1000]}


def tasks(**columns) -> dict:
    n = len(next(iter(columns.values())))
    return {"task_arn": [f"t{k}" for k in range(n)], "group": ["g"] * n, **columns}


def refused(instances, task_table) -> SchemaError:
    with pytest.raises(SchemaError) as caught:
        Cluster.from_arrow(instances, task_table)
    return caught.value


def test_cpu_summing_past_int64_is_refused():
    error = refused(INSTANCES, tasks(ec2_instance_id=["i-a"] * 3, cpu=[2**62] * 3))
    assert (error.column, error.row) == ("cpu", 0)  # 2^62 alone is already more than 100


def test_sum_past_int64_on_a_huge_instance_names_the_row_that_overflows():
    big = {**INSTANCES, "cpu_registered": [2**63 - 1, 100]}
    error = refused(big, tasks(ec2_instance_id=["i-a", "i-b", "i-a", "i-a"], cpu=[2**62, 1, 2**62 - 1, 2**62]))
    assert (error.column, error.row) == ("cpu", 3)


def test_tasks_holding_more_than_registered_are_refused_even_with_remaining_given():
    given = {**INSTANCES, "memory_remaining": [10, 10]}
    error = refused(given, tasks(ec2_instance_id=["i-b", "i-a", "i-a"], memory=[600, 600, 600]))
    assert (error.column, error.row) == ("memory", 2)


def test_tasks_that_fit_exactly_load():
    cluster = Cluster.from_arrow(INSTANCES, tasks(ec2_instance_id=["i-a", "i-a", None], cpu=[60, 40, 10**9]))
    assert cluster.state.cpu_remaining.tolist() == [0, 100]


def test_a_reserved_host_port_is_refused():
    error = refused(INSTANCES, tasks(ec2_instance_id=["i-a", "i-b"], host_ports=[[80], [8080, 22]]))
    assert (error.column, error.row, error.value) == ("host_ports", 1, 22)


def test_one_port_twice_on_an_instance_is_refused():
    error = refused(INSTANCES, tasks(ec2_instance_id=["i-a", "i-b", "i-a"], host_ports=[[8080], [8080], [8080]]))
    assert (error.column, error.row, error.value) == ("host_ports", 2, 8080)
    error = refused(INSTANCES, tasks(ec2_instance_id=["i-a"], host_ports_udp=[[53, 53]]))
    assert (error.column, error.row) == ("host_ports_udp", 0)


def test_same_port_on_other_protocol_or_instance_loads():
    cluster = Cluster.from_arrow(INSTANCES, tasks(ec2_instance_id=["i-a", "i-b", "i-a", None, None],
                                                  host_ports=[[8080], [8080], [], [8080], [8080]],
                                                  host_ports_udp=[[], [], [8080], [], []]))
    assert cluster.task_table().num_rows == 5


@pytest.mark.parametrize("unit, value", [("s", 10**15), ("ms", -(10**17)), ("s", -(2**63))])
def test_timestamps_out_of_range_are_refused(unit, value):
    table = pa.table({**{k: v + v for k, v in INSTANCES.items() if k != "ec2_instance_id"},
                      "ec2_instance_id": ["i-a", "i-b", "i-c", "i-d"],
                      "registered_at": pa.array([0, 1, value, 2], pa.timestamp(unit))})
    with pytest.raises(SchemaError) as caught:
        Cluster.from_arrow(table)
    assert (caught.value.column, caught.value.row) == ("registered_at", 2)


def _invalid_utf8(values: list[bytes]) -> pa.Array:
    offsets = np.cumsum([0] + [len(v) for v in values]).astype(np.int32)
    return pa.StringArray.from_buffers(len(values), pa.py_buffer(offsets), pa.py_buffer(b"".join(values)))


@pytest.mark.parametrize("column", ["ec2_instance_id", "attribute:stack", "status"])
def test_invalid_utf8_from_parquet_is_refused(tmp_path, column):
    table = pa.table({"ec2_instance_id": ["i-a", "i-b", "i-c"], "cpu_registered": [1] * 3,
                      "memory_registered": [1] * 3, "status": ["ACTIVE"] * 3, "attribute:stack": ["a"] * 3})
    table = table.set_column(table.schema.get_field_index(column), column,
                             _invalid_utf8([b"i-x", b"ok", b"\xff\xfe"]))
    pq.write_table(table, tmp_path / "bad.parquet")
    with pytest.raises(SchemaError) as caught:
        Cluster.from_parquet(tmp_path / "bad.parquet")
    assert (caught.value.column, caught.value.row) == (column, 2)


def test_invalid_utf8_in_a_task_table_is_refused(tmp_path):
    table = pa.table({"task_arn": _invalid_utf8([b"t\xc3"]), "group": ["g"]})
    pq.write_table(table, tmp_path / "t.parquet")
    with pytest.raises(SchemaError) as caught:
        Cluster.from_parquet(pa.table(INSTANCES), tmp_path / "t.parquet")
    assert (caught.value.column, caught.value.row) == ("task_arn", 0)
