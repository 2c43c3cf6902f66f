"""Tasks a capacity provider strategy assigns to an Auto Scaling group's provider are placed only
on that group's instances (and wait otherwise); EXTERNAL tasks only on ECS Anywhere instances."""

from collections import Counter

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

from quaymaster.cluster import Cluster
from quaymaster.errors import ServiceError
from quaymaster.fleet import generate_fleet
from quaymaster.region import Region
from servicekit import call, register_instances, web_definition


def group(name, instance_type, size):
    return {"AutoScalingGroupName": name, "MinSize": size, "MaxSize": size, "DesiredCapacity": size,
            "AvailabilityZones": ["us-east-1a", "us-east-1b"],
            "MixedInstancesPolicy": {"LaunchTemplate": {
                "LaunchTemplateSpecification": {"LaunchTemplateName": "ecs"},
                "Overrides": [{"InstanceType": instance_type}]}}}


def two_provider_region(seed=2):
    region = Region(seed=seed)
    call(region, "CreateCluster", {"clusterName": "prod"})
    for name, size in (("a", 2), ("b", 1)):
        region.handle("autoscaling", "CreateAutoScalingGroup", group(f"asg-{name}", "c5.xlarge", size))
        call(region, "CreateCapacityProvider", {"name": f"cp-{name}", "autoScalingGroupProvider": {
            "autoScalingGroupArn": f"asg-{name}", "managedScaling": {"status": "DISABLED"}}})
    call(region, "PutClusterCapacityProviders", {"cluster": "prod", "capacityProviders": ["cp-a", "cp-b"],
                                                 "defaultCapacityProviderStrategy": []})
    call(region, "RegisterTaskDefinition", web_definition(cpu=1024, memory=1024))
    region.advance(180)   # the groups' instances boot and register
    return region


def provider_of_instance(region):
    table = region.clusters["prod"].cluster.instances
    return dict(zip(table.column("container_instance_arn").to_pylist(),
                    table.column("capacity_provider").to_pylist()))


def test_a_providers_tasks_land_only_on_its_groups_instances_and_wait_for_room():
    region = two_provider_region()
    owners = provider_of_instance(region)
    assert Counter(owners.values()) == {"cp-a": 2, "cp-b": 1}
    # c5.xlarge: 4096 CPU units, so 4 tasks of 1024 fill cp-b's one instance
    call(region, "CreateService", {"cluster": "prod", "serviceName": "web", "taskDefinition": "web",
                                   "desiredCount": 6, "capacityProviderStrategy": [
                                       {"capacityProvider": "cp-b", "weight": 1}]})
    region.advance(120)
    service = region.clusters["prod"].services["web"]
    live = [t for t in service.all_tasks() if t.live]
    assert len(live) == 4, "cp-a's instances have room, but the tasks are cp-b's"
    assert {owners[t.instance_arn] for t in live} == {"cp-b"}
    assert {t.capacity_provider for t in live} == {"cp-b"}
    assert region.scaling.waiting_count(region.clusters["prod"]) == 2   # waiting for cp-b's capacity
    described = call(region, "DescribeTasks", {"cluster": "prod", "tasks": [live[0].arn]})["tasks"][0]
    assert described["capacityProviderName"] == "cp-b" and described["launchType"] == "EC2"


def test_run_task_by_strategy_places_each_share_on_its_providers_instances():
    region = two_provider_region()
    owners = provider_of_instance(region)
    out = call(region, "RunTask", {"cluster": "prod", "taskDefinition": "web", "count": 5,
                                   "capacityProviderStrategy": [{"capacityProvider": "cp-a", "weight": 1},
                                                                {"capacityProvider": "cp-b", "weight": 4}]})
    placed = Counter((t["capacityProviderName"], owners[t["containerInstanceArn"]]) for t in out["tasks"])
    assert placed == {("cp-a", "cp-a"): 1, ("cp-b", "cp-b"): 4}
    again = call(region, "RunTask", {"cluster": "prod", "taskDefinition": "web", "count": 1,
                                     "capacityProviderStrategy": [{"capacityProvider": "cp-b", "weight": 1}]})
    assert again["failures"] == [] and [t["lastStatus"] for t in again["tasks"]] == ["PROVISIONING"]
    assert "containerInstanceArn" not in again["tasks"][0]               # it waits for cp-b's room
    plain = call(region, "RunTask", {"cluster": "prod", "taskDefinition": "web", "launchType": "EC2"})
    assert "capacityProviderName" not in plain["tasks"][0]      # a launch type may use any instance
    assert owners[plain["tasks"][0]["containerInstanceArn"]] == "cp-a"


@settings(max_examples=25)
@given(st.lists(st.sampled_from([None, "p", "q"]), min_size=1, max_size=30), st.integers(1, 20),
       st.integers(0, 2**32))
def test_a_provider_restriction_equals_placing_on_that_providers_instances_alone(owners, count, seed):
    fleet = generate_fleet(len(owners), azs=3, seed=seed % 97, cluster="c")
    fleet = fleet.set_column(fleet.column_names.index("capacity_provider"), "capacity_provider",
                             pa.array(owners, pa.string()))
    ours = [i for i, o in enumerate(owners) if o == "p"]
    definition = {"family": "t", "containerDefinitions": [{"name": "a", "image": "x", "cpu": 512, "memory": 256}]}
    fast = Cluster.from_arrow(fleet).run_task(definition, count=count, seed=seed, capacity_provider="p")
    plain = Cluster.from_arrow(fleet).run_task(definition, count=count, seed=seed, capacity_provider="p",
                                               fast_paths=False)
    alone = Cluster.from_arrow(fleet.take(np.array(ours, dtype=np.int64))) if ours else None
    positions = fast.placements.column("position").to_pylist()
    assert positions == plain.placements.column("position").to_pylist()
    assert set(positions) <= set(ours)
    if alone is not None:
        reference = alone.run_task(definition, count=count, seed=seed)
        assert len(positions) == reference.placements.num_rows


# ---------------------------------------------------------------- EXTERNAL

def test_external_tasks_need_an_ecs_anywhere_instance():
    region = Region(seed=1)
    call(region, "CreateCluster", {"clusterName": "prod"})
    call(region, "RegisterTaskDefinition", web_definition())
    register_instances(region, "prod", 2)
    nothing = call(region, "RunTask", {"cluster": "prod", "taskDefinition": "web", "launchType": "EXTERNAL"})
    assert nothing["tasks"] == [] and [f["reason"] for f in nothing["failures"]] == ["ATTRIBUTE"]
    external = register_instances(region, "prod", 1, start=10, attributes=[{"name": "ecs.capability.external"}])
    out = call(region, "RunTask", {"cluster": "prod", "taskDefinition": "web", "launchType": "EXTERNAL",
                                   "count": 3})
    assert [t["containerInstanceArn"] for t in out["tasks"]] == external * 3
    assert {t["launchType"] for t in out["tasks"]} == {"EXTERNAL"}
    call(region, "CreateService", {"cluster": "prod", "serviceName": "edge", "taskDefinition": "web",
                                   "desiredCount": 2, "launchType": "EXTERNAL"})
    region.advance(60)
    tasks = region.clusters["prod"].services["edge"].all_tasks()
    assert [t.instance_arn for t in tasks] == external * 2
    ec2 = call(region, "RunTask", {"cluster": "prod", "taskDefinition": "web", "launchType": "EC2", "count": 10})
    assert len(ec2["tasks"]) == 10 and not {t["containerInstanceArn"] for t in ec2["tasks"]} & set(external)
    region2 = Region(seed=1)
    call(region2, "CreateCluster", {"clusterName": "prod"})
    call(region2, "RegisterTaskDefinition", web_definition())
    register_instances(region2, "prod", 1, attributes=[{"name": "ecs.capability.external"}])
    only_external = call(region2, "RunTask", {"cluster": "prod", "taskDefinition": "web"})
    assert only_external["tasks"] == [] and [f["reason"] for f in only_external["failures"]] == ["ATTRIBUTE"]


def test_an_awsvpc_definition_cannot_run_external_and_nothing_changes():
    # ECS Anywhere has no awsvpc: the definition's compatibilities lack EXTERNAL.
    region = Region(seed=1)
    call(region, "CreateCluster", {"clusterName": "prod"})
    call(region, "RegisterTaskDefinition", {**web_definition(), "networkMode": "awsvpc"})
    register_instances(region, "prod", 1, attributes=[{"name": "ecs.capability.external"}])
    before = region.clusters["prod"].cluster.task_table().num_rows
    with pytest.raises(ServiceError) as refused:
        call(region, "RunTask", {"cluster": "prod", "taskDefinition": "web", "launchType": "EXTERNAL"})
    assert refused.value.code == "InvalidParameterException"
    assert str(refused.value.message) == "Task definition does not support launch_type EXTERNAL."
    assert region.clusters["prod"].cluster.task_table().num_rows == before


@pytest.mark.parametrize("launch", [{"launchType": "FARGATE"}, {"capacityProviderStrategy": [
    {"capacityProvider": "FARGATE", "weight": 1}]}])
def test_a_daemon_service_cannot_run_on_fargate(launch):
    region = Region(seed=1)
    call(region, "CreateCluster", {"clusterName": "prod"})
    call(region, "PutClusterCapacityProviders", {"cluster": "prod", "capacityProviders": ["FARGATE"],
                                                 "defaultCapacityProviderStrategy": []})
    call(region, "RegisterTaskDefinition", {"family": "fg", "networkMode": "awsvpc", "cpu": "256",
                                            "memory": "512", "containerDefinitions": [{"name": "a", "image": "x"}]})
    with pytest.raises(ServiceError) as info:
        region.handle("ecs", "CreateService", {"cluster": "prod", "serviceName": "d", "taskDefinition": "fg",
                                               "schedulingStrategy": "DAEMON", "networkConfiguration": {
                                                   "awsvpcConfiguration": {"subnets": ["s-1"]}}, **launch})
    assert info.value.code == "InvalidParameterException" and "schedulingStrategy" in info.value.message
    assert region.clusters["prod"].services == {}


# ---------------------------------------------------------------- RunTask waits for capacity

def test_run_task_waits_in_provisioning_for_its_providers_capacity_then_runs():
    region = two_provider_region()
    fill = {"cluster": "prod", "taskDefinition": "web", "count": 4,
            "capacityProviderStrategy": [{"capacityProvider": "cp-b", "weight": 1}]}
    assert len(call(region, "RunTask", fill)["tasks"]) == 4             # cp-b's instance is full now
    out = call(region, "RunTask", {**fill, "count": 2})
    assert out["failures"] == [] and [t["lastStatus"] for t in out["tasks"]] == ["PROVISIONING"] * 2
    assert all("containerInstanceArn" not in t for t in out["tasks"])
    waiting = [t["taskArn"] for t in out["tasks"]]
    region.advance(120)
    assert [t["lastStatus"] for t in call(region, "DescribeTasks", {"cluster": "prod", "tasks": waiting})["tasks"]] \
        == ["PROVISIONING"] * 2                                          # cp-a has room, but they wait
    assert region.scaling.waiting_count(region.clusters["prod"]) == 2
    call(region, "StopTask", {"cluster": "prod", "task": waiting[1]})
    region.handle("autoscaling", "UpdateAutoScalingGroup", {"AutoScalingGroupName": "asg-b", "MaxSize": 2,
                                                            "DesiredCapacity": 2})
    region.advance(300)
    first, second = call(region, "DescribeTasks", {"cluster": "prod", "tasks": waiting})["tasks"]
    owners = provider_of_instance(region)
    assert first["lastStatus"] == "RUNNING" and owners[first["containerInstanceArn"]] == "cp-b"
    assert second["lastStatus"] == "STOPPED" and "containerInstanceArn" not in second
    assert region.scaling.waiting_count(region.clusters["prod"]) == 0
    call(region, "StopTask", {"cluster": "prod", "task": waiting[0]})   # the renamed row stops too
    region.advance(120)
    assert call(region, "DescribeTasks", {"cluster": "prod", "tasks": waiting[:1]})["tasks"][0]["lastStatus"] \
        == "STOPPED"


def test_waiting_run_tasks_drive_managed_scaling_out():
    region = Region(seed=4)
    call(region, "CreateCluster", {"clusterName": "prod"})
    region.handle("autoscaling", "CreateAutoScalingGroup", {**group("asg", "c5.xlarge", 0), "MaxSize": 5})
    call(region, "CreateCapacityProvider", {"name": "cp", "autoScalingGroupProvider": {
        "autoScalingGroupArn": "asg", "managedScaling": {"status": "ENABLED", "targetCapacity": 100}}})
    call(region, "PutClusterCapacityProviders", {"cluster": "prod", "capacityProviders": ["cp"],
                                                 "defaultCapacityProviderStrategy": [
                                                     {"capacityProvider": "cp", "weight": 1}]})
    call(region, "RegisterTaskDefinition", web_definition(cpu=1024, memory=1024))
    out = call(region, "RunTask", {"cluster": "prod", "taskDefinition": "web", "count": 6})   # default strategy
    assert out["failures"] == [] and {t["capacityProviderName"] for t in out["tasks"]} == {"cp"}
    region.advance(15 * 60)
    described = call(region, "DescribeTasks", {"cluster": "prod", "tasks": [t["taskArn"] for t in out["tasks"]]})
    assert [t["lastStatus"] for t in described["tasks"]] == ["RUNNING"] * 6
    assert len(provider_of_instance(region)) >= 2      # 6 tasks of 1024 CPU need two c5.xlarge


def test_a_service_split_between_an_asg_provider_and_fargate_scales_out_and_in():
    region = two_provider_region()
    call(region, "PutClusterCapacityProviders", {"cluster": "prod", "capacityProviders": ["cp-a", "cp-b", "FARGATE"],
                                                 "defaultCapacityProviderStrategy": []})
    call(region, "RegisterTaskDefinition", {"family": "mixed", "networkMode": "awsvpc", "cpu": "256",
                                            "memory": "512", "containerDefinitions": [{"name": "a", "image": "x"}]})
    owners = provider_of_instance(region)
    call(region, "CreateService", {"cluster": "prod", "serviceName": "mix", "taskDefinition": "mixed",
                                   "desiredCount": 6, "networkConfiguration": {
                                       "awsvpcConfiguration": {"subnets": ["subnet-1", "subnet-2"]}},
                                   "capacityProviderStrategy": [{"capacityProvider": "cp-a", "weight": 1},
                                                                {"capacityProvider": "FARGATE", "weight": 2}]})
    region.advance(180)
    service = region.clusters["prod"].services["mix"]
    live = [t for t in service.all_tasks() if t.live]
    assert Counter(t.capacity_provider for t in live) == {"cp-a": 2, "FARGATE": 4}
    assert {owners[t.instance_arn] for t in live if t.capacity_provider == "cp-a"} == {"cp-a"}
    assert all(t.instance_arn is None and t.launch_type == "FARGATE" for t in live if t.capacity_provider == "FARGATE")
    call(region, "UpdateService", {"cluster": "prod", "service": "mix", "desiredCount": 3})
    region.advance(300)
    live = [t for t in service.all_tasks() if t.live]
    assert Counter(t.capacity_provider for t in live) == {"cp-a": 1, "FARGATE": 2}   # the 1:2 split kept
