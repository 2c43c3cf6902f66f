"""Fargate launches: the task size check and the Availability Zone of each new task.

The size table lives with the task definitions (``quaymaster.taskdef.fargate``);
this module raises the API's error with ECS's text and spreads tasks evenly
over the zones of the task's subnets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from quaymaster.errors import ServiceError
from quaymaster.taskdef.fargate import INVALID_CPU_MESSAGE, is_fargate_size

FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")


def check_fargate_size(cpu, memory) -> None:
    """ClientException ``Invalid 'cpu' setting for task.`` unless (cpu, memory) is a Fargate size."""
    valid = (isinstance(cpu, int) and isinstance(memory, int) and not isinstance(cpu, bool)
             and not isinstance(memory, bool) and is_fargate_size(cpu, memory))
    if not valid:
        raise ServiceError("ClientException", f"{INVALID_CPU_MESSAGE} (cpu {cpu!r}, memory {memory!r})")


def check_no_placement(placement_strategy: Sequence | None, placement_constraints: Sequence | None) -> None:
    """Fargate tasks are not placed on instances: strategies and constraints are refused."""
    if placement_strategy:
        raise ServiceError("InvalidParameterException",
                           "placementStrategy: task placement strategies are not supported for Fargate")
    if placement_constraints:
        raise ServiceError("InvalidParameterException",
                           "placementConstraints: task placement constraints are not supported for "
                           "Fargate")


def spread_zones(count: int, zones: Sequence[str], running: Mapping[str, int] | None = None) -> list[str]:
    """The zone of each of ``count`` new tasks: each to the zone with the fewest, ties in list order."""
    if not zones:
        raise ServiceError("InvalidParameterException",
                           "networkConfiguration.awsvpcConfiguration.subnets: give at least one subnet")
    held = {zone: int((running or {}).get(zone, 0)) for zone in dict.fromkeys(zones)}
    order = list(held)
    placed = []
    for _ in range(count):
        zone = min(order, key=lambda z: held[z])
        held[zone] += 1
        placed.append(zone)
    return placed
