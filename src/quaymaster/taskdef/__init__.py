"""ECS task definitions: parsing, ECS's rules, what a task needs, and a registry.

- ``TaskDefinition.from_json`` (alias ``parse_task_definition``) reads a
  RegisterTaskDefinition request or a DescribeTaskDefinition result and
  refuses anything ECS would refuse, naming the JSON path of the bad field.
- ``TaskDefinition.requirements()`` gives the ``TaskRequirements`` placement
  filters on (docs/semantics.md: placement, ECS contract section 2).
- ``TaskDefinitionRegistry`` numbers revisions and answers describe, list and
  deregister as ECS does.
"""

from __future__ import annotations

from quaymaster.taskdef.model import TaskDefinition
from quaymaster.taskdef.registry import TaskDefinitionRegistry
from quaymaster.taskdef.requirements import TaskRequirements

parse_task_definition = TaskDefinition.from_json


def requirements_of(obj: object) -> TaskRequirements:
    """The ``TaskRequirements`` of a TaskDefinition, TaskRequirements, dict, JSON text or path."""
    if isinstance(obj, TaskRequirements):
        return obj
    return TaskDefinition.from_json(obj).requirements()


__all__ = [
    "TaskDefinition",
    "TaskDefinitionRegistry",
    "TaskRequirements",
    "parse_task_definition",
    "requirements_of",
]
