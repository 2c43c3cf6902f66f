"""Blue/green deployments of CODE_DEPLOY services: one that completes, ones that roll back."""

import pytest

from quaymaster.errors import ServiceError
from servicekit import call, region_with, web_definition

M = 60_000


def code_deploy_service(desired=4, breaker=False):
    region = region_with(4, cpu=4096, memory=8192)
    call(region, "RegisterTaskDefinition", web_definition())
    call(region, "RegisterTaskDefinition", web_definition(image="nginx:2"))
    call(region, "RegisterTaskDefinition", web_definition(family="broken"))
    request = {"cluster": "prod", "serviceName": "web", "desiredCount": desired, "taskDefinition": "web:1",
               "deploymentController": {"type": "CODE_DEPLOY"}}
    if breaker:
        request["deploymentConfiguration"] = {"deploymentCircuitBreaker": {"enable": True, "rollback": True}}
    out = call(region, "CreateService", request)
    assert [t["status"] for t in out["service"]["taskSets"]] == ["PRIMARY"]
    region.advance(300)
    return region


def sets(region):
    return {t["taskDefinition"].rsplit("/", 1)[-1]: t
            for t in call(region, "DescribeTaskSets", {"cluster": "prod", "service": "web"})["taskSets"]}


def service(region):
    return region.clusters["prod"].services.get("web")


def test_linear_deployment_shifts_by_its_steps_and_removes_blue_after_the_wait():
    region = code_deploy_service()
    assert sets(region)["web:1"]["stabilityStatus"] == "STEADY_STATE"
    region.create_blue_green_deployment({"cluster": "prod", "service": "web", "taskDefinition": "web:2",
                                         "deploymentConfigName": "ECSLinear10PercentEvery1Minutes",
                                         "terminationWaitTimeInMinutes": 5})
    deployment = service(region).blue_green
    seen = {}
    for _ in range(40 * 4):               # 40 min, every 15 s
        region.advance(15)
        if deployment.shift is not None:
            seen[region.now - deployment.shift.started_at] = deployment.weights
    # green came up beside blue first: both run 4 tasks
    start = deployment.shift.started_at
    assert start > deployment.created_at
    # 10% at once, +10% each minute: 100% at 9 min
    assert seen[0] == (90, 10) and seen[M - 15_000] == (90, 10) and seen[M] == (80, 20)
    assert seen[5 * M] == (40, 60) and seen[9 * M] == (0, 100)
    # blue is removed 5 min (the wait) after the last step; green is the only, PRIMARY, set
    assert deployment.state == "SUCCEEDED"
    final = sets(region)
    assert list(final) == ["web:2"] and final["web:2"]["status"] == "PRIMARY"
    assert final["web:2"]["runningCount"] == 4
    described = call(region, "DescribeServices", {"cluster": "prod", "services": ["web"]})["services"][0]
    assert described["taskDefinition"].endswith("web:2")
    assert any("blue/green deployment" in e["message"] and "completed" in e["message"]
               for e in described["events"])


@pytest.mark.parametrize("config, full_at_min", [
    ("ECSAllAtOnce", 0), ("ECSCanary10Percent5Minutes", 5),
    ({"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 50, "linearInterval": 2}}, 2),
])
def test_each_configuration_reaches_green_at_its_time(config, full_at_min):
    region = code_deploy_service(desired=2)
    body = {"cluster": "prod", "service": "web", "taskDefinition": "web:2", "terminationWaitTimeInMinutes": 1}
    body["trafficRoutingConfig" if isinstance(config, dict) else "deploymentConfigName"] = config
    region.create_blue_green_deployment(body)
    deployment = service(region).blue_green
    while deployment.shift is None:
        region.advance(15)
    start = deployment.shift.started_at
    if full_at_min:
        region.run_until(start + full_at_min * M - 1)
        assert deployment.weights[1] < 100
    region.run_until(start + full_at_min * M)
    assert deployment.weights == (0, 100)
    region.run_until(start + (full_at_min + 1) * M + 2 * M)
    assert deployment.state == "SUCCEEDED" and list(sets(region)) == ["web:2"]


def test_green_that_fails_to_start_trips_the_breaker_and_rolls_back():
    region = code_deploy_service(desired=4, breaker=True)
    region.set_task_timings("broken", {"startFailureProbability": 1.0})
    region.create_blue_green_deployment({"cluster": "prod", "service": "web", "taskDefinition": "broken:1",
                                         "deploymentConfigName": "ECSCanary10Percent5Minutes"})
    deployment = service(region).blue_green
    region.advance(3600)
    assert deployment.state == "ROLLED_BACK" and "circuit breaker" in deployment.reason
    assert deployment.weights == (100, 0)
    final = sets(region)
    assert list(final) == ["web:1"] and final["web:1"]["status"] == "PRIMARY"
    assert final["web:1"]["runningCount"] == 4


def test_green_not_steady_at_a_step_moves_traffic_back_to_blue():
    region = code_deploy_service(desired=2)
    # green tasks exit 3 min after they start: steady first, then not at a later step
    region.set_task_timings("broken", {"runFor": "3m"})
    region.create_blue_green_deployment({"cluster": "prod", "service": "web", "taskDefinition": "broken:1",
                                         "deploymentConfigName": "ECSLinear10PercentEvery1Minutes"})
    deployment = service(region).blue_green
    weights = []
    for _ in range(60):
        region.advance(15)
        weights.append(deployment.weights)
        if deployment.finished:
            break
    assert deployment.state == "ROLLED_BACK" and "not steady" in deployment.reason
    assert (90, 10) in weights and weights[-1] == (100, 0)
    region.advance(600)
    assert list(sets(region)) == ["web:1"]


def test_blue_green_requests_are_refused_with_nothing_changed():
    region = code_deploy_service(desired=2)
    before = sets(region)
    for body, code in [
        ({"taskDefinition": "web:2", "deploymentConfigName": "ECSLinear10PercentEvery0Minutes"},
         "InvalidParameterException"),
        ({"taskDefinition": "missing:1"}, "ClientException"),
        ({"taskDefinition": "web:2", "service": "nope"}, "ServiceNotFoundException"),
    ]:
        with pytest.raises(ServiceError) as info:
            region.create_blue_green_deployment({"cluster": "prod", "service": "web", **body})
        assert info.value.code == code
    assert sets(region) == before and getattr(service(region), "blue_green", None) is None
    # CreateTaskSet is for EXTERNAL services only
    with pytest.raises(ServiceError) as info:
        region.handle("ecs", "CreateTaskSet", {"cluster": "prod", "service": "web", "taskDefinition": "web:2"})
    assert info.value.code == "InvalidParameterException"
    # a second deployment while one is in progress
    region.create_blue_green_deployment({"cluster": "prod", "service": "web", "taskDefinition": "web:2"})
    with pytest.raises(ServiceError, match="in progress"):
        region.create_blue_green_deployment({"cluster": "prod", "service": "web", "taskDefinition": "web:2"})


def own_sets(region):
    """An ECS-controller service's task sets (DescribeTaskSets is for EXTERNAL/CODE_DEPLOY services)."""
    return [t.task_definition.arn.rsplit("/", 1)[-1] for t in service(region).task_sets]


def ecs_strategy_service(deployment_configuration, desired=2):
    region = region_with(4, cpu=4096, memory=8192)
    call(region, "RegisterTaskDefinition", web_definition())
    call(region, "RegisterTaskDefinition", web_definition(image="nginx:2"))
    call(region, "CreateService", {"cluster": "prod", "serviceName": "web", "desiredCount": desired,
                                   "taskDefinition": "web:1", "deploymentConfiguration": deployment_configuration})
    region.advance(300)
    return region


@pytest.mark.parametrize("configuration, points, bake", [
    # LINEAR 50% every 2 min: 50% at 0, 100% at 2 min; blue removed 1 min (bake) later
    ({"strategy": "LINEAR", "bakeTimeInMinutes": 1,
      "linearConfiguration": {"stepPercent": 50.0, "stepBakeTimeInMinutes": 2}}, [(0, 50), (1, 50), (2, 100)], 1),
    # CANARY 20% for 3 min
    ({"strategy": "CANARY", "bakeTimeInMinutes": 2,
      "canaryConfiguration": {"canaryPercent": 20.0, "canaryBakeTimeInMinutes": 3}}, [(0, 20), (2, 20), (3, 100)], 2),
    # BLUE_GREEN: all at once, blue kept for the 4 min bake
    ({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 4}, [(0, 100)], 4),
])
def test_ecs_strategies_through_update_service(configuration, points, bake):
    region = ecs_strategy_service(configuration)
    described = call(region, "DescribeServices", {"cluster": "prod", "services": ["web"]})["services"][0]
    assert described["deploymentConfiguration"]["strategy"] == configuration["strategy"]
    call(region, "UpdateService", {"cluster": "prod", "service": "web", "taskDefinition": "web:2"})
    deployment = service(region).blue_green
    while deployment.shift is None:
        region.advance(15)
    start = deployment.shift.started_at
    for minute, green in points:
        region.run_until(start + minute * M)
        assert deployment.weights == (100 - green, green), minute
    last = points[-1][0]
    region.run_until(start + (last + bake) * M - 1)
    assert "web:1" in own_sets(region)            # blue is kept for the bake time
    region.run_until(start + (last + bake) * M + 2 * M)
    assert deployment.state == "SUCCEEDED" and own_sets(region) == ["web:2"]


@pytest.mark.parametrize("configuration", [
    {"strategy": "LINEAR"},                                           # no linearConfiguration
    {"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 150.0}},
    {"strategy": "BLUE_GREEN", "maximumPercent": 50},
])
def test_bad_ecs_strategies_are_refused_and_no_service_is_made(configuration):
    region = region_with(2)
    call(region, "RegisterTaskDefinition", web_definition())
    with pytest.raises(ServiceError) as info:
        region.handle("ecs", "CreateService", {"cluster": "prod", "serviceName": "web", "taskDefinition": "web:1",
                                               "deploymentConfiguration": configuration})
    assert info.value.code == "InvalidParameterException"
    assert call(region, "ListServices", {"cluster": "prod"})["serviceArns"] == []


def test_listener_weights_split_traffic_between_blue_and_green_targets():
    tg = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/00000000000000aa"
    region = region_with(4, cpu=4096, memory=8192)
    for image in ("nginx", "nginx:2"):
        call(region, "RegisterTaskDefinition", web_definition(image=image, portMappings=[{"containerPort": 80}]))
    call(region, "CreateService", {"cluster": "prod", "serviceName": "web", "desiredCount": 2,
                                   "taskDefinition": "web:1", "deploymentController": {"type": "CODE_DEPLOY"},
                                   "loadBalancers": [{"targetGroupArn": tg, "containerName": "app",
                                                      "containerPort": 80}]})
    region.advance(300)
    shares = region.load_balancing.traffic_shares(tg, service(region))
    assert sorted(shares.values()) == [50.0, 50.0]
    region.create_blue_green_deployment({"cluster": "prod", "service": "web", "taskDefinition": "web:2",
                                         "deploymentConfigName": "ECSCanary10Percent5Minutes"})
    deployment = service(region).blue_green
    while deployment.shift is None:
        region.advance(15)
    shares = region.load_balancing.traffic_shares(tg, service(region))
    blue_ids = {region.load_balancing.groups[tg].targets[a].id for a in deployment.blue.tasks}
    # canary: blue 90% over its 2 targets (45 each), green 10% over its 2 (5 each)
    assert sorted(v for k, v in shares.items() if k in blue_ids) == [45.0, 45.0]
    assert sorted(v for k, v in shares.items() if k not in blue_ids) == [5.0, 5.0]
    assert region.load_balancing.healthy_targets(tg) == 4
    region.advance(3 * 3600)
    assert deployment.state == "SUCCEEDED" and region.load_balancing.healthy_targets(tg) == 2


APPSPEC = """version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: {td}
        LoadBalancerInfo: {{ContainerName: app, ContainerPort: 80}}
"""


def test_codedeploy_create_deployment_through_handle():
    from botocore.validate import validate_parameters
    from quaymaster.region.dispatch import operation_model

    region = code_deploy_service(desired=2)
    out = region.handle("codedeploy", "CreateDeployment", {
        "applicationName": "prod", "deploymentGroupName": "web",
        "deploymentConfigName": "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
        "revision": {"revisionType": "AppSpecContent", "appSpecContent": {"content": APPSPEC.format(td="web:2")}}})
    validate_parameters(out, operation_model("codedeploy", "CreateDeployment").output_shape)
    deployment = service(region).blue_green
    assert out["deploymentId"] == deployment.id and deployment.id.startswith("d-")
    region.advance(2 * 3600)
    assert deployment.state == "SUCCEEDED" and list(sets(region)) == ["web:2"]


@pytest.mark.parametrize("changes, code", [
    ({"applicationName": "nope"}, "ApplicationDoesNotExistException"),
    ({"deploymentGroupName": "other"}, "DeploymentGroupDoesNotExistException"),
    ({"deploymentConfigName": "CodeDeployDefault.OneAtATime"}, "DeploymentConfigDoesNotExistException"),
    ({"revision": {"revisionType": "S3", "s3Location": {"bucket": "b", "key": "k"}}}, "InvalidRevisionException"),
    ({"revision": {"revisionType": "AppSpecContent", "appSpecContent": {"content": "Resources: []"}}},
     "InvalidRevisionException"),
    ({"revision": {"revisionType": "AppSpecContent", "appSpecContent": {"content": APPSPEC.format(td="gone:9")}}},
     "InvalidRevisionException"),
])
def test_bad_codedeploy_deployments_are_refused_and_nothing_changes(changes, code):
    region = code_deploy_service(desired=2)
    before = sets(region)
    body = {"applicationName": "prod", "deploymentGroupName": "web",
            "revision": {"revisionType": "AppSpecContent", "appSpecContent": {"content": APPSPEC.format(td="web:2")}},
            **changes}
    with pytest.raises(ServiceError) as info:
        region.handle("codedeploy", "CreateDeployment", body)
    assert info.value.code == code
    assert sets(region) == before and getattr(service(region), "blue_green", None) is None
