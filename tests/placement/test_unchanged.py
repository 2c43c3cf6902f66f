"""placement/unchanged.py: a request that placed nothing is said to fail alike only when
placing it again (with any seed) places nothing and fails with the same reason. Checked over
random histories of placements and stops on every provider's instances, registrations,
drains and attribute changes, by placing the request again whenever the claim is made."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from quaymaster import Cluster
from quaymaster.placement import reasons
from quaymaster.placement.prepare import prefilter
from quaymaster.placement.unchanged import NothingPlaced
from quaymaster.taskdef import TaskRequirements
from tables_support import random_fleet

ZONE = "ecs.availability-zone"
SPREAD = [{"type": "spread", "field": f"attribute:{ZONE}"}, {"type": "spread", "field": "instanceId"}]
WAITING = dict(group="service:waiting", placement_strategy=SPREAD, capacity_provider="cp-a",
               excluded_attribute="ecs.capability.external")
BIG = TaskRequirements(cpu=1536, memory=1024)
MEDIUM = TaskRequirements(cpu=768, memory=512)
SMALL = TaskRequirements(cpu=512, memory=512)
NOTHING = TaskRequirements(cpu=0, memory=0)


def fleet(n: int, seed: int) -> pa.Table:
    return random_fleet(n, seed, capacity_provider=["cp-a", "cp-b", None])


operations = st.lists(st.tuples(st.one_of(
    st.tuples(st.just("run"), st.sampled_from(["cp-a", "cp-b", None]), st.integers(1, 4)),
    st.tuples(st.just("stop"), st.integers(0, 10_000)),
    st.tuples(st.just("drain"), st.integers(0, 10_000), st.sampled_from(["DRAINING", "ACTIVE"])),
    st.tuples(st.just("zone"), st.integers(0, 10_000), st.sampled_from(["a", "d"])),
    st.tuples(st.just("register"), st.sampled_from(["cp-a", "cp-b", None]), st.sampled_from([1024, 4096])),
), st.booleans()), min_size=1, max_size=25)


def apply(cluster: Cluster, operation) -> None:
    kind, state = operation[0], cluster.state
    if kind == "run":
        cluster.run_task(SMALL, count=operation[2], capacity_provider=operation[1], group="service:other",
                         seed=operation[2])
    elif kind == "stop":
        arns = cluster.task_table().column("task_arn").to_pylist()
        if arns:
            cluster.stop_task(arns[operation[1] % len(arns)])
    elif kind == "drain":
        cluster.update_container_instances_state([state.arns[operation[1] % state.n]], operation[2])
    elif kind == "zone":
        cluster.put_attributes([{"name": ZONE, "value": operation[2], "targetType": "container-instance",
                                 "targetId": state.arns[operation[1] % state.n]}])
    elif kind == "register":
        cluster.register_container_instance(
            f"i-new-{state.n}", capacity_provider=operation[1], attributes=[{"name": ZONE, "value": "b"}],
            total_resources=[{"name": "CPU", "type": "INTEGER", "integerValue": operation[2]},
                             {"name": "MEMORY", "type": "INTEGER", "integerValue": 4096}])


def waiting(cluster: Cluster, requirements, seed: int):
    """The waiting request; (its result, what it saw when it placed nothing)."""
    result = cluster.run_task(requirements, count=1, seed=seed, **WAITING)
    return result, (NothingPlaced(cluster, result.request) if result.placed_count == 0 else None)


@settings(max_examples=120, deadline=None)
@given(st.integers(2, 12), st.integers(0, 2**32 - 1), st.sampled_from([MEDIUM, BIG, NOTHING]), operations)
def test_a_request_said_to_fail_alike_fails_alike(n, seed, requirements, ops):
    cluster = Cluster.from_arrow(fleet(n, seed))
    result, seen = waiting(cluster, requirements, seed)
    for _ in range(24):   # fill the provider's room (tasks that hold nothing always fit)
        if result.placed_count == 0:
            break
        result, seen = waiting(cluster, requirements, seed)
    for step, (operation, look) in enumerate(ops):
        apply(cluster, operation)
        if not look:
            continue   # several changes between looks: the claim reads all of them
        claimed = seen is not None and seen.holds(cluster)
        again, fresh = waiting(cluster, requirements, seed + step + 1)
        if claimed:
            assert again.placed_count == 0, (step, operation)
            assert again.failure["reason"] == result.failure["reason"], (step, operation)
        result, seen = again, fresh


def full_cluster() -> Cluster:
    """cp-a's two instances hold a BIG task each (no room for another); cp-b has room."""
    cluster = Cluster.from_arrow(pa.table({
        "ec2_instance_id": ["i-a0", "i-a1", "i-b0", "i-b1"], "cpu_registered": [2048] * 4,
        "memory_registered": [4096] * 4, f"attribute:{ZONE}": ["a", "b", "a", "b"],
        "capacity_provider": ["cp-a", "cp-a", "cp-b", "cp-b"]}))
    assert cluster.run_task(BIG, count=2, **WAITING).placed_count == 2
    return cluster


def test_tasks_and_instances_of_another_provider_change_nothing_for_a_waiting_request():
    cluster = full_cluster()
    result, seen = waiting(cluster, BIG, 1)
    assert result.placed_count == 0 and seen.holds(cluster)
    cluster.run_task(SMALL, count=3, capacity_provider="cp-b", group="service:other", seed=2)
    apply(cluster, ("register", "cp-b", 4096))
    cluster.run_task(SMALL, count=2, capacity_provider="cp-b", group="service:other", seed=3)
    assert seen.holds(cluster)                           # rows only on cp-b's instances
    assert waiting(cluster, BIG, 4)[0].placed_count == 0
    apply(cluster, ("register", "cp-a", 4096))           # a candidate came
    assert not seen.holds(cluster)
    assert waiting(cluster, BIG, 5)[0].placed_count == 1


def test_a_stop_on_a_candidate_or_a_status_change_ends_the_claim():
    cluster = full_cluster()
    _, seen = waiting(cluster, BIG, 1)
    cluster.update_container_instances_state(["i-b0"], "DRAINING")   # a status, even elsewhere
    assert not seen.holds(cluster)
    _, seen = waiting(cluster, BIG, 2)
    assert seen.holds(cluster)
    arns = cluster.task_table().column("task_arn").to_pylist()
    cluster.stop_task(arns[0])                                       # room on cp-a
    assert not seen.holds(cluster)
    assert waiting(cluster, BIG, 3)[0].placed_count == 1


def test_tasks_that_hold_nothing_are_claimed_only_while_nothing_changed():
    cluster = full_cluster()
    cluster.update_container_instances_state(["i-a0", "i-a1"], "DRAINING")
    result, seen = waiting(cluster, NOTHING, 1)
    assert result.placed_count == 0 and seen.holds(cluster)
    cluster.run_task(SMALL, count=1, capacity_provider="cp-b", group="service:other", seed=2)
    assert not seen.holds(cluster)   # the live-task limit reads every task of the cluster


def test_an_instance_back_to_active_with_room_ends_the_claim():
    cluster = full_cluster()
    cluster.update_container_instances_state(["i-a0"], "DRAINING")
    tasks = cluster.task_table()
    task = tasks["task_arn"][tasks["ec2_instance_id"].to_pylist().index("i-a0")].as_py()
    cluster.stop_task(task)                    # room on i-a0, which is draining
    result, seen = waiting(cluster, BIG, 1)
    assert result.placed_count == 0 and seen.holds(cluster)
    cluster.update_container_instances_state(["i-a0"], "ACTIVE")
    assert not seen.holds(cluster)
    assert waiting(cluster, BIG, 2)[0].placed_count == 1


def stages_of_new_instances(seen: NothingPlaced, cluster: Cluster):
    """The plain reading of _with_new_instances: a prefilter of just the instances registered
    since the request (None when one of them is a candidate)."""
    request, state, n = seen.request, cluster.state, len(seen.static)
    codes = prefilter(state, request.requirements.required_attributes, request.capacity_provider,
                      request.excluded_attribute, np.arange(n, state.n))
    return None if (codes != reasons.NOT_ACTIVE).any() else np.concatenate([seen.static, codes])


@settings(max_examples=120, deadline=None)
@given(st.integers(2, 12), st.integers(0, 2**32 - 1), st.sampled_from([MEDIUM, BIG]), operations)
def test_new_instances_read_from_the_shared_stages_are_a_prefilter_of_them(n, seed, requirements, ops):
    """_with_new_instances takes the new instances' codes from the cluster's shared prefilter
    (also shared with the plans and other waiting requests, and kept across drains and
    attribute changes elsewhere): the same codes a prefilter of just them gives."""
    cluster = Cluster.from_arrow(fleet(n, seed))
    result, seen = waiting(cluster, requirements, seed)
    for _ in range(24):
        if result.placed_count == 0:
            break
        result, seen = waiting(cluster, requirements, seed)
    for step, (operation, look) in enumerate(ops):
        apply(cluster, operation)
        if seen is None or not look or cluster.state.n < len(seen.static):
            continue
        if step % 3 == 0:   # another request of the kind reads (and refreshes) the shared codes first
            cluster.run_task(requirements, count=1, seed=step, **WAITING)
        expected = stages_of_new_instances(seen, cluster)
        got = seen._with_new_instances(cluster)
        assert (got is None) == (expected is None), (step, operation)
        if got is not None:
            assert np.array_equal(got, expected), (step, operation)
