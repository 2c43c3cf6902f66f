"""Fast paths and kept plans on the cases the other property tests draw rarely.

test_fast_paths.py fills fleets with one resource shape and no GPU, ENI or
UDP; these cases aim at the premises each fast path rests on (architecture.md,
"Fast paths, and why each is exact"):

- zero-resource tasks under binpack (the sticky winner's value does not fall),
- fleets of identical instances (every strategy ties, only the tie key decides),
- spread on an attribute no instance has, strategies after ``random``, the same
  strategy twice,
- DRAINING and disconnected instances, GPU and ENI limits that run out while an
  instance is the sticky winner, static and dynamic ports on both protocols
  with reserved ports inside the dynamic range.

Every request is compared three ways: the fast paths, the plain scan
(``fast_paths=False``) and the reference of the spec. Sequences of requests
interleaved with StartTask, StopTask (of tasks the same kept plan just
placed), attribute changes and registrations are checked against a twin
cluster that never keeps anything and against a cluster loaded afresh from
the kept one's tables before every request.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine_harness import assert_same_as_reference, constraints_from, requirements_from
from quaymaster import Cluster
from quaymaster.model.schema import DEFAULT_RESERVED_PORTS
from quaymaster.taskdef import TaskRequirements

ABSENT = {"type": "spread", "field": "attribute:nobody-has-this"}
ZONE = {"type": "spread", "field": "attribute:ecs.availability-zone"}
STACK = {"type": "spread", "field": "attribute:stack"}
CPU = {"type": "binpack", "field": "cpu"}
MEMORY = {"type": "binpack", "field": "memory"}
INSTANCE = {"type": "spread", "field": "instanceId"}
RANDOM = {"type": "random"}
CHAINS = [
    [CPU], [MEMORY, MEMORY], [CPU, CPU, ZONE], [ABSENT], [ABSENT, CPU], [CPU, ABSENT, RANDOM],
    [RANDOM, CPU], [RANDOM, ZONE, INSTANCE], [ZONE, ZONE], [ZONE, STACK, INSTANCE],
    [INSTANCE, INSTANCE, MEMORY], [MEMORY, RANDOM, CPU], [STACK, ABSENT, MEMORY], [INSTANCE, RANDOM],
]
RESERVED_TCP = [None, [], [22, 49153, 49155], [80], [49160]]
RESERVED_UDP = [None, [53], [49153, 49154]]


def hog_tasks(table: pa.Table, seed: int) -> pa.Table | None:
    """Live tasks that hold all but a few ports of the dynamic range on some instances (both
    protocols), so that dynamic mappings run out while those instances are candidates."""
    rng = np.random.default_rng(seed)
    ids = table.column("ec2_instance_id").to_pylist()
    hogged = [i for i in ids if rng.random() < 0.3]
    if not hogged:
        return None
    def held(left: int) -> list[int]:
        # 49153..49160 stay free too; the agent's reserved ports (51678, 51679) are not a task's
        return [p for p in range(49153 + 8, 65536 - left) if p not in DEFAULT_RESERVED_PORTS]
    return pa.table({
        "task_arn": [f"hog-{k}" for k in range(len(hogged))], "ec2_instance_id": hogged,
        "group": ["service:hog"] * len(hogged),
        "host_ports": pa.array([held(int(rng.integers(0, 3))) for _ in hogged], pa.list_(pa.int32())),
        "host_ports_udp": pa.array([held(int(rng.integers(0, 3))) for _ in hogged], pa.list_(pa.int32())),
    })


def fleet_table(n: int, seed: int, identical: bool) -> pa.Table:
    rng = np.random.default_rng(seed)
    pick = (lambda choices: [choices[0]] * n) if identical else (
        lambda choices: [choices[k] for k in rng.integers(0, len(choices), n)])
    return pa.table({
        "ec2_instance_id": [f"i-{k:04d}" for k in range(n)],
        "cpu_registered": pa.array(pick([1024, 512, 2048]), pa.int64()),
        "memory_registered": pa.array(pick([2048, 1024, 4096]), pa.int64()),
        "gpu_registered": pa.array(pick([2, 0, 1]), pa.int64()),
        "eni_limit": pa.array(pick([3, None, 0, 1]), pa.int64()),
        "status": pick(["ACTIVE", "ACTIVE", "ACTIVE", "DRAINING"]),
        "agent_connected": pick([True, True, True, False]),
        "reserved_ports": pa.array(pick(RESERVED_TCP), pa.list_(pa.int32())),
        "reserved_ports_udp": pa.array(pick(RESERVED_UDP), pa.list_(pa.int32())),
        "attribute:ecs.availability-zone": pick(["a", "b", None]),
        "attribute:stack": pick(["web", None, "api"]),
    })


@st.composite
def adversarial_requests(draw, max_count: int):
    eni = draw(st.sampled_from([0, 0, 1]))
    return {
        "cpu": draw(st.sampled_from([0, 0, 128, 256])), "memory": draw(st.sampled_from([0, 0, 128, 512])),
        "gpu": draw(st.sampled_from([0, 0, 1])), "eni": eni,
        "static_tcp": draw(st.sampled_from([[], [], [], [80], [49153, 80], [49156]])),
        "static_udp": draw(st.sampled_from([[], [], [], [53], [49157, 53]])),
        "dynamic_tcp": draw(st.integers(0, 2)), "dynamic_udp": draw(st.integers(0, 2)),
        "required_attributes": draw(st.sampled_from([[], [], [["stack", None]]])),
        "member_of": draw(st.sampled_from([[], [], ["attribute:stack != api"]])),
        "distinct_instance": draw(st.booleans()) and draw(st.booleans()),
        "count": draw(st.integers(1, max_count)),
        "group": draw(st.sampled_from(["service:a", "family:b"])),
        "strategy": draw(st.sampled_from(CHAINS)),
    }


def _run(table, tasks, request, seed, fast):
    cluster = Cluster.from_arrow(table, tasks)
    result = cluster.run_task(requirements_from(request), count=request["count"], group=request["group"],
                              placement_constraints=constraints_from(request) or None,
                              placement_strategy=request["strategy"], seed=seed, fast_paths=fast)
    return cluster, result


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 60), st.integers(0, 2**32 - 1), st.booleans(), st.booleans(),
       adversarial_requests(800), st.integers(0, 2**64 - 1))
def test_adversarial_requests_fast_equal_scan(n, fleet_seed, identical, hogs, request, seed):
    table = fleet_table(n, fleet_seed, identical)
    tasks = hog_tasks(table, fleet_seed) if hogs else None
    fast_cluster, fast = _run(table, tasks, request, seed, True)
    slow_cluster, slow = _run(table, tasks, request, seed, False)
    columns = ["task_index", "position", "host_ports", "host_ports_udp"]
    assert fast.placements.select(columns).equals(slow.placements.select(columns))
    assert fast.failures[:1] == slow.failures[:1] and fast.failed_count == slow.failed_count
    for name in ("cpu_remaining", "memory_remaining", "gpu_remaining", "eni_used", "running_tasks"):
        np.testing.assert_array_equal(getattr(fast_cluster.state, name), getattr(slow_cluster.state, name))
    np.testing.assert_array_equal(fast_cluster.port_keys(), slow_cluster.port_keys())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 30), st.integers(0, 2**32 - 1), st.booleans(), st.booleans(),
       adversarial_requests(60), st.integers(0, 2**64 - 1))
def test_adversarial_requests_equal_the_reference(n, fleet_seed, identical, hogs, request, seed):
    table = fleet_table(n, fleet_seed, identical)
    assert_same_as_reference(table, hog_tasks(table, fleet_seed) if hogs else None, request, seed)


# ------------------------------------------------------------ sequences

KINDS = {
    "sticky": dict(group="service:s", placement_strategy=[CPU, ZONE, RANDOM]),
    "index": dict(group="service:s", placement_strategy=[ZONE, INSTANCE]),
    "zero": dict(group="family:z", placement_strategy=[MEMORY, ABSENT]),
    "after-random": dict(group="family:z", placement_strategy=[RANDOM, CPU]),
}
NEEDS = {
    "sticky": TaskRequirements(cpu=128, memory=128, gpu=0, dynamic_tcp=1, static_udp=(53,)),
    "index": TaskRequirements(cpu=256, memory=256, dynamic_udp=1, static_tcp=(49153,)),
    "zero": TaskRequirements(),
    "after-random": TaskRequirements(cpu=64, gpu=1),
}

operations = st.lists(st.one_of(
    st.tuples(st.just("run"), st.sampled_from(sorted(KINDS)), st.integers(1, 40)),
    st.tuples(st.just("run-twice"), st.sampled_from(sorted(KINDS)), st.integers(1, 40)),
    st.tuples(st.just("start"), st.sampled_from(sorted(KINDS)), st.lists(st.integers(0, 999), min_size=1,
                                                                         max_size=3)),
    st.tuples(st.just("stop-last"), st.integers(0, 3)),
    st.tuples(st.just("stop"), st.integers(0, 10_000)),
    st.tuples(st.just("attribute"), st.integers(0, 999), st.sampled_from(["ecs.availability-zone", "stack",
                                                                          "nobody-has-this"]),
              st.sampled_from(["a", "b", "c"])),
    st.tuples(st.just("register"), st.integers(1, 2)),
    st.tuples(st.just("status"), st.integers(0, 999), st.sampled_from(["ACTIVE", "DRAINING"])),
), min_size=1, max_size=20)


def _placed(result) -> tuple:
    return (result.placements.select(["task_index", "position", "host_ports", "host_ports_udp"]).to_pylist(),
            list(result.failures)[:1], result.failed_count)


def _apply(cluster: Cluster, operation, fast: bool, last_arns: list):
    """Apply one operation; returns what a request placed (None for the others)."""
    kind, state = operation[0], cluster.state
    if kind in ("run", "run-twice"):  # twice: the second request reuses the first one's plan
        placed = []
        for _ in range(1 + (kind == "run-twice")):
            result = cluster.run_task(NEEDS[operation[1]], count=operation[2], seed=operation[2],
                                      fast_paths=fast, **KINDS[operation[1]])
            last_arns[:] = result.task_arns()
            placed.append(_placed(result))
        return placed
    if kind == "start":
        ids = [state.ids[k % state.n] for k in operation[2]]
        result = cluster.start_task(NEEDS[operation[1]], ids, group=KINDS[operation[1]]["group"])
        last_arns[:] = result.task_arns()
        return [_placed(result)]
    if kind == "stop-last" and last_arns:
        cluster.stop_task(last_arns.pop(operation[1] % len(last_arns)))
    elif kind == "stop":
        arns = cluster.task_table().column("task_arn").to_pylist()
        if arns:
            arn = arns[operation[1] % len(arns)]
            cluster.stop_task(arn)
            if arn in last_arns:
                last_arns.remove(arn)
    elif kind == "attribute":
        cluster.put_attributes([{"name": operation[2], "value": operation[3], "targetType": "container-instance",
                                 "targetId": state.arns[operation[1] % state.n]}])
    elif kind == "register":
        for k in range(operation[1]):
            cluster.register_container_instance(
                f"i-new-{state.n}-{k}", attributes=[{"name": "ecs.availability-zone", "value": "c"}],
                total_resources=[{"name": "CPU", "type": "INTEGER", "integerValue": 1024},
                                 {"name": "MEMORY", "type": "INTEGER", "integerValue": 1024},
                                 {"name": "GPU", "type": "INTEGER", "integerValue": 1}])
    elif kind == "status":
        cluster.update_container_instances_state([state.ids[operation[1] % state.n]], operation[2])
    return None


def _fresh_scan(cluster: Cluster, operation):
    """The request of ``operation`` on a cluster loaded from ``cluster``'s tables, scanned plainly."""
    fresh = Cluster.from_arrow(cluster.instances, cluster.task_table())
    return _apply(fresh, operation, False, [])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 40), st.integers(0, 2**32 - 1), st.booleans(), operations)
def test_kept_plans_under_interleaved_operations(n, fleet_seed, identical, ops):
    kept = Cluster.from_arrow(fleet_table(n, fleet_seed, identical))
    plain = Cluster.from_arrow(fleet_table(n, fleet_seed, identical))
    kept_arns, plain_arns = [], []
    for operation in ops:
        expected = _fresh_scan(kept, ("run", *operation[1:])) if operation[0] == "run" else None
        got = _apply(kept, operation, True, kept_arns)
        assert got == _apply(plain, operation, False, plain_arns), operation
        if expected is not None:
            assert got == expected, operation
    for name in ("cpu_remaining", "memory_remaining", "gpu_remaining", "eni_used", "running_tasks"):
        np.testing.assert_array_equal(getattr(kept.state, name), getattr(plain.state, name))
    np.testing.assert_array_equal(kept.port_keys(), plain.port_keys())
