"""Choosing the tasks a service scale-in stops (placement.md section 7), through the engine.

``Cluster.choose_tasks_to_stop`` is checked against the pure-Python
``choose_scale_in_reference`` on random fleets, and on table cases whose hand
arithmetic is in the comments.

Seed 0 tie keys over task rows q order them 1 < 4 < 5 < 7 < 6 < 9 < 0 < 3 < 2 < 8.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from reference.placement_ref import choose_scale_in_reference
from reference.strategies import scale_in_cases
from tables_support import fleet, live

from quaymaster import Cluster
from quaymaster.errors import InvalidParameterError
from quaymaster.keys import random_index

ZONE = "attribute:ecs.availability-zone"


def choose_both(instances, tasks, group, strategy, count, seed=0):
    """The engine's choice, once checked equal to the reference's."""
    chosen = Cluster.from_arrow(instances, tasks).choose_tasks_to_stop(group, count, strategy, seed)
    assert chosen == choose_scale_in_reference(instances, tasks, group, strategy, count, seed)
    return chosen


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scale_in_cases())
def test_engine_equals_reference(case):
    instances, tasks, group, strategy, count, seed = case
    chosen = Cluster.from_arrow(instances, tasks).choose_tasks_to_stop(group, count, strategy or None, seed)
    assert chosen == choose_scale_in_reference(instances, tasks, group, strategy, count, seed)


# ---------------------------------------------------------------- the default: spread zone, then instance

ZONES = fleet({ZONE: "us-east-1a"}, {ZONE: "us-east-1a"}, {ZONE: "us-east-1b"})
SERVICE = live(*[{"ec2_instance_id": i, "group": "service:web"} for i in ("i-0", "i-0", "i-1", "i-2")],
               {"ec2_instance_id": "i-2", "group": "family:other"})


@pytest.mark.parametrize("strategy", [None, []])
def test_default_stops_from_the_busiest_zone_then_the_busiest_instance(strategy):
    # service:web tasks q0, q1 on p0 (zone a), q2 on p1 (a), q3 on p2 (b); q4 is another group.
    # Stop 1: a=3 b=1 -> {q0,q1,q2}; per instance 2,2,1 -> {q0,q1}; k(1) < k(0) -> q1.
    # Stop 2: a=2 b=1 -> {q0,q2}, 1 each -> k(0) < k(2) -> q0.  Stop 3: a=1 b=1, k(3) < k(2) -> q3.
    assert choose_both(ZONES, SERVICE, "service:web", strategy, 4) == ["task-1", "task-0", "task-3", "task-2"]


def test_count_beyond_the_group_and_zero_and_unknown_groups():
    assert choose_both(ZONES, SERVICE, "service:web", None, 10) == ["task-1", "task-0", "task-3", "task-2"]
    assert choose_both(ZONES, SERVICE, "service:web", None, 2) == ["task-1", "task-0"]
    assert choose_both(ZONES, SERVICE, "service:web", None, 0) == []
    assert choose_both(ZONES, SERVICE, "service:none", None, 3) == []
    assert Cluster.from_arrow(ZONES).choose_tasks_to_stop("service:web", 3) == []  # no tasks table at all


def test_scaling_a_placed_service_in_keeps_it_spread():
    # 8 tasks placed with the service default on 2 zones x 2 instances: 2 per instance. Each stop
    # takes from the zone with more tasks, then the instance with more, so after 4 stops every
    # instance keeps exactly 1 whatever the tie keys.
    cluster = Cluster.from_arrow(fleet({ZONE: "a"}, {ZONE: "a"}, {ZONE: "b"}, {ZONE: "b"}))
    cluster.run_task({"family": "web", "containerDefinitions": [{"name": "app", "image": "x", "memory": 64}]},
                     count=8, group="service:web", service=True)
    assert cluster.state.group_counts["service:web"].tolist() == [2, 2, 2, 2]
    chosen = cluster.choose_tasks_to_stop("service:web", 4, seed=11)
    assert len(set(chosen)) == 4
    for arn in chosen:
        cluster.stop_task(arn)
    assert cluster.state.group_counts["service:web"].tolist() == [1, 1, 1, 1]
    # the stopped tasks are no longer candidates
    assert set(cluster.choose_tasks_to_stop("service:web", 10)) == set(
        cluster.task_table().column("task_arn").to_pylist())


def test_choosing_stops_nothing():
    cluster = Cluster.from_arrow(ZONES, SERVICE)
    before = (cluster.task_table(), cluster.state.memory_remaining.copy(),
              {g: c.copy() for g, c in cluster.state.group_counts.items()})
    assert cluster.choose_tasks_to_stop("service:web", 3, [{"type": "binpack", "field": "memory"}]) != []
    assert cluster.task_table().equals(before[0])
    np.testing.assert_array_equal(cluster.state.memory_remaining, before[1])
    assert all(np.array_equal(cluster.state.group_counts[g], c) for g, c in before[2].items())


# ---------------------------------------------------------------- binpack, random, spread, daemons

def test_binpack_stops_where_the_most_will_be_left():
    # p0 holds q0 (1536 MiB): 512 left; p1 holds q1 (256) and q2 (512): 1280 left.
    # Left after stopping: q0 512+1536=2048, q1 1280+256=1536, q2 1280+512=1792 -> q0.
    # Then q1 1536, q2 1792 -> q2; then q1.
    tasks = live({"ec2_instance_id": "i-0", "memory": 1536}, {"ec2_instance_id": "i-1", "memory": 256},
                 {"ec2_instance_id": "i-1", "memory": 512})
    chain = [{"type": "binpack", "field": "memory"}]
    assert choose_both(fleet({}, {}), tasks, "family:web", chain, 3) == ["task-0", "task-2", "task-1"]


def test_binpack_cpu_then_tie_key():
    # CPU left after stopping: q0 on p0 (1024 - 512 - 256 = 256 left): 256+512 = 768;
    # q1 on p0: 256+256 = 512; q2 on p1 (1024 - 256 = 768 left): 768+256 = 1024 -> q2.
    # Then q0 768 vs q1 512 -> q0; then q1.
    tasks = live({"ec2_instance_id": "i-0", "cpu": 512}, {"ec2_instance_id": "i-0", "cpu": 256},
                 {"ec2_instance_id": "i-1", "cpu": 256})
    chain = [{"type": "binpack", "field": "cpu"}]
    assert choose_both(fleet({}, {}), tasks, "family:web", chain, 3) == ["task-2", "task-0", "task-1"]


def test_binpack_with_tasks_on_no_instance():
    # Fargate tasks A (400 MiB) and B (200 MiB) sit on one pseudo instance of their own with
    # nothing left at first; C holds 100 on i-0, which has 250 left. Stop 1: A 0+400, B 0+200,
    # C 250+100=350 -> A. Stopping A frees 400 on the pseudo instance (as on a real one), so
    # stop 2: B 400+200=600 > C 350 -> B. Stop 3: C.
    instances = fleet({"memory_registered": 350})
    tasks = pa.table({"task_arn": ["A", "B", "C"], "ec2_instance_id": [None, None, "i-0"],
                      "group": ["service:web"] * 3, "memory": [400, 200, 100]})
    chain = [{"type": "binpack", "field": "memory"}]
    assert choose_both(instances, tasks, "service:web", chain, 3) == ["A", "B", "C"]


def test_spread_counts_tasks_on_no_instance_as_one_value():
    # q0 on i-0 (zone a), q1 and q2 on Fargate, q3 on i-1 (no zone). spread(zone): the Fargate
    # pair is a value of its own (2), apart from a=1 and missing=1 -> {q1, q2}, k(1) < k(2) -> q1.
    # Then a=1, fargate=1, missing=1: all three, k(0) < k(3) < k(2) -> q0, then q3, then q2.
    instances = fleet({ZONE: "us-east-1a"}, {})
    tasks = live({"ec2_instance_id": "i-0"}, {"ec2_instance_id": None}, {"ec2_instance_id": None},
                 {"ec2_instance_id": "i-1"})
    chain = [{"type": "spread", "field": ZONE}]
    assert choose_both(instances, tasks, "family:web", chain, 4) == ["task-1", "task-0", "task-3", "task-2"]


def test_random_picks_index_j_of_the_remaining_rows():
    # Group rows 0, 2, 3, 4 (row 1 is another group). Seed 7: j(0,4)=0 -> q0; j(1,3)=2 of [2,3,4]
    # -> q4; j(2,2)=1 of [2,3] -> q3; then q2.
    assert [random_index(7, t, n) for t, n in ((0, 4), (1, 3), (2, 2), (3, 1))] == [0, 2, 1, 0]
    tasks = live({"ec2_instance_id": "i-0"}, {"ec2_instance_id": "i-0", "group": "family:other"},
                 *[{"ec2_instance_id": "i-0"}] * 3)
    chosen = choose_both(fleet({}), tasks, "family:web", [{"type": "random"}], 4, seed=7)
    assert chosen == ["task-0", "task-4", "task-3", "task-2"]


def test_random_after_spread_draws_among_the_spread_survivors():
    # q0, q1 on p0; q2 on p1. spread(instanceId) keeps {q0, q1} (2 > 1), then seed 7's
    # j(0, 2) picks among rows [0, 1]; after that p0 and p1 hold 1 each: j(1, 2) of the two left.
    tasks = live({"ec2_instance_id": "i-0"}, {"ec2_instance_id": "i-0"}, {"ec2_instance_id": "i-1"})
    chain = [{"type": "spread", "field": "instanceId"}, {"type": "random"}]
    first = f"task-{random_index(7, 0, 2)}"
    chosen = choose_both(fleet({}, {}), tasks, "family:web", chain, 3, seed=7)
    assert chosen[0] == first
    remaining = sorted({"task-0", "task-1", "task-2"} - {first}, key=lambda a: int(a[5:]))
    assert chosen[1] == remaining[random_index(7, 1, 2)]


def test_daemon_tasks_go_last():
    # q0 (daemon) on p0 zone a, q1 on p2 zone b, q2 on p1 zone a. The counts include q0: a=2 b=1,
    # so the first non-daemon stopped is q2 (zone a), then q1, and the daemon task last.
    tasks = live({"ec2_instance_id": "i-0", "daemon": True}, {"ec2_instance_id": "i-2", "daemon": False},
                 {"ec2_instance_id": "i-1", "daemon": None})
    assert choose_both(ZONES, tasks, "family:web", None, 3) == ["task-2", "task-1", "task-0"]
    assert choose_both(ZONES, tasks, "family:web", None, 2) == ["task-2", "task-1"]


def test_spread_attribute_missing_is_one_value():
    # q0 on p0 (zone a), q1 on p1 and q2 on p2 (no zone): missing=2 > a=1 -> {q1,q2}, k(1) -> q1;
    # then a=1 missing=1 -> {q0,q2}, k(0) < k(2) -> q0; then q2.
    instances = fleet({ZONE: "us-east-1a"}, {}, {})
    tasks = live({"ec2_instance_id": "i-0"}, {"ec2_instance_id": "i-1"}, {"ec2_instance_id": "i-2"})
    chain = [{"type": "spread", "field": ZONE}]
    assert choose_both(instances, tasks, "family:web", chain, 3) == ["task-1", "task-0", "task-2"]


def test_spread_host_is_spread_instance_id():
    tasks = live(*[{"ec2_instance_id": f"i-{p}"} for p in (0, 0, 1, 2, 2, 2)])
    by_field = {field: choose_both(fleet({}, {}, {}), tasks, "family:web", [{"type": "spread", "field": field}], 6)
                for field in ("host", "instanceId")}
    assert by_field["host"] == by_field["instanceId"]
    # q0 q1 on p0, q2 on p1, q3 q4 q5 on p2. Stop 1: p2 (3) -> {q3,q4,q5}, k(4) first -> q4.
    # Stop 2: p0 2, p2 2 -> {q0,q1,q3,q5} -> k(1) -> q1. Stop 3: p2 2 -> {q3,q5} -> k(5) -> q5.
    # Then 1 each: {q0,q2,q3} -> q0; {q2,q3} -> q3; q2.
    assert by_field["host"] == ["task-4", "task-1", "task-5", "task-0", "task-3", "task-2"]


# ---------------------------------------------------------------- refusals

@pytest.mark.parametrize("kwargs", [
    {"count": -1}, {"count": True}, {"count": 1.5},
    {"placement_strategy": [{"type": "binpack", "field": "gpu"}]},
    {"placement_strategy": [{"type": "spread"}]},
    {"placement_strategy": [{"type": "random", "field": "cpu"}]},
    {"placement_strategy": [{"type": "binpack", "field": "cpu"}] * 6},
    {"seed": -1}, {"seed": 2**64},
])
def test_bad_arguments_are_refused(kwargs):
    cluster = Cluster.from_arrow(ZONES, SERVICE)
    arguments = {"group": "service:web", "count": 1, **kwargs}
    with pytest.raises(InvalidParameterError) as refused:
        cluster.choose_tasks_to_stop(**arguments)
    assert isinstance(refused.value, ValueError) and refused.value.field


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scale_in_cases(), st.data())
def test_first_chosen_among_is_the_full_order_filtered(case, data):
    # What a service scale-in asks: the first few of its candidates in the order of the whole group.
    from quaymaster.placement.scalein import first_chosen_among

    instances, tasks, group, strategy, count, seed = case
    cluster = Cluster.from_arrow(instances, tasks)
    order = cluster.choose_tasks_to_stop(group, count, strategy or None, seed)
    wanted = set(data.draw(st.lists(st.sampled_from(order), unique=True))) if order else set()
    take = data.draw(st.integers(0, len(wanted) + 1))
    chosen = first_chosen_among(cluster, group, count, wanted, take, strategy or None, seed)
    assert chosen == [arn for arn in order if arn in wanted][:take]


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scale_in_cases(), st.data())
def test_one_group_ranking_serves_every_seed_as_a_fresh_one(case, data):
    # A scale-in under a capacity provider strategy ranks its group once per provider, with a
    # seed each, on one GroupRanking (region/host.py); each must choose as a ranking read afresh.
    from quaymaster.placement.scalein import GroupRanking, first_chosen_among

    instances, tasks, group, strategy, count, _ = case
    cluster = Cluster.from_arrow(instances, tasks)
    ranking = GroupRanking(cluster, group, strategy or None)
    for seed in data.draw(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=4)):
        order = cluster.choose_tasks_to_stop(group, count, strategy or None, seed)
        wanted = set(data.draw(st.lists(st.sampled_from(order), unique=True))) if order else set()
        take = data.draw(st.integers(0, len(wanted) + 1))
        fresh = first_chosen_among(cluster, group, count, wanted, take, strategy or None, seed)
        assert first_chosen_among(cluster, group, count, wanted, take, strategy or None, seed,
                                  ranking=ranking) == fresh
