"""Timing helpers: a clock, order statistics, a progress bar and the growth fit."""

from __future__ import annotations

import math
import time

import numpy as np
from tqdm import tqdm

clock = time.perf_counter


def summarize(seconds) -> dict:
    """median, best, mean, p90 and p99 of a list of durations (seconds)."""
    values = np.asarray(seconds, dtype=np.float64)
    if values.size == 0:
        return {"n": 0}
    return {"n": int(values.size), "median": float(np.median(values)), "best": float(values.min()),
            "mean": float(values.mean()), "p90": float(np.percentile(values, 90)),
            "p99": float(np.percentile(values, 99))}


def progress(iterable, *, desc: str, total: int | None = None, enabled: bool | None = None):
    """A tqdm bar on stderr; ``enabled=None`` shows it only on a terminal."""
    return tqdm(iterable, desc=desc, total=total, leave=False, disable=None if enabled is None
                else not enabled, unit="", dynamic_ncols=True)


def growth_model(instances: int, tasks: int) -> float:
    """(instances + tasks) * log2(instances): the cost a fleet-scale placement should not exceed."""
    return (instances + tasks) * math.log2(max(instances, 2))


def growth_slope(cells: list[tuple[int, int, float]], min_seconds: float = 0.005) -> float | None:
    """Least-squares slope of log(time) against log(growth_model) over the cells that took
    at least ``min_seconds`` (shorter ones measure fixed overhead, not growth).
    1 means cost grows like the model; today's O(instances * tasks) scan gives more."""
    points = [(math.log(growth_model(n, t)), math.log(s)) for n, t, s in cells if s >= min_seconds]
    if len({x for x, _ in points}) < 2:
        return None
    xs, ys = np.array([p[0] for p in points]), np.array([p[1] for p in points])
    return float(np.polyfit(xs, ys, 1)[0])


def format_seconds(seconds: float | None) -> str:
    """A duration with a unit that keeps three significant digits."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def format_rate(per_second: float | None) -> str:
    if per_second is None or not math.isfinite(per_second):
        return "-"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if per_second >= scale:
            return f"{per_second / scale:.3g}{unit}/s"
    return f"{per_second:.3g}/s"
