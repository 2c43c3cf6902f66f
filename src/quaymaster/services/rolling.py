"""One REPLICA scheduler pass, exactly as the rolling-deployment Decision says.

1. ``live`` = the service's tasks not yet stopping; start PRIMARY tasks while
   ``live < floor(desired * max / 100)`` and PRIMARY has fewer than desired
   live tasks (tasks on DRAINING instances do not count as PRIMARY's: they are
   being replaced);
2. stop old tasks (old deployments' and those on DRAINING instances), the
   unhealthy ones first, then healthy ones while the healthy count stays at
   least ``ceil(desired * min / 100)``; victims by the scale-in rule;
3. stop PRIMARY tasks beyond desired under the same minimum.
"""

from __future__ import annotations

from quaymaster.lifecycle.task import LIVE_SET
from quaymaster.services.policy import LAUNCHES_PER_MINUTE, maximum_live, minimum_healthy

UNABLE_TO_MOVE = ("service {name} was unable to stop or start tasks during a deployment because of the "
                  "service deployment configuration. Update the minimumHealthyPercent or maximumPercent "
                  "value and try again.")


def replica_pass(service, host) -> None:
    now = host.now
    desired = service.desired_count
    primary = service.primary
    live, stopping = _live_tasks(service)
    draining = [t for t in live if t.on_draining and t.last_status != "RUNNING"]
    for task in draining:  # PENDING service tasks on a DRAINING instance stop at once
        host.stop_task(service, task, "ServiceSchedulerInitiated", "Container instance is draining")
    if draining:
        live, stopping = [t for t in live if t.live], True
    primary_live, old, healthy = _split(live, primary.id)
    all_healthy = healthy == len(live)
    floor_healthy = minimum_healthy(desired, service.minimum_healthy_percent)
    started = _start(service, host, desired, len(live), len(primary_live))
    stopped, healthy = _stop_old(service, host, old, healthy, floor_healthy)
    excess = len(primary_live) - desired
    if excess > 0:
        n, healthy = _stop_some(service, host, primary_live, excess, healthy, floor_healthy)
        stopped += n
    wants_move = len(primary_live) < desired or old or excess > 0
    settled = all_healthy and not stopping   # (a pass that stopped a task does not read it)
    if started or stopped or not wants_move:
        service.events.clear("deployment-bounds")
    elif settled and not host.launch_blocked(service):
        service.events.emit(now, UNABLE_TO_MOVE.format(name=service.name), cause="deployment-bounds")


def _live_tasks(service) -> tuple[list, bool]:
    """The service's live tasks (in deployment order), and whether any task is stopping."""
    live, stopping = [], False
    for task in service.all_tasks():
        if task.desired_status != "RUNNING":
            stopping = True
        elif task.last_status in LIVE_SET:
            live.append(task)
    return live, stopping


def _split(live: list, primary_id: str) -> tuple[list, list, int]:
    """(PRIMARY's live tasks not on DRAINING instances, the old ones, how many are healthy)."""
    primary_live, old, healthy = [], [], 0
    for task in live:
        if task.healthy_at is not None:
            healthy += 1
        if task.deployment_id == primary_id and not task.on_draining:
            primary_live.append(task)
        else:
            old.append(task)
    return primary_live, old, healthy


def _start(service, host, desired: int, live: int, primary_live: int) -> int:
    if service.primary.rollout_state == "FAILED" or host.launch_blocked(service):
        return 0
    room = maximum_live(desired, service.maximum_percent) - live
    count = min(room, desired - primary_live, _launch_budget(service, host.now))
    if count <= 0:
        return 0
    return host.launch(service, service.primary, count)


def _launch_budget(service, now: int) -> int:
    minute = now // 60_000
    if service.launches_minute != minute:
        service.launches_minute, service.launches_in_minute = minute, 0
    return LAUNCHES_PER_MINUTE - service.launches_in_minute


def _stop_old(service, host, old: list, healthy: int, floor_healthy: int) -> tuple[int, int]:
    if not old:
        return 0, healthy
    unhealthy = [t for t in old if not t.healthy]
    for task in unhealthy:   # they never lower the healthy count
        host.stop_task(service, task, "ServiceSchedulerInitiated", _replaced_reason(service, task))
    stopped = len(unhealthy)
    rest = [t for t in old if t.healthy]
    n, healthy = _stop_some(service, host, rest, len(rest), healthy, floor_healthy)
    return stopped + n, healthy


def _stop_some(service, host, candidates: list, wanted: int, healthy: int,
               floor_healthy: int) -> tuple[int, int]:
    """Stop up to ``wanted`` of ``candidates`` (unhealthy first) keeping ``healthy >= floor``."""
    unhealthy = [t for t in candidates if not t.healthy]
    stopped = 0
    for task in unhealthy[:wanted]:
        host.stop_task(service, task, "ServiceSchedulerInitiated", _replaced_reason(service, task))
        stopped += 1
    allowed = min(wanted - stopped, healthy - floor_healthy)
    if allowed <= 0:
        return stopped, healthy
    victims = host.choose_victims(service, [t for t in candidates if t.healthy], allowed)
    for task in victims:
        host.stop_task(service, task, "ServiceSchedulerInitiated", _replaced_reason(service, task))
    return stopped + len(victims), healthy - len(victims)


def _replaced_reason(service, task) -> str:
    if task.on_draining:
        return "Service ECS is replacing a task on a draining container instance"
    return f"Scaling activity initiated by (deployment {service.primary.id})"
