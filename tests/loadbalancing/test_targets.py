"""Target groups: target ids per network mode, health check timing, deregistration delay."""

import pytest

from quaymaster.errors import ServiceError
from quaymaster.loadbalancing.targets import TargetGroup, target_id
from servicekit import call, region_with, web_definition

TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef"
S = 1000


def _run_one(region, definition: dict):
    out = call(region, "RegisterTaskDefinition", definition)
    family = out["taskDefinition"]["family"]
    request = {"cluster": "prod", "taskDefinition": family}
    if definition.get("networkMode") == "awsvpc":
        request["networkConfiguration"] = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
    task_arn = call(region, "RunTask", request)["tasks"][0]["taskArn"]
    return region.clusters["prod"].tasks[task_arn]


def test_bridge_target_is_instance_and_the_mapped_host_port():
    region = region_with(2)
    # two containers: a static 8080 on sidecar, a dynamic mapping for app:80 and another for app:81
    definition = {"family": "web", "networkMode": "bridge", "containerDefinitions": [
        {"name": "sidecar", "image": "envoy", "memory": 64, "portMappings": [{"containerPort": 9901, "hostPort": 8080}]},
        {"name": "app", "image": "nginx", "memory": 128, "portMappings": [
            {"containerPort": 80, "hostPort": 0}, {"containerPort": 81}]}]}
    task = _run_one(region, definition)
    tcp = [b["hostPort"] for b in task.network_bindings if b["protocol"] == "tcp"]
    dynamic = [p for p in tcp if p != 8080]
    assert len(dynamic) == 2 and 8080 in tcp
    assert target_id(task, {"containerName": "sidecar", "containerPort": 9901}) == f"{task.ec2_instance_id}:8080"
    assert target_id(task, {"containerName": "app", "containerPort": 80}) == f"{task.ec2_instance_id}:{dynamic[0]}"
    assert target_id(task, {"containerName": "app", "containerPort": 81}) == f"{task.ec2_instance_id}:{dynamic[1]}"
    with pytest.raises(ServiceError, match="container port 82"):
        target_id(task, {"containerName": "app", "containerPort": 82})


def test_host_target_uses_the_container_port_and_awsvpc_the_task_address():
    region = region_with(2)
    host = _run_one(region, web_definition(family="h", portMappings=[{"containerPort": 8443}]) | {"networkMode": "host"})
    assert target_id(host, {"containerName": "app", "containerPort": 8443}) == f"{host.ec2_instance_id}:8443"
    vpc = _run_one(region, web_definition(family="v", portMappings=[{"containerPort": 80}]) | {"networkMode": "awsvpc"})
    address = target_id(vpc, {"containerName": "app", "containerPort": 80})
    seq = vpc.seq
    assert address == f"10.{seq >> 16 & 255}.{seq >> 8 & 255}.{seq & 255}"
    assert ":" not in address


def test_health_check_timing_default_two_checks_of_30_s():
    group = TargetGroup(TG)
    group.register("t1", "i-1:32768", 0)
    group.register("t2", "i-2:32768", 10 * S, fails=True)
    assert group.step(59 * S) == []                      # 2 x 30 s = 60 s of `initial`
    assert group.targets["t1"].state == "initial"
    assert group.step(60 * S) == [("t1", "initial", "healthy")]
    assert group.healthy_count() == 1
    assert group.step(70 * S) == [("t2", "initial", "unhealthy")]
    assert group.healthy_count() == 1 and not group.is_healthy("t2")


def test_custom_health_check_and_deregistration_delay():
    group = TargetGroup(TG, interval_s=10, healthy_threshold=3, deregistration_delay_s=20)
    group.register("t1", "10.0.0.1", 0)
    assert group.next_due() == 30 * S                    # 3 checks x 10 s
    group.step(30 * S)
    assert group.deregister("t1", 40 * S) == 60 * S      # drained for 20 s
    assert group.healthy_count() == 0 and group.targets["t1"].state == "draining"
    assert group.step(59 * S) == []
    assert group.step(60 * S) == [("t1", "draining", "removed")]
    assert group.targets == {}


def test_deregistration_default_300_s_and_draining_an_initial_target():
    group = TargetGroup(TG)
    group.register("t1", "i-1:80", 0)
    # deregistered while still `initial`: its pending health change must not fire
    assert group.deregister("t1", 30 * S) == 330 * S
    assert group.deregister("t1", 100 * S) == 330 * S    # a second call does not extend the drain
    assert group.step(329 * S) == []
    assert group.step(330 * S) == [("t1", "draining", "removed")]
    assert group.deregister("unknown", 5) == 5


def test_bad_target_groups_are_refused():
    with pytest.raises(ServiceError, match="targetGroupArn"):
        TargetGroup("arn:aws:ecs:us-east-1:123456789012:service/x")
    with pytest.raises(ServiceError, match="interval_s"):
        TargetGroup(TG, interval_s=0)
    group = TargetGroup(TG)
    group.register("t1", "i-1:80", 0)
    with pytest.raises(ServiceError, match="already registered"):
        group.register("t1", "i-1:81", 0)
    assert group.targets["t1"].id == "i-1:80"


def test_describe_target_health_splits_id_and_port():
    group = TargetGroup(TG)
    group.register("a", "i-1:32768", 0)
    group.register("b", "10.0.0.7", 1)
    assert group.describe_target_health() == [
        {"Target": {"Id": "i-1", "Port": 32768}, "TargetHealth": {"State": "initial"}},
        {"Target": {"Id": "10.0.0.7"}, "TargetHealth": {"State": "initial"}}]
