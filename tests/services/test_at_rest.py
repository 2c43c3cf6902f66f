"""A service the scheduler passes over as at rest (services/scheduler.py ``at_rest``) is one whose
pass changes nothing: over random histories (scaling in and out, new deployments, StopTask, DRAINING
and re-activated instances, failing health checks and starts), every pass of a plain run made on a
service at rest leaves the region as it found it, and a fast run (which skips them) reports the
same events and tasks as the plain one."""

from hypothesis import given, settings, strategies as st

from quaymaster.region import Region
from quaymaster.services.scheduler import ServiceScheduler, at_rest
from servicekit import call, register_instances, web_definition

SERVICES = ("web", "packed", "checked")
INSTANCES = 4


def _region(seed: int, failure: float, fast: bool) -> tuple[Region, list]:
    region = Region(seed=seed)
    region.fast_paths = fast
    call(region, "CreateCluster", {"clusterName": "prod"})
    arns = register_instances(region, "prod", INSTANCES, cpu=2048, memory=4096)
    region.set_task_timings("web", {"startFailureProbability": failure})
    region.set_task_timings("checked", {"unhealthy": True})
    for name in SERVICES:
        extra = {"healthCheck": {"command": ["CMD", "true"]}} if name == "checked" else {}
        call(region, "RegisterTaskDefinition", web_definition(family=name, **extra))
    strategies = {"packed": [{"type": "spread", "field": "attribute:ecs.availability-zone"},
                             {"type": "binpack", "field": "cpu"}]}
    for name in SERVICES:
        call(region, "CreateService", {"cluster": "prod", "serviceName": name, "taskDefinition": name,
                                       "desiredCount": 2, "placementStrategy": strategies.get(name, []),
                                       "deploymentConfiguration": {"minimumHealthyPercent": 50,
                                                                   "maximumPercent": 200}})
    return region, arns


ACTIONS = st.one_of(
    st.tuples(st.just("advance"), st.integers(1, 180)),
    st.tuples(st.just("scale"), st.sampled_from(SERVICES), st.integers(0, 6)),
    st.tuples(st.just("deploy"), st.sampled_from(SERVICES)),
    st.tuples(st.just("stop"), st.integers(0, 10_000)),
    st.tuples(st.just("drain"), st.integers(0, INSTANCES - 1)),
    st.tuples(st.just("activate"), st.integers(0, INSTANCES - 1)),
)


def _act(region: Region, instances: list, action: tuple) -> None:
    kind = action[0]
    if kind == "advance":
        region.advance(action[1])
    elif kind in ("scale", "deploy"):
        change = {"desiredCount": action[2]} if kind == "scale" else {"forceNewDeployment": True}
        call(region, "UpdateService", {"cluster": "prod", "service": action[1], **change})
    elif kind == "stop":
        live = sorted((t for t in region.clusters["prod"].tasks.values() if t.live), key=lambda t: t.seq)
        if live:
            call(region, "StopTask", {"cluster": "prod", "task": live[action[1] % len(live)].arn})
    else:
        call(region, "UpdateContainerInstancesState", {
            "cluster": "prod", "containerInstances": [instances[action[1]]],
            "status": "DRAINING" if kind == "drain" else "ACTIVE"})


def _seen(region: Region, service) -> tuple:
    """What a pass may change: launches, stops, seeds, events and the service's deployments."""
    deployments = tuple((d.id, d.status, d.rollout_state, d.rollout_reason, d.updated_at, d.finished_at,
                         d.completed, tuple(d.tally.counts), tuple(d.tasks)) for d in service.deployments)
    return (len(region.launch_queue), region.placement_requests, region.lifecycle.transitions,
            service.events.messages(), dict(service.events._active), service.status, deployments,
            dict(region.host._stopped), service.throttle_failures, service.next_launch_at)


class _Watched(ServiceScheduler):
    """A plain run's scheduler that checks every pass made on a service at rest changes nothing."""

    at_rest_passes = 0

    def _pass(self, service, now: int) -> None:
        if not at_rest(service):
            return super()._pass(service, now)
        before = _seen(self.host.region, service)
        super()._pass(service, now)
        assert _seen(self.host.region, service) == before, service.name
        _Watched.at_rest_passes += 1


def _outputs(region: Region, events: list) -> tuple:
    tasks = sorted((t.arn, t.last_status, t.desired_status, t.instance_arn, t.stopped_at)
                   for t in region.clusters["prod"].tasks.values())
    return events, tasks, region.placement_requests


def _history(seed: int, failure: float, actions: list, fast: bool) -> tuple:
    region, instances = _region(seed, failure, fast)
    events: list = []
    region.event_sink = lambda *event: events.append(event)
    if not fast:
        region.scheduler.__class__ = _Watched
    for action in actions:
        _act(region, instances, action)
        region.advance(60)
    return _outputs(region, events)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32), failure=st.sampled_from([0.0, 0.3]),
       actions=st.lists(ACTIONS, min_size=1, max_size=12))
def test_a_pass_of_a_service_at_rest_changes_nothing_and_skipping_it_changes_no_output(seed, failure, actions):
    plain = _history(seed, failure, actions, fast=False)
    assert _history(seed, failure, actions, fast=True) == plain


def test_scaling_in_leaves_passes_of_services_at_rest():
    """The histories above do reach the case: a scale-in's stopping tasks wake a service at rest."""
    _Watched.at_rest_passes = 0
    _history(7, 0.0, [("advance", 120), ("scale", "packed", 5), ("advance", 180), ("scale", "packed", 1)],
             fast=False)
    assert _Watched.at_rest_passes > 0
