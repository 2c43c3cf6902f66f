"""The records Application Auto Scaling keeps, and the changes its per-minute runs hand back."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

from quaymaster.keys import splitmix64
from quaymaster.scaling.decide import TargetState
from quaymaster.scaling.policies import StepScalingPolicy, TargetTrackingPolicy, invalid
from quaymaster.scaling.schedule import Schedule

NAMESPACE = "ecs"
DIMENSION = "ecs:service:DesiredCount"
_RESOURCE_ID = re.compile(r"service/([A-Za-z0-9_-]{1,255})/([A-Za-z0-9_-]{1,255})")


def parse_resource_id(resource_id: str) -> tuple[str, str]:
    """``service/<cluster>/<service>`` -> (cluster, service)."""
    match = _RESOURCE_ID.fullmatch(resource_id)
    if match is None:
        raise invalid("ResourceId", resource_id, "must be service/<cluster-name>/<service-name>")
    return match.group(1), match.group(2)


def check_target_key(request: dict) -> str | None:
    """The namespace and dimension quaymaster scales (ECS services); returns the resource id
    (None when the request gives none, as Describe calls may)."""
    if request["ServiceNamespace"] != NAMESPACE:
        raise invalid("ServiceNamespace", request["ServiceNamespace"],
                      f"only the {NAMESPACE!r} namespace is supported")
    dimension = request.get("ScalableDimension", DIMENSION)
    if dimension != DIMENSION:
        raise invalid("ScalableDimension", dimension, f"must be {DIMENSION!r} for the ecs namespace")
    resource_id = request.get("ResourceId")
    if resource_id is not None:
        parse_resource_id(resource_id)
    return resource_id


def required_target_key(request: dict) -> str:
    """As :func:`check_target_key`, for operations whose model requires ``ResourceId``."""
    resource_id = check_target_key(request)
    if resource_id is None:
        raise invalid("ResourceId", None, "is required")
    return resource_id


def uuid_for(seed: int, counter: int) -> str:
    """A deterministic UUID-shaped identifier (ARNs carry one)."""
    high, low = splitmix64(seed + 2 * counter), splitmix64(seed + 2 * counter + 1)
    text = f"{high:016x}{low:016x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


@dataclass
class TargetRecord:
    resource_id: str
    min_capacity: int
    max_capacity: int
    role_arn: str
    arn: str
    created_ms: int
    suspended: dict = field(default_factory=dict)
    state: TargetState = field(default_factory=TargetState)


@dataclass
class PolicyRecord:
    resource_id: str
    name: str
    policy_type: str
    arn: str
    created_ms: int
    config: dict               # the request's configuration member, as given
    parsed: TargetTrackingPolicy | StepScalingPolicy
    alarms: list = field(default_factory=list)   # [{AlarmName, AlarmARN}]


@dataclass
class ScheduledRecord:
    resource_id: str
    name: str
    arn: str
    created_ms: int
    expression: str
    timezone: str | None
    schedule: Schedule
    start_ms: int | None
    end_ms: int | None
    new_min: int | None
    new_max: int | None
    next_ms: int | None        # the next run, None when it will not run again


@dataclass(frozen=True)
class ScalingChange:
    """A desired count the region must set: what Application Auto Scaling decided this minute."""

    time_ms: int
    resource_id: str
    cluster: str
    service: str
    from_count: int
    to_count: int
    cause: str


class ServiceView(NamedTuple):
    """What the per-minute policy run reads of one service (a NamedTuple, not a frozen
    dataclass: one is built per target per minute, and a frozen dataclass's ``__init__``
    sets each field through ``object.__setattr__``, several times slower)."""

    running: int
    desired: int
    metrics: dict              # metric name -> per-minute series (numpy array, NaN = no data)
    deployment_in_progress: bool = False
