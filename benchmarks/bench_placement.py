"""pytest-benchmark: placement at fleet scale (B1 to B4) and its baselines.

Every scenario is run once and checked (placed count, capacity, memberOf, the
strategy's invariants, exactness against the reference on a reduced instance)
before it is timed, and every timed run must reproduce the checked
placements. The baselines (NumPy per-task scan, the pure-Python reference,
the engine's own per-task path) are timed in the same run on the same fleets
and checked against the engine's first placements; the summary at the end
gives the engine's speed-up over each.

    pytest benchmarks/bench_placement.py [--bench-quick] [--bench-full] [--benchmark-json out.json]
"""

from __future__ import annotations

import numpy as np
import pytest
from scenarios import b1, b1_end_to_end, b2, b3, b6, checked_positions

from quaymaster.bench.baselines import numpy_calls
from quaymaster.bench.reference import reference_request
from quaymaster.bench.timing import format_seconds, growth_model

BULK_ROUNDS = 3
BUILDERS = {"B1": b1, "B2": b2, "B3": b3, "B6": b6, "B1E": b1_end_to_end}
# What each scenario's target is about, per unit (a task for B1/B3, a call for B2).
TARGETS = {"B1": "run <= 0.1 s", "B2": "median call <= 30 us", "B3": ">= 1M tasks/s",
           "B6": "run <= 0.1 s", "B1E": "run with result.placements <= 0.1 s"}

_checked: dict = {}
_per_unit: dict = {}   # (scenario key, "engine" | baseline name) -> seconds per unit


def _checked_run(key, sizes, reference):
    """The scenario and its checked positions, computed once per session."""
    if key not in _checked:
        scenario = BUILDERS[key](sizes)
        _checked[key] = (scenario, checked_positions(scenario, reference))
    return _checked[key]


def _positions(result) -> np.ndarray:
    return result.placements.column("position").to_numpy()


def _median(benchmark, fallback: float) -> float:
    stats = getattr(benchmark, "stats", None)
    return stats.stats.median if stats is not None else fallback


def _summarize(key: str, summary) -> None:
    """Once the engine and every baseline of a scenario are in, one summary line."""
    engine = _per_unit.get((key, "engine"))
    if engine is None:
        return
    ratios = [f"{name} {_per_unit[(key, name)] / engine:.3g}x" for name in ("numpy", "reference", "scan")
              if (key, name) in _per_unit]
    summary(key, f"{key}: engine {format_seconds(engine)} per {'call' if key == 'B2' else 'task'} "
            f"(target {TARGETS[key]}); faster than: {', '.join(ratios) or 'no baseline run'}")


# -- the scenarios ---------------------------------------------------------------


@pytest.mark.parametrize("key", ["B1", "B3", "B6", "B1E"])
def test_bulk(benchmark, key, sizes, reference):
    """B1 (bulk, spread zone + binpack memory + memberOf), B3 (binpack cpu, spread
    attribute:stack, random), B6 (random alone) and B1E (B1 and building
    result.placements): one run_task call, timed whole."""
    scenario, expected = _checked_run(key, sizes, reference)
    benchmark.group = key
    result = benchmark.pedantic(scenario.run_call, setup=lambda: ((scenario.cluster(),), {}),
                                rounds=BULK_ROUNDS, iterations=1)
    assert np.array_equal(_positions(result), expected), "a timed run placed differently"
    median = _median(benchmark, float("nan"))
    _per_unit[(key, "engine")] = median / scenario.count
    benchmark.extra_info.update({"tasks": scenario.count, "instances": scenario.instances,
                                 "tasks_per_s": scenario.count / median, "target": TARGETS[key]})


def test_b2_latency(benchmark, sizes, reference):
    """B2: consecutive run_task calls of 10 tasks on one cluster; one round = one call."""
    scenario, expected = _checked_run("B2", sizes, reference)
    benchmark.group = "B2"
    cluster = scenario.cluster()
    results = []  # positions are read after timing: building result.placements is not run_task
    benchmark.pedantic(lambda: results.append(scenario.run_call(cluster)),
                       rounds=scenario.calls, iterations=1)
    assert np.array_equal(np.concatenate([_positions(r) for r in results]), expected)
    stats = benchmark.stats.stats
    _per_unit[("B2", "engine")] = stats.median
    benchmark.extra_info.update({"calls": scenario.calls, "target": TARGETS["B2"],
                                 "p90_s": float(np.percentile(stats.data, 90)),
                                 "p99_s": float(np.percentile(stats.data, 99))})


def test_b4_growth(benchmark, growth_cell):
    """B4: one cell of the instances x tasks grid; extra_info has time / ((n + t) log2 n)."""
    cell = growth_cell
    expected = checked_positions(cell, exact=False)
    benchmark.group = "B4"
    result = benchmark.pedantic(cell.run_call, setup=lambda: ((cell.cluster(),), {}), rounds=3,
                                iterations=1)
    assert np.array_equal(_positions(result), expected)
    median = _median(benchmark, float("nan"))
    benchmark.extra_info.update({"instances": cell.instances, "tasks": cell.count,
                                 "normalized_ns": median / growth_model(cell.instances, cell.count) * 1e9})


# -- the baselines, on the same fleets ------------------------------------------------


@pytest.mark.parametrize("key", ["B1", "B2", "B3", "B6", "B1E"])
def test_baseline_numpy(benchmark, key, sizes, reference, summary):
    """The NumPy per-task scan for the scenario's first tasks (calls for B2)."""
    scenario, expected = _checked_run(key, sizes, reference)
    benchmark.group = key
    multi = scenario.calls > 1
    units = _baseline_units(scenario, sizes)
    prefix = scenario.resized(calls=units) if multi else scenario.resized(count=units)
    positions = benchmark.pedantic(numpy_calls, args=(prefix, prefix.calls), rounds=1, iterations=1)
    assert np.array_equal(positions, expected[:len(positions)]), "NumPy scan differs from the engine"
    _per_unit[(key, "numpy")] = _median(benchmark, float("nan")) / units
    _summarize(key, summary)


@pytest.mark.parametrize("key", ["B1", "B2", "B3", "B6", "B1E"])
def test_baseline_reference(benchmark, key, sizes, reference, summary):
    """The pure-Python reference: marginal time per task, (T(k + 1) - T(1)) / k."""
    scenario, expected = _checked_run(key, sizes, reference)
    benchmark.group = key
    table, tasks = scenario.fleet(), sizes.reference_tasks
    one = min(_timed(lambda: reference.place_reference(table, None, reference_request(scenario, 1),
                                                       scenario.seed)) for _ in range(2))
    result = benchmark.pedantic(reference.place_reference, rounds=1, iterations=1, args=(
        table, None, reference_request(scenario, tasks + 1), scenario.seed))
    got = np.array([p["position"] for p in result.placements])
    assert np.array_equal(got, expected[:len(got)]), "reference differs from the engine"
    per_task = max(_median(benchmark, float("nan")) - one, 0.0) / tasks
    _per_unit[(key, "reference")] = per_task * (scenario.count if scenario.calls > 1 else 1)
    _summarize(key, summary)


@pytest.mark.parametrize("key", ["B1", "B2", "B3", "B6", "B1E"])
def test_baseline_engine_scan(benchmark, key, sizes, reference, summary):
    """The engine's own per-task path (fast_paths=False) for the first tasks (calls)."""
    scenario, expected = _checked_run(key, sizes, reference)
    benchmark.group = key
    multi = scenario.calls > 1
    units = _baseline_units(scenario, sizes)
    prefix = scenario if multi else scenario.resized(count=units)
    cluster = prefix.cluster()
    results = []
    benchmark.pedantic(lambda: results.append(prefix.run_call(cluster, fast_paths=False)),
                       rounds=units if multi else 1, iterations=1)
    positions = np.concatenate([_positions(r) for r in results])
    assert np.array_equal(positions, expected[:len(positions)]), "per-task path differs"
    _per_unit[(key, "scan")] = _median(benchmark, float("nan")) / (1 if multi else units)
    _summarize(key, summary)


def _baseline_units(scenario, sizes) -> int:
    """Tasks (calls, for a multi-call scenario) a per-task baseline runs."""
    if scenario.calls > 1:
        return min(sizes.numpy_calls, scenario.calls)
    return min(sizes.numpy_tasks, scenario.count)


def _timed(fn) -> float:
    from quaymaster.bench.timing import clock

    start = clock()
    fn()
    return clock() - start
