"""Kept random draws and cheap heap repairs (csrc/random.c, csrc/repair.c) never change an answer.

A chain that starts with ``random`` keeps its order-statistic draw over the
feasible set between requests and re-tests only the positions the change log
names (and those whose memberOf verdict moved); a spread(instanceId) heap
leaves in place the instances whose values another group's tasks cannot move.
Here several groups share a fleet and are driven with runs (static and
dynamic ports, distinctInstance, static and live memberOf, explain), stops,
drains and undrains, attribute changes and new instances; every answer must
equal the plain per-task scan (``fast_paths=False``) on a twin that keeps no
plan (its plans are cleared before every operation, so it shares no repair).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quaymaster import Cluster
from quaymaster.native import ffi
from quaymaster.taskdef import TaskRequirements
from test_prefix_lists import fleet  # kinds of identical instances, zone, rack and tier

CHAINS = [
    [{"type": "random"}],
    [{"type": "random"}, {"type": "binpack", "field": "memory"}],
    [{"type": "spread", "field": "instanceId"}],
    [{"type": "spread", "field": "attribute:zone"}, {"type": "spread", "field": "instanceId"}],
]
TASKS = [
    TaskRequirements(cpu=128, memory=256),
    TaskRequirements(cpu=256, memory=128, dynamic_tcp=1),
    TaskRequirements(cpu=64, memory=64, static_tcp=(8080,)),
    TaskRequirements(cpu=512, memory=1024),
]
CONSTRAINTS = [
    None,
    [{"type": "memberOf", "expression": "attribute:tier != t0"}],
    [{"type": "distinctInstance"}],
    [{"type": "memberOf", "expression": "not(task:group == g1)"}],  # reads live state: one task per call
]


# (chain, task, constraints, group): few enough kinds that kept plans are met again
KINDS = [(0, 0, 0, 0), (0, 1, 1, 1), (1, 2, 0, 2), (0, 3, 2, 0), (0, 0, 3, 3), (2, 1, 0, 1), (2, 0, 1, 2),
         (3, 2, 0, 3)]
operations = st.lists(st.one_of(
    st.tuples(st.just("run"), st.sampled_from(KINDS), st.integers(1, 25), st.integers(0, 2**64 - 1),
              st.booleans()),
    st.tuples(st.just("run"), st.sampled_from(KINDS[:2]), st.integers(1, 6), st.integers(0, 2**64 - 1),
              st.just(False)),
    st.tuples(st.just("stop"), st.integers(0, 10_000), st.integers(1, 10)),
    st.tuples(st.just("tier"), st.integers(0, 10_000), st.sampled_from(["t0", "t1"])),
    st.tuples(st.just("drain"), st.integers(0, 10_000), st.sampled_from(["DRAINING", "ACTIVE"])),
    st.tuples(st.just("register"), st.integers(1, 2)),
), min_size=12, max_size=40)


def apply(cluster: Cluster, operation, fast: bool):
    kind, state = operation[0], cluster.state
    if kind == "run":
        _, (chain, task, constraint, group), count, seed, explain = operation
        result = cluster.run_task(TASKS[task], count=count, seed=seed, group=f"g{group}",
                                  placement_strategy=CHAINS[chain], placement_constraints=CONSTRAINTS[constraint],
                                  fast_paths=fast, explain=explain)
        return (result.positions.tolist(), result.placements.column("host_ports").to_pylist(),
                result.failed_count)
    if kind == "stop":
        arns = cluster.task_table().column("task_arn").to_pylist()
        for k in range(min(operation[2], len(arns))):
            cluster.stop_task(arns[(operation[1] + k) % len(arns)])
    elif kind == "tier":
        cluster.put_attributes([{"name": "tier", "value": operation[2], "targetType": "container-instance",
                                 "targetId": state.arns[operation[1] % state.n]}])
    elif kind == "drain":
        return cluster.update_container_instances_state([state.arns[operation[1] % state.n]],
                                                         operation[2])["failures"]
    else:
        for k in range(operation[1]):
            cluster.register_container_instance(
                f"i-new-{state.n}-{k}", total_resources=[
                    {"name": "CPU", "type": "INTEGER", "integerValue": 2048},
                    {"name": "MEMORY", "type": "INTEGER", "integerValue": 4096}],
                attributes=[{"name": "zone", "value": "b"}, {"name": "tier", "value": "t1"}])
    return None


def drive_twins(table: pa.Table, ops):
    kept, plain = Cluster.from_arrow(table), Cluster.from_arrow(table)
    for step, operation in enumerate(ops):
        plain.caches.plans.clear()
        assert apply(kept, operation, True) == apply(plain, operation, False), (step, operation)
    assert kept.task_table().equals(plain.task_table())
    for name in ("cpu_remaining", "memory_remaining", "running_tasks"):
        np.testing.assert_array_equal(getattr(kept.state, name), getattr(plain.state, name))
    return kept


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 40), st.integers(0, 2**32 - 1), operations)
def test_kept_draws_and_heaps_equal_the_scan(n, fleet_seed, ops):
    drive_twins(fleet(n, fleet_seed), ops)


@pytest.mark.slow
@settings(max_examples=15, deadline=None)
@given(st.integers(257, 700), st.integers(0, 2**32 - 1), operations)
def test_kept_draws_over_several_blocks_equal_the_scan(n, fleet_seed, ops):
    """Fleets past one block of the draw (256 positions): inserts and removals move the
    blocks' Fenwick sums."""
    drive_twins(fleet(n, fleet_seed), ops)


def test_a_kept_draw_is_reused_and_follows_stops_and_drains():
    """The draw survives between requests (no rebuild) and takes back a freed instance and
    drops a drained one, answering as the scan does."""
    table = fleet(300, 1)
    ops = [("run", (0, 3, 0, 0), 25, 7, False)]
    for k in range(40):
        ops += [("run", (0, 3, 0, 0), 9, k, False), ("stop", 13 * k, 5), ("drain", 7 * k, "DRAINING"),
                ("run", (2, 0, 1, 1), 3, k, False), ("tier", 11 * k, "t0"), ("drain", 7 * k - 70, "ACTIVE")]
    kept, plain = Cluster.from_arrow(table), Cluster.from_arrow(table)
    drawn_at = set()
    for step, operation in enumerate(ops):
        plain.caches.plans.clear()
        assert apply(kept, operation, True) == apply(plain, operation, False), (step, operation)
        for plan in kept.caches.plans.values():
            if plan.request.strategies[0].type == "random":
                drawn_at.add(int(ffi.cast("uintptr_t", plan.index.random)))
    assert kept.task_table().equals(plain.task_table())
    assert len(drawn_at) == 1 and 0 not in drawn_at  # one draw, built once, kept throughout


def test_another_groups_tasks_make_a_kept_cell_top_infeasible():
    """A spread(zone), spread(instanceId) plan places one task per zone and leaves the
    request with the first zone's top known feasible; another group then fills a zone. Its
    rows leave the heaps in place (spread(instanceId) reads only the plan's own group), but
    the cell's top must be re-tested: the next task goes where the scan puts it (never on a
    full instance)."""
    table = pa.table({"ec2_instance_id": [f"i-{k}" for k in range(4)], "cpu_registered": [1024] * 4,
                      "memory_registered": [4096] * 4, "attribute:zone": ["a", "a", "b", "b"],
                      "attribute:tier": ["t1"] * 4})
    small, whole = TaskRequirements(cpu=128, memory=128), TaskRequirements(cpu=1024, memory=128)
    for seed in range(8):
        for zone in "ab":
            fill = [{"type": "memberOf", "expression": f"attribute:zone == {zone}"}]
            answers = {}
            for fast in (True, False):
                cluster = Cluster.from_arrow(table)
                answers[fast] = []
                for task, count, group, constraints in ((small, 2, "a", None), (whole, 2, "b", fill),
                                                        (small, 1, "a", None)):
                    if not fast:
                        cluster.caches.plans.clear()
                    result = cluster.run_task(task, count=count, seed=seed, group=group,
                                              placement_strategy=CHAINS[3], placement_constraints=constraints,
                                              fast_paths=fast)
                    answers[fast].append((result.positions.tolist(), result.failed_count))
                assert (cluster.state.cpu_remaining >= 0).all(), (seed, zone, fast)
            assert answers[True] == answers[False], (seed, zone)
            assert table.column("attribute:zone")[answers[True][-1][0][0]].as_py() != zone


@pytest.mark.parametrize("chain", [0, 2, 3])
def test_plans_sharing_a_member_of_see_attribute_changes(chain):
    """The static memberOf verdicts are shared by the cluster's plans until an attribute
    changes: a kept plan and one made after the change both see tier move, and a drain
    alone (which no CQL expression reads) changes no verdict."""
    table = pa.table({"ec2_instance_id": ["i-0", "i-1", "i-2"], "cpu_registered": [1024] * 3,
                      "memory_registered": [4096] * 3, "attribute:tier": ["t0", "t1", "t0"],
                      "attribute:zone": ["a", "b", "a"]})
    task = TaskRequirements(cpu=1, memory=1)

    def tier(cluster, position, value):
        cluster.put_attributes([{"name": "tier", "value": value, "targetType": "container-instance",
                                 "targetId": cluster.state.arns[position]}])

    ops = [("a", None), ("tier", (1, "t0")), ("tier", (0, "t1")), ("a", None), ("b", None),
           ("drain", 2), ("a", None), ("tier", (2, "t1")), ("b", None), ("a", None)]
    answers = {}
    for fast in (True, False):
        cluster, answers[fast] = Cluster.from_arrow(table), []
        for what, arg in ops:
            if not fast:
                cluster.caches.plans.clear()
                cluster.caches.member_masks.clear()
            if what == "tier":
                tier(cluster, *arg)
            elif what == "drain":
                cluster.update_container_instances_state([cluster.state.arns[arg]], "DRAINING")
            else:
                result = cluster.run_task(task, count=2, group=what, seed=1, placement_strategy=CHAINS[chain],
                                          placement_constraints=CONSTRAINTS[1], fast_paths=fast)
                answers[fast].append(sorted(result.positions.tolist()))
    assert answers[True] == answers[False]
    assert answers[True][:3] == [[1, 1], [0, 0], [0, 0]]  # tier moved from instance 1 to 0
    assert answers[True][-1] == [0, 0]  # instance 2 is t1 now, but drained
