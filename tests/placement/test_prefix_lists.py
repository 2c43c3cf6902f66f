"""The cell index's per-request prefix lists (csrc/index.c) never change an answer.

The cell heaps are ordered by strategy values only and ties are settled per
request from the seed, so a kept plan serves every seed without a rebuild.
Here fleets made of a few identical instance kinds (so nearly everything ties),
chains that mix spread(attribute), spread(instanceId) and binpack (also on a
resource the task does not use, where a winner keeps its values), static and
dynamic ports, distinctInstance and memberOf are driven with a new explicit seed per
request and stops, drains and attribute changes in between (a memberOf plan
keeps its index through attribute changes); every answer must equal the plain per-task scan
(``fast_paths=False``) on a twin cluster that keeps no plan.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from quaymaster import Cluster
from quaymaster.taskdef import TaskRequirements

CHAINS = [
    [{"type": "spread", "field": "attribute:zone"}, {"type": "spread", "field": "instanceId"}],
    [{"type": "spread", "field": "instanceId"}],
    [{"type": "spread", "field": "attribute:zone"}, {"type": "binpack", "field": "memory"}],
    [{"type": "spread", "field": "attribute:zone"}, {"type": "binpack", "field": "cpu"}],
    [{"type": "spread", "field": "attribute:zone"}, {"type": "spread", "field": "attribute:rack"},
     {"type": "spread", "field": "instanceId"}, {"type": "binpack", "field": "memory"}],
    [{"type": "spread", "field": "instanceId"}, {"type": "binpack", "field": "cpu"}],
]
TASKS = [
    TaskRequirements(cpu=128, memory=256),
    TaskRequirements(cpu=0, memory=512),              # binpack(cpu) never moves its winner
    TaskRequirements(cpu=256, memory=128, dynamic_tcp=1),
    TaskRequirements(cpu=64, memory=64, static_tcp=(8080,)),
]


def fleet(n: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    kinds = rng.integers(0, 2, n)
    return pa.table({
        "ec2_instance_id": [f"i-{k:04d}" for k in range(n)],
        "cpu_registered": np.where(kinds == 0, 1024, 2048),
        "memory_registered": np.where(kinds == 0, 2048, 4096),
        "attribute:zone": rng.choice(["a", "b", "c"], n).tolist(),
        "attribute:rack": rng.choice(["r1", "r2"], n).tolist(),
        "attribute:tier": rng.choice(["t0", "t1"], n).tolist(),
    })


operations = st.lists(st.one_of(
    st.tuples(st.just("run"), st.integers(0, len(CHAINS) - 1), st.integers(0, len(TASKS) - 1),
              st.integers(1, 40), st.integers(0, 2**64 - 1), st.booleans()),
    st.tuples(st.just("stop"), st.integers(0, 10_000), st.integers(1, 8)),
    st.tuples(st.just("attribute"), st.integers(0, 10_000), st.sampled_from(["tier", "zone", "rack"]),
              st.sampled_from(["t0", "t1", "a", "b", "r1"])),
    st.tuples(st.just("drain"), st.integers(0, 10_000), st.sampled_from(["DRAINING", "ACTIVE"])),
), min_size=1, max_size=20)
MEMBER_OF = {"type": "memberOf", "expression": "attribute:tier != t0"}


def apply(cluster: Cluster, operation, fast: bool):
    if operation[0] == "run":
        _, chain, task, count, seed, distinct = operation
        constraints = ([{"type": "distinctInstance"}] if distinct else []) + ([MEMBER_OF] if task % 2 else [])
        result = cluster.run_task(TASKS[task], count=count, seed=seed, group=f"g{chain % 3}",
                                  placement_strategy=CHAINS[chain], placement_constraints=constraints or None,
                                  fast_paths=fast)
        return (result.positions.tolist(), result.placements.column("host_ports").to_pylist(),
                result.failed_count)
    if operation[0] == "attribute":
        _, at, name, value = operation
        target = cluster.state.arns[at % cluster.state.n]
        cluster.put_attributes([{"name": name, "value": value, "targetType": "container-instance",
                                 "targetId": target}])
        return None
    if operation[0] == "drain":
        _, at, status = operation
        answer = cluster.update_container_instances_state([cluster.state.arns[at % cluster.state.n]], status)
        return answer["failures"]  # the descriptions hold registeredAt, the time of loading
    _, at, how_many = operation
    arns = cluster.task_table().column("task_arn").to_pylist()
    for k in range(min(how_many, len(arns))):
        cluster.stop_task(arns[(at + k) % len(arns)])
    return None


def drive_twins(n: int, fleet_seed: int, ops):
    """Every operation on a kept-plan cluster and on a twin that keeps no plan (every request
    a fresh plain scan): the answers must be equal. Returns the two clusters."""
    kept, plain = Cluster.from_arrow(fleet(n, fleet_seed)), Cluster.from_arrow(fleet(n, fleet_seed))
    for step, operation in enumerate(ops):
        plain.caches.plans.clear()
        assert apply(kept, operation, True) == apply(plain, operation, False), (step, operation)
    return kept, plain


@settings(max_examples=120, deadline=None)
@given(st.integers(2, 48), st.integers(0, 2**32 - 1), operations)
def test_prefix_lists_equal_the_scan_under_new_seeds(n, fleet_seed, ops):
    kept, plain = drive_twins(n, fleet_seed, ops)
    # registered_at defaults to the time of loading: left out
    assert kept.instance_table().drop_columns(["registered_at"]).equals(
        plain.instance_table().drop_columns(["registered_at"]))
    assert kept.task_table().equals(plain.task_table())


def test_one_kept_plan_serves_many_seeds():
    """The same request with 50 seeds on a kept plan: each answer equals a fresh cluster's
    plain scan with that seed (ties between identical instances decide every pick)."""
    table = fleet(40, 3)
    kept = Cluster.from_arrow(table)
    chain = CHAINS[0]
    for seed in range(50):
        fresh = Cluster.from_arrow(table)
        for task in kept.task_table().column("task_arn").to_pylist():
            kept.stop_task(task)
        got = kept.run_task(TASKS[0], count=7, seed=seed, placement_strategy=chain).positions.tolist()
        want = fresh.run_task(TASKS[0], count=7, seed=seed, placement_strategy=chain,
                              fast_paths=False).positions.tolist()
        assert got == want, seed


tier_operations = st.lists(st.one_of(
    st.tuples(st.just("run"), st.integers(0, len(CHAINS) - 1), st.just(1), st.integers(1, 12),
              st.integers(0, 2**64 - 1), st.just(False)),
    st.tuples(st.just("attribute"), st.integers(0, 10_000), st.just("tier"), st.sampled_from(["t0", "t1"])),
    st.tuples(st.just("stop"), st.integers(0, 10_000), st.integers(1, 4)),
), min_size=2, max_size=25)


@settings(max_examples=80, deadline=None)
@given(st.integers(2, 24), st.integers(0, 2**32 - 1), tier_operations)
def test_member_of_plans_follow_attribute_changes(n, fleet_seed, ops):
    """A kept memberOf plan sees an instance enter or leave ``tier != t0`` without a rebuild."""
    drive_twins(n, fleet_seed, ops)


@settings(max_examples=25, deadline=None)
@given(st.integers(65, 200), st.integers(0, 2**32 - 1), operations)
def test_prefix_lists_on_cells_large_enough_for_the_linear_pass(n, fleet_seed, ops):
    """Cells of more than 64 instances whose heaps mostly tie are read in one sequential
    pass instead of the walk; the answers stay the plain scan's."""
    drive_twins(n, fleet_seed, ops)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 30), st.integers(0, 2**32 - 1),
       st.lists(st.tuples(st.sampled_from(["zone", "rack", "tier", "absent"]),
                          st.one_of(st.none(), st.sampled_from(["a", "b", "r1", "t0", "zz"]))), max_size=3),
       st.lists(st.integers(0, 1000), max_size=5))
def test_prefilter_of_one_instance_equals_the_vector(n, fleet_seed, required, drained):
    """The scalar refresh a kept plan uses after drains and attribute changes."""
    from quaymaster.placement import prepare

    cluster = Cluster.from_arrow(fleet(n, fleet_seed))
    for position in drained:
        cluster.update_container_instances_state([cluster.state.arns[position % n]], "DRAINING")
    required = tuple(required)
    whole = prepare.prefilter(cluster.state, required)
    assert [prepare.prefilter_of(cluster.state, required, p) for p in range(n)] == whole.tolist()
    assert prepare.prefilter(cluster.state, required, positions=np.arange(n)[::2]).tolist() == whole[::2].tolist()


def test_repair_of_several_changed_instances_at_once():
    """Another group's request changed nine instances of a kept heap before its next request:
    re-sifting them one by one left a parent above a smaller child (a changed parent moved
    after its child was settled). Found by the linear-pass test; kept as a fixed case."""
    drive_twins(65, 0, [("run", 5, 1, 1, 0, False), ("run", 1, 0, 9, 0, False), ("run", 5, 1, 1, 0, False)])
