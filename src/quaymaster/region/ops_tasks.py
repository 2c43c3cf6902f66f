"""RunTask, StartTask, StopTask, DescribeTasks, ListTasks: standalone tasks on the clock.

RunTask and StartTask place at once (the response lists the tasks, PROVISIONING);
the tasks then move through the lifecycle as time advances.
"""

from __future__ import annotations

from quaymaster.errors import ServiceError
from quaymaster.region.batch import describe_each
from quaymaster.region.errors import api_errors, invalid
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
        record = self.record(request.get("cluster"))
        count = request.get("count", 1)
        if not 1 <= count <= RUN_TASK_COUNT_LIMIT:
            raise invalid("count must be between 1 and 10")
        if request.get("capacityProviderStrategy"):
            raise invalid("capacityProviderStrategy is not supported by RunTask yet; use launchType EC2 "
                          "or EXTERNAL.")
        if request.get("launchType", "EC2") == "FARGATE":
            raise invalid("Launch type FARGATE is not supported by this region's clusters yet.")
        self._check_tags(request.get("tags", []))
        definition = self._runnable(request["taskDefinition"])
        with api_errors("InvalidParameterException"):
            result = record.cluster.run_task(
                definition, count=count, group=request.get("group"),
                placement_constraints=request.get("placementConstraints"),
                placement_strategy=request.get("placementStrategy"),
                launch_type=request.get("launchType", "EC2"), seed=self.next_placement_seed())
        tasks = self.host.adopt(record, result, definition, started_by=request.get("startedBy"),
                                tags=request.get("tags", []))
        failures = [{k: v for k, v in f.items() if k in ("arn", "reason", "detail") and v is not None}
                    for f in result.failures]
        return {"tasks": [t.to_ecs() for t in tasks], "failures": failures}

    def start_task(self, request: dict) -> dict:
        record = self.record(request.get("cluster"))
        if len(request["containerInstances"]) > RUN_TASK_COUNT_LIMIT:
            raise invalid("containerInstances can have at most 10 items.")
        definition = self._runnable(request["taskDefinition"])
        self.placement_requests += 1
        with api_errors("InvalidParameterException"):
            result = record.cluster.start_task(definition, request["containerInstances"],
                                               group=request.get("group"))
        tasks = self.host.adopt(record, result, definition, started_by=request.get("startedBy"),
                                tags=request.get("tags", []))
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
            if keep:
                arns.append(task.arn)
        return page(arns, request, "taskArns")
