"""Policy documents: parsed and checked once, refused with a message naming the
statement and the key when they break the policy language (docs/endpoint.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from quaymaster.errors import InvalidInputError

from .conditions import OPERATORS, split_operator

VERSIONS = ("2012-10-17", "2008-10-17")
_STATEMENT_KEYS = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource",
                   "Principal", "NotPrincipal", "Condition"}


class MalformedPolicyDocument(InvalidInputError):
    """A policy document outside the policy language (IAM: MalformedPolicyDocument)."""


@dataclass(frozen=True)
class Statement:
    sid: str | None
    effect: str                       # "Allow" | "Deny"
    actions: tuple[str, ...] | None   # Action
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    principals: dict[str, tuple[str, ...]] | None   # {"AWS": (...)} or {"*": ("*",)}
    not_principals: dict[str, tuple[str, ...]] | None
    conditions: tuple[tuple[str, str, tuple[str, ...]], ...] = field(default=())  # (op, key, values)


@dataclass(frozen=True)
class Policy:
    version: str
    statements: tuple[Statement, ...]


def parse_policy(document: str | dict, *, resource_policy: bool = False) -> Policy:
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError as exc:
            raise MalformedPolicyDocument(f"Syntax errors in policy: {exc}", field="policy") from None
    if not isinstance(document, dict):
        raise MalformedPolicyDocument("The policy must be a JSON object", field="policy")
    unknown = set(document) - {"Version", "Id", "Statement"}
    if unknown:
        raise _bad(None, sorted(unknown)[0], "is not a policy element")
    version = document.get("Version", "2008-10-17")
    if version not in VERSIONS:
        raise _bad(None, "Version", f"must be one of {', '.join(VERSIONS)}, not {version!r}")
    raw = document.get("Statement")
    if raw is None:
        raise _bad(None, "Statement", "is required")
    raw_list = raw if isinstance(raw, list) else [raw]
    statements = tuple(_statement(s, i, resource_policy) for i, s in enumerate(raw_list))
    return Policy(version, statements)


def _bad(where: str | None, key: str, text: str) -> MalformedPolicyDocument:
    prefix = f"Statement {where}: " if where is not None else ""
    return MalformedPolicyDocument(f"{prefix}{key} {text}", field=key)


def _strings(value: Any, where: str, key: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) and v for v in items):
        raise _bad(where, key, "must be a non-empty string or a list of non-empty strings")
    return tuple(items)


def _statement(raw: Any, index: int, resource_policy: bool) -> Statement:
    where = str(index)
    if not isinstance(raw, dict):
        raise _bad(where, "Statement", "must be an object")
    if isinstance(raw.get("Sid"), str):
        where = f"{index} ({raw['Sid']})"
    unknown = set(raw) - _STATEMENT_KEYS
    if unknown:
        raise _bad(where, sorted(unknown)[0], "is not a statement element")
    if raw.get("Effect") not in ("Allow", "Deny"):
        raise _bad(where, "Effect", f"must be Allow or Deny, not {raw.get('Effect')!r}")
    _exactly_one(raw, where, "Action", "NotAction", required=True)
    _exactly_one(raw, where, "Resource", "NotResource", required=not resource_policy)
    _exactly_one(raw, where, "Principal", "NotPrincipal", required=resource_policy)
    if not resource_policy and ("Principal" in raw or "NotPrincipal" in raw):
        raise _bad(where, "Principal", "is not allowed in an identity-based policy")
    actions = {k: _strings(raw[k], where, k) for k in ("Action", "NotAction") if k in raw}
    for key, values in actions.items():
        for value in values:
            if value != "*" and ":" not in value:
                raise _bad(where, key, f"entry {value!r} must be service:action or *")
    resources = {k: _strings(raw[k], where, k) for k in ("Resource", "NotResource") if k in raw}
    for key, values in resources.items():
        for value in values:
            if value != "*" and not value.startswith("arn:"):
                raise _bad(where, key, f"entry {value!r} must be an ARN or *")
    return Statement(
        sid=raw.get("Sid"), effect=raw["Effect"],
        actions=actions.get("Action"), not_actions=actions.get("NotAction"),
        resources=resources.get("Resource"), not_resources=resources.get("NotResource"),
        principals=_principal(raw["Principal"], where, "Principal") if "Principal" in raw else None,
        not_principals=(_principal(raw["NotPrincipal"], where, "NotPrincipal")
                        if "NotPrincipal" in raw else None),
        conditions=_conditions(raw.get("Condition"), where))


def _exactly_one(raw: dict, where: str, a: str, b: str, *, required: bool) -> None:
    if a in raw and b in raw:
        raise _bad(where, a, f"and {b} cannot both be given")
    if required and a not in raw and b not in raw:
        raise _bad(where, a, f"or {b} is required")


def _principal(value: Any, where: str, key: str) -> dict[str, tuple[str, ...]]:
    if value == "*":
        return {"*": ("*",)}
    if not isinstance(value, dict) or not value:
        raise _bad(where, key, 'must be "*" or an object such as {"AWS": ...}')
    out = {}
    for kind, ids in value.items():
        if kind not in ("AWS", "Service", "Federated", "CanonicalUser"):
            raise _bad(where, key, f"has an unknown principal type {kind!r}")
        out[kind] = _strings(ids, where, f"{key}.{kind}")
    return out


def _conditions(value: Any, where: str) -> tuple:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise _bad(where, "Condition", "must be an object of operators")
    out = []
    for operator, block in value.items():
        _, base, _ = split_operator(operator)
        if base not in OPERATORS:
            raise _bad(where, "Condition", f"operator {operator!r} is not a condition operator")
        if not isinstance(block, dict) or not block:
            raise _bad(where, "Condition", f"{operator} must map condition keys to values")
        for key, values in block.items():
            items = values if isinstance(values, list) else [values]
            if not all(isinstance(v, (str, int, float, bool)) for v in items):
                raise _bad(where, "Condition", f"{operator} {key} values must be strings")
            texts = tuple(_text(v) for v in items)
            out.append((operator, key, texts))
    return tuple(out)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
