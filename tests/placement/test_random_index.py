"""The order-statistic draw for chains that start with ``random`` equals the scan.

With random first, task t goes to the feasible instance at index j(t, n) in
position order; the core keeps the feasible positions in a Fenwick tree and
descends to the j-th instead of scanning (csrc/random.c). These tests drive
whole requests through ``run_task`` with the fast path and with
``fast_paths=False`` (the plain per-task scan) and require the same
placements, host ports, failures (reason, arn, detail) and final state; a few
explicit cases are checked against the pure-Python reference as well.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine_harness import assert_same_as_reference, constraints_from, engine_ports, requirements_from
from quaymaster import Cluster
from quaymaster.errors import InvalidInputError
from quaymaster.keys import seed_state, tie_keys
from quaymaster.native import ffi, lib, ptr
from reference.strategies import STRATEGY_POOL, fleets, requests, seeds

RANDOM = {"type": "random", "field": None}
STATE_COLUMNS = ("cpu_remaining", "memory_remaining", "gpu_remaining", "running_tasks")


@st.composite
def random_first_requests(draw):
    """A reference-shaped request whose chain starts with random (or is empty: the default is
    random), with counts large enough to exhaust small fleets."""
    request = draw(requests())
    tail = draw(st.lists(st.sampled_from(STRATEGY_POOL), max_size=2))
    request["strategy"] = draw(st.sampled_from([[], [dict(RANDOM)], [dict(RANDOM)] + [dict(r) for r in tail]]))
    request["count"] = draw(st.one_of(st.integers(1, 20), st.integers(100, 3000)))
    return request


def _place(instances, tasks, request: dict, seed: int, fast_paths: bool):
    """(cluster, result), or (None, exception type) when the engine refuses the request."""
    try:
        cluster = Cluster.from_arrow(instances, tasks)
        result = cluster.run_task(requirements_from(request), count=request["count"], group=request["group"],
                                  placement_constraints=constraints_from(request) or None,
                                  placement_strategy=request["strategy"] or None, seed=seed,
                                  fast_paths=fast_paths)
    except InvalidInputError as exc:
        return None, type(exc)
    return cluster, result


def assert_fast_equals_scan(instances, tasks, request: dict, seed: int) -> None:
    fast_cluster, fast = _place(instances, tasks, request, seed, True)
    scan_cluster, scan = _place(instances, tasks, request, seed, False)
    if fast_cluster is None or scan_cluster is None:
        assert fast_cluster is None and scan_cluster is None and fast == scan
        return
    columns = ["task_index", "position", "ec2_instance_id", "host_ports", "host_ports_udp"]
    assert fast.placements.select(columns).to_pylist() == scan.placements.select(columns).to_pylist()
    assert fast.failures == scan.failures
    for name in STATE_COLUMNS:
        np.testing.assert_array_equal(getattr(fast_cluster.state, name), getattr(scan_cluster.state, name), name)
    assert engine_ports(fast_cluster) == engine_ports(scan_cluster)
    assert fast_cluster.task_table().equals(scan_cluster.task_table())


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(fleets(max_instances=120), random_first_requests(), seeds())
def test_random_first_fast_path_equals_the_scan(fleet, request, seed):
    instances, tasks = fleet
    assert_fast_equals_scan(instances, tasks, request, seed)


@pytest.mark.slow
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(fleets(), random_first_requests(), seeds())
def test_random_first_fast_path_equals_the_scan_long(fleet, request, seed):
    instances, tasks = fleet
    assert_fast_equals_scan(instances, tasks, request, seed)


@st.composite
def large_fleets(draw):
    """Fleets of several blocks of positions (the fast path keeps 256 per block), generated with
    numpy so that thousands of rows stay cheap: mixed sizes, DRAINING and disconnected
    instances, an attribute for memberOf, reserved ports that collide with requests."""
    n = draw(st.integers(257, 2500))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    cpu = rng.choice([256, 512, 1024, 2048], n)
    reserved = [None, [22, 80], [22, 49153, 49154], [443, 8080]]
    return pa.table({
        "ec2_instance_id": [f"i-{p:06d}" for p in range(n)],
        "cpu_registered": cpu,
        "memory_registered": cpu * rng.choice([1, 2, 4], n),
        "status": rng.choice(["ACTIVE"] * 8 + ["DRAINING", "INACTIVE"], n).tolist(),
        "agent_connected": (rng.random(n) > 0.05).tolist(),
        "reserved_ports": pa.array([reserved[k] for k in rng.integers(0, len(reserved), n)], pa.list_(pa.int32())),
        "attribute:stack": rng.choice(np.array(["prod", "dev", None], dtype=object), n).tolist(),
    })


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(large_fleets(), random_first_requests(), seeds())
def test_random_first_on_many_blocks_equals_the_scan(instances, request, seed):
    assert_fast_equals_scan(instances, None, request, seed)


def _uniform_fleet(n: int, cpu: int = 1024, **columns) -> pa.Table:
    return pa.table({"ec2_instance_id": [f"i-{p:05d}" for p in range(n)],
                     "cpu_registered": np.full(n, cpu), "memory_registered": np.full(n, 4 * cpu), **columns})


def _request(**changes) -> dict:
    request = {"cpu": 256, "memory": 256, "gpu": 0, "eni": 0, "static_tcp": [], "static_udp": [],
               "dynamic_tcp": 0, "dynamic_udp": 0, "required_attributes": [], "member_of": [],
               "distinct_instance": False, "count": 10, "group": "service:web", "strategy": [dict(RANDOM)]}
    request.update(changes)
    return request


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 9, 255, 256, 257, 511, 512, 513, 767, 1025, 2304, 2305])
def test_fleet_sizes_around_block_and_tree_edges(n):
    """Positions go in blocks of 256 under a Fenwick tree padded to a power of two: one block,
    a full last block, a last block of one, block counts at and past powers of two all fill
    the fleet exactly as the scan does, then fail as it does."""
    request = _request(cpu=512, memory=512, count=2 * n + 1)  # two per instance fit, one more fails
    assert_fast_equals_scan(_uniform_fleet(n), None, request, seed=n)
    cluster, result = _place(_uniform_fleet(n), None, request, n, True)
    assert result.placed_count == 2 * n and result.failed_count == 1
    assert np.bincount(result.positions, minlength=n).tolist() == [2] * n


EXPLICIT_CASES = {
    # Draining and disconnected instances never enter the set; counts exhaust the rest.
    "draining_and_disconnected": (
        _uniform_fleet(12, status=["ACTIVE", "DRAINING"] * 6,
                       agent_connected=[True, True, False] + [True] * 9),
        _request(count=40)),
    # Static port 80: one task per instance, then the ports stage ends the request.
    "static_port": (_uniform_fleet(9), _request(cpu=64, memory=64, static_tcp=[80], count=12)),
    # Dynamic ports: instances leave the set when their resources run out.
    "dynamic_ports": (_uniform_fleet(7), _request(dynamic_tcp=2, dynamic_udp=1, count=40)),
    # distinctInstance: each winner leaves the set at once.
    "distinct_instance": (_uniform_fleet(11), _request(cpu=64, memory=64, distinct_instance=True, count=15)),
    # memberOf on a static attribute keeps part of the fleet for the whole request.
    "member_of": (
        _uniform_fleet(10, **{"attribute:stack": ["prod", "dev"] * 5}),
        _request(member_of=["attribute:stack == dev"], count=25)),
    # No strategy: RunTask's default is random.
    "default_strategy": (_uniform_fleet(6), _request(strategy=[], count=30)),
    # Strategies after random are never reached.
    "random_then_binpack": (
        _uniform_fleet(8), _request(strategy=[dict(RANDOM), {"type": "binpack", "field": "memory"}], count=33)),
}


@pytest.mark.parametrize("name", sorted(EXPLICIT_CASES))
@pytest.mark.parametrize("seed", [0, 7, 2**64 - 1])
def test_explicit_cases_equal_the_reference(name, seed):
    instances, request = EXPLICIT_CASES[name]
    assert_same_as_reference(instances, None, request, seed)
    assert_fast_equals_scan(instances, None, request, seed)


def test_failure_after_the_set_empties_is_the_scans():
    """The failure once every instance is full carries the scan's reason and detail."""
    instances, request = EXPLICIT_CASES["draining_and_disconnected"]
    cluster, result = _place(instances, None, request, 3, True)
    assert result.placed_count == 20  # 5 ACTIVE connected instances x 4 tasks of 256 cpu
    assert result.failed_count == 20
    assert result.failures[0]["reason"] == "RESOURCE:CPU"


def _core_call(n: int, count: int, fast_paths: int, seed: int):
    """qm_place straight through cffi: random first over n instances of mixed room, a third of
    them stopped before the resources, instance 0 with room for four; returns what the call
    reported."""
    rng = np.random.default_rng(seed)
    arrays = {"prefilter": rng.choice([lib.QM_STAGE_CPU] * 2 + [lib.QM_STAGE_AGENT], n).astype(np.uint8),
              "cpu": rng.choice([0, 256, 512, 1024], n).astype(np.int64), "memory": np.full(n, 10**6, np.int64),
              "gpu": np.zeros(n, np.int64), "eni_limit": np.full(n, -1, np.int64),
              "eni_used": np.zeros(n, np.int64), "member_ok": (rng.random(n) > 0.1).astype(np.uint8),
              "group": np.zeros(n, np.int64), "running": np.zeros(n, np.int64), "tie": tie_keys(seed, n),
              "added": np.zeros(2, np.int64), "positions": np.full(count, -1, np.int64)}
    arrays["prefilter"][0], arrays["cpu"][0], arrays["member_ok"][0] = lib.QM_STAGE_CPU, 1024, 1  # one fits
    view = ffi.new("qm_instances *", {"n": n})
    for field, key in (("prefilter", "prefilter"), ("cpu_remaining", "cpu"), ("memory_remaining", "memory"),
                       ("gpu_remaining", "gpu"), ("eni_limit", "eni_limit"), ("eni_used", "eni_used"),
                       ("member_ok", "member_ok"), ("group_count", "group"), ("running_tasks", "running"),
                       ("tie_key", "tie")):
        setattr(view, field, ptr(arrays[key]))
    strategies = ffi.new("qm_strategy[]", [{"kind": lib.QM_RANDOM}])
    rq = ffi.new("qm_request *", {"cpu": 256, "memory": 1, "seed_state": seed_state(seed), "fast_paths": fast_paths})
    ports = ffi.new("qm_ports *", {"added": ptr(arrays["added"]), "added_capacity": 2})
    result = ffi.new("qm_result *", {"position": ptr(arrays["positions"])})
    assert lib.qm_place(view, strategies, 1, rq, ports, count, 0, 0, ffi.NULL, result) == lib.QM_OK
    return (result.placed, arrays["positions"].tolist(), result.failed, result.fail_stage, result.fail_position,
            list(result.fail_counts), list(result.removed), arrays["cpu"].tolist())


@pytest.mark.parametrize("n, seed", [(1, 0), (300, 1), (700, 2), (2000, 2**64 - 1)])
def test_core_random_bit_equals_the_scan(n, seed):
    """In the C core, QM_PATH_RANDOM alone gives what the call without fast paths gives: the
    same positions, failure (stage, closest instance, counts) and first-task counts."""
    count = 3 * n + 5  # past the capacity (at most 4 tasks of 256 per instance, fewer on most)
    assert _core_call(n, count, lib.QM_PATH_RANDOM, seed) == _core_call(n, count, 0, seed)
    placed, positions, failed = _core_call(n, count, lib.QM_PATH_RANDOM, seed)[:3]
    assert failed == 1 and 0 < placed < count and -1 not in positions[:placed]
