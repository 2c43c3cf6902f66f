"""Hypothesis invariants on random small scenarios: deployment bounds, completion, DAEMON, no over-commit."""

from hypothesis import assume, given, settings, strategies as st

from servicekit import (call, region_with, register_instances, service_of, steady_then_deploy, step,
                        web_definition)

PERCENTS = st.sampled_from([0, 25, 50, 75, 100])
MAXIMUMS = st.sampled_from([100, 125, 150, 200])


def _no_over_commit(region):
    for instance in region.clusters["prod"].cluster.describe_container_instances(
            region.clusters["prod"].cluster.list_container_instances())["containerInstances"]:
        for resource in instance["remainingResources"]:
            if resource["name"] in ("CPU", "MEMORY"):
                assert resource["integerValue"] >= 0


@settings(max_examples=25, deadline=None)
@given(desired=st.integers(1, 8), minimum=PERCENTS, maximum=MAXIMUMS, instances=st.integers(2, 6),
       seed=st.integers(0, 2**32))
def test_rolling_deployment_bounds_and_completion(desired, minimum, maximum, instances, seed):
    # Some bounds allow no move at all (ECS then reports it); the others must complete.
    moves = desired * maximum // 100 > desired or -(-desired * minimum // 100) < desired
    region = steady_then_deploy(desired, minimum, maximum, instances=instances, seed=seed)
    service = service_of(region, "web")
    ceiling = desired * maximum // 100
    floor = -(-desired * minimum // 100)
    for _ in range(120):
        step(region)
        assert sum(1 for t in service.all_tasks() if t.live) <= max(ceiling, desired)
        assert sum(1 for t in service.all_tasks() if t.healthy) >= floor
        _no_over_commit(region)
    if moves:
        assert service.primary.rollout_state == "COMPLETED"
        assert [d.status for d in service.deployments] == ["PRIMARY"]
        assert sum(1 for t in service.all_tasks() if t.healthy) == desired
    else:
        assert any("unable to stop or start" in m for m in service.events.messages())


@settings(max_examples=15, deadline=None)
@given(instances=st.integers(1, 6), tagged=st.lists(st.booleans(), min_size=6, max_size=6),
       drained=st.integers(0, 5), seed=st.integers(0, 2**32))
def test_daemon_one_task_per_qualifying_active_instance(instances, tagged, drained, seed):
    region = region_with(0, seed=seed)
    arns = []
    for i in range(instances):
        attributes = [{"name": "role", "value": "edge"}] if tagged[i] else []
        arns += register_instances(region, "prod", 1, start=i, attributes=attributes)
    call(region, "RegisterTaskDefinition", web_definition(family="agent", cpu=128, memory=128))
    call(region, "CreateService", {"cluster": "prod", "serviceName": "agent", "taskDefinition": "agent",
                                   "schedulingStrategy": "DAEMON",
                                   "placementConstraints": [{"type": "memberOf",
                                                             "expression": "attribute:role == edge"}]})
    region.advance(120)
    if drained < instances:
        call(region, "UpdateContainerInstancesState", {"cluster": "prod", "containerInstances": [arns[drained]],
                                                       "status": "DRAINING"})
    region.advance(120)
    qualifying = {arn for i, arn in enumerate(arns) if tagged[i] and i != drained}
    live = [t.instance_arn for t in service_of(region, "agent").all_tasks() if t.live]
    assert sorted(live) == sorted(qualifying)
    _no_over_commit(region)


@settings(max_examples=10, deadline=None)
@given(desired=st.integers(1, 6), failure=st.sampled_from([0.0, 0.3]), seed=st.integers(0, 2**32))
def test_replay_is_identical(desired, failure, seed):
    def run():
        region = region_with(3, seed=seed)
        region.set_task_timings(None, {"startFailureProbability": failure})
        call(region, "RegisterTaskDefinition", web_definition())
        call(region, "CreateService", {"cluster": "prod", "serviceName": "web", "taskDefinition": "web",
                                       "desiredCount": desired})
        region.advance(900)
        service = service_of(region, "web")
        tasks = [(t.arn, t.instance_arn, t.last_status, t.created_at, t.stopped_at, t.stop_code)
                 for t in region.clusters["prod"].tasks.values()]
        return tasks, service.events.messages()
    assert run() == run()
