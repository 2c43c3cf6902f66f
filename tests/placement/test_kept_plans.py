"""Kept placement plans (engine.Plan) never change an answer.

A plan is reused by the next request of the same kind only while the cluster
is exactly as the plan left it. Here random sequences of requests are
interleaved with everything else that changes a cluster (other requests,
stopping tasks, status changes, attribute changes, new instances), and every
request's placements must equal those of the plain per-task scan on a twin
cluster that never keeps anything.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from quaymaster import Cluster
from quaymaster.taskdef import TaskRequirements
from tables_support import random_fleet

KIND_A = dict(group="service:a", placement_strategy=[
    {"type": "spread", "field": "attribute:ecs.availability-zone"}, {"type": "spread", "field": "instanceId"}])
KIND_B = dict(group="service:b", placement_strategy=[
    {"type": "spread", "field": "attribute:ecs.availability-zone"}, {"type": "binpack", "field": "memory"}])
KIND_C = dict(group="family:c", placement_strategy=[{"type": "binpack", "field": "cpu"}, {"type": "random"}])
REQUIREMENTS = TaskRequirements(cpu=128, memory=256)


def fleet(n: int, seed: int) -> pa.Table:
    return random_fleet(n, seed, memory=(2048, 4096))


operations = st.lists(st.one_of(
    st.tuples(st.just("run"), st.sampled_from(["A", "B", "C"]), st.integers(1, 30)),
    st.tuples(st.just("stop"), st.integers(0, 10_000)),
    st.tuples(st.just("drain"), st.integers(0, 10_000)),
    st.tuples(st.just("zone"), st.integers(0, 10_000), st.sampled_from(["a", "b", "c", "d"])),
    st.tuples(st.just("register"), st.integers(1, 3)),
), min_size=1, max_size=25)


def apply(cluster: Cluster, operation, fast: bool):
    kind = operation[0]
    state = cluster.state
    if kind == "run":
        params = {"A": KIND_A, "B": KIND_B, "C": KIND_C}[operation[1]]
        result = cluster.run_task(REQUIREMENTS, count=operation[2], fast_paths=fast, **params)
        return result.placements.column("position").to_pylist(), result.failures[:1]
    if kind == "stop":
        arns = cluster.task_table().column("task_arn").to_pylist()
        if arns:
            cluster.stop_task(arns[operation[1] % len(arns)])
    elif kind == "drain":
        cluster.update_container_instances_state([state.ids[operation[1] % state.n]], "DRAINING")
    elif kind == "zone":
        target = state.arns[operation[1] % state.n]
        cluster.put_attributes([{"name": "ecs.availability-zone", "value": operation[2],
                                 "targetType": "container-instance", "targetId": target}])
    elif kind == "register":
        for k in range(operation[1]):
            cluster.register_container_instance(
                f"i-new-{state.n}-{k}", total_resources=[
                    {"name": "CPU", "type": "INTEGER", "integerValue": 2048},
                    {"name": "MEMORY", "type": "INTEGER", "integerValue": 4096}],
                attributes=[{"name": "ecs.availability-zone", "value": "b"}])
    return None


@settings(max_examples=150, deadline=None)
@given(st.integers(4, 60), st.integers(0, 2**32 - 1), operations)
def test_kept_plans_equal_fresh_scans(n, seed, ops):
    kept = Cluster.from_arrow(fleet(n, seed))
    plain = Cluster.from_arrow(fleet(n, seed))
    for operation in ops:
        assert apply(kept, operation, True) == apply(plain, operation, False), operation
    for name in ("cpu_remaining", "memory_remaining", "running_tasks"):
        np.testing.assert_array_equal(getattr(kept.state, name), getattr(plain.state, name))
