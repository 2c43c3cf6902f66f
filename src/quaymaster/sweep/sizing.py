"""Fleet sizing: the smallest integer (a fleet's size, any integer JSON path) meeting a constraint.

The search assumes the constraint is monotone in the size (more instances never
serve less) and is exact under that assumption: each round simulates up to one
size per worker, evenly spread over the open interval, and keeps the interval
between the largest failing and the smallest passing size. The answer is always
verified at its boundary: it was simulated and met the constraint, and the
size one below was simulated and failed (unless the answer is ``low``). Sizing
a capacity provider's fleet per instance type is ``quaymaster.sweep.fleet_sizing``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pyarrow.compute as pc

from quaymaster.sweep.engine import dask_client, read_document, run_documents
from quaymaster.sweep.paths import SweepError, set_path
from quaymaster.sweep.worker import prepare

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


def unserved_by_service(metrics) -> list[dict]:
    """Per service with unserved demand: total, minutes, first/last/peak time (from UnservedDemand)."""
    rows = metrics.filter(pc.and_(pc.equal(metrics.column("metric"), "UnservedDemand"),
                                  pc.greater(metrics.column("value"), 0.0))).to_pylist()
    services: dict = {}
    for row in rows:
        key = f"{row['cluster']}/{row['name']}"
        row["time"] = row["time"].strftime("%Y-%m-%dT%H:%M:%SZ")
        s = services.setdefault(key, {"service": key, "total": 0.0, "minutes": 0, "first": row["time"],
                                      "last": row["time"], "peak": 0.0, "peakAt": row["time"]})
        s["total"] += row["value"]
        s["minutes"] += 1
        s["last"] = row["time"]
        if row["value"] > s["peak"]:
            s["peak"], s["peakAt"] = row["value"], row["time"]
    return sorted(services.values(), key=lambda s: (-s["total"], s["service"]))


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
    build = _builder(with_metrics(document), path, base_dir)
    with dask_client(client, scheduler, workers) as active:
        search = Search(active, build, base_dir, passes, progress)
        bounds = search.smallest(low, high)
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


def _probes(failing: int, passing: int, width: int) -> list[int]:
    """Up to ``width`` distinct sizes strictly between, evenly spaced (one is bisection)."""
    span = passing - failing
    return sorted({failing + (span * k) // (width + 1) for k in range(1, width + 1)} - {failing, passing})


def _builder(document: dict, path: str, base_dir):
    def build(value: int) -> dict:
        variant = set_path(document, path, value)
        prepare(variant, base_dir)               # a bad size is an error naming the path, before it runs
        return variant
    return build


class Search:
    """Simulations of ``build(size)`` on the client, remembered per size, and the exact search."""

    def __init__(self, client, build, base_dir, passes, progress: bool):
        self.client, self.build, self.base_dir = client, build, base_dir
        self.check, self.progress = passes, progress
        self.width = max(1, sum(client.nthreads().values()))
        self.unserved: dict = {}
        self.ok: dict = {}
        self.summaries: dict = {}
        self.reasons: dict = {}

    def passes(self, value: int) -> bool:
        return self.ok[value]

    def evaluate(self, values: list[int]) -> None:
        values = [v for v in dict.fromkeys(values) if v not in self.ok]
        documents = [self.build(v) for v in values]
        for index, tables, summary in run_documents(self.client, documents, self.base_dir,
                                                    progress=self.progress, labels=values):
            value = values[index]
            self.unserved[value] = float(summary["unservedDemandTotal"])
            self.ok[value] = self.check(summary, tables)
            self.summaries[value] = summary
            self.reasons[value] = unserved_by_service(tables["metrics"])

    def smallest(self, low: int, high: int) -> tuple[int | None, int] | None:
        """(largest failing size or None when ``low`` passes, smallest passing size), or None when
        even ``high`` fails. Exact if passing is monotone in the size; the boundary is simulated."""
        self.evaluate([high])
        if not self.passes(high):
            return None
        self.evaluate([low])
        failing_at, passing_at = (low, high) if not self.passes(low) else (None, low)
        while failing_at is not None and passing_at - failing_at > 1:
            self.evaluate(_probes(failing_at, passing_at, self.width))
            failing_at = max(s for s in self.ok if s < passing_at and not self.passes(s))
            passing_at = min(s for s in self.ok if s > failing_at and self.passes(s))
        return failing_at, passing_at

    def failing(self, size: int | None) -> dict | None:
        """Why ``size`` fails: its unserved total and, per service, how much and when."""
        if size is None:
            return None
        return {"size": size, "unservedTotal": self.unserved[size], "services": self.reasons[size]}
