"""The demo's last step: a day of a few services scaling on a capacity provider, then the report.

Three services with a daily (diurnal) load, each with target tracking on its
average CPU at 60%, run on one capacity provider: an Auto Scaling group of
c5.xlarge instances over three zones with managed scaling (target capacity
100%) and managed termination protection. The day starts at midnight with one
task per service on two instances; the policies raise the desired counts into
the 14:00 peak, the provider launches instances for the tasks that wait, and
both come back down in the evening. The step writes the tables, summary.json
and the report picture (desired vs running, utilization against the target,
instances and reservation of the provider, unserved demand).
"""

from __future__ import annotations

import json

from quaymaster.bench.scaling_scenarios import capacity_provider_calls, tracked_service_calls
from quaymaster.demo.steps import DemoContext
from quaymaster.simulation import load_scenario
from quaymaster.simulation.report import write_report
from quaymaster.simulation.run import Simulation

CLUSTER = "demo"
START = "2026-01-05T00:00:00Z"
DURATION = "24h"
ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
INSTANCE_TYPE = "c5.xlarge"
START_INSTANCES, MAX_INSTANCES = 2, 40
TARGET_CPU = 60.0
#: name -> (task CPU units, task memory MiB, workload low, high in CPU units)
SERVICES = {"web": (512, 1024, 600, 9_000), "api": (256, 512, 400, 4_000), "worker": (1024, 2048, 1_000, 6_000)}


def _calls() -> list[dict]:
    calls = [{"at": "0s", "operation": "ecs:CreateCluster", "request": {"clusterName": CLUSTER}}]
    calls += capacity_provider_calls(CLUSTER, [INSTANCE_TYPE], ZONES, START_INSTANCES, MAX_INSTANCES)
    for name, (cpu, memory, _, _) in SERVICES.items():
        calls += tracked_service_calls(CLUSTER, name, cpu=cpu, memory=memory, target=TARGET_CPU, max_capacity=50)
    return calls


def demo_scenario(seed: int) -> dict:
    """The scenario document of the step (what ``quaymaster simulate`` reads)."""
    return {"seed": seed, "start": START, "duration": DURATION, "calls": _calls(),
            "workloads": [{"service": f"{CLUSTER}/{name}", "model": "diurnal", "low": low, "high": high,
                           "peak": "14:00", "noise": 0.05}
                          for name, (_, _, low, high) in SERVICES.items()]}


def _peak(metrics, service: str) -> tuple[int, str]:
    """(the highest desired count of the day, when it was first reached, HH:MM)."""
    rows = [(r["value"], r["time"]) for r in metrics
            if r["scope"] == "service" and r["name"] == service and r["metric"] == "desiredCount"]
    peak = max(value for value, _ in rows)
    return int(peak), next(time.strftime("%H:%M") for value, time in rows if value == peak)


def simulation_step(context: DemoContext) -> None:
    """Simulate the day; write the tables, summary and report; say what happened."""
    out = context.out_dir / "simulation"
    out.mkdir(parents=True, exist_ok=True)
    document = demo_scenario(context.seed)
    (out / "scenario.json").write_text(json.dumps(document, indent=2) + "\n")
    scenario = load_scenario(document, base_dir=out)
    simulation = Simulation(scenario).run()
    simulation.recorder.write(out)
    tables = simulation.tables()
    paths = write_report(tables, out, scenario=scenario)
    context.files.update(scenario=out / "scenario.json", report_png=paths["png"], report_html=paths["html"])
    summary = simulation.summary()
    metrics = tables["metrics"].to_pylist()
    activities = tables["activities"].to_pylist()
    context.say(f"== Simulation: {len(SERVICES)} services with a daily load (peak 14:00), target tracking "
                f"at {TARGET_CPU:.0f}% CPU, on a capacity provider ({INSTANCE_TYPE} over {len(ZONES)} zones, "
                f"managed scaling); {DURATION} at 1-minute metrics")
    for name, state in summary["services"].items():
        peak, when = _peak(metrics, name.split("/", 1)[1])
        context.say(f"  {name:<12} desired 1 -> {peak:>3} at {when} -> {state['desiredCount']:>3} at midnight "
                    f"(running {state['runningCount']})")
    instances = [r["value"] for r in metrics if r["scope"] == "cluster" and r["metric"] == "instances"]
    context.say(f"  instances: {START_INSTANCES} -> peak {summary['peakInstances']} -> {int(instances[-1])}; "
                f"{sum(a['kind'] == 'service' for a in activities)} service and "
                f"{sum(a['kind'] == 'asg' for a in activities)} Auto Scaling group scaling activities")
    context.say(f"  unserved demand: {summary['unservedDemandTotal']:,.0f} CPU unit-minutes")
    context.say(f"  wrote {out}/ (metrics, events, tasks, activities, summary.json)")
    context.say(f"  report: {paths['png']} and {paths['html']}")
