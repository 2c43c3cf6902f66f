"""Sweeps on Dask against one simulation after another in one process.

    PYTHONPATH=src python benchmarks/bench_sweep.py [--sims 64] [--workers 2] [--services 20]
                                                    [--scenario s3|fleet] [--scale 0.65]
                                                    [--instances 60] [--duration 24h] [--json out.json]

The scenario (``--scenario s3``, the default): S3 cut to ``--services``
services (``quaymaster.bench.scaling_scenarios.s3_scenario`` at ``--scale``
0.65: target tracking on a diurnal load, three capacity providers with
managed scaling over three zones, 50 instances at the start for 200 services), for
``--duration``. ``--scenario fleet``: ``--services`` services of
256-CPU-unit tasks on a fixed fleet of ``--instances`` c5.xlarge instances,
each with its own diurnal workload, no scaling. The variations differ only in
their seed. Reports:

- serial: the simulations one after another in this process (wall time each);
- sweep: the same simulations through ``quaymaster.sweep.sweep`` on a
  LocalCluster of ``--workers`` processes (cluster start-up timed apart);
- throughput ratio (serial wall / sweep wall) and the overhead per simulation
  (sweep wall x workers - the serial simulations' time, over the count), and the
  same against the workers' own compute time in the sweep (Dask's task stream);
- per simulation: wall time, the Python heap's peak (tracemalloc) and the
  resident-size growth of a fresh process running one, and the bytes each
  worker sends back (the tables as Arrow IPC plus the summary as JSON).

The machine's cores may be shared: compare ratios from one run, not runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from distributed import get_task_stream

from quaymaster.bench.scaling_scenarios import s3_scenario
from quaymaster.bench.report import emit_figures
from quaymaster.fleet import generate_fleet
from quaymaster.sweep import simulate, sweep
from quaymaster.sweep.engine import dask_client


def fleet_scenario(fleet_path: str, services: int, duration: str) -> dict:
    calls = [{"at": "0s", "operation": "ecs:CreateCluster", "request": {"clusterName": "prod"}}]
    workloads = []
    for i in range(services):
        calls.append({"at": "0s", "operation": "ecs:RegisterTaskDefinition", "request": {
            "family": f"svc{i}", "containerDefinitions": [
                {"name": "app", "image": "app", "cpu": 256, "memory": 512}]}})
        calls.append({"at": "0s", "operation": "ecs:CreateService", "request": {
            "cluster": "prod", "serviceName": f"svc{i}", "taskDefinition": f"svc{i}",
            "desiredCount": 4 + i % 5}})
        workloads.append({"service": f"prod/svc{i}", "model": "diurnal", "low": 200 + 50 * i,
                          "high": 1500 + 60 * i, "peak": f"{(8 + i) % 24:02d}:00", "noise": 0.1})
    # Halfway through, every service doubles: a rolling deployment under load.
    for i in range(services):
        calls.append({"at": "12h", "operation": "ecs:UpdateService", "request": {
            "cluster": "prod", "service": f"svc{i}", "desiredCount": 2 * (4 + i % 5)}})
    if duration.endswith("m") or (duration.endswith("h") and int(duration[:-1]) <= 12):
        calls = calls[:1 + 2 * services]    # a short run never reaches 12h
    return {"seed": 0, "duration": duration, "tick": "15s", "calls": calls,
            "fleets": [{"cluster": "prod", "instances": fleet_path}], "workloads": workloads}


def result_bytes(tables: dict, summary: dict) -> int:
    total = 0
    for table in tables.values():
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        total += sink.getvalue().size
    return total + len(json.dumps(summary))


def serial(document: dict, sims: int) -> dict:
    times, sizes = [], []
    for seed in range(sims):
        start = time.perf_counter()
        tables, summary = simulate({**document, "seed": seed})
        times.append(time.perf_counter() - start)
        sizes.append(result_bytes(tables, summary))
    return {"wall_s": sum(times), "per_sim_s": sum(times) / sims, "min_sim_s": min(times),
            "max_sim_s": max(times), "result_bytes_mean": sum(sizes) / sims}


def python_heap_peak(document: dict) -> int:
    tracemalloc.start()
    simulate({**document, "seed": 0})
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def fresh_process_rss(document: dict) -> dict:
    """Peak resident size of a new interpreter after the imports and a 1-minute warm-up, and after
    one whole simulation (a worker's footprint is about the second)."""
    code = ("import json, resource, sys; from quaymaster.sweep import simulate;"
            "d = json.loads(sys.stdin.read()); simulate({**d, 'duration': '1m'});"
            "a = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; simulate(d);"
            "b = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; print(a * 1024, b * 1024)")
    done = subprocess.run([sys.executable, "-c", code], input=json.dumps(document), capture_output=True,
                          text=True, check=True, env={**os.environ})
    warm, after = (int(v) for v in done.stdout.split())
    return {"after_imports_bytes": warm, "after_one_sim_bytes": after}


def distributed_sweep(document: dict, sims: int, workers: int) -> dict:
    start = time.perf_counter()
    with dask_client(workers=workers) as client:
        client.run(lambda: simulate({**document, "duration": "1m"}) and None)   # imports and JIT, per worker
        ready = time.perf_counter()
        with get_task_stream(client) as stream:
            table = sweep(document, {"seed": list(range(sims))}, client)
        wall = time.perf_counter() - ready
    assert table.num_rows == sims
    compute = [sum(s["stop"] - s["start"] for s in task["startstops"] if s["action"] == "compute")
               for task in stream.data if str(task["key"]).startswith("quaymaster-variation-")]
    return {"startup_s": ready - start, "wall_s": wall, "worker_compute_s": sum(compute),
            "worker_per_sim_s": sum(compute) / len(compute)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sims", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--scenario", choices=("s3", "fleet"), default="s3")
    parser.add_argument("--scale", type=float, default=0.65, help="s3: the load's scale")
    parser.add_argument("--instances", type=int, default=60, help="fleet: the fixed fleet's size")
    parser.add_argument("--duration", default="24h")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        fleet = Path(tmp) / "fleet.parquet"
        pq.write_table(generate_fleet(args.instances, azs=3, seed=1, cluster="prod",
                                      instance_types=["c5.xlarge"]), fleet)
        if args.scenario == "s3":
            document = s3_scenario(args.services, scale=args.scale, duration=args.duration,
                                   instances=max(1, round(50 * args.services / 200)))   # S3: 50 for 200
        else:
            document = fleet_scenario(str(fleet), args.services, args.duration)
        simulate({**document, "duration": "1m"})            # imports and JIT out of the timings
        figures = {"sims": args.sims, "workers": args.workers, "services": args.services,
                   "scenario": args.scenario, "duration": args.duration,
                   **({"scale": args.scale} if args.scenario == "s3" else {"instances": args.instances})}
        figures["serial"] = serial(document, args.sims)
        figures["sweep"] = distributed_sweep(document, args.sims, args.workers)
        figures["python_heap_peak_bytes"] = python_heap_peak(document)
        figures["fresh_process_peak_rss"] = fresh_process_rss(document)
    s, d = figures["serial"], figures["sweep"]
    figures["throughput_ratio"] = s["wall_s"] / d["wall_s"]
    figures["overhead_per_sim_s"] = (d["wall_s"] * args.workers - s["wall_s"]) / args.sims
    # The same within the sweep alone (immune to the load changing between the two phases):
    figures["overhead_per_sim_in_sweep_s"] = (d["wall_s"] * args.workers - d["worker_compute_s"]) / args.sims
    return emit_figures(figures, args.json)


if __name__ == "__main__":
    main()
