"""``TaskDefinition``: one parsed, validated, immutable ECS task definition.

Built only through ``TaskDefinition.from_json`` (parse, shape check, rules), so
an instance is always valid. It keeps the whole document it was given
(unknown fields too) and never changes; the registry makes new instances to
record a revision, a status or a deregistration.
"""

from __future__ import annotations

import copy

from quaymaster.taskdef.containers import read_containers
from quaymaster.taskdef.describe import compatibilities_of, describe_document
from quaymaster.taskdef.members import check_member_names
from quaymaster.taskdef.parse import check_shape, load_document
from quaymaster.taskdef.requirements import TaskRequirements, compute_requirements
from quaymaster.taskdef.shapes import DESCRIBE_ONLY_MEMBERS, REQUEST_MEMBERS, TASK_DEFINITION
from quaymaster.taskdef.validate import validate_definition


class TaskDefinition:
    """A valid task definition; see ``from_json``. Treat every attribute as read-only."""

    __slots__ = ("_document", "containers", "task_cpu", "task_memory", "_requirements", "_compatibilities")

    def __init__(self, *_args, **_kwargs):
        raise TypeError("use TaskDefinition.from_json(...) to build a TaskDefinition")

    @classmethod
    def from_json(cls, source: object) -> "TaskDefinition":
        """Parse and validate a task definition.

        ``source`` is a dict, JSON text, bytes, or a path (str or PathLike) to a
        ``.json`` file, holding a RegisterTaskDefinition request, a described
        ``taskDefinition``, or a whole DescribeTaskDefinition response. Raises
        ``TaskDefinitionError`` (``field`` = JSON path) on anything invalid.
        """
        if isinstance(source, TaskDefinition):
            return source
        document = load_document(source)
        check_shape(document, TASK_DEFINITION, "")
        check_member_names(document)
        containers = read_containers(document)
        size = validate_definition(document, containers, _request_part(document))
        definition = object.__new__(cls)
        definition._document = document
        definition.containers = containers
        definition.task_cpu = size.cpu
        definition.task_memory = size.memory
        definition._requirements = None
        definition._compatibilities = None
        return definition

    # -- the fields placement and the registry read --------------------------------

    @property
    def family(self) -> str:
        return self._document["family"]

    @property
    def network_mode(self) -> str:
        """``networkMode``, ``bridge`` when not given (the Linux default)."""
        return self._document.get("networkMode") or "bridge"

    @property
    def requires_compatibilities(self) -> tuple[str, ...]:
        return tuple(self._document.get("requiresCompatibilities") or ())

    @property
    def compatibilities(self) -> tuple[str, ...]:
        """The launch types this definition is compatible with (``describe.py``); worked out
        once, as RunTask asks at every call."""
        if self._compatibilities is None:
            self._compatibilities = compatibilities_of(self)
        return self._compatibilities

    @property
    def required_attributes(self) -> tuple[tuple[str, str | None], ...]:
        """``requiresAttributes`` as (name, value or None) pairs."""
        return tuple((a["name"], a.get("value"))
                     for a in self._document.get("requiresAttributes") or ())

    @property
    def member_of(self) -> tuple[str, ...]:
        """The expressions of the definition's memberOf placement constraints."""
        return tuple(c["expression"] for c in self._document.get("placementConstraints") or ()
                     if c.get("type") == "memberOf")

    @property
    def revision(self) -> int | None:
        return self._document.get("revision")

    @property
    def arn(self) -> str | None:
        return self._document.get("taskDefinitionArn")

    @property
    def status(self) -> str | None:
        return self._document.get("status")

    @property
    def registered_at(self) -> object:
        return self._document.get("registeredAt")

    @property
    def deregistered_at(self) -> object:
        return self._document.get("deregisteredAt")

    @property
    def tags(self) -> list[dict]:
        return copy.deepcopy(self._document.get("tags") or [])

    # -- JSON views -----------------------------------------------------------------

    @property
    def raw(self) -> dict:
        """A deep copy of the whole document as given (unknown fields included)."""
        return copy.deepcopy(self._document)

    @property
    def unknown_fields(self) -> dict:
        """Top-level fields the ECS model does not know, verbatim."""
        known = REQUEST_MEMBERS.keys() | DESCRIBE_ONLY_MEMBERS.keys()
        return {k: copy.deepcopy(v) for k, v in self._document.items() if k not in known}

    def to_json(self) -> dict:
        """The RegisterTaskDefinition request shape: every field but ECS's registration metadata."""
        return copy.deepcopy(_request_part(self._document))

    def describe_json(self) -> dict:
        """The DescribeTaskDefinition ``taskDefinition`` shape (see ``describe.py``)."""
        return describe_document(self)

    def requirements(self) -> TaskRequirements:
        """What one task needs (spec section 2); computed once, then cached."""
        if self._requirements is None:
            self._requirements = compute_requirements(self)
        return self._requirements

    # -- the registry's copies ------------------------------------------------------

    def _with_metadata(self, **fields: object) -> "TaskDefinition":
        """A copy with describe-only fields set (``None`` removes one); rules not re-run."""
        clone = object.__new__(TaskDefinition)
        document = copy.deepcopy(self._document)
        for name, value in fields.items():
            if value is None:
                document.pop(name, None)
            else:
                document[name] = value
        clone._document = document
        clone.containers = self.containers
        clone.task_cpu = self.task_cpu
        clone.task_memory = self.task_memory
        clone._requirements = self._requirements
        clone._compatibilities = None   # the describe-only fields may name requiresCompatibilities
        return clone

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TaskDefinition):
            return NotImplemented
        return self._document == other._document

    __hash__ = None  # documents are dicts: equal by value, not hashable

    def __repr__(self) -> str:
        revision = f":{self.revision}" if self.revision is not None else ""
        status = f" {self.status}" if self.status else ""
        return (f"TaskDefinition({self.family}{revision}{status}, {len(self.containers)} "
                f"container{'s' if len(self.containers) != 1 else ''}, {self.network_mode})")


def _request_part(document: dict) -> dict:
    """The document without ECS's registration metadata (shallow)."""
    return {k: v for k, v in document.items() if k not in DESCRIBE_ONLY_MEMBERS}

