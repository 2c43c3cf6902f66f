"""CQL evaluation at fleet scale: the column masks against the row-by-row reference.

100,000 instances, one expression of five predicates (a pattern, an ``in``
list, a missing-attribute-sensitive ``!=``, a count and a flag). The mask is
first checked equal to the reference's answer, then evaluation (after
compilation) is timed, and the reference is timed on the same data in the
same run; the figures are ns per instance and the speedup over the reference.
Targets: <= 1 ms per evaluation, >= 50x the reference.

    python -m pytest benchmarks/bench_cql.py      # pytest-benchmark
    python benchmarks/bench_cql.py                # plain script, prints the figures
"""

from __future__ import annotations

import pathlib
import sys
import time

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))

from reference import cql_ref

from quaymaster import Cluster, cql
from quaymaster.model.schema import TIMESTAMP

N_INSTANCES = 100_000
SEED = 20180213
EXPRESSION = ("attribute:ecs.instance-type =~ 'm5\\..*' "
              "and attribute:ecs.availability-zone in [us-east-1a, us-east-1b, us-east-1c] "
              "and runningTasksCount < 3 "
              "and agentConnected == true "
              "and attribute:stack != prod")
TARGET_SECONDS, TARGET_SPEEDUP = 1e-3, 50.0

_TYPES = [f"{family}.{size}" for family in ("t2", "t3", "m5", "m6i", "c5", "c6g", "r5", "g4dn")
          for size in ("small", "medium", "large", "xlarge", "2xlarge")]
_ZONES = [f"us-east-1{z}" for z in "abcdef"]
_STACKS = np.array(["prod", "dev", "test", None], dtype=object)


def build_fleet(n: int = N_INSTANCES, seed: int = SEED):
    """(instances, tasks) tables: a seeded fleet with ~1.5 live tasks per instance."""
    rng = np.random.default_rng(seed)
    ids = [f"i-{k:017x}" for k in range(n)]
    instances = pa.table({
        "ec2_instance_id": ids,
        "cpu_registered": np.full(n, 4096, dtype=np.int64),
        "memory_registered": np.full(n, 16384, dtype=np.int64),
        "agent_connected": rng.random(n) < 0.95,
        "registered_at": pa.array(np.full(n, 1_518_480_000_000_000, dtype=np.int64)
                                  + rng.integers(0, 10**13, n), pa.int64()).cast(TIMESTAMP),
        "attribute:ecs.instance-type": pa.array(np.array(_TYPES)[rng.integers(0, len(_TYPES), n)]),
        "attribute:ecs.availability-zone": pa.array(np.array(_ZONES)[rng.integers(0, len(_ZONES), n)]),
        "attribute:stack": pa.array(_STACKS[rng.integers(0, len(_STACKS), n)].tolist(), pa.string()),
    })
    n_tasks = int(1.5 * n)
    owners = rng.integers(0, n, n_tasks)
    tasks = pa.table({
        "task_arn": [f"t-{k}" for k in range(n_tasks)],
        "ec2_instance_id": [ids[p] for p in owners.tolist()],
        "group": [f"service:svc-{g}" for g in rng.integers(0, 50, n_tasks).tolist()],
    })
    return instances, tasks


def prepare():
    """Cluster, reference rows and compiled query, with the mask checked against the reference."""
    instances, tasks = build_fleet()
    cluster = Cluster.from_arrow(instances, tasks)
    rows = cql_ref.rows_from_tables(instances, tasks)
    query = cql.compile(EXPRESSION)
    mask = query.mask(cluster)   # also the first call, which loads the compiled kernels
    expected = reference_mask(rows)
    if mask.tolist() != expected:
        raise AssertionError("the CQL mask differs from the reference")
    if not 0 < int(mask.sum()) < len(rows):
        raise AssertionError("the benchmark expression should select some instances, not all")
    return cluster, rows, query


def reference_mask(rows) -> list[bool]:
    return [cql_ref.evaluate(EXPRESSION, row) for row in rows]


def best_of(function, repeat: int, number: int = 1) -> float:
    """Best wall time of ``number`` calls, over ``repeat`` rounds, per call."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            function()
        times.append((time.perf_counter() - start) / number)
    return min(times)


def report(mask_seconds: float, reference_seconds: float, n: int) -> str:
    speedup = reference_seconds / mask_seconds
    return (f"CQL over {n:,} instances: {EXPRESSION}\n"
            f"  mask (after compile): {mask_seconds * 1e3:8.3f} ms  {mask_seconds * 1e9 / n:8.2f} ns/instance"
            f"  (target <= {TARGET_SECONDS * 1e3:.0f} ms)\n"
            f"  reference, row by row: {reference_seconds * 1e3:8.1f} ms  "
            f"{reference_seconds * 1e9 / n:8.1f} ns/instance\n"
            f"  speedup: {speedup:,.0f}x (target >= {TARGET_SPEEDUP:.0f}x)")


def test_cql_mask_100k(benchmark):
    cluster, rows, query = prepare()
    reference_seconds = best_of(lambda: reference_mask(rows), repeat=2)
    benchmark(query.mask, cluster)
    mask_seconds = benchmark.stats.stats.min
    benchmark.extra_info.update(ns_per_instance=mask_seconds * 1e9 / len(rows),
                                reference_seconds=reference_seconds,
                                speedup=reference_seconds / mask_seconds)
    print("\n" + report(mask_seconds, reference_seconds, len(rows)))


def main() -> None:
    cluster, rows, query = prepare()
    compile_seconds = best_of(lambda: cql.parse(EXPRESSION), repeat=5, number=20)
    mask_seconds = best_of(lambda: query.mask(cluster), repeat=7, number=50)
    reference_seconds = best_of(lambda: reference_mask(rows), repeat=2)
    print(report(mask_seconds, reference_seconds, len(rows)))
    print(f"  parse (uncached): {compile_seconds * 1e6:.1f} us")


if __name__ == "__main__":
    main()
