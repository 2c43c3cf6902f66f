"""pytest-benchmark: B5 churn, LOAD (Cluster.from_arrow) and COPY (Cluster.copy()).

Each is checked before it is timed: B5's short stream against the plain
per-task loop (every answer and the final tables), LOAD's tables against the
input, COPY's tables, independence and next placements against the original.

    python -m pytest benchmarks/bench_churn_load.py [--bench-quick] [--benchmark-json out.json]
"""

from __future__ import annotations

import numpy as np
import pytest

from quaymaster import Cluster
from quaymaster.bench import scenarios as sc
from quaymaster.bench.churn import Driver, exactness_checks
from quaymaster.bench.load import busy_cluster, copy_checks
from quaymaster.bench.timing import format_seconds


def _failed(checks) -> list[str]:
    return [f"{c.name}: {c.detail}" for c in checks if not c.passed]


def test_b5_churn(benchmark, sizes, summary):
    """B5: one round = one operation of the seeded stream, after the exactness check."""
    churn = sc.b5(sizes)
    check_ops = churn.stream(churn.check_ops)
    fast, plain = Driver(churn, True, record=True), Driver(churn, False, record=True)
    fast.drive(check_ops, enabled=False)
    plain.drive(check_ops, enabled=False)
    assert not _failed(exactness_checks(fast, plain, churn.check_ops))
    plain_median = float(np.median(plain.times))
    del fast, plain
    driver = Driver(churn, True)
    operations = iter(enumerate(churn.stream(churn.ops).tolist()))

    def one_operation():
        index, (kind, a, b) = next(operations)
        driver.apply(index, kind, a, b)

    benchmark.group = "B5"
    benchmark.pedantic(one_operation, rounds=churn.ops, iterations=1)
    data = np.array(benchmark.stats.stats.data)
    labels = np.array(driver.labels)
    port_ratio = float(np.median(data[labels == "run_port"]) / np.median(data[labels == "run"]))
    p99 = float(np.percentile(data, 99))
    benchmark.extra_info.update({"ops": churn.ops, "p99_s": p99, "port_ratio": port_ratio,
                                 "plain_loop_median_s": plain_median})
    summary("B5", f"B5: median {format_seconds(float(np.median(data)))}/op (target 25 us), p99 "
            f"{format_seconds(p99)} (target 250 us), dynamic port / none {port_ratio:.2f}x (target 1.5x); "
            f"plain loop {format_seconds(plain_median)}/op on the checked stream")


def test_load_from_arrow(benchmark, sizes, summary):
    table = sc.fleet_of(sizes.load_instances)
    loaded = Cluster.from_arrow(table).instance_table()
    assert loaded.column("ec2_instance_id").equals(table.column("ec2_instance_id"))
    assert loaded.column("cpu_remaining").equals(table.column("cpu_remaining"))
    benchmark.group = "LOAD"
    benchmark.pedantic(Cluster.from_arrow, args=(table,), rounds=3, iterations=1)
    summary("LOAD", f"LOAD: from_arrow of {table.num_rows} instances "
            f"{format_seconds(benchmark.stats.stats.median)} (target 0.1 s)")


def test_copy(benchmark, sizes, summary):
    if not hasattr(Cluster, "copy"):
        pytest.skip("Cluster.copy() is not in this build")
    scenario, cluster, placed = busy_cluster(sizes)
    assert not _failed(copy_checks(scenario, cluster))
    benchmark.group = "COPY"
    benchmark.pedantic(cluster.copy, rounds=5, iterations=1)
    summary("COPY", f"COPY: copy() of {scenario.instances} instances, {placed} live tasks "
            f"{format_seconds(benchmark.stats.stats.median)} (target 5 ms)")
