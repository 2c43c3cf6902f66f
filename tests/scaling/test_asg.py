"""Auto Scaling groups: launches balanced over zones, types in turn, registration after boot,
scale-in choice and protection; the EC2 Auto Scaling API's shapes and errors."""

import copy

import pytest
from botocore.validate import validate_parameters
from hypothesis import given, settings, strategies as st

from quaymaster.errors import ServiceError
from quaymaster.scaling.autoscaling_api import AutoScaling
from quaymaster.scaling.shapes import service_model

S = 1000


def group_request(name="g", low=0, high=10, desired=None, types=("m5.large", "c5.xlarge"),
                  zones=("us-east-1a", "us-east-1b", "us-east-1c"), **extra):
    request = {"AutoScalingGroupName": name, "MinSize": low, "MaxSize": high,
               "AvailabilityZones": list(zones),
               "MixedInstancesPolicy": {"LaunchTemplate": {
                   "LaunchTemplateSpecification": {"LaunchTemplateName": "ecs-node"},
                   "Overrides": [{"InstanceType": t} for t in types]}}, **extra}
    if desired is not None:
        request["DesiredCapacity"] = desired
    return request


@pytest.fixture
def api():
    return AutoScaling(seed=11, boot_seconds=90)


def test_launches_register_after_boot_balanced_and_typed_in_turn(api):
    api.create_auto_scaling_group(group_request(desired=4))
    launched = api.reconcile(0)
    assert [a.kind for a in launched] == ["launch"] * 4
    assert [a.zone for a in launched] == ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1a"]
    assert [a.instance_type.name for a in launched] == ["m5.large", "c5.xlarge"] * 2
    assert len({a.instance_id for a in launched}) == 4
    assert api.reconcile(89 * S) == []
    registered = api.reconcile(90 * S)
    assert [a.kind for a in registered] == ["register"] * 4
    assert [a.time_ms for a in registered] == [90 * S] * 4
    assert api.groups["g"].in_service() == 4
    assert api.groups["g"].warming(200 * S, 300) == 4 and api.groups["g"].warming(300 * S, 300) == 0


def test_scale_in_takes_the_fullest_zone_oldest_first_and_skips_protected(api):
    api.create_auto_scaling_group(group_request(desired=4))
    ids = [a.instance_id for a in api.reconcile(0)]
    api.reconcile(90 * S)
    api.set_instance_protection({"AutoScalingGroupName": "g", "InstanceIds": [ids[0]],
                                 "ProtectedFromScaleIn": True})
    api.set_desired_capacity({"AutoScalingGroupName": "g", "DesiredCapacity": 2})
    gone = api.reconcile(120 * S)
    # zone a holds two (ids 0 and 3); 0 is protected, so 3 goes, then the oldest of the rest (1)
    assert [(a.kind, a.instance_id) for a in gone] == [("terminate", ids[3]), ("terminate", ids[1])]
    api.set_desired_capacity({"AutoScalingGroupName": "g", "DesiredCapacity": 0})
    assert [a.instance_id for a in api.reconcile(130 * S)] == [ids[2]]   # the protected one stays
    assert list(api.groups["g"].instances) == [ids[0]]


def test_same_calls_same_instances():
    first, second = AutoScaling(seed=5), AutoScaling(seed=5)
    for api in (first, second):
        api.create_auto_scaling_group(group_request(desired=3))
    assert first.reconcile(0) == second.reconcile(0)


def test_describe_follows_the_model(api):
    api.create_auto_scaling_group(group_request(desired=2, NewInstancesProtectedFromScaleIn=True))
    api.reconcile(0)
    answer = api.describe_auto_scaling_groups({"AutoScalingGroupNames": ["g"]})
    validate_parameters(answer, service_model("autoscaling").operation_model(
        "DescribeAutoScalingGroups").output_shape)
    group = answer["AutoScalingGroups"][0]
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == (0, 10, 2)
    assert [i["LifecycleState"] for i in group["Instances"]] == ["Pending", "Pending"]
    assert all(i["ProtectedFromScaleIn"] for i in group["Instances"])
    assert group["AutoScalingGroupARN"].endswith(":autoScalingGroupName/g")
    assert api.group(group["AutoScalingGroupARN"]).name == "g"


def test_instance_type_on_a_plain_launch_template(api):
    api.create_auto_scaling_group({"AutoScalingGroupName": "plain", "MinSize": 1, "MaxSize": 2,
                                   "AvailabilityZones": ["z"],
                                   "LaunchTemplate": {"LaunchTemplateName": "lt1",
                                                      "InstanceType": "r5.large"}})
    assert [a.instance_type.name for a in api.reconcile(0)] == ["r5.large"]


def test_update_and_delete(api):
    api.create_auto_scaling_group(group_request(desired=1))
    api.reconcile(0)
    api.update_auto_scaling_group({"AutoScalingGroupName": "g", "MinSize": 2, "MaxSize": 3})
    assert api.groups["g"].desired == 2
    with pytest.raises(ServiceError) as info:
        api.delete_auto_scaling_group({"AutoScalingGroupName": "g"})
    assert info.value.code == "ResourceInUseFault"
    api.delete_auto_scaling_group({"AutoScalingGroupName": "g", "ForceDelete": True})
    assert [a.kind for a in api.reconcile(10 * S)] == ["terminate"]
    assert api.describe_auto_scaling_groups({})["AutoScalingGroups"] == []


@pytest.mark.parametrize("call, request_, code, words", [
    ("create_auto_scaling_group", group_request(), "AlreadyExistsFault", "already exists"),
    ("create_auto_scaling_group", group_request("h", low=3, high=2), "ValidationError", "MaxSize"),
    ("create_auto_scaling_group", group_request("h", desired=11), "ValidationError", "Desired capacity"),
    ("create_auto_scaling_group", group_request("h", types=("nope.x",)), "ValidationError",
     "Overrides[0].InstanceType"),
    ("create_auto_scaling_group", group_request("h", types=()), "ValidationError", "Overrides"),
    ("create_auto_scaling_group", group_request("h", zones=()), "ValidationError", "AvailabilityZones"),
    ("create_auto_scaling_group", group_request("h", zones=("a", "a")), "ValidationError",
     "AvailabilityZones"),
    ("create_auto_scaling_group", {**group_request("h"), "MinSize": "1"}, "ValidationError", "MinSize"),
    ("create_auto_scaling_group", {**group_request("h"), "Bogus": 1}, "ValidationError", "Bogus"),
    ("update_auto_scaling_group", {"AutoScalingGroupName": "nope"}, "ValidationError", "nope"),
    ("update_auto_scaling_group", {"AutoScalingGroupName": "g", "MaxSize": 0, "MinSize": 0,
                                   "DesiredCapacity": 1}, "ValidationError", "Desired capacity"),
    ("set_desired_capacity", {"AutoScalingGroupName": "g", "DesiredCapacity": 11}, "ValidationError",
     "above max"),
    ("set_desired_capacity", {"AutoScalingGroupName": "g", "DesiredCapacity": -1}, "ValidationError",
     "DesiredCapacity"),
    ("set_instance_protection", {"AutoScalingGroupName": "g", "InstanceIds": ["i-0123"],
                                 "ProtectedFromScaleIn": True}, "ValidationError", "InstanceIds[0]"),
    ("delete_auto_scaling_group", {"AutoScalingGroupName": "nope"}, "ValidationError", "nope"),
])
def test_bad_requests_refused_and_nothing_changes(api, call, request_, code, words):
    api.create_auto_scaling_group(group_request(desired=1))
    api.reconcile(0)
    before = copy.deepcopy(api.describe_auto_scaling_groups({}))
    with pytest.raises(ServiceError) as info:
        getattr(api, call)(request_)
    assert info.value.code == code
    assert words in info.value.message
    assert api.describe_auto_scaling_groups({}) == before


def test_describe_pages_with_the_autoscaling_token_error(api):
    for name in "abc":
        api.create_auto_scaling_group(group_request(name))
    first = api.describe_auto_scaling_groups({"MaxRecords": 2})
    rest = api.describe_auto_scaling_groups({"MaxRecords": 2, "NextToken": first["NextToken"]})
    assert [g["AutoScalingGroupName"] for g in first["AutoScalingGroups"] + rest["AutoScalingGroups"]] \
        == ["a", "b", "c"]
    with pytest.raises(ServiceError) as info:
        api.describe_auto_scaling_groups({"NextToken": "x"})
    assert info.value.code == "InvalidNextToken"


def test_instances_terminated_while_booting_never_register(api):
    api.create_auto_scaling_group(group_request(desired=3))
    ids = [a.instance_id for a in api.reconcile(0)]
    api.set_desired_capacity({"AutoScalingGroupName": "g", "DesiredCapacity": 1})
    gone = [a.instance_id for a in api.reconcile(30 * S)]
    assert len(gone) == 2 and set(gone) < set(ids)
    group = api.groups["g"]
    assert group.in_service() == 0 and sum(group.zone_counts.values()) == 1
    registered = api.reconcile(90 * S)
    assert [(a.kind, a.instance_id) for a in registered] == [("register", (set(ids) - set(gone)).pop())]
    assert group.in_service() == 1
    api.set_desired_capacity({"AutoScalingGroupName": "g", "DesiredCapacity": 3})
    assert [i.zone for i in group.instances.values()] == ["us-east-1c"]   # the oldest two went
    assert [a.zone for a in api.reconcile(100 * S)] == ["us-east-1a", "us-east-1b"]  # fewest first


def plain_victims(instances, count):
    """One at a time over all instances: the spec's rule written out."""
    alive = list(instances)
    chosen = []
    for _ in range(count):
        zones = {}
        for inst in alive:
            zones[inst[1]] = zones.get(inst[1], 0) + 1
        candidates = [inst for inst in alive if not inst[2]]
        if not candidates:
            break
        victim = min(candidates, key=lambda inst: (-zones[inst[1]], inst[0]))
        alive.remove(victim)
        chosen.append(victim[0])
    return chosen


@settings(max_examples=100)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.booleans()), min_size=1, max_size=30),
       st.integers(0, 30))
def test_scale_in_choice_matches_one_at_a_time_rule(layout, keep):
    from quaymaster.scaling.asg import AsgInstance, AutoScalingGroup
    from quaymaster.fleet.catalog import load_catalog
    itype = load_catalog()["m5.large"]
    group = AutoScalingGroup("g", "arn", 0, 100, len(layout), (itype,), ("a", "b", "c"), 0, {})
    for seq, (zone, protected) in enumerate(layout, 1):
        group.instances[f"i-{seq}"] = AsgInstance(f"i-{seq}", itype, zone, 0, 0, False, "InService", seq)
        group.zone_counts[zone] = group.zone_counts.get(zone, 0) + 1
        group.type_counts[itype.name] = group.type_counts.get(itype.name, 0) + 1
        if protected:
            group.set_protection([f"i-{seq}"], True)
    group.desired = min(keep, len(layout))
    gone = [a.instance_id for a in group.reconcile(0) if a.kind == "terminate"]
    expected = plain_victims([(seq, zone, p) for seq, (zone, p) in enumerate(layout, 1)],
                             len(layout) - group.desired)
    assert gone == [f"i-{seq}" for seq in expected]
