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

from quaymaster.services.policy import LAUNCHES_PER_MINUTE, maximum_live, minimum_healthy
from quaymaster.services.tally import HEALTHY, LIVE

UNABLE_TO_MOVE = ("service {name} was unable to stop or start tasks during a deployment because of the "
                  "service deployment configuration. Update the minimumHealthyPercent or maximumPercent "
                  "value and try again.")


def replica_pass(service, host) -> None:
    """One pass; it reads the deployments' counters (services/tally.py) and lists tasks only
    where it stops some, so a pass that changes nothing costs nothing per task."""
    now = host.now
    desired = service.desired_count
    primary = service.primary
    stopping = service.stopping()
    draining = [t for t in _live_on_draining(service) if t.last_status != "RUNNING"]
    for task in draining:  # PENDING service tasks on a DRAINING instance stop at once
        host.stop_task(service, task, "ServiceSchedulerInitiated", "Container instance is draining")
    if draining:
        stopping = True
    live = service.count(LIVE)
    healthy = service.count(HEALTHY)
    # PRIMARY's live tasks not on DRAINING instances; the others are the old ones
    primary_live = primary.tally.counts[LIVE] - len(primary.tally.draining)
    has_old = live > primary_live
    all_healthy = healthy == live
    floor_healthy = minimum_healthy(desired, service.minimum_healthy_percent)
    started = _start(service, host, desired, live, primary_live)
    stopped, healthy = _stop_old(service, host, _old_tasks(service) if has_old else [], healthy, floor_healthy)
    excess = primary_live - desired
    if excess > 0:
        n, healthy = _stop_some(service, host, primary.live_tasks(on_draining=False), excess, healthy,
                                floor_healthy)
        stopped += n
    wants_move = primary_live < desired or has_old or excess > 0
    settled = all_healthy and not stopping   # (a pass that stopped a task does not read it)
    if started or stopped or not wants_move:
        service.events.clear("deployment-bounds")
    elif settled and not host.launch_blocked(service):
        service.events.emit(now, UNABLE_TO_MOVE.format(name=service.name), cause="deployment-bounds")


def _live_on_draining(service) -> list:
    """The service's live tasks on DRAINING instances, in deployment order (launch order in each)."""
    out: list = []
    if len(service.deployments) == 1 and not service.primary.tally.draining:
        return out
    for deployment in service.deployments:
        if deployment.tally.draining:
            out += deployment.live_tasks(on_draining=True)
    return out


def _old_tasks(service) -> list:
    """The live tasks a rollout replaces, in deployment order: PRIMARY's on DRAINING instances,
    then every live task of the older deployments."""
    old = service.primary.live_tasks(on_draining=True)
    for deployment in service.deployments[1:]:
        if deployment.tally.counts[LIVE]:
            old += deployment.live_tasks()
    return old


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
