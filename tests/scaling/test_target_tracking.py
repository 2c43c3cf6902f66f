"""Target tracking, minute by minute: the alarms, the formula, the 10% rule, cooldowns,
several policies, suspension; and a plain re-implementation compared over random inputs."""

import math

import numpy as np
from hypothesis import given, settings, strategies as st

from quaymaster.scaling.decide import TargetState, decide_target
from quaymaster.scaling.policies import TargetTrackingPolicy

MIN = 60_000
CPU = TargetTrackingPolicy("cpu", "CPUUtilization", 50.0)
MEM = TargetTrackingPolicy("mem", "MemoryUtilization", 60.0)


def decide(cpu=None, mem=None, *, running=4, desired=None, low=1, high=20, policies=(CPU,),
           state=TargetState(), now=100 * MIN, **flags):
    metrics = {}
    if cpu is not None:
        metrics["CPUUtilization"] = np.asarray(cpu, dtype=float)
    if mem is not None:
        metrics["MemoryUtilization"] = np.asarray(mem, dtype=float)
    return decide_target(now, resource_id="service/c/s", running=running,
                         desired=running if desired is None else desired, min_capacity=low,
                         max_capacity=high, metrics=metrics, target_tracking=policies,
                         state=state, **flags)


def test_scale_out_needs_three_minutes_above_target():
    assert decide([50, 80, 90]).cause is None             # 50 is not above 50
    result = decide([60, 80, 90])
    assert result.desired == math.ceil(4 * 90 / 50) == 8
    assert "AlarmHigh-cpu" in result.cause and "triggered policy cpu" in result.cause
    assert decide([80, 90]).cause is None                 # two points are not three
    assert decide([60, np.nan, 90]).cause is None         # a missing point: no decision


def test_scale_in_needs_fifteen_minutes_ten_percent_below():
    assert decide([45.0] * 15).desired == 4               # 45 = 0.9 * 50: the alarm fires...
    result = decide([30.0] * 15)                          # ...but 45 rounds up to 4 tasks
    assert result.desired == math.ceil(4 * 30 / 50) == 3
    assert "AlarmLow-cpu" in result.cause
    assert decide([30.0] * 14).cause is None
    assert decide([30.0] * 14 + [46.0]).cause is None     # 46 > 45: not 10% below
    assert decide([46.0] + [30.0] * 14).cause is None
    assert decide([1.0] * 15, low=3).desired == 3         # clamped at the minimum


def test_disable_scale_in():
    policy = TargetTrackingPolicy("cpu", "CPUUtilization", 50.0, disable_scale_in=True)
    assert decide([10.0] * 15, policies=(policy,)).cause is None
    assert decide([90.0] * 3, policies=(policy,)).desired == 8


def test_clamped_to_max_and_no_activity_when_already_there():
    assert decide([100.0] * 3, high=6).desired == 6
    assert decide([100.0] * 3, desired=6, high=6).cause is None


def test_from_zero_running():
    assert decide([100.0], running=0, low=0).desired == 1
    assert decide([100.0], running=0, low=3).desired == 3
    assert decide([0.0], running=0, low=0).cause is None
    assert decide([np.nan], running=0, low=0).cause is None


def test_no_data_no_decision():
    assert decide(None).cause is None
    assert decide([]).cause is None


def test_scale_out_cooldown_lets_only_a_larger_scale_out_through():
    first = decide([90.0] * 3)                            # 4 -> 8 at minute 100
    assert first.desired == 8
    # one minute later, 5 running (3 still starting), metric 100: proposed 10 > 8 goes ahead
    assert decide([100.0] * 3, running=5, desired=8, state=first.state, now=101 * MIN).desired == 10
    # metric 70 with 5 running: proposed 7, not larger than the 8 of the previous scale-out
    assert decide([70.0] * 3, running=5, desired=8, state=first.state, now=101 * MIN).cause is None
    # the same request after the cooldown: still nothing, since desired is already 8
    assert decide([70.0] * 3, running=8, desired=8, state=first.state, now=106 * MIN).desired == 12


def test_scale_in_waits_for_its_cooldown_and_a_scale_out_ends_it():
    first = decide([20.0] * 15, running=10)               # 10 -> 4
    assert first.desired == 4
    blocked = decide([20.0] * 15, running=4, state=first.state, now=104 * MIN)
    assert blocked.cause is None
    assert decide([20.0] * 15, running=4, state=first.state, now=105 * MIN).desired == 2
    # a scale-out during the scale-in cooldown goes ahead and ends it
    out = decide([20.0] * 12 + [90.0] * 3, running=4, state=first.state, now=102 * MIN)
    assert out.desired == 8
    assert decide([20.0] * 15, running=8, state=out.state, now=103 * MIN).desired == 4


def test_several_policies_out_if_any_in_only_if_all():
    low_cpu, high_mem = [10.0] * 15, [10.0] * 12 + [90.0] * 3
    both = (CPU, MEM)
    assert decide(low_cpu, high_mem, policies=both).desired == math.ceil(4 * 90 / 60)   # out wins
    assert decide(low_cpu, [50.0] * 15, policies=both).cause is None   # memory does not want in
    result = decide([20.0] * 15, [40.0] * 15, policies=both)          # both in: the larger wins
    assert result.desired == max(math.ceil(4 * 20 / 50), math.ceil(4 * 40 / 60)) == 3
    assert result.policy == "mem"
    assert decide([20.0] * 15, None, policies=both).cause is None      # memory has no data
    out = decide([80.0] * 3, [95.0] * 3, policies=both)               # both out: the largest
    assert out.desired == max(math.ceil(4 * 80 / 50), math.ceil(4 * 95 / 60)) == 7


def test_suspension():
    assert decide([10.0] * 15, scale_in_suspended=True).cause is None  # a deployment in progress
    assert decide([90.0] * 3, scale_in_suspended=True).desired == 8
    assert decide([90.0] * 3, scale_out_suspended=True).cause is None
    assert decide([10.0] * 15, scale_out_suspended=True).desired == 1


# -- an independent plain re-implementation, compared over random minutes ------------------

def plain_policy_wish(policy, series, running, low):
    """(kind, capacity) or None, reading the rules as written."""
    if len(series) == 0 or np.isnan(series[-1]):
        return None
    metric = series[-1]
    if running == 0:
        return ("out", max(low, 1)) if metric > 0 else None
    proposed = math.ceil(running * metric / policy.target)
    last3 = series[-3:]
    if len(series) >= 3 and not np.isnan(last3).any() and all(v > policy.target for v in last3):
        if proposed > running:
            return ("out", proposed)
    last15 = series[-15:]
    if len(series) >= 15 and not np.isnan(last15).any() \
            and all(v <= 0.9 * policy.target for v in last15):
        if metric <= 0.9 * policy.target and proposed < running and not policy.disable_scale_in:
            return ("in", proposed)
    return None


def plain_decide(now, policies, metrics, running, desired, low, high, state, in_suspended):
    wishes = [plain_policy_wish(p, metrics[p.metric], running, low) for p in policies]
    outs = []
    for p, wish in zip(policies, wishes):
        if wish is None or wish[0] != "out":
            continue
        capacity = min(high, max(low, wish[1]))
        in_cooldown = (state.last_scale_out_ms is not None
                       and now < state.last_scale_out_ms + p.scale_out_cooldown_s * 1000)
        bar = max(desired, state.last_scale_out_to or 0) if in_cooldown else desired
        if capacity > bar:
            outs.append(capacity)
    if outs:
        return max(outs)
    if in_suspended or not all(w is not None and w[0] == "in" for w in wishes):
        return desired
    ins = []
    for p, wish in zip(policies, wishes):
        capacity = min(high, max(low, wish[1]))
        blocked = (state.last_scale_in_ms is not None
                   and not (state.last_scale_out_ms is not None
                            and state.last_scale_out_ms > state.last_scale_in_ms)
                   and now < state.last_scale_in_ms + p.scale_in_cooldown_s * 1000)
        if not blocked and capacity < desired:
            ins.append(capacity)
    return max(ins) if ins else desired


values = st.one_of(st.floats(0, 150, allow_nan=False), st.just(float("nan")))
series = st.lists(st.one_of(st.floats(0, 150, allow_nan=False), st.sampled_from([45.0, 50.0, 54.0])),
                  min_size=0, max_size=18).map(lambda v: np.array(v, dtype=float))


@st.composite
def scenarios(draw):
    n = draw(st.integers(1, 3))
    policies = tuple(TargetTrackingPolicy(f"p{i}", f"m{i}", draw(st.sampled_from([50.0, 60.0, 75.0])),
                                          draw(st.sampled_from([0, 60, 300])),
                                          draw(st.sampled_from([0, 120, 300])), draw(st.booleans()))
                     for i in range(n))
    metrics = {}
    for p in policies:
        s = draw(series)
        if len(s) and draw(st.booleans()):
            s[draw(st.integers(0, len(s) - 1))] = np.nan
        metrics[p.metric] = s
    low = draw(st.integers(0, 5))
    high = draw(st.integers(low, 40))
    running = draw(st.integers(0, 30))
    desired = draw(st.integers(low, high))
    now = 1000 * MIN
    out_at = draw(st.one_of(st.none(), st.integers(now - 600_000, now)))
    in_at = draw(st.one_of(st.none(), st.integers(now - 600_000, now)))
    state = TargetState(out_at, draw(st.integers(0, 40)) if out_at is not None else None, in_at)
    return now, policies, metrics, running, desired, low, high, state, draw(st.booleans())


@settings(max_examples=300)
@given(scenarios())
def test_decision_matches_plain_reimplementation(scenario):
    now, policies, metrics, running, desired, low, high, state, suspended = scenario
    result = decide_target(now, resource_id="service/c/s", running=running, desired=desired,
                           min_capacity=low, max_capacity=high, metrics=metrics,
                           target_tracking=policies, state=state, scale_in_suspended=suspended)
    expected = plain_decide(now, policies, metrics, running, desired, low, high, state, suspended)
    assert result.desired == expected
    assert (result.cause is None) == (expected == desired)
    assert low <= result.desired <= high or result.desired == desired


@settings(max_examples=60)
@given(st.integers(1, 2), st.lists(st.floats(0, 120, allow_nan=False), min_size=40, max_size=40),
       st.lists(st.floats(0, 120, allow_nan=False), min_size=40, max_size=40),
       st.integers(0, 3), st.sampled_from([0, 120, 300]), st.sampled_from([0, 180, 300]))
def test_minute_by_minute_run_matches_plain_reimplementation(n, first, second, lag, out_cd, in_cd):
    """Forty minutes, the running count following the desired count ``lag`` minutes late; each side
    keeps its own state from minute to minute."""
    policies = tuple(TargetTrackingPolicy(f"p{i}", f"m{i}", 50.0 + 10 * i, out_cd, in_cd)
                     for i in range(n))
    series = {"m0": np.array(first), "m1": np.array(second)}
    low, high = 1, 30
    history = [4] * (lag + 1)          # desired counts; running is the one ``lag`` minutes ago
    state, plain = TargetState(), {"out": None, "to": None, "in": None}
    for minute in range(40):
        now = (1000 + minute) * MIN
        desired, running = history[-1], history[-1 - lag]
        metrics = {p.metric: series[p.metric][:minute + 1] for p in policies}
        result = decide_target(now, resource_id="service/c/s", running=running, desired=desired,
                               min_capacity=low, max_capacity=high, metrics=metrics,
                               target_tracking=policies, state=state)
        expected = plain_decide(now, policies, metrics, running, desired, low, high,
                                TargetState(plain["out"], plain["to"], plain["in"]), False)
        assert result.desired == expected, minute
        if expected > desired:
            plain.update(out=now, to=expected)
        elif expected < desired:
            plain["in"] = now
        state = result.state
        history.append(result.desired)
