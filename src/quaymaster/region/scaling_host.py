"""The region's auto scaling: Application Auto Scaling, Auto Scaling groups, capacity providers
and workloads, run at the clock's steps 4 and 5 (docs/semantics.md, "Scaling wired to the clock").

- step 4, every tick: :meth:`ScalingHost.tick` reconciles the Auto Scaling groups and carries
  out their actions (``register``: a container instance of the group's catalog type joins the
  cluster of the group's capacity provider in its zone; ``terminate``: the instance is
  deregistered and its tasks stopped);
- step 5, each whole minute: :meth:`ScalingHost.minute` computes the metrics of the minute that
  just ended from the workloads, runs the scheduled actions, then the scaling policies (the
  service's desired count changes, an ``activities`` row of kind ``service``), then capacity
  provider managed scaling (kind ``asg``).

Rows leave through ``metric_sink(time, scope, cluster, name, metric, value)`` and
``activity_sink(time, resource_id, kind, from, to, cause)`` when the simulation sets them.
"""

from __future__ import annotations

import operator
from typing import Callable

import numpy as np

from quaymaster.model import describe
from quaymaster.model.schema import ATTRIBUTE_PREFIX, INACTIVE, instance_rows_table
from quaymaster.region.launch_table import LaunchTables
from quaymaster.scaling.fargate import FARGATE_PROVIDERS
from quaymaster.scaling.recent import RecentPoints
from quaymaster.scaling import (ApplicationAutoScaling, AutoScaling, CapacityProviderScaling,
                                ProviderView, ServiceView, parse_strategy, split_tasks)
from quaymaster.workloads import minute_metrics

MINUTE_MS = 60_000
MAX_PROVISIONING = 300      # tasks of a cluster that may wait for capacity (ECS's limit)
DEMAND_BLOCK_MINUTES = 1440   # a workload's demand is computed a day at a time
SPLIT_MEMORY = 4096         # strategy splits remembered (cleared when full)
ZONE_ATTRIBUTE, TYPE_ATTRIBUTE = "ecs.availability-zone", "ecs.instance-type"
SERVICE_METRICS = ("CPUUtilization", "MemoryUtilization", "RequestCountPerTarget", "UnservedDemand")


def _resources(kind) -> list:
    """RegisterContainerInstance's totalResources of an instance of catalog type ``kind``."""
    resources = [{"name": "CPU", "type": "INTEGER", "integerValue": kind.cpu_units},
                 {"name": "MEMORY", "type": "INTEGER", "integerValue": kind.ecs_memory_mib}]
    if kind.gpus:
        resources.append({"name": "GPU", "type": "STRINGSET", "stringSetValue": [str(i) for i in range(kind.gpus)]})
    return resources


def resource_id(cluster: str, service: str) -> str:
    return f"service/{cluster}/{service}"


def busy_instances(record) -> set:
    """The plain walk: EC2 ids of the cluster's instances running a task that is not a DAEMON
    task (what ``record.busy_instances`` keeps, read by a plain run)."""
    busy = set()      # instance_tasks holds each instance's tasks until they are STOPPED
    for tasks in record.instance_tasks.values():
        for task in tasks.values():
            if task.last_status != "STOPPED" and (
                    task.owner is None or task.owner.scheduling_strategy != "DAEMON"):
                busy.add(task.ec2_instance_id)
                break
    return busy


def _same_objects(these: list, those: list) -> bool:
    """Whether the lists hold the same objects in the same order (identity, not equality)."""
    return len(these) == len(those) and all(map(operator.is_, these, those))


class ScalingHost:
    _snapshot_observers = ("metric_sink", "activity_sink")   # the holder's, not state (region snapshots)

    def __init__(self, region):
        self.region = region
        clock = region.clock_ms   # a bound method: a region snapshot names it
        self.aas = ApplicationAutoScaling(region=region.name, account=region.account, clock=clock,
                                          seed=region.seed, service_exists=self._service_exists)
        self.autoscaling = AutoScaling(region=region.name, account=region.account, clock=clock,
                                       seed=region.seed)
        self.providers = CapacityProviderScaling(self.autoscaling)
        self.workloads: dict = {}           # "cluster/service" -> workloads.Workload
        self.history: dict = {}             # resource id -> {metric: [per-minute values]}
        # The last metrics computed: (minute end ms, {Service: row}, rows of SERVICE_METRICS values)
        self.minute_values: tuple = (None, {}, np.empty((0, len(SERVICE_METRICS))))
        self._series_of: dict = {}          # Service -> its history lists, in SERVICE_METRICS order
        self.recent = RecentPoints(SERVICE_METRICS)   # the tails of ``history`` as one array
        self._resource_ids: dict = {}       # Service -> "service/<cluster>/<name>"
        self._workload_keys: dict = {}      # Service -> "<cluster>/<name>" (its key in ``workloads``)
        self._strategies: dict = {}         # a strategy's items (as tuples) -> parsed
        self._splits: dict = {}             # (items, count, held per item) -> split_tasks' answer
        self._live_counts: dict = {}        # service ARN -> live tasks, within one minute step
        self._running_counts: dict = {}     # service ARN -> running tasks, within one minute step
        self._demand_blocks: dict = {}      # workload service -> (first minute ms, demand rows, workload)
        self._demand_roster: tuple | None = None   # the measured workloads' blocks side by side (_roster)
        self.unplaced: dict = {}            # Service -> (tick ms, {provider: tasks its last pass left unplaced})
        self.instances: dict = {}           # EC2 instance id -> (cluster name, capacity provider)
        self.provider_of: dict = {}         # EC2 instance id -> capacity provider, kept after termination
        self.launch_tables = LaunchTables()   # fast runs: coerced rows of the launch shapes
        self.metric_sink: Callable | None = None
        self.activity_sink: Callable | None = None

    def _service_exists(self, cluster: str, service: str) -> bool:
        record = self.region.clusters.get(cluster)
        return record is not None and record.status == "ACTIVE" and service in record.services

    @property
    def every_tick(self) -> bool:
        """Whether a plain clock (``region.jump_ticks`` off) visits every tick: Auto Scaling groups
        launch and register at any."""
        return bool(self.autoscaling.groups or self.autoscaling._pending)

    def next_due(self, next_tick_ms: int) -> int | None:
        """The first time step 4 can do anything (``next_tick_ms`` when it can at the next tick).

        A group's reconcile acts only when it has fewer instances than desired, more than desired
        with one unprotected, or a booting instance due to register; desired counts and protection
        change only at step 1 (calls) and step 5 (managed scaling), after which this is asked
        again. So the ticks in between are ones where step 4 provably does nothing.
        """
        if self.autoscaling._pending:
            return next_tick_ms
        due = None
        for group in self.autoscaling.groups.values():
            size = len(group.instances)
            if size < group.desired or (size > group.desired and size > len(group.protected_ids)):
                return next_tick_ms
            for instance_id in group.booting:          # launch order is registration order
                booting = group.instances.get(instance_id)
                if booting is not None:
                    due = booting.registers_ms if due is None else min(due, booting.registers_ms)
                    break
        return due

    @property
    def every_minute(self) -> bool:
        """Whether the clock must visit every whole minute (metrics, policies, scheduled actions)."""
        return bool(self.workloads or self.aas.targets or self.autoscaling.groups)

    # -- step 4 -------------------------------------------------------------

    def tick(self, now: int) -> None:
        batch: list = []                     # consecutive registrations into one cluster
        for action in self.autoscaling.reconcile(now):
            place = self._provider_cluster(action.group) if action.kind == "register" else None
            if batch and (place is None or place[0] is not batch[0][1][0]
                          or self._row_keys(action) != self._row_keys(batch[0][0])):
                self._register_batch(batch)
                batch = []
            if place is not None:
                batch.append((action, place))
            elif action.kind == "terminate":
                self._terminate(action)
        if batch:
            self._register_batch(batch)

    def _provider_cluster(self, group_name: str):
        """(cluster record, provider name) where the group's instances register, or None."""
        for provider in self.region.capacity_providers.values():
            group = self.autoscaling.find_group(provider.group)
            if group is None or group.name != group_name:
                continue
            for record in self.region.clusters.values():
                if record.status == "ACTIVE" and provider.name in record.capacity_providers:
                    return record, provider.name
        return None

    @staticmethod
    def _row_keys(action) -> bool:
        return bool(action.instance_type.gpus)     # rows of one table share their columns

    def _register_batch(self, batch: list) -> None:
        """Container instances of the launched types join the cluster of their capacity providers
        (one instance-table append for the batch, all in one cluster: the rows and positions are
        those of one registration after another)."""
        record = batch[0][1][0]
        cluster = record.cluster
        limit = cluster.container_instance_limit
        if limit is not None and int((cluster.state.status != INACTIVE).sum()) + len(batch) > limit:
            for action, (_, provider) in batch:   # the quota refuses one of them: one at a time, as before
                self._register_one(record, provider, action)
        else:
            rows = [self._instance_row(action, provider) for action, (_, provider) in batch]
            when = self.region.clock.datetime()
            if self.region.fast_paths:
                cluster.register_coerced(self.launch_tables.table(
                    rows, cluster=cluster.name, region=cluster.region, account=cluster.account,
                    registered_at=when))
            else:
                cluster.register_instances(instance_rows_table(rows), registered_at=when)
        self._registered(record, [(action, provider) for action, (_, provider) in batch])

    def _register_one(self, record, provider: str, action) -> None:
        kind = action.instance_type
        record.cluster.register_container_instance(
            action.instance_id, total_resources=_resources(kind),
            attributes=[{"name": ZONE_ATTRIBUTE, "value": action.zone},
                        {"name": TYPE_ATTRIBUTE, "value": kind.name}],
            capacity_provider=provider, eni_limit=kind.eni_limit, registered_at=self.region.clock.datetime())

    @staticmethod
    def _instance_row(action, provider: str) -> dict:
        """What RegisterContainerInstance puts in the instance table for an Auto Scaling launch."""
        kind = action.instance_type
        row = describe.parse_resources(_resources(kind))
        row.update({"status": "ACTIVE", "eni_limit": kind.eni_limit, "capacity_provider": provider,
                    "ec2_instance_id": action.instance_id, ATTRIBUTE_PREFIX + ZONE_ATTRIBUTE: action.zone,
                    ATTRIBUTE_PREFIX + TYPE_ATTRIBUTE: kind.name})
        return row

    def _registered(self, record, registered: list) -> None:
        self.region.instances_changed(record)
        for action, provider in registered:
            self.instances[action.instance_id] = (record.name, provider)
            self.provider_of[action.instance_id] = provider
        for service in record.services.values():   # capacity arrived: waiting launches retry now
            self.region.scheduler.mark(service)

    @staticmethod
    def task_capacity_provider(task) -> str | None:
        """The capacity provider a task was launched through (None for a launch type)."""
        return task.capacity_provider

    def _terminate(self, action) -> None:
        where = self.instances.pop(action.instance_id, None)
        if where is None:
            return
        record = self.region.clusters.get(where[0])
        if record is None or record.status != "ACTIVE":
            return
        self.region.force_deregister(record, record.cluster.state.position[action.instance_id])

    # -- step 5 -------------------------------------------------------------

    def minute(self, now: int) -> None:
        # Live and running task counts taken by the metrics, valid through this step (nothing
        # starts or stops in it: scheduled actions and policies change desired counts only).
        self._live_counts: dict = {}
        self._running_counts: dict = {}
        services = self._services()        # the step changes desired counts, never which services exist
        if now > self.region.clock.start:
            self._service_metrics(now, services)
        self._apply(self.aas.run_scheduled_actions(now, {key: s.desired_count for _, s, key in services}))
        recent = self.recent if self.region.fast_paths else None   # plain: the quiet test slices ``history``
        self._apply(self.aas.run_policies(now, self._views(services), recent))
        self._managed_scaling(now)

    def _services(self) -> list:
        """(record, service, resource id) of every service of the ACTIVE clusters, by creation."""
        out = []
        for record in self.region.clusters.values():
            if record.status != "ACTIVE":
                continue
            for service in sorted(record.services.values(), key=lambda s: s.seq):
                key = self._resource_ids.get(service)
                if key is None:
                    key = self._resource_ids[service] = resource_id(record.name, service.name)
                out.append((record, service, key))
        return out

    def _service_metrics(self, now: int, services: list) -> None:
        """The minute's metrics of every service with a workload, in one vectorised step (the
        arithmetic is elementwise, so each service's values are those it would get alone); kept
        as ``minute_values`` (one row per service) and appended to each service's ``history``."""
        measured, workloads = [], []
        inputs: list = []         # per service: running, healthy, task CPU, task memory (one flat list)
        workload_keys, live_counts, running_counts = self._workload_keys, self._live_counts, self._running_counts
        for record, service, _ in services:
            key = workload_keys.get(service)
            if key is None:
                key = workload_keys[service] = f"{record.name}/{service.name}"
            workload = self.workloads.get(key)
            if workload is not None:
                running, _, healthy, live = service.task_stats()
                live_counts[service.arn] = live
                running_counts[service.arn] = running
                measured.append(service)
                workloads.append(workload)
                requirements = service.primary.task_definition.requirements()
                inputs += (running, healthy, requirements.cpu or 1, requirements.memory or 1)
        if not measured:
            return
        demand = self._demand_rows(workloads, now - MINUTE_MS)
        counts = np.array(inputs, dtype=np.float64).reshape(-1, 4)
        values = minute_metrics(demand[:, 0], demand[:, 1], demand[:, 2], counts[:, 0], counts[:, 1],
                                counts[:, 2], counts[:, 3])
        table = np.column_stack([values[name] for name in SERVICE_METRICS])
        self.minute_values = (now, {service: k for k, service in enumerate(measured)}, table)
        self.recent.push(self.recent.slots([self._resource_ids[service] for service in measured]), table)
        series_of = self._series_of
        for service, (cpu, memory, requests, unserved) in zip(measured, table.tolist()):
            cpu_series, memory_series, requests_series, unserved_series = \
                series_of.get(service) or self._series(service)
            cpu_series.append(cpu)
            memory_series.append(memory)
            requests_series.append(requests)
            unserved_series.append(unserved)

    def _series(self, service) -> list:
        """The service's ``history`` lists of SERVICE_METRICS (by resource id: a service created
        again under the same name goes on with the same series)."""
        cached = self._series_of.get(service)
        if cached is None:
            history = self.history.setdefault(self._resource_ids[service], {})
            cached = self._series_of[service] = [history.setdefault(name, []) for name in SERVICE_METRICS]
        return cached

    def _demand_block(self, workload, minute_ms: int) -> tuple:
        """(first minute ms, (DEMAND_BLOCK_MINUTES, 3) CPU, memory and requests demand, workload):
        the day of the workload's demand that holds the minute starting at ``minute_ms``,
        computed at once (a workload's demand of a minute does not depend on the others)."""
        block = self._demand_blocks.get(workload.service)
        if block is None or block[2] is not workload or \
                not 0 <= (minute_ms - block[0]) // MINUTE_MS < DEMAND_BLOCK_MINUTES:
            times = minute_ms + MINUTE_MS * np.arange(DEMAND_BLOCK_MINUTES, dtype=np.int64)
            demand = workload.demand(times, start_ms=self.region.clock.start, seed=self.region.seed)
            rows = np.column_stack([demand.cpu, demand.memory, demand.requests]).astype(np.float64)
            block = (minute_ms, rows, workload)
            self._demand_blocks[workload.service] = block
        return block

    def _demand(self, workload, minute_ms: int) -> np.ndarray:
        """(CPU, memory, requests) demand of the minute starting at ``minute_ms``."""
        first, values, _ = self._demand_block(workload, minute_ms)
        return values[(minute_ms - first) // MINUTE_MS]

    def _demand_rows(self, workloads: list, minute_ms: int) -> np.ndarray:
        """(len(workloads), 3): each workload's ``_demand`` of the minute. A fast run reads them
        as one column of a (workloads x minutes) copy of their blocks, kept while the same
        workloads are asked, in the same order, for minutes the copy holds; a plain run asks
        ``_demand`` of each."""
        if not self.region.fast_paths:
            rows = [self._demand(workload, minute_ms) for workload in workloads]
            return np.array(rows, np.float64).reshape(-1, 3)
        roster = self._demand_roster
        if roster is None or not _same_objects(roster[0], workloads) or \
                not 0 <= (minute_ms - roster[1]) // MINUTE_MS < roster[2].shape[1]:
            roster = self._demand_roster = self._roster(workloads, minute_ms)
        return roster[2][:, (minute_ms - roster[1]) // MINUTE_MS]

    def _roster(self, workloads: list, minute_ms: int) -> tuple:
        """(workloads, first minute ms, (workloads, minutes, 3) demand): the minutes from
        ``minute_ms`` that every workload's block holds, copied side by side."""
        blocks = [self._demand_block(workload, minute_ms) for workload in workloads]
        end = min((first + MINUTE_MS * DEMAND_BLOCK_MINUTES for first, _, _ in blocks),
                  default=minute_ms + MINUTE_MS)
        minutes = (end - minute_ms) // MINUTE_MS
        demand = np.empty((len(blocks), minutes, 3), np.float64)
        for row, (first, values, _) in enumerate(blocks):
            offset = (minute_ms - first) // MINUTE_MS
            demand[row] = values[offset:offset + minutes]
        return workloads, minute_ms, demand

    def _views(self, services: list) -> dict:
        views = {}
        targets = self.aas.targets
        for record, service, key in services:
            if key not in targets:
                continue
            running = self._running_counts.get(service.arn)
            if running is None:
                running, _ = service.counts()
            views[key] = ServiceView(running, service.desired_count, self.history.get(key, {}),
                                     deployment_in_progress=len(service.deployments) > 1)
        return views

    def _apply(self, changes) -> None:
        for change in changes:
            record = self.region.clusters[change.cluster]
            service = record.services.get(change.service)
            if service is None or service.status != "ACTIVE":
                continue
            service.desired_count = change.to_count
            self.region.scheduler.mark(service)
            self._activity(change.time_ms, service.arn, "service", change.from_count, change.to_count,
                           change.cause)

    def _activity(self, now, resource, kind, before, after, cause) -> None:
        if self.activity_sink is not None:
            self.activity_sink(now, resource, kind, str(before), str(after), cause)

    def _metric(self, now, scope, cluster, name, metric, value) -> None:
        if self.metric_sink is not None:
            self.metric_sink(now, scope, cluster, name, metric, float(value))

    # -- capacity providers (step 5, last) ------------------------------------

    def _managed_scaling(self, now: int) -> None:
        clusters = self._cluster_demands()
        views = [self._provider_view(p, clusters) for p in self.region.capacity_providers.values()]
        for outcome in self.providers.run(now, views, self.region.fast_paths):
            cluster = self._cluster_of(outcome.provider)
            for metric, value in (("CapacityProviderReservation", outcome.reservation),
                                  ("N", outcome.n), ("M", outcome.m)):
                self._metric(now, "capacity_provider", cluster, outcome.provider, metric, value)
            if outcome.cause is not None:
                group = self.autoscaling.find_group(outcome.group)
                self._activity(now, group.arn, "asg", outcome.from_desired, outcome.to_desired,
                               outcome.cause)
        for group in self.autoscaling.groups.values():
            place = self._provider_cluster(group.name)
            cluster = place[0].name if place else None
            self._metric(now, "asg", cluster, group.name, "desiredCapacity", group.desired)
            self._metric(now, "asg", cluster, group.name, "inServiceInstances", group.in_service())

    def _cluster_of(self, provider: str) -> str | None:
        return next((r.name for r in self.region.clusters.values()
                     if r.status == "ACTIVE" and provider in r.capacity_providers), None)

    def _cluster_demands(self) -> list:
        """Per ACTIVE cluster with capacity providers: (record, instances busy with non-DAEMON
        tasks, [(task needs, {provider: tasks waiting}) per service]): what every provider's view
        reads, gathered once a minute rather than once per provider."""
        out = []
        for record in self.region.clusters.values():
            if record.status != "ACTIVE" or not record.capacity_providers:
                continue
            busy = record.busy_instances if self.region.fast_paths else busy_instances(record)
            unplaced = self.unplaced     # most services: nothing left unplaced, nothing waits
            waiting = [w for w in (self._waiting_split(record, s, self._live_counts.get(s.arn))
                                   for s in record.services.values() if s in unplaced) if w]
            out.append((record, busy, waiting))
        return out

    def _provider_view(self, provider, clusters: list) -> ProviderView:
        busy_sets: list = []
        waiting: list = []
        for record, cluster_busy, cluster_waiting in clusters:
            if provider.name not in record.capacity_providers:
                continue
            busy_sets.append(cluster_busy)
            for needs, split in cluster_waiting:
                waiting += [needs] * split.get(provider.name, 0)
        # A provider belongs to one cluster at most: its busy set is read as it is, not copied
        # (thousands of ids, three providers, every minute); the view only reads it.
        busy = busy_sets[0] if len(busy_sets) == 1 else frozenset().union(*busy_sets)
        waiting += self.region.provisioning.needs(provider.name)
        provisioning = np.array(waiting[:MAX_PROVISIONING], dtype=np.int64).reshape(-1, 4)
        return ProviderView(provider.name, provider.group, provider.settings, busy, provisioning)

    def waiting_count(self, record, live_counts: dict | None = None) -> int:
        """Tasks of the cluster waiting in PROVISIONING for capacity provider capacity: its
        services' (see :meth:`services_waiting`) and RunTask's queue, at most 300."""
        return min(MAX_PROVISIONING, self.services_waiting(record, live_counts)
                   + self.region.provisioning.count(record.name))

    def services_waiting(self, record, live_counts: dict | None = None) -> int:
        """Tasks of the cluster's services waiting in PROVISIONING for an Auto Scaling group's
        capacity (``live_counts``: service ARN -> live tasks, counted by the caller at this instant)."""
        total = 0
        for service in record.services.values():
            if service not in self.unplaced:    # the usual case: nothing waits
                continue
            waiting = self._waiting_split(record, service, (live_counts or {}).get(service.arn))
            if waiting:
                total += sum(waiting[1].get(name, 0) for name in record.capacity_providers
                             if name not in FARGATE_PROVIDERS)
        return min(MAX_PROVISIONING, total)

    def launch_tried(self, service, now: int, unplaced: dict) -> None:
        """The service's scheduler pass at ``now`` tried to place tasks by its capacity provider
        strategy; ``unplaced``: provider -> tasks of its share that found no room on the provider's
        instances. The launches of one tick add up; a later pass replaces them."""
        last = self.unplaced.get(service)
        if last is not None and last[0] == now:
            unplaced = {p: last[1].get(p, 0) + unplaced.get(p, 0) for p in {*last[1], *unplaced}}
        if any(unplaced.values()):
            self.unplaced[service] = (now, unplaced)
        else:        # nothing left unplaced: as if no pass had left any (the minute skips it)
            self.unplaced.pop(service, None)

    def _split(self, strategy: list, count: int, held: dict) -> dict:
        """``split_tasks`` of ``count`` tasks by the strategy given what each provider holds,
        remembered: a minute asks again the same few questions for every waiting service."""
        key = (tuple(tuple(item.items()) for item in strategy), count)
        items = self._strategies.get(key[0])
        if items is None:
            items = self._strategies[key[0]] = parse_strategy(strategy)
        key += tuple(held.get(item.capacity_provider, 0) for item in items)  # all the split reads
        split = self._splits.get(key)
        if split is None:
            if len(self._splits) >= SPLIT_MEMORY:
                self._splits.clear()
            split = self._splits[key] = split_tasks(count, items, held)
        return split

    def _waiting_split(self, record, service, live_count: int | None = None) -> tuple | None:
        """((CPU, memory, ENIs, GPUs), {provider: count}) of the service's tasks that wait in
        PROVISIONING (docs/semantics.md, "Which tasks wait in PROVISIONING (managed scaling)"):
        those its last scheduler pass could not place on a provider's instances, as far as the
        service still falls short of its desired count (the shortfall split by the strategy, per
        provider); None when nothing waits. A shortfall the scheduler has not tried to place yet
        (a desired count just raised) does not wait. ``live_count``: the live tasks, when counted."""
        last = self.unplaced.get(service)       # first: most services left nothing unplaced
        if last is None or not any(last[1].values()):
            return None
        strategy = getattr(service, "capacity_provider_strategy", None)
        if not strategy or service.status != "ACTIVE":
            return None
        if live_count is None:      # the tasks not yet STOPPED, from the service's counters
            live_count = service.task_stats()[3]
        shortfall = service.desired_count - live_count
        if shortfall <= 0:
            return None
        short = self._split(strategy, shortfall, service.live_by_provider())
        waiting = {p: min(n, short.get(p, 0)) for p, n in last[1].items()}
        if not any(waiting.values()):
            return None
        needs = service.primary.task_definition.requirements()
        return ((int(needs.cpu), int(needs.memory), int(needs.eni), int(needs.gpu)), waiting)
