"""The S3 scaling scenario: a day of target tracking over capacity providers with managed scaling.

:func:`s3_scenario` returns a scenario document (what ``quaymaster simulate``
reads) for the figure of the scaling work: 24 hours at 1-minute metrics,
``services`` services with target tracking on CPU over a diurnal load (peak
``peak_ratio`` times the trough, ``noise`` relative noise), on three capacity
providers whose Auto Scaling groups each span three zones.

Sizes (the defaults): tasks of 1024 CPU units and 1024 MiB, four to a
c5.xlarge/m5.xlarge/r5.xlarge (4096 CPU units). A service's peak demand is
about 40 tasks' worth at the 60% target (24,576 CPU units, between half and
one and a half times that across services), its trough a tenth. The day
starts at 00:00 UTC at the trough with 50 instances, the peak is at 12:00, so
the cluster grows to about 2,000 instances and falls back to the trough's
level by the end of the day (a tenth of the peak: the load's own ratio).
"""

from __future__ import annotations

from quaymaster.errors import InvalidParameterError

ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
INSTANCE_TYPES = ("c5.xlarge", "m5.xlarge", "r5.xlarge")
CLUSTER = "s3"
TASK_CPU = 1024
TASK_MEMORY = 1024
TARGET_CPU = 60.0
#: a service's peak demand at scale 1.0: 40 tasks at the target utilization
PEAK_CPU = 40 * TASK_CPU * TARGET_CPU / 100


def _check(name: str, value, valid, what: str) -> None:
    if not valid(value):
        raise InvalidParameterError(f"{name}: {what}, found {value!r}", field=name, value=value)


def _call(operation: str, request: dict, at: str = "0s") -> dict:
    return {"at": at, "operation": operation, "request": request}


def capacity_provider_calls(cluster: str, instance_types, zones, instances: int, max_instances: int) -> list[dict]:
    """One Auto Scaling group over ``zones`` and one capacity provider (managed scaling at 100%,
    managed termination protection) per instance type, ``instances`` split over the groups,
    all the cluster's providers in its default strategy at equal weights."""
    calls = []
    count = len(instance_types)
    for k, kind in enumerate(instance_types):
        calls.append(_call("autoscaling:CreateAutoScalingGroup", {
            "AutoScalingGroupName": f"{cluster}-asg{k}", "MinSize": 0, "MaxSize": max_instances,
            "DesiredCapacity": instances // count + (k < instances % count), "AvailabilityZones": list(zones),
            "MixedInstancesPolicy": {"LaunchTemplate": {
                "LaunchTemplateSpecification": {"LaunchTemplateName": "ecs"},
                "Overrides": [{"InstanceType": kind}]}}}))
        calls.append(_call("ecs:CreateCapacityProvider", {"name": f"{cluster}-cp{k}", "autoScalingGroupProvider": {
            "autoScalingGroupArn": f"{cluster}-asg{k}",
            "managedScaling": {"status": "ENABLED", "targetCapacity": 100, "instanceWarmupPeriod": 60,
                               "maximumScalingStepSize": 1000},
            "managedTerminationProtection": "ENABLED"}}))
    calls.append(_call("ecs:PutClusterCapacityProviders", {
        "cluster": cluster, "capacityProviders": [f"{cluster}-cp{k}" for k in range(count)],
        "defaultCapacityProviderStrategy": [{"capacityProvider": f"{cluster}-cp{k}", "weight": 1}
                                            for k in range(count)]}))
    return calls


def tracked_service_calls(cluster: str, name: str, *, cpu: int, memory: int, target: float = TARGET_CPU,
                          max_capacity: int = 200) -> list[dict]:
    """A service of one task (``cpu`` units, ``memory`` MiB) spread over zones then bin-packed on
    CPU, starting at one task, with target tracking on its average CPU at ``target`` percent."""
    resource = f"service/{cluster}/{name}"
    scalable = {"ServiceNamespace": "ecs", "ResourceId": resource, "ScalableDimension": "ecs:service:DesiredCount"}
    return [
        _call("ecs:RegisterTaskDefinition", {"family": name, "containerDefinitions": [
            {"name": "app", "image": name, "cpu": cpu, "memory": memory}]}),
        _call("ecs:CreateService", {
            "cluster": cluster, "serviceName": name, "taskDefinition": name, "desiredCount": 1,
            "placementStrategy": [{"type": "spread", "field": "attribute:ecs.availability-zone"},
                                  {"type": "binpack", "field": "cpu"}]}),
        _call("application-autoscaling:RegisterScalableTarget", {**scalable, "MinCapacity": 1,
                                                                  "MaxCapacity": max_capacity}),
        _call("application-autoscaling:PutScalingPolicy", {
            **scalable, "PolicyName": "cpu", "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": target, "ScaleOutCooldown": 60, "ScaleInCooldown": 120,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}}),
    ]


def _service(i: int, scale: float, peak_ratio: float, noise: float) -> tuple[list, dict]:
    name = f"svc{i:03d}"
    high = round(PEAK_CPU * scale * (0.5 + (i % 11) / 10))
    workload = {"service": f"{CLUSTER}/{name}", "model": "diurnal", "low": round(high / peak_ratio),
                "high": high, "peak": "12:00", "noise": noise}
    return tracked_service_calls(CLUSTER, name, cpu=TASK_CPU, memory=TASK_MEMORY), workload


def s3_scenario(services: int = 200, *, duration: str = "24h", instances: int = 50, scale: float = 1.0,
                peak_ratio: float = 10.0, noise: float = 0.05, seed: int = 0, tick: str = "15s") -> dict:
    """The S3 scenario document (see the module's docstring).

    ``scale`` multiplies every service's load (0.1: a tenth of the instances);
    ``instances`` is the groups' desired capacity at the start, split over the three.
    """
    _check("services", services, lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 1000,
           "a whole number of services from 1 to 1000")
    _check("instances", instances, lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
           "a whole number of instances >= 0")
    for name, value in (("scale", scale), ("peak_ratio", peak_ratio)):
        _check(name, value, lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0,
               "a positive number")
    _check("noise", noise, lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < 1,
           "a relative noise in [0, 1)")
    max_instances = max(10, instances, round(2_000 * scale * services / 200))
    calls = [_call("ecs:CreateCluster", {"clusterName": CLUSTER}),
             *capacity_provider_calls(CLUSTER, INSTANCE_TYPES, ZONES, instances, max_instances)]
    workloads = []
    for i in range(services):
        service_calls, workload = _service(i, scale, peak_ratio, noise)
        calls += service_calls
        workloads.append(workload)
    return {"seed": seed, "start": "2026-01-05T00:00:00Z", "duration": duration, "tick": tick,
            "calls": calls, "workloads": workloads}
