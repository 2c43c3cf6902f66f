"""Large requests: chunked placement, lazy failures, the count limit.

The engine hands a large request to the core a chunk of tasks at a time
(engine._CHUNK), so that memory follows the tasks placed; the placements must
not depend on where the chunks end. Failures shared by the rest of a request
are a lazy sequence, so a request far beyond the fleet's room costs no row per
task until rows are read.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quaymaster import Cluster
from quaymaster.errors import InvalidParameterError
from quaymaster.placement import engine
from quaymaster.taskdef import TaskRequirements

CHAINS = [None, [{"type": "random"}],
          [{"type": "spread", "field": "attribute:zone"}, {"type": "binpack", "field": "memory"}],
          [{"type": "binpack", "field": "cpu"}, {"type": "random"}],
          [{"type": "spread", "field": "instanceId"}]]


def fleet(n: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({"ec2_instance_id": [f"i-{k}" for k in range(n)],
                     "cpu_registered": rng.choice([512, 1024, 2048], n),
                     "memory_registered": rng.choice([1024, 2048], n),
                     "attribute:zone": rng.choice(["a", "b", "c"], n).tolist()})


def place(table, request, seed):
    cluster = Cluster.from_arrow(table)
    result = cluster.run_task(request["requirements"], count=request["count"], group="g",
                              placement_strategy=request["chain"], seed=seed)
    return result.placements.select(["position", "host_ports"]).to_pylist(), list(result.failures)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(0, 2**32 - 1), st.integers(0, 2**64 - 1),
       st.sampled_from(CHAINS), st.integers(1, 600), st.integers(1, 9), st.sampled_from([0, 1]))
def test_chunk_boundaries_do_not_change_placements(n, fleet_seed, seed, chain, count, chunk, dynamic):
    table = fleet(n, fleet_seed)
    request = {"requirements": TaskRequirements(cpu=64, memory=128, dynamic_tcp=dynamic),
               "count": count, "chain": chain}
    whole = place(table, request, seed)
    saved = engine._CHUNK
    engine._CHUNK = chunk
    try:
        chunked = place(table, request, seed)
    finally:
        engine._CHUNK = saved
    assert chunked == whole


def test_a_request_far_beyond_the_fleet_costs_no_row_per_task():
    # Two instances of 100 CPU units, tasks of 60: one task each, then two billion failures.
    cluster = Cluster.from_arrow(pa.table({"ec2_instance_id": ["a", "b"], "cpu_registered": [100, 100],
                                           "memory_registered": [100, 100]}))
    result = cluster.run_task(TaskRequirements(cpu=60), count=2_000_000_000)
    assert result.placed_count == 2
    failures = result.failures
    assert len(failures) == result.failed_count == 2_000_000_000 - 2
    assert failures[0]["task_index"] == 2 and failures[-1]["task_index"] == 1_999_999_999
    assert failures[0]["reason"] == failures[-1]["reason"] == "RESOURCE:CPU"
    assert failures[:2] == [failures[0], failures[1]]


def test_failures_compare_and_tabulate_like_lists():
    cluster = Cluster.from_arrow(pa.table({"ec2_instance_id": ["a"], "cpu_registered": [100],
                                           "memory_registered": [100]}))
    result = cluster.run_task(TaskRequirements(cpu=60), count=4)
    rows = [{"task_index": t, **result.failure} for t in (1, 2, 3)]
    assert result.failures == rows and rows == result.failures
    assert result.failures != rows[:2]
    assert result.failures_table().to_pylist() == rows


@pytest.mark.parametrize("count", [2**31, 10**12])
def test_counts_beyond_ecs_integer_range_are_refused(count):
    cluster = Cluster.from_arrow(pa.table({"ec2_instance_id": ["a"], "cpu_registered": [100],
                                           "memory_registered": [100]}))
    with pytest.raises(InvalidParameterError, match="count") as raised:
        cluster.run_task(TaskRequirements(cpu=1), count=count)
    assert raised.value.field == "count" and raised.value.value == count
    assert cluster.task_table().num_rows == 0


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 20), st.integers(0, 2**32 - 1), st.integers(1, 120), st.integers(1, 7),
       st.sampled_from([0, 1]))
def test_commit_batches_of_one_task_at_a_time_requests_do_not_change_placements(n, fleet_seed, count,
                                                                                 batch, dynamic):
    # runningTasksCount changes as tasks land, so the core places one task per call and the
    # engine commits every _DYNAMIC_BATCH tasks; where those commits fall must not matter.
    table = fleet(n, fleet_seed)

    def run():
        cluster = Cluster.from_arrow(table)
        result = cluster.run_task(TaskRequirements(cpu=64, memory=128, dynamic_tcp=dynamic), count=count,
                                  group="g", placement_constraints=[
                                      {"type": "memberOf", "expression": "runningTasksCount < 6"}])
        return (result.placements.select(["position", "host_ports"]).to_pylist(), list(result.failures),
                cluster.task_table().select(["ec2_instance_id", "host_ports"]).to_pylist())

    whole = run()
    saved = engine._DYNAMIC_BATCH
    engine._DYNAMIC_BATCH = batch
    try:
        assert run() == whole
    finally:
        engine._DYNAMIC_BATCH = saved
