"""The result's views made in bulk: task ARNs by one kernel, ``to_ecs()`` without
per-task table rows. Each is checked against the plain per-task construction."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from quaymaster import Cluster
from quaymaster.model.tasks import task_id
from quaymaster.placement import result as result_module
from quaymaster.placement.result import task_arn_array

sequences = st.lists(st.integers(0, 2**64 - 1), max_size=40)
prefixes = st.text(min_size=0, max_size=60)


@settings(max_examples=60, deadline=None)
@given(prefixes, sequences)
def test_task_arns_are_prefix_and_task_id(prefix, values):
    seq = np.array(values, dtype=np.uint64)
    arns = task_arn_array(prefix, seq)
    assert arns.type == pa.string()
    assert arns.to_pylist() == [prefix + i for i in task_id(seq)]


def test_task_arns_over_several_chunks(monkeypatch):
    monkeypatch.setattr(result_module, "_ARN_CHUNK_ROWS", 7)
    seq = np.arange(5, 40, dtype=np.uint64)
    arns = task_arn_array("arn:aws:ecs:us-east-1:000000000000:task/c/", seq)
    assert arns.num_chunks == 5
    assert arns.to_pylist() == ["arn:aws:ecs:us-east-1:000000000000:task/c/" + i for i in task_id(seq)]


def plain_to_ecs(result) -> list[dict]:
    """The tasks of to_ecs() made one table row at a time (the former implementation)."""
    req, td = result.request.requirements, result.request.task_definition
    return [{
        "taskArn": p["task_arn"], "clusterArn": result._cluster.arn,
        "taskDefinitionArn": getattr(td, "arn", None), "containerInstanceArn": p["container_instance_arn"],
        "group": result.request.group, "launchType": result.request.launch_type,
        "lastStatus": "PENDING", "desiredStatus": "RUNNING", "cpu": str(req.cpu), "memory": str(req.memory),
        "networkBindings": [{"hostPort": port, "protocol": proto}
                            for proto, key in (("tcp", "host_ports"), ("udp", "host_ports_udp"))
                            for port in p[key]],
    } for p in result.placements.to_pylist()]


PORTS = {"family": "ports", "containerDefinitions": [{
    "name": "app", "image": "busybox", "cpu": 8, "memory": 16,
    "portMappings": [{"containerPort": 80}, {"containerPort": 53, "protocol": "udp"},
                     {"containerPort": 81, "hostPort": 0}]}]}
NO_PORTS = {"family": "plain", "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 16}]}


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 6), st.integers(1, 40), st.sampled_from([PORTS, NO_PORTS]), st.integers(0, 2**32))
def test_to_ecs_equals_the_row_by_row_view(instances, count, definition, seed):
    cluster = Cluster.from_arrow({"ec2_instance_id": [f"i-{p}" for p in range(instances)],
                                  "cpu_registered": [64] * instances, "memory_registered": [128] * instances})
    cluster.run_task(definition, count=3, seed=seed)  # later ARNs do not start at sequence 0
    result = cluster.run_task(definition, count=count, seed=seed)
    ecs = result.to_ecs()
    assert ecs["tasks"] == plain_to_ecs(result)
    assert len(ecs["failures"]) == result.failed_count
    assert [t["taskArn"] for t in ecs["tasks"]] == result.task_arns()
    assert result.task_arns() == result.placements.column("task_arn").to_pylist()


PLACED_COLUMNS = ("task_arn", "container_instance_arn", "ec2_instance_id", "host_ports", "host_ports_udp")


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 6), st.integers(1, 90), st.sampled_from([PORTS, NO_PORTS]), st.integers(0, 2**32))
def test_placed_rows_equal_the_table_columns(instances, count, definition, seed):
    # up to 90 tasks: both sides of the few-tasks path (_FEW_ARNS), and requests that fail part-way
    cluster = Cluster.from_arrow({"ec2_instance_id": [f"i-{p}" for p in range(instances)],
                                  "cpu_registered": [256] * instances, "memory_registered": [512] * instances})
    cluster.run_task(definition, count=2, seed=seed)
    result = cluster.run_task(definition, count=count, seed=seed)
    table = result.placements
    assert result.placed_rows() == tuple(table.column(name).to_pylist() for name in PLACED_COLUMNS)


def test_placed_rows_of_start_task_and_of_nothing_placed():
    cluster = Cluster.from_arrow({"ec2_instance_id": ["i-0", "i-1", "i-2"], "cpu_registered": [64] * 3,
                                  "memory_registered": [8, 128, 128]})
    started = cluster.start_task(PORTS, ["i-2", "i-0", "i-1"])   # i-0 lacks the memory
    assert started.placed_count == 2
    rows = started.placed_rows()
    assert rows[2] == ["i-2", "i-1"]
    assert rows == tuple(started.placements.column(name).to_pylist() for name in PLACED_COLUMNS)
    nothing = cluster.run_task(PORTS, count=3, seed=1, placement_constraints=[
        {"type": "memberOf", "expression": "attribute:missing exists"}])
    assert nothing.placed_count == 0 and nothing.placed_rows() == ([], [], [], [], [])
