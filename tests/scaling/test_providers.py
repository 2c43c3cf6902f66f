"""Capacity providers over real Auto Scaling groups, minute by minute."""

import numpy as np

from quaymaster.scaling.autoscaling_api import AutoScaling
from quaymaster.scaling.managed import ManagedScaling
from quaymaster.scaling.providers import CapacityProviderScaling, ProviderView

MIN = 60_000


def make(protection=False, desired=0):
    api = AutoScaling(seed=1, boot_seconds=90)
    api.create_auto_scaling_group({
        "AutoScalingGroupName": "nodes", "MinSize": 0, "MaxSize": 20, "DesiredCapacity": desired,
        "AvailabilityZones": ["a", "b", "c"],
        "MixedInstancesPolicy": {"LaunchTemplate": {"LaunchTemplateSpecification": {
            "LaunchTemplateName": "ecs"}, "Overrides": [{"InstanceType": "m5.xlarge"}]}}})
    settings = ManagedScaling(instance_warmup_period=120, managed_termination_protection=protection)
    return api, CapacityProviderScaling(api), settings


def view(settings, busy=(), waiting=0):
    return ProviderView("cp", "arn:aws:autoscaling:us-east-1:1:autoScalingGroup:x:autoScalingGroupName/nodes",
                        settings, frozenset(busy), np.array([[1024, 2048, 0, 0]] * waiting).reshape(-1, 4))


def test_scale_out_from_zero_waits_for_warm_up_then_scales_in():
    api, providers, settings = make()
    out = providers.run(0, [view(settings, waiting=10)])[0]
    assert (out.reservation, out.n, out.to_desired) == (200.0, 0, 2)
    launched = [a for a in api.reconcile(0) if a.kind == "launch"]
    assert len(launched) == 2
    # one minute later N = 2 booting, the tasks still wait: M = ceil pack(10 x 1024) = 3 vs N + 1
    held = providers.run(MIN, [view(settings, waiting=10)])[0]
    assert (held.n, held.m, held.cause) == (2, 3, None)      # still warming: no scale-out
    api.reconcile(MIN)
    warm = providers.run(2 * MIN, [view(settings, waiting=10)])[0]
    assert (warm.reservation, warm.to_desired) == (150.0, 3)
    api.reconcile(2 * MIN)
    ids = list(api.groups["nodes"].instances)
    # the tasks are placed on two instances; the third stays idle for 15 minutes and goes
    for minute in range(3, 17):  # below target in minutes 3..16: 14 minutes
        outcome = providers.run(minute * MIN, [view(settings, busy=ids[:2])])[0]
    assert outcome.to_desired == 3 and outcome.cause is None
    outcome = providers.run(17 * MIN, [view(settings, busy=ids[:2])])[0]  # the 15th
    assert outcome.to_desired == 2 and "below target" in outcome.cause


def test_managed_termination_protection_protects_busy_instances():
    api, providers, settings = make(protection=True, desired=3)
    api.reconcile(0)
    ids = list(api.groups["nodes"].instances)
    providers.run(0, [view(settings, busy=[ids[0]])])
    assert [i.protected for i in api.groups["nodes"].instances.values()] == [True, False, False]
    api.set_desired_capacity({"AutoScalingGroupName": "nodes", "DesiredCapacity": 0})
    gone = {a.instance_id for a in api.reconcile(5 * MIN) if a.kind == "terminate"}
    assert gone == set(ids[1:])
    providers.run(6 * MIN, [view(settings, busy=[])])
    assert not api.groups["nodes"].instances[ids[0]].protected


def test_a_provider_whose_group_is_gone_is_skipped():
    api, providers, settings = make(desired=1)
    api.reconcile(0)
    api.delete_auto_scaling_group({"AutoScalingGroupName": "nodes", "ForceDelete": True})
    assert providers.run(MIN, [view(settings, waiting=3)]) == []
    assert api.find_group("nodes") is None and api.find_group(None) is None


def test_a_provider_without_managed_scaling_is_left_alone():
    api, providers, settings = make()
    assert providers.run(0, [view(ManagedScaling(enabled=False), waiting=5)]) == []
    assert api.groups["nodes"].desired == 0
