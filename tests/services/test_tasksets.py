"""Task set operations on EXTERNAL services: shapes, counts by scale, stability, bad input refused."""

import pytest

from quaymaster.errors import ServiceError
from quaymaster.services.tasksets import computed_desired
from servicekit import call, region_with, web_definition


def refused(region, operation, request):
    with pytest.raises(ServiceError) as info:
        region.handle("ecs", operation, request)
    return info.value.code, info.value.message


def external(desired=10, instances=4):
    region = region_with(instances, cpu=4096, memory=8192)
    call(region, "RegisterTaskDefinition", web_definition())
    call(region, "RegisterTaskDefinition", web_definition(image="nginx:2"))
    out = call(region, "CreateService", {"cluster": "prod", "serviceName": "web", "desiredCount": desired,
                                         "deploymentController": {"type": "EXTERNAL"}})
    assert out["service"]["deploymentController"] == {"type": "EXTERNAL"}
    assert out["service"]["taskSets"] == [] and "taskDefinition" not in out["service"]
    return region


def task_sets(region):
    return call(region, "DescribeTaskSets", {"cluster": "prod", "service": "web"})["taskSets"]


@pytest.mark.parametrize("desired, scale, expected", [
    (10, 100, 10), (10, 50, 5),
    (10, 33.3, 4),     # 10 * 33.3 / 100 = 3.33 -> 4
    (3, 50, 2),        # 1.5 -> 2
    (7, 0, 0), (1, 1, 1),
    (100, 10, 10),     # exactly 10, not 11 from float drift
    (1000, 0.1, 1),
])
def test_computed_desired_count(desired, scale, expected):
    assert computed_desired(desired, scale) == expected


def test_task_sets_run_their_scale_and_become_steady():
    region = external(desired=10)
    blue = call(region, "CreateTaskSet", {"cluster": "prod", "service": "web", "taskDefinition": "web:1",
                                          "externalId": "blue", "scale": {"value": 100, "unit": "PERCENT"}})
    assert blue["taskSet"]["status"] == "PRIMARY" and blue["taskSet"]["stabilityStatus"] == "STABILIZING"
    green = call(region, "CreateTaskSet", {"cluster": "prod", "service": "web", "taskDefinition": "web:2",
                                           "scale": {"value": 30, "unit": "PERCENT"}})["taskSet"]
    assert green["status"] == "ACTIVE" and green["computedDesiredCount"] == 3
    region.advance(300)
    sets = {t["taskDefinition"].rsplit(":", 1)[-1]: t for t in task_sets(region)}
    assert sets["1"]["runningCount"] == 10 and sets["2"]["runningCount"] == 3
    assert sets["1"]["stabilityStatus"] == sets["2"]["stabilityStatus"] == "STEADY_STATE"
    assert sets["1"]["externalId"] == "blue"
    service = call(region, "DescribeServices", {"cluster": "prod", "services": ["web"]})["services"][0]
    assert service["runningCount"] == 13 and len(service["taskSets"]) == 2
    # scale green up, make it primary, delete blue
    call(region, "UpdateTaskSet", {"cluster": "prod", "service": "web", "taskSet": green["id"],
                                   "scale": {"value": 100, "unit": "PERCENT"}})
    out = call(region, "UpdateServicePrimaryTaskSet", {"cluster": "prod", "service": "web",
                                                       "primaryTaskSet": green["taskSetArn"]})
    assert out["taskSet"]["status"] == "PRIMARY"
    call(region, "DeleteTaskSet", {"cluster": "prod", "service": "web", "taskSet": blue["taskSet"]["id"]})
    region.advance(600)
    sets = task_sets(region)
    assert [(t["id"], t["runningCount"], t["status"]) for t in sets] == [(green["id"], 10, "PRIMARY")]
    service = call(region, "DescribeServices", {"cluster": "prod", "services": ["web"]})["services"][0]
    assert service["taskDefinition"].endswith("web:2") and service["runningCount"] == 10


def test_update_service_desired_count_rescales_every_set():
    region = external(desired=4)
    ts = call(region, "CreateTaskSet", {"cluster": "prod", "service": "web", "taskDefinition": "web:1",
                                        "scale": {"value": 50, "unit": "PERCENT"}})["taskSet"]
    region.advance(300)
    assert task_sets(region)[0]["runningCount"] == 2
    call(region, "UpdateService", {"cluster": "prod", "service": "web", "desiredCount": 9})
    region.advance(300)
    got = task_sets(region)[0]
    assert got["computedDesiredCount"] == 5 == got["runningCount"]     # ceil(9 * 50 / 100) = ceil(4.5)
    assert got["id"] == ts["id"]


def test_describe_task_sets_reports_missing():
    region = external()
    ts = call(region, "CreateTaskSet", {"cluster": "prod", "service": "web", "taskDefinition": "web:1"})["taskSet"]
    out = call(region, "DescribeTaskSets", {"cluster": "prod", "service": "web", "taskSets": [ts["id"], "nope"]})
    assert [t["id"] for t in out["taskSets"]] == [ts["id"]]
    assert out["failures"] == [{"arn": "nope", "reason": "MISSING"}]


def test_task_set_operations_on_an_ecs_service_are_refused_and_change_nothing():
    region = region_with(2)
    call(region, "RegisterTaskDefinition", web_definition())
    call(region, "CreateService", {"cluster": "prod", "serviceName": "web", "taskDefinition": "web",
                                   "desiredCount": 1})
    code, message = refused(region, "CreateTaskSet", {"cluster": "prod", "service": "web",
                                                      "taskDefinition": "web:1"})
    assert code == "InvalidParameterException" and "external deployment controllers" in message
    service = call(region, "DescribeServices", {"cluster": "prod", "services": ["web"]})["services"][0]
    assert "taskSets" not in service and len(service["deployments"]) == 1


@pytest.mark.parametrize("operation, request_changes, code", [
    ("CreateTaskSet", {"taskDefinition": "missing"}, "ClientException"),
    ("CreateTaskSet", {"taskDefinition": "web:1", "scale": {"value": 150, "unit": "PERCENT"}},
     "InvalidParameterException"),
    ("CreateTaskSet", {"taskDefinition": "web:1", "service": "other"}, "ServiceNotFoundException"),
    ("CreateTaskSet", {"taskDefinition": "web:1", "cluster": "nope"}, "ClusterNotFoundException"),
    ("UpdateTaskSet", {"taskSet": "ecs-svc/1", "scale": {"value": 10, "unit": "PERCENT"}},
     "TaskSetNotFoundException"),
    ("DeleteTaskSet", {"taskSet": "ecs-svc/1"}, "TaskSetNotFoundException"),
    ("UpdateServicePrimaryTaskSet", {"primaryTaskSet": "ecs-svc/1"}, "TaskSetNotFoundException"),
    ("UpdateService", {"taskDefinition": "web:2"}, "InvalidParameterException"),
])
def test_bad_task_set_requests_are_refused_and_change_nothing(operation, request_changes, code):
    region = external()
    call(region, "CreateTaskSet", {"cluster": "prod", "service": "web", "taskDefinition": "web:1"})
    before = task_sets(region)
    body = {"cluster": "prod", "service": "web", **request_changes}
    assert refused(region, operation, body)[0] == code
    assert task_sets(region) == before


def test_primary_task_set_cannot_be_deleted_while_others_exist():
    region = external()
    blue = call(region, "CreateTaskSet", {"cluster": "prod", "service": "web", "taskDefinition": "web:1"})["taskSet"]
    call(region, "CreateTaskSet", {"cluster": "prod", "service": "web", "taskDefinition": "web:2"})
    assert refused(region, "DeleteTaskSet", {"cluster": "prod", "service": "web", "taskSet": blue["id"]})[0] == \
        "InvalidParameterException"
    out = call(region, "DeleteTaskSet", {"cluster": "prod", "service": "web", "taskSet": blue["id"], "force": True})
    assert out["taskSet"]["status"] == "DRAINING" and out["taskSet"]["computedDesiredCount"] == 0


def test_deleting_an_external_service_stops_its_task_sets():
    region = external(desired=3)
    call(region, "CreateTaskSet", {"cluster": "prod", "service": "web", "taskDefinition": "web:1"})
    region.advance(300)
    call(region, "UpdateService", {"cluster": "prod", "service": "web", "desiredCount": 0})
    call(region, "DeleteService", {"cluster": "prod", "service": "web"})
    region.advance(600)
    service = call(region, "DescribeServices", {"cluster": "prod", "services": ["web"]})["services"][0]
    assert service["status"] == "INACTIVE" and service["runningCount"] == 0
