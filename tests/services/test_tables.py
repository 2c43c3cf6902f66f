"""Table tests: ECS's rounding examples, circuit breaker thresholds, throttling delays, events."""

import pytest

from quaymaster.services.events import EventLog
from quaymaster.services.policy import (
    circuit_breaker_threshold,
    maximum_live,
    minimum_healthy,
    throttle_delay_s,
)
from servicekit import service_of, steady_then_deploy


@pytest.mark.parametrize("desired, minimum, may_stop", [(4, 50, 2), (2, 75, 0), (4, 100, 0), (3, 0, 3)])
def test_minimum_healthy_rounding(desired, minimum, may_stop):
    assert desired - minimum_healthy(desired, minimum) == may_stop


@pytest.mark.parametrize("desired, maximum, may_start", [(4, 200, 4), (3, 125, 0), (4, 150, 2), (1, 199, 0)])
def test_maximum_rounding(desired, maximum, may_start):
    assert maximum_live(desired, maximum) - desired == may_start


@pytest.mark.parametrize("desired, threshold", [(1, 3), (6, 3), (25, 13), (1000, 200), (0, 3), (400, 200)])
def test_circuit_breaker_threshold(desired, threshold):
    assert circuit_breaker_threshold(desired) == threshold


def test_throttle_delays_double_up_to_27_minutes():
    assert [throttle_delay_s(n) for n in range(1, 10)] == [10, 20, 40, 80, 160, 320, 640, 1280, 1620]
    assert throttle_delay_s(50) == 1620 and throttle_delay_s(0) == 0


def test_event_log_keeps_100_and_deduplicates_by_cause():
    seen = []
    log = EventLog("arn:svc", lambda t, m: seen.append(m))
    assert log.emit(0, "stuck", cause="c") and not log.emit(1, "stuck", cause="c")
    log.clear("c")
    assert log.emit(2, "stuck", cause="c")
    for i in range(150):
        log.emit(10 + i, f"event {i}")
    assert len(log) == 100 and log.messages()[0] == "event 50" and log.messages()[-1] == "event 149"
    assert log.to_ecs()[0]["message"] == "event 149"     # newest first, as DescribeServices
    assert len(seen) == 152


def _deploy(desired, minimum, maximum, instances=8):
    region = steady_then_deploy(desired, minimum, maximum, instances=instances, settle_s=180)
    region.run_until(region.now)     # the tick at the call's instant: the deployment's first pass
    service = service_of(region, "web")
    old = [t for t in service.all_tasks() if t.deployment_id != service.primary.id]
    stopping = sum(1 for t in old if t.desired_status == "STOPPED")
    started = len(service.primary.tasks)
    return region, service, stopping, started


@pytest.mark.parametrize("desired, minimum, maximum, stops, starts", [
    (4, 50, 100, 2, 0),      # 50% of 4 may stop 2
    (4, 100, 200, 0, 4),     # 200% of 4 may start 4
    (4, 50, 200, 2, 4),
])
def test_first_pass_of_a_deployment(desired, minimum, maximum, stops, starts):
    _, _, stopping, started = _deploy(desired, minimum, maximum)
    assert (stopping, started) == (stops, starts)


@pytest.mark.parametrize("desired, minimum, maximum", [(2, 75, 100), (3, 100, 125)])
def test_bounds_that_allow_no_move_emit_the_event(desired, minimum, maximum):
    region, service, stopping, started = _deploy(desired, minimum, maximum)
    assert (stopping, started) == (0, 0)
    region.advance(120)
    messages = service.events.messages()
    assert messages.count("service web was unable to stop or start tasks during a deployment because of the "
                          "service deployment configuration. Update the minimumHealthyPercent or "
                          "maximumPercent value and try again.") == 1
    assert service.primary.rollout_state == "IN_PROGRESS"
