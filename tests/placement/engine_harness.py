"""Running one case through the engine and through the reference, in comparable form."""

from __future__ import annotations

import numpy as np

from quaymaster import Cluster
from quaymaster.errors import InvalidInputError
from quaymaster.model.cluster import POSITION_SHIFT, PROTOCOL_SHIFT
from quaymaster.taskdef import TaskRequirements
from reference.placement_ref import place_reference


def requirements_from(request: dict) -> TaskRequirements:
    return TaskRequirements(
        cpu=request["cpu"], memory=request["memory"], gpu=request["gpu"], eni=request["eni"],
        network_mode="awsvpc" if request["eni"] else "bridge",
        static_tcp=tuple(request["static_tcp"]), static_udp=tuple(request["static_udp"]),
        dynamic_tcp=request["dynamic_tcp"], dynamic_udp=request["dynamic_udp"],
        required_attributes=tuple((n, v) for n, v in request["required_attributes"]),
    )


def constraints_from(request: dict) -> list[dict]:
    constraints = [{"type": "memberOf", "expression": e} for e in request["member_of"]]
    if request["distinct_instance"]:
        constraints.append({"type": "distinctInstance"})
    return constraints


def run_engine(instances, tasks, request: dict, seed: int):
    """(cluster, result) from the engine, or (None, exception type) if it refused."""
    try:
        cluster = Cluster.from_arrow(instances, tasks)
        result = cluster.run_task(requirements_from(request), count=request["count"],
                                  group=request["group"],
                                  placement_constraints=constraints_from(request) or None,
                                  placement_strategy=request["strategy"] or None, seed=seed)
    except InvalidInputError as exc:
        return None, type(exc)
    return cluster, result


def engine_ports(cluster) -> tuple[list[list[int]], list[list[int]]]:
    """Per instance, the sorted TCP and UDP ports in use."""
    keys = cluster.port_keys()
    tcp = [[] for _ in range(cluster.state.n)]
    udp = [[] for _ in range(cluster.state.n)]
    for key in keys.tolist():
        position, protocol, port = key >> POSITION_SHIFT, (key >> PROTOCOL_SHIFT) & 1, key & 0xFFFF
        (udp if protocol else tcp)[position].append(port)
    return tcp, udp


def assert_same_as_reference(instances, tasks, request: dict, seed: int) -> None:
    try:
        expected = place_reference(instances, tasks, request, seed)
    except InvalidInputError:
        cluster, refused = run_engine(instances, tasks, request, seed)
        assert cluster is None, "the reference refused the request, the engine accepted it"
        return
    cluster, result = run_engine(instances, tasks, request, seed)
    assert cluster is not None, f"the engine refused a request the reference accepted: {result}"
    got = result.placements.select(["task_index", "position", "ec2_instance_id", "host_ports",
                                    "host_ports_udp"]).to_pylist()
    assert got == expected.placements
    assert result.failures == expected.failures
    after = expected.instances_after
    for name in ("cpu_remaining", "memory_remaining", "gpu_remaining"):
        np.testing.assert_array_equal(getattr(cluster.state, name), after.column(name).to_numpy(), name)
    tcp, udp = engine_ports(cluster)
    assert tcp == after.column("reserved_ports").to_pylist()
    assert udp == after.column("reserved_ports_udp").to_pylist()
    live = cluster.task_table()
    assert live.num_rows == len(expected.tasks_after)
    for column in ("ec2_instance_id", "group", "cpu", "memory", "gpu", "host_ports", "host_ports_udp", "eni"):
        assert live.column(column).to_pylist() == [t[column] for t in expected.tasks_after], column
