"""The numbers of a rolling deployment: ECS's rounding, the circuit breaker, throttling."""

from __future__ import annotations

import math

THROTTLE_FIRST_S = 10
THROTTLE_CAP_S = 1620          # "incrementally up to 27 minutes"
LAUNCHES_PER_MINUTE = 250      # the service scheduler's launch rate on EC2/External


def maximum_live(desired: int, maximum_percent: int) -> int:
    """At most floor(desired * max / 100) tasks PENDING or RUNNING (or earlier)."""
    return desired * maximum_percent // 100


def minimum_healthy(desired: int, minimum_healthy_percent: int) -> int:
    """At least ceil(desired * min / 100) healthy tasks."""
    return -(-desired * minimum_healthy_percent // 100)


def circuit_breaker_threshold(desired: int) -> int:
    """clamp(ceil(0.5 * desired), 3, 200)."""
    return min(200, max(3, math.ceil(desired / 2)))


def throttle_delay_s(consecutive_failures: int) -> int:
    """10, 20, 40 ... seconds after the 1st, 2nd, 3rd ... failure to start, capped at 1,620 s."""
    if consecutive_failures <= 0:
        return 0
    return min(THROTTLE_CAP_S, THROTTLE_FIRST_S << min(consecutive_failures - 1, 20))
