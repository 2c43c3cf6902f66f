"""Application Auto Scaling's API: shapes in and out, modeled errors naming the field,
nothing changed by a refused call, and the minute runs."""

import copy
import datetime as dt

import numpy as np
import pytest
from botocore.validate import validate_parameters

from quaymaster.errors import ServiceError
from quaymaster.scaling.appautoscaling import ApplicationAutoScaling
from quaymaster.scaling.records import ServiceView
from quaymaster.scaling.shapes import service_model

RID = "service/prod/web"
KEY = {"ServiceNamespace": "ecs", "ResourceId": RID, "ScalableDimension": "ecs:service:DesiredCount"}
START = int(dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc).timestamp() * 1000)
MIN = 60_000


class Clock:
    def __init__(self):
        self.now = START

    def __call__(self):
        return self.now


@pytest.fixture
def api():
    aas = ApplicationAutoScaling(clock=Clock(), seed=3)
    aas.register_scalable_target({**KEY, "MinCapacity": 1, "MaxCapacity": 10})
    return aas


def tracking(name="cpu", target=50.0, **extra):
    return {**KEY, "PolicyName": name, "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": target, **extra,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}}


def output_shape(operation):
    return service_model("application-autoscaling").operation_model(operation).output_shape


def snapshot(aas):
    return copy.deepcopy((aas.describe_scalable_targets({"ServiceNamespace": "ecs"}),
                          aas.describe_scaling_policies({"ServiceNamespace": "ecs"}),
                          aas.describe_scheduled_actions({"ServiceNamespace": "ecs"})))


def test_responses_follow_the_model(api):
    api.put_scaling_policy(tracking())
    api.put_scheduled_action({**KEY, "ScheduledActionName": "morning", "Schedule": "cron(0 8 * * ? *)",
                              "Timezone": "Europe/Paris", "ScalableTargetAction": {"MinCapacity": 4}})
    for operation, answer in [
            ("DescribeScalableTargets", api.describe_scalable_targets({"ServiceNamespace": "ecs"})),
            ("DescribeScalingPolicies", api.describe_scaling_policies({"ServiceNamespace": "ecs"})),
            ("DescribeScheduledActions", api.describe_scheduled_actions({"ServiceNamespace": "ecs"}))]:
        validate_parameters(answer, output_shape(operation))   # a response is a valid shape
    target = api.describe_scalable_targets({"ServiceNamespace": "ecs"})["ScalableTargets"][0]
    assert (target["ResourceId"], target["MinCapacity"], target["MaxCapacity"]) == (RID, 1, 10)
    policy = api.describe_scaling_policies({"ServiceNamespace": "ecs"})["ScalingPolicies"][0]
    assert policy["PolicyName"] == "cpu" and len(policy["Alarms"]) == 2
    assert policy["PolicyARN"].endswith(f"resource/ecs/{RID}:policyName/cpu")


@pytest.mark.parametrize("call, request_, code, words", [
    ("register_scalable_target", {**KEY, "ServiceNamespace": "dynamodb", "MinCapacity": 1,
                                  "MaxCapacity": 2}, "ValidationException", "ServiceNamespace"),
    ("register_scalable_target", {**KEY, "ResourceId": "prod/web", "MinCapacity": 1, "MaxCapacity": 2},
     "ValidationException", "ResourceId"),
    ("register_scalable_target", {**KEY, "ScalableDimension": "ecs:service:Foo", "MinCapacity": 1},
     "ValidationException", "ScalableDimension"),
    ("register_scalable_target", {**KEY, "MinCapacity": 5, "MaxCapacity": 2}, "ValidationException",
     "MaxCapacity"),
    ("register_scalable_target", {**KEY, "ResourceId": "service/prod/api", "MinCapacity": 1},
     "ValidationException", "MaxCapacity"),
    ("register_scalable_target", {**KEY, "MinCapacity": "1"}, "ValidationException", "MinCapacity"),
    ("register_scalable_target", {**KEY, "Bogus": 1}, "ValidationException", "Bogus"),
    ("put_scaling_policy", {**tracking(), "ResourceId": "service/prod/api"}, "ObjectNotFoundException",
     "service/prod/api"),
    ("put_scaling_policy", tracking(target=-1.0), "ValidationException", "TargetValue"),
    ("put_scaling_policy", {**KEY, "PolicyName": "x", "PolicyType": "TargetTrackingScaling",
                            "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 5.0}},
     "ValidationException", "MetricSpecification"),
    ("put_scaling_policy", {**KEY, "PolicyName": "x", "PolicyType": "TargetTrackingScaling",
                            "TargetTrackingScalingPolicyConfiguration": {
                                "TargetValue": 5.0, "PredefinedMetricSpecification": {
                                    "PredefinedMetricType": "DynamoDBReadCapacityUtilization"}}},
     "ValidationException", "PredefinedMetricType"),
    ("put_scaling_policy", {**KEY, "PolicyName": "x", "PolicyType": "StepScaling"},
     "ValidationException", "StepScalingPolicyConfiguration"),
    ("put_scaling_policy", {**KEY, "PolicyName": "x", "PolicyType": "PredictiveScaling"},
     "ValidationException", "PolicyType"),
    ("delete_scaling_policy", {**KEY, "PolicyName": "nope"}, "ObjectNotFoundException", "nope"),
    ("deregister_scalable_target", {**KEY, "ResourceId": "service/prod/api"},
     "ObjectNotFoundException", "service/prod/api"),
    ("put_scheduled_action", {**KEY, "ScheduledActionName": "a", "Schedule": "cron(0 8 1 * MON *)",
                              "ScalableTargetAction": {"MinCapacity": 1}}, "ValidationException",
     "Schedule"),
    ("put_scheduled_action", {**KEY, "ScheduledActionName": "a", "Schedule": "cron(0 8 * * ? *)",
                              "Timezone": "Europe/Atlantis", "ScalableTargetAction": {"MinCapacity": 1}},
     "ValidationException", "Timezone"),
    ("put_scheduled_action", {**KEY, "ScheduledActionName": "a", "Schedule": "rate(5 minutes)",
                              "ScalableTargetAction": {"MinCapacity": 5, "MaxCapacity": 2}},
     "ValidationException", "ScalableTargetAction.MaxCapacity"),
    ("put_scheduled_action", {**KEY, "ScheduledActionName": "a", "Schedule": "rate(5 minutes)",
                              "ScalableTargetAction": {}}, "ValidationException", "ScalableTargetAction"),
    ("put_scheduled_action", {**KEY, "ScheduledActionName": "a", "Schedule": "rate(5 minutes)",
                              "StartTime": dt.datetime(2026, 2, 1), "EndTime": dt.datetime(2026, 1, 1),
                              "ScalableTargetAction": {"MinCapacity": 1}}, "ValidationException",
     "EndTime"),
    ("put_scheduled_action", {**KEY, "ScheduledActionName": "a", "ScalableTargetAction":
                              {"MinCapacity": 1}}, "ValidationException", "Schedule"),
    ("delete_scheduled_action", {**KEY, "ScheduledActionName": "nope"}, "ObjectNotFoundException",
     "nope"),
    ("describe_scalable_targets", {"ServiceNamespace": "ecs", "NextToken": "zz"},
     "InvalidNextTokenException", "zz"),
])
def test_bad_requests_refused_and_nothing_changes(api, call, request_, code, words):
    api.put_scaling_policy(tracking())
    before = snapshot(api)
    with pytest.raises(ServiceError) as info:
        getattr(api, call)(request_)
    assert info.value.code == code
    assert words in info.value.message
    assert snapshot(api) == before


def test_update_keeps_what_is_not_given_and_deregister_removes_policies(api):
    api.register_scalable_target({**KEY, "MaxCapacity": 20})
    target = api.describe_scalable_targets({"ServiceNamespace": "ecs"})["ScalableTargets"][0]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 20)
    api.put_scaling_policy(tracking())
    api.deregister_scalable_target(KEY)
    assert api.describe_scaling_policies({"ServiceNamespace": "ecs"})["ScalingPolicies"] == []


def test_pagination(api):
    for i in range(5):
        api.put_scaling_policy(tracking(f"p{i}"))
    first = api.describe_scaling_policies({"ServiceNamespace": "ecs", "MaxResults": 2})
    second = api.describe_scaling_policies({"ServiceNamespace": "ecs", "MaxResults": 2,
                                            "NextToken": first["NextToken"]})
    third = api.describe_scaling_policies({"ServiceNamespace": "ecs", "MaxResults": 2,
                                           "NextToken": second["NextToken"]})
    names = [p["PolicyName"] for r in (first, second, third) for p in r["ScalingPolicies"]]
    assert names == [f"p{i}" for i in range(5)] and "NextToken" not in third


def test_policies_run_each_minute_and_activities_are_recorded(api):
    api.put_scaling_policy(tracking())
    cpu = np.array([80.0, 90.0, 100.0])
    changes = api.run_policies(START + 3 * MIN, {RID: ServiceView(2, 2, {"CPUUtilization": cpu})})
    assert [(c.resource_id, c.from_count, c.to_count) for c in changes] == [(RID, 2, 4)]
    assert api.run_policies(START + 4 * MIN, {RID: ServiceView(2, 4, {"CPUUtilization": cpu})}) == []
    activity = api.describe_scaling_activities({"ServiceNamespace": "ecs", "ResourceId": RID})
    validate_parameters(activity, output_shape("DescribeScalingActivities"))
    assert activity["ScalingActivities"][0]["Description"] == "Setting desired count to 4."
    assert "triggered policy cpu" in activity["ScalingActivities"][0]["Cause"]


def test_suspended_state_is_honoured(api):
    api.register_scalable_target({**KEY, "SuspendedState": {"DynamicScalingOutSuspended": True}})
    api.put_scaling_policy(tracking())
    view = ServiceView(2, 2, {"CPUUtilization": np.array([90.0] * 3)})
    assert api.run_policies(START + 3 * MIN, {RID: view}) == []


def test_step_policy_driven_by_a_metric_alarm(api):
    arn = api.put_scaling_policy({**KEY, "PolicyName": "up", "PolicyType": "StepScaling",
                                  "StepScalingPolicyConfiguration": {
                                      "AdjustmentType": "ChangeInCapacity", "Cooldown": 60,
                                      "StepAdjustments": [{"MetricIntervalLowerBound": 0.0,
                                                           "ScalingAdjustment": 2}]}})["PolicyARN"]
    api.put_metric_alarm({"AlarmName": "busy", "MetricName": "CPUUtilization", "Namespace": "AWS/ECS",
                          "Statistic": "Average", "Period": 60, "EvaluationPeriods": 2,
                          "Threshold": 70.0, "ComparisonOperator": "GreaterThanThreshold",
                          "AlarmActions": [arn]})
    view = lambda cpu: ServiceView(3, 3, {"CPUUtilization": np.array(cpu)})  # noqa: E731
    assert api.run_policies(START, {RID: view([50.0, 90.0])}) == []
    assert [c.to_count for c in api.run_policies(START, {RID: view([80.0, 90.0])})] == [5]
    policy = api.describe_scaling_policies({"ServiceNamespace": "ecs"})["ScalingPolicies"][0]
    assert policy["Alarms"][0]["AlarmName"] == "busy"
    with pytest.raises(ServiceError) as info:
        api.put_metric_alarm({"AlarmName": "x", "MetricName": "CPUUtilization", "Threshold": 1.0,
                              "EvaluationPeriods": 1, "ComparisonOperator": "LessThanLowerThreshold"})
    assert "ComparisonOperator" in info.value.message


def test_scheduled_actions_run_in_their_zone_within_start_and_end(api):
    api.put_scheduled_action({**KEY, "ScheduledActionName": "morning", "Schedule": "cron(0 8 * * ? *)",
                              "Timezone": "Europe/Paris", "EndTime": dt.datetime(2026, 1, 6, 12),
                              "ScalableTargetAction": {"MinCapacity": 5, "MaxCapacity": 8}})
    assert api.run_scheduled_actions(START + 6 * 60 * MIN, {RID: 2}) == []
    changes = api.run_scheduled_actions(START + 7 * 60 * MIN, {RID: 2})   # 08:00 in Paris
    assert [(c.from_count, c.to_count) for c in changes] == [(2, 5)]
    assert "scheduled action name morning" in changes[0].cause
    target = api.describe_scalable_targets({"ServiceNamespace": "ecs"})["ScalableTargets"][0]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (5, 8)
    # a day later it sets the limits again and lowers a desired count above the new max
    api.register_scalable_target({**KEY, "MinCapacity": 1, "MaxCapacity": 10})
    assert [c.to_count for c in api.run_scheduled_actions(START + 31 * 60 * MIN, {RID: 9})] == [8]
    # after the end time it does not run; the old limits are not restored
    assert api.run_scheduled_actions(START + 55 * 60 * MIN, {RID: 9}) == []
    target = api.describe_scalable_targets({"ServiceNamespace": "ecs"})["ScalableTargets"][0]
    assert target["MaxCapacity"] == 8


def test_at_and_rate_actions(api):
    api.put_scheduled_action({**KEY, "ScheduledActionName": "once", "Schedule": "at(2026-01-05T00:10:00)",
                              "ScalableTargetAction": {"MinCapacity": 3}})
    api.put_scheduled_action({**KEY, "ScheduledActionName": "often", "Schedule": "rate(30 minutes)",
                              "ScalableTargetAction": {"MaxCapacity": 4}})
    assert api.run_scheduled_actions(START + 9 * MIN, {RID: 1}) == []
    assert [c.to_count for c in api.run_scheduled_actions(START + 10 * MIN, {RID: 1})] == [3]
    assert api.run_scheduled_actions(START + 11 * MIN, {RID: 3}) == []
    assert [c.to_count for c in api.run_scheduled_actions(START + 30 * MIN, {RID: 9})] == [4]


def test_quotas_per_target(api):
    for i in range(50):
        api.put_scaling_policy(tracking(f"p{i}"))
    api.put_scaling_policy(tracking("p0", target=60.0))          # an update is not a new policy
    with pytest.raises(ServiceError) as info:
        api.put_scaling_policy(tracking("one-too-many"))
    assert info.value.code == "LimitExceededException"
    for i in range(200):
        api.put_scheduled_action({**KEY, "ScheduledActionName": f"a{i}", "Schedule": "rate(1 hour)",
                                  "ScalableTargetAction": {"MinCapacity": 1}})
    with pytest.raises(ServiceError) as info:
        api.put_scheduled_action({**KEY, "ScheduledActionName": "more", "Schedule": "rate(1 hour)",
                                  "ScalableTargetAction": {"MinCapacity": 1}})
    assert info.value.code == "LimitExceededException"


def test_answers_and_requests_do_not_share_state(api):
    request = tracking()
    api.put_scaling_policy(request)
    request["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] = 1.0
    answer = api.describe_scaling_policies({"ServiceNamespace": "ecs"})
    config = answer["ScalingPolicies"][0]["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == 50.0
    config["TargetValue"] = 2.0
    answer["ScalingPolicies"][0]["Alarms"].clear()
    again = api.describe_scaling_policies({"ServiceNamespace": "ecs"})["ScalingPolicies"][0]
    assert again["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 50.0
    assert len(again["Alarms"]) == 2
