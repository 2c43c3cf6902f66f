"""Services over time: S1 (a region of 1,000 services, a rolling deployment of all) and S2 (0 -> 5,000 -> 0).

Run as a script (prints the figures) or under pytest-benchmark:

    PYTHONPATH=src python benchmarks/bench_services.py s1 [--instances 5000 --services 1000]
    PYTHONPATH=src python benchmarks/bench_services.py s2 [--instances 5000 --peak 5000]
    PYTHONPATH=src python -m pytest benchmarks/bench_services.py     # small sizes

S1 reports simulated seconds per wall second, task transitions per wall
second and the virtual time to the first steady state (every service steady).
S2 reports the wall time of each scheduler pass next to how many tasks that
pass started or stopped, and the passes' cost against a pass with nothing to
do, to show a pass costs what changes, not what the cluster holds.
"""

from __future__ import annotations

import argparse
import json
import time

from quaymaster.fleet import generate_fleet
from quaymaster.region import Region

STRATEGIES = [
    None,   # the service default: spread(zone), spread(instanceId)
    [{"type": "binpack", "field": "memory"}],
    [{"type": "spread", "field": "attribute:ecs.availability-zone"}, {"type": "binpack", "field": "cpu"}],
    [{"type": "random"}],
    [{"type": "spread", "field": "instanceId"}],
]


TARGET_GROUP = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/s1"


def _region(instances: int, seed: int = 1) -> Region:
    region = Region(seed=seed)
    region.handle("ecs", "CreateCluster", {"clusterName": "prod"})
    region.register_fleet("prod", generate_fleet(instances, azs=3, seed=seed, cluster="prod",
                                                 account=region.account))
    return region


def _definition(family: str, image: str) -> dict:
    return {"family": family, "containerDefinitions": [
        {"name": "app", "image": image, "cpu": 64, "memory": 128,
         "portMappings": [{"containerPort": 8080, "hostPort": 0}]}]}


def all_steady(region: Region) -> bool:
    for service in region.clusters["prod"].services.values():
        running, pending = service.counts()
        if pending or running != service.desired_count or service.primary.rollout_state != "COMPLETED" \
                or len(service.deployments) > 1:
            return False
    return True


def s1(instances: int = 5000, services: int = 1000, hours: float = 24.0, seed: int = 1) -> dict:
    region = _region(instances, seed)
    start, cpu_start = time.perf_counter(), time.process_time()
    for i in range(services):
        family = f"svc{i}"
        region.handle("ecs", "RegisterTaskDefinition", _definition(family, "app:1"))
        request = {"cluster": "prod", "serviceName": family, "taskDefinition": family,
                   "desiredCount": 1 + (i * 37) % 100}
        if STRATEGIES[i % len(STRATEGIES)]:
            request["placementStrategy"] = STRATEGIES[i % len(STRATEGIES)]
        if i % 5 == 0:      # 20% behind a target group (the S1)
            request["loadBalancers"] = [{"targetGroupArn": f"{TARGET_GROUP}/{i:016x}", "containerName": "app",
                                         "containerPort": 8080}]
        region.handle("ecs", "CreateService", request)
    steady_at = None
    while steady_at is None and region.now - region.clock.start < 2 * 3600_000:
        region.advance(60)
        if all_steady(region):
            steady_at = (region.now - region.clock.start) / 1000
    region.run_until(region.clock.start + 2 * 3600_000)
    for i in range(services):
        family = f"svc{i}"
        region.handle("ecs", "RegisterTaskDefinition", _definition(family, "app:2"))
        region.handle("ecs", "UpdateService", {"cluster": "prod", "service": family, "taskDefinition": f"{family}:2"})
    redeploy_start = region.now
    redeployed_at = None
    while redeployed_at is None and region.now - redeploy_start < 2 * 3600_000:
        region.advance(60)
        if all_steady(region):
            redeployed_at = (region.now - redeploy_start) / 1000
    region.run_until(region.clock.start + int((2 + hours) * 3600_000))
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu_start      # what this process used: steadier than wall on a shared machine
    simulated = (region.now - region.clock.start) / 1000
    tasks = sum(1 for _ in region.clusters["prod"].live_tasks())
    return {"scenario": "S1", "instances": instances, "services": services, "live_tasks": tasks,
            "wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "simulated_s": simulated,
            "simulated_s_per_wall_s": round(simulated / wall, 1),
            "transitions": region.lifecycle.transitions,
            "transitions_per_wall_s": round(region.lifecycle.transitions / wall),
            "first_steady_state_s": steady_at, "deployment_steady_after_s": redeployed_at,
            "scheduler_passes": region.scheduler.passes, "all_steady": all_steady(region)}


def s2(instances: int = 5000, peak: int = 5000, seed: int = 1) -> dict:
    region = _region(instances, seed)
    region.handle("ecs", "RegisterTaskDefinition", _definition("web", "app:1"))
    region.handle("ecs", "CreateService", {"cluster": "prod", "serviceName": "web", "taskDefinition": "web",
                                           "desiredCount": 0})
    service = region.clusters["prod"].services["web"]
    scheduler = region.scheduler
    original = scheduler._pass
    samples = []

    def timed_pass(svc, now):
        before = region.task_count
        stopping = sum(1 for t in svc.all_tasks() if t.desired_status == "STOPPED")
        t0 = time.perf_counter()
        original(svc, now)
        region.host.place_waiting()   # the pass's launches, placed now so their cost is counted
        elapsed = time.perf_counter() - t0
        changed = (region.task_count - before) + \
            (sum(1 for t in svc.all_tasks() if t.desired_status == "STOPPED") - stopping)
        samples.append((changed, elapsed, len(svc.primary.tasks)))

    scheduler._pass = timed_pass
    start = time.perf_counter()
    region.advance(60)
    region.handle("ecs", "UpdateService", {"cluster": "prod", "service": "web", "desiredCount": peak})
    region.advance(3 * 3600)
    up = service.counts()
    region.handle("ecs", "UpdateService", {"cluster": "prod", "service": "web", "desiredCount": 0})
    region.advance(3600)
    wall = time.perf_counter() - start
    busy = [s for s in samples if s[0] > 0]
    idle = [s for s in samples if s[0] == 0]
    per_task = sorted(e / c for c, e, _ in busy)
    return {"scenario": "S2", "instances": instances, "peak": peak, "reached": up, "final": service.counts(),
            "wall_s": round(wall, 3), "passes": len(samples), "busy_passes": len(busy),
            "idle_pass_median_ms": round(1000 * sorted(e for _, e, _ in idle)[len(idle) // 2], 3) if idle else None,
            "busy_pass_median_ms": round(1000 * sorted(e for _, e, _ in busy)[len(busy) // 2], 3) if busy else None,
            "per_changed_task_median_us": round(1e6 * per_task[len(per_task) // 2], 1) if per_task else None,
            "largest_pass": max(((c, round(1000 * e, 2), n) for c, e, n in busy), default=None)}


def test_s1_small(benchmark):
    result = benchmark.pedantic(s1, kwargs={"instances": 200, "services": 40, "hours": 2}, rounds=1)
    assert result["all_steady"] and result["first_steady_state_s"] is not None
    benchmark.extra_info.update(result)


def test_s2_small(benchmark):
    result = benchmark.pedantic(s2, kwargs={"instances": 300, "peak": 600}, rounds=1)
    assert result["reached"] == (600, 0) and result["final"] == (0, 0)
    benchmark.extra_info.update(result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=("s1", "s2"))
    parser.add_argument("--instances", type=int, default=5000)
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--peak", type=int, default=5000)
    parser.add_argument("--hours", type=float, default=24.0)
    args = parser.parse_args()
    if args.scenario == "s1":
        result = s1(args.instances, args.services, args.hours)
    else:
        result = s2(args.instances, args.peak)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
