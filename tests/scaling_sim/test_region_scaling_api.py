"""Application Auto Scaling, EC2 Auto Scaling, CloudWatch alarms and ECS capacity providers through
Region.handle: what works, and bad input refused with the API's error and nothing changed."""

import copy
import sys
from pathlib import Path

import pytest

from quaymaster.errors import ServiceError
from quaymaster.region import Region

sys.path.insert(0, str(Path(__file__).parent))
from scenario_tools import GROUP, POLICY, TARGET, WEB  # noqa: E402


@pytest.fixture
def region():
    r = Region(seed=3)
    r.handle("ecs", "CreateCluster", {"clusterName": "prod"})
    r.handle("ecs", "RegisterTaskDefinition", WEB)
    r.handle("ecs", "CreateService", {"cluster": "prod", "serviceName": "web", "taskDefinition": "web",
                                      "desiredCount": 0})
    return r


def refused(region, service, operation, request, code):
    with pytest.raises(ServiceError) as caught:
        region.handle(service, operation, request)
    assert caught.value.code == code, caught.value
    return str(caught.value)


def test_policies_reach_the_regions_application_auto_scaling(region):
    region.handle("application-autoscaling", "RegisterScalableTarget", TARGET)
    answer = region.handle("application-autoscaling", "PutScalingPolicy", POLICY)
    assert answer["PolicyARN"].endswith("policyName/cpu50") and len(answer["Alarms"]) == 2
    described = region.handle("application-autoscaling", "DescribeScalingPolicies", {"ServiceNamespace": "ecs"})
    assert [p["PolicyName"] for p in described["ScalingPolicies"]] == ["cpu50"]
    assert region.scaling.aas.policies[("service/prod/web", "cpu50")].arn == answer["PolicyARN"]


def test_step_policy_alarm_through_cloudwatch(region):
    region.handle("application-autoscaling", "RegisterScalableTarget", TARGET)
    step = {**{k: POLICY[k] for k in ("ServiceNamespace", "ResourceId", "ScalableDimension")},
            "PolicyName": "steps", "PolicyType": "StepScaling",
            "StepScalingPolicyConfiguration": {"AdjustmentType": "ChangeInCapacity", "StepAdjustments": [
                {"MetricIntervalLowerBound": 0, "ScalingAdjustment": 2}]}}
    arn = region.handle("application-autoscaling", "PutScalingPolicy", step)["PolicyARN"]
    region.handle("cloudwatch", "PutMetricAlarm", {
        "AlarmName": "high", "MetricName": "CPUUtilization", "Namespace": "AWS/ECS", "Statistic": "Average",
        "Period": 60, "EvaluationPeriods": 1, "Threshold": 70, "ComparisonOperator": "GreaterThanThreshold",
        "AlarmActions": [arn]})
    assert "high" in region.scaling.aas.alarms.step_alarms
    refused(region, "cloudwatch", "PutMetricAlarm", {
        "AlarmName": "bad", "MetricName": "CPUUtilization", "Period": 300, "EvaluationPeriods": 1,
        "Threshold": 70, "ComparisonOperator": "GreaterThanThreshold"}, "InvalidParameterValueException")
    assert "bad" not in region.scaling.aas.alarms.step_alarms


def test_bad_scaling_requests_change_nothing(region):
    refused(region, "application-autoscaling", "PutScalingPolicy", POLICY, "ObjectNotFoundException")
    region.handle("application-autoscaling", "RegisterScalableTarget", TARGET)
    bad = copy.deepcopy(POLICY)
    bad["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"][
        "PredefinedMetricType"] = "EC2SpotFleetRequestAverageCPUUtilization"
    refused(region, "application-autoscaling", "PutScalingPolicy", bad, "ValidationException")
    message = refused(region, "application-autoscaling", "RegisterScalableTarget",
                      {**TARGET, "MinCapacity": 5, "MaxCapacity": 2}, "ValidationException")
    assert "MaxCapacity" in message
    refused(region, "application-autoscaling", "PutScalingPolicy", {**POLICY, "TargetTrackingScalingPolicyConfiguration": "x"},
            "ValidationException")
    assert region.scaling.aas.policies == {}
    assert region.scaling.aas.targets["service/prod/web"].max_capacity == TARGET["MaxCapacity"]
    message = refused(region, "autoscaling", "CreateAutoScalingGroup", {**GROUP, "MinSize": 5, "MaxSize": 2},
                      "ValidationError")
    assert "MaxSize" in message and region.scaling.autoscaling.groups == {}
    refused(region, "ecs", "CreateCapacityProvider", {"name": "cp", "autoScalingGroupProvider": {
        "autoScalingGroupArn": "nope"}}, "InvalidParameterException")
    region.handle("autoscaling", "CreateAutoScalingGroup", GROUP)
    message = refused(region, "ecs", "CreateCapacityProvider", {"name": "cp", "autoScalingGroupProvider": {
        "autoScalingGroupArn": "asg", "managedScaling": {"targetCapacity": 0}}}, "InvalidParameterException")
    assert "targetCapacity" in message and region.capacity_providers == {}
    refused(region, "ecs", "PutClusterCapacityProviders", {"cluster": "prod", "capacityProviders": ["cp"],
                                                           "defaultCapacityProviderStrategy": []},
            "InvalidParameterException")
    refused(region, "ecs", "CreateService", {"cluster": "prod", "serviceName": "api", "taskDefinition": "web",
                                             "capacityProviderStrategy": [{"capacityProvider": "cp"}]},
            "InvalidParameterException")
    assert "api" not in region.clusters["prod"].services
    refused(region, "autoscaling", "DescribeAutoScalingGroups", {"MaxRecords": "x"}, "ValidationError")
    refused(region, "application-autoscaling", "TagResource", {}, "InvalidAction")


def test_capacity_providers_and_cluster_strategy(region):
    region.handle("autoscaling", "CreateAutoScalingGroup", GROUP)
    created = region.handle("ecs", "CreateCapacityProvider", {"name": "cp", "autoScalingGroupProvider": {
        "autoScalingGroupArn": "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:x:"
                               "autoScalingGroupName/asg", "managedScaling": {"targetCapacity": 80}}})
    managed = created["capacityProvider"]["autoScalingGroupProvider"]["managedScaling"]
    assert managed["targetCapacity"] == 80 and managed["status"] == "ENABLED"
    region.handle("ecs", "UpdateCapacityProvider", {"name": "cp", "autoScalingGroupProvider": {
        "managedScaling": {"targetCapacity": 90}}})
    described = region.handle("ecs", "DescribeCapacityProviders", {"capacityProviders": ["cp", "gone"]})
    assert described["capacityProviders"][0]["autoScalingGroupProvider"]["managedScaling"][
        "targetCapacity"] == 90 and described["failures"] == [{"arn": "gone", "reason": "MISSING"}]
    cluster = region.handle("ecs", "PutClusterCapacityProviders", {
        "cluster": "prod", "capacityProviders": ["cp"],
        "defaultCapacityProviderStrategy": [{"capacityProvider": "cp", "weight": 1, "base": 1}]})["cluster"]
    assert cluster["capacityProviders"] == ["cp"]
    refused(region, "ecs", "DeleteCapacityProvider", {"capacityProvider": "cp"}, "ClientException")
    service = region.handle("ecs", "CreateService", {"cluster": "prod", "serviceName": "api",
                                                     "taskDefinition": "web", "desiredCount": 1})["service"]
    assert service["capacityProviderStrategy"] == [{"capacityProvider": "cp", "weight": 1, "base": 1}]
    assert "launchType" not in service
    changed = region.handle("ecs", "UpdateService", {"cluster": "prod", "service": "web",
                                                     "capacityProviderStrategy": [{"capacityProvider": "cp",
                                                                                   "weight": 2}]})["service"]
    assert changed["capacityProviderStrategy"] == [{"capacityProvider": "cp", "weight": 2}]
    assert len(changed["deployments"]) == 2        # a new strategy is a new deployment
    refused(region, "ecs", "UpdateService", {"cluster": "prod", "service": "web", "capacityProviderStrategy": [
        {"capacityProvider": "other", "weight": 1}]}, "InvalidParameterException")
    assert region.clusters["prod"].services["web"].capacity_provider_strategy == [
        {"capacityProvider": "cp", "weight": 2}]
    refused(region, "ecs", "PutClusterCapacityProviders", {"cluster": "prod", "capacityProviders": [],
                                                           "defaultCapacityProviderStrategy": []},
            "ResourceInUseException")
    assert region.clusters["prod"].capacity_providers == ["cp"]
    region.handle("ecs", "DeleteService", {"cluster": "prod", "service": "api", "force": True})
    region.handle("ecs", "DeleteService", {"cluster": "prod", "service": "web", "force": True})
    region.advance(600)
    region.handle("ecs", "PutClusterCapacityProviders", {"cluster": "prod", "capacityProviders": [],
                                                         "defaultCapacityProviderStrategy": []})
    assert region.handle("ecs", "DeleteCapacityProvider", {"capacityProvider": "cp"})[
        "capacityProvider"]["status"] == "INACTIVE"
    assert region.capacity_providers == {}


def test_scheduled_action_raises_the_desired_count_on_the_clock(region):
    rows = []
    region.scaling.activity_sink = lambda *row: rows.append(row)
    region.handle("application-autoscaling", "RegisterScalableTarget", TARGET)
    region.handle("application-autoscaling", "PutScheduledAction", {
        "ServiceNamespace": "ecs", "ResourceId": "service/prod/web",
        "ScalableDimension": "ecs:service:DesiredCount", "ScheduledActionName": "morning",
        "Schedule": "at(2026-01-01T00:03:00)", "ScalableTargetAction": {"MinCapacity": 3}})
    region.advance(150)
    assert region.clusters["prod"].services["web"].desired_count == 0 and rows == []
    region.advance(60)
    assert region.clusters["prod"].services["web"].desired_count == 3
    (row,) = rows
    assert row[0] == region.clock.start + 180_000 and row[2:5] == ("service", "0", "3")
    activities = region.handle("application-autoscaling", "DescribeScalingActivities",
                               {"ServiceNamespace": "ecs"})["ScalingActivities"]
    assert len(activities) == 1


def test_a_scenario_with_a_malformed_scaling_call_stops_before_it_starts():
    from quaymaster.simulation import ScenarioError, load_scenario
    from scenario_tools import scaling_scenario

    document = scaling_scenario()
    document["calls"][1]["request"] = {**GROUP, "MinSize": "zero"}
    with pytest.raises(ScenarioError) as caught:
        load_scenario(document)
    assert caught.value.path == "$.calls[1].request" and "ValidationError" in str(caught.value)
    assert "MinSize" in str(caught.value)
    document = scaling_scenario()
    document["workloads"][0]["peak"] = "25:00"
    with pytest.raises(ScenarioError) as caught:
        load_scenario(document)
    assert caught.value.path == "$.workloads[0].peak"
