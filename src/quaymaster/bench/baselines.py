"""The baselines measured in the same run, and the exactness checks they double as.

- NumPy per-task scan (:mod:`quaymaster.bench.numpy_baseline`) on the scenario's
  own fleet, for its first tasks: its time per task, and its placements equal
  to the engine's first placements.
- The pure-Python reference (``tests/reference/placement_ref.py``) on the same
  fleet for a few tasks: its marginal time per task (``(T(k + 1) - T(1)) / k``,
  so loading the tables is not counted), and its placements equal to the
  engine's first ones.
- On a reduced instance of the scenario (a few dozen instances, tasks until the
  fleet is full and beyond), every placement and failure of the engine equal to
  the reference's.
"""

from __future__ import annotations

import numpy as np

from quaymaster.bench.checks import Check, compare_placements, compare_positions
from quaymaster.bench.numpy_baseline import NumpyBaseline
from quaymaster.bench.reference import reference_calls, reference_request
from quaymaster.bench.report import Baseline
from quaymaster.bench.timing import clock


def engine_calls(scenario, fast_paths: bool = True):
    """Run every call of ``scenario`` on a fresh cluster: (placements, failures) as the
    reference numbers them (task indexes across calls)."""
    cluster = scenario.cluster()
    placements, failures = [], []
    for call in range(scenario.calls):
        result = scenario.run_call(cluster, fast_paths=fast_paths)
        offset = call * scenario.count
        rows = result.placements.select(["task_index", "position", "ec2_instance_id"]).to_pylist()
        placements += [{**p, "task_index": p["task_index"] + offset} for p in rows]
        failures += [{**f, "task_index": f["task_index"] + offset} for f in result.failures]
    return placements, failures


def exactness_checks(scenario, reference) -> list[Check]:
    """On the scenario's reduced instance, every placement and failure of the engine
    equal to those of its per-task path (``fast_paths=False``) and of the reference
    (or, without the reference, the placements of the NumPy scan)."""
    small = scenario.reduced()
    placements, failures = engine_calls(small)
    scan_placements, scan_failures = engine_calls(small, fast_paths=False)
    failure_keys = ("task_index", "reason", "arn", "detail")
    checks = [compare_placements(f"fast = per-task path ({small.size_label})", placements,
                                 scan_placements),
              compare_placements("failures fast = per-task path", failures, scan_failures,
                                 keys=failure_keys)]
    if reference is None:
        expected = numpy_calls(small, small.calls)
        got = np.array([p["position"] for p in scan_placements], dtype=np.int64)
        return checks + [compare_positions("per-task path = NumPy (no reference found)", got,
                                           expected)]
    ref_placements, ref_failures = reference_calls(reference, small, small.fleet(), small.calls,
                                                   small.count)
    return checks + [
        compare_placements("per-task path = reference", scan_placements, ref_placements),
        compare_placements("failures per-task path = reference", scan_failures, ref_failures,
                           keys=failure_keys)]


def numpy_calls(scenario, calls: int, times: list | None = None) -> np.ndarray:
    """Positions the NumPy scan places over ``calls`` calls of the scenario (each call's
    duration appended to ``times`` when given)."""
    table = scenario.fleet()
    base = NumpyBaseline(table, scenario.eligible(table), seed=scenario.seed)
    placed = []
    for _ in range(calls):
        start = clock()
        placed.append(base.place(scenario.cpu, scenario.memory, scenario.count, scenario.strategy))
        if times is not None:
            times.append(clock() - start)
    return np.concatenate(placed) if placed else np.empty(0, dtype=np.int64)


def numpy_baseline(scenario, units: int, engine_positions: np.ndarray,
                   engine_per_unit: float) -> Baseline:
    """The NumPy scan on the scenario's fleet for ``units`` tasks (or calls when the
    scenario makes several calls), checked against the engine's first placements."""
    times: list[float] = []
    if scenario.calls > 1:
        positions = numpy_calls(scenario, units, times)
        per_unit = float(np.median(times))
        size = f"{scenario.instances} inst, {units} calls"
    else:
        positions = numpy_calls(scenario.resized(count=units), 1, times)
        per_unit = times[0] / max(len(positions), 1)
        size = f"{scenario.instances} inst, first {units} tasks"
    check = compare_positions("NumPy = engine", engine_positions, positions)
    return Baseline("numpy", size, per_unit, per_unit / engine_per_unit, [check])


def reference_baseline(reference, scenario, tasks: int, engine_positions: np.ndarray,
                       engine_per_unit: float) -> Baseline | None:
    """The reference's marginal time per task on the scenario's fleet (times the tasks
    per call for a multi-call scenario), checked against the engine's first placements."""
    if reference is None:
        return None
    table = scenario.fleet()
    one = float("inf")
    for _ in range(2):  # loading the tables dominates T(1): take the better of two
        start = clock()
        reference.place_reference(table, None, reference_request(scenario, 1), scenario.seed)
        one = min(one, clock() - start)
    start = clock()
    result = reference.place_reference(table, None, reference_request(scenario, tasks + 1),
                                       scenario.seed)
    per_task = max(clock() - start - one, 0.0) / tasks
    per_unit = per_task * (scenario.count if scenario.calls > 1 else 1)
    got = np.array([p["position"] for p in result.placements], dtype=np.int64)
    checks = [compare_positions("reference = engine", engine_positions, got)]
    if scenario.calls > 1 and any(kind == "random" for kind, _ in scenario.strategy):
        checks = []  # one request of k tasks draws other random keys than k/count calls
    return Baseline("reference", f"{scenario.instances} inst, first {tasks + 1} tasks", per_unit,
                    per_unit / engine_per_unit, checks)


def scan_baseline(scenario, units: int, engine_positions: np.ndarray,
                  engine_per_unit: float) -> Baseline:
    """The engine's own per-task path (``fast_paths=False``) on the scenario's fleet for
    ``units`` tasks (calls for a multi-call scenario): what the fast paths gain."""
    cluster = scenario.cluster()
    small = scenario if scenario.calls > 1 else scenario.resized(count=units)
    times, placed = [], []
    for _ in range(units if scenario.calls > 1 else 1):
        start = clock()
        result = small.run_call(cluster, fast_paths=False)
        times.append(clock() - start)
        placed.append(result.positions)
    positions = np.concatenate(placed)
    if scenario.calls > 1:
        per_unit, size = float(np.median(times)), f"{scenario.instances} inst, {units} calls"
    else:
        per_unit, size = times[0] / max(len(positions), 1), f"{scenario.instances} inst, first {units} tasks"
    check = compare_positions("per-task path = engine", engine_positions, positions)
    return Baseline("scan", size, per_unit, per_unit / engine_per_unit, [check])
