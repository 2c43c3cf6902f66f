"""ECS's own BLUE_GREEN / LINEAR / CANARY as ECS shows them, and a green that never becomes steady."""

import pytest

from quaymaster.errors import ServiceError
from servicekit import call, describe_service, region_with, service_of, web_definition

M = 60_000
DAY = 24 * 60 * M


def ecs_strategy_region(configuration, green=None, desired=2):
    region = region_with(4, cpu=4096, memory=8192)
    call(region, "RegisterTaskDefinition", web_definition())
    call(region, "RegisterTaskDefinition", green or web_definition(image="nginx:2"))
    call(region, "CreateService", {"cluster": "prod", "serviceName": "web", "desiredCount": desired,
                                   "taskDefinition": "web:1", "deploymentConfiguration": configuration})
    region.advance(300)
    return region


def shown(region):
    """(task definition, status, rolloutState) of DescribeServices' deployments, and the service's own."""
    described = describe_service(region, "web")
    assert "taskSets" not in described and described["deploymentController"] == {"type": "ECS"}
    rows = [(d["taskDefinition"].rsplit("/", 1)[-1], d["status"], d["rolloutState"])
            for d in described["deployments"]]
    return rows, described["taskDefinition"].rsplit("/", 1)[-1]


def listed(region):
    """ListServiceDeployments (newest first) and DescribeServiceDeployments of the same ARNs, which must agree."""
    briefs = call(region, "ListServiceDeployments", {"cluster": "prod", "service": "web"})["serviceDeployments"]
    arns = [b["serviceDeploymentArn"] for b in briefs]
    assert all(":service-deployment/prod/web/" in a for a in arns)
    full = call(region, "DescribeServiceDeployments", {"serviceDeploymentArns": arns})
    assert full["failures"] == []
    for brief, deployment in zip(briefs, full["serviceDeployments"]):
        assert deployment["serviceDeploymentArn"] == brief["serviceDeploymentArn"]
        assert deployment["status"] == brief["status"]
        assert deployment["targetServiceRevision"]["arn"] == brief["targetServiceRevisionArn"]
    return [(b["targetServiceRevisionArn"].rsplit("/", 1)[-1], b["status"]) for b in briefs], \
        full["serviceDeployments"]


def test_a_blue_green_deployment_is_shown_as_ecs_deployments_from_start_to_end():
    region = ecs_strategy_region({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 3})
    assert shown(region) == ([("web:1", "PRIMARY", "COMPLETED")], "web:1")
    assert listed(region)[0] == [("web:1", "SUCCESSFUL")]
    call(region, "UpdateService", {"cluster": "prod", "service": "web", "taskDefinition": "web:2"})
    # green is the PRIMARY deployment (what ECS deploys to) from the start; blue ACTIVE beside it
    assert shown(region) == ([("web:2", "PRIMARY", "IN_PROGRESS"), ("web:1", "ACTIVE", "COMPLETED")], "web:2")
    briefs, full = listed(region)
    assert briefs == [("web:2", "IN_PROGRESS"), ("web:1", "SUCCESSFUL")]
    assert full[0]["lifecycleStage"] == "SCALE_UP" and full[0]["deploymentConfiguration"]["strategy"] == "BLUE_GREEN"
    deployment = service_of(region, "web").blue_green
    while deployment.shift is None:
        region.advance(15)
    region.advance(15)
    _, full = listed(region)
    assert full[0]["lifecycleStage"] == "BAKE_TIME"
    assert full[0]["targetServiceRevision"]["requestedProductionTrafficWeight"] == 100.0
    green_row = describe_service(region, "web")["deployments"][0]
    assert green_row["runningCount"] == 2 and green_row["desiredCount"] == 2
    region.advance(10 * 60)
    assert deployment.state == "SUCCEEDED"
    assert shown(region) == ([("web:2", "PRIMARY", "COMPLETED")], "web:2")
    briefs, full = listed(region)
    assert briefs == [("web:2", "SUCCESSFUL"), ("web:1", "SUCCESSFUL")] and "finishedAt" in full[0]


def test_an_unplaceable_green_without_the_breaker_fails_after_the_stage_timeout():
    region = ecs_strategy_region({"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 50.0}},
                                 green=web_definition(family="huge", cpu=8192))
    call(region, "UpdateService", {"cluster": "prod", "service": "web", "taskDefinition": "huge:1"})
    deployment = service_of(region, "web").blue_green
    region.run_until(deployment.created_at + DAY - 1)
    assert deployment.state == "PROVISIONING" and deployment.weights == (100.0, 0.0)
    assert shown(region)[0][0] == ("huge:1", "PRIMARY", "IN_PROGRESS")
    region.run_until(deployment.created_at + DAY + 15_000)
    assert deployment.state == "ROLLED_BACK" and "1440 minutes" in deployment.reason
    assert shown(region) == ([("web:1", "PRIMARY", "COMPLETED")], "web:1")
    briefs, full = listed(region)
    assert briefs == [("huge:1", "ROLLBACK_SUCCESSFUL"), ("web:1", "SUCCESSFUL")]
    assert "steady state" in full[0]["statusReason"]
    assert full[0]["deploymentCircuitBreaker"]["status"] == "DISABLED"
    assert describe_service(region, "web")["runningCount"] == 2
    assert any("rolled back" in e["message"] for e in describe_service(region, "web")["events"])


def code_deploy_region(desired=4):
    region = region_with(4, cpu=4096, memory=8192)
    call(region, "RegisterTaskDefinition", web_definition())
    call(region, "RegisterTaskDefinition", web_definition(family="broken"))
    call(region, "CreateService", {"cluster": "prod", "serviceName": "web", "desiredCount": desired,
                                   "taskDefinition": "web:1", "deploymentController": {"type": "CODE_DEPLOY"}})
    region.advance(300)
    region.set_task_timings("broken", {"startFailureProbability": 1.0})
    return region


def test_a_green_whose_tasks_never_start_rolls_back_at_the_ready_timeout_without_the_breaker():
    region = code_deploy_region()
    region.create_blue_green_deployment({"cluster": "prod", "service": "web", "taskDefinition": "broken:1",
                                         "readyTimeoutInMinutes": 20})
    deployment = service_of(region, "web").blue_green
    region.run_until(deployment.created_at + 20 * M - 1)
    assert deployment.state == "PROVISIONING" and deployment.green.failed_tasks > 0
    region.run_until(deployment.created_at + 20 * M + 15_000)
    assert deployment.state == "ROLLED_BACK" and "within 20 minutes" in deployment.reason
    assert deployment.weights == (100.0, 0.0)
    region.advance(600)
    task_sets = call(region, "DescribeTaskSets", {"cluster": "prod", "service": "web"})["taskSets"]
    assert [(t["taskDefinition"].rsplit("/", 1)[-1], t["status"], t["runningCount"]) for t in task_sets] == \
        [("web:1", "PRIMARY", 4)]
    described = describe_service(region, "web")
    assert described["deployments"] == [] and len(described["taskSets"]) == 1   # CODE_DEPLOY: task sets


@pytest.mark.parametrize("timeout", [0, -5, 2.5, True, "10"])
def test_a_bad_ready_timeout_is_refused_and_nothing_starts(timeout):
    region = code_deploy_region()
    before = describe_service(region, "web")
    with pytest.raises(ServiceError) as info:
        region.create_blue_green_deployment({"cluster": "prod", "service": "web", "taskDefinition": "broken:1",
                                             "readyTimeoutInMinutes": timeout})
    assert info.value.code == "InvalidParameterException" and "readyTimeoutInMinutes" in info.value.message
    assert getattr(service_of(region, "web"), "blue_green", None) is None
    assert describe_service(region, "web")["taskSets"] == before["taskSets"]
