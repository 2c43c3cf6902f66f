"""AWS's evaluation logic for one account: explicit deny wins, then any allow
(identity policy, or the resource's policy naming the principal), else the
implicit deny. An action on several resources is allowed only if each is."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .conditions import condition_matches
from .matching import match_action, match_resource
from .policy import Policy, Statement

ALLOW, EXPLICIT_DENY, IMPLICIT_DENY = "Allow", "ExplicitDeny", "ImplicitDeny"


@dataclass
class Request:
    principal: str                      # "arn:aws:iam::123456789012:user/alice"
    action: str                         # "ecs:RunTask"
    resources: list[str]                # ARNs, or ["*"]
    context: Mapping[str, Any] = field(default_factory=dict)  # lower-case keys


@dataclass(frozen=True)
class Decision:
    effect: str                  # ALLOW, EXPLICIT_DENY or IMPLICIT_DENY
    resource: str | None = None  # the first resource that was not allowed
    denied_by: str | None = None  # "identity-based policy" / "resource-based policy"

    @property
    def allowed(self) -> bool:
        return self.effect == ALLOW


def account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


def is_root(arn: str) -> bool:
    return arn.endswith(":root") and arn.startswith("arn:aws:iam::")


def evaluate(request: Request, identity: list[Policy],
             resource_policies: Mapping[str, Policy] | None = None) -> Decision:
    """Decide ``request``; ``resource_policies`` maps a resource ARN to its resource policy."""
    if is_root(request.principal):
        return Decision(ALLOW)
    resource_policies = resource_policies or {}
    first_implicit = None
    for resource in request.resources or ["*"]:
        decision = _one_resource(request, resource, identity, resource_policies.get(resource))
        if decision.effect == EXPLICIT_DENY:
            return decision
        if decision.effect == IMPLICIT_DENY and first_implicit is None:
            first_implicit = decision
    return first_implicit or Decision(ALLOW)


def _one_resource(request: Request, resource: str, identity: list[Policy],
                  resource_policy: Policy | None) -> Decision:
    identity_hits = [s.effect for p in identity for s in p.statements
                     if statement_applies(s, request, resource)]
    resource_hits = []
    if resource_policy is not None:
        resource_hits = [s.effect for s in resource_policy.statements
                         if principal_matches(s, request.principal)
                         and statement_applies(s, request, resource)]
    if "Deny" in identity_hits:
        return Decision(EXPLICIT_DENY, resource, "identity-based policy")
    if "Deny" in resource_hits:
        return Decision(EXPLICIT_DENY, resource, "resource-based policy")
    if "Allow" in identity_hits or "Allow" in resource_hits:
        return Decision(ALLOW)
    return Decision(IMPLICIT_DENY, resource, "identity-based policy")


def statement_applies(statement: Statement, request: Request, resource: str) -> bool:
    context = request.context
    if statement.actions is not None:
        if not any(match_action(p, request.action) for p in statement.actions):
            return False
    elif any(match_action(p, request.action) for p in statement.not_actions or ()):
        return False
    if statement.resources is not None:
        if not any(match_resource(p, resource, context) for p in statement.resources):
            return False
    elif statement.not_resources is not None:
        if any(match_resource(p, resource, context) for p in statement.not_resources):
            return False
    return all(condition_matches(op, key, values, context)
               for op, key, values in statement.conditions)


def principal_matches(statement: Statement, principal: str) -> bool:
    """Whether a resource-policy statement names ``principal`` (Principal / NotPrincipal)."""
    if statement.principals is not None:
        return _names(statement.principals, principal)
    if statement.not_principals is not None:
        return not _names(statement.not_principals, principal)
    return False


def _names(principals: dict[str, tuple[str, ...]], principal: str) -> bool:
    if "*" in principals:
        return True
    account = account_of(principal)
    for value in principals.get("AWS", ()):
        if value == "*" or value == principal:
            return True
        if value == account or value == f"arn:aws:iam::{account}:root":
            return True  # the account stands for every principal in it
    return False
