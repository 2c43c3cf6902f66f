"""The scaling part of the boto3 story, against a real ``quaymaster serve``: Application Auto
Scaling (a scalable target, a target-tracking policy, a scheduled action, the activities after
the clock route moved time on) and EC2 Auto Scaling over the query protocol with ECS capacity
providers (a group, a managed capacity provider, the cluster's strategy, a service on it; the
group launches instances that register in the cluster). Every answer is checked against a
Python ``Region`` given the same calls in the same order."""

import datetime as dt
import json

import pytest

from quaymaster.region import Region
from quaymaster.region.dispatch import snake_case
from server_support import Server, client

GROUP = {"AutoScalingGroupName": "asg", "MinSize": 0, "MaxSize": 10, "DesiredCapacity": 0,
         "AvailabilityZones": ["us-east-1a", "us-east-1b"],
         "MixedInstancesPolicy": {"LaunchTemplate": {
             "LaunchTemplateSpecification": {"LaunchTemplateName": "ecs"},
             "Overrides": [{"InstanceType": "c5.xlarge"}]}}}
TARGET = {"ServiceNamespace": "ecs", "ResourceId": "service/fleet/web",
          "ScalableDimension": "ecs:service:DesiredCount"}


def plain(value):
    """An answer without boto3's metadata, times as epoch seconds: comparable across the wire."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return round(value.timestamp(), 3)
    return value


class Twin:
    """Each call to the server through boto3 and to a Python Region, in the same order."""

    def __init__(self, server: Server):
        self.server = server
        self.clients = {name: client(name, server.url)
                        for name in ("ecs", "autoscaling", "application-autoscaling")}
        self.region = Region()

    def call(self, service: str, operation: str, **request):
        served = getattr(self.clients[service], snake_case(operation))(**request)
        local = self.region.handle(service, operation, request)
        assert plain(served) == plain(local), (service, operation)
        return served

    def advance(self, seconds: int) -> None:
        status, _ = self.server.post("/_quaymaster/clock/advance", {"seconds": seconds})
        assert status == 200
        self.region.advance(seconds)


@pytest.fixture(scope="module")
def twin():
    server = Server()
    yield Twin(server)
    server.stop()


def test_capacity_providers_launch_instances_that_register(twin):
    twin.call("ecs", "CreateCluster", clusterName="fleet")
    twin.call("autoscaling", "CreateAutoScalingGroup", **GROUP)      # the query protocol, XML back
    provider = twin.call("ecs", "CreateCapacityProvider", name="cp", autoScalingGroupProvider={
        "autoScalingGroupArn": "asg", "managedTerminationProtection": "DISABLED",
        "managedScaling": {"status": "ENABLED", "targetCapacity": 100, "instanceWarmupPeriod": 60}})
    assert provider["capacityProvider"]["status"] == "ACTIVE"
    cluster = twin.call("ecs", "PutClusterCapacityProviders", cluster="fleet", capacityProviders=["cp"],
                        defaultCapacityProviderStrategy=[{"capacityProvider": "cp", "weight": 1}])
    assert cluster["cluster"]["capacityProviders"] == ["cp"]
    twin.call("ecs", "RegisterTaskDefinition", family="web", containerDefinitions=[
        {"name": "web", "image": "nginx", "cpu": 512, "memory": 1024}])
    service = twin.call("ecs", "CreateService", cluster="fleet", serviceName="web", taskDefinition="web",
                        desiredCount=6, capacityProviderStrategy=[{"capacityProvider": "cp", "weight": 1}])
    assert service["service"]["capacityProviderStrategy"] == [{"capacityProvider": "cp", "weight": 1}]
    assert twin.call("ecs", "ListContainerInstances", cluster="fleet")["containerInstanceArns"] == []
    twin.advance(300)
    groups = twin.call("autoscaling", "DescribeAutoScalingGroups", AutoScalingGroupNames=["asg"])
    launched = groups["AutoScalingGroups"][0]["Instances"]
    assert launched and all(i["LifecycleState"] == "InService" for i in launched)
    arns = twin.call("ecs", "ListContainerInstances", cluster="fleet")["containerInstanceArns"]
    assert len(arns) == len(launched)          # each launched instance registered in the cluster
    described = twin.call("ecs", "DescribeContainerInstances", cluster="fleet", containerInstances=arns)
    assert {d["ec2InstanceId"] for d in described["containerInstances"]} == {i["InstanceId"] for i in launched}
    assert {d["capacityProviderName"] for d in described["containerInstances"]} == {"cp"}
    served = twin.call("ecs", "DescribeServices", cluster="fleet", services=["web"])["services"][0]
    assert served["runningCount"] == 6


def test_application_auto_scaling_policies_and_activities(twin):
    twin.call("application-autoscaling", "RegisterScalableTarget", **TARGET, MinCapacity=2, MaxCapacity=10)
    policy = twin.call("application-autoscaling", "PutScalingPolicy", **TARGET, PolicyName="cpu50",
                       PolicyType="TargetTrackingScaling", TargetTrackingScalingPolicyConfiguration={
                           "TargetValue": 50.0, "ScaleInCooldown": 60, "PredefinedMetricSpecification": {
                               "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
    assert [a["AlarmName"] for a in policy["Alarms"]] == [
        "TargetTracking-service/fleet/web-AlarmHigh-cpu50", "TargetTracking-service/fleet/web-AlarmLow-cpu50"]
    twin.call("application-autoscaling", "PutScheduledAction", **TARGET, ScheduledActionName="peak",
              Schedule="at(2026-01-01T00:20:00)", ScalableTargetAction={"MinCapacity": 8, "MaxCapacity": 10})
    targets = twin.call("application-autoscaling", "DescribeScalableTargets", ServiceNamespace="ecs")
    assert [(t["MinCapacity"], t["MaxCapacity"]) for t in targets["ScalableTargets"]] == [(2, 10)]
    policies = twin.call("application-autoscaling", "DescribeScalingPolicies", ServiceNamespace="ecs")
    assert [p["PolicyName"] for p in policies["ScalingPolicies"]] == ["cpu50"]
    assert twin.call("application-autoscaling", "DescribeScalingActivities",
                     ServiceNamespace="ecs")["ScalingActivities"] == []
    for _ in range(4):           # 00:05 -> 00:25, past the scheduled action
        twin.advance(300)
    activities = twin.call("application-autoscaling", "DescribeScalingActivities",
                           ServiceNamespace="ecs")["ScalingActivities"]
    assert [(a["Cause"], a["StatusCode"]) for a in activities] == [
        ("scheduled action name peak was triggered", "Successful")]
    assert activities[0]["StartTime"] == dt.datetime(2026, 1, 1, 0, 20, tzinfo=dt.timezone.utc)
    twin.advance(600)
    served = twin.call("ecs", "DescribeServices", cluster="fleet", services=["web"])["services"][0]
    assert (served["desiredCount"], served["runningCount"]) == (8, 8)
    twin.call("autoscaling", "DescribeAutoScalingGroups", AutoScalingGroupNames=["asg"])
    twin.call("ecs", "ListContainerInstances", cluster="fleet")


def test_a_restart_from_a_snapshot_goes_on_as_if_nothing_happened(tmp_path):
    # Services, tasks, auto scaling and instances the group launched, snapshotted every 5
    # calls; after kill -9 and a restart (snapshot + journal tail) the server's answers and
    # its next placements, launches and scaling equal those of a Python Region that never stopped.
    server = Server("--state", str(tmp_path), "--snapshot-every", "5")
    twin = Twin(server)
    try:
        test_capacity_providers_launch_instances_that_register(twin)
        twin.call("application-autoscaling", "RegisterScalableTarget", **TARGET, MinCapacity=2, MaxCapacity=10)
        twin.call("application-autoscaling", "PutScheduledAction", **TARGET, ScheduledActionName="peak",
                  Schedule="at(2026-01-01T00:20:00)", ScalableTargetAction={"MinCapacity": 8, "MaxCapacity": 10})
        for i in range(8):      # instances the agent registers beside the group's
            twin.call("ecs", "RegisterContainerInstance", cluster="fleet", instanceIdentityDocument=json.dumps(
                {"instanceId": f"i-{i:017x}", "availabilityZone": "us-east-1a", "instanceType": "m5.large"}),
                totalResources=[{"name": "CPU", "type": "INTEGER", "integerValue": 2048},
                                {"name": "MEMORY", "type": "INTEGER", "integerValue": 4096}])
        twin.call("ecs", "RunTask", cluster="fleet", taskDefinition="web", count=3,
                  placementStrategy=[{"type": "random"}])
    finally:
        server.kill()
    assert list(tmp_path.glob("snapshot-*")), "no snapshot was taken"
    twin.server = Server("--state", str(tmp_path), "--snapshot-every", "5")
    twin.clients = {name: client(name, twin.server.url) for name in twin.clients}
    try:
        twin.call("ecs", "DescribeServices", cluster="fleet", services=["web"])
        twin.call("autoscaling", "DescribeAutoScalingGroups", AutoScalingGroupNames=["asg"])
        twin.call("ecs", "RunTask", cluster="fleet", taskDefinition="web", count=10,
                  placementStrategy=[{"type": "random"}])       # the seeded draws go on alike
        twin.advance(1200)                                       # past the scheduled action
        twin.call("application-autoscaling", "DescribeScalingActivities", ServiceNamespace="ecs")
        arns = twin.call("ecs", "ListContainerInstances", cluster="fleet")["containerInstanceArns"]
        twin.call("ecs", "DescribeContainerInstances", cluster="fleet", containerInstances=arns)
        tasks = twin.call("ecs", "ListTasks", cluster="fleet")["taskArns"]
        twin.call("ecs", "DescribeTasks", cluster="fleet", tasks=tasks)
        assert twin.call("ecs", "DescribeServices", cluster="fleet",
                         services=["web"])["services"][0]["desiredCount"] == 8
    finally:
        twin.server.stop()
