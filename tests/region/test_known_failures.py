"""A service launch that placed nothing is not placed again on a cluster that has not changed
since (region/host.py, KnownFailure): the retry draws its seed and reports the same reason.
Over random histories of services waiting for room while the cluster changes (registrations,
drains, stops, new desired counts, strategies changed in place), every output must equal
the plain run's, which places every retry (``fast_paths=False``)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from quaymaster.region import Region
from quaymaster.region import host as host_module
from servicekit import call, register_instances, service_of, step, web_definition

SERVICES = ("api", "web")
DISTINCT = {"type": "distinctInstance"}
ticks = st.lists(st.one_of(
    st.tuples(st.just("wait")),
    st.tuples(st.just("desired"), st.sampled_from(SERVICES), st.integers(0, 8)),
    st.tuples(st.just("register"), st.integers(1, 2)),
    st.tuples(st.just("drain"), st.integers(0, 100)),
    st.tuples(st.just("stop"), st.integers(0, 100)),
    st.tuples(st.just("distinct"), st.sampled_from(SERVICES)),
), min_size=1, max_size=30)


def build(fast: bool) -> Region:
    """Two instances with room for two tasks each: api takes two, web (three) waits for one."""
    region = Region(seed=11)
    region.fast_paths = fast
    call(region, "CreateCluster", {"clusterName": "prod"})
    register_instances(region, "prod", 2, cpu=1024, memory=2048)
    call(region, "RegisterTaskDefinition", web_definition(cpu=512, memory=512))
    call(region, "CreateService", {"cluster": "prod", "serviceName": "api", "taskDefinition": "web",
                                   "desiredCount": 2})
    step(region)
    call(region, "CreateService", {"cluster": "prod", "serviceName": "web", "taskDefinition": "web",
                                   "desiredCount": 3})
    step(region)
    return region


def apply(region: Region, operation, registered: list) -> None:
    kind = operation[0]
    arns = region.clusters["prod"].cluster.state.arns
    if kind == "desired":
        call(region, "UpdateService", {"cluster": "prod", "service": operation[1], "desiredCount": operation[2]})
    elif kind == "register":
        register_instances(region, "prod", operation[1], cpu=1024, memory=2048, start=registered[0])
        registered[0] += operation[1]
    elif kind == "drain":
        call(region, "UpdateContainerInstancesState", {"cluster": "prod", "status": "DRAINING",
                                                       "containerInstances": [arns[operation[1] % len(arns)]]})
    elif kind == "stop":
        tasks = call(region, "ListTasks", {"cluster": "prod"})["taskArns"]
        if tasks:
            call(region, "StopTask", {"cluster": "prod", "task": sorted(tasks)[operation[1] % len(tasks)]})
    elif kind == "distinct":   # the service's own list, changed in place
        constraints = service_of(region, operation[1]).placement_constraints
        constraints[:] = [] if constraints else [dict(DISTINCT)]
    step(region)


def outputs(region: Region) -> dict:
    tasks = call(region, "ListTasks", {"cluster": "prod"})["taskArns"]
    described = call(region, "DescribeTasks", {"cluster": "prod", "tasks": tasks})["tasks"] if tasks else []
    return {"events": {name: service_of(region, name).events.messages() for name in SERVICES},
            "tasks": sorted((t["taskArn"], t.get("containerInstanceArn"), t["lastStatus"]) for t in described),
            "seeds": region.placement_requests}


@settings(max_examples=25, deadline=None)
@given(ticks)
def test_retries_on_an_unchanged_cluster_answer_as_placing_them(operations):
    fast, plain = build(True), build(False)
    fast_registered, plain_registered = [2], [2]
    for operation in operations:
        apply(fast, operation, fast_registered)
        apply(plain, operation, plain_registered)
        assert outputs(fast) == outputs(plain), operation


def counting_answers(monkeypatch) -> list:
    """Each KnownFailure.holds answer, in order (the real method, observed)."""
    answered: list = []
    holds = host_module.KnownFailure.holds

    def counted(self, *args):
        answered.append(holds(self, *args))
        return answered[-1]

    monkeypatch.setattr(host_module.KnownFailure, "holds", counted)
    return answered


def running(region: Region, name: str) -> int:
    return sum(1 for t in service_of(region, name).all_tasks() if t.live)


def test_a_waiting_service_skips_placing_until_another_service_frees_room(monkeypatch):
    answered = counting_answers(monkeypatch)
    region = build(True)
    for _ in range(4):
        step(region)
    assert answered.count(True) >= 3 and running(region, "web") == 2   # retries of the unchanged cluster
    waiting = [m for m in service_of(region, "web").events.messages() if "unable to place" in m]
    assert waiting and "RESOURCE:CPU" in waiting[-1]
    call(region, "UpdateService", {"cluster": "prod", "service": "api", "desiredCount": 1})
    for _ in range(4):   # the same retry (one task of web) on a cluster that changed: placed
        step(region)
    assert running(region, "web") == 3 and running(region, "api") == 1


def test_a_constraint_changed_in_place_is_a_new_request(monkeypatch):
    region = build(True)
    call(region, "UpdateService", {"cluster": "prod", "service": "api", "desiredCount": 0})
    call(region, "UpdateService", {"cluster": "prod", "service": "web", "desiredCount": 4})
    service_of(region, "web").placement_constraints[:] = [dict(DISTINCT)]   # one web task per instance
    for _ in range(6):
        step(region)
    assert running(region, "web") == 2
    service_of(region, "web").placement_constraints.clear()
    for _ in range(4):
        step(region)
    assert running(region, "web") == 4
