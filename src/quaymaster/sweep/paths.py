"""JSON paths into a scenario (``calls[3].request.desiredCount``) and the cross product of variations."""

from __future__ import annotations

import copy
import itertools
import json
import re

from quaymaster.errors import InvalidInputError

_SEGMENT = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]")


class SweepError(InvalidInputError):
    """A sweep or sizing that cannot run as asked; ``field`` names the JSON path or option."""

    def __init__(self, message: str, *, field: str | None = None, value=None):
        super().__init__(message, field=field, value=value)


def parse_path(path: str) -> list:
    """``calls[3].request.desiredCount`` (a leading ``$.`` allowed) as ``["calls", 3, "request", ...]``."""
    if not isinstance(path, str):
        raise SweepError(f"a JSON path is text, found {path!r}", field="path", value=path)
    text = path[2:] if path.startswith("$.") else path
    segments, position = [], 0
    while position < len(text):
        match = _SEGMENT.match(text, position)
        if match is None or (position == 0 and text.startswith(".")):
            raise SweepError(f"{path}: not a JSON path (like calls[3].request.desiredCount) at "
                             f"character {position + 1}", field=path, value=path)
        name, index = match.groups()
        segments.append(name if name is not None else int(index))
        position = match.end()
    if not segments:
        raise SweepError("an empty JSON path", field=path, value=path)
    return segments


def set_path(document, path: str, value):
    """A deep copy of ``document`` with ``value`` at ``path``; every step but the last must exist
    (the last may add a key to an object, so ``fleets[0].count`` can be set)."""
    result = copy.deepcopy(document)
    segments = parse_path(path)
    node, walked = result, "$"
    for segment in segments[:-1]:
        node = _step(node, segment, walked, path)
        walked += f"[{segment}]" if isinstance(segment, int) else f".{segment}"
    last = segments[-1]
    if isinstance(last, int):
        _step(node, last, walked, path)            # the item must exist to be replaced
    elif not isinstance(node, dict):
        raise SweepError(f"{path}: {walked} is not an object", field=path, value=value)
    node[last] = copy.deepcopy(value)
    return result


def _step(node, segment, walked: str, path: str):
    if isinstance(segment, int):
        if not isinstance(node, list):
            raise SweepError(f"{path}: {walked} is not a list", field=path)
        if segment >= len(node):
            raise SweepError(f"{path}: {walked} has {len(node)} items, no [{segment}]", field=path)
        return node[segment]
    if not isinstance(node, dict) or segment not in node:
        raise SweepError(f"{path}: {walked} has no key {segment!r}", field=path)
    return node[segment]


def parse_values(text: str, *, field: str = "--vary") -> tuple[str, list]:
    """``PATH=V1,V2,...`` (or ``PATH=[JSON list]``) as (path, values); each value is JSON when it
    parses as JSON (``3``, ``true``, ``"x"``, ``{...}``), else the text itself."""
    path, sep, values = text.partition("=")
    if not sep or not path or not values:
        raise SweepError(f"{field} {text!r}: expected PATH=V1,V2,...", field=field, value=text)
    parse_path(path)
    if values.lstrip().startswith("["):
        try:
            parsed = json.loads(values)
        except json.JSONDecodeError as error:
            raise SweepError(f"{field} {path}: not a JSON list: {error}", field=field, value=text) from None
        return path, list(parsed)
    return path, [_json_or_text(item) for item in values.split(",")]


def _json_or_text(item: str):
    try:
        return json.loads(item)
    except json.JSONDecodeError:
        return item


def variations(vary: dict) -> list[dict]:
    """The cross product of ``{path: [values]}`` in order, the first path varying slowest."""
    if not isinstance(vary, dict) or not vary:
        raise SweepError("vary needs at least one path with values", field="vary", value=vary)
    for path, values in vary.items():
        parse_path(path)
        if not isinstance(values, (list, tuple)) or not values:
            raise SweepError(f"{path}: needs a non-empty list of values", field=path, value=values)
    paths = list(vary)
    return [dict(zip(paths, combo)) for combo in itertools.product(*(vary[p] for p in paths))]


def apply_variation(document, variation: dict):
    for path, value in variation.items():
        document = set_path(document, path, value)
    return document
