"""Tasks whose ECR image does not exist fail to start: stopCode TaskFailedToStart and
stoppedReason CannotPullContainerError, when PENDING ends, in the region and in a simulation."""

import json

import pyarrow.parquet as pq

from ecr_helpers import push
from quaymaster.cli.main import main
from quaymaster.fleet import generate_fleet
from servicekit import call, region_with, service_of, web_definition

HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


def run_one(region, family: str) -> str:
    return call(region, "RunTask", {"cluster": "prod", "taskDefinition": family})["tasks"][0]["taskArn"]


def described(region, arn: str) -> dict:
    return call(region, "DescribeTasks", {"cluster": "prod", "tasks": [arn]})["tasks"][0]


def test_run_task_with_a_missing_image_stops_when_pending_ends():
    region = region_with(2)
    region.handle("ecr", "CreateRepository", {"repositoryName": "team/web"})
    digest = push(region.ecr, "team/web", [b"web layer"], tag="v1")
    images = {"tagged": f"{HOST}/team/web:v1", "by-digest": f"{HOST}/team/web@{digest}",
              "hub": "nginx:1.27", "other-account": "210987654321.dkr.ecr.us-east-1.amazonaws.com/x:1",
              "no-tag": f"{HOST}/team/web:v2", "no-repo": f"{HOST}/team/none:v1",
              "latest": f"{HOST}/team/web", "no-digest": f"{HOST}/team/web@sha256:" + "0" * 64}
    arns = {}
    for family, image in images.items():
        call(region, "RegisterTaskDefinition", web_definition(family=family, image=image))
        arns[family] = run_one(region, family)
    region.advance(5)                        # PROVISIONING, then PENDING: the pull is not decided yet
    assert {described(region, a)["lastStatus"] for a in arns.values()} == {"PENDING"}
    region.advance(120)
    tasks = {family: described(region, arn) for family, arn in arns.items()}
    for family in ("tagged", "by-digest", "hub", "other-account"):
        assert tasks[family]["lastStatus"] == "RUNNING", family
    for family in ("no-tag", "no-repo", "latest", "no-digest"):
        task = tasks[family]
        assert (task["lastStatus"], task["stopCode"]) == ("STOPPED", "TaskFailedToStart"), family
        image = images[family]
        assert task["stoppedReason"] == (
            "CannotPullContainerError: pull image manifest has been retried 5 time(s): "
            f"failed to resolve ref {image}: {image}: not found")
        # it never started: stopped straight from PENDING
        assert "startedAt" not in task and task["stoppedAt"] == task["stoppingAt"]


def test_an_image_pushed_before_the_pull_lets_the_task_start():
    region = region_with(1)
    region.handle("ecr", "CreateRepository", {"repositoryName": "late"})
    call(region, "RegisterTaskDefinition", web_definition(family="late", image=f"{HOST}/late:v1"))
    arn = run_one(region, "late")
    region.advance(5)                        # PENDING: pushed in time for the pull
    push(region.ecr, "late", [b"just in time"], tag="v1")
    region.advance(120)
    assert described(region, arn)["lastStatus"] == "RUNNING"


def test_a_service_with_a_missing_image_trips_the_circuit_breaker():
    region = region_with(4)
    call(region, "RegisterTaskDefinition", web_definition(image=f"{HOST}/team/missing:v1"))
    call(region, "CreateService", {"cluster": "prod", "serviceName": "web", "taskDefinition": "web",
                                   "desiredCount": 3, "deploymentConfiguration": {
                                       "deploymentCircuitBreaker": {"enable": True, "rollback": False}}})
    region.advance(3600)
    service = service_of(region, "web")
    assert service.primary.rollout_state == "FAILED" and service.primary.failed_tasks >= 3
    stopped = call(region, "ListTasks", {"cluster": "prod", "desiredStatus": "STOPPED"})["taskArns"]
    reasons = {t["stoppedReason"].split(":")[0] for t in
               call(region, "DescribeTasks", {"cluster": "prod", "tasks": stopped})["tasks"]}
    assert reasons == {"CannotPullContainerError"}


def test_a_service_without_the_breaker_keeps_failing_with_throttled_launches():
    region = region_with(2)
    call(region, "RegisterTaskDefinition", web_definition(image=f"{HOST}/team/missing:v1"))
    call(region, "CreateService", {"cluster": "prod", "serviceName": "web", "taskDefinition": "web",
                                   "desiredCount": 1})
    region.advance(1800)
    launched_half_hour = region.task_count
    messages = service_of(region, "web").events.messages()
    assert "service web is unable to consistently start tasks successfully." in messages
    # pushing the image ends the failures: the next launch runs
    region.handle("ecr", "CreateRepository", {"repositoryName": "team/missing"})
    push(region.ecr, "team/missing", [b"finally"], tag="v1")
    region.advance(3600)
    running = call(region, "ListTasks", {"cluster": "prod", "desiredStatus": "RUNNING"})["taskArns"]
    assert len(running) == 1 and 3 <= launched_half_hour < 30


def test_simulate_reports_cannot_pull_in_the_tasks_table(tmp_path):
    fleet = tmp_path / "fleet.parquet"
    pq.write_table(generate_fleet(4, azs=2, seed=1, cluster="prod"), fleet)
    missing = {"family": "app", "containerDefinitions": [
        {"name": "app", "image": f"{HOST}/team/app:v1", "cpu": 256, "memory": 512}]}
    hub = {"family": "hub", "containerDefinitions": [
        {"name": "hub", "image": "docker.io/library/nginx:1.27", "cpu": 256, "memory": 512}]}
    document = {"seed": 3, "duration": "30m", "fleets": [{"cluster": "prod", "instances": str(fleet)}],
                "calls": [
                    {"at": "0s", "operation": "ecs:CreateCluster", "request": {"clusterName": "prod"}},
                    {"at": "0s", "operation": "ecs:RegisterTaskDefinition", "request": missing},
                    {"at": "0s", "operation": "ecs:RegisterTaskDefinition", "request": hub},
                    {"at": "1m", "operation": "ecs:RunTask", "request": {
                        "cluster": "prod", "taskDefinition": "app", "count": 2}},
                    {"at": "1m", "operation": "ecs:RunTask", "request": {
                        "cluster": "prod", "taskDefinition": "hub"}}]}
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(document))
    out = tmp_path / "out"
    assert main(["simulate", str(path), "--out", str(out)]) == 0
    tasks = pq.read_table(out / "tasks.parquet").to_pylist()
    by_family = {}
    for task in tasks:
        family = "app" if "task-definition/app" in task["task_definition_arn"] else "hub"
        by_family.setdefault(family, []).append(task)
    assert [t["stop_code"] for t in by_family["app"]] == ["TaskFailedToStart"] * 2
    assert all(t["stopped_reason"].startswith("CannotPullContainerError: ") and t["started_at"] is None
               for t in by_family["app"])
    hub_task = by_family["hub"]   # docker.io is not checked: it started and still runs
    assert hub_task[0]["started_at"] is not None and hub_task[0]["stop_code"] is None


def test_another_regions_image_is_checked_there_only_with_a_peer(regions_pair):
    east, eu = regions_pair
    eu.create_repository({"repositoryName": "shared"})
    push(eu, "shared", [b"eu layer"], tag="v1")
    there = f"123456789012.dkr.ecr.{eu.region}.amazonaws.com/shared"
    assert east.pull_error(f"{there}:v2") is None              # no peer: not checked
    registries = {r.region: r for r in regions_pair}
    east.peer = registries.get
    assert east.pull_error(f"{there}:v1") is None
    assert east.pull_error(f"{there}:v2").startswith("CannotPullContainerError: ")
    assert east.pull_error("123456789012.dkr.ecr.sa-east-1.amazonaws.com/shared:v1") \
        .startswith("CannotPullContainerError: ")               # a region with no registry yet
