"""Scheduled actions: PutScheduledAction's checks, their description and the minute run.

An action runs at the first whole-minute evaluation at or after each of its
run times that lies within [StartTime, EndTime]. A rate() counts from its
StartTime (first run at StartTime) or, without one, from its creation (first
run one interval later). Running an action sets the target's new limits, then
raises the desired count to the new minimum or lowers it to the new maximum.
"""

from __future__ import annotations

from collections.abc import Callable

from quaymaster.scaling.policies import invalid
from quaymaster.scaling.records import (DIMENSION, NAMESPACE, ScalingChange, ScheduledRecord,
                                        TargetRecord, parse_resource_id)
from quaymaster.scaling.schedule import parse_schedule
from quaymaster.scaling.shapes import from_millis, to_millis

__all__ = ["ScheduledRecord", "put", "describe", "run_due"]


def _limits(request: dict, previous: ScheduledRecord | None) -> tuple[int | None, int | None]:
    action = request.get("ScalableTargetAction")
    if action is None:
        if previous is None:
            raise invalid("ScalableTargetAction", None, "is required: give MinCapacity and/or MaxCapacity")
        return previous.new_min, previous.new_max
    low, high = action.get("MinCapacity"), action.get("MaxCapacity")
    if low is None and high is None:
        raise invalid("ScalableTargetAction", action, "give MinCapacity and/or MaxCapacity")
    if low is not None and low < 0:
        raise invalid("ScalableTargetAction.MinCapacity", low, "must not be negative")
    if high is not None and high < 0:
        raise invalid("ScalableTargetAction.MaxCapacity", high, "must not be negative")
    if low is not None and high is not None and high < low:
        raise invalid("ScalableTargetAction.MaxCapacity", high, f"must be at least MinCapacity ({low})")
    return low, high


def put(book: dict, request: dict, resource_id: str, *, now_ms: int,
        arn_for: Callable[[str], str]) -> None:
    """Create or update a scheduled action (checked completely before anything changes)."""
    name = request["ScheduledActionName"]
    previous = book.get((resource_id, name))
    expression = request.get("Schedule", previous.expression if previous else None)
    if expression is None:
        raise invalid("Schedule", None, "is required for a new scheduled action")
    timezone = request.get("Timezone", previous.timezone if previous else None)
    schedule = parse_schedule(expression, timezone)
    start = (to_millis(request["StartTime"], field="StartTime") if "StartTime" in request
             else previous.start_ms if previous else None)
    end = (to_millis(request["EndTime"], field="EndTime") if "EndTime" in request
           else previous.end_ms if previous else None)
    if start is not None and end is not None and end <= start:
        raise invalid("EndTime", request.get("EndTime"), "must be later than StartTime")
    new_min, new_max = _limits(request, previous)
    created = previous.created_ms if previous else now_ms
    arn = previous.arn if previous else arn_for(name)
    record = ScheduledRecord(resource_id, name, arn, created, expression, timezone, schedule, start,
                             end, new_min, new_max, None)
    record.next_ms = _first_run(record, now_ms)
    book[(resource_id, name)] = record


def _anchor(record: ScheduledRecord) -> int:
    return record.start_ms if record.start_ms is not None else record.created_ms + \
        (record.schedule.period_ms or 0)


def _first_run(record: ScheduledRecord, now_ms: int) -> int | None:
    after = now_ms - 1  # a run due exactly now still counts
    if record.start_ms is not None:
        after = max(after, record.start_ms - 1)
    return _bounded(record, record.schedule.next_after(after, _anchor(record)))


def _bounded(record: ScheduledRecord, run_ms: int | None) -> int | None:
    if run_ms is None or (record.end_ms is not None and run_ms > record.end_ms):
        return None
    return run_ms


def describe(record: ScheduledRecord) -> dict:
    item = {"ScheduledActionName": record.name, "ScheduledActionARN": record.arn,
            "ServiceNamespace": NAMESPACE, "Schedule": record.expression,
            "ResourceId": record.resource_id, "ScalableDimension": DIMENSION,
            "CreationTime": from_millis(record.created_ms)}
    action: dict[str, int] = {}
    if record.timezone is not None:
        item["Timezone"] = record.timezone
    if record.start_ms is not None:
        item["StartTime"] = from_millis(record.start_ms)
    if record.end_ms is not None:
        item["EndTime"] = from_millis(record.end_ms)
    if record.new_min is not None:
        action["MinCapacity"] = record.new_min
    if record.new_max is not None:
        action["MaxCapacity"] = record.new_max
    item["ScalableTargetAction"] = action
    return item


def _apply(record: ScheduledRecord, target: TargetRecord, desired: int) -> int:
    if record.new_min is not None:
        target.min_capacity = record.new_min
    if record.new_max is not None:
        target.max_capacity = record.new_max
    if target.max_capacity < target.min_capacity:  # one limit moved past the other: the new one wins
        if record.new_min is not None:
            target.max_capacity = target.min_capacity
        else:
            target.min_capacity = target.max_capacity
    return max(target.min_capacity, min(target.max_capacity, desired))


def run_due(book: dict, targets: dict[str, TargetRecord], now_ms: int,
            desired: dict[str, int]) -> list[ScalingChange]:
    """Run every action whose next run is at or before ``now_ms``, in creation order."""
    changes = []
    for record in list(book.values()):
        if record.next_ms is None or record.next_ms > now_ms:
            continue
        record.next_ms = _bounded(record, record.schedule.next_after(now_ms, _anchor(record)))
        target = targets.get(record.resource_id)
        if target is None or target.suspended.get("ScheduledScalingSuspended"):
            continue
        before = desired.get(record.resource_id)
        if before is None:
            continue
        after = _apply(record, target, before)
        if after != before:
            desired[record.resource_id] = after
            cluster, service = parse_resource_id(record.resource_id)
            changes.append(ScalingChange(now_ms, record.resource_id, cluster, service, before, after,
                                         f"scheduled action name {record.name} was triggered"))
    return changes
