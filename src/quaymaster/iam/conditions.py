"""Condition operators: every one of the policy language, with ``IfExists`` and
the ``ForAllValues:`` / ``ForAnyValue:`` set qualifiers.

Each base operator is a positive comparison of one request value with one
policy value; a negated operator (``StringNotEquals``, ``NotIpAddress``, ...) is
"no policy value matches". Absent keys fail every operator but the negated
ones; ``IfExists`` makes absence a match.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
from collections.abc import Mapping
from typing import Any, Callable

from .matching import match_resource, match_string


def _number(text: Any) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _date(text: Any) -> float | None:
    if isinstance(text, dt.datetime):
        return text.timestamp()
    number = _number(text)
    if number is not None:
        return number
    try:
        value = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.timestamp()


def _compare(parse: Callable, test: Callable) -> Callable:
    def compare(request: Any, policy: str, context: Mapping) -> bool:
        a, b = parse(request), parse(policy)
        return a is not None and b is not None and test(a, b)
    return compare


def _ip(request: Any, policy: str, context: Mapping) -> bool:
    try:
        return ipaddress.ip_address(str(request)) in ipaddress.ip_network(policy, strict=False)
    except ValueError:
        return False


def _binary(request: Any, policy: str, context: Mapping) -> bool:
    raw = request if isinstance(request, bytes) else str(request).encode()
    try:
        return raw == base64.b64decode(policy, validate=True) or str(request) == policy
    except ValueError:
        return False


def _str(**options) -> Callable:
    return lambda r, p, c: match_string(p, str(r), c, **options)


# base operator -> (compare one request value with one policy value, negated?)
OPERATORS: dict[str, tuple[Callable, bool]] = {
    "StringEquals": (_str(wildcards=False), False),
    "StringNotEquals": (_str(wildcards=False), True),
    "StringEqualsIgnoreCase": (_str(wildcards=False, ignore_case=True), False),
    "StringNotEqualsIgnoreCase": (_str(wildcards=False, ignore_case=True), True),
    "StringLike": (_str(wildcards=True), False),
    "StringNotLike": (_str(wildcards=True), True),
    "NumericEquals": (_compare(_number, lambda a, b: a == b), False),
    "NumericNotEquals": (_compare(_number, lambda a, b: a == b), True),
    "NumericLessThan": (_compare(_number, lambda a, b: a < b), False),
    "NumericLessThanEquals": (_compare(_number, lambda a, b: a <= b), False),
    "NumericGreaterThan": (_compare(_number, lambda a, b: a > b), False),
    "NumericGreaterThanEquals": (_compare(_number, lambda a, b: a >= b), False),
    "DateEquals": (_compare(_date, lambda a, b: a == b), False),
    "DateNotEquals": (_compare(_date, lambda a, b: a == b), True),
    "DateLessThan": (_compare(_date, lambda a, b: a < b), False),
    "DateLessThanEquals": (_compare(_date, lambda a, b: a <= b), False),
    "DateGreaterThan": (_compare(_date, lambda a, b: a > b), False),
    "DateGreaterThanEquals": (_compare(_date, lambda a, b: a >= b), False),
    "Bool": (lambda r, p, c: str(r).lower() == p.lower(), False),
    "BinaryEquals": (_binary, False),
    "IpAddress": (_ip, False),
    "NotIpAddress": (_ip, True),
    "ArnEquals": (lambda r, p, c: match_resource(p, str(r), c), False),
    "ArnLike": (lambda r, p, c: match_resource(p, str(r), c), False),
    "ArnNotEquals": (lambda r, p, c: match_resource(p, str(r), c), True),
    "ArnNotLike": (lambda r, p, c: match_resource(p, str(r), c), True),
    "Null": (lambda r, p, c: True, False),  # handled on its own below
}


def split_operator(operator: str) -> tuple[str | None, str, bool]:
    """``ForAnyValue:StringLikeIfExists`` -> ("ForAnyValue", "StringLike", True)."""
    qualifier = None
    for prefix in ("ForAllValues:", "ForAnyValue:"):
        if operator.startswith(prefix):
            qualifier, operator = prefix[:-1], operator[len(prefix):]
    if_exists = operator.endswith("IfExists") and operator != "IfExists"
    if if_exists:
        operator = operator[: -len("IfExists")]
    return qualifier, operator, if_exists


def condition_matches(operator: str, key: str, policy_values: tuple[str, ...],
                      context: Mapping[str, Any]) -> bool:
    qualifier, base, if_exists = split_operator(operator)
    raw = context.get(key.lower())
    values = [] if raw is None else list(raw) if isinstance(raw, (list, tuple)) else [raw]
    if base == "Null":
        absent = not values
        return any((p.lower() == "true") == absent for p in policy_values)
    compare, negated = OPERATORS[base]

    def one(value: Any) -> bool:
        hit = any(compare(value, p, context) for p in policy_values)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(one(v) for v in values)
    if qualifier == "ForAnyValue":
        return (if_exists and not values) or any(one(v) for v in values)
    if not values:
        return if_exists or negated
    return all(one(v) for v in values) if negated else any(one(v) for v in values)
