"""S3: a day of scaling (``quaymaster.bench.scaling_scenarios.s3_scenario``), checked and timed.

The same scenario runs twice in one process: the plain way (placement's
per-task scan, ``fast_paths=False``, and a clock that visits every tick while
an Auto Scaling group exists, ``jump_ticks=False``) as the baseline, then the
fast way. Every table and the summary of the two must be equal (the check);
the figures are the fast run's wall time and the instance-minutes it
simulated per second (the cluster's ``instances`` metric summed over the
minutes), against the baseline's.
"""

from __future__ import annotations

import json
import time

import pyarrow as pa
import pyarrow.compute as pc

from quaymaster.bench.checks import Check
from quaymaster.bench.report import Baseline, Row, Target
from quaymaster.bench.scaling_scenarios import s3_scenario
from quaymaster.bench.timing import format_seconds
from quaymaster.simulation import load_scenario
from quaymaster.simulation.run import Simulation

S3_TARGET = Target("<= 10 s", 10.0)
PLAIN = {"fast_paths": False, "jump_ticks": False}


def table_bytes(table: pa.Table) -> bytes:
    """The table as an Arrow IPC stream: equal bytes are equal tables, NaN included (which
    ``Table.equals`` counts as unequal to itself)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def differences(first: Simulation, second: Simulation) -> list[str]:
    """What differs between two simulations' outputs: table names, or "summary"; [] if equal."""
    a, b = first.tables(), second.tables()
    out = [name for name in sorted(set(a) | set(b))
           if name not in a or name not in b or table_bytes(a[name]) != table_bytes(b[name])]
    if json.dumps(first.summary(), sort_keys=True) != json.dumps(second.summary(), sort_keys=True):
        out.append("summary")
    return out


def instance_minutes(simulation: Simulation) -> float:
    """The cluster instances of every minute, summed: the work a day of scaling simulates."""
    metrics = simulation.tables()["metrics"]
    rows = metrics.filter(pc.and_(pc.equal(metrics["scope"], "cluster"), pc.equal(metrics["metric"], "instances")))
    return float(pc.sum(rows["value"]).as_py() or 0.0)


def timed_simulation(document: dict, **options) -> tuple[Simulation, float]:
    """The simulation and its wall time: the run and building its tables (what simulate writes)."""
    scenario = load_scenario(document)
    start = time.perf_counter()
    simulation = Simulation(scenario, **options).run()
    simulation.tables()
    return simulation, time.perf_counter() - start


def s3_figures(services: int = 200, *, scale: float = 0.65, duration: str = "24h", instances: int = 50,
               baseline: bool = True) -> dict:
    """Run S3 (and its plain baseline first); the figures and the outputs' differences."""
    document = s3_scenario(services, scale=scale, duration=duration, instances=instances)
    timed_simulation(s3_scenario(2, scale=0.05, duration="10m", instances=1))        # imports and JIT out of the timings
    figures: dict = {"services": services, "scale": scale, "duration": duration, "start_instances": instances}
    plain = None
    if baseline:
        plain, figures["plain_wall_s"] = timed_simulation(document, **PLAIN)
    fast, figures["wall_s"] = timed_simulation(document)
    summary = fast.summary()
    instances = fast.tables()["metrics"]
    figures["instance_minutes"] = instance_minutes(fast)
    figures["instance_minutes_per_s"] = figures["instance_minutes"] / figures["wall_s"]
    figures["peak_instances"] = summary["peakInstances"]
    figures["unserved_demand_total"] = summary["unservedDemandTotal"]
    figures["tasks"] = summary["tasks"]
    last = instances.filter(pc.equal(instances["metric"], "instances"))["value"]
    figures["end_instances"] = int(last[-1].as_py()) if len(last) else 0
    if plain is not None:
        figures["differences"] = differences(plain, fast)
        figures["speedup"] = figures["plain_wall_s"] / figures["wall_s"]
    return figures


def s3_row(services: int, scale: float, duration: str, instances: int) -> Row:
    """The ``quaymaster bench`` row of S3."""
    figures = s3_figures(services, scale=scale, duration=duration, instances=instances)
    differ = figures["differences"]
    checks = [Check("S3 fast = plain", not differ,
                    "every table and the summary equal" if not differ else f"differ: {', '.join(differ)}"),
              Check("S3 scaled out and in", figures["peak_instances"] >= 2 * max(1, figures["end_instances"]),
                    f"peak {figures['peak_instances']} instances, {figures['end_instances']} at the end")]
    # "scan": the report's column for the engine's own plain path (here also every tick visited)
    plain = Baseline("scan", "same scenario, fast_paths=False, jump_ticks=False", figures["plain_wall_s"],
                     figures["speedup"])
    note = (f"{figures['instance_minutes']:,.0f} instance-minutes, {figures['instance_minutes_per_s']:,.0f}/s; "
            f"peak {figures['peak_instances']} instances, {figures['end_instances']} at the end; "
            f"{figures['tasks']} tasks; unserved {figures['unserved_demand_total']:,.0f} CPU-unit-minutes; "
            f"plain run {format_seconds(figures['plain_wall_s'])} ({figures['speedup']:.2f}x)")
    return Row("S3", "a day of scaling", f"{services} svc, {duration}", figures["wall_s"],
               format_seconds(figures["wall_s"]), figures["instance_minutes_per_s"], S3_TARGET, checks,
               [plain], figures, note, unit="run")
