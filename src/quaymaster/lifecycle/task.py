"""One task of the region, as it moves through ECS's lifecycle."""

from __future__ import annotations

from dataclasses import dataclass, field

from quaymaster.clock import to_datetime

STATUS_ORDER = ("PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING", "STOPPING",
                "DEPROVISIONING", "STOPPED")
RANK = {name: i for i, name in enumerate(STATUS_ORDER)}
LIVE_STATUSES = STATUS_ORDER[:4]   # before DEACTIVATING: what a deployment counts as live
LIVE_SET = frozenset(LIVE_STATUSES)


@dataclass(eq=False)
class Task:
    arn: str
    seq: int                      # creation order in the region: the order transitions are applied in
    cluster: str
    cluster_arn: str
    group: str
    task_definition: object       # quaymaster.taskdef.TaskDefinition
    launch_type: str
    created_at: int
    instance_arn: str | None = None
    ec2_instance_id: str | None = None
    availability_zone: str | None = None
    service: str | None = None
    deployment_id: str | None = None
    started_by: str | None = None
    cpu: int = 0
    memory: int = 0
    network_bindings: list = field(default_factory=list)
    last_status: str = "PROVISIONING"
    desired_status: str = "RUNNING"
    started_at: int | None = None
    pull_started_at: int | None = None   # PENDING began: its images are being pulled (Fargate bills from here)
    healthy_at: int | None = None      # when it became healthy (None: not healthy yet)
    health_status: str = "UNKNOWN"
    stopping_at: int | None = None
    stopped_at: int | None = None
    stop_code: str | None = None
    stopped_reason: str | None = None
    next_due: int | None = None        # when the next transition is due
    generation: int = 0                # invalidates stale heap entries
    on_draining: bool = False          # its instance is DRAINING (set by the region)
    timings: object = None             # its TaskTimings, fixed when it is placed
    deployment: object = None          # the service deployment (or task set) it belongs to
    owner: object = None               # the service it belongs to
    tags: list = field(default_factory=list)
    capacity_provider: str | None = None   # the provider a capacity provider strategy chose
    attachments: list = field(default_factory=list)   # Fargate: its elastic network interface
    attributes: list = field(default_factory=list)    # Fargate: ecs.availability-zone and the like
    platform_version: str | None = None    # Fargate: the platform version it runs on
    platform_family: str | None = None     # Fargate: Linux, or the Windows family
    tally_class: int = -1                  # how its deployment counts it (services/tally.py; -1: not counted)

    @property
    def live(self) -> bool:
        """Not yet being stopped: what a deployment counts against its maximum."""
        return self.desired_status == "RUNNING" and self.last_status in LIVE_SET

    @property
    def healthy(self) -> bool:
        return self.healthy_at is not None and self.live

    @property
    def task_id(self) -> str:
        return self.arn.rsplit("/", 1)[-1]

    def to_ecs(self) -> dict:
        """The task as DescribeTasks answers (botocore's Task shape)."""
        td = self.task_definition
        out = {
            "taskArn": self.arn, "clusterArn": self.cluster_arn, "taskDefinitionArn": td.arn,
            "group": self.group, "launchType": self.launch_type, "lastStatus": self.last_status,
            "desiredStatus": self.desired_status, "cpu": str(self.cpu), "memory": str(self.memory),
            "createdAt": to_datetime(self.created_at), "healthStatus": self.health_status,
            "version": RANK[self.last_status] + 1, "tags": list(self.tags),
            "containers": [{"taskArn": self.arn, "name": c.get("name"), "lastStatus": self.last_status,
                            # host ports are not split per container by placement: the first holds them
                            "networkBindings": list(self.network_bindings) if i == 0 else []}
                           for i, c in enumerate(td.to_json().get("containerDefinitions", []))],
        }
        optional = {"containerInstanceArn": self.instance_arn, "availabilityZone": self.availability_zone,
                    "startedBy": self.started_by, "stopCode": self.stop_code,
                    "stoppedReason": self.stopped_reason, "capacityProviderName": self.capacity_provider,
                    "platformVersion": self.platform_version, "platformFamily": self.platform_family}
        out.update({k: v for k, v in optional.items() if v is not None})
        if self.attachments:
            out["attachments"] = [dict(a, details=[dict(d) for d in a["details"]]) for a in self.attachments]
        if self.attributes:
            out["attributes"] = [dict(a) for a in self.attributes]
        for key, value in (("pullStartedAt", self.pull_started_at), ("startedAt", self.started_at), ("stoppingAt", self.stopping_at),
                           ("stoppedAt", self.stopped_at)):
            if value is not None:
                out[key] = to_datetime(value)
        return out
