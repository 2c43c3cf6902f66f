"""Table tests of the placement reference (placement.md), hand arithmetic in comments.

The documented placement cases that the engine can run too live in
test_engine_tables.py, which checks each one against this reference as well
(placements, failures and the state after). This module keeps what only the
reference is asked: the key arithmetic, cases the engine tables state
differently, scale-in tables, and properties of the reference itself.

Seed 0 tie keys, k(p) = splitmix64(splitmix64(0) ^ p), order the positions
0..9 as 1 < 4 < 5 < 7 < 6 < 9 < 0 < 3 < 2 < 8 (checked in
test_engine_tables.test_tie_key_order, for this reference's tie_key too).
"""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from quaymaster.errors import ClientError, CQLError, InvalidParameterError
from quaymaster.model.coerce import coerce_instances, coerce_tasks
from reference.placement_ref import (
    DEFAULT_SERVICE_STRATEGY, REASONS, choose_scale_in_reference, load_state, place_reference,
    random_draw, random_index, splitmix64, tie_key,
)
from reference.strategies import fleets, placement_cases, scale_in_cases, seeds
from tables_support import fleet, live, request

M64 = 2**64
MEMBER_OF = "MemberOf placement constraint unsatisfied."
ZONE = "attribute:ecs.availability-zone"


def positions(result):
    return [p["position"] for p in result.placements]


# ---------------------------------------------------------------- keys (section 6)

def by_hand_splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) % M64
    z = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) % M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % M64
    return z ^ (z >> 31)


def test_splitmix64_is_the_published_sequence():
    # SplitMix64 seeded 0 yields e220a8397b1dcdaf, 6e789e6aa1b965f4, 06c45d188009454f:
    # the n-th output is splitmix64(n * gamma) in this function's shape.
    gamma = 0x9E3779B97F4A7C15
    assert [splitmix64(n * gamma % M64) for n in range(3)] == [
        0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]


@pytest.mark.parametrize("seed", [0, 1, 7, 2**63, M64 - 1])
def test_tie_and_random_keys_match_hand_arithmetic(seed):
    s = by_hand_splitmix64(seed)
    for p in range(4):
        assert tie_key(seed, p) == by_hand_splitmix64(s ^ p)
    for t in range(4):
        r = by_hand_splitmix64((s + t + 1) % M64)  # wraps for s near 2^64
        assert random_draw(seed, t) == r
        for n in (1, 2, 3, 1000):
            assert random_index(seed, t, n) == r * n // M64 < n


def test_random_index_values():
    # seed 7: r(0..3) = 0x27e8.., 0xdfd6.., 0xf53a.., 0x1b4c..; as fractions of 2^64 about
    # 0.156, 0.874, 0.958, 0.107, times 3 -> 0.47, 2.62, 2.87, 0.32 -> j = 0, 2, 2, 0.
    assert [random_index(7, t, 3) for t in range(4)] == [0, 2, 2, 0]


# ---------------------------------------------------------------- strategies

def test_default_service_strategy_spread_zone_then_instance():
    # Live family:web task on p2 (zone b); p0's task is of another group and does not count.
    # t0: a=0 b=1 -> {p0, p1}, both 0 on the instance, k(1) < k(0) -> p1.
    # t1: a=1 b=1 -> all; per instance 0,1,1,0 -> {p0, p3}, k(0) < k(3) -> p0.
    # t2: a=2 b=1 -> {p2, p3}; per instance 1, 0 -> p3.
    instances = fleet({ZONE: "us-east-1a"}, {ZONE: "us-east-1a"}, {ZONE: "us-east-1b"}, {ZONE: "us-east-1b"})
    tasks = live({"ec2_instance_id": "i-2"}, {"ec2_instance_id": "i-0", "group": "family:other"})
    result = place_reference(instances, tasks, request(count=3, strategy=list(DEFAULT_SERVICE_STRATEGY)))
    assert positions(result) == [1, 0, 3]


@pytest.mark.parametrize("field", ["instanceId", "host"])
def test_spread_instance_evens_out(field):
    # Group tasks: 2 on p0, 1 on p1, 0 on p2, 0 on p3.
    # t0: {p2, p3}, k(3) < k(2) -> p3.  t1: p2.  t2: {p1, p2, p3} at 1 -> k(1) -> p1.
    tasks = live({"ec2_instance_id": "i-0"}, {"ec2_instance_id": "i-0"}, {"ec2_instance_id": "i-1"})
    result = place_reference(fleet({}, {}, {}, {}), tasks,
                             request(count=3, strategy=[{"type": "spread", "field": field}]))
    assert positions(result) == [3, 2, 1]


def test_random_picks_index_j_of_survivors_sorted_by_position():
    # seed 7 draws j(t, 3) = 0, 2, 2, 0 (test_random_index_values); p1 lacks stack, so the
    # survivors are p0, p2, p3: index 0 -> p0, 2 -> p3, 2 -> p3, 0 -> p0.
    instances = fleet({"attribute:stack": "a"}, {}, {"attribute:stack": "a"}, {"attribute:stack": "a"})
    req = request(count=4, required_attributes=[["stack", None]])
    assert positions(place_reference(instances, None, req, seed=7)) == [0, 3, 3, 0]
    # random ends the chain: a binpack after it changes nothing
    after = dict(req, strategy=[{"type": "random"}, {"type": "binpack", "field": "cpu"}])
    assert positions(place_reference(instances, None, after, seed=7)) == [0, 3, 3, 0]


def test_binpack_then_tie_key():
    # CPU remaining p0 512, p1 1024, p2 512; binpack keeps {p0, p2}; k(0) < k(2) -> p0, p0.
    # Then p0 has 0 left: t2 -> p2 (256 < 1024).
    instances = fleet({"cpu_registered": 512}, {}, {"cpu_registered": 512})
    result = place_reference(instances, None,
                             request(cpu=256, count=3, strategy=[{"type": "binpack", "field": "cpu"}]))
    assert positions(result) == [0, 0, 2]


def test_bad_seed_and_bad_member_of_are_refused_before_placing():
    with pytest.raises(InvalidParameterError):
        place_reference(fleet({}), None, request(), seed=2**64)
    with pytest.raises(InvalidParameterError):
        choose_scale_in_reference(fleet({}), None, "family:web", [], 1, seed=-1)
    # the first expression is false on every instance and CPU stops them all anyway: the second,
    # bad one is still refused
    with pytest.raises(CQLError):
        place_reference(fleet({"cpu_registered": 0}), None,
                        request(cpu=1, member_of=["runningTasksCount > 5", "attribute:x ?? y"]))


def test_unknown_strategy_is_refused():
    for bad in ({"type": "binpack", "field": "gpu"}, {"type": "spread"}, {"type": "random", "field": "cpu"},
                {"type": "pack", "field": "cpu"}, {"type": "spread", "field": "attribute:"}):
        with pytest.raises(InvalidParameterError):
            place_reference(fleet({}), None, request(strategy=[bad]))


# ---------------------------------------------------------------- stages and failures

def test_empty_cluster_is_refused():
    empty = pa.table({"ec2_instance_id": pa.array([], pa.string()), "cpu_registered": pa.array([], pa.int64()),
                      "memory_registered": pa.array([], pa.int64())})
    with pytest.raises(ClientError, match="No Container Instances"):
        place_reference(empty, None, request())


# ---------------------------------------------------------------- ports, ENIs, GPUs, defaults

def test_reserved_port_defaults():
    # null reserved_ports = the agent's five (22 taken); [] = nothing taken; UDP null = [].
    instances = fleet({"reserved_ports": None, "reserved_ports_udp": None}, {"reserved_ports": []})
    result = place_reference(instances, None, request(static_tcp=[22], static_udp=[22], count=2))
    assert positions(result) == [1]
    assert result.failures[0]["detail"] == "0 of 2 instances: 2 RESOURCE:PORTS"


def test_given_remaining_is_authoritative_and_null_is_derived():
    # p0 says 100 CPU left (no tasks): a 128 task does not fit. p1's null is derived: 1024 - 512.
    instances = fleet({"cpu_remaining": 100}, {"cpu_remaining": None})
    tasks = live({"ec2_instance_id": "i-1", "cpu": 512})
    result = place_reference(instances, tasks, request(cpu=128, count=5))
    assert positions(result) == [1, 1, 1, 1]
    assert result.instances_after.column("cpu_remaining").to_pylist() == [100, 0]


def test_live_task_host_ports_are_reserved():
    tasks = live({"ec2_instance_id": "i-0", "host_ports": [8080], "host_ports_udp": [53]})
    assert place_reference(fleet({}), tasks, request(static_tcp=[8080])).failures[0]["reason"] == "RESOURCE:PORTS"
    assert place_reference(fleet({}), tasks, request(static_udp=[53])).failures[0]["reason"] == "RESOURCE:PORTS"
    assert positions(place_reference(fleet({}), tasks, request(static_udp=[8080]))) == [0]


def test_instance_arn_column_is_used():
    instances = fleet({"container_instance_arn": "arn:custom", "cpu_registered": 0})
    assert place_reference(instances, None, request(cpu=1)).failures[0]["arn"] == "arn:custom"


# ---------------------------------------------------------------- memberOf on the live state

def test_member_of_sees_tasks_placed_earlier_in_the_request():
    # runningTasksCount == 0: each instance takes one task, then MemberOf fails on both.
    result = place_reference(fleet({}, {}), None, request(count=3, member_of=["runningTasksCount == 0"]))
    assert sorted(positions(result)) == [0, 1]
    assert result.failures[0]["detail"] == f"0 of 2 instances: 2 {MEMBER_OF}"
    # not(task:group == family:web) behaves like distinctInstance for family:web
    result = place_reference(fleet({}, {}), live({"ec2_instance_id": "i-1"}),
                             request(count=2, member_of=["not(task:group == family:web)"]))
    assert positions(result) == [0] and result.failures[0]["reason"] == MEMBER_OF


# ---------------------------------------------------------------- scale-in (section 7)

def test_scale_in_default_strategy():
    # service:web tasks q0, q1 on p0 (zone a), q2 on p1 (a), q3 on p2 (b); q4 is another group.
    # Stop 1: a=3 b=1 -> {q0,q1,q2}; per instance 2,2,1 -> {q0,q1}; k(1) < k(0) -> q1.
    # Stop 2: a=2 b=1 -> {q0,q2}, 1 each -> k(0) < k(2) -> q0.  Stop 3: a=1 b=1, k(3) < k(2) -> q3.
    instances = fleet({ZONE: "us-east-1a"}, {ZONE: "us-east-1a"}, {ZONE: "us-east-1b"})
    tasks = live(*[{"ec2_instance_id": i, "group": "service:web"} for i in ("i-0", "i-0", "i-1", "i-2")],
                 {"ec2_instance_id": "i-2", "group": "family:other"})
    expected = ["task-1", "task-0", "task-3", "task-2"]
    assert choose_scale_in_reference(instances, tasks, "service:web", [], 4) == expected
    assert choose_scale_in_reference(instances, tasks, "service:web", None, 10) == expected  # all there is
    assert choose_scale_in_reference(instances, tasks, "service:web", [], 2) == expected[:2]


def test_scale_in_daemon_tasks_last():
    # q0 (daemon) on p0 zone a, q1 on p2 zone b, q2 on p1 zone a. The counts include q0: a=2 b=1,
    # so the first non-daemon stopped is q2 (zone a), then q1, and the daemon task last.
    instances = fleet({ZONE: "us-east-1a"}, {ZONE: "us-east-1a"}, {ZONE: "us-east-1b"})
    tasks = live({"ec2_instance_id": "i-0", "daemon": True}, {"ec2_instance_id": "i-2", "daemon": False},
                 {"ec2_instance_id": "i-1", "daemon": None})
    assert choose_scale_in_reference(instances, tasks, "family:web", [], 3) == ["task-2", "task-1", "task-0"]


def test_scale_in_binpack_keeps_the_instance_with_most_left():
    # p0 holds q0 (1536 MiB): 512 left; p1 holds q1 (256) and q2 (512): 1280 left.
    # Left after stopping: q0 512+1536=2048, q1 1280+256=1536, q2 1280+512=1792 -> q0.
    # Then q1 1536, q2 1792 -> q2; then q1.
    tasks = live({"ec2_instance_id": "i-0", "memory": 1536}, {"ec2_instance_id": "i-1", "memory": 256},
                 {"ec2_instance_id": "i-1", "memory": 512})
    chain = [{"type": "binpack", "field": "memory"}]
    assert choose_scale_in_reference(fleet({}, {}), tasks, "family:web", chain, 3) == ["task-0", "task-2", "task-1"]


def test_scale_in_random_over_rows():
    # Group rows 0, 2, 3, 4 (row 1 is another group). Seed 7: j(0,4)=0 -> q0; j(1,3)=2 of [2,3,4]
    # -> q4; j(2,2)=1 of [2,3] -> q3; then q2.
    tasks = live({"ec2_instance_id": "i-0"}, {"ec2_instance_id": "i-0", "group": "family:other"},
                 *[{"ec2_instance_id": "i-0"}] * 3)
    chosen = choose_scale_in_reference(fleet({}), tasks, "family:web", [{"type": "random"}], 4, seed=7)
    assert chosen == ["task-0", "task-4", "task-3", "task-2"]


def test_scale_in_spread_attribute_missing_is_one_bucket():
    # q0 on p0 (zone a), q1 on p1 and q2 on p2 (no zone): missing=2 > a=1 -> {q1,q2}, k(1) -> q1;
    # then a=1 missing=1 -> {q0,q2}, k(0) < k(2) -> q0; then q2.
    instances = fleet({ZONE: "us-east-1a"}, {}, {})
    tasks = live({"ec2_instance_id": "i-0"}, {"ec2_instance_id": "i-1"}, {"ec2_instance_id": "i-2"})
    chain = [{"type": "spread", "field": ZONE}]
    assert choose_scale_in_reference(instances, tasks, "family:web", chain, 3) == ["task-1", "task-0", "task-2"]


def test_scale_in_fargate_tasks_share_one_pseudo_instance():
    # q0 (512 MiB) and q1 (0) run on Fargate, q2 (0) on p0 which has 300 MiB. binpack(memory):
    # stop 1: q0 0+512, q1 0+0, q2 300+0 -> q0, freeing 512 on the Fargate pseudo instance;
    # stop 2: q1 512+0 > q2 300 -> q1; then q2.
    tasks = live({"ec2_instance_id": None, "memory": 512}, {"ec2_instance_id": None}, {"ec2_instance_id": "i-0"})
    chain = [{"type": "binpack", "field": "memory"}]
    chosen = choose_scale_in_reference(fleet({"memory_registered": 300}), tasks, "family:web", chain, 3)
    assert chosen == ["task-0", "task-1", "task-2"]


# ---------------------------------------------------------------- properties

PROPERTY_SETTINGS = settings(max_examples=100, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _check_failures(result, count, total):
    placed = [p["task_index"] for p in result.placements]
    failed = [f["task_index"] for f in result.failures]
    assert placed + failed == list(range(count))  # placed first, then every later task fails
    if not failed:
        return
    assert len({(f["reason"], f["arn"], f["detail"]) for f in result.failures}) == 1  # the Decision
    head, counts = result.failures[0]["detail"].split(": ", 1)
    assert head == f"0 of {total} instances"
    assert sum(int(part.split(" ", 1)[0]) for part in counts.split(", ")) == total
    assert result.failures[0]["reason"] in REASONS + ("NO ACTIVE INSTANCES",)


def _check_capacity(instances, tasks, request, result):
    before, _ = load_state(instances, tasks)
    on = Counter(p["position"] for p in result.placements)
    for position, placed in on.items():
        inst = before[position]
        assert inst.status == "ACTIVE" and inst.agent_connected
        for key in ("cpu", "memory", "gpu"):
            assert placed * request[key] <= inst.remaining[key]
        if inst.eni_limit is not None and request["eni"]:
            assert inst.eni_in_use + placed <= inst.eni_limit
        if request["distinct_instance"]:
            assert placed == 1 and inst.group_counts[request["group"]] == 0
        ports = [p for p in result.placements if p["position"] == position]
        for protocol, reserved in (("host_ports", inst.reserved_tcp), ("host_ports_udp", inst.reserved_udp)):
            taken = [port for p in ports for port in p[protocol]]
            assert len(set(taken)) == len(taken) and not set(taken) & reserved
    for p in result.placements:
        assert len(p["host_ports"]) == len(request["static_tcp"]) + request["dynamic_tcp"]
        assert len(p["host_ports_udp"]) == len(request["static_udp"]) + request["dynamic_udp"]


@PROPERTY_SETTINGS
@given(placement_cases())
def test_placements_respect_capacity_and_failures_are_consistent(case):
    instances, tasks, request, seed = case
    result = place_reference(instances, tasks, request, seed)
    _check_failures(result, request["count"], instances.num_rows)
    _check_capacity(instances, tasks, request, result)
    again = place_reference(instances, tasks, request, seed)  # same input and seed, same answer
    assert (again.placements, again.failures) == (result.placements, result.failures)
    assert again.instances_after.equals(result.instances_after)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12), st.integers(1, 40), seeds(), st.sampled_from(["instanceId", "host"]))
def test_spread_instance_keeps_counts_within_one(n, count, seed, field):
    # Everything fits (no ports, big instances), so spread(instanceId) must even out exactly.
    result = place_reference(fleet(*[{}] * n, cpu_registered=10**6), None,
                             request(cpu=1, count=count, strategy=[{"type": "spread", "field": field}]),
                             seed)
    per_instance = Counter(positions(result))
    assert not result.failures
    assert max(per_instance.values()) - min(per_instance.get(p, 0) for p in range(n)) <= 1


@settings(max_examples=60, deadline=None)
@given(fleets(max_instances=60))
def test_generated_fleets_are_valid_engine_input(fleet_and_tasks):
    instances, tasks = fleet_and_tasks
    table = coerce_instances(instances)
    if tasks is not None:
        coerce_tasks(tasks, {i: p for p, i in enumerate(table.column("ec2_instance_id").to_pylist())})


@PROPERTY_SETTINGS
@given(scale_in_cases())
def test_scale_in_choices_are_consistent(case):
    instances, tasks, group, strategy, count, seed = case
    chosen = choose_scale_in_reference(instances, tasks, group, strategy, count, seed)
    rows = {t["task_arn"]: t for t in tasks.to_pylist() if t["group"] == group}
    assert len(chosen) == len(set(chosen)) == min(count, len(rows))
    assert set(chosen) <= set(rows)
    daemon = [bool(rows[arn].get("daemon")) for arn in chosen]
    assert daemon == sorted(daemon)  # daemon tasks last
    assert chosen == choose_scale_in_reference(instances, tasks, group, strategy, count, seed)


@PROPERTY_SETTINGS
@given(placement_cases(max_instances=60), st.integers(1, 5))
def test_state_after_carries_everything_a_later_placement_sees(case, first):
    # Without random, keys depend on positions only, so placing count tasks at once equals
    # placing `first` of them, then the rest on instances_after / tasks_after.
    instances, tasks, request, seed = case
    request = dict(request, strategy=[r for r in request["strategy"] if r["type"] != "random"]
                   or [{"type": "binpack", "field": "cpu"}], count=first + request["count"])
    whole = place_reference(instances, tasks, request, seed)
    head = place_reference(instances, tasks, dict(request, count=first), seed)
    tail = place_reference(head.instances_after, pa.Table.from_pylist(head.tasks_after) if head.tasks_after
                           else None, dict(request, count=request["count"] - first), seed)
    shift = [{**row, "task_index": row["task_index"] + first} for row in tail.placements]
    assert whole.placements == head.placements + shift
    assert whole.failures == head.failures + [{**f, "task_index": f["task_index"] + first}
                                              for f in tail.failures]
