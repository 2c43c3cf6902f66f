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
failed green tasks) moves all traffic back to blue and stops green.
"""

from __future__ import annotations

from quaymaster.loadbalancing.traffic import TrafficShift
from quaymaster.services.policy import circuit_breaker_threshold

SUCCEEDED = "service {name} blue/green deployment {id} completed; task set {blue} removed."
ROLLED_BACK = "service {name} blue/green deployment {id} rolled back: {reason}."


class BlueGreenDeployment:
    def __init__(self, service, blue, green, plan, now: int, deployment_id: str):
        self.service = service
        self.blue = blue
        self.green = green
        self.plan = plan
        self.id = deployment_id
        self.created_at = now
        self.shift: TrafficShift | None = None
        self.state = "PROVISIONING"     # PROVISIONING, SHIFTING, WAITING, SUCCEEDED, ROLLED_BACK
        self.reason: str | None = None

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
        if self.shift is None:
            if self._breaker_tripped():
                self._roll_back(host, "the deployment circuit breaker tripped")
                return
            if not steady:
                return
            self.shift = TrafficShift(self.plan, now)
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

    def _make_primary(self, new, old, now: int) -> None:
        old.status, old.updated_at = "ACTIVE", now
        new.status, new.updated_at = "PRIMARY", now
        self.service.deployments.sort(key=lambda d: d.status != "PRIMARY")

    def _succeed(self, host) -> None:
        now = host.now
        self.state = "SUCCEEDED"
        self.blue.status, self.blue.updated_at = "DRAINING", now
        self.green.rollout_state, self.green.completed = "COMPLETED", True
        self.service.events.emit(now, SUCCEEDED.format(name=self.service.name, id=self.id, blue=self.blue.id))
        host.region.scheduler.mark(self.service)

    def _roll_back(self, host, reason: str) -> None:
        now = host.now
        self.state, self.reason = "ROLLED_BACK", reason
        if self.green.status == "PRIMARY":
            self._make_primary(self.blue, self.green, now)
        self.green.status, self.green.updated_at = "DRAINING", now
        self.green.rollout_state, self.green.rolled_back = "FAILED", True
        self.service.events.emit(now, ROLLED_BACK.format(name=self.service.name, id=self.id, reason=reason))
        host.region.scheduler.mark(self.service)

    def to_ecs(self) -> dict:
        """A summary for tests and the simulator (not an ECS shape)."""
        blue, green = self.weights
        return {"id": self.id, "state": self.state, "reason": self.reason, "blueTaskSet": self.blue.id,
                "greenTaskSet": self.green.id, "blueWeight": blue, "greenWeight": green}
