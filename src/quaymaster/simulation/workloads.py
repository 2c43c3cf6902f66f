"""A service's demand per minute (constant, diurnal, steps), with seeded noise."""

from __future__ import annotations

import math

from quaymaster.streams import uniform


def _normal(seed: int, *key) -> float:
    u1 = max(uniform(seed, *key, "u1"), 1e-300)
    u2 = uniform(seed, *key, "u2")
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2 * math.pi * u2)


def demand(workload: dict, minute: int, seed: int) -> float:
    """CPU units of work at minute ``minute`` of the day-count since the start (UTC minutes)."""
    model = workload["model"]
    if model == "constant":
        value = float(workload["cpu"])
    elif model == "diurnal":
        hours, _, minutes = str(workload["peak"]).partition(":")
        peak = int(hours) * 60 + int(minutes or 0)
        low, high = float(workload["low"]), float(workload["high"])
        value = low + (high - low) * (1 + math.cos(2 * math.pi * ((minute % 1440) - peak) / 1440)) / 2
    else:
        value = 0.0
        for step in workload["steps"]:
            if step["at_ms"] // 60_000 <= minute:
                value = float(step["cpu"])
    noise = workload.get("noise")
    if noise:
        value *= max(0.0, 1 + noise * _normal(seed, "workload", workload["service"], minute))
    return value
