"""Every fast path of the C core equals the plain per-task scan.

``run_task(..., fast_paths=False)`` makes the core scan every instance for
every task, which is the loop the reference is checked against
(test_engine_vs_reference.py); here the fast paths (sticky binpack refills,
the per-cell heap index) must give the same placements, failures and final
state on larger requests that fill fleets up, with ties (identical
instances), missing attributes and ports.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from quaymaster import Cluster
from quaymaster.taskdef import TaskRequirements

ZONES = ["us-east-1a", "us-east-1b", "us-east-1c", None]
STACKS = ["web", "api", None]
CHAINS = [
    [{"type": "spread", "field": "attribute:ecs.availability-zone"}, {"type": "binpack", "field": "memory"}],
    [{"type": "spread", "field": "attribute:ecs.availability-zone"}, {"type": "spread", "field": "instanceId"}],
    [{"type": "binpack", "field": "cpu"}, {"type": "spread", "field": "attribute:stack"}, {"type": "random"}],
    [{"type": "binpack", "field": "memory"}],
    [{"type": "binpack", "field": "cpu"}, {"type": "binpack", "field": "memory"}],
    [{"type": "spread", "field": "instanceId"}],
    [{"type": "spread", "field": "attribute:stack"}, {"type": "binpack", "field": "cpu"},
     {"type": "spread", "field": "attribute:ecs.availability-zone"}],
    [{"type": "binpack", "field": "memory"}, {"type": "spread", "field": "instanceId"}, {"type": "random"}],
    [{"type": "spread", "field": "attribute:stack"}, {"type": "spread", "field": "instanceId"},
     {"type": "binpack", "field": "memory"}],
]


@st.composite
def fleets(draw):
    n = draw(st.integers(1, 120))
    sizes = draw(st.lists(st.sampled_from([512, 1024, 2048, 4096]), min_size=1, max_size=3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    cpu = rng.choice(sizes, n)
    return pa.table({
        "ec2_instance_id": [f"i-{k:05d}" for k in range(n)],
        "cpu_registered": cpu,
        "memory_registered": cpu * rng.choice([1, 2], n),
        "status": rng.choice(["ACTIVE"] * 9 + ["DRAINING"], n),
        "attribute:ecs.availability-zone": rng.choice(np.array(ZONES, dtype=object), n).tolist(),
        "attribute:stack": rng.choice(np.array(STACKS, dtype=object), n).tolist(),
    })


@st.composite
def requests(draw):
    ports = draw(st.sampled_from([(), (80,), ()]))
    return {
        "requirements": TaskRequirements(cpu=draw(st.sampled_from([0, 64, 128, 256])),
                                         memory=draw(st.sampled_from([0, 64, 256])),
                                         static_tcp=ports, dynamic_tcp=draw(st.sampled_from([0, 0, 1]))),
        "count": draw(st.integers(1, 3000)),
        "placement_strategy": draw(st.sampled_from(CHAINS)),
        "placement_constraints": draw(st.sampled_from([None, [{"type": "distinctInstance"}]])),
        "seed": draw(st.integers(0, 2**64 - 1)),
    }


def _run(fleet, request, fast_paths):
    cluster = Cluster.from_arrow(fleet)
    result = cluster.run_task(request["requirements"], count=request["count"], group="g",
                              placement_strategy=request["placement_strategy"],
                              placement_constraints=request["placement_constraints"],
                              seed=request["seed"], fast_paths=fast_paths)
    return cluster, result


@settings(max_examples=150, deadline=None)
@given(fleets(), requests())
def test_fast_paths_equal_the_scan(fleet, request):
    fast_cluster, fast = _run(fleet, request, True)
    slow_cluster, slow = _run(fleet, request, False)
    assert fast.placements.select(["task_index", "position", "host_ports"]).equals(
        slow.placements.select(["task_index", "position", "host_ports"]))
    assert fast.positions.tolist() == fast.placements.column("position").to_pylist()
    assert fast.failures[:1] == slow.failures[:1] and fast.failed_count == slow.failed_count
    assert fast.failures == slow.failures
    for name in ("cpu_remaining", "memory_remaining", "running_tasks"):
        np.testing.assert_array_equal(getattr(fast_cluster.state, name), getattr(slow_cluster.state, name))
