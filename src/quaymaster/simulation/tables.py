"""The tables a simulation returns, recorded as the region runs (Arrow; Parquet under --out)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from quaymaster.scaling.fargate import FARGATE_PROVIDERS
from quaymaster.region.scaling_host import SERVICE_METRICS
from quaymaster.simulation.cost import InstanceMeter, cost_of, fargate_cost, fargate_usage
from quaymaster.simulation.metric_rows import MetricRows

TIME = pa.timestamp("ms", tz="UTC")
# Per Fargate provider and minute: tasks RUNNING, tasks on their way there, and the vCPU and GB of
# memory held by every task not yet STOPPED (what Fargate bills; docs/semantics.md).
FARGATE_METRICS = ("runningTasks", "pendingTasks", "vcpuHeld", "memoryGBHeld")
_STARTING = frozenset(("PROVISIONING", "PENDING", "ACTIVATING"))
# A service's rows each minute: its counts, then the scaling host's metrics of the minute
_SERVICE_ROWS = ("desiredCount", "runningCount", "pendingCount", "healthyTargets", *SERVICE_METRICS)
_UNSERVED = SERVICE_METRICS.index("UnservedDemand")
SCHEMAS = {
    "metrics": pa.schema([("time", TIME), ("scope", pa.string()), ("cluster", pa.string()),
                          ("name", pa.string()), ("metric", pa.string()), ("value", pa.float64())]),
    "events": pa.schema([("time", TIME), ("cluster", pa.string()), ("service", pa.string()),
                         ("message", pa.string())]),
    "tasks": pa.schema([(name, pa.string()) for name in (
        "task_arn", "cluster", "group", "service", "deployment_id", "task_definition_arn", "launch_type",
        "capacity_provider", "ec2_instance_id", "availability_zone")]
        + [(name, TIME) for name in ("created_at", "started_at", "stopping_at", "stopped_at")]
        + [("stop_code", pa.string()), ("stopped_reason", pa.string())]),
    "activities": pa.schema([("time", TIME), ("resource_id", pa.string()), ("kind", pa.string()),
                             ("from", pa.string()), ("to", pa.string()), ("cause", pa.string())]),
}
# Event kinds for summary.json: the message with the service's name and ids taken out.
_KINDS = [("steady state", re.compile(r"has reached a steady state")),
          ("started tasks", re.compile(r"has started \d+ tasks")),
          ("stopped tasks", re.compile(r"has stopped \d+ running tasks")),
          ("unable to place", re.compile(r"was unable to place a task")),
          ("deployment completed", re.compile(r"deployment completed")),
          ("deployment failed", re.compile(r"deployment failed")),
          ("rolling back", re.compile(r"is rolling back")),
          ("unable to move", re.compile(r"unable to stop or start tasks")),
          ("throttled", re.compile(r"unable to consistently start tasks"))]


def event_kind(message: str) -> str:
    return next((kind for kind, pattern in _KINDS if pattern.search(message)), "other")


class Recorder:
    def __init__(self, region, scenario, seed: int):
        self.region = region
        self.scenario = scenario
        self.seed = seed
        self.events: list = []
        self.metrics = MetricRows()
        self.activities: list = []
        self.peak_instances = 0
        self.unserved_total = 0.0
        region.event_sink = lambda t, c, s, m: self.events.append((t, c, s, m))
        region.scaling.workloads = {w.service: w for w in scenario.workloads}
        region.scaling.metric_sink = self.metrics.add
        region.scaling.activity_sink = lambda *row: self.activities.append(row)
        self.meter = InstanceMeter(region)
        self._fargate_seen: dict[str, set] = {}   # cluster -> Fargate providers with rows
        self.sampled = bool("metrics" in scenario.outputs or scenario.workloads or scenario.prices)
        if self.sampled:   # a run without them skips whole minutes: nothing metered (instanceHours null)
            region.sample_hooks.append(self.sample)

    # -- per minute -----------------------------------------------------------

    def sample(self, now: int) -> None:
        instances_total = 0
        for record in self.region.clusters.values():
            if record.status != "ACTIVE":
                continue
            services = sorted(record.services.values(), key=lambda s: s.seq)
            stats = [service.task_stats() for service in services]
            provisioning, cpu_held, memory_held, fargate = self._task_tallies(record)
            # RunTask's waiting tasks are live PROVISIONING tasks already: only the services' are added
            provisioning += self.region.scaling.services_waiting(
                record, {service.arn: s[3] for service, s in zip(services, stats)})
            self._service_rows(now, record, services, stats)
            instances, cpu_total, memory_total = self.region.cluster_capacity(record)
            instances_total += instances
            for k, v in (("instances", instances), ("provisioningTasks", provisioning),
                         ("cpuReservation", 100.0 * cpu_held / cpu_total if cpu_total else 0.0),
                         ("memoryReservation", 100.0 * memory_held / memory_total if memory_total else 0.0)):
                self.metrics.add(now, "cluster", record.name, record.name, k, v)
            self._fargate_seen[record.name].update(fargate)
            for provider, tally in sorted(fargate.items()):
                for k, v in tally.items():
                    self.metrics.add(now, "capacity_provider", record.name, provider, k, v)
        self.peak_instances = max(self.peak_instances, instances_total)
        self.meter.sample(now)

    def _task_tallies(self, record) -> tuple[int, int, int, dict]:
        """(tasks PROVISIONING, CPU and memory the instances' tasks hold, the Fargate providers'
        tallies) of the cluster's tasks not yet STOPPED, from the record's running tallies."""
        fargate = self._fargate_tallies(record)
        provisioning = cpu_held = memory_held = 0
        for (status, provider), (count, cpu, memory) in record.live_tally().items():
            if not count:
                continue
            provisioning += count if status == "PROVISIONING" else 0
            if provider is None:
                cpu_held += cpu
                memory_held += memory
            else:                   # its own capacity, not the instances'
                _tally_fargate(fargate, provider, status, count, cpu, memory)
        return provisioning, cpu_held, memory_held, fargate

    def _service_rows(self, now: int, record, services: list, stats: list) -> None:
        """The services' rows of this minute, one block: per service its counts, then the
        metrics of the minute that just ended when the scaling host computed them (in the
        order of ``SERVICE_METRICS``)."""
        if not services:
            return
        n = len(services)
        values = np.empty((n, len(_SERVICE_ROWS)), np.float64)
        values[:, 0] = [service.desired_count for service in services]
        values[:, 1:4] = np.array(stats, np.float64).reshape(n, 4)[:, :3]
        measured = np.zeros(n, bool)
        at, index, minute = self.region.scaling.minute_values
        if at == now:
            rows = np.array([index.get(service, -1) for service in services], np.int64)
            measured = rows >= 0
            values[measured, 4:] = minute[rows[measured]]
            for unserved in minute[rows[measured], _UNSERVED].tolist():   # in row order, one at a time
                self.unserved_total += unserved
        keep = np.ones((n, len(_SERVICE_ROWS)), bool)
        keep[:, 4:] = measured[:, None]
        names = np.array([self.metrics.code(service.name) for service in services], np.int64)
        metrics = np.array([self.metrics.code(name) for name in _SERVICE_ROWS], np.int64)
        keep = keep.ravel()
        self.metrics.add_block(now, "service", record.name, np.repeat(names, len(_SERVICE_ROWS))[keep],
                               np.tile(metrics, n)[keep], values.ravel()[keep])

    def _fargate_tallies(self, record) -> dict:
        """Zeroed tallies of the Fargate providers the cluster lists or has run tasks on: once a
        provider has a row it gets one every minute, so its series has no gaps."""
        seen = self._fargate_seen.setdefault(record.name, set())
        seen.update(p for p in record.capacity_providers if p in FARGATE_PROVIDERS)
        return {provider: dict.fromkeys(FARGATE_METRICS, 0.0) for provider in seen}

    # -- activities -----------------------------------------------------------

    def desired_counts(self) -> dict:
        return {s.arn: s.desired_count for r in self.region.clusters.values() for s in r.services.values()}

    def activities_after(self, before: dict, cause: str) -> None:
        for arn, count in self.desired_counts().items():
            if before.get(arn, 0) != count:
                self.activities.append((self.region.now, arn, "service", str(before.get(arn, 0)), str(count),
                                        cause))

    # -- results --------------------------------------------------------------

    def finish(self) -> None:
        self._tasks = [t for r in self.region.clusters.values() for t in r.tasks.values()]
        self._tasks.sort(key=lambda t: t.seq)

    def tables(self) -> dict:
        columns = {
            "events": _columns(self.events, 4),
            "activities": _columns(self.activities, 6),
            "tasks": _task_columns(self._tasks, self.region.scaling.task_capacity_provider),
        }
        out = {}
        for name in self.scenario.outputs:
            schema = SCHEMAS[name]
            if name == "metrics":
                out[name] = pa.table(self.metrics.arrays(schema), schema=schema)
                continue
            out[name] = pa.table([pa.array(list(col), f.type) for col, f in zip(columns[name], schema)],
                                 schema=schema)
        return out

    def summary(self) -> dict:
        services = {}
        for record in self.region.clusters.values():
            for service in sorted([*record.services.values(), *record.inactive_services.values()],
                                  key=lambda s: s.seq):
                running, pending = service.counts()
                services[f"{record.name}/{service.name}"] = {
                    "status": service.status, "desiredCount": service.desired_count, "runningCount": running,
                    "pendingCount": pending, "rolloutState": _rollout_state(service)}
        kinds = Counter(event_kind(m) for _, _, _, m in self.events)
        hours = self.meter.hours() if self.sampled else None
        cost, unpriced = cost_of(hours, self.scenario.prices)
        fargate = fargate_usage(self._tasks, self.region.now)
        fargate_usd, fargate_unpriced = fargate_cost(fargate, self.scenario.prices)
        # an unpriced Fargate provider leaves no cost, as an unpriced instance type does
        cost = None if cost is None or fargate_unpriced else cost + fargate_usd
        summary = {"services": services, "peakInstances": self.peak_instances,
                   "unservedDemandTotal": self.unserved_total, "events": dict(sorted(kinds.items())),
                   "tasks": len(self._tasks), "transitions": self.region.lifecycle.transitions,
                   "instanceHours": hours, "fargate": fargate, "cost": cost}
        if unpriced:
            summary["unpricedInstanceTypes"] = unpriced
        if fargate_unpriced and self.scenario.prices:
            summary["unpricedFargate"] = fargate_unpriced
        return summary

    def write(self, out_dir) -> None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        for name, table in self.tables().items():
            pq.write_table(table, out / f"{name}.parquet", compression="zstd")
        (out / "summary.json").write_text(json.dumps(self.summary(), indent=2, sort_keys=True) + "\n")


def _columns(rows: list, width: int) -> list:
    """Rows of ``width`` values as ``width`` column lists (``zip(*rows)`` unpacks millions of
    arguments: several times slower on a day of metrics)."""
    return [[row[k] for row in rows] for k in range(width)]


def _rollout_state(service) -> str | None:
    """The rolloutState of the first deployment DescribeServices shows: an ECS BLUE_GREEN / LINEAR /
    CANARY service's task sets are its deployments (green's IN_PROGRESS while it deploys); an
    EXTERNAL or CODE_DEPLOY service shows none (null)."""
    if service.task_sets is None:
        return service.primary.rollout_state
    deployments = service.to_ecs()["deployments"]
    return deployments[0]["rolloutState"] if deployments else None


def _tally_fargate(tallies: dict, provider: str, status: str, count: int, cpu: int, memory: int) -> None:
    """Count ``count`` not yet STOPPED Fargate tasks of one status (holding ``cpu`` units and
    ``memory`` MiB together) under their provider (the FARGATE launch type, with no provider,
    under FARGATE: the same capacity at the same price). The vCPU and GB are sums of multiples
    of 1/1024: exact, whatever the order they are added in."""
    tally = tallies.get(provider)
    if tally is None:     # not listed by the cluster: the FARGATE launch type, or an earlier association
        tally = tallies[provider] = dict.fromkeys(FARGATE_METRICS, 0.0)
    if status == "RUNNING":
        tally["runningTasks"] += count
    elif status in _STARTING:
        tally["pendingTasks"] += count
    tally["vcpuHeld"] += cpu / 1024
    tally["memoryGBHeld"] += memory / 1024


def _task_columns(tasks, capacity_provider) -> list:
    rows = [(t.arn, t.cluster, t.group, t.service, t.deployment_id, t.task_definition.arn, t.launch_type,
             capacity_provider(t),
             t.ec2_instance_id, t.availability_zone, t.created_at, t.started_at, t.stopping_at, t.stopped_at,
             t.stop_code, t.stopped_reason) for t in tasks]
    return list(zip(*rows)) if rows else [[]] * 16
