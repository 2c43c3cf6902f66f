"""A deployment's kept task counters (services/tally.py) always equal a plain recount of its tasks,
over random histories: scaling, new deployments, StopTask, DRAINING and re-activated instances,
failing health checks, start failures, essential containers exiting, Fargate on two providers."""

from hypothesis import given, settings, strategies as st

from quaymaster.region import Region
from quaymaster.services.tally import recount, task_class
from servicekit import call, register_instances, web_definition

FARGATE_DEF = {"family": "fg", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
               "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "app", "image": "nginx"}]}
NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-a", "subnet-b"]}}
SERVICES = ("web", "checked", "fg")
INSTANCES = 4


def _region(seed: int, failure: float, run_for: str | None) -> tuple[Region, list]:
    region = Region(seed=seed)
    region.fargate.set_subnet_zones({"subnet-a": "us-east-1a", "subnet-b": "us-east-1b"})
    region.fargate.set_spot_interruptions(0.2)
    call(region, "CreateCluster", {"clusterName": "prod"})
    arns = register_instances(region, "prod", INSTANCES, cpu=2048, memory=4096)
    call(region, "PutClusterCapacityProviders", {"cluster": "prod", "capacityProviders": ["FARGATE", "FARGATE_SPOT"],
                                                 "defaultCapacityProviderStrategy": []})
    region.set_task_timings("web", {"startFailureProbability": failure, "runFor": run_for})
    region.set_task_timings("checked", {"unhealthy": True})
    call(region, "RegisterTaskDefinition", web_definition())
    call(region, "RegisterTaskDefinition", web_definition(
        family="checked", healthCheck={"command": ["CMD", "true"]}))
    call(region, "RegisterTaskDefinition", FARGATE_DEF)
    for name in ("web", "checked"):
        call(region, "CreateService", {"cluster": "prod", "serviceName": name, "taskDefinition": name,
                                       "desiredCount": 3, "deploymentConfiguration": {
                                           "minimumHealthyPercent": 50, "maximumPercent": 200}})
    call(region, "CreateService", {"cluster": "prod", "serviceName": "fg", "taskDefinition": "fg",
                                   "desiredCount": 3, "networkConfiguration": NETWORK,
                                   "capacityProviderStrategy": [{"capacityProvider": "FARGATE", "base": 1, "weight": 1},
                                                                {"capacityProvider": "FARGATE_SPOT", "weight": 2}]})
    return region, arns


ACTIONS = st.one_of(
    st.tuples(st.just("advance"), st.integers(1, 120)),
    st.tuples(st.just("scale"), st.sampled_from(SERVICES), st.integers(0, 8)),
    st.tuples(st.just("deploy"), st.sampled_from(SERVICES)),
    st.tuples(st.just("stop"), st.integers(0, 10_000)),
    st.tuples(st.just("drain"), st.integers(0, INSTANCES - 1)),
    st.tuples(st.just("activate"), st.integers(0, INSTANCES - 1)),
    st.tuples(st.just("delete"), st.sampled_from(SERVICES)),
)


def _act(region: Region, instances: list, action: tuple) -> None:
    kind = action[0]
    services = {n: s for n, s in region.clusters["prod"].services.items() if s.status == "ACTIVE"}
    if kind == "advance":
        region.advance(action[1])
    elif kind in ("scale", "deploy") and action[1] in services:
        change = {"desiredCount": action[2]} if kind == "scale" else {"forceNewDeployment": True}
        call(region, "UpdateService", {"cluster": "prod", "service": action[1], **change})
    elif kind == "stop":
        live = [t for t in region.clusters["prod"].tasks.values() if t.live]
        if live:
            call(region, "StopTask", {"cluster": "prod", "task": live[action[1] % len(live)].arn})
    elif kind in ("drain", "activate"):
        call(region, "UpdateContainerInstancesState", {
            "cluster": "prod", "containerInstances": [instances[action[1]]],
            "status": "DRAINING" if kind == "drain" else "ACTIVE"})
    elif kind == "delete" and action[1] in services:
        call(region, "DeleteService", {"cluster": "prod", "service": action[1], "force": True})


def _plain_stats(service) -> tuple:
    """Service.task_stats() as it was computed before the counters: one walk over the tasks."""
    running = pending = healthy = live = 0
    for task in service.all_tasks():
        live += task.last_status != "STOPPED"
        if task.desired_status == "RUNNING":
            running += task.last_status == "RUNNING"
            pending += task.last_status != "RUNNING"
            healthy += task.healthy
    return running, pending, healthy, live


def _check(region: Region) -> None:
    record = region.clusters["prod"]
    for service in [*record.services.values(), *record.inactive_services.values()]:
        for deployment in service.history:
            plain = recount(deployment.tasks.values())
            kept = deployment.tally
            assert kept.counts == plain.counts, (service.name, deployment.id)
            assert kept.draining == plain.draining
            assert kept.by_provider == plain.by_provider
            assert all(t.tally_class == task_class(t) for t in deployment.tasks.values())
        assert service.task_stats() == _plain_stats(service)
        assert service.counts() == _plain_stats(service)[:2]
        assert service.live_by_provider() == recount(service.all_tasks()).by_provider


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32), failure=st.sampled_from([0.0, 0.3]), run_for=st.sampled_from([None, "90s"]),
       actions=st.lists(ACTIONS, min_size=1, max_size=14))
def test_kept_counters_equal_a_plain_recount_over_random_histories(seed, failure, run_for, actions):
    region, instances = _region(seed, failure, run_for)
    _check(region)
    for action in actions:
        _act(region, instances, action)
        _check(region)
        region.advance(15)   # one more tick: what the action started happens
        _check(region)


def test_a_dropped_task_is_no_longer_counted_and_changes_after_it_are_ignored():
    region, _ = _region(1, 0.0, None)
    region.advance(120)
    service = region.clusters["prod"].services["web"]
    deployment = service.primary
    task = next(iter(deployment.tasks.values()))
    assert deployment.counts() == (3, 0)
    deployment.drop_task(task)
    assert deployment.counts() == (2, 0) and task.tally_class == -1
    task.desired_status = "STOPPED"
    deployment.retally(task)          # not counted any more: nothing moves
    assert deployment.tally.counts == recount(deployment.tasks.values()).counts
