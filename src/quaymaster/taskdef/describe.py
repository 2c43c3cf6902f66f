"""The DescribeTaskDefinition ``taskDefinition`` shape of a definition.

What ECS fills in when it registers a definition, reproduced here:

- task ``cpu`` and ``memory`` as integer strings (``"1 vCPU"`` -> ``"1024"``,
  ``"2 GB"`` -> ``"2048"``);
- per container ``cpu`` 0 and ``essential`` true when absent, ``protocol``
  ``tcp`` and the ``hostPort`` of every port mapping (``containerPort`` for
  host and awsvpc, 0 for a dynamic bridge mapping; none for a port range),
  empty ``environment``, ``mountPoints``, ``volumesFrom``;
- empty ``volumes``, ``placementConstraints``, ``requiresAttributes``;
- ``compatibilities``: the launch types the definition validates against.

**Decisions** (the spec is silent): ``networkMode`` is always written
(``bridge`` when not given); ``compatibilities`` holds ``EXTERNAL`` unless the
mode is awsvpc (ECS Anywhere has no awsvpc), then ``EC2``, then ``FARGATE``
when the definition passes the Fargate rules, then ``MANAGED_INSTANCES`` when
it was asked for; ECS's automatic ``requiresAttributes`` (docker API versions,
``ecs.capability.*``) are not added, so placement sees only the attributes
the user asked for. Timestamps given as ``datetime`` are written as ISO 8601.
Fields the model does not know come last, verbatim.
"""

from __future__ import annotations

import copy
import datetime as _dt

from quaymaster.errors import TaskDefinitionError
from quaymaster.taskdef.shapes import TASK_DEFINITION
from quaymaster.taskdef.validate import TaskSize, check_fargate

# botocore's TaskDefinition member order, which ECS's responses follow.
_FIELD_ORDER = (
    "taskDefinitionArn", "containerDefinitions", "family", "taskRoleArn", "executionRoleArn",
    "networkMode", "revision", "volumes", "status", "requiresAttributes",
    "placementConstraints", "compatibilities", "runtimePlatform", "requiresCompatibilities",
    "cpu", "memory", "inferenceAccelerators", "pidMode", "ipcMode", "proxyConfiguration",
    "registeredAt", "deregisteredAt", "deleteRequestedAt", "registeredBy", "ephemeralStorage",
    "enableFaultInjection",
)
_TIMESTAMPS = ("registeredAt", "deregisteredAt", "deleteRequestedAt")


def compatibilities_of(definition) -> tuple[str, ...]:
    """The launch types a valid definition is compatible with (see the module docstring)."""
    result = [] if definition.network_mode == "awsvpc" else ["EXTERNAL"]
    result.append("EC2")
    try:
        check_fargate(definition._document, definition.containers, definition.network_mode,
                      TaskSize(definition.task_cpu, definition.task_memory))
        result.append("FARGATE")
    except TaskDefinitionError:
        pass
    if "MANAGED_INSTANCES" in definition.requires_compatibilities:
        result.append("MANAGED_INSTANCES")
    return tuple(result)


def describe_document(definition) -> dict:
    """The ``taskDefinition`` object DescribeTaskDefinition would return."""
    document = copy.deepcopy(definition._document)
    document.pop("tags", None)  # DescribeTaskDefinition returns tags beside the definition
    document["networkMode"] = definition.network_mode
    document["containerDefinitions"] = [
        _describe_container(raw, definition.network_mode)
        for raw in document["containerDefinitions"]]
    for name in ("volumes", "placementConstraints", "requiresAttributes"):
        if document.get(name) is None:
            document[name] = []
    document["compatibilities"] = list(compatibilities_of(definition))
    if definition.task_cpu is not None:
        document["cpu"] = str(definition.task_cpu)
    if definition.task_memory is not None:
        document["memory"] = str(definition.task_memory)
    for name in _TIMESTAMPS:
        if isinstance(document.get(name), _dt.datetime):
            document[name] = document[name].isoformat()
    ordered = {name: document[name] for name in _FIELD_ORDER if document.get(name) is not None}
    unknown = {k: v for k, v in document.items()
               if k not in TASK_DEFINITION.members and k not in ordered}
    return {**ordered, **unknown}


def _describe_container(raw: dict, network_mode: str) -> dict:
    container = dict(raw)
    if container.get("cpu") is None:
        container["cpu"] = 0
    if container.get("essential") is None:
        container["essential"] = True
    mappings = []
    for mapping in container.get("portMappings") or ():
        mapping = dict(mapping)
        mapping["protocol"] = mapping.get("protocol") or "tcp"
        if mapping.get("containerPortRange") is None and mapping.get("hostPort") is None:
            mapping["hostPort"] = 0 if network_mode == "bridge" else mapping["containerPort"]
        mappings.append(mapping)
    container["portMappings"] = mappings
    for name in ("environment", "mountPoints", "volumesFrom"):
        if container.get(name) is None:
            container[name] = []
    return container
