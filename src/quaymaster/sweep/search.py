"""The exact search for the smallest passing size, several searches sharing one Dask client.

Each :class:`Search` is a generator of rounds: it asks for sizes, the driver
simulates every search's sizes of the round together (so two instance types
searched on two workers bisect side by side), and each search narrows its
interval. It assumes passing is monotone in the size (more never serves less)
and is exact under that assumption: the first round simulates ``high`` and
``low``; each later round simulates up to ``width`` sizes evenly spread inside
the open interval between the largest failing and the smallest passing size.
The answer is verified at its boundary: it was simulated and passed, and one
less was simulated and failed (unless it is ``low``).
"""

from __future__ import annotations

import pyarrow.compute as pc

from quaymaster.sweep.engine import run_documents
from quaymaster.sweep.worker import prepare


def probes(failing: int, passing: int, width: int) -> list[int]:
    """Up to ``width`` distinct sizes strictly between, evenly spaced (one is bisection)."""
    span = passing - failing
    return sorted({failing + (span * k) // (width + 1) for k in range(1, width + 1)} - {failing, passing})


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


def checked_builder(variant_of, base_dir):
    """``build(size)``: the scenario document of a size, checked as a scenario (a bad size is an
    error naming the JSON path before anything is submitted)."""
    def build(size: int) -> dict:
        variant = variant_of(size)
        prepare(variant, base_dir)
        return variant
    return build


class Search:
    """The simulations of ``build(size)``, remembered per size, judged by ``passes(summary, tables)``."""

    def __init__(self, build, passes, low: int, high: int):
        self.build, self.check, self.low, self.high = build, passes, low, high
        self.width = 1
        self.unserved: dict = {}
        self.ok: dict = {}
        self.summaries: dict = {}
        self.reasons: dict = {}
        self.bounds: tuple[int | None, int] | None = None

    def record(self, value: int, tables: dict, summary: dict) -> None:
        self.unserved[value] = float(summary["unservedDemandTotal"])
        self.ok[value] = self.check(summary, tables)
        self.summaries[value] = summary
        self.reasons[value] = unserved_by_service(tables["metrics"])

    def rounds(self):
        """Yields the sizes of each round; ``self.bounds`` is then (largest failing size, or None
        when ``low`` passes; smallest passing size), or None when even ``high`` fails."""
        yield [self.high, self.low]
        if not self.ok[self.high]:
            return
        failing_at, passing_at = (self.low, self.high) if not self.ok[self.low] else (None, self.low)
        while failing_at is not None and passing_at - failing_at > 1:
            yield probes(failing_at, passing_at, self.width)
            failing_at = max(s for s in self.ok if s < passing_at and not self.ok[s])
            passing_at = min(s for s in self.ok if s > failing_at and self.ok[s])
        self.bounds = (failing_at, passing_at)

    def failing(self, size: int | None) -> dict | None:
        """Why ``size`` fails: its unserved total and, per service, how much and when."""
        if size is None:
            return None
        return {"size": size, "unservedTotal": self.unserved[size], "services": self.reasons[size]}


def run_searches(client, base_dir, searches: list[Search], *, progress: bool = False) -> None:
    """Every search to its end, the rounds of all searches simulated together on ``client``; the
    workers are shared out, so each search probes ``threads // searches`` sizes a round (at least 1)."""
    threads = max(1, sum(client.nthreads().values()))
    for search in searches:
        search.width = max(1, threads // len(searches))
    active = {i: (search, search.rounds()) for i, search in enumerate(searches)}
    wanted = {i: next(rounds) for i, (search, rounds) in active.items()}
    while wanted:
        jobs = [(i, v) for i, values in wanted.items() for v in dict.fromkeys(values)
                if v not in searches[i].ok]
        documents = [searches[i].build(v) for i, v in jobs]
        for index, tables, summary in run_documents(client, documents, base_dir, progress=progress,
                                                    labels=[f"size {v}" for _, v in jobs]):
            i, value = jobs[index]
            searches[i].record(value, tables, summary)
        for i in list(wanted):
            try:
                wanted[i] = next(active[i][1])
            except StopIteration:
                del wanted[i]
