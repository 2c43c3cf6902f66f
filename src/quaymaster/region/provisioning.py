"""RunTask tasks that wait in PROVISIONING for their capacity provider's capacity
(docs/semantics.md, "Launch types and capacity provider strategies").

A RunTask share that a strategy gave to an Auto Scaling group's provider and that does not fit
on the provider's instances is not a failure: its tasks are returned in PROVISIONING with their
ARNs, count in the provider's managed scaling (M), and are placed at step 7 of a later tick, in
arrival order, on that provider's instances only. At most 300 tasks of a cluster wait (services'
shortfalls included); beyond that RunTask reports failures. A waiting task stopped by StopTask
leaves the queue.
"""

from __future__ import annotations

from dataclasses import dataclass

from quaymaster.errors import InvalidInputError
from quaymaster.lifecycle import Task
from quaymaster.model.tasks import sequence_of
from quaymaster.region.host import network_bindings
from quaymaster.region.launch_plan import placement_target
from quaymaster.region.scaling_host import MAX_PROVISIONING

QUEUE_FULL = f"PROVISIONING: the cluster already has {MAX_PROVISIONING} tasks waiting for capacity provider capacity"


@dataclass
class WaitingTask:
    task: Task
    placement_constraints: list | None
    placement_strategy: list | None
    failed_at: tuple | None = None    # the cluster's (owner, change-log end) when it last did not fit


class ProvisioningQueue:
    def __init__(self, region):
        self.region = region
        self.waiting: list[WaitingTask] = []

    def __bool__(self) -> bool:
        return bool(self.waiting)

    # -- region snapshots: ``failed_at`` holds this process's id() of the cluster's owner --------
    def _snapshot_fields(self) -> dict:
        unchanged = [k for k, entry in enumerate(self.waiting)
                     if entry.failed_at is not None and entry.failed_at == self._mark(entry.task)]
        return {"region": self.region, "waiting": self.waiting, "unchanged_since_failed": unchanged}

    def _snapshot_loaded(self) -> None:
        """A task that did not fit in a cluster unchanged since is still not tried again (a try
        draws a placement seed: the loaded region must draw as the original would)."""
        unchanged = set(self.__dict__.pop("unchanged_since_failed", []))
        for k, entry in enumerate(self.waiting):
            entry.failed_at = self._mark(entry.task) if k in unchanged else None

    def _mark(self, task) -> tuple:
        owner = self.region.clusters[task.cluster].cluster.owner
        return (id(owner), owner.log.end)

    def count(self, cluster: str) -> int:
        return sum(1 for w in self.waiting if w.task.cluster == cluster)

    def needs(self, provider: str) -> list[tuple[int, int, int, int]]:
        """(CPU, memory, ENIs, GPUs) of the tasks waiting for ``provider``, in arrival order."""
        out = []
        for entry in self.waiting:
            if entry.task.capacity_provider == provider and entry.task.desired_status == "RUNNING":
                needs = entry.task.task_definition.requirements()
                out.append((int(needs.cpu), int(needs.memory), int(needs.eni), int(needs.gpu)))
        return out

    def add(self, record, definition, count: int, provider: str, request: dict, group: str,
            room: int) -> list[Task]:
        """Up to ``room`` tasks promised now (PROVISIONING, ARN reserved), placed when capacity comes."""
        region, now = self.region, self.region.clock.now
        count = min(count, room)
        if count <= 0:
            return []
        first_sequence = record.cluster.tasks.reserve_sequence(count)
        needs = definition.requirements()
        tasks = []
        for k in range(count):
            region.task_count += 1
            arn = record.cluster.tasks.arn_of(first_sequence + k)
            task = Task(arn=arn, seq=region.task_count, cluster=record.name, cluster_arn=record.arn, group=group,
                        task_definition=definition, launch_type="EC2", created_at=now,
                        started_by=request.get("startedBy"), cpu=int(needs.cpu), memory=int(needs.memory),
                        tags=list(request.get("tags", [])), capacity_provider=provider)
            task.timings = region._timings_for(task)   # so StopTask can stop it while it waits
            record.tasks[arn] = task
            self.waiting.append(WaitingTask(task, request.get("placementConstraints"),
                                            request.get("placementStrategy")))
            tasks.append(task)
        return tasks

    def place(self) -> None:
        """Step 7: place the waiting tasks that now fit, in arrival order."""
        if not self.waiting:
            return
        queue, self.waiting = self.waiting, []
        for entry in queue:
            task = entry.task
            if task.desired_status != "RUNNING":
                continue                       # stopped while it waited
            if not self._place(entry):
                self.waiting.append(entry)

    def _place(self, entry: WaitingTask) -> bool:
        """Place one waiting task if it fits now. Whether it fits depends only on the cluster's
        state, never on the seed, so it is tried again only once the cluster's change log (every
        placement, stop, release, status, attribute and instance change) has moved."""
        region, task = self.region, entry.task
        record = region.clusters[task.cluster]
        mark = self._mark(task)
        if entry.failed_at == mark:
            return False
        entry.failed_at = mark
        try:
            result = record.cluster.run_task(
                count=1, group=task.group, placement_constraints=entry.placement_constraints,
                placement_strategy=entry.placement_strategy, seed=region.next_placement_seed(), fast_paths=region.fast_paths,
                **placement_target(task.task_definition, "EC2", task.capacity_provider))
        except InvalidInputError:
            return False
        if result.placements.num_rows == 0:
            return False
        row = result.placements.slice(0, 1).to_pylist()[0]
        tasks = record.cluster.tasks
        tasks.name_task(sequence_of(row["task_arn"][len(tasks.arn_prefix):]), task.arn)
        task.instance_arn, task.ec2_instance_id = row["container_instance_arn"], row["ec2_instance_id"]
        task.availability_zone = region.instance_zones(record).get(task.instance_arn)
        task.network_bindings = network_bindings(row["host_ports"], row["host_ports_udp"])
        task.on_draining = task.instance_arn in record.draining
        record.instance_tasks.setdefault(task.instance_arn, {})[task.arn] = task
        record.task_held(task)
        region.lifecycle.placed(task, region.clock.now)
        return True
