"""Which service tasks wait in PROVISIONING for managed scaling: only those the scheduler tried to
place and could not fit on the provider's instances (docs/semantics.md, "Which tasks wait in
PROVISIONING (managed scaling)"), never a desired count raised a moment before the scheduler ran."""

from quaymaster.region import Region
from quaymaster.simulation import load_scenario, simulate
from servicekit import call, web_definition

MINUTE_MS = 60_000


def managed_region(instances: int, *, seed: int = 3) -> tuple[Region, list]:
    """A cluster whose one capacity provider (managed scaling, target 100) fronts a group of
    ``instances`` c5.xlarge (4096 CPU units); returns the region and its metric rows."""
    region = Region(seed=seed)
    call(region, "CreateCluster", {"clusterName": "prod"})
    region.handle("autoscaling", "CreateAutoScalingGroup", {
        "AutoScalingGroupName": "asg", "MinSize": 0, "MaxSize": 10, "DesiredCapacity": instances,
        "AvailabilityZones": ["us-east-1a", "us-east-1b"],
        "MixedInstancesPolicy": {"LaunchTemplate": {
            "LaunchTemplateSpecification": {"LaunchTemplateName": "ecs"},
            "Overrides": [{"InstanceType": "c5.xlarge"}]}}})
    call(region, "CreateCapacityProvider", {"name": "cp", "autoScalingGroupProvider": {
        "autoScalingGroupArn": "asg", "managedScaling": {
            "status": "ENABLED", "targetCapacity": 100, "instanceWarmupPeriod": 60}}})
    call(region, "PutClusterCapacityProviders", {"cluster": "prod", "capacityProviders": ["cp"],
                                                 "defaultCapacityProviderStrategy": [
                                                     {"capacityProvider": "cp", "weight": 1}]})
    rows: list = []
    region.scaling.metric_sink = lambda *row: rows.append(row)
    region.advance(120)          # the group's instances boot and register
    return region, rows


def series(rows: list, name: str, metric: str) -> dict:
    return {time: value for time, _, _, who, what, value in rows if who == name and what == metric}


def next_minute(region) -> int:
    return (region.clock.now // MINUTE_MS + 1) * MINUTE_MS


def raise_desired_at(region, at_ms: int, count: int) -> None:
    """UpdateService at step 1 of the tick at ``at_ms``: before that minute's managed scaling."""
    region.schedule(at_ms, lambda: call(region, "UpdateService", {"cluster": "prod", "service": "web",
                                                                  "desiredCount": count}))


def test_a_service_scaling_out_every_minute_onto_spare_capacity_does_not_block_scale_in():
    region, rows = managed_region(4)
    call(region, "RegisterTaskDefinition", web_definition(cpu=256, memory=256))
    call(region, "CreateService", {"cluster": "prod", "serviceName": "web", "taskDefinition": "web",
                                   "desiredCount": 1, "placementStrategy": [{"type": "binpack", "field": "cpu"}]})
    first = next_minute(region)
    raised = [first + k * MINUTE_MS for k in range(15)]
    for k, at in enumerate(raised):   # one more task at every minute, to 16 x 256 CPU: one instance
        raise_desired_at(region, at, 2 + k)
    region.advance(25 * 60)
    n, m = series(rows, "cp", "N"), series(rows, "cp", "M")
    assert all(m[t] <= n[t] for t in raised), "tasks the scheduler has not tried yet do not wait"
    assert all(m[t] == 1 for t in raised)               # binpack: all on one instance
    desired = series(rows, "asg", "desiredCapacity")
    assert max(desired.values()) == 4, "no scale-out: every new task fit"
    assert desired[max(desired)] == 1, "15 minutes below target: the group scaled in to what is used"
    tasks = region.clusters["prod"].services["web"].all_tasks()
    assert sum(t.last_status == "RUNNING" for t in tasks) == 16


def half_instance_service(desired: int, seconds: int) -> tuple[Region, list, object]:
    """One c5.xlarge and a service of 2048-CPU tasks (two fit), ``seconds`` after CreateService."""
    region, rows = managed_region(1)
    call(region, "RegisterTaskDefinition", web_definition(cpu=2048, memory=1024))
    call(region, "CreateService", {"cluster": "prod", "serviceName": "web", "taskDefinition": "web",
                                   "desiredCount": desired})
    region.advance(seconds)
    return region, rows, region.clusters["prod"]


def test_tasks_that_do_not_fit_wait_once_the_scheduler_tried_them_and_scale_the_group_out():
    region, rows, record = half_instance_service(2, 60)
    assert region.scaling.waiting_count(record) == 0      # both fit on the one instance
    raised = next_minute(region)
    raise_desired_at(region, raised, 5)
    region.run_until(raised)
    m, n = series(rows, "cp", "M"), series(rows, "cp", "N")
    assert (n[raised], m[raised]) == (1, 1)               # step 5 came before the scheduler's try
    assert region.scaling.waiting_count(record) == 3      # step 7 left three without room
    region.run_until(raised + MINUTE_MS)
    m, n = series(rows, "cp", "M"), series(rows, "cp", "N")
    # 3 x 2048 CPU pack on 2 more instances; the group grows to M
    assert (n[raised + MINUTE_MS], m[raised + MINUTE_MS]) == (1, 3)
    assert series(rows, "asg", "desiredCapacity")[raised + MINUTE_MS] == 3
    region.advance(5 * 60)
    assert region.scaling.waiting_count(record) == 0
    assert sum(t.last_status == "RUNNING" for t in record.services["web"].all_tasks()) == 5


def test_waiting_tasks_are_at_most_the_current_shortfall():
    region, _, record = half_instance_service(6, 30)
    assert region.scaling.waiting_count(record) == 4
    call(region, "UpdateService", {"cluster": "prod", "service": "web", "desiredCount": 3})
    assert region.scaling.waiting_count(record) == 1      # the shortfall fell before the next pass
    call(region, "UpdateService", {"cluster": "prod", "service": "web", "desiredCount": 9})
    assert region.scaling.waiting_count(record) == 4      # raised again: still what the pass left


def test_the_provisioning_series_counts_each_waiting_task_once():
    """provisioningTasks at a minute: RunTask's waiting tasks (live tasks in PROVISIONING) and the
    service's tasks its pass could not place, each once."""
    def at(when, operation, request):
        return {"at": when, "operation": operation, "request": request}
    group = {"AutoScalingGroupName": "asg", "MinSize": 1, "MaxSize": 1, "DesiredCapacity": 1,
             "AvailabilityZones": ["us-east-1a"], "MixedInstancesPolicy": {"LaunchTemplate": {
                 "LaunchTemplateSpecification": {"LaunchTemplateName": "ecs"},
                 "Overrides": [{"InstanceType": "c5.xlarge"}]}}}
    document = {"seed": 1, "start": "2026-01-05T00:00:00Z", "duration": "8m", "tick": "15s", "calls": [
        at("0s", "ecs:CreateCluster", {"clusterName": "prod"}),
        at("0s", "autoscaling:CreateAutoScalingGroup", group),
        at("0s", "ecs:CreateCapacityProvider", {"name": "cp", "autoScalingGroupProvider": {
            "autoScalingGroupArn": "asg", "managedScaling": {"status": "DISABLED"}}}),
        at("0s", "ecs:PutClusterCapacityProviders", {"cluster": "prod", "capacityProviders": ["cp"],
                                                     "defaultCapacityProviderStrategy": [
                                                         {"capacityProvider": "cp", "weight": 1}]}),
        at("0s", "ecs:RegisterTaskDefinition", web_definition(cpu=1024, memory=1024)),
        at("3m", "ecs:RunTask", {"cluster": "prod", "taskDefinition": "web", "count": 6}),   # 4 fit
        at("4m", "ecs:CreateService", {"cluster": "prod", "serviceName": "web", "taskDefinition": "web",
                                       "desiredCount": 2})]}
    metrics = simulate(load_scenario(document)).tables()["metrics"].to_pylist()
    provisioning = {r["time"].strftime("%H:%M"): r["value"] for r in metrics
                    if r["scope"] == "cluster" and r["metric"] == "provisioningTasks"}
    assert provisioning["00:05"] == provisioning["00:08"] == 2 + 2


def test_a_snapshot_keeps_which_tasks_wait():
    region, _, record = half_instance_service(6, 30)
    loaded = Region(region.name, seed=region.seed)
    loaded.import_state(region.export_state())
    assert loaded.scaling.waiting_count(loaded.clusters["prod"]) == region.scaling.waiting_count(record) == 4
    call(loaded, "DeleteService", {"cluster": "prod", "service": "web", "force": True})
    assert loaded.scaling.waiting_count(loaded.clusters["prod"]) == 0
    loaded.advance(300)
    assert not loaded.scaling.unplaced                     # the deleted service's record is gone
