"""Table tests of the placement reference (placement.md), hand arithmetic in comments.

Seed 0 tie keys, k(p) = splitmix64(splitmix64(0) ^ p), order the positions
0..9 as 1 < 4 < 5 < 7 < 6 < 9 < 0 < 3 < 2 < 8 (checked in test_tie_key_order).
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

M64 = 2**64
MEMBER_OF = "MemberOf placement constraint unsatisfied."
DISTINCT = "DistinctInstance placement constraint unsatisfied."
ZONE = "attribute:ecs.availability-zone"


def arn(instance_id):
    return f"arn:aws:ecs:us-east-1:000000000000:container-instance/default/{instance_id}"


def fleet(*rows, **common):
    """An instance table; instance p is i-p with 1024 CPU and 2048 MiB unless told."""
    full = [{"ec2_instance_id": f"i-{p}", "cpu_registered": 1024, "memory_registered": 2048,
             **common, **row} for p, row in enumerate(rows)]
    names = list(dict.fromkeys(name for row in full for name in row))
    return pa.Table.from_pylist([{name: row.get(name) for name in names} for row in full])


def live(*rows):
    """A tasks table; task q is task-q of family:web holding nothing unless told."""
    full = [{"task_arn": f"task-{q}", "group": "family:web", "cpu": 0, "memory": 0, **row}
            for q, row in enumerate(rows)]
    names = list(dict.fromkeys(name for row in full for name in row))
    return pa.Table.from_pylist([{name: row.get(name) for name in names} for row in full])


def request(**fields):
    return {"cpu": 0, "memory": 0, "group": "family:web", "count": 1, **fields}


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


def test_tie_key_order():
    # s = splitmix64(0) = 0xe220a8397b1dcdaf; k(1) = 0x08b4fda8c892b50e is the smallest,
    # k(0) = 0xa706dd2f4d197e6f < k(3) = 0xc810565020d09481 < k(2) = 0xd7cc9674ff5ffa39.
    assert tie_key(0, 0) == 0xA706DD2F4D197E6F and tie_key(0, 1) == 0x08B4FDA8C892B50E
    assert sorted(range(10), key=lambda p: tie_key(0, p)) == [1, 4, 5, 7, 6, 9, 0, 3, 2, 8]


def test_random_index_values():
    # seed 7: r(0..3) = 0x27e8.., 0xdfd6.., 0xf53a.., 0x1b4c..; as fractions of 2^64 about
    # 0.156, 0.874, 0.958, 0.107, times 3 -> 0.47, 2.62, 2.87, 0.32 -> j = 0, 2, 2, 0.
    assert [random_index(7, t, 3) for t in range(4)] == [0, 2, 2, 0]


# ---------------------------------------------------------------- strategies

def test_spread_over_zones_then_binpack_memory():
    # Memory: p0 a 2048, p1 a 1024, p2 b 4096, p3 b 3072; each task takes 512.
    # t0: a=0 b=0, smallest memory p1 (1024).  t1: a=1 -> zone b, p3 (3072 < 4096).
    # t2: a=1 b=1, memory 2048 / 512 / 4096 / 2560 -> p1.  t3: a=2 b=1 -> b, p3 (2560).
    instances = fleet({ZONE: "us-east-1a", "memory_registered": 2048},
                      {ZONE: "us-east-1a", "memory_registered": 1024},
                      {ZONE: "us-east-1b", "memory_registered": 4096},
                      {ZONE: "us-east-1b", "memory_registered": 3072})
    chain = [{"type": "spread", "field": ZONE}, {"type": "binpack", "field": "memory"}]
    result = place_reference(instances, None, request(memory=512, count=4, strategy=chain))
    assert positions(result) == [1, 3, 1, 3]
    assert result.instances_after.column("memory_remaining").to_pylist() == [2048, 0, 4096, 2048]


def test_default_service_strategy_spread_zone_then_instance():
    # Live family:web task on p2 (zone b); p0's task is of another group and does not count.
    # t0: a=0 b=1 -> {p0, p1}, both 0 on the instance, k(1) < k(0) -> p1.
    # t1: a=1 b=1 -> all; per instance 0,1,1,0 -> {p0, p3}, k(0) < k(3) -> p0.
    # t2: a=2 b=1 -> {p2, p3}; per instance 1, 0 -> p3.
    instances = fleet({ZONE: "us-east-1a"}, {ZONE: "us-east-1a"}, {ZONE: "us-east-1b"}, {ZONE: "us-east-1b"})
    tasks = live({"ec2_instance_id": "i-2"}, {"ec2_instance_id": "i-0", "group": "family:other"})
    result = place_reference(instances, tasks, request(count=3, strategy=list(DEFAULT_SERVICE_STRATEGY)))
    assert positions(result) == [1, 0, 3]


def test_spread_attribute_counts_every_instance_and_missing_is_one_bucket():
    # Group tasks: 2 on p2 (zone a, DRAINING), 1 on p4 (no zone, INACTIVE).
    # t0: a=2 b=0 none=1 -> p1.  t1: a=2 b=1 none=1 -> {p1, p3}, k(1) < k(3) -> p1.
    # t2: a=2 b=2 none=1 -> p3.
    instances = fleet({ZONE: "us-east-1a"}, {ZONE: "us-east-1b"},
                      {ZONE: "us-east-1a", "status": "DRAINING"}, {}, {"status": "INACTIVE"})
    tasks = live({"ec2_instance_id": "i-2"}, {"ec2_instance_id": "i-2"}, {"ec2_instance_id": "i-4"})
    chain = [{"type": "spread", "field": ZONE}]
    assert positions(place_reference(instances, tasks, request(count=3, strategy=chain))) == [1, 1, 3]


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

STAGE_CASES = [  # (instance overrides, request overrides, live task on the instance?)
    ({"agent_connected": False}, {}, False),
    ({"attribute:stack": "dev"}, {"required_attributes": [["stack", "prod"]]}, False),
    ({"cpu_registered": 100}, {"cpu": 128}, False),
    ({"memory_registered": 100}, {"memory": 128}, False),
    ({"gpu_registered": 0}, {"gpu": 1}, False),
    ({"eni_limit": 0}, {"eni": 1}, False),
    ({}, {"static_tcp": [22]}, False),  # 22 is one of the agent's default reserved ports
    ({"attribute:stack": "dev"}, {"member_of": ["attribute:stack == prod"]}, False),
    ({}, {"distinct_instance": True}, True),
]


@pytest.mark.parametrize("stage", range(9), ids=REASONS)
def test_each_stage_names_its_reason(stage):
    overrides, needs, with_task = STAGE_CASES[stage]
    tasks = live({"ec2_instance_id": "i-0"}) if with_task else None
    result = place_reference(fleet(overrides), tasks, request(**needs))
    assert result.placements == []
    assert result.failures == [{"task_index": 0, "reason": REASONS[stage], "arn": arn("i-0"),
                                "detail": f"0 of 1 instances: 1 {REASONS[stage]}"}]


def test_detail_counts_every_stage_in_order():
    # p0 is DRAINING; p1..p9 each stop at stage 1..9 of the request; the latest stage is
    # distinctInstance, reached by p9 alone, so the arn is i-9 whatever the keys.
    stops = [{"status": "DRAINING"}, {"agent_connected": False}, {"attribute:stack": None},
             {"cpu_registered": 100}, {"memory_registered": 100}, {"gpu_registered": 0},
             {"eni_limit": 0}, {"reserved_ports": [80]}, {"attribute:ecs.instance-type": "m5.large"}, {}]
    base = {"attribute:stack": "prod", "gpu_registered": 1, "attribute:ecs.instance-type": "t2.small"}
    instances = fleet(*[{**base, **stop} for stop in stops])
    req = request(cpu=128, memory=128, gpu=1, eni=1, static_tcp=[80], required_attributes=[["stack", None]],
                  member_of=["attribute:ecs.instance-type == t2.small"], distinct_instance=True, count=2)
    result = place_reference(instances, live({"ec2_instance_id": "i-9"}), req)
    failure = {"reason": DISTINCT, "arn": arn("i-9"),
               "detail": "0 of 10 instances: 1 not ACTIVE, 1 AGENT, 1 ATTRIBUTE, 1 RESOURCE:CPU, "
                         "1 RESOURCE:MEMORY, 1 RESOURCE:GPU, 1 RESOURCE:ENI, 1 RESOURCE:PORTS, "
                         f"1 {MEMBER_OF}, 1 {DISTINCT}"}
    assert result.failures == [{"task_index": t, **failure} for t in range(2)]


def test_zero_counts_left_out_and_arn_is_closest_at_the_latest_stage():
    # p0, p1 stop at CPU; p2, p3, p4 at MEMORY (the latest). k(1) is the smallest of all, but
    # the arn is chosen among p2..p4 only: k(4) < k(3) < k(2) -> i-4.
    instances = fleet({"cpu_registered": 10}, {"cpu_registered": 10}, {"memory_registered": 10},
                      {"memory_registered": 10}, {"memory_registered": 10})
    result = place_reference(instances, None, request(cpu=64, memory=64))
    assert result.failures == [{"task_index": 0, "reason": "RESOURCE:MEMORY", "arn": arn("i-4"),
                                "detail": "0 of 5 instances: 2 RESOURCE:CPU, 3 RESOURCE:MEMORY"}]


def test_no_active_instances():
    instances = fleet({"status": "DRAINING"}, {"status": "INACTIVE", "agent_connected": False})
    result = place_reference(instances, None, request(count=2))
    assert result.placements == []
    assert result.failures == [{"task_index": t, "reason": "NO ACTIVE INSTANCES", "arn": None,
                                "detail": "0 of 2 instances: 2 not ACTIVE"} for t in range(2)]


def test_empty_cluster_is_refused():
    empty = pa.table({"ec2_instance_id": pa.array([], pa.string()), "cpu_registered": pa.array([], pa.int64()),
                      "memory_registered": pa.array([], pa.int64())})
    with pytest.raises(ClientError, match="No Container Instances"):
        place_reference(empty, None, request())


def test_wordpress_one_task_per_instance_then_ports():
    # The seed's definition: cpu 10, memory 500, host port 80. p3 is DRAINING, p4 has 256 MiB.
    # Default random, seed 0: t0 survivors p0 p1 p2, j(0,3)=0 -> p0; t1 p1 p2, j(1,2)=1 -> p2;
    # t2 p1. t3: three stop at PORTS, p4 at MEMORY; closest of p0..p2 is k(1) -> i-1.
    instances = fleet({}, {}, {}, {"status": "DRAINING"}, {"memory_registered": 256})
    wordpress = request(cpu=10, memory=500, static_tcp=[80], count=5)
    result = place_reference(instances, None, wordpress)
    assert positions(result) == [0, 2, 1]
    assert all(p["host_ports"] == [80] and p["host_ports_udp"] == [] for p in result.placements)
    failure = {"reason": "RESOURCE:PORTS", "arn": arn("i-1"),
               "detail": "0 of 5 instances: 1 not ACTIVE, 1 RESOURCE:MEMORY, 3 RESOURCE:PORTS"}
    assert result.failures == [{"task_index": t, **failure} for t in (3, 4)]


def test_distinct_instance():
    # A family:web task lives on p1. CPU 2048 / 1024 / 512; binpack cpu.
    # t0: {p0, p2} -> p2 (512).  t1: {p0} -> p0.  t2: all three hold the group; closest k(1) -> i-1.
    instances = fleet({"cpu_registered": 2048}, {}, {"cpu_registered": 512})
    result = place_reference(instances, live({"ec2_instance_id": "i-1"}),
                             request(cpu=128, count=3, distinct_instance=True,
                                     strategy=[{"type": "binpack", "field": "cpu"}]))
    assert positions(result) == [2, 0]
    assert result.failures == [{"task_index": 2, "reason": DISTINCT, "arn": arn("i-1"),
                                "detail": f"0 of 3 instances: 3 {DISTINCT}"}]


def test_fleet_fills_mid_request_and_the_rest_fail_alike():
    # Two instances of 1024 CPU, tasks of 512, binpack cpu. t0: tie, k(1) < k(0) -> p1; t1 p1 (512);
    # t2, t3 p0; t4: both at 0 -> RESOURCE:CPU, closest i-1; t5 fails the same (Decision).
    result = place_reference(fleet({}, {}), None,
                             request(cpu=512, count=6, strategy=[{"type": "binpack", "field": "cpu"}]))
    assert positions(result) == [1, 1, 0, 0]
    failure = {"reason": "RESOURCE:CPU", "arn": arn("i-1"), "detail": "0 of 2 instances: 2 RESOURCE:CPU"}
    assert result.failures == [{"task_index": t, **failure} for t in (4, 5)]
    assert result.instances_after.column("cpu_remaining").to_pylist() == [0, 0]
    assert [t["ec2_instance_id"] for t in result.tasks_after] == ["i-1", "i-1", "i-0", "i-0"]


# ---------------------------------------------------------------- ports, ENIs, GPUs, defaults

def test_dynamic_ports_are_numbered_from_49153_per_protocol():
    # Each task takes the two lowest free TCP ports and the lowest free UDP port of 49153..65535.
    result = place_reference(fleet({}), None, request(dynamic_tcp=2, dynamic_udp=1, count=3))
    assert [p["host_ports"] for p in result.placements] == [[49153, 49154], [49155, 49156], [49157, 49158]]
    assert [p["host_ports_udp"] for p in result.placements] == [[49153], [49154], [49155]]
    assert result.instances_after.column("reserved_ports").to_pylist() == [
        [22, 2375, 2376, 49153, 49154, 49155, 49156, 49157, 49158, 51678, 51679]]


def test_dynamic_ports_skip_static_reserved_and_live_ports():
    # Static 8080 is listed first; 49153 is reserved, 49154 held by a live task -> 49155, 49156.
    instances = fleet({"reserved_ports": [22, 49153]})
    tasks = live({"ec2_instance_id": "i-0", "host_ports": [49154]})
    result = place_reference(instances, tasks, request(static_tcp=[8080], dynamic_tcp=2))
    assert result.placements[0]["host_ports"] == [8080, 49155, 49156]
    # the task's own static port in the range is skipped by its dynamic one, then blocks the next task
    result = place_reference(fleet({}), None, request(static_tcp=[49153], dynamic_tcp=1, count=2))
    assert result.placements[0]["host_ports"] == [49153, 49154]
    assert result.failures[0]["reason"] == "RESOURCE:PORTS"


def test_dynamic_ports_run_out():
    # A live task holds 49153..65534: one dynamic port (65535) is left, two are not.
    tasks = live({"ec2_instance_id": "i-0", "host_ports": list(range(49153, 65535))})
    assert place_reference(fleet({}), tasks, request(dynamic_tcp=1)).placements[0]["host_ports"] == [65535]
    assert place_reference(fleet({}), tasks, request(dynamic_tcp=2)).failures[0]["reason"] == "RESOURCE:PORTS"


def test_reserved_port_defaults():
    # null reserved_ports = the agent's five (22 taken); [] = nothing taken; UDP null = [].
    instances = fleet({"reserved_ports": None, "reserved_ports_udp": None}, {"reserved_ports": []})
    result = place_reference(instances, None, request(static_tcp=[22], static_udp=[22], count=2))
    assert positions(result) == [1]
    assert result.failures[0]["detail"] == "0 of 2 instances: 2 RESOURCE:PORTS"


def test_eni_limit():
    # p0 allows 1 ENI and a live awsvpc task holds it; p1 has no limit; p2 allows 2, holds 1.
    instances = fleet({"eni_limit": 1}, {"eni_limit": None}, {"eni_limit": 2})
    tasks = live({"ec2_instance_id": "i-0", "eni": 1}, {"ec2_instance_id": "i-2", "eni": 1})
    awsvpc = request(eni=1, count=2, strategy=[{"type": "spread", "field": "instanceId"}])
    # The live tasks are family:web too. t0: p0 fails ENI; p1 holds 0 of the group, p2 1 -> p1.
    # t1: p1 and p2 hold one each; k(1) < k(2) -> p1.
    assert positions(place_reference(instances, tasks, awsvpc)) == [1, 1]
    assert positions(place_reference(fleet({"eni_limit": 1}), tasks.slice(0, 1), request())) == [0]
    failed = place_reference(fleet({"eni_limit": 1}), tasks.slice(0, 1), request(eni=1))
    assert failed.failures[0]["reason"] == "RESOURCE:ENI"


def test_gpus():
    # 2 GPUs registered, a live task holds 1: one more task of 1 GPU fits.
    tasks = live({"ec2_instance_id": "i-0", "gpu": 1})
    result = place_reference(fleet({"gpu_registered": 2}), tasks, request(gpu=1, count=2))
    assert positions(result) == [0] and result.failures[0]["reason"] == "RESOURCE:GPU"
    assert result.instances_after.column("gpu_remaining").to_pylist() == [0]


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
