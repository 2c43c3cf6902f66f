"""A day of one service driven minute by minute through the scaling layer's interfaces, as the
region calls them: workload -> metrics -> scheduled actions -> policies -> managed scaling -> ASG.

Tasks start at once and pack onto instances by CPU (a stand-in for placement, which the region
does); everything else is the real code."""

import math

import numpy as np

from quaymaster.scaling.appautoscaling import ApplicationAutoScaling
from quaymaster.scaling.autoscaling_api import AutoScaling
from quaymaster.scaling.managed import ManagedScaling
from quaymaster.scaling.providers import CapacityProviderScaling, ProviderView
from quaymaster.scaling.records import ServiceView
from quaymaster.workloads import minute_metrics, parse_workload

MIN = 60_000
RID = "service/prod/web"
KEY = {"ServiceNamespace": "ecs", "ResourceId": RID, "ScalableDimension": "ecs:service:DesiredCount"}
TASK_CPU, TASK_MEMORY = 1024, 2048


def simulate(seed):
    now = [0]
    clock = lambda: now[0]  # noqa: E731
    aas = ApplicationAutoScaling(clock=clock, seed=seed)
    asg = AutoScaling(clock=clock, seed=seed, boot_seconds=90)
    providers = CapacityProviderScaling(asg)
    asg.create_auto_scaling_group({"AutoScalingGroupName": "nodes", "MinSize": 0, "MaxSize": 50,
                                   "DesiredCapacity": 2, "AvailabilityZones": ["a", "b", "c"],
                                   "LaunchTemplate": {"LaunchTemplateName": "ecs", "InstanceType": "m5.xlarge"}})
    aas.register_scalable_target({**KEY, "MinCapacity": 2, "MaxCapacity": 60})
    aas.put_scaling_policy({**KEY, "PolicyName": "cpu50", "PolicyType": "TargetTrackingScaling",
                            "TargetTrackingScalingPolicyConfiguration": {
                                "TargetValue": 50.0, "PredefinedMetricSpecification": {
                                    "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}})
    settings = ManagedScaling(target_capacity=100, instance_warmup_period=120)
    workload = parse_workload({"service": "prod/web", "model": "diurnal", "low": 2000, "high": 20000,
                               "noise": 0.05})
    demand = workload.demand(np.arange(1440) * MIN, start_ms=0, seed=seed)
    desired, cpu_series, rows = 2, [], []
    registered: list[str] = []
    for minute in range(1440):
        now[0] = minute * MIN
        for action in asg.reconcile(now[0]):
            if action.kind == "register":
                registered.append(action.instance_id)
            elif action.kind == "terminate" and action.instance_id in registered:
                registered.remove(action.instance_id)
        slots = len(registered) * (4096 // TASK_CPU)
        running = min(desired, slots)
        metrics = minute_metrics(demand.cpu[minute], demand.memory[minute], demand.requests[minute],
                                 running, running, TASK_CPU, TASK_MEMORY)
        cpu_series.append(float(metrics["CPUUtilization"]))
        for change in aas.run_scheduled_actions(now[0], {RID: desired}):
            desired = change.to_count
        for change in aas.run_policies(now[0], {RID: ServiceView(
                running, desired, {"CPUUtilization": np.array(cpu_series)})}):
            desired = change.to_count
        waiting = max(0, desired - slots)
        busy = frozenset(registered[:math.ceil(min(desired, slots) / 4)])
        outcome = providers.run(now[0], [ProviderView(
            "cp", "nodes", settings, busy, np.array([[TASK_CPU, TASK_MEMORY, 0, 0]] * waiting).reshape(-1, 4))])[0]
        rows.append((minute, desired, running, outcome.n, outcome.m, outcome.reservation,
                     float(metrics["UnservedDemand"])))
    return rows, aas


def test_a_day_tracks_the_load_and_is_reproducible():
    rows, aas = simulate(7)
    assert rows == simulate(7)[0]
    assert rows != simulate(8)[0]
    desired = np.array([r[1] for r in rows])
    n = np.array([r[3] for r in rows])
    assert 2 <= desired.min() and desired.max() <= 60
    # the service follows the diurnal load: most tasks near the 14:00 peak, fewest near 02:00
    assert desired[800:880].mean() > 3 * desired[60:180].mean()
    assert n[800:880].mean() > 2 * n[60:180].mean()
    # the reservation is 100 * M / N whenever N > 0
    for _, _, _, count, needed, cpr, _ in rows:
        assert cpr == (100.0 * needed / count if count else (100.0 if needed == 0 else 200.0))
    # after the first hour, unserved demand is a small share of the day's demand
    unserved = sum(r[6] for r in rows[60:])
    assert unserved < 0.05 * 1440 * 11000
    activities = aas.describe_scaling_activities({"ServiceNamespace": "ecs"})["ScalingActivities"]
    counts = [int(a["Description"].split()[-1].rstrip(".")) for a in reversed(activities)]
    ups = sum(b > a for a, b in zip([2] + counts, counts))
    assert ups >= 10 and len(counts) - ups >= 5        # it scales out in the morning, in at night
    assert counts == [c for c in desired[np.r_[True, desired[1:] != desired[:-1]]][1:]]
