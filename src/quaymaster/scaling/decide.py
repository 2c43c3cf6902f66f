"""The per-minute decision of a scalable target's dynamic policies (a pure function).

``decide_target`` is called at each whole minute, after that minute's metrics
are recorded: it reads the metric series (one value a minute, the last one the
minute that just ended, NaN where there is no data point), the running and
desired counts and the target's limits, and returns the new desired count,
the cause of the change and the state to remember until the next minute.

The rules (target tracking, step scaling, cooldowns, several policies) are
those of docs/semantics.md, "Scaling".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from quaymaster.scaling.policies import (COMPARISONS, StepAlarm, StepScalingPolicy,
                                         TargetTrackingPolicy)

SCALE_OUT_MINUTES = 3      # the scale-out alarm ECS creates: 3 of 3 one-minute points above target
SCALE_IN_MINUTES = 15      # the scale-in alarm: 15 of 15 points at or below 90% of the target
SCALE_IN_RATIO = 0.9


@dataclass(frozen=True)
class TargetState:
    """What a scalable target remembers between minutes (times in epoch ms)."""

    last_scale_out_ms: int | None = None
    last_scale_out_to: int | None = None       # the capacity the last scale-out set
    last_scale_in_ms: int | None = None
    # per step policy: (time of its last scale-out, the adjustment it made) and its last scale-in
    step_out: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    step_in_ms: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    desired: int               # the new desired count (the current one when nothing changes)
    cause: str | None          # the activity's cause, None when nothing changes
    policy: str | None         # the policy that acted
    state: TargetState


@dataclass(frozen=True)
class _Proposal:
    capacity: int
    policy: str
    alarm: str
    kind: str                  # "out" or "in"
    step_change: int | None = None   # step policies: the adjustment, for the cooldown rule


def _window(series, minutes: int) -> list[float] | None:
    """The last ``minutes`` points as floats, or None when any is missing (no decision without data).

    Windows are a few points long: Python floats beat numpy's per-call overhead here.
    """
    if series is None or len(series) < minutes:
        return None
    window = [float(v) for v in series[len(series) - minutes:]]
    return None if any(v != v for v in window) else window  # v != v: NaN


def _last(series) -> float | None:
    if series is None or len(series) == 0:
        return None
    value = float(series[-1])
    return None if math.isnan(value) else value


def _alarm_name(resource_id: str, policy: str, high: bool) -> str:
    return f"TargetTracking-{resource_id}-{'AlarmHigh' if high else 'AlarmLow'}-{policy}"


def _track(policy: TargetTrackingPolicy, series, running: int, min_capacity: int,
           resource_id: str) -> _Proposal | None:
    """One target-tracking policy's wish this minute (None: it wants nothing)."""
    metric = _last(series)
    if metric is None:
        return None
    if running == 0:
        if metric > 0:
            return _Proposal(max(min_capacity, 1), policy.name,
                             _alarm_name(resource_id, policy.name, True), "out")
        return None
    proposed = math.ceil(running * metric / policy.target)
    if proposed > running:
        high = _window(series, SCALE_OUT_MINUTES)
        if high is not None and all(v > policy.target for v in high):
            return _Proposal(proposed, policy.name, _alarm_name(resource_id, policy.name, True), "out")
        return None
    floor = SCALE_IN_RATIO * policy.target
    if proposed >= running or metric > floor or policy.disable_scale_in:
        return None
    low = _window(series, SCALE_IN_MINUTES)
    if low is not None and all(v <= floor for v in low):
        return _Proposal(proposed, policy.name, _alarm_name(resource_id, policy.name, False), "in")
    return None


def tracking_quiet(running: np.ndarray, last: np.ndarray, target: np.ndarray,
                   disable_scale_in: np.ndarray, windows: np.ndarray | None = None) -> np.ndarray:
    """Per target-tracking policy (arrays, one entry each): whether ``_track`` wants nothing this
    minute, from the running count, the last data point (NaN: none) and the policy's target. The
    same arithmetic as ``_track``'s, elementwise. Without ``windows`` a policy that may wish
    something (its windows decide) is not quiet; ``windows``: per policy the last
    SCALE_IN_MINUTES points of its series, NaN where the series is shorter (the last column is
    ``last``), read as ``_window`` reads them (a window with a NaN, or too short, wants nothing;
    NaN compares false)."""
    with np.errstate(invalid="ignore", over="ignore"):
        proposed = np.ceil(running * last / target)
        idle = (running == 0) & ~(last > 0)
        out = (running > 0) & (proposed > running)
        floor = SCALE_IN_RATIO * target
        scale_in = (running > 0) & (proposed < running) & (last <= floor) & ~disable_scale_in
        if windows is not None:
            out &= (windows[:, windows.shape[1] - SCALE_OUT_MINUTES:] > target[:, None]).all(axis=1)
            scale_in &= (windows <= floor[:, None]).all(axis=1)
    return np.isnan(last) | idle | ~(out | scale_in | (running == 0))


def _in_alarm(alarm: StepAlarm, series) -> bool:
    window = _window(series, alarm.evaluation_periods)
    if window is None:
        return False
    compare = COMPARISONS[alarm.comparison]
    return all(compare(value, alarm.threshold) for value in window)


def step_matches(step, delta: float) -> bool:
    """Whether ``delta`` (metric minus threshold) falls in the step's interval.

    A step at or above the threshold (lower bound >= 0) includes its lower
    bound and excludes its upper one; a step at or below it (upper bound <= 0)
    the other way round; a step spanning the threshold uses the rule of the
    side ``delta`` is on.
    """
    lower = -math.inf if step.lower is None else step.lower
    upper = math.inf if step.upper is None else step.upper
    above = lower >= 0 or (upper > 0 and delta >= 0)
    if above:
        return lower <= delta < upper
    return lower < delta <= upper


def percent_adjustment(running: int, percent: int, min_magnitude: int | None) -> int:
    """``running * percent / 100`` rounded as Application Auto Scaling rounds it."""
    exact = running * percent / 100
    if exact > 1:
        change = math.floor(exact)
    elif exact < -1:
        change = math.ceil(exact)
    elif exact > 0:
        change = 1
    elif exact < 0:
        change = -1
    else:
        change = 0
    if min_magnitude is not None and change != 0 and abs(change) < min_magnitude:
        change = min_magnitude if change > 0 else -min_magnitude
    return change


def step_capacity(policy: StepScalingPolicy, adjustment: int, running: int) -> int:
    if policy.adjustment_type == "ExactCapacity":
        return adjustment
    if policy.adjustment_type == "ChangeInCapacity":
        return running + adjustment
    return running + percent_adjustment(running, adjustment, policy.min_adjustment_magnitude)


def _step(policy: StepScalingPolicy, metrics, running: int, desired: int, now_ms: int,
          state: TargetState) -> _Proposal | None:
    alarm = next((a for a in policy.alarms if _in_alarm(a, metrics.get(a.metric))), None)
    if alarm is None:
        return None
    value = _last(metrics.get(alarm.metric))
    if value is None:  # cannot happen: an alarm in ALARM has its last point
        return None
    delta = value - alarm.threshold
    step = next((s for s in policy.steps if step_matches(s, delta)), None)
    if step is None:
        return None
    capacity = step_capacity(policy, step.adjustment, running)
    change = capacity - running
    if change > 0:
        last = state.step_out.get(policy.name)
        if last is not None and now_ms < last[0] + policy.cooldown_s * 1000:
            extra = change - last[1]          # only what exceeds the previous scale-out
            if extra <= 0:
                return None
            capacity = desired + extra
        return _Proposal(capacity, policy.name, alarm.name, "out", change)
    if change < 0:
        last_in = state.step_in_ms.get(policy.name)
        if last_in is not None and now_ms < last_in + policy.cooldown_s * 1000:
            return None
        return _Proposal(capacity, policy.name, alarm.name, "in", change)
    return None


def _cause(proposal: _Proposal) -> str:
    return f"monitor alarm {proposal.alarm} in state ALARM triggered policy {proposal.policy}"


def _scale_out_allowed(proposal: _Proposal, capacity: int, policies: Mapping[str, TargetTrackingPolicy],
                       state: TargetState, now_ms: int, desired: int) -> bool:
    """Whether a scale-out to ``capacity`` (the clamped proposal) goes ahead."""
    policy = policies.get(proposal.policy)
    if policy is None or state.last_scale_out_ms is None:  # step policies keep their own cooldown
        return capacity > desired
    if now_ms < state.last_scale_out_ms + policy.scale_out_cooldown_s * 1000:
        return capacity > max(desired, state.last_scale_out_to or 0)  # only a larger one
    return capacity > desired


def _scale_in_allowed(proposal: _Proposal, policies, state: TargetState, now_ms: int) -> bool:
    policy = policies.get(proposal.policy)
    if policy is None or state.last_scale_in_ms is None:
        return True
    if state.last_scale_out_ms is not None and state.last_scale_out_ms > state.last_scale_in_ms:
        return True  # a scale-out ended the scale-in cooldown
    return now_ms >= state.last_scale_in_ms + policy.scale_in_cooldown_s * 1000


def decide_target(now_ms: int, *, resource_id: str, running: int, desired: int,
                  min_capacity: int, max_capacity: int, metrics: Mapping[str, np.ndarray],
                  target_tracking: Sequence[TargetTrackingPolicy] = (),
                  step_scaling: Sequence[StepScalingPolicy] = (),
                  state: TargetState = TargetState(), scale_in_suspended: bool = False,
                  scale_out_suspended: bool = False) -> Decision:
    """The new desired count of one scalable target at minute ``now_ms``.

    ``scale_in_suspended`` is true while the service has a deployment in
    progress or the target's ``DynamicScalingInSuspended`` is set;
    ``scale_out_suspended`` mirrors ``DynamicScalingOutSuspended``.
    """
    tracked = [_track(p, metrics.get(p.metric), running, min_capacity, resource_id)
               for p in target_tracking]
    stepped = [_step(p, metrics, running, desired, now_ms, state) for p in step_scaling]
    wishes = [w for w in tracked if w is not None] + [w for w in stepped if w is not None]
    if not wishes:  # most minutes: nothing to decide
        return Decision(desired, None, None, state)
    by_name = {p.name: p for p in target_tracking}

    def clamp(capacity: int) -> int:
        return max(min_capacity, min(max_capacity, capacity))

    outs = [] if scale_out_suspended else [
        w for w in wishes if w.kind == "out"
        and _scale_out_allowed(w, clamp(w.capacity), by_name, state, now_ms, desired)]
    if outs:
        chosen = max(outs, key=lambda w: w.capacity)  # the largest proposal; ties: the first
        return _apply(chosen, clamp(chosen.capacity), desired, now_ms, state)
    if scale_in_suspended:
        return Decision(desired, None, None, state)
    ins = [w for w in stepped if w is not None and w.kind == "in"]
    tt_ins = [w for w in tracked if w is not None and w.kind == "in"]
    if tracked and len(tt_ins) == len(tracked):
        ins.extend(tt_ins)  # several target-tracking policies: in only if all want in
    ins = [w for w in ins if _scale_in_allowed(w, by_name, state, now_ms) and clamp(w.capacity) < desired]
    if not ins:
        return Decision(desired, None, None, state)
    chosen = max(ins, key=lambda w: w.capacity)  # the smallest step down
    return _apply(chosen, clamp(chosen.capacity), desired, now_ms, state)


def _apply(proposal: _Proposal, capacity: int, desired: int, now_ms: int,
           state: TargetState) -> Decision:
    if capacity == desired:
        return Decision(desired, None, None, state)
    if proposal.kind == "out":
        step_out = dict(state.step_out)
        if proposal.step_change is not None:
            step_out[proposal.policy] = (now_ms, proposal.step_change)
        new_state = replace(state, last_scale_out_ms=now_ms, last_scale_out_to=capacity,
                            step_out=step_out)
    else:
        step_in = dict(state.step_in_ms)
        if proposal.step_change is not None:
            step_in[proposal.policy] = now_ms
        new_state = replace(state, last_scale_in_ms=now_ms, step_in_ms=step_in)
    return Decision(capacity, _cause(proposal), proposal.policy, new_state)
