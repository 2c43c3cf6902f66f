"""One benchmark run: the chosen scenarios in order, into a :class:`Report`."""

from __future__ import annotations

from quaymaster.bench import scenarios as sc
from quaymaster.bench.checks import Check
from quaymaster.bench.churn import churn_row
from quaymaster.bench.load import copy_row, from_arrow_row
from quaymaster.bench.coldstart import measure_cold_start, measure_first_compile
from quaymaster.bench.memory import measure_peak_memory
from quaymaster.bench.reference import load_reference
from quaymaster.bench.report import Report, Row, Target, machine_info
from quaymaster.bench.scaling import s3_row
from quaymaster.bench.runs import RunOptions, run_bulk, run_growth, run_latency
from quaymaster.bench.timing import format_seconds, summarize
from quaymaster.errors import InvalidInputError

SCENARIO_KEYS = ("B1", "B2", "B3", "B4", "B5", "B6", "B1E", "LOAD", "COPY", "COLD", "MEM", "S3")
COLD_TARGET = Target("<= 1.5 s", 1.5)
MEMORY_TARGET = Target("<= 300 MB", 300.0)
_MB = 1e6


def parse_scenario_keys(text: str | None) -> tuple[str, ...]:
    """``B1,B3,cold`` -> ("B1", "B3", "COLD"), in the order given; None means all."""
    if text is None:
        return SCENARIO_KEYS
    keys = tuple(k.strip().upper() for k in text.split(",") if k.strip())
    unknown = [k for k in keys if k not in SCENARIO_KEYS]
    if not keys or unknown:
        raise InvalidInputError(f"--scenarios: {text!r} is not a list of {', '.join(SCENARIO_KEYS)}",
                                field="--scenarios", value=text)
    return tuple(dict.fromkeys(keys))


def cold_start_row(sizes: sc.Sizes) -> Row:
    """COLD: warm-cache cold starts, with the first-ever compile reported beside them."""
    warm = measure_cold_start(sizes.cold_repeat)
    first = measure_first_compile()
    stats = summarize([w["wall_s"] for w in warm])
    parts = summarize([w["first_placement_s"] for w in warm])
    note = (f"wall {format_seconds(stats['median'])} (import {format_seconds(warm[0]['import_s'])}, "
            f"first run_task {format_seconds(parts['median'])}); with an empty Numba cache "
            f"{format_seconds(first['wall_s'])} (first run_task "
            f"{format_seconds(first['first_placement_s'])})")
    checks = [Check("cold start placed 10", all(w["placed"] == 10 for w in warm) and first["placed"] == 10,
                    "every child placed its 10 tasks")]
    return Row("COLD", "import + first run_task", "subprocess, 100 inst", stats["median"],
               format_seconds(stats["median"]), None, COLD_TARGET, checks, [],
               {"warm": warm, "first_compile": first, **stats}, note)


def memory_row(sizes: sc.Sizes) -> Row:
    """MEM: B1's peak resident memory above a child that only imports and builds the fleet."""
    scenario = sc.b1(sizes)
    measured = measure_peak_memory(scenario)
    delta_mb = measured["delta_bytes"] / _MB
    checks = [Check("memory child placed count", measured["placed"] == scenario.expected_placed(),
                    f"placed {measured['placed']}, expected {scenario.expected_placed()}")]
    note = (f"peak RSS {measured['run_bytes'] / _MB:.0f} MB running B1, "
            f"{measured['baseline_bytes'] / _MB:.0f} MB after only importing and building the fleet, "
            f"{measured['warm_bytes'] / _MB:.0f} MB after placing one task "
            f"(B1 above that: {measured['delta_warm_bytes'] / _MB:.0f} MB)")
    return Row("MEM", "B1 peak memory", scenario.size_label, delta_mb, f"{delta_mb:.0f} MB", None,
               MEMORY_TARGET, checks, [], measured, note)


def run_benchmarks(keys=SCENARIO_KEYS, *, sizes: sc.Sizes = sc.FULL, repeat: int = 3,
                   full: bool = False, progress: bool | None = None) -> Report:
    """Run the scenarios named by ``keys`` and return the report (checks included)."""
    reference = load_reference()
    options = RunOptions(sizes=sizes, repeat=repeat, full=full, progress=progress,
                         reference=reference)
    report = Report(sizes.name, meta={**machine_info(), "repeat": repeat, "full": full,
                                      "reference": reference is not None})
    for key in keys:
        if key == "B1":
            report.rows.append(run_bulk(sc.b1(sizes), options))
        elif key == "B2":
            report.rows.append(run_latency(sc.b2(sizes), options))
        elif key == "B3":
            report.rows.append(run_bulk(sc.b3(sizes), options))
        elif key == "B4":
            row, grid = run_growth(options)
            report.rows.append(row)
            report.growth = grid
        elif key == "B5":
            report.rows.append(churn_row(sc.b5(sizes), progress_enabled=progress))
        elif key in ("B6", "B1E"):
            report.rows.append(run_bulk(sc.b6(sizes) if key == "B6" else sc.b1_end_to_end(sizes), options))
        elif key == "LOAD":
            report.rows.append(from_arrow_row(sizes, repeat))
        elif key == "COPY":
            report.rows.append(copy_row(sizes, repeat))
        elif key == "COLD":
            report.rows.append(cold_start_row(sizes))
        elif key == "MEM":
            report.rows.append(memory_row(sizes))
        elif key == "S3":
            report.rows.append(s3_row(*sizes.s3))
    return report
