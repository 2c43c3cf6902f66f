"""A RunTask request body (ECS JSON) turned into a call of ``Cluster.run_task``.

Used by the ``place`` command: ``taskDefinition`` is an inline
RegisterTaskDefinition object or a path to one (relative paths are tried
against the request file's folder too).
"""

from __future__ import annotations

import json
from pathlib import Path

from quaymaster.errors import InvalidParameterError

# Members of botocore's RunTaskRequest shape. The ones placement does not use
# (networking, overrides, tags, ...) are accepted and left alone.
RUN_TASK_MEMBERS = frozenset({
    "capacityProviderStrategy", "cluster", "count", "enableECSManagedTags", "enableExecuteCommand",
    "group", "launchType", "networkConfiguration", "overrides", "placementConstraints",
    "placementStrategy", "platformVersion", "propagateTags", "referenceId", "startedBy", "tags",
    "taskDefinition", "clientToken", "volumeConfigurations",
})


def load_request(path) -> dict:
    """Read and check a RunTask request body from a JSON file."""
    try:
        body = json.loads(Path(path).read_text())
    except OSError as exc:
        raise InvalidParameterError(f"cannot read request {str(path)!r}: {exc.strerror}",
                                    field="request", value=str(path)) from exc
    except json.JSONDecodeError as exc:
        raise InvalidParameterError(f"request {str(path)!r} is not valid JSON: {exc}",
                                    field="request", value=str(path)) from exc
    if not isinstance(body, dict):
        raise InvalidParameterError("a RunTask request must be a JSON object", field="request",
                                    value=type(body).__name__)
    unknown = sorted(set(body) - RUN_TASK_MEMBERS)
    if unknown:
        raise InvalidParameterError(f"unknown RunTask member {unknown[0]!r}", field=unknown[0],
                                    value=body[unknown[0]])
    if "taskDefinition" not in body:
        raise InvalidParameterError("taskDefinition is required", field="taskDefinition", value=None)
    if body.get("capacityProviderStrategy"):
        raise InvalidParameterError("capacityProviderStrategy is not supported by place; use launchType",
                                    field="capacityProviderStrategy", value=body["capacityProviderStrategy"])
    task_definition = body["taskDefinition"]
    if isinstance(task_definition, str):
        candidate = Path(task_definition)
        if not candidate.is_absolute() and not candidate.exists():
            candidate = Path(path).parent / candidate
        if not candidate.exists():
            raise InvalidParameterError(f"taskDefinition: no file {task_definition!r} (give an inline "
                                        "RegisterTaskDefinition object or a path to one)",
                                        field="taskDefinition", value=task_definition)
        body = {**body, "taskDefinition": str(candidate)}
    elif not isinstance(task_definition, dict):
        raise InvalidParameterError("taskDefinition must be an object or a path",
                                    field="taskDefinition", value=task_definition)
    return body


def run_request(cluster, body: dict, seed: int = 0):
    """Place a checked request body on ``cluster``; returns the PlacementResult."""
    return cluster.run_task(
        body["taskDefinition"],
        count=body.get("count", 1),
        group=body.get("group"),
        placement_constraints=body.get("placementConstraints"),
        placement_strategy=body.get("placementStrategy"),
        seed=seed,
        launch_type=body.get("launchType", "EC2"),
    )
