"""What the service scheduler asks of the region: launches, stops, victims, instances.

Launches wait in PROVISIONING until step 7 of the tick, where they are
placed in arrival order, each with the region's next placement seed.
"""

from __future__ import annotations

from dataclasses import dataclass

from quaymaster.errors import InvalidInputError
from quaymaster.lifecycle import Task
from quaymaster.region.fargate_host import fargate_subnets
from quaymaster.scaling.fargate import resolve_platform_version
from quaymaster.region.launch_plan import EXTERNAL_ATTRIBUTE, placement_target, portions
from quaymaster.placement.scalein import GroupRanking, first_chosen_among
from quaymaster.placement.strategy import DEFAULT_SERVICE
from quaymaster.placement.unchanged import NothingPlaced
from quaymaster.scaling.strategy import parse_strategy, split_tasks
from quaymaster.services.tally import LIVE, PRESENT

UNABLE_TO_PLACE = ("service {name} was unable to place a task because no container instance met all of its "
                   "requirements. Reason: {reason}.")
STARTED = "service {name} has started {n} tasks: {tasks}."
STOPPED = "service {name} has stopped {n} running tasks: {tasks}."
START_TASK_BATCH = 10


@dataclass
class KnownFailure:
    """A launch portion that placed nothing, and what its request saw of the cluster.

    The same request fails alike while nothing it reads has changed
    (placement/unchanged.py): which instances fit and why the others do not reads no
    seed; the seed only breaks ties between instances that fit and names the closest
    instance in RunTask's failure, which a service event does not show. Such a retry (a
    service waiting for capacity retries at every tick) draws its seed and reports the
    reason without placing.
    """
    cluster: object
    definition: object
    asked: tuple          # the rest of the request, compared by value
    seen: NothingPlaced
    reason: str

    def holds(self, cluster, definition, asked: tuple) -> bool:
        return (cluster is self.cluster and definition is self.definition and asked == self.asked
                and self.seen.holds(cluster))


@dataclass
class KeptSplit:
    """The portions of a service's last launch and what they were split from: a copy of its
    strategy (compared by value, so a list changed in place is seen) and of what each
    provider held (live_by_provider returns a new dict)."""
    strategy: list
    count: int
    held: dict
    portions: list

    def holds(self, strategy: list, count: int, held: dict) -> bool:
        return count == self.count and held == self.held and strategy == self.strategy


@dataclass
class Launch:
    service: object
    deployment: object
    count: int = 0
    instances: tuple = ()     # DAEMON: the instances to start on


class ServiceHost:
    def __init__(self, region):
        self.region = region
        self._stopped: dict = {}
        self._failed: dict = {}   # (service, provider) -> KnownFailure of its last launch there
        self._split: dict = {}    # service -> KeptSplit of its last launch

    def __getstate__(self):   # a snapshot keeps no memo of the cluster as it was
        return {**self.__dict__, "_failed": {}, "_split": {}}

    @property
    def now(self) -> int:
        return self.region.clock.now

    # -- launching ------------------------------------------------------------

    def launch_blocked(self, service) -> bool:
        return self.now < service.next_launch_at

    def launch(self, service, deployment, count: int) -> int:
        self.region.launch_queue.append(Launch(service, deployment, count=count))
        service.launches_in_minute += count
        return count

    def launch_daemon(self, service, deployment, instance_arns: list) -> None:
        self.region.launch_queue.append(Launch(service, deployment, instances=tuple(instance_arns)))

    def place_waiting(self) -> None:
        queue, self.region.launch_queue = self.region.launch_queue, []
        for launch in queue:
            if launch.service.status != "ACTIVE" or launch.deployment.status not in (
                    "PRIMARY", "ACTIVE" if getattr(launch.deployment, "launches_when_active", False) else ""):
                continue
            if launch.instances:
                self._place_daemon(launch)
            else:
                self._place_replica(launch)

    def _place_replica(self, launch: Launch) -> None:
        """Start a launch's tasks: by the service's capacity provider strategy (each provider's
        share on its own capacity) or all of its launch type."""
        service = launch.service
        tasks, reason, unplaced = [], None, {}
        for portion in self._portions(service, launch.count):
            if portion.launch_type == "FARGATE":
                tasks += self._launch_fargate(launch, portion)
                continue
            placed, failed = self._place_on_instances(launch, portion)
            tasks += placed
            reason = reason or failed
            if portion.provider is not None:   # what did not fit waits in PROVISIONING for the provider
                unplaced[portion.provider] = portion.count - len(placed)
        if service.capacity_provider_strategy:
            self.region.scaling.launch_tried(service, self.now, unplaced)
        if tasks and reason is None:
            service.events.clear("placement")
        if reason is not None:
            self._unplaced(service, reason)
        if tasks:
            self._started(service, tasks)

    def _portions(self, service, count: int) -> list:
        """``launch_plan.portions`` of the service's launch of ``count`` tasks given what each
        provider holds. A service waiting for capacity asks the same split at every tick (same
        count, nothing placed since): the last one is kept while its inputs are the same
        (not in plain runs)."""
        strategy = service.capacity_provider_strategy
        if not strategy:
            return portions(service.launch_type, strategy, count)
        held = service.live_by_provider()
        if not self.region.fast_paths:
            return portions(service.launch_type, strategy, count, held)
        kept = self._split.get(service)
        if kept is not None and kept.holds(strategy, count, held):
            return kept.portions
        shares = portions(service.launch_type, strategy, count, held)
        self._split[service] = KeptSplit([dict(item) for item in strategy], count, held, shares)
        return shares

    def _place_on_instances(self, launch: Launch, portion) -> tuple[list, str | None]:
        service, region = launch.service, self.region
        cluster = region.clusters[service.cluster].cluster
        definition = launch.deployment.task_definition
        asked = (portion.launch_type, portion.provider, portion.count, service.group,
                 service.placement_constraints, service.placement_strategy)
        seed = region.next_placement_seed()
        known = self._failed.get((service, portion.provider)) if region.fast_paths else None
        if known is not None and known.holds(cluster, definition, asked):
            return [], known.reason
        tasks, reason, seen = self._run_portion(launch, portion, seed)
        if tasks or reason is None or seen is None:
            self._failed.pop((service, portion.provider), None)
        else:
            kept = (*asked[:4], _copied(service.placement_constraints), _copied(service.placement_strategy))
            self._failed[(service, portion.provider)] = KnownFailure(cluster, definition, kept, seen, reason)
        return tasks, reason

    def _run_portion(self, launch: Launch, portion, seed: int) -> tuple[list, str | None, NothingPlaced | None]:
        """RunTask of a portion on the service's cluster: the region tasks it made, why
        some did not fit, and when none was placed what the request saw."""
        service, region = launch.service, self.region
        record = region.clusters[service.cluster]
        definition = launch.deployment.task_definition
        strategy = service.placement_strategy or [s.to_ecs() for s in DEFAULT_SERVICE]
        try:
            result = record.cluster.run_task(
                count=portion.count, group=service.group,
                placement_constraints=service.placement_constraints or None, placement_strategy=strategy,
                seed=seed, fast_paths=region.fast_paths,
                **placement_target(definition, portion.launch_type, portion.provider))
        except InvalidInputError as error:
            return [], str(error).rstrip("."), NothingPlaced(record.cluster) if region.fast_paths else None
        tasks = self.adopt(record, result, definition, service=service, deployment=launch.deployment,
                           capacity_provider=portion.provider)
        seen = None if tasks or not region.fast_paths else NothingPlaced(record.cluster, result.request)
        return tasks, None if result.failure is None else result.failure["reason"], seen

    def _launch_fargate(self, launch: Launch, portion) -> list:
        service = launch.service
        record = self.region.clusters[service.cluster]
        subnets = fargate_subnets(service.request)   # checked by CreateService/UpdateService
        definition = launch.deployment.task_definition
        version = getattr(launch.deployment, "platform_version", None) or \
            resolve_platform_version(service.request.get("platformVersion"), definition)
        return self.region.fargate.launch(record, definition, portion.count, portion.provider, subnets,
                                          group=service.group, service=service, deployment=launch.deployment,
                                          platform_version=version)

    def _place_daemon(self, launch: Launch) -> None:
        service, region = launch.service, self.region
        record = region.clusters[service.cluster]
        tasks, reason = [], None
        for i in range(0, len(launch.instances), START_TASK_BATCH):
            batch = list(launch.instances[i:i + START_TASK_BATCH])
            region.placement_requests += 1
            try:
                result = record.cluster.start_task(launch.deployment.task_definition, batch, group=service.group)
            except InvalidInputError as error:
                reason = str(error).rstrip(".")
                continue
            tasks += self.adopt(record, result, launch.deployment.task_definition, service=service,
                                deployment=launch.deployment, daemon=True, launch_type=service.launch_type)
            if result.failures:
                reason = result.failures[0]["reason"]
        if reason is not None:
            self._unplaced(service, reason)
        if tasks:
            self._started(service, tasks)

    def _unplaced(self, service, reason: str) -> None:
        service.events.emit(self.now, UNABLE_TO_PLACE.format(name=service.name, reason=reason), cause="placement")
        self.region.scheduler.wake_at(service, self.now + self.region.clock.tick_ms)

    def _started(self, service, tasks: list) -> None:
        shown = " ".join(f"(task {t.task_id})" for t in tasks)
        service.events.emit(self.now, STARTED.format(name=service.name, n=len(tasks), tasks=shown))

    def adopt(self, record, result, task_definition, *, service=None, deployment=None, started_by=None,
              daemon=False, tags=(), capacity_provider=None, launch_type=None) -> list[Task]:
        """Region tasks for the tasks a placement just put on ``record``'s cluster (through
        ``capacity_provider`` when a strategy chose one; ``launch_type``: the placement's unless given)."""
        region = self.region
        if result.placed_count == 0:   # most retries of a waiting launch place nothing
            return []
        arns, instance_arns, ec2_ids, tcp, udp = result.placed_rows()
        requirements, request, now = result.request.requirements, result.request, self.now
        zones = region.instance_zones(record)
        # What every task of this placement shares, looked up once.
        shared = dict(cluster=record.name, cluster_arn=record.arn, group=request.group,
                      task_definition=task_definition, launch_type=launch_type or request.launch_type,
                      created_at=now,
                      service=service.name if service is not None else None,
                      deployment_id=deployment.id if deployment is not None else None,
                      started_by=deployment.id if deployment is not None else started_by,
                      cpu=int(requirements.cpu), memory=int(requirements.memory),
                      capacity_provider=capacity_provider)
        draining, instance_tasks, cluster_tasks = record.draining, record.instance_tasks, record.tasks
        first_seq = region.task_count + 1
        region.task_count += len(arns)
        tasks = []
        for k, (arn, instance_arn, ec2_id, ports_tcp, ports_udp) in enumerate(
                zip(arns, instance_arns, ec2_ids, tcp, udp)):
            task = Task(arn=arn, seq=first_seq + k, instance_arn=instance_arn, ec2_instance_id=ec2_id,
                        availability_zone=zones.get(instance_arn), tags=list(tags),
                        network_bindings=network_bindings(ports_tcp, ports_udp), **shared)
            task.on_draining = instance_arn in draining
            cluster_tasks[arn] = task
            holding = instance_tasks.get(instance_arn)
            if holding is None:
                holding = instance_tasks[instance_arn] = {}
            holding[arn] = task
            if deployment is not None:
                deployment.add_task(task)
                task.deployment, task.owner = deployment, service
            record.task_held(task)
            tasks.append(task)
        region.lifecycle.placed_many(tasks, now)
        return tasks

    # -- stopping -------------------------------------------------------------

    def stop_task(self, service, task, code: str, reason: str) -> None:
        if self.region.lifecycle.stop(task, self.now, code, reason):
            self._stopped.setdefault(service, []).append(task)

    def report_stops(self, service) -> None:
        """One event per pass for the tasks it stopped, as ECS reports them."""
        stopped = self._stopped.pop(service, None)
        if stopped:
            shown = " ".join(f"(task {t.task_id})" for t in stopped)
            service.events.emit(self.now, STOPPED.format(name=service.name, n=len(stopped), tasks=shown))

    def choose_victims(self, service, candidates: list, count: int) -> list:
        """``count`` of ``candidates`` by the scale-in rule (the service's strategies); under a
        capacity provider strategy, first from the providers holding more than the split of
        what stays."""
        if count >= len(candidates):
            return list(candidates)
        if service.capacity_provider_strategy:
            return self._victims_by_split(service, candidates, count)
        return self._ordered_victims(service, candidates, count)

    def _victims_by_split(self, service, candidates: list, count: int) -> list:
        keep = split_tasks(max(0, service.count(LIVE) - count), parse_strategy(service.capacity_provider_strategy))
        held = service.live_by_provider()
        # Nothing stops before every provider's victims are chosen: the group is read once for
        # all of its rankings (each read afresh in plain runs).
        ranking = self._group_ranking(service) if self.region.fast_paths else None
        chosen: list = []
        for provider, target in keep.items():
            excess = min(held.get(provider, 0) - target, count - len(chosen))
            theirs = [t for t in candidates if t.capacity_provider == provider]
            if excess > 0 and theirs:
                chosen += self._ordered_victims(service, theirs, excess, ranking)
        if len(chosen) < count:
            taken = {t.arn for t in chosen}
            chosen += self._ordered_victims(service, [t for t in candidates if t.arn not in taken],
                                            count - len(chosen), ranking)
        return chosen

    def _ordered_victims(self, service, candidates: list, count: int, ranking: GroupRanking | None = None) -> list:
        """``ranking``: a GroupRanking of the service's group on its cluster as it is now (None:
        ``first_chosen_among`` reads the group)."""
        if count >= len(candidates):
            return list(candidates)
        fargate = [t for t in candidates if t.instance_arn is None]
        if fargate:   # no instance to read the strategies on: the instance tasks, then zone balance
            placed = [t for t in candidates if t.instance_arn is not None]
            chosen = self._ordered_victims(service, placed, count, ranking) if placed else []
            return chosen + fargate_victims(service, fargate, count - len(chosen))
        record = self.region.clusters[service.cluster]
        wanted = {t.arn: t for t in candidates}
        # The scale-in order of the whole group (what stays counts), of which the first
        # ``count`` candidates are taken.
        arns = first_chosen_among(record.cluster, service.group, service.count(PRESENT), wanted, count,
                                  placement_strategy=service.placement_strategy or None,
                                  seed=self.region.next_placement_seed(), ranking=ranking)
        return [wanted[arn] for arn in arns]

    def _group_ranking(self, service) -> GroupRanking:
        return GroupRanking(self.region.clusters[service.cluster].cluster, service.group,
                            service.placement_strategy or None)

    # -- DAEMON ---------------------------------------------------------------

    def daemon_instances(self, service) -> dict:
        record = self.region.clusters[service.cluster]
        expressions = [c["expression"] for c in service.placement_constraints if c.get("type") == "memberOf"]
        expressions += list(service.primary.task_definition.member_of)
        # EXTERNAL daemons run on the ECS Anywhere instances only, EC2 daemons on the others
        expressions.append(f"attribute:{EXTERNAL_ATTRIBUTE} " + ("exists" if service.launch_type == "EXTERNAL"
                                                                 else "!exists"))
        query = " and ".join(f"({e})" for e in expressions) or None
        arns = record.cluster.list_container_instances(filter=query, status="ACTIVE")
        return dict.fromkeys(arns, True)

    def daemon_target_count(self, service) -> int:
        return len(self.daemon_instances(service))

    # -- deployments ----------------------------------------------------------

    def roll_back(self, service, failed) -> None:
        target = next((d for d in reversed(service.history) if d.completed and d is not failed), None)
        if target is None:
            return
        failed.rolled_back = True
        failed.status = "ACTIVE"
        service.deployments.remove(failed)
        if target in service.deployments:
            service.deployments.remove(target)
        target.status, target.rollout_state = "PRIMARY", "IN_PROGRESS"
        target.rollout_reason = "ECS deployment circuit breaker: rolling back to deploymentId " + target.id + "."
        target.updated_at = self.now
        target.breaker_failures = 0
        service.deployments.insert(0, target)
        service.deployments.insert(1, failed)
        service.events.emit(self.now, f"service {service.name} deployment {failed.id} failed and is rolling back "
                                      f"to deployment {target.id}.")
        self.region.scheduler.reset_for_deployment(service)

    def service_deleted(self, service) -> None:
        record = self.region.clusters[service.cluster]
        service.status = "INACTIVE"
        record.services.pop(service.name, None)
        self.region.scaling.unplaced.pop(service, None)   # nothing of it waits any more
        record.inactive_services[service.name] = service


def fargate_victims(service, candidates: list, count: int) -> list:
    """``count`` Fargate tasks to stop: each from the zone where the service runs the most live
    Fargate tasks (ties to the zone name first), the newest task of that zone first."""
    held: dict = {}
    for task in service.all_tasks():
        if task.live and task.instance_arn is None:
            held[task.availability_zone] = held.get(task.availability_zone, 0) + 1
    left = sorted(candidates, key=lambda t: -t.seq)
    chosen = []
    while left and len(chosen) < count:
        zones = {t.availability_zone for t in left}
        zone = min(zones, key=lambda z: (-held.get(z, 0), z or ""))
        task = next(t for t in left if t.availability_zone == zone)
        left.remove(task)
        held[zone] = held.get(zone, 0) - 1
        chosen.append(task)
    return chosen


def _copied(items: list) -> list:
    """A list of flat request dicts (constraints, strategies), copied: a list changed in place
    afterwards no longer compares equal to it."""
    return [dict(item) for item in items or ()]


def network_bindings(ports_tcp: list, ports_udp: list) -> list:
    """A task's networkBindings from its host ports."""
    out = [{"hostPort": p, "protocol": "tcp"} for p in ports_tcp]
    if ports_udp:
        out += [{"hostPort": p, "protocol": "udp"} for p in ports_udp]
    return out
