"""A request checked against an operation's input shape: botocore's validator plus the
limits it leaves to the server (maximum lengths and values, enums, booleans posing as
integers), reported in AWS's wording:
``1 validation error detected: Value 'x' at 'cluster' failed to satisfy constraint: ...``.

The one check behind ``api_models.check_request``: the endpoint's wire, the region,
the scaling APIs, ECR and a simulation's calls all refuse a bad request alike.
"""

from __future__ import annotations

from typing import Any

from botocore.model import Shape
from botocore.validate import ParamValidator, ValidationErrors


class ModelValidator(ParamValidator):
    """botocore's ParamValidator, completed with the server-side checks."""

    def _validate_string(self, param, shape, errors, name):
        super()._validate_string(param, shape, errors, name)
        if not isinstance(param, str):
            return
        _max_check(name, len(param), shape, "invalid length", errors)
        if shape.enum and param not in shape.enum:
            errors.report(name, "invalid enum", param=param, enum=shape.enum)

    def _validate_list(self, param, shape, errors, name):
        super()._validate_list(param, shape, errors, name)
        if isinstance(param, (list, tuple)):
            _max_check(name, len(param), shape, "invalid length", errors)

    def _validate_map(self, param, shape, errors, name):
        super()._validate_map(param, shape, errors, name)
        if isinstance(param, dict):
            _max_check(name, len(param), shape, "invalid length", errors)

    def _validate_integer(self, param, shape, errors, name):
        if isinstance(param, bool):
            errors.report(name, "invalid type", param=param, valid_types=["int"])
            return
        super()._validate_integer(param, shape, errors, name)
        if isinstance(param, int):
            _max_check(name, param, shape, "invalid range", errors)

    _validate_long = _validate_integer

    def _validate_double(self, param, shape, errors, name):
        if isinstance(param, bool):
            errors.report(name, "invalid type", param=param, valid_types=["float"])
            return
        super()._validate_double(param, shape, errors, name)


def _max_check(name: str, value: int, shape: Shape, kind: str, errors: ValidationErrors) -> None:
    if "max" in shape.metadata and value > shape.metadata["max"]:
        errors.report(name, kind, param=value, max_allowed=shape.metadata["max"])


def model_problem(params: Any, shape: Shape | None) -> str | None:
    """None when ``params`` fits ``shape``, else AWS's validation message."""
    if shape is None:
        return None if not params else "The operation takes no input"
    errors = ModelValidator().validate(params, shape)
    if not errors.has_errors():
        return None
    problems = [_describe(kind, name, extra) for kind, name, extra in errors._errors]
    count = len(problems)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(problems)


def _describe(kind: str, name: str, extra: dict) -> str:
    where = name.lstrip(".") or "input"
    if kind == "missing required field":
        member = f"{where}.{extra['required_name']}" if where != "input" else extra["required_name"]
        return f"Value null at '{member}' failed to satisfy constraint: Member must not be null"
    if kind == "unknown field":
        return f"Unknown member '{extra['unknown_param']}' at '{where}'"
    value = _short(extra.get("param"))
    if kind == "invalid enum":
        allowed = ", ".join(extra["enum"])
        return (f"Value {value} at '{where}' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{allowed}]")
    if kind in ("invalid length", "invalid range"):
        what = "length" if kind == "invalid length" else "value"
        if "max_allowed" in extra:
            bound = f"less than or equal to {extra['max_allowed']}"
        else:
            bound = f"greater than or equal to {extra['min_allowed']}"
        return f"Value {value} at '{where}' failed to satisfy constraint: Member must have {what} {bound}"
    return f"Value {value} at '{where}' failed to satisfy constraint: Member has the wrong type"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
