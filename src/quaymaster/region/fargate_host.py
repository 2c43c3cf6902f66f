"""FARGATE and FARGATE_SPOT tasks of the region (docs/semantics.md, "Launch types and capacity
provider strategies").

A Fargate task holds no container instance: it gets its own capacity of exactly its task size,
an elastic network interface in one of its subnets, and the Availability Zone of that subnet,
spread evenly over the zones of the subnets given. Its ARN comes from its cluster's task
sequence (so it never collides with a placed task's). FARGATE_SPOT tasks draw, once a minute,
whether they get a Spot interruption warning; two minutes after the warning they stop with
``SpotInterruption``.
"""

from __future__ import annotations

import hashlib

from quaymaster.errors import InvalidInputError, ServiceError
from quaymaster.keys import splitmix64
from quaymaster.lifecycle import Task
from quaymaster.loadbalancing.targets import task_address
from quaymaster.region.errors import invalid
from quaymaster.scaling.fargate import (PLATFORM_VERSIONS, check_fargate_size, platform_family, spot_interruptions,
                                        spread_zones)
from quaymaster.taskdef.validate import TaskSize, check_fargate

MINUTE_MS = 60_000
SPOT_WARNING_MS = 120_000
DEFAULT_SPOT_INTERRUPTIONS_PER_HOUR = 0.05   # per task-hour: one task in twenty an hour
DEFAULT_ZONE_LETTERS = "abc"                 # every region has at least three zones
PLATFORM_VERSION = PLATFORM_VERSIONS["Linux"][0]   # what LATEST resolves to on Linux
SPOT_REASON = "Your Spot Task was interrupted."
SPOT_WARNING = ("task {task} (FARGATE_SPOT) received a Spot interruption warning: it stops with "
                "SpotInterruption in 2 minutes.")
_NO_NETWORK = "Network Configuration must be provided when networkMode 'awsvpc' is specified."


def fargate_subnets(request: dict) -> list[str]:
    """The subnets of a request's ``networkConfiguration.awsvpcConfiguration`` (refused if none)."""
    network = request.get("networkConfiguration")
    config = network.get("awsvpcConfiguration") if isinstance(network, dict) else None
    if not isinstance(config, dict):
        raise invalid(_NO_NETWORK)
    subnets = config.get("subnets")
    if not isinstance(subnets, list) or not subnets:
        raise invalid("networkConfiguration.awsvpcConfiguration.subnets can not be empty.")
    if len(subnets) > 16:
        raise invalid("networkConfiguration.awsvpcConfiguration.subnets can have at most 16 subnets.")
    for index, subnet in enumerate(subnets):
        if not isinstance(subnet, str) or not subnet:
            raise invalid(f"networkConfiguration.awsvpcConfiguration.subnets[{index}] must be a subnet id "
                          f"(got {subnet!r}).")
    return list(subnets)


def check_fargate_definition(definition) -> None:
    """ClientException unless the definition can run on Fargate (awsvpc, a Fargate size, no
    field Fargate refuses); the message names the field."""
    if definition.network_mode != "awsvpc":
        raise ServiceError("ClientException", "Task definition does not support launch_type FARGATE. "
                           f"networkMode: Fargate only supports network mode 'awsvpc' (got "
                           f"{definition.network_mode!r}).")
    check_fargate_size(definition.task_cpu, definition.task_memory)
    try:
        check_fargate(definition._document, definition.containers, definition.network_mode,
                      TaskSize(definition.task_cpu, definition.task_memory))
    except InvalidInputError as error:
        raise ServiceError("ClientException", "Task definition does not support launch_type FARGATE. "
                           f"{error}") from None


def _hex(seed: int, salt: int, digits: int) -> str:
    return f"{splitmix64(seed ^ salt):016x}"[:digits]


class FargateHost:
    """The region's Fargate capacity: launches, subnet zones, Spot interruptions."""

    def __init__(self, region):
        self.region = region
        self.spot_interruptions_per_hour = DEFAULT_SPOT_INTERRUPTIONS_PER_HOUR
        self.subnet_zones: dict[str, str] = {}   # explicit subnet -> zone, before the hash rule
        self._spot: dict[str, Task] = {}         # ARN -> FARGATE_SPOT tasks not yet warned
        self.warnings: list[tuple[int, str]] = []   # (time, task ARN) of every warning given

    def set_spot_interruptions(self, per_hour) -> None:
        if isinstance(per_hour, bool) or not isinstance(per_hour, (int, float)) or not per_hour >= 0 \
                or per_hour == float("inf"):
            raise invalid(f"spotInterruptionsPerHour must be a finite number >= 0 (got {per_hour!r}).")
        self.spot_interruptions_per_hour = float(per_hour)

    def set_subnet_zones(self, mapping) -> None:
        if not isinstance(mapping, dict) or not all(isinstance(k, str) and k and isinstance(v, str) and v
                                                    for k, v in mapping.items()):
            raise invalid(f"subnets must map subnet ids to Availability Zone names (got {mapping!r}).")
        self.subnet_zones.update(mapping)

    def zone_of(self, subnet: str) -> str:
        """A subnet's zone: the one set for it, else ``<region>`` plus a letter of a, b, c chosen
        by a hash of the subnet id (the same subnet is always in the same zone)."""
        explicit = self.subnet_zones.get(subnet)
        if explicit is not None:
            return explicit
        digest = int.from_bytes(hashlib.blake2b(subnet.encode(), digest_size=8).digest(), "big")
        return self.region.name + DEFAULT_ZONE_LETTERS[digest % len(DEFAULT_ZONE_LETTERS)]

    # -- launching --------------------------------------------------------------

    def launch(self, record, definition, count: int, provider: str | None, subnets: list[str], *,
               group: str, service=None, deployment=None, started_by=None, tags=(),
               platform_version: str = PLATFORM_VERSION) -> list[Task]:
        """``count`` Fargate tasks in PROVISIONING; ``provider`` is FARGATE, FARGATE_SPOT or None
        (the FARGATE launch type, invisible to capacity providers)."""
        region, now = self.region, self.region.clock.now
        zones_of = {subnet: self.zone_of(subnet) for subnet in subnets}
        family = platform_family(definition)
        held: dict = {}
        siblings = service.all_tasks() if service is not None else ()
        for task in siblings:
            if task.live and task.launch_type == "FARGATE":
                held[task.availability_zone] = held.get(task.availability_zone, 0) + 1
        zones = spread_zones(count, list(zones_of.values()), held)
        first_sequence = record.cluster.tasks.reserve_sequence(count)
        first_seq = region.task_count + 1
        region.task_count += count
        tasks = []
        for k, zone in enumerate(zones):
            subnet = next(s for s in subnets if zones_of[s] == zone)
            arn = record.cluster.tasks.arn_of(first_sequence + k)
            task = Task(arn=arn, seq=first_seq + k, cluster=record.name, cluster_arn=record.arn, group=group,
                        task_definition=definition, launch_type="FARGATE", created_at=now,
                        availability_zone=zone, service=service.name if service is not None else None,
                        deployment_id=deployment.id if deployment is not None else None,
                        started_by=deployment.id if deployment is not None else started_by,
                        cpu=int(definition.task_cpu), memory=int(definition.task_memory), tags=list(tags),
                        capacity_provider=provider, platform_version=platform_version,
                        platform_family=family,
                        attributes=[{"name": "ecs.availability-zone", "value": zone},
                                    {"name": "ecs.cpu-architecture", "value": "x86_64"}])
            task.attachments = [self._eni(task, subnet)]
            record.tasks[arn] = task
            if deployment is not None:
                deployment.add_task(task)
                task.deployment, task.owner = deployment, service
            if provider == "FARGATE_SPOT":
                self._spot[arn] = task
            tasks.append(task)
        region.lifecycle.placed_many(tasks, now)
        return tasks

    def _eni(self, task: Task, subnet: str) -> dict:
        seed = splitmix64(self.region.seed ^ task.seq)
        return {"id": f"{_hex(seed, 1, 8)}-{_hex(seed, 2, 4)}-{_hex(seed, 3, 4)}-{_hex(seed, 4, 4)}-"
                      f"{_hex(seed, 5, 12)}",
                "type": "ElasticNetworkInterface", "status": "ATTACHED",
                "details": [{"name": "subnetId", "value": subnet},
                            {"name": "networkInterfaceId", "value": f"eni-0{_hex(seed, 6, 16)}"},
                            {"name": "macAddress", "value": ":".join(_hex(seed, 7 + i, 2) for i in range(6))},
                            # the address a load balancer registers the task under
                            {"name": "privateIPv4Address", "value": task_address(task)}]}

    # -- Spot interruptions (step 5, each whole minute) ---------------------------

    @property
    def every_minute(self) -> bool:
        return bool(self._spot)

    def minute(self, now: int) -> None:
        """Draw this minute's Spot interruption warnings; a warned task stops two minutes later."""
        for arn in [a for a, t in self._spot.items() if not t.live]:
            del self._spot[arn]
        if not self._spot or self.spot_interruptions_per_hour == 0:
            return
        tasks = sorted(self._spot.values(), key=lambda t: t.seq)
        hit = spot_interruptions(self.region.seed, [t.seq for t in tasks], now // MINUTE_MS,
                                 self.spot_interruptions_per_hour)
        for task, warned in zip(tasks, hit.tolist()):
            if warned:
                del self._spot[task.arn]
                self.warnings.append((now, task.arn))
                self.region.record_event(task.cluster, task.service, now, SPOT_WARNING.format(task=task.task_id))
                self.region.schedule(now + SPOT_WARNING_MS, self._interrupter(task))

    def _interrupter(self, task: Task):
        def interrupt() -> None:
            self.region.lifecycle.stop(task, self.region.clock.now, "SpotInterruption", SPOT_REASON)
        return interrupt
