"""The tables a simulation returns, recorded as the region runs (Arrow; Parquet under --out)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from quaymaster.scaling.fargate import FARGATE_PROVIDERS
from quaymaster.simulation.cost import InstanceMeter, cost_of, fargate_cost, fargate_usage

TIME = pa.timestamp("ms", tz="UTC")
# Per Fargate provider and minute: tasks RUNNING, tasks on their way there, and the vCPU and GB of
# memory held by every task not yet STOPPED (what Fargate bills; docs/semantics.md).
FARGATE_METRICS = ("runningTasks", "pendingTasks", "vcpuHeld", "memoryGBHeld")
_STARTING = frozenset(("PROVISIONING", "PENDING", "ACTIVATING"))
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
        self.metrics: list = []
        self.activities: list = []
        self.peak_instances = 0
        self.unserved_total = 0.0
        region.event_sink = lambda t, c, s, m: self.events.append((t, c, s, m))
        region.scaling.workloads = {w.service: w for w in scenario.workloads}
        region.scaling.metric_sink = lambda *row: self.metrics.append(row)
        region.scaling.activity_sink = lambda *row: self.activities.append(row)
        self.meter = InstanceMeter(region)
        self._fargate_seen: dict[str, set] = {}   # cluster -> Fargate providers with rows
        self.sampled = bool("metrics" in scenario.outputs or scenario.workloads or scenario.prices)
        if self.sampled:   # a run without them skips whole minutes: nothing metered (instanceHours null)
            region.sample_hooks.append(self.sample)

    # -- per minute -----------------------------------------------------------

    def sample(self, now: int) -> None:
        rows = self.metrics
        instances_total = 0
        for record in self.region.clusters.values():
            if record.status != "ACTIVE":
                continue
            services = sorted(record.services.values(), key=lambda s: s.seq)
            cpu_held = memory_held = provisioning = 0
            fargate = self._fargate_tallies(record)
            for task in record.live_tasks():
                provisioning += task.last_status == "PROVISIONING"
                if task.launch_type == "FARGATE":     # its own capacity, not the instances'
                    _tally_fargate(fargate, task)
                else:
                    cpu_held += task.cpu
                    memory_held += task.memory
            stats = {service.arn: service.task_stats() for service in services}
            # RunTask's waiting tasks are live PROVISIONING tasks already: only the services' are added
            provisioning += self.region.scaling.services_waiting(record, {a: s[3] for a, s in stats.items()})
            for service in services:
                running, pending, healthy, _ = stats[service.arn]
                values = [("desiredCount", service.desired_count), ("runningCount", running),
                          ("pendingCount", pending), ("healthyTargets", healthy)]
                at, minute = self.region.scaling.last_metrics.get((record.name, service.name), (None, None))
                if at == now:
                    values += list(minute.items())
                    self.unserved_total += minute["UnservedDemand"]
                rows += [(now, "service", record.name, service.name, k, float(v)) for k, v in values]
            instances, cpu_total, memory_total = self.region.cluster_capacity(record)
            instances_total += instances
            rows += [(now, "cluster", record.name, record.name, k, float(v)) for k, v in (
                ("instances", instances), ("provisioningTasks", provisioning),
                ("cpuReservation", 100.0 * cpu_held / cpu_total if cpu_total else 0.0),
                ("memoryReservation", 100.0 * memory_held / memory_total if memory_total else 0.0))]
            self._fargate_seen[record.name].update(fargate)
            rows += [(now, "capacity_provider", record.name, provider, k, float(v))
                     for provider, tally in sorted(fargate.items()) for k, v in tally.items()]
        self.peak_instances = max(self.peak_instances, instances_total)
        self.meter.sample(now)

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
            "metrics": _columns(self.metrics, 6),
            "events": _columns(self.events, 4),
            "activities": _columns(self.activities, 6),
            "tasks": _task_columns(self._tasks, self.region.scaling.task_capacity_provider),
        }
        out = {}
        for name in self.scenario.outputs:
            schema = SCHEMAS[name]
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


def _tally_fargate(tallies: dict, task) -> None:
    """Count a not yet STOPPED Fargate task under its provider (the FARGATE launch type, with no
    provider, under FARGATE: the same capacity at the same price)."""
    provider = task.capacity_provider or "FARGATE"
    tally = tallies.get(provider)
    if tally is None:     # not listed by the cluster: the FARGATE launch type, or an earlier association
        tally = tallies[provider] = dict.fromkeys(FARGATE_METRICS, 0.0)
    status = task.last_status
    if status == "RUNNING":
        tally["runningTasks"] += 1
    elif status in _STARTING:
        tally["pendingTasks"] += 1
    tally["vcpuHeld"] += task.cpu / 1024
    tally["memoryGBHeld"] += task.memory / 1024


def _task_columns(tasks, capacity_provider) -> list:
    rows = [(t.arn, t.cluster, t.group, t.service, t.deployment_id, t.task_definition.arn, t.launch_type,
             capacity_provider(t),
             t.ec2_instance_id, t.availability_zone, t.created_at, t.started_at, t.stopping_at, t.stopped_at,
             t.stop_code, t.stopped_reason) for t in tasks]
    return list(zip(*rows)) if rows else [[]] * 16
