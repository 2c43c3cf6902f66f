"""A service and its deployments, and their botocore-shaped descriptions.

A service's tasks are grouped by deployment (``Deployment.tasks``): the seam a
blue/green task set takes over. A task stays in its deployment until STOPPED.
Each deployment keeps counters of its tasks (``Deployment.tally``,
services/tally.py), so the counts below cost nothing to read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import attrgetter

from quaymaster.clock import to_datetime
from quaymaster.streams import key_hash
from quaymaster.scaling.fargate import FARGATE_PROVIDERS, LATEST, platform_family, resolve_platform_version
from quaymaster.services.events import EventLog
from quaymaster.services.tally import HEALTHY, PENDING, PRESENT, RUNNING, STOPPING, UNCOUNTED, Tally, task_class


@dataclass(eq=False)
class Deployment:
    id: str
    arn: str                         # the service deployment ARN (ListServiceDeployments)
    task_definition: object
    created_at: int
    status: str = "PRIMARY"          # PRIMARY, ACTIVE, INACTIVE
    rollout_state: str = "IN_PROGRESS"
    rollout_reason: str = "ECS deployment in progress."
    updated_at: int = 0
    finished_at: int | None = None
    failed_tasks: int = 0
    breaker_failures: int = 0        # failures since a task of this deployment last became healthy
    completed: bool = False
    rolled_back: bool = False
    source_arns: tuple = ()
    tasks: dict = field(default_factory=dict)   # task ARN -> Task, until STOPPED
    platform_version: str | None = None          # Fargate: the version its tasks run on (LATEST resolved)
    tally: Tally = field(default_factory=Tally, repr=False)   # counters of ``tasks`` (services/tally.py)

    @property
    def service_deployment_arn(self) -> str:
        """The ARN ListServiceDeployments / DescribeServiceDeployments name this deployment by."""
        return self.arn

    # -- its tasks: every change goes through these, so ``tally`` stays their count ----------

    def add_task(self, task) -> None:
        self.tasks[task.arn] = task
        self.tally.move(task, task_class(task))

    def drop_task(self, task) -> None:
        if self.tasks.pop(task.arn, None) is not None:
            self.tally.move(task, UNCOUNTED)

    def retally(self, task) -> None:
        """``task`` (maybe) changed its status, desired status, health or instance's DRAINING."""
        if task.tally_class != UNCOUNTED:
            new = task_class(task)
            if new != task.tally_class:
                self.tally.move(task, new)

    def counts(self) -> tuple[int, int]:
        """(running, pending) as ECS reports them."""
        counts = self.tally.counts
        return counts[RUNNING], counts[PENDING]

    def live_tasks(self, *, on_draining: bool | None = None) -> list:
        """Its live tasks in launch order; only those on DRAINING instances (True) or the others (False)."""
        if on_draining:   # tasks join a deployment as they are made: seq order is ``tasks`` order
            return sorted(self.tally.draining.values(), key=_SEQ) if self.tally.draining else []
        if on_draining is None:
            return [t for t in self.tasks.values() if t.live]
        return [t for t in self.tasks.values() if t.live and not t.on_draining]


@dataclass(eq=False)
class Service:
    name: str
    arn: str
    cluster: str
    cluster_arn: str
    seq: int
    created_at: int
    scheduling_strategy: str
    desired_count: int
    launch_type: str
    maximum_percent: int
    minimum_healthy_percent: int
    breaker_enable: bool
    breaker_rollback: bool
    placement_constraints: list
    placement_strategy: list
    request: dict                    # the CreateService request, for the fields we only echo
    events: EventLog = None
    status: str = "ACTIVE"
    deployments: list = field(default_factory=list)   # PRIMARY first, then newest first
    history: list = field(default_factory=list)       # every deployment, oldest first
    tags: list = field(default_factory=list)
    throttle_failures: int = 0
    capacity_provider_strategy: list = field(default_factory=list)   # [] when a launch type is used
    next_launch_at: int = 0
    launches_minute: int = -1
    launches_in_minute: int = 0
    task_sets: list | None = None     # EXTERNAL / CODE_DEPLOY controllers (services/tasksets.py)

    @property
    def group(self) -> str:
        return f"service:{self.name}"

    @property
    def primary(self) -> Deployment:
        return self.deployments[0]

    def all_tasks(self):
        for deployment in self.deployments:
            yield from deployment.tasks.values()

    def count(self, slot: int) -> int:
        """One counter of services/tally.py summed over the deployments (e.g. ``count(LIVE)``)."""
        deployments = self.deployments
        if len(deployments) == 1:   # the usual case, read on every scheduler pass
            return deployments[0].tally.counts[slot]
        return sum(d.tally.counts[slot] for d in deployments)

    def live_by_provider(self) -> dict:
        """Live tasks per capacity provider (``launch_plan.held_by_provider`` of its tasks)."""
        if len(self.deployments) == 1:
            return dict(self.primary.tally.by_provider)
        held: dict = {}
        for deployment in self.deployments:
            for provider, n in deployment.tally.by_provider.items():
                held[provider] = held.get(provider, 0) + n
        return held

    def new_deployment(self, task_definition, now: int, region_name: str, account: str) -> Deployment:
        n = len(self.history) + 1
        number = key_hash(self.arn, n) % 10**19
        deployment = Deployment(
            id=f"ecs-svc/{number:019d}", arn=self.deployment_arn(number, region_name, account),
            task_definition=task_definition, created_at=now, updated_at=now,
            platform_version=resolve_platform_version(self.request.get("platformVersion"), task_definition)
            if self.on_fargate else None,
            source_arns=tuple(d.arn for d in self.deployments if d.tasks))
        for old in self.deployments:
            if old.status == "PRIMARY":
                old.status = "ACTIVE"
                old.updated_at = now
        self.deployments.insert(0, deployment)
        self.history.append(deployment)
        return deployment

    def deployment_arn(self, number: int, region_name: str, account: str) -> str:
        """The service deployment ARN of the deployment ``ecs-svc/<number>``."""
        return (f"arn:aws:ecs:{region_name}:{account}:service-deployment/{self.cluster}/{self.name}/"
                f"{key_hash(number, self.arn) % 36**22:022x}")[:120]

    def counts(self) -> tuple[int, int]:
        """(running, pending) as ECS reports them."""
        running = pending = 0
        for deployment in self.deployments:
            counts = deployment.tally.counts
            running += counts[RUNNING]
            pending += counts[PENDING]
        return running, pending

    def task_stats(self) -> tuple[int, int, int, int]:
        """(running, pending, healthy, live): ``counts()``, the tasks that are ``healthy`` and
        those not yet STOPPED (what a minute's metrics read)."""
        if len(self.deployments) == 1:   # the usual case (read for every service every minute)
            counts = self.deployments[0].tally.counts
            return counts[RUNNING], counts[PENDING], counts[HEALTHY], counts[PRESENT]
        running = pending = healthy = live = 0
        for deployment in self.deployments:
            counts = deployment.tally.counts
            running += counts[RUNNING]
            pending += counts[PENDING]
            healthy += counts[HEALTHY]
            live += counts[PRESENT]
        return running, pending, healthy, live

    def stopping(self) -> bool:
        """Whether any of its tasks is being stopped (desired STOPPED, not yet dropped)."""
        return self.count(STOPPING) > 0

    def deployment_configuration(self) -> dict:
        return {"maximumPercent": self.maximum_percent, "minimumHealthyPercent": self.minimum_healthy_percent,
                "deploymentCircuitBreaker": {"enable": self.breaker_enable, "rollback": self.breaker_rollback}}

    @property
    def on_fargate(self) -> bool:
        """Whether its tasks may run on Fargate (the launch type, or a Fargate provider in its strategy)."""
        if self.capacity_provider_strategy:
            return any(item["capacityProvider"] in FARGATE_PROVIDERS for item in self.capacity_provider_strategy)
        return self.launch_type == "FARGATE"

    def to_ecs(self) -> dict:
        running, pending = self.counts()
        out = {
            "serviceArn": self.arn, "serviceName": self.name, "clusterArn": self.cluster_arn,
            "status": self.status, "desiredCount": self.desired_count, "runningCount": running,
            "pendingCount": pending,
            **({"capacityProviderStrategy": [dict(i) for i in self.capacity_provider_strategy]}
               if self.capacity_provider_strategy else {"launchType": self.launch_type}),
            "taskDefinition": self.primary.task_definition.arn if self.deployments else None,
            "deploymentConfiguration": self.deployment_configuration(),
            "deployments": [deployment_to_ecs(self, d) for d in self.deployments if d.status != "INACTIVE"],
            "events": self.events.to_ecs(), "createdAt": to_datetime(self.created_at),
            "placementConstraints": list(self.placement_constraints),
            "placementStrategy": list(self.placement_strategy),
            "schedulingStrategy": self.scheduling_strategy,
            "deploymentController": {"type": "ECS"}, "tags": list(self.tags),
            "loadBalancers": list(self.request.get("loadBalancers", [])),
            "serviceRegistries": list(self.request.get("serviceRegistries", [])),
            "enableECSManagedTags": bool(self.request.get("enableECSManagedTags", False)),
            "propagateTags": self.request.get("propagateTags", "NONE"),
            "enableExecuteCommand": bool(self.request.get("enableExecuteCommand", False)),
        }
        for key in ("healthCheckGracePeriodSeconds", "networkConfiguration"):
            if key in self.request:
                out[key] = self.request[key]
        if self.on_fargate and self.deployments:   # as requested (LATEST by default); deployments resolve it
            out["platformVersion"] = self.request.get("platformVersion", LATEST)
            out["platformFamily"] = platform_family(self.primary.task_definition)
        if self.task_sets is not None:
            from quaymaster.services.tasksets import task_set_service_view
            task_set_service_view(self, out)
        return out


_SEQ = attrgetter("seq")


def deployment_to_ecs(service: Service, d: Deployment) -> dict:
    running, pending = d.counts()
    out = {"id": d.id, "status": d.status, "taskDefinition": d.task_definition.arn,
            "desiredCount": service.desired_count if d.status == "PRIMARY" else len(d.tasks),
            "pendingCount": pending, "runningCount": running, "failedTasks": d.failed_tasks,
            "createdAt": to_datetime(d.created_at), "updatedAt": to_datetime(d.updated_at),
            "launchType": service.launch_type, "rolloutState": d.rollout_state,
            "rolloutStateReason": d.rollout_reason}
    if d.platform_version is not None:
        out["platformVersion"] = d.platform_version
        out["platformFamily"] = platform_family(d.task_definition)
    return out


def service_deployment_status(d: Deployment) -> str:
    if d.rollout_state == "FAILED":
        return "ROLLBACK_SUCCESSFUL" if d.rolled_back else "STOPPED"
    if d.rollout_state == "COMPLETED":
        return "SUCCESSFUL"
    return "STOPPED" if d.status == "INACTIVE" else "IN_PROGRESS"


def service_deployment_brief(service: Service, d: Deployment) -> dict:
    out = {"serviceDeploymentArn": d.service_deployment_arn, "serviceArn": service.arn, "clusterArn": service.cluster_arn,
           "createdAt": to_datetime(d.created_at), "startedAt": to_datetime(d.created_at),
           "targetServiceRevisionArn": d.task_definition.arn, "status": service_deployment_status(d),
           "statusReason": d.rollout_reason}
    if d.finished_at is not None:
        out["finishedAt"] = to_datetime(d.finished_at)
    return out


def service_deployment_to_ecs(service: Service, d: Deployment) -> dict:
    running, pending = d.counts()
    out = service_deployment_brief(service, d)
    out.pop("targetServiceRevisionArn")
    out.update({
        "updatedAt": to_datetime(d.updated_at),
        "targetServiceRevision": {"arn": d.task_definition.arn, "requestedTaskCount": service.desired_count,
                                  "runningTaskCount": running, "pendingTaskCount": pending},
        "sourceServiceRevisions": [{"arn": a} for a in d.source_arns],
        "deploymentConfiguration": service.deployment_configuration(),
        "deploymentCircuitBreaker": {"status": "TRIGGERED" if d.rollout_state == "FAILED" else "MONITORING",
                                     "failureCount": d.breaker_failures,
                                     "threshold": _threshold(service)},
    })
    if service.task_sets is not None:
        from quaymaster.services.tasksets import task_set_deployment_view
        task_set_deployment_view(service, d, out)
    return out


def _threshold(service: Service) -> int:
    from quaymaster.services.policy import circuit_breaker_threshold

    return circuit_breaker_threshold(service.desired_count)
