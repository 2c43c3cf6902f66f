"""Running scenarios B1 to B4: check the result first, then time it, then the baselines.

Every scenario is first run once on a fresh cluster and its result checked
(placed count, capacity, memberOf, the strategy's invariants, exactness against
the reference on a reduced instance); that run is not timed (it also pays
first-call costs). Then ``repeat`` timed runs, each on a fresh cluster built
outside the timed section, time ``Cluster.run_task`` alone.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass

import numpy as np

from quaymaster.bench import scenarios as sc
from quaymaster.bench.baselines import exactness_checks, numpy_baseline, reference_baseline, scan_baseline
from quaymaster.bench.checks import (
    Check,
    bucket_codes,
    check_binpack_fill,
    check_capacity,
    check_count,
    check_member_of,
    check_spread_final,
    check_spread_prefix,
)
from quaymaster.bench.report import GrowthCell, Row, Target
from quaymaster.bench.timing import clock, format_rate, format_seconds, growth_slope, progress, summarize

TARGETS = {
    "B1": Target("<= 0.1 s", 0.1),
    "B2": Target("median <= 30 us", 30e-6),
    "B3": Target(">= 1M tasks/s", 1e6, "min"),
    "B6": Target("<= 0.1 s", 0.1),
    "B1E": Target("<= 0.1 s", 0.1),
    # Slope of log(time) against log((n + t) log2 n) over the grid: 1 is the model's growth.
    "B4": Target("slope <= 1.1", 1.1),
}


@dataclass(frozen=True)
class RunOptions:
    sizes: sc.Sizes
    repeat: int = 3
    full: bool = False              # B4's biggest cells too
    progress: bool | None = None    # None: bars only on a terminal
    reference: object = None        # the reference module, or None when not found


def invariant_checks(scenario, cluster, positions: np.ndarray, label: str = "") -> list[Check]:
    """Count, capacity, memberOf and what the strategy chain implies (see checks.py)."""
    table = scenario.fleet()
    capacity = scenario.capacity(table)
    eligible = scenario.eligible(table)
    suffix = f" ({label})" if label else ""
    checks = [check_count(len(positions), scenario.expected_placed()),
              check_capacity(cluster, table, positions, scenario.cpu, scenario.memory)]
    if scenario.excluded_type is not None:
        checks.append(check_member_of(positions, eligible))
    chain = list(scenario.strategy)
    groups = np.zeros(table.num_rows, dtype=np.int64)  # binpack first: the whole fleet competes
    if chain and chain[0][0] == "spread" and chain[0][1].startswith("attribute:"):
        groups = bucket_codes(table, chain[0][1])
        checks.append(check_spread_prefix(positions, groups, capacity, chain[0][1]))
        chain = chain[1:]
    if chain and chain[0][0] == "binpack":
        checks.append(check_binpack_fill(positions, groups, capacity, chain[0][1]))
    elif chain and chain[0] == ("spread", "instanceId"):
        checks.append(check_spread_final(positions, groups, eligible, capacity, "instanceId"))
    return [Check(c.name + suffix, c.passed, c.detail) for c in checks]


def _positions(result) -> np.ndarray:
    # The cheap accessor: building the whole placements table (ARNs, ports) between
    # timed calls would evict the caches the next call runs from and time the harness.
    return result.positions


def _timed_runs(scenario, repeat: int, expected: int, enabled) -> tuple[list[float], list[Check]]:
    """``repeat`` timed single-call runs on fresh clusters; each must place ``expected``."""
    times, problems = [], []
    for _ in progress(range(repeat), desc=f"{scenario.key} {scenario.size_label}", enabled=enabled):
        cluster = scenario.cluster()
        gc.collect()
        start = clock()
        result = scenario.run_call(cluster)
        times.append(clock() - start)
        if result.placed_count != expected:
            problems.append(Check("timed run count", False,
                                  f"placed {result.placed_count}, expected {expected}"))
    return times, problems


def run_bulk(scenario, options: RunOptions) -> Row:
    """B1 or B3: one big request, timed whole; ratios per task against both baselines."""
    cluster = scenario.cluster()
    result = scenario.run_call(cluster)
    positions = _positions(result)
    checks = invariant_checks(scenario, cluster, positions)
    checks += exactness_checks(scenario, options.reference)
    times, problems = _timed_runs(scenario, options.repeat, len(positions), options.progress)
    stats = summarize(times)
    per_task = stats["median"] / scenario.count
    sizes = options.sizes
    units = min(sizes.numpy_tasks, scenario.count)
    baselines = [numpy_baseline(scenario, units, positions, per_task),
                 scan_baseline(scenario, units, positions, per_task),
                 reference_baseline(options.reference, scenario, sizes.reference_tasks, positions,
                                    per_task)]
    rate = scenario.count / stats["median"]
    measured, text = (rate, format_rate(rate)) if TARGETS[scenario.key].kind == "min" else \
        (stats["median"], format_seconds(stats["median"]))
    note = (f"median {format_seconds(stats['median'])}, best {format_seconds(stats['best'])} "
            f"over {len(times)} run(s) of {scenario.count} tasks")
    return Row(scenario.key, scenario.title, scenario.size_label, measured, text, rate,
               TARGETS[scenario.key], checks + problems, [b for b in baselines if b is not None],
               {"seconds": times, **stats, "placed": len(positions)}, note)


def _call_session(scenario, enabled, desc: str) -> tuple[object, list[np.ndarray], list[float]]:
    """All calls of a multi-call scenario on one fresh cluster, each call timed."""
    cluster = scenario.cluster()
    placed, times = [], []
    gc.collect()
    for _ in progress(range(scenario.calls), desc=desc, enabled=enabled):
        start = clock()
        result = scenario.run_call(cluster)
        times.append(clock() - start)
        placed.append(_positions(result))
    return cluster, placed, times


def run_latency(scenario, options: RunOptions) -> Row:
    """B2: many small calls on one cluster; median, p90 and p99 per call."""
    cluster, placed, _ = _call_session(scenario, options.progress, "B2 checked session")
    positions = np.concatenate(placed)
    checks = invariant_checks(scenario, cluster, positions)
    checks += exactness_checks(scenario, options.reference)
    times: list[float] = []
    for session in range(options.repeat):
        _, again, session_times = _call_session(scenario, options.progress,
                                                f"B2 timed session {session + 1}")
        times += session_times
        if sum(len(p) for p in again) != len(positions):
            checks.append(Check("timed session count", False, "a timed session placed other counts"))
    stats = summarize(times)
    sizes = options.sizes
    calls = min(sizes.numpy_calls, scenario.calls)
    baselines = [numpy_baseline(scenario, calls, positions, stats["median"]),
                 scan_baseline(scenario, calls, positions, stats["median"]),
                 reference_baseline(options.reference, scenario, sizes.reference_tasks, positions,
                                    stats["median"])]
    note = (f"per call: median {format_seconds(stats['median'])}, p90 {format_seconds(stats['p90'])}, "
            f"p99 {format_seconds(stats['p99'])}, best {format_seconds(stats['best'])} "
            f"over {len(times)} calls")
    return Row("B2", scenario.title, scenario.size_label, stats["median"],
               f"{format_seconds(stats['median'])}/call", scenario.count / stats["median"],
               TARGETS["B2"], checks, [b for b in baselines if b is not None],
               {**stats, "calls_timed": len(times), "seconds": times}, note)


def run_growth(options: RunOptions) -> tuple[Row, list[GrowthCell]]:
    """B4: the instances x tasks grid, each cell checked then timed (median of ``repeat``)."""
    cells, skipped = sc.b4_cells(options.sizes, options.full)
    checks = exactness_checks(cells[0], options.reference)
    grid = []
    for cell in progress(cells, desc="B4 cells", enabled=options.progress):
        cluster = cell.cluster()
        result = cell.run_call(cluster)
        label = f"n={cell.instances}, t={cell.count}"
        checks += invariant_checks(cell, cluster, _positions(result), label)
        del cluster, result
        times, problems = _timed_runs(cell, options.repeat, cell.expected_placed(), options.progress)
        checks += problems
        grid.append(GrowthCell(cell.instances, cell.count, float(np.median(times))))
    grid += [GrowthCell(c.instances, c.count, None) for c in skipped]
    slope = growth_slope([(c.instances, c.tasks, c.seconds) for c in grid if c.seconds is not None])
    normalized = [c.normalized_ns for c in grid if c.normalized_ns is not None]
    text = "slope -" if slope is None else f"slope {slope:.2f}"
    note = (f"time / ((n + t) log2 n) from {min(normalized):.3g} to {max(normalized):.3g} ns; "
            "slope of log time against log((n + t) log2 n) over cells of 5 ms or more")
    size = f"{len(grid) - len(skipped)} of {len(grid)} cells"
    return Row("B4", "growth", size, slope, text, None, TARGETS["B4"], checks, [],
               {"skipped": [(c.instances, c.count) for c in skipped]}, note), grid
