"""The dynamic port range runs out exactly when it should (placement.md section 5).

The core counts the ports in use in 49153..65535 per instance instead of
walking the range for every candidate; these cases fill the range and check
the arithmetic by hand.
"""

from __future__ import annotations

import pyarrow as pa

from quaymaster import Cluster
from quaymaster.taskdef import TaskRequirements

RANGE = 65535 - 49153 + 1  # 16,383 dynamic ports per protocol


def one_instance(**columns) -> Cluster:
    return Cluster.from_arrow(pa.table({"ec2_instance_id": ["i-1"], "cpu_registered": [10**9],
                                        "memory_registered": [10**9], **columns}))


def test_three_dynamic_ports_per_task_fill_the_range():
    # The agent's default TCP reservations include 51678 and 51679, inside the range, so
    # 16,381 ports are free: 16,381 // 3 = 5,460 tasks fit, taking the free ports in order,
    # 3 each; the next task fails on ports.
    cluster = one_instance()
    result = cluster.run_task(TaskRequirements(dynamic_tcp=3), count=5_469, group="g")
    free = [p for p in range(49153, 65536) if p not in (51678, 51679)]
    assert result.placed_count == len(free) // 3 == 5_460
    ports = result.placements.column("host_ports").to_pylist()
    assert [p for row in ports for p in row] == free[: 3 * 5_460]
    assert result.failure["reason"] == "RESOURCE:PORTS"
    assert result.failure["detail"] == "0 of 1 instances: 1 RESOURCE:PORTS"
    assert result.failed_count == 9


def test_a_static_port_inside_the_range_is_not_offered_as_dynamic():
    # Static 49153 plus two dynamic: the first task takes 49153 (static), 49154 and 49155;
    # the second needs 49153 again and fails on ports.
    cluster = one_instance()
    result = cluster.run_task(TaskRequirements(static_tcp=(49153,), dynamic_tcp=2), count=2, group="g")
    assert result.placements.column("host_ports").to_pylist() == [[49153, 49154, 49155]]
    assert result.failure["reason"] == "RESOURCE:PORTS"


def test_reserved_and_live_ports_inside_the_range_count_as_used():
    # 95 reserved UDP ports in the range (plus the agent's 5 TCP ones: the limit of 100)
    # leave 16,288 for tasks with one dynamic UDP port each.
    reserved = list(range(50_000, 50_095))
    cluster = one_instance(reserved_ports_udp=pa.array([reserved], pa.list_(pa.int32())))
    result = cluster.run_task(TaskRequirements(dynamic_udp=1), count=RANGE, group="g")
    assert result.placed_count == RANGE - 95
    taken = {p for row in result.placements.column("host_ports_udp").to_pylist() for p in row}
    assert taken.isdisjoint(reserved) and len(taken) == RANGE - 95
    # Stopping one task frees its port for the next request.
    cluster.stop_task(result.placements.column("task_arn")[7].as_py())
    again = cluster.run_task(TaskRequirements(dynamic_udp=1), count=1, group="g")
    assert again.placements.column("host_ports_udp").to_pylist() == [[49153 + 7]]
