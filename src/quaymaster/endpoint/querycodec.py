"""The query protocol (EC2 Auto Scaling): form parameters into the input shape,
the output shape into AWS's XML response.

Form keys follow botocore's query serializer: structure members by their
``locationName``, lists as ``Name.member.N`` (``Name.N`` when flattened), maps
as ``Name.entry.N.key`` / ``.value``, booleans ``true``/``false``, timestamps
ISO 8601. A value that does not convert stays a string so the validator names
it. The XML writer walks the output shape the same way botocore's parser reads
it back: ``<OpResponse><OpResult>..</OpResult><ResponseMetadata>..``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from xml.sax.saxutils import escape

from botocore.model import OperationModel, Shape
from botocore.utils import parse_timestamp

_MISSING = object()


def parse_form(form: dict[str, str], shape: Shape | None) -> dict:
    if shape is None:
        return {}
    keys = frozenset(form)
    value = _parse(form, keys, shape, "")
    return {} if value is _MISSING else value


def _present(keys: frozenset[str], prefix: str) -> bool:
    dotted = prefix + "."
    return any(k == prefix or k.startswith(dotted) for k in keys)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _parse(form: dict, keys: frozenset[str], shape: Shape, prefix: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        out = {}
        for name, member in shape.members.items():
            wire = member.serialization.get("name", name)
            value = _parse(form, keys, member, _join(prefix, wire))
            if value is not _MISSING:
                out[name] = value
        return out if (out or not prefix) else _MISSING
    if kind == "list":
        return _parse_list(form, keys, shape, prefix)
    if kind == "map":
        return _parse_map(form, keys, shape, prefix)
    if prefix not in form:
        return _MISSING
    return _scalar(form[prefix], kind)


def _parse_list(form: dict, keys: frozenset[str], shape: Shape, prefix: str) -> Any:
    if not _present(keys, prefix):
        return _MISSING
    if form.get(prefix) == "":
        return []  # botocore sends an empty list as "Name="
    base = prefix if shape.serialization.get("flattened") else _join(
        prefix, shape.member.serialization.get("name", "member"))
    items, index = [], 1
    while _present(keys, f"{base}.{index}"):
        items.append(_parse(form, keys, shape.member, f"{base}.{index}"))
        index += 1
    return [None if v is _MISSING else v for v in items]


def _parse_map(form: dict, keys: frozenset[str], shape: Shape, prefix: str) -> Any:
    if not _present(keys, prefix):
        return _MISSING
    base = prefix if shape.serialization.get("flattened") else _join(prefix, "entry")
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    out, index = {}, 1
    while _present(keys, f"{base}.{index}"):
        key = form.get(f"{base}.{index}.{key_name}")
        value = _parse(form, keys, shape.value, f"{base}.{index}.{value_name}")
        if key is not None and value is not _MISSING:
            out[key] = value
        index += 1
    return out


def _scalar(text: str, kind: str) -> Any:
    try:
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("float", "double"):
            return float(text)
        if kind == "boolean":
            return {"true": True, "false": False}.get(text, text)
        if kind == "timestamp":
            return parse_timestamp(text)
    except (ValueError, TypeError, OverflowError):
        return text
    return text


# --- XML responses ---------------------------------------------------------

def xml_response(operation: OperationModel, result: dict | None, request_id: str,
                 namespace: str) -> bytes:
    name = operation.name
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<{name}Response xmlns="{namespace}">']
    shape = operation.output_shape
    if shape is not None:
        wrapper = shape.serialization.get("resultWrapper", f"{name}Result")
        parts.append(f"<{wrapper}>")
        _members_xml(result or {}, shape, parts)
        parts.append(f"</{wrapper}>")
    parts.append(f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>")
    parts.append(f"</{name}Response>")
    return "".join(parts).encode()


def xml_error(code: str, message: str, request_id: str, sender: bool = True) -> bytes:
    kind = "Sender" if sender else "Receiver"
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>{kind}</Type>'
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>").encode()


def _members_xml(value: dict, shape: Shape, parts: list[str]) -> None:
    for name, member in shape.members.items():
        if name in value and value[name] is not None:
            _element(member.serialization.get("name", name), value[name], member, parts)


def _element(tag: str, value: Any, shape: Shape, parts: list[str]) -> None:
    kind = shape.type_name
    if kind == "list":
        item_tag = shape.member.serialization.get("name", "member")
        if shape.serialization.get("flattened"):
            for item in value:
                _element(tag, item, shape.member, parts)
            return
        parts.append(f"<{tag}>")
        for item in value:
            _element(item_tag, item, shape.member, parts)
        parts.append(f"</{tag}>")
        return
    if kind == "map":
        parts.append(f"<{tag}>")
        for key, item in value.items():
            parts.append(f"<entry><key>{escape(str(key))}</key>")
            _element("value", item, shape.value, parts)
            parts.append("</entry>")
        parts.append(f"</{tag}>")
        return
    parts.append(f"<{tag}>")
    if kind == "structure":
        _members_xml(value, shape, parts)
    else:
        parts.append(escape(_scalar_text(value, kind)))
    parts.append(f"</{tag}>")


def _scalar_text(value: Any, kind: str) -> str:
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        if isinstance(value, (int, float)):
            value = dt.datetime.fromtimestamp(value, dt.timezone.utc)
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if kind == "blob":
        import base64
        raw = value.encode() if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode("ascii")
    if hasattr(value, "item"):
        value = value.item()
    return str(value)
