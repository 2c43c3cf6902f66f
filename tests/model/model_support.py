"""Builders and a state snapshot shared by the data-model tests."""

from __future__ import annotations

import copy
from datetime import datetime, timezone

import numpy as np

from quaymaster import Cluster

WHEN = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
CLUSTER = "prod"


def base_instances() -> dict:
    """Three instances, as a column mapping (a fresh copy each call)."""
    return copy.deepcopy({
        "ec2_instance_id": ["i-a", "i-b", "i-c"],
        "status": ["ACTIVE", "DRAINING", "ACTIVE"],
        "registered_at": [WHEN, WHEN, WHEN],
        "cpu_registered": [2048, 4096, 1024],
        "memory_registered": [4096, 8192, 2048],
        "gpu_registered": [0, 2, 0],
        "eni_limit": [None, 3, 2],
        "reserved_ports": [None, [22, 8000], [22]],
        "reserved_ports_udp": [None, [53], []],
        "attribute:ecs.availability-zone": ["us-east-1a", "us-east-1b", None],
        "attribute:stack": ["prod", None, "dev"],
    })


def base_tasks() -> dict:
    """Three live tasks on i-a and i-b, and one Fargate task (no instance)."""
    return copy.deepcopy({
        "task_arn": ["arn:t/1", "arn:t/2", "arn:t/3", "arn:t/4"],
        "ec2_instance_id": ["i-a", "i-a", "i-b", None],
        "group": ["family:web", "family:web", "service:api", "family:batch"],
        "cpu": [256, 512, 1024, 256],
        "memory": [512, 1024, 2048, 512],
        "gpu": [0, 0, 1, 0],
        "host_ports": [[8080], [49153], [], []],
        "host_ports_udp": [[], [], [5000], []],
        "last_status": ["RUNNING", "PENDING", "STOPPING", "RUNNING"],
        "eni": [0, 1, 0, 1],
    })


def make_cluster(instances=None, tasks="default") -> Cluster:
    return Cluster.from_arrow(base_instances() if instances is None else instances,
                              base_tasks() if tasks == "default" else tasks, name=CLUSTER)


def resources(cpu=1024, memory=2048, **extra) -> list[dict]:
    """A RegisterContainerInstance ``totalResources`` list."""
    entries = [{"name": "CPU", "type": "INTEGER", "integerValue": cpu},
               {"name": "MEMORY", "type": "INTEGER", "integerValue": memory}]
    for name, value in extra.items():
        if name in ("PORTS", "PORTS_UDP"):
            entries.append({"name": name, "type": "STRINGSET", "stringSetValue": [str(p) for p in value]})
        else:
            entries.append({"name": name, "type": "INTEGER", "integerValue": value})
    return entries


def snapshot(cluster: Cluster) -> dict:
    """Everything observable about a cluster's state, in comparable form."""
    state = cluster.state
    return {
        "instances": cluster.instance_table(),
        "tasks": cluster.task_table(),
        "arrays": {name: getattr(state, name).copy() for name in (
            "status", "agent_connected", "registered_at", "cpu_registered", "memory_registered",
            "gpu_registered", "eni_limit", "cpu_remaining", "memory_remaining", "gpu_remaining",
            "running_tasks", "eni_used")},
        "groups": {g: c.copy() for g, c in state.group_counts.items()},
        "attributes": {name: (col.codes.copy(), list(col.values)) for name, col in state.attributes.items()},
        "ports": cluster.port_keys().copy(),
        "position": dict(state.position),
        "versions": copy.deepcopy(cluster._admin_meta()),  # version counters and agent details
    }


def assert_same_state(before: dict, after: dict) -> None:
    assert after["instances"].equals(before["instances"])
    assert after["tasks"].equals(before["tasks"])
    for name, values in before["arrays"].items():
        assert np.array_equal(after["arrays"][name], values), name
    assert before["groups"].keys() == after["groups"].keys()
    for group, counts in before["groups"].items():
        assert np.array_equal(after["groups"][group], counts), group
    assert before["attributes"].keys() == after["attributes"].keys()
    for name, (codes, values) in before["attributes"].items():
        assert np.array_equal(after["attributes"][name][0], codes), name
        assert after["attributes"][name][1] == values, name
    assert np.array_equal(after["ports"], before["ports"])
    assert after["position"] == before["position"]
    assert after["versions"] == before["versions"]
