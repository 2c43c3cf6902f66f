"""The report's data: the metrics table as one time series per (scope, cluster, name, metric).

Also which services the picture shows when there are many (the top ``k`` by
unserved demand, or by size when nothing went unserved) and the CPU targets of
the scenario's target tracking policies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

Key = tuple[str, str, str]                      # (scope, cluster, name)
Series = tuple[np.ndarray, np.ndarray]          # (hours since the start, values)
CPU_METRIC = "ECSServiceAverageCPUUtilization"  # the predefined metric plotted against CPUUtilization


@dataclass
class ReportData:
    """Every entity's series, the start of the time axis and the services picked for the picture."""

    start_ms: int | None
    entities: dict[Key, dict[str, Series]]
    shown: list[Key] = field(default_factory=list)
    left_out: list[Key] = field(default_factory=list)
    ranked_by: str = "size"
    targets: dict[tuple[str, str], float] = field(default_factory=dict)
    provider_targets: dict[str, float] = field(default_factory=dict)

    def of_scope(self, scope: str) -> list[Key]:
        return sorted(key for key in self.entities if key[0] == scope)

    def series(self, key: Key, metric: str) -> Series | None:
        return self.entities.get(key, {}).get(metric)


def collect(metrics: pa.Table | None) -> tuple[int | None, dict[Key, dict[str, Series]]]:
    """Group the metrics table (rows in time order, as the recorder writes them) into series."""
    if metrics is None or metrics.num_rows == 0:
        return None, {}
    times = metrics.column("time").cast(pa.int64())
    start = int(np.min(times.to_numpy()))
    table = metrics.set_column(0, "time", times)
    grouped = table.group_by(["scope", "cluster", "name", "metric"], use_threads=False).aggregate(
        [("time", "list"), ("value", "list")])
    entities: dict[Key, dict[str, Series]] = {}
    columns = [grouped.column(name) for name in ("scope", "cluster", "name", "metric", "time_list",
                                                 "value_list")]
    for scope, cluster, name, metric, time_list, value_list in zip(*columns):
        hours = (np.asarray(time_list.values, dtype=np.int64) - start) / 3_600_000
        values = np.asarray(value_list.values, dtype=np.float64)
        key = (str(scope), str(cluster), str(name))
        entities.setdefault(key, {})[str(metric)] = (hours, values)
    return start, entities


def _total(data: ReportData, key: Key, metric: str) -> float:
    series = data.series(key, metric)
    return float(series[1].sum()) if series is not None else 0.0


def _peak(data: ReportData, key: Key, metric: str) -> float:
    series = data.series(key, metric)
    return float(series[1].max()) if series is not None and len(series[1]) else 0.0


def pick_services(data: ReportData, top: int) -> None:
    """Show the ``top`` services with the most unserved demand (or, if none, the largest by peak desired)."""
    services = data.of_scope("service")
    unserved = {key: _total(data, key, "UnservedDemand") for key in services}
    data.ranked_by = "unserved demand" if any(v > 0 for v in unserved.values()) else "size (peak desired count)"
    ranked = sorted(services, key=lambda key: (-unserved[key], -_peak(data, key, "desiredCount"), key))
    data.shown, data.left_out = ranked[:top], ranked[top:]


def policy_targets(scenario) -> dict[tuple[str, str], float]:
    """(cluster, service) -> TargetValue of a target tracking policy on average CPU, from the scenario's calls.

    A policy's ResourceId is ``service/CLUSTER/SERVICE``; the last such call wins, as a later
    PutScalingPolicy of the same policy replaces it.
    """
    targets: dict[tuple[str, str], float] = {}
    for call in getattr(scenario, "calls", []) or []:
        if (call.service, call.operation) != ("application-autoscaling", "PutScalingPolicy"):
            continue
        request = call.request
        config = request.get("TargetTrackingScalingPolicyConfiguration") or {}
        metric = (config.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType")
        parts = str(request.get("ResourceId", "")).split("/")
        if metric == CPU_METRIC and len(parts) == 3 and parts[0] == "service" and "TargetValue" in config:
            targets[(parts[1], parts[2])] = float(config["TargetValue"])
    return targets


def provider_targets(scenario) -> dict[str, float]:
    """Capacity provider name -> managed scaling's targetCapacity, from the scenario's calls."""
    targets: dict[str, float] = {}
    for call in getattr(scenario, "calls", []) or []:
        if call.service != "ecs" or call.operation not in ("CreateCapacityProvider", "UpdateCapacityProvider"):
            continue
        provider = call.request.get("autoScalingGroupProvider") or {}
        target = (provider.get("managedScaling") or {}).get("targetCapacity")
        if target is not None:
            targets[str(call.request.get("name"))] = float(target)
    return targets


def report_data(tables: dict, *, scenario=None, top: int = 6) -> ReportData:
    start, entities = collect(tables.get("metrics"))
    data = ReportData(start_ms=start, entities=entities, targets=policy_targets(scenario),
                      provider_targets=provider_targets(scenario))
    pick_services(data, top)
    return data
