"""Scaling policies as the per-minute decision reads them, parsed from API requests.

``parse_target_tracking`` and ``parse_step_scaling`` take the configuration
members of PutScalingPolicy (botocore's shapes, already type-checked) and
refuse what Application Auto Scaling refuses, with ValidationException naming
the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from quaymaster.errors import ServiceError

DEFAULT_COOLDOWN_S = 300
MAX_STEPS = 20
# The service metrics each predefined metric type reads (what ECS publishes per minute).
PREDEFINED_METRICS = {
    "ECSServiceAverageCPUUtilization": "CPUUtilization",
    "ECSServiceAverageMemoryUtilization": "MemoryUtilization",
    "ALBRequestCountPerTarget": "RequestCountPerTarget",
}
COMPARISONS = {
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}
ADJUSTMENT_TYPES = ("ChangeInCapacity", "ExactCapacity", "PercentChangeInCapacity")


def invalid(field: str, value, why: str) -> ServiceError:
    return ServiceError("ValidationException", f"{field}: {why} (got {value!r})")


@dataclass(frozen=True)
class TargetTrackingPolicy:
    name: str
    metric: str                 # the key of the target's metric series
    target: float
    scale_out_cooldown_s: int = DEFAULT_COOLDOWN_S
    scale_in_cooldown_s: int = DEFAULT_COOLDOWN_S
    disable_scale_in: bool = False


@dataclass(frozen=True)
class StepAdjustment:
    lower: float | None         # relative to the threshold; None is minus infinity
    upper: float | None         # None is plus infinity
    adjustment: int


@dataclass(frozen=True)
class StepAlarm:
    """A CloudWatch alarm on one metric series, evaluated over 1-minute periods."""

    name: str
    metric: str
    threshold: float
    comparison: str
    evaluation_periods: int = 1


@dataclass(frozen=True)
class StepScalingPolicy:
    name: str
    adjustment_type: str
    steps: tuple[StepAdjustment, ...]
    min_adjustment_magnitude: int | None = None
    cooldown_s: int = DEFAULT_COOLDOWN_S
    alarms: tuple[StepAlarm, ...] = ()


def _cooldown(config: Mapping, key: str, field: str) -> int:
    value = config.get(key, DEFAULT_COOLDOWN_S)
    if value < 0:
        raise invalid(f"{field}.{key}", value, "must not be negative")
    return value


def parse_target_tracking(name: str, config: Mapping | None) -> TargetTrackingPolicy:
    field = "TargetTrackingScalingPolicyConfiguration"
    if config is None:
        raise invalid(field, None, "is required for a TargetTrackingScaling policy")
    target = config["TargetValue"]
    if not math.isfinite(target) or target <= 0:
        raise invalid(f"{field}.TargetValue", target, "must be a positive number")
    predefined = config.get("PredefinedMetricSpecification")
    custom = config.get("CustomizedMetricSpecification")
    if (predefined is None) == (custom is None):
        raise invalid(field, sorted(k for k in config if k.endswith("MetricSpecification")),
                      "give exactly one of PredefinedMetricSpecification and "
                      "CustomizedMetricSpecification")
    if predefined is not None:
        kind = predefined["PredefinedMetricType"]
        if kind not in PREDEFINED_METRICS:
            raise invalid(f"{field}.PredefinedMetricSpecification.PredefinedMetricType", kind,
                          f"is not a metric of an ECS service (one of {sorted(PREDEFINED_METRICS)})")
        metric = PREDEFINED_METRICS[kind]
    else:
        assert custom is not None
        metric = custom.get("MetricName")
        if not metric:
            raise invalid(f"{field}.CustomizedMetricSpecification.MetricName", metric,
                          "is required (the name of the series the metric is read from)")
    return TargetTrackingPolicy(name, metric, float(target),
                                _cooldown(config, "ScaleOutCooldown", field),
                                _cooldown(config, "ScaleInCooldown", field),
                                bool(config.get("DisableScaleIn", False)))


def _check_steps(steps: tuple[StepAdjustment, ...], field: str) -> None:
    """Application Auto Scaling's rules: at most 20, no gaps, no overlaps, one open end each way."""
    if not steps:
        raise invalid(f"{field}.StepAdjustments", [], "at least one step adjustment is required")
    if len(steps) > MAX_STEPS:
        raise invalid(f"{field}.StepAdjustments", len(steps), f"at most {MAX_STEPS} step adjustments")
    for index, step in enumerate(steps):
        where = f"{field}.StepAdjustments[{index}]"
        for name, bound in (("MetricIntervalLowerBound", step.lower), ("MetricIntervalUpperBound", step.upper)):
            if bound is not None and not math.isfinite(bound):
                raise invalid(f"{where}.{name}", bound, "must be a finite number (leave it out for infinity)")
        if step.lower is None and step.upper is None and len(steps) > 1:
            raise invalid(where, "null bounds", "only a single step adjustment may leave both "
                          "bounds null")
        if step.lower is not None and step.upper is not None and step.upper <= step.lower:
            raise invalid(f"{where}.MetricIntervalUpperBound", step.upper,
                          f"must be greater than the lower bound {step.lower}")
    def low(s: StepAdjustment) -> float:
        return -math.inf if s.lower is None else s.lower

    order = sorted(range(len(steps)), key=lambda i: (low(steps[i]), i))
    for before, after in zip(order, order[1:]):
        end = steps[before].upper
        upper = math.inf if end is None else end
        lower = low(steps[after])
        if upper > lower:
            raise invalid(f"{field}.StepAdjustments[{after}].MetricIntervalLowerBound", steps[after].lower,
                          f"overlaps step adjustment {before}, which ends at {steps[before].upper}")
        if upper < lower:
            raise invalid(f"{field}.StepAdjustments[{after}].MetricIntervalLowerBound", steps[after].lower,
                          f"leaves a gap after step adjustment {before}, which ends at {upper}")


def parse_step_scaling(name: str, config: Mapping | None) -> StepScalingPolicy:
    field = "StepScalingPolicyConfiguration"
    if config is None:
        raise invalid(field, None, "is required for a StepScaling policy")
    kind = config.get("AdjustmentType")
    if kind not in ADJUSTMENT_TYPES:
        raise invalid(f"{field}.AdjustmentType", kind, f"must be one of {list(ADJUSTMENT_TYPES)}")
    steps = tuple(StepAdjustment(s.get("MetricIntervalLowerBound"), s.get("MetricIntervalUpperBound"),
                                 s["ScalingAdjustment"]) for s in config.get("StepAdjustments", ()))
    _check_steps(steps, field)
    if kind == "ExactCapacity" and any(s.adjustment < 0 for s in steps):
        bad = next(i for i, s in enumerate(steps) if s.adjustment < 0)
        raise invalid(f"{field}.StepAdjustments[{bad}].ScalingAdjustment", steps[bad].adjustment,
                      "an ExactCapacity adjustment cannot be negative")
    magnitude = config.get("MinAdjustmentMagnitude")
    if magnitude is not None:
        if kind != "PercentChangeInCapacity":
            raise invalid(f"{field}.MinAdjustmentMagnitude", magnitude,
                          "is only valid with AdjustmentType PercentChangeInCapacity")
        if magnitude < 1:
            raise invalid(f"{field}.MinAdjustmentMagnitude", magnitude, "must be at least 1")
    aggregation = config.get("MetricAggregationType", "Average")
    if aggregation not in ("Average", "Minimum", "Maximum"):
        raise invalid(f"{field}.MetricAggregationType", aggregation,
                      "must be Average, Minimum or Maximum")
    return StepScalingPolicy(name, kind, steps, magnitude, _cooldown(config, "Cooldown", field))
