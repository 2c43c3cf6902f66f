"""A service's launch split by its capacity provider strategy is kept while its inputs are the
same (region/host.py, KeptSplit: a service waiting for capacity asks the same split at every
tick). Over random histories (new desired counts, strategies replaced by UpdateService or
changed in place, tasks stopped), every kept answer must equal ``launch_plan.portions`` of the
moment, and every output the plain run's (``fast_paths=False``, which splits every launch)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from quaymaster.region import host as host_module
from quaymaster.region.launch_plan import portions
from servicekit import call
from test_provider_placement import two_provider_region

weights = st.tuples(st.integers(0, 3), st.integers(1, 3), st.integers(0, 3))
operations = st.lists(st.one_of(
    st.tuples(st.just("wait")),
    st.tuples(st.just("desired"), st.integers(0, 14)),
    st.tuples(st.just("replace"), weights),
    st.tuples(st.just("in_place"), weights),
    st.tuples(st.just("stop"), st.integers(0, 100)),
), min_size=1, max_size=12)


def strategy_of(chosen: tuple) -> list:
    base, weight_a, weight_b = chosen
    return [{"capacityProvider": "cp-a", "weight": weight_a, "base": base},
            {"capacityProvider": "cp-b", "weight": weight_b}]


def build(fast: bool):
    region = two_provider_region(seed=5)
    region.fast_paths = fast
    call(region, "CreateService", {"cluster": "prod", "serviceName": "web", "taskDefinition": "web",
                                   "desiredCount": 9, "capacityProviderStrategy": strategy_of((1, 1, 1))})
    region.advance(30)
    return region


def apply(region, operation) -> None:
    kind, service = operation[0], region.clusters["prod"].services["web"]
    if kind == "desired":
        call(region, "UpdateService", {"cluster": "prod", "service": "web", "desiredCount": operation[1]})
    elif kind == "replace":
        call(region, "UpdateService", {"cluster": "prod", "service": "web", "forceNewDeployment": True,
                                       "capacityProviderStrategy": strategy_of(operation[1])})
    elif kind == "in_place":
        service.capacity_provider_strategy[:] = strategy_of(operation[1])
    elif kind == "stop":
        tasks = call(region, "ListTasks", {"cluster": "prod"})["taskArns"]
        if tasks:
            call(region, "StopTask", {"cluster": "prod", "task": sorted(tasks)[operation[1] % len(tasks)]})
    region.advance(30)


def outputs(region) -> dict:
    tasks = call(region, "ListTasks", {"cluster": "prod"})["taskArns"]
    described = call(region, "DescribeTasks", {"cluster": "prod", "tasks": tasks})["tasks"] if tasks else []
    return {"events": region.clusters["prod"].services["web"].events.messages(),
            "tasks": sorted((t["taskArn"], t.get("containerInstanceArn"), t["lastStatus"], t["capacityProviderName"])
                            for t in described),
            "seeds": region.placement_requests}


@settings(max_examples=15, deadline=None)
@given(operations)
def test_kept_splits_equal_splitting_again(history):
    fast, plain = build(True), build(False)
    answers: list = []
    kept_portions = host_module.ServiceHost._portions

    def observed(self, service, count):
        got = kept_portions(self, service, count)
        answers.append(got == portions(service.launch_type, service.capacity_provider_strategy, count,
                                       service.live_by_provider()))
        return got

    host_module.ServiceHost._portions = observed
    try:
        for operation in history:
            apply(fast, operation)
            apply(plain, operation)
            assert outputs(fast) == outputs(plain), operation
    finally:
        host_module.ServiceHost._portions = kept_portions
    assert all(answers)
