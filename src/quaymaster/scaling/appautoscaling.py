"""Application Auto Scaling for ECS services: its API in botocore's shapes and the minute runs.

An :class:`ApplicationAutoScaling` is held by a region. API methods take the
request as botocore's ``application-autoscaling`` model names its members and
return the operation's response shape; errors are ``ServiceError`` with the
model's codes. Each whole minute the region calls :meth:`run_scheduled_actions`
and then :meth:`run_policies`, and sets the desired counts they hand back.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping

import numpy as np

from quaymaster.errors import ServiceError
from quaymaster.paging import DecimalOffset, offset_page
from quaymaster.scaling import scheduled
from quaymaster.scaling.alarms import AlarmBook
from quaymaster.scaling.decide import SCALE_IN_MINUTES, decide_target, tracking_quiet
from quaymaster.scaling.policies import (StepScalingPolicy, TargetTrackingPolicy, invalid,
                                         parse_step_scaling, parse_target_tracking)
from quaymaster.scaling.records import (DIMENSION, NAMESPACE, PolicyRecord, ScalingChange,
                                        ServiceView, TargetRecord, check_target_key,
                                        parse_resource_id, required_target_key, uuid_for)
from quaymaster.scaling.recent import RecentPoints
from quaymaster.api_models import check_request
from quaymaster.scaling.shapes import from_millis

SERVICE = "application-autoscaling"
# Application Auto Scaling's quotas per scalable target
MAX_POLICIES_PER_TARGET = 50
MAX_SCHEDULED_ACTIONS_PER_TARGET = 200
_SUSPENDED_KEYS = ("DynamicScalingInSuspended", "DynamicScalingOutSuspended",
                   "ScheduledScalingSuspended")


def _not_found(what: str) -> ServiceError:
    return ServiceError("ObjectNotFoundException", what)


def page(items: list, request: dict, key: str, limit: int = 50,
         bad_token: str = "InvalidNextTokenException", size_member: str = "MaxResults") -> dict:
    """One page of a Describe answer; NextToken is the index of the next item.

    ``size_member`` names the page size (EC2 Auto Scaling's is ``MaxRecords``).
    """
    chunk, token = offset_page(items, request.get("NextToken"), request.get(size_member, limit),
                               DecimalOffset(),
                               lambda bad: ServiceError(bad_token, f"NextToken {bad!r} is not valid"))
    return {key: chunk, **({"NextToken": token} if token is not None else {})}


class ApplicationAutoScaling:
    """Scalable targets, policies, scheduled actions and activities of one region."""

    def __init__(self, *, region: str = "us-east-1", account: str = "123456789012",
                 clock: Callable[[], int] = lambda: 0, seed: int = 0,
                 service_exists: Callable[[str, str], bool] | None = None):
        self.region, self.account, self.clock, self.seed = region, account, clock, seed
        self.service_exists = service_exists
        self.targets: dict[str, TargetRecord] = {}            # by resource id, registration order
        self.policies: dict[tuple[str, str], PolicyRecord] = {}
        self.scheduled: dict[tuple[str, str], scheduled.ScheduledRecord] = {}
        self.alarms = AlarmBook(region=region, account=account)
        self.activities: list[dict] = []                      # ScalingActivity shapes, oldest first
        self._ids = 0

    # -- helpers --------------------------------------------------------------------------
    def _next_uuid(self) -> str:
        self._ids += 1
        return uuid_for(self.seed, self._ids)

    def _target(self, resource_id: str) -> TargetRecord:
        target = self.targets.get(resource_id)
        if target is None:
            raise _not_found(f"No scalable target registered for service namespace: {NAMESPACE}, "
                             f"resource ID: {resource_id}, scalable dimension: {DIMENSION}")
        return target

    def _record_activity(self, change: ScalingChange, description: str) -> None:
        self._ids += 1
        self.activities.append({
            "ActivityId": uuid_for(self.seed ^ 0xAC7, self._ids), "ServiceNamespace": NAMESPACE,
            "ResourceId": change.resource_id, "ScalableDimension": DIMENSION,
            "Description": description, "Cause": change.cause,
            "StartTime": from_millis(change.time_ms), "EndTime": from_millis(change.time_ms),
            "StatusCode": "Successful",
            "StatusMessage": f"Successfully set desired count to {change.to_count}. "
                             "Change successfully fulfilled by ecs."})

    # -- scalable targets -----------------------------------------------------------------
    def register_scalable_target(self, request: dict) -> dict:
        request = check_request(SERVICE, "RegisterScalableTarget", request)
        resource_id = required_target_key(request)
        cluster, service = parse_resource_id(resource_id)
        if self.service_exists is not None and not self.service_exists(cluster, service):
            raise invalid("ResourceId", resource_id, "no such ECS service")
        existing = self.targets.get(resource_id)
        low = request.get("MinCapacity", existing.min_capacity if existing else None)
        high = request.get("MaxCapacity", existing.max_capacity if existing else None)
        if low is None or high is None:
            missing = "MinCapacity" if low is None else "MaxCapacity"
            raise invalid(missing, None, "is required when registering a new scalable target")
        if low < 0:
            raise invalid("MinCapacity", low, "must not be negative")
        if high < low:
            raise invalid("MaxCapacity", high, f"must be at least MinCapacity ({low})")
        suspended = dict(existing.suspended) if existing else {k: False for k in _SUSPENDED_KEYS}
        suspended.update(request.get("SuspendedState", {}))
        if existing is None:
            arn = (f"arn:aws:application-autoscaling:{self.region}:{self.account}:"
                   f"scalable-target/{self._next_uuid().replace('-', '')[:32]}")
            role = request.get("RoleARN", f"arn:aws:iam::{self.account}:role/aws-service-role/"
                               "ecs.application-autoscaling.amazonaws.com/"
                               "AWSServiceRoleForApplicationAutoScaling_ECSService")
            self.targets[resource_id] = TargetRecord(resource_id, low, high, role, arn,
                                                     self.clock(), suspended)
        else:
            existing.min_capacity, existing.max_capacity = low, high
            existing.suspended = suspended
            existing.role_arn = request.get("RoleARN", existing.role_arn)
        return {"ScalableTargetARN": self.targets[resource_id].arn}

    def deregister_scalable_target(self, request: dict) -> dict:
        request = check_request(SERVICE, "DeregisterScalableTarget", request)
        resource_id = required_target_key(request)
        self._target(resource_id)
        del self.targets[resource_id]
        for key in [k for k in self.policies if k[0] == resource_id]:  # AWS deletes them too
            self.alarms.forget_policy(self.policies.pop(key).arn)
        for key in [k for k in self.scheduled if k[0] == resource_id]:
            del self.scheduled[key]
        return {}

    def describe_scalable_targets(self, request: dict) -> dict:
        request = check_request(SERVICE, "DescribeScalableTargets", request)
        check_target_key(request)
        wanted = request.get("ResourceIds")
        items = [{"ServiceNamespace": NAMESPACE, "ResourceId": t.resource_id,
                  "ScalableDimension": DIMENSION, "MinCapacity": t.min_capacity,
                  "MaxCapacity": t.max_capacity, "RoleARN": t.role_arn,
                  "CreationTime": from_millis(t.created_ms), "SuspendedState": dict(t.suspended),
                  "ScalableTargetARN": t.arn}
                 for t in self.targets.values() if wanted is None or t.resource_id in wanted]
        return page(items, request, "ScalableTargets")

    # -- scaling policies -----------------------------------------------------------------
    def put_scaling_policy(self, request: dict) -> dict:
        request = check_request(SERVICE, "PutScalingPolicy", request)
        resource_id = required_target_key(request)
        name = request["PolicyName"]
        kind = request.get("PolicyType", "StepScaling")
        parsed: TargetTrackingPolicy | StepScalingPolicy
        if kind == "TargetTrackingScaling":
            parsed = parse_target_tracking(name, request.get("TargetTrackingScalingPolicyConfiguration"))
            config = copy.deepcopy(request["TargetTrackingScalingPolicyConfiguration"])
        elif kind == "StepScaling":
            parsed = parse_step_scaling(name, request.get("StepScalingPolicyConfiguration"))
            config = copy.deepcopy(request["StepScalingPolicyConfiguration"])
        else:
            raise invalid("PolicyType", kind, "quaymaster supports TargetTrackingScaling and StepScaling")
        self._target(resource_id)
        previous = self.policies.get((resource_id, name))
        if previous is not None and previous.policy_type != kind:
            raise invalid("PolicyType", kind, f"policy {name!r} exists with type {previous.policy_type}")
        if previous is None:
            if sum(1 for key in self.policies if key[0] == resource_id) >= MAX_POLICIES_PER_TARGET:
                raise ServiceError("LimitExceededException", f"{resource_id} already has "
                                   f"{MAX_POLICIES_PER_TARGET} scaling policies")
            arn = (f"arn:aws:autoscaling:{self.region}:{self.account}:scalingPolicy:{self._next_uuid()}:"
                   f"resource/ecs/{resource_id}:policyName/{name}")
            record = PolicyRecord(resource_id, name, kind, arn, self.clock(), config, parsed)
            self.policies[(resource_id, name)] = record
        else:
            record = previous
            record.config, record.parsed = config, parsed
        if kind == "TargetTrackingScaling":
            record.alarms = self.alarms.target_tracking_alarms(resource_id, name)
            return {"PolicyARN": record.arn, "Alarms": copy.deepcopy(record.alarms)}
        return {"PolicyARN": record.arn}

    def delete_scaling_policy(self, request: dict) -> dict:
        request = check_request(SERVICE, "DeleteScalingPolicy", request)
        resource_id = required_target_key(request)
        record = self.policies.pop((resource_id, request["PolicyName"]), None)
        if record is None:
            raise _not_found(f"No scaling policy found for service namespace: {NAMESPACE}, resource ID: "
                             f"{resource_id}, scalable dimension: {DIMENSION}, policy name: "
                             f"{request['PolicyName']}")
        self.alarms.forget_policy(record.arn)
        return {}

    def describe_scaling_policies(self, request: dict) -> dict:
        request = check_request(SERVICE, "DescribeScalingPolicies", request)
        resource_id = check_target_key(request)
        names = request.get("PolicyNames")
        items = []
        for record in self.policies.values():
            if (resource_id is not None and record.resource_id != resource_id) or \
                    (names is not None and record.name not in names):
                continue
            item = {"PolicyARN": record.arn, "PolicyName": record.name, "ServiceNamespace": NAMESPACE,
                    "ResourceId": record.resource_id, "ScalableDimension": DIMENSION,
                    "PolicyType": record.policy_type, "CreationTime": from_millis(record.created_ms),
                    "Alarms": (copy.deepcopy(record.alarms) if record.policy_type == "TargetTrackingScaling"
                               else self.alarms.alarms_of(record.arn))}
            member = ("TargetTrackingScalingPolicyConfiguration"
                      if record.policy_type == "TargetTrackingScaling" else "StepScalingPolicyConfiguration")
            item[member] = copy.deepcopy(record.config)  # the caller may change what it gets
            items.append(item)
        return page(items, request, "ScalingPolicies")

    # -- scheduled actions (scheduled.py) -------------------------------------------------
    def put_scheduled_action(self, request: dict) -> dict:
        request = check_request(SERVICE, "PutScheduledAction", request)
        resource_id = required_target_key(request)
        self._target(resource_id)
        if (resource_id, request["ScheduledActionName"]) not in self.scheduled and sum(
                1 for key in self.scheduled if key[0] == resource_id) >= MAX_SCHEDULED_ACTIONS_PER_TARGET:
            raise ServiceError("LimitExceededException", f"{resource_id} already has "
                               f"{MAX_SCHEDULED_ACTIONS_PER_TARGET} scheduled actions")
        scheduled.put(self.scheduled, request, resource_id, now_ms=self.clock(),
                      arn_for=lambda name: (f"arn:aws:autoscaling:{self.region}:{self.account}:"
                                            f"scheduledAction:{self._next_uuid()}:resource/ecs/"
                                            f"{resource_id}:scheduledActionName/{name}"))
        return {}

    def delete_scheduled_action(self, request: dict) -> dict:
        request = check_request(SERVICE, "DeleteScheduledAction", request)
        resource_id = required_target_key(request)
        if self.scheduled.pop((resource_id, request["ScheduledActionName"]), None) is None:
            raise _not_found(f"No scheduled action found for service namespace: {NAMESPACE}, resource "
                             f"ID: {resource_id}, scalable dimension: {DIMENSION}, scheduled action "
                             f"name: {request['ScheduledActionName']}")
        return {}

    def describe_scheduled_actions(self, request: dict) -> dict:
        request = check_request(SERVICE, "DescribeScheduledActions", request)
        resource_id = check_target_key(request)
        names = request.get("ScheduledActionNames")
        items = [scheduled.describe(r) for r in self.scheduled.values()
                 if (resource_id is None or r.resource_id == resource_id)
                 and (names is None or r.name in names)]
        return page(items, request, "ScheduledActions")

    def describe_scaling_activities(self, request: dict) -> dict:
        request = check_request(SERVICE, "DescribeScalingActivities", request)
        resource_id = check_target_key(request)
        items = [a for a in reversed(self.activities)  # newest first, as AWS lists them
                 if resource_id is None or a["ResourceId"] == resource_id]
        return copy.deepcopy(page(items, request, "ScalingActivities"))

    # -- CloudWatch alarms that drive step policies ---------------------------------------
    def put_metric_alarm(self, request: dict) -> dict:
        """CloudWatch PutMetricAlarm (its shape): an alarm whose AlarmActions name step policies."""
        return self.alarms.put_metric_alarm(request)

    # -- the minute runs ------------------------------------------------------------------
    def run_scheduled_actions(self, now_ms: int, desired: Mapping[str, int]) -> list[ScalingChange]:
        """Step 5 of the clock, scheduled actions: run those due at ``now_ms``.

        ``desired`` maps each target's resource id to the service's desired
        count now. Returns the changes to apply, in the actions' creation order.
        """
        changes = scheduled.run_due(self.scheduled, self.targets, now_ms, dict(desired))
        for change in changes:
            self._record_activity(change, f"Setting desired count to {change.to_count}.")
        return changes

    def run_policies(self, now_ms: int, services: Mapping[str, ServiceView],
                     recent: RecentPoints | None = None) -> list[ScalingChange]:
        """Step 5 of the clock, scaling policies: each target's decision at ``now_ms``.

        ``services`` maps resource ids to what each service looks like after
        the minute's metrics are recorded; targets without a view are skipped.
        ``recent``, when given, holds the last points of the views' series (the quiet test
        reads them there instead of slicing the series).
        """
        changes = []
        tracking_of: dict[str, list] = {}
        steps_of: dict[str, list] = {}
        for record in self.policies.values():  # one pass, in creation order
            if isinstance(record.parsed, TargetTrackingPolicy):
                tracking_of.setdefault(record.resource_id, []).append(record.parsed)
            else:
                steps_of.setdefault(record.resource_id, []).append(
                    self.alarms.attach(record.parsed, record.arn))
        quiet = _quiet_targets(services, tracking_of, steps_of, recent)
        for target in self.targets.values():
            view = services.get(target.resource_id)
            tracking = tracking_of.get(target.resource_id, [])
            steps = steps_of.get(target.resource_id, [])
            if view is None or target.resource_id in quiet or not (tracking or steps):
                continue      # decide_target would keep the desired count and the state
            decision = decide_target(
                now_ms, resource_id=target.resource_id, running=view.running, desired=view.desired,
                min_capacity=target.min_capacity, max_capacity=target.max_capacity,
                metrics=view.metrics, target_tracking=tracking, step_scaling=steps,
                state=target.state,
                scale_in_suspended=view.deployment_in_progress
                or bool(target.suspended.get("DynamicScalingInSuspended")),
                scale_out_suspended=bool(target.suspended.get("DynamicScalingOutSuspended")))
            target.state = decision.state
            if decision.cause is None:
                continue
            cluster, service = parse_resource_id(target.resource_id)
            change = ScalingChange(now_ms, target.resource_id, cluster, service, view.desired,
                                   decision.desired, decision.cause)
            self._record_activity(change, f"Setting desired count to {decision.desired}.")
            changes.append(change)
        return changes


def _quiet_targets(services: Mapping[str, ServiceView], tracking_of: dict, steps_of: dict,
                   recent: RecentPoints | None = None) -> set:
    """The targets with only target-tracking policies, none of which can want anything this
    minute (``decide.tracking_quiet``, over every policy of every target at once): most targets
    most minutes, for which the decision keeps the desired count and the state. The windows
    come from ``recent`` when given, else from the views' series."""
    owners, rows = [], []          # per policy: its target, (running, goal, no scale-in)
    read = []                      # per policy: the metric its series is of
    for resource_id, tracking in tracking_of.items():
        view = services.get(resource_id)
        if view is None or resource_id in steps_of:
            continue
        for policy in tracking:
            owners.append(resource_id)
            rows.append((view.running, policy.target, policy.disable_scale_in))
            read.append(policy.metric)
    if not owners:
        return set()
    columns = np.array(rows, np.float64)
    points = recent.windows(owners, read) if recent is not None else \
        np.array([_last_points(services[owner].metrics.get(metric)) for owner, metric in zip(owners, read)],
                 np.float64)
    quiet = tracking_quiet(columns[:, 0], points[:, -1], columns[:, 1], columns[:, 2] != 0, points)
    return set(owners) - {owner for owner, calm in zip(owners, quiet.tolist()) if not calm}


_NO_POINTS = [math.nan] * SCALE_IN_MINUTES


def _last_points(series) -> list:
    """The series' last SCALE_IN_MINUTES points, NaN-padded in front when it is shorter."""
    if series is None:
        return _NO_POINTS
    tail = list(series[-SCALE_IN_MINUTES:]) if len(series) else []   # numbers: the caller's array makes them floats
    return _NO_POINTS[:SCALE_IN_MINUTES - len(tail)] + tail if len(tail) < SCALE_IN_MINUTES else tail
