"""Mangled requests to every scaling API method: a ServiceError or success, never another
exception, and a refused call changes nothing."""

import copy

from hypothesis import HealthCheck, given, settings, strategies as st

from quaymaster.errors import ServiceError
from quaymaster.scaling.appautoscaling import ApplicationAutoScaling
from quaymaster.scaling.autoscaling_api import AutoScaling

KEY = {"ServiceNamespace": "ecs", "ResourceId": "service/c/s", "ScalableDimension": "ecs:service:DesiredCount"}
AAS_CALLS = [
    ("register_scalable_target", {**KEY, "MinCapacity": 1, "MaxCapacity": 5,
                                  "SuspendedState": {"DynamicScalingInSuspended": False}}),
    ("put_scaling_policy", {**KEY, "PolicyName": "p", "PolicyType": "TargetTrackingScaling",
                            "TargetTrackingScalingPolicyConfiguration": {
                                "TargetValue": 50.0, "ScaleOutCooldown": 60,
                                "PredefinedMetricSpecification": {
                                    "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}}),
    ("put_scaling_policy", {**KEY, "PolicyName": "s", "PolicyType": "StepScaling",
                            "StepScalingPolicyConfiguration": {
                                "AdjustmentType": "PercentChangeInCapacity", "MinAdjustmentMagnitude": 1,
                                "StepAdjustments": [{"MetricIntervalLowerBound": 0.0,
                                                     "MetricIntervalUpperBound": 10.0,
                                                     "ScalingAdjustment": 10},
                                                    {"MetricIntervalLowerBound": 10.0,
                                                     "ScalingAdjustment": 20}]}}),
    ("put_scheduled_action", {**KEY, "ScheduledActionName": "a", "Schedule": "cron(0 8 ? * MON *)",
                              "Timezone": "UTC", "ScalableTargetAction": {"MinCapacity": 2}}),
    ("put_metric_alarm", {"AlarmName": "x", "MetricName": "CPUUtilization", "Threshold": 1.0,
                          "EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanThreshold"}),
    ("describe_scalable_targets", {"ServiceNamespace": "ecs", "MaxResults": 1}),
    ("describe_scaling_policies", {"ServiceNamespace": "ecs", "ResourceId": "service/c/s"}),
    ("describe_scheduled_actions", {"ServiceNamespace": "ecs"}),
    ("describe_scaling_activities", {"ServiceNamespace": "ecs"}),
    ("delete_scaling_policy", {**KEY, "PolicyName": "p"}),
    ("delete_scheduled_action", {**KEY, "ScheduledActionName": "a"}),
    ("deregister_scalable_target", dict(KEY)),
]
ASG_CALLS = [
    ("create_auto_scaling_group", {"AutoScalingGroupName": "h", "MinSize": 0, "MaxSize": 3,
                                   "AvailabilityZones": ["a"], "MixedInstancesPolicy": {"LaunchTemplate": {
                                       "Overrides": [{"InstanceType": "m5.large"}]}}}),
    ("update_auto_scaling_group", {"AutoScalingGroupName": "g", "MinSize": 0, "MaxSize": 4}),
    ("set_desired_capacity", {"AutoScalingGroupName": "g", "DesiredCapacity": 2}),
    ("set_instance_protection", {"AutoScalingGroupName": "g", "InstanceIds": ["i-1"],
                                 "ProtectedFromScaleIn": True}),
    ("describe_auto_scaling_groups", {"AutoScalingGroupNames": ["g"], "MaxRecords": 1}),
    ("delete_auto_scaling_group", {"AutoScalingGroupName": "g", "ForceDelete": True}),
]
JUNK = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
                 st.text(max_size=8), st.just([]), st.just({}), st.just([{}]), st.just("service/c/s"),
                 st.just("cron(0 8 1 * MON *)"), st.just("Nowhere/City"))


def paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, prefix + (index,))


def mangle(request, path, junk, drop):
    request = copy.deepcopy(request)
    if not path:
        return junk
    holder = request
    for step in path[:-1]:
        holder = holder[step]
    if drop and isinstance(holder, dict):
        del holder[path[-1]]
    else:
        holder[path[-1]] = junk
    return request


def aas_world():
    aas = ApplicationAutoScaling(seed=1)
    for name, request in AAS_CALLS[:5]:
        getattr(aas, name)(copy.deepcopy(request))
    return aas


def aas_state(aas):
    return copy.deepcopy((aas.describe_scalable_targets({"ServiceNamespace": "ecs"}),
                          aas.describe_scaling_policies({"ServiceNamespace": "ecs"}),
                          aas.describe_scheduled_actions({"ServiceNamespace": "ecs"}),
                          {k: (a, v) for k, (a, v) in aas.alarms.step_alarms.items()}))


def asg_world():
    api = AutoScaling(seed=1)
    api.create_auto_scaling_group({"AutoScalingGroupName": "g", "MinSize": 0, "MaxSize": 3,
                                   "DesiredCapacity": 1, "AvailabilityZones": ["a", "b"],
                                   "LaunchTemplate": {"LaunchTemplateName": "abc",
                                                      "InstanceType": "m5.large"}})
    api.reconcile(0)
    return api


@st.composite
def mangled(draw, calls):
    name, request = draw(st.sampled_from(calls))
    path = draw(st.sampled_from(list(paths(request))))
    return name, mangle(request, path, draw(JUNK), draw(st.booleans()))


def _check(world, state, call):
    name, request = call
    before = state(world)
    try:
        getattr(world, name)(request)
    except ServiceError:
        assert state(world) == before
        return


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(mangled(AAS_CALLS))
def test_application_auto_scaling_survives_mangled_requests(call):
    _check(aas_world(), aas_state, call)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(mangled(ASG_CALLS))
def test_auto_scaling_survives_mangled_requests(call):
    _check(asg_world(), lambda api: copy.deepcopy(api.describe_auto_scaling_groups({})), call)
