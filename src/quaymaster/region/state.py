"""What the region keeps per cluster beside the placement layer's ``Cluster``."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(eq=False)
class ClusterRecord:
    name: str
    arn: str
    cluster: object                       # quaymaster.Cluster: instances, live tasks, placement
    status: str = "ACTIVE"
    tags: list = field(default_factory=list)
    settings: list = field(default_factory=lambda: [{"name": "containerInsights", "value": "disabled"}])
    configuration: dict | None = None
    services: dict = field(default_factory=dict)      # name -> Service (ACTIVE and DRAINING)
    inactive_services: dict = field(default_factory=dict)
    tasks: dict = field(default_factory=dict)         # task ARN -> Task (stopped ones too)
    instance_tasks: dict = field(default_factory=dict)  # container-instance ARN -> {task ARN: Task}
    draining: set = field(default_factory=set)        # container-instance ARNs that are DRAINING
    instance_zone: dict = field(default_factory=dict)  # container-instance ARN -> (ec2 id, AZ)
    capacity_providers: list = field(default_factory=list)   # names, PutClusterCapacityProviders
    default_strategy: list = field(default_factory=list)     # defaultCapacityProviderStrategy

    def live_tasks(self):
        return (t for t in self.tasks.values() if t.last_status != "STOPPED")
