"""A blue/green deployment over a service's task sets.

1. The green task set is created at 100% beside blue (both run their tasks).
2. When green is steady, traffic shifts by the plan's steps
   (quaymaster.loadbalancing.traffic); green becomes the PRIMARY task set
   when it holds all traffic.
3. After the plan's wait (CodeDeploy's termination wait, default 60 min, or
   ECS's ``bakeTimeInMinutes``) blue is drained and removed.

**Decision** (docs/semantics.md, "Blue/green"): a step moves only when the
previous one's bake time has passed with green steady; a failure (green not
steady at a step or during the wait, or the circuit breaker's threshold of
failed green tasks) moves all traffic back to blue and stops green. Green
that is not steady within the ready timeout (``ready_timeout_ms``, default
ECS's lifecycle stage timeout of 24 hours) fails the same way, breaker or not.
"""

from __future__ import annotations

from quaymaster.loadbalancing.traffic import TrafficShift
from quaymaster.services.policy import circuit_breaker_threshold

SUCCEEDED = "service {name} blue/green deployment {id} completed; task set {blue} removed."
ROLLED_BACK = "service {name} blue/green deployment {id} rolled back: {reason}."
MINUTE_MS = 60_000
# How long green may take to become steady before the deployment fails: ECS's
# timeout of a deployment lifecycle stage (1440 minutes), also used for CodeDeploy.
READY_TIMEOUT_MINUTES = 1440


class BlueGreenDeployment:
    def __init__(self, service, blue, green, plan, now: int, deployment_id: str, *,
                 ready_timeout_ms: int = READY_TIMEOUT_MINUTES * MINUTE_MS):
        self.service = service
        self.blue = blue
        self.green = green
        self.plan = plan
        self.id = deployment_id
        self.created_at = now
        self.shift: TrafficShift | None = None
        self.state = "PROVISIONING"     # PROVISIONING, SHIFTING, WAITING, SUCCEEDED, ROLLED_BACK
        self.reason: str | None = None
        self.ready_timeout_ms = ready_timeout_ms
        self._deadline_set = False
        green.rollout_state, green.rollout_reason = "IN_PROGRESS", "ECS deployment in progress."

    @property
    def ready_deadline(self) -> int:
        """When green, not yet steady, fails the deployment."""
        return self.created_at + self.ready_timeout_ms

    @property
    def finished(self) -> bool:
        return self.state in ("SUCCEEDED", "ROLLED_BACK")

    @property
    def weights(self) -> tuple[float, float]:
        """(blue, green) percent of the listener's traffic."""
        return (100.0, 0.0) if self.shift is None else self.shift.weights

    def _breaker_tripped(self) -> bool:
        service = self.service
        return service.breaker_enable and \
            self.green.breaker_failures >= circuit_breaker_threshold(service.desired_count)

    def progress(self, host) -> None:
        """Called after every task set pass of the service."""
        if self.finished:
            return
        now = host.now
        steady = self.green.is_steady(self.service.desired_count)
        if self.shift is None and not self._green_ready(host, now, steady):
            return
        state = self.shift.observe(now, steady, self._breaker_tripped())
        if state == "ROLLED_BACK":
            self._roll_back(host, self.shift.reason)
            return
        if self.shift.green >= 100.0 and self.green.status != "PRIMARY":
            self._make_primary(self.green, self.blue, now)
        if state == "DONE":
            self._succeed(host)
            return
        self.state = state
        due = self.shift.next_due() if state == "SHIFTING" else self.shift.step_at + self.plan.wait_ms
        host.region.scheduler.wake_at(self.service, max(due, now + 1))

    def _green_ready(self, host, now: int, steady: bool) -> bool:
        """Before the shift: True (the shift starts) once green is steady; the breaker or the timeout fail it."""
        if self._breaker_tripped():
            self._roll_back(host, "the deployment circuit breaker tripped")
            return False
        if steady:
            self.shift = TrafficShift(self.plan, now)
            return True
        if now >= self.ready_deadline:
            minutes = self.ready_timeout_ms / MINUTE_MS
            self._roll_back(host, f"the green task set did not reach a steady state within {minutes:g} minutes")
        elif not self._deadline_set:      # one timer, though a pass may come every tick
            host.region.scheduler.wake_at(self.service, self.ready_deadline)
            self._deadline_set = True
        return False

    def _make_primary(self, new, old, now: int) -> None:
        old.status, old.updated_at = "ACTIVE", now
        new.status, new.updated_at = "PRIMARY", now
        self.service.deployments.sort(key=lambda d: d.status != "PRIMARY")

    def _succeed(self, host) -> None:
        now = host.now
        self.state = "SUCCEEDED"
        self.blue.status, self.blue.updated_at = "DRAINING", now
        self.green.rollout_state, self.green.completed = "COMPLETED", True
        self.green.rollout_reason = "ECS deployment completed."
        self.green.updated_at = self.green.finished_at = now
        self.service.events.emit(now, SUCCEEDED.format(name=self.service.name, id=self.id, blue=self.blue.id))
        host.region.scheduler.mark(self.service)

    def _roll_back(self, host, reason: str) -> None:
        now = host.now
        self.state, self.reason = "ROLLED_BACK", reason
        if self.green.status == "PRIMARY":
            self._make_primary(self.blue, self.green, now)
        self.green.status, self.green.updated_at = "DRAINING", now
        self.green.rollout_state, self.green.rolled_back = "FAILED", True
        self.green.rollout_reason = f"ECS deployment rolled back: {reason}."
        self.green.finished_at = now
        self.service.events.emit(now, ROLLED_BACK.format(name=self.service.name, id=self.id, reason=reason))
        host.region.scheduler.mark(self.service)

    def to_ecs(self) -> dict:
        """A summary for tests and the simulator (not an ECS shape)."""
        blue, green = self.weights
        return {"id": self.id, "state": self.state, "reason": self.reason, "blueTaskSet": self.blue.id,
                "greenTaskSet": self.green.id, "blueWeight": blue, "greenWeight": green}
