"""The cost meter's counts kept without walking every instance each minute agree with the plain
ones: an Auto Scaling group's instances per type (kept as instances come and go) equal a count of
its instances, and a cluster's non-group instances per type read from the instance state equal
the count over the instance table."""

import json
from collections import Counter

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings, strategies as st

from quaymaster.region import Region
from quaymaster.scaling.autoscaling_api import AutoScaling
from quaymaster.simulation.cost import _fleet_counts
from servicekit import call

TYPE_COLUMN = "attribute:ecs.instance-type"


def plain_fleet_counts(table: pa.Table, group_ids: set) -> Counter:
    """The count over the instance table, as the meter first did it."""
    alive = pc.not_equal(table.column("status"), "INACTIVE")
    if group_ids:
        alive = pc.and_(alive, pc.invert(pc.is_in(table.column("ec2_instance_id"),
                                                  value_set=pa.array(sorted(group_ids), pa.string()))))
    types = table.column(TYPE_COLUMN).filter(alive).to_pylist() if TYPE_COLUMN in table.schema.names else []
    return Counter(t or "unknown" for t in types)


INSTANCE = st.tuples(st.sampled_from([None, "m5.large", "c5.xlarge"]), st.booleans())


@settings(max_examples=40, deadline=None)
@given(st.lists(INSTANCE, max_size=8), st.lists(st.integers(0, 7), max_size=4), st.sets(st.integers(0, 9)))
def test_non_group_instances_per_type_from_the_state_equal_the_table_count(instances, gone, grouped):
    region = Region(seed=2)
    call(region, "CreateCluster", {"clusterName": "prod"})
    arns = []
    for k, (kind, in_document) in enumerate(instances):   # the type as the document's, or an attribute
        document = {"instanceId": f"i-{k:017x}", "availabilityZone": "us-east-1a"}
        request = {"cluster": "prod", "totalResources": [{"name": "CPU", "type": "INTEGER", "integerValue": 1024},
                                                          {"name": "MEMORY", "type": "INTEGER", "integerValue": 2048}]}
        if kind is not None and in_document:
            document["instanceType"] = kind
        elif kind is not None:
            request["attributes"] = [{"name": "ecs.instance-type", "value": kind}]
        request["instanceIdentityDocument"] = json.dumps(document)
        arns.append(call(region, "RegisterContainerInstance", request)["containerInstance"]["containerInstanceArn"])
    for k in gone:
        if k < len(arns):
            region.handle("ecs", "DeregisterContainerInstance", {"cluster": "prod", "containerInstance": arns[k],
                                                                 "force": True})
    group_ids = {f"i-{k:017x}" for k in grouped}
    cluster = region.clusters["prod"].cluster
    assert _fleet_counts(cluster.state, group_ids) == plain_fleet_counts(cluster.instances, group_ids)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 200), st.booleans()), min_size=1, max_size=12))
def test_a_groups_instances_per_type_are_kept_as_they_come_and_go(steps):
    api = AutoScaling(seed=3, boot_seconds=90)
    api.create_auto_scaling_group({
        "AutoScalingGroupName": "g", "MinSize": 0, "MaxSize": 12, "AvailabilityZones": ["us-east-1a", "us-east-1b"],
        "MixedInstancesPolicy": {"LaunchTemplate": {"LaunchTemplateSpecification": {"LaunchTemplateName": "node"},
                                                    "Overrides": [{"InstanceType": "m5.large"},
                                                                  {"InstanceType": "c5.xlarge"},
                                                                  {"InstanceType": "m5.large"}]}}})
    group = api.find_group("g")
    now = 0
    for desired, seconds, protect in steps:
        api.set_desired(group, desired)
        if protect and group.instances:
            group.set_protection([next(iter(group.instances))], True)
        now += seconds * 1000
        api.reconcile(now)
        kept = {name: count for name, count in group.type_counts.items() if count}
        assert kept == Counter(i.instance_type.name for i in group.instances.values())
    group.terminate_all(now)
    assert not any(group.type_counts.values())
