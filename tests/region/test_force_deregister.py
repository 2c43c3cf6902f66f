"""Region.force_deregister (Auto Scaling's terminations) leaves the region as a forced
DeregisterContainerInstance call does: same instances, same stopped tasks, same later course."""

from hypothesis import given, settings, strategies as st

from servicekit import call, region_with, web_definition


def _region(instances: int, tasks: int):
    region = region_with(instances)
    call(region, "RegisterTaskDefinition", web_definition())
    for _ in range(tasks):
        call(region, "RunTask", {"cluster": "prod", "taskDefinition": "web"})
    region.advance(20)
    return region


def _seen(region) -> tuple:
    arns = list(region.clusters["prod"].cluster.state.arns)
    instances = call(region, "DescribeContainerInstances", {"cluster": "prod", "containerInstances": arns})
    tasks = call(region, "ListTasks", {"cluster": "prod"})["taskArns"] \
        + call(region, "ListTasks", {"cluster": "prod", "desiredStatus": "STOPPED"})["taskArns"]
    listed = call(region, "ListContainerInstances", {"cluster": "prod"})["containerInstanceArns"]
    described = call(region, "DescribeTasks", {"cluster": "prod", "tasks": tasks}) if tasks else {}
    return repr(instances), repr(described), listed, region.__dict__.get("_capacity_epoch")


@settings(max_examples=25, deadline=None)
@given(instances=st.integers(1, 5), tasks=st.integers(0, 6), picks=st.lists(st.integers(0, 4), max_size=4))
def test_force_deregister_equals_the_forced_api_call(instances, tasks, picks):
    by_api, direct = _region(instances, tasks), _region(instances, tasks)
    for pick in picks:
        position = pick % instances
        arn = by_api.clusters["prod"].cluster.state.arns[position]
        call(by_api, "DeregisterContainerInstance", {"cluster": "prod", "containerInstance": arn, "force": True})
        direct.force_deregister(direct.clusters["prod"], position)
        assert _seen(direct) == _seen(by_api)
    by_api.advance(90)
    direct.advance(90)
    assert _seen(direct) == _seen(by_api)
