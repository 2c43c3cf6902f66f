"""FARGATE and FARGATE_SPOT through the region: RunTask and services by launch type or capacity
provider strategy, zones from subnets, the lifecycle, Spot interruptions, and bad input refused
naming the field with nothing changed."""

from collections import Counter

import pytest
from hypothesis import given, settings, strategies as st

from quaymaster.errors import ServiceError
from quaymaster.region import Region
from quaymaster.region.fargate_host import SPOT_REASON
from quaymaster.scaling.strategy import parse_strategy, split_tasks
from servicekit import call, check_output

FARGATE_DEF = {"family": "fg", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
               "cpu": "512", "memory": "1024", "containerDefinitions": [{"name": "app", "image": "nginx"}]}
SUBNETS = ["subnet-a", "subnet-b", "subnet-c"]
ZONES = {"subnet-a": "us-east-1a", "subnet-b": "us-east-1b", "subnet-c": "us-east-1c"}
NETWORK = {"awsvpcConfiguration": {"subnets": SUBNETS}}
SPLIT = [{"capacityProvider": "FARGATE", "base": 1, "weight": 1}, {"capacityProvider": "FARGATE_SPOT", "weight": 4}]


def fargate_region(seed=1, providers=("FARGATE", "FARGATE_SPOT"), default=None, spot_rate=0.0):
    region = Region(seed=seed)
    region.fargate.set_subnet_zones(ZONES)
    region.fargate.set_spot_interruptions(spot_rate)
    call(region, "CreateCluster", {"clusterName": "prod"})
    call(region, "RegisterTaskDefinition", FARGATE_DEF)
    if providers:
        call(region, "PutClusterCapacityProviders", {"cluster": "prod", "capacityProviders": list(providers),
                                                     "defaultCapacityProviderStrategy": default or []})
    return region


def run(region, **request):
    return call(region, "RunTask", {"cluster": "prod", "taskDefinition": "fg", "networkConfiguration": NETWORK,
                                    **request})


def describe(region, arns):
    return call(region, "DescribeTasks", {"cluster": "prod", "tasks": list(arns)})["tasks"]


def refused(region, operation, request):
    before = (region.task_count, dict(region.clusters["prod"].tasks), len(region.clusters["prod"].services))
    with pytest.raises(ServiceError) as info:
        region.handle("ecs", operation, request)
    assert before == (region.task_count, dict(region.clusters["prod"].tasks), len(region.clusters["prod"].services))
    return info.value.code, info.value.message


def test_fargate_run_task_gets_its_own_capacity_a_zone_and_an_eni():
    region = fargate_region()
    out = run(region, launchType="FARGATE", count=6)
    tasks = out["tasks"]
    assert out["failures"] == [] and len(tasks) == 6
    assert Counter(t["availabilityZone"] for t in tasks) == {"us-east-1a": 2, "us-east-1b": 2, "us-east-1c": 2}
    for task in tasks:
        assert task["launchType"] == "FARGATE" and "containerInstanceArn" not in task
        assert "capacityProviderName" not in task            # a launch type is invisible to providers
        assert (task["cpu"], task["memory"], task["lastStatus"]) == ("512", "1024", "PROVISIONING")
        eni = task["attachments"][0]
        assert eni["type"] == "ElasticNetworkInterface"
        subnet = {d["name"]: d["value"] for d in eni["details"]}["subnetId"]
        assert ZONES[subnet] == task["availabilityZone"]
        assert {"name": "ecs.availability-zone", "value": task["availabilityZone"]} in task["attributes"]
    assert len({t["taskArn"] for t in tasks}) == 6
    assert region.clusters["prod"].cluster.tasks.live_count() == 0   # nothing on the cluster's instances


def test_fargate_tasks_go_through_the_lifecycle_and_stop():
    region = fargate_region()
    arns = [t["taskArn"] for t in run(region, launchType="FARGATE", count=2)["tasks"]]
    region.advance(120)
    assert [t["lastStatus"] for t in describe(region, arns)] == ["RUNNING", "RUNNING"]
    call(region, "StopTask", {"cluster": "prod", "task": arns[0]})
    region.advance(120)
    stopped, running = describe(region, arns)
    assert (stopped["lastStatus"], stopped["stopCode"]) == ("STOPPED", "UserInitiated")
    assert running["lastStatus"] == "RUNNING"
    listed = call(region, "ListTasks", {"cluster": "prod", "desiredStatus": "STOPPED"})["taskArns"]
    assert listed == [arns[0]]
    assert call(region, "ListTasks", {"cluster": "prod", "launchType": "FARGATE"})["taskArns"] == arns[1:]
    assert call(region, "ListTasks", {"cluster": "prod", "launchType": "EC2"})["taskArns"] == []


def test_zones_follow_the_subnets_given_and_the_default_mapping_is_stable():
    region = fargate_region()
    tasks = run(region, launchType="FARGATE", count=4,
                networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-b"]}})["tasks"]
    assert {t["availabilityZone"] for t in tasks} == {"us-east-1b"}
    other = Region(seed=99)
    zone = other.fargate.zone_of("subnet-0123456789abcdef0")
    assert zone == Region(seed=5).fargate.zone_of("subnet-0123456789abcdef0")
    assert zone in ("us-east-1a", "us-east-1b", "us-east-1c")


def test_strategy_splits_by_base_and_weight_and_names_the_provider():
    region = fargate_region()
    tasks = run(region, capacityProviderStrategy=SPLIT, count=6)["tasks"]
    assert Counter(t["capacityProviderName"] for t in tasks) == {"FARGATE": 2, "FARGATE_SPOT": 4}
    assert all(t["launchType"] == "FARGATE" and "containerInstanceArn" not in t for t in tasks)


def test_the_clusters_default_strategy_is_used_when_neither_is_given():
    region = fargate_region(default=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}])
    tasks = run(region, count=3)["tasks"]
    assert [t["capacityProviderName"] for t in tasks] == ["FARGATE_SPOT"] * 3
    plain = fargate_region(providers=())   # no default strategy: EC2, which needs instances
    code, message = refused(plain, "RunTask", {"cluster": "prod", "taskDefinition": "fg"})
    assert code == "InvalidParameterException" and "Container Instances" in message


@pytest.mark.parametrize("request_changes, code, words", [
    ({"launchType": "FARGATE", "capacityProviderStrategy": SPLIT}, "InvalidParameterException",
     "Specifying both a launch type and capacity provider strategy"),
    ({"capacityProviderStrategy": [{"capacityProvider": "other", "weight": 1}]}, "InvalidParameterException",
     "other is not associated with the cluster prod"),
    ({"capacityProviderStrategy": [{"capacityProvider": "FARGATE", "base": 1, "weight": 1},
                                   {"capacityProvider": "FARGATE_SPOT", "base": 2, "weight": 1}]},
     "InvalidParameterException", "capacityProviderStrategy[1].base"),
    ({"capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 0}]}, "InvalidParameterException",
     "weight greater than 0"),
    ({"launchType": "FARGATE", "networkConfiguration": None}, "InvalidParameterException",
     "Network Configuration must be provided"),
    ({"launchType": "FARGATE", "networkConfiguration": {"awsvpcConfiguration": {"subnets": []}}},
     "InvalidParameterException", "subnets"),
    ({"launchType": "FARGATE", "placementStrategy": [{"type": "random"}]}, "InvalidParameterException",
     "placementStrategy"),
    ({"capacityProviderStrategy": SPLIT, "placementConstraints": [{"type": "distinctInstance"}]},
     "InvalidParameterException", "placementConstraints"),
    ({"launchType": "FARGATE", "taskDefinition": "offsize"}, "ClientException", "Invalid 'cpu' setting"),
    ({"launchType": "FARGATE", "taskDefinition": "bridge"}, "ClientException", "networkMode"),
])
def test_bad_fargate_launches_are_refused_and_change_nothing(request_changes, code, words):
    region = fargate_region()
    call(region, "RegisterTaskDefinition", {**FARGATE_DEF, "family": "offsize", "requiresCompatibilities": ["EC2"],
                                            "cpu": "256", "memory": "4096"})
    call(region, "RegisterTaskDefinition", {"family": "bridge", "cpu": "256", "memory": "512",
                                            "containerDefinitions": FARGATE_DEF["containerDefinitions"]})
    request = {"cluster": "prod", "taskDefinition": "fg", "networkConfiguration": NETWORK, **request_changes}
    request = {k: v for k, v in request.items() if v is not None}
    for operation, body in (("RunTask", request), ("CreateService", {
            **{k: v for k, v in request.items() if k not in ("count",)}, "serviceName": "s", "desiredCount": 1})):
        got_code, message = refused(region, operation, body)
        assert got_code == code and words in message, (operation, message)


def test_start_task_refuses_a_fargate_only_definition():
    region = fargate_region()
    code, message = refused(region, "StartTask", {"cluster": "prod", "taskDefinition": "fg",
                                                  "containerInstances": ["i-1"]})
    assert code == "InvalidParameterException" and "requiresCompatibilities" in message


def test_fargate_is_always_there_for_a_cluster_to_list():
    region = Region(seed=1)
    described = call(region, "DescribeCapacityProviders", {"capacityProviders": ["FARGATE_SPOT", "nope"]})
    assert [p["name"] for p in described["capacityProviders"]] == ["FARGATE_SPOT"]
    assert [f["reason"] for f in described["failures"]] == ["MISSING"]
    listed = call(region, "DescribeCapacityProviders", {})["capacityProviders"]
    assert [p["name"] for p in listed] == ["FARGATE", "FARGATE_SPOT"]


# ---------------------------------------------------------------- services and Spot interruptions

def spot_service(region, desired=10, strategy=SPLIT):
    return call(region, "CreateService", {"cluster": "prod", "serviceName": "web", "taskDefinition": "fg",
                                          "desiredCount": desired, "networkConfiguration": NETWORK,
                                          "capacityProviderStrategy": strategy})["service"]


def live_tasks(region):
    service = region.clusters["prod"].services["web"]
    return [t for t in service.all_tasks() if t.live]


def test_a_fargate_launch_type_service_spreads_over_the_zones_and_scales_in_evenly():
    region = fargate_region()
    described = call(region, "CreateService", {"cluster": "prod", "serviceName": "web", "taskDefinition": "fg",
                                               "desiredCount": 9, "launchType": "FARGATE",
                                               "networkConfiguration": NETWORK})["service"]
    assert described["launchType"] == "FARGATE" and described["networkConfiguration"] == NETWORK
    region.advance(300)
    tasks = live_tasks(region)
    assert len(tasks) == 9 and all(t.last_status == "RUNNING" for t in tasks)
    assert Counter(t.availability_zone for t in tasks) == {"us-east-1a": 3, "us-east-1b": 3, "us-east-1c": 3}
    call(region, "UpdateService", {"cluster": "prod", "service": "web", "desiredCount": 3})
    region.advance(300)
    assert Counter(t.availability_zone for t in live_tasks(region)) == {z: 1 for z in ZONES.values()}


def test_spot_interruptions_warn_then_stop_and_the_service_replaces_them():
    region = fargate_region(spot_rate=2.0)
    events = []
    region.event_sink = lambda t, cluster, service, message: events.append((t, message))
    spot_service(region)
    region.advance(2 * 3600)
    assert region.fargate.warnings, "at 2 interruptions per task-hour some Spot task is warned in 2 h"
    stopped = [t for t in region.clusters["prod"].tasks.values() if t.stop_code == "SpotInterruption"]
    warned = dict((arn, at) for at, arn in region.fargate.warnings)
    assert stopped and all(t.capacity_provider == "FARGATE_SPOT" for t in stopped)
    for task in stopped:
        assert task.stopped_reason == SPOT_REASON
        assert task.stopping_at == warned[task.arn] + 120_000          # two minutes after the warning
    assert any("Spot interruption warning" in message for _, message in events)
    assert not any(t.stop_code == "SpotInterruption" for t in region.clusters["prod"].tasks.values()
                   if t.capacity_provider == "FARGATE")
    region.advance(240)   # the last warning's stop and its replacement
    live = live_tasks(region)
    assert len(live) == 10
    check_output("DescribeTasks", {"tasks": [t.to_ecs() for t in stopped[:3]], "failures": []})


def test_spot_interruptions_are_deterministic_with_the_seed():
    def warnings(seed, rate=2.0):
        region = fargate_region(seed=seed, spot_rate=rate)
        spot_service(region)
        region.advance(3600)
        return [(at, arn.rsplit("/", 1)[-1]) for at, arn in region.fargate.warnings]
    first = warnings(4)
    assert first and first == warnings(4)
    assert first != warnings(5)
    assert warnings(4, rate=0.0) == []


def test_a_strategy_service_keeps_its_split_when_tasks_are_replaced():
    region = fargate_region(spot_rate=1.0)
    spot_service(region)
    region.advance(3 * 3600)
    held = Counter(t.capacity_provider for t in live_tasks(region))
    assert sum(held.values()) == 10 and held["FARGATE"] >= 1   # the base stays on FARGATE
    assert held["FARGATE_SPOT"] >= 7


def test_update_service_moves_a_service_onto_a_fargate_strategy_and_checks_it_first():
    region = fargate_region()
    call(region, "CreateService", {"cluster": "prod", "serviceName": "web", "taskDefinition": "fg",
                                   "desiredCount": 4, "launchType": "FARGATE", "networkConfiguration": NETWORK})
    region.advance(300)
    service = region.clusters["prod"].services["web"]
    deployments = len(service.deployments)
    code, message = refused(region, "UpdateService", {
        "cluster": "prod", "service": "web", "capacityProviderStrategy": [{"capacityProvider": "nope", "weight": 1}]})
    assert code == "InvalidParameterException" and "nope is not associated" in message
    assert len(service.deployments) == deployments and service.capacity_provider_strategy == []
    assert call(region, "ListServices", {"cluster": "prod", "launchType": "FARGATE"})["serviceArns"] == [service.arn]
    described = call(region, "UpdateService", {"cluster": "prod", "service": "web",
                                               "capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT",
                                                                             "weight": 1}]})["service"]
    assert described["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
    region.advance(600)
    assert [t.capacity_provider for t in live_tasks(region)] == ["FARGATE_SPOT"] * 4
    for launch_type in ("FARGATE", "EC2"):   # a strategy service has no launch type to filter on
        assert call(region, "ListServices", {"cluster": "prod", "launchType": launch_type})["serviceArns"] == []
    assert call(region, "ListServices", {"cluster": "prod"})["serviceArns"] == [service.arn]


@settings(max_examples=15, deadline=None)
@given(base=st.integers(0, 4), weights=st.tuples(st.integers(0, 5), st.integers(0, 5)).filter(any),
       steps=st.lists(st.integers(-8, 12), min_size=1, max_size=4), base_on_spot=st.booleans())
def test_a_service_scaled_in_steps_keeps_the_split_it_would_have_from_zero(base, weights, steps, base_on_spot):
    strategy = [{"capacityProvider": "FARGATE", "weight": weights[0]},
                {"capacityProvider": "FARGATE_SPOT", "weight": weights[1]}]
    strategy[int(base_on_spot)]["base"] = base
    region = fargate_region(seed=base)
    desired = 0
    spot_service(region, desired=0, strategy=strategy)
    for step in steps:   # out and in; in waits for every task to be healthy (victims are healthy ones)
        desired = max(0, desired + step)
        call(region, "UpdateService", {"cluster": "prod", "service": "web", "desiredCount": desired})
        region.advance(180)
    expected = split_tasks(desired, parse_strategy(strategy))
    held = Counter(t.capacity_provider for t in live_tasks(region))
    assert {name: held.get(name, 0) for name in expected} == expected


def test_fargate_service_tasks_register_with_a_target_group_by_their_eni_address():
    region = fargate_region()
    group_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef"
    call(region, "RegisterTaskDefinition", {**FARGATE_DEF, "family": "lb", "containerDefinitions": [
        {"name": "app", "image": "nginx", "portMappings": [{"containerPort": 80}]}]})
    call(region, "CreateService", {"cluster": "prod", "serviceName": "web", "taskDefinition": "lb",
                                   "desiredCount": 2, "launchType": "FARGATE", "networkConfiguration": NETWORK,
                                   "loadBalancers": [{"targetGroupArn": group_arn, "containerName": "app",
                                                      "containerPort": 80}]})
    region.advance(180)
    targets = region.load_balancing.groups[group_arn].targets
    tasks = live_tasks(region)
    assert len(tasks) == 2 and region.load_balancing.healthy_targets(group_arn) == 2
    for task in tasks:
        address = {d["name"]: d["value"] for d in task.attachments[0]["details"]}["privateIPv4Address"]
        assert targets[task.arn].id.startswith(address)


def test_create_cluster_takes_capacity_providers_and_a_default_strategy():
    region = Region(seed=1)
    described = call(region, "CreateCluster", {"clusterName": "prod", "capacityProviders": ["FARGATE", "FARGATE_SPOT"],
                                               "defaultCapacityProviderStrategy": SPLIT})["cluster"]
    assert described["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    assert described["defaultCapacityProviderStrategy"] == SPLIT
    call(region, "RegisterTaskDefinition", FARGATE_DEF)
    tasks = run(region, count=5)["tasks"]
    assert Counter(t["capacityProviderName"] for t in tasks) == {"FARGATE": 2, "FARGATE_SPOT": 3}
    with pytest.raises(ServiceError) as info:
        region.handle("ecs", "CreateCluster", {"clusterName": "other", "capacityProviders": ["FARGATE"],
                                               "defaultCapacityProviderStrategy": SPLIT})
    assert "FARGATE_SPOT is not one of the cluster's capacityProviders" in info.value.message
    assert "other" not in region.clusters


@pytest.mark.parametrize("rate", [-0.1, float("nan"), float("inf"), True, "2"])
def test_bad_spot_rates_and_subnet_maps_are_refused_and_change_nothing(rate):
    region = fargate_region(spot_rate=0.25)
    with pytest.raises(ServiceError, match="spotInterruptionsPerHour"):
        region.fargate.set_spot_interruptions(rate)
    assert region.fargate.spot_interruptions_per_hour == 0.25
    for mapping in ({"subnet-x": ""}, {"": "us-east-1a"}, ["subnet-x"], {"subnet-x": 3}):
        with pytest.raises(ServiceError, match="subnets"):
            region.fargate.set_subnet_zones(mapping)
    assert region.fargate.subnet_zones == ZONES
