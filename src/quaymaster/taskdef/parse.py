"""Reading task definition JSON: where it comes from, and the types of its fields.

``load_document`` accepts what users hand in (a dict, JSON text, bytes, or a
path to a ``.json`` file; a RegisterTaskDefinition request, a described
``taskDefinition``, or a whole DescribeTaskDefinition response) and returns a
private deep copy of the definition object. ``check_shape`` then checks every
known field against its botocore shape (``shapes.py``), raising
``TaskDefinitionError`` with the JSON path of the first bad value. Unknown
fields are not checked: they are kept verbatim.

A JSON ``null`` counts as an absent field (boto3 users write ``None`` for
"not given"); it is kept in the document as it was.
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import os
from collections.abc import Mapping
from pathlib import Path

from quaymaster.errors import TaskDefinitionError
from quaymaster.taskdef.shapes import Shape

ROOT = "$"  # the field path of errors about the document as a whole
_INT32_MIN, _INT32_MAX = -(2 ** 31), 2 ** 31 - 1
_SHOWN_CHARS = 80


def shown(value: object) -> str:
    """``repr`` of a value, cut short so a huge value cannot flood a message."""
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS - 3] + "..."


def child(path: str, key: str) -> str:
    """Path of member ``key`` of the object at ``path`` (``""`` is the definition)."""
    return f"{path}.{key}" if path else key


def item(path: str, index: int) -> str:
    """Path of element ``index`` of the list at ``path``."""
    return f"{path}[{index}]"


def entry(path: str, key: str) -> str:
    """Path of the value under ``key`` of the map at ``path``."""
    return f"{path}[{json.dumps(key)}]"


def load_document(source: object) -> dict:
    """The task definition object in ``source``, as a fresh dict the caller owns."""
    if isinstance(source, os.PathLike):
        return _unwrap(_read_json_file(Path(source)))
    if isinstance(source, (bytes, bytearray)):
        return _unwrap(_parse_json_text(bytes(source).decode("utf-8", errors="replace")))
    if isinstance(source, str):
        if source.lstrip()[:1] in ("{", "["):  # JSON text; anything else is a path
            return _unwrap(_parse_json_text(source))
        return _unwrap(_read_json_file(Path(source)))
    if isinstance(source, Mapping):
        try:
            return _unwrap(copy.deepcopy(dict(source)))
        except (TypeError, copy.Error, RecursionError) as exc:  # objects JSON could not hold
            raise TaskDefinitionError(f"cannot copy the task definition: {exc}", field=ROOT,
                                      value=None) from exc
    raise TaskDefinitionError(
        f"expected a task definition dict, JSON text or a .json path, got {type(source).__name__}",
        field=ROOT, value=source)


def _read_json_file(path: Path) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:  # ValueError: undecodable bytes, a NUL in the path
        raise TaskDefinitionError(f"cannot read task definition file {str(path)!r}: {exc}",
                                  field=ROOT, value=str(path)) from exc
    return _parse_json_text(text)


def _parse_json_text(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TaskDefinitionError(f"not valid JSON ({exc.msg} at line {exc.lineno} column "
                                  f"{exc.colno}): {shown(text)}", field=ROOT, value=text) from exc
    except RecursionError as exc:
        raise TaskDefinitionError("JSON nested too deeply", field=ROOT, value=None) from exc
    except ValueError as exc:  # an integer of more digits than Python converts (4,300 by default)
        raise TaskDefinitionError(f"not valid JSON: {exc}", field=ROOT, value=None) from exc


def _unwrap(document: object) -> dict:
    """The definition itself; a DescribeTaskDefinition response gives its ``taskDefinition``.

    The response keeps tags beside the definition; they move into it (the
    request shape carries ``tags``) unless it already has its own.
    """
    if not isinstance(document, dict):
        raise TaskDefinitionError(f"a task definition must be a JSON object, got {shown(document)}",
                                  field=ROOT, value=document)
    try:
        check_json_text(document, "")
    except RecursionError as exc:
        raise TaskDefinitionError("task definition nested too deeply", field=ROOT, value=None) from exc
    inner = document.get("taskDefinition")
    if isinstance(inner, dict) and "containerDefinitions" not in document:
        definition = dict(inner)
        if document.get("tags") is not None and definition.get("tags") is None:
            definition["tags"] = document["tags"]
        return definition
    return document


def check_json_text(value: object, path: str) -> None:
    """Every key is a string and every string is text (UTF-8 can hold it: no lone surrogates)."""
    if isinstance(value, str):
        _check_text(value, path)
    elif isinstance(value, dict):
        for key, element in value.items():
            if not isinstance(key, str):
                raise TaskDefinitionError(f"keys must be strings, got {shown(key)}", field=path or ROOT,
                                          value=key)
            _check_text(key, path or ROOT, what="key")
            check_json_text(element, child(path, key))
    elif isinstance(value, list):
        for index, element in enumerate(value):
            check_json_text(element, item(path, index))


def _check_text(text: str, path: str, what: str = "string") -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise TaskDefinitionError(f"{what} {shown(text)} is not valid text (a lone surrogate at "
                                  f"{exc.start})", field=path, value=text) from None


def check_shape(value: object, shape: Shape, path: str) -> None:
    """Raise ``TaskDefinitionError`` at the first value that does not fit ``shape``."""
    _CHECKERS[shape.kind](value, shape, path)


def _fail(path: str, expected: str, value: object) -> None:
    raise TaskDefinitionError(f"expected {expected}, got {shown(value)}", field=path or ROOT,
                              value=value)


def _check_string(value, shape, path):
    if not isinstance(value, str):
        _fail(path, "a string", value)
    if len(value) < shape.min_len or (shape.max_len is not None and len(value) > shape.max_len):
        limit = f"{shape.min_len}..{shape.max_len}" if shape.max_len is not None else \
            f"at least {shape.min_len}"
        _fail(path, f"a string of {limit} characters", value)


def _check_integer(value, shape, path):
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(path, "an integer", value)
    if not _INT32_MIN <= value <= _INT32_MAX:
        _fail(path, "a 32-bit integer", value)


def _check_boolean(value, shape, path):
    if not isinstance(value, bool):
        _fail(path, "true or false", value)


def _check_timestamp(value, shape, path):
    if isinstance(value, bool) or not isinstance(value, (str, int, float, _dt.datetime)):
        _fail(path, "a timestamp (ISO 8601 text or epoch seconds)", value)


def _check_enum(value, shape, path):
    if not isinstance(value, str) or value not in shape.values:
        _fail(path, "one of " + "|".join(shape.values), value)


def _check_size(value, shape, path):
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        _fail(path, "a string such as \"1024\"", value)


def _check_list(value, shape, path):
    if not isinstance(value, list):
        _fail(path, "a list", value)
    if shape.max_len is not None and len(value) > shape.max_len:
        _fail(path, f"a list of at most {shape.max_len} items ({len(value)} given)", value)
    for index, element in enumerate(value):
        if element is None:
            _fail(item(path, index), "a value", element)
        check_shape(element, shape.member, item(path, index))


def _check_map(value, shape, path):
    if not isinstance(value, dict):
        _fail(path, "an object", value)
    for key, element in value.items():
        if element is not None:
            check_shape(element, shape.member, entry(path, str(key)))


def _check_structure(value, shape, path):
    if not isinstance(value, dict):
        _fail(path, "an object", value)
    for name in shape.required:
        if value.get(name) is None:
            raise TaskDefinitionError(f"{name} is required", field=child(path, name), value=None)
    for name, member in shape.members.items():
        if value.get(name) is not None:
            check_shape(value[name], member, child(path, name))


_CHECKERS = {
    "string": _check_string, "integer": _check_integer, "boolean": _check_boolean,
    "timestamp": _check_timestamp, "enum": _check_enum, "size": _check_size,
    "list": _check_list, "map": _check_map, "structure": _check_structure,
}
