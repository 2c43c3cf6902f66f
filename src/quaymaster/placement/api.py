"""RunTask, StartTask and StopTask on a cluster (the PlacementAPI mixin of Cluster)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np

from quaymaster.errors import InvalidInputError, InvalidParameterError, NotFoundError
from quaymaster.model.schema import ACTIVE, INSTANCE_STATUSES
from quaymaster.placement import engine, prepare, reasons
from quaymaster.placement.request import build_request
from quaymaster.placement.result import PlacementResult
from quaymaster.placement.strategy import DEFAULT_SERVICE
from quaymaster.taskdef import (
    TaskDefinition,
    TaskDefinitionRegistry,
    TaskRequirements,
    parse_task_definition,
)

MAX_START_TASK_INSTANCES = 10


def resolve_task_definition(task_definition, registry=None):
    """(requirements, TaskDefinition or None) for anything naming a task definition.

    Accepts a TaskDefinition, TaskRequirements, a RegisterTaskDefinition dict or
    JSON text, a path to a JSON file, or a ``family[:revision]``/ARN registered
    in ``registry``.
    """
    if isinstance(task_definition, TaskRequirements):
        return task_definition, None
    if isinstance(task_definition, TaskDefinition):
        return task_definition.requirements(), task_definition
    if isinstance(task_definition, str) and not task_definition.lstrip().startswith("{"):
        if registry is not None:
            try:
                td = registry.describe(task_definition)
                return td.requirements(), td
            except NotFoundError:
                pass  # maybe a path
        if _names_a_revision(task_definition) and not Path(task_definition).exists():
            raise NotFoundError(f"Unable to describe task definition: {task_definition!r} is not "
                                "registered in this cluster", field="taskDefinition",
                                value=task_definition)
    td = parse_task_definition(task_definition)
    return td.requirements(), td


def _names_a_revision(text: str) -> bool:
    """``family``, ``family:revision`` or a task-definition ARN (not a file name)."""
    return bool(re.fullmatch(r"[A-Za-z0-9_-]{1,255}(:\d+)?", text)) or text.startswith("arn:aws:ecs:")


class PlacementAPI:
    """Mixin of :class:`quaymaster.Cluster`: the operations that place and stop tasks."""

    @property
    def task_definitions(self):
        """This cluster's registry of task definitions (families and revisions)."""
        registry = self.__dict__.get("_task_definitions")
        if registry is None:
            registry = self.__dict__["_task_definitions"] = TaskDefinitionRegistry(self.region, self.account)
        return registry

    def run_task(self, task_definition, *, count: int = 1, group: str | None = None,
                 placement_constraints=None, placement_strategy=None, seed: int | None = None,
                 launch_type: str = "EC2", service: bool = False, explain: bool = False,
                 fast_paths: bool = True, capacity_provider: str | None = None,
                 excluded_attribute: str | None = None) -> PlacementResult:
        """ECS RunTask: place ``count`` tasks one after another (docs/semantics.md (placement, ECS contract sections 3 to 6)).

        ``placement_constraints`` and ``placement_strategy`` take ECS's request
        shapes. Without ``seed`` the request takes the next seed of the
        cluster's :class:`~quaymaster.model.state_owner.SeedStream` (so
        consecutive requests draw differently and a replay draws the same);
        an explicit seed always wins. With no strategy, RunTask uses ``random``; ``service=True``
        uses the service default spread(zone) then spread(instanceId).
        Invalid input raises a typed error and changes nothing; tasks that do
        not fit are reported as failures while the placed ones are kept.
        ``result.explain()`` tells how many instances each filter stage removed
        for the first task; ``explain=True`` guarantees it (a request repeating
        the previous one would otherwise skip that pass over every instance). ``fast_paths=False`` scans every instance for every task
        (same result, slower: for tests and baselines). ``capacity_provider`` limits the
        candidates to the instances registered with that capacity provider;
        ``excluded_attribute`` leaves out the instances that have that attribute.
        """
        requirements, td = resolve_task_definition(task_definition, self.__dict__.get("_task_definitions"))
        kwargs = {"default_strategy": DEFAULT_SERVICE} if service else {}
        request = build_request(requirements, count=count, group=group,
                                placement_constraints=placement_constraints,
                                placement_strategy=placement_strategy, seed=0 if seed is None else seed,
                                launch_type=launch_type, family=_family(requirements, td),
                                task_definition=td, capacity_provider=capacity_provider,
                                excluded_attribute=excluded_attribute, **kwargs)
        if request.launch_type == "FARGATE":
            raise InvalidParameterError("FARGATE tasks are not placed on container instances; "
                                        "use launch type EC2 or EXTERNAL", field="launchType",
                                        value="FARGATE")
        engine.check_placeable(self, request)
        if seed is None:  # drawn only once the request is known to be placed
            request = dataclasses.replace(request, seed=self.seed_stream.next_seed())
        outcome = engine.place(self, request, fast_paths=fast_paths, explain=explain)
        return PlacementResult(self, request, outcome)

    def start_task(self, task_definition, container_instances, *, group: str | None = None,
                   seed: int = 0) -> PlacementResult:
        """ECS StartTask: one task on each named instance, no strategies.

        Each instance is tried on its own, in order: an unknown one fails with
        ``MISSING``, one that is not ACTIVE with its status (``INACTIVE``,
        ``DRAINING``, ...), one that lacks room with the stage's reason.
        """
        if not isinstance(container_instances, (list, tuple)) or not container_instances:
            raise InvalidParameterError("containerInstances must be a non-empty list",
                                        field="containerInstances", value=container_instances)
        if len(container_instances) > MAX_START_TASK_INSTANCES:
            raise InvalidParameterError(f"containerInstances has {len(container_instances)} entries; at "
                                        f"most {MAX_START_TASK_INSTANCES} are allowed",
                                        field="containerInstances", value=len(container_instances))
        requirements, td = resolve_task_definition(task_definition, self.__dict__.get("_task_definitions"))
        request = build_request(requirements, count=1, group=group, seed=seed,
                                family=_family(requirements, td), task_definition=td)
        static = prepare.prefilter(self.state, requirements.required_attributes)
        placed, failures, outcomes = [], [], []
        for index, ref in enumerate(container_instances):
            position = self._instance_position(ref)
            if position is None:
                failures.append({"task_index": index, "reason": reasons.MISSING, "arn": str(ref),
                                 "detail": None})
                continue
            if self.state.status[position] != ACTIVE:
                failures.append({"task_index": index, "arn": self.state.arns[position], "detail": None,
                                 "reason": INSTANCE_STATUSES[int(self.state.status[position])]})
                continue
            only = np.full(self.state.n, reasons.NOT_ACTIVE, dtype=np.uint8)
            only[position] = static[position]
            outcome = engine.place(self, request, prefilter=only, explain=True)
            if outcome.failed:
                failures.append({"task_index": index, "arn": self.state.arns[position],
                                 "reason": reasons.failure_reason(outcome.fail_stage),
                                 "detail": reasons.failure_detail(1, _own_counts(outcome))})
            else:
                placed.append(index)
                outcomes.append(outcome)
        merged = _merge_outcomes(outcomes, placed)
        return PlacementResult(self, request, merged, instance_failures=failures)

    def stop_task(self, task: str, reason: str = "") -> dict:
        """ECS StopTask: the task is STOPPED at once: its row goes and what it still holds
        (resources, ENI, host ports) is freed. After :meth:`begin_stop_task` that is its
        host ports and its place in the group's and the instance's task counts."""
        arn, (chunk, row) = self._live_task(task)
        position = int(chunk.instance_pos[row])
        group = self.tasks.groups[int(chunk.group_code[row])]
        self.owner.stop(chunk, row)
        return {"taskArn": arn, "clusterArn": self.arn, "lastStatus": "STOPPED",
                "desiredStatus": "STOPPED", "stopCode": "UserInitiated", "stoppedReason": reason,
                "group": group,
                "containerInstanceArn": self.state.arns[position] if position >= 0 else None}

    def begin_stop_task(self, task: str) -> bool:
        """The task reached STOPPING: its CPU, memory, GPU and ENIs are freed for new placements
        now; its host ports, its row (``last_status`` STOPPING in :meth:`task_table`) and its
        count in its group (spread, distinctInstance) and on its instance stay until
        :meth:`stop_task`. False when the task had already begun stopping (nothing changes)."""
        _, (chunk, row) = self._live_task(task)
        return self.owner.begin_stop(chunk, row)

    def begin_stop_tasks(self, tasks) -> int:
        """:meth:`begin_stop_task` of many tasks in one step (the lifecycle's batch of one
        tick): every task is found first (an unknown one raises NotFoundError and nothing
        changes). Returns how many began stopping now."""
        return self.owner.begin_stop_many(self._live_tasks(tasks))

    def stop_tasks(self, tasks) -> None:
        """:meth:`stop_task` of many tasks in one step: every task is found first (an unknown
        one raises NotFoundError and nothing changes); a task named twice stops once."""
        self.owner.stop_many(self._live_tasks(tasks))

    def _live_tasks(self, tasks) -> list:
        found, seen = [], set()
        for task in tasks:
            chunk, row = self._live_task(task)[1]
            if (id(chunk), row) not in seen:
                seen.add((id(chunk), row))
                found.append((chunk, row))
        return found

    def _live_task(self, task):
        """(ARN, (chunk, row)) of a live task named by ARN or id; NotFoundError otherwise."""
        if not isinstance(task, str):
            raise NotFoundError(f"The referenced task was not found: {task!r}", field="task", value=task)
        arn = task  # a loaded table's ARNs are whatever it said; placed tasks' end in their id
        found = self.tasks.locate(arn)
        if found is None and not task.startswith("arn:"):
            arn = self.tasks.arn_prefix + task
            found = self.tasks.locate(arn)
        if found is None:
            raise NotFoundError(f"The referenced task was not found: {task!r}", field="task", value=task)
        return arn, found

    def choose_tasks_to_stop(self, group: str, count: int, placement_strategy=None,
                             seed: int = 0) -> list[str]:
        """The ``count`` tasks of ``group`` a service scale-in stops, in order (section 7).

        Only chooses: call :meth:`stop_task` on the ARNs to stop them.
        """
        from quaymaster.placement.scalein import choose_tasks_to_stop

        return choose_tasks_to_stop(self, group, count, placement_strategy, seed)

    def _instance_position(self, ref) -> int | None:
        """Position of an instance named by ec2 id, container-instance ARN or its id; else None."""
        try:
            return self.resolve_instance(ref)
        except InvalidInputError:
            return None


def _family(requirements, task_definition) -> str | None:
    """The family a request's default group is named after."""
    return getattr(task_definition, "family", None) or getattr(requirements, "family", None)


def _own_counts(outcome) -> np.ndarray:
    """Stage counts of a one-instance StartTask attempt, without the masked-out others."""
    counts = outcome.fail_counts.copy()
    counts[reasons.NOT_ACTIVE] = 0
    return counts


def _own_counts_removed(outcome) -> np.ndarray:
    """A StartTask attempt's explain counts, without the instances it was not asked about."""
    removed = outcome.removed.copy()
    removed[reasons.NOT_ACTIVE] = 0
    return removed


def _merge_outcomes(outcomes, indexes):
    if not outcomes:
        return engine.Outcome(np.empty(0, np.int64), np.empty((0, 0), np.int32),
                              np.empty((0, 0), np.int32), False, 0, -1,
                              np.zeros(reasons.N_STAGES, np.int64), np.zeros(reasons.N_STAGES, np.int64))
    first = outcomes[0]
    merged = engine.Outcome(
        np.concatenate([o.positions for o in outcomes]),
        np.concatenate([o.ports_tcp for o in outcomes]),
        np.concatenate([o.ports_udp for o in outcomes]),
        False, 0, -1, np.zeros(reasons.N_STAGES, np.int64),
        sum(_own_counts_removed(o) for o in outcomes), first.first_sequence,
        np.asarray(indexes, dtype=np.int64))
    return merged
