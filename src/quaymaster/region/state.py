"""What the region keeps per cluster beside the placement layer's ``Cluster``."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice


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

    # The tasks not yet STOPPED, in ``tasks`` order, kept up to date by ``live_tasks`` from
    # ``tasks`` (which only grows): a day's stopped tasks are not walked again every minute.
    _live: dict = field(default_factory=dict, repr=False, compare=False)
    _seen: int = field(default=0, repr=False, compare=False)

    def live_tasks(self):
        live = self._live
        if len(self.tasks) != self._seen:
            for task in islice(self.tasks.values(), self._seen, None):
                live[task.arn] = task
            self._seen = len(self.tasks)
        stopped = [arn for arn, task in live.items() if task.last_status == "STOPPED"]
        for arn in stopped:
            del live[arn]
        return iter(list(live.values()))
