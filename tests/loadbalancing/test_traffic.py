"""Blue/green traffic steps (time -> green weight) for every predefined configuration, by hand."""

import pytest

from quaymaster.errors import ServiceError
from quaymaster.loadbalancing.traffic import (TrafficShift, codedeploy_plan, ecs_strategy_plan)

M = 60_000

# (configuration, [(minutes after the shift starts, green percent)], minute of the last step)
TABLE = [
    # all at once: 100% at t=0
    ("ECSAllAtOnce", [(0, 100), (5, 100)], 0),
    # linear 10% every 1 min: 10% at 0, +10 each minute, 10 steps -> 100% at (10-1)*1 = 9 min
    ("ECSLinear10PercentEvery1Minutes", [(0, 10), (0.5, 10), (1, 20), (4, 50), (8.99, 90), (9, 100)], 9),
    # linear 10% every 3 min: step k at 3k min gives 10(k+1)%; 100% at 3*9 = 27 min
    ("ECSLinear10PercentEvery3Minutes", [(0, 10), (2.9, 10), (3, 20), (15, 60), (26, 90), (27, 100)], 27),
    # canary 10% then the other 90% after 5 min
    ("ECSCanary10Percent5Minutes", [(0, 10), (4.99, 10), (5, 100)], 5),
    # canary 10% then the other 90% after 15 min
    ("CodeDeployDefault.ECSCanary10Percent15Minutes", [(0, 10), (14, 10), (15, 100)], 15),
    # custom linear 30% every 2 min: 30, 60, 90, then min(100, 120) = 100 at 3*2 = 6 min
    ({"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 30, "linearInterval": 2}},
     [(0, 30), (2, 60), (4, 90), (6, 100)], 6),
    # custom canary 25% for 7 min
    ({"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 25, "canaryInterval": 7}},
     [(0, 25), (6, 25), (7, 100)], 7),
]


@pytest.mark.parametrize("config, points, last", TABLE)
def test_predefined_steps(config, points, last):
    plan = codedeploy_plan(config)
    assert plan.shift_ms == last * M
    for minute, green in points:
        assert plan.green_percent_at(int(minute * M)) == green, (config, minute)


@pytest.mark.parametrize("config, points, last", TABLE)
def test_shift_follows_the_plan_when_green_stays_steady(config, points, last):
    shift = TrafficShift(codedeploy_plan(config, wait_minutes=60), started_at=1_000)
    for minute, green in points:
        shift.observe(1_000 + int(minute * M), green_steady=True)
        assert shift.weights == (100 - green, green)
    shift.observe(1_000 + (last + 60) * M - 1, True)
    assert shift.state == "WAITING"          # blue is kept until the wait has passed
    assert shift.observe(1_000 + (last + 60) * M, True) == "DONE"


ECS_TABLE = [
    # BLUE_GREEN: all at once, blue removed after bakeTimeInMinutes = 10
    ({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 10}, [(0, 100)], 10),
    # LINEAR 25% every 4 min: 25, 50, 75, 100 at 0, 4, 8, 12
    ({"strategy": "LINEAR", "bakeTimeInMinutes": 5,
      "linearConfiguration": {"stepPercent": 25.0, "stepBakeTimeInMinutes": 4}},
     [(0, 25), (3, 25), (4, 50), (8, 75), (12, 100)], 5),
    # LINEAR 33.3%: 33.3, 66.6, 99.9, then 100 (ceil(100/33.3) = 4 steps) at 0, 1, 2, 3
    ({"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 33.3, "stepBakeTimeInMinutes": 1}},
     [(0, 33.3), (1, 66.6), (3, 100)], 0),
    # CANARY 5% for 20 min
    ({"strategy": "CANARY", "bakeTimeInMinutes": 0,
      "canaryConfiguration": {"canaryPercent": 5.0, "canaryBakeTimeInMinutes": 20}},
     [(0, 5), (19, 5), (20, 100)], 0),
]


@pytest.mark.parametrize("config, points, wait", ECS_TABLE)
def test_ecs_strategy_steps(config, points, wait):
    plan = ecs_strategy_plan(config)
    assert plan.wait_ms == wait * M
    for minute, green in points:
        assert plan.green_percent_at(minute * M) == pytest.approx(green)


def test_a_step_waits_for_green_and_rolls_back_when_green_is_not_steady():
    shift = TrafficShift(codedeploy_plan("ECSLinear10PercentEvery1Minutes"), started_at=0)
    assert shift.observe(0, True) == "SHIFTING" and shift.weights == (90, 10)
    shift.observe(2 * M, True)
    assert shift.weights == (70, 30)
    # at 3 min green is not steady: all traffic goes back to blue
    assert shift.observe(3 * M, False) == "ROLLED_BACK"
    assert shift.weights == (100, 0) and "not steady" in shift.reason
    assert shift.observe(4 * M, True) == "ROLLED_BACK"      # final


def test_breaker_rolls_back_even_between_steps():
    shift = TrafficShift(codedeploy_plan("ECSCanary10Percent5Minutes"), started_at=0)
    shift.observe(0, True)
    assert shift.observe(M, True, breaker_tripped=True) == "ROLLED_BACK"
    assert shift.weights == (100, 0)


def test_a_late_observation_applies_every_due_step_once():
    shift = TrafficShift(codedeploy_plan("ECSLinear10PercentEvery1Minutes"), started_at=0)
    shift.observe(0, True)
    shift.observe(int(3.5 * M), True)
    # steps due at 1, 2, 3 min were applied; the next is 1 min after the 3 min step
    assert shift.weights == (60, 40)
    shift.observe(4 * M, True)
    assert shift.weights == (50, 50)


@pytest.mark.parametrize("config", [
    "ECSLinear10PercentEvery0Minutes", "ECSSomething", "ECSLinear0PercentEvery1Minutes", 7,
    {"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 150, "linearInterval": 1}},
    {"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 10}},
    {"type": "Weird"},
])
def test_bad_configurations_are_refused(config):
    with pytest.raises(ServiceError) as info:
        codedeploy_plan(config)
    assert info.value.code == "InvalidParameterException"


@pytest.mark.parametrize("config", [
    {"strategy": "LINEAR"}, {"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 0.0}},
    {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": -1}, {"strategy": "ROLLING"},
])
def test_bad_ecs_strategies_are_refused(config):
    with pytest.raises(ServiceError, match="InvalidParameter|strategy|Percent|bake"):
        ecs_strategy_plan(config)
