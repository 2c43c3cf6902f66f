"""Helpers the region, services and simulation tests share: a region with instances, shape checks."""

from __future__ import annotations

import json

from botocore.validate import validate_parameters

from quaymaster.region import Region
from quaymaster.region.dispatch import operation_model

ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")


def check_output(operation: str, response: dict) -> dict:
    """Fail unless ``response`` fits botocore's output shape of the ECS operation."""
    validate_parameters(response, operation_model("ecs", operation).output_shape)
    return response


def call(region: Region, operation: str, request: dict | None = None) -> dict:
    """Region.handle with the response checked against botocore's output shape."""
    return check_output(operation, region.handle("ecs", operation, request or {}))


def register_instances(region: Region, cluster: str, n: int, *, cpu: int = 2048, memory: int = 4096,
                       start: int = 0, attributes=()) -> list[str]:
    arns = []
    for i in range(start, start + n):
        document = {"instanceId": f"i-{i:017x}", "availabilityZone": ZONES[i % 3], "instanceType": "m5.large"}
        out = call(region, "RegisterContainerInstance", {
            "cluster": cluster, "instanceIdentityDocument": json.dumps(document),
            "totalResources": [{"name": "CPU", "type": "INTEGER", "integerValue": cpu},
                               {"name": "MEMORY", "type": "INTEGER", "integerValue": memory}],
            "attributes": list(attributes)})
        arns.append(out["containerInstance"]["containerInstanceArn"])
    return arns


def web_definition(family: str = "web", image: str = "nginx", cpu: int = 256, memory: int = 512,
                   **extra) -> dict:
    return {"family": family, "containerDefinitions": [{"name": "app", "image": image, "cpu": cpu,
                                                        "memory": memory, **extra}]}


def region_with(n_instances: int = 6, *, seed: int = 1, cluster: str = "prod", **sizes) -> Region:
    region = Region(seed=seed)
    call(region, "CreateCluster", {"clusterName": cluster})
    register_instances(region, cluster, n_instances, **sizes)
    return region


def describe_service(region: Region, name: str, cluster: str = "prod") -> dict:
    out = call(region, "DescribeServices", {"cluster": cluster, "services": [name]})
    return out["services"][0]


def service_of(region: Region, name: str, cluster: str = "prod"):
    return region.clusters[cluster].services[name]


def step(region: Region) -> None:
    """Advance by one tick."""
    region.run_until(region.now + region.clock.tick_ms)


def steady_then_deploy(desired: int, minimum: int, maximum: int, *, instances: int = 8, seed: int = 1,
                       settle_s: int = 300):
    """A steady service ``web`` on web:1 with these bounds, then UpdateService to web:2; returns the region."""
    region = region_with(instances, seed=seed, cpu=4096, memory=8192)   # room for 16 tasks per instance
    call(region, "RegisterTaskDefinition", web_definition())
    call(region, "RegisterTaskDefinition", web_definition(image="nginx:2"))
    call(region, "CreateService", {"cluster": "prod", "serviceName": "web", "taskDefinition": "web:1",
                                   "desiredCount": desired, "deploymentConfiguration": {
                                       "minimumHealthyPercent": minimum, "maximumPercent": maximum}})
    region.advance(settle_s)
    assert service_of(region, "web").primary.rollout_state == "COMPLETED"
    call(region, "UpdateService", {"cluster": "prod", "service": "web", "taskDefinition": "web:2"})
    return region
