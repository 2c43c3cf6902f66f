"""A kept plan that cannot repair itself starts afresh in place (placement/engine.py's
``Plan.rebind``): instances registering, or an attribute it spreads by changing. It must
then answer exactly as a new plan does. Several kinds of request (random, spread(zone),
binpack; indexes built by earlier requests) are driven through registrations, zone
changes and stops; every answer must equal the plain per-task scan on a twin that keeps
no plan.
"""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from quaymaster import Cluster
from quaymaster.taskdef import TaskRequirements
from tables_support import random_fleet

ZONE = "ecs.availability-zone"
CHAINS = [
    [{"type": "spread", "field": f"attribute:{ZONE}"}, {"type": "spread", "field": "instanceId"}],
    [{"type": "random"}],
    [{"type": "binpack", "field": "memory"}],
    [{"type": "spread", "field": f"attribute:{ZONE}"}, {"type": "binpack", "field": "cpu"}],
]
TASK = TaskRequirements(cpu=128, memory=256)

operations = st.lists(st.one_of(
    st.tuples(st.just("run"), st.integers(0, len(CHAINS) - 1), st.integers(1, 20), st.integers(0, 2**64 - 1)),
    st.tuples(st.just("register"), st.integers(1, 3), st.sampled_from(["a", "b", "d"])),
    st.tuples(st.just("zone"), st.integers(0, 10_000), st.sampled_from(["a", "b", "d"])),
    st.tuples(st.just("stop"), st.integers(0, 10_000), st.integers(1, 8)),
), min_size=4, max_size=30)


def apply(cluster: Cluster, operation, fast: bool):
    kind, state = operation[0], cluster.state
    if kind == "run":
        _, chain, count, seed = operation
        result = cluster.run_task(TASK, count=count, seed=seed, group=f"g{chain}", placement_strategy=CHAINS[chain],
                                  fast_paths=fast)
        return result.positions.tolist(), result.failed_count
    if kind == "register":
        for k in range(operation[1]):
            cluster.register_container_instance(
                f"i-new-{state.n}-{k}", total_resources=[
                    {"name": "CPU", "type": "INTEGER", "integerValue": 1024},
                    {"name": "MEMORY", "type": "INTEGER", "integerValue": 2048}],
                attributes=[{"name": ZONE, "value": operation[2]}])
    elif kind == "zone":
        cluster.put_attributes([{"name": ZONE, "value": operation[2], "targetType": "container-instance",
                                 "targetId": state.arns[operation[1] % state.n]}])
    else:
        arns = cluster.task_table().column("task_arn").to_pylist()
        for k in range(min(operation[2], len(arns))):
            cluster.stop_task(arns[(operation[1] + k) % len(arns)])
    return None


def drive_twins(table: pa.Table, ops) -> Cluster:
    kept, plain = Cluster.from_arrow(table), Cluster.from_arrow(table)
    for step, operation in enumerate(ops):
        plain.caches.plans.clear()
        assert apply(kept, operation, True) == apply(plain, operation, False), (step, operation)
    assert kept.task_table().equals(plain.task_table())
    return kept


@settings(max_examples=80, deadline=None)
@given(st.integers(2, 40), st.integers(0, 2**32 - 1), operations)
def test_rebound_plans_answer_as_new_ones(n, fleet_seed, ops):
    drive_twins(random_fleet(n, fleet_seed), ops)


def test_a_kept_plan_rebinds_in_place_and_answers_as_a_new_one():
    """The plan object survives registrations and a change of the zone it spreads by (its
    index built before each), answering as the scan does."""
    ops = []
    for k in range(6):
        ops += [("run", 0, 3, k), ("run", 0, 2, k + 100), ("run", 1, 2, k), ("run", 1, 2, k + 7),
                ("register", 2, "abd"[k % 3]), ("run", 0, 4, k + 50), ("run", 1, 3, k + 50),
                ("zone", 5 * k, "abd"[(k + 1) % 3])]
    kept, plain = Cluster.from_arrow(random_fleet(30, 4)), Cluster.from_arrow(random_fleet(30, 4))
    plans: dict = {}
    for step, operation in enumerate(ops):
        plain.caches.plans.clear()
        assert apply(kept, operation, True) == apply(plain, operation, False), (step, operation)
        for plan in kept.caches.plans.values():
            plans.setdefault(plan.request.group, set()).add(id(plan))
    assert kept.task_table().equals(plain.task_table())
    assert {group: len(ids) for group, ids in plans.items()} == {"g0": 1, "g1": 1}
