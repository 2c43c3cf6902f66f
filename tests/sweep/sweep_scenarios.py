"""Small scenarios for the sweep tests (one web service on c5.large instances), and a worker plugin
that kills its worker (a module of its own: workers import it by name, as the driver's sys.path
reaches them)."""

import os

from distributed.diagnostics.plugin import WorkerPlugin

# c5.large registers 2048 CPU units: two 1024-unit web tasks per instance.
WEB = {"family": "web", "containerDefinitions": [{"name": "web", "image": "nginx", "cpu": 1024, "memory": 512}]}


def small_scenario(fleet_path, *, desired=4, cpu=4000, duration="30m"):
    return {
        "seed": 5, "duration": duration,
        "calls": [
            {"at": "0s", "operation": "ecs:CreateCluster", "request": {"clusterName": "prod"}},
            {"at": "0s", "operation": "ecs:RegisterTaskDefinition", "request": WEB},
            {"at": "0s", "operation": "ecs:CreateService", "request": {
                "cluster": "prod", "serviceName": "web", "taskDefinition": "web", "desiredCount": desired}},
        ],
        "fleets": [{"cluster": "prod", "instances": str(fleet_path)}],
        # Nothing to serve for the first 10 minutes (tasks start), then a constant load.
        "workloads": [{"service": "prod/web", "model": "steps",
                       "steps": [{"at": "0s", "cpu": 0}, {"at": "10m", "cpu": cpu}]}],
    }


class KillFirstAttempt(WorkerPlugin):
    """Kills its worker process the first time a task of one variation starts executing."""

    def __init__(self, marker: str, variation: int):
        self.marker, self.variation = marker, variation

    def transition(self, key, start, finish, **kwargs):
        if (finish == "executing" and str(key).startswith(f"quaymaster-variation-{self.variation}-")
                and not os.path.exists(self.marker)):
            open(self.marker, "w").close()
            os._exit(1)


def provider_scenario(*, desired=10, cpu=9500, max_size=12, managed=False, duration="30m"):
    """One web service on capacity provider ``cp`` over group ``asg`` (c5.large, at most ``max_size``;
    without managed scaling the group runs ``max_size`` instances), priced per instance-hour."""
    group = {"AutoScalingGroupName": "asg", "MinSize": 0, "MaxSize": max_size,
             "DesiredCapacity": 0 if managed else max_size, "AvailabilityZones": ["us-east-1a", "us-east-1b"],
             "MixedInstancesPolicy": {"LaunchTemplate": {
                 "LaunchTemplateSpecification": {"LaunchTemplateName": "ecs"},
                 "Overrides": [{"InstanceType": "c5.large"}]}}}
    scaling = {"status": "ENABLED" if managed else "DISABLED", "targetCapacity": 100, "instanceWarmupPeriod": 60}
    return {
        "seed": 5, "duration": duration, "prices": {"c5.large": 0.085, "c5.xlarge": 0.17, "m5.large": 0.096},
        "calls": [
            {"at": "0s", "operation": "ecs:CreateCluster", "request": {"clusterName": "prod"}},
            {"at": "0s", "operation": "autoscaling:CreateAutoScalingGroup", "request": group},
            {"at": "0s", "operation": "ecs:CreateCapacityProvider", "request": {
                "name": "cp", "autoScalingGroupProvider": {"autoScalingGroupArn": "asg",
                                                           "managedScaling": scaling}}},
            {"at": "0s", "operation": "ecs:PutClusterCapacityProviders", "request": {
                "cluster": "prod", "capacityProviders": ["cp"],
                "defaultCapacityProviderStrategy": [{"capacityProvider": "cp", "weight": 1}]}},
            {"at": "0s", "operation": "ecs:RegisterTaskDefinition", "request": WEB},
            {"at": "0s", "operation": "ecs:CreateService", "request": {
                "cluster": "prod", "serviceName": "web", "taskDefinition": "web", "desiredCount": desired}},
        ],
        "workloads": [{"service": "prod/web", "model": "steps",
                       "steps": [{"at": "0s", "cpu": 0}, {"at": "10m", "cpu": cpu}]}],
    }
