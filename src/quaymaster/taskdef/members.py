"""Member names of a task definition, checked against botocore's ECS model.

ECS refuses a request member it does not know (``familly``); so does
quaymaster, at every level of the document, naming the JSON path of the
unknown key. The names come from botocore's service model (loaded on first
use and kept): a RegisterTaskDefinition request takes the members of
``RegisterTaskDefinitionRequest``; a described definition (one carrying a
member only DescribeTaskDefinition returns, such as ``taskDefinitionArn`` or
``revision``) takes those of the ``TaskDefinition`` output shape, plus the
``tags`` a DescribeTaskDefinition response keeps beside it. ``requiresAttributes``
is accepted in a request too: placement reads it (docs/semantics.md).
Map keys (``dockerLabels``, log ``options``...) are the user's and not checked.
"""

from __future__ import annotations

import difflib
import functools

from quaymaster.api_models import service_model
from quaymaster.errors import TaskDefinitionError
from quaymaster.taskdef.parse import child, item

#: Request members quaymaster takes beyond the request model (see the module docstring).
_REQUEST_EXTRAS = ("requiresAttributes",)
#: Members of a described definition beyond the TaskDefinition output shape.
_DESCRIBED_EXTRAS = ("tags",)


@functools.cache
def _model_shapes():
    """(request shape, TaskDefinition output shape) of botocore's ECS model."""
    model = service_model("ecs")
    return model.operation_model("RegisterTaskDefinition").input_shape, model.shape_for("TaskDefinition")


@functools.cache
def _top_level_names() -> tuple[frozenset, frozenset]:
    request, described = _model_shapes()
    return (frozenset(request.members) | frozenset(_REQUEST_EXTRAS),
            frozenset(described.members) | frozenset(_DESCRIBED_EXTRAS))


def is_described(document: dict) -> bool:
    """True for a definition in DescribeTaskDefinition's form (it has an output-only member)."""
    request, described = _top_level_names()
    return any(name in document for name in described - request)


def check_member_names(document: dict) -> None:
    """Raise ``TaskDefinitionError`` at the first member name the ECS model does not have."""
    request_shape, described_shape = _model_shapes()
    request_names, described_names = _top_level_names()
    described = is_described(document)
    shape = described_shape if described else request_shape
    allowed = described_names if described else request_names
    for name, value in document.items():
        if name not in allowed:
            _refuse(name, "", allowed, "a described task definition" if described
                    else "RegisterTaskDefinition")
        member = shape.members.get(name) or (request_shape.members.get(name)
                                             or described_shape.members.get(name))
        if member is not None and value is not None:
            _check_value(value, member, name)


def _check_value(value, shape, path: str) -> None:
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for name, element in value.items():
            member = shape.members.get(name)
            if member is None:
                _refuse(name, path, shape.members, shape.name)
            if element is not None:
                _check_value(element, member, child(path, name))
    elif kind == "list" and isinstance(value, list):
        for index, element in enumerate(value):
            if element is not None:
                _check_value(element, shape.member, item(path, index))
    elif kind == "map" and isinstance(value, dict):
        for key, element in value.items():
            if element is not None:
                _check_value(element, shape.value, f"{path}[{key!r}]")


def _refuse(name: str, path: str, allowed, where: str) -> None:
    close = difflib.get_close_matches(name, sorted(allowed), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise TaskDefinitionError(f"unknown member {name!r}: {where} has no such member{hint}",
                              field=child(path, name), value=name)
