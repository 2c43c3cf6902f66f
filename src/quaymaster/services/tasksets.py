"""Task sets: the tasks of an EXTERNAL or CODE_DEPLOY service, each set with a ``scale``.

A task set runs ``ceil(desired * scale / 100)`` tasks (its computed desired
count). Its ``stabilityStatus`` is ``STEADY_STATE`` when its running count
equals the computed desired count, nothing is pending, none of its tasks is on
a DRAINING instance and all are healthy; ``STABILIZING`` otherwise.

A ``TaskSet`` is a :class:`Deployment` of the service (its tasks are grouped
the same way), so the region's task bookkeeping serves both; the task set
pass below replaces the rolling pass for such services: each set is brought
to its computed desired count, the launch rate and throttling still apply.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from quaymaster.clock import to_datetime
from quaymaster.scaling.fargate import platform_family
from quaymaster.services.model import Deployment, deployment_to_ecs
from quaymaster.services.rolling import _launch_budget

STABLE, STABILIZING = "STEADY_STATE", "STABILIZING"
# deploymentConfiguration members of ECS's own traffic-shifting strategies
SHIFT_KEYS = ("strategy", "bakeTimeInMinutes", "linearConfiguration", "canaryConfiguration")


def computed_desired(desired: int, scale: float) -> int:
    """``ceil(desired * scale / 100)``; exact for scales like 33.3 (no float drift above an integer)."""
    return math.ceil(round(desired * scale / 100, 9))


@dataclass(eq=False)
class TaskSet(Deployment):
    scale: float = 100.0
    external_id: str | None = None
    launch_type: str = "EC2"
    request: dict | None = None
    stability: str = STABILIZING
    stability_at: int = 0
    launches_when_active: bool = True     # an ACTIVE (non-primary) task set still starts its tasks
    started_by: str | None = None
    deployment_arn: str | None = None     # set for ECS's own strategies, whose task sets are deployments

    @property
    def service_deployment_arn(self) -> str:
        return self.deployment_arn or self.arn

    def target(self, desired: int) -> int:
        return 0 if self.status == "DRAINING" else computed_desired(desired, self.scale)

    def is_steady(self, desired: int) -> bool:
        running, pending = self.counts()
        return (running == self.target(desired) and pending == 0
                and all(t.healthy and not t.on_draining for t in self.tasks.values() if t.live)
                and not any(t.desired_status == "STOPPED" for t in self.tasks.values()))

    def to_ecs(self, service) -> dict:
        running, pending = self.counts()
        request = self.request or {}
        out = {
            "id": self.id, "taskSetArn": self.arn, "serviceArn": service.arn,
            "clusterArn": service.cluster_arn, "status": self.status,
            "taskDefinition": self.task_definition.arn,
            "computedDesiredCount": self.target(service.desired_count),
            "pendingCount": pending, "runningCount": running,
            "createdAt": to_datetime(self.created_at), "updatedAt": to_datetime(self.updated_at),
            "launchType": self.launch_type, "loadBalancers": list(request.get("loadBalancers", [])),
            "serviceRegistries": list(request.get("serviceRegistries", [])),
            "scale": {"value": self.scale, "unit": "PERCENT"},
            "stabilityStatus": self.stability, "stabilityStatusAt": to_datetime(self.stability_at),
            "tags": list(request.get("tags", [])),
        }
        if self.external_id is not None:
            out["externalId"] = self.external_id
        if self.started_by:
            out["startedBy"] = self.started_by
        if "networkConfiguration" in request:
            out["networkConfiguration"] = request["networkConfiguration"]
        if self.platform_version is not None:
            out["platformVersion"] = self.platform_version
            out["platformFamily"] = platform_family(self.task_definition)
        return out


def taskset_pass(service, host) -> None:
    """Bring every task set to its computed desired count; remove drained DRAINING sets."""
    if service.status == "DRAINING":
        _drain_service(service, host)
        return
    desired = service.desired_count
    for task_set in list(service.task_sets):
        live = [t for t in task_set.tasks.values() if t.live]
        for task in live:      # tasks on DRAINING instances are replaced
            if task.on_draining:
                host.stop_task(service, task, "ServiceSchedulerInitiated",
                               "Service ECS is replacing a task on a draining container instance")
        live = [t for t in live if t.live]
        target = task_set.target(desired)
        if len(live) < target and not host.launch_blocked(service):
            count = min(target - len(live), _launch_budget(service, host.now))
            if count > 0:
                host.launch(service, task_set, count)
        elif len(live) > target:
            unhealthy = [t for t in live if not t.healthy]
            healthy = [t for t in live if t.healthy]
            excess = len(live) - target
            victims = unhealthy[:excess]
            if excess > len(victims):
                victims += host.choose_victims(service, healthy, excess - len(victims))
            for task in victims:
                host.stop_task(service, task, "ServiceSchedulerInitiated",
                               f"Scaling activity initiated by (task set {task_set.id})")
    host.report_stops(service)
    _settle_task_sets(service, host.now)
    blue_green = getattr(service, "blue_green", None)    # set by a blue/green deployment
    if blue_green is not None:
        blue_green.progress(host)


def _settle_task_sets(service, now: int) -> None:
    desired = service.desired_count
    for task_set in list(service.task_sets):
        if task_set.status == "DRAINING" and not task_set.tasks:
            service.task_sets.remove(task_set)
            service.deployments = [d for d in service.deployments if d is not task_set]
            continue
        stability = STABLE if task_set.is_steady(desired) else STABILIZING
        if stability != task_set.stability:
            task_set.stability, task_set.stability_at = stability, now


def _drain_service(service, host) -> None:
    for task in list(service.all_tasks()):
        if task.live:
            host.stop_task(service, task, "ServiceSchedulerInitiated", "Service is being deleted")
    host.report_stops(service)
    if not any(True for _ in service.all_tasks()):
        host.service_deleted(service)


def task_set_service_view(service, out: dict) -> None:
    """DescribeServices of a task-set service: EXTERNAL / CODE_DEPLOY list task sets, ECS lists deployments."""
    controller = (service.request.get("deploymentController") or {}).get("type", "ECS")
    out["deploymentController"] = {"type": controller}
    for key, value in (service.request.get("deploymentConfiguration") or {}).items():
        if key in SHIFT_KEYS:
            out["deploymentConfiguration"][key] = value
    if controller == "ECS":     # ECS's own BLUE_GREEN / LINEAR / CANARY: its task sets are deployments
        deployments = ecs_deployment_statuses(service)
        out["deployments"] = [ecs_deployment(service, t, status) for t, status in deployments]
        if deployments:
            out["taskDefinition"] = deployments[0][0].task_definition.arn
        else:
            out.pop("taskDefinition")
        return
    out["deployments"] = []
    out["taskSets"] = [t.to_ecs(service) for t in service.task_sets]
    primary = next((t for t in service.task_sets if t.status == "PRIMARY"), None)
    if primary is not None:
        out["taskDefinition"] = primary.task_definition.arn
    else:
        out.pop("taskDefinition")


_STAGES = {"PROVISIONING": "SCALE_UP", "SHIFTING": "PRODUCTION_TRAFFIC_SHIFT", "WAITING": "BAKE_TIME"}


def task_set_deployment_view(service, task_set: TaskSet, out: dict) -> None:
    """DescribeServiceDeployments of one task set of an ECS-strategy service: its count, weight and stage."""
    if (service.request.get("deploymentController") or {}).get("type", "ECS") != "ECS":
        return
    configuration = service.request.get("deploymentConfiguration") or {}
    out["deploymentConfiguration"].update({k: v for k, v in configuration.items() if k in SHIFT_KEYS})
    revision = out["targetServiceRevision"]
    revision["requestedTaskCount"] = task_set.target(service.desired_count)
    blue_green = getattr(service, "blue_green", None)
    if blue_green is not None and task_set in (blue_green.blue, blue_green.green):
        blue, green = blue_green.weights
        revision["requestedProductionTrafficWeight"] = green if task_set is blue_green.green else blue
        if task_set is blue_green.green and blue_green.state in _STAGES:
            out["lifecycleStage"] = _STAGES[blue_green.state]
    breaker = out["deploymentCircuitBreaker"]
    if not service.breaker_enable:
        breaker["status"] = "DISABLED"
    elif task_set.rollout_state == "FAILED":     # rolled back: by the breaker, or a step / the timeout
        breaker["status"] = "TRIGGERED" if "circuit breaker" in task_set.rollout_reason else "MONITORING_COMPLETE"
    elif task_set.rollout_state == "COMPLETED":
        breaker["status"] = "MONITORING_COMPLETE"


def ecs_deployment_statuses(service) -> list[tuple[TaskSet, str]]:
    """A service's task sets as ECS deployments, PRIMARY first.

    The PRIMARY deployment is the one ECS deploys to: green from the start of
    a blue/green deployment until it completes or rolls back, else the PRIMARY
    task set; every other set that still has tasks or a count is ACTIVE.
    """
    if not service.task_sets:
        return []
    blue_green = getattr(service, "blue_green", None)
    if blue_green is not None and not blue_green.finished:
        target = blue_green.green
    else:
        target = next((t for t in service.task_sets if t.status == "PRIMARY"), service.task_sets[0])
    return [(target, "PRIMARY")] + [(t, "ACTIVE") for t in service.task_sets if t is not target]


def ecs_deployment(service, task_set: TaskSet, status: str) -> dict:
    """One task set in botocore's ``Deployment`` shape, as DescribeServices shows an ECS deployment."""
    out = deployment_to_ecs(service, task_set)
    out.update(status=status, desiredCount=task_set.target(service.desired_count), launchType=task_set.launch_type)
    return out
