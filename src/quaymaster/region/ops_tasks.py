"""RunTask, StartTask, StopTask, DescribeTasks, ListTasks: standalone tasks on the clock.

RunTask and StartTask place at once (the response lists the tasks, PROVISIONING);
the tasks then move through the lifecycle as time advances.
"""

from __future__ import annotations

from quaymaster.errors import InvalidInputError, ServiceError
from quaymaster.region.batch import describe_each
from quaymaster.placement.reasons import NO_CONTAINER_INSTANCES
from quaymaster.region.errors import api_errors, invalid
from quaymaster.region.fargate_host import check_fargate_definition, fargate_subnets
from quaymaster.scaling.fargate import check_platform_version, resolve_platform_version
from quaymaster.region.provisioning import MAX_PROVISIONING, QUEUE_FULL
from quaymaster.region.launch_plan import (EXTERNAL_ATTRIBUTE, check_no_placement_for_fargate, placement_target, portions,
                                           resolve_strategy, uses_fargate)
from quaymaster.region.paging import page

RUN_TASK_COUNT_LIMIT = 10
_DESIRED_STATUSES = ("RUNNING", "PENDING", "STOPPED")


class TaskOps:
    def _runnable(self, ref: str):
        definition = self.task_definition(ref)
        if definition.status != "ACTIVE":
            raise ServiceError("ClientException", "TaskDefinition is inactive")
        return definition

    def run_task(self, request: dict) -> dict:
        """RunTask with a launch type (EC2, EXTERNAL, FARGATE) or a capacity provider strategy
        (the cluster's default when neither is given); everything is checked before a task starts."""
        record = self.record(request.get("cluster"))
        count = request.get("count", 1)
        if not 1 <= count <= RUN_TASK_COUNT_LIMIT:
            raise invalid("count must be between 1 and 10")
        strategy = resolve_strategy(record, request)
        launch_type = request.get("launchType") or "EC2"
        self._check_tags(request.get("tags", []))
        definition = self._runnable(request["taskDefinition"])
        subnets = version = None
        on_fargate = uses_fargate(launch_type, strategy)
        check_platform_version(request.get("platformVersion"), launch_type, on_fargate)
        if on_fargate:
            check_no_placement_for_fargate(request)
            check_fargate_definition(definition)
            subnets = fargate_subnets(request)
            version = resolve_platform_version(request.get("platformVersion"), definition)
        group = request.get("group") or f"family:{definition.family}"
        shares = portions(launch_type, strategy, count)
        check_launch_types(definition, {p.launch_type for p in shares} - {"FARGATE"})
        tasks, failures = [], []
        # Instance portions first: a request placement refuses is refused before anything starts.
        for portion in sorted(shares, key=lambda p: p.launch_type == "FARGATE"):
            if portion.launch_type == "FARGATE":
                tasks += self.fargate.launch(record, definition, portion.count, portion.provider, subnets,
                                             group=group, started_by=request.get("startedBy"),
                                             tags=request.get("tags", []), platform_version=version)
                continue
            placed, failed = self._run_on_instances(record, definition, request, portion, group)
            tasks += placed
            failures += failed
        return {"tasks": [t.to_ecs() for t in tasks], "failures": failures}

    def _run_on_instances(self, record, definition, request: dict, portion, group: str):
        """Place one portion of a RunTask on the cluster's instances (only those of its capacity
        provider when it has one: what does not fit there waits for the provider's capacity)."""
        try:
            with api_errors("InvalidParameterException"):
                result = record.cluster.run_task(
                    count=portion.count, group=group, placement_constraints=request.get("placementConstraints"),
                    placement_strategy=request.get("placementStrategy"), seed=self.next_placement_seed(),
                    fast_paths=self.fast_paths,
                    **placement_target(definition, portion.launch_type, portion.provider))
        except ServiceError as error:
            if portion.provider is None or error.message.rstrip(".") != NO_CONTAINER_INSTANCES.rstrip("."):
                raise
            return self._wait_for_capacity(record, definition, request, portion, group, portion.count)
        tasks = self.host.adopt(record, result, definition, started_by=request.get("startedBy"),
                                tags=request.get("tags", []), capacity_provider=portion.provider)
        failures = [{k: v for k, v in f.items() if k in ("arn", "reason", "detail") and v is not None}
                    for f in result.failures]
        if portion.provider is not None and failures:
            waiting, failures = self._wait_for_capacity(record, definition, request, portion, group,
                                                        portion.count - len(tasks))
            tasks += waiting
        return tasks, failures

    def _wait_for_capacity(self, record, definition, request: dict, portion, group: str, count: int):
        """Tasks of an Auto Scaling group's provider that do not fit now wait in PROVISIONING for
        its capacity (up to the cluster's 300); the rest are failures."""
        room = MAX_PROVISIONING - self.scaling.waiting_count(record)
        waiting = self.provisioning.add(record, definition, count, portion.provider, request, group, room)
        left = count - len(waiting)
        return waiting, [{"reason": QUEUE_FULL}] * left if left else []

    def start_task(self, request: dict) -> dict:
        record = self.record(request.get("cluster"))
        if len(request["containerInstances"]) > RUN_TASK_COUNT_LIMIT:
            raise invalid("containerInstances can have at most 10 items.")
        definition = self._runnable(request["taskDefinition"])
        required = set(definition.requires_compatibilities)
        if "FARGATE" in required and not required & {"EC2", "EXTERNAL"}:
            raise invalid("StartTask is not supported for Fargate tasks: the task definition requires "
                          "FARGATE (requiresCompatibilities); use RunTask.")
        # A task on an ECS Anywhere instance is an EXTERNAL task, as ECS reports it: each named
        # instance's launch type must be one the definition is compatible with, checked first.
        external = set(record.cluster.list_container_instances(filter=f"attribute:{EXTERNAL_ATTRIBUTE} exists"))
        check_launch_types(definition, _start_launch_types(record.cluster, request["containerInstances"], external))
        self.placement_requests += 1
        with api_errors("InvalidParameterException"):
            result = record.cluster.start_task(definition, request["containerInstances"],
                                               group=request.get("group"))
        tasks = self.host.adopt(record, result, definition, started_by=request.get("startedBy"),
                                tags=request.get("tags", []))
        for task in tasks:
            if task.instance_arn in external:
                task.launch_type = "EXTERNAL"
        failures = [{k: v for k, v in f.items() if k in ("arn", "reason", "detail") and v is not None}
                    for f in result.failures]
        return {"tasks": [t.to_ecs() for t in tasks], "failures": failures}

    def _task(self, record, ref: str):
        task = record.tasks.get(ref) or record.tasks.get(record.cluster.tasks.arn_prefix + ref)
        if task is None:
            raise invalid("The referenced task was not found.")
        return task

    def stop_task(self, request: dict) -> dict:
        record = self.record(request.get("cluster"))
        task = self._task(record, request["task"])
        self.lifecycle.stop(task, self.now, "UserInitiated", request.get("reason", "Task stopped by user"))
        return {"task": task.to_ecs()}

    def describe_tasks(self, request: dict) -> dict:
        record = self.record(request.get("cluster"))
        found, failures = describe_each(request["tasks"], lambda ref: self._task(record, ref).to_ecs(),
                                        member="tasks", limit=100)
        return {"tasks": found, "failures": failures}

    def list_tasks(self, request: dict) -> dict:
        record = self.record(request.get("cluster"))
        desired = request.get("desiredStatus", "RUNNING")
        if desired not in _DESIRED_STATUSES:
            raise invalid(f"desiredStatus must be one of {', '.join(_DESIRED_STATUSES)}.")
        instance = request.get("containerInstance")
        if instance is not None and not instance.startswith("arn:"):
            instance = next((a for a in record.instance_tasks if a.rsplit("/", 1)[-1] == instance), instance)
        family = request.get("family")
        service = request.get("serviceName")
        arns = []
        for task in record.tasks.values():
            status = "RUNNING" if task.desired_status == "RUNNING" else "STOPPED"
            if desired == "PENDING":
                keep = task.desired_status == "RUNNING" and task.last_status != "RUNNING"
            else:
                keep = status == desired
            keep = keep and (family is None or task.task_definition.family == family)
            keep = keep and (service is None or task.service == service)
            keep = keep and (instance is None or task.instance_arn == instance)
            keep = keep and (request.get("startedBy") is None or task.started_by == request["startedBy"])
            keep = keep and (request.get("launchType") is None or task.launch_type == request["launchType"])
            if keep:
                arns.append(task.arn)
        return page(arns, request, "taskArns")


def check_launch_types(definition, launch_types: set) -> None:
    """InvalidParameterException when the definition is not compatible with a launch type its
    tasks would run with (its ``compatibilities``: an awsvpc definition cannot run EXTERNAL, as
    ECS Anywhere has no awsvpc), in ECS's words; Fargate is checked by its own rules."""
    allowed = definition.compatibilities
    for launch_type in sorted(launch_types):
        if launch_type not in allowed:
            raise invalid(f"Task definition does not support launch_type {launch_type}.")


def _start_launch_types(cluster, refs: list, external: set) -> set:
    """The launch types StartTask's named instances would run tasks with (EXTERNAL on ECS
    Anywhere instances, else EC2); unknown instances fail later, one by one, as MISSING."""
    external_positions = {cluster.resolve_instance(arn) for arn in external}
    types = set()
    for ref in refs:
        try:
            position = cluster.resolve_instance(ref)
        except InvalidInputError:
            continue
        types.add("EXTERNAL" if position in external_positions else "EC2")
    return types
