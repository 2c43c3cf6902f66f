"""Services on the clock: deployments, circuit breaker, throttling, draining, DAEMON, deletion, bad input."""

import pytest

from quaymaster.errors import ServiceError
from servicekit import call, describe_service, region_with, register_instances, service_of, step, web_definition


def make(region, **request):
    body = {"cluster": "prod", "serviceName": "web", "taskDefinition": "web", "desiredCount": 3, **request}
    return call(region, "CreateService", body)["service"]


def refused(region, operation, request):
    with pytest.raises(ServiceError) as info:
        region.handle("ecs", operation, request)
    return info.value.code, info.value.message


def test_service_reaches_steady_state_once():
    region = region_with(4)
    call(region, "RegisterTaskDefinition", web_definition())
    make(region)
    region.advance(600)
    d = describe_service(region, "web")
    assert (d["runningCount"], d["pendingCount"], d["deployments"][0]["rolloutState"]) == (3, 0, "COMPLETED")
    steady = [e for e in d["events"] if e["message"] == "service web has reached a steady state."]
    assert len(steady) == 1


def test_rolling_deployment_replaces_every_task_and_completes():
    region = region_with(4)
    call(region, "RegisterTaskDefinition", web_definition())
    call(region, "RegisterTaskDefinition", web_definition(image="nginx:2"))
    make(region, taskDefinition="web:1")
    region.advance(300)
    call(region, "UpdateService", {"cluster": "prod", "service": "web", "taskDefinition": "web:2"})
    region.advance(600)
    d = describe_service(region, "web")
    assert [x["status"] for x in d["deployments"]] == ["PRIMARY"]
    assert d["deployments"][0]["taskDefinition"].endswith("web:2") and d["runningCount"] == 3
    listed = call(region, "ListServiceDeployments", {"cluster": "prod", "service": "web"})["serviceDeployments"]
    assert [x["status"] for x in listed] == ["SUCCESSFUL", "SUCCESSFUL"]


def test_scale_out_and_in_by_update_service():
    region = region_with(6)
    call(region, "RegisterTaskDefinition", web_definition())
    make(region, desiredCount=2)
    region.advance(120)
    call(region, "UpdateService", {"cluster": "prod", "service": "web", "desiredCount": 8})
    region.advance(120)
    assert describe_service(region, "web")["runningCount"] == 8
    call(region, "UpdateService", {"cluster": "prod", "service": "web", "desiredCount": 1})
    region.advance(120)
    service = service_of(region, "web")
    assert describe_service(region, "web")["runningCount"] == 1 and len(service.primary.tasks) == 1


def test_circuit_breaker_fails_and_rolls_back():
    region = region_with(4)
    call(region, "RegisterTaskDefinition", web_definition())
    call(region, "RegisterTaskDefinition", web_definition(family="broken", image="broken"))
    region.set_task_timings("broken", {"startFailureProbability": 1.0})
    make(region, taskDefinition="web:1", deploymentConfiguration={
        "deploymentCircuitBreaker": {"enable": True, "rollback": True}})
    region.advance(300)
    first = service_of(region, "web").primary
    call(region, "UpdateService", {"cluster": "prod", "service": "web", "taskDefinition": "broken:1"})
    failing = service_of(region, "web").primary
    region.advance(3600)
    service = service_of(region, "web")
    assert failing.rollout_state == "FAILED" and failing.failed_tasks == 3   # threshold of desired 3
    assert service.primary is first and first.rollout_state == "COMPLETED"
    assert describe_service(region, "web")["runningCount"] == 3
    assert any("rolling back" in m for m in service.events.messages())
    statuses = [d["status"] for d in call(region, "ListServiceDeployments",
                                          {"cluster": "prod", "service": "web"})["serviceDeployments"]]
    assert "ROLLBACK_SUCCESSFUL" in statuses


def test_circuit_breaker_without_rollback_stops_starting():
    region = region_with(4)
    call(region, "RegisterTaskDefinition", web_definition(family="broken"))
    region.set_task_timings("broken", {"startFailureProbability": 1.0})
    make(region, taskDefinition="broken", desiredCount=6, deploymentConfiguration={
        "deploymentCircuitBreaker": {"enable": True, "rollback": False}})
    region.advance(3600)
    service = service_of(region, "web")
    assert service.primary.rollout_state == "FAILED"
    assert service.primary.failed_tasks == 6     # one batch of 6 failed together, past the threshold of 3
    assert region.task_count == 6


def test_throttling_spaces_launch_attempts():
    region = region_with(2)
    call(region, "RegisterTaskDefinition", web_definition())
    region.set_task_timings("web", {"startFailureProbability": 1.0})
    make(region, desiredCount=1)
    region.run_until(region.now)
    launches = [0]
    for _ in range(400):
        before = region.task_count
        step(region)
        if region.task_count > before:
            launches.append(region.now - region.clock.start)
    gaps = [(b - a) // 1000 for a, b in zip(launches, launches[1:])]
    # a launch fails 30 s later (PENDING seen at the next tick, 10 s pending, seen at a tick), then the
    # service waits 10, 20, 40, 80, 160 s before the next launch, observed at the following tick
    assert gaps[:5] == [45, 60, 75, 120, 195]
    assert all(gap <= 30 + 1620 + 15 for gap in gaps)
    messages = service_of(region, "web").events.messages()
    assert messages.count("service web is unable to consistently start tasks successfully.") == 1


def test_unable_to_place_is_reported_once_with_the_reason():
    region = region_with(1, cpu=512, memory=1024)
    call(region, "RegisterTaskDefinition", web_definition())
    make(region, desiredCount=4)
    region.advance(600)
    messages = service_of(region, "web").events.messages()
    unable = [m for m in messages if "unable to place" in m]
    assert unable == ["service web was unable to place a task because no container instance met all of its "
                      "requirements. Reason: RESOURCE:CPU."]
    assert describe_service(region, "web")["runningCount"] == 2


def test_draining_replaces_tasks_within_bounds():
    region = region_with(4)
    call(region, "RegisterTaskDefinition", web_definition())
    make(region, desiredCount=4, placementConstraints=[{"type": "distinctInstance"}])
    region.advance(300)
    service = service_of(region, "web")
    victim = next(iter(service.primary.tasks.values())).instance_arn
    register_instances(region, "prod", 1, start=50)
    call(region, "UpdateContainerInstancesState", {"cluster": "prod", "containerInstances": [victim],
                                                   "status": "DRAINING"})
    for _ in range(40):
        step(region)
        assert sum(1 for t in service.all_tasks() if t.live) <= 8
        assert sum(1 for t in service.all_tasks() if t.healthy) >= 4
    live = [t for t in service.all_tasks() if t.live]
    assert len(live) == 4 and all(t.instance_arn != victim for t in live)


def test_daemon_one_task_per_active_instance():
    region = region_with(3)
    call(region, "RegisterTaskDefinition", web_definition(family="agent", cpu=128, memory=128))
    call(region, "CreateService", {"cluster": "prod", "serviceName": "agent", "taskDefinition": "agent",
                                   "schedulingStrategy": "DAEMON"})
    region.advance(120)
    service = service_of(region, "agent")
    assert len({t.instance_arn for t in service.all_tasks() if t.live}) == 3
    assert describe_service(region, "agent")["desiredCount"] == 3     # one per qualifying instance
    new = register_instances(region, "prod", 1, start=20)[0]
    region.advance(60)
    assert any(t.instance_arn == new and t.live for t in service.all_tasks())
    assert describe_service(region, "agent")["desiredCount"] == 4
    call(region, "UpdateContainerInstancesState", {"cluster": "prod", "containerInstances": [new],
                                                   "status": "DRAINING"})
    region.advance(120)
    live = [t for t in service.all_tasks() if t.live]
    assert len(live) == 3 and all(t.instance_arn != new for t in live)
    assert describe_service(region, "agent")["deployments"][0]["rolloutState"] == "COMPLETED"
    assert describe_service(region, "agent")["desiredCount"] == 3     # the drained one no longer counts


def test_delete_service_drains_then_inactive():
    region = region_with(2)
    call(region, "RegisterTaskDefinition", web_definition())
    make(region, desiredCount=2)
    region.advance(120)
    code, message = refused(region, "DeleteService", {"cluster": "prod", "service": "web"})
    assert code == "InvalidParameterException" and describe_service(region, "web")["desiredCount"] == 2
    assert call(region, "DeleteService", {"cluster": "prod", "service": "web", "force": True})["service"][
        "status"] == "DRAINING"
    region.advance(120)
    assert describe_service(region, "web")["status"] == "INACTIVE"
    assert call(region, "ListServices", {"cluster": "prod"})["serviceArns"] == []
    assert refused(region, "UpdateService", {"cluster": "prod", "service": "web", "desiredCount": 1})[0] == \
        "ServiceNotFoundException"


@pytest.mark.parametrize("request_changes, code", [
    ({"cluster": "nope"}, "ClusterNotFoundException"),
    ({"schedulingStrategy": "DAEMON"}, "InvalidParameterException"),              # DAEMON with a desired count
    ({"deploymentConfiguration": {"maximumPercent": 50}}, "InvalidParameterException"),
    ({"deploymentConfiguration": {"minimumHealthyPercent": 150}}, "InvalidParameterException"),
    ({"launchType": "FARGATE", "placementStrategy": [{"type": "binpack", "field": "cpu"}]},
     "InvalidParameterException"),
    ({"placementStrategy": [{"type": "binpack", "field": "disk"}]}, "InvalidParameterException"),
    ({"desiredCount": 5001}, "InvalidParameterException"),
    ({"taskDefinition": "missing"}, "ClientException"),
    ({"deploymentController": {"type": "EXTERNAL"}}, "InvalidParameterException"),   # EXTERNAL takes no taskDefinition
])
def test_bad_services_are_refused_and_nothing_changes(request_changes, code):
    region = region_with(2)
    call(region, "RegisterTaskDefinition", web_definition())
    body = {"cluster": "prod", "serviceName": "web", "taskDefinition": "web", "desiredCount": 3,
            **request_changes}
    assert refused(region, "CreateService", body)[0] == code
    assert call(region, "ListServices", {"cluster": "prod"})["serviceArns"] == []
    region.advance(60)
    assert region.clusters["prod"].cluster.task_table().num_rows == 0


def test_duplicate_service_and_bad_update_change_nothing():
    region = region_with(2)
    call(region, "RegisterTaskDefinition", web_definition())
    make(region)
    assert refused(region, "CreateService", {"cluster": "prod", "serviceName": "web", "taskDefinition": "web"})[
        1] == "Creation of service was not idempotent."
    before = describe_service(region, "web")
    assert refused(region, "UpdateService", {"cluster": "prod", "service": "web", "desiredCount": 2,
                                             "deploymentConfiguration": {"maximumPercent": 10}})[0] == \
        "InvalidParameterException"
    after = describe_service(region, "web")
    assert after["desiredCount"] == before["desiredCount"] == 3
    assert after["deployments"] == before["deployments"]


def test_deregistration_delay_seam_holds_a_stopping_task_in_deactivating():
    region = region_with(1)
    call(region, "RegisterTaskDefinition", web_definition())
    region.lifecycle.deregistration_delay_ms = lambda task: 300_000
    arn = call(region, "RunTask", {"cluster": "prod", "taskDefinition": "web"})["tasks"][0]["taskArn"]
    region.advance(60)
    call(region, "StopTask", {"cluster": "prod", "task": arn})
    region.advance(290)
    assert call(region, "DescribeTasks", {"cluster": "prod", "tasks": [arn]})["tasks"][0]["lastStatus"] == \
        "DEACTIVATING"
    region.advance(20)    # 300 s of deregistration delay, then the 30 s of STOPPING
    assert call(region, "DescribeTasks", {"cluster": "prod", "tasks": [arn]})["tasks"][0]["lastStatus"] == \
        "STOPPING"


def test_circuit_breaker_stage_two_counts_failed_health_checks():
    region = region_with(4)
    check = {"command": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"]}
    call(region, "RegisterTaskDefinition", web_definition())
    call(region, "RegisterTaskDefinition", web_definition(family="sick", healthCheck=check))
    region.set_task_timings("sick", {"unhealthy": True})
    make(region, taskDefinition="web", deploymentConfiguration={
        "deploymentCircuitBreaker": {"enable": True, "rollback": True}})
    region.advance(300)
    call(region, "UpdateService", {"cluster": "prod", "service": "web", "taskDefinition": "sick"})
    sick = service_of(region, "web").primary
    region.advance(1800)
    assert sick.rollout_state == "FAILED" and sick.failed_tasks >= 3
    failed = [t for t in region.clusters["prod"].tasks.values()
              if t.deployment is sick and t.stopped_reason == "Task failed container health checks"]
    assert len(failed) == sick.failed_tasks and all(t.started_at is not None for t in failed)   # RUNNING first
    assert service_of(region, "web").primary.task_definition.family == "web"


def test_a_stopping_service_task_frees_cpu_at_once_and_its_host_port_when_stopped():
    region = region_with(1, cpu=512, memory=1024)
    port = [{"containerPort": 80, "hostPort": 8080}]
    call(region, "RegisterTaskDefinition", web_definition(cpu=512, portMappings=port))
    call(region, "RegisterTaskDefinition", web_definition(family="other", cpu=512))
    call(region, "RegisterTaskDefinition", web_definition(family="porty", cpu=0, memory=16, portMappings=port))
    make(region, desiredCount=1)
    region.advance(120)
    (task,) = service_of(region, "web").primary.tasks.values()
    call(region, "UpdateService", {"cluster": "prod", "service": "web", "desiredCount": 0})
    while task.last_status != "STOPPING":
        step(region)
    run = {"cluster": "prod", "launchType": "EC2"}
    blocked = call(region, "RunTask", {**run, "taskDefinition": "porty"})
    assert [f["reason"] for f in blocked["failures"]] == ["RESOURCE:PORTS"]   # the port is still held
    assert len(call(region, "RunTask", {**run, "taskDefinition": "other"})["tasks"]) == 1   # the CPU is free
    while task.last_status != "STOPPED":
        step(region)
    assert len(call(region, "RunTask", {**run, "taskDefinition": "porty"})["tasks"]) == 1
