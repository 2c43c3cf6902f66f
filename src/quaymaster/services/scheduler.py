"""The service scheduler: which services need a pass, and what task changes mean to them.

Passes cost what changes: a service gets a pass only when it is *dirty*
(created, updated, one of its tasks changed, an instance it cares about
changed) or one of its timers (throttling, the launch-rate minute) is due.
A dirty service already at rest (:func:`at_rest`: what its pass would find
asks for nothing) is passed over in fast runs: capacity arriving marks every
service of the cluster, and most of them have nothing waiting.
"""

from __future__ import annotations

import heapq

from quaymaster.services.daemon import daemon_pass
from quaymaster.services.policy import circuit_breaker_threshold, throttle_delay_s
from quaymaster.services.rolling import replica_pass
from quaymaster.services.tally import HEALTHY, PENDING, RUNNING
from quaymaster.services.tasksets import taskset_pass

THROTTLED = "service {name} is unable to consistently start tasks successfully."
STEADY = "service {name} has reached a steady state."
COMPLETED = "service {name} (deployment {id}) deployment completed."
BREAKER = "ECS deployment circuit breaker: tasks failed to start."


class ServiceScheduler:
    def __init__(self, host):
        self.host = host
        self.dirty: set = set()
        self._timers: list = []       # (due, service seq, service)
        self.passes = 0

    def mark(self, service) -> None:
        self.dirty.add(service)

    def wake_at(self, service, due: int) -> None:
        heapq.heappush(self._timers, (due, service.seq, service))

    def next_due(self) -> int | None:
        if self.dirty:
            return self.host.now
        return self._timers[0][0] if self._timers else None

    def run(self, now: int) -> None:
        """Step 6: one pass per service that needs one, DAEMON services first, in creation order."""
        while self._timers and self._timers[0][0] <= now:
            self.dirty.add(heapq.heappop(self._timers)[2])
        if not self.dirty:
            return
        order = sorted(self.dirty, key=lambda s: (s.scheduling_strategy != "DAEMON", s.seq))
        self.dirty.clear()
        skip_at_rest = self.host.region.fast_paths   # plain runs make every pass: the reference
        for service in order:
            if skip_at_rest and at_rest(service):
                continue
            self.passes += 1
            self._pass(service, now)

    def _pass(self, service, now: int) -> None:
        if service.task_sets is not None:   # EXTERNAL / CODE_DEPLOY controller
            return taskset_pass(service, self.host)
        if service.status == "DRAINING":
            for task in list(service.all_tasks()):
                if task.live:
                    self.host.stop_task(service, task, "ServiceSchedulerInitiated", "Service is being deleted")
        elif service.scheduling_strategy == "DAEMON":
            daemon_pass(service, self.host)
        else:
            replica_pass(service, self.host)
        self.host.report_stops(service)
        self._settle(service, now)

    # -- after a pass: deployments, rollout state, steady state --------------

    def _settle(self, service, now: int) -> None:
        primary = service.primary
        if len(service.deployments) > 1:
            _retire_drained(service, now)
        if service.status == "DRAINING":
            if not any(True for _ in service.all_tasks()):
                self.host.service_deleted(service)
            return
        target = self.host.daemon_target_count(service) if service.scheduling_strategy == "DAEMON" \
            else service.desired_count
        old_left = any(d.tasks for d in service.deployments[1:])
        if primary.rollout_state == "IN_PROGRESS" and not old_left and _healthy_primary(primary) >= target:
            primary.rollout_state, primary.completed = "COMPLETED", True
            primary.rollout_reason = "ECS deployment completed."
            primary.updated_at = primary.finished_at = now
            service.events.emit(now, COMPLETED.format(name=service.name, id=primary.id))
        running, pending = service.counts()
        steady = (running == target and pending == 0 and primary.rollout_state == "COMPLETED"
                  and not old_left)
        if steady:
            if not service.events.active("steady"):   # (only this message is emitted under "steady")
                service.events.emit(now, STEADY.format(name=service.name), cause="steady")
        else:
            service.events.clear("steady")

    # -- task changes --------------------------------------------------------

    def task_changed(self, service, task, old_status: str) -> None:
        """Called for every lifecycle change of a service task."""
        self.dirty.add(service)
        status = task.last_status
        if status == "RUNNING":
            if old_status != "RUNNING":
                service.throttle_failures = 0
                service.next_launch_at = 0
                service.events.clear("throttled")
            deployment = task.deployment
            if deployment is not None and task.healthy_at == self.host.region.clock.now:
                deployment.breaker_failures = 0
            return
        if status != "STOPPED":
            return
        now = self.host.region.clock.now
        deployment = task.deployment
        if deployment is not None:
            deployment.drop_task(task)
        if task.stop_code == "TaskFailedToStart":
            self._failed_to_start(service, now)
        failed_early = task.healthy_at is None and task.stop_code in (
            "TaskFailedToStart", "EssentialContainerExited") or task.health_status == "UNHEALTHY"
        if deployment is not None and failed_early:
            deployment.failed_tasks += 1
            deployment.breaker_failures += 1
            self._check_breaker(service, deployment, now)

    def _failed_to_start(self, service, now: int) -> None:
        service.throttle_failures += 1
        delay_ms = throttle_delay_s(service.throttle_failures) * 1000
        service.next_launch_at = now + delay_ms
        self.wake_at(service, service.next_launch_at)
        if service.throttle_failures >= 2:
            service.events.emit(now, THROTTLED.format(name=service.name), cause="throttled")

    def _check_breaker(self, service, deployment, now: int) -> None:
        if not service.breaker_enable or deployment is not service.primary or \
                deployment.rollout_state != "IN_PROGRESS":
            return
        if deployment.breaker_failures < circuit_breaker_threshold(service.desired_count):
            return
        deployment.rollout_state = "FAILED"
        deployment.rollout_reason = BREAKER
        deployment.updated_at = deployment.finished_at = now
        service.events.emit(now, f"service {service.name} (deployment {deployment.id}) deployment failed: "
                                 "tasks failed to start.")
        if service.breaker_rollback:
            self.host.roll_back(service, deployment)

    def reset_for_deployment(self, service) -> None:
        service.throttle_failures = 0
        service.next_launch_at = 0
        service.events.clear("throttled")
        self.dirty.add(service)


def at_rest(service) -> bool:
    """Whether a pass of ``service`` would change nothing (so it need not be made).

    Such is a REPLICA service with one deployment, COMPLETED, no live task on a
    DRAINING instance, ``desired`` tasks RUNNING and none PENDING (so ``desired``
    live ones: a task wanted RUNNING is one or the other) and its steady-state
    event active. Its pass (rolling.replica_pass) starts none (PRIMARY has
    ``desired`` live tasks), stops none (no old task, no excess) and clears the
    "deployment-bounds" cause, which the pass that found it steady cleared
    already (it had nothing to move); its settling retires no deployment,
    completes none and finds it steady with the event shown. Tasks being stopped
    do not matter: they are neither live, RUNNING nor PENDING. Only the launch
    budget's minute is not renewed, which the next pass that launches renews alike.
    """
    if service.status != "ACTIVE" or service.scheduling_strategy != "REPLICA" or \
            service.task_sets is not None or len(service.deployments) != 1:
        return False
    primary = service.primary
    counts, desired = primary.tally.counts, service.desired_count
    return (primary.rollout_state == "COMPLETED" and not primary.tally.draining
            and counts[RUNNING] == desired and counts[PENDING] == 0
            and service.events.active("steady"))


def _retire_drained(service, now: int) -> None:
    """Older deployments whose tasks have all stopped become INACTIVE and leave the list."""
    primary = service.primary
    for deployment in service.deployments[1:]:
        if not deployment.tasks and deployment.status == "ACTIVE":
            deployment.status = "INACTIVE"
            deployment.updated_at = now
            deployment.finished_at = deployment.finished_at or now
    service.deployments = [d for d in service.deployments if d.status != "INACTIVE" or d is primary]


def _healthy_primary(primary) -> int:
    """PRIMARY's healthy tasks not on DRAINING instances (what completes a deployment)."""
    on_draining = sum(1 for t in primary.tally.draining.values() if t.healthy_at is not None)
    return primary.tally.counts[HEALTHY] - on_draining
