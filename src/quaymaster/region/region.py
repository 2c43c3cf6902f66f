"""The region: clusters by name, the regional task definitions, one clock, one seed.

Every ECS operation is reached through :meth:`Region.handle` (botocore's
operation name, a request named as botocore's model names it) or the
snake_case method it dispatches to. Time moves only by :meth:`advance` /
:meth:`run_until`, which evaluate the fixed order of docs/semantics.md
("Services over time") at every tick where something is due, jumping over
ticks where nothing is.
"""

from __future__ import annotations

import heapq
from typing import Callable

from quaymaster.clock import Clock, DEFAULT_START, DEFAULT_TICK_MS, parse_duration
from quaymaster.ecr import ECRRegistry
from quaymaster.errors import InvalidParameterError
from quaymaster.lifecycle import Lifecycle, TaskTimings
from quaymaster.loadbalancing.attach import LoadBalancing
from quaymaster.region.dispatch import Dispatch
from quaymaster.region.fargate_host import FargateHost
from quaymaster.region.host import ServiceHost
from quaymaster.region.ops_capacity import CapacityProviderOps
from quaymaster.region.ops_clusters import ClusterOps
from quaymaster.region.ops_instances import InstanceOps
from quaymaster.region.ops_services import ServiceOps
from quaymaster.region.ops_tags import TagOps
from quaymaster.region.ops_taskdefs import TaskDefinitionOps
from quaymaster.region.ops_tasks import TaskOps
from quaymaster.region.ops_tasksets import TaskSetOps
from quaymaster.region.provisioning import ProvisioningQueue
from quaymaster.region.scaling_host import ScalingHost
from quaymaster.streams import placement_seed
from quaymaster.services.scheduler import ServiceScheduler
from quaymaster.taskdef import TaskDefinitionRegistry

MINUTE_MS = 60_000
DAY_MS = 86_400_000
_QUIET = frozenset({"PENDING", "ACTIVATING", "DEPROVISIONING"})


class Region(Dispatch, ClusterOps, InstanceOps, TaskDefinitionOps, TaskOps, ServiceOps, TaskSetOps, TagOps,
             CapacityProviderOps):
    """One AWS account in one region, on a virtual clock."""

    # Installed by whoever holds the region (simulations, tests): a snapshot does not carry
    # them, and a region loaded from one keeps its own.
    _snapshot_observers = ("event_sink", "task_sink", "minute_hooks", "sample_hooks")

    def __init__(self, name: str = "us-east-1", account: str = "123456789012", *, seed: int = 0,
                 start=DEFAULT_START, tick="15s", blobs=None):
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64:
            raise InvalidParameterError(f"seed must be an integer in [0, 2**64), found {seed!r}",
                                        field="seed", value=seed)
        tick_ms = parse_duration(tick, field="tick") if not isinstance(tick, int) else tick
        self.name = name
        self.account = account
        self.seed = seed
        self.clock = Clock(start, tick_ms or DEFAULT_TICK_MS)
        self.task_definitions = TaskDefinitionRegistry(name, account, clock=self.clock.datetime)
        self.clusters: dict = {}            # name -> ClusterRecord (ACTIVE and INACTIVE)
        self.default_timings = TaskTimings()
        self.timings: dict[str, TaskTimings] = {}     # family -> timings
        self.placement_requests = 0
        self.fast_paths = True                        # False: placement's plain per-task scan
        self.jump_ticks = True                        # False: visit every tick while an ASG exists
        self.task_count = 0
        self.service_count = 0
        self.resource_tags: dict[str, list] = {}      # ARN -> tags, for resources without a record
        self.event_sink: Callable | None = None       # sink(time_ms, cluster, service, message)
        self.task_sink: Callable | None = None        # sink(task) when a task is STOPPED
        self.minute_hooks: list[Callable[[int], None]] = []
        self.sample_hooks: list[Callable[[int], None]] = []
        self._calls: list = []                        # (at, order, fn): timed calls of a scenario
        self._call_order = 0
        self._done_through = self.clock.start - self.clock.tick_ms
        self.lifecycle = Lifecycle(seed=seed, timings_for=self._timings_for, release=self._release,
                                   listener=self._task_changed, release_resources=self._release_resources)
        self.load_balancing = LoadBalancing(self)     # target groups (quaymaster.loadbalancing)
        self.host = ServiceHost(self)
        self.scheduler = ServiceScheduler(self.host)
        self.launch_queue: list = []                  # step 7: launches waiting in PROVISIONING
        self.provisioning = ProvisioningQueue(self)   # step 7: RunTask tasks waiting for capacity
        self.capacity_providers: dict = {}            # name -> CapacityProviderRecord
        self.scaling = ScalingHost(self)              # steps 4 and 5: auto scaling
        self.fargate = FargateHost(self)              # Fargate tasks; step 5: Spot interruptions
        # ECR of this account and region, on the region's clock (epoch seconds). ``blobs``
        # (an ecr BlobStore) may be shared between regions; whoever holds several
        # regions sets ``self.ecr.resolver`` (region name -> registry) for replication.
        self.ecr = ECRRegistry(account, name, clock=self.clock_seconds, blobs=blobs)
        self.lifecycle.pull_error = self._pull_error   # images of this registry missing: no start

    @property
    def now(self) -> int:
        return self.clock.now

    def clock_seconds(self) -> float:
        """The virtual time in epoch seconds (ECR's clock)."""
        return self.clock.now / 1000

    def clock_ms(self) -> int:
        """The virtual time in epoch milliseconds (the clock auto scaling reads)."""
        return self.clock.now

    # -- snapshots (region/snapshot.py) ---------------------------------------

    def export_state(self) -> dict:
        """Everything a restarted server needs: Parquet tables, JSON and a pickle."""
        from quaymaster.region.snapshot import export_state
        return export_state(self)

    def import_state(self, state: dict) -> None:
        """Become the region ``export_state`` described (called on a fresh region)."""
        from quaymaster.region.snapshot import import_state
        import_state(self, state)

    # -- settings -----------------------------------------------------------

    def set_task_timings(self, family: str | None, timings) -> None:
        """Lifecycle timings of a task definition family (``None``: the default of every family)."""
        parsed = timings if isinstance(timings, TaskTimings) else TaskTimings.from_json(timings)
        if family is None:
            self.default_timings = parsed
        else:
            self.timings[family] = parsed

    def _timings_for(self, task) -> TaskTimings:
        return self.timings.get(task.task_definition.family, self.default_timings)

    def next_placement_seed(self) -> int:
        seed = placement_seed(self.seed, self.placement_requests)
        self.placement_requests += 1
        return seed

    # -- time ---------------------------------------------------------------

    def schedule(self, at_ms: int, call: Callable[[], None]) -> None:
        """Run ``call`` at step 1 of the tick at or after ``at_ms`` (scenario calls, in file order)."""
        heapq.heappush(self._calls, (at_ms, self._call_order, call))
        self._call_order += 1

    def advance(self, seconds: float) -> None:
        self.run_until(self.clock.now + int(round(seconds * 1000)))

    def run_until(self, t_ms: int) -> None:
        """Evaluate every tick up to ``t_ms`` at which something is due; then ``now = t_ms``."""
        while True:
            tick = self._next_work_tick()
            if tick is None or tick > t_ms:
                break
            self.clock.now = tick
            self._tick(tick)
            self._done_through = tick
        self.clock.now = max(self.clock.now, t_ms)

    def _ceil_tick(self, due: int) -> int:
        """The tick at which something due at ``due`` is observed: never one already evaluated or past."""
        start, tick = self.clock.start, self.clock.tick_ms

        def ceil(t: int) -> int:
            return start + max(0, -(-(t - start) // tick)) * tick
        return max(ceil(due), ceil(self.clock.now), self._done_through + tick)

    def _next_work_tick(self) -> int | None:
        dues = [self.lifecycle.next_due(), self.scheduler.next_due(), self.load_balancing.next_due()]
        if self._calls:
            dues.append(self._calls[0][0])
        next_tick = self._done_through + self.clock.tick_ms
        if self.launch_queue or self.provisioning or self.scheduler.dirty or (
                not self.jump_ticks and self.scaling.every_tick):
            dues.append(next_tick)
        dues.append(self.scaling.next_due(next_tick))
        if self.minute_hooks or self.sample_hooks or self.scaling.every_minute or self.fargate.every_minute:
            after = self._done_through + 1
            dues.append(-(-after // MINUTE_MS) * MINUTE_MS)
        if any(r.lifecycle_policy is not None for r in self.ecr.repositories.values()):
            dues.append(-(-(self._done_through + 1) // DAY_MS) * DAY_MS)   # ECR's daily expiry
        dues = [d for d in dues if d is not None]
        return self._ceil_tick(min(dues)) if dues else None

    def _tick(self, now: int) -> None:
        """The fixed order, at one tick."""
        while self._calls and self._calls[0][0] <= now:        # 1. timed API calls
            heapq.heappop(self._calls)[2]()
        self.lifecycle.apply_due(now)                           # 2. task lifecycle
        self.load_balancing.apply_due(now)                      # 3. load balancer targets
        self.scaling.tick(now)                                  # 4. instance launches, terminations
        whole_minute = now % MINUTE_MS == 0
        if whole_minute:                                        # 5. the minute that just ended
            self.scaling.minute(now)
            self.fargate.minute(now)
            for hook in self.minute_hooks:
                hook(now)
        self.scheduler.run(now)                                 # 6. service scheduler passes
        self.host.place_waiting()                               # 7. PROVISIONING tasks placed
        self.provisioning.place()                               #    (then RunTask's waiting ones)
        if whole_minute:                                        # 8. samples of this instant
            for hook in self.sample_hooks:
                hook(now)
        if now // DAY_MS != (now - self.clock.tick_ms) // DAY_MS:   # first tick of a UTC day:
            self.ecr.daily_expiry(now / 1000)                       # ECR's lifecycle expiry

    # -- task changes ---------------------------------------------------------

    def _pull_error(self, task) -> str | None:
        """CannotPullContainerError of the first container whose ECR image does not exist."""
        for container in task.task_definition.containers:
            reason = self.ecr.pull_error(container.image)
            if reason is not None:
                return reason
        return None

    def _release(self, tasks: list) -> None:
        """Tasks that reached STOPPED: their clusters free what they still hold (Fargate tasks
        hold nothing of the cluster's)."""
        for name, arns in _by_cluster(tasks).items():
            record = self.clusters[name]
            record.cluster.stop_tasks(arns)
        for task in tasks:
            if task.instance_arn is not None:
                record = self.clusters[task.cluster]
                if record.instance_tasks.get(task.instance_arn, {}).pop(task.arn, None) is not None:
                    record.task_freed(task)

    def _release_resources(self, tasks: list) -> None:
        """Tasks that reached STOPPING: their clusters free their resources (docs/semantics.md)."""
        for name, arns in _by_cluster(tasks).items():
            self.clusters[name].cluster.begin_stop_tasks(arns)

    def _task_changed(self, task, old_status: str) -> None:
        if task.deployment is not None:   # first: everything below may read its counters
            task.deployment.retally(task)
        self.clusters[task.cluster].task_changed(task, old_status)   # the minute samples' tallies
        self.load_balancing.task_changed(task, old_status)
        # PENDING, ACTIVATING and DEPROVISIONING change nothing a scheduler pass reads.
        service = task.owner
        if service is not None and task.last_status not in _QUIET and service.status != "INACTIVE":
            self.scheduler.task_changed(service, task, old_status)
        if task.last_status == "STOPPED" and self.task_sink is not None:
            self.task_sink(task)

    def record_event(self, cluster: str, service: str | None, now: int, message: str) -> None:
        if self.event_sink is not None:
            self.event_sink(now, cluster, service, message)


def _by_cluster(tasks: list) -> dict:
    """Task ARNs per cluster name, in the order given, of the tasks placed on instances."""
    out: dict = {}
    for task in tasks:
        if task.instance_arn is None:   # a Fargate task: no instance, no row in the cluster
            continue
        out.setdefault(task.cluster, []).append(task.arn)
    return out
