"""placement.md section 1: the accepted input forms, Parquet round trips, and
remaining resources derived from the live tasks unless given."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from model_support import WHEN, base_instances, base_tasks, make_cluster
from quaymaster import Cluster
from quaymaster.model.coerce import coerce_instances, coerce_tasks


class StreamOnly:
    """An object that only speaks the Arrow PyCapsule stream protocol (like polars)."""

    def __init__(self, table: pa.Table):
        self._table = table

    def __arrow_c_stream__(self, requested_schema=None):
        return self._table.__arrow_c_stream__(requested_schema)


def as_rows(columns: dict) -> list[dict]:
    n = len(next(iter(columns.values())))
    return [{name: values[i] for name, values in columns.items()} for i in range(n)]


FORMS = {
    "pa.Table": lambda cols, tmp: pa.table(cols),
    "RecordBatch": lambda cols, tmp: pa.RecordBatch.from_pydict(cols),
    "RecordBatchReader": lambda cols, tmp: pa.RecordBatchReader.from_batches(
        pa.table(cols).schema, pa.table(cols).to_batches(max_chunksize=2)),
    "__arrow_c_stream__": lambda cols, tmp: StreamOnly(pa.table(cols)),
    "dict": lambda cols, tmp: cols,
    "list of rows": lambda cols, tmp: as_rows(cols),
    "Parquet path (str)": lambda cols, tmp: _parquet(pa.table(cols), tmp / "t.parquet", str),
    "Parquet path (Path)": lambda cols, tmp: _parquet(pa.table(cols), tmp / "t.parquet", lambda p: p),
}


def _parquet(table, path, kind):
    pq.write_table(table, path)
    return kind(path)


@pytest.mark.parametrize("form", FORMS, ids=list(FORMS))
def test_every_input_form_gives_the_same_cluster(form, tmp_path):
    expected = make_cluster()
    (tmp_path / "i").mkdir()
    (tmp_path / "t").mkdir()
    instances = FORMS[form](base_instances(), tmp_path / "i")
    tasks = FORMS[form](base_tasks(), tmp_path / "t")
    cluster = Cluster.from_arrow(instances, tasks, name="prod")
    assert cluster.instance_table().equals(expected.instance_table())
    assert cluster.task_table().equals(expected.task_table())


@pytest.mark.parametrize("form", FORMS, ids=list(FORMS))
def test_every_input_form_registers_a_batch(form, tmp_path):
    columns = base_instances()
    columns["ec2_instance_id"] = ["i-x", "i-y", "i-z"]
    reference = make_cluster()
    reference.register_instances(pa.table(columns))
    cluster = make_cluster()
    positions = cluster.register_instances(FORMS[form](columns, tmp_path))
    assert list(positions) == [3, 4, 5]
    assert cluster.instance_table().equals(reference.instance_table())


def test_dictionary_encoded_and_large_string_columns_are_accepted():
    columns = base_instances()
    table = pa.table(columns)
    status = table.column("status").dictionary_encode()
    table = table.set_column(table.schema.get_field_index("status"), "status", status)
    table = table.set_column(0, "ec2_instance_id", table.column(0).cast(pa.large_string()))
    assert Cluster.from_arrow(table).instance_table().equals(Cluster.from_arrow(columns).instance_table())


def test_whole_floats_and_narrow_integers_are_cast_losslessly():
    columns = base_instances()
    columns["cpu_registered"] = pa.array([2048.0, 4096.0, 1024.0])
    columns["memory_registered"] = pa.array([4096, 8192, 2048], pa.int16())
    assert Cluster.from_arrow(columns).instance_table().equals(Cluster.from_arrow(base_instances()).instance_table())


def test_naive_and_nanosecond_timestamps_are_taken_as_utc():
    columns = base_instances()
    naive = WHEN.replace(tzinfo=None)
    columns["registered_at"] = pa.array([naive] * 3, pa.timestamp("ns"))
    table = Cluster.from_arrow(columns).instance_table()
    assert table.column("registered_at").to_pylist() == [WHEN] * 3


def test_defaults_are_filled_in():
    table = coerce_instances({"ec2_instance_id": ["i-1"], "cpu_registered": [1], "memory_registered": [2]},
                             cluster="c", region="eu-west-1", account="123456789012", registered_at=WHEN)
    row = table.to_pylist()[0]
    assert row == {
        "ec2_instance_id": "i-1",
        "container_instance_arn": "arn:aws:ecs:eu-west-1:123456789012:container-instance/c/i-1",
        "status": "ACTIVE", "agent_connected": True, "agent_version": "1.0.0", "registered_at": WHEN,
        "cpu_registered": 1, "memory_registered": 2, "gpu_registered": 0, "eni_limit": None,
        "cpu_remaining": None, "memory_remaining": None, "gpu_remaining": None,
        "reserved_ports": [22, 2375, 2376, 51678, 51679], "reserved_ports_udp": [], "capacity_provider": None,
    }


def test_null_port_lists_take_the_defaults_and_ports_are_sorted_and_unique():
    columns = base_instances()
    columns["reserved_ports"] = [None, [8000, 22, 8000], []]
    columns["reserved_ports_udp"] = [[53, 53], None, [123, 53]]
    table = Cluster.from_arrow(columns).instance_table()
    assert table.column("reserved_ports").to_pylist() == [[22, 2375, 2376, 51678, 51679], [22, 8000], []]
    assert table.column("reserved_ports_udp").to_pylist() == [[53], [], [53, 123]]


def test_task_defaults_are_filled_in():
    table = coerce_tasks({"task_arn": ["t"], "group": ["g"]}, {})
    assert table.to_pylist() == [{"task_arn": "t", "ec2_instance_id": None, "group": "g", "cpu": 0,
                                  "memory": 0, "gpu": 0, "host_ports": [], "host_ports_udp": [],
                                  "last_status": "RUNNING", "daemon": False, "eni": 0}]


# -- Parquet round trips ----------------------------------------------------------

def test_parquet_round_trip_keeps_every_column(tmp_path):
    cluster = make_cluster()
    cluster.put_attributes([{"name": "ecs.capability.external", "targetId": "i-c",
                             "targetType": "container-instance"}])
    instances_path, tasks_path = tmp_path / "instances.parquet", tmp_path / "tasks.parquet"
    cluster.to_parquet(instances_path, tasks_path)
    written_instances, written_tasks = pq.read_table(instances_path), pq.read_table(tasks_path)
    assert written_instances.equals(cluster.instance_table())
    assert written_tasks.equals(cluster.task_table())
    reloaded = Cluster.from_parquet(instances_path, tasks_path, name="prod")
    assert reloaded.instance_table().equals(cluster.instance_table())
    assert reloaded.task_table().equals(cluster.task_table())
    row = {r["ec2_instance_id"]: r for r in reloaded.instance_table().to_pylist()}
    # The features the round trip must not lose: missing attribute values, the
    # value-less attribute, eni_limit nulls, the registration time, port lists.
    assert row["i-b"]["attribute:stack"] is None
    assert row["i-c"]["attribute:ecs.capability.external"] == ""
    assert row["i-a"]["eni_limit"] is None and row["i-b"]["eni_limit"] == 3
    assert row["i-a"]["registered_at"] == WHEN
    assert row["i-b"]["reserved_ports"] == [22, 8000] and row["i-b"]["reserved_ports_udp"] == [53]
    assert reloaded.task_table().column("host_ports").to_pylist() == [[8080], [49153], [], []]


def test_parquet_round_trip_keeps_derived_state(tmp_path):
    cluster = make_cluster()
    cluster.to_parquet(tmp_path / "i.parquet", tmp_path / "t.parquet")
    reloaded = Cluster.from_parquet(tmp_path / "i.parquet", tmp_path / "t.parquet", name="prod")
    for name in ("cpu_remaining", "memory_remaining", "gpu_remaining", "running_tasks", "eni_used"):
        assert np.array_equal(getattr(reloaded.state, name), getattr(cluster.state, name)), name
    assert np.array_equal(reloaded.port_keys(), cluster.port_keys())


def test_empty_cluster_round_trips(tmp_path):
    cluster = Cluster("empty")
    cluster.to_parquet(tmp_path / "i.parquet", tmp_path / "t.parquet")
    reloaded = Cluster.from_parquet(tmp_path / "i.parquet", tmp_path / "t.parquet", name="empty")
    assert reloaded.instance_table().equals(cluster.instance_table())
    assert reloaded.task_table().num_rows == 0


# -- remaining resources ----------------------------------------------------------

def test_remaining_is_registered_minus_live_tasks_when_not_given():
    cluster = make_cluster()
    # i-a holds tasks 1 and 2 (256+512 cpu, 512+1024 MiB); i-b task 3 (1024, 2048, 1 GPU);
    # task 4 is Fargate and holds nothing on an instance.
    assert cluster.state.cpu_remaining.tolist() == [2048 - 768, 4096 - 1024, 1024]
    assert cluster.state.memory_remaining.tolist() == [4096 - 1536, 8192 - 2048, 2048]
    assert cluster.state.gpu_remaining.tolist() == [0, 2 - 1, 0]
    assert cluster.state.running_tasks.tolist() == [2, 1, 0]
    assert cluster.state.eni_used.tolist() == [1, 0, 0]


def test_given_remaining_is_authoritative_row_by_row():
    columns = base_instances()
    columns["cpu_remaining"] = [100, None, 7]          # i-a: given, although its tasks hold 768
    columns["memory_remaining"] = [None, None, None]   # all derived
    columns["gpu_remaining"] = [0, 0, 0]               # i-b: given 0, although 2 - 1 = 1
    cluster = make_cluster(columns)
    assert cluster.state.cpu_remaining.tolist() == [100, 4096 - 1024, 7]
    assert cluster.state.memory_remaining.tolist() == [4096 - 1536, 8192 - 2048, 2048]
    assert cluster.state.gpu_remaining.tolist() == [0, 0, 0]


def test_a_registered_batch_gets_remaining_equal_to_registered_unless_given():
    cluster = make_cluster()
    cluster.register_instances({"ec2_instance_id": ["i-x", "i-y"], "cpu_registered": [512, 256],
                                "memory_registered": [1024, 512], "cpu_remaining": [None, 100]})
    assert cluster.state.cpu_remaining[3:].tolist() == [512, 100]
    assert cluster.state.memory_remaining[3:].tolist() == [1024, 512]
    assert cluster.state.gpu_remaining[3:].tolist() == [0, 0]
