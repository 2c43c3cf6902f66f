"""LOAD and COPY: building a cluster from Arrow, and copying one that has placed.

- ``Cluster.from_arrow`` of a fleet (100,000 instances): checked (every id,
  registered resource and remaining resource as given), then timed. Baseline
  in the same run: the same fleet's first instances registered one
  ``register_container_instance`` call at a time, per instance.
- ``Cluster.copy()`` of a 5,000-instance cluster holding 100,000 live tasks:
  checked (the copy's tables equal the original's, both place the next request
  alike, and placing on the copy leaves the original as it was), then timed.
  Baseline: an independent cluster the way that works without ``copy()``,
  ``Cluster.from_arrow(cluster.instance_table(), cluster.task_table())``.
  Where ``Cluster`` has no ``copy`` the row says so and times only the baseline.
"""

from __future__ import annotations

import gc

import numpy as np

from quaymaster.bench import scenarios as sc
from quaymaster.bench.checks import Check
from quaymaster.bench.report import Baseline, Row, Target
from quaymaster.bench.timing import clock, format_seconds, summarize

FROM_ARROW_TARGET = Target("<= 0.1 s", 0.1)
COPY_TARGET = Target("<= 5 ms", 5e-3)


def _timed(function, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = clock()
        function()
        times.append(clock() - start)
    return times


def from_arrow_row(sizes: sc.Sizes, repeat: int) -> Row:
    from quaymaster import Cluster

    table = sc.fleet_of(sizes.load_instances)
    cluster = Cluster.from_arrow(table)
    loaded = cluster.instance_table()
    checks = [Check("instances loaded as given",
                    all(loaded.column(c).equals(table.column(c)) for c in
                        ("ec2_instance_id", "cpu_registered", "memory_registered", "cpu_remaining",
                         "memory_remaining")),
                    f"{loaded.num_rows} instances: ids and resources equal the input")]
    stats = summarize(_timed(lambda: Cluster.from_arrow(table), repeat))
    per_instance = stats["median"] / table.num_rows
    baseline = _register_baseline(table.slice(0, sizes.load_baseline_instances), per_instance)
    note = (f"median {format_seconds(stats['median'])}, best {format_seconds(stats['best'])} over "
            f"{stats['n']} run(s); {format_seconds(per_instance)} per instance")
    return Row("LOAD", "Cluster.from_arrow", f"{table.num_rows} inst", stats["median"],
               format_seconds(stats["median"]), table.num_rows / stats["median"], FROM_ARROW_TARGET,
               checks, [baseline], stats, note, unit="instance")


def _register_baseline(table, engine_per_instance: float) -> Baseline:
    """register_container_instance per instance: the row-at-a-time way in."""
    from quaymaster import Cluster

    rows = table.select(["ec2_instance_id", "cpu_registered", "memory_registered"]).to_pylist()
    cluster = Cluster("baseline")
    start = clock()
    for row in rows:
        cluster.register_container_instance(row["ec2_instance_id"], total_resources=[
            {"name": "CPU", "type": "INTEGER", "integerValue": row["cpu_registered"]},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": row["memory_registered"]}])
    per_instance = (clock() - start) / max(len(rows), 1)
    same = cluster.instance_table().column("ec2_instance_id").equals(table.column("ec2_instance_id"))
    return Baseline("register", f"first {len(rows)} inst, one call each", per_instance,
                    per_instance / engine_per_instance,
                    [Check("registered ids = from_arrow's", same, f"{len(rows)} instances")])


def busy_cluster(sizes: sc.Sizes):
    """The copy scenario's cluster: B1's fleet and chain, ``live`` tasks placed."""
    instances, live = sizes.copy_cluster
    scenario = sc.b1(sizes).resized(instances=instances, count=live, excluded_type=None)
    cluster = scenario.cluster()
    placed = scenario.run_call(cluster).placed_count
    return scenario, cluster, placed


def copy_row(sizes: sc.Sizes, repeat: int) -> Row:
    from quaymaster import Cluster

    scenario, cluster, placed = busy_cluster(sizes)
    size = f"{scenario.instances} inst, {placed} live"
    rebuild = _timed(lambda: Cluster.from_arrow(cluster.instance_table(), cluster.task_table()), repeat)
    rebuilt_median = summarize(rebuild)["median"]
    if not hasattr(Cluster, "copy"):
        note = (f"unavailable: Cluster.copy() is not in this build; the baseline (from_arrow of the "
                f"cluster's own tables) takes {format_seconds(rebuilt_median)}")
        return Row("COPY", "Cluster.copy()", size, None, "unavailable", None, COPY_TARGET, [], [],
                   {"rebuild_s": rebuild, "unavailable": "Cluster.copy() is not in this build"}, note)
    checks = copy_checks(scenario, cluster)
    stats = summarize(_timed(cluster.copy, repeat))
    baseline = Baseline("rebuild", f"{size}: from_arrow(instance_table(), task_table())",
                        rebuilt_median, rebuilt_median / stats["median"])
    note = (f"median {format_seconds(stats['median'])}, best {format_seconds(stats['best'])} over "
            f"{stats['n']} run(s)")
    return Row("COPY", "Cluster.copy()", size, stats["median"], format_seconds(stats["median"]), None,
               COPY_TARGET, checks, [baseline], stats, note, unit="copy")


def copy_checks(scenario, cluster) -> list[Check]:
    """The copy is equal, places alike, and is independent of the original."""
    before = (cluster.instance_table(), cluster.task_table())
    copy = cluster.copy()
    same_tables = copy.instance_table().equals(before[0]) and copy.task_table().equals(before[1])
    follow_up = scenario.resized(count=100, seed=scenario.seed + 1)
    on_copy = follow_up.run_call(copy).positions
    unchanged = cluster.instance_table().equals(before[0]) and cluster.task_table().equals(before[1])
    on_original = follow_up.run_call(cluster).positions
    return [Check("copy tables = original", same_tables, f"{before[1].num_rows} live tasks"),
            Check("placing on the copy leaves the original", unchanged, "instance and task tables"),
            Check("next placements copy = original", np.array_equal(on_copy, on_original),
                  f"{len(on_copy)} tasks")]
