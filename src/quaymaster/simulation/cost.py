"""What a simulation's capacity costs: EC2 instance-hours per instance type times an hourly price,
plus Fargate's vCPU-hours and GB-hours per provider times its rates.

A scenario prices instance types with ``prices: {"c5.large": 0.085, ...}`` (USD
per instance-hour, On-Demand Linux as the user's region and contract charge).
quaymaster ships no default prices: AWS's rates change and differ by region, so
a cost is only as good as the prices the scenario gives. Without ``prices`` the
cost is null; with them, every instance type that ran must have a price.

Metering (docs/semantics.md, "Cost and fleet sizing"): at the end of each whole
minute of the run the meter counts, per instance type, every instance that
exists then: a fleet instance registered and not yet deregistered, and every
instance of an Auto Scaling group (booting, in service, or unregistered). Each
count stands for that minute, so a fleet of 12 instances over 30 minutes is 6
instance-hours. EC2 bills per second; a minute is the simulation's metric grain.

Fargate is priced with ``"FARGATE": {"vcpuHour": USD, "gbHour": USD}`` (and ``FARGATE_SPOT``)
and metered per task as AWS bills it: from the start of the image pull until the task stops,
rounded up to the second, with a one-minute minimum (``fargate_usage``).
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from quaymaster.fleet.catalog import load_catalog
from quaymaster.model.schema import INACTIVE
from quaymaster.scaling.fargate import FARGATE_PROVIDERS

TYPE_ATTRIBUTE = "ecs.instance-type"
FARGATE_RATES = ("vcpuHour", "gbHour")
FARGATE_MINIMUM_S = 60     # Fargate bills per second with a one-minute minimum


def parse_prices(value, path: str = "$.prices") -> dict:
    """``{instance type: USD per hour}`` checked: catalog types, finite non-negative numbers; and
    ``FARGATE`` / ``FARGATE_SPOT``: ``{"vcpuHour": USD, "gbHour": USD}``."""
    from quaymaster.simulation.scenario import ScenarioError

    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ScenarioError(path, 'a mapping of instance type to USD per hour, e.g. {"c5.large": 0.085}')
    catalog = load_catalog()
    prices: dict = {}
    for name, price in value.items():
        if name in FARGATE_PROVIDERS:
            prices[name] = _fargate_price(price, f"{path}.{name}")
            continue
        if name not in catalog:
            raise ScenarioError(f"{path}.{name}", "not an instance type of the catalog "
                                "(quaymaster fleet types lists them)")
        if not _is_price(price):
            raise ScenarioError(f"{path}.{name}", f"a price in USD per hour (a number >= 0), found {price!r}")
        prices[name] = float(price)
    return prices


def _is_price(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value) and value >= 0


def _fargate_price(value, path: str) -> dict[str, float]:
    from quaymaster.simulation.scenario import ScenarioError

    if not isinstance(value, dict) or set(value) != set(FARGATE_RATES):
        raise ScenarioError(path, 'an object {"vcpuHour": USD per vCPU-hour, "gbHour": USD per GB-hour}, '
                            f"found {value!r}")
    for rate in FARGATE_RATES:
        if not _is_price(value[rate]):
            raise ScenarioError(f"{path}.{rate}", f"a price in USD (a number >= 0), found {value[rate]!r}")
    return {rate: float(value[rate]) for rate in FARGATE_RATES}


class InstanceMeter:
    """Instance-minutes per instance type, counted at each whole minute after the start."""

    def __init__(self, region):
        self.region = region
        self.minutes: Counter = Counter()

    def sample(self, now: int) -> None:
        if now <= self.region.clock.start:      # the count at the start stands for no minute
            return
        groups = self.region.scaling.autoscaling.groups.values()
        for group in groups:                    # kept per type by the group as instances come and go
            for name, count in group.type_counts.items():
                if count:
                    self.minutes[name] += count
        for record in self.region.clusters.values():
            if record.status == "ACTIVE":
                self.minutes.update(self._fleet_types(record, groups))

    def _fleet_types(self, record, groups) -> Counter:
        """Registered instances of the cluster not in an Auto Scaling group, per type. Cached as the
        region caches a cluster's capacity: instances join (state.n) or leave (the epoch)."""
        key = (record.cluster.state.n, self.region.__dict__.get("_capacity_epoch", 0))
        cached = record.__dict__.get("_fleet_types")
        if cached is None or cached[0] != key:
            group_ids = {instance_id for group in groups for instance_id in group.instances}
            cached = record.__dict__["_fleet_types"] = (key, _fleet_counts(record.cluster.state, group_ids))
        return cached[1]

    def hours(self) -> dict[str, float]:
        return {name: count / 60 for name, count in sorted(self.minutes.items())}


def _fleet_counts(state, group_ids: set) -> Counter:
    """Per instance type ("unknown" for an instance without one), the instances not INACTIVE
    whose EC2 id is not in ``group_ids``, read from the instance state's columns (the instance
    table's, without building it)."""
    column = state.attributes.get(TYPE_ATTRIBUTE)
    if column is None or column.is_empty():          # no instance-type column in the table
        return Counter()
    ids, codes, values = state.ids, column.codes, column.values
    counts: Counter = Counter()
    for position in np.flatnonzero(state.status != INACTIVE).tolist():
        if ids[position] in group_ids:
            continue
        code = int(codes[position])
        counts[(values[code] if code >= 0 else None) or "unknown"] += 1
    return counts


def cost_of(hours: dict[str, float] | None, prices: dict[str, float]) -> tuple[float | None, list[str]]:
    """(USD, instance types that ran without a price); the cost is None without prices, without
    metering, or with an unpriced type (a partial sum would understate it)."""
    if hours is None:
        return None, []
    unpriced = sorted(name for name, value in hours.items() if value > 0 and name not in prices)
    if not prices or unpriced:
        return None, unpriced
    return sum(value * prices[name] for name, value in hours.items()), []


def fargate_usage(tasks, end_ms: int) -> dict[str, dict]:
    """Per Fargate provider (the FARGATE launch type counts as FARGATE): tasks billed, vCPU-hours
    and GB-hours. A task is billed from the start of its image pull (when PENDING began) until
    it stopped (or the run's end), rounded up to the second, at least a minute; a task stopped
    before its pull began costs nothing."""
    usage: dict[str, dict] = {}
    for task in tasks:
        if task.launch_type != "FARGATE" or task.pull_started_at is None:
            continue
        end = task.stopped_at if task.stopped_at is not None else end_ms
        seconds = max(FARGATE_MINIMUM_S, -(-(end - task.pull_started_at) // 1000))
        entry = usage.setdefault(task.capacity_provider or "FARGATE", {"tasks": 0, "vcpuHours": 0.0, "gbHours": 0.0})
        entry["tasks"] += 1
        entry["vcpuHours"] += task.cpu / 1024 * seconds / 3600
        entry["gbHours"] += task.memory / 1024 * seconds / 3600
    return dict(sorted(usage.items()))


def fargate_cost(usage: dict[str, dict], prices: dict) -> tuple[float, list[str]]:
    """(USD, Fargate providers that ran without a price)."""
    unpriced = sorted(name for name in usage if name not in prices)
    total = sum(entry["vcpuHours"] * prices[name]["vcpuHour"] + entry["gbHours"] * prices[name]["gbHour"]
                for name, entry in usage.items() if name in prices)
    return total, unpriced
