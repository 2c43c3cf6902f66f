"""Fargate launches: the task size check, the Availability Zone of each new task, and
FARGATE_SPOT interruption draws.

The size table lives with the task definitions (``quaymaster.taskdef.fargate``);
this module raises the API's error with ECS's text and spreads tasks evenly
over the zones of the task's subnets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from quaymaster import portable_math
from quaymaster.errors import ServiceError
from quaymaster.keys import splitmix64, splitmix64_array
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


def spot_interruptions(seed: int, task_sequences, minute: int, rate_per_hour: float):
    """Which FARGATE_SPOT tasks get their 2-minute interruption warning at ``minute``.

    Each task (by its sequence number in the region) draws once a minute from
    its own stream; the chance per minute is ``1 - exp(-rate_per_hour / 60)``,
    so interruptions arrive at ``rate_per_hour`` per task-hour on average.
    """
    if not (rate_per_hour >= 0):
        raise ServiceError("InvalidParameterException",
                           f"spot interruption rate must be >= 0 per hour (got {rate_per_hour!r})")
    sequences = np.asarray(task_sequences, dtype=np.uint64)
    # e^-700 already rounds 1 - e^-x to 1.0; portable_math's exp is the same bits on any CPU.
    chance = 1.0 - float(portable_math.exp(max(-rate_per_hour / 60.0, -700.0)))
    with np.errstate(over="ignore"):
        streams = splitmix64_array(np.uint64(splitmix64(seed ^ 0x5107)) ^ sequences)
        bits = splitmix64_array(streams + np.uint64(minute))
    return (bits >> np.uint64(11)).astype(np.float64) / 9007199254740992.0 < chance


# Platform versions (docs/semantics.md, "Outputs, cost and launch-type gaps"): LATEST resolves
# to 1.4.0 on Linux and 1.0.0 on Windows, as ECS documents today; the older Linux versions are
# accepted by name. platformFamily is "Linux" or the Windows operatingSystemFamily.
LATEST = "LATEST"
PLATFORM_VERSIONS = {"Linux": ("1.4.0", "1.3.0"), "Windows": ("1.0.0",)}


def platform_family(definition) -> str:
    """``Linux``, or the task definition's Windows ``runtimePlatform.operatingSystemFamily``."""
    document = getattr(definition, "_document", None) or {}
    family = (document.get("runtimePlatform") or {}).get("operatingSystemFamily") or "LINUX"
    return "Linux" if family == "LINUX" else family


def resolve_platform_version(requested: str | None, definition) -> str:
    """The platform version a Fargate task runs on: ``requested`` (None: LATEST) resolved; an
    InvalidParameterException naming platformVersion if the platform has no such version."""
    family = platform_family(definition)
    versions = PLATFORM_VERSIONS["Linux" if family == "Linux" else "Windows"]
    if requested is None or requested == LATEST:
        return versions[0]
    if requested not in versions:
        raise ServiceError("InvalidParameterException",
                           f"platformVersion {requested!r} is not a Fargate platform version for {family} "
                           f"(one of {LATEST}, {', '.join(versions)}).")
    return requested


def check_platform_version(requested, launch_type: str, on_fargate: bool) -> None:
    """A platform version is for Fargate only; with Fargate it must name one."""
    if requested is None:
        return
    if not on_fargate:
        raise ServiceError("InvalidParameterException",
                           f"The platform version must be null when specifying an {launch_type} launch type.")
    if not isinstance(requested, str):
        raise ServiceError("InvalidParameterException", f"platformVersion must be a string (got {requested!r}).")
