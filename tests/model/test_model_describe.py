"""DescribeContainerInstances in ECS's JSON shape (botocore's ECS model).

Every field name is compared with botocore's ECS service model directly: the
library takes its names and enums from that model (quaymaster.model.describe),
and the test loads it on its own, so neither can drift from botocore.
"""

from __future__ import annotations

import json

import botocore.session
import pytest

from model_support import WHEN, assert_same_state, make_cluster, resources, snapshot
from quaymaster import Cluster
from quaymaster.errors import ClientError, InvalidParameterError
from quaymaster.model import describe

#: Always present in our ContainerInstance (the optional ones depend on the instance or ``include``).
ALWAYS = {"containerInstanceArn", "ec2InstanceId", "version", "versionInfo", "remainingResources",
          "registeredResources", "status", "agentConnected", "runningTasksCount", "pendingTasksCount",
          "attributes", "registeredAt"}
DEFAULT_TCP = ["22", "2375", "2376", "51678", "51679"]
SHAPES = ("ContainerInstance", "Resource", "VersionInfo", "Attribute", "Failure",
          "DescribeContainerInstancesResponse", "UpdateContainerInstancesStateResponse",
          "ContainerInstanceHealthStatus")


def botocore_members(shape: str) -> set[str]:
    """A structure's member names, straight from the ECS model botocore ships."""
    model = botocore.session.get_session().get_service_model("ecs")
    return set(model.shape_for(shape).members)


@pytest.mark.parametrize("shape", SHAPES)
def test_member_names_are_botocores(shape):
    assert set(describe.shape_members(shape)) == botocore_members(shape)


def test_include_values_are_botocores_enum():
    model = botocore.session.get_session().get_service_model("ecs")
    assert describe.INCLUDE_FIELDS == tuple(model.shape_for("ContainerInstanceField").enum)
    assert ALWAYS <= botocore_members("ContainerInstance")


def described(cluster, *refs, include=None) -> dict:
    return {d["ec2InstanceId"]: d for d in
            cluster.describe_container_instances(list(refs), include=include)["containerInstances"]}


def by_name(entries) -> dict:
    return {e["name"]: e for e in entries}


def test_shape_uses_only_model_field_names():
    cluster = make_cluster()
    cluster.register_container_instance("i-new", total_resources=resources(), capacity_provider="cp",
                                        version_info={"agentVersion": "1.2.3", "agentHash": "h",
                                                      "dockerVersion": "d"})
    result = cluster.describe_container_instances(["i-a", "i-b", "i-c", "i-new", "i-zz"],
                                                  include=["TAGS", "CONTAINER_INSTANCE_HEALTH"])
    assert set(result) <= botocore_members("DescribeContainerInstancesResponse")
    for instance in result["containerInstances"]:
        assert ALWAYS <= set(instance) <= botocore_members("ContainerInstance")
        assert set(instance["versionInfo"]) <= botocore_members("VersionInfo")
        assert set(instance["healthStatus"]) <= botocore_members("ContainerInstanceHealthStatus")
        for entry in instance["registeredResources"] + instance["remainingResources"]:
            assert set(entry) <= botocore_members("Resource")
        for entry in instance["attributes"]:
            assert set(entry) <= botocore_members("Attribute")
    for entry in result["failures"]:
        assert set(entry) <= botocore_members("Failure")
    json.dumps(result)  # plain JSON values only


def test_resources_remaining_and_registered():
    cluster = make_cluster()
    a, b, c = (described(cluster, "i-a", "i-b", "i-c")[i] for i in ("i-a", "i-b", "i-c"))
    registered, remaining = by_name(a["registeredResources"]), by_name(a["remainingResources"])
    assert [e["name"] for e in a["registeredResources"]] == ["CPU", "MEMORY", "PORTS", "PORTS_UDP"]
    assert registered["CPU"] == {"name": "CPU", "type": "INTEGER", "doubleValue": 0.0, "longValue": 0,
                                 "integerValue": 2048}
    assert registered["MEMORY"]["integerValue"] == 4096
    assert registered["PORTS"] == {"name": "PORTS", "type": "STRINGSET", "doubleValue": 0.0, "longValue": 0,
                                   "integerValue": 0, "stringSetValue": DEFAULT_TCP}
    # Remaining: registered minus the two tasks on i-a (256+512 CPU, 512+1024 MiB);
    # its ports are the agent's plus the tasks' host ports (8080 and 49153), ascending.
    assert remaining["CPU"]["integerValue"] == 1280 and remaining["MEMORY"]["integerValue"] == 2560
    assert remaining["PORTS"]["stringSetValue"] == ["22", "2375", "2376", "8080", "49153", "51678", "51679"]
    assert remaining["PORTS_UDP"]["stringSetValue"] == []
    # i-b has GPUs (2, one held) and UDP ports (53 reserved, 5000 held by a task).
    assert by_name(b["registeredResources"])["GPU"]["integerValue"] == 2
    assert by_name(b["remainingResources"])["GPU"]["integerValue"] == 1
    assert by_name(b["registeredResources"])["PORTS_UDP"]["stringSetValue"] == ["53"]
    assert by_name(b["remainingResources"])["PORTS_UDP"]["stringSetValue"] == ["53", "5000"]
    assert "GPU" not in by_name(c["registeredResources"])


def test_counts_status_attributes_and_time():
    cluster = make_cluster()
    a, b = (described(cluster, "i-a", "i-b")[i] for i in ("i-a", "i-b"))
    # i-a: one RUNNING and one PENDING task, both meant to run; i-b: one STOPPING task.
    assert (a["runningTasksCount"], a["pendingTasksCount"]) == (2, 1)
    assert (b["runningTasksCount"], b["pendingTasksCount"]) == (0, 0)
    assert a["status"] == "ACTIVE" and b["status"] == "DRAINING"
    assert a["agentConnected"] is True
    assert a["attributes"] == [{"name": "ecs.availability-zone", "value": "us-east-1a"},
                               {"name": "stack", "value": "prod"}]
    assert a["registeredAt"] == WHEN.timestamp()
    assert a["versionInfo"] == {"agentVersion": "1.0.0"}
    assert a["containerInstanceArn"] == "arn:aws:ecs:us-east-1:000000000000:container-instance/prod/i-a"
    assert "capacityProviderName" not in a


def test_registration_returns_what_describe_returns():
    cluster = Cluster("c")
    registered = cluster.register_container_instance(
        "i-1", total_resources=resources(4096, 8192, PORTS=[22]), capacity_provider="cp", eni_limit=4,
        attributes=[{"name": "ecs.os-type", "value": "linux"}, {"name": "flag"}], registered_at=WHEN)
    assert registered == cluster.describe_container_instances(["i-1"])["containerInstances"][0]
    assert registered["capacityProviderName"] == "cp"
    assert registered["attributes"] == [{"name": "ecs.os-type", "value": "linux"}, {"name": "flag"}]


def test_huge_amounts_are_listed_as_long():
    cluster = Cluster("c")
    cluster.register_instances({"ec2_instance_id": ["i-1"], "cpu_registered": [2**40],
                                "memory_registered": [1]})
    cpu = by_name(described(cluster, "i-1")["i-1"]["registeredResources"])["CPU"]
    assert (cpu["type"], cpu["longValue"], cpu["integerValue"]) == ("LONG", 2**40, 0)


def test_failures_unknown_refs_and_duplicates():
    cluster = make_cluster()
    result = cluster.describe_container_instances(["i-b", "i-zz", cluster.state.arns[1], "arn:aws:ecs:x"])
    assert [d["ec2InstanceId"] for d in result["containerInstances"]] == ["i-b"]
    assert result["failures"] == [
        {"arn": "arn:aws:ecs:us-east-1:000000000000:container-instance/prod/i-zz", "reason": "MISSING"},
        {"arn": "arn:aws:ecs:x", "reason": "MISSING"}]
    assert cluster.describe_container_instances("i-c")["containerInstances"][0]["ec2InstanceId"] == "i-c"


def test_include_fields():
    cluster = make_cluster()
    cluster.register_instances({"ec2_instance_id": ["i-off"], "cpu_registered": [1], "memory_registered": [1],
                                "agent_connected": [False]})
    plain = described(cluster, "i-a")["i-a"]
    assert "tags" not in plain and "healthStatus" not in plain
    full = described(cluster, "i-a", "i-off", include=["TAGS", "CONTAINER_INSTANCE_HEALTH"])
    assert full["i-a"]["tags"] == [] and full["i-a"]["healthStatus"] == {"overallStatus": "OK"}
    assert full["i-off"]["healthStatus"] == {"overallStatus": "INSUFFICIENT_DATA"}


@pytest.mark.parametrize("include", ["TAGS", ["tags"], [None], 5])
def test_bad_include_is_refused(include):
    with pytest.raises(InvalidParameterError):
        make_cluster().describe_container_instances(["i-a"], include=include)


@pytest.mark.parametrize("refs", [[], None, ()])
def test_nothing_to_describe_is_a_client_error(refs):
    with pytest.raises(ClientError, match="cannot be empty"):
        make_cluster().describe_container_instances(refs)


def test_describe_changes_nothing():
    cluster = make_cluster()
    before = snapshot(cluster)
    cluster.describe_container_instances(["i-a", "i-b", "i-zz"], include=["TAGS"])
    cluster.list_attributes()
    assert_same_state(before, snapshot(cluster))


def test_placements_show_in_describe():
    cluster = Cluster("c")
    for i in range(2):
        cluster.register_container_instance(f"i-{i}", total_resources=resources(1024, 2048))
    cluster.update_container_instances_state(["i-0"], "DRAINING")
    task_definition = {"family": "web", "containerDefinitions": [
        {"name": "app", "image": "nginx", "cpu": 256, "memory": 512,
         "portMappings": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 81}]}]}
    result = cluster.run_task(task_definition, count=1)
    assert result.placed_count == 1
    after = described(cluster, "i-0", "i-1")
    assert after["i-0"]["runningTasksCount"] == 0  # DRAINING: no new tasks
    remaining = by_name(after["i-1"]["remainingResources"])
    assert remaining["CPU"]["integerValue"] == 768 and remaining["MEMORY"]["integerValue"] == 1536
    assert {"8080", "49153"} <= set(remaining["PORTS"]["stringSetValue"])
    assert after["i-1"]["runningTasksCount"] == 1
    with pytest.raises(ClientError):
        cluster.deregister_container_instance("i-1")


def test_list_container_instances_delegates_to_the_query_module(monkeypatch):
    import sys
    import types

    calls = []
    fake = types.ModuleType("quaymaster.cql.listing")
    fake.list_container_instances = lambda cluster, filter, status: calls.append((cluster, filter, status)) or ["x"]
    monkeypatch.setitem(sys.modules, "quaymaster.cql.listing", fake)
    cluster = make_cluster()
    assert cluster.list_container_instances("runningTasksCount > 0", "ACTIVE") == ["x"]
    assert calls == [(cluster, "runningTasksCount > 0", "ACTIVE")]


def test_placement_sees_every_administrative_change():
    """Placement may keep plans between requests; each admin change must reach it."""
    cluster = Cluster("c")
    for i in range(2):
        cluster.register_container_instance(f"i-{i}", total_resources=resources(4096, 8192))
    task_definition = {"family": "web", "containerDefinitions": [
        {"name": "app", "image": "nginx", "cpu": 128, "memory": 128}]}

    def placed_on(**kwargs) -> set[str]:
        result = cluster.run_task(task_definition, count=2, **kwargs)
        table = cluster.task_table()
        arns = set(result.task_arns())
        return {row["ec2_instance_id"] for row in table.to_pylist() if row["task_arn"] in arns}

    assert placed_on() <= {"i-0", "i-1"}
    cluster.update_container_instances_state(["i-0"], "DRAINING")
    assert placed_on() == {"i-1"}
    cluster.update_container_instances_state(["i-0"], "ACTIVE")
    cluster.put_attributes([{"name": "pool", "value": "blue", "targetId": "i-0", "targetType": "container-instance"}])
    constraint = [{"type": "memberOf", "expression": "attribute:pool == blue"}]
    assert placed_on(placement_constraints=constraint) == {"i-0"}
    cluster.delete_attributes([{"name": "pool", "targetId": "i-0", "targetType": "container-instance"}])
    assert placed_on(placement_constraints=constraint) == set()
    cluster.register_container_instance("i-2", total_resources=resources(4096, 8192),
                                        attributes=[{"name": "pool", "value": "blue"}])
    assert placed_on(placement_constraints=constraint) == {"i-2"}
