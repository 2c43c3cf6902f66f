"""The demo's last step: a few hours of a few services on a virtual clock, then the report picture.

Three services with a daily (diurnal) load run on a small fleet from
midnight through the afternoon peak. Their desired counts change only through
the scenario's own ``UpdateService`` calls (an operator scaling ahead of the
peak): the region does not run Application Auto Scaling policies or
capacity providers yet. When it does, the ``PutScalingPolicy`` and
``CreateCapacityProvider`` calls go into ``_calls`` and the manual
``UpdateService`` calls go away; the report already draws policy targets and
capacity provider panels when the scenario and metrics carry them.
"""

from __future__ import annotations

import json

import pyarrow.parquet as pq

from quaymaster.demo.steps import DemoContext
from quaymaster.fleet import generate_fleet
from quaymaster.simulation import load_scenario
from quaymaster.simulation.report import write_report
from quaymaster.simulation.run import Simulation

CLUSTER = "demo"
SIM_INSTANCES = 12
START = "2026-01-05T00:00:00Z"
DURATION = "16h"
#: name -> (task CPU units, task memory MiB, initial desired count, workload low, high in CPU units)
SERVICES = {"web": (512, 1024, 4, 800, 4_000), "api": (256, 512, 6, 600, 2_000),
            "worker": (1024, 2048, 2, 1_000, 2_000)}
#: (offset, service, desired count): scaling by hand ahead of the 14:00 peak.
MANUAL_SCALING = [("7h", "web", 7), ("8h", "api", 9), ("9h", "web", 10)]


def _calls() -> list[dict]:
    calls = [{"at": "0s", "operation": "ecs:CreateCluster", "request": {"clusterName": CLUSTER}}]
    for name, (cpu, memory, desired, _, _) in SERVICES.items():
        calls.append({"at": "0s", "operation": "ecs:RegisterTaskDefinition", "request": {
            "family": name, "containerDefinitions": [
                {"name": name, "image": name, "cpu": cpu, "memory": memory, "essential": True}]}})
        calls.append({"at": "0s", "operation": "ecs:CreateService", "request": {
            "cluster": CLUSTER, "serviceName": name, "taskDefinition": name, "desiredCount": desired,
            "placementStrategy": [{"type": "spread", "field": "attribute:ecs.availability-zone"}]}})
    # Target tracking plugs in here: application-autoscaling:PutScalingPolicy per service.
    for at, name, desired in MANUAL_SCALING:
        calls.append({"at": at, "operation": "ecs:UpdateService", "request": {
            "cluster": CLUSTER, "service": name, "desiredCount": desired}})
    return calls


def demo_scenario(fleet_path, seed: int) -> dict:
    """The scenario document; ``fleet_path`` is relative to the folder the scenario is written to."""
    return {"seed": seed, "start": START, "duration": DURATION, "calls": _calls(),
            "fleets": [{"cluster": CLUSTER, "instances": str(fleet_path)}],
            "workloads": [{"service": f"{CLUSTER}/{name}", "model": "diurnal", "low": low, "high": high,
                           "peak": "14:00", "noise": 0.05}
                          for name, (_, _, _, low, high) in SERVICES.items()]}


def simulation_step(context: DemoContext) -> None:
    """Simulate the services through the afternoon peak; write the tables, summary and report."""
    out = context.out_dir / "simulation"
    out.mkdir(parents=True, exist_ok=True)
    fleet_path = out / "fleet.parquet"
    pq.write_table(generate_fleet(SIM_INSTANCES, azs=3, seed=context.seed, cluster=CLUSTER), fleet_path)
    document = demo_scenario(fleet_path.name, context.seed)
    (out / "scenario.json").write_text(json.dumps(document, indent=2) + "\n")
    scenario = load_scenario(document, base_dir=out)
    simulation = Simulation(scenario).run()
    simulation.recorder.write(out)
    paths = write_report(simulation.tables(), out, scenario=scenario)
    context.files.update(scenario=out / "scenario.json", report_png=paths["png"], report_html=paths["html"])
    summary = simulation.summary()
    context.say(f"== Simulation: {len(SERVICES)} services with a daily load on {SIM_INSTANCES} instances, "
                f"from midnight through the 14:00 peak ({DURATION}, 1-minute metrics)")
    for name, state in summary["services"].items():
        context.say(f"  {name:<12} desired {state['desiredCount']:>3}  running {state['runningCount']:>3}")
    context.say(f"  unserved demand: {summary['unservedDemandTotal']:,.0f} CPU unit-minutes; "
                f"peak instances {summary['peakInstances']}")
    context.say(f"  wrote {out}/ (metrics, events, tasks, activities, summary.json)")
    context.say(f"  report: {paths['png']} and {paths['html']}")
