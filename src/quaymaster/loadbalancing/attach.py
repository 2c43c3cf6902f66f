"""The region's target groups and the service tasks registered with them.

Target groups are created implicitly, with the defaults, the first time a
service's ``loadBalancers[].targetGroupArn`` names one; :meth:`configure`
sets a group's health check and deregistration delay (a simulation setting,
before or after a service names it; existing targets keep their timing).

- A service task that reaches ``RUNNING`` is registered with each group its
  service (or task set) names; it counts as healthy only when its target is:
  its healthy moment becomes the later of the container's and the group's
  health check time. A target is ``unhealthy`` for a family whose timings
  say ``unhealthy`` (then the task is stopped as failing its health checks).
- A task entering ``DEACTIVATING`` is deregistered and stays there for the
  group's deregistration delay before it moves on to ``STOPPING``.
- Target changes are applied at step 3 of the clock's order.
"""

from __future__ import annotations

import heapq

from quaymaster.loadbalancing.targets import TargetGroup, check_target_group_arn, target_id
from quaymaster.region.errors import invalid


def check_load_balancers(load_balancers, task_definition) -> None:
    """Refuse ``loadBalancers`` entries a task of ``task_definition`` could not register under."""
    for i, entry in enumerate(load_balancers or []):
        if "targetGroupArn" not in entry:
            raise invalid(f"loadBalancers[{i}].targetGroupArn is required (classic load balancers are not simulated).")
        check_target_group_arn(entry["targetGroupArn"])
        if task_definition is None or task_definition.network_mode == "awsvpc":
            continue
        name, port = entry.get("containerName"), entry.get("containerPort")
        if not any(c.name == name and any(m.container_port == port for m in c.port_mappings)
                   for c in task_definition.containers):
            raise invalid(f"The container {name} does not have a container port {port} in the task "
                          f"definition {task_definition.arn} (loadBalancers[{i}]).")


class LoadBalancing:
    def __init__(self, region):
        self.region = region
        self.groups: dict[str, TargetGroup] = {}
        self.settings: dict[str, dict] = {}
        self._registered: dict[str, list] = {}     # task ARN -> target groups it is registered with
        self._dues: list = []                      # (due, group ARN), possibly stale: a heap over groups
        # The lifecycle's health seam (bound methods, not closures: a snapshot names them).
        self._container_health = region.lifecycle.decide_health
        region.lifecycle.decide_health = self._decide_health

    def _decide_health(self, task, timings) -> bool:
        if task.arn in self._registered:
            return not timings.unhealthy
        return self._container_health(task, timings)

    def configure(self, arn: str, *, interval_s: int = 30, healthy_threshold: int = 2,
                  deregistration_delay_s: int = 300) -> TargetGroup:
        settings = {"interval_s": interval_s, "healthy_threshold": healthy_threshold,
                    "deregistration_delay_s": deregistration_delay_s}
        group = TargetGroup(arn, **settings)       # checks every value before anything changes
        self.settings[arn] = settings
        if arn in self.groups:
            for name, value in settings.items():
                setattr(self.groups[arn], name, value)
        else:
            self._add(group)
        return self.groups[arn]

    def _add(self, group: TargetGroup) -> None:
        group.on_schedule = self._schedule_group
        self.groups[group.arn] = group

    def _schedule_group(self, due: int, arn: str) -> None:
        heapq.heappush(self._dues, (due, arn))

    def group(self, arn: str) -> TargetGroup:
        if arn not in self.groups:
            self._add(TargetGroup(arn, **self.settings.get(arn, {})))
        return self.groups[arn]

    def _load_balancers(self, task) -> list:
        deployment = task.deployment
        request = getattr(deployment, "request", None)
        if request is not None and request.get("loadBalancers"):
            return request["loadBalancers"]
        record = self.region.clusters.get(task.cluster)
        service = record.services.get(task.service) if record is not None else None
        return service.request.get("loadBalancers", []) if service is not None else []

    def task_changed(self, task, old_status: str) -> None:
        """The region's lifecycle listener calls this first for every task change."""
        if task.service is None:
            return
        if task.last_status == "RUNNING" and old_status != "RUNNING":
            self._register(task)
        elif task.last_status == "DEACTIVATING" and task.arn in self._registered:
            drained_at = max(group.deregister(task.arn, self.region.now) for group in self._registered[task.arn])
            if task.next_due is None or drained_at > task.next_due:
                self.region.lifecycle._schedule(task, drained_at)
        elif task.last_status == "STOPPED":
            self._registered.pop(task.arn, None)

    def _register(self, task) -> None:
        entries = self._load_balancers(task)
        if not entries:
            return
        now = self.region.now
        groups = []
        for entry in entries:
            group = self.group(entry["targetGroupArn"])
            if task.arn in group.targets:
                continue
            group.register(task.arn, target_id(task, entry), now, fails=bool(task.timings.unhealthy))
            groups.append(group)
        if not groups:
            return
        self._registered[task.arn] = groups
        ready_ms = now - task.started_at + max(g.health_check_ms for g in groups)
        timings = task.timings
        if ready_ms > timings.healthy_after_ms:
            task.timings = timings.with_changes(healthy_after_ms=ready_ms)
            exit_ms = timings.run_for_ms if timings.run_for_ms is not None else ready_ms
            self.region.lifecycle._schedule(task, task.started_at + min(ready_ms, exit_ms))

    # -- the clock ----------------------------------------------------------

    def next_due(self) -> int | None:
        dues = self._dues
        while dues:
            due, arn = dues[0]
            if self.groups[arn].next_due() == due:
                return due
            heapq.heappop(dues)       # stale: that group's next change moved
        return None

    def apply_due(self, now: int) -> None:
        """Step 3: target health and draining changes due by ``now``, groups in ARN order."""
        due_groups = set()
        while (due := self.next_due()) is not None and due <= now:
            due_groups.add(heapq.heappop(self._dues)[1])
        for arn in sorted(due_groups):
            self.groups[arn].step(now)
            following = self.groups[arn].next_due()
            if following is not None:
                heapq.heappush(self._dues, (following, arn))

    # -- views ----------------------------------------------------------------

    def healthy_targets(self, arn: str) -> int:
        group = self.groups.get(arn)
        return group.healthy_count() if group is not None else 0

    def traffic_shares(self, arn: str, service=None) -> dict[str, float]:
        """Percent of the group's traffic per healthy target: even (round robin), or by blue/green weights."""
        group = self.groups.get(arn)
        if group is None:
            return {}
        healthy = [t for t in group.targets.values() if t.state == "healthy"]
        blue_green = getattr(service, "blue_green", None) if service is not None else None
        if blue_green is None or blue_green.finished:
            return {t.id: 100.0 / len(healthy) for t in healthy} if healthy else {}
        shares = {}
        for task_set, weight in zip((blue_green.blue, blue_green.green), blue_green.weights):
            members = [t for t in healthy if t.task_arn in task_set.tasks]
            for target in members:
                shares[target.id] = weight / len(members)
        return shares
