"""Fargate through boto3 against a real ``quaymaster serve``: the same answers as a Python Region
given the same calls (tasks, zones, ENIs, capacity providers), and ECS's refusals as errors."""

import botocore.exceptions
import pytest

from quaymaster.region import Region
from quaymaster.region.dispatch import snake_case
from server_support import Server, client

DEFINITION = {"family": "fg", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256",
              "memory": "512", "containerDefinitions": [{"name": "app", "image": "nginx"}]}
NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-0aa", "subnet-0bb"]}}


@pytest.fixture(scope="module")
def served():
    server = Server()
    ecs, local = client("ecs", server.url), Region()

    def both(operation, **request):
        return getattr(ecs, snake_case(operation))(**request), local.handle("ecs", operation, request)
    both("CreateCluster", clusterName="fg")
    both("PutClusterCapacityProviders", cluster="fg", capacityProviders=["FARGATE", "FARGATE_SPOT"],
         defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}])
    both("RegisterTaskDefinition", **DEFINITION)
    yield ecs, both
    server.stop()


def _comparable(task: dict) -> dict:
    return {k: v for k, v in task.items() if k not in ("createdAt", "ResponseMetadata")}


def test_run_task_on_fargate_answers_as_the_python_region(served):
    ecs, both = served
    remote, local = both("RunTask", cluster="fg", taskDefinition="fg", count=4, networkConfiguration=NETWORK,
                         capacityProviderStrategy=[{"capacityProvider": "FARGATE", "base": 1, "weight": 1},
                                                   {"capacityProvider": "FARGATE_SPOT", "weight": 1}])
    assert [_comparable(t) for t in remote["tasks"]] == [_comparable(t) for t in local["tasks"]]
    # base 1, then 1:1 with ties to the earlier item: FARGATE, FARGATE, FARGATE_SPOT, FARGATE
    assert sorted(t["capacityProviderName"] for t in remote["tasks"]) == ["FARGATE"] * 3 + ["FARGATE_SPOT"]
    assert all(t["attachments"][0]["type"] == "ElasticNetworkInterface" for t in remote["tasks"])
    default, _ = both("RunTask", cluster="fg", taskDefinition="fg", networkConfiguration=NETWORK)
    assert default["tasks"][0]["capacityProviderName"] == "FARGATE_SPOT"   # the cluster's default strategy


def test_refusals_reach_boto3_as_ecs_errors(served):
    ecs, _ = served
    with pytest.raises(botocore.exceptions.ClientError) as info:
        ecs.run_task(cluster="fg", taskDefinition="fg", launchType="FARGATE", networkConfiguration=NETWORK,
                     capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}])
    assert info.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "capacity provider strategy" in info.value.response["Error"]["Message"]
    with pytest.raises(botocore.exceptions.ClientError) as info:
        ecs.run_task(cluster="fg", taskDefinition="fg", launchType="FARGATE")
    assert "Network Configuration must be provided" in info.value.response["Error"]["Message"]
