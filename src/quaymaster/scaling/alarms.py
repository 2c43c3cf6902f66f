"""CloudWatch alarms as scaling policies see them.

Target-tracking policies own two alarms (named after the policy, as ECS's
are named after it); step policies are driven by alarms made with CloudWatch's
PutMetricAlarm whose ``AlarmActions`` list the policy's ARN. An alarm reads
the service metric named by ``MetricName`` (``CPUUtilization``,
``MemoryUtilization``, ``RequestCountPerTarget`` or a custom series of that
name) over one-minute periods.
"""

from __future__ import annotations

import math
from dataclasses import replace

from quaymaster.scaling.policies import COMPARISONS, StepAlarm, StepScalingPolicy
from quaymaster.api_models import check_request
from quaymaster.scaling.shapes import validation_error

SERVICE = "cloudwatch"


class AlarmBook:
    def __init__(self, *, region: str, account: str):
        self.region, self.account = region, account
        self.step_alarms: dict[str, tuple[StepAlarm, tuple[str, ...]]] = {}  # name -> (alarm, actions)

    def _arn(self, name: str) -> str:
        return f"arn:aws:cloudwatch:{self.region}:{self.account}:alarm:{name}"

    def target_tracking_alarms(self, resource_id: str, policy: str) -> list[dict]:
        names = [f"TargetTracking-{resource_id}-{side}-{policy}" for side in ("AlarmHigh", "AlarmLow")]
        return [{"AlarmName": name, "AlarmARN": self._arn(name)} for name in names]

    def put_metric_alarm(self, request: dict) -> dict:
        request = check_request(SERVICE, "PutMetricAlarm", request)
        name = request["AlarmName"]
        for key in ("MetricName", "Threshold", "ComparisonOperator", "EvaluationPeriods"):
            if key not in request:
                raise validation_error(SERVICE, key, None, "is required for a metric alarm")
        if request["ComparisonOperator"] not in COMPARISONS:
            raise validation_error(SERVICE, "ComparisonOperator", request["ComparisonOperator"],
                                   f"must be one of {sorted(COMPARISONS)}")
        if not math.isfinite(request["Threshold"]):
            raise validation_error(SERVICE, "Threshold", request["Threshold"], "must be a finite number")
        if request["EvaluationPeriods"] < 1:
            raise validation_error(SERVICE, "EvaluationPeriods", request["EvaluationPeriods"],
                                   "must be at least 1")
        if request.get("Period", 60) != 60:
            raise validation_error(SERVICE, "Period", request["Period"],
                                   "service metrics are published once a minute: use 60")
        alarm = StepAlarm(name, request["MetricName"], float(request["Threshold"]),
                          request["ComparisonOperator"], request["EvaluationPeriods"])
        self.step_alarms[name] = (alarm, tuple(request.get("AlarmActions", ())))
        return {}

    def alarms_of(self, policy_arn: str) -> list[dict]:
        return [{"AlarmName": name, "AlarmARN": self._arn(name)}
                for name, (_, actions) in self.step_alarms.items() if policy_arn in actions]

    def attach(self, policy: StepScalingPolicy, policy_arn: str) -> StepScalingPolicy:
        """The policy with the alarms that name it, in the order they were put."""
        alarms = tuple(alarm for alarm, actions in self.step_alarms.values() if policy_arn in actions)
        return replace(policy, alarms=alarms)

    def forget_policy(self, policy_arn: str) -> None:
        """A deleted policy's alarms stay (as in CloudWatch) but no longer act on anything."""
        for name, (alarm, actions) in list(self.step_alarms.items()):
            if policy_arn in actions:
                self.step_alarms[name] = (alarm, tuple(a for a in actions if a != policy_arn))
