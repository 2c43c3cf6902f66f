"""Fargate task sizes and the fields Fargate refuses (docs/semantics.md: limits).

A definition whose ``requiresCompatibilities`` holds ``FARGATE`` must use the
``awsvpc`` network mode, give task-level ``cpu`` and ``memory``, and use one of
the pairs below; any other pair is refused with ECS's text
``Invalid 'cpu' setting for task.``
"""

from __future__ import annotations

INVALID_CPU_MESSAGE = "Invalid 'cpu' setting for task."
NETWORK_MODE_MESSAGE = "Fargate only supports network mode 'awsvpc'."


def _steps(low: int, high: int, step: int) -> tuple[int, ...]:
    return tuple(range(low, high + 1, step))


#: CPU units -> the memory sizes (MiB) Fargate offers with it.
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: _steps(1024, 4096, 1024),
    1024: _steps(2048, 8192, 1024),
    2048: _steps(4096, 16384, 1024),
    4096: _steps(8192, 30720, 1024),
    8192: _steps(16384, 61440, 4096),
    16384: _steps(32768, 122880, 8192),
}


def is_fargate_size(cpu: int, memory: int) -> bool:
    """True when (cpu units, memory MiB) is a Fargate task size."""
    return memory in FARGATE_SIZES.get(cpu, ())


# Task definition parameters that are not valid for Fargate tasks (ECS developer
# guide, "Amazon ECS task definition differences for Fargate"). Each entry is a
# path inside a container definition; the parameter counts as used when it is
# present and not false/empty.
UNSUPPORTED_CONTAINER_FIELDS = (
    ("links",), ("disableNetworking",), ("dnsSearchDomains",), ("dnsServers",),
    ("dockerSecurityOptions",), ("extraHosts",), ("privileged",),
    ("linuxParameters", "maxSwap"), ("linuxParameters", "swappiness"),
)
UNSUPPORTED_TASK_FIELDS = ("ipcMode", "placementConstraints")
