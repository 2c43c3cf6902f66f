"""The cluster's state owner: every path that takes and releases, against a plain twin.

A hypothesis state machine drives a cluster (fast paths, kept plans repaired
from the change log, copies and pickles swapped in at random points) and a
twin placing through the plain per-task scan (``fast_paths=False``), through
the same operations. After every step both must hold the same tables and
the invariants of the state: no instance over-committed, host ports unique
per instance and protocol, remaining = registered - what the live tasks hold,
and the owner's port set equal to the ports the tables say are in use.
"""

from __future__ import annotations

import pickle
from datetime import datetime, timezone

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from quaymaster import Cluster
from quaymaster.errors import InvalidParameterError
from quaymaster.model.state_owner import SeedStream
from quaymaster.taskdef import TaskRequirements

ZONE = "ecs.availability-zone"
STRATEGIES = {
    "zone+memory": [{"type": "spread", "field": f"attribute:{ZONE}"}, {"type": "binpack", "field": "memory"}],
    "instance": [{"type": "spread", "field": "instanceId"}],
    "random": [{"type": "random"}],
    "cpu+random": [{"type": "binpack", "field": "cpu"}, {"type": "random"}],
}
REQUIREMENTS = {
    "plain": TaskRequirements(cpu=128, memory=256),
    "dynamic": TaskRequirements(cpu=64, memory=128, dynamic_tcp=1),
    "static": TaskRequirements(cpu=32, memory=64, static_tcp=(8080,)),
    "udp": TaskRequirements(cpu=16, memory=32, dynamic_udp=2, static_udp=(5000,)),
}


WHEN = datetime(2026, 1, 1, tzinfo=timezone.utc)


def fleet(n: int) -> pa.Table:
    return pa.table({
        "ec2_instance_id": [f"i-{k:03d}" for k in range(n)],
        "cpu_registered": pa.array([1024, 2048, 512][k % 3] for k in range(n)),
        "memory_registered": pa.array([2048, 4096, 1024][k % 3] for k in range(n)),
        f"attribute:{ZONE}": [["a", "b", "c"][k % 3] for k in range(n)],
        "registered_at": pa.array([WHEN] * n, pa.timestamp("us", tz="UTC")),
    })


def live_holdings(cluster: Cluster) -> dict:
    """Per instance id: (cpu, memory, gpu, tcp ports, udp ports) the live tasks hold."""
    held: dict = {}
    for row in cluster.task_table().to_pylist():
        entry = held.setdefault(row["ec2_instance_id"], [0, 0, 0, [], []])
        entry[0] += row["cpu"]
        entry[1] += row["memory"]
        entry[2] += row["gpu"]
        entry[3] += row["host_ports"]
        entry[4] += row["host_ports_udp"]
    return held


def check_invariants(cluster: Cluster) -> None:
    held = live_holdings(cluster)
    state = cluster.state
    expected_keys = []
    for p, instance in enumerate(state.ids):
        cpu, memory, gpu, tcp, udp = held.get(instance, [0, 0, 0, [], []])
        assert state.cpu_remaining[p] == state.cpu_registered[p] - cpu >= 0
        assert state.memory_remaining[p] == state.memory_registered[p] - memory >= 0
        assert state.gpu_remaining[p] == state.gpu_registered[p] - gpu >= 0
        tcp_all, udp_all = list(state.reserved_tcp[p]) + tcp, list(state.reserved_udp[p]) + udp
        assert len(set(tcp_all)) == len(tcp_all) and len(set(udp_all)) == len(udp_all)
        expected_keys += [p << 17 | port for port in tcp_all] + [p << 17 | 1 << 16 | port for port in udp_all]
        dynamic = [sum(49153 <= port for port in ports) for ports in (tcp_all, udp_all)]
        assert cluster.owner.ports.dynamic_used[p] == dynamic[0]
        assert cluster.owner.ports.dynamic_used[state.n + p] == dynamic[1]
    assert cluster.port_keys().tolist() == sorted(expected_keys)
    running = np.bincount([state.position[i] for i in cluster.task_table().column("ec2_instance_id").to_pylist()],
                          minlength=state.n)
    np.testing.assert_array_equal(state.running_tasks, running)
    rows = cluster.task_table().to_pylist()
    wanted = np.bincount([state.position[r["ec2_instance_id"]] for r in rows
                          if r["last_status"] in ("PROVISIONING", "PENDING", "ACTIVATING", "RUNNING")],
                         minlength=state.n)
    np.testing.assert_array_equal(cluster.owner.running_wanted, wanted)


class TwinMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.fast = Cluster.from_arrow(fleet(12))
        self.plain = Cluster.from_arrow(fleet(12))
        self.registered = 12

    def both(self, operation):
        results = []
        for cluster in (self.fast, self.plain):
            try:
                results.append(("ok", operation(cluster, cluster is self.fast)))
            except InvalidParameterError as error:
                results.append(("error", str(error)))
        assert results[0] == results[1]
        return results[0]

    @rule(kind=st.sampled_from(sorted(REQUIREMENTS)), strategy=st.sampled_from(sorted(STRATEGIES)),
          count=st.integers(1, 12), group=st.sampled_from(["a", "b"]),
          seed=st.one_of(st.none(), st.integers(0, 3)))
    def run(self, kind, strategy, count, group, seed):
        def place(cluster, fast):
            result = cluster.run_task(REQUIREMENTS[kind], count=count, group=f"service:{group}",
                                      placement_strategy=STRATEGIES[strategy], seed=seed, fast_paths=fast)
            return result.placements.drop(["task_arn"]).to_pylist(), result.failures[:1]
        self.both(place)

    @rule(pick=st.integers(0, 10**6))
    def stop(self, pick):
        arns = self.fast.task_table().column("task_arn").to_pylist()
        assert arns == self.plain.task_table().column("task_arn").to_pylist()
        if arns:
            self.both(lambda cluster, fast: cluster.stop_task(arns[pick % len(arns)]))

    @rule(pick=st.integers(0, 10**6))
    def begin_stop(self, pick):
        """The first half of a two-step stop (STOPPING): resources back, ports and row kept."""
        arns = self.fast.task_table().column("task_arn").to_pylist()
        if arns:
            self.both(lambda cluster, fast: cluster.begin_stop_task(arns[pick % len(arns)]))

    @rule(picks=st.lists(st.integers(0, 10**6), min_size=1, max_size=6), begin=st.booleans())
    def stop_batch(self, picks, begin):
        """Several tasks (maybe one twice) in one call of either step, as the lifecycle batches a tick."""
        arns = self.fast.task_table().column("task_arn").to_pylist()
        if arns:
            chosen = [arns[p % len(arns)] for p in picks]
            if begin:
                self.both(lambda cluster, fast: cluster.begin_stop_tasks(chosen))
            else:
                self.both(lambda cluster, fast: cluster.stop_tasks(chosen))

    @rule()
    def reload(self):
        """A cluster loaded from the tables holds what the original holds (stopping rows too)."""
        loaded = Cluster.from_arrow(self.fast.instance_table(), self.fast.task_table())
        assert loaded.instance_table().equals(self.fast.instance_table())
        check_invariants(loaded)

    @rule(pick=st.integers(0, 10**6), status=st.sampled_from(["ACTIVE", "DRAINING"]))
    def drain(self, pick, status):
        instance = f"i-{pick % self.registered:03d}"
        self.both(lambda cluster, fast: cluster.update_container_instances_state([instance], status))

    @rule(pick=st.integers(0, 10**6), zone=st.sampled_from(["a", "b", "d"]), custom=st.booleans())
    def attribute(self, pick, zone, custom):
        arn = self.fast.state.arns[pick % self.registered]
        name = "team" if custom else ZONE
        self.both(lambda cluster, fast: cluster.put_attributes(
            [{"name": name, "value": zone, "targetType": "container-instance", "targetId": arn}]))

    @precondition(lambda self: self.registered < 20)
    @rule()
    def register(self):
        instance = f"i-new-{self.registered}"
        self.registered += 1
        self.both(lambda cluster, fast: cluster.register_container_instance(
            instance, total_resources=[{"name": "CPU", "type": "INTEGER", "integerValue": 1024},
                                       {"name": "MEMORY", "type": "INTEGER", "integerValue": 2048}],
            attributes=[{"name": ZONE, "value": "b"}], registered_at=WHEN)["ec2InstanceId"])

    @rule(pick=st.integers(0, 10**6))
    def deregister(self, pick):
        instance = self.fast.state.ids[pick % self.registered]
        self.both(lambda cluster, fast: cluster.deregister_container_instance(instance, force=True)["status"])

    @rule(picks=st.lists(st.integers(0, 10**6), min_size=1, max_size=3))
    def start(self, picks):
        names = [self.fast.state.ids[p % self.registered] for p in picks]
        self.both(lambda cluster, fast: cluster.start_task(REQUIREMENTS["dynamic"], names, group="service:a")
                  .placements.drop(["task_arn"]).to_pylist())

    @rule(group=st.sampled_from(["a", "b"]), count=st.sampled_from([1, 3, 2**63]),
          strategy=st.sampled_from([None, "random"]))
    def scale_in(self, group, count, strategy):
        self.both(lambda cluster, fast: cluster.choose_tasks_to_stop(
            f"service:{group}", count, STRATEGIES[strategy] if strategy else None))

    @rule()
    def copy(self):
        original = self.fast
        self.fast = original.copy()
        assert self.fast.task_table().equals(original.task_table())
        assert self.fast.instance_table().equals(original.instance_table())

    @rule()
    def pickle_round_trip(self):
        self.fast = pickle.loads(pickle.dumps(self.fast))

    @invariant()
    def same_and_sound(self):
        assert self.fast.task_table().equals(self.plain.task_table())
        assert self.fast.instance_table().equals(self.plain.instance_table())
        check_invariants(self.fast)
        check_invariants(self.plain)


TestTwinMachine = TwinMachine.TestCase
TestTwinMachine.settings = settings(max_examples=15, stateful_step_count=30, deadline=None,
                                    suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.slow
def test_twin_machine_long():
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(TwinMachine, settings=settings(max_examples=30, stateful_step_count=40,
                                                             deadline=None))


# ---------------------------------------------------------------- copies, pickles, seeds

def busy_cluster() -> Cluster:
    cluster = Cluster.from_arrow(fleet(30))
    for k in range(6):
        cluster.run_task(REQUIREMENTS["dynamic"], count=7, group=f"service:{k % 2}",
                         placement_strategy=STRATEGIES["zone+memory"])
    for arn in cluster.task_table().column("task_arn").to_pylist()[::3]:
        cluster.stop_task(arn)
    return cluster


@pytest.mark.parametrize("make_twin", [lambda c: c.copy(), lambda c: pickle.loads(pickle.dumps(c))],
                         ids=["copy", "pickle"])
def test_a_copy_places_exactly_like_the_original_and_is_independent(make_twin):
    cluster = busy_cluster()
    twin = make_twin(cluster)
    assert twin.task_table().equals(cluster.task_table())
    for strategy in ("zone+memory", "random", "instance"):  # no seed: both continue the same stream
        ours = cluster.run_task(REQUIREMENTS["dynamic"], count=5, placement_strategy=STRATEGIES[strategy])
        theirs = twin.run_task(REQUIREMENTS["dynamic"], count=5, placement_strategy=STRATEGIES[strategy])
        assert ours.placements.equals(theirs.placements)
    cluster.stop_task(cluster.task_table().column("task_arn")[0].as_py())
    assert twin.task_table().num_rows == cluster.task_table().num_rows + 1
    check_invariants(twin)


def test_requests_without_a_seed_take_the_stream_in_order():
    cluster = Cluster.from_arrow(fleet(30))
    drawn = [cluster.run_task(REQUIREMENTS["plain"]).request.seed for _ in range(3)]
    stream = SeedStream()
    assert drawn == [stream.next_seed() for _ in range(3)]
    assert len(set(drawn)) == 3
    assert cluster.run_task(REQUIREMENTS["plain"], seed=5).request.seed == 5
    assert cluster.seed_stream.drawn == 3  # an explicit seed draws nothing
    with pytest.raises(InvalidParameterError):
        cluster.run_task(REQUIREMENTS["plain"], count=0)
    assert cluster.seed_stream.drawn == 3  # nor does a refused request


def test_clusters_can_share_a_stream():
    shared = SeedStream(stream_seed=42)
    first, second = (Cluster.from_arrow(fleet(5)) for _ in range(2))
    first.seed_stream = second.seed_stream = shared
    a = first.run_task(REQUIREMENTS["plain"]).request.seed
    b = second.run_task(REQUIREMENTS["plain"]).request.seed
    assert (a, b) == (SeedStream(42).next_seed(), SeedStream(42, 1).next_seed())


# ---------------------------------------------------------------- bounded buffers, snapshots

def test_a_port_range_wider_than_one_call_places_what_fits():
    cluster = Cluster.from_arrow(pa.table({"ec2_instance_id": ["i-1"], "cpu_registered": [10**6],
                                           "memory_registered": [10**6]}))
    result = cluster.run_task(TaskRequirements(cpu=1, memory=1, dynamic_tcp=100), count=1000, seed=1)
    free = 65535 - 49153 + 1 - sum(p >= 49153 for p in cluster.state.reserved_tcp[0])
    assert result.placed_count == free // 100 and result.failed_count == 1000 - free // 100
    check_invariants(cluster)


@pytest.mark.slow
def test_many_dynamic_port_tasks_on_two_instances_place_what_fits():
    cluster = Cluster.from_arrow(pa.table({"ec2_instance_id": ["i-1", "i-2"], "cpu_registered": [10**9] * 2,
                                           "memory_registered": [10**9] * 2}))
    result = cluster.run_task(TaskRequirements(cpu=0, memory=1, dynamic_tcp=1), count=200_000, seed=1)
    assert result.placed_count + result.failed_count == 200_000
    check_invariants(cluster)


def test_tables_handed_out_are_snapshots():
    cluster = busy_cluster()
    instances, tasks = cluster.instances, cluster.task_table()
    saved = instances.to_pylist(), tasks.to_pylist()
    cluster.run_task(REQUIREMENTS["dynamic"], count=10)
    cluster.stop_task(tasks.column("task_arn")[0].as_py())
    assert (instances.to_pylist(), tasks.to_pylist()) == saved


def test_tasks_that_hold_nothing_are_bounded_before_anything_is_placed():
    cluster = Cluster.from_arrow(fleet(3))
    with pytest.raises(InvalidParameterError) as refused:
        cluster.run_task(TaskRequirements(cpu=0, memory=0), count=2**31 - 1)
    assert refused.value.field == "count"
    assert cluster.task_table().num_rows == 0 and cluster.seed_stream.drawn == 0


def test_scale_in_with_a_huge_count_chooses_every_task():
    cluster = busy_cluster()
    live = cluster.task_table().filter(pa.compute.equal(cluster.task_table().column("group"), "service:0"))
    chosen = cluster.choose_tasks_to_stop("service:0", 2**63)
    assert sorted(chosen) == sorted(live.column("task_arn").to_pylist())


def test_stopped_tasks_leave_the_live_state():
    cluster = Cluster.from_arrow(fleet(30))
    for _ in range(40):
        cluster.run_task(REQUIREMENTS["plain"], count=3)
    for arn in cluster.task_table().column("task_arn").to_pylist()[:-5]:
        cluster.stop_task(arn)
    assert cluster.tasks.live_count() == 5
    assert cluster.tasks.rows <= 5 + 1024  # stopped rows kept at most as many as live ones, or a few
    check_invariants(cluster)


def test_live_tasks_whose_sums_pass_int64_are_refused_at_load():
    from quaymaster.errors import QuaymasterError

    tasks = pa.table({"task_arn": ["t-1", "t-2", "t-3"], "ec2_instance_id": ["i-000"] * 3,
                      "group": ["service:a"] * 3, "cpu": pa.array([2**62] * 3, pa.int64())})
    with pytest.raises(QuaymasterError) as refused:
        Cluster.from_arrow(fleet(2), tasks)
    assert "cpu" in str(refused.value)


# ---------------------------------------------------------------- two-step stop

def test_a_stopping_task_frees_its_resources_but_keeps_its_port_until_stopped():
    cluster = Cluster.from_arrow(fleet(1))  # i-000: 1024 CPU
    whole = TaskRequirements(cpu=1024, memory=256, static_tcp=(8080,))
    first = cluster.run_task(whole, group="service:a").placements.column("task_arn")[0].as_py()
    assert cluster.run_task(TaskRequirements(cpu=1024, memory=256), group="service:b").failures[0]["reason"] \
        == "RESOURCE:CPU"
    assert cluster.begin_stop_task(first) is True
    assert cluster.begin_stop_task(first) is False  # once only: nothing is given back twice
    row = cluster.task_table().to_pylist()[0]
    assert (row["last_status"], row["cpu"], row["host_ports"]) == ("STOPPING", 0, [8080])
    same_port = cluster.run_task(whole, group="service:b")
    assert same_port.failures[0]["reason"] == "RESOURCE:PORTS"
    other_port = cluster.run_task(TaskRequirements(cpu=1024, memory=256, static_tcp=(8081,)), group="service:b")
    assert other_port.placed_count == 1
    check_invariants(cluster)
    cluster.stop_task(first)
    assert cluster.state.running_tasks[0] == 1 and 8080 not in cluster.owner.ports.ports_of(0)[0]
    check_invariants(cluster)


def test_a_stopping_task_still_counts_in_its_group_for_distinct_instance():
    cluster = Cluster.from_arrow(fleet(1))
    arn = cluster.run_task(REQUIREMENTS["plain"], group="service:a").placements.column("task_arn")[0].as_py()
    cluster.begin_stop_task(arn)
    distinct = [{"type": "distinctInstance"}]
    assert cluster.run_task(REQUIREMENTS["plain"], group="service:a", placement_constraints=distinct).failed_count == 1
    cluster.stop_task(arn)
    assert cluster.run_task(REQUIREMENTS["plain"], group="service:a", placement_constraints=distinct).placed_count == 1


def test_a_batch_naming_an_unknown_task_changes_nothing():
    from quaymaster.errors import NotFoundError

    cluster = busy_cluster()
    before = cluster.task_table()
    arns = before.column("task_arn").to_pylist()[:3]
    for operation in (cluster.stop_tasks, cluster.begin_stop_tasks):
        with pytest.raises(NotFoundError):
            operation(arns + ["no-such-task"])
        assert cluster.task_table().equals(before)
    assert cluster.begin_stop_tasks(arns + arns[:1]) == 3
    cluster.stop_tasks(arns)
    assert cluster.task_table().num_rows == before.num_rows - 3
    check_invariants(cluster)


def test_a_batch_stop_larger_than_the_compaction_threshold_stops_every_task_it_names():
    cluster = Cluster.from_arrow(fleet(3))
    for _ in range(30):   # many small placements: many rows in tail chunks
        cluster.run_task(TaskRequirements(cpu=0, memory=1, dynamic_tcp=1), count=100, seed=1)
    arns = cluster.task_table().column("task_arn").to_pylist()
    cluster.begin_stop_tasks(arns[:2500])
    cluster.stop_tasks(arns[:2500])   # compaction is due long before the last one
    assert cluster.task_table().column("task_arn").to_pylist() == arns[2500:]
    check_invariants(cluster)
