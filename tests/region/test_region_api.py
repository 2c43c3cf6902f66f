"""Region operations through Region.handle: shapes, errors, nothing changed on refusal."""

import json

import pytest

from quaymaster.errors import ServiceError
from quaymaster.region import Region
from servicekit import call, register_instances, region_with, web_definition


def codes(region, operation, request):
    with pytest.raises(ServiceError) as info:
        region.handle("ecs", operation, request)
    return info.value.code


def test_clusters_create_describe_list_delete():
    region = Region(seed=3)
    call(region, "CreateCluster", {"clusterName": "a", "tags": [{"key": "team", "value": "x"}]})
    call(region, "CreateCluster", {"clusterName": "b"})
    listed = call(region, "ListClusters", {"maxResults": 1})
    assert len(listed["clusterArns"]) == 1 and "nextToken" in listed
    rest = call(region, "ListClusters", {"nextToken": listed["nextToken"]})
    assert [a.rsplit("/", 1)[-1] for a in listed["clusterArns"] + rest["clusterArns"]] == ["a", "b"]
    described = call(region, "DescribeClusters", {"clusters": ["a", "nope"], "include": ["TAGS"]})
    assert described["clusters"][0]["tags"] == [{"key": "team", "value": "x"}]
    assert described["failures"][0]["reason"] == "MISSING"
    call(region, "DeleteCluster", {"cluster": "b"})
    assert codes(region, "DescribeServices", {"cluster": "b", "services": ["x"]}) == "ClusterNotFoundException"


def test_unknown_cluster_and_bad_shapes_are_refused():
    region = Region()
    assert codes(region, "ListServices", {"cluster": "missing"}) == "ClusterNotFoundException"
    assert codes(region, "CreateService", {"serviceName": 7}) == "InvalidParameterException"
    assert codes(region, "RunTask", {"taskDefinition": "x", "bogus": 1}) == "InvalidParameterException"
    assert "missing" not in region.clusters


def test_default_cluster_exists_once_named():
    region = Region()
    out = call(region, "ListContainerInstances", {})
    assert out["containerInstanceArns"] == [] and "default" in region.clusters


def test_instances_register_describe_filter_drain_attributes():
    region = region_with(6)
    listed = call(region, "ListContainerInstances",
                  {"cluster": "prod", "filter": "attribute:ecs.availability-zone == us-east-1a"})
    assert len(listed["containerInstanceArns"]) == 2
    page = call(region, "ListContainerInstances", {"cluster": "prod", "maxResults": 4})
    assert len(page["containerInstanceArns"]) == 4 and page["nextToken"]
    arn = page["containerInstanceArns"][0]
    out = call(region, "UpdateContainerInstancesState",
               {"cluster": "prod", "containerInstances": [arn], "status": "DRAINING"})
    assert out["containerInstances"][0]["status"] == "DRAINING"
    call(region, "PutAttributes", {"cluster": "prod", "attributes": [
        {"name": "stack", "value": "blue", "targetId": arn}]})
    found = call(region, "ListAttributes", {"cluster": "prod", "targetType": "container-instance",
                                            "attributeName": "stack"})
    assert [a["value"] for a in found["attributes"]] == ["blue"]
    call(region, "DeleteAttributes", {"cluster": "prod", "attributes": [{"name": "stack", "targetId": arn}]})
    assert call(region, "ListAttributes", {"cluster": "prod", "targetType": "container-instance",
                                           "attributeName": "stack"})["attributes"] == []
    described = call(region, "DescribeContainerInstances", {"cluster": "prod", "containerInstances": [arn]})
    assert described["containerInstances"][0]["ec2InstanceId"] == "i-00000000000000000"


def test_register_needs_an_identity_document():
    region = Region()
    call(region, "CreateCluster", {"clusterName": "prod"})
    assert codes(region, "RegisterContainerInstance", {"cluster": "prod"}) == "InvalidParameterException"
    assert codes(region, "RegisterContainerInstance",
                 {"cluster": "prod", "instanceIdentityDocument": "{not json"}) == "InvalidParameterException"
    assert call(region, "ListContainerInstances", {"cluster": "prod"})["containerInstanceArns"] == []


def test_task_definitions_are_regional():
    region = region_with(2)
    call(region, "CreateCluster", {"clusterName": "other"})
    register_instances(region, "other", 1, start=100)
    call(region, "RegisterTaskDefinition", web_definition())
    call(region, "RegisterTaskDefinition", web_definition(image="nginx:2"))
    for cluster in ("prod", "other"):
        out = call(region, "RunTask", {"cluster": cluster, "taskDefinition": "web:1"})
        assert out["tasks"][0]["taskDefinitionArn"].endswith("task-definition/web:1")
    assert call(region, "ListTaskDefinitionFamilies", {})["families"] == ["web"]
    assert len(call(region, "ListTaskDefinitions", {"familyPrefix": "web"})["taskDefinitionArns"]) == 2
    call(region, "DeregisterTaskDefinition", {"taskDefinition": "web:1"})
    assert codes(region, "RunTask", {"cluster": "prod", "taskDefinition": "web:1"}) == "ClientException"
    deleted = call(region, "DeleteTaskDefinitions", {"taskDefinitions": ["web:1", "web:2"]})
    assert [d["status"] for d in deleted["taskDefinitions"]] == ["DELETE_IN_PROGRESS"]
    assert len(deleted["failures"]) == 1
    assert codes(region, "DescribeTaskDefinition", {"taskDefinition": "nope"}) == "ClientException"


def test_run_task_lifecycle_and_stop():
    region = region_with(2)
    call(region, "RegisterTaskDefinition", web_definition())
    assert codes(region, "RunTask", {"cluster": "prod", "taskDefinition": "web", "count": 11}) == \
        "InvalidParameterException"
    out = call(region, "RunTask", {"cluster": "prod", "taskDefinition": "web", "count": 2})
    arns = [t["taskArn"] for t in out["tasks"]]
    assert [t["lastStatus"] for t in out["tasks"]] == ["PROVISIONING"] * 2
    region.run_until(region.now)   # the tick at the call's instant: provisioning takes 0 s on EC2
    assert {t["lastStatus"] for t in call(region, "DescribeTasks", {"cluster": "prod", "tasks": arns})["tasks"]} \
        == {"PENDING"}
    region.advance(15)
    tasks = call(region, "DescribeTasks", {"cluster": "prod", "tasks": arns})["tasks"]
    assert {t["lastStatus"] for t in tasks} == {"RUNNING"} and all("startedAt" in t for t in tasks)
    stopped = call(region, "StopTask", {"cluster": "prod", "task": arns[0], "reason": "done"})["task"]
    assert stopped["desiredStatus"] == "STOPPED" and stopped["stopCode"] == "UserInitiated"
    assert call(region, "ListTasks", {"cluster": "prod", "desiredStatus": "STOPPED"})["taskArns"] == [arns[0]]
    held = region.clusters["prod"].cluster.task_table().num_rows
    assert held == 2   # still holding its resources while STOPPING
    region.advance(45)   # DEACTIVATING seen at the next tick, then 30 s STOPPING
    final = call(region, "DescribeTasks", {"cluster": "prod", "tasks": [arns[0]]})["tasks"][0]
    assert final["lastStatus"] == "STOPPED" and "stoppedAt" in final
    assert region.clusters["prod"].cluster.task_table().num_rows == 1
    assert call(region, "DescribeTasks", {"cluster": "prod", "tasks": ["nope"]})["failures"][0]["reason"] == \
        "MISSING"


def test_tags_round_trip_and_limits():
    region = region_with(1)
    arn = region.clusters["prod"].arn
    call(region, "TagResource", {"resourceArn": arn, "tags": [{"key": "a", "value": "1"}]})
    call(region, "TagResource", {"resourceArn": arn, "tags": [{"key": "a", "value": "2"}, {"key": "b"}]})
    assert call(region, "ListTagsForResource", {"resourceArn": arn})["tags"] == [
        {"key": "a", "value": "2"}, {"key": "b"}]
    call(region, "UntagResource", {"resourceArn": arn, "tagKeys": ["a"]})
    assert call(region, "ListTagsForResource", {"resourceArn": arn})["tags"] == [{"key": "b"}]
    too_many = [{"key": f"k{i}", "value": "v"} for i in range(50)]
    assert codes(region, "TagResource", {"resourceArn": arn, "tags": too_many}) == "InvalidParameterException"
    assert call(region, "ListTagsForResource", {"resourceArn": arn})["tags"] == [{"key": "b"}]
    assert codes(region, "ListTagsForResource", {"resourceArn": arn + "x"}) == "ResourceNotFoundException"


def test_deregistering_an_instance_stops_its_tasks():
    region = region_with(1)
    call(region, "RegisterTaskDefinition", web_definition())
    task = call(region, "RunTask", {"cluster": "prod", "taskDefinition": "web"})["tasks"][0]
    arn = task["containerInstanceArn"]
    assert codes(region, "DeregisterContainerInstance", {"cluster": "prod", "containerInstance": arn}) == \
        "InvalidParameterException"
    out = call(region, "DeregisterContainerInstance", {"cluster": "prod", "containerInstance": arn, "force": True})
    assert out["containerInstance"]["status"] == "INACTIVE"
    region.advance(60)
    described = call(region, "DescribeTasks", {"cluster": "prod", "tasks": [task["taskArn"]]})["tasks"][0]
    assert described["lastStatus"] == "STOPPED"
    assert json.dumps(described["stoppedReason"]) == '"Container instance deregistered"'
