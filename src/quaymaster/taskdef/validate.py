"""ECS's rules for a task definition (spec: docs/semantics.md (placement, ECS contract section 2), docs/semantics.md (limits)).

``validate_definition`` runs after the shape check and raises
``TaskDefinitionError`` at the first rule broken, naming the JSON path of the
field. The checks run in a fixed order (document, task size, containers one
by one, relations between containers, ports, totals, constraints,
compatibilities), so the same bad input always reports the same field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from quaymaster.cql.parser import MAX_LENGTH as MAX_EXPRESSION_LENGTH
from quaymaster.errors import TaskDefinitionError
from quaymaster.taskdef import fargate
from quaymaster.taskdef.containers import Container
from quaymaster.taskdef.parse import ROOT, child, item, shown
from quaymaster.taskdef.ports import check_port_mappings
from quaymaster.taskdef.units import parse_cpu, parse_memory

MAX_CONTAINERS = 10
MAX_PLACEMENT_CONSTRAINTS = 10
MAX_DEFINITION_BYTES = 64 * 1024
EC2_TASK_CPU_RANGE = (128, 196608)
# A container holds at least 1 MiB. ECS's documentation advises 6 (what Docker
# 20.10+ reserves); the spec sets no floor, and placement arithmetic is the same
# for any positive amount, so only empty or negative amounts are refused.
MIN_CONTAINER_MEMORY_MIB = 1
ATTRIBUTE_LENGTH = (1, 128)
_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
_GPU_COUNT = re.compile(r"[1-9][0-9]{0,8}")


@dataclass(frozen=True)
class TaskSize:
    """Task-level cpu (units) and memory (MiB), None when not given."""

    cpu: int | None
    memory: int | None


def validate_definition(document: dict, containers: tuple[Container, ...],
                        request_document: dict) -> TaskSize:
    """Check every rule; return the task size. ``request_document`` is what ``to_json`` gives."""
    _check_document_size(request_document)
    _check_name(document["family"], "family", "family")
    network_mode = document.get("networkMode") or "bridge"
    size = _task_size(document)
    _check_container_count(containers)
    for container in containers:
        _check_container(container, size)
    _check_unique_names_and_essential(containers)
    _check_references(containers, network_mode)
    check_port_mappings(containers, network_mode)
    _check_resource_requirements(containers, document)
    _check_totals(containers, size)
    _check_placement_constraints(document)
    _check_required_attributes(document)
    _check_compatibilities(document, containers, network_mode, size)
    return size


def _fail(path: str, message: str, value: object) -> None:
    raise TaskDefinitionError(message, field=path, value=value)


def _check_document_size(request_document: dict) -> None:
    try:
        text = json.dumps(request_document, separators=(",", ":"), ensure_ascii=False, default=str)
    except (ValueError, RecursionError) as exc:
        raise TaskDefinitionError(f"cannot be written as JSON: {exc}", field=ROOT) from exc
    size = len(text.encode("utf-8"))
    if size > MAX_DEFINITION_BYTES:
        _fail(ROOT, f"task definition is {size} bytes of JSON; at most {MAX_DEFINITION_BYTES} "
              "(64 KiB) are allowed", size)


def _check_name(name: str, path: str, what: str) -> None:
    if not _NAME.fullmatch(name):
        _fail(path, f"{what} {shown(name)} must be 1 to 255 letters, digits, hyphens or "
              "underscores", name)


def _task_size(document: dict) -> TaskSize:
    cpu = parse_cpu(document["cpu"]) if document.get("cpu") is not None else None
    memory = parse_memory(document["memory"]) if document.get("memory") is not None else None
    low, high = EC2_TASK_CPU_RANGE
    # Fargate's size table (checked with the compatibilities) is narrower.
    if cpu is not None and "FARGATE" not in _compatibilities(document):
        if not low <= cpu <= high:
            _fail("cpu", f"task cpu {document['cpu']!r} is {cpu} CPU units; EC2 and external "
                  f"tasks take {low}..{high}", document["cpu"])
    if memory is not None and memory <= 0:
        _fail("memory", f"task memory {document['memory']!r} must be positive", document["memory"])
    return TaskSize(cpu=cpu, memory=memory)


def _compatibilities(document: dict) -> tuple[str, ...]:
    return tuple(document.get("requiresCompatibilities") or ())


def _check_container_count(containers: tuple[Container, ...]) -> None:
    if not 1 <= len(containers) <= MAX_CONTAINERS:
        _fail("containerDefinitions", f"a task definition holds 1 to {MAX_CONTAINERS} containers, "
              f"got {len(containers)}", len(containers))


def _check_container(container: Container, size: TaskSize) -> None:
    """The rules on one container's own fields: name, image, cpu and memory."""
    if container.name is None:
        _fail(container.field("name"), "container name is required", None)
    _check_name(container.name, container.field("name"), "container name")
    # ECS's API insists on an image; placement never reads it, and definitions
    # trimmed to what scheduling needs are common in capacity planning, so only a
    # given-but-empty image is refused (docs/semantics.md).
    if container.image is not None and not container.image:
        _fail(container.field("image"), f"container {container.name!r} has an empty image",
              container.image)
    if container.cpu < 0:
        _fail(container.field("cpu"), f"container cpu must not be negative, got {container.cpu}",
              container.cpu)
    memory, reservation = container.memory, container.memory_reservation
    for value, name in ((memory, "memory"), (reservation, "memoryReservation")):
        if value is not None and value < MIN_CONTAINER_MEMORY_MIB:
            _fail(container.field(name), f"{name} {value} MiB is below the minimum of "
                  f"{MIN_CONTAINER_MEMORY_MIB} MiB", value)
    if memory is not None and reservation is not None and memory < reservation:
        _fail(container.field("memoryReservation"), f"memoryReservation {reservation} MiB "
              f"exceeds memory {memory} MiB (the hard limit)", reservation)
    if memory is None and reservation is None and size.memory is None:
        _fail(container.field("memory"), f"container {container.name!r} needs memory or "
              "memoryReservation when the task has no task-level memory", None)


def _check_unique_names_and_essential(containers: tuple[Container, ...]) -> None:
    seen: set[str | None] = set()
    for container in containers:
        if container.name in seen:
            _fail(container.field("name"), f"container name {container.name!r} is used twice",
                  container.name)
        seen.add(container.name)
    if not any(container.essential for container in containers):
        _fail("containerDefinitions", "at least one container must be essential "
              "(essential defaults to true)", False)


def _check_references(containers: tuple[Container, ...], network_mode: str) -> None:
    """``links`` and ``dependsOn`` name other containers of this definition."""
    names = {container.name for container in containers}
    for container in containers:
        if container.links and network_mode != "bridge":
            _fail(container.field("links"), f"links are supported only with network mode "
                  f"bridge, not {network_mode!r}", list(container.links))
        for index, link in enumerate(container.links):
            path = item(container.field("links"), index)
            target, colon, alias = link.partition(":")
            if not _NAME.fullmatch(target) or (colon and not _NAME.fullmatch(alias)):
                _fail(path, f"link {link!r} must be name or name:alias (letters, digits, "
                      "hyphens, underscores)", link)
            if target not in names:
                _fail(path, f"link {link!r} names no container of this task definition "
                      f"(containers: {', '.join(sorted(names))})", link)
        for index, target in enumerate(container.depends_on):
            path = child(item(container.field("dependsOn"), index), "containerName")
            if target not in names or target == container.name:
                _fail(path, f"dependsOn {target!r} names no other container of this task "
                      "definition", target)


def _check_resource_requirements(containers: tuple[Container, ...], document: dict) -> None:
    devices = {accelerator["deviceName"]
               for accelerator in document.get("inferenceAccelerators") or ()}
    for container in containers:
        seen: set[str] = set()
        for requirement in container.resource_requirements:
            if requirement.type in seen:
                _fail(child(requirement.path, "type"), f"{requirement.type} is given twice for "
                      f"container {container.name!r}", requirement.type)
            seen.add(requirement.type)
            value_path = child(requirement.path, "value")
            if requirement.type == "GPU" and not _GPU_COUNT.fullmatch(requirement.value):
                _fail(value_path, f"GPU value {shown(requirement.value)} must be a positive "
                      "integer such as \"1\"", requirement.value)
            if requirement.type == "InferenceAccelerator" and requirement.value not in devices:
                _fail(value_path, f"InferenceAccelerator {shown(requirement.value)} names no "
                      "deviceName of inferenceAccelerators", requirement.value)


def _check_totals(containers: tuple[Container, ...], size: TaskSize) -> None:
    """Containers' cpu and reserved memory must fit the task-level values (when given).

    The error names the container whose value first takes the running sum past
    the task value.
    """
    cpu_total = memory_total = 0
    for container in containers:
        cpu_total += container.cpu
        if size.cpu is not None and cpu_total > size.cpu:
            _fail(container.field("cpu"), f"containers' cpu reaches {cpu_total} units here, "
                  f"more than the task cpu of {size.cpu}", container.cpu)
        memory_total += container.reserved_memory
        if size.memory is not None and memory_total > size.memory:
            name = "memoryReservation" if container.memory_reservation is not None else "memory"
            _fail(container.field(name), f"containers' memory reaches {memory_total} MiB here, "
                  f"more than the task memory of {size.memory} MiB", container.reserved_memory)


def _check_placement_constraints(document: dict) -> None:
    constraints = document.get("placementConstraints") or []
    if len(constraints) > MAX_PLACEMENT_CONSTRAINTS:
        _fail("placementConstraints", f"at most {MAX_PLACEMENT_CONSTRAINTS} placement constraints "
              f"are allowed, got {len(constraints)}", len(constraints))
    for index, constraint in enumerate(constraints):
        path = item("placementConstraints", index)
        if constraint.get("type") is None:
            _fail(child(path, "type"), "type is required (only memberOf is allowed in a task "
                  "definition)", None)
        expression = constraint.get("expression")
        if not expression:
            _fail(child(path, "expression"), f"a memberOf constraint needs an expression, got "
                  f"{expression!r}", expression)
        if len(expression) > MAX_EXPRESSION_LENGTH:
            _fail(child(path, "expression"), f"expression is {len(expression)} characters; at "
                  f"most {MAX_EXPRESSION_LENGTH} are allowed", len(expression))


def _check_required_attributes(document: dict) -> None:
    low, high = ATTRIBUTE_LENGTH
    for index, attribute in enumerate(document.get("requiresAttributes") or ()):
        path = item("requiresAttributes", index)
        for name in ("name", "value"):
            value = attribute.get(name)
            if value is not None and not low <= len(value) <= high:
                _fail(child(path, name), f"attribute {name} {shown(value)} must be {low} to "
                      f"{high} characters", value)


def _check_compatibilities(document: dict, containers: tuple[Container, ...],
                           network_mode: str, size: TaskSize) -> None:
    required = _compatibilities(document)
    if "EXTERNAL" in required and network_mode == "awsvpc":
        _fail("networkMode", "EXTERNAL (ECS Anywhere) tasks do not support network mode "
              "'awsvpc'", network_mode)
    if "FARGATE" in required:
        check_fargate(document, containers, network_mode, size)


def check_fargate(document: dict, containers: tuple[Container, ...], network_mode: str,
                  size: TaskSize) -> None:
    """The Fargate rules: awsvpc, a size from the table, no unsupported parameter."""
    if network_mode != "awsvpc":
        _fail("networkMode", f"{fargate.NETWORK_MODE_MESSAGE} Got {network_mode!r}.", network_mode)
    if size.cpu is None:
        _fail("cpu", f"{fargate.INVALID_CPU_MESSAGE} Fargate needs a task-level cpu.", None)
    if size.memory is None:
        _fail("memory", f"{fargate.INVALID_CPU_MESSAGE} Fargate needs a task-level memory.", None)
    if not fargate.is_fargate_size(size.cpu, size.memory):
        _fail("cpu", f"{fargate.INVALID_CPU_MESSAGE} cpu {document['cpu']!r} ({size.cpu} units) "
              f"with memory {document['memory']!r} ({size.memory} MiB) is not a Fargate task "
              "size", document["cpu"])
    for name in fargate.UNSUPPORTED_TASK_FIELDS:
        if _used(document.get(name)):
            _fail(name, f"{name} is not supported on Fargate", document[name])
    for container, raw in zip(containers, document["containerDefinitions"], strict=True):
        for steps in fargate.UNSUPPORTED_CONTAINER_FIELDS:
            value = raw
            for step in steps:
                value = value.get(step) if isinstance(value, dict) else None
            if _used(value):
                _fail(container.field(".".join(steps)), f"{'.'.join(steps)} is not supported on "
                      f"Fargate, got {shown(value)}", value)
        for requirement in container.resource_requirements:
            if requirement.type == "GPU":
                _fail(child(requirement.path, "type"), "GPU resource requirements are not "
                      "supported on Fargate", requirement.value)


def _used(value: object) -> bool:
    """A parameter counts as used when present and not false or empty."""
    return value is not None and value is not False and value != [] and value != {}
