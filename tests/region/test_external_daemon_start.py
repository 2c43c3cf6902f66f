"""EXTERNAL (ECS Anywhere) instances with StartTask and DAEMON services: a task started on an
``ecs.capability.external`` instance is an EXTERNAL task; a DAEMON service of launch type EC2
runs on the EC2 instances only, one of launch type EXTERNAL on the external instances only."""

from servicekit import call, register_instances

from quaymaster.errors import ServiceError
from quaymaster.region import Region

EXTERNAL = [{"name": "ecs.capability.external"}]


def mixed_region():
    region = Region(seed=3)
    call(region, "CreateCluster", {"clusterName": "prod"})
    ec2 = register_instances(region, "prod", 2)
    external = register_instances(region, "prod", 2, start=10, attributes=EXTERNAL)
    call(region, "RegisterTaskDefinition", {"family": "agent", "containerDefinitions": [
        {"name": "agent", "image": "agent", "cpu": 128, "memory": 128}]})
    return region, ec2, external


def tasks_of(region, service):
    arns = call(region, "ListTasks", {"cluster": "prod", "serviceName": service})["taskArns"]
    return call(region, "DescribeTasks", {"cluster": "prod", "tasks": arns})["tasks"]


def test_start_task_on_an_external_instance_is_an_external_task():
    region, ec2, external = mixed_region()
    out = call(region, "StartTask", {"cluster": "prod", "taskDefinition": "agent",
                                     "containerInstances": [ec2[0], external[0]]})
    assert out["failures"] == []
    shown = {t["containerInstanceArn"]: t["launchType"] for t in out["tasks"]}
    assert shown == {ec2[0]: "EC2", external[0]: "EXTERNAL"}
    described = call(region, "DescribeTasks", {"cluster": "prod", "tasks": [t["taskArn"] for t in out["tasks"]]})
    assert {t["containerInstanceArn"]: t["launchType"] for t in described["tasks"]} == shown


def test_daemon_services_follow_their_launch_type():
    region, ec2, external = mixed_region()
    for name, launch_type in (("on-ec2", "EC2"), ("anywhere", "EXTERNAL")):
        call(region, "CreateService", {"cluster": "prod", "serviceName": name, "taskDefinition": "agent",
                                       "schedulingStrategy": "DAEMON", "launchType": launch_type})
    region.advance(120)
    on_ec2, anywhere = tasks_of(region, "on-ec2"), tasks_of(region, "anywhere")
    assert sorted(t["containerInstanceArn"] for t in on_ec2) == sorted(ec2)
    assert {t["launchType"] for t in on_ec2} == {"EC2"}
    assert sorted(t["containerInstanceArn"] for t in anywhere) == sorted(external)
    assert {t["launchType"] for t in anywhere} == {"EXTERNAL"}
    services = call(region, "DescribeServices", {"cluster": "prod", "services": ["on-ec2", "anywhere"]})["services"]
    assert [s["runningCount"] for s in services] == [2, 2]


def test_start_task_refuses_an_external_instance_for_an_awsvpc_definition():
    """ECS Anywhere has no awsvpc: StartTask naming an external instance is refused before any
    task starts, even when the other named instance is EC2; on EC2 instances alone it starts."""
    region, ec2, external = mixed_region()
    call(region, "RegisterTaskDefinition", {"family": "vpc", "networkMode": "awsvpc", "containerDefinitions": [
        {"name": "app", "image": "app", "cpu": 128, "memory": 128}]})
    before = call(region, "ListTasks", {"cluster": "prod"})["taskArns"]
    try:
        call(region, "StartTask", {"cluster": "prod", "taskDefinition": "vpc",
                                   "containerInstances": [ec2[0], external[0]]})
    except ServiceError as error:
        assert error.code == "InvalidParameterException"
        assert str(error) == "Task definition does not support launch_type EXTERNAL."
    else:
        raise AssertionError("StartTask on an external instance was accepted")
    assert call(region, "ListTasks", {"cluster": "prod"})["taskArns"] == before
    out = call(region, "StartTask", {"cluster": "prod", "taskDefinition": "vpc", "containerInstances": [ec2[1]]})
    assert [t["launchType"] for t in out["tasks"]] == ["EC2"]
