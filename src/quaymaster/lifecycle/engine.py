"""The task lifecycle on the clock (ECS task lifecycle; docs/semantics.md, "Services over time").

Transitions are kept in buckets, one per instant at which something is due
(``due -> [(generation, task)]``, a heap of the instants beside them: the tasks
placed or changed at one tick share their next instants, so a push is
usually a list append); the region asks for every transition due at or
before now and they are applied in task-creation order. A task's next transition is timed from the tick at
which its previous one was observed. A task's timings are those of its
family when it is placed.

Resources and ports (the Decision): a task's CPU, memory, GPU and ENIs are
released when it reaches ``STOPPING`` (``release_resources``, the region's
``Cluster.begin_stop_task``), its host ports and its row when it is
``STOPPED`` (``release``, ``Cluster.stop_task``); a task that fails to start
goes straight to ``STOPPED`` and releases everything there. See
docs/semantics.md, "Two-step stop". Both callbacks take a list: the tasks that
reach STOPPING (STOPPED) during one ``apply_due`` are released together when
it ends, the resources first (nothing reads the cluster in between);
outside ``apply_due`` (a scheduler pass, StopTask) a task is released at once.

Health is decided by :meth:`Lifecycle.decide_health` and a stopping task
waits ``deregistration_delay_ms(task)`` in DEACTIVATING (the two seams a load
balancer replaces): by default a task is healthy ``healthyAfter`` (40 s)
after ``RUNNING``; with ``unhealthy`` timings and a container health check it
fails it at that moment instead.
"""

from __future__ import annotations

import heapq
from operator import attrgetter
from typing import Callable

from quaymaster.lifecycle.task import Task
from quaymaster.lifecycle.timings import TaskTimings
from quaymaster.streams import uniform

# What a stopping task passes through and how long each step lasts (timings' field).
_STOP_STEPS = {"DEACTIVATING": ("STOPPING", "stopping_ms"), "STOPPING": ("DEPROVISIONING", "deprovisioning_ms"),
               "DEPROVISIONING": ("STOPPED", None)}


_SEQ = attrgetter("seq")


# The seams' defaults: module functions, not lambdas, so that a region snapshot can name them.
def no_deregistration_delay(task: Task) -> int:
    return 0


def no_pull_error(task: Task) -> str | None:
    return None


class Lifecycle:
    """Owns the transition heap; tells ``listener(task, old_status)`` about every change."""

    def __init__(self, *, seed: int, timings_for: Callable[[Task], TaskTimings],
                 release: Callable[[list[Task]], None], listener: Callable[[Task, str], None],
                 release_resources: Callable[[list[Task]], None] | None = None):
        self.seed = seed
        self._timings_for = timings_for
        self._release = release                       # at STOPPED: what the task still holds
        self._release_resources = release_resources   # at STOPPING: its resources (None: all at STOPPED)
        self._listener = listener
        self._times: list[int] = []                             # heap of the instants in _buckets
        self._buckets: dict[int, list[tuple[int, Task]]] = {}   # due -> (generation, task), maybe stale
        # The load-balancer seam: extra time a stopping task spends DEACTIVATING (deregistration delay).
        self.deregistration_delay_ms: Callable[[Task], int] = no_deregistration_delay
        # The registry seam: why the task's images cannot be pulled (None: they can). The region
        # asks its ECR registry; the pull is decided when PENDING ends (docs/semantics.md, "ECR").
        self.pull_error: Callable[[Task], str | None] = no_pull_error
        self._applying = -1            # while apply_due(now) runs: now (its loop takes what is due by then)
        self._stopping: list[Task] = []   # reached STOPPING in this apply_due: resources to release
        self._stopped: list[Task] = []    # reached STOPPED in this apply_due: the rest to release
        self.transitions = 0           # counted for the benchmarks

    # -- scheduling -------------------------------------------------------

    def _schedule(self, task: Task, due: int | None) -> None:
        task.generation += 1
        task.next_due = due
        if due is not None and due > self._applying:
            bucket = self._buckets.get(due)
            if bucket is None:
                self._buckets[due] = [(task.generation, task)]
                heapq.heappush(self._times, due)
            else:
                bucket.append((task.generation, task))

    def next_due(self) -> int | None:
        times, buckets = self._times, self._buckets
        while times:
            bucket = buckets[times[0]]
            while bucket and bucket[-1][1].generation != bucket[-1][0]:
                bucket.pop()   # stale: the task was rescheduled since
            if bucket:
                return times[0]
            del buckets[heapq.heappop(times)]
        return None

    def placed(self, task: Task, now: int) -> None:
        """A task was placed at ``now``: it is PROVISIONING until its provisioning time passes."""
        task.timings = self._timings_for(task)
        self._schedule(task, now + task.timings.provisioning_ms)

    def placed_many(self, tasks: list[Task], now: int) -> None:
        """:meth:`placed` of tasks of one task definition (one placement), in order: their
        timings are looked up once and they share one bucket."""
        if not tasks:
            return
        timings = self._timings_for(tasks[0])
        due = now + timings.provisioning_ms
        for task in tasks:
            task.timings = timings
            self._schedule(task, due)

    # -- applying ----------------------------------------------------------

    def apply_due(self, now: int) -> None:
        """Apply every transition due at or before ``now``, in task-creation order."""
        due: list[Task] = []
        times, buckets = self._times, self._buckets
        while times and times[0] <= now:
            due += [task for generation, task in buckets.pop(heapq.heappop(times))
                    if task.generation == generation]
        due.sort(key=_SEQ)
        self._applying = now
        try:
            for task in due:
                while task.next_due is not None and task.next_due <= now:
                    self._step(task, now)
        finally:
            self._applying = -1
            self._flush_releases()

    def _flush_releases(self) -> None:
        stopping, self._stopping = self._stopping, []
        stopped, self._stopped = self._stopped, []
        if stopping and self._release_resources is not None:
            self._release_resources(stopping)
        if stopped:
            self._release(stopped)

    def _step(self, task: Task, now: int) -> None:
        timings = task.timings
        status = task.last_status
        if status == "PROVISIONING":
            task.pull_started_at = now
            self._move(task, "PENDING", now, now + timings.pending_ms)
        elif status == "PENDING":
            cannot_pull = self.pull_error(task)
            if cannot_pull is not None:
                self._fail_to_start(task, now, cannot_pull)
            elif timings.start_failure_probability and \
                    uniform(self.seed, "start-failure", task.seq) < timings.start_failure_probability:
                self._fail_to_start(task, now, "Task failed to start")
            else:
                self._move(task, "ACTIVATING", now, now + timings.activating_ms)
        elif status == "ACTIVATING":
            task.started_at = now
            self._move(task, "RUNNING", now, self._after_running(task, timings, now))
        elif status == "RUNNING":
            self._running_due(task, timings, now)
        else:
            following, duration = _STOP_STEPS[status]
            if following == "STOPPED":
                self._finish(task, now)
            else:
                self._move(task, following, now, now + getattr(timings, duration))

    def _fail_to_start(self, task: Task, now: int, reason: str) -> None:
        """PENDING straight to STOPPED: stopCode TaskFailedToStart, ``reason`` as stoppedReason."""
        task.desired_status = "STOPPED"
        task.stop_code = "TaskFailedToStart"
        task.stopped_reason = reason
        task.stopping_at = now
        self._finish(task, now)

    def _after_running(self, task: Task, timings: TaskTimings, now: int) -> int | None:
        """The next moment something happens to a RUNNING task (health, or its exit)."""
        candidates = []
        if task.healthy_at is None and task.health_status != "UNHEALTHY":
            candidates.append(task.started_at + timings.healthy_after_ms)
        if timings.run_for_ms is not None:
            candidates.append(task.started_at + timings.run_for_ms)
        return min(candidates) if candidates else None

    def _running_due(self, task: Task, timings: TaskTimings, now: int) -> None:
        if timings.run_for_ms is not None and now >= task.started_at + timings.run_for_ms:
            self.stop(task, now, "EssentialContainerExited", "Essential container in task exited")
            return
        if task.healthy_at is None and now >= task.started_at + timings.healthy_after_ms:
            if self.decide_health(task, timings):
                task.healthy_at = now
                task.health_status = "HEALTHY"
                self._listener(task, "RUNNING")
            else:
                task.health_status = "UNHEALTHY"
                self._listener(task, "RUNNING")
                if task.desired_status == "RUNNING":
                    self.stop(task, now, "ServiceSchedulerInitiated", "Task failed container health checks")
                    return
        self._schedule(task, self._after_running(task, timings, now))

    def decide_health(self, task: Task, timings: TaskTimings) -> bool:
        """Whether a RUNNING task passes its health check (the load-balancer seam)."""
        if not timings.unhealthy:
            return True
        containers = task.task_definition.to_json().get("containerDefinitions", [])
        return not any("healthCheck" in c for c in containers)

    def stop(self, task: Task, now: int, stop_code: str, reason: str) -> bool:
        """Ask a task to stop; False when it is already stopping."""
        if task.desired_status == "STOPPED" or task.last_status == "STOPPED":
            return False
        task.desired_status = "STOPPED"
        task.stop_code = stop_code
        task.stopped_reason = reason
        task.stopping_at = now
        timings = task.timings
        if task.last_status in ("PROVISIONING", "PENDING"):
            self._move(task, "STOPPING", now, now + timings.stopping_ms)
        else:
            delay = timings.deactivating_ms + self.deregistration_delay_ms(task)
            self._move(task, "DEACTIVATING", now, now + delay)
        return True

    def _move(self, task: Task, status: str, now: int, due: int | None) -> None:
        old = task.last_status
        task.last_status = status
        self.transitions += 1
        self._schedule(task, due)
        if status == "STOPPING" and self._release_resources is not None:
            self._stopping.append(task)
            if self._applying < 0:
                self._flush_releases()
        self._listener(task, old)

    def _finish(self, task: Task, now: int) -> None:
        old = task.last_status
        task.last_status = "STOPPED"
        task.stopped_at = now
        task.healthy_at = task.healthy_at  # kept: when it had become healthy, for the tasks table
        self.transitions += 1
        self._schedule(task, None)
        self._stopped.append(task)
        if self._applying < 0:
            self._flush_releases()
        self._listener(task, old)
