"""Per-task-definition lifecycle settings of a simulation (how long each step takes)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from quaymaster.clock import parse_duration
from quaymaster.errors import InvalidParameterError

_DURATION_KEYS = {"provisioning": "provisioning_ms", "pending": "pending_ms", "activating": "activating_ms",
                  "deactivating": "deactivating_ms", "stopping": "stopping_ms",
                  "deprovisioning": "deprovisioning_ms", "healthyAfter": "healthy_after_ms",
                  "runFor": "run_for_ms"}
_OTHER_KEYS = {"startFailureProbability": "start_failure_probability", "unhealthy": "unhealthy"}


@dataclass(frozen=True)
class TaskTimings:
    """Defaults: 0 s provisioning (EC2), 10 s pending, 0 s activating, 30 s stopping;
    healthy 40 s after RUNNING; no start failures; tasks run until stopped."""

    provisioning_ms: int = 0
    pending_ms: int = 10_000
    activating_ms: int = 0
    deactivating_ms: int = 0
    stopping_ms: int = 30_000
    deprovisioning_ms: int = 0
    healthy_after_ms: int = 40_000
    run_for_ms: int | None = None          # a running task exits (EssentialContainerExited) after this
    start_failure_probability: float = 0.0
    unhealthy: bool = False                # tasks with a health check fail it (stage 2 of the breaker)

    @classmethod
    def from_json(cls, spec: dict, *, path: str = "timings") -> "TaskTimings":
        """``{"pending": "10s", "stopping": "30s", "startFailureProbability": 0.1, ...}``."""
        if not isinstance(spec, dict):
            raise InvalidParameterError(f"{path}: must be a mapping", field=path, value=spec)
        values = {}
        for key, value in spec.items():
            where = f"{path}.{key}"
            if key in _DURATION_KEYS:
                values[_DURATION_KEYS[key]] = None if value is None and key == "runFor" else \
                    parse_duration(value, field=where)
            elif key == "startFailureProbability":
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                    raise InvalidParameterError(f"{where}: a probability in [0, 1], found {value!r}",
                                                field=where, value=value)
                values["start_failure_probability"] = float(value)
            elif key == "unhealthy":
                if not isinstance(value, bool):
                    raise InvalidParameterError(f"{where}: must be true or false", field=where, value=value)
                values["unhealthy"] = value
            else:
                known = ", ".join(sorted([*_DURATION_KEYS, *_OTHER_KEYS]))
                raise InvalidParameterError(f"{where}: unknown key (known: {known})", field=where, value=key)
        return cls(**values)

    def with_changes(self, **changes) -> "TaskTimings":
        names = {f.name for f in fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise InvalidParameterError(f"unknown timing {sorted(unknown)[0]!r}", field="timings",
                                        value=sorted(unknown)[0])
        return replace(self, **changes)
