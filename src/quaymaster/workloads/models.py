"""Workload models: a service's demand each minute (CPU units of work, requests, memory MiB).

| model | parameters | CPU demand at minute m |
|---|---|---|
| constant | cpu | cpu |
| diurnal | low, high, peak ("HH:MM" UTC, default 14:00) | low + (high-low)(1 + cos(2pi(m - peak)/1440))/2 |
| steps | steps: [{at, cpu}] | the last step at or before m (0 before the first) |
| series | path (Parquet or CSV with time, cpu, optional requests, memory) | the last sample at or before m |

Every model also takes ``noise`` (relative standard deviation, default 0).
All but ``series`` take ``requests_per_cpu`` (requests a minute per CPU unit
of demand, default 0) and ``memory`` (a constant memory demand in MiB,
default 0). ``m`` in the diurnal formula is the minute of the UTC day.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from quaymaster import portable_math
from quaymaster.errors import InvalidInputError
from quaymaster.workloads.noise import noise_factors

MINUTE_MS = 60_000
DAY_MINUTES = 1440
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_MS = {"ms": 1, "s": 1000, "m": MINUTE_MS, "h": 3_600_000, "d": 86_400_000}
_COMMON = {"service", "model", "noise"}
_PARAMETERS = {"constant": {"cpu", "requests_per_cpu", "memory"},
               "diurnal": {"low", "high", "peak", "requests_per_cpu", "memory"},
               "steps": {"steps", "requests_per_cpu", "memory"},
               "series": {"path"}}


def _fail(path: str, value, why: str) -> InvalidInputError:
    return InvalidInputError(f"{path}: {why} (got {value!r})", field=path, value=value)


def _number(spec: Mapping, key: str, path: str, default=None) -> float:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < 0:
        raise _fail(f"{path}.{key}", value, "must be a non-negative number")
    return float(value)


def offset_ms(value, path: str, start_ms: int) -> int:
    """A duration from the start (``90s``, ``15m``, ``6h``, ``2d``) or an ISO timestamp, in ms."""
    if isinstance(value, str):
        match = _DURATION.fullmatch(value.strip())
        if match:
            return round(float(match.group(1)) * _UNIT_MS[match.group(2)])
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.timezone.utc)
            return round(moment.timestamp() * 1000) - start_ms
    raise _fail(path, value, "must be a duration such as 90s, 15m, 6h, 2d, or an ISO timestamp")


def _peak_minute(value, path: str) -> float:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value) if isinstance(value, str) else None
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise _fail(path, value, "must be a time of day HH:MM")
    return int(match.group(1)) * 60 + int(match.group(2))


@dataclass(frozen=True)
class Demand:
    cpu: np.ndarray            # CPU units of work per minute
    requests: np.ndarray       # requests per minute
    memory: np.ndarray         # MiB


@dataclass(frozen=True)
class Workload:
    service: str
    model: str
    noise: float
    params: Mapping            # the checked parameters of the model
    series: tuple | None = None   # series: (sample minutes since epoch, cpu, requests, memory)

    def demand(self, times_ms: np.ndarray, *, start_ms: int, seed: int) -> Demand:
        """The demand of the minutes starting at ``times_ms`` (epoch ms, whole minutes)."""
        times_ms = np.asarray(times_ms, dtype=np.int64)
        cpu, requests, memory = self._base(times_ms, start_ms)
        if self.noise:
            factors = noise_factors(self.noise, seed, self.service, (times_ms - start_ms) // MINUTE_MS)
            cpu, requests, memory = cpu * factors, requests * factors, memory * factors
        return Demand(cpu, requests, memory)

    def _base(self, times_ms: np.ndarray, start_ms: int):
        p = self.params
        if self.series is not None:
            at, cpu, requests, memory = self.series
            index = np.searchsorted(at, times_ms, side="right") - 1
            valid = index >= 0
            pick = lambda values: np.where(valid, values[np.maximum(index, 0)], 0.0)  # noqa: E731
            return pick(cpu), pick(requests), pick(memory)
        if self.model == "constant":
            cpu = np.full(times_ms.shape, p["cpu"])
        elif self.model == "diurnal":
            minute_of_day = (times_ms // MINUTE_MS) % DAY_MINUTES
            cpu = p["low"] + (p["high"] - p["low"]) * (
                1 + portable_math.cos_turns((minute_of_day - p["peak"]) / DAY_MINUTES)) / 2
        else:
            at = np.array([start_ms + offset for offset, _ in p["steps"]], dtype=np.int64)
            level = np.array([value for _, value in p["steps"]], dtype=np.float64)
            index = np.searchsorted(at, times_ms, side="right") - 1
            cpu = np.where(index >= 0, level[np.maximum(index, 0)], 0.0)
        cpu = np.asarray(cpu, dtype=np.float64)
        return cpu, cpu * p["requests_per_cpu"], np.full(times_ms.shape, p["memory"])


def _steps(value, path: str, start_ms: int) -> tuple:
    if not isinstance(value, list) or not value:
        raise _fail(f"{path}.steps", value, "must be a non-empty list of {at, cpu}")
    steps = []
    for index, step in enumerate(value):
        where = f"{path}.steps[{index}]"
        if not isinstance(step, Mapping) or set(step) != {"at", "cpu"}:
            raise _fail(where, step, "must be an object with exactly at and cpu")
        steps.append((offset_ms(step["at"], f"{where}.at", start_ms), _number(step, "cpu", where)))
    if any(b[0] <= a[0] for a, b in zip(steps, steps[1:])):
        raise _fail(f"{path}.steps", value, "the steps' at times must increase")
    return tuple(steps)


def parse_workload(spec: Mapping, path: str = "workload", *, start_ms: int = 0) -> Workload:
    """Check a workload object of a scenario; errors name the JSON path of the bad field."""
    if not isinstance(spec, Mapping):
        raise _fail(path, spec, "must be an object")
    model = spec.get("model")
    if model not in _PARAMETERS:
        raise _fail(f"{path}.model", model, f"must be one of {sorted(_PARAMETERS)}")
    unknown = set(spec) - _COMMON - _PARAMETERS[model]
    if unknown:
        raise _fail(f"{path}.{sorted(unknown)[0]}", spec[sorted(unknown)[0]],
                    f"is not a parameter of the {model} model")
    service = spec.get("service")
    if not isinstance(service, str) or not service:
        raise _fail(f"{path}.service", service, "must name the service (cluster/service)")
    noise = _number(spec, "noise", path, 0)
    params: dict = {}
    if model != "series":
        params["requests_per_cpu"] = _number(spec, "requests_per_cpu", path, 0)
        params["memory"] = _number(spec, "memory", path, 0)
    if model == "constant":
        params["cpu"] = _number(spec, "cpu", path)
    elif model == "diurnal":
        params["low"], params["high"] = _number(spec, "low", path), _number(spec, "high", path)
        params["peak"] = _peak_minute(spec.get("peak", "14:00"), f"{path}.peak")
    elif model == "steps":
        params["steps"] = _steps(spec.get("steps"), path, start_ms)
    else:
        from quaymaster.workloads.series import read_series  # pyarrow only when a series is used
        return Workload(service, model, noise, params, read_series(spec.get("path"), f"{path}.path"))
    return Workload(service, model, noise, params)
