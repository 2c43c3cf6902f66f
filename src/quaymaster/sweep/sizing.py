"""Fleet sizing: the smallest integer (a fleet's size, any integer JSON path) meeting a constraint.

The search (``quaymaster.sweep.search``) assumes the constraint is monotone in
the size (more instances never serve less) and is exact under that assumption;
the answer is always verified at its boundary. Sizing a capacity provider's
fleet per instance type is ``quaymaster.sweep.fleet_sizing``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from quaymaster.sweep.engine import dask_client, read_document
from quaymaster.sweep.paths import SweepError, set_path
from quaymaster.sweep.search import Search, checked_builder, run_searches

_CONSTRAINT = re.compile(r"^\s*unserved\s*(<=|=)\s*([0-9.eE+-]+)\s*$")


@dataclass
class SizeResult:
    path: str
    size: int                                   # the smallest size meeting the constraint
    constraint: str
    unserved: dict = field(default_factory=dict)   # every simulated size -> its unserved demand total
    failing: dict | None = None                 # why size - 1 fails (None when size == low)

    def to_json(self) -> dict:
        return {"path": self.path, "size": self.size, "constraint": self.constraint,
                "unserved": {str(k): v for k, v in self.unserved.items()}, "failing": self.failing}

    def explain(self) -> str:
        lines = [f"smallest {self.path} meeting {self.constraint}: {self.size} "
                 f"(simulated sizes: {', '.join(str(s) for s in sorted(self.unserved))})"]
        if self.failing is None:
            lines.append(f"{self.size} is the lowest size searched; nothing smaller was tried")
            return "\n".join(lines)
        return "\n".join(lines + failing_lines(self.failing))


def failing_lines(failing: dict, indent: str = "") -> list[str]:
    """Why a size fails, for people: its unserved total, then per service how much and when."""
    lines = [f"{indent}{failing['size']} fails: {failing['unservedTotal']:g} CPU units of unserved demand"]
    if not failing["services"]:
        lines[0] += " (the constraint refused it for another reason)"
    for s in failing["services"]:
        lines.append(f"{indent}  {s['service']}: {s['total']:g} unserved over {s['minutes']} minutes, from "
                     f"{s['first']} to {s['last']}, peak {s['peak']:g} at {s['peakAt']}")
    return lines


def parse_constraint(text: str) -> float:
    """``unserved=0`` or ``unserved<=X``: the largest unserved demand total (CPU units) allowed."""
    match = _CONSTRAINT.match(text) if isinstance(text, str) else None
    if match is None:
        raise SweepError(f"--constraint {text!r}: expected unserved=0 or unserved<=X", field="constraint",
                         value=text)
    limit = float(match.group(2))
    if limit < 0 or (match.group(1) == "=" and limit != 0):
        raise SweepError(f"--constraint {text!r}: unserved=0, or unserved<=X with X >= 0", field="constraint",
                         value=text)
    return limit


def fleet_path(document, cluster: str) -> str:
    """The JSON path of the instance count of the scenario's fleet for ``cluster``."""
    fleets = document.get("fleets", []) if isinstance(document, dict) else []
    for i, fleet in enumerate(fleets if isinstance(fleets, list) else []):
        if isinstance(fleet, dict) and fleet.get("cluster", "default") == cluster:
            return f"fleets[{i}].count"
    raise SweepError(f"--fleet {cluster}: the scenario has no fleet for cluster {cluster!r}", field="fleet",
                     value=cluster)


def constraint_check(constraint) -> tuple[str, object]:
    """(label, passes(summary, tables) -> bool) of ``unserved=0`` / ``unserved<=X`` or a function
    of (summary dict, tables dict) returning whether the run is good enough."""
    if callable(constraint):
        label = getattr(constraint, "__name__", "constraint")
        return f"{label}(summary, tables)", lambda summary, tables: bool(constraint(summary, tables))
    limit = parse_constraint(constraint)
    return constraint, lambda summary, tables: float(summary["unservedDemandTotal"]) <= limit


def with_metrics(document: dict) -> dict:
    """The document recording metrics: explanations read UnservedDemand from them."""
    document = dict(document)
    outputs = document.get("outputs")
    if isinstance(outputs, list) and "metrics" not in outputs:
        document["outputs"] = [*outputs, "metrics"]
    return document


def size(scenario, path: str, low: int, high: int, *, constraint="unserved=0", client=None,
         scheduler: str | None = None, workers: int | None = None, progress: bool = False) -> SizeResult:
    """The smallest integer at ``path`` in [low, high] whose simulation meets ``constraint``."""
    label, passes = constraint_check(constraint)
    check_bounds(low, high)
    document, base_dir = read_document(scenario)
    document = with_metrics(document)
    build = checked_builder(lambda value: set_path(document, path, value), base_dir)
    search = Search(build, passes, low, high)
    with dask_client(client, scheduler, workers) as active:
        run_searches(active, base_dir, [search], progress=progress)
    bounds = search.bounds
    if bounds is None:
        raise SweepError(f"even {path}={high} fails {label} ({search.unserved[high]:g} unserved); "
                         f"raise --max", field="max", value=high)
    return SizeResult(path, bounds[1], label, dict(sorted(search.unserved.items())), search.failing(bounds[0]))


def check_bounds(low, high) -> None:
    for name, value in (("min", low), ("max", high)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise SweepError(f"--{name}: an integer, found {value!r}", field=name, value=value)
    if low > high:
        raise SweepError(f"--min {low} is above --max {high}", field="min", value=low)
