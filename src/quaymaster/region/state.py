"""What the region keeps per cluster beside the placement layer's ``Cluster``."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice


def tally_key(task) -> tuple[str, str | None]:
    """(status, Fargate provider or None) under which a not yet STOPPED task is tallied: a Fargate
    task's capacity is its provider's (the FARGATE launch type with no provider is FARGATE's),
    every other task holds the cluster's instances."""
    provider = (task.capacity_provider or "FARGATE") if task.launch_type == "FARGATE" else None
    return task.last_status, provider


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
    # What the minute's samples read of the tasks not yet STOPPED, kept by ``task_changed`` (every
    # status change) and ``live_tally`` (tasks new in ``tasks``): per ``tally_key``, [tasks, CPU
    # units, memory MiB]. ``_tallied``: task ARN -> its key, for the tasks counted.
    _tally: dict = field(default_factory=dict, repr=False, compare=False)
    _tallied: dict = field(default_factory=dict, repr=False, compare=False)
    _tally_seen: int = field(default=0, repr=False, compare=False)
    # EC2 instance id -> its tasks in ``instance_tasks`` that are not DAEMON tasks (those
    # instances are the busy ones managed scaling protects), kept by ``task_held`` / ``task_freed``.
    _busy: dict = field(default_factory=dict, repr=False, compare=False)
    busy_instances: set = field(default_factory=set, repr=False, compare=False)

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

    def live_tally(self) -> dict:
        """{(status, Fargate provider or None): [tasks, CPU units, memory MiB]} of the tasks not yet
        STOPPED (keys whose tasks all left may remain, with zero tasks). Costs what changed since
        the last call: the tasks added to ``tasks`` are counted here, status changes as they happen."""
        if len(self.tasks) != self._tally_seen:
            for task in islice(self.tasks.values(), self._tally_seen, None):
                if task.last_status != "STOPPED":
                    self._add(tally_key(task), task, 1)
            self._tally_seen = len(self.tasks)
        return self._tally

    def task_changed(self, task, old_status: str) -> None:
        """A task's status changed (the lifecycle's listener): move it to its new key."""
        key = self._tallied.get(task.arn)
        if key is None:              # not counted yet: live_tally counts it as it is then
            return
        self._add(key, task, -1)
        if task.last_status != "STOPPED":
            self._add(tally_key(task), task, 1)

    def _add(self, key: tuple, task, sign: int) -> None:
        counts = self._tally.get(key)
        if counts is None:
            counts = self._tally[key] = [0, 0, 0]
        counts[0] += sign
        counts[1] += sign * task.cpu
        counts[2] += sign * task.memory
        if sign > 0:
            self._tallied[task.arn] = key
        else:
            del self._tallied[task.arn]

    def task_held(self, task) -> None:
        """``task`` was put in ``instance_tasks`` (with its owner set)."""
        if task.owner is None or task.owner.scheduling_strategy != "DAEMON":
            instance = task.ec2_instance_id
            held = self._busy.get(instance, 0)
            self._busy[instance] = held + 1
            if not held:
                self.busy_instances.add(instance)

    def task_freed(self, task) -> None:
        """``task`` left ``instance_tasks`` (at STOPPED)."""
        if task.owner is None or task.owner.scheduling_strategy != "DAEMON":
            instance = task.ec2_instance_id
            held = self._busy[instance] - 1
            if held:
                self._busy[instance] = held
            else:
                del self._busy[instance]
                self.busy_instances.discard(instance)
