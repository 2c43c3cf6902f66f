"""The ECS limits the API enforces (docs/semantics.md, "Limits"), walked through a real server with
boto3: one past each limit is refused with the modeled exception and a text naming the limit, the state
is unchanged; at the limit the call is accepted. The limits no single call reaches (instances and
services per cluster, the launch rate) are checked on the Region, which the endpoint serves."""

import json
import re

import pytest
from botocore.exceptions import ClientError

from quaymaster.errors import ServiceError
from quaymaster.region import Region
from server_support import client

CPU_MEMORY = [{"name": "CPU", "type": "INTEGER", "integerValue": 4096},
              {"name": "MEMORY", "type": "INTEGER", "integerValue": 8192}]
GROUP = {"AutoScalingGroupName": "asg", "MinSize": 0, "MaxSize": 3, "AvailabilityZones": ["us-east-1a"],
         "MixedInstancesPolicy": {"LaunchTemplate": {"LaunchTemplateSpecification": {"LaunchTemplateName": "ecs"},
                                                     "Overrides": [{"InstanceType": "c5.large"}]}}}
MEMBER_OF = {"type": "memberOf", "expression": "attribute:ecs.instance-type == m5.large"}


def document(i: int) -> str:
    return json.dumps({"instanceId": f"i-{i:017x}", "availabilityZone": "us-east-1a", "instanceType": "m5.large"})


def containers(n: int, **extra) -> list:
    return [{"name": f"c{i}", "image": "nginx", "memory": 16, **extra} for i in range(n)]


def strategy(n: int, **item) -> list:
    return [{"capacityProvider": f"p{i}", "weight": 1, **item} for i in range(n)]


@pytest.fixture(scope="module")
def ecs(server):
    # boto3's own check of the model's ranges is off: the server must refuse by itself.
    ecs = client("ecs", server.url, parameter_validation=False)
    ecs.create_cluster(clusterName="c")
    for i in range(12):
        ecs.register_container_instance(cluster="c", instanceIdentityDocument=document(i),
                                        totalResources=CPU_MEMORY)
    ecs.register_task_definition(family="w", containerDefinitions=containers(1, cpu=10))
    client("autoscaling", server.url).create_auto_scaling_group(**GROUP)
    return ecs


def instances(ecs) -> list:
    return ecs.list_container_instances(cluster="c")["containerInstanceArns"]


def fingerprint(ecs) -> tuple:
    """What a refused call must leave as it was."""
    arns = instances(ecs)
    described = ecs.describe_container_instances(cluster="c", containerInstances=arns)["containerInstances"]
    return (ecs.describe_clusters(clusters=["c"], include=["TAGS"])["clusters"],
            ecs.list_task_definitions()["taskDefinitionArns"], ecs.list_tasks(cluster="c")["taskArns"],
            ecs.list_services(cluster="c")["serviceArns"], ecs.describe_capacity_providers()["capacityProviders"],
            [(d["containerInstanceArn"], d["attributes"], d["remainingResources"]) for d in described])


def arn_at(k: int):
    return lambda ecs: instances(ecs)[k]


# (limit, operation, request over the limit, request at the limit or None, exception, text)
# A request may hold callables of the client: the instance ARNs are looked up when the row runs.
ROWS = [
    ("tasks per RunTask (count)", "run_task", {"cluster": "c", "taskDefinition": "w", "count": 11},
     {"count": 10}, "InvalidParameterException", r"between 1 and 10"),
    ("instances per StartTask", "start_task",
     {"cluster": "c", "taskDefinition": "w", "containerInstances": lambda ecs: instances(ecs)[:11]},
     {"containerInstances": lambda ecs: instances(ecs)[:10]}, "InvalidParameterException", r"at most 10"),
    ("containers per task definition", "register_task_definition",
     {"family": "x", "containerDefinitions": containers(11)}, {"containerDefinitions": containers(10)},
     "ClientException", r"1 to 10 containers"),
    ("task definition size", "register_task_definition",
     {"family": "x", "containerDefinitions": containers(1, command=["y" * 66000])},
     {"containerDefinitions": containers(1, command=["y" * 60000])}, "ClientException", r"65536 \(64 KiB\)"),
    ("placement strategies per request", "run_task",
     {"cluster": "c", "taskDefinition": "w", "placementStrategy": [{"type": "random"}] * 6},
     {"placementStrategy": [{"type": "random"}] * 5}, "InvalidParameterException", r"at most 5"),
    ("placement constraints per task", "run_task",
     {"cluster": "c", "taskDefinition": "w", "placementConstraints": [MEMBER_OF] * 11},
     {"placementConstraints": [MEMBER_OF] * 10}, "InvalidParameterException", r"at most 10"),
    ("CQL expression length", "list_container_instances",
     {"cluster": "c", "filter": "attribute:a == " + "b" * 1990},
     {"filter": "attribute:a == " + "b" * 1985}, "InvalidParameterException", r"at most 2000"),
    ("attributes per PutAttributes call", "put_attributes",
     {"cluster": "c", "attributes": [{"name": f"n{i}", "value": "v", "targetId": arn_at(0)} for i in range(11)]},
     {"attributes": [{"name": f"n{i}", "value": "v", "targetId": arn_at(0)} for i in range(10)]},
     "InvalidParameterException", r"at most 10 per call"),
    ("custom attributes per instance", "put_attributes",   # instance 0 holds 10 from the row above
     {"cluster": "c", "attributes": [{"name": "n10", "value": "v", "targetId": arn_at(0)}]},
     {"attributes": [{"name": "n9", "value": "w", "targetId": arn_at(0)}]},
     "AttributeLimitExceededException", r"at most 10"),
    ("attribute name length", "put_attributes",
     {"cluster": "c", "attributes": [{"name": "n" * 129, "value": "v", "targetId": arn_at(1)}]},
     {"attributes": [{"name": "n" * 128, "value": "v", "targetId": arn_at(1)}]},
     "InvalidParameterException", r"invalid attribute name"),
    ("attribute value length", "put_attributes",
     {"cluster": "c", "attributes": [{"name": "m", "value": "v" * 129, "targetId": arn_at(1)}]},
     {"attributes": [{"name": "m", "value": "v" * 128, "targetId": arn_at(1)}]},
     "InvalidParameterException", r"invalid attribute value"),
    ("task group name", "run_task", {"cluster": "c", "taskDefinition": "w", "group": "g" * 256},
     {"group": "g" * 255}, "InvalidParameterException", r"1\.\.255 characters"),
    ("tags per resource", "tag_resource",
     {"resourceArn": "arn:aws:ecs:us-east-1:123456789012:cluster/c",
      "tags": [{"key": f"k{i}", "value": "v"} for i in range(51)]},
     {"tags": [{"key": f"k{i}", "value": "v"} for i in range(50)]}, "InvalidParameterException",
     r"Value 51 at 'tags' .* less than or equal to 50"),
    ("capacity providers in a strategy", "create_service",
     {"cluster": "c", "serviceName": "q", "taskDefinition": "w", "capacityProviderStrategy": strategy(21)},
     None, "InvalidParameterException", r"21 capacity providers; at most 20"),
    ("strategy weight", "put_cluster_capacity_providers",
     {"cluster": "c", "capacityProviders": [], "defaultCapacityProviderStrategy": strategy(1, weight=1001)},
     None, "InvalidParameterException",
     r"Value 1001 at 'defaultCapacityProviderStrategy\[0\]\.weight' .* less than or equal to 1000"),
    ("strategy base", "put_cluster_capacity_providers",
     {"cluster": "c", "capacityProviders": [], "defaultCapacityProviderStrategy": strategy(1, base=100001)},
     None, "InvalidParameterException",
     r"Value 100001 at 'defaultCapacityProviderStrategy\[0\]\.base' .* less than or equal to 100000"),
    ("strategy base on one item only", "put_cluster_capacity_providers",
     {"cluster": "c", "capacityProviders": [], "defaultCapacityProviderStrategy": strategy(2, base=1)},
     None, "InvalidParameterException", r"only one capacity provider in a strategy can have a base"),
    ("reserved ports per instance", "register_container_instance",
     {"cluster": "c", "instanceIdentityDocument": document(99), "totalResources": CPU_MEMORY + [
         {"name": "PORTS", "type": "STRINGSET", "stringSetValue": [str(1000 + i) for i in range(101)]}]},
     {"totalResources": CPU_MEMORY + [
         {"name": "PORTS", "type": "STRINGSET", "stringSetValue": [str(1000 + i) for i in range(100)]}]},
     "InvalidParameterException", r"at most 100"),
    ("tasks per service (desired count)", "create_service",
     {"cluster": "c", "serviceName": "big", "taskDefinition": "w", "desiredCount": 5001},
     {"desiredCount": 0}, "InvalidParameterException", r"between 0 and 5000"),
    ("task CPU on EC2, low", "register_task_definition",
     {"family": "x", "cpu": "127", "memory": "512", "containerDefinitions": containers(1)},
     {"cpu": "128"}, "ClientException", r"128\.\.196608"),
    ("task CPU on EC2, high", "register_task_definition",
     {"family": "x", "cpu": "196609", "memory": "512", "containerDefinitions": containers(1)},
     {"cpu": "196608"}, "ClientException", r"128\.\.196608"),
    ("Fargate task size", "register_task_definition",
     {"family": "f", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256",
      "memory": "4096", "containerDefinitions": [{"name": "a", "image": "x"}]},
     {"memory": "2048"}, "ClientException", r"Invalid 'cpu' setting for task\."),
    *[(f"managedScaling.{field} = {value}", "create_capacity_provider",
       {"name": f"cp-{field}-{value}", "autoScalingGroupProvider": {
           "autoScalingGroupArn": "asg", "managedScaling": {field: value}}},
       None, "InvalidParameterException", field)
      for field, value in (("targetCapacity", 0), ("targetCapacity", 101), ("minimumScalingStepSize", 0),
                           ("minimumScalingStepSize", 10001), ("maximumScalingStepSize", 0),
                           ("maximumScalingStepSize", 10001), ("instanceWarmupPeriod", -1),
                           ("instanceWarmupPeriod", 10001))],
]


def resolved(ecs, value):
    if callable(value):
        return value(ecs)
    if isinstance(value, dict):
        return {k: resolved(ecs, v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolved(ecs, v) for v in value]
    return value


@pytest.mark.parametrize("limit, operation, over, at, code, text", ROWS, ids=[row[0] for row in ROWS])
def test_one_past_the_limit_is_refused_and_changes_nothing(ecs, limit, operation, over, at, code, text):
    before = fingerprint(ecs)
    with pytest.raises(ClientError) as refused:
        getattr(ecs, operation)(**resolved(ecs, over))
    error = refused.value.response["Error"]
    assert error["Code"] == code, error
    assert re.search(text, error["Message"]), error["Message"]
    assert fingerprint(ecs) == before
    if at is not None:   # at the limit the same call goes through
        getattr(ecs, operation)(**resolved(ecs, {**over, **at}))


def test_container_instances_per_cluster():
    import pyarrow as pa
    region = Region()
    region.handle("ecs", "CreateCluster", {"clusterName": "c"})
    region.register_fleet("c", pa.table({"ec2_instance_id": [f"i-{i:017x}" for i in range(4999)],
                                         "cpu_registered": [4096] * 4999, "memory_registered": [8192] * 4999}))
    region.handle("ecs", "RegisterContainerInstance", {      # the 5000th
        "cluster": "c", "instanceIdentityDocument": document(5000), "totalResources": CPU_MEMORY})
    with pytest.raises(ServiceError, match="5000 registered container instances") as refused:
        region.handle("ecs", "RegisterContainerInstance", {
            "cluster": "c", "instanceIdentityDocument": document(5001), "totalResources": CPU_MEMORY})
    assert refused.value.code == "ClientException"
    assert len(region.clusters["c"].cluster.list_container_instances()) == 5000


def test_services_per_cluster():
    import quaymaster.region.ops_services as ops
    region = Region()
    region.handle("ecs", "CreateCluster", {"clusterName": "c"})
    region.handle("ecs", "RegisterTaskDefinition", {"family": "w", "containerDefinitions": containers(1)})
    for i in range(ops.SERVICES_PER_CLUSTER):
        region.handle("ecs", "CreateService", {"cluster": "c", "serviceName": f"s{i}", "taskDefinition": "w"})
    with pytest.raises(ServiceError) as refused:
        region.handle("ecs", "CreateService", {"cluster": "c", "serviceName": "one-more", "taskDefinition": "w"})
    assert ops.SERVICES_PER_CLUSTER == 5000 and "5000" in str(refused.value)
    assert len(region.clusters["c"].services) == 5000


def test_a_service_launches_at_most_250_tasks_a_minute():
    region = Region()
    region.handle("ecs", "CreateCluster", {"clusterName": "c"})
    big = [{"name": "CPU", "type": "INTEGER", "integerValue": 100_000},
           {"name": "MEMORY", "type": "INTEGER", "integerValue": 1_000_000}]
    for i in range(30):
        region.handle("ecs", "RegisterContainerInstance", {
            "cluster": "c", "instanceIdentityDocument": document(i), "totalResources": big})
    region.handle("ecs", "RegisterTaskDefinition", {"family": "w", "containerDefinitions": containers(1, cpu=10)})
    region.handle("ecs", "CreateService", {"cluster": "c", "serviceName": "s", "taskDefinition": "w",
                                           "desiredCount": 600})
    region.advance(45)
    assert len(region.clusters["c"].tasks) == 250
    region.advance(60)
    assert len(region.clusters["c"].tasks) == 500
