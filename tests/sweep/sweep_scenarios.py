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
