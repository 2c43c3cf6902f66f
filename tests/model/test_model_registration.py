"""services.md section 2: RegisterContainerInstance (one at a time and in
batches), DeregisterContainerInstance and ACTIVE <-> DRAINING."""

from __future__ import annotations

import numpy as np
import pytest

from model_support import WHEN, assert_same_state, make_cluster, resources, snapshot
from quaymaster import Cluster
from quaymaster.errors import (
    AttributeLimitExceededError,
    ClientError,
    InvalidInputError,
    InvalidParameterError,
    NotFoundError,
    SchemaError,
)

# -- RegisterContainerInstance ----------------------------------------------------


def test_register_one_instance_appends_it_at_the_next_position():
    cluster = make_cluster()
    described = cluster.register_container_instance(
        "i-new", total_resources=resources(2048, 3968, GPU=1, PORTS=[22, 80], PORTS_UDP=[53]),
        attributes=[{"name": "ecs.instance-type", "value": "c5.large"}, {"name": "stack", "value": "prod"},
                    {"name": "ecs.capability.external"}],
        version_info={"agentVersion": "1.75.0", "agentHash": "abc123", "dockerVersion": "20.10.25"},
        capacity_provider="spot", eni_limit=3, registered_at=WHEN)
    assert cluster.resolve_instance("i-new") == 3
    row = cluster.instance_table().to_pylist()[3]
    assert row["ec2_instance_id"] == "i-new"
    assert row["container_instance_arn"] == "arn:aws:ecs:us-east-1:000000000000:container-instance/prod/i-new"
    assert (row["cpu_registered"], row["memory_registered"], row["gpu_registered"]) == (2048, 3968, 1)
    assert (row["cpu_remaining"], row["memory_remaining"], row["gpu_remaining"]) == (2048, 3968, 1)
    assert row["reserved_ports"] == [22, 80] and row["reserved_ports_udp"] == [53]
    assert row["agent_version"] == "1.75.0" and row["capacity_provider"] == "spot"
    assert row["eni_limit"] == 3 and row["registered_at"] == WHEN and row["status"] == "ACTIVE"
    assert row["attribute:ecs.instance-type"] == "c5.large" and row["attribute:stack"] == "prod"
    assert row["attribute:ecs.capability.external"] == ""
    assert described["ec2InstanceId"] == "i-new" and described["version"] == 1
    assert described["versionInfo"] == {"agentVersion": "1.75.0", "agentHash": "abc123",
                                        "dockerVersion": "20.10.25"}
    # The new instance's ports are in use from now on.
    keys = cluster.port_keys()
    assert ((3 << 17) | 80) in keys and ((3 << 17) | (1 << 16) | 53) in keys


def test_default_ports_when_not_given():
    cluster = Cluster("c")
    cluster.register_container_instance("i-1", total_resources=resources())
    assert cluster.state.reserved_tcp[0] == (22, 2375, 2376, 51678, 51679)
    assert cluster.state.reserved_udp[0] == ()


def test_resources_alias_and_value_kinds():
    cluster = Cluster("c")
    cluster.register_container_instance("i-1", resources=[
        {"name": "CPU", "type": "DOUBLE", "doubleValue": 1024.0},
        {"name": "MEMORY", "type": "LONG", "longValue": 2048},
        {"name": "GPU", "type": "STRINGSET", "stringSetValue": ["GPU-aa", "GPU-bb"]}])
    cluster.register_container_instance("i-2", resources=[{"name": "CPU", "integerValue": 1},
                                                          {"name": "MEMORY", "longValue": 2}])
    assert cluster.state.cpu_registered.tolist() == [1024, 1]
    assert cluster.state.memory_registered.tolist() == [2048, 2]
    assert cluster.state.gpu_registered.tolist() == [2, 0]


def test_one_at_a_time_equals_one_batch():
    one_by_one, batch = Cluster("c"), Cluster("c")
    rows = []
    for i in range(6):
        attrs = [{"name": "ecs.availability-zone", "value": f"us-east-1{'abc'[i % 3]}"}]
        if i % 2:
            attrs.append({"name": "stack", "value": "prod"})
        one_by_one.register_container_instance(f"i-{i}", total_resources=resources(1024 * (i + 1), 512 * i),
                                               attributes=attrs, registered_at=WHEN)
        row = {"ec2_instance_id": f"i-{i}", "cpu_registered": 1024 * (i + 1), "memory_registered": 512 * i,
               "attribute:ecs.availability-zone": attrs[0]["value"],
               "attribute:stack": "prod" if i % 2 else None}
        rows.append(row)
    assert list(batch.register_instances(rows[:2], registered_at=WHEN)) == [0, 1]
    assert list(batch.register_instances(rows[2:], registered_at=WHEN)) == [2, 3, 4, 5]
    assert one_by_one.instance_table().equals(batch.instance_table())
    assert one_by_one.state.position == batch.state.position


def test_batch_into_a_cluster_with_tasks_keeps_the_old_state():
    cluster = make_cluster()
    before = snapshot(cluster)
    cluster.register_instances({"ec2_instance_id": ["i-x"], "cpu_registered": [1], "memory_registered": [1],
                                "attribute:rack": ["r1"]})
    after = snapshot(cluster)
    assert after["tasks"].equals(before["tasks"])
    for name in ("cpu_remaining", "running_tasks", "eni_used", "status"):
        assert np.array_equal(after["arrays"][name][:3], before["arrays"][name]), name
    for group, counts in before["groups"].items():
        assert after["groups"][group].tolist() == counts.tolist() + [0]
    assert cluster.state.attribute("rack").strings() == [None, None, None, "r1"]
    assert cluster.state.attribute("stack").strings() == ["prod", None, "dev", None]


REGISTRATION_REFUSALS = [
    ("empty id", dict(ec2_instance_id=""), InvalidParameterError, "ec2InstanceId"),
    ("id not a string", dict(ec2_instance_id=5), InvalidParameterError, "ec2InstanceId"),
    ("no resources", dict(total_resources=None), InvalidParameterError, "totalResources"),
    ("no CPU", dict(total_resources=resources()[1:]), InvalidParameterError, "totalResources"),
    ("both spellings", dict(resources=resources()), InvalidParameterError, "resources"),
    ("negative memory", dict(total_resources=resources(memory=-1)), InvalidParameterError,
     "totalResources[1].integerValue"),
    ("boolean cpu", dict(total_resources=resources(cpu=True)), InvalidParameterError,
     "totalResources[0].integerValue"),
    ("fractional cpu", dict(total_resources=[{"name": "CPU", "type": "DOUBLE", "doubleValue": 1.5},
                                             resources()[1]]), InvalidParameterError,
     "totalResources[0].doubleValue"),
    ("value missing for type", dict(total_resources=[{"name": "CPU", "type": "LONG", "integerValue": 1},
                                                     resources()[1]]), InvalidParameterError, "totalResources[0]"),
    ("unknown resource", dict(total_resources=resources() + [{"name": "DISK", "integerValue": 1}]),
     InvalidParameterError, "totalResources[2].name"),
    ("resource twice", dict(total_resources=resources() + resources()[:1]), InvalidParameterError,
     "totalResources[2].name"),
    ("type not a string", dict(total_resources=[{"name": "CPU", "type": ["INTEGER"], "integerValue": 1},
                                                resources()[1]]),
     InvalidParameterError, "totalResources[0].type"),
    ("memory beyond int64", dict(total_resources=[resources()[0], {"name": "MEMORY", "longValue": 2**63}]),
     InvalidParameterError, "totalResources[1].longValue"),
    ("bad port", dict(total_resources=resources(PORTS=["22", "http"])), InvalidParameterError,
     "totalResources[2].stringSetValue[1]"),
    ("port 0", dict(total_resources=resources(PORTS_UDP=[0])), InvalidParameterError,
     "totalResources[2].stringSetValue[0]"),
    ("ports not a set", dict(total_resources=resources()
                             + [{"name": "PORTS", "type": "INTEGER", "integerValue": 22}]),
     InvalidParameterError, "totalResources[2].type"),
    ("101 reserved ports", dict(total_resources=resources(PORTS=range(1, 52), PORTS_UDP=range(1, 51))),
     InvalidParameterError, "totalResources"),
    ("bad status", dict(status="RUNNING"), InvalidParameterError, "status"),
    ("negative eni limit", dict(eni_limit=-1), InvalidParameterError, "eniLimit"),
    ("empty capacity provider", dict(capacity_provider=""), InvalidParameterError, "capacityProviderName"),
    ("unknown version key", dict(version_info={"agent": "1"}), InvalidParameterError, "versionInfo.agent"),
    ("bad attribute name", dict(attributes=[{"name": "a b", "value": "x"}]), InvalidParameterError,
     "attributes[0].name"),
    ("bad attribute value", dict(attributes=[{"name": "ok"}, {"name": "b", "value": "x;y"}]),
     InvalidParameterError, "attributes[1].value"),
    ("registration time not a datetime", dict(registered_at="2024-01-01"), SchemaError, "registered_at"),
    ("11 custom attributes", dict(attributes=[{"name": f"c{i}", "value": "v"} for i in range(11)]),
     AttributeLimitExceededError, "attributes"),
]


@pytest.mark.parametrize("overrides, error, field", [c[1:] for c in REGISTRATION_REFUSALS],
                         ids=[c[0] for c in REGISTRATION_REFUSALS])
def test_refused_registration_changes_nothing(overrides, error, field):
    cluster = make_cluster()
    before = snapshot(cluster)
    kwargs = {"ec2_instance_id": "i-new", "total_resources": resources()} | overrides
    if "resources" in overrides:
        kwargs["total_resources"] = resources()
    ec2_id = kwargs.pop("ec2_instance_id")
    with pytest.raises(error) as caught:
        cluster.register_container_instance(ec2_id, **kwargs)
    assert caught.value.field == field
    assert_same_state(before, snapshot(cluster))


def test_ten_custom_attributes_plus_builtins_are_accepted():
    cluster = Cluster("c")
    attrs = [{"name": f"c{i}", "value": "v"} for i in range(10)]
    attrs += [{"name": "ecs.os-type", "value": "linux"}, {"name": "com.amazonaws.ecs.capability.docker-remote-api.1.17"}]
    cluster.register_container_instance("i-1", total_resources=resources(), attributes=attrs)
    assert len(cluster.describe_container_instances(["i-1"])["containerInstances"][0]["attributes"]) == 12


def test_duplicate_id_is_refused_even_after_deregistration():
    cluster = make_cluster(tasks=None)
    cluster.deregister_container_instance("i-c")
    before = snapshot(cluster)
    with pytest.raises(SchemaError) as caught:
        cluster.register_container_instance("i-c", total_resources=resources())
    assert caught.value.column == "ec2_instance_id" and "i-c" in str(caught.value)
    assert_same_state(before, snapshot(cluster))


def test_instance_quota_counts_registered_instances_only():
    cluster = Cluster("c")
    cluster.container_instance_limit = 2
    cluster.register_container_instance("i-1", total_resources=resources())
    cluster.register_container_instance("i-2", total_resources=resources())
    with pytest.raises(ClientError):
        cluster.register_container_instance("i-3", total_resources=resources())
    assert cluster.state.n == 2
    cluster.deregister_container_instance("i-1")
    cluster.register_container_instance("i-3", total_resources=resources())
    assert cluster.state.n == 3
    cluster.container_instance_limit = None
    cluster.register_container_instance("i-4", total_resources=resources())


# -- lookup -----------------------------------------------------------------------

def test_resolve_by_id_arn_and_short_id():
    cluster = make_cluster()
    cluster.register_instances({"ec2_instance_id": ["i-u"], "cpu_registered": [1], "memory_registered": [1],
                                "container_instance_arn": ["arn:aws:ecs:us-east-1:1:container-instance/prod/f00d"]})
    assert cluster.resolve_instance("i-b") == 1
    assert cluster.resolve_instance(cluster.state.arns[2]) == 2
    assert cluster.resolve_instance("arn:aws:ecs:us-east-1:1:container-instance/prod/f00d") == 3
    assert cluster.resolve_instance("f00d") == 3
    with pytest.raises(NotFoundError, match="i-zz"):
        cluster.resolve_instance("i-zz")
    with pytest.raises(InvalidParameterError):
        cluster.resolve_instance(3)


# -- DeregisterContainerInstance ----------------------------------------------------

def test_deregister_refuses_an_instance_with_live_tasks():
    cluster = make_cluster()
    before = snapshot(cluster)
    with pytest.raises(ClientError, match=r"^Found running tasks on the instance\.$"):
        cluster.deregister_container_instance("i-b")  # holds one STOPPING task: still live
    assert_same_state(before, snapshot(cluster))


def test_deregister_makes_the_instance_inactive_and_keeps_positions():
    cluster = make_cluster()
    described = cluster.deregister_container_instance(cluster.state.arns[2])
    assert described["status"] == "INACTIVE" and described["version"] == 2
    assert cluster.state.status_name(2) == "INACTIVE"
    assert cluster.state.ids == ["i-a", "i-b", "i-c"]
    assert cluster.resolve_instance("i-c") == 2
    again = cluster.deregister_container_instance("i-c")  # already INACTIVE: nothing more happens
    assert again["status"] == "INACTIVE" and again["version"] == 2


def test_forced_deregistration_leaves_the_tasks_in_the_table():
    cluster = make_cluster()
    tasks_before = cluster.task_table()
    cluster.deregister_container_instance("i-a", force=True)
    assert cluster.state.status_name(0) == "INACTIVE"
    assert cluster.task_table().equals(tasks_before)
    assert cluster.state.running_tasks[0] == 2
    assert cluster.state.cpu_remaining[0] == 2048 - 768


def test_deregister_unknown_or_bad_arguments():
    cluster = make_cluster()
    before = snapshot(cluster)
    with pytest.raises(NotFoundError):
        cluster.deregister_container_instance("i-zz")
    with pytest.raises(InvalidParameterError):
        cluster.deregister_container_instance("i-c", force="yes")
    assert_same_state(before, snapshot(cluster))


# -- UpdateContainerInstancesState -------------------------------------------------

def test_active_to_draining_and_back():
    cluster = make_cluster()
    result = cluster.update_container_instances_state(["i-a", "i-c"], "DRAINING")
    assert [d["status"] for d in result["containerInstances"]] == ["DRAINING", "DRAINING"]
    assert result["failures"] == []
    assert [cluster.state.status_name(p) for p in range(3)] == ["DRAINING", "DRAINING", "DRAINING"]
    result = cluster.update_container_instances_state([cluster.state.arns[1]], "ACTIVE")
    assert result["containerInstances"][0]["ec2InstanceId"] == "i-b"
    assert [cluster.state.status_name(p) for p in range(3)] == ["DRAINING", "ACTIVE", "DRAINING"]
    assert [d["version"] for d in cluster.describe_container_instances(["i-a", "i-b", "i-c"])
            ["containerInstances"]] == [2, 2, 2]


def test_setting_the_current_status_changes_nothing():
    cluster = make_cluster()
    result = cluster.update_container_instances_state(["i-a"], "ACTIVE")
    assert result["containerInstances"][0]["version"] == 1


def test_unknown_instances_are_missing_failures_and_the_others_change():
    cluster = make_cluster()
    result = cluster.update_container_instances_state(
        ["i-zz", "i-a", "arn:aws:ecs:us-east-1:000000000000:container-instance/prod/nope", "i-a"], "DRAINING")
    assert [d["ec2InstanceId"] for d in result["containerInstances"]] == ["i-a"]
    assert result["failures"] == [
        {"arn": "arn:aws:ecs:us-east-1:000000000000:container-instance/prod/i-zz", "reason": "MISSING"},
        {"arn": "arn:aws:ecs:us-east-1:000000000000:container-instance/prod/nope", "reason": "MISSING"}]
    assert cluster.state.status_name(0) == "DRAINING"


@pytest.mark.parametrize("current", ["INACTIVE", "REGISTERING", "DEREGISTERING", "REGISTRATION_FAILED"])
def test_only_active_and_draining_instances_can_be_updated(current):
    columns = {"ec2_instance_id": ["i-1", "i-2"], "cpu_registered": [1, 1], "memory_registered": [1, 1],
               "status": [current, "ACTIVE"]}
    cluster = Cluster.from_arrow(columns)
    result = cluster.update_container_instances_state(["i-1", "i-2"], "DRAINING")
    assert [f["reason"] for f in result["failures"]] == [current]
    assert result["failures"][0]["arn"] == cluster.state.arns[0]
    assert [cluster.state.status_name(p) for p in range(2)] == [current, "DRAINING"]


@pytest.mark.parametrize("status", ["INACTIVE", "REGISTERING", "draining", "", None])
def test_only_active_and_draining_are_accepted(status):
    cluster = make_cluster()
    before = snapshot(cluster)
    with pytest.raises(InvalidParameterError) as caught:
        cluster.update_container_instances_state(["i-a"], status)
    assert caught.value.field == "status"
    assert_same_state(before, snapshot(cluster))


def test_update_with_no_instances_is_a_client_error():
    with pytest.raises(ClientError, match="cannot be empty"):
        make_cluster().update_container_instances_state([], "DRAINING")


def test_every_refusal_is_an_invalid_input_error():
    # except ValueError keeps working for callers who do not care which check failed
    cluster = make_cluster()
    for call in (lambda: cluster.deregister_container_instance("i-zz"),
                 lambda: cluster.update_container_instances_state(["i-a"], "STOPPED"),
                 lambda: cluster.register_container_instance("i-a", total_resources=resources())):
        with pytest.raises(InvalidInputError):
            call()
        with pytest.raises(ValueError):
            call()
