"""StopTask of one task (StateOwner.stop's scalar path) equals the batch path, and the
core's per-instance port listing (qm_ports_of) equals a filter of the whole set."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from quaymaster import Cluster
from quaymaster.model.state_owner import POSITION_SHIFT
from quaymaster.taskdef import TaskRequirements

TASKS = [TaskRequirements(cpu=64, memory=64), TaskRequirements(cpu=32, memory=32, dynamic_tcp=2),
         TaskRequirements(cpu=16, memory=16, static_tcp=(8080,), dynamic_udp=1)]


def fleet(n: int) -> pa.Table:
    return pa.table({"ec2_instance_id": [f"i-{k:03d}" for k in range(n)], "cpu_registered": [1024] * n,
                     "memory_registered": [1024] * n,
                     "registered_at": pa.array([0] * n, pa.timestamp("us", tz="UTC"))})


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12), st.lists(st.tuples(st.integers(0, 2), st.integers(1, 9)), min_size=1, max_size=5),
       st.lists(st.integers(0, 10_000), min_size=1, max_size=20), st.integers(0, 2**32))
def test_one_by_one_stops_equal_a_batch(n, runs, picks, seed):
    one, batch = Cluster.from_arrow(fleet(n)), Cluster.from_arrow(fleet(n))
    for k, (task, count) in enumerate(runs):
        for cluster in (one, batch):
            cluster.run_task(TASKS[task], count=count, seed=seed + k, group=f"g{task}")
    arns = one.task_table().column("task_arn").to_pylist()
    chosen = list(dict.fromkeys(arns[p % len(arns)] for p in picks)) if arns else []
    for arn in chosen:
        one.stop_task(arn)
    batch.stop_tasks(chosen)
    assert one.task_table().equals(batch.task_table())
    assert one.instance_table().equals(batch.instance_table())
    for position in range(n):
        assert [p.tolist() for p in one.owner.ports.ports_of(position)] == \
            [p.tolist() for p in batch.owner.ports.ports_of(position)]
    assert one.run_task(TASKS[1], count=3, seed=seed).positions.tolist() == \
        batch.run_task(TASKS[1], count=3, seed=seed).positions.tolist()


def test_ports_of_lists_every_port_of_an_instance():
    """More ports than the first buffer holds (64), on several instances."""
    cluster = Cluster.from_arrow(fleet(3))
    cluster.run_task(TaskRequirements(cpu=1, memory=1, dynamic_tcp=40, dynamic_udp=30), count=6, seed=1,
                     placement_strategy=[{"type": "spread", "field": "instanceId"}])
    table = cluster.owner.ports.table
    held = table[table != 0] - 1
    for position in range(3):
        mine = np.sort(held[held >> POSITION_SHIFT == position])
        udp = ((mine >> 16) & 1).astype(bool)
        tcp_got, udp_got = cluster.owner.ports.ports_of(position)
        assert tcp_got.tolist() == (mine[~udp] & 0xFFFF).tolist()
        assert udp_got.tolist() == (mine[udp] & 0xFFFF).tolist()
        assert len(tcp_got) + len(udp_got) > 64
