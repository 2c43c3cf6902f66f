"""Action, resource and string matching with ``*``/``?`` wildcards and policy variables.

A pattern is tokenised once: ``*`` and ``?`` are wildcards, ``${key}`` is a
policy variable replaced by the request's value of ``key`` (``${key, 'default'}``
falls back to the default), and ``${*}``, ``${?}``, ``${$}`` are the literal
characters. A variable with no value and no default makes the pattern match
nothing, as AWS does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_LITERALS = {"*": "*", "?": "?", "$": "$"}


def substitute_regex(pattern: str, context: Mapping[str, Any] | None, *, wildcards: bool = True,
                     ignore_case: bool = False) -> re.Pattern | None:
    """The compiled regex of ``pattern`` after variable substitution, or None if a variable is unset."""
    parts, position = [], 0
    for match in _VARIABLE.finditer(pattern):
        parts.append(_glob(pattern[position:match.start()], wildcards))
        value = _variable_value(match.group(1), context)
        if value is None:
            return None
        parts.append(re.escape(value))
        position = match.end()
    parts.append(_glob(pattern[position:], wildcards))
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile("".join(parts), flags)


def _glob(text: str, wildcards: bool) -> str:
    if not wildcards:
        return re.escape(text)
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)


def _variable_value(body: str, context: Mapping[str, Any] | None) -> str | None:
    name, _, default = body.partition(",")
    name = name.strip()
    if name in _LITERALS:
        return _LITERALS[name]
    value = context.get(name.lower()) if context is not None else None
    if isinstance(value, (list, tuple)):
        value = value[0] if len(value) == 1 else None  # a multi-valued key is no variable
    if value is None and default:
        default = default.strip()
        if len(default) >= 2 and default[0] == default[-1] == "'":
            return default[1:-1]
    return None if value is None else str(value)


def match_action(pattern: str, action: str) -> bool:
    """``ecs:Run*`` against ``ecs:RunTask``: case-insensitive, wildcards, no variables."""
    if pattern == "*":
        return True
    regex = substitute_regex(pattern, None, ignore_case=True) if "${" not in pattern else None
    return bool(regex and regex.fullmatch(action))


def match_resource(pattern: str, arn: str, context: Mapping[str, Any] | None) -> bool:
    """An ARN pattern against a resource ARN, case-sensitive, segment by segment."""
    if pattern == "*":
        return True
    pattern_parts = pattern.split(":", 5)
    arn_parts = arn.split(":", 5)
    if len(pattern_parts) != 6 or len(arn_parts) != 6:
        regex = substitute_regex(pattern, context)
        return bool(regex and regex.fullmatch(arn))
    for expected, actual in zip(pattern_parts, arn_parts):
        regex = substitute_regex(expected, context)
        if regex is None or not regex.fullmatch(actual):
            return False
    return True


def match_string(pattern: str, value: str, context: Mapping[str, Any] | None, *,
                 wildcards: bool, ignore_case: bool = False) -> bool:
    regex = substitute_regex(pattern, context, wildcards=wildcards, ignore_case=ignore_case)
    return bool(regex and regex.fullmatch(value))
