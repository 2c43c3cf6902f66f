"""Fargate platform versions and families as ECS reports them: tasks and deployments run on the
resolved version (LATEST is 1.4.0 on Linux), the service shows the version it asked for; a version
off the platform's list, or one given without Fargate, is refused naming the field."""

import pytest

from quaymaster.errors import ServiceError

from servicekit import call
from test_fargate_launches import FARGATE_DEF, NETWORK, describe, fargate_region, refused, run

WINDOWS_DEF = {**FARGATE_DEF, "family": "win", "cpu": "1024", "memory": "2048",
               "runtimePlatform": {"operatingSystemFamily": "WINDOWS_SERVER_2019_CORE", "cpuArchitecture": "X86_64"}}


def service(region, name="web", **request):
    call(region, "CreateService", {"cluster": "prod", "serviceName": name, "taskDefinition": "fg", "desiredCount": 2,
                                   "launchType": "FARGATE", "networkConfiguration": NETWORK, **request})
    return lambda: call(region, "DescribeServices", {"cluster": "prod", "services": [name]})["services"][0]


def test_a_fargate_task_runs_on_latest_resolved_and_records_its_image_pull():
    region = fargate_region()
    arn = run(region, launchType="FARGATE")["tasks"][0]["taskArn"]
    task = describe(region, [arn])[0]
    assert (task["platformVersion"], task["platformFamily"]) == ("1.4.0", "Linux")
    assert "pullStartedAt" not in task                    # still PROVISIONING
    region.advance(60)
    task = describe(region, [arn])[0]
    assert task["lastStatus"] == "RUNNING" and task["pullStartedAt"] <= task["startedAt"]


def test_a_named_version_is_kept():
    region = fargate_region()
    task = run(region, launchType="FARGATE", platformVersion="1.3.0")["tasks"][0]
    assert task["platformVersion"] == "1.3.0"


def test_a_service_shows_what_it_asked_for_and_its_deployments_what_they_run():
    region = fargate_region()
    view = service(region)
    out = view()
    assert (out["platformVersion"], out["platformFamily"]) == ("LATEST", "Linux")
    assert [(d["platformVersion"], d["platformFamily"]) for d in out["deployments"]] == [("1.4.0", "Linux")]
    call(region, "UpdateService", {"cluster": "prod", "service": "web", "platformVersion": "1.3.0"})
    out = view()
    assert out["platformVersion"] == "1.3.0"
    assert [d["platformVersion"] for d in out["deployments"]] == ["1.3.0", "1.4.0"]   # a new deployment
    region.advance(120)
    tasks = call(region, "ListTasks", {"cluster": "prod", "serviceName": "web"})["taskArns"]
    assert {t["platformVersion"] for t in describe(region, tasks)} == {"1.3.0"}


def test_windows_resolves_to_its_own_version():
    region = fargate_region()
    call(region, "RegisterTaskDefinition", WINDOWS_DEF)
    task = run(region, launchType="FARGATE", taskDefinition="win")["tasks"][0]
    assert (task["platformVersion"], task["platformFamily"]) == ("1.0.0", "WINDOWS_SERVER_2019_CORE")


def test_an_ec2_service_has_no_platform_fields():
    region = fargate_region()
    call(region, "RegisterTaskDefinition", {"family": "ec2", "containerDefinitions": [
        {"name": "a", "image": "a", "cpu": 128, "memory": 128}]})
    call(region, "CreateService", {"cluster": "prod", "serviceName": "e", "taskDefinition": "ec2", "desiredCount": 0,
                                   "launchType": "EC2"})
    out = call(region, "DescribeServices", {"cluster": "prod", "services": ["e"]})["services"][0]
    assert "platformVersion" not in out and "platformFamily" not in out


@pytest.mark.parametrize("request_, needle", [
    ({"launchType": "FARGATE", "platformVersion": "1.9.9"}, "platformVersion '1.9.9'"),
    ({"launchType": "FARGATE", "platformVersion": "1.0.0"}, "platformVersion '1.0.0'"),   # Windows only
    ({"launchType": "EC2", "platformVersion": "LATEST"}, "must be null when specifying an EC2 launch type"),
])
def test_bad_platform_versions_are_refused_and_change_nothing(request_, needle):
    region = fargate_region()
    code, message = refused(region, "RunTask", {"cluster": "prod", "taskDefinition": "fg",
                                                "networkConfiguration": NETWORK, **request_})
    assert code == "InvalidParameterException" and needle in message
    code, message = refused(region, "CreateService", {"cluster": "prod", "serviceName": "s", "taskDefinition": "fg",
                                                      "desiredCount": 1, "networkConfiguration": NETWORK, **request_})
    assert code == "InvalidParameterException" and needle in message


def test_a_bad_version_on_update_changes_nothing():
    region = fargate_region()
    view = service(region)
    before = view()
    with pytest.raises(ServiceError) as info:
        region.handle("ecs", "UpdateService", {"cluster": "prod", "service": "web", "platformVersion": "2.0"})
    assert info.value.code == "InvalidParameterException" and "platformVersion" in info.value.message
    assert view() == before


def test_an_ecs_blue_green_fargate_service_shows_the_version_of_each_deployment():
    region = fargate_region()
    view = service(region, deploymentConfiguration={"strategy": "BLUE_GREEN"}, platformVersion="1.3.0")
    region.advance(120)
    out = view()
    assert out["platformVersion"] == "1.3.0"
    assert [(d["platformVersion"], d["platformFamily"]) for d in out["deployments"]] == [("1.3.0", "Linux")]
    tasks = call(region, "ListTasks", {"cluster": "prod", "serviceName": "web"})["taskArns"]
    assert {t["platformVersion"] for t in describe(region, tasks)} == {"1.3.0"}
    code, message = refused(region, "CreateService", {
        "cluster": "prod", "serviceName": "bad", "taskDefinition": "fg", "desiredCount": 1, "launchType": "FARGATE",
        "networkConfiguration": NETWORK, "deploymentConfiguration": {"strategy": "BLUE_GREEN"},
        "platformVersion": "0.9"})
    assert code == "InvalidParameterException" and "platformVersion '0.9'" in message
