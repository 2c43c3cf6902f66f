"""Region.export_state / import_state: after a random call history, a region loaded from its
snapshot (written to disk and read back as ``quaymaster serve --state`` does) answers every
Describe/List as the original, and the next calls (placements, seeded draws, clock advances,
auto scaling launches) behave identically."""

import json
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import snapshot_steps as more
from quaymaster.endpoint.journal import Journal
from quaymaster.errors import InvalidInputError, ServiceError
from quaymaster.region import Region

ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]
STRATEGIES = [[{"type": "random"}], [{"type": "binpack", "field": "memory"}],
              [{"type": "spread", "field": "attribute:ecs.availability-zone"}, {"type": "random"}],
              [{"type": "spread", "field": "instanceId"}]]
GROUP = {"AutoScalingGroupName": "asg", "MinSize": 0, "MaxSize": 6, "DesiredCapacity": 0,
         "AvailabilityZones": ["us-east-1a", "us-east-1b"],
         "MixedInstancesPolicy": {"LaunchTemplate": {
             "LaunchTemplateSpecification": {"LaunchTemplateName": "ecs"},
             "Overrides": [{"InstanceType": "c5.large"}]}}}


def answer(region, service, operation, request):
    try:
        return region.handle(service, operation, request)
    except ServiceError as error:
        return ("error", error.code, str(error))


def cluster_names(region):
    return [r.name for r in region.clusters.values() if r.status == "ACTIVE"]


def pick(items, k):
    return items[k % len(items)] if items else None


def instances(region, cluster):
    return answer(region, "ecs", "ListContainerInstances", {"cluster": cluster})["containerInstanceArns"]


def live_tasks(region, cluster):
    return answer(region, "ecs", "ListTasks", {"cluster": cluster, "desiredStatus": "RUNNING"})["taskArns"]


def scaling_setup(region, cluster):
    """An ASG behind a managed capacity provider, a service on it with target tracking."""
    out = [answer(region, "autoscaling", "CreateAutoScalingGroup", GROUP),
           answer(region, "ecs", "CreateCapacityProvider", {"name": "cp", "autoScalingGroupProvider": {
               "autoScalingGroupArn": "asg", "managedScaling": {"status": "ENABLED", "targetCapacity": 100},
               "managedTerminationProtection": "DISABLED"}}),
           answer(region, "ecs", "PutClusterCapacityProviders", {
               "cluster": cluster, "capacityProviders": ["cp"],
               "defaultCapacityProviderStrategy": [{"capacityProvider": "cp", "weight": 1}]}),
           answer(region, "ecs", "CreateService", {
               "cluster": cluster, "serviceName": "scaled", "taskDefinition": "f0", "desiredCount": 3,
               "capacityProviderStrategy": [{"capacityProvider": "cp", "weight": 1}]})]
    target = {"ServiceNamespace": "ecs", "ResourceId": f"service/{cluster}/scaled",
              "ScalableDimension": "ecs:service:DesiredCount"}
    out.append(answer(region, "application-autoscaling", "RegisterScalableTarget",
                      {**target, "MinCapacity": 1, "MaxCapacity": 8}))
    out.append(answer(region, "application-autoscaling", "PutScalingPolicy", {
        **target, "PolicyName": "cpu", "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 40.0, "PredefinedMetricSpecification": {
            "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}}))
    return out


def step(region, label, kind, a, b):
    """One call chosen from the region's state (the same on equal regions); returns its answer."""
    clusters = cluster_names(region)
    cluster = pick(clusters, a) or "c0"
    if kind == 0 or not clusters:
        return answer(region, "ecs", "CreateCluster", {"clusterName": f"c{a % 3}"})
    if kind == 1:
        document = {"instanceId": f"i-{label}", "availabilityZone": ZONES[b % 3], "instanceType": "m5.large"}
        return answer(region, "ecs", "RegisterContainerInstance", {
            "cluster": cluster, "instanceIdentityDocument": json.dumps(document),
            "totalResources": [{"name": "CPU", "type": "INTEGER", "integerValue": 1024 * (1 + b % 2)},
                               {"name": "MEMORY", "type": "INTEGER", "integerValue": 2048 * (1 + a % 2)}]})
    if kind == 2:
        return answer(region, "ecs", "RegisterTaskDefinition", {"family": f"f{a % 2}", "containerDefinitions": [
            {"name": "app", "image": "nginx", "cpu": 128 * (1 + b % 4), "memory": 256 * (1 + a % 3)}]})
    if kind == 3:
        return answer(region, "ecs", "RunTask", {"cluster": cluster, "taskDefinition": f"f{b % 2}",
                                                 "count": 1 + b % 3, "placementStrategy": pick(STRATEGIES, a)})
    if kind == 4:
        task = pick(live_tasks(region, cluster), b)
        return task and answer(region, "ecs", "StopTask", {"cluster": cluster, "task": task, "reason": "test"})
    if kind == 5:
        return answer(region, "ecs", "CreateService", {"cluster": cluster, "serviceName": f"s{b % 3}",
                                                       "taskDefinition": f"f{a % 2}", "desiredCount": a % 4})
    if kind in (6, 7):
        service = pick(answer(region, "ecs", "ListServices", {"cluster": cluster})["serviceArns"], b) or "s0"
        if kind == 6:
            return answer(region, "ecs", "UpdateService", {"cluster": cluster, "service": service,
                                                           "desiredCount": a % 5})
        return answer(region, "ecs", "DeleteService", {"cluster": cluster, "service": service, "force": True})
    if kind == 8:
        region.advance(a % 400)
        return region.clock.now
    if kind in (9, 10):
        arn = pick(instances(region, cluster), b)
        if arn is None:
            return None
        if kind == 9:
            return answer(region, "ecs", "UpdateContainerInstancesState",
                          {"cluster": cluster, "containerInstances": [arn], "status": "DRAINING"})
        return answer(region, "ecs", "DeregisterContainerInstance",
                      {"cluster": cluster, "containerInstance": arn, "force": True})
    if kind == 11:
        return answer(region, "ecs", "TagResource", {"resourceArn": region.cluster_arn(cluster),
                                                     "tags": [{"key": f"k{a % 3}", "value": str(b)}]})
    if kind == 12:
        arn = pick(instances(region, cluster), b)
        return arn and answer(region, "ecs", "PutAttributes", {"cluster": cluster, "attributes": [
            {"name": "tier", "value": f"t{a % 2}", "targetType": "container-instance", "targetId": arn}]})
    if kind == 13:
        return scaling_setup(region, cluster)
    if kind == 14:
        return answer(region, "ecs", "DeleteCluster", {"cluster": cluster})
    return more_steps(region, cluster, kind, a, b)


def more_steps(region, cluster, kind, a, b):
    if kind == 15:
        return more.fargate(answer, region, cluster, a, b)
    if kind == 16:
        return more.task_sets(answer, region, cluster, a, b)
    if kind == 17:
        return more.load_balanced(answer, region, cluster, a, b)
    if kind == 18:
        service = pick(answer(region, "ecs", "ListServices", {"cluster": cluster})["serviceArns"], b) or "s0"
        return more.redeploy(answer, region, cluster, a, b, service)
    if kind == 19:
        return more.waiting_run_task(answer, region, cluster, a, b)
    if kind == 20:
        return more.step_scaling(answer, region, cluster, a, b)
    return more.ecr(answer, region, a, b)


ECS_NAMESPACE = {"ServiceNamespace": "ecs"}


def views(region):
    """Every Describe/List a client could ask, and the clock."""
    names = list(region.clusters)
    out = {"now": region.clock.now, "clusters": answer(region, "ecs", "ListClusters", {}),
           "described": names and answer(region, "ecs", "DescribeClusters", {"clusters": names, "include": ["TAGS"]}),
           "families": answer(region, "ecs", "ListTaskDefinitions", {}),
           "targets": answer(region, "application-autoscaling", "DescribeScalableTargets", ECS_NAMESPACE),
           "policies": answer(region, "application-autoscaling", "DescribeScalingPolicies", ECS_NAMESPACE),
           "activities": answer(region, "application-autoscaling", "DescribeScalingActivities", ECS_NAMESPACE),
           "groups": answer(region, "autoscaling", "DescribeAutoScalingGroups", {}),
           "providers": answer(region, "ecs", "DescribeCapacityProviders", {}),
           **more.views(answer, region)}
    for name in cluster_names(region):
        arns = instances(region, name)
        tasks = live_tasks(region, name) + answer(region, "ecs", "ListTasks", {
            "cluster": name, "desiredStatus": "STOPPED"})["taskArns"]
        services = answer(region, "ecs", "ListServices", {"cluster": name})["serviceArns"]
        out[name] = (arns, arns and answer(region, "ecs", "DescribeContainerInstances",
                                           {"cluster": name, "containerInstances": arns[:100]}),
                     tasks, tasks and answer(region, "ecs", "DescribeTasks",
                                             {"cluster": name, "tasks": tasks[:100], "include": ["TAGS"]}),
                     services, services and answer(region, "ecs", "DescribeServices",
                                                   {"cluster": name, "services": services[:10]}))
    return out


def through_disk(region) -> Region:
    """The region as a restarted server sees it: snapshot written, read back, imported."""
    with tempfile.TemporaryDirectory() as directory:
        journal = Journal(directory)
        journal.write_snapshot(1, {region.name: region.export_state()})
        _, states = journal.latest_snapshot()
        journal.close()
    state = states[region.name]
    for name, record in region.clusters.items():   # the Parquet copy is the cluster's tables
        assert state[f"instances.{name}"].equals(record.cluster.instance_table())
        assert state[f"tasks.{name}"].equals(record.cluster.task_table())
    loaded = Region(region.name, seed=region.seed, blobs=region.ecr.blobs)   # the server's blob store
    loaded.import_state(state)
    return loaded


# Two clusters with instances and two families first, so that most random calls do something.
PRELUDE = [(0, 0, 0), (0, 1, 0), (2, 0, 0), (2, 1, 1), *[(1, i, i) for i in range(6)]]
calls = st.lists(st.tuples(st.integers(0, 21), st.integers(0, 999), st.integers(0, 999)), max_size=30)


def check_round_trip(seed, history, after):
    original = Region(seed=seed)
    original.fargate.set_spot_interruptions(0.3)     # Spot interruptions drawn from the seed
    for i, (kind, a, b) in enumerate(PRELUDE + history):
        step(original, f"h{i}", kind, a, b)
    loaded = through_disk(original)
    assert views(loaded) == views(original)
    for i, (kind, a, b) in enumerate(after):
        assert step(loaded, f"a{i}", kind, a, b) == step(original, f"a{i}", kind, a, b), (i, kind)
    assert views(loaded) == views(original)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32), calls, calls)
def test_a_loaded_snapshot_is_the_region(seed, history, after):
    check_round_trip(seed, history, after)


@pytest.mark.slow
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32), calls, calls)
def test_a_loaded_snapshot_is_the_region_many_histories(seed, history, after):
    check_round_trip(seed, history, after)


def test_a_busy_region_with_scaling_round_trips():
    # A fixed history that surely reaches auto scaling launches and service deployments.
    history = [(13, 0, 0), (5, 1, 1),
               (8, 300, 0), (3, 0, 0), (8, 399, 0), (6, 3, 1), (9, 0, 0), (8, 200, 0)]
    after = [(8, 399, 0), (3, 1, 1), (8, 120, 0), (4, 0, 3), (3, 2, 0), (8, 399, 0)]
    original = Region(seed=7)
    for i, (kind, a, b) in enumerate(PRELUDE + history):
        step(original, f"h{i}", kind, a, b)
    assert original.handle("autoscaling", "DescribeAutoScalingGroups", {})["AutoScalingGroups"][0]["Instances"]
    check_round_trip(7, history, after)


def test_a_snapshot_of_another_region_is_refused():
    state = Region("us-west-2").export_state()
    with pytest.raises(InvalidInputError, match="us-west-2"):
        Region("us-east-1").import_state(state)
    with pytest.raises(InvalidInputError, match="version"):
        Region("us-east-1").import_state({**state, "version": 0})


def test_a_region_mid_way_through_everything_round_trips():
    # Fixed: deployments in progress, task sets, a target group, Fargate and Spot, RunTask tasks
    # waiting in PROVISIONING while the group launches, step scaling with an alarm, scheduled
    # actions (one in a time zone), ECR images: all caught by the snapshot mid-way.
    history = [(13, 0, 0), (15, 1, 2), (16, 1, 0), (17, 0, 0), (8, 399, 0), (8, 399, 0), (21, 3, 1),
               (18, 0, 0), (19, 0, 8), (19, 1, 8), (20, 0, 80), (8, 20, 0)]
    after = [(8, 45, 0), (3, 1, 1), (19, 1, 3), (8, 399, 0), (16, 2, 3), (6, 3, 0), (8, 399, 0),
             (15, 0, 3), (21, 5, 2), (8, 300, 0)]
    original = Region(seed=11)
    original.fargate.set_spot_interruptions(0.3)
    for i, (kind, a, b) in enumerate(PRELUDE + history):
        step(original, f"h{i}", kind, a, b)
    c0, c1 = original.clusters["c0"], original.clusters["c1"]
    assert "PROVISIONING" in {t.last_status for t in c0.tasks.values()} and original.provisioning.waiting
    assert any(t.launch_type == "FARGATE" for t in c1.tasks.values())
    assert any(len(s.deployments) > 1 for s in c0.services.values()), "a deployment mid-way"
    assert c1.services["ext"].task_sets and original.load_balancing.groups
    assert original.scaling.aas.scheduled and original.ecr.repositories
    check_round_trip(11, history, after)
