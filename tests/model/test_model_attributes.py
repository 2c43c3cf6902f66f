"""services.md section 2, limits.md: PutAttributes, DeleteAttributes and
ListAttributes with ECS's validation and limits, all-or-nothing."""

from __future__ import annotations

import pytest

from model_support import assert_same_state, make_cluster, snapshot
from quaymaster.errors import AttributeLimitExceededError, InvalidParameterError, NotFoundError

CI = "container-instance"


def attr(name, value=None, target="i-a", target_type=CI):
    entry = {"name": name, "targetId": target}
    if value is not None:
        entry["value"] = value
    if target_type is not None:
        entry["targetType"] = target_type
    return entry


def test_put_creates_replaces_and_reports():
    cluster = make_cluster()
    arn_b = cluster.state.arns[1]
    result = cluster.put_attributes([attr("stack", "staging"), attr("rack", "r-7", target=arn_b, target_type=None),
                                     attr("gpu-ready", target="i-c")])
    assert result == {"attributes": [
        {"name": "stack", "value": "staging", "targetId": cluster.state.arns[0]},
        {"name": "rack", "value": "r-7", "targetId": arn_b},
        {"name": "gpu-ready", "targetId": cluster.state.arns[2]}]}
    assert cluster.state.attribute("stack").strings() == ["staging", None, "dev"]
    assert cluster.state.attribute("rack").strings() == [None, "r-7", None]
    assert cluster.state.attribute("gpu-ready").strings() == [None, None, ""]  # present, no value
    versions = [d["version"] for d in cluster.describe_container_instances(["i-a", "i-b", "i-c"])
                ["containerInstances"]]
    assert versions == [2, 2, 2]


def test_put_is_seen_by_the_query_language():
    cluster = make_cluster()
    cluster.put_attributes([attr("stack", "prod", target="i-c")])
    assert cluster.list_container_instances("attribute:stack == prod", status="ACTIVE") == [
        cluster.state.arns[0], cluster.state.arns[2]]
    cluster.delete_attributes([attr("stack", target="i-a")])
    assert cluster.list_container_instances("attribute:stack exists") == [cluster.state.arns[2]]


def test_later_entry_for_the_same_attribute_wins():
    cluster = make_cluster()
    cluster.put_attributes([attr("stack", "one"), attr("stack", "two")])
    assert cluster.state.attribute("stack").get(0) == "two"


@pytest.mark.parametrize("name", ["a", "n" * 128, "A-Z_a.z/0\\9", "ecs.custom"])
def test_valid_names(name):
    cluster = make_cluster()
    cluster.put_attributes([attr(name, "v")])
    assert cluster.state.attribute(name).get(0) == "v"


@pytest.mark.parametrize("value", ["v", "v" * 128, "a b", "x@y:z/w\\q.r-s_t", "1"])
def test_valid_values(value):
    cluster = make_cluster()
    cluster.put_attributes([attr("k", value)])
    assert cluster.state.attribute("k").get(0) == value


BAD_ENTRIES = [
    ("name with a space", attr("a b", "v"), "attributes[1].name"),
    ("name with a colon", attr("a:b", "v"), "attributes[1].name"),
    ("empty name", attr("", "v"), "attributes[1].name"),
    ("name of 129 characters", attr("n" * 129, "v"), "attributes[1].name"),
    ("no name", {"value": "v", "targetId": "i-a", "targetType": CI}, "attributes[1].name"),
    ("name not a string", attr(7, "v"), "attributes[1].name"),
    ("value with a leading space", attr("k", " v"), "attributes[1].value"),
    ("value with a trailing space", attr("k", "v "), "attributes[1].value"),
    ("value with a bad character", attr("k", "v#"), "attributes[1].value"),
    ("empty value", attr("k", ""), "attributes[1].value"),
    ("value of 129 characters", attr("k", "v" * 129), "attributes[1].value"),
    ("value not a string", attr("k", 5), "attributes[1].value"),
    ("short id without target type", attr("k", "v", target_type=None), "attributes[1].targetType"),
    ("wrong target type", attr("k", "v", target_type="task"), "attributes[1].targetType"),
    ("no target", {"name": "k", "value": "v"}, "attributes[1].targetId"),
    ("unknown key", attr("k", "v") | {"Value": "x"}, "attributes[1].Value"),
    ("unknown keys of mixed types", attr("k", "v") | {7: "x", "zone": "y"}, "attributes[1].7"),
    ("not a mapping", "k=v", "attributes[1]"),
]


@pytest.mark.parametrize("entry, field", [c[1:] for c in BAD_ENTRIES], ids=[c[0] for c in BAD_ENTRIES])
def test_one_bad_entry_refuses_the_whole_call(entry, field):
    cluster = make_cluster()
    before = snapshot(cluster)
    with pytest.raises(InvalidParameterError) as caught:
        cluster.put_attributes([attr("fine", "v"), entry, attr("also-fine", "v", target="i-b")])
    assert caught.value.field == field
    assert_same_state(before, snapshot(cluster))


def test_unknown_target_is_target_not_found():
    cluster = make_cluster()
    before = snapshot(cluster)
    for target, target_type in (("i-zz", CI), ("arn:aws:ecs:us-east-1:000000000000:container-instance/prod/x", None)):
        with pytest.raises(NotFoundError, match="TargetNotFoundException") as caught:
            cluster.put_attributes([attr("fine", "v"), attr("k", "v", target=target, target_type=target_type)])
        assert caught.value.field == "attributes[1].targetId" and caught.value.value == target
        with pytest.raises(NotFoundError, match="TargetNotFoundException"):
            cluster.delete_attributes([attr("stack", target=target, target_type=target_type)])
    assert_same_state(before, snapshot(cluster))


def test_at_most_ten_attributes_per_call():
    cluster = make_cluster()
    cluster.put_attributes([attr(f"k{i}", "v", target=["i-a", "i-b"][i % 2]) for i in range(10)])
    before = snapshot(cluster)
    with pytest.raises(InvalidParameterError) as caught:
        cluster.put_attributes([attr(f"n{i}", "v", target="i-c") for i in range(11)])
    assert caught.value.field == "attributes"
    with pytest.raises(InvalidParameterError):
        cluster.put_attributes([])
    with pytest.raises(InvalidParameterError):
        cluster.delete_attributes([attr(f"k{i}") for i in range(11)])
    assert_same_state(before, snapshot(cluster))


def test_at_most_ten_custom_attributes_per_instance():
    cluster = make_cluster()  # i-a already has the custom attribute "stack"
    cluster.put_attributes([attr(f"k{i}", "v") for i in range(9)])
    before = snapshot(cluster)
    with pytest.raises(AttributeLimitExceededError, match="i-a"):
        cluster.put_attributes([attr("one-too-many", "v")])
    with pytest.raises(AttributeLimitExceededError, match="i-c"):  # i-c has one; the call adds ten
        cluster.put_attributes([attr(f"y{i}", "v", target="i-c") for i in range(10)])
    assert_same_state(before, snapshot(cluster))
    # Replacing one of the ten and adding built-ins is fine.
    cluster.put_attributes([attr("k0", "w"), attr("ecs.extra", "v"), attr("com.amazonaws.ecs.capability.x")])
    assert cluster.state.attribute("k0").get(0) == "w"
    # Deleting one frees a place.
    cluster.delete_attributes([attr("k1")])
    cluster.put_attributes([attr("one-more", "v")])


def test_limits_can_be_lifted_per_cluster():
    cluster = make_cluster()
    cluster.custom_attribute_limit = None
    cluster.attributes_per_call_limit = None
    cluster.put_attributes([attr(f"k{i}", "v") for i in range(30)])
    assert len(cluster.list_attributes(attribute_name="k29")["attributes"]) == 1


def test_delete_reports_the_old_values_and_ignores_absent_attributes():
    cluster = make_cluster()
    result = cluster.delete_attributes([attr("stack", "ignored"), attr("stack", target="i-b"),
                                        attr("ecs.availability-zone", target="i-b")])
    arns = cluster.state.arns
    assert result == {"attributes": [{"name": "stack", "value": "prod", "targetId": arns[0]},
                                     {"name": "stack", "targetId": arns[1]},
                                     {"name": "ecs.availability-zone", "value": "us-east-1b", "targetId": arns[1]}]}
    assert cluster.state.attribute("stack").strings() == [None, None, "dev"]
    assert cluster.state.attribute("ecs.availability-zone").strings() == ["us-east-1a", None, None]
    versions = [d["version"] for d in cluster.describe_container_instances(["i-a", "i-b", "i-c"])
                ["containerInstances"]]
    assert versions == [2, 2, 1]  # i-b lost one attribute; deleting its absent "stack" changed nothing


def test_delete_validates_like_put():
    cluster = make_cluster()
    before = snapshot(cluster)
    with pytest.raises(InvalidParameterError):
        cluster.delete_attributes([attr("stack"), attr("bad name")])
    assert_same_state(before, snapshot(cluster))


def test_deleted_everywhere_drops_the_column_from_the_table():
    cluster = make_cluster()
    cluster.delete_attributes([attr("stack"), attr("stack", target="i-c")])
    assert "attribute:stack" not in cluster.instance_table().column_names


def test_list_attributes_in_position_then_name_order():
    cluster = make_cluster()
    arns = cluster.state.arns
    assert cluster.list_attributes()["attributes"] == [
        {"name": "ecs.availability-zone", "value": "us-east-1a", "targetId": arns[0]},
        {"name": "stack", "value": "prod", "targetId": arns[0]},
        {"name": "ecs.availability-zone", "value": "us-east-1b", "targetId": arns[1]},
        {"name": "stack", "value": "dev", "targetId": arns[2]}]
    assert cluster.list_attributes(CI, "stack")["attributes"] == [
        {"name": "stack", "value": "prod", "targetId": arns[0]},
        {"name": "stack", "value": "dev", "targetId": arns[2]}]
    assert cluster.list_attributes(CI, "stack", "dev")["attributes"] == [
        {"name": "stack", "value": "dev", "targetId": arns[2]}]
    assert cluster.list_attributes(CI, "stack", "nope")["attributes"] == []
    assert cluster.list_attributes(CI, "no-such-attribute")["attributes"] == []


def test_list_attributes_checks_its_arguments():
    cluster = make_cluster()
    with pytest.raises(InvalidParameterError) as caught:
        cluster.list_attributes("task")
    assert caught.value.field == "targetType"
    with pytest.raises(InvalidParameterError) as caught:
        cluster.list_attributes(CI, attribute_value="prod")
    assert caught.value.field == "attributeValue"
    for args, field in (((CI, ["stack"]), "attributeName"), ((CI, "stack", 5), "attributeValue")):
        with pytest.raises(InvalidParameterError) as caught:
            cluster.list_attributes(*args)
        assert caught.value.field == field
