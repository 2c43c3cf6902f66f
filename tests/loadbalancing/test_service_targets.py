"""Service tasks behind target groups: registration, health gating, deregistration delay, refusal."""

import pytest

from quaymaster.errors import ServiceError
from servicekit import call, region_with, web_definition

TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef"
LB = [{"targetGroupArn": TG, "containerName": "app", "containerPort": 80}]
S = 1000


def lb_service(desired=2, family="web"):
    region = region_with(3)
    call(region, "RegisterTaskDefinition", web_definition(family=family, portMappings=[{"containerPort": 80}]))
    call(region, "CreateService", {"cluster": "prod", "serviceName": "web", "taskDefinition": family,
                                   "desiredCount": desired, "loadBalancers": LB})
    return region


def tasks(region):
    return sorted(region.clusters["prod"].tasks.values(), key=lambda t: t.seq)


def test_tasks_register_and_count_healthy_only_when_their_target_is():
    region = lb_service()
    region.advance(30)
    running = [t for t in tasks(region) if t.last_status == "RUNNING"]
    assert len(running) == 2
    group = region.load_balancing.groups[TG]
    for task in running:
        port = task.network_bindings[0]["hostPort"]
        assert group.targets[task.arn].id == f"{task.ec2_instance_id}:{port}"
        assert group.targets[task.arn].state == "initial"
    started = running[0].started_at
    # the container alone would be healthy 40 s after RUNNING; the target needs 2 x 30 s
    region.run_until(started + 45 * S)
    assert not running[0].healthy and region.load_balancing.healthy_targets(TG) == 0
    region.run_until(started + 60 * S)
    assert running[0].healthy and running[0].healthy_at == started + 60 * S
    assert region.load_balancing.healthy_targets(TG) == 2
    shares = region.load_balancing.traffic_shares(TG)
    assert sorted(shares.values()) == [50.0, 50.0]      # round robin among 2 healthy targets


def test_a_stopping_task_drains_for_the_deregistration_delay():
    region = lb_service()
    region.advance(120)
    call(region, "UpdateService", {"cluster": "prod", "service": "web", "desiredCount": 1})
    region.advance(15)
    stopping = [t for t in tasks(region) if t.desired_status == "STOPPED"]
    assert len(stopping) == 1
    task = stopping[0]
    group = region.load_balancing.groups[TG]
    assert task.last_status == "DEACTIVATING" and group.targets[task.arn].state == "draining"
    asked = task.stopping_at
    region.run_until(asked + 299 * S)
    assert task.last_status == "DEACTIVATING"
    region.run_until(asked + 300 * S)
    assert task.last_status == "STOPPING" and task.arn not in group.targets
    region.run_until(asked + 330 * S)          # then the usual 30 s of STOPPING
    assert task.last_status == "STOPPED"
    assert region.load_balancing.healthy_targets(TG) == 1


def test_configured_group_timing():
    region = region_with(2)
    region.load_balancing.configure(TG, interval_s=5, healthy_threshold=3, deregistration_delay_s=20)
    call(region, "RegisterTaskDefinition", web_definition(portMappings=[{"containerPort": 80}]))
    call(region, "CreateService", {"cluster": "prod", "serviceName": "web", "taskDefinition": "web",
                                   "desiredCount": 1, "loadBalancers": LB})
    region.advance(30)
    task = tasks(region)[0]
    region.run_until(task.started_at + 15 * S)      # 3 x 5 s: target healthy; the container is not yet
    assert region.load_balancing.groups[TG].targets[task.arn].state == "healthy" and not task.healthy
    region.run_until(task.started_at + 45 * S)      # 40 s rounded up to the 15 s tick
    assert task.healthy
    call(region, "UpdateService", {"cluster": "prod", "service": "web", "desiredCount": 0})
    region.advance(15)
    asked = task.stopping_at
    region.run_until(asked + 15 * S)
    assert task.last_status == "DEACTIVATING"
    region.run_until(asked + 30 * S)            # 20 s of draining, observed at the next 15 s tick
    assert task.last_status == "STOPPING"


def test_family_configured_to_fail_gets_unhealthy_targets_and_tasks_are_replaced():
    region = lb_service(desired=1, family="bad")
    region.set_task_timings("bad", {"unhealthy": True})
    region.advance(30)
    first = tasks(region)[0]
    group = region.load_balancing.groups[TG]
    region.run_until(first.started_at + 60 * S)
    assert first.health_status == "UNHEALTHY" and first.desired_status == "STOPPED"
    assert group.healthy_count() == 0


@pytest.mark.parametrize("load_balancers, match", [
    ([{"targetGroupArn": "arn:aws:ecs:us-east-1:123456789012:cluster/x", "containerName": "app",
       "containerPort": 80}], "targetGroupArn"),
    ([{"targetGroupArn": TG, "containerName": "app", "containerPort": 81}], "container port 81"),
    ([{"targetGroupArn": TG, "containerName": "nope", "containerPort": 80}], "container nope"),
    ([{"loadBalancerName": "classic", "containerName": "app", "containerPort": 80}], "targetGroupArn"),
])
def test_bad_load_balancers_are_refused_and_no_service_is_made(load_balancers, match):
    region = region_with(2)
    call(region, "RegisterTaskDefinition", web_definition(portMappings=[{"containerPort": 80}]))
    with pytest.raises(ServiceError, match=match) as info:
        region.handle("ecs", "CreateService", {"cluster": "prod", "serviceName": "web", "taskDefinition": "web",
                                               "desiredCount": 1, "loadBalancers": load_balancers})
    assert info.value.code == "InvalidParameterException"
    assert call(region, "ListServices", {"cluster": "prod"})["serviceArns"] == []
    assert region.load_balancing.groups == {}


def test_bad_group_settings_are_refused():
    region = region_with(1)
    with pytest.raises(ServiceError):
        region.load_balancing.configure(TG, deregistration_delay_s=-1)
    assert region.load_balancing.groups == {} and region.load_balancing.settings == {}


def test_an_update_to_a_definition_without_the_load_balanced_port_is_refused():
    # Accepted, its tasks could never register with the target group (the tick that started
    # them raised): UpdateService refuses it, as ECS does, and the service keeps its definition.
    region = lb_service()
    call(region, "RegisterTaskDefinition", web_definition(family="plain"))
    with pytest.raises(ServiceError, match="container port 80") as info:
        region.handle("ecs", "UpdateService", {"cluster": "prod", "service": "web", "taskDefinition": "plain"})
    assert info.value.code == "InvalidParameterException"
    service = call(region, "DescribeServices", {"cluster": "prod", "services": ["web"]})["services"][0]
    assert service["taskDefinition"].endswith("task-definition/web:1") and len(service["deployments"]) == 1
    region.advance(300)
    assert region.load_balancing.healthy_targets(TG) == 2
