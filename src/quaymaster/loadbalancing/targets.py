"""Target groups: targets of service tasks, their health over time, deregistration draining.

A target is ``initial`` for the group's health check time (``healthy_threshold``
checks of ``interval_s``, by default 2 x 30 s), then ``healthy``, or
``unhealthy`` for a task whose family is configured to fail its checks. A
stopping task's target is ``draining`` for the group's deregistration delay
(default 300 s) and then removed; the task stops only then.

Target ids: ``instanceId:hostPort`` for bridge and host tasks (the host port
mapped from the load balancer's ``containerName``/``containerPort``), the
task's own address for awsvpc tasks. A simulated task has no real interface,
so its address is derived from its creation order in the region:
``10.(seq >> 16 & 255).(seq >> 8 & 255).(seq & 255)`` (docs/semantics.md,
"Load balancer targets").
"""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass, field

from quaymaster.errors import ServiceError

SECOND_MS = 1000
_TARGET_GROUP_ARN = re.compile(r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:"
                               r"targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]{1,16}$")


def _invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterException", message)


def check_target_group_arn(arn) -> str:
    if not isinstance(arn, str) or not _TARGET_GROUP_ARN.match(arn):
        raise _invalid(f"loadBalancers.targetGroupArn {arn!r} is not a target group ARN "
                       f"(arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID).")
    return arn


@dataclass(eq=False)
class Target:
    id: str
    task_arn: str
    registered_at: int
    state: str = "initial"          # initial, healthy, unhealthy, draining
    due: int | None = None          # when the next state change is due
    fails: bool = False
    generation: int = 0


def task_address(task) -> str:
    seq = task.seq
    return f"10.{seq >> 16 & 255}.{seq >> 8 & 255}.{seq & 255}"


def host_port_for(task, container_name: str, container_port: int) -> int:
    """The host port a bridge/host task maps from ``container_name``'s ``container_port`` (tcp)."""
    definition = task.task_definition
    static = []
    dynamic_index = None
    for container in definition.containers:
        for mapping in container.port_mappings:
            if mapping.protocol != "tcp" or mapping.container_port is None:
                continue
            is_static = definition.network_mode == "host" or bool(mapping.host_port)
            if container.name == container_name and mapping.container_port == container_port:
                if definition.network_mode == "host":
                    return mapping.container_port
                if is_static:
                    return mapping.host_port
                dynamic_index = sum(1 for _ in _dynamic_before(definition, mapping))
            elif is_static:
                static.append(mapping.host_port)
    if dynamic_index is None:
        raise _invalid(f"The container {container_name} does not have a port mapping for "
                       f"container port {container_port}.")
    ports = [b["hostPort"] for b in task.network_bindings if b["protocol"] == "tcp"]
    dynamic = [p for p in ports if p not in static]
    return dynamic[dynamic_index]


def _dynamic_before(definition, target_mapping):
    """Dynamic tcp mappings ahead of ``target_mapping`` in definition order."""
    for container in definition.containers:
        for mapping in container.port_mappings:
            if mapping is target_mapping:
                return
            if mapping.protocol == "tcp" and mapping.container_port is not None and not mapping.host_port:
                yield mapping


def target_id(task, load_balancer: dict) -> str:
    """The id a task registers under for one ``loadBalancers`` entry of its service."""
    if task.task_definition.network_mode == "awsvpc":
        return task_address(task)
    port = host_port_for(task, load_balancer.get("containerName"), load_balancer.get("containerPort"))
    return f"{task.ec2_instance_id}:{port}"


@dataclass(eq=False)
class TargetGroup:
    arn: str
    interval_s: int = 30
    healthy_threshold: int = 2
    deregistration_delay_s: int = 300
    targets: dict = field(default_factory=dict)     # task ARN -> Target
    _due: list = field(default_factory=list)        # (due, order, generation, task ARN)
    _order: int = 0
    on_schedule: object = None                      # on_schedule(due, arn): the region's index of dues

    def __post_init__(self):
        check_target_group_arn(self.arn)
        for name in ("interval_s", "healthy_threshold", "deregistration_delay_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < (0 if "delay" in name else 1):
                raise _invalid(f"target group {name} must be a positive integer, found {value!r}.")

    @property
    def health_check_ms(self) -> int:
        return self.interval_s * self.healthy_threshold * SECOND_MS

    def _schedule(self, target: Target, due: int) -> None:
        target.due = due
        target.generation += 1
        self._order += 1
        heapq.heappush(self._due, (due, self._order, target.generation, target.task_arn))
        if self.on_schedule is not None:
            self.on_schedule(due, self.arn)

    def register(self, task_arn: str, target: str, now: int, *, fails: bool = False) -> Target:
        if task_arn in self.targets:
            raise _invalid(f"The task {task_arn} is already registered with {self.arn}.")
        entry = Target(id=target, task_arn=task_arn, registered_at=now, fails=fails)
        self.targets[task_arn] = entry
        self._schedule(entry, now + self.health_check_ms)
        return entry

    def deregister(self, task_arn: str, now: int) -> int:
        """Start draining the task's target; returns when the task may stop (now if not registered)."""
        entry = self.targets.get(task_arn)
        if entry is None:
            return now
        if entry.state != "draining":
            entry.state = "draining"
            self._schedule(entry, now + self.deregistration_delay_s * SECOND_MS)
        return entry.due

    def next_due(self) -> int | None:
        while self._due:
            due, _, generation, arn = self._due[0]
            entry = self.targets.get(arn)
            if entry is not None and entry.generation == generation:
                return due
            heapq.heappop(self._due)
        return None

    def step(self, now: int) -> list[tuple[str, str, str]]:
        """Apply every change due by ``now``: ``(task ARN, old state, new state)``; ``removed`` when drained."""
        changes = []
        while (due := self.next_due()) is not None and due <= now:
            _, _, _, arn = heapq.heappop(self._due)
            entry = self.targets[arn]
            old = entry.state
            entry.due = None
            if old == "draining":
                del self.targets[arn]
                changes.append((arn, old, "removed"))
            else:
                entry.state = "unhealthy" if entry.fails else "healthy"
                changes.append((arn, old, entry.state))
        return changes

    def healthy_count(self) -> int:
        return sum(1 for t in self.targets.values() if t.state == "healthy")

    def is_healthy(self, task_arn: str) -> bool:
        entry = self.targets.get(task_arn)
        return entry is not None and entry.state == "healthy"

    def describe_target_health(self) -> list[dict]:
        """As elbv2 DescribeTargetHealth's ``TargetHealthDescriptions`` (id and port split)."""
        out = []
        for entry in sorted(self.targets.values(), key=lambda t: (t.registered_at, t.id)):
            target_id, _, port = entry.id.partition(":")
            target = {"Id": target_id} | ({"Port": int(port)} if port else {})
            out.append({"Target": target, "TargetHealth": {"State": entry.state}})
        return out
