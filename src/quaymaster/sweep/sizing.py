"""Fleet sizing: the smallest integer (a fleet's size, any integer JSON path) meeting a constraint.

The search assumes the constraint is monotone in the size (more instances never
serve less) and is exact under that assumption: each round simulates up to one
size per worker, evenly spread over the open interval, and keeps the interval
between the largest failing and the smallest passing size. The answer is always
verified at its boundary: it was simulated and met the constraint, and the
size one below was simulated and failed (unless the answer is ``low``).
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
        lines.append(f"{self.size - 1} fails: {self.failing['unservedTotal']:g} CPU units of unserved demand")
        for s in self.failing["services"]:
            lines.append(f"  {s['service']}: {s['total']:g} unserved over {s['minutes']} minutes, from "
                         f"{s['first']} to {s['last']}, peak {s['peak']:g} at {s['peakAt']}")
        return "\n".join(lines)


def parse_constraint(text: str) -> float:
    """``unserved=0`` or ``unserved<=X``: the largest unserved demand total (CPU units) allowed."""
    match = _CONSTRAINT.match(text or "")
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


def size(scenario, path: str, low: int, high: int, *, constraint: str = "unserved=0", client=None,
         scheduler: str | None = None, workers: int | None = None, progress: bool = False) -> SizeResult:
    """The smallest integer at ``path`` in [low, high] whose simulation meets ``constraint``."""
    limit = parse_constraint(constraint)
    for name, value in (("min", low), ("max", high)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise SweepError(f"--{name}: an integer, found {value!r}", field=name, value=value)
    if low > high:
        raise SweepError(f"--min {low} is above --max {high}", field="min", value=low)
    document, base_dir = read_document(scenario)
    document = dict(document)
    outputs = document.get("outputs")
    if isinstance(outputs, list) and "metrics" not in outputs:
        document["outputs"] = [*outputs, "metrics"]   # the explanation reads UnservedDemand
    build = _builder(document, path, base_dir)
    with dask_client(client, scheduler, workers) as active:
        width = max(1, sum(active.nthreads().values()))
        search = _Search(active, build, base_dir, limit, progress)
        search.evaluate([high])
        if not search.passes(high):
            raise SweepError(f"even {path}={high} fails {constraint} ({search.unserved[high]:g} unserved); "
                             f"raise --max", field="max", value=high)
        search.evaluate([low])
        failing_at, passing_at = (low, high) if not search.passes(low) else (None, low)
        while failing_at is not None and passing_at - failing_at > 1:
            search.evaluate(_probes(failing_at, passing_at, width))
            failing_at = max(s for s in search.unserved if s < passing_at and not search.passes(s))
            passing_at = min(s for s in search.unserved if s > failing_at and search.passes(s))
    failing = None
    if failing_at is not None:
        failing = {"size": failing_at, "unservedTotal": search.unserved[failing_at],
                   "services": search.reasons[failing_at]}
    return SizeResult(path, passing_at, constraint, dict(sorted(search.unserved.items())), failing)


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


class _Search:
    def __init__(self, client, build, base_dir, limit: float, progress: bool):
        self.client, self.build, self.base_dir = client, build, base_dir
        self.limit, self.progress = limit, progress
        self.unserved: dict = {}
        self.reasons: dict = {}

    def passes(self, value: int) -> bool:
        return self.unserved[value] <= self.limit

    def evaluate(self, values: list[int]) -> None:
        values = [v for v in dict.fromkeys(values) if v not in self.unserved]
        documents = [self.build(v) for v in values]
        for index, tables, summary in run_documents(self.client, documents, self.base_dir,
                                                    progress=self.progress, labels=values):
            value = values[index]
            self.unserved[value] = float(summary["unservedDemandTotal"])
            self.reasons[value] = unserved_by_service(tables["metrics"])
