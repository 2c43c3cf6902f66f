"""JSON 1.1 bodies to and from botocore's shapes, driven by the model.

Requests: timestamps arrive as epoch seconds and blobs as base64; they are
turned into ``datetime`` and ``bytes`` where the input shape says so. A value of
the wrong type is left alone for the validator to name. Responses: the output
shape drives the walk; timestamps go out as epoch seconds, blobs as base64.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
from typing import Any

from botocore.model import Shape

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def decode_input(value: Any, shape: Shape | None) -> Any:
    if shape is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        return {k: decode_input(v, shape.members.get(k)) for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [decode_input(v, shape.member) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: decode_input(v, shape.value) for k, v in value.items()}
    if kind == "timestamp" and isinstance(value, (int, float)) and not isinstance(value, bool):
        if math.isfinite(value) and abs(value) < 253402300800:  # before year 10000
            return _EPOCH + dt.timedelta(seconds=value)
        return value
    if kind == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return value
    return value


def encode_output(value: Any, shape: Shape | None) -> Any:
    """A region's response as JSON-ready data; members the shape lacks are dropped."""
    if value is None:
        return None
    if shape is None:
        return _plain(value)
    kind = shape.type_name
    if kind == "structure":
        out = {}
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                out[name] = encode_output(value[name], member)
        return out
    if kind == "list":
        return [encode_output(v, shape.member) for v in value]
    if kind == "map":
        return {str(k): encode_output(v, shape.value) for k, v in value.items()}
    if kind == "timestamp":
        return epoch_seconds(value)
    if kind == "blob":
        raw = value.encode() if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode("ascii")
    return _plain(value)


def epoch_seconds(value: Any) -> float:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return round((value - _EPOCH).total_seconds(), 3)
    return float(value)


def _plain(value: Any) -> Any:
    """numpy scalars and the like as plain JSON values."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str, bytes)):
        return value.item()
    return value


def dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), default=_default).encode()


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return epoch_seconds(value)
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
