"""An API call as an IAM request: its action, resource ARNs and context keys,
from the catalogue (``quaymaster.iam.catalogue``), then the decision.

Resource ARNs are filled from the request: each placeholder of the resource
type's ARN format (``${ClusterName}``, ``${ServiceName}``, ...) is read from the
request member that carries it (a name, or an ARN whose last segment is the
name); a list member gives one ARN per item; a placeholder the request does
not carry is ``*``, which only a ``*`` resource pattern matches. Resource tags
(``aws:ResourceTag/k``) and ECR repository policies are read from the region
only when a policy asks for them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any, Callable

from quaymaster.errors import ServiceError
from quaymaster.iam import Request, evaluate, parse_policy
from quaymaster.iam.catalogue import Action, action as catalogue_action, build_arn

from .principals import Principal

# ARN placeholder -> request members that carry it (first present wins).
_SOURCES = {
    "ClusterName": ("cluster", "clusterName"),
    "ServiceName": ("service", "serviceName", "services"),
    "ContainerInstanceId": ("containerInstance", "containerInstances"),
    "TaskId": ("task", "tasks"),
    "TaskSetId": ("taskSet", "taskSets"),
    "CapacityProviderName": ("capacityProvider", "capacityProviders", "name"),
    "RepositoryName": ("repositoryName", "repositoryNames"),
    "ResourceId": ("ResourceId",),
    "GroupFriendlyName": ("AutoScalingGroupName", "AutoScalingGroupNames"),
}
_ARN_MEMBERS = ("resourceArn", "ResourceARN", "resourceARN")


def _last(value: str) -> str:
    return value.rsplit("/", 1)[-1] if value.startswith("arn:") else value


def _member_values(params: Mapping, members: tuple[str, ...]) -> list[str]:
    for member in members:
        value = params.get(member)
        if isinstance(value, str) and value:
            return [value]
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return list(value)
    return []


def _task_definition(params: Mapping) -> dict[str, str]:
    value = params.get("taskDefinition") or params.get("family")
    if not isinstance(value, str):
        return {}
    family, _, revision = _last(value).partition(":")
    return {"TaskDefinitionFamilyName": family, "TaskDefinitionRevisionNumber": revision}


def _ecs_cluster_name(params: Mapping) -> str:
    """The cluster an ECS call is about: ``cluster``, ``clusterName``, else ECS's ``default``."""
    value = params.get("cluster") or params.get("clusterName") or "default"
    return _last(value) if isinstance(value, str) else "*"


def resource_arns(act: Action, service: str, params: Mapping, region: str, account: str) -> list[str]:
    given = next((params[m] for m in _ARN_MEMBERS if isinstance(params.get(m), str)), None)
    if given:
        return [given]
    arns: list[str] = []
    for resource in act.resource_types:
        fixed = _task_definition(params)
        if service == "ecs" and "ClusterName" in resource.placeholders:
            fixed["ClusterName"] = _ecs_cluster_name(params)
        listed = [(p, _member_values(params, _SOURCES.get(p, ()))) for p in resource.placeholders
                  if p not in fixed]
        known = [p for p in resource.placeholders if p in fixed] + [p for p, v in listed if v]
        if not resource.required and not [p for p, v in listed if v]:
            continue
        variants = [dict(fixed)]
        for placeholder, values in listed:
            if values:
                variants = [dict(v, **{placeholder: _last(x)}) for v in variants for x in values]
        if known or resource.required:
            arns.extend(build_arn(resource, v, region, account) for v in variants)
    return list(dict.fromkeys(arns)) or ["*"]


class _Context(Mapping):
    """Context keys, lower-case; ``aws:resourcetag/*`` looked up in the region on first use."""

    def __init__(self, base: dict[str, Any], resource_tags: Callable[[], dict[str, str]]):
        self._base = base
        self._resource_tags = resource_tags
        self._tags: dict[str, str] | None = None

    def _lookup(self, key: str) -> Any:
        if key in self._base:
            return self._base[key]
        for prefix in ("aws:resourcetag/", "ecs:resourcetag/", "ecr:resourcetag/"):
            if key.startswith(prefix):
                if self._tags is None:
                    self._tags = {k.lower(): v for k, v in self._resource_tags().items()}
                return self._tags.get(key[len(prefix):])
        return None

    def __getitem__(self, key: str) -> Any:
        value = self._lookup(key.lower())
        if value is None:
            raise KeyError(key)
        return value

    def get(self, key, default=None):
        value = self._lookup(key.lower())
        return default if value is None else value

    def __iter__(self):
        return iter(self._base)

    def __len__(self):
        return len(self._base)


def request_tags(params: Mapping) -> dict[str, str]:
    """Tags in any of the four services' shapes: [{key,value}], [{Key,Value}], {k: v}."""
    raw = params.get("tags", params.get("Tags"))
    if isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items()}
    tags = {}
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict):
            key = item.get("key", item.get("Key"))
            if isinstance(key, str):
                tags[key] = str(item.get("value", item.get("Value", "")))
    return tags


def base_context(principal: Principal, service: str, params: Mapping, region: str,
                 now: dt.datetime, source_ip: str | None) -> dict[str, Any]:
    context: dict[str, Any] = {
        "aws:principalarn": principal.arn, "aws:principalaccount": principal.account,
        "aws:principaltype": "User" if principal.username else "Account",
        "aws:currenttime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:epochtime": str(int(now.timestamp())), "aws:securetransport": "false",
        "aws:requestedregion": region,
    }
    if principal.username:
        context["aws:username"] = principal.username
    if source_ip:
        context["aws:sourceip"] = source_ip
    for key, value in principal.tags.items():
        context[f"aws:principaltag/{key.lower()}"] = value
    tags = request_tags(params)
    for key, value in tags.items():
        context[f"aws:requesttag/{key.lower()}"] = value
    if tags:
        context["aws:tagkeys"] = list(tags)
    if service == "ecs":
        _ecs_keys(context, params, region, principal.account)
    return context


def _ecs_keys(context: dict, params: Mapping, region: str, account: str) -> None:
    prefix = f"arn:aws:ecs:{region}:{account}"
    cluster = params.get("cluster")
    name = _ecs_cluster_name(params)
    context["ecs:cluster"] = cluster if isinstance(cluster, str) and cluster.startswith("arn:") \
        else f"{prefix}:cluster/{name}"
    definition = _task_definition(params)
    if definition:
        family, revision = definition["TaskDefinitionFamilyName"], definition["TaskDefinitionRevisionNumber"]
        context["ecs:task-definition"] = f"{prefix}:task-definition/{family}" + (f":{revision}" if revision else "")
    service = params.get("service") or params.get("serviceName")
    if isinstance(service, str):
        context["ecs:service"] = service if service.startswith("arn:") else f"{prefix}:service/{name}/{service}"
    instances = _member_values(params, ("containerInstance", "containerInstances"))
    if instances:
        context["ecs:container-instances"] = [
            i if i.startswith("arn:") else f"{prefix}:container-instance/{name}/{i}" for i in instances]
    strategy = params.get("capacityProviderStrategy")
    if isinstance(strategy, list):
        providers = [s.get("capacityProvider") for s in strategy if isinstance(s, dict)]
        context["ecs:capacity-provider"] = [
            p if p.startswith("arn:") else f"{prefix}:capacity-provider/{p}" for p in providers if isinstance(p, str)]


class Authorizer:
    """Decides calls for principals other than the root; raises AccessDeniedException."""

    def __init__(self, region_lookup: Callable[[str, str, str, dict], dict]):
        # region_lookup(region, service, operation, params) -> response; raises ServiceError
        self._lookup = region_lookup

    def check(self, principal: Principal, service: str, operation: str, params: Mapping,
              region: str, now: dt.datetime, source_ip: str | None = None) -> None:
        if principal.arn.endswith(":root"):
            return
        act = catalogue_action(service, operation)
        arns = resource_arns(act, service, params, region, principal.account)
        context = _Context(base_context(principal, service, params, region, now, source_ip),
                           lambda: self._resource_tags(region, service, arns))
        resource_policies = self._resource_policies(region, service, params, arns)
        decision = evaluate(Request(principal.arn, act.name, arns, context),
                            list(principal.policies), resource_policies)
        if decision.allowed:
            return
        why = (f"with an explicit deny in an {decision.denied_by}" if decision.effect == "ExplicitDeny"
               else f"because no identity-based policy allows the {act.name} action")
        raise ServiceError("AccessDeniedException",
                           f"User: {principal.arn} is not authorized to perform: {act.name} "
                           f"on resource: {decision.resource} {why}")

    def allows_registry(self, principal: Principal, action: str, repository_arn: str,
                        repository_policy: dict | None, region: str, now: dt.datetime) -> bool:
        """A /v2/ request (``action`` such as ``ecr:PutImage``) on one repository: the
        principal's identity policies, and the repository policy as its resource policy."""
        if principal.arn.endswith(":root"):
            return True
        context = _Context(base_context(principal, "ecr", {}, region, now, None), dict)
        resource = None
        if repository_policy:
            try:
                resource = {repository_arn: parse_policy(repository_policy, resource_policy=True)}
            except (ValueError, TypeError):
                resource = None  # SetRepositoryPolicy refuses bad documents; never trust one
        decision = evaluate(Request(principal.arn, action, [repository_arn], context),
                            list(principal.policies), resource)
        return decision.allowed

    def _resource_tags(self, region: str, service: str, arns: list[str]) -> dict[str, str]:
        arn = arns[0] if arns and arns[0] != "*" else None
        if arn is None or service not in ("ecs", "ecr"):
            return {}
        member = "resourceArn"
        try:
            answer = self._lookup(region, service, "ListTagsForResource", {member: arn})
        except ServiceError:
            return {}
        return request_tags(answer)

    def _resource_policies(self, region: str, service: str, params: Mapping, arns: list[str]):
        name = params.get("repositoryName")
        if service != "ecr" or not isinstance(name, str) or len(arns) != 1:
            return None
        try:
            answer = self._lookup(region, "ecr", "GetRepositoryPolicy", {"repositoryName": name})
        except ServiceError:
            return None
        text = answer.get("policyText")
        try:
            return {arns[0]: parse_policy(json.loads(text), resource_policy=True)} if text else None
        except (ValueError, TypeError):
            return None
