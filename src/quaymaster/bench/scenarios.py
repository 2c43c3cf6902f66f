"""The placement scenarios of the fleet-scale benchmarks, as plain values.

A :class:`Scenario` says everything one benchmark does: the fleet (built with
:func:`quaymaster.fleet.generate_fleet`, plus an optional custom
``attribute:stack`` column), one task definition, the strategy chain, an
optional memberOf constraint that excludes one instance type, the number of
``run_task`` calls and tasks per call. Both the ``quaymaster bench`` command
and the pytest-benchmark files in ``benchmarks/`` build their runs from here,
so the two measure the same thing.

Sizes come in two presets: :data:`FULL` (the issue's sizes) and :data:`QUICK`
(a smoke test that runs in seconds).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

ZONE = "attribute:ecs.availability-zone"
INSTANCE_TYPE = "attribute:ecs.instance-type"
STACK = "attribute:stack"
# Four large types in equal shares, so excluding one removes about a quarter of the fleet.
LARGE_TYPES = (("m5.4xlarge", 1.0), ("m5.8xlarge", 1.0), ("c5.9xlarge", 1.0), ("r5.4xlarge", 1.0))
EXCLUDED_TYPE = "c5.9xlarge"
# attribute:stack values by share; the rest of the fleet lacks the attribute.
STACK_VALUES = (("blue", 0.45), ("green", 0.35), ("canary", 0.1))
_STACK_STREAM = 0x5EED_57AC_0000_0001  # fixed, so the stack column depends on position only

SPREAD_ZONE = ("spread", ZONE)
BINPACK_MEMORY = ("binpack", "memory")


@dataclass(frozen=True)
class Scenario:
    """One benchmark run: ``calls`` consecutive ``run_task`` calls of ``count`` tasks each."""

    key: str
    title: str
    instances: int
    count: int
    cpu: int
    memory: int
    strategy: tuple[tuple[str, str | None], ...]
    calls: int = 1
    azs: int = 3
    instance_types: tuple[tuple[str, float], ...] | None = LARGE_TYPES  # None: the catalog's mix
    excluded_type: str | None = None
    stack_attribute: bool = False
    fleet_seed: int = 0
    seed: int = 0
    family: str = "bench"
    end_to_end: bool = False    # the timed call also builds result.placements

    # -- what the request is ---------------------------------------------------

    @property
    def tasks(self) -> int:
        """Tasks asked for over all calls."""
        return self.count * self.calls

    @property
    def member_of(self) -> tuple[str, ...]:
        """The memberOf expressions of the request (CQL)."""
        if self.excluded_type is None:
            return ()
        return (f"{INSTANCE_TYPE} != {self.excluded_type}",)

    def placement_strategy(self) -> list[dict]:
        return [{"type": kind, **({"field": field} if field else {})} for kind, field in self.strategy]

    def placement_constraints(self) -> list[dict] | None:
        return [{"type": "memberOf", "expression": e} for e in self.member_of] or None

    def task_definition_json(self) -> dict:
        """The RegisterTaskDefinition body: one container needing ``cpu`` units and ``memory`` MiB."""
        return {"family": self.family, "containerDefinitions": [{
            "name": "app", "image": "public.ecr.aws/docker/library/busybox:latest",
            "cpu": self.cpu, "memory": self.memory, "essential": True}]}

    def task_definition(self):
        """The parsed task definition (parsed once per scenario value)."""
        return _request(self)[0]

    @property
    def size_label(self) -> str:
        calls = f"{self.calls} calls x {self.count}" if self.calls > 1 else f"{self.count} tasks"
        return f"{self.instances} inst, {calls}"

    # -- the fleet -------------------------------------------------------------

    def fleet(self) -> pa.Table:
        """The instance table (cached: the same scenario always gives the same table)."""
        return _fleet(self.instances, self.azs, self.fleet_seed, self.instance_types,
                      self.stack_attribute)

    def cluster(self):
        """A fresh :class:`quaymaster.Cluster` on the scenario's fleet."""
        from quaymaster import Cluster

        return Cluster.from_arrow(self.fleet())

    def run_call(self, cluster, *, fast_paths: bool = True):
        """One ``run_task`` call through the public API; returns its PlacementResult.
        ``fast_paths=False`` asks the engine for its plain per-task scan. The task
        definition is parsed and the request's lists built once per scenario, so a
        timed call measures the library, not this harness."""
        task_definition, kwargs = _request(self)
        result = cluster.run_task(task_definition, **kwargs, fast_paths=fast_paths)
        if self.end_to_end:
            result.placements.validate()  # built inside the call: ids, ARNs, ports per task
        return result

    def eligible(self, table: pa.Table | None = None) -> np.ndarray:
        """Instances the request may use, computed with NumPy from the table (not CQL):
        ACTIVE, agent connected, and not of the excluded type."""
        table = self.fleet() if table is None else table
        ok = (_strings(table, "status") == "ACTIVE") & table.column("agent_connected").to_numpy(
            zero_copy_only=False).astype(bool)
        if self.excluded_type is not None:
            ok &= _strings(table, INSTANCE_TYPE) != self.excluded_type
        return ok

    def capacity(self, table: pa.Table | None = None) -> np.ndarray:
        """Tasks each instance can hold (0 where not eligible)."""
        table = self.fleet() if table is None else table
        cpu = table.column("cpu_remaining").to_numpy()
        memory = table.column("memory_remaining").to_numpy()
        fit = np.minimum(cpu // max(self.cpu, 1) if self.cpu else np.iinfo(np.int64).max,
                         memory // max(self.memory, 1) if self.memory else np.iinfo(np.int64).max)
        return np.where(self.eligible(table), fit, 0)

    def expected_placed(self) -> int:
        """Tasks that must be placed: with one resource shape and no ports, every call
        places until the eligible capacity runs out, whatever the strategy."""
        return int(min(self.tasks, self.capacity().sum()))

    # -- variants --------------------------------------------------------------

    def resized(self, **changes) -> Scenario:
        return dataclasses.replace(self, **changes)

    def reduced(self) -> Scenario:
        """A small version for the exactness check against the pure-Python reference:
        the same chain and constraint on a few dozen instances, with tasks large enough
        that instances fill up and the last tasks fail (so failures are compared too)."""
        small = self.resized(instances=36, cpu=4096, memory=8192, count=1, calls=1)
        per_call = 10 if self.calls > 1 else 1
        capacity = int(small.capacity().sum())
        if self.calls > 1:
            calls = capacity // per_call + 2
            return small.resized(count=per_call, calls=calls, title=self.title + " (reduced)")
        return small.resized(count=capacity + 3, title=self.title + " (reduced)")

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Scenario:
        fields = json.loads(text)
        fields["strategy"] = tuple(tuple(s) for s in fields["strategy"])
        if fields["instance_types"] is not None:
            fields["instance_types"] = tuple(tuple(t) for t in fields["instance_types"])
        return cls(**fields)


# -- sizes ---------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    """How big each scenario and each baseline run is."""

    name: str
    b1: tuple[int, int]                 # instances, tasks
    b2: tuple[int, int]                 # instances, calls (of 10 tasks)
    b3: tuple[int, int]                 # instances, tasks
    b4_instances: tuple[int, ...]
    b4_tasks: tuple[int, ...]
    b4_default_work: int                # cells with instances * tasks above this need --full
    numpy_tasks: int                    # tasks the NumPy baseline places per scenario
    numpy_calls: int                    # calls the NumPy baseline makes for B2
    reference_tasks: int                # tasks the pure-Python reference places per scenario
    cold_repeat: int
    b5: tuple[int, int, int, int] = (5000, 50, 20_000, 100_000)  # instances, groups, live tasks, ops
    b5_check_ops: int = 3000            # ops checked (and baselined) against the plain loop
    b6: tuple[int, int] = (5000, 1_000_000)                     # instances, tasks (random)
    load_instances: int = 100_000       # Cluster.from_arrow
    copy_cluster: tuple[int, int] = (5000, 100_000)             # instances, live tasks for copy()
    load_baseline_instances: int = 2000  # instances registered one call at a time (baseline)
    s3: tuple[int, float, str, int] = (200, 0.8, "24h", 50)   # services, load scale, duration, instances


FULL = Sizes("full", b1=(5000, 1_000_000), b2=(5000, 10_000), b3=(10_000, 200_000),
             b4_instances=(1000, 5000, 20_000, 100_000), b4_tasks=(10_000, 100_000, 1_000_000),
             b4_default_work=1_000_000_000, numpy_tasks=20_000, numpy_calls=300,
             reference_tasks=12, cold_repeat=3)
QUICK = Sizes("quick", b1=(240, 3000), b2=(240, 150), b3=(400, 3000),
              b4_instances=(100, 400), b4_tasks=(1000, 4000), b4_default_work=10**12,
              numpy_tasks=400, numpy_calls=40, reference_tasks=20, cold_repeat=1,
              b5=(200, 10, 600, 1500), b5_check_ops=400, b6=(240, 20_000), load_instances=3000,
              copy_cluster=(200, 3000), load_baseline_instances=200, s3=(10, 0.1, "24h", 3))


def b1(sizes: Sizes = FULL) -> Scenario:
    """B1, bulk: one big request, spread(zone) then binpack(memory), a quarter excluded."""
    instances, tasks = sizes.b1
    return Scenario("B1", "bulk run_task", instances, tasks, cpu=16, memory=64,
                    strategy=(SPREAD_ZONE, BINPACK_MEMORY), excluded_type=EXCLUDED_TYPE)


def b2(sizes: Sizes = FULL) -> Scenario:
    """B2, call latency: many small requests, spread(zone) then spread(instanceId)."""
    instances, calls = sizes.b2
    return Scenario("B2", "run_task latency", instances, 10, cpu=16, memory=64,
                    strategy=(SPREAD_ZONE, ("spread", "instanceId")), calls=calls)


def b3(sizes: Sizes = FULL) -> Scenario:
    """B3, general chain: binpack(cpu), spread(attribute:stack), random, on the catalog's mix."""
    instances, tasks = sizes.b3
    return Scenario("B3", "binpack/spread/random", instances, tasks, cpu=256, memory=512,
                    strategy=(("binpack", "cpu"), ("spread", STACK), ("random", None)),
                    instance_types=None, stack_attribute=True)


def b6(sizes: Sizes = FULL) -> Scenario:
    """B6, random: one big request with the default ``random`` strategy alone."""
    instances, tasks = sizes.b6
    return Scenario("B6", "random", instances, tasks, cpu=16, memory=64, strategy=(("random", None),))


def b1_end_to_end(sizes: Sizes = FULL) -> Scenario:
    """B1E: B1, timed up to and including building ``result.placements`` (ARNs, ports)."""
    return dataclasses.replace(b1(sizes), key="B1E", title="bulk run_task + placements table",
                               end_to_end=True)


def b5(sizes: Sizes = FULL):
    """B5, churn: see :mod:`quaymaster.bench.churn`."""
    from quaymaster.bench.churn import Churn

    instances, groups, live, ops = sizes.b5
    return Churn(instances, groups, live, ops, check_ops=sizes.b5_check_ops)


def fleet_of(instances: int, *, azs: int = 3, fleet_seed: int = 0,
             instance_types: tuple[tuple[str, float], ...] | None = LARGE_TYPES) -> pa.Table:
    """A scenario fleet by size (cached like :meth:`Scenario.fleet`)."""
    return _fleet(instances, azs, fleet_seed, instance_types, False)


def b4_cells(sizes: Sizes = FULL, full: bool = False) -> tuple[list[Scenario], list[Scenario]]:
    """B4, growth: (cells to run, cells skipped because they need ``full``)."""
    run: list[Scenario] = []
    skipped: list[Scenario] = []
    for instances in sizes.b4_instances:
        for tasks in sizes.b4_tasks:
            cell = Scenario("B4", "growth", instances, tasks, cpu=16, memory=64,
                            strategy=(SPREAD_ZONE, BINPACK_MEMORY))
            (run if full or instances * tasks <= sizes.b4_default_work else skipped).append(cell)
    return run, skipped


# -- cached builders -------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _fleet(instances, azs, fleet_seed, instance_types, stack_attribute) -> pa.Table:
    from quaymaster.fleet import generate_fleet

    types = dict(instance_types) if instance_types is not None else None
    table = generate_fleet(instances, azs, fleet_seed, instance_types=types)
    if stack_attribute:
        table = table.append_column(STACK, stack_column(instances))
    return table


@functools.lru_cache(maxsize=64)
def _request(scenario: Scenario) -> tuple[object, dict]:
    """(parsed task definition, run_task keyword arguments) of a scenario."""
    from quaymaster.taskdef import parse_task_definition

    return parse_task_definition(scenario.task_definition_json()), {
        "count": scenario.count, "placement_strategy": scenario.placement_strategy(),
        "placement_constraints": scenario.placement_constraints(), "seed": scenario.seed}


def stack_column(instances: int) -> pa.Array:
    """``attribute:stack`` by position: blue/green/canary by share, about 10% missing."""
    from quaymaster.keys import splitmix64_array

    positions = np.arange(instances, dtype=np.uint64) + np.uint64(_STACK_STREAM)
    unit = (splitmix64_array(positions) >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    edges = np.cumsum([share for _, share in STACK_VALUES])
    code = np.searchsorted(edges, unit, side="right")
    names = np.array([name for name, _ in STACK_VALUES] + [None], dtype=object)
    return pa.array(names[code], type=pa.string())


def _strings(table: pa.Table, name: str) -> np.ndarray:
    return np.asarray(table.column(name).to_pylist(), dtype=object)
