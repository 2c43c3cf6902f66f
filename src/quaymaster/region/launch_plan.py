"""How a RunTask or service launch is carried: a launch type, or a capacity provider strategy
split by base and weight (docs/semantics.md, "Launch types and capacity provider strategies").

RunTask, CreateService and UpdateService share these checks, in ECS's order and words: a
launch type and a strategy together are refused; with neither, the cluster's default strategy
is used (and with no default strategy the launch type is EC2); every provider of a strategy
must be associated with the cluster (FARGATE and FARGATE_SPOT too, through
PutClusterCapacityProviders); at most one item has a base and at least one a weight.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from quaymaster.region.errors import invalid
from quaymaster.scaling.fargate import FARGATE_PROVIDERS, check_no_placement
from quaymaster.scaling.strategy import StrategyItem, parse_strategy, split_tasks

LAUNCH_TYPES = ("EC2", "FARGATE", "EXTERNAL")
BOTH_GIVEN = ("Specifying both a launch type and capacity provider strategy is not supported. Remove one "
              "and try again.")
NOT_ASSOCIATED = ("capacityProviderStrategy: the capacity provider {name} is not associated with the cluster "
                  "{cluster}. Associate the capacity provider with the cluster or specify a valid capacity "
                  "provider and try again.")


@dataclass(frozen=True)
class Portion:
    """Part of a launch: ``count`` tasks of one launch type, through one provider (or none)."""
    launch_type: str          # EC2, EXTERNAL or FARGATE (FARGATE_SPOT tasks are FARGATE tasks)
    provider: str | None      # the capacity provider, None for a plain launch type
    count: int


def check_launch_type(value) -> str:
    if value not in LAUNCH_TYPES:
        raise invalid(f"launchType: {value!r} is not one of {', '.join(LAUNCH_TYPES)}.")
    return value


def resolve_strategy(record, request: dict) -> list:
    """The request's capacity provider strategy in its request shape, checked; [] when the
    tasks use a launch type (given, or EC2 when the cluster has no default strategy)."""
    strategy = request.get("capacityProviderStrategy")
    if strategy and request.get("launchType") is not None:
        raise invalid(BOTH_GIVEN)
    if request.get("launchType") is not None:
        check_launch_type(request["launchType"])
        return []
    if not strategy:
        strategy = record.default_strategy
    if not strategy:
        return []
    for item in parse_strategy(strategy):
        if item.capacity_provider not in record.capacity_providers:
            raise invalid(NOT_ASSOCIATED.format(name=item.capacity_provider, cluster=record.name))
    return [dict(item) for item in strategy]


def uses_fargate(launch_type: str, strategy: list) -> bool:
    """Whether any task of the launch may run on Fargate."""
    if strategy:
        return any(item["capacityProvider"] in FARGATE_PROVIDERS and item.get("weight", 0) + item.get("base", 0)
                   for item in strategy)
    return launch_type == "FARGATE"


def portions(launch_type: str, strategy: list, count: int, held: dict | None = None) -> list[Portion]:
    """Split ``count`` new tasks: all of the launch type, or by the strategy given what each
    provider already ``held``; portions of zero tasks are left out, strategy order kept."""
    if not strategy:
        return [Portion(launch_type, None, count)] if count else []
    items: tuple[StrategyItem, ...] = parse_strategy(strategy)
    split = split_tasks(count, items, held)
    return [Portion("FARGATE" if item.capacity_provider in FARGATE_PROVIDERS else "EC2",
                    item.capacity_provider, split[item.capacity_provider])
            for item in items if split[item.capacity_provider]]


def held_by_provider(tasks) -> dict:
    """Live tasks per capacity provider (what the split counts as already placed)."""
    held: dict = {}
    for task in tasks:
        if task.live and task.capacity_provider is not None:
            held[task.capacity_provider] = held.get(task.capacity_provider, 0) + 1
    return held


def check_no_placement_for_fargate(request: dict) -> None:
    """ECS refuses placement strategies and constraints for Fargate tasks (the message names which)."""
    check_no_placement(request.get("placementStrategy"), request.get("placementConstraints"))


EXTERNAL_ATTRIBUTE = "ecs.capability.external"


def placement_target(definition, launch_type: str, provider: str | None) -> dict:
    """The placement arguments of a launch: EXTERNAL tasks also require the instance attribute
    ``ecs.capability.external`` (ECS Anywhere instances) and EC2 tasks skip such instances;
    a provider's tasks go only to its instances."""
    target = definition
    if launch_type == "EXTERNAL":
        needs = definition.requirements()
        if (EXTERNAL_ATTRIBUTE, None) not in needs.required_attributes:
            target = dataclasses.replace(needs, required_attributes=(*needs.required_attributes,
                                                                     (EXTERNAL_ATTRIBUTE, None)))
    return {"task_definition": target, "launch_type": launch_type, "capacity_provider": provider,
            "excluded_attribute": EXTERNAL_ATTRIBUTE if launch_type == "EC2" else None}
