"""Step scaling: AWS's documented step and rounding examples, MinAdjustmentMagnitude, cooldown,
and step adjustments with gaps or overlaps refused naming the field."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from quaymaster.errors import ServiceError
from quaymaster.scaling.decide import TargetState, decide_target, percent_adjustment
from quaymaster.scaling.policies import StepAlarm, parse_step_scaling

MIN = 60_000


def policy(kind, steps, alarm, **extra):
    config = {"AdjustmentType": kind, "StepAdjustments": steps, **extra}
    parsed = parse_step_scaling("steps", config)
    from dataclasses import replace
    return replace(parsed, alarms=(alarm,))


def step(lower, upper, adjustment):
    item = {"ScalingAdjustment": adjustment}
    if lower is not None:
        item["MetricIntervalLowerBound"] = lower
    if upper is not None:
        item["MetricIntervalUpperBound"] = upper
    return item


HIGH = StepAlarm("high", "CPUUtilization", 50.0, "GreaterThanOrEqualToThreshold")
LOW = StepAlarm("low", "CPUUtilization", 50.0, "LessThanOrEqualToThreshold")
# AWS's example (EC2 Auto Scaling user guide, step adjustments): a scale-out policy on a 50%
# threshold: [0, 10) +0, [10, 20) +10%, [20, inf) +30%; and a scale-in policy below it.
OUT = policy("PercentChangeInCapacity", [step(0, 10, 0), step(10, 20, 10), step(20, None, 30)], HIGH)
IN = policy("PercentChangeInCapacity", [step(-10, 0, 0), step(-20, -10, -10), step(None, -20, -30)],
            LOW)


def run(pol, metric, running=10, desired=None, state=TargetState(), now=100 * MIN, low=0, high=100):
    return decide_target(now, resource_id="service/c/s", running=running,
                         desired=running if desired is None else desired, min_capacity=low,
                         max_capacity=high, metrics={"CPUUtilization": np.array(metric, dtype=float)},
                         step_scaling=(pol,), state=state)


@pytest.mark.parametrize("metric, expected", [
    (55, 10),     # [0, 10): no change
    (60, 11),     # lower bound inclusive above the threshold: +10% of 10
    (69.9, 11),
    (70, 13),     # +30%
    (100, 13),
    (49, 10),     # the alarm is not in ALARM
])
def test_aws_scale_out_example(metric, expected):
    assert run(OUT, [metric]).desired == expected


@pytest.mark.parametrize("metric, expected", [
    (45, 10),     # (-10, 0]: no change
    (40.5, 10),
    (40, 9),      # -10 is the upper bound of (-20, -10], inclusive below the threshold: -10%
    (31, 9),
    (30, 7),      # -20 falls in (-inf, -20]: -30% of 10
    (0, 7),
    (51, 10),
])
def test_aws_scale_in_example(metric, expected):
    assert run(IN, [metric]).desired == expected


@pytest.mark.parametrize("running, percent, change", [
    # AWS: values above 1 round down (12.7 -> 12), between 0 and 1 up to 1 (0.67 -> 1),
    # between -1 and 0 to -1 (-0.58 -> -1), below -1 toward zero (-6.67 -> -6)
    (127, 10, 12), (67, 1, 1), (58, -1, -1), (667, -1, -6),
    (10, 10, 1), (10, -10, -1), (0, 50, 0), (3, 100, 3), (3, -100, -3),
])
def test_percent_rounding(running, percent, change):
    assert percent_adjustment(running, percent, None) == change


def test_min_adjustment_magnitude():
    # AWS's example: 25% of 4 is 1, MinAdjustmentMagnitude 2 makes it 2
    assert percent_adjustment(4, 25, 2) == 2
    assert percent_adjustment(4, -25, 2) == -2
    assert percent_adjustment(40, 25, 2) == 10
    pol = policy("PercentChangeInCapacity", [step(0, None, 25)], HIGH, MinAdjustmentMagnitude=2)
    assert run(pol, [80], running=4).desired == 6


def test_change_and_exact_capacity():
    change = policy("ChangeInCapacity", [step(0, None, 3)], HIGH)
    assert run(change, [60], running=4).desired == 7
    assert run(change, [60], running=4, high=5).desired == 5
    exact = policy("ExactCapacity", [step(0, None, 12)], HIGH)
    assert run(exact, [60], running=4).desired == 12
    shrink = policy("ChangeInCapacity", [step(None, 0, -2)], LOW)
    assert run(shrink, [10], running=4, low=3).desired == 3


def test_evaluation_periods():
    alarm = StepAlarm("high", "CPUUtilization", 50.0, "GreaterThanThreshold", evaluation_periods=3)
    pol = policy("ChangeInCapacity", [step(0, None, 1)], alarm)
    assert run(pol, [60, 60]).cause is None
    assert run(pol, [50, 60, 60]).cause is None
    assert run(pol, [51, 60, 60]).desired == 11
    assert "monitor alarm high in state ALARM triggered policy steps" in run(pol, [51, 60, 60]).cause


def test_cooldown_adds_only_what_exceeds_the_previous_scale_out():
    pol = policy("ChangeInCapacity", [step(0, 20, 2), step(20, None, 3)], HIGH)
    first = run(pol, [60], running=10)
    assert first.desired == 12
    # two minutes later, still in the cooldown: a +2 adds nothing, a +3 adds only 1
    assert run(pol, [60], running=10, desired=12, state=first.state, now=102 * MIN).cause is None
    assert run(pol, [80], running=10, desired=12, state=first.state, now=102 * MIN).desired == 13
    # after the cooldown (300 s) the full step applies again, from the running count
    assert run(pol, [60], running=12, desired=12, state=first.state, now=105 * MIN).desired == 14


def test_scale_in_cooldown_blocks_further_scale_in():
    pol = policy("ChangeInCapacity", [step(None, 0, -1)], LOW, Cooldown=120)
    first = run(pol, [10], running=10)
    assert first.desired == 9
    assert run(pol, [10], running=9, state=first.state, now=101 * MIN).cause is None
    assert run(pol, [10], running=9, state=first.state, now=102 * MIN).desired == 8


@pytest.mark.parametrize("steps, field, words", [
    ([step(0, 10, 1), step(20, None, 2)], "StepAdjustments[1].MetricIntervalLowerBound", "gap"),
    ([step(0, 15, 1), step(10, None, 2)], "StepAdjustments[1].MetricIntervalLowerBound", "overlaps"),
    ([step(0, None, 1), step(10, None, 2)], "StepAdjustments[1].MetricIntervalLowerBound", "overlaps"),
    ([step(None, 0, 1), step(None, -5, 2)], "MetricIntervalLowerBound", "overlaps"),
    ([step(10, 10, 1)], "StepAdjustments[0].MetricIntervalUpperBound", "greater than"),
    ([step(None, None, 1), step(0, 10, 1)], "StepAdjustments[0]", "both bounds null"),
    ([], "StepAdjustments", "at least one"),
    ([step(i, i + 1, 1) for i in range(21)], "StepAdjustments", "at most 20"),
])
def test_bad_steps_refused(steps, field, words):
    with pytest.raises(ServiceError) as info:
        parse_step_scaling("p", {"AdjustmentType": "ChangeInCapacity", "StepAdjustments": steps})
    assert info.value.code == "ValidationException"
    assert field in info.value.message and words in info.value.message


@pytest.mark.parametrize("config, field", [
    ({"AdjustmentType": "ChangeInCapacity", "StepAdjustments": [step(0, None, 1)],
      "MinAdjustmentMagnitude": 2}, "MinAdjustmentMagnitude"),
    ({"AdjustmentType": "PercentChangeInCapacity", "StepAdjustments": [step(0, None, 1)],
      "MinAdjustmentMagnitude": 0}, "MinAdjustmentMagnitude"),
    ({"AdjustmentType": "Bogus", "StepAdjustments": [step(0, None, 1)]}, "AdjustmentType"),
    ({"StepAdjustments": [step(0, None, 1)]}, "AdjustmentType"),
    ({"AdjustmentType": "ExactCapacity", "StepAdjustments": [step(0, None, -1)]},
     "StepAdjustments[0].ScalingAdjustment"),
    ({"AdjustmentType": "ChangeInCapacity", "StepAdjustments": [step(0, None, 1)], "Cooldown": -1},
     "Cooldown"),
])
def test_bad_configurations_refused(config, field):
    with pytest.raises(ServiceError) as info:
        parse_step_scaling("p", config)
    assert field in info.value.message


def test_twenty_contiguous_steps_accepted():
    steps = [step(None, 0, -1)] + [step(i, i + 1, 1) for i in range(18)] + [step(18, None, 2)]
    assert len(parse_step_scaling("p", {"AdjustmentType": "ChangeInCapacity",
                                        "StepAdjustments": steps}).steps) == 20


# -- a plain re-implementation of one minute of one step policy, compared over random inputs ----



OPS = {"GreaterThanOrEqualToThreshold": lambda v, t: v >= t, "GreaterThanThreshold": lambda v, t: v > t,
       "LessThanThreshold": lambda v, t: v < t, "LessThanOrEqualToThreshold": lambda v, t: v <= t}


def plain_step_minute(kind, bounds, adjustments, magnitude, cooldown, op, threshold, periods, series,
                      running, desired, low, high, now, last_out, last_in):
    window = series[-periods:]
    if len(series) < periods or any(v != v for v in window) or not all(OPS[op](v, threshold)
                                                                       for v in window):
        return desired
    delta = series[-1] - threshold
    chosen = None
    for (lo, up), adjustment in zip(bounds, adjustments):
        lo_v = float("-inf") if lo is None else lo
        up_v = float("inf") if up is None else up
        if lo_v >= 0 or (up_v > 0 and delta >= 0):
            inside = lo_v <= delta < up_v
        else:
            inside = lo_v < delta <= up_v
        if inside:
            chosen = adjustment
            break
    if chosen is None:
        return desired
    if kind == "ExactCapacity":
        target = chosen
    elif kind == "ChangeInCapacity":
        target = running + chosen
    else:
        raw = running * chosen / 100
        change = (int(raw // 1) if raw > 1 else -int((-raw) // 1) if raw < -1
                  else 1 if raw > 0 else -1 if raw < 0 else 0)
        if magnitude and change and abs(change) < magnitude:
            change = magnitude if change > 0 else -magnitude
        target = running + change
    change = target - running
    if change > 0:
        if last_out is not None and now < last_out[0] + cooldown * 1000:
            if change - last_out[1] <= 0:
                return desired
            target = desired + change - last_out[1]
        target = max(low, min(high, target))
        return target if target > desired else desired
    if change < 0:
        if last_in is not None and now < last_in + cooldown * 1000:
            return desired
        target = max(low, min(high, target))
        return target if target < desired else desired
    return desired


@st.composite
def step_cases(draw):
    cuts = sorted(draw(st.sets(st.integers(-30, 30), min_size=1, max_size=5)))
    open_low, open_high = draw(st.booleans()), draw(st.booleans())
    edges = ([None] if open_low else []) + cuts + ([None] if open_high else [])
    if len(edges) < 2:
        edges = [None, cuts[0]]
    bounds = list(zip(edges[:-1], edges[1:]))
    kind = draw(st.sampled_from(["ChangeInCapacity", "ExactCapacity", "PercentChangeInCapacity"]))
    value = st.integers(0, 12) if kind == "ExactCapacity" else st.integers(-60, 60)
    adjustments = draw(st.lists(value, min_size=len(bounds), max_size=len(bounds)))
    magnitude = draw(st.one_of(st.none(), st.integers(1, 4))) if kind == "PercentChangeInCapacity" else None
    order = draw(st.permutations(range(len(bounds))))          # steps given in any order
    steps = [step(bounds[i][0], bounds[i][1], adjustments[i]) for i in order]
    op = draw(st.sampled_from(sorted(OPS)))
    series = draw(st.lists(st.one_of(st.integers(20, 80).map(float), st.just(float("nan"))),
                           min_size=0, max_size=4))
    low = draw(st.integers(0, 3))
    high = draw(st.integers(low, 40))
    now = 1000 * MIN
    last_out = draw(st.one_of(st.none(), st.tuples(st.integers(now - 600_000, now), st.integers(1, 10))))
    last_in = draw(st.one_of(st.none(), st.integers(now - 600_000, now)))
    return (kind, [bounds[i] for i in order], [adjustments[i] for i in order], magnitude, steps,
            draw(st.sampled_from([0, 60, 300])), op, float(draw(st.integers(40, 60))),
            draw(st.integers(1, 3)), series, draw(st.integers(0, 30)), draw(st.integers(low, high)), low,
            high, now, last_out, last_in)


@settings(max_examples=400)
@given(step_cases())
def test_step_minute_matches_plain_reimplementation(case):
    (kind, bounds, adjustments, magnitude, steps, cooldown, op, threshold, periods, series, running,
     desired, low, high, now, last_out, last_in) = case
    extra = {"Cooldown": cooldown}
    if magnitude is not None:
        extra["MinAdjustmentMagnitude"] = magnitude
    pol = policy(kind, steps, StepAlarm("a", "CPUUtilization", threshold, op, periods), **extra)
    state = TargetState(step_out={"steps": last_out} if last_out else {},
                        step_in_ms={"steps": last_in} if last_in is not None else {})
    result = run(pol, series, running=running, desired=desired, state=state, now=now, low=low, high=high)
    expected = plain_step_minute(kind, bounds, adjustments, magnitude, cooldown, op, threshold, periods,
                                 series, running, desired, low, high, now, last_out, last_in)
    assert result.desired == expected
    assert (result.cause is None) == (expected == desired)
