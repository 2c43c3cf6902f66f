"""Managed scaling: CapacityProviderReservation, N and M, the scale-out and scale-in rules,
and a plain re-implementation compared over random inputs."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from quaymaster.errors import ServiceError
from quaymaster.fleet.catalog import load_catalog
from quaymaster.scaling.managed import (ManagedScaling, ProviderState, instances_for_tasks,
                                        managed_scaling_step, reservation)

CATALOG = load_catalog()
M5L, M5XL = CATALOG["m5.large"], CATALOG["m5.xlarge"]   # 2048/7690/2 ENIs, 4096/15586/3 ENIs
MIN = 60_000
NONE = np.zeros((0, 4))


def tasks(*rows):
    return np.array(rows, dtype=np.int64).reshape(-1, 4)


def step(n=0, busy=0, provisioning=NONE, settings_=ManagedScaling(), desired=None, low=0, high=100,
         warming=0, state=ProviderState(), now=1000 * MIN, types=(M5XL,)):
    return managed_scaling_step(now, n=n, busy=busy, provisioning=provisioning, types=types,
                                settings=settings_, asg_desired=n if desired is None else desired,
                                asg_min=low, asg_max=high, warming=warming, state=state)


def test_reservation_edge_cases():
    assert reservation(0, 0) == 100.0
    assert reservation(0, 3) == 200.0
    assert reservation(4, 2) == 50.0
    assert reservation(4, 5) == 125.0


def test_m_equals_n_equals_zero_changes_nothing():
    result = step()
    assert (result.reservation, result.n, result.m, result.desired, result.cause) == (100, 0, 0, 0, None)


def test_n_zero_below_m_starts_with_two():
    result = step(provisioning=tasks([512, 1024, 0, 0]))
    assert (result.reservation, result.m, result.desired) == (200.0, 1, 2)
    assert "CapacityProviderReservation 200" in result.cause
    # a maximum step of 1 allows only one
    assert step(provisioning=tasks([512, 1024, 0, 0]),
                settings_=ManagedScaling(maximum_scaling_step_size=1)).desired == 1
    assert step(provisioning=tasks([512, 1024, 0, 0]), high=1).desired == 1
    # two even when the pack needs more; the minimum step raises it
    many = tasks(*[[4096, 1024, 0, 0]] * 5)
    assert step(provisioning=many).desired == 2
    assert step(provisioning=many, settings_=ManagedScaling(minimum_scaling_step_size=3)).desired == 3


def test_multi_zone_spread_needs_n_plus_step():
    # Three busy instances, one per zone; three small tasks spread over the zones wait. The pack
    # says one more instance would hold them, but spread needs one per zone: with a minimum step
    # of 3 (one instance per zone) M is N + 3.
    waiting = tasks([256, 512, 0, 0], [256, 512, 0, 0], [256, 512, 0, 0])
    one_step = step(n=3, busy=3, provisioning=waiting)
    assert (one_step.m, one_step.desired) == (4, 4)
    three = step(n=3, busy=3, provisioning=waiting, settings_=ManagedScaling(minimum_scaling_step_size=3))
    assert (three.m, three.reservation, three.desired) == (6, 200.0, 6)
    # tasks that the pack fits on idle instances still raise M to N + step while they wait
    idle = step(n=4, busy=1, provisioning=tasks([256, 512, 0, 0]))
    assert (idle.m, idle.reservation, idle.desired) == (5, 125.0, 5)


def test_first_fit_decreasing_on_the_largest_type():
    # 4096-unit instances: 3000 + 1000 fit one, 3000 + 1000 another, 2500 a third
    assert instances_for_tasks(tasks([1000, 1, 0, 0], [3000, 1, 0, 0], [2500, 1, 0, 0],
                                     [3000, 1, 0, 0], [1000, 1, 0, 0]), [M5XL]) == 3
    # with m5.large in the group, the 3000 and 2500 tasks do not fit its smallest type
    assert instances_for_tasks(tasks([1000, 1, 0, 0], [3000, 1, 0, 0], [2500, 1, 0, 0],
                                     [3000, 1, 0, 0], [1000, 1, 0, 0]), [M5L, M5XL]) == 1
    # memory is a dimension too
    assert instances_for_tasks(tasks([100, 9000, 0, 0], [100, 9000, 0, 0]), [M5XL]) == 2
    # ENIs: three per m5.xlarge
    assert instances_for_tasks(tasks(*[[10, 10, 1, 0]] * 7), [M5XL]) == 3
    # a task that does not fit on the smallest type is left out (it stays PROVISIONING)
    assert instances_for_tasks(tasks([3000, 100, 0, 0]), [M5L, M5XL]) == 0
    assert instances_for_tasks(tasks([1, 1, 0, 1]), [M5XL]) == 0     # no GPU


def test_target_capacity_and_step_sizes():
    half = ManagedScaling(target_capacity=50)
    assert step(n=4, busy=4, provisioning=tasks([100, 100, 0, 0]), settings_=half).desired == 10
    capped = ManagedScaling(maximum_scaling_step_size=3)
    many = tasks(*[[4096, 100, 0, 0]] * 20)
    assert step(n=2, busy=2, provisioning=many, settings_=capped).desired == 5
    assert step(n=2, busy=2, provisioning=many, high=10).desired == 10
    # exactly at the target: nothing
    assert step(n=4, busy=4).cause is None


def test_no_scale_out_while_warming():
    result = step(n=2, busy=2, provisioning=tasks([100, 100, 0, 0]), warming=1)
    assert result.cause is None and result.reservation == 150.0


def test_scale_in_after_fifteen_minutes_below_target_by_at_most_half():
    state = ProviderState()
    for minute in range(14):
        result = step(n=10, busy=1, state=state, now=(1000 + minute) * MIN)
        assert result.cause is None
        state = result.state
    result = step(n=10, busy=1, state=state, now=1014 * MIN)
    assert result.desired == 5                      # toward 1, by at most half of 10
    result = step(n=5, busy=1, state=result.state, now=1015 * MIN)
    assert result.desired == 2                      # ceil(5 / 2) = 3 may go
    result = step(n=2, busy=1, state=result.state, now=1016 * MIN)
    assert result.desired == 1
    assert step(n=1, busy=0, state=result.state, now=1017 * MIN).desired == 0


def test_scale_in_waits_fifteen_minutes_after_a_scale_out():
    state = ProviderState(minutes_below_target=30, last_scale_out_ms=1000 * MIN)
    assert step(n=10, busy=1, state=state, now=1014 * MIN).cause is None
    assert step(n=10, busy=1, state=state, now=1015 * MIN).desired == 5


def test_scale_in_respects_min_size_and_termination_protection():
    state = ProviderState(minutes_below_target=20)
    assert step(n=10, busy=1, state=state, low=8).desired == 8
    protected = ManagedScaling(managed_termination_protection=True)
    # the busy instances stay: 6 with 4 busy fall to 4, never below
    assert step(n=6, busy=4, state=state, settings_=protected).desired == 4
    assert step(n=4, busy=4, state=state, settings_=protected).cause is None
    half = ManagedScaling(target_capacity=50, managed_termination_protection=True)
    assert step(n=12, busy=4, state=state, settings_=half).desired == 8   # goal ceil(4 * 100 / 50)


def test_settings_refused_naming_the_field():
    for members, field in [({"targetCapacity": 0}, "targetCapacity"),
                           ({"targetCapacity": 101}, "targetCapacity"),
                           ({"minimumScalingStepSize": 0}, "minimumScalingStepSize"),
                           ({"maximumScalingStepSize": 10001}, "maximumScalingStepSize"),
                           ({"instanceWarmupPeriod": -1}, "instanceWarmupPeriod"),
                           ({"minimumScalingStepSize": 5, "maximumScalingStepSize": 2},
                            "minimumScalingStepSize")]:
        with pytest.raises(ServiceError) as info:
            ManagedScaling.from_request(members)
        assert info.value.code == "InvalidParameterException"
        assert f"managedScaling.{field}" in info.value.message
    assert ManagedScaling.from_request({}) == ManagedScaling(enabled=False)
    assert ManagedScaling.from_request(None) == ManagedScaling(enabled=False)
    assert ManagedScaling.from_request({"targetCapacity": 80}) == ManagedScaling(80)
    assert ManagedScaling.from_request({"targetCapacity": 80}, "ENABLED").managed_termination_protection
    assert not ManagedScaling.from_request({"status": "DISABLED"}).enabled
    for members, protection, words in [({"status": "ON"}, None, "managedScaling.status"),
                                       (None, "ENABLED", "managedTerminationProtection"),
                                       ({"status": "DISABLED"}, "ENABLED", "managedTerminationProtection"),
                                       ({"status": "ENABLED"}, "YES", "managedTerminationProtection")]:
        with pytest.raises(ServiceError) as info:
            ManagedScaling.from_request(members, protection)
        assert words in info.value.message


# -- an independent plain re-implementation of one minute of managed scaling ---------------

def plain_pack(needs, capacity_large, capacity_small):
    kept = [n for n in needs if all(n[d] <= capacity_small[d] for d in range(4))]
    kept = sorted(enumerate(kept), key=lambda p: (-p[1][0], -p[1][1], p[0]))
    bins = []
    for _, need in kept:
        for b in bins:
            if all(b[d] + need[d] <= capacity_large[d] for d in range(4)):
                for d in range(4):
                    b[d] += need[d]
                break
        else:
            bins.append(list(need))
    return len(bins)


def plain_minute(now, n, busy, needs, types, s, desired, low, high, warming, below, last_out):
    cap = lambda t: (t.cpu_units, t.ecs_memory_mib, t.eni_limit, t.gpus)  # noqa: E731
    large, small = max(map(cap, types)), min(map(cap, types))
    m = busy + plain_pack(needs, large, small)
    if needs:
        m = max(m, n + s.minimum_scaling_step_size)
    cpr = 100.0 if n == m == 0 else 200.0 if n == 0 else 100.0 * m / n
    below = below + 1 if cpr < s.target_capacity else 0
    goal = math.ceil(m * 100 / s.target_capacity)
    if cpr > s.target_capacity:
        if n == 0:
            new = 2
            if s.maximum_scaling_step_size < 2:
                new = s.maximum_scaling_step_size
            if s.minimum_scaling_step_size > new:
                new = s.minimum_scaling_step_size
        else:
            new = goal
            new = max(new, n + s.minimum_scaling_step_size)
            new = min(new, n + s.maximum_scaling_step_size)
        new = min(new, high)
        if warming == 0 and new > desired:
            return cpr, m, new
        return cpr, m, desired
    if below >= 15 and (last_out is None or now - last_out >= 15 * MIN):
        drop = min(n - goal, -(-n // 2), s.maximum_scaling_step_size)
        if s.managed_termination_protection:
            drop = min(drop, n - busy)
        new = max(low, n - max(drop, 0))
        if new < desired:
            return cpr, m, new
    return cpr, m, desired


@st.composite
def minutes(draw):
    types = draw(st.lists(st.sampled_from([M5L, M5XL, CATALOG["c5.large"], CATALOG["g4dn.xlarge"]]),
                          min_size=1, max_size=3, unique=True))
    n = draw(st.integers(0, 30))
    busy = draw(st.integers(0, n))
    needs = draw(st.lists(st.tuples(st.sampled_from([128, 256, 512, 1024, 2048, 4096]),
                                    st.sampled_from([256, 1024, 4096, 8192]), st.integers(0, 1),
                                    st.integers(0, 1)), max_size=12))
    minimum = draw(st.integers(1, 4))
    s = ManagedScaling(draw(st.sampled_from([1, 50, 75, 90, 100])), minimum,
                       draw(st.integers(minimum, 12)), 300, draw(st.booleans()))
    low = draw(st.integers(0, 5))
    high = draw(st.integers(max(low, n), 60))
    desired = draw(st.integers(max(low, min(n, high)), high))
    now = 10_000 * MIN
    last_out = draw(st.one_of(st.none(), st.integers(now - 30 * MIN, now)))
    return (now, n, busy, needs, types, s, desired, low, high, draw(st.integers(0, 2)),
            draw(st.integers(0, 20)), last_out)


@settings(max_examples=300)
@given(minutes())
def test_managed_scaling_matches_plain_reimplementation(case):
    now, n, busy, needs, types, s, desired, low, high, warming, below, last_out = case
    result = managed_scaling_step(now, n=n, busy=busy, provisioning=np.array(needs).reshape(-1, 4),
                                  types=types, settings=s, asg_desired=desired, asg_min=low,
                                  asg_max=high, warming=warming,
                                  state=ProviderState(below, last_out))
    cpr, m, new = plain_minute(now, n, busy, needs, types, s, desired, low, high, warming, below, last_out)
    assert (result.reservation, result.m, result.desired) == (cpr, m, new)
    assert (result.cause is None) == (new == desired)


@settings(max_examples=60)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 30)), min_size=30, max_size=30),
       st.sampled_from([50, 80, 100]), st.integers(1, 3), st.booleans())
def test_minute_by_minute_run_matches_plain_reimplementation(load, target, minimum, protection):
    """Thirty minutes of a provider whose instances arrive the minute after the desired count
    rises; both sides keep their own below-target count and last scale-out time."""
    s = ManagedScaling(target, minimum, 8, 0, protection)
    n, desired, state = 0, 0, ProviderState()
    below, last_out = 0, None
    for minute, (waiting, busy_wish) in enumerate(load):
        now = (5000 + minute) * MIN
        busy = min(busy_wish, n)
        needs = [(1024, 2048, 0, 0)] * waiting
        result = managed_scaling_step(now, n=n, busy=busy, provisioning=np.array(needs).reshape(-1, 4),
                                      types=(M5XL,), settings=s, asg_desired=desired, asg_min=0,
                                      asg_max=40, warming=0, state=state)
        cpr, m, new = plain_minute(now, n, busy, needs, (M5XL,), s, desired, 0, 40, 0, below, last_out)
        assert (result.reservation, result.m, result.desired) == (cpr, m, new), minute
        below = below + 1 if cpr < target else 0
        if new > desired:
            last_out = now
        state, desired, n = result.state, result.desired, result.desired
