"""A validated placement request (docs/semantics.md (placement, ECS contract section 3)).

Everything a request can get wrong is checked here, before any state is
touched: a refused request changes nothing.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from quaymaster.errors import InvalidParameterError
from quaymaster.placement.constraints import Constraints, parse_constraints
from quaymaster.placement.strategy import DEFAULT_RUN_TASK, Strategy, parse_strategies

UINT64_MAX = (1 << 64) - 1
MAX_COUNT = (1 << 31) - 1  # RunTask's count is an Integer (int32) in ECS's API
MAX_GROUP_LENGTH = 255
LAUNCH_TYPES = ("EC2", "EXTERNAL", "FARGATE")
MAX_PORTS_PER_PROTOCOL = 65535


@dataclass(frozen=True)
class PlacementRequest:
    requirements: object          # quaymaster.taskdef.TaskRequirements (duck-typed)
    count: int
    group: str
    constraints: Constraints
    strategies: tuple[Strategy, ...]
    seed: int
    launch_type: str
    task_definition: object = None  # the TaskDefinition, when the request named one
    capacity_provider: str | None = None  # only this provider's instances are candidates
    excluded_attribute: str | None = None  # instances with this attribute are not candidates

    @property
    def ports_per_task(self) -> int:
        r = self.requirements
        return len(r.static_tcp) + len(r.static_udp) + r.dynamic_tcp + r.dynamic_udp


def _is_integer(value) -> bool:
    """Python and numpy integers; not bools (True is not a count)."""
    if type(value) is int:  # the common case, without the ABC check
        return True
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _check_count(count) -> int:
    if not _is_integer(count) or not 1 <= count <= MAX_COUNT:
        raise InvalidParameterError(f"count must be an integer from 1 to {MAX_COUNT}, found {count!r}",
                                    field="count", value=count)
    return int(count)


def _check_seed(seed) -> int:
    if not _is_integer(seed) or not 0 <= seed <= UINT64_MAX:
        raise InvalidParameterError(f"seed must be an unsigned 64-bit integer, found {seed!r}",
                                    field="seed", value=seed)
    return int(seed)


def _check_group(group) -> str:
    if not isinstance(group, str) or not group or len(group) > MAX_GROUP_LENGTH:
        raise InvalidParameterError(f"group must be a string of 1..{MAX_GROUP_LENGTH} characters, "
                                    f"found {group!r}", field="group", value=group)
    return group


def _check_ports(requirements) -> None:
    """No task can hold more host ports of one protocol than a host has (65,535); the core
    sizes its buffers by the ports per task, so such requirements are refused up front."""
    for protocol in ("tcp", "udp"):
        dynamic = getattr(requirements, f"dynamic_{protocol}")
        if len(getattr(requirements, f"static_{protocol}")) + dynamic > MAX_PORTS_PER_PROTOCOL:
            raise InvalidParameterError(f"dynamic_{protocol}: {dynamic} dynamic ports beside the static ones "
                                        f"exceed the {MAX_PORTS_PER_PROTOCOL} ports of a host",
                                        field=f"dynamic_{protocol}", value=dynamic)


def build_request(requirements, *, count=1, group=None, placement_constraints=None,
                  placement_strategy=None, seed=0, launch_type="EC2", family=None,
                  task_definition=None, default_strategy=DEFAULT_RUN_TASK,
                  capacity_provider=None, excluded_attribute=None) -> PlacementRequest:
    """Validate every part of a request; raise InvalidParameterError naming the bad field."""
    if launch_type not in LAUNCH_TYPES:
        raise InvalidParameterError(f"launchType: {launch_type!r} is not one of {', '.join(LAUNCH_TYPES)}",
                                    field="launchType", value=launch_type)
    if group is None:
        group = f"family:{family}" if family else "family:default"
    _check_ports(requirements)
    strategies = parse_strategies(placement_strategy, default=default_strategy)
    constraints = parse_constraints(placement_constraints, tuple(requirements.member_of))
    if launch_type == "FARGATE" and (placement_strategy or placement_constraints):
        raise InvalidParameterError("placement strategies and constraints are not supported with "
                                    "the FARGATE launch type", field="launchType", value=launch_type)
    return PlacementRequest(requirements=requirements, count=_check_count(count),
                            group=_check_group(group), constraints=constraints,
                            strategies=strategies, seed=_check_seed(seed),
                            launch_type=launch_type, task_definition=task_definition,
                            capacity_provider=capacity_provider, excluded_attribute=excluded_attribute)
