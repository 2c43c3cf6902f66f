"""The native engine against the reference, on random fleets and requests.

placement.md is the contract: placements, failures (reason, arn, detail) and
the final state must be equal to the reference's on every example.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from engine_harness import assert_same_as_reference
from reference.strategies import placement_cases


@settings(max_examples=500, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(placement_cases())
def test_engine_equals_reference(case):
    instances, tasks, request, seed = case
    assert_same_as_reference(instances, tasks, request, seed)
