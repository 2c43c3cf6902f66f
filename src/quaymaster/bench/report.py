"""What a benchmark run produces: rows with targets, baselines and checks, as text or JSON."""

from __future__ import annotations

import math
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field

from quaymaster.bench.checks import Check
from quaymaster.bench.timing import format_rate, format_seconds, growth_model


@dataclass(frozen=True)
class Target:
    """A goal for one measured number: ``measured <= value`` (kind "max") or ``>=`` ("min")."""

    text: str
    value: float
    kind: str = "max"

    def met(self, measured: float | None) -> bool | None:
        if measured is None or not math.isfinite(measured):
            return None
        return measured <= self.value if self.kind == "max" else measured >= self.value


@dataclass
class Baseline:
    """A baseline measured in the same run, per unit of work (a task, or a call for B2)."""

    name: str
    size: str
    per_unit_s: float
    ratio: float | None  # baseline time per unit / engine time per unit: how many times faster
    checks: list[Check] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"name": self.name, "size": self.size, "per_unit_s": self.per_unit_s,
                "ratio": self.ratio, "checks": [c.to_json() for c in self.checks]}


@dataclass
class Row:
    """One line of the report."""

    key: str
    title: str
    size: str
    measured: float | None          # the number the target is about
    measured_text: str
    rate: float | None = None       # tasks per second, where that means something
    target: Target | None = None
    checks: list[Check] = field(default_factory=list)
    baselines: list[Baseline] = field(default_factory=list)
    details: dict = field(default_factory=dict)
    note: str = ""                  # one line of detail printed under the table
    unit: str = ""                  # what a baseline's time is per; "" means a task (a call for B2)

    @property
    def unit_name(self) -> str:
        return self.unit or ("call" if self.key == "B2" else "task")

    @property
    def met(self) -> bool | None:
        return self.target.met(self.measured) if self.target else None

    @property
    def all_checks(self) -> list[Check]:
        return self.checks + [c for b in self.baselines for c in b.checks]

    @property
    def checks_passed(self) -> bool:
        return all(c.passed for c in self.all_checks)

    def ratio(self, name: str) -> float | None:
        return next((b.ratio for b in self.baselines if b.name == name), None)

    def to_json(self) -> dict:
        return {"key": self.key, "title": self.title, "size": self.size, "measured": self.measured,
                "measured_text": self.measured_text, "note": self.note, "rate_tasks_per_s": self.rate,
                "target": self.target.text if self.target else None, "met": self.met,
                "checks_passed": self.checks_passed, "checks": [c.to_json() for c in self.checks],
                "baselines": [b.to_json() for b in self.baselines], "details": self.details}


@dataclass
class GrowthCell:
    instances: int
    tasks: int
    seconds: float | None   # None: skipped (needs --full)

    @property
    def normalized_ns(self) -> float | None:
        """time / ((n + t) log2 n), in nanoseconds."""
        if self.seconds is None:
            return None
        return self.seconds / growth_model(self.instances, self.tasks) * 1e9


@dataclass
class Report:
    sizes: str
    rows: list[Row] = field(default_factory=list)
    growth: list[GrowthCell] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    @property
    def checks_passed(self) -> bool:
        return all(row.checks_passed for row in self.rows)

    def failed_checks(self) -> list[tuple[str, Check]]:
        return [(row.key, c) for row in self.rows for c in row.all_checks if not c.passed]

    def to_json(self) -> dict:
        return {"sizes": self.sizes, "meta": self.meta, "checks_passed": self.checks_passed,
                "rows": [row.to_json() for row in self.rows],
                "growth": [{"instances": c.instances, "tasks": c.tasks, "seconds": c.seconds,
                            "normalized_ns": c.normalized_ns} for c in self.growth]}

    def format(self) -> str:
        parts = [format_rows(self.rows)]
        if self.growth:
            parts.append(format_growth(self.growth))
        failed = self.failed_checks()
        parts.append("checks: all passed" if not failed else "checks FAILED:\n" + "\n".join(
            f"  {key}: {c.name}: {c.detail}" for key, c in failed))
        return "\n\n".join(parts)


def _ratio_text(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.3g}x"


def _met_text(met: bool | None) -> str:
    return {True: "yes", False: "NO", None: "-"}[met]


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]], left: int = 2) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if i < left else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(r, widths))).rstrip()
             for r in [header, *rows]]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def format_rows(rows: list[Row]) -> str:
    header = ("scenario", "size", "measured", "rate", "target", "met", "vs numpy", "vs ref",
              "vs scan", "checks")
    body = [(f"{r.key} {r.title}", r.size, r.measured_text, format_rate(r.rate),
             r.target.text if r.target else "-", _met_text(r.met), _ratio_text(r.ratio("numpy")),
             _ratio_text(r.ratio("reference")), _ratio_text(r.ratio("scan")),
             f"{sum(c.passed for c in r.all_checks)}/{len(r.all_checks)}") for r in rows]
    notes = ["vs numpy / vs ref / vs scan: how many times faster the engine is, per task (per call "
             "for B2), than the NumPy per-task scan, the pure-Python reference and the engine's own "
             "per-task path (fast_paths=False), all measured in this run on the scenario's fleet."]
    for r in rows:
        if r.note:
            notes.append(f"  {r.key}: {r.note}")
        for b in r.baselines:
            notes.append(f"  {r.key} {b.name}: {format_seconds(b.per_unit_s)} per "
                         f"{r.unit_name} ({b.size})")
    return _table(header, body) + "\n" + "\n".join(notes)


def format_growth(cells: list[GrowthCell]) -> str:
    """B4 as an instances x tasks grid: time and time / ((n + t) log2 n)."""
    instances = sorted({c.instances for c in cells})
    tasks = sorted({c.tasks for c in cells})
    by_key = {(c.instances, c.tasks): c for c in cells}
    header = ("B4 growth", *[f"t={t}" for t in tasks])
    body = []
    for n in instances:
        row = [f"n={n}"]
        for t in tasks:
            cell = by_key.get((n, t))
            if cell is None or cell.seconds is None:
                row.append("skipped (--full)" if cell is not None else "-")
            else:
                row.append(f"{format_seconds(cell.seconds)} ({cell.normalized_ns:.3g} ns)")
        body.append(tuple(row))
    return (_table(header, body, left=1) + "\n"
            "each cell: median time (time / ((n + t) log2 n) in ns); flat ns across the grid "
            "means cost grows like (n + t) log n")


def machine_info() -> dict:
    import os

    import numba
    import numpy
    import pyarrow

    from quaymaster import __version__

    return {"quaymaster": __version__, "python": platform.python_version(),
            "numpy": numpy.__version__, "numba": numba.__version__, "pyarrow": pyarrow.__version__,
            "machine": platform.machine(), "processor": platform.processor(),
            "cpus": os.cpu_count(), "platform": platform.platform()}


def emit_figures(figures: dict, json_path=None) -> dict:
    """A benchmark script's ending: the figures printed as JSON, and written to ``json_path`` if given."""
    import json
    from pathlib import Path

    text = json.dumps(figures, indent=2)
    print(text)
    if json_path:
        Path(json_path).write_text(text + "\n")
    return figures
