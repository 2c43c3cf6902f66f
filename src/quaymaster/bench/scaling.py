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

import hashlib
import inspect
import json
import os
import subprocess
import sys
import time
from pathlib import Path

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


def outputs_digest(simulation: Simulation) -> str:
    """SHA-256 of every table (Arrow IPC) and the summary (sorted JSON): equal digests, equal outputs."""
    digest = hashlib.sha256()
    for name, table in sorted(simulation.tables().items()):
        digest.update(name.encode())
        digest.update(table_bytes(table))
    digest.update(json.dumps(simulation.summary(), sort_keys=True).encode())
    return digest.hexdigest()


# Run in a fresh interpreter on another source tree: time a scenario, print the time and digest.
_PREVIOUS = """
import json, sys, time
from quaymaster.simulation import load_scenario
from quaymaster.simulation.run import Simulation
from quaymaster.bench.scaling import outputs_digest
document = json.loads(sys.stdin.read())
Simulation(load_scenario({**document, "duration": "10m"})).run().tables()
scenario = load_scenario(document)
start = time.perf_counter()
simulation = Simulation(scenario).run()
simulation.tables()
wall = time.perf_counter() - start
print(json.dumps({"wall_s": wall, "digest": outputs_digest(simulation)}))
"""
_DIGEST_HELPER = "from quaymaster.bench.scaling import outputs_digest"


def previous_run(document: dict, source: str) -> dict:
    """The same scenario on the previous implementation (``source``: a folder holding its
    ``quaymaster`` package, e.g. ``git archive main src`` with the built extension copied in):
    its wall time and outputs' digest, from a fresh interpreter. A tree without this module
    gets the digest function from here."""
    code = _PREVIOUS
    if not (Path(source) / "quaymaster" / "bench" / "scaling.py").exists():
        code = code.replace(_DIGEST_HELPER, "import hashlib\nimport pyarrow as pa\n"
                            + inspect.getsource(table_bytes) + inspect.getsource(outputs_digest))
    env = {**os.environ, "PYTHONPATH": str(source)}
    done = subprocess.run([sys.executable, "-c", code], input=json.dumps(document), capture_output=True,
                          text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def s3_figures(services: int = 200, *, scale: float = 0.8, duration: str = "24h", instances: int = 50,
               baseline: bool = True, previous: str | None = None) -> dict:
    """Run S3: the plain baseline first (``baseline``), the previous implementation in a child
    (``previous``, a source folder), then the fast run; the figures and the outputs' differences."""
    document = s3_scenario(services, scale=scale, duration=duration, instances=instances)
    timed_simulation(s3_scenario(2, scale=0.05, duration="10m", instances=1))   # imports and JIT out of the timings
    figures: dict = {"services": services, "scale": scale, "duration": duration, "start_instances": instances}
    plain = None
    if baseline:
        plain, figures["plain_wall_s"] = timed_simulation(document, **PLAIN)
    if previous is not None:
        figures["previous"] = previous_run(document, previous)
    fast, figures["wall_s"] = timed_simulation(document)
    summary = fast.summary()
    metrics = fast.tables()["metrics"]
    figures["instance_minutes"] = instance_minutes(fast)
    figures["instance_minutes_per_s"] = figures["instance_minutes"] / figures["wall_s"]
    figures["peak_instances"] = summary["peakInstances"]
    figures["unserved_demand_total"] = summary["unservedDemandTotal"]
    figures["tasks"] = summary["tasks"]
    counts = metrics.filter(pc.and_(pc.equal(metrics["scope"], "cluster"),
                                    pc.equal(metrics["metric"], "instances")))["value"].to_pylist()
    figures["end_instances"] = int(counts[-1]) if counts else 0
    figures["noon_instances"] = int(counts[len(counts) // 2]) if counts else 0
    if plain is not None:
        figures["differences"] = differences(plain, fast)
        figures["speedup"] = figures["plain_wall_s"] / figures["wall_s"]
    if previous is not None:
        figures["previous"]["same_outputs"] = figures["previous"]["digest"] == outputs_digest(fast)
        figures["speedup_vs_previous"] = figures["previous"]["wall_s"] / figures["wall_s"]
    return figures


def s3_row(services: int, scale: float, duration: str, instances: int) -> Row:
    """The ``quaymaster bench`` row of S3."""
    figures = s3_figures(services, scale=scale, duration=duration, instances=instances)
    differ = figures["differences"]
    checks = [Check("S3 fast = plain", not differ,
                    "every table and the summary equal" if not differ else f"differ: {', '.join(differ)}"),
              Check("S3 scaled out", figures["peak_instances"] >= 2 * max(1, instances),
                    f"from {instances} to a peak of {figures['peak_instances']} instances "
                    f"({figures['end_instances']} at the end)")]
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
