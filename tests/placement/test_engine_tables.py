"""The documented placement cases run through the engine (``Cluster.run_task``).

Each case carries its hand arithmetic in a comment and is also checked against
the pure-Python reference (placements, failures and the final state, through
``engine_harness.assert_same_as_reference``), so a table value can only be
right if both implementations agree with the spec.

Seed 0 tie keys, k(p) = splitmix64(splitmix64(0) ^ p), order the positions
0..9 as 1 < 4 < 5 < 7 < 6 < 9 < 0 < 3 < 2 < 8 (checked in test_tie_key_order).
"""

from __future__ import annotations

import pytest
from engine_harness import assert_same_as_reference, engine_ports, run_engine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference.placement_ref import DEFAULT_SERVICE_STRATEGY, REASONS, place_reference, tie_key
from reference.strategies import placement_cases
from tables_support import arn, fleet, live, request

from quaymaster import Cluster
from quaymaster.errors import InvalidParameterError
from quaymaster.keys import random_index, tie_keys
from quaymaster.taskdef import TaskDefinition

ZONE = "attribute:ecs.availability-zone"
MEMBER_OF = "MemberOf placement constraint unsatisfied."
DISTINCT = "DistinctInstance placement constraint unsatisfied."
NO_INSTANCES = "No Container Instances were found in your cluster."

# The seed's task definition (/work/shared/seed/000_33fbb151a2a026f0.txt) as printed,
# plus the family RegisterTaskDefinition requires and the mysql container its link names.
WORDPRESS = {
    "family": "wordpress",
    "containerDefinitions": [
        {"name": "wordpress", "links": ["mysql"], "image": "wordpress", "essential": True,
         "portMappings": [{"containerPort": 80, "hostPort": 80}], "memory": 500, "cpu": 10},
        {"name": "mysql", "image": "mysql:8", "essential": True, "memory": 500, "cpu": 10},
    ],
}


def run_both(instances, tasks, req, seed=0):
    """(cluster, result) from the engine, once both are checked equal to the reference's in every
    respect: a value read from the cluster's state is the reference's instances_after or tasks_after."""
    assert_same_as_reference(instances, tasks, req, seed)
    cluster, result = run_engine(instances, tasks, req, seed)
    assert cluster is not None, f"the engine refused the request: {result}"
    return cluster, result


def place_both(instances, tasks, req, seed=0):
    """The engine's result, once it is checked equal to the reference's in every respect."""
    return run_both(instances, tasks, req, seed)[1]


def same_as_reference(result, instances, tasks, req, seed=0):
    """For runs made through other run_task arguments (service=True, task definitions)."""
    expected = place_reference(instances, tasks, req, seed)
    got = result.placements.select(["task_index", "position", "ec2_instance_id", "host_ports",
                                    "host_ports_udp"]).to_pylist()
    assert got == expected.placements
    assert result.failures == expected.failures


def positions(result):
    return result.placements.column("position").to_pylist()


def test_tie_key_order():
    # s = splitmix64(0) = 0xe220a8397b1dcdaf; k(1) = 0x08b4fda8c892b50e is the smallest,
    # k(0) = 0xa706dd2f4d197e6f < k(3) = 0xc810565020d09481 < k(2) = 0xd7cc9674ff5ffa39.
    keys = [int(k) for k in tie_keys(0, 10)]
    assert keys[:2] == [0xA706DD2F4D197E6F, 0x08B4FDA8C892B50E]
    assert sorted(range(10), key=lambda p: keys[p]) == [1, 4, 5, 7, 6, 9, 0, 3, 2, 8]
    assert keys == [tie_key(0, p) for p in range(10)]  # the reference's keys are the same


# ---------------------------------------------------------------- strategies (section 6)

def test_spread_over_zones_then_binpack_memory():
    # Memory: p0 a 2048, p1 a 1024, p2 b 4096, p3 b 3072; each task takes 512.
    # t0: a=0 b=0, smallest memory p1 (1024).  t1: a=1 -> zone b, p3 (3072 < 4096).
    # t2: a=1 b=1, memory 2048 / 512 / 4096 / 2560 -> p1.  t3: a=2 b=1 -> b, p3 (2560).
    instances = fleet({ZONE: "us-east-1a", "memory_registered": 2048},
                      {ZONE: "us-east-1a", "memory_registered": 1024},
                      {ZONE: "us-east-1b", "memory_registered": 4096},
                      {ZONE: "us-east-1b", "memory_registered": 3072})
    chain = [{"type": "spread", "field": ZONE}, {"type": "binpack", "field": "memory"}]
    cluster, result = run_both(instances, None, request(memory=512, count=4, strategy=chain))
    assert positions(result) == [1, 3, 1, 3]
    assert result.failures == []
    assert cluster.state.memory_remaining.tolist() == [2048, 0, 4096, 2048]


def test_spread_attribute_counts_every_instance_and_missing_is_one_bucket():
    # Group tasks: 2 on p2 (zone a, DRAINING), 1 on p4 (no zone, INACTIVE).
    # t0: a=2 b=0 none=1 -> p1.  t1: a=2 b=1 none=1 -> {p1, p3}, k(1) < k(3) -> p1.
    # t2: a=2 b=2 none=1 -> p3.
    instances = fleet({ZONE: "us-east-1a"}, {ZONE: "us-east-1b"},
                      {ZONE: "us-east-1a", "status": "DRAINING"}, {}, {"status": "INACTIVE"})
    tasks = live({"ec2_instance_id": "i-2"}, {"ec2_instance_id": "i-2"}, {"ec2_instance_id": "i-4"})
    result = place_both(instances, tasks, request(count=3, strategy=[{"type": "spread", "field": ZONE}]))
    assert positions(result) == [1, 1, 3]


def test_default_service_strategy_spreads_zone_then_instance():
    # Live family:web task on p2 (zone b); p0's task is of another group and does not count.
    # t0: a=0 b=1 -> {p0, p1}, both 0 on the instance, k(1) < k(0) -> p1.
    # t1: a=1 b=1 -> all; per instance 0,1,1,0 -> {p0, p3}, k(0) < k(3) -> p0.
    # t2: a=2 b=1 -> {p2, p3}; per instance 1, 0 -> p3.
    instances = fleet({ZONE: "us-east-1a"}, {ZONE: "us-east-1a"}, {ZONE: "us-east-1b"},
                      {ZONE: "us-east-1b"})
    tasks = live({"ec2_instance_id": "i-2"}, {"ec2_instance_id": "i-0", "group": "family:other"})
    cluster = Cluster.from_arrow(instances, tasks)
    result = cluster.run_task(TaskDefinition.from_json(_definition("web")), count=3, service=True, seed=0)
    assert result.request.group == "family:web"
    assert positions(result) == [1, 0, 3]
    same_as_reference(result, instances, tasks,
                      request(count=3, memory=128, strategy=list(DEFAULT_SERVICE_STRATEGY)))
    # Without service=True the same request is RunTask's random: j(t, n) over all four, not a spread.
    plain = Cluster.from_arrow(instances, tasks).run_task(_definition("web"), count=3, seed=0)
    same_as_reference(plain, instances, tasks, request(count=3, memory=128))


def test_random_picks_index_j_of_the_survivors():
    # Ten equal instances, nothing needed: the survivors are p0..p9 for every task, so task t
    # goes to position j(t, 10). Seed 12345: j = 8, 5, 9, 4, 8, 8.
    instances = fleet(*[{}] * 10)
    result = place_both(instances, None, request(count=6), seed=12345)
    assert positions(result) == [random_index(12345, t, 10) for t in range(6)] == [8, 5, 9, 4, 8, 8]


def test_random_survivors_are_sorted_by_position():
    # p1 lacks stack: the survivors are p0, p2, p3. Seed 7 draws j(t, 3) = 0, 2, 2, 0
    # -> p0, p3, p3, p0.
    instances = fleet({"attribute:stack": "a"}, {}, {"attribute:stack": "a"}, {"attribute:stack": "a"})
    req = request(count=4, required_attributes=[["stack", None]])
    assert [random_index(7, t, 3) for t in range(4)] == [0, 2, 2, 0]
    assert positions(place_both(instances, None, req, seed=7)) == [0, 3, 3, 0]
    # random ends the chain: a binpack after it changes nothing
    after = dict(req, strategy=[{"type": "random"}, {"type": "binpack", "field": "cpu"}])
    assert positions(place_both(instances, None, after, seed=7)) == [0, 3, 3, 0]


def test_random_after_binpack_draws_among_the_binpack_survivors():
    # CPU 512, 1024, 512, 512 and tasks needing none: binpack keeps {p0, p2, p3} for every task,
    # then seed 7's j(t, 3) = 0, 2, 2, 0 -> p0, p3, p3, p0.
    instances = fleet({"cpu_registered": 512}, {}, {"cpu_registered": 512}, {"cpu_registered": 512})
    chain = [{"type": "binpack", "field": "cpu"}, {"type": "random"}]
    assert positions(place_both(instances, None, request(count=4, strategy=chain), seed=7)) == [0, 3, 3, 0]


@pytest.mark.parametrize("field, expected", [
    # p0: 512 CPU, 4096 MiB; p1: 2048 CPU, 1024 MiB; tasks of 128 CPU and 128 MiB.
    # binpack cpu: 512 < 2048 -> p0, then 384 -> p0.  binpack memory: 1024 < 4096 -> p1, p1.
    ("cpu", [0, 0]),
    ("memory", [1, 1]),
])
def test_binpack_cpu_versus_memory(field, expected):
    instances = fleet({"cpu_registered": 512, "memory_registered": 4096},
                      {"cpu_registered": 2048, "memory_registered": 1024})
    req = request(cpu=128, memory=128, count=2, strategy=[{"type": "binpack", "field": field}])
    assert positions(place_both(instances, None, req)) == expected


@pytest.mark.parametrize("seed", [0, 1, 99, 2**64 - 1])
def test_spread_host_is_spread_instance_id(seed):
    # Group tasks: 2 on p0, 1 on p1. With seed 0: t0 {p2, p3}, k(3) < k(2) -> p3; t1 p2;
    # t2 {p1, p2, p3} at 1 -> k(1) -> p1. Other seeds only reorder the ties; host and
    # instanceId must agree whatever the seed.
    tasks = live({"ec2_instance_id": "i-0"}, {"ec2_instance_id": "i-0"}, {"ec2_instance_id": "i-1"})
    by_field = {field: positions(place_both(fleet({}, {}, {}, {}), tasks,
                                            request(count=5, strategy=[{"type": "spread", "field": field}]),
                                            seed))
                for field in ("instanceId", "host")}
    assert by_field["host"] == by_field["instanceId"]
    if seed == 0:
        assert by_field["host"][:3] == [3, 2, 1]


def test_distinct_instance():
    # A family:web task lives on p1. CPU 2048 / 1024 / 512; binpack cpu.
    # t0: {p0, p2} -> p2 (512).  t1: {p0} -> p0.  t2: all three hold the group; closest k(1) -> i-1.
    instances = fleet({"cpu_registered": 2048}, {}, {"cpu_registered": 512})
    result = place_both(instances, live({"ec2_instance_id": "i-1"}),
                        request(cpu=128, count=3, distinct_instance=True,
                                strategy=[{"type": "binpack", "field": "cpu"}]))
    assert positions(result) == [2, 0]
    assert result.failures == [{"task_index": 2, "reason": DISTINCT, "arn": arn("i-1"),
                                "detail": f"0 of 3 instances: 3 {DISTINCT}"}]


# ---------------------------------------------------------------- the seed's wordpress definition

def test_wordpress_one_task_per_instance_then_ports():
    # cpu 10 + 10, memory 500 + 500, static host port 80. p3 is DRAINING, p4 has 512 MiB.
    # Default random, seed 0: t0 survivors p0 p1 p2, j(0,3)=0 -> p0; t1 p1 p2, j(1,2)=1 -> p2;
    # t2 p1 (p0 and p2 still have 1048 MiB, but port 80 is theirs now). t3: p0..p2 stop at
    # PORTS, p4 at MEMORY; the closest of p0..p2 is k(1) -> i-1; t4 fails the same way.
    instances = fleet({}, {}, {}, {"status": "DRAINING"}, {"memory_registered": 512})
    cluster = Cluster.from_arrow(instances)
    result = cluster.run_task(WORDPRESS, count=5, seed=0)
    assert [random_index(0, 0, 3), random_index(0, 1, 2)] == [0, 1]
    assert positions(result) == [0, 2, 1]
    assert result.placements.column("host_ports").to_pylist() == [[80]] * 3
    assert result.placements.column("host_ports_udp").to_pylist() == [[]] * 3
    failure = {"reason": "RESOURCE:PORTS", "arn": arn("i-1"),
               "detail": "0 of 5 instances: 1 not ACTIVE, 1 RESOURCE:MEMORY, 3 RESOURCE:PORTS"}
    assert result.failures == [{"task_index": t, **failure} for t in (3, 4)]
    assert cluster.state.memory_remaining.tolist() == [1048, 1048, 1048, 2048, 512]
    assert {t["group"] for t in cluster.task_table().to_pylist()} == {"family:wordpress"}
    same_as_reference(result, instances, None,
                      request(cpu=20, memory=1000, static_tcp=[80], count=5, group="family:wordpress"))


# ---------------------------------------------------------------- stages and failures (section 4)

STAGE_CASES = [  # (instance overrides, request overrides, live family:web task on the instance?)
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
    result = place_both(fleet(overrides), tasks, request(**needs))
    assert result.placed_count == 0
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
    result = place_both(instances, live({"ec2_instance_id": "i-9"}), req)
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
    result = place_both(instances, None, request(cpu=64, memory=64))
    assert result.failures == [{"task_index": 0, "reason": "RESOURCE:MEMORY", "arn": arn("i-4"),
                                "detail": "0 of 5 instances: 2 RESOURCE:CPU, 3 RESOURCE:MEMORY"}]


def test_no_active_instances():
    instances = fleet({"status": "DRAINING"}, {"status": "INACTIVE", "agent_connected": False})
    result = place_both(instances, None, request(count=2))
    assert result.placed_count == 0
    assert result.failures == [{"task_index": t, "reason": "NO ACTIVE INSTANCES", "arn": None,
                                "detail": "0 of 2 instances: 2 not ACTIVE"} for t in range(2)]
    # ECS leaves out a failure's arn when there is none
    assert Cluster.from_arrow(instances).run_task(_definition("web"), seed=0).to_ecs()["failures"] == [
        {"reason": "NO ACTIVE INSTANCES", "detail": "0 of 2 instances: 2 not ACTIVE"}]


@pytest.mark.parametrize("make_cluster", [
    lambda: Cluster("empty"),
    lambda: Cluster.from_arrow(fleet({}).slice(0, 0)),
], ids=["new cluster", "empty table"])
def test_a_cluster_without_instances_refuses_with_ecs_text(make_cluster):
    # ECS answers RunTask on such a cluster with InvalidParameterException and this text.
    cluster = make_cluster()
    with pytest.raises(InvalidParameterError) as refused:
        cluster.run_task(_definition("web"), seed=0)
    assert str(refused.value) == NO_INSTANCES
    assert cluster.task_table().num_rows == 0 and cluster.tasks.next_sequence == 0


def test_fleet_fills_mid_request_and_the_rest_fail_alike():
    # Two instances of 1024 CPU, tasks of 512, binpack cpu. t0: tie, k(1) < k(0) -> p1; t1 p1 (512);
    # t2, t3 p0; t4: both at 0 -> RESOURCE:CPU, closest i-1; t5 fails the same (Decision).
    cluster, result = run_both(fleet({}, {}), None,
                               request(cpu=512, count=6, strategy=[{"type": "binpack", "field": "cpu"}]))
    assert positions(result) == [1, 1, 0, 0]
    failure = {"reason": "RESOURCE:CPU", "arn": arn("i-1"), "detail": "0 of 2 instances: 2 RESOURCE:CPU"}
    assert result.failures == [{"task_index": t, **failure} for t in (4, 5)]
    assert result.failure == failure
    assert cluster.state.cpu_remaining.tolist() == [0, 0]
    assert cluster.task_table().column("ec2_instance_id").to_pylist() == ["i-1", "i-1", "i-0", "i-0"]


# ---------------------------------------------------------------- ports, ENIs, GPUs, attributes

def test_dynamic_ports_are_numbered_from_49153_per_protocol():
    # Each task takes the two lowest free TCP ports and the lowest free UDP port of 49153..65535.
    cluster, result = run_both(fleet({}), None, request(dynamic_tcp=2, dynamic_udp=1, count=3))
    assert result.placements.column("host_ports").to_pylist() == [[49153, 49154], [49155, 49156],
                                                                  [49157, 49158]]
    assert result.placements.column("host_ports_udp").to_pylist() == [[49153], [49154], [49155]]
    # the agent's five reserved ports stay taken alongside the six dynamic ones
    assert engine_ports(cluster)[0] == [[22, 2375, 2376, 49153, 49154, 49155, 49156, 49157, 49158,
                                         51678, 51679]]


def test_dynamic_ports_from_a_task_definition():
    # bridge: hostPort absent or 0 is dynamic; two TCP mappings and one UDP per task.
    definition = _definition("web", portMappings=[{"containerPort": 8080}, {"containerPort": 8081, "hostPort": 0},
                                                  {"containerPort": 53, "protocol": "udp"}])
    result = Cluster.from_arrow(fleet({})).run_task(definition, count=2, seed=0)
    assert result.placements.column("host_ports").to_pylist() == [[49153, 49154], [49155, 49156]]
    assert result.placements.column("host_ports_udp").to_pylist() == [[49153], [49154]]


def test_dynamic_ports_skip_static_reserved_and_live_ports():
    # Static 8080 is listed first; 49153 is reserved, 49154 held by a live task -> 49155, 49156.
    instances = fleet({"reserved_ports": [22, 49153]})
    tasks = live({"ec2_instance_id": "i-0", "host_ports": [49154]})
    result = place_both(instances, tasks, request(static_tcp=[8080], dynamic_tcp=2))
    assert result.placements.column("host_ports").to_pylist() == [[8080, 49155, 49156]]
    # the task's own static port in the range is skipped by its dynamic one, then blocks the next task
    result = place_both(fleet({}), None, request(static_tcp=[49153], dynamic_tcp=1, count=2))
    assert result.placements.column("host_ports").to_pylist() == [[49153, 49154]]
    assert result.failures[0]["reason"] == "RESOURCE:PORTS"


def test_dynamic_ports_run_out():
    # A live task holds 49153..65534 (but the agent's reserved 51678, 51679): one dynamic port (65535) is left.
    tasks = live({"ec2_instance_id": "i-0", "host_ports": [p for p in range(49153, 65535) if p not in (51678, 51679)]})
    assert place_both(fleet({}), tasks, request(dynamic_tcp=1)).placements.column("host_ports").to_pylist() == [[65535]]
    assert place_both(fleet({}), tasks, request(dynamic_tcp=2)).failures[0]["reason"] == "RESOURCE:PORTS"


def test_udp_ports_conflict_only_with_udp():
    # UDP 53 is held by a live task on p0 and reserved by the agent on p1; TCP 53 is free on both.
    instances = fleet({}, {"reserved_ports_udp": [53]})
    tasks = live({"ec2_instance_id": "i-0", "host_ports_udp": [53]})
    failed = place_both(instances, tasks, request(static_udp=[53]))
    assert failed.failures[0]["reason"] == "RESOURCE:PORTS"
    assert failed.failures[0]["detail"] == "0 of 2 instances: 2 RESOURCE:PORTS"
    tcp = place_both(instances, tasks, request(static_tcp=[53], count=2))
    assert sorted(positions(tcp)) == [0, 1]
    # A null reserved_ports_udp is the default []: UDP 22 is free, TCP 22 is not.
    assert positions(place_both(fleet({"reserved_ports_udp": None}), None, request(static_udp=[22]))) == [0]


def test_eni_limit():
    # p0 allows 1 ENI and a live awsvpc task holds it; p1 has no limit; p2 allows 2, holds 1.
    # The live tasks are family:web too. t0: p0 fails ENI; p1 holds 0 of the group, p2 1 -> p1.
    # t1: p1 and p2 hold one each; k(1) < k(2) -> p1.  t2: p1 2, p2 1 -> p2, which is now at
    # its limit of 2: t3 -> p1 (no limit).
    instances = fleet({"eni_limit": 1}, {"eni_limit": None}, {"eni_limit": 2})
    tasks = live({"ec2_instance_id": "i-0", "eni": 1}, {"ec2_instance_id": "i-2", "eni": 1})
    awsvpc = request(eni=1, count=4, strategy=[{"type": "spread", "field": "instanceId"}])
    assert positions(place_both(instances, tasks, awsvpc)) == [1, 1, 2, 1]
    # A task without an ENI ignores the limit.
    assert positions(place_both(fleet({"eni_limit": 1}), tasks.slice(0, 1), request())) == [0]
    failed = place_both(fleet({"eni_limit": 1}), tasks.slice(0, 1), request(eni=1))
    assert failed.failures[0]["reason"] == "RESOURCE:ENI"


def test_gpus():
    # 2 GPUs registered, a live task holds 1: one more task of 1 GPU fits, the next does not.
    tasks = live({"ec2_instance_id": "i-0", "gpu": 1})
    cluster, result = run_both(fleet({"gpu_registered": 2}), tasks, request(gpu=1, count=2))
    assert positions(result) == [0]
    assert result.failures[0]["reason"] == "RESOURCE:GPU"
    assert cluster.state.gpu_remaining.tolist() == [0]


def test_gpus_from_a_task_definition():
    definition = _definition("gpu", resourceRequirements=[{"type": "GPU", "value": "2"}])
    cluster = Cluster.from_arrow(fleet({"gpu_registered": 1}, {"gpu_registered": 4}))
    result = cluster.run_task(definition, count=3, seed=0)
    # p0 has one GPU: never. p1 has four: two tasks, then RESOURCE:GPU (p0 and p1 both stop there).
    assert positions(result) == [1, 1]
    assert result.failure["reason"] == "RESOURCE:GPU"
    assert result.failure["detail"] == "0 of 2 instances: 2 RESOURCE:GPU"
    assert cluster.state.gpu_remaining.tolist() == [1, 0]


@pytest.mark.parametrize("required, expected", [
    ([["stack", "prod"]], {0}),           # the value must match
    ([["stack", None]], {0, 1}),          # any value
    ([["stack", None], ["ecs.instance-type", "t2.small"]], {1}),
])
def test_required_attributes(required, expected):
    # p0 stack=prod m5.large, p1 stack=dev t2.small, p2 no stack t2.small.
    instances = fleet({"attribute:stack": "prod", "attribute:ecs.instance-type": "m5.large"},
                      {"attribute:stack": "dev", "attribute:ecs.instance-type": "t2.small"},
                      {"attribute:ecs.instance-type": "t2.small"})
    result = place_both(instances, None, request(count=6, required_attributes=required))
    assert set(positions(result)) == expected


def test_required_attribute_no_instance_has():
    # Every instance stops at ATTRIBUTE; the closest of p0..p2 by tie key is k(1) -> i-1.
    result = place_both(fleet({}, {}, {}), None, request(required_attributes=[["absent", None]]))
    assert result.failures == [{"task_index": 0, "reason": "ATTRIBUTE", "arn": arn("i-1"),
                                "detail": "0 of 3 instances: 3 ATTRIBUTE"}]


def test_task_definition_attributes_and_member_of_join_the_request_constraints():
    # The definition requires stack=prod (p1, p2) and keeps memberOf zone b (p2, p3); the request
    # adds instance type t2.* (p0, p2). Only p2 passes all three.
    definition = _definition("web", requiresAttributes=[{"name": "stack", "value": "prod"}],
                             placementConstraints=[{"type": "memberOf", "expression": f"{ZONE} == us-east-1b"}])
    instances = fleet({"attribute:ecs.instance-type": "t2.small"},
                      {"attribute:stack": "prod", ZONE: "us-east-1a"},
                      {"attribute:stack": "prod", ZONE: "us-east-1b", "attribute:ecs.instance-type": "t2.small"},
                      {ZONE: "us-east-1b"})
    result = Cluster.from_arrow(instances).run_task(
        definition, count=3, placement_constraints=[{"type": "memberOf", "expression": "attribute:ecs.instance-type =~ t2.*"}], seed=0)
    assert positions(result) == [2, 2, 2]
    same_as_reference(result, instances, None,
                      request(memory=128, count=3, required_attributes=[["stack", "prod"]],
                              member_of=[f"{ZONE} == us-east-1b", "attribute:ecs.instance-type =~ t2.*"]))


def _definition(family, memory=128, **extra):
    """A one-container RegisterTaskDefinition body; container fields from ``extra``
    (portMappings, resourceRequirements) and the rest at the task level."""
    container_keys = {"portMappings", "resourceRequirements"}
    container = {"name": "app", "image": "busybox", "memory": memory,
                 **{k: v for k, v in extra.items() if k in container_keys}}
    return {"family": family, "containerDefinitions": [container],
            **{k: v for k, v in extra.items() if k not in container_keys}}


def test_host_network_mode_takes_the_container_port():
    # host mode: containerPort 8080 is the host port, so one task per instance; UDP 514 too.
    definition = {"family": "web", "networkMode": "host", "containerDefinitions": [
        {"name": "app", "image": "busybox", "memory": 64,
         "portMappings": [{"containerPort": 8080}, {"containerPort": 514, "protocol": "udp"}]}]}
    instances = fleet({}, {})
    result = Cluster.from_arrow(instances).run_task(definition, count=3, seed=0)
    assert sorted(positions(result)) == [0, 1]
    assert result.placements.column("host_ports").to_pylist() == [[8080], [8080]]
    assert result.placements.column("host_ports_udp").to_pylist() == [[514], [514]]
    assert result.failure["detail"] == "0 of 2 instances: 2 RESOURCE:PORTS"
    same_as_reference(result, instances, None,
                      request(memory=64, static_tcp=[8080], static_udp=[514], count=3))


def test_awsvpc_takes_an_eni_and_no_host_port():
    # awsvpc: the task has its own interface, so port 80 never conflicts; the ENI limit of 2
    # on p0 and 1 on p1 caps the tasks at three (spread: p0, p1, then p0).
    definition = {"family": "web", "networkMode": "awsvpc", "containerDefinitions": [
        {"name": "app", "image": "busybox", "memory": 64, "portMappings": [{"containerPort": 80}]}]}
    instances = fleet({"eni_limit": 2}, {"eni_limit": 1})
    cluster = Cluster.from_arrow(instances)
    result = cluster.run_task(definition, count=4, placement_strategy=[{"type": "spread", "field": "instanceId"}], seed=0)
    assert result.placements.column("host_ports").to_pylist() == [[], [], []]
    assert sorted(positions(result)) == [0, 0, 1]
    assert result.failure["reason"] == "RESOURCE:ENI"
    assert cluster.state.eni_used.tolist() == [2, 1]
    same_as_reference(result, instances, None, request(memory=64, eni=1, count=4,
                                                       strategy=[{"type": "spread", "field": "instanceId"}]))


# ---------------------------------------------------------------- memberOf on what placements change

@pytest.mark.parametrize("expression, group, count, tasks, expected_placed", [
    # each instance takes one task, then both fail MemberOf
    ("runningTasksCount == 0", "family:web", 3, (), 2),
    # a live task of another group on p0: p0 takes 1, p1 takes 2, then both are at 2
    ("runningTasksCount < 2", "family:web", 5, ({"ec2_instance_id": "i-0", "group": "family:other"},), 3),
    # like distinctInstance for the request's own group
    ("not(task:group == service:web)", "service:web", 3, (), 2),
    # instances join once they hold a service:web task: only p1 holds one, and keeps taking them
    ("task:group == service:web", "service:web", 3, ({"ec2_instance_id": "i-1", "group": "service:web"},), 3),
])
def test_member_of_that_placements_change(expression, group, count, tasks, expected_placed):
    result = place_both(fleet({}, {}), live(*tasks) if tasks else None,
                        request(group=group, count=count, member_of=[expression]))
    assert result.placed_count == expected_placed
    if expected_placed < count:
        assert result.failure["reason"] == MEMBER_OF


DYNAMIC_EXPRESSIONS = ("runningTasksCount < 3", "runningTasksCount == 0", "runningTasksCount >= 1",
                       "not(task:group == family:batch)", "task:group != service:api",
                       "not(task:group == service:web) or runningTasksCount < 2")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(placement_cases(max_instances=40), st.sampled_from(DYNAMIC_EXPRESSIONS))
def test_dynamic_member_of_matches_the_reference(case, expression):
    """Requests whose memberOf reads runningTasksCount or task:group, on random fleets."""
    instances, tasks, req, seed = case
    req = {**req, "member_of": [expression] + [e for e in req["member_of"] if e != expression][:2]}
    assert_same_as_reference(instances, tasks, req, seed)
