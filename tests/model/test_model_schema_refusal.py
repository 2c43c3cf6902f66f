"""placement.md section 1: a table that breaks the schema is refused, naming the
column and the first bad row, and nothing is loaded.

One case per way a table can be wrong. Each instance case is tried twice: as a
new cluster (``from_arrow``) and as a batch registered into an existing
cluster, which must be unchanged afterwards.
"""

from __future__ import annotations

import pyarrow as pa
import pytest

from model_support import assert_same_state, base_instances, base_tasks, make_cluster, snapshot
from quaymaster import Cluster
from quaymaster.errors import SchemaError


def new_ids(columns: dict) -> dict:
    """The same rows under ids the existing cluster does not have."""
    columns = dict(columns)
    if "ec2_instance_id" in columns:
        ids = columns["ec2_instance_id"]
        columns["ec2_instance_id"] = [None if i is None else f"new-{i}" if isinstance(i, str) and i else i
                                      for i in ids] if isinstance(ids, list) else ids
    return columns


def with_column(name, values, drop=()):
    columns = base_instances()
    columns[name] = values
    for gone in drop:
        del columns[gone]
    return columns


def without(name):
    columns = base_instances()
    del columns[name]
    return columns


# (case id, instance columns, column named by the error, first bad row)
INSTANCE_CASES = [
    # missing required columns
    ("missing ec2_instance_id", without("ec2_instance_id"), "ec2_instance_id", None),
    ("missing cpu_registered", without("cpu_registered"), "cpu_registered", None),
    ("missing memory_registered", without("memory_registered"), "memory_registered", None),
    # nulls in required columns
    ("null ec2_instance_id", with_column("ec2_instance_id", ["i-a", None, "i-c"]), "ec2_instance_id", 1),
    ("null cpu_registered", with_column("cpu_registered", [1, 2, None]), "cpu_registered", 2),
    ("null memory_registered", with_column("memory_registered", [None, 2, 3]), "memory_registered", 0),
    # ids
    ("duplicate id", with_column("ec2_instance_id", ["i-a", "i-b", "i-a"]), "ec2_instance_id", 2),
    ("empty id", with_column("ec2_instance_id", ["i-a", "", "i-c"]), "ec2_instance_id", 1),
    ("duplicate arn", with_column("container_instance_arn", ["arn:x", None, "arn:x"]),
     "container_instance_arn", 2),
    # negative resources, each resource column
    *[(f"negative {name}", with_column(name, [5, -1, -2]), name, 1) for name in (
        "cpu_registered", "memory_registered", "gpu_registered", "eni_limit",
        "cpu_remaining", "memory_remaining", "gpu_remaining")],
    # wrong type, each column (nulls first where allowed, so the bad row is not row 0)
    ("wrong type ec2_instance_id", with_column("ec2_instance_id", [1, 2, 3]), "ec2_instance_id", 0),
    ("wrong type container_instance_arn", with_column("container_instance_arn", [None, 2, 3]),
     "container_instance_arn", 1),
    ("wrong type status", with_column("status", [None, None, 1]), "status", 2),
    ("wrong type agent_connected", with_column("agent_connected", [None, "yes", "no"]), "agent_connected", 1),
    ("wrong type agent_version", with_column("agent_version", [None, 1.5, 2.0]), "agent_version", 1),
    ("wrong type registered_at", with_column("registered_at", [None, "2024-01-01", None]), "registered_at", 1),
    ("wrong type cpu_registered", with_column("cpu_registered", ["1024", "2048", "x"]), "cpu_registered", 0),
    ("fraction in memory_registered", with_column("memory_registered", [1.0, 2.0, 2.5]), "memory_registered", 2),
    ("wrong type gpu_registered", with_column("gpu_registered", [None, True, False]), "gpu_registered", 1),
    ("wrong type eni_limit", with_column("eni_limit", [None, None, "3"]), "eni_limit", 2),
    ("wrong type cpu_remaining", with_column("cpu_remaining", [None, "1", "2"]), "cpu_remaining", 1),
    ("wrong type memory_remaining", with_column("memory_remaining", [None, 1.25, None]), "memory_remaining", 1),
    ("wrong type gpu_remaining", with_column("gpu_remaining", ["a", None, None]), "gpu_remaining", 0),
    ("wrong type reserved_ports", with_column("reserved_ports", [None, "22", "80"]), "reserved_ports", 1),
    ("wrong type reserved_ports_udp", with_column("reserved_ports_udp", [None, None, ["53"]]),
     "reserved_ports_udp", 2),
    ("wrong type capacity_provider", with_column("capacity_provider", [None, 7, None]), "capacity_provider", 1),
    ("wrong type attribute", with_column("attribute:rack", [None, 3, 4]), "attribute:rack", 1),
    ("mixed types in cpu_registered", with_column("cpu_registered", [1, "2", 3]), "cpu_registered", 1),
    ("overflowing cpu_registered", with_column("cpu_registered", [1, 2, 2**70]), "cpu_registered", 2),
    # unknown column
    ("unknown column", with_column("colour", ["red", "green", "blue"]), "colour", None),
    # status
    ("bad status", with_column("status", ["ACTIVE", None, "RUNNING"]), "status", 2),
    # ports
    ("port 0", with_column("reserved_ports", [[22], [0], None]), "reserved_ports", 1),
    ("port 65536", with_column("reserved_ports", [None, None, [22, 65536]]), "reserved_ports", 2),
    ("negative udp port", with_column("reserved_ports_udp", [[], [-53], []]), "reserved_ports_udp", 1),
    ("null port", with_column("reserved_ports", [[22], [None], [22]]), "reserved_ports", 1),
    ("null port beside ports", with_column("reserved_ports", [[22], [80, None], None]), "reserved_ports", 1),
    ("null udp port beside ports", with_column("reserved_ports_udp", [[], [], [53, None]]),
     "reserved_ports_udp", 2),
    ("port beyond int32", with_column("reserved_ports", [[22], [22], [2**40]]), "reserved_ports", 2),
    ("more than 100 reserved ports",
     with_column("reserved_ports_udp", [[], [], list(range(1000, 1100))]), "reserved_ports", 2),
    # attributes
    ("attribute name with a space", with_column("attribute:bad name", ["x", "y", "z"]),
     "attribute:bad name", None),
    ("empty attribute name", with_column("attribute:", ["x", "y", "z"]), "attribute:", None),
    ("attribute name of 129 characters", with_column("attribute:" + "n" * 129, ["x", None, None]),
     "attribute:" + "n" * 129, None),
    ("attribute value with a leading space", with_column("attribute:stack", ["prod", " dev", None]),
     "attribute:stack", 1),
    ("attribute value with a trailing space", with_column("attribute:stack", [None, None, "dev "]),
     "attribute:stack", 2),
    ("attribute value with a bad character", with_column("attribute:stack", ["a;b", None, None]),
     "attribute:stack", 0),
    ("attribute value of 129 characters", with_column("attribute:stack", [None, "v" * 129, None]),
     "attribute:stack", 1),
]


@pytest.mark.parametrize("columns, column, row", [c[1:] for c in INSTANCE_CASES],
                         ids=[c[0] for c in INSTANCE_CASES])
def test_bad_instance_table_is_refused_by_from_arrow(columns, column, row):
    with pytest.raises(SchemaError) as caught:
        Cluster.from_arrow(columns)
    assert caught.value.column == column
    assert caught.value.row == row
    assert repr(column) in str(caught.value)  # the message names the column


@pytest.mark.parametrize("columns, column, row", [c[1:] for c in INSTANCE_CASES],
                         ids=[c[0] for c in INSTANCE_CASES])
def test_bad_batch_leaves_an_existing_cluster_unchanged(columns, column, row):
    cluster = make_cluster()
    before = snapshot(cluster)
    with pytest.raises(SchemaError) as caught:
        cluster.register_instances(new_ids(columns))
    assert (caught.value.column, caught.value.row) == (column, row)
    assert_same_state(before, snapshot(cluster))


def test_duplicate_column_names_are_refused():
    table = pa.Table.from_arrays([pa.array(["i-1"]), pa.array([1]), pa.array([1]), pa.array([2])],
                                 names=["ec2_instance_id", "cpu_registered", "memory_registered",
                                        "cpu_registered"])
    with pytest.raises(SchemaError) as caught:
        Cluster.from_arrow(table)
    assert caught.value.column == "cpu_registered"


def test_id_already_in_the_cluster_is_refused_with_its_row():
    cluster = make_cluster()
    before = snapshot(cluster)
    batch = {"ec2_instance_id": ["i-new", "i-b"], "cpu_registered": [1, 1], "memory_registered": [1, 1]}
    with pytest.raises(SchemaError) as caught:
        cluster.register_instances(batch)
    assert (caught.value.column, caught.value.row, caught.value.value) == ("ec2_instance_id", 1, "i-b")
    assert "i-b" in str(caught.value)
    assert_same_state(before, snapshot(cluster))


def test_arn_already_in_the_cluster_is_refused():
    cluster = make_cluster()
    before = snapshot(cluster)
    batch = {"ec2_instance_id": ["i-new"], "container_instance_arn": [cluster.state.arns[0]],
             "cpu_registered": [1], "memory_registered": [1]}
    with pytest.raises(SchemaError) as caught:
        cluster.register_instances(batch)
    assert (caught.value.column, caught.value.row) == ("container_instance_arn", 0)
    assert_same_state(before, snapshot(cluster))


def with_task_column(name, values):
    columns = base_tasks()
    columns[name] = values
    return columns


def without_task(name):
    columns = base_tasks()
    del columns[name]
    return columns


TASK_CASES = [
    ("task on an unknown instance", with_task_column("ec2_instance_id", ["i-a", "i-zz", None, None]),
     "ec2_instance_id", 1),
    ("duplicate task arn", with_task_column("task_arn", ["arn:t/1", "arn:t/2", "arn:t/1", "arn:t/4"]),
     "task_arn", 2),
    ("STOPPED task", with_task_column("last_status", ["RUNNING", "STOPPED", "RUNNING", None]), "last_status", 1),
    ("unknown task status", with_task_column("last_status", [None, None, None, "DONE"]), "last_status", 3),
    ("missing task_arn", without_task("task_arn"), "task_arn", None),
    ("missing group", without_task("group"), "group", None),
    ("null group", with_task_column("group", ["g", "g", None, "g"]), "group", 2),
    ("empty task arn", with_task_column("task_arn", ["arn:t/1", "", "arn:t/3", "arn:t/4"]), "task_arn", 1),
    ("negative task cpu", with_task_column("cpu", [1, 2, 3, -4]), "cpu", 3),
    ("negative task memory", with_task_column("memory", [-1, 2, 3, 4]), "memory", 0),
    ("negative task gpu", with_task_column("gpu", [0, -1, 0, 0]), "gpu", 1),
    ("negative task eni", with_task_column("eni", [0, 0, -1, 0]), "eni", 2),
    ("wrong type task cpu", with_task_column("cpu", [None, "256", None, None]), "cpu", 1),
    ("wrong type daemon", with_task_column("daemon", [None, None, "yes", None]), "daemon", 2),
    ("bad host port", with_task_column("host_ports", [[80], [], [70000], []]), "host_ports", 2),
    ("bad udp host port", with_task_column("host_ports_udp", [[0], [], [], []]), "host_ports_udp", 0),
    ("unknown task column", with_task_column("desired_status", ["RUNNING"] * 4), "desired_status", None),
]


@pytest.mark.parametrize("tasks, column, row", [c[1:] for c in TASK_CASES], ids=[c[0] for c in TASK_CASES])
def test_bad_task_table_is_refused(tasks, column, row):
    with pytest.raises(SchemaError) as caught:
        Cluster.from_arrow(base_instances(), tasks)
    assert (caught.value.column, caught.value.row) == (column, row)


def test_stopped_task_message_says_why():
    with pytest.raises(SchemaError, match="stopped tasks"):
        Cluster.from_arrow(base_instances(), with_task_column("last_status", ["STOPPED"] * 4))


@pytest.mark.parametrize("make_path", [
    lambda tmp: tmp / "does-not-exist.parquet",
    lambda tmp: _write(tmp / "not-parquet.parquet", b"this is not parquet"),
    lambda tmp: str(_write(tmp / "empty.parquet", b"")),
], ids=["missing file", "not parquet", "empty file"])
def test_unreadable_parquet_path_is_refused(tmp_path, make_path):
    path = make_path(tmp_path)
    with pytest.raises(SchemaError) as caught:
        Cluster.from_parquet(path)
    assert caught.value.column is None and caught.value.row is None
    assert str(path) in str(caught.value)
    cluster = make_cluster()
    before = snapshot(cluster)
    with pytest.raises(SchemaError):
        cluster.register_instances(path)
    assert_same_state(before, snapshot(cluster))


def test_unreadable_tasks_path_is_refused(tmp_path):
    with pytest.raises(SchemaError, match="tasks"):
        Cluster.from_arrow(base_instances(), tmp_path / "nope.parquet")


def test_object_of_unsupported_type_is_refused():
    with pytest.raises(SchemaError, match="int"):
        Cluster.from_arrow(42)


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("values", [5, None, "i-a"], ids=["scalar", "None", "a string"])
def test_a_column_that_is_not_a_list_is_refused(values):
    columns = base_instances() | {"ec2_instance_id": values}
    with pytest.raises(SchemaError) as caught:
        Cluster.from_arrow(columns)
    assert caught.value.column == "ec2_instance_id"


def test_a_broken_arrow_stream_is_refused():
    class BrokenStream:
        def __arrow_c_stream__(self, requested_schema=None):
            return "not a capsule"

    with pytest.raises(SchemaError, match="BrokenStream"):
        Cluster.from_arrow(BrokenStream())
