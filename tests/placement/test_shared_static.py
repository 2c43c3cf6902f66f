"""What a cluster's plans share (placement/prepare.py): the static stages (``shared_prefilter``)
and the spread buckets (``shared_buckets``) are computed once for every plan built until a
status or attribute changes or instances come. Over random histories of everything that
changes a cluster, each shared answer must equal the fresh computation, and placements
with everything kept must equal placements with every cache dropped before each request.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from quaymaster import Cluster
from quaymaster.placement import prepare
from quaymaster.taskdef import TaskRequirements
from tables_support import random_fleet

ZONE = "ecs.availability-zone"
SPREAD = [{"type": "spread", "field": f"attribute:{ZONE}"}, {"type": "spread", "field": "instanceId"}]
REQUIREMENTS = (TaskRequirements(cpu=256, memory=512),
                TaskRequirements(cpu=128, memory=128, required_attributes=(("tier", "web"),)),
                TaskRequirements(cpu=64, memory=64, required_attributes=(("tier", None),)))
PROVIDERS = (None, "cp-a", "cp-b", "cp-none")   # cp-none: no instance has it
EXCLUDED = (None, "ecs.capability.external")
# (requirements, provider, excluded attribute) of the static stages checked after each step
STATIC_KINDS = [(r, p, x) for r in REQUIREMENTS for p in PROVIDERS for x in EXCLUDED]


def fleet(n: int, seed: int) -> pa.Table:
    return random_fleet(n, seed, cpu=(512, 2048), **{"attribute:tier": ["web", "db", None],
                        "attribute:ecs.capability.external": ["", None, None],
                        "capacity_provider": ["cp-a", "cp-b", None]})


operations = st.lists(st.one_of(
    st.tuples(st.just("run"), st.integers(0, len(REQUIREMENTS) - 1), st.sampled_from(PROVIDERS[:3]),
              st.integers(1, 6), st.integers(0, 3)),
    st.tuples(st.just("stop"), st.integers(0, 10_000)),
    st.tuples(st.just("status"), st.integers(0, 10_000), st.sampled_from(["DRAINING", "ACTIVE"])),
    st.tuples(st.just("deregister"), st.integers(0, 10_000)),
    st.tuples(st.just("attribute"), st.integers(0, 10_000), st.sampled_from([ZONE, "tier"]),
              st.sampled_from(["a", "d", "web", "db"])),
    st.tuples(st.just("forget"), st.integers(0, 10_000)),
    st.tuples(st.just("register"), st.integers(1, 3), st.sampled_from(["cp-a", "cp-b", None])),
), min_size=1, max_size=20)


def apply(cluster: Cluster, operation):
    kind, state = operation[0], cluster.state
    if kind == "run":
        _, which, provider, count, group = operation
        result = cluster.run_task(REQUIREMENTS[which], count=count, group=f"service:s{group}",
                                  placement_strategy=SPREAD, capacity_provider=provider, seed=count + group,
                                  excluded_attribute="ecs.capability.external")
        return result.positions.tolist(), result.failures[:1]
    if kind == "stop":
        arns = cluster.task_table().column("task_arn").to_pylist()
        if arns:
            cluster.stop_task(arns[operation[1] % len(arns)])
    elif kind == "status":
        cluster.update_container_instances_state([state.arns[operation[1] % state.n]], operation[2])
    elif kind == "deregister":
        cluster.deregister_container_instance(state.arns[operation[1] % state.n], force=True)
    elif kind == "attribute":
        cluster.put_attributes([{"name": operation[2], "value": operation[3], "targetType": "container-instance",
                                 "targetId": state.arns[operation[1] % state.n]}])
    elif kind == "forget":
        cluster.delete_attributes([{"name": "tier", "targetType": "container-instance",
                                    "targetId": state.arns[operation[1] % state.n]}])
    elif kind == "register":
        for k in range(operation[1]):
            cluster.register_container_instance(
                f"i-new-{state.n}-{k}", capacity_provider=operation[2], total_resources=[
                    {"name": "CPU", "type": "INTEGER", "integerValue": 1024},
                    {"name": "MEMORY", "type": "INTEGER", "integerValue": 2048}],
                attributes=[{"name": ZONE, "value": "b"}, {"name": "tier", "value": "web"}])
    return None


def drop_caches(cluster: Cluster) -> None:
    for kept in (cluster.caches.plans, cluster.caches.prefilters, cluster.caches.spread_buckets,
                 cluster.caches.member_masks):
        kept.clear()


@settings(max_examples=60, deadline=None)
@given(st.integers(3, 40), st.integers(0, 2**32 - 1), operations)
def test_shared_static_stages_equal_fresh_ones(n, seed, ops):
    cluster = Cluster.from_arrow(fleet(n, seed))
    for operation in ops:
        apply(cluster, operation)
        state = cluster.state
        for requirements, provider, excluded in STATIC_KINDS:
            shared = prepare.shared_prefilter(cluster, requirements.required_attributes, provider, excluded)
            fresh = prepare.prefilter(state, requirements.required_attributes, provider, excluded)
            assert np.array_equal(shared, fresh), (operation, requirements, provider, excluded)
            assert not shared.flags.writeable
            some = np.arange(state.n)[seed % 2::2]   # the codes of a few instances read only theirs
            assert np.array_equal(prepare.prefilter(state, requirements.required_attributes, provider, excluded,
                                                    some), fresh[some])
        counts = state.group_count("service:s0")
        shared_bucket, shared_counts = prepare.shared_buckets(cluster, ZONE, counts)
        fresh_bucket, fresh_counts = prepare.spread_buckets(state, ZONE, counts)
        assert np.array_equal(shared_bucket, fresh_bucket) and np.array_equal(shared_counts, fresh_counts)


@settings(max_examples=60, deadline=None)
@given(st.integers(3, 40), st.integers(0, 2**32 - 1), operations)
def test_placements_with_everything_kept_equal_placements_with_nothing_kept(n, seed, ops):
    kept, fresh = Cluster.from_arrow(fleet(n, seed)), Cluster.from_arrow(fleet(n, seed))
    for step, operation in enumerate(ops):
        drop_caches(fresh)
        assert apply(kept, operation) == apply(fresh, operation), (step, operation)
    assert kept.task_table().equals(fresh.task_table())
